//! The system-wide settings given to `Acteur::builder()`, and their check.

use std::time::Duration;

use crate::Error;

/// The system-wide limits set with `Acteur::builder()`.
#[derive(Debug, Clone)]
pub(crate) struct SystemLimits {
    pub(crate) max_actors: Option<usize>,
    pub(crate) max_memory: Option<usize>,
    /// How long a call waits for its answer unless it says otherwise.
    pub(crate) call_timeout: Duration,
    /// How long shutdown may take before what is left is abandoned.
    pub(crate) shutdown_timeout: Duration,
}

impl Default for SystemLimits {
    fn default() -> Self {
        SystemLimits {
            max_actors: None,
            max_memory: None,
            call_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl SystemLimits {
    /// The first invalid setting, as the error every send then returns.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let invalid = |field, reason| {
            Err(Error::InvalidConfiguration {
                type_name: "acteur::ActeurBuilder",
                field,
                reason,
            })
        };
        if self.max_actors == Some(0) {
            return invalid(
                "max_actors",
                "is zero, so no actor could ever be active; use a positive count, \
                 or leave it unset for no limit",
            );
        }
        if self.call_timeout.is_zero() {
            return invalid(
                "call_timeout",
                "is zero, so every call would time out before its answer; use a positive \
                 duration (the default is 30 seconds)",
            );
        }
        if self.shutdown_timeout.is_zero() {
            return invalid(
                "shutdown_timeout",
                "is zero, so every shutdown would abandon the actors before they could save; \
                 use a positive duration (the default is 30 seconds)",
            );
        }
        if self.max_memory == Some(0) {
            return invalid(
                "max_memory",
                "is zero bytes, so no actor could ever be active; use a positive number \
                 of bytes, or leave it unset for no limit",
            );
        }
        Ok(())
    }
}
