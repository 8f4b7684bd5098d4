//! A `cluster_node` example process, driven over its stdin and stdout.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An answer line and the instant it was read.
pub type Answer = Receiver<(Value, Instant)>;
/// Who waits for which request's answer.
type Waiting = Arc<Mutex<HashMap<u64, Sender<(Value, Instant)>>>>;

/// The example's binary, built by `cargo test` beside the test binaries.
pub fn binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test binary's path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile.join("examples").join("cluster_node");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p acteur-cluster --example cluster_node` \
         (`cargo test -p acteur-cluster` builds it)",
        binary.display()
    );
    binary
}

/// A running node.
pub struct NodeProcess {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    waiting: Waiting,
    /// Its ID, from its ready line.
    pub id: String,
    pub log: PathBuf,
}

impl NodeProcess {
    /// Starts a node of `cluster` and waits for its ready line.
    pub fn start(
        cluster: &str,
        etcd: &str,
        lease_ttl_ms: u64,
        partitions: u32,
        log: PathBuf,
    ) -> NodeProcess {
        let mut child = Command::new(binary())
            .args([
                "--cluster",
                cluster,
                "--etcd",
                etcd,
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--lease-ttl-ms", &lease_ttl_ms.to_string()])
            .args(["--partitions", &partitions.to_string()])
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the cluster_node example starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let waiting: Waiting = Arc::default();
        let (ready, is_ready) = channel::<Value>();
        let answers = waiting.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { return };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if value.get("ready").is_some() {
                    let _ = ready.send(value);
                } else if let Some(req) = value.get("req").and_then(Value::as_u64) {
                    if let Some(answer) = answers.lock().unwrap().remove(&req) {
                        let _ = answer.send((value, Instant::now()));
                    }
                }
            }
        });
        let ready = is_ready
            .recv_timeout(Duration::from_secs(30))
            .expect("the node joins within 30 s");
        let id = ready["node"].as_str().unwrap().to_owned();
        NodeProcess {
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
            waiting,
            id,
            log,
        }
    }

    /// Sends request `req` and returns where its answer will come, with
    /// the instant it was read.
    pub fn send(&self, req: u64, mut request: Value) -> Answer {
        let (answer, answered) = channel();
        self.waiting.lock().unwrap().insert(req, answer);
        request["req"] = json!(req);
        let mut stdin = self.stdin.lock().unwrap();
        if let Some(stdin) = stdin.as_mut() {
            let _ = writeln!(stdin, "{request}");
            let _ = stdin.flush();
        }
        answered
    }

    /// Kills it with SIGKILL; the answers it still owed never come (their
    /// receivers see the sender gone).
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        self.waiting.lock().unwrap().clear();
    }

    /// Asks it to leave and waits for it to exit; its exit status.
    pub fn leave(&self) -> std::process::ExitStatus {
        {
            let mut stdin = self.stdin.lock().unwrap();
            if let Some(stdin) = stdin.as_mut() {
                let _ = writeln!(stdin, "{}", json!({"cmd": "leave"}));
            }
            stdin.take();
        }
        let status = self.child.lock().unwrap().wait().expect("the node exits");
        self.waiting.lock().unwrap().clear();
        status
    }

    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap().id()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}
