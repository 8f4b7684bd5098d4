//! The node-to-node protocol's messages and service, generated from
//! `proto/acteur_cluster.proto` by `build.rs`.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("acteur.cluster.v1");

/// The metadata key naming the cluster on an `Exchange` stream.
pub(crate) const CLUSTER_HEADER: &str = "acteur-cluster";
/// The metadata key naming the sending node.
pub(crate) const NODE_HEADER: &str = "acteur-node";

impl Failure {
    pub(crate) fn new(kind: failure::Kind, detail: impl Into<String>) -> Failure {
        Failure {
            kind: kind as i32,
            detail: detail.into(),
        }
    }
}
