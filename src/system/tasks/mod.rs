//! The tasks the system runs: what the current thread runs and for whom
//! (the task context), the counted tasks of the system's own work, and how
//! a panic in user code is caught and described.

pub(crate) mod context;
pub(crate) mod panics;
pub(crate) mod system_task;
