//! Which live node should own a partition: rendezvous (highest random
//! weight) hashing. Every node computes the same answer from the same
//! member list, and when a node joins or leaves only the partitions it wins
//! or held move (about 1/N of them), not a reshuffle of all.

use xxhash_rust::xxh3::xxh3_64;

/// The member that should own `partition`: the one with the highest
/// `xxh3_64(member ++ 0x00 ++ partition as 4 little-endian bytes)`, ties
/// broken by the smaller name. `None` without members.
pub(crate) fn preferred_owner<'a>(
    partition: u32,
    members: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    members
        .into_iter()
        .map(|member| (weight(member, partition), member))
        .max_by(|(a_weight, a), (b_weight, b)| a_weight.cmp(b_weight).then(b.cmp(a)))
        .map(|(_, member)| member)
}

fn weight(member: &str, partition: u32) -> u64 {
    let mut key = Vec::with_capacity(member.len() + 5);
    key.extend_from_slice(member.as_bytes());
    key.push(0);
    key.extend_from_slice(&partition.to_le_bytes());
    xxh3_64(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTITIONS: u32 = 256;

    fn owners(members: &[&str]) -> Vec<String> {
        (0..PARTITIONS)
            .map(|p| {
                preferred_owner(p, members.iter().copied())
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn no_members_no_owner() {
        assert_eq!(preferred_owner(3, []), None);
    }

    #[test]
    fn the_order_of_members_does_not_matter() {
        assert_eq!(owners(&["a", "b", "c"]), owners(&["c", "a", "b"]));
    }

    #[test]
    fn partitions_spread_over_members() {
        let owners = owners(&["node-a", "node-b", "node-c"]);
        for member in ["node-a", "node-b", "node-c"] {
            let count = owners.iter().filter(|owner| *owner == member).count();
            // 256 / 3 = 85 expected; a hash that spreads this badly is broken.
            assert!((50..=120).contains(&count), "{member}: {count} of 256");
        }
    }

    #[test]
    fn a_join_moves_only_what_the_newcomer_wins() {
        let before = owners(&["a", "b", "c"]);
        let after = owners(&["a", "b", "c", "d"]);
        for (old, new) in before.iter().zip(&after) {
            assert!(old == new || new == "d", "{old} -> {new}");
        }
        let moved = before.iter().zip(&after).filter(|(o, n)| o != n).count();
        assert!((30..=100).contains(&moved), "{moved} of 256 moved");
    }

    #[test]
    fn a_departure_moves_only_what_the_leaver_held() {
        let before = owners(&["a", "b", "c"]);
        let after = owners(&["a", "c"]);
        for (old, new) in before.iter().zip(&after) {
            assert!(old == new || old == "b", "{old} -> {new}");
        }
    }
}
