//! The `cluster_node` example's counters as etcd holds them.

use std::collections::HashMap;

use serde_json::Value;

use super::etcd::Etcd;

/// Each counter's stored value, and the operations applied to it, read
/// from etcd directly (`/check/{cluster}/c/{id}`, `/check/{cluster}/op/..`).
pub fn stored_counters(
    etcd: &Etcd,
    cluster: &str,
) -> (HashMap<u64, u64>, HashMap<u64, Vec<String>>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([etcd.url.as_str()], None)
            .await
            .unwrap();
        let prefix = format!("/check/{cluster}/");
        let all = client
            .get(
                prefix.clone(),
                Some(etcd_client::GetOptions::new().with_prefix()),
            )
            .await
            .unwrap();
        let mut values = HashMap::new();
        let mut ops: HashMap<u64, Vec<String>> = HashMap::new();
        for kv in all.kvs() {
            let key = kv.key_str().unwrap().strip_prefix(&prefix).unwrap();
            if let Some(id) = key.strip_prefix("c/") {
                let value: Value = serde_json::from_slice(kv.value()).unwrap();
                values.insert(id.parse().unwrap(), value["value"].as_u64().unwrap());
            } else if let Some(rest) = key.strip_prefix("op/") {
                let (id, op) = rest.split_once('/').unwrap();
                ops.entry(id.parse().unwrap())
                    .or_default()
                    .push(op.to_owned());
            }
        }
        (values, ops)
    })
}
