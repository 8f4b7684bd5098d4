//! The fencing rule every store that keeps an actor's state applies.

/// Whether a write by an activation of epoch `mine` may land on a record
/// last written under `stored` (`None`: never written): only if
/// `stored <= mine`.
///
/// Epochs of successive activations of an ID strictly increase (they are
/// the etcd revisions at which their nodes claimed the ID's partition), so
/// once a newer activation wrote, an older one (a node that lost its lease
/// but still runs) is refused. Use it as the condition of every write a
/// clustered actor makes to its own store, with the epoch from
/// [`ActorAssistant::activation_epoch`](acteur::ActorAssistant::activation_epoch);
/// Acteur's persistent actors apply it themselves.
///
/// ```
/// use acteur_cluster::epoch_admits;
///
/// assert!(epoch_admits(None, 41));
/// assert!(epoch_admits(Some(41), 41));
/// assert!(epoch_admits(Some(41), 97));
/// assert!(!epoch_admits(Some(97), 41));
/// ```
pub fn epoch_admits(stored: Option<u64>, mine: u64) -> bool {
    stored.is_none_or(|stored| stored <= mine)
}

#[cfg(test)]
mod tests {
    use super::epoch_admits;

    #[test]
    fn an_older_epoch_never_overwrites_a_newer_one() {
        for stored in 0..20 {
            for mine in 0..20 {
                assert_eq!(epoch_admits(Some(stored), mine), stored <= mine);
            }
        }
        assert!(epoch_admits(None, 0));
    }
}
