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
//! (5 minutes by default), when a memory policy needs its place (see
//! [below](#keeping-memory-in-check)), after [`ActorAssistant::stop`], or when
//! the system stops; [`Actor::deactivate`] is where state gets saved.
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
//! ## Keeping memory in check
//!
//! Actors stay in RAM so that a message costs no database round trip; that
//! only works while the live ones fit in memory. Each actor type says, in
//! its [`Actor::configuration`], how long an idle actor stays
//! ([`idle_timeout`](ActorConfiguration::idle_timeout)), how many may live
//! at once ([`max_actors`](ActorConfiguration::max_actors)) and how much
//! memory they may hold together
//! ([`max_memory`](ActorConfiguration::max_memory), measured with
//! [`Actor::memory_size`]). [`Acteur::builder`] sets the same limits for
//! all types together.
//!
//! When a new activation would exceed a limit, the least recently used
//! *idle* actor is deactivated first, in the task that needs the room: the
//! limit holds even under a flood of new IDs. An actor handling a message
//! or with messages waiting is never evicted; if every actor is busy the
//! limit is exceeded until some become idle, and [`Statistics`] shows it.
//! Nothing of this costs anything per message beyond a size estimate: idle
//! actors are swept in the background, and the least recently used are found
//! by a scan when a limit is reached, not tracked on every message.
//!
//! A game server with a million players, of which 50,000 fit in RAM, says so
//! once, and saves a player when it leaves memory:
//!
//! ```
//! use std::time::Duration;
//! use acteur::{Acteur, Actor, ActorAssistant, ActorConfiguration, DeactivationReason, Receive};
//!
//! struct Player {
//!     id: u64,
//!     inventory: Vec<String>,
//! }
//!
//! impl Actor for Player {
//!     type Id = u64;
//!
//!     async fn activate(id: u64, _: &ActorAssistant<Self>) -> Self {
//!         // Load the player from the database here.
//!         Player { id, inventory: Vec::new() }
//!     }
//!
//!     async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
//!         // Evicted, idle, or shutting down: save the player in every case.
//!         if assistant.deactivation_reason() == DeactivationReason::EvictedByMemory {
//!             println!("player {} leaves RAM: the server is short of memory", self.id);
//!         }
//!     }
//!
//!     fn configuration() -> ActorConfiguration {
//!         ActorConfiguration {
//!             idle_timeout: Some(Duration::from_secs(15 * 60)),
//!             max_actors: Some(50_000),
//!             max_memory: Some(512 * 1024 * 1024),
//!             ..Default::default()
//!         }
//!     }
//!
//!     // What `max_memory` counts: the struct and what it owns on the heap.
//!     fn memory_size(&self) -> usize {
//!         size_of::<Self>()
//!             + self.inventory.capacity() * size_of::<String>()
//!             + self.inventory.iter().map(String::capacity).sum::<usize>()
//!     }
//! }
//!
//! struct Pick(String);
//! impl Receive<Pick> for Player {
//!     async fn handle(&mut self, m: Pick, _: &ActorAssistant<Self>) {
//!         self.inventory.push(m.0);
//!     }
//! }
//!
//! // All actor types together stay under 2 GiB.
//! let sys = Acteur::builder().max_memory(2 << 30).build();
//! for id in 0..1_000 {
//!     sys.send_to_actor_sync::<Player, Pick>(id, Pick("sword".into())).unwrap();
//! }
//! sys.stop();
//! sys.wait_until_stopped();
//! let stats = sys.statistics();
//! let players = stats.actor::<Player>().unwrap();
//! assert_eq!(players.deactivations_by_reason.system_shutdown, 1_000);
//! ```
//!
//! An actor that must stay although it receives nothing for a while (an
//! auction waiting for its closing time) calls
//! [`ActorAssistant::keep_alive`]; [`ActorAssistant::stop`] ends an
//! activation at once. `deactivate` learns which of these happened from
//! [`ActorAssistant::deactivation_reason`]. `examples/bounded_memory.rs`
//! shows the live count staying at its limit while many more IDs come and go.
//!
//! ## Sync or async
//!
//! Every sending method of [`Acteur`] has an `async` form and a `_sync` form
//! that blocks the calling thread. Inside handlers, use the assistants'
//! methods (all `async`) or the `async` forms: a `_sync` method there returns
//! [`Error::BlockingCallInHandler`] instead of blocking a worker thread.
//!
//! Handlers share a few worker threads, one per core. An actor that a
//! handler wakes up (by a message or an answer) runs next on the same
//! thread, where its data is warm, once the handler awaits or returns. So
//! a handler that blocks its thread (a long computation, blocking I/O, a
//! `std` lock held long) delays the actors it woke, until another worker
//! takes them over, about a millisecond later, and holds one of the few
//! threads meanwhile (services' handlers run on the same threads). Await
//! instead; run blocking work on a thread of its own and await its result
//! through a channel.
//!
//! ## Failure and overload
//!
//! Every send, call, schedule, publish and preload returns
//! `Result<_, `[`Error`]`>`; nothing a handler does can panic the caller or
//! hang the system. Each error, what causes it, and what to do:
//!
//! | error | cause | what to do |
//! |---|---|---|
//! | [`Error::Stopped`] | [`Acteur::stop`] was called | nothing: the system is shutting down |
//! | [`Error::InvalidConfiguration`] | a zero limit, capacity, timeout or concurrency | fix the field it names |
//! | [`Error::Panicked`] | the handler of this call panicked | fix the handler; the panic is logged |
//! | [`Error::ActivationFailed`] | `activate` panicked, [`max_consecutive_panics`](ActorConfiguration::max_consecutive_panics) times in a row | fix `activate` (a database that is down, a bad record) |
//! | [`Error::ServiceInitFailed`] | `Service::initialize` panicked | fix `initialize`; the next message retries |
//! | [`Error::Deadlock`] | the call would wait for itself, see below | make one step fire-and-forget |
//! | [`Error::Timeout`] | no answer within the call timeout | look for a slow or stuck handler |
//! | [`Error::MailboxFull`] | a `try_send_*` found no room | drop, retry later, or use the waiting send |
//! | [`Error::BlockingCallInHandler`] | a `_sync` method inside a handler | use the `async` form |
//!
//! **Panics.** A panic in a handler is caught: the caller gets
//! [`Error::Panicked`], the message is not handled again (a handler owns its
//! message), and the activation is dropped without `deactivate`, since its
//! state may be half-updated; the actor's next message activates it afresh,
//! so a poison message costs one attempt and the actor keeps serving its
//! queue. A message whose `activate` panics is tried again, up to
//! [`max_consecutive_panics`](ActorConfiguration::max_consecutive_panics)
//! panics in a row (default 3), then dropped with
//! [`Error::ActivationFailed`] to its caller and a log line; the next
//! message is served. A service goes on serving after a panic.
//!
//! **Overload.** By default mailboxes are unbounded: a producer faster than
//! its actor fills memory. Give a type a
//! [`mailbox_capacity`](ActorConfiguration::mailbox_capacity) (and a
//! service a [`capacity`](ServiceConfiguration::capacity)), and a send to a
//! full mailbox waits until there is room: the producer slows to the pace
//! of its consumer and memory stays flat. `_sync` sends block; calls and
//! publishes wait the same way. A producer that must not wait uses
//! [`Acteur::try_send_to_actor`] or [`Acteur::try_send_to_service`], which
//! return [`Error::MailboxFull`] at once. An actor or service sending to
//! itself never waits for its own room. Two actors with full mailboxes that
//! each wait to send to the other wait forever: between actors that may form
//! a cycle, prefer `try_send_*` or calls (which time out).
//!
//! **Timeouts.** Every call waits at most for the system's call timeout (30
//! seconds; set it with [`ActeurBuilder::call_timeout`]) or the one given to
//! [`Acteur::call_actor_with_timeout`] or
//! [`Acteur::call_service_with_timeout`], then returns [`Error::Timeout`]. A
//! request already queued is still handled; only its answer is dropped, so
//! make requests that may time out safe to repeat.
//!
//! **Deadlocks.** An actor handles one message at a time, so if its handler
//! calls another actor that, to answer, calls the first one back, both would
//! wait forever. Acteur tracks the chain of calls in flight with each
//! request: a call whose target already waits on that chain fails at once
//! with [`Error::Deadlock`], naming the chain, however long it is and across
//! actor types and one-at-a-time services. Fire-and-forget sends wait for
//! nothing and never deadlock. A cycle made of separate requests (A calls B
//! while, independently, B calls A) shows in no single chain: the call
//! timeout ends it, during shutdown too.
//!
//! ```
//! use acteur::{Acteur, Actor, ActorAssistant, Error, Respond};
//!
//! struct Account;
//! impl Actor for Account {
//!     type Id = u32;
//!     async fn activate(_: u32, _: &ActorAssistant<Self>) -> Self {
//!         Account
//!     }
//! }
//!
//! /// Asks the other account for its balance, which asks this one back.
//! struct Compare(u32);
//! impl Respond<Compare> for Account {
//!     type Response = Result<(), Error>;
//!     async fn handle(&mut self, m: Compare, a: &ActorAssistant<Self>) -> Result<(), Error> {
//!         a.call_actor::<Account, Compare>(m.0, Compare(*a.id())).await?
//!     }
//! }
//!
//! let sys = Acteur::new();
//! let answer = sys.call_actor_sync::<Account, Compare>(1, Compare(2)).unwrap();
//! let Err(Error::Deadlock { chain, .. }) = answer else { panic!("{answer:?}") };
//! // Account(1) -> Account(2) -> Account(1), each with its module path.
//! assert_eq!(chain.matches("Account(1)").count(), 2, "{chain}");
//! assert!(chain.contains("Account(2) -> "), "{chain}");
//! sys.stop();
//! sys.wait_until_stopped();
//! ```
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
