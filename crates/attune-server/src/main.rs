//! `attune-server`: the live poll server on one SQLite file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use attune_server::{app, AppState, Postgres, Sqlite, Storage};
use axum::http::HeaderValue;

// The server allocates and frees small buffers at a high rate (requests, rows, snapshots); under
// load glibc's allocator took a quarter of its CPU time. mimalloc does the same work for far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HELP: &str = "\
attune-server: live, anonymous group polls with aggregates only

USAGE:
    attune-server [--addr 127.0.0.1:8787] [--database attune.db] [--allowed-origin URL ...]

OPTIONS:
    --addr ADDR            Address to listen on (default 127.0.0.1:8787)
    --database FILE|URL    SQLite file, created if missing (default attune.db; WAL, synchronous=FULL),
                           or a postgres:// URL (several replicas on one database)
    --allowed-origin URL   An origin whose pages may call the API from the browser (CORS); repeat
                           for several. Without one, only same-origin pages can.
    --joins-per-minute N   Join attempts a minute per client address (default 60; 0 for no limit)
    --groups-per-minute N  Groups created a minute per client address (default 10; 0 for no limit)
    --answers-per-minute N Answers a minute per member, in bursts of 10 (default 30; 0 for no limit)
    --trusted-proxy CIDR   A reverse proxy in front of the server (10.0.0.0/8, 127.0.0.1, ...): the
                           client address is taken from its X-Forwarded-For; repeat for several.
                           Without one, X-Forwarded-For is ignored.
    --max-sockets N        Open WebSockets in all (default 20000; 0 for no cap)
    --sockets-per-address N
                           Open WebSockets per client address (default 500; 0 for no cap)
    --www DIR              Also serve the static files of DIR (the demo site) outside /api/, with a
                           strict Content-Security-Policy
    --site-connect ORIGIN  Let the site's pages also connect and post to ORIGIN (https://host[:port]),
                           e.g. the endpoint an <attune-questionnaire action> delivers to; repeat
                           for several
    --submissions-per-minute N
                           Sealed inbox submissions a minute per client address (default 30; 0 for
                           no limit); each inbox also takes at most 300 a minute
    --allow-local-forwarding
                           Let inboxes forward to http:// on this machine (development and tests);
                           otherwise forwarding endpoints must be https://
    --public-url URL       Address of the site members open (join page at URL/join/); default: the
                           host each request was sent to
    -h, --help             This text

ROUTES: see crates/attune-server/README.md
";

struct Args {
    addr: SocketAddr,
    database: PathBuf,
    origins: Vec<HeaderValue>,
    joins_per_minute: u32,
    groups_per_minute: u32,
    answers_per_minute: u32,
    trusted: Vec<attune_server::Cidr>,
    max_sockets: usize,
    sockets_per_address: usize,
    public_url: Option<String>,
    www: Option<PathBuf>,
    site_connect: Vec<String>,
    submissions_per_minute: u32,
    allow_local_forwarding: bool,
}

fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
        database: PathBuf::from("attune.db"),
        origins: Vec::new(),
        joins_per_minute: attune_server::DEFAULT_JOINS_PER_MINUTE,
        groups_per_minute: attune_server::DEFAULT_GROUPS_PER_MINUTE,
        answers_per_minute: attune_server::DEFAULT_ANSWERS_PER_MINUTE,
        trusted: Vec::new(),
        max_sockets: attune_server::DEFAULT_MAX_SOCKETS,
        sockets_per_address: attune_server::DEFAULT_SOCKETS_PER_ADDRESS,
        public_url: None,
        www: None,
        site_connect: Vec::new(),
        submissions_per_minute: attune_server::DEFAULT_SUBMISSIONS_PER_MINUTE,
        allow_local_forwarding: false,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("addr") => args.addr = parser.value()?.parse()?,
            Long("www") => args.www = Some(parser.value()?.into()),
            Long("site-connect") => args.site_connect.push(parser.value()?.parse()?),
            Long("database") => args.database = parser.value()?.into(),
            Long("joins-per-minute") => args.joins_per_minute = parser.value()?.parse()?,
            Long("groups-per-minute") => args.groups_per_minute = parser.value()?.parse()?,
            Long("answers-per-minute") => args.answers_per_minute = parser.value()?.parse()?,
            Long("trusted-proxy") => args.trusted.push(parser.value()?.parse()?),
            Long("max-sockets") => args.max_sockets = parser.value()?.parse()?,
            Long("sockets-per-address") => args.sockets_per_address = parser.value()?.parse()?,
            Long("submissions-per-minute") => args.submissions_per_minute = parser.value()?.parse()?,
            Long("allow-local-forwarding") => args.allow_local_forwarding = true,
            Long("public-url") => args.public_url = Some(parser.value()?.parse()?),
            Long("allowed-origin") => {
                let origin: String = parser.value()?.parse()?;
                args.origins.push(HeaderValue::from_str(origin.trim_end_matches('/')).map_err(|e| e.to_string())?);
            }
            Short('h') | Long("help") => {
                print!("{HELP}");
                return Ok(None);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attune-server: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attune-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.database.to_string_lossy().to_string();
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        serve(Postgres::open(&db).await?, args).await
    } else {
        serve(Sqlite::open(&args.database).await?, args).await
    }
}

/// Connections the kernel may queue before they are accepted. A class joining at once, or a thousand
/// groups answering, arrive faster than one accept loop takes them in bursts; past the queue the
/// kernel drops connection attempts and phones retry only a second later. (Linux caps it at
/// `net.core.somaxconn`, 4096 by default.)
const ACCEPT_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

async fn serve<S: Storage>(store: S, args: Args) -> anyhow::Result<()> {
    let limits = attune_server::Limits {
        joins: attune_server::Limiter::new(args.joins_per_minute, args.joins_per_minute),
        groups: attune_server::Limiter::new(args.groups_per_minute, args.groups_per_minute),
        answers: attune_server::Limiter::new(args.answers_per_minute, attune_server::ANSWER_BURST),
        trusted_proxies: args.trusted.clone(),
    };
    let inboxes = attune_server::InboxConfig {
        per_address: attune_server::Limiter::new(args.submissions_per_minute, args.submissions_per_minute),
        forwarding: attune_server::Forwarding {
            allow_local_http: args.allow_local_forwarding,
            ..attune_server::Forwarding::default()
        },
        ..attune_server::InboxConfig::default()
    };
    let mut state = AppState::new(store, attune_core::Catalog::embedded())
        .with_limits(limits)
        .with_inbox_config(inboxes)
        .with_allowed_origins(args.origins.clone())
        .with_socket_caps(attune_server::SocketCaps::new(args.max_sockets, args.sockets_per_address));
    if let Some(url) = &args.public_url {
        state = state.with_public_url(url);
    }
    if let Some(dir) = &args.www {
        if !dir.is_dir() {
            anyhow::bail!("--www {}: not a folder", dir.display());
        }
        state = state
            .with_site(dir)
            .with_site_connect(&args.site_connect)
            .map_err(|e| anyhow::anyhow!("--site-connect {e}"))?;
    }
    let router = app(state);
    let listener = listen(args.addr)?;
    // The database is named without a password that a URL might carry.
    let shown = match args.database.to_string_lossy().split_once('@') {
        Some((_, rest)) if args.database.to_string_lossy().contains("://") => format!("postgres://…@{rest}"),
        _ => args.database.display().to_string(),
    };
    println!("attune-server listening on http://{} (database {shown})", listener.local_addr()?);
    if args.public_url.is_none() && !args.addr.ip().is_loopback() {
        eprintln!(
            "attune-server: warning: serving beyond this machine without --public-url: join links and QR codes \
             are built from each request's Host header, over http://. Set --public-url https://your.site"
        );
    }
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
