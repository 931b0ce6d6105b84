//! `cargo xtask <job>`: the one entry point for testing and benchmarking Attune. CI runs exactly
//! `cargo xtask test`, the same command a person runs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use xshell::{cmd, Shell};

mod balance;
mod fhir;
mod proxy;
mod web;

const HELP: &str = "\
cargo xtask <job>

JOBS:
    test     Everything CI runs: rustfmt check, clippy (warnings denied), every test and doctest,
             the commercial build (no non-commercial instruments), the JavaScript API in headless
             Chromium (wasm-bindgen-test), and the npm package packed and installed into a Node, a
             Vite and a plain static project (Playwright, Debian's Chromium). Installs what it needs:
             rustup components and target, Chromium (apt), wasm-bindgen-cli, npm lockfiles.
    test-wasm
             Only the wasm-bindgen tests in headless Chromium (part of `test`).
    test-fhir
             Only the FHIR validation (part of `test`): every Questionnaire and the Bundle of every
             reference vector, with and without a missing answer, checked by FHIR.js (R4, offline).
    npm      Builds the npm package `attune` into crates/attune-wasm/npm/ and packs it into
             target/npm/.
    serve    Builds and runs Attune's poll server on an embedded SQLite file (attune.db) at
             http://127.0.0.1:8787 (the demo pages join it with the widgets). Extra arguments go to
             attune-server (`cargo xtask serve -- --addr 0.0.0.0:8787`).
    bench    Criterion benchmarks of the scoring core and the CLI end to end on a million JSON
             Lines (lines/s and peak memory), then the npm package: every shipped file's size (raw,
             gzip -9, brotli), scoreMany throughput and import-to-first-score in headless Chromium.
             Then the poll server under load (`bench poll`: 10,000 members across 1,000 polls on
             loopback, answers/s, answer-to-dashboard latency, peak memory). Prints the tables and
             writes target/bench/report.md. `bench core`, `bench npm` or `bench poll` runs one part;
             `--skip-criterion` reuses the last criterion estimates; `bench poll --replicas 2` also runs
             the load on two replicas and a temporary PostgreSQL, beside the SQLite figures.
    help     This text.
";

fn main() -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(&sh),
        Some("npm") => web::build_npm(&sh).map(drop),
        Some("test-postgres") => web::postgres_tests(&sh),
        Some("test-wasm") => web::browser_unit_tests(&sh),
        Some("test-fhir") => fhir::validate_resources(&sh),
        Some("serve") => serve(&sh, &args[1..]),
        Some("bench") => bench(
            &sh,
            args.iter().any(|a| a == "--skip-criterion"),
            args.iter().skip(1).find(|a| !a.starts_with("--")).map(String::as_str),
            // `--replicas N`: the poll bench also runs N replicas on PostgreSQL.
            args.iter().position(|a| a == "--replicas").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(1),
        ),
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown job `{other}`\n\n{HELP}"),
    }
}

fn workspace_root() -> PathBuf {
    // `cargo run` (and so `cargo xtask`) sets CARGO_MANIFEST_DIR for the run: that is this checkout,
    // even when the binary was built for another one sharing the same CARGO_TARGET_DIR (the path
    // baked in at compile time would then name the other checkout).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().expect("xtask lives one level below the workspace root").to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace root), else
/// `target/` in the workspace.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// Whether the clinical reference is beside the checkout (or named by `ATTUNE_REFERENCE_DIR`).
fn reference_present() -> bool {
    let dir = std::env::var_os("ATTUNE_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/instruments"));
    dir.join("phq9.json").is_file()
}

/// The project's own copy of the clinical reference: the catalog (definitions with their reference
/// vectors), `group-statistics.md` and the verified host wording in `host-text/`. The reference tests
/// of attune-core hold it to `../shared/instruments` whenever that is present.
pub(crate) fn catalog_dir() -> PathBuf {
    workspace_root().join("crates/attune-core/instruments")
}

fn step(name: &str) {
    println!("\n==> {name}");
}

/// Installs what the toolchain file asks for when a fresh machine lacks it.
pub(crate) fn ensure_toolchain(sh: &Shell) -> Result<()> {
    let components = cmd!(sh, "rustup component list --installed").read()?;
    // rust-src: the npm package's modules rebuild the standard library (`web::NPM_RUSTFLAGS`).
    for c in ["rustfmt", "clippy", "rust-src"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            cmd!(sh, "rustup component add {c}").run()?;
        }
    }
    let targets = cmd!(sh, "rustup target list --installed").read()?;
    if !targets.lines().any(|l| l == "wasm32-unknown-unknown") {
        cmd!(sh, "rustup target add wasm32-unknown-unknown").run()?;
    }
    Ok(())
}

fn test(sh: &Shell) -> Result<()> {
    let started = Instant::now();
    step("toolchain");
    ensure_toolchain(sh)?;
    step("rustfmt");
    cmd!(sh, "cargo fmt --all --check").run().context("code is not formatted: run `cargo fmt --all`")?;
    step("clippy");
    cmd!(sh, "cargo clippy --workspace --all-targets --locked -- -D warnings").run()?;
    cmd!(sh, "cargo clippy -p attune-wasm --features poll,validate,fhir --all-targets --locked -- -D warnings")
        .run()?;
    step("tests");
    if !reference_present() {
        println!(
            "NOTE: the clinical reference is not at ../shared/instruments (nor ATTUNE_REFERENCE_DIR): the tests \
             that hold the catalog equal to it are skipped (each says so); every other test runs on the catalog's copy"
        );
    }
    cmd!(sh, "cargo test --workspace --locked").run()?;
    cmd!(sh, "cargo test --locked -p attune-wasm --no-default-features --features elements,non-commercial --lib")
        .run()?;
    web::postgres_tests(sh)?;
    fhir::validate_resources(sh)?;
    step(
        "sealed inbox in Node: the WebCrypto opener (js/hpke.js) on RFC 9180 A.1.1 and the Rust sealer's envelope; \
         the example webhook receiver against the server binary",
    );
    let hpke_tests = workspace_root().join("tests/hpke");
    cmd!(sh, "node --test {hpke_tests}").env("ATTUNE_SERVER_BIN", target_dir().join("debug/attune-server")).run()?;
    step("commercial build: attune-core without non-commercial instruments");
    cmd!(sh, "cargo test --locked -p attune-core --no-default-features --features json --test reference").run()?;
    step("attune-core without JSON (as the scoring entry builds it): clippy, warnings denied");
    cmd!(sh, "cargo clippy --locked -p attune-core --no-default-features --features non-commercial -- -D warnings")
        .run()?;
    step("attune-core builds for wasm32");
    cmd!(sh, "cargo check --locked -p attune-core --target wasm32-unknown-unknown --no-default-features").run()?;
    web::browser_unit_tests(sh)?;
    let package = web::build_npm(sh)?;
    web::packaging_tests(sh, &package)?;
    web::check_entry_sizes(sh)?;
    println!("\nxtask test: all steps passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Deterministic xorshift, so every benchmark run reads the same input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 >> 11
    }
}

const CLI_LINES: usize = 1_000_000;

/// A million PHQ-9 requests, one in ten with an item left out and one in fifty invalid.
fn write_lines(path: &Path) -> Result<u64> {
    let mut rng = Rng(0xa77e);
    let mut w = BufWriter::new(File::create(path)?);
    for n in 0..CLI_LINES {
        let skip = if rng.next().is_multiple_of(10) { rng.next() % 9 + 1 } else { 0 };
        write!(w, "{{\"id\":{n},\"instrument\":\"phq9\",\"answers\":{{")?;
        let mut first = true;
        for item in 1..=10u64 {
            if item == skip {
                continue;
            }
            let value = if n.is_multiple_of(50) && item == 1 { 7 } else { rng.next() % 4 };
            write!(w, "{}\"{item}\":{value}", if first { "" } else { "," })?;
            first = false;
        }
        writeln!(w, "}}}}")?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Runs a command to completion and returns its wall time and peak resident memory in bytes.
#[allow(unsafe_code)]
fn run_measured(mut command: Command) -> Result<(f64, u64)> {
    let start = Instant::now();
    let child = command.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data that wait4 fills in; an all-zero value is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet waited for (std's handle is dropped without waiting);
    // status and usage are valid, writable pointers for the duration of the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed().as_secs_f64();
    if rc != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("benchmarked command failed (status {status})");
    }
    drop(child);
    // Linux reports ru_maxrss in kibibytes.
    Ok((elapsed, usage.ru_maxrss as u64 * 1024))
}

fn estimate_ns(id: &str) -> Result<(f64, f64)> {
    let dir = target_dir().join("criterion").join(id).join("new");
    let est: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("estimates.json")).with_context(|| format!("no estimates for {id}"))?,
    )?;
    let bench: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("benchmark.json"))?)?;
    let ns = est["mean"]["point_estimate"].as_f64().context("mean estimate")?;
    let elements = bench["throughput"]["Elements"].as_f64().unwrap_or(1.0);
    Ok((ns, elements))
}

fn bench(sh: &Shell, skip_criterion: bool, part: Option<&str>, replicas: usize) -> Result<()> {
    let mut report = String::new();
    let mut missed = false;
    if part.is_none_or(|p| p == "core") {
        let (table, m) = bench_core(sh, skip_criterion)?;
        report.push_str("### Scoring core and CLI\n\n");
        report.push_str(&table);
        missed |= m;
    }
    if part.is_none_or(|p| p == "npm") {
        let (table, m) = web::bench_npm(sh)?;
        report.push_str("\n### npm package `attune`\n\n");
        report.push_str(&table);
        missed |= m;
    }
    if part.is_none_or(|p| p == "poll") {
        let (table, m) = bench_poll(sh, replicas)?;
        report.push_str("\n### Live poll server\n\n");
        report.push_str(&table);
        missed |= m;
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    report.push_str(&format!(
        "\nMeasured by `cargo xtask bench` on {cpu}, {} cores.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    println!("\n{report}");
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.md"), &report)?;
    println!("written to target/bench/report.md");
    if missed {
        bail!("a benchmark missed its target (see the table)");
    }
    Ok(())
}

/// Formats a count with thousands separators.
pub(crate) fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (k, c) in s.chars().enumerate() {
        if k > 0 && (s.len() - k) % 3 == 0 && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Builds everything (the npm package, installed into www/ from its packed tarball, and the release
/// server) and serves the demo site and the poll API on one local address until Ctrl-C.
fn serve(sh: &Shell, extra: &[String]) -> Result<()> {
    let package = web::build_npm(sh)?;
    web::install_site(sh, &package)?;
    step("building attune-server");
    cmd!(sh, "cargo build --locked --profile release-native -p attune-server --bin attune-server").run()?;
    let bin = target_dir().join("release-native/attune-server");
    let www = workspace_root().join("www");
    let postgres = extra.iter().any(|a| a == "--postgres");
    let extra: Vec<&str> = extra.iter().map(String::as_str).filter(|a| *a != "--" && *a != "--postgres").collect();
    let mut args = vec!["--database", "attune.db"];
    let addr = match extra.iter().position(|a| *a == "--addr") {
        Some(i) => extra.get(i + 1).copied().unwrap_or("127.0.0.1:8787").to_string(),
        None => {
            args.extend(["--addr", "127.0.0.1:8787"]);
            "127.0.0.1:8787".to_string()
        }
    };
    // The clinic-form demo (www/intake/) delivers to the example receiver, on the next port.
    let receiver_addr = receiver_address(&addr);
    let (receiver_host, receiver_port) = host_port(&receiver_addr);
    let receiver = Command::new("node")
        .arg(workspace_root().join("examples/receiver.mjs"))
        .env("PORT", receiver_port.to_string())
        .env("HOST", receiver_host)
        .env("TOKEN", "demo-token")
        .env("ALLOW_ORIGIN", format!("http://{addr}"))
        .env("DATA", workspace_root().join("receiver-submissions.jsonl"))
        .spawn()
        .context("starting the example receiver (node examples/receiver.mjs)")?;
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _receiver = Stop(receiver);
    let connect = format!("http://{receiver_addr}");
    step(&format!(
        "Attune demo site and poll server: http://{addr}/  (Ctrl-C stops it; data stays in {}; the clinic \
         form delivers to {connect}/intake, stored in receiver-submissions.jsonl)",
        if postgres { "a temporary PostgreSQL, removed at the end" } else { "attune.db" }
    ));
    if postgres {
        return serve_replicas(sh, &bin, &addr, &www, &connect, &extra);
    }
    cmd!(sh, "{bin} {args...} --www {www} --site-connect {connect} {extra...}").run()?;
    Ok(())
}

/// `cargo xtask serve --postgres`: a temporary PostgreSQL, two replicas of the server on it (the
/// two ports after the receiver's), and a round-robin load balancer on the demo's address, so
/// that each page, API call and WebSocket may land on either replica. Ctrl-C stops the replicas,
/// then PostgreSQL.
#[allow(unsafe_code)] // ignoring SIGINT through libc
fn serve_replicas(sh: &Shell, bin: &Path, addr: &str, www: &Path, connect: &str, extra: &[&str]) -> Result<()> {
    let pg = web::TempPostgres::start(sh, 55442)?;
    let (host, base) = host_port(addr);
    let replicas: Vec<std::net::SocketAddr> = [base.wrapping_add(3), base.wrapping_add(4)]
        .iter()
        .map(|p| format!("{host}:{p}").parse())
        .collect::<std::result::Result<_, _>>()
        .context("replica addresses")?;
    // Ctrl-C reaches the replicas (they stop cleanly); this process waits for them, then stops
    // PostgreSQL.
    // SAFETY: ignoring a signal has no other effect on this process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    // The demo's own address is the balancer's; each replica gets its own.
    let mut rest = Vec::new();
    let mut it = extra.iter();
    while let Some(a) = it.next() {
        if *a == "--addr" {
            it.next();
        } else {
            rest.push(*a);
        }
    }
    let mut children = Vec::new();
    for r in &replicas {
        children.push(
            Command::new(bin)
                .args(["--database", &pg.url, "--addr", &r.to_string(), "--public-url", &format!("http://{addr}")])
                .arg("--www")
                .arg(www)
                .args(["--site-connect", connect])
                .args(&rest)
                .spawn()
                .context("start a replica")?,
        );
    }
    balance::round_robin(addr, replicas.clone())?;
    step(&format!(
        "two replicas ({} and {}) on a temporary PostgreSQL, behind http://{addr}/ (round robin per connection)",
        replicas[0], replicas[1]
    ));
    for mut c in children {
        let _ = c.wait();
    }
    drop(pg);
    Ok(())
}

/// `host:port` split (127.0.0.1 and 8787 where a part is missing or unreadable).
fn host_port(addr: &str) -> (&str, u16) {
    match addr.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(8787)),
        None => ("127.0.0.1", 8787),
    }
}

/// The example receiver's address: the demo's port plus one (127.0.0.1:8788 beside 127.0.0.1:8787),
/// which is what www/intake/ posts to.
fn receiver_address(addr: &str) -> String {
    let (host, port) = host_port(addr);
    format!("{host}:{}", port.wrapping_add(1))
}

/// The poll server under load: the release binary on a fresh SQLite file, driven over loopback by
/// the load generator in crates/attune-server/benches/poll_load.rs (10,000 members, 1,000 polls).
fn bench_poll(sh: &Shell, replicas: usize) -> Result<(String, bool)> {
    step("poll server: release build and load generator (10,000 members across 1,000 polls)");
    cmd!(sh, "cargo build --locked --profile release-native -p attune-server --bin attune-server").run()?;
    let bin = target_dir().join("release-native/attune-server");
    let load = |env: &[(&str, &str)]| -> Result<Value> {
        let mut c = cmd!(sh, "cargo bench --locked -p attune-server --bench poll_load").env("ATTUNE_SERVER_BIN", &bin);
        for (k, v) in env {
            c = c.env(k, v);
        }
        let out = c.read()?;
        let line = out.lines().rev().find(|l| l.starts_with('{')).context("the load generator printed no report")?;
        Ok(serde_json::from_str(line)?)
    };
    let mut runs = vec![("SQLite, 1 server".to_string(), load(&[])?)];
    if replicas > 1 {
        step(&format!("poll server: the same load on {replicas} replicas and a temporary PostgreSQL"));
        let pg = web::TempPostgres::start(sh, 55441)?;
        let n = replicas.to_string();
        runs.push((
            format!("PostgreSQL, {replicas} replicas (each poll's dashboard on another replica than its members)"),
            load(&[("ATTUNE_BENCH_DATABASE", &pg.url), ("ATTUNE_BENCH_REPLICAS", &n)])?,
        ));
    }
    let r = &runs[0].1;
    let num = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let (rate, p99, rss, errors) =
        (num(r, "answers_per_second"), num(r, "latency_ms_p99"), num(r, "server_peak_rss_mb"), num(r, "errors"));
    // Every answer acknowledged and every one seen in a snapshot, or the latencies mean little.
    let complete = |r: &Value| {
        num(r, "acknowledged") == num(r, "members") && num(r, "latencies_measured") == num(r, "acknowledged")
    };
    let mut table = String::from("| Benchmark |");
    for (name, _) in &runs {
        table.push_str(&format!(" {name} |"));
    }
    table.push_str(" Target (SQLite) |\n|---|");
    table.push_str(&"---:|".repeat(runs.len()));
    table.push_str("---|\n");
    let mut row = |what: String, cell: &dyn Fn(&Value) -> String, target: String| {
        table.push_str(&format!("| {what} |"));
        for (_, r) in &runs {
            table.push_str(&format!(" {} |", cell(r)));
        }
        table.push_str(&format!(" {target} |\n"));
    };
    row(
        format!(
            "Acknowledged (committed) answers / s, {} members across {} polls, {} offered / s",
            r["members"],
            r["polls"],
            thousands(num(r, "offered_per_second"))
        ),
        &|r| {
            format!(
                "{} ({} answers in {:.2} s)",
                thousands(num(r, "answers_per_second")),
                r["acknowledged"],
                num(r, "seconds")
            )
        },
        check(rate >= 5000.0, ">= 5,000"),
    );
    row(
        "Answer sent to its acknowledgement (committed), p50 / p99".into(),
        &|r| format!("{:.0} / {:.0} ms", num(r, "ack_ms_p50"), num(r, "ack_ms_p99")),
        "—".into(),
    );
    row(
        "Answer sent to dashboard snapshot counting it, p50".into(),
        &|r| format!("{:.0} ms", num(r, "latency_ms_p50")),
        "—".into(),
    );
    row(
        "Answer sent to dashboard snapshot counting it, p99 (answers seen of those acknowledged)".into(),
        &|r| format!("{:.0} ms ({} of {})", num(r, "latency_ms_p99"), r["latencies_measured"], r["acknowledged"]),
        check(p99 <= 100.0 && complete(r), "<= 100 ms, every answer seen"),
    );
    row(
        "Peak resident memory, per server".into(),
        &|r| match r["replica_peak_rss_mb"].as_array() {
            Some(a) if a.len() > 1 => {
                a.iter().map(|m| format!("{:.0}", m.as_f64().unwrap_or(f64::NAN))).collect::<Vec<_>>().join(" / ")
                    + " MB"
            }
            _ => format!("{:.0} MB", num(r, "server_peak_rss_mb")),
        },
        check(rss <= 300.0, "<= 300 MB"),
    );
    row(
        "Resident memory after the joins / after the answers (largest server)".into(),
        &|r| format!("{:.0} / {:.0} MB", num(r, "server_rss_mb_joined"), num(r, "server_rss_mb_answered")),
        "—".into(),
    );
    row(
        "CPU time while answers arrive: servers / load generator".into(),
        &|r| {
            format!(
                "{:.2} / {:.2} s",
                num(r, "answer_phase_server_cpu_seconds"),
                num(r, "answer_phase_generator_cpu_seconds")
            )
        },
        "—".into(),
    );
    row("Errors (refused or failed requests)".into(), &|r| format!("{}", num(r, "errors")), check(errors == 0.0, "0"));
    Ok((table, !(rate >= 5000.0 && p99 <= 100.0 && complete(r) && rss <= 300.0 && errors == 0.0)))
}

fn bench_core(sh: &Shell, skip_criterion: bool) -> Result<(String, bool)> {
    if !skip_criterion {
        step("criterion: attune-core");
        cmd!(sh, "cargo bench --locked -p attune-core --bench scoring").run()?;
    }

    step("CLI end to end on a million JSON Lines");
    cmd!(sh, "cargo build --locked --profile release-native -p attune-cli").run()?;
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("phq9-1m.jsonl");
    let output = dir.join("phq9-1m.out.jsonl");
    let bytes = write_lines(&input)?;
    let bin = target_dir().join("release-native/attune");
    let mut command = Command::new(&bin);
    command.arg("score").arg("--input").arg(&input).stdout(File::create(&output)?).stderr(Stdio::inherit());
    let (secs, peak) = run_measured(command)?;
    let lines_out = std::fs::read_to_string(&output)?.lines().count();
    if lines_out != CLI_LINES {
        bail!("the CLI wrote {lines_out} lines for {CLI_LINES} input lines");
    }
    std::fs::remove_file(&input)?;
    std::fs::remove_file(&output)?;

    let mut rows: Vec<(String, String, String)> = Vec::new();
    let per_sec = |id: &str| -> Result<f64> {
        let (ns, elements) = estimate_ns(id)?;
        Ok(elements * 1e9 / ns)
    };
    let fmt = thousands;
    let phq9 = per_sec("score/phq9")?;
    rows.push((
        "PHQ-9 responses scored / s (one core, in memory)".into(),
        fmt(phq9),
        check(phq9 >= 1e6, ">= 1,000,000"),
    ));
    rows.push(("SOCRATES-8A responses scored / s".into(), fmt(per_sec("score/socrates8a")?), String::new()));
    rows.push(("GCQ-S responses scored / s".into(), fmt(per_sec("score/gcqs")?), String::new()));
    rows.push(("Mixed batch across the catalog, responses / s".into(), fmt(per_sec("score/mixed")?), String::new()));
    rows.push((
        "PHQ-9 JSON request parsed, scored, serialised / s".into(),
        fmt(per_sec("score/phq9_json")?),
        String::new(),
    ));
    let (group_ns, _) = estimate_ns("group/gcqs_12_members")?;
    rows.push((
        "Group statistics, GCQ-S poll of 12 members".into(),
        format!("{:.1} µs ({} / s)", group_ns / 1e3, fmt(1e9 / group_ns)),
        String::new(),
    ));
    let lps = CLI_LINES as f64 / secs;
    rows.push((
        format!("`attune score`, 1,000,000 JSON Lines ({:.0} MB) end to end, lines / s", bytes as f64 / 1e6),
        format!("{} ({secs:.2} s)", fmt(lps)),
        check(lps >= 3e5, ">= 300,000"),
    ));
    let mb = peak as f64 / 1e6;
    rows.push((
        "`attune score` peak resident memory on 1,000,000 lines".into(),
        format!("{mb:.1} MB"),
        check(mb < 50.0, "< 50 MB"),
    ));

    let mut table = String::from("| Benchmark | Measured | Target |\n|---|---:|---|\n");
    for (name, value, target) in &rows {
        table.push_str(&format!("| {name} | {value} | {target} |\n"));
    }
    Ok((table, rows.iter().any(|r| r.2.starts_with("MISSED"))))
}

pub(crate) fn check(ok: bool, target: &str) -> String {
    if ok {
        format!("{target}: met")
    } else {
        format!("MISSED {target}")
    }
}
