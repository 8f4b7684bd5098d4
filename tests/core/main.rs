//! Behaviour of the core: actors, services, publish/subscribe, shutdown,
//! and the invariants of `DESIGN.md` §3. One test binary (faster to build);
//! every test makes its own `Acteur::new()` system, so they run in parallel.

mod actors;
mod concurrency;
mod failures;
mod helpers;
mod pubsub;
mod services;
mod shutdown;
