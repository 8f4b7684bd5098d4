//! Which partition an actor ID belongs to: the one function that the
//! cluster's placement, its routing and fenced state stores all use.

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::RemoteActor;

/// The partition of actor `A`'s `id` among `partitions`:
/// `xxh3_64(A::NAME ++ 0x00 ++ postcard(id)) % partitions`.
///
/// The hash and the codec are both fixed by their specifications, so the
/// value is the same on every node, platform and release (unlike
/// `std::hash`'s `DefaultHasher`, whose output may change between Rust
/// releases).
///
/// # Errors
///
/// The ID's `Serialize` failed.
///
/// # Panics
///
/// Never: a `partitions` of 0 is taken as 1 (a cluster's configuration
/// refuses 0 before this is called).
pub fn partition_of<A: RemoteActor>(id: &A::Id, partitions: u32) -> Result<u32, postcard::Error>
where
    A::Id: Serialize + serde::de::DeserializeOwned,
{
    let id = postcard::to_stdvec(id)?;
    Ok(partition_of_encoded(A::NAME, &id, partitions))
}

/// The state store partition of cluster partition `partition`: one more,
/// since a store's partition 0 belongs to systems outside a cluster (each
/// store handle fences it with an epoch of its own when it opens), so that
/// a store used by single-node systems and then by a cluster fences both
/// correctly. Persistent actors' writes carry it, and a node claims it in
/// the store before activating any actor of the partition.
pub(crate) fn store_partition(partition: u32) -> u64 {
    u64::from(partition) + 1
}

/// [`partition_of`] for an ID already encoded with postcard: what a node
/// receiving a message computes without decoding the ID.
pub(crate) fn partition_of_encoded(actor: &str, id: &[u8], partitions: u32) -> u32 {
    let mut key = Vec::with_capacity(actor.len() + 1 + id.len());
    key.extend_from_slice(actor.as_bytes());
    key.push(0);
    key.extend_from_slice(id);
    (xxh3_64(&key) % u64::from(partitions.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden vectors: if one changes, IDs move between partitions and
    /// every running cluster's placement and fenced state breaks. Never
    /// update them to make a change pass.
    #[test]
    fn partitions_are_fixed_forever() {
        let cases: [(&str, &[u8], u32, u32); 6] = [
            ("check.Counter", &[0], 256, GOLDEN[0]),
            ("check.Counter", &[7], 256, GOLDEN[1]),
            ("check.Counter", &[0xac, 0x02], 256, GOLDEN[2]),
            ("shop.Order", &[3, b'a', b'b', b'c'], 256, GOLDEN[3]),
            ("shop.Order", &[], 1024, GOLDEN[4]),
            ("x", &[1, 2, 3], 7, GOLDEN[5]),
        ];
        for (actor, id, partitions, expected) in cases {
            assert_eq!(
                partition_of_encoded(actor, id, partitions),
                expected,
                "{actor} {id:?} of {partitions}"
            );
        }
    }

    /// Computed apart from this crate, with the reference xxHash library
    /// (Python's `xxhash.xxh3_64_intdigest(name + b"\\0" + id) % n`).
    const GOLDEN: [u32; 6] = [253, 42, 156, 93, 256, 6];

    #[test]
    fn the_id_is_encoded_with_postcard() {
        // u64 7 is one varint byte; 300 is two; a String is its length
        // then its bytes.
        assert_eq!(postcard::to_stdvec(&7u64).unwrap(), [7]);
        assert_eq!(postcard::to_stdvec(&300u64).unwrap(), [0xac, 0x02]);
        assert_eq!(postcard::to_stdvec("abc").unwrap(), [3, b'a', b'b', b'c']);
    }

    #[test]
    fn the_name_keeps_types_apart() {
        let one = (0..64u8)
            .filter(|id| {
                partition_of_encoded("a.One", &[*id], 1 << 20)
                    == partition_of_encoded("a.Two", &[*id], 1 << 20)
            })
            .count();
        assert_eq!(one, 0, "the same ID of two types should land apart");
    }

    #[test]
    fn store_partitions_leave_the_single_node_one_alone() {
        assert_eq!(store_partition(0), 1);
        assert_eq!(store_partition(u32::MAX), u64::from(u32::MAX) + 1);
    }

    #[test]
    fn zero_partitions_is_one() {
        assert_eq!(partition_of_encoded("a", &[1], 0), 0);
    }
}
