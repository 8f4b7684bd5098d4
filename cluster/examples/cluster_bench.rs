//! Remote messaging figures of two nodes on one machine, as one JSON line:
//!
//! ```text
//! cargo run --release -p acteur-cluster --example cluster_bench
//! ```
//!
//! It starts its own etcd (`ACTEUR_ETCD_BIN` or `etcd` on the PATH, as the
//! tests do: `tests/support/etcd.rs`) on free ports of 127.0.0.1, with its
//! data in `/dev/shm` where there is one, and a second copy of itself as
//! the other node, then measures, against actors that live on that other
//! node:
//!
//! - `remote_ask_p50_us`, `remote_ask_p99_us`: one caller's sequential asks;
//! - `remote_tell_per_s`: fire-and-forget sends from one node, pipelined
//!   (`try_send_to_actor`, retried when the connection's queue is full),
//!   counted once the other node handled them all;
//! - `acknowledged_tell_per_s`: `send_to_actor` from 64 tasks, each send
//!   waiting for the owner's acknowledgment;
//! - `concurrent_ask_per_s`: 64 tasks asking in a loop;
//! - `local_clustered_ask_ns` and `local_plain_ask_ns`: an ask to a
//!   clustered actor this node owns, against the same ask to an actor type
//!   that is not clustered, and their ratio.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, Receive, Respond};
use acteur_cluster::{Cluster, ClusterConfig, RemoteActor, RemoteMessage};
use serde::{Deserialize, Serialize};
use serde_json::json;

struct Counter(u64);
impl Actor for Counter {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Counter(0))
    }
}
impl RemoteActor for Counter {
    const NAME: &'static str = "bench.Counter";
}

/// The same actor, not registered with the cluster.
struct Plain(u64);
impl Actor for Plain {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Plain(0))
    }
}

#[derive(Serialize, Deserialize)]
struct Inc;
impl RemoteMessage for Inc {
    const NAME: &'static str = "bench.Inc";
}
impl Receive<Inc> for Counter {
    async fn handle(&mut self, _: Inc, _: &ActorAssistant<Self>) {
        self.0 += 1;
    }
}

#[derive(Serialize, Deserialize)]
struct Get;
impl RemoteMessage for Get {
    const NAME: &'static str = "bench.Get";
}
impl Respond<Get> for Counter {
    type Response = u64;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u64 {
        self.0
    }
}
impl Respond<Get> for Plain {
    type Response = u64;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u64 {
        self.0
    }
}

const CLUSTER: &str = "bench";

/// The tests' private etcd: free ports, data on a tmpfs, killed on drop.
#[allow(dead_code)]
#[path = "../tests/support/etcd.rs"]
mod etcd;

async fn join(etcd: &str) -> Result<(Acteur, Cluster), Box<dyn std::error::Error>> {
    let acteur = Acteur::new();
    let cluster = Cluster::builder(
        acteur.clone(),
        ClusterConfig::new(CLUSTER)
            .etcd_endpoints([etcd.to_owned()])
            .lease_ttl(Duration::from_secs(5))
            .partitions(64),
    )
    .actor::<Counter>()
    .message::<Inc>()
    .request::<Get>()
    .join()
    .await?;
    Ok((acteur, cluster))
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        // The other node: serves until its stdin closes.
        let (acteur, cluster) = join(&args[2]).await?;
        println!("ready");
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin()
                .read_line(&mut line)
                .map(|read| read > 0)
                .unwrap_or(false)
            {
                line.clear();
            }
        })
        .await?;
        cluster.leave().await?;
        acteur.stop();
        acteur.stopped().await;
        return Ok(());
    }

    let etcd = etcd::Etcd::start();
    let url = etcd.url.clone();
    let (acteur, cluster) = join(&url).await?;
    let mut other = Command::new(std::env::current_exe()?)
        .args(["--serve", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(other.stdout.take().unwrap()),
        &mut ready,
    )?;
    // Settled: two members, and IDs on both.
    let (remote, local): (Vec<u64>, Vec<u64>) = loop {
        let owners: Vec<_> = (0..1000u64)
            .map(|id| (id, cluster.owner_of::<Counter>(&id)))
            .collect();
        let settled = cluster.members().len() == 2
            && owners.iter().all(|(_, owner)| owner.is_some())
            && owners
                .iter()
                .any(|(_, owner)| owner.as_deref() != Some(&*cluster.node_id()));
        if settled {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let me = cluster.node_id();
            let (remote, local): (Vec<_>, Vec<_>) = (0..1000u64)
                .partition(|id| cluster.owner_of::<Counter>(id).as_deref() != Some(&*me));
            break (remote, local);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // Sequential remote asks.
    let target = remote[0];
    for _ in 0..2000 {
        acteur.call_actor::<Counter, Get>(target, Get).await?;
    }
    let mut latencies = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let at = Instant::now();
        acteur.call_actor::<Counter, Get>(target, Get).await?;
        latencies.push(at.elapsed());
    }
    latencies.sort();

    // Pipelined remote tells from one node.
    let tells = 400_000u64;
    let ids: Vec<u64> = remote.iter().copied().take(100).collect();
    let before: u64 = sum(&acteur, &ids).await?;
    let at = Instant::now();
    for n in 0..tells {
        let id = ids[(n % ids.len() as u64) as usize];
        let mut message = Inc;
        loop {
            match acteur.try_send_to_actor::<Counter, Inc>(id, message) {
                Ok(()) => break,
                Err(refused) if *refused.error() == Error::MailboxFull => {
                    message = refused.into_message();
                    tokio::task::yield_now().await;
                }
                Err(refused) => return Err(refused.error().clone().into()),
            }
        }
    }
    while sum(&acteur, &ids).await? < before + tells {
        tokio::task::yield_now().await;
    }
    let remote_tell_per_s = tells as f64 / at.elapsed().as_secs_f64();

    // Acknowledged tells and asks, 64 tasks at a time.
    let tasks = 64u64;
    let per_task = 2_000u64;
    let at = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (acteur, id) = (acteur.clone(), remote[(task as usize) % remote.len()]);
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                acteur.send_to_actor::<Counter, Inc>(id, Inc).await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await?;
    }
    let acknowledged_tell_per_s = (tasks * per_task) as f64 / at.elapsed().as_secs_f64();
    let done = Arc::new(AtomicU64::new(0));
    let at = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (acteur, id, done) = (
            acteur.clone(),
            remote[(task as usize) % remote.len()],
            done.clone(),
        );
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                acteur.call_actor::<Counter, Get>(id, Get).await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for handle in handles {
        handle.await?;
    }
    let concurrent_ask_per_s = done.load(Ordering::Relaxed) as f64 / at.elapsed().as_secs_f64();

    // Local asks: clustered and owned here, against not clustered.
    let local_id = local[0];
    let rounds = 200_000u32;
    let timing = |clustered: bool| {
        let acteur = acteur.clone();
        async move {
            for _ in 0..10_000 {
                ask(&acteur, clustered, local_id).await;
            }
            let at = Instant::now();
            for _ in 0..rounds {
                ask(&acteur, clustered, local_id).await;
            }
            at.elapsed().as_nanos() as f64 / f64::from(rounds)
        }
    };
    let local_clustered_ask_ns = timing(true).await;
    let local_plain_ask_ns = timing(false).await;

    println!(
        "{}",
        json!({
            "remote_ask_p50_us": percentile(&latencies, 0.50),
            "remote_ask_p99_us": percentile(&latencies, 0.99),
            "remote_tell_per_s": remote_tell_per_s.round(),
            "acknowledged_tell_per_s": acknowledged_tell_per_s.round(),
            "concurrent_ask_per_s": concurrent_ask_per_s.round(),
            "local_clustered_ask_ns": local_clustered_ask_ns.round(),
            "local_plain_ask_ns": local_plain_ask_ns.round(),
            "local_ask_ratio": (local_clustered_ask_ns / local_plain_ask_ns * 100.0).round() / 100.0,
        })
    );
    drop(other.stdin.take());
    let _ = other.wait();
    cluster.leave().await?;
    acteur.stop();
    acteur.stopped().await;
    Ok(())
}

async fn ask(acteur: &Acteur, clustered: bool, id: u64) {
    let answer = if clustered {
        acteur.call_actor::<Counter, Get>(id, Get).await
    } else {
        acteur.call_actor::<Plain, Get>(id, Get).await
    };
    answer.expect("a local ask");
}

async fn sum(acteur: &Acteur, ids: &[u64]) -> Result<u64, Error> {
    let mut total = 0;
    for id in ids {
        total += acteur.call_actor::<Counter, Get>(*id, Get).await?;
    }
    Ok(total)
}
