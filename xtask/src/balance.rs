//! `cargo xtask serve --postgres`'s load balancer: a round-robin TCP forwarder on loopback. Each
//! new connection goes to the next replica and its bytes are copied both ways until either side
//! closes, so HTTP and WebSocket upgrades pass unchanged and no session sticks to a replica, as
//! behind a real load balancer.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;

use anyhow::{Context, Result};

/// Listens on `addr` and forwards each connection to the next of `backends`; runs until the
/// process exits.
pub fn round_robin(addr: &str, backends: Vec<SocketAddr>) -> Result<()> {
    anyhow::ensure!(!backends.is_empty(), "no replica to forward to");
    let listener = TcpListener::bind(addr).with_context(|| format!("bind the load balancer on {addr}"))?;
    thread::spawn(move || {
        for (k, client) in listener.incoming().flatten().enumerate() {
            let backend = backends[k % backends.len()];
            thread::spawn(move || {
                if let Err(e) = pipe(client, backend) {
                    eprintln!("load balancer: {backend}: {e}");
                }
            });
        }
    });
    Ok(())
}

/// Copies bytes both ways between a client and a fresh connection to `backend`.
fn pipe(client: TcpStream, backend: SocketAddr) -> io::Result<()> {
    let upstream = TcpStream::connect(backend)?;
    let (mut from_client, mut to_client) = (client.try_clone()?, client);
    let (mut from_upstream, mut to_upstream) = (upstream.try_clone()?, upstream);
    let up = thread::spawn(move || {
        let _ = io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut from_upstream, &mut to_client);
    let _ = to_client.flush();
    let _ = to_client.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    /// Two echo servers that prefix their name: connections alternate between them, and bytes
    /// pass both ways.
    #[test]
    fn connections_alternate_and_bytes_pass_both_ways() {
        let backends: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind");
                let addr = l.local_addr().expect("addr");
                std::thread::spawn(move || {
                    for mut c in l.incoming().flatten() {
                        let mut buf = [0u8; 5];
                        if c.read_exact(&mut buf).is_ok() {
                            let _ = c.write_all(format!("{name}:{}", String::from_utf8_lossy(&buf)).as_bytes());
                        }
                    }
                });
                addr
            })
            .collect();
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let addr = format!("127.0.0.1:{port}");
        super::round_robin(&addr, backends).expect("balancer");
        let mut seen = Vec::new();
        for _ in 0..4 {
            let mut c = TcpStream::connect(&addr).expect("connect");
            c.write_all(b"hello").expect("write");
            c.shutdown(std::net::Shutdown::Write).expect("shutdown");
            let mut out = String::new();
            c.read_to_string(&mut out).expect("read");
            seen.push(out);
        }
        assert_eq!(seen, ["a:hello", "b:hello", "a:hello", "b:hello"]);
    }
}
