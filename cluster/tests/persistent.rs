//! Persistent actors in a cluster: a node claims each partition it takes in
//! the shared state store before activating anything of it, the actors'
//! writes carry their partition and epoch, so state follows the actors
//! across a hand-off and a stale writer is fenced.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acteur::persistence::{MemoryStore, StateStore, StateWrite, WriteOutcome};
use acteur::{Acteur, ActorAssistant, BoxError, PersistentActor, Receive, Respond};
use acteur_cluster::{Cluster, ClusterConfig, RemoteActor, RemoteMessage, partition_of};
use serde::{Deserialize, Serialize};
use support::etcd::Etcd;

const PARTITIONS: u32 = 16;

struct Account {
    balance: u64,
}

impl PersistentActor for Account {
    type Id = u64;
    type State = u64;
    const TYPE_KEY: &'static str = "cluster.Account";
    async fn activate(
        _: u64,
        stored: Option<u64>,
        _: &ActorAssistant<Self>,
    ) -> Result<Self, BoxError> {
        Ok(Account {
            balance: stored.unwrap_or(0),
        })
    }
    fn state(&self) -> &u64 {
        &self.balance
    }
}
impl RemoteActor for Account {
    const NAME: &'static str = "cluster.Account";
}

#[derive(Serialize, Deserialize)]
struct Deposit(u64);
impl RemoteMessage for Deposit {
    const NAME: &'static str = "cluster.Deposit";
}
impl Receive<Deposit> for Account {
    async fn handle(&mut self, Deposit(amount): Deposit, _: &ActorAssistant<Self>) {
        self.balance += amount;
    }
}

#[derive(Serialize, Deserialize)]
struct Balance;
impl RemoteMessage for Balance {
    const NAME: &'static str = "cluster.Balance";
}
/// The balance, and the epoch of the activation that answered.
impl Respond<Balance> for Account {
    type Response = (u64, u64);
    async fn handle(&mut self, _: Balance, assistant: &ActorAssistant<Self>) -> (u64, u64) {
        (self.balance, assistant.activation_epoch().unwrap())
    }
}

async fn node(etcd: &Etcd, store: &Arc<MemoryStore>) -> (Acteur, Cluster) {
    let acteur = Acteur::builder().state_store(store.clone()).build();
    let cluster = Cluster::builder(
        acteur.clone(),
        ClusterConfig::new("persistent")
            .etcd_endpoints([etcd.url.clone()])
            .lease_ttl(Duration::from_secs(3))
            .partitions(PARTITIONS),
    )
    .actor::<Account>()
    .message::<Deposit>()
    .request::<Balance>()
    .join()
    .await
    .unwrap();
    (acteur, cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_follows_its_actor_and_a_stale_writer_is_fenced() {
    let etcd = Etcd::start();
    let store = Arc::new(MemoryStore::new());
    let (a, ca) = node(&etcd, &store).await;
    let started = Instant::now();
    while (0..20u64).any(|id| ca.owner_of::<Account>(&id).is_none()) {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut first_epochs = Vec::new();
    for id in 0..20u64 {
        a.send_to_actor::<Account, Deposit>(id, Deposit(10))
            .await
            .unwrap();
        let (balance, epoch) = a.call_actor::<Account, Balance>(id, Balance).await.unwrap();
        assert_eq!(balance, 10);
        first_epochs.push(epoch);
    }

    // b joins: some accounts move to it, their state saved by the hand-off
    // on a and loaded on b.
    let (b, cb) = node(&etcd, &store).await;
    let started = Instant::now();
    while (0..20u64).all(|id| cb.owner_of::<Account>(&id) != Some(cb.node_id()))
        || (0..20u64).any(|id| ca.owner_of::<Account>(&id) != cb.owner_of::<Account>(&id))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing moved to b"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut moved = 0;
    for id in 0..20u64 {
        b.send_to_actor::<Account, Deposit>(id, Deposit(5))
            .await
            .unwrap();
        let (balance, epoch) = b.call_actor::<Account, Balance>(id, Balance).await.unwrap();
        assert_eq!(balance, 15, "account {id} kept its state");
        if cb.owner_of::<Account>(&id) != Some(cb.node_id()) {
            continue;
        }
        moved += 1;
        assert!(
            epoch > first_epochs[id as usize],
            "account {id}: a newer epoch"
        );
        // A writer of the old epoch (a's activation, had it lived on) is
        // refused: b fenced the partition in the store, under the number
        // both derive from `partition_of`.
        let stale = StateWrite {
            type_key: Account::TYPE_KEY,
            id: acteur::persistence::StateKey::to_key(&id),
            partition: u64::from(partition_of::<Account>(&id, PARTITIONS).unwrap()) + 1,
            epoch: first_epochs[id as usize],
            expected_version: 1,
            value: None,
        };
        let outcome = store.write(vec![stale]).await.unwrap();
        assert_eq!(
            outcome,
            [WriteOutcome::Fenced { fence_epoch: epoch }],
            "account {id}"
        );
    }
    assert!(moved > 0);
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}
