//! The map from an actor ID to what the system keeps for it (its slot, its
//! stored state's tracker), and the hash it finds IDs with.
//!
//! Every send looks its ID up here, so the hash is on the path of every
//! message: std's SipHash took about 120 instructions for a `u32`, foldhash
//! a handful (spawn_many +10 %, ping_pong +5 % in the peers run). Like
//! SipHash's `RandomState`, foldhash's is seeded at random once per process
//! (and per map), so IDs chosen by outsiders, such as user names from
//! requests, cannot be picked to fall on one shard or one bucket: that
//! would take knowing the seed. Its outputs are not cryptographic, which a
//! map does not need.

use dashmap::DashMap;

/// A concurrent map keyed by actor IDs; see the module documentation.
pub(crate) type IdMap<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`IdMap`] with a fresh seed.
pub(crate) fn id_map<K: Eq + std::hash::Hash, V>() -> IdMap<K, V> {
    DashMap::with_hasher(foldhash::fast::RandomState::default())
}
