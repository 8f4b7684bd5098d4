//! # The Acteur guide
//!
//! A book in twelve short chapters, to read top to bottom the first time and
//! to come back to later. Each chapter's examples are tested with the crate.
//!
//! 1. [Concepts](crate::guide::concepts): actors, services, messages, the
//!    system, and what Acteur promises.
//! 2. [Actors](crate::guide::actors): activation, handlers, the assistant,
//!    ordering, actors talking to actors.
//! 3. [Services](crate::guide::services): concurrency, state, when to use one.
//! 4. [Publish and subscribe](crate::guide::publish_subscribe): one message,
//!    every interested service.
//! 5. [Shutdown](crate::guide::shutdown): stopping gracefully in phases,
//!    what happens to messages in flight, and the deadline.
//! 6. [Keeping state](crate::guide::keeping_state): loading in `activate`
//!    with the application's data, saving in `deactivate`, and what a stop
//!    or a crash keeps.
//! 7. [Errors, panics and overload](crate::guide::errors): every error, what
//!    causes it and what to do; bounded mailboxes, timeouts, deadlocks.
//! 8. [Memory policies](crate::guide::memory): idle timeouts, limits on
//!    count and memory, eviction.
//! 9. [Choosing a runtime](crate::guide::runtimes): the built-in worker pool
//!    or tokio; sync or async; blocking code.
//! 10. [Observing a system](crate::guide::observing): statistics, logs and
//!     traces.
//! 11. [Testing your actors](crate::guide::testing): one system per test,
//!     synchronising on replies, never on sleeps.
//! 12. [Migrating from acteur 0.12](crate::guide::migration): what changed,
//!     name by name.
//!
//! The examples in the repository's `examples/` folder are whole programs:
//! `quickstart`, `services`, `publish_subscribe`, `respond`,
//! `bounded_memory`, `game` (thousands of players and rooms) and
//! `web_server` (an HTTP API with axum, on the `tokio` feature).

#[doc = include_str!("concepts.md")]
pub mod concepts {}

#[doc = include_str!("actors.md")]
pub mod actors {}

#[doc = include_str!("services.md")]
pub mod services {}

#[doc = include_str!("publish_subscribe.md")]
pub mod publish_subscribe {}

#[doc = include_str!("shutdown.md")]
pub mod shutdown {}

#[doc = include_str!("keeping_state.md")]
pub mod keeping_state {}

#[doc = include_str!("errors.md")]
pub mod errors {}

#[doc = include_str!("memory.md")]
pub mod memory {}

#[doc = include_str!("runtimes.md")]
pub mod runtimes {}

#[doc = include_str!("observing.md")]
pub mod observing {}

#[doc = include_str!("testing.md")]
pub mod testing {}

#[doc = include_str!("migration.md")]
pub mod migration {}
