//! Faults between a node and etcd, and between two nodes, injected with a
//! TCP proxy that becomes a black hole.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, DeactivationReason, Error, Receive, Respond,
};
use acteur_cluster::{Cluster, ClusterConfig, ClusterState, RemoteActor, RemoteMessage};
use serde::{Deserialize, Serialize};
use support::etcd::Etcd;
use support::proxy::Proxy;

/// What happened to which ID, on which node, when.
#[derive(Default)]
struct Events(Mutex<Vec<(String, u64, &'static str, Instant)>>);

impl Events {
    fn record(&self, node: &str, id: u64, event: &'static str) {
        self.0
            .lock()
            .unwrap()
            .push((node.to_owned(), id, event, Instant::now()));
    }
    fn instants(&self, node: &str, id: u64, event: &str) -> Vec<Instant> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(n, i, e, _)| n == node && *i == id && *e == event)
            .map(|(_, _, _, at)| *at)
            .collect()
    }
}

struct Name(String);

struct Tracked;
impl Actor for Tracked {
    type Id = u64;
    async fn activate(id: u64, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let name = &assistant.data::<Name>()?.0;
        assistant
            .data::<Arc<Events>>()?
            .record(name, id, "activate");
        Ok(Tracked)
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        let name = &assistant.data::<Name>().unwrap().0;
        let event = match assistant.deactivation_reason() {
            DeactivationReason::LeaseLost => "lease_lost",
            DeactivationReason::Handoff => "handoff",
            _ => "deactivate",
        };
        assistant
            .data::<Arc<Events>>()
            .unwrap()
            .record(name, *assistant.id(), event);
    }
}
impl RemoteActor for Tracked {
    const NAME: &'static str = "faults.Tracked";
}

#[derive(Serialize, Deserialize)]
struct Ping;
impl RemoteMessage for Ping {
    const NAME: &'static str = "faults.Ping";
}
impl Respond<Ping> for Tracked {
    type Response = String;
    async fn handle(&mut self, _: Ping, assistant: &ActorAssistant<Self>) -> String {
        assistant.data::<Name>().unwrap().0.clone()
    }
}
impl Receive<Ping> for Tracked {
    async fn handle(&mut self, _: Ping, _: &ActorAssistant<Self>) {}
}

const TTL: Duration = Duration::from_secs(3);

async fn node(config: ClusterConfig, name: &str, events: &Arc<Events>) -> (Acteur, Cluster) {
    let acteur = Acteur::builder()
        .data(events.clone())
        .data(Name(name.to_owned()))
        .build();
    let cluster = Cluster::builder(acteur.clone(), config.node_name(name))
        .actor::<Tracked>()
        .message::<Ping>()
        .request::<Ping>()
        .join()
        .await
        .unwrap();
    (acteur, cluster)
}

fn config(cluster: &str, etcd: &str) -> ClusterConfig {
    ClusterConfig::new(cluster)
        .etcd_endpoints([etcd.to_owned()])
        .lease_ttl(TTL)
        .partitions(16)
        .unavailable_wait(Duration::from_secs(2))
}

fn etcd_address(etcd: &Etcd) -> SocketAddr {
    etcd.url.trim_start_matches("http://").parse().unwrap()
}

/// Polls `condition` every 10 ms for at most `limit`.
async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn two_owners(a: &Cluster, b: &Cluster) {
    eventually(Duration::from_secs(30), "two nodes own the IDs", || {
        let owners: std::collections::HashSet<_> = (0..64u64)
            .filter_map(|id| a.owner_of::<Tracked>(&id))
            .collect();
        owners.len() == 2
            && (0..64u64).all(|id| a.owner_of::<Tracked>(&id) == b.owner_of::<Tracked>(&id))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_etcd_fences_itself_before_its_lease_ends_then_rejoins() {
    let etcd = Etcd::start();
    let proxy = Proxy::start(etcd_address(&etcd));
    let events = Arc::new(Events::default());
    let (a, ca) = node(
        config("cutoff", &format!("http://{}", proxy.address)),
        "a",
        &events,
    )
    .await;
    let (b, cb) = node(config("cutoff", &etcd.url), "b", &events).await;
    two_owners(&ca, &cb).await;
    let first_id = ca.node_id();
    let on_a: Vec<u64> = (0..64u64)
        .filter(|id| cb.owner_of::<Tracked>(id) == Some(first_id.clone()))
        .collect();
    for &id in &on_a {
        assert_eq!(b.call_actor::<Tracked, Ping>(id, Ping).await.unwrap(), "a");
    }

    proxy.blackhole(true);
    let cut = Instant::now();
    eventually(TTL, "a fences itself", || {
        ca.state() == ClusterState::Fenced
    })
    .await;
    // It stopped before its lease could end: no message starts there now.
    assert!(
        cut.elapsed() < TTL,
        "fenced {:?} after the cut",
        cut.elapsed()
    );

    // Its actors move to b once a's lease expired in etcd; each was
    // deactivated on a (LeaseLost) before it was activated on b.
    for &id in &on_a {
        let started = Instant::now();
        let answer = loop {
            match b.call_actor::<Tracked, Ping>(id, Ping).await {
                Ok(answer) => break answer,
                Err(Error::Unavailable { .. } | Error::Timeout) => {
                    assert!(started.elapsed() < 4 * TTL, "id {id} never came back");
                }
                Err(other) => panic!("{other}"),
            }
        };
        assert_eq!(answer, "b");
        let left_a = events.instants("a", id, "lease_lost");
        let on_b = events.instants("b", id, "activate");
        assert_eq!(
            left_a.len(),
            1,
            "id {id}: deactivated once on a, for the lost lease"
        );
        assert!(left_a[0] < on_b[0], "id {id} ran on b before it left a");
    }

    // Healed: a joins again, as a new incarnation.
    proxy.blackhole(false);
    eventually(4 * TTL, "a joins again", || {
        ca.state() == ClusterState::Active && ca.node_id() != first_id
    })
    .await;
    eventually(4 * TTL, "b sees the new a", || {
        cb.members().iter().any(|member| member.id == ca.node_id())
    })
    .await;
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_a_node_behind_a_black_hole_fail_in_time_and_recover() {
    let etcd = Etcd::start();
    let events = Arc::new(Events::default());
    // b listens on a port of its own and is reached through the proxy.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = Proxy::start(port);
    let (a, ca) = node(config("between", &etcd.url), "a", &events).await;
    let (b, cb) = node(
        config("between", &etcd.url)
            .listen(port)
            .advertise(proxy.address),
        "b",
        &events,
    )
    .await;
    two_owners(&ca, &cb).await;
    let id = (0..64u64)
        .find(|id| ca.owner_of::<Tracked>(id) == Some(cb.node_id()))
        .unwrap();
    assert_eq!(a.call_actor::<Tracked, Ping>(id, Ping).await.unwrap(), "b");

    proxy.blackhole(true);
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let call = a
        .call_actor_with_timeout::<Tracked, Ping>(id, Ping, timeout)
        .await;
    assert_eq!(call, Err(Error::Timeout));
    assert!(
        started.elapsed() < timeout + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // A tell waits for its acknowledgment at most unavailable_wait (2 s).
    let started = Instant::now();
    let sent = a.send_to_actor::<Tracked, Ping>(id, Ping).await;
    assert!(
        matches!(sent, Err(Error::Timeout | Error::Unavailable { .. })),
        "{sent:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    proxy.blackhole(false);
    let started = Instant::now();
    loop {
        match a
            .call_actor_with_timeout::<Tracked, Ping>(id, Ping, timeout)
            .await
        {
            Ok(answer) => {
                assert_eq!(answer, "b");
                break;
            }
            Err(Error::Timeout | Error::Unavailable { .. }) => {
                assert!(started.elapsed() < 4 * TTL, "calls never recovered");
            }
            Err(other) => panic!("{other}"),
        }
    }
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}
