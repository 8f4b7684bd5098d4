//! What a node does with what it should not get: garbage and HTTP/1 on its
//! gRPC port, a message over the size limit, a name that two nodes give to
//! different types, an etcd it cannot reach, a partition count or a lease
//! it must refuse. Each gets a clear error; nothing panics, and the node
//! goes on serving.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use acteur::{Acteur, Actor, ActorAssistant, BoxError, Error, RemoteErrorKind, Respond};
use acteur_cluster::{Cluster, ClusterConfig, ClusterError, RemoteActor, RemoteMessage};
use serde::{Deserialize, Serialize};
use support::etcd::Etcd;

struct Store;
impl Actor for Store {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Store)
    }
}
impl RemoteActor for Store {
    const NAME: &'static str = "bad.Store";
}

/// Its length, as a request.
#[derive(Serialize, Deserialize)]
struct Put(Vec<u8>);
impl RemoteMessage for Put {
    const NAME: &'static str = "bad.Put";
}
impl Respond<Put> for Store {
    type Response = usize;
    async fn handle(&mut self, put: Put, _: &ActorAssistant<Self>) -> usize {
        put.0.len()
    }
}

/// The same actor name on another node, whose `bad.Put` is another type.
struct OtherStore;
impl Actor for OtherStore {
    type Id = u64;
    async fn activate(_: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(OtherStore)
    }
}
impl RemoteActor for OtherStore {
    const NAME: &'static str = "bad.Store";
}
#[derive(Serialize, Deserialize)]
struct OtherPut {
    name: String,
    size: u64,
}
impl RemoteMessage for OtherPut {
    const NAME: &'static str = "bad.Put";
}
impl Respond<OtherPut> for OtherStore {
    type Response = usize;
    async fn handle(&mut self, put: OtherPut, _: &ActorAssistant<Self>) -> usize {
        put.name.len()
    }
}

fn config(etcd: &Etcd, cluster: &str) -> ClusterConfig {
    ClusterConfig::new(cluster)
        .etcd_endpoints([etcd.url.clone()])
        .lease_ttl(Duration::from_secs(3))
        .partitions(16)
        .max_message_bytes(64 * 1024)
}

async fn store_node(etcd: &Etcd, cluster: &str) -> (Acteur, Cluster) {
    let acteur = Acteur::new();
    let cluster = Cluster::builder(acteur.clone(), config(etcd, cluster))
        .actor::<Store>()
        .request::<Put>()
        .join()
        .await
        .unwrap();
    (acteur, cluster)
}

/// Waits (at most 30 s) until `cluster` sees `members` members and an
/// owner for each of the IDs.
async fn owned(cluster: &Cluster, members: usize, ids: std::ops::Range<u64>) {
    let started = Instant::now();
    while cluster.members().len() != members
        || ids
            .clone()
            .any(|id| cluster.owner_of::<Store>(&id).is_none())
    {
        assert!(started.elapsed() < Duration::from_secs(30), "no owners");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An ID of `Store` that `owner` owns, as `viewer` sees it.
fn id_owned_by(viewer: &Cluster, owner: &Cluster) -> u64 {
    (0..1000u64)
        .find(|id| viewer.owner_of::<Store>(id) == Some(owner.node_id()))
        .expect("the other node owns some IDs")
}

async fn wait_for_settled(a: &Cluster, b: &Cluster) {
    let started = Instant::now();
    loop {
        owned(a, 2, 0..64).await;
        let owners: std::collections::HashSet<_> = (0..64u64)
            .filter_map(|id| a.owner_of::<Store>(&id))
            .collect();
        let agreed = (0..64u64).all(|id| a.owner_of::<Store>(&id) == b.owner_of::<Store>(&id));
        if owners.len() == 2 && agreed {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not settle"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_http1_on_the_grpc_port_harm_nothing() {
    let etcd = Etcd::start();
    let (a, ca) = store_node(&etcd, "garbage").await;
    let (b, cb) = store_node(&etcd, "garbage").await;
    wait_for_settled(&ca, &cb).await;
    let address = cb
        .members()
        .into_iter()
        .find(|m| m.id == cb.node_id())
        .unwrap()
        .address;
    let inputs: [&[u8]; 3] = [
        b"\x00\xff\x13garbage\x00\x00\x00\x05hello and more bytes that are no HTTP/2 at all",
        b"GET / HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xde\xad\xbe\xef\xde\xad\xbe\xef",
    ];
    for input in inputs {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.write_all(input);
        let mut answer = Vec::new();
        // The node answers with an error or closes; it must not hang.
        let _ = stream.read_to_end(&mut answer);
    }
    // It still serves its actors to the other node.
    let id = id_owned_by(&ca, &cb);
    assert_eq!(
        a.call_actor::<Store, Put>(id, Put(vec![1, 2, 3])).await,
        Ok(3)
    );
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_limit_is_refused_before_it_leaves() {
    let etcd = Etcd::start();
    let (a, ca) = store_node(&etcd, "large").await;
    let (b, cb) = store_node(&etcd, "large").await;
    wait_for_settled(&ca, &cb).await;
    let id = id_owned_by(&ca, &cb);
    match a
        .call_actor::<Store, Put>(id, Put(vec![7; 100 * 1024]))
        .await
    {
        Err(Error::Remote {
            kind: RemoteErrorKind::TooLarge,
            detail,
            ..
        }) => assert!(detail.contains("max_message_bytes"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // One under the limit goes through.
    assert_eq!(
        a.call_actor::<Store, Put>(id, Put(vec![7; 1000])).await,
        Ok(1000)
    );
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_for_two_types_is_a_codec_error() {
    let etcd = Etcd::start();
    let (a, ca) = store_node(&etcd, "names").await;
    let b = Acteur::new();
    let cb = Cluster::builder(b.clone(), config(&etcd, "names"))
        .actor::<OtherStore>()
        .request::<OtherPut>()
        .join()
        .await
        .unwrap();
    wait_for_settled(&ca, &cb).await;
    let id = id_owned_by(&ca, &cb);
    // Two bytes of `Put` do not make an `OtherPut` (a string, then a
    // number): the receiver says so.
    match a.call_actor::<Store, Put>(id, Put(vec![200, 1])).await {
        Err(Error::Remote {
            kind: RemoteErrorKind::Codec,
            detail,
            ..
        }) => assert!(detail.contains("bad.Put"), "{detail}"),
        other => panic!("{other:?}"),
    }
    for (cluster, system) in [(&ca, &a), (&cb, &b)] {
        cluster.leave().await.unwrap();
        system.stop();
        system.stopped().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_refuses_what_it_must() {
    let etcd = Etcd::start();
    // No etcd there: an error within the connect timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let started = Instant::now();
    let refused = Cluster::builder(
        Acteur::new(),
        ClusterConfig::new("refusals")
            .etcd_endpoints([nowhere])
            .etcd_connect_timeout(Duration::from_secs(1)),
    )
    .actor::<Store>()
    .join()
    .await;
    assert!(
        matches!(refused, Err(ClusterError::EtcdUnreachable { .. })),
        "{refused:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A lease under 2 s.
    let short = Cluster::builder(
        Acteur::new(),
        config(&etcd, "refusals").lease_ttl(Duration::from_millis(1500)),
    )
    .join()
    .await;
    match short {
        Err(ClusterError::InvalidConfig { field, .. }) => assert_eq!(field, "lease_ttl"),
        other => panic!("{other:?}"),
    }

    // Another partition count than the cluster's.
    let (a, first) = store_node(&etcd, "refusals").await;
    let mismatch = Cluster::builder(Acteur::new(), config(&etcd, "refusals").partitions(32))
        .join()
        .await;
    match mismatch {
        Err(error @ ClusterError::PartitionsMismatch { .. }) => {
            let text = error.to_string();
            assert!(text.contains("16") && text.contains("32"), "{text}");
        }
        other => panic!("{other:?}"),
    }

    // One actor name for two types on one node.
    let twice = Cluster::builder(Acteur::new(), config(&etcd, "refusals"))
        .actor::<Store>()
        .actor::<OtherStore>()
        .join()
        .await;
    assert!(matches!(twice, Err(ClusterError::Registration { .. })));

    first.leave().await.unwrap();
    a.stop();
    a.stopped().await;
}
