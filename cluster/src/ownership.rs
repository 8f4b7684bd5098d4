//! Which partitions this node holds: it claims those it should own that
//! nobody holds, hands over those another live node should own (under
//! `Rebalance::OnJoin`), and hands over all of them when it leaves.
//!
//! A claim is one etcd transaction: create `/acteur/{cluster}/partitions/{p}`
//! on this node's lease if it does not exist. The key's `create_revision`
//! is the epoch of every activation of the partition's actors, so epochs
//! of successive owners strictly increase. A hand-off stops serving the
//! partition (its messages wait), lets its actors' mailboxes drain and
//! runs their `deactivate`, then deletes the key only if it is still the
//! one this node created.

use std::sync::Arc;

use acteur::{DeactivationReason, routing};
use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};

use crate::config::Rebalance;
use crate::node::{ClusterState, Node};
use crate::rendezvous::preferred_owner;

/// The most partitions handed over at once: moves are rate-limited, so a
/// join does not stop a large share of the actors at the same moment.
const MOVES_AT_ONCE: usize = 32;

/// What this node should do now, from the table.
#[derive(Debug, Default)]
struct Plan {
    claim: Vec<u32>,
    hand_over: Vec<(u32, u64)>,
}

fn plan(node: &Node) -> Plan {
    let mut plan = Plan::default();
    if node.state() != ClusterState::Active && node.state() != ClusterState::Joining {
        return plan;
    }
    let table = node.table.read().unwrap_or_else(|p| p.into_inner());
    if !table.members.contains_key(&node.id()) {
        return plan;
    }
    for partition in 0..node.config.partitions {
        let preferred = preferred_owner(partition, table.members.keys().map(|m| &**m));
        let owner = table.owners[partition as usize].as_ref();
        let mine = preferred == Some(&*node.id());
        match owner {
            // Not while actors of a lost hold of it are still here.
            None if mine && node.free(partition) => plan.claim.push(partition),
            Some(owner)
                if *owner.node == *node.id()
                    && !mine
                    && preferred.is_some()
                    && node.config.rebalance == Rebalance::OnJoin
                    && plan.hand_over.len() < MOVES_AT_ONCE =>
            {
                if let Some(epoch) = node.serving(partition) {
                    plan.hand_over.push((partition, epoch));
                }
            }
            _ => {}
        }
    }
    plan
}

/// Keeps this node's partitions in line with the table until it stops
/// being a member.
pub(crate) async fn keep_in_line(node: Arc<Node>) {
    let mut changes = node.changes.subscribe();
    loop {
        changes.mark_unchanged();
        let plan = plan(&node);
        let worked = !plan.claim.is_empty() || !plan.hand_over.is_empty();
        claim_all(&node, &plan.claim).await;
        hand_over(&node, &plan.hand_over, DeactivationReason::Handoff).await;
        if node.state() == ClusterState::Left {
            return;
        }
        if !worked && changes.changed().await.is_err() {
            return;
        }
    }
}

/// Claims `partitions`, all at once.
pub(crate) async fn claim_all(node: &Arc<Node>, partitions: &[u32]) {
    all(node, partitions.iter().map(|&p| claim(node.clone(), p))).await;
}

/// Creates the partition's key on this node's lease if nobody holds it;
/// on success this node serves it under the key's `create_revision`.
async fn claim(node: Arc<Node>, partition: u32) {
    let key = node.keys.partition(partition);
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([
            TxnOp::put(
                key.clone(),
                node.id().as_bytes(),
                Some(PutOptions::new().with_lease(node.lease())),
            ),
            TxnOp::get(key, None),
        ]);
    let mut etcd = node.etcd.clone();
    match etcd.txn(txn).await {
        Ok(response) if response.succeeded() => {
            let epoch = response.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.create_revision()),
                _ => None,
            });
            match epoch.and_then(|epoch| u64::try_from(epoch).ok()) {
                Some(epoch) if epoch > 0 => {
                    log::debug!(
                        "{} claimed partition {partition} (epoch {epoch})",
                        node.id()
                    );
                    fence_store(&node, partition, epoch).await;
                    node.hold(partition, epoch);
                }
                _ => log::error!("etcd answered a claim of partition {partition} without its key"),
            }
        }
        // Somebody holds it: the watch says who.
        Ok(_) => {}
        Err(error) => log::warn!("claiming partition {partition} failed: {error}"),
    }
}

/// Raises the partition's fence in the system's state store, if any, to
/// the epoch this node now holds it under, before any of its actors is
/// activated here: from then on the previous owner's writes are `Fenced`.
/// Retried a few times; if the store stays unreachable, the partition is
/// served anyway and its persistent actors' writes are refused (as from a
/// stale writer) until a later claim succeeds, which is safe.
async fn fence_store(node: &Node, partition: u32, epoch: u64) {
    let store_partition = crate::partition::store_partition(partition);
    for attempt in 1..=5u32 {
        match routing::claim_partition(&node.acteur, store_partition, epoch).await {
            Ok(()) => return,
            Err(error) if attempt == 5 => {
                log::error!(
                    "{} could not fence partition {partition} in the state store: {error}",
                    node.id()
                );
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await,
        }
    }
}

/// Hands `partitions` (with the epochs this node holds them under) over:
/// stop serving, deactivate their actors, delete their keys.
pub(crate) async fn hand_over(
    node: &Arc<Node>,
    partitions: &[(u32, u64)],
    reason: DeactivationReason,
) {
    if partitions.is_empty() {
        return;
    }
    let mut moving = vec![false; node.config.partitions as usize];
    for &(partition, _) in partitions {
        node.start_hand_off(partition);
        moving[partition as usize] = true;
    }
    node.changed();
    node.hand_off_actors(moving, Some(reason)).await;
    let releases = partitions
        .iter()
        .map(|&(partition, epoch)| release(node.clone(), partition, epoch));
    all(node, releases).await;
}

/// Deletes the partition's key if it is still the one this node created.
async fn release(node: Arc<Node>, partition: u32, epoch: u64) {
    let key = node.keys.partition(partition);
    let txn = Txn::new()
        .when([Compare::create_revision(
            key.clone(),
            CompareOp::Equal,
            i64::try_from(epoch).unwrap_or(i64::MAX),
        )])
        .and_then([TxnOp::delete(key, None)]);
    let mut etcd = node.etcd.clone();
    if let Err(error) = etcd.txn(txn).await {
        // The key stays until the lease ends; the partition moves then.
        log::warn!("releasing partition {partition} failed: {error}");
    }
    node.release(partition);
}

/// Runs `tasks` concurrently on the node's runtime and waits for all.
async fn all<F>(node: &Node, tasks: impl IntoIterator<Item = F>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for task in tasks {
        set.spawn_on(task, &node.runtime);
    }
    while set.join_next().await.is_some() {}
}
