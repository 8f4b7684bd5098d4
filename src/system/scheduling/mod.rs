//! Messages sent later or at intervals: one heap of timers per system with
//! its sweeper, and the scheduled deliveries it fires into actors and
//! services.

pub(crate) mod scheduled;
pub(crate) mod timers;
