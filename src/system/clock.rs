//! The coarse clock that idle stamps, call deadlines and timers share.

use std::sync::LazyLock;
use std::time::Instant;

/// `at` as nanoseconds since a process-wide origin, plus one so that it is
/// never 0: a total order on instants in 8 bytes instead of an `Instant`'s 16.
pub(crate) fn stamp(at: Instant) -> u64 {
    static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);
    u64::try_from(at.saturating_duration_since(*ORIGIN).as_nanos()).unwrap_or(u64::MAX - 1) + 1
}
