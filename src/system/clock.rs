//! The clock that idle stamps, call deadlines and timers share.
//!
//! Instants are *stamps*: nanoseconds on the monotonic clock as a `u64`,
//! never 0 (0 means "none" where a stamp is optional), a total order in 8
//! bytes instead of an `Instant`'s 16.
//!
//! Two readings: [`now`], precise, and [`now_or_later`], which may be a
//! few milliseconds late, for the deadline of every call that waits (idle
//! stamps stay precise: they order evictions, and actors used microseconds
//! apart must not tie). On Linux the second reads the kernel's coarse
//! clock, which costs a quarter of the precise one (4 against 18 ns here)
//! and lags it by up to its resolution, the kernel's tick (4 ms here):
//! twice the resolution is added, so that a deadline measured from it ends
//! at its time or up to about 8 ms later, and early only if the tick itself
//! came more than a tick late. A call's timeout needs no better (peers,
//! alternated runs: ask_one +3 %, ask_concurrent +5 to +11 %).

use std::time::Duration;

/// The precise time now.
#[inline]
pub(crate) fn now() -> u64 {
    source::precise()
}

/// About [`now`], up to twice the coarse clock's resolution (milliseconds)
/// later, not earlier (see the module's doc); cheaper than [`now`] where
/// there is a coarse clock (Linux), the same elsewhere.
#[inline]
pub(crate) fn now_or_later() -> u64 {
    source::coarse_upper_bound()
}

/// `duration` after `stamp`; `None` beyond what a stamp can hold.
#[inline]
pub(crate) fn after(stamp: u64, duration: Duration) -> Option<u64> {
    u64::try_from(duration.as_nanos())
        .ok()
        .and_then(|nanos| stamp.checked_add(nanos))
        .filter(|&at| at != u64::MAX)
}

/// How long from `now` until `stamp` (zero if it has passed).
#[inline]
pub(crate) fn until(stamp: u64, now: u64) -> Duration {
    Duration::from_nanos(stamp.saturating_sub(now))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod source {
    //! The monotonic clock through the vDSO (rustix, no `unsafe` here).

    use std::sync::LazyLock;

    use rustix::time::{ClockId, Timespec, clock_getres, clock_gettime};

    fn nanos(time: Timespec) -> u64 {
        let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(time.tv_nsec).unwrap_or(0);
        seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
    }

    #[inline]
    pub(super) fn precise() -> u64 {
        // Plus one: never 0.
        nanos(clock_gettime(ClockId::Monotonic)) + 1
    }

    #[inline]
    pub(super) fn coarse_upper_bound() -> u64 {
        nanos(clock_gettime(ClockId::MonotonicCoarse)) + 1 + margin()
    }

    /// What [`coarse_upper_bound`] adds to the coarse reading: twice its
    /// resolution (the kernel's tick, read once), since the tick that
    /// updates the coarse clock may itself come a little late.
    pub(super) fn margin() -> u64 {
        static MARGIN: LazyLock<u64> =
            LazyLock::new(|| 2 * nanos(clock_getres(ClockId::MonotonicCoarse)).max(1));
        *MARGIN
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod source {
    //! Without a coarse clock: `Instant`, since a process-wide origin.

    use std::sync::LazyLock;
    use std::time::Instant;

    #[inline]
    pub(super) fn precise() -> u64 {
        static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);
        // Plus one: never 0.
        u64::try_from(ORIGIN.elapsed().as_nanos()).unwrap_or(u64::MAX - 2) + 1
    }

    #[inline]
    pub(super) fn coarse_upper_bound() -> u64 {
        precise()
    }

    pub(super) fn margin() -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_never_zero_and_the_precise_clock_never_goes_back() {
        let mut last = now();
        assert!(last > 0);
        for _ in 0..10_000 {
            let next = now();
            assert!(next >= last);
            last = next;
        }
    }

    #[test]
    fn both_readings_are_on_one_clock() {
        for _ in 0..100_000 {
            let before = now();
            let coarse = now_or_later();
            let after = now();
            // The coarse clock never runs ahead of the precise one: the
            // reading is at most its margin beyond the time after it.
            assert!(coarse <= after + source::margin(), "{coarse} > {after}");
            // And it lags by about a tick, not by a different origin (a
            // second stands for "the machine stalled", not for precision).
            assert!(coarse + 1_000_000_000 >= before, "{coarse} << {before}");
        }
    }

    #[test]
    fn deadlines_saturate_to_none_and_durations_to_zero() {
        assert_eq!(after(10, Duration::from_nanos(5)), Some(15));
        assert_eq!(after(10, Duration::MAX), None);
        assert_eq!(after(u64::MAX - 1, Duration::from_nanos(1)), None);
        assert_eq!(until(15, 10), Duration::from_nanos(5));
        assert_eq!(until(10, 15), Duration::ZERO);
    }
}
