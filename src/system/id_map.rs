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

use crate::runtime::worker_count;

/// A concurrent map keyed by actor IDs; see the module documentation.
pub(crate) type IdMap<K, V> = DashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`IdMap`] with a fresh seed and [`shards`] shards.
pub(crate) fn id_map<K: Eq + std::hash::Hash, V>() -> IdMap<K, V> {
    DashMap::with_hasher_and_shard_amount(foldhash::fast::RandomState::default(), shards())
}

/// Shards of an [`IdMap`]: dashmap's default (four per core), but at least
/// [`MIN_SHARDS`].
///
/// A lookup takes its shard's read lock, an atomic write to the lock's
/// word; two cores that look up IDs of the same shard pass that word's
/// cache line back and forth. With the default's 8 shards on two cores, the
/// peers' 64 clients calling 64 actors met on every shard: at 128, their
/// actors fall on shards of their own, and ask_concurrent ran 16 % faster
/// (tell_many_ids, spawn_many and ping_pong unchanged, within noise). A
/// shard costs 128 bytes (on x86-64), so each actor type's map costs 16 KiB.
fn shards() -> usize {
    (worker_count() * 4).next_power_of_two().max(MIN_SHARDS)
}

/// See [`shards`]; a power of two, as dashmap requires.
const MIN_SHARDS: usize = 128;
