//! # Acteur: virtual actors, services and publish/subscribe
//!
//! Acteur runs business logic written as *virtual actors*: objects
//! identified by an ID of your type (a user, an invoice, a player), activated
//! on their first message, kept in RAM while in use, deactivated when idle,
//! and never run concurrently with themselves. Beside them stand *services*
//! (no ID, several messages at once) and a typed publish/subscribe bus.
//! Handlers are plain `async fn`s; there are no addresses to keep and nothing
//! to spawn, and a plain `fn main` without a runtime works.
//!
//! ## A first actor
//!
//! ```
//! use acteur::{Acteur, Actor, ActorAssistant, BoxError, Receive, Respond};
//!
//! struct Employee {
//!     salary: u32,
//! }
//!
//! impl Actor for Employee {
//!     type Id = u32;
//!     async fn activate(_id: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
//!         Ok(Employee { salary: 0 }) // load from a database, or a default
//!     }
//! }
//!
//! struct SalaryChanged(u32);
//! impl Receive<SalaryChanged> for Employee {
//!     async fn handle(&mut self, m: SalaryChanged, _: &ActorAssistant<Self>) {
//!         self.salary = m.0;
//!     }
//! }
//!
//! struct GetSalary;
//! impl Respond<GetSalary> for Employee {
//!     type Response = u32;
//!     async fn handle(&mut self, _: GetSalary, _: &ActorAssistant<Self>) -> u32 {
//!         self.salary
//!     }
//! }
//!
//! let sys = Acteur::new();
//! sys.send_to_actor_sync::<Employee, _>(42, SalaryChanged(55_000)).unwrap();
//! assert_eq!(sys.call_actor_sync::<Employee, _>(42, GetSalary).unwrap(), 55_000);
//! sys.stop();
//! sys.wait_until_stopped();
//! ```
//!
//! ## The guide
//!
//! The [`guide`] module is a short book, from the concepts to testing and
//! migrating from acteur 0.12:
//!
//! 1. [Concepts](guide::ch01_concepts)
//! 2. [Actors](guide::ch02_actors)
//! 3. [Services](guide::ch03_services)
//! 4. [Publish and subscribe](guide::ch04_publish_subscribe)
//! 5. [Shutdown](guide::ch05_shutdown)
//! 6. [Keeping state](guide::ch06_keeping_state)
//! 7. [Errors, panics and overload](guide::ch07_errors)
//! 8. [Memory policies](guide::ch08_memory)
//! 9. [Choosing a runtime](guide::ch09_runtimes)
//! 10. [Observing a system](guide::ch10_observing)
//! 11. [Testing your actors](guide::ch11_testing)
//! 12. [Migrating from acteur 0.12](guide::ch12_migration)
//!
//! ## Cargo features
//!
//! None is on by default; without them, Acteur depends on no runtime.
//!
//! | feature | what it adds |
//! |---|---|
//! | `tokio` | handlers can use tokio-based libraries: the system's workers run inside a tokio runtime's context (the one given to the builder, the one the system is created in, or a small one it starts); scheduling is unchanged. See [Choosing a runtime](guide::ch09_runtimes) |
//! | `tracing` | a `tracing` span around every handled message, naming the actor type, its ID and the message type. See [Observing a system](guide::ch10_observing) |
//! | `serde` | [`Statistics`] and its parts implement `serde::Serialize` |
//! | `persistence` | [`PersistentActor`]: actors whose state the system loads before `activate` and saves when it changed, in a versioned, fenced state store; the `persistence` module: the store contract, `MemoryStore` (in memory, for tests), the configuration and errors. |
//! | `sqlite` | `persistence`, and `persistence::SqliteStore`: the states in one SQLite file, embedded (SQLite is compiled in; nothing to install) |
//! | `postgres` | `persistence`, and `persistence::PostgresStore`: the states in a PostgreSQL database, shared by several processes (its client runs on a thread of its own; the `tokio` feature is not needed) |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod acteur;

mod actor;
mod actor_assistant;
mod builder;
mod deactivation;
mod error;
pub mod guide;
mod handler_messaging;
mod padded;
#[cfg(feature = "persistence")]
pub mod persistence;
#[cfg(feature = "persistence")]
mod persistent_actor;
#[cfg(feature = "persistence")]
mod persistent_assistant;
#[doc(hidden)]
pub mod routing;
mod runtime;
mod service;
mod service_assistant;
mod spin_lock;
mod statistics;
mod system;
mod timer;
mod try_send_error;

pub use acteur::Acteur;
pub use actor::{Actor, ActorConfiguration, Receive, Respond};
pub use actor_assistant::ActorAssistant;
pub use builder::ActeurBuilder;
pub use deactivation::DeactivationReason;
pub use error::{Error, RemoteErrorKind};
#[cfg(feature = "persistence")]
pub use persistent_actor::PersistentActor;
pub use service::{Listen, Serve, Service, ServiceConcurrency, ServiceConfiguration};
pub use service_assistant::ServiceAssistant;
#[cfg(feature = "persistence")]
pub use statistics::StateStatistics;
pub use statistics::{ActorStatistics, DeactivationCounts, ServiceStatistics, Statistics};
pub use timer::Timer;
pub use try_send_error::TrySendError;

/// The error an [`Actor::activate`] or a [`Service::initialize`] returns when
/// it cannot build its value: any error type, boxed.
///
/// `?` converts most errors into it, and a `&str` or a `String` becomes one
/// with `.into()`:
///
/// ```
/// use acteur::BoxError;
///
/// fn parse(text: &str) -> Result<u32, BoxError> {
///     if text.is_empty() {
///         return Err("no digits".into());
///     }
///     Ok(text.parse::<u32>()?)
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert_eq!(parse("").unwrap_err().to_string(), "no digits");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
