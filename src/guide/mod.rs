//! # The Acteur guide
//!
//! A book in twelve short chapters, to read top to bottom the first time and
//! to come back to later. Each chapter's examples are tested with the crate.
//!
//! 1. [Concepts](crate::guide::ch01_concepts): actors, services, messages, the
//!    system, and what Acteur promises.
//! 2. [Actors](crate::guide::ch02_actors): activation, handlers, the assistant,
//!    ordering, actors talking to actors.
//! 3. [Services](crate::guide::ch03_services): concurrency, state, when to use one.
//! 4. [Publish and subscribe](crate::guide::ch04_publish_subscribe): one message,
//!    every interested service.
//! 5. [Shutdown](crate::guide::ch05_shutdown): stopping gracefully in phases,
//!    what happens to messages in flight, and the deadline.
//! 6. [Keeping state](crate::guide::ch06_keeping_state): loading in `activate`
//!    with the application's data, saving in `deactivate`, what a stop or a
//!    crash keeps, and durable state managed by Acteur (`PersistentActor`).
//! 7. [Errors, panics and overload](crate::guide::ch07_errors): every error, what
//!    causes it and what to do; bounded mailboxes, timeouts, deadlocks.
//! 8. [Memory policies](crate::guide::ch08_memory): idle timeouts, limits on
//!    count and memory, eviction.
//! 9. [Choosing a runtime](crate::guide::ch09_runtimes): the built-in worker pool
//!    or tokio; sync or async; blocking code.
//! 10. [Observing a system](crate::guide::ch10_observing): statistics, logs and
//!     traces.
//! 11. [Testing your actors](crate::guide::ch11_testing): one system per test,
//!     synchronising on replies, never on sleeps.
//! 12. [Migrating from acteur 0.12](crate::guide::ch12_migration): what changed,
//!     name by name.
//!
//! The examples in the `examples/` folder are whole programs; run one with
//! `cargo run --example NAME`, and read its source here:
//! [`quickstart`](crate::guide::examples::quickstart),
//! [`services`](crate::guide::examples::services),
//! [`publish_subscribe`](crate::guide::examples::publish_subscribe),
//! [`respond`](crate::guide::examples::respond),
//! [`bounded_memory`](crate::guide::examples::bounded_memory),
//! [`game`](crate::guide::examples::game) (thousands of players and rooms) and
//! [`web_server`](crate::guide::examples::web_server) (an HTTP API with axum,
//! on the `tokio` feature).

#[doc = include_str!("concepts.md")]
pub mod ch01_concepts {}

#[doc = include_str!("actors.md")]
pub mod ch02_actors {}

#[doc = include_str!("services.md")]
pub mod ch03_services {}

#[doc = include_str!("publish_subscribe.md")]
pub mod ch04_publish_subscribe {}

#[doc = include_str!("shutdown.md")]
pub mod ch05_shutdown {}

#[doc = include_str!("keeping_state.md")]
pub mod ch06_keeping_state {}

#[doc = include_str!("errors.md")]
pub mod ch07_errors {}

#[doc = include_str!("memory.md")]
pub mod ch08_memory {}

#[doc = include_str!("runtimes.md")]
pub mod ch09_runtimes {}

#[doc = include_str!("observing.md")]
pub mod ch10_observing {}

#[doc = include_str!("testing.md")]
pub mod ch11_testing {}

#[doc = include_str!("migration.md")]
pub mod ch12_migration {}

/// The source of each program in the `examples/` folder, to read beside the
/// guide. Each runs with `cargo run --example NAME` (`web_server` with
/// `--features tokio`, `persistent_bank` with `--features sqlite`); they are built and run by the crate's CI, not here.
pub mod examples {
    /// Shows one example's source as a page of its own.
    macro_rules! example {
        ($name:ident, $file:literal, $what:literal) => {
            #[doc = concat!(
                                        "`examples/", $file, "`: ", $what, "\n\n```rust,ignore\n",
                                        include_str!(concat!("../../examples/", $file)),
                                        "\n```"
                                    )]
            pub mod $name {}
        };
    }

    example!(
        quickstart,
        "quickstart.rs",
        "a first actor: send, call, stop."
    );
    example!(
        services,
        "services.rs",
        "a stateful and a stateless service, and actors using them."
    );
    example!(
        publish_subscribe,
        "publish_subscribe.rs",
        "services subscribed to events that actors publish."
    );
    example!(
        respond,
        "respond.rs",
        "actors calling actors and answering."
    );
    example!(
        bounded_memory,
        "bounded_memory.rs",
        "100,000 players through 5,000 places in RAM, saved and loaded again."
    );
    example!(
        game,
        "game.rs",
        "10,000 players walking between 1,000 rooms, which broadcast through a service."
    );
    example!(
        persistent_bank,
        "persistent_bank.rs",
        "accounts whose balances survive the program, on an SQLite file (the `sqlite` feature)."
    );
    example!(
        web_server,
        "web_server.rs",
        "an axum HTTP API over a `User` actor and a `Directory` service (the `tokio` feature)."
    );
}
