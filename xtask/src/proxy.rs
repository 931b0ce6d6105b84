//! A forwarding HTTP proxy between headless Chromium and `wasm-bindgen-test-runner`'s file server,
//! one upstream connection per request.
//!
//! Why it exists: the runner serves the test page with rouille on tiny_http 0.12.0 (the newest
//! release), whose task pool hands a new connection to a thread that is already woken for another
//! one when two connections arrive together (`TaskPool::spawn` reads a waiting count that the woken
//! thread has not yet decremented). The queued connection then waits until some other connection
//! closes, and Chromium keeps its connections open: the page stalls on "Loading scripts..." until
//! ChromeDriver gives up ("Timed out receiving message from renderer: 299.9"). On this 2-core machine
//! that happened in roughly two runs out of five, on every test binary. Through this proxy each
//! request reaches the runner on a connection of its own, marked `Connection: close`, so every
//! task in that pool ends as soon as its file is sent and a queued one is always picked up.
//!
//! Only `http://127.0.0.1:<port>/` and `http://localhost:<port>/` are forwarded; anything else is
//! refused with 403, so the browser under test never reaches beyond this machine.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

/// How long a silent client or upstream may hold a proxy thread.
const IDLE: Duration = Duration::from_secs(120);
/// A request head larger than this is refused (the runner's requests are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;

/// Starts the proxy on an ephemeral loopback port; it serves until the process exits.
pub fn start() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind the test proxy")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Err(e) = serve(client) {
                    eprintln!("test proxy: {e}");
                }
            });
        }
    });
    Ok(addr)
}

/// The Chromium switches that send every page request, loopback included, through the proxy.
pub fn chromium_args(proxy: SocketAddr) -> [String; 2] {
    [format!("--proxy-server=http://{proxy}"), "--proxy-bypass-list=<-loopback>".to_string()]
}

/// One request from a client connection, forwarded on a fresh upstream connection, its response
/// copied back; both connections close after it.
fn serve(client: TcpStream) -> io::Result<()> {
    client.set_read_timeout(Some(IDLE))?;
    client.set_write_timeout(Some(IDLE))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    let Some(head) = read_head(&mut reader)? else { return Ok(()) };
    let Some(request) = Request::parse(&head) else {
        return refuse(&mut client, "400 Bad Request");
    };
    let Some((authority, path)) = loopback_target(request.target) else {
        return refuse(&mut client, "403 Forbidden");
    };
    let mut upstream = TcpStream::connect(authority)?;
    upstream.set_read_timeout(Some(IDLE))?;
    upstream.set_write_timeout(Some(IDLE))?;

    let mut out = format!("{} {path} {}\r\n", request.method, request.version);
    let mut body_len = 0usize;
    for (name, value) in &request.headers {
        if is_hop_by_hop(name) {
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            body_len = value.trim().parse().map_err(|_| bad("content-length"))?;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes())?;
    io::copy(&mut (&mut reader).take(body_len as u64), &mut upstream)?;
    upstream.flush()?;

    let mut from_upstream = BufReader::new(upstream);
    let Some(head) = read_head(&mut from_upstream)? else {
        return refuse(&mut client, "502 Bad Gateway");
    };
    let mut lines = head.split("\r\n");
    let mut reply = format!("{}\r\n", lines.next().unwrap_or_default());
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default();
        if !is_hop_by_hop(name) {
            reply.push_str(line);
            reply.push_str("\r\n");
        }
    }
    reply.push_str("Connection: close\r\n\r\n");
    client.write_all(reply.as_bytes())?;
    io::copy(&mut from_upstream, &mut client)?;
    client.flush()?;
    client.shutdown(std::net::Shutdown::Both).or(Ok(()))
}

/// A request line and its headers, borrowed from the head.
struct Request<'a> {
    method: &'a str,
    target: &'a str,
    version: &'a str,
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Request<'a> {
    fn parse(head: &'a str) -> Option<Self> {
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let (method, target, version) = (first.next()?, first.next()?, first.next()?);
        if first.next().is_some() || !version.starts_with("HTTP/1.") {
            return None;
        }
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| l.split_once(':').map(|(n, v)| (n.trim(), v.trim())))
            .collect::<Option<Vec<_>>>()?;
        Some(Request { method, target, version, headers })
    }
}

/// `http://127.0.0.1:<port>/path` (or `localhost`) as (`host:port`, `/path`); anything else is None.
fn loopback_target(target: &str) -> Option<(&str, &str)> {
    let rest = target.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':')?;
    let loopback = host == "127.0.0.1" || host.eq_ignore_ascii_case("localhost");
    (loopback && port.parse::<u16>().is_ok()).then_some((authority, path))
}

fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "proxy-connection", "keep-alive"].iter().any(|h| name.trim().eq_ignore_ascii_case(h))
}

/// The head of a message up to its blank line (lines joined by CRLF, without the blank line);
/// None when the peer closed first.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut size = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        size += line.len();
        if size > MAX_HEAD {
            return Err(bad("head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(Some(lines.join("\r\n")));
        }
        lines.push(line.to_string());
    }
}

fn refuse(client: &mut TcpStream, status: &str) -> io::Result<()> {
    write!(client, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("malformed {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_forwarded() {
        assert_eq!(loopback_target("http://127.0.0.1:4000/run.js"), Some(("127.0.0.1:4000", "/run.js")));
        assert_eq!(loopback_target("http://localhost:4000"), Some(("localhost:4000", "/")));
        assert_eq!(loopback_target("http://example.org:80/"), None);
        assert_eq!(loopback_target("http://127.0.0.1.example.org:80/"), None);
        assert_eq!(loopback_target("https://127.0.0.1:4000/"), None);
        assert_eq!(loopback_target("/run.js"), None);
    }

    #[test]
    fn a_request_is_forwarded_on_its_own_connection_and_closed() {
        // A one-shot upstream that records what it was sent.
        let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = upstream.local_addr().unwrap().port();
        let seen = thread::spawn(move || {
            let (conn, _) = upstream.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let head = read_head(&mut reader).unwrap().unwrap();
            let mut conn = conn;
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello").unwrap();
            head
        });
        let proxy = start().unwrap();
        let mut client = TcpStream::connect(proxy).unwrap();
        write!(
            client,
            "GET http://127.0.0.1:{port}/snippets/a.js HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nProxy-Connection: keep-alive\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        let head = seen.join().unwrap();
        assert!(head.starts_with("GET /snippets/a.js HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close"), "{head}");
        assert!(!head.to_ascii_lowercase().contains("proxy-connection"), "{head}");
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.contains("\r\nConnection: close\r\n") && !reply.contains("keep-alive"), "{reply}");
        assert!(reply.ends_with("\r\n\r\nhello"), "{reply}");
    }

    #[test]
    fn other_hosts_are_refused() {
        let proxy = start().unwrap();
        let mut client = TcpStream::connect(proxy).unwrap();
        client.write_all(b"GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n").unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
    }
}
