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
    DashMap::with_hasher_and_shard_amount(foldhash::fast::RandomState::default(), shards())
}

/// Shards per map: 64 per core, a power of two, at most 1,024. Each send
/// takes its shard's lock for reading, an atomic write to the lock's cache
/// line: with dashmap's default of four shards per core, workers sending to
/// different actors still wrote the same few lines and moved them between
/// cores on most messages (peers' ask_concurrent about +7 % with 128 shards
/// on 2 cores). A shard costs a padded lock and an empty table, 128 bytes
/// until it holds something, so a map costs 8 KiB per core, 128 KiB at most.
fn shards() -> usize {
    static SHARDS: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
        (crate::runtime::worker_count() * 64)
            .next_power_of_two()
            .min(1024)
    });
    *SHARDS
}
