//! An HTTP API over actors, with axum on tokio.
//!
//! Each user is a `User` actor, kept in RAM while in use: its requests are
//! handled one at a time, so a balance never loses a deposit, however many
//! arrive at once. Names are unique, which one user cannot check alone: the
//! `Directory` service holds who has which name.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /users/{id}` | | the user's profile, or 404 if it has no name yet |
//! | `PUT /users/{id}/name` | `{"name": "Ada"}` | the profile; 409 if another user has that name |
//! | `POST /users/{id}/deposit` | `{"amount": 250}` | the profile; 404 if it has no name yet |
//! | `GET /stats` | | the system's `Statistics`, as JSON |
//!
//! A malformed ID or body is a 400 with a message that says what is wrong.
//! Errors from the actor system map to 503 (stopping, or overloaded), 504
//! (timed out) or 500 (a bug: a handler panicked, a deadlock); see
//! [`status_of`].
//!
//! Run it with `cargo run --example web_server --features tokio`, then, for
//! instance:
//!
//! ```sh
//! curl -X PUT localhost:3000/users/1/name -H 'content-type: application/json' -d '{"name":"Ada"}'
//! curl -X POST localhost:3000/users/1/deposit -H 'content-type: application/json' -d '{"amount":250}'
//! curl localhost:3000/users/1
//! curl localhost:3000/stats
//! ```
//!
//! Ctrl-C stops the server, then the actor system, gracefully.
//! `tests/web_server.rs` drives it with a real HTTP client.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Error, Listen, Respond, Serve, Service,
    ServiceAssistant, ServiceConcurrency, ServiceConfiguration, Statistics,
};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------- actors

/// One user: activated on its first request, kept in RAM while in use.
/// A real application would load it from a database in `activate`.
struct User {
    id: u64,
    name: Option<String>,
    balance: u64,
}

impl Actor for User {
    type Id = u64;
    async fn activate(id: u64, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(User {
            id,
            name: None,
            balance: 0,
        })
    }
}

/// What the API shows of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The user's ID.
    pub id: u64,
    /// The user's unique name.
    pub name: String,
    /// The sum of the user's deposits, in cents.
    pub balance: u64,
}

/// Why a user could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user has no name yet: it does not exist for the API.
    NoSuchUser,
    /// Another user has this name.
    NameTaken {
        /// The user who has it.
        by: u64,
    },
    /// The deposit would overflow the balance.
    TooMuch,
}

impl User {
    fn profile(&self) -> Result<Profile, Refusal> {
        let name = self.name.clone().ok_or(Refusal::NoSuchUser)?;
        Ok(Profile {
            id: self.id,
            name,
            balance: self.balance,
        })
    }
}

struct GetProfile;
impl Respond<GetProfile> for User {
    type Response = Result<Profile, Refusal>;
    async fn handle(&mut self, _: GetProfile, _: &ActorAssistant<Self>) -> Self::Response {
        self.profile()
    }
}

struct Rename(String);
impl Respond<Rename> for User {
    type Response = Result<Result<Profile, Refusal>, Error>;
    async fn handle(
        &mut self,
        Rename(name): Rename,
        assistant: &ActorAssistant<Self>,
    ) -> Self::Response {
        if self.name.as_ref() == Some(&name) {
            return Ok(self.profile());
        }
        let claim = Claim {
            name: name.clone(),
            by: self.id,
        };
        // The directory is asked from inside the handler: this user's other
        // requests wait, so two renames of one user never interleave.
        if let Err(by) = assistant.call_service::<Directory, Claim>(claim).await? {
            return Ok(Err(Refusal::NameTaken { by }));
        }
        if let Some(old) = self.name.replace(name) {
            assistant
                .send_to_service::<Directory, Release>(Release(old))
                .await?;
        }
        Ok(self.profile())
    }
}

struct Deposit(u64);
impl Respond<Deposit> for User {
    type Response = Result<Profile, Refusal>;
    async fn handle(
        &mut self,
        Deposit(amount): Deposit,
        _: &ActorAssistant<Self>,
    ) -> Self::Response {
        self.profile()?;
        self.balance = self.balance.checked_add(amount).ok_or(Refusal::TooMuch)?;
        self.profile()
    }
}

// -------------------------------------------------------------- services

/// Who has which name. One handler at a time, so a claim and its check are
/// never interleaved with another claim.
struct Directory {
    owners: Mutex<HashMap<String, u64>>,
}

impl Service for Directory {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        let directory = Directory {
            owners: Mutex::new(HashMap::new()),
        };
        let configuration = ServiceConfiguration {
            concurrency: ServiceConcurrency::None,
            ..ServiceConfiguration::default()
        };
        Ok((directory, configuration))
    }
}

/// Gives `name` to user `by` unless another user has it: `Err(owner)`.
struct Claim {
    name: String,
    by: u64,
}
impl Serve<Claim> for Directory {
    type Response = Result<(), u64>;
    async fn handle(&self, claim: Claim, _: &ServiceAssistant<Self>) -> Result<(), u64> {
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        let owner = *owners.entry(claim.name).or_insert(claim.by);
        if owner == claim.by {
            Ok(())
        } else {
            Err(owner)
        }
    }
}

/// Frees a name its user gave up.
struct Release(String);
impl Listen<Release> for Directory {
    async fn handle(&self, Release(name): Release, _: &ServiceAssistant<Self>) {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&name);
    }
}

// ------------------------------------------------------------------ HTTP

/// The body of `PUT /users/{id}/name`.
#[derive(Deserialize)]
struct NewName {
    name: String,
}

/// The body of `POST /users/{id}/deposit`.
#[derive(Deserialize)]
struct NewDeposit {
    amount: u64,
}

/// The longest name accepted, in characters.
const MAX_NAME: usize = 64;

/// Every route, over the actor system `sys`.
pub fn router(sys: Acteur) -> Router {
    Router::new()
        .route("/users/{id}", get(get_user))
        .route("/users/{id}/name", put(rename_user))
        .route("/users/{id}/deposit", post(deposit))
        .route("/stats", get(stats))
        .with_state(sys)
}

/// Serves [`router`] on `listener` until `shutdown` completes, then stops
/// the actor system and waits for it: every live user is deactivated.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sys: Acteur,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sys.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    sys.stop();
    sys.stopped().await;
    Ok(())
}

/// The `{id}` of a route; a 400 with a message if it is not a user ID.
struct UserId(u64);

impl<S: Send + Sync> FromRequestParts<S> for UserId {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Path::<u64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(UserId(id)),
            Err(rejection) => Err(bad_request(rejection.body_text())),
        }
    }
}

/// A JSON body of type `T`; a 400 with a message if it is not one.
/// (axum's own `Json` answers some malformed bodies with 415 or 422.)
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;
    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(body)) => Ok(Body(body)),
            Err(rejection) => Err(bad_request(rejection.body_text())),
        }
    }
}

async fn get_user(State(sys): State<Acteur>, UserId(id): UserId) -> Response {
    answer(sys.call_actor::<User, GetProfile>(id, GetProfile).await)
}

async fn rename_user(
    State(sys): State<Acteur>,
    UserId(id): UserId,
    Body(NewName { name }): Body<NewName>,
) -> Response {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return bad_request(format!(
            "a name has 1 to {MAX_NAME} characters, not all blank"
        ));
    }
    match sys.call_actor::<User, Rename>(id, Rename(name)).await {
        Ok(renamed) => answer(renamed),
        Err(error) => failure(&error),
    }
}

async fn deposit(
    State(sys): State<Acteur>,
    UserId(id): UserId,
    Body(NewDeposit { amount }): Body<NewDeposit>,
) -> Response {
    if amount == 0 {
        return bad_request("the amount must be a positive number of cents".to_owned());
    }
    answer(sys.call_actor::<User, Deposit>(id, Deposit(amount)).await)
}

async fn stats(State(sys): State<Acteur>) -> Response {
    Json(statistics_json(&sys.statistics())).into_response()
}

/// The main figures of `statistics`, as JSON. (With Acteur's `serde`
/// feature, `Statistics` implements `Serialize` and goes out whole.)
pub fn statistics_json(statistics: &Statistics) -> Value {
    let actors: Vec<Value> = statistics
        .actors
        .iter()
        .map(|actors| {
            json!({
                "name": actors.name,
                "active_actors": actors.active_actors,
                "busy_actors": actors.busy_actors,
                "queued_messages": actors.queued_messages,
                "activations": actors.activations,
                "deactivations": actors.deactivations,
                "panics": actors.panics,
                "dropped_messages": actors.dropped_messages,
            })
        })
        .collect();
    let services: Vec<Value> = statistics
        .services
        .iter()
        .map(|service| {
            json!({
                "name": service.name,
                "workers": service.workers,
                "in_flight": service.in_flight,
                "queued_messages": service.queued_messages,
                "handled": service.handled,
                "panics": service.panics,
                "dropped_messages": service.dropped_messages,
            })
        })
        .collect();
    json!({ "actors": actors, "services": services })
}

/// The HTTP answer to a user's reply, or to the actor system's error.
fn answer(reply: Result<Result<Profile, Refusal>, Error>) -> Response {
    match reply {
        Ok(Ok(profile)) => Json(profile).into_response(),
        Ok(Err(Refusal::NoSuchUser)) => message(
            StatusCode::NOT_FOUND,
            "no such user: give it a name first".to_owned(),
        ),
        Ok(Err(Refusal::NameTaken { by })) => message(
            StatusCode::CONFLICT,
            format!("user {by} has this name already"),
        ),
        Ok(Err(Refusal::TooMuch)) => message(
            StatusCode::CONFLICT,
            "the balance would overflow".to_owned(),
        ),
        Err(error) => failure(&error),
    }
}

/// The status code for an error of the actor system.
///
/// - 503 Service Unavailable: the system is stopping (the server is going
///   down) or a mailbox is full (overload); trying again later may work.
/// - 504 Gateway Timeout: the call took longer than its timeout.
/// - 500 Internal Server Error: anything else is a bug to fix (a handler
///   panicked, calls waited on each other, a misconfiguration).
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::Stopped | Error::MailboxFull => StatusCode::SERVICE_UNAVAILABLE,
        Error::Timeout => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn failure(error: &Error) -> Response {
    message(status_of(error), error.to_string())
}

fn bad_request(text: String) -> Response {
    message(StatusCode::BAD_REQUEST, text)
}

/// A JSON body `{"error": text}` with `status`.
fn message(status: StatusCode, text: String) -> Response {
    (status, Json(json!({ "error": text }))).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::var("ADDRESS").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Created inside tokio's runtime: the actors run on it.
    let sys = Acteur::new();
    serve(listener, sys, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    println!("stopped");
    Ok(())
}
