//! A TCP proxy between a node and what it talks to, that the test can turn
//! into a black hole: while it is one, nothing is read from either side, so
//! the bytes wait (as in a network partition, until TCP gives up) and flow
//! again when it heals.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(5);

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// Where to connect instead of the upstream.
    pub address: SocketAddr,
    blackhole: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Forwards connections to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let blackhole = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (hole, stopping) = (blackhole.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue;
                        };
                        for (from, to) in [
                            (client.try_clone().unwrap(), server.try_clone().unwrap()),
                            (server, client),
                        ] {
                            let (hole, stopping) = (hole.clone(), stopping.clone());
                            std::thread::spawn(move || pump(from, to, &hole, &stopping));
                        }
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(POLL);
                    }
                    Err(_) => return,
                }
            }
        });
        Proxy {
            address,
            blackhole,
            stop,
        }
    }

    /// Starts (true) or ends (false) the black hole.
    pub fn blackhole(&self, on: bool) {
        self.blackhole.store(on, Ordering::Release);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, hole: &AtomicBool, stop: &AtomicBool) {
    let _ = from.set_read_timeout(Some(POLL));
    let mut buffer = [0u8; 16 * 1024];
    while !stop.load(Ordering::Acquire) {
        if hole.load(Ordering::Acquire) {
            std::thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                // Read just as the black hole began: held until it ends.
                while hole.load(Ordering::Acquire) && !stop.load(Ordering::Acquire) {
                    std::thread::sleep(POLL);
                }
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
