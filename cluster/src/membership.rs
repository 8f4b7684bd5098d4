//! A node's place in its cluster: joining (etcd connection, the cluster's
//! fixed partition count, a lease, the member key), keeping the lease alive
//! and fencing itself when it cannot, following the cluster through one
//! etcd watch, and leaving.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use acteur::DeactivationReason;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, PutOptions, Txn, TxnOp,
    TxnOpResponse, WatchOptions,
};
use tokio::time::Instant;

use crate::node::{ClusterState, Incarnation, Node, Owner};
use crate::{ClusterConfig, ClusterError, ownership};

/// Connects to etcd, within the configured time.
pub(crate) async fn connect(config: &ClusterConfig) -> Result<Client, ClusterError> {
    let waited = config.etcd_connect_timeout;
    let unreachable = |detail: String| ClusterError::EtcdUnreachable {
        endpoints: config.etcd_endpoints.clone(),
        waited,
        detail,
    };
    let options = ConnectOptions::new()
        .with_connect_timeout(waited)
        .with_timeout(waited);
    let attempt = async {
        let mut client = Client::connect(&config.etcd_endpoints, Some(options))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        // The connection may be lazy: one request proves it.
        client
            .get("/acteur/", Some(GetOptions::new().with_count_only()))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        Ok(client)
    };
    tokio::time::timeout(waited, attempt)
        .await
        .unwrap_or_else(|_| Err(unreachable("no answer".to_owned())))
}

/// Stores the partition count if this is the cluster's first node, or
/// checks it against the stored one.
pub(crate) async fn check_partitions(
    etcd: &mut Client,
    config: &ClusterConfig,
    key: String,
) -> Result<(), ClusterError> {
    let wanted = config.partitions.to_string();
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(key.clone(), wanted, None)])
        .or_else([TxnOp::get(key, None)]);
    let response = etcd.txn(txn).await.map_err(|error| ClusterError::Etcd {
        operation: "reading the cluster's configuration",
        detail: error.to_string(),
    })?;
    if response.succeeded() {
        return Ok(());
    }
    let stored = response.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get
            .kvs()
            .first()
            .and_then(|kv| kv.value_str().ok()?.parse::<u32>().ok()),
        _ => None,
    });
    match stored {
        Some(stored) if stored == config.partitions => Ok(()),
        Some(stored) => Err(ClusterError::PartitionsMismatch {
            cluster: config.name.clone(),
            stored,
            configured: config.partitions,
        }),
        None => Err(ClusterError::Etcd {
            operation: "reading the cluster's configuration",
            detail: "the stored partition count is not a number".to_owned(),
        }),
    }
}

/// Grants the node's lease: its ID and the TTL etcd granted.
pub(crate) async fn grant(
    etcd: &mut Client,
    config: &ClusterConfig,
) -> Result<(i64, Duration), ClusterError> {
    let lease = etcd
        .lease_grant(config.lease_ttl_seconds(), None)
        .await
        .map_err(|error| ClusterError::Etcd {
            operation: "granting the node's lease",
            detail: error.to_string(),
        })?;
    let ttl = u64::try_from(lease.ttl()).unwrap_or(0);
    if ttl < crate::config::MIN_LEASE_TTL.as_secs() {
        return Err(ClusterError::InvalidConfig {
            field: "lease_ttl",
            reason: format!("etcd granted only {ttl} s, under the 2 s minimum"),
        });
    }
    Ok((lease.id(), Duration::from_secs(ttl)))
}

/// Registers the node under its lease.
pub(crate) async fn register(node: &Node) -> Result<(), ClusterError> {
    let mut etcd = node.etcd.clone();
    etcd.put(
        node.keys.member(&node.id()),
        node.address.to_string(),
        Some(PutOptions::new().with_lease(node.lease())),
    )
    .await
    .map_err(|error| ClusterError::Etcd {
        operation: "registering the node",
        detail: error.to_string(),
    })?;
    Ok(())
}

/// Reads the whole cluster into the table; the revision to watch from.
pub(crate) async fn load(node: &Arc<Node>) -> Result<i64, ClusterError> {
    let mut etcd = node.etcd.clone();
    let response = etcd
        .get(
            node.keys.prefix.clone(),
            Some(GetOptions::new().with_prefix()),
        )
        .await
        .map_err(|error| ClusterError::Etcd {
            operation: "reading the cluster's members and partitions",
            detail: error.to_string(),
        })?;
    let revision = response.header().map_or(0, |header| header.revision());
    {
        let mut table = node.table.write().unwrap_or_else(|p| p.into_inner());
        table.members.clear();
        table.owners.iter_mut().for_each(|owner| *owner = None);
    }
    for kv in response.kvs() {
        apply(
            node,
            kv.key(),
            Some((kv.value(), kv.create_revision())),
            kv.mod_revision(),
        );
    }
    node.changed();
    Ok(revision + 1)
}

/// Applies one key's new value (`None`: deleted) to the table; `revision`
/// is the etcd revision of the change.
fn apply(node: &Arc<Node>, key: &[u8], value: Option<(&[u8], i64)>, revision: i64) {
    let Some(key) = std::str::from_utf8(key)
        .ok()
        .and_then(|key| key.strip_prefix(node.keys.prefix.as_str()))
    else {
        return;
    };
    let mut table = node.table.write().unwrap_or_else(|p| p.into_inner());
    if let Some(member) = key.strip_prefix("members/") {
        match value
            .and_then(|(value, _)| std::str::from_utf8(value).ok()?.parse::<SocketAddr>().ok())
        {
            Some(address) => {
                table.members.insert(member.into(), address);
            }
            None => {
                table.members.remove(member);
            }
        }
    } else if let Some(partition) = key.strip_prefix("partitions/") {
        let Some(partition) = partition
            .parse::<u32>()
            .ok()
            .filter(|p| *p < node.config.partitions)
        else {
            return;
        };
        let owner = value.and_then(|(value, created)| {
            Some(Owner {
                node: std::str::from_utf8(value).ok()?.into(),
                epoch: u64::try_from(created).ok()?,
            })
        });
        let still_mine = owner.as_ref().is_some_and(|owner| {
            *owner.node == *node.id() && Some(owner.epoch) == node.holding(partition)
        });
        // A change older than this node's claim cannot take it away: the
        // watch may lag behind what this node did itself (it claimed from a
        // table in which the previous owner had already let go).
        let after_claim = node
            .holding(partition)
            .is_some_and(|epoch| u64::try_from(revision).is_ok_and(|revision| revision >= epoch));
        if node.serving(partition).is_some() && after_claim && !still_mine {
            // The key this node held is gone (its lease ended) or was
            // taken: it must not serve the partition a moment longer.
            log::warn!("{} lost partition {partition}", node.id());
            node.lose(partition);
        }
        table.owners[partition as usize] = owner;
    }
}

/// Follows every change under the cluster's prefix from `revision`, until
/// the node is gone; after a broken watch, reads everything again.
pub(crate) async fn follow(node: Weak<Node>, mut revision: i64) {
    loop {
        let Some(strong) = node.upgrade() else { return };
        if matches!(strong.state(), ClusterState::Left) {
            return;
        }
        let mut etcd = strong.etcd.clone();
        let prefix = strong.keys.prefix.clone();
        drop(strong);
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(revision);
        if let Ok(mut stream) = etcd.watch(prefix, Some(options)).await {
            while let Ok(Some(response)) = stream.message().await {
                let Some(node) = node.upgrade() else { return };
                if response.canceled() {
                    break;
                }
                for event in response.events() {
                    let Some(kv) = event.kv() else { continue };
                    revision = revision.max(kv.mod_revision() + 1);
                    match event.event_type() {
                        EventType::Put => apply(
                            &node,
                            kv.key(),
                            Some((kv.value(), kv.create_revision())),
                            kv.mod_revision(),
                        ),
                        EventType::Delete => apply(&node, kv.key(), None, kv.mod_revision()),
                    }
                }
                node.changed();
            }
        }
        // Broken or compacted: read it all again after a pause.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Some(strong) = node.upgrade() else { return };
        if let Ok(next) = load(&strong).await {
            revision = next;
        }
    }
}

/// Keeps the node's lease alive; when it cannot, fences the node, then
/// joins again as a new incarnation (new lease, new ID) once etcd answers,
/// until the node leaves.
pub(crate) async fn keep_alive(node: Weak<Node>) {
    loop {
        let Some(deadline) = renew(&node).await else {
            return;
        };
        let Some(strong) = node.upgrade() else { return };
        fence(&strong, deadline).await;
        drop(strong);
        if !rejoin(&node).await {
            return;
        }
    }
}

/// Renews the lease every `keep_alive_every` until it is lost: then the
/// fencing deadline. `None` once the node left or is gone.
async fn renew(node: &Weak<Node>) -> Option<Instant> {
    let mut keeper = None;
    loop {
        let strong = node.upgrade()?;
        if matches!(strong.state(), ClusterState::Left) {
            return None;
        }
        let timings = strong.timings;
        let sent = Instant::now();
        if keeper.is_none() {
            let mut etcd = strong.etcd.clone();
            keeper = tokio::time::timeout(
                timings.keep_alive_every,
                etcd.lease_keep_alive(strong.lease()),
            )
            .await
            .ok()
            .and_then(Result::ok);
        }
        let renewed = match keeper.as_mut() {
            None => None,
            Some((keeper, stream)) => {
                let renewal = async {
                    keeper.keep_alive().await.ok()?;
                    stream.message().await.ok()?
                };
                tokio::time::timeout(timings.keep_alive_every, renewal)
                    .await
                    .ok()
                    .flatten()
            }
        };
        match renewed {
            Some(response) if response.ttl() > 0 => strong.renewed(sent),
            // etcd says the lease is gone: it expired already.
            Some(_) => return Some(Instant::now()),
            None => keeper = None,
        }
        // Also after a pause of the whole process: the first look after it
        // finds the renewal too old.
        if Instant::now().duration_since(strong.last_renewal()) >= timings.stop_starting_after {
            return Some(strong.deadline());
        }
        drop(strong);
        tokio::time::sleep_until(sent + timings.keep_alive_every).await;
    }
}

/// A fenced node joins again: it gives up its old lease (if etcd answers,
/// so that its keys go at once), takes a new one, and registers under a new
/// ID. Retried until it works; false if the node left or is gone.
async fn rejoin(node: &Weak<Node>) -> bool {
    loop {
        let Some(strong) = node.upgrade() else {
            return false;
        };
        if matches!(strong.state(), ClusterState::Left) {
            return false;
        }
        let wait = strong.timings.ttl;
        let mut etcd = strong.etcd.clone();
        let _ = tokio::time::timeout(wait, etcd.lease_revoke(strong.lease())).await;
        let granted_at = Instant::now();
        if let Ok(Ok((lease, _))) =
            tokio::time::timeout(wait, grant(&mut etcd, &strong.config)).await
        {
            let id = incarnation_id(&strong.config);
            strong.reincarnate(Incarnation { id, lease }, granted_at);
            if register(&strong).await.is_ok() && load(&strong).await.is_ok() {
                if strong.transition(ClusterState::Fenced, ClusterState::Active) {
                    log::warn!("the node joined its cluster again as {}", strong.id());
                    return true;
                }
                // It left meanwhile: the new lease goes too.
                let _ = etcd.lease_revoke(lease).await;
                return false;
            }
        }
        drop(strong);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A fresh node ID: the configured name and a new UUID.
pub(crate) fn incarnation_id(config: &ClusterConfig) -> Arc<str> {
    format!("{}-{}", config.node_name, uuid::Uuid::new_v4().simple()).into()
}

/// The node may lose its lease: it stops serving every partition at once,
/// lets its actors' `deactivate` run (reason `LeaseLost`) until
/// `deadline`, and gives the rest up.
async fn fence(node: &Arc<Node>, deadline: Instant) {
    log::error!(
        "{} could not renew its lease in time: it stops handling actor messages and \
         joins again as a new node once etcd answers",
        node.id()
    );
    if !node.transition(ClusterState::Active, ClusterState::Fenced) {
        // It left (or is leaving): the leave hands the partitions over.
        return;
    }
    let held = node.held_partitions();
    let mut moving = vec![false; node.config.partitions as usize];
    for &(partition, _) in &held {
        node.start_hand_off(partition);
        moving[partition as usize] = true;
    }
    node.changed();
    let deactivated = node.hand_off_actors(moving.clone(), Some(DeactivationReason::LeaseLost));
    let in_time = tokio::time::timeout_at(deadline, deactivated).await.is_ok();
    for (partition, _) in held {
        node.release(partition);
    }
    if !in_time {
        log::error!(
            "{}: some actors were still deactivating at the fencing deadline; what is left is \
             dropped without deactivate",
            node.id()
        );
    }
    // Whatever is left (busy at the deadline, or idle and not reached) is
    // stale: dropped before this node may hold the partitions again.
    node.hand_off_actors(moving, None).await;
    node.peers.clear();
}

/// Leaves the cluster: the member key first (so that no node prefers this
/// one any more), then every partition handed over, then the lease.
pub(crate) async fn leave(node: &Arc<Node>) -> Result<(), ClusterError> {
    if matches!(node.state(), ClusterState::Left) {
        return Err(ClusterError::Stopped);
    }
    node.set_state(ClusterState::Left);
    let mut etcd = node.etcd.clone();
    let unregistered = etcd.delete(node.keys.member(&node.id()), None).await;
    let held = node.held_partitions();
    ownership::hand_over(node, &held, DeactivationReason::Handoff).await;
    let revoked = etcd.lease_revoke(node.lease()).await;
    node.peers.clear();
    let _ = node.stop.send(true);
    unregistered.map_err(|error| ClusterError::Etcd {
        operation: "removing the node's member key",
        detail: error.to_string(),
    })?;
    match revoked {
        // Expired already (the node was cut off, or fenced): gone all the same.
        Err(error) if error.to_string().contains("lease not found") => Ok(()),
        Err(error) => Err(ClusterError::Etcd {
            operation: "revoking the node's lease",
            detail: error.to_string(),
        }),
        Ok(_) => Ok(()),
    }
}

/// Once the node's actor system stopped, the node leaves the cluster if it
/// has not (its actors were deactivated by the shutdown): its member key
/// and lease go at once instead of at the lease's end.
pub(crate) async fn leave_when_stopped(node: Weak<Node>, acteur: acteur::Acteur) {
    acteur.stopped().await;
    let Some(node) = node.upgrade() else { return };
    if node.state() == ClusterState::Left {
        return;
    }
    if let Err(error) = leave(&node).await {
        log::warn!("{} could not leave its cluster cleanly: {error}", node.id());
    }
}
