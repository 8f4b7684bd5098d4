//! Nodes as processes (the `cluster_node` example): one of three is killed
//! with SIGKILL under load, or paused with SIGSTOP for longer than its
//! lease; its actors answer again within 2 x TTL, no acknowledged increment
//! is lost or applied twice, and a paused node's late writes are refused.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::counters::stored_counters;
use support::etcd::Etcd;
use support::node_process::{Answer, NodeProcess};

const TTL_MS: u64 = 3000;
const IDS: u64 = 24;

#[test]
fn a_killed_node_s_actors_come_back_and_nothing_acknowledged_is_lost() {
    let etcd = Etcd::start();
    let logs = std::env::temp_dir().join(format!("acteur-kill-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let nodes: Vec<NodeProcess> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            NodeProcess::start(
                "kill",
                &etcd.url,
                TTL_MS,
                32,
                logs.join(format!("{name}.log")),
            )
        })
        .collect();

    let mut req = 0u64;
    // Per ID: acknowledged ops with their values, ops answered
    // `unavailable`, and ops whose outcome is unknown.
    let mut acknowledged: HashMap<u64, Vec<(String, u64)>> = HashMap::new();
    let mut unavailable: Vec<(u64, String)> = Vec::new();
    let mut killed_at = None;
    let mut back_after: HashMap<u64, Duration> = HashMap::new();
    let mut owners_of_killed: Vec<u64> = Vec::new();
    // The node that answered each counter last.
    let mut last_node: HashMap<u64, String> = HashMap::new();
    for wave in 0..40 {
        if wave == 4 {
            // Which IDs the victim served: those it answered for last.
            let victim = nodes[2].id.clone();
            owners_of_killed = acknowledged
                .iter()
                .filter(|(_, acks)| !acks.is_empty())
                .map(|(id, _)| *id)
                .filter(|id| last_node.get(id) == Some(&victim))
                .collect();
            nodes[2].kill();
            killed_at = Some(Instant::now());
        }
        let live: Vec<&NodeProcess> = nodes
            .iter()
            .filter(|n| killed_at.is_none() || n.id != nodes[2].id)
            .collect();
        let mut pending: Vec<(u64, String, Answer)> = Vec::new();
        for id in 0..IDS {
            req += 1;
            let op = format!("w{wave}-{id}");
            let node = live[(id as usize + wave) % live.len()];
            let answer = node.send(req, json!({"cmd": "inc", "id": id, "op": op}));
            pending.push((id, op, answer));
        }
        for (id, op, answer) in pending {
            let (answer, answered_at) = answer
                .recv_timeout(Duration::from_secs(40))
                .unwrap_or_else(|_| panic!("no answer for {op}: a call must not hang"));
            if answer["ok"] == json!(true) {
                let value = answer["value"].as_u64().unwrap();
                acknowledged.entry(id).or_default().push((op, value));
                last_node.insert(id, answer["node"].as_str().unwrap().to_owned());
                if let Some(killed_at) = killed_at {
                    back_after
                        .entry(id)
                        .or_insert_with(|| answered_at.duration_since(killed_at));
                }
            } else if answer["err"] == json!("unavailable") {
                unavailable.push((id, op));
            }
        }
        if killed_at.is_some() && (0..IDS).all(|id| back_after.contains_key(&id)) && wave > 8 {
            break;
        }
    }
    // Every counter's time back, for the failure message.
    let mut backs: Vec<_> = owners_of_killed
        .iter()
        .map(|id| (*id, back_after.get(id).copied()))
        .collect();
    backs.sort();
    assert!(
        !owners_of_killed.is_empty(),
        "the killed node served some counters"
    );
    for id in &owners_of_killed {
        let back = back_after
            .get(id)
            .unwrap_or_else(|| panic!("counter {id} never came back"));
        assert!(
            *back <= Duration::from_millis(2 * TTL_MS),
            "counter {id} answered again {back:?} after the kill (limit 2 x TTL); the killed \
             node's counters came back after {backs:?}; unavailable answers: {}; the nodes' \
             warnings are on stderr and their events in {}",
            unavailable.len(),
            logs.display()
        );
    }

    check_exactly_once(&etcd, "kill", &acknowledged, &unavailable);
    for id in 0..IDS {
        // Acknowledged values of one counter only grow.
        let acks = acknowledged.get(&id).cloned().unwrap_or_default();
        assert!(
            acks.windows(2).all(|pair| pair[0].1 < pair[1].1),
            "counter {id}: {acks:?}"
        );
    }
    for node in nodes.iter().take(2) {
        assert!(
            node.leave().success(),
            "a node that leaves exits with status 0"
        );
    }
    let _ = std::fs::remove_dir_all(&logs);
}

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Checks the counters in etcd against what the clients were told: every
/// value counts its applied operations (exactly once), every acknowledged
/// operation was applied, none answered `unavailable` was.
fn check_exactly_once(
    etcd: &Etcd,
    cluster: &str,
    acknowledged: &HashMap<u64, Vec<(String, u64)>>,
    unavailable: &[(u64, String)],
) {
    let (values, ops) = stored_counters(etcd, cluster);
    for id in 0..IDS {
        let applied = ops.get(&id).cloned().unwrap_or_default();
        assert_eq!(
            values.get(&id).copied().unwrap_or(0),
            applied.len() as u64,
            "counter {id}"
        );
        for (op, _) in acknowledged.get(&id).into_iter().flatten() {
            assert!(applied.contains(op), "acknowledged {op} was lost");
        }
    }
    for (id, op) in unavailable {
        let applied = ops.get(id).cloned().unwrap_or_default();
        assert!(
            !applied.contains(op),
            "{op} was answered unavailable but applied"
        );
    }
}

#[test]
fn a_node_paused_past_its_lease_cannot_write_late() {
    let etcd = Etcd::start();
    let logs = std::env::temp_dir().join(format!("acteur-pause-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let nodes: Vec<NodeProcess> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            NodeProcess::start(
                "pause",
                &etcd.url,
                TTL_MS,
                32,
                logs.join(format!("{name}.log")),
            )
        })
        .collect();
    let mut req = 0u64;
    let mut acknowledged: HashMap<u64, Vec<(String, u64)>> = HashMap::new();
    let mut unavailable: Vec<(u64, String)> = Vec::new();
    let paused = nodes[2].id.clone();
    let mut resumed_at_ns = 0u128;
    for wave in 0..30 {
        if wave == 3 {
            signal(nodes[2].pid(), "-STOP");
            // Longer than the lease: its partitions move meanwhile.
            std::thread::sleep(Duration::from_millis(2 * TTL_MS));
        }
        // Requests go to every node, the paused one included: those sent
        // while it is stopped wait in its stdin.
        let mut pending: Vec<(u64, String, Answer)> = Vec::new();
        for id in 0..IDS {
            req += 1;
            let op = format!("p{wave}-{id}");
            let node = &nodes[(id as usize + wave) % nodes.len()];
            pending.push((
                id,
                op.clone(),
                node.send(req, json!({"cmd": "inc", "id": id, "op": op})),
            ));
        }
        if wave == 3 {
            resumed_at_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            signal(nodes[2].pid(), "-CONT");
        }
        for (id, op, answer) in pending {
            let (answer, _) = answer
                .recv_timeout(Duration::from_secs(40))
                .unwrap_or_else(|_| panic!("no answer for {op}: a call must not hang"));
            if answer["ok"] == json!(true) {
                acknowledged
                    .entry(id)
                    .or_default()
                    .push((op, answer["value"].as_u64().unwrap()));
            } else if answer["err"] == json!("unavailable") {
                unavailable.push((id, op));
            }
        }
    }
    check_exactly_once(&etcd, "pause", &acknowledged, &unavailable);
    // After it woke up, the paused incarnation started no handler: its
    // deadline had passed (it joined again under another ID).
    let log = std::fs::read_to_string(&nodes[2].log).unwrap();
    let late: Vec<&str> = log
        .lines()
        .filter(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["node"] == json!(paused)
                && event["ev"] == json!("handle_start")
                && event["t_ns"].as_u64().unwrap() as u128 > resumed_at_ns
        })
        .collect();
    assert!(
        late.is_empty(),
        "handlers started after the pause: {late:?}"
    );
    for node in &nodes {
        assert!(node.leave().success());
    }
    let _ = std::fs::remove_dir_all(&logs);
}
