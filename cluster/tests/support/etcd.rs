//! A private etcd server for one test: on 127.0.0.1 with free client and
//! peer ports, its data on a tmpfs (`/dev/shm` where there is one: etcd 3.4
//! cannot skip fsync, and a transaction on disk costs about a millisecond),
//! killed by PID when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running etcd.
pub struct Etcd {
    child: Child,
    /// Its client URL.
    pub url: String,
    data: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port on 127.0.0.1")
}

impl Etcd {
    /// Starts etcd (`ACTEUR_ETCD_BIN`, else `etcd` on the PATH) and waits
    /// until it answers.
    ///
    /// # Panics
    ///
    /// Without an etcd binary, with how to install one.
    pub fn start() -> Etcd {
        let binary = std::env::var("ACTEUR_ETCD_BIN").unwrap_or_else(|_| "etcd".to_owned());
        let (client, peer) = (free_port(), free_port());
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let data = base.join(format!("acteur-etcd-{}-{client}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(&binary)
            .args(["--name", "test", "--data-dir"])
            .arg(&data)
            .args([
                "--listen-client-urls",
                &url,
                "--advertise-client-urls",
                &url,
            ])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("test={peer_url}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "could not start etcd (`{binary}`): {error}. These tests need etcd 3.4 or \
                     newer: run scripts/cluster-setup.sh (Debian: apt-get install -y \
                     etcd-server), or set ACTEUR_ETCD_BIN to an etcd binary"
                )
            });
        let mut etcd = Etcd { child, url, data };
        etcd.wait_until_ready();
        etcd
    }

    fn wait_until_ready(&mut self) {
        let started = Instant::now();
        let address = self.url.trim_start_matches("http://").to_owned();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("etcd exited at start with {status}");
            }
            // Ready once it serves a request over HTTP (its gRPC gateway).
            if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
                use std::io::{Read, Write};
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let request =
                    format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.contains("\"health\":\"true\"")
                {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "etcd did not become healthy within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The PID, to stop or pause it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
