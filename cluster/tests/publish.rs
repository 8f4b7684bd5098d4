//! `publish` across the cluster: a registered message type reaches the
//! subscribed services of every node, once per node, in publish order; an
//! unregistered one stays on the publishing node.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acteur::{
    Acteur, BoxError, Listen, Service, ServiceAssistant, ServiceConcurrency, ServiceConfiguration,
};
use acteur_cluster::{Cluster, ClusterConfig, RemoteMessage};
use serde::{Deserialize, Serialize};
use support::etcd::Etcd;

#[derive(Clone, Serialize, Deserialize)]
struct Announced(u32);
impl RemoteMessage for Announced {
    const NAME: &'static str = "publish.Announced";
}

/// Not registered with the cluster.
#[derive(Clone)]
struct Whispered(u32);

/// What this node's audit service got, in order.
#[derive(Default)]
struct Heard(Mutex<Vec<String>>);

struct Audit;
impl Service for Audit {
    async fn initialize(
        assistant: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        assistant.subscribe::<Announced>().await?;
        assistant.subscribe::<Whispered>().await?;
        let one_at_a_time = ServiceConfiguration {
            concurrency: ServiceConcurrency::None,
            ..ServiceConfiguration::default()
        };
        Ok((Audit, one_at_a_time))
    }
}
impl Listen<Announced> for Audit {
    async fn handle(&self, Announced(n): Announced, assistant: &ServiceAssistant<Self>) {
        let heard = assistant.data::<Arc<Heard>>().unwrap();
        heard.0.lock().unwrap().push(format!("announced {n}"));
    }
}
impl Listen<Whispered> for Audit {
    async fn handle(&self, Whispered(n): Whispered, assistant: &ServiceAssistant<Self>) {
        let heard = assistant.data::<Arc<Heard>>().unwrap();
        heard.0.lock().unwrap().push(format!("whispered {n}"));
    }
}

async fn node(etcd: &Etcd) -> (Acteur, Cluster, Arc<Heard>) {
    let heard = Arc::new(Heard::default());
    let acteur = Acteur::builder().data(heard.clone()).build();
    acteur.preload_service::<Audit>().await.unwrap();
    let cluster = Cluster::builder(
        acteur.clone(),
        ClusterConfig::new("publish")
            .etcd_endpoints([etcd.url.clone()])
            .lease_ttl(Duration::from_secs(3))
            .partitions(8),
    )
    .published::<Announced>()
    .join()
    .await
    .unwrap();
    (acteur, cluster, heard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_message_reaches_every_node_once_in_order() {
    let etcd = Etcd::start();
    let nodes = [node(&etcd).await, node(&etcd).await, node(&etcd).await];
    let started = Instant::now();
    while nodes
        .iter()
        .any(|(_, cluster, _)| cluster.members().len() < 3)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the nodes see each other"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (publisher, _, _) = &nodes[0];
    // First: had it travelled, it would reach the other nodes before the
    // announcements, on the same streams.
    publisher.publish(Whispered(7)).await.unwrap();
    for n in 0..200 {
        publisher.publish(Announced(n)).await.unwrap();
    }
    let expected: Vec<String> = (0..200).map(|n| format!("announced {n}")).collect();
    for (index, (_, _, heard)) in nodes.iter().enumerate() {
        let started = Instant::now();
        loop {
            let got: Vec<String> = heard
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|entry| entry.starts_with("announced"))
                .cloned()
                .collect();
            assert!(got.len() <= 200, "node {index} heard something twice");
            if got.len() == 200 {
                assert_eq!(got, expected, "node {index}: in publish order");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "node {index} heard {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // The unregistered type stayed on the publishing node.
    for (index, (_, _, heard)) in nodes.iter().enumerate() {
        let whispers = heard
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.starts_with("whispered"))
            .count();
        assert_eq!(whispers, usize::from(index == 0), "node {index}");
    }
    for (acteur, cluster, _) in &nodes {
        cluster.leave().await.unwrap();
        acteur.stop();
        acteur.stopped().await;
    }
}
