//! The counter torture: clients increment per-ID counters through random
//! nodes (`cluster_node` processes) while nodes are killed, paused past
//! their lease, cut off from etcd, leave and join. Seeded
//! (`ACTEUR_CLUSTER_TORTURE_SEED`), at most a minute
//! (`ACTEUR_CLUSTER_TORTURE_SECONDS`, 30 by default).
//!
//! Checked afterwards, from etcd, the answers and the nodes' event logs:
//! every acknowledged increment applied exactly once, none answered
//! `unavailable` applied; per counter, acknowledged values unique and
//! increasing in real-time order; no operation delivered twice; no two
//! activations of a counter handling messages at the same time, except
//! around a pause (guarantee 2 allows it there).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::counters::stored_counters;
use support::etcd::Etcd;
use support::node_process::NodeProcess;
use support::proxy::Proxy;

const TTL_MS: u64 = 3000;
const IDS: u64 = 12;
const CLIENTS: usize = 4;

/// splitmix64: a seeded generator, so that a failing run can be repeated.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A node process with its own way to etcd (a proxy that can cut it off).
struct Member {
    node: Arc<NodeProcess>,
    proxy: Proxy,
}

/// What a client saw of one operation.
struct Outcome {
    id: u64,
    op: String,
    sent_ns: u128,
    answered_ns: u128,
    answer: Option<Value>,
}

#[test]
fn counters_stay_exact_through_churn_and_faults() {
    let seed = std::env::var("ACTEUR_CLUSTER_TORTURE_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x5eed_u64);
    let seconds = std::env::var("ACTEUR_CLUSTER_TORTURE_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(30u64)
        .min(60);
    eprintln!("cluster torture: seed {seed}, {seconds} s");
    let mut rng = Rng(seed);
    let etcd = Etcd::start();
    let etcd_address: std::net::SocketAddr =
        etcd.url.trim_start_matches("http://").parse().unwrap();
    let logs = std::env::temp_dir().join(format!("acteur-torture-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let mut started = 0usize;
    let start = |started: &mut usize| {
        let proxy = Proxy::start(etcd_address);
        let log = logs.join(format!("n{started}.log"));
        *started += 1;
        let node = NodeProcess::start(
            "torture",
            &format!("http://{}", proxy.address),
            TTL_MS,
            16,
            log,
        );
        Member {
            node: Arc::new(node),
            proxy,
        }
    };
    let members: Arc<Mutex<Vec<Member>>> =
        Arc::new(Mutex::new((0..3).map(|_| start(&mut started)).collect()));
    // Windows (ns) during which a process was paused, with its log.
    let mut paused: Vec<(std::path::PathBuf, u128, u128)> = Vec::new();
    // When each killed process died, by log.
    let mut killed: HashMap<std::path::PathBuf, u128> = HashMap::new();

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (members, stop, outcomes) = (members.clone(), stop.clone(), outcomes.clone());
            let mut rng = Rng(seed ^ (client as u64 + 1) << 32);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Acquire) {
                    n += 1;
                    let id = rng.below(IDS);
                    let op = format!("c{client}-{n}");
                    let node = {
                        let members = members.lock().unwrap();
                        members[rng.below(members.len() as u64) as usize]
                            .node
                            .clone()
                    };
                    let req = (client as u64) << 40 | n;
                    let sent_ns = now_ns();
                    let answer = node
                        .send(req, json!({"cmd": "inc", "id": id, "op": op}))
                        .recv_timeout(Duration::from_secs(40));
                    let answered_ns = now_ns();
                    let answer = answer.ok().map(|(answer, _)| answer);
                    outcomes.lock().unwrap().push(Outcome {
                        id,
                        op,
                        sent_ns,
                        answered_ns,
                        answer,
                    });
                }
            })
        })
        .collect();

    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(1000 + rng.below(2000)));
        let action = rng.below(5);
        let mut members_now = members.lock().unwrap();
        let victim = rng.below(members_now.len() as u64) as usize;
        match action {
            // Killed, and a new node takes its place.
            0 if members_now.len() > 1 => {
                let member = members_now.remove(victim);
                drop(members_now);
                member.node.kill();
                killed.insert(member.node.log.clone(), now_ns());
                let fresh = start(&mut started);
                members.lock().unwrap().push(fresh);
            }
            // Leaves, and a new node joins.
            1 if members_now.len() > 1 => {
                let member = members_now.remove(victim);
                drop(members_now);
                assert!(
                    member.node.leave().success(),
                    "a node that leaves exits with 0"
                );
                let fresh = start(&mut started);
                members.lock().unwrap().push(fresh);
            }
            // Paused past its lease.
            2 => {
                let node = members_now[victim].node.clone();
                drop(members_now);
                let from = now_ns();
                signal(node.pid(), "-STOP");
                std::thread::sleep(Duration::from_millis(TTL_MS * 3 / 2));
                signal(node.pid(), "-CONT");
                paused.push((node.log.clone(), from, now_ns()));
            }
            // Cut off from etcd past its lease, then healed.
            3 => {
                members_now[victim].proxy.blackhole(true);
                drop(members_now);
                std::thread::sleep(Duration::from_millis(TTL_MS * 3 / 2));
                members.lock().unwrap()[victim].proxy.blackhole(false);
            }
            _ => {}
        }
    }
    stop.store(true, Ordering::Release);
    for client in clients {
        client.join().unwrap();
    }
    let members = std::mem::take(&mut *members.lock().unwrap());
    for member in &members {
        let status = member.node.leave();
        assert!(
            status.success(),
            "{} left with {status}",
            member.node.log.display()
        );
    }

    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let acknowledged = outcomes
        .iter()
        .filter(|o| o.answer.as_ref().is_some_and(|a| a["ok"] == json!(true)))
        .count();
    eprintln!(
        "{} operations, {acknowledged} acknowledged, {started} nodes started",
        outcomes.len()
    );
    assert!(acknowledged > 100, "too little got through: {acknowledged}");
    check_counters(&etcd, &outcomes);
    check_overlap(&logs, &paused, &killed);
    let _ = std::fs::remove_dir_all(&logs);
}

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Exactly once, never after `unavailable`, no duplicate delivery, and
/// acknowledged values unique and increasing in real-time order.
fn check_counters(etcd: &Etcd, outcomes: &[Outcome]) {
    let (values, ops) = stored_counters(etcd, "torture");
    for id in 0..IDS {
        let applied = ops.get(&id).cloned().unwrap_or_default();
        assert_eq!(
            values.get(&id).copied().unwrap_or(0),
            applied.len() as u64,
            "counter {id}"
        );
    }
    let applied = |id: u64, op: &str| ops.get(&id).is_some_and(|ops| ops.iter().any(|o| o == op));
    let mut acked: HashMap<u64, Vec<&Outcome>> = HashMap::new();
    for outcome in outcomes {
        let Some(answer) = &outcome.answer else {
            continue;
        };
        if answer["ok"] == json!(true) {
            assert!(
                applied(outcome.id, &outcome.op),
                "acknowledged {} was lost",
                outcome.op
            );
            acked.entry(outcome.id).or_default().push(outcome);
        } else if answer["err"] == json!("unavailable") {
            assert!(
                !applied(outcome.id, &outcome.op),
                "{} answered unavailable, applied",
                outcome.op
            );
        }
        // Every op is sent once: a second delivery would find it applied.
        assert_ne!(
            answer["err"],
            json!("duplicate"),
            "{} was delivered twice",
            outcome.op
        );
    }
    for (id, acks) in acked {
        let mut values: Vec<u64> = acks
            .iter()
            .map(|o| o.answer.as_ref().unwrap()["value"].as_u64().unwrap())
            .collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(
            values.len(),
            acks.len(),
            "counter {id}: an acknowledged value twice"
        );
        for a in &acks {
            for b in &acks {
                if a.answered_ns < b.sent_ns {
                    let (va, vb) = (
                        a.answer.as_ref().unwrap()["value"].as_u64(),
                        b.answer.as_ref().unwrap()["value"].as_u64(),
                    );
                    assert!(
                        va < vb,
                        "counter {id}: {} answered {va:?} before {} was sent, which got {vb:?}",
                        a.op,
                        b.op
                    );
                }
            }
        }
    }
}

/// No two handlers of one counter, from different activations, run at the
/// same time, but for a process's handlers around its pause.
fn check_overlap(
    logs: &std::path::Path,
    paused: &[(std::path::PathBuf, u128, u128)],
    killed: &HashMap<std::path::PathBuf, u128>,
) {
    // Per counter: (start, end, activation) of every handler run.
    let mut runs: HashMap<u64, Vec<(u128, u128, String)>> = HashMap::new();
    for entry in std::fs::read_dir(logs).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let near_pause = |t: u128| {
            paused.iter().any(|(log, from, to)| {
                *log == path
                    && t + 1_000_000_000 >= *from
                    && t <= to + u128::from(TTL_MS) * 1_000_000
            })
        };
        let end_of_process = killed.get(&path).copied().unwrap_or(u128::MAX);
        let mut open: HashMap<(u64, String, u64), u128> = HashMap::new();
        for line in text.lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            let id = event["id"].as_u64().unwrap();
            let key = (
                id,
                event["node"].as_str().unwrap().to_owned(),
                event["epoch"].as_u64().unwrap(),
            );
            let t = u128::from(event["t_ns"].as_u64().unwrap());
            match event["ev"].as_str().unwrap() {
                "handle_start" => {
                    open.insert(key, t);
                }
                "handle_end" => {
                    if let Some(start) = open.remove(&key) {
                        if !near_pause(start) && !near_pause(t) {
                            runs.entry(id).or_default().push((
                                start,
                                t,
                                format!("{}@{}", key.1, key.2),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        // Handlers a kill cut short ran until the kill.
        for ((id, node, epoch), start) in open {
            if end_of_process != u128::MAX && !near_pause(start) {
                runs.entry(id).or_default().push((
                    start,
                    end_of_process,
                    format!("{node}@{epoch}"),
                ));
            }
        }
    }
    for (id, mut runs) in runs {
        runs.sort();
        // The run that ends last among those started so far: any later
        // start before its end is an overlap.
        let mut latest: Option<(u128, String)> = None;
        for (start, end, activation) in runs {
            if let Some((latest_end, other)) = &latest {
                assert!(
                    *other == activation || *latest_end <= start,
                    "counter {id}: activations {other} (until {latest_end}) and {activation} (from \
                     {start}) handled messages at the same time; pauses {paused:?}"
                );
            }
            if latest
                .as_ref()
                .is_none_or(|(latest_end, _)| end > *latest_end)
            {
                latest = Some((end, activation));
            }
        }
    }
}
