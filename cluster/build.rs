//! Generates the node-to-node gRPC service (client and server) from
//! `proto/acteur_cluster.proto`. Needs `protoc` (see
//! `scripts/cluster-setup.sh`).

fn main() {
    println!("cargo:rerun-if-changed=proto/acteur_cluster.proto");
    if let Err(error) =
        tonic_prost_build::configure().compile_protos(&["proto/acteur_cluster.proto"], &["proto"])
    {
        panic!(
            "could not generate the cluster protocol from proto/acteur_cluster.proto ({error}); \
             is protoc installed? Run scripts/cluster-setup.sh"
        );
    }
}
