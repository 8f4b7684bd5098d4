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
//! use acteur::{Acteur, Actor, ActorAssistant, Receive, Respond};
//!
//! struct Employee {
//!     salary: u32,
//! }
//!
//! impl Actor for Employee {
//!     type Id = u32;
//!     async fn activate(_id: u32, _: &ActorAssistant<Self>) -> Self {
//!         Employee { salary: 0 } // load from a database, or a default
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
//! ## Actors or services?
//!
//! Use an **actor** ([`Actor`], with [`Receive`] for fire-and-forget messages
//! and [`Respond`] for requests) for anything with an identity and state:
//! each ID handles one message at a time, in the order each sender sent
//! them, so its state needs no lock, and different IDs run in parallel on
//! every core. The system activates an actor on its first message and
//! deactivates it after [`ActorConfiguration::idle_timeout`] without messages
//! (5 minutes by default), after [`ActorAssistant::stop`], or when the
//! system stops; [`Actor::deactivate`] is where state gets saved.
//!
//! Use a **service** ([`Service`], with [`Listen`] and [`Serve`]) for what
//! has no identity: a database adapter, an e-mail sender, a calculation. A
//! service handles up to [`ServiceConfiguration::concurrency`] messages at
//! once, from one shared queue, and lives until the system stops.
//!
//! ## Publish and subscribe
//!
//! A service subscribes to a message type with
//! [`ServiceAssistant::subscribe`], usually in its `initialize`;
//! [`Acteur::publish`] (also on both assistants) then gives every subscribed
//! service its own clone. Publishing with no subscriber is not an error. Use
//! [`Acteur::preload_service`] to start a subscriber before the first publish.
//!
//! ## Sync or async
//!
//! Every sending method of [`Acteur`] has an `async` form and a `_sync` form
//! that blocks the calling thread. Inside handlers, use the assistants'
//! methods (all `async`) or the `async` forms: a `_sync` method there returns
//! [`Error::BlockingCallInHandler`] instead of blocking a worker thread.
//!
//! ## Errors
//!
//! Every send, call, schedule, publish and preload returns
//! `Result<_, `[`Error`]`>`. A panic in a handler, in `activate` or in
//! `initialize` never escapes: the caller of a call gets
//! [`Error::Panicked`], [`Error::ActivationFailed`] or
//! [`Error::ServiceInitFailed`]; the actor's activation is dropped (without
//! `deactivate`: its state may be broken) and its next message activates it
//! afresh; a service goes on serving. An actor calling its own ID gets
//! [`Error::Deadlock`] at once. Each error's message says what to do.
//!
//! ## Shutdown
//!
//! [`Acteur::stop`] refuses new messages ([`Error::Stopped`]), lets the
//! queued ones be handled, deactivates every live actor and cancels
//! scheduled messages not yet due. [`Acteur::wait_until_stopped`] (blocking)
//! or [`Acteur::stopped`] (`async`) return once all that is done. Both are
//! safe to call any number of times, from any thread, in any state.
//!
//! ## Observing
//!
//! [`Acteur::statistics`] returns counts per actor type and service; the
//! crate logs lifecycle events and panics through the `log` facade.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod acteur;
mod actor;
mod actor_assistant;
mod builder;
mod deactivation;
mod error;
mod runtime;
mod service;
mod service_assistant;
mod statistics;
mod system;

pub use acteur::Acteur;
pub use actor::{Actor, ActorConfiguration, Receive, Respond};
pub use actor_assistant::ActorAssistant;
pub use builder::ActeurBuilder;
pub use deactivation::DeactivationReason;
pub use error::Error;
pub use service::{Listen, Serve, Service, ServiceConcurrency, ServiceConfiguration};
pub use service_assistant::ServiceAssistant;
pub use statistics::{ActorStatistics, DeactivationCounts, ServiceStatistics, Statistics};
