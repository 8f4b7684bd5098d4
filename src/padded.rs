//! A value alone on its cache lines.
//!
//! Two values that different threads use side by side in memory share a
//! cache line, so a write to one makes the other thread's next read of its
//! own value miss (false sharing). Measured here: every send reads the
//! actor registry (once a lock word, now its table of entries) and the
//! lifecycle's phase, while task spawns write the system's reference count
//! and the task count right next to them; when they shared lines, the
//! registry read was 13 % of a one-actor send loop.

use std::ops::Deref;

/// `T`, aligned and padded to 128 bytes: two 64-byte lines, since x86
/// processors fetch lines in adjacent pairs.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
