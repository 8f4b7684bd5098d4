//! Behaviour of the core: actors, services, publish/subscribe, shutdown,
//! and the invariants of `DESIGN.md` §3. One test binary (faster to build);
//! every test makes its own `Acteur::new()` system, so they run in parallel.

#![allow(
    clippy::needless_update,
    reason = "configurations gain fields in later versions; `..Default::default()` keeps this code compiling"
)]

mod actors;
mod application_data;
mod cancel_safety;
mod concurrency;
mod deadlocks;
mod eviction_stress;
mod failures;
mod fallible_hooks;
mod handed_back;
mod helpers;
mod intervals;
mod journal;
mod keeping_state;
mod overload;
mod poison;
mod policies;
mod probed_defects;
mod pubsub;
// The worker pool's own scheduling, with or without the `tokio` feature.
mod scheduling;
mod services;
mod shutdown;
mod timers;
