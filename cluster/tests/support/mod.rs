//! What the cluster's tests share.
#![allow(dead_code)]

pub mod counters;
pub mod etcd;
pub mod node_process;
pub mod proxy;
