//! Three nodes in one process, on one private etcd: location transparency,
//! agreement on owners, partitions moving on join and leave with the
//! `Handoff` hook, and clear errors for what is not registered.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, DeactivationReason, Error, Receive, RemoteErrorKind,
    Respond,
};
use acteur_cluster::{Cluster, ClusterConfig, ClusterState, RemoteActor, RemoteMessage};
use serde::{Deserialize, Serialize};
use support::etcd::Etcd;

/// What every node of a test shares: the counters' saved values (a stand-in
/// for a database), and what happened.
#[derive(Default)]
struct World {
    saved: Mutex<HashMap<u64, u64>>,
    deactivations: Mutex<Vec<(String, u64, DeactivationReason)>>,
}

/// The node a handler runs on.
struct NodeName(String);

struct Counter {
    value: u64,
}

impl Actor for Counter {
    type Id = u64;
    async fn activate(id: u64, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let world = assistant.data::<Arc<World>>()?;
        let value = world.saved.lock().unwrap().get(&id).copied().unwrap_or(0);
        assert!(
            assistant.activation_epoch().is_some(),
            "a clustered actor has an epoch"
        );
        Ok(Counter { value })
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        let world = assistant.data::<Arc<World>>().unwrap();
        let node = assistant.data::<NodeName>().unwrap().0.clone();
        world
            .saved
            .lock()
            .unwrap()
            .insert(*assistant.id(), self.value);
        world.deactivations.lock().unwrap().push((
            node,
            *assistant.id(),
            assistant.deactivation_reason(),
        ));
    }
}

impl RemoteActor for Counter {
    const NAME: &'static str = "test.Counter";
}

#[derive(Serialize, Deserialize)]
struct Increment;
impl RemoteMessage for Increment {
    const NAME: &'static str = "test.Increment";
}
impl Receive<Increment> for Counter {
    async fn handle(&mut self, _: Increment, _: &ActorAssistant<Self>) {
        self.value += 1;
    }
}

#[derive(Serialize, Deserialize)]
struct Get;
impl RemoteMessage for Get {
    const NAME: &'static str = "test.Get";
}
/// The value, and the node that answered.
impl Respond<Get> for Counter {
    type Response = (u64, String);
    async fn handle(&mut self, _: Get, assistant: &ActorAssistant<Self>) -> (u64, String) {
        let node = assistant.data::<NodeName>().unwrap().0.clone();
        (self.value, node)
    }
}

/// Implemented, not registered with the cluster.
#[derive(Serialize, Deserialize)]
struct Reset;
impl Receive<Reset> for Counter {
    async fn handle(&mut self, _: Reset, _: &ActorAssistant<Self>) {
        self.value = 0;
    }
}

fn config(etcd: &Etcd, name: &str) -> ClusterConfig {
    ClusterConfig::new("nodes")
        .node_name(name)
        .etcd_endpoints([etcd.url.clone()])
        .lease_ttl(Duration::from_secs(4))
        .partitions(64)
}

async fn node(etcd: &Etcd, name: &str, world: &Arc<World>) -> (Acteur, Cluster) {
    let acteur = Acteur::builder()
        .data(world.clone())
        .data(NodeName(name.to_owned()))
        .build();
    let cluster = Cluster::builder(acteur.clone(), config(etcd, name))
        .actor::<Counter>()
        .message::<Increment>()
        .request::<Get>()
        .join()
        .await
        .expect("the node joins");
    (acteur, cluster)
}

/// Waits (polling the nodes' own views, at most 30 s) until every node
/// sees `members` members and the IDs of `Counter` owned, the same way,
/// by each member.
async fn settled(clusters: &[&Cluster], members: usize) {
    settled_for::<Counter>(clusters, members).await;
}

/// As `settled`, for actor type `A`.
async fn settled_for<A: RemoteActor<Id = u64>>(clusters: &[&Cluster], members: usize) {
    let started = Instant::now();
    loop {
        let views: Vec<Vec<Option<String>>> = clusters
            .iter()
            .map(|cluster| (0..200u64).map(|id| cluster.owner_of::<A>(&id)).collect())
            .collect();
        let agreed = views.windows(2).all(|pair| pair[0] == pair[1]);
        let owned = views[0].iter().all(Option::is_some);
        let counted = clusters.iter().all(|c| c.members().len() == members);
        let distinct: std::collections::HashSet<_> = views[0].iter().flatten().collect();
        if agreed && owned && counted && distinct.len() == members {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the cluster did not settle: agreed {agreed}, owned {owned}, members {counted}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_reaches_every_actor_where_it_lives() {
    let etcd = Etcd::start();
    let world = Arc::new(World::default());
    let (a, ca) = node(&etcd, "a", &world).await;
    let (b, cb) = node(&etcd, "b", &world).await;
    let (c, cc) = node(&etcd, "c", &world).await;
    settled(&[&ca, &cb, &cc], 3).await;

    let systems = [&a, &b, &c];
    for id in 0..60u64 {
        // Each node increments once, fire-and-forget, then asks.
        for system in systems {
            system
                .send_to_actor::<Counter, Increment>(id, Increment)
                .await
                .unwrap();
        }
        let owner = ca.owner_of::<Counter>(&id).unwrap();
        for system in systems {
            let (value, answered_by) = system.call_actor::<Counter, Get>(id, Get).await.unwrap();
            assert_eq!(value, 3, "id {id}: every increment reached one activation");
            assert!(
                owner.starts_with(&format!("{answered_by}-")),
                "id {id}: {owner} vs {answered_by}"
            );
        }
    }
    // The work is spread: every node handled some of the actors.
    let handled: std::collections::HashSet<String> = (0..60u64)
        .map(|id| ca.owner_of::<Counter>(&id).unwrap())
        .collect();
    assert_eq!(handled.len(), 3);
    for (cluster, system) in [(&ca, &a), (&cb, &b), (&cc, &c)] {
        cluster.leave().await.unwrap();
        assert_eq!(cluster.state(), ClusterState::Left);
        system.stop();
        system.stopped().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_leaves_hand_actors_over() {
    let etcd = Etcd::start();
    let world = Arc::new(World::default());
    let (a, ca) = node(&etcd, "a", &world).await;
    settled(&[&ca], 1).await;
    for id in 0..100u64 {
        a.send_to_actor::<Counter, Increment>(id, Increment)
            .await
            .unwrap();
    }
    // Two nodes join: the partitions they should own come over to them,
    // each actor's `deactivate` running on `a` with `Handoff` first.
    let (b, cb) = node(&etcd, "b", &world).await;
    let (c, cc) = node(&etcd, "c", &world).await;
    settled(&[&ca, &cb, &cc], 3).await;
    for id in 0..100u64 {
        b.send_to_actor::<Counter, Increment>(id, Increment)
            .await
            .unwrap();
        let (value, answered_by) = c.call_actor::<Counter, Get>(id, Get).await.unwrap();
        assert_eq!(
            value, 2,
            "id {id}: the second activation went on from the first"
        );
        let owner = ca.owner_of::<Counter>(&id).unwrap();
        assert!(owner.starts_with(&format!("{answered_by}-")));
        if answered_by != "a" {
            let handed = world
                .deactivations
                .lock()
                .unwrap()
                .iter()
                .any(|(node, i, reason)| {
                    node == "a" && *i == id && *reason == DeactivationReason::Handoff
                });
            assert!(
                handed,
                "id {id} moved from a to {answered_by} without a Handoff hook"
            );
        }
    }
    // `c` leaves: its actors go to `a` and `b`, with their `Handoff`.
    let on_c: Vec<u64> = (0..100u64)
        .filter(|id| cc.owner_of::<Counter>(id) == Some(cc.node_id()))
        .collect();
    assert!(!on_c.is_empty());
    cc.leave().await.unwrap();
    settled(&[&ca, &cb], 2).await;
    for &id in &on_c {
        let handed = world
            .deactivations
            .lock()
            .unwrap()
            .iter()
            .any(|(node, i, reason)| {
                node == "c" && *i == id && *reason == DeactivationReason::Handoff
            });
        assert!(handed, "id {id} left c without a Handoff hook");
        let (value, answered_by) = a.call_actor::<Counter, Get>(id, Get).await.unwrap();
        assert_eq!(value, 2);
        assert_ne!(answered_by, "c");
    }
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
    c.stop();
    c.stopped().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_registered_gets_a_clear_error() {
    let etcd = Etcd::start();
    let world = Arc::new(World::default());
    let (a, ca) = node(&etcd, "a", &world).await;
    let (b, cb) = node(&etcd, "b", &world).await;
    settled(&[&ca, &cb], 2).await;
    // An unregistered message type fails the same way for every ID,
    // whichever node owns it.
    for id in 0..20u64 {
        match a.send_to_actor::<Counter, Reset>(id, Reset).await {
            Err(Error::Remote {
                kind: RemoteErrorKind::UnknownType,
                detail,
                ..
            }) => assert!(detail.contains("test.Counter"), "{detail}"),
            other => panic!("id {id}: {other:?}"),
        }
    }
    // A node whose actor system stops leaves by itself: the other one sees
    // it go without waiting for its lease to end.
    a.stop();
    a.stopped().await;
    let started = Instant::now();
    while ca.state() != ClusterState::Left || cb.members().len() != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a did not leave"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cb.leave().await.unwrap();
    b.stop();
    b.stopped().await;
}

/// Checks the order of what it receives, and carries its last number
/// across activations (in `Orders`).
struct Sequence {
    last: u64,
}

#[derive(Default)]
struct Orders {
    last: Mutex<HashMap<u64, u64>>,
    out_of_order: Mutex<Vec<(u64, u64)>>,
}

impl Actor for Sequence {
    type Id = u64;
    async fn activate(id: u64, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let orders = assistant.data::<Arc<Orders>>()?;
        let last = orders.last.lock().unwrap().get(&id).copied().unwrap_or(0);
        Ok(Sequence { last })
    }
    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        let orders = assistant.data::<Arc<Orders>>().unwrap();
        orders
            .last
            .lock()
            .unwrap()
            .insert(*assistant.id(), self.last);
    }
}
impl RemoteActor for Sequence {
    const NAME: &'static str = "test.Sequence";
}

#[derive(Serialize, Deserialize)]
struct Next(u64);
impl RemoteMessage for Next {
    const NAME: &'static str = "test.Next";
}
impl Receive<Next> for Sequence {
    async fn handle(&mut self, Next(n): Next, assistant: &ActorAssistant<Self>) {
        if n != self.last + 1 {
            let orders = assistant.data::<Arc<Orders>>().unwrap();
            orders.out_of_order.lock().unwrap().push((self.last, n));
        }
        self.last = n;
    }
}
#[derive(Serialize, Deserialize)]
struct Last;
impl RemoteMessage for Last {
    const NAME: &'static str = "test.Last";
}
impl Respond<Last> for Sequence {
    type Response = u64;
    async fn handle(&mut self, _: Last, _: &ActorAssistant<Self>) -> u64 {
        self.last
    }
}

async fn sequence_node(etcd: &Etcd, name: &str, orders: &Arc<Orders>) -> (Acteur, Cluster) {
    let acteur = Acteur::builder().data(orders.clone()).build();
    let cluster = Cluster::builder(acteur.clone(), config(etcd, name))
        .actor::<Sequence>()
        .message::<Next>()
        .request::<Last>()
        .join()
        .await
        .expect("the node joins");
    (acteur, cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sender_s_order_holds_across_a_hand_off() {
    let etcd = Etcd::start();
    let orders = Arc::new(Orders::default());
    let (a, ca) = sequence_node(&etcd, "a", &orders).await;
    let (s, cs) = sequence_node(&etcd, "s", &orders).await;
    let started = Instant::now();
    let ids: Vec<u64> = loop {
        let on_a: Vec<u64> = (0..400u64)
            .filter(|id| {
                cs.owner_of::<Sequence>(id) == Some(ca.node_id())
                    && ca.owner_of::<Sequence>(id) == Some(ca.node_id())
            })
            .collect();
        if cs.members().len() == 2 && on_a.len() >= 20 {
            break on_a;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a owns nothing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Numbered messages from one sender (s) to actors on a, without waiting
    // for acknowledgments, while b joins and some of them move to it.
    let total = 300u64;
    let sender = {
        let s = s.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            for n in 1..=total {
                for &id in &ids {
                    let mut message = Next(n);
                    loop {
                        match s.try_send_to_actor::<Sequence, Next>(id, message) {
                            Ok(()) => break,
                            Err(refused) if *refused.error() == Error::MailboxFull => {
                                message = refused.into_message();
                                tokio::task::yield_now().await;
                            }
                            Err(refused) => panic!("{}", refused.error()),
                        }
                    }
                }
                if n % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    if std::env::var("NO_JOIN").is_ok() {
        sender.await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        eprintln!(
            "no join: {:?}",
            orders
                .out_of_order
                .lock()
                .unwrap()
                .iter()
                .take(20)
                .collect::<Vec<_>>()
        );
        panic!("experiment");
    }
    let (b, cb) = sequence_node(&etcd, "b", &orders).await;
    sender.await.unwrap();
    settled_for::<Sequence>(&[&ca, &cb, &cs], 3).await;
    let moved = ids
        .iter()
        .filter(|id| cs.owner_of::<Sequence>(id) == Some(cb.node_id()))
        .count();
    assert!(moved > 0, "no actor moved to b");
    for &id in &ids {
        // Everything was delivered, in order: the last is the total.
        let started = Instant::now();
        loop {
            let last = s.call_actor::<Sequence, Last>(id, Last).await.unwrap();
            if last == total {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "id {id}: stuck at {last}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(
        *orders.out_of_order.lock().unwrap(),
        [],
        "(last, received) out of order"
    );
    for (cluster, system) in [(&ca, &a), (&cb, &b), (&cs, &s)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}
