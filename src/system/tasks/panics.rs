//! Running user code so that a panic becomes a value instead of unwinding
//! through the system.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_lite::FutureExt;

/// Awaits `future`; `Err` carries the panic message if it panicked.
///
/// Unwind safety is asserted because a panicking activation is dropped, a
/// panicking service handler only borrowed `&self`, and our own state is
/// never left half-updated across user code.
pub(crate) async fn catch<F: Future>(future: F) -> Result<F::Output, String> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|payload| panic_message(&*payload))
}

/// Runs `f`, ignoring (but logging) a panic; for dropping user values.
pub(crate) fn catch_sync(what: &str, f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(f)) {
        log::error!("{what} panicked: {}", panic_message(&*payload));
    }
}

/// The text of a panic, from its payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}
