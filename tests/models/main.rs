//! Model checks of the crate's hand-written concurrency protocols, with
//! loom: each model is a small, self-contained copy of one protocol's core
//! (its atomics, locks and the order of its steps, with the orderings the
//! crate uses), run under every interleaving of a few threads that loom's
//! bounds allow, under the C11 memory model. Each model has a weakened
//! twin, marked `#[should_panic]`, with the ordering it guards removed: it
//! shows that the model can fail, and that the ordering is what holds.
//!
//! A model is a copy, so it is only as good as its likeness: a change to a
//! protocol updates its comment and its model (CONTRIBUTING, "Model-checked
//! protocols"). Each file names the code it copies.

mod deadline_sweeper;
mod held_watch;
mod lifecycle;
mod save_pipeline;
mod slot_room;
mod support;
mod task_count;
mod worker_sleep;
