//! The memory policies' accounting: budgets of activations and estimated
//! bytes (per actor type and for the system), and the evictor that picks
//! the least recently used idle activations when one is exceeded.

pub(crate) mod budget;
pub(crate) mod evictor;
