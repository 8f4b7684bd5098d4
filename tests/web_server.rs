//! Drives `examples/web_server.rs` over real HTTP: the server on 127.0.0.1
//! with a port the OS picks, and hyper's client on the other end.

#[allow(dead_code, reason = "the example's `main` is not used here")]
#[path = "../examples/web_server.rs"]
mod web_server;

use std::net::SocketAddr;

use acteur::{Acteur, Error};
use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use web_server::{Profile, serve, status_of};

/// A running server, stopped (server, then actor system) when dropped.
struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    sys: Acteur,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let sys = Acteur::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(serve(listener, sys.clone(), async {
            let _ = stopped.await;
        }));
        Server {
            address,
            stop: Some(stop),
            served: Some(served),
            sys,
        }
    }

    /// A new HTTP/1 connection to the server, for requests one at a time.
    async fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.address).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Client {
            sender,
            host: self.address.to_string(),
        }
    }

    /// Sends one request on a connection of its own.
    async fn request(&self, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        self.connect().await.request(method, path, body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, "").await
    }

    async fn rename(&self, id: &str, body: &str) -> (StatusCode, Value) {
        self.request(Method::PUT, &format!("/users/{id}/name"), body)
            .await
    }

    async fn deposit(&self, id: &str, body: &str) -> (StatusCode, Value) {
        self.request(Method::POST, &format!("/users/{id}/deposit"), body)
            .await
    }

    /// Ends the server, then waits for its actor system to stop.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }
}

/// One client connection.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    /// Sends a request once the connection is free; the status and the
    /// body as JSON (`Null` if it is not JSON).
    async fn request(&mut self, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        self.sender.ready().await.unwrap();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn profile(body: Value) -> Profile {
    serde_json::from_value(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_renamed_and_credited() {
    let server = Server::start().await;

    let (status, body) = server.get("/users/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["error"].as_str().unwrap().contains("no such user"));

    let (status, body) = server.rename("1", r#"{"name": "Ada"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        profile(body),
        Profile {
            id: 1,
            name: "Ada".into(),
            balance: 0
        }
    );

    let (status, body) = server.deposit("1", r#"{"amount": 250}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(profile(body).balance, 250);

    let (status, body) = server.get("/users/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        profile(body),
        Profile {
            id: 1,
            name: "Ada".into(),
            balance: 250
        }
    );

    // Names are unique: the directory service refuses a second Ada...
    let (status, body) = server.rename("2", r#"{"name": "Ada"}"#).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("user 1"), "{body}");
    // ...until the first gives the name up.
    assert_eq!(
        server.rename("1", r#"{"name": "Grace"}"#).await.0,
        StatusCode::OK
    );
    assert_eq!(
        server.rename("2", r#"{"name": "Ada"}"#).await.0,
        StatusCode::OK
    );

    // A deposit to a user without a name is refused, not a new user.
    assert_eq!(
        server.deposit("3", r#"{"amount": 1}"#).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, stats) = server.get("/stats").await;
    assert_eq!(status, StatusCode::OK);
    let users = stats["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|actors| actors["name"].as_str().unwrap().ends_with("::User"))
        .expect("the User actors' figures");
    assert_eq!(users["active_actors"], 3, "{stats}");
    let directory = &stats["services"][0];
    assert!(
        directory["name"].as_str().unwrap().ends_with("::Directory"),
        "{stats}"
    );
    // Claims of Ada, Ada (refused), Grace and Ada, and the release of Ada,
    // which went before the last claim: the directory takes one at a time.
    assert_eq!(directory["handled"], 5, "{stats}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deposits_to_one_user_all_count() {
    let server = std::sync::Arc::new(Server::start().await);
    assert_eq!(
        server.rename("7", r#"{"name": "Bank"}"#).await.0,
        StatusCode::OK
    );

    // 20 connections at once, each sending 10 deposits in turn: 200
    // deposits, up to 20 of them in flight together.
    let clients: Vec<_> = (0..20u64)
        .map(|client| {
            let server = server.clone();
            tokio::spawn(async move {
                let mut connection = server.connect().await;
                for amount in (1..=200u64).filter(|amount| amount % 20 == client) {
                    let body = json!({ "amount": amount }).to_string();
                    let (status, answer) = connection
                        .request(Method::POST, "/users/7/deposit", &body)
                        .await;
                    assert_eq!(status, StatusCode::OK, "{answer}");
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }

    let (status, body) = server.get("/users/7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile(body).balance, (1..=200u64).sum::<u64>());
    std::sync::Arc::into_inner(server).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_400_with_a_message() {
    let server = Server::start().await;
    assert_eq!(
        server.rename("5", r#"{"name": "Eve"}"#).await.0,
        StatusCode::OK
    );

    let malformed = [
        server.get("/users/not-a-number").await,
        server.get("/users/-1").await,
        server.rename("5", "not json").await,
        server.rename("5", r#"{"nom": "Eve"}"#).await,
        server.rename("5", r#"{"name": 42}"#).await,
        server.rename("5", r#"{"name": "   "}"#).await,
        server
            .rename("5", &json!({ "name": "x".repeat(65) }).to_string())
            .await,
        server.deposit("5", r#"{"amount": -5}"#).await,
        server.deposit("5", r#"{"amount": 0}"#).await,
        server.deposit("5", r#"{"amount": 1.5}"#).await,
        server.deposit("5", "").await,
        server
            .deposit("99999999999999999999", r#"{"amount": 1}"#)
            .await,
    ];
    for (index, (status, body)) in malformed.iter().enumerate() {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "request {index}: {body}");
        let text = body["error"].as_str().unwrap_or_default();
        assert!(!text.is_empty(), "request {index} has no message: {body}");
    }
    // None of them changed the user.
    let (_, body) = server.get("/users/5").await;
    assert_eq!(
        profile(body),
        Profile {
            id: 5,
            name: "Eve".into(),
            balance: 0
        }
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_system_answers_503() {
    let server = Server::start().await;
    server.sys.stop();
    let (status, body) = server.get("/users/1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("stopp"), "{body}");
    server.stop().await;
}

#[test]
fn errors_map_to_status_codes() {
    assert_eq!(status_of(&Error::Stopped), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        status_of(&Error::MailboxFull),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(status_of(&Error::Timeout), StatusCode::GATEWAY_TIMEOUT);
}
