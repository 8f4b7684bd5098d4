//! Messages between nodes: one gRPC `Exchange` stream from each node to
//! each other node it sends to.
//!
//! - `peer.rs`: the sending side, a connection per peer that batches what
//!   is waiting into frames and matches outcomes to requests.
//! - `server.rs`: the receiving side, which checks ownership, queues the
//!   requests of a stream in order, and sends their outcomes back.

pub(crate) mod peer;
pub(crate) mod server;
