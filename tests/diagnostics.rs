//! What the compiler says when a message goes to a handler trait the type
//! does not implement: the trait's own message (`on_unimplemented`), which
//! names the other way to send, even when the message type is left to
//! inference (`_`) and the type implements the trait for one other message.
//!
//! Checked by compiling a small crate against this one with the `cargo`
//! that runs the tests, offline (the dependencies are already fetched), in
//! a target directory of its own that later runs reuse.

use std::path::{Path, PathBuf};
use std::process::Command;

const MISTAKES: &str = r#"
use acteur::{Acteur, Actor, ActorAssistant, BoxError, Listen, Receive, Respond, Serve, Service,
    ServiceAssistant, ServiceConfiguration};

pub struct Counter;
impl Actor for Counter {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Counter)
    }
}
pub struct Add;
impl Receive<Add> for Counter {
    async fn handle(&mut self, _: Add, _: &ActorAssistant<Self>) {}
}
pub struct Get;
impl Respond<Get> for Counter {
    type Response = u32;
    async fn handle(&mut self, _: Get, _: &ActorAssistant<Self>) -> u32 {
        0
    }
}

pub struct Store;
impl Service for Store {
    async fn initialize(_: &ServiceAssistant<Self>) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Store, ServiceConfiguration::default()))
    }
}
pub struct Write;
impl Listen<Write> for Store {
    async fn handle(&self, _: Write, _: &ServiceAssistant<Self>) {}
}
pub struct Read;
impl Serve<Read> for Store {
    type Response = u32;
    async fn handle(&self, _: Read, _: &ServiceAssistant<Self>) -> u32 {
        0
    }
}

pub fn mistakes(sys: &Acteur) {
    let _ = sys.send_to_actor_sync::<Counter, _>(1, Get);
    let _ = sys.call_actor_sync::<Counter, _>(1, Add);
    let _ = sys.send_to_service_sync::<Store, _>(Read);
    let _ = sys.call_service_sync::<Store, _>(Write);
}
"#;

/// Writes the crate of `MISTAKES` and returns its directory.
fn write_crate(root: &Path) -> PathBuf {
    let dir = root.join("diagnostics");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"acteur-diagnostics\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\nacteur = {{ path = {:?} }}\n\n[workspace]\n",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), MISTAKES).unwrap();
    // The versions this repository has locked, all fetched already.
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    dir
}

#[test]
fn each_handler_trait_names_the_other_way_to_send() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = write_crate(root);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("diagnostics-target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the mistakes compiled:\n{stderr}");
    for expected in [
        "`Counter` does not receive `Get` as a fire-and-forget message",
        "use `call_actor` instead of `send_to_actor`",
        "`Counter` does not answer `Add` as a request",
        "use `send_to_actor` instead of `call_actor`",
        "`Store` does not listen to `Read` as a fire-and-forget message",
        "use `call_service` instead of `send_to_service`",
        "`Store` does not serve `Write` as a request",
        "use `send_to_service` instead of `call_service`",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
    // The message type was not taken from the type's only other impl.
    assert!(!stderr.contains("mismatched types"), "{stderr}");
}
