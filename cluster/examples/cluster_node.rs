//! One node of a cluster of counters, driven over stdin and stdout: what
//! the multi-process tests (and outside checkers) start several of.
//!
//! ```text
//! cargo run --release -p acteur-cluster --example cluster_node -- \
//!     --cluster demo --etcd http://127.0.0.1:2379 --listen 127.0.0.1:7001 \
//!     --lease-ttl-ms 4000 --partitions 64 --log /tmp/node-1.log
//! ```
//!
//! It prints `{"ready":true,"node":"..","listen":".."}` once it joined, then
//! takes JSON lines on stdin, handled concurrently through the cluster:
//!
//! - `{"req":1,"cmd":"inc","id":7,"op":"a1"}`: counter 7 applies operation
//!   `a1` once (a second `a1` answers `duplicate`);
//! - `{"req":2,"cmd":"get","id":7}`: its value (0 if never incremented);
//! - `{"cmd":"leave"}`: leave the cluster and exit with status 0.
//!
//! Answers are `{"req":n,"ok":true,"value":v,"epoch":e,"node":".."}` (the
//! node whose handler ran) or `{"req":n,"ok":false,"err":"unavailable|
//! timeout|fenced|duplicate|other","detail":".."}`.
//!
//! The counter keeps its value in the same etcd, in one transaction per
//! increment: `/check/{cluster}/c/{id}` = `{"epoch":E,"value":V}` only if
//! that key is unchanged since the activation read it (and it then held an
//! epoch no newer than its own) and the actor's partition key still has its
//! epoch, plus `/check/{cluster}/op/{id}/{op}` = E if absent. The write is
//! abandoned at the node's fencing deadline. `--log` gets one JSON line per
//! `activate`, `handle_start`, `handle_end` and `deactivate`. The cluster's
//! own warnings and errors (a lease not renewed, a partition lost, a claim
//! that failed) go to stderr, so that a test that drives nodes shows why
//! one misbehaved.

use std::fs::File;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, Respond};
use acteur_cluster::{Cluster, ClusterConfig, RemoteActor, RemoteMessage, partition_of};
use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What the counters share on a node.
struct Shared {
    cluster_name: String,
    partitions: u32,
    etcd: etcd_client::Client,
    cluster: OnceLock<Cluster>,
    log: Mutex<File>,
}

impl Shared {
    fn node(&self) -> String {
        self.cluster.get().map(Cluster::node_id).unwrap_or_default()
    }

    fn event(&self, event: &str, id: u64, epoch: u64) {
        let t_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |t| t.as_nanos());
        let line =
            json!({"ev": event, "id": id, "epoch": epoch, "node": self.node(), "t_ns": t_ns});
        let mut log = self.log.lock().unwrap();
        let _ = writeln!(log, "{line}");
    }

    fn counter_key(&self, id: u64) -> String {
        format!("/check/{}/c/{id}", self.cluster_name)
    }
}

struct Counter {
    value: u64,
    epoch: u64,
    /// The counter key's mod revision when this activation read or last
    /// wrote it (0: absent).
    revision: i64,
}

impl RemoteActor for Counter {
    const NAME: &'static str = "check.Counter";
}

#[derive(Serialize, Deserialize)]
struct Stored {
    epoch: u64,
    value: u64,
}

impl Actor for Counter {
    type Id = u64;

    async fn activate(id: u64, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let shared = assistant.data::<Arc<Shared>>()?;
        let epoch = assistant
            .activation_epoch()
            .ok_or("a clustered counter has an epoch")?;
        let mut etcd = shared.etcd.clone();
        let found = etcd.get(shared.counter_key(id), None).await?;
        let (value, revision) = match found.kvs().first() {
            None => (0, 0),
            Some(kv) => {
                let stored: Stored = serde_json::from_slice(kv.value())?;
                if stored.epoch > epoch {
                    return Err(format!(
                        "stored epoch {} is newer than this activation's {epoch}",
                        stored.epoch
                    )
                    .into());
                }
                (stored.value, kv.mod_revision())
            }
        };
        shared.event("activate", id, epoch);
        Ok(Counter {
            value,
            epoch,
            revision,
        })
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        if let Ok(shared) = assistant.data::<Arc<Shared>>() {
            shared.event("deactivate", *assistant.id(), self.epoch);
        }
    }
}

/// Applies operation `op` once.
#[derive(Serialize, Deserialize)]
struct Increment {
    op: String,
}
impl RemoteMessage for Increment {
    const NAME: &'static str = "check.Increment";
}

#[derive(Serialize, Deserialize)]
struct Get;
impl RemoteMessage for Get {
    const NAME: &'static str = "check.Get";
}

/// A handler's answer: value, epoch and node, or the `err` and `detail`.
type Answer = Result<(u64, u64, String), (String, String)>;

impl Respond<Increment> for Counter {
    type Response = Answer;

    async fn handle(&mut self, increment: Increment, assistant: &ActorAssistant<Self>) -> Answer {
        let id = *assistant.id();
        let shared = assistant.data::<Arc<Shared>>().map_err(other)?;
        shared.event("handle_start", id, self.epoch);
        let answer = self.increment(id, &increment.op, shared).await;
        shared.event("handle_end", id, self.epoch);
        answer
    }
}

impl Respond<Get> for Counter {
    type Response = Answer;

    async fn handle(&mut self, _: Get, assistant: &ActorAssistant<Self>) -> Answer {
        let id = *assistant.id();
        let shared = assistant.data::<Arc<Shared>>().map_err(other)?;
        shared.event("handle_start", id, self.epoch);
        shared.event("handle_end", id, self.epoch);
        Ok((self.value, self.epoch, shared.node()))
    }
}

impl Counter {
    async fn increment(&mut self, id: u64, op: &str, shared: &Shared) -> Answer {
        let cluster = shared.cluster.get().ok_or_else(|| other("not joined"))?;
        let partition = partition_of::<Counter>(&id, shared.partitions).map_err(other)?;
        let partition_key = format!("/acteur/{}/partitions/{partition}", shared.cluster_name);
        let counter_key = shared.counter_key(id);
        let op_key = format!("/check/{}/op/{id}/{op}", shared.cluster_name);
        let next = Stored {
            epoch: self.epoch,
            value: self.value + 1,
        };
        let epoch = i64::try_from(self.epoch).map_err(other)?;
        let txn = Txn::new()
            .when([
                Compare::mod_revision(counter_key.clone(), CompareOp::Equal, self.revision),
                Compare::create_revision(op_key.clone(), CompareOp::Equal, 0),
                Compare::create_revision(partition_key.clone(), CompareOp::Equal, epoch),
            ])
            .and_then([
                TxnOp::put(
                    counter_key.clone(),
                    serde_json::to_vec(&next).map_err(other)?,
                    None,
                ),
                TxnOp::put(op_key.clone(), self.epoch.to_string(), None),
            ])
            .or_else([
                TxnOp::get(op_key, None),
                TxnOp::get(partition_key, None),
                TxnOp::get(counter_key, None),
            ]);
        let mut etcd = shared.etcd.clone();
        // Not past the node's deadline: the partition key's epoch in the
        // transaction keeps a late commit from landing once another node
        // may own the counter, and no answer comes after the deadline.
        let deadline = tokio::time::Instant::from_std(cluster.fencing_deadline());
        let response = match tokio::time::timeout_at(deadline, etcd.txn(txn)).await {
            Err(_) => {
                return Err((
                    "timeout".into(),
                    "the node's fencing deadline passed".into(),
                ));
            }
            Ok(Err(error)) => return Err(("other".into(), error.to_string())),
            Ok(Ok(response)) => response,
        };
        if response.succeeded() {
            self.value = next.value;
            self.revision = response.header().map_or(0, |header| header.revision());
            return Ok((self.value, self.epoch, shared.node()));
        }
        let found: Vec<bool> = response
            .op_responses()
            .into_iter()
            .map(|op| match op {
                etcd_client::TxnOpResponse::Get(get) => !get.kvs().is_empty(),
                _ => false,
            })
            .collect();
        if found.first() == Some(&true) {
            return Err((
                "duplicate".into(),
                format!("operation {op} was applied already"),
            ));
        }
        Err((
            "fenced".into(),
            "the counter or its partition changed hands since this activation began".into(),
        ))
    }
}

fn other(error: impl std::fmt::Display) -> (String, String) {
    ("other".to_owned(), error.to_string())
}

struct Arguments {
    cluster: String,
    etcd: String,
    listen: SocketAddr,
    advertise: Option<SocketAddr>,
    lease_ttl: Duration,
    partitions: u32,
    log: String,
}

fn arguments() -> Result<Arguments, String> {
    let mut args = std::env::args().skip(1);
    let mut found = std::collections::HashMap::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        found.insert(flag, value);
    }
    let take = |flag: &str| {
        found
            .get(flag)
            .cloned()
            .ok_or(format!("{flag} is required"))
    };
    let parse = |flag: &str, value: String| -> Result<u64, String> {
        value.parse().map_err(|_| format!("{flag}: not a number"))
    };
    Ok(Arguments {
        cluster: take("--cluster")?,
        etcd: take("--etcd")?,
        listen: take("--listen")?
            .parse()
            .map_err(|_| "--listen: not an address")?,
        advertise: match found.get("--advertise") {
            Some(address) => Some(address.parse().map_err(|_| "--advertise: not an address")?),
            None => None,
        },
        lease_ttl: Duration::from_millis(parse("--lease-ttl-ms", take("--lease-ttl-ms")?)?),
        partitions: u32::try_from(parse("--partitions", take("--partitions")?)?)
            .map_err(|_| "--partitions: too large")?,
        log: take("--log")?,
    })
}

/// Writes the `log` records of warning level and above to stderr, one line
/// each, with the process ID (several nodes share a terminal or a test's
/// output).
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "cluster_node {}: {} {}: {}",
                std::process::id(),
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

fn print(line: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The answer line for request `req`.
fn answer_line(req: &Value, answer: Result<Answer, Error>) -> Value {
    match answer {
        Ok(Ok((value, epoch, node))) => {
            json!({"req": req, "ok": true, "value": value, "epoch": epoch, "node": node})
        }
        Ok(Err((err, detail))) => json!({"req": req, "ok": false, "err": err, "detail": detail}),
        Err(error) => {
            let err = match error {
                Error::Unavailable { .. } => "unavailable",
                Error::Timeout => "timeout",
                _ => "other",
            };
            json!({"req": req, "ok": false, "err": err, "detail": error.to_string()})
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = arguments().map_err(|error| {
        format!(
            "{error}\nusage: cluster_node --cluster NAME --etcd URL --listen ADDR [--advertise ADDR] \
             --lease-ttl-ms N --partitions N --log PATH"
        )
    })?;
    static STDERR_LOG: StderrLog = StderrLog;
    if log::set_logger(&STDERR_LOG).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let etcd = etcd_client::Client::connect([args.etcd.as_str()], None).await?;
    let shared = Arc::new(Shared {
        cluster_name: args.cluster.clone(),
        partitions: args.partitions,
        etcd,
        cluster: OnceLock::new(),
        log: Mutex::new(File::options().create(true).append(true).open(&args.log)?),
    });
    let acteur = Acteur::builder().data(shared.clone()).build();
    let mut config = ClusterConfig::new(args.cluster)
        .node_name("node")
        .etcd_endpoints([args.etcd])
        .listen(args.listen)
        .lease_ttl(args.lease_ttl)
        .partitions(args.partitions);
    if let Some(advertise) = args.advertise {
        config = config.advertise(advertise);
    }
    let cluster = Cluster::builder(acteur.clone(), config)
        .actor::<Counter>()
        .request::<Increment>()
        .request::<Get>()
        .join()
        .await?;
    let listen = cluster
        .members()
        .into_iter()
        .find(|member| member.id == cluster.node_id())
        .map_or_else(String::new, |member| member.address.to_string());
    let _ = shared.cluster.set(cluster.clone());
    print(json!({"ready": true, "node": cluster.node_id(), "listen": listen}));

    // Stdin is read on a thread of its own; each request runs as a task.
    let (lines, mut incoming) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = incoming.recv().await {
        let Ok(request) = serde_json::from_str::<Value>(&line) else {
            print(json!({"ok": false, "err": "other", "detail": format!("not JSON: {line}")}));
            continue;
        };
        let req = request.get("req").cloned().unwrap_or(Value::Null);
        let id = request.get("id").and_then(Value::as_u64);
        match (request.get("cmd").and_then(Value::as_str), id) {
            (Some("leave"), _) => break,
            (Some("inc"), Some(id)) => {
                let op = request
                    .get("op")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let acteur = acteur.clone();
                tokio::spawn(async move {
                    let answer = acteur
                        .call_actor::<Counter, Increment>(id, Increment { op })
                        .await;
                    print(answer_line(&req, answer));
                });
            }
            (Some("get"), Some(id)) => {
                let acteur = acteur.clone();
                tokio::spawn(async move {
                    let answer = acteur.call_actor::<Counter, Get>(id, Get).await;
                    print(answer_line(&req, answer));
                });
            }
            _ => print(
                json!({"req": req, "ok": false, "err": "other", "detail": format!("unknown command: {line}")}),
            ),
        }
    }
    cluster.leave().await?;
    acteur.stop();
    acteur.stopped().await;
    Ok(())
}
