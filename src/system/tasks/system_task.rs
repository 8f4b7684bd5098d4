//! The future the executor runs for every task the system spawns: the task
//! itself, with its context current while it is polled, a panic caught at
//! each poll, and the task uncounted when it ends.
//!
//! One flat struct instead of nested `async fn` wrappers: an `async fn`
//! keeps its future argument and the pinned copy it awaits side by side, so
//! each wrapper doubled the size of every spawned task (a drain task went
//! from 200 bytes to more than a kilobyte), which every spawn allocates and
//! copies.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::system::lifecycle::Lifecycle;
use crate::system::tasks::context::{self, TaskContext};
use crate::system::tasks::panics::panic_message;

// `count` is taken when the task ends, to uncount it exactly once.
pin_project! {
    /// A spawned task; see the module documentation.
    pub(crate) struct SystemTask<F> {
        #[pin]
        task: F,
        context: TaskContext,
        count: Count,
    }
    // A task dropped before it ended (its executor went away with tasks
    // still queued) is uncounted too, or shutdown would wait for it forever.
    impl<F> PinnedDrop for SystemTask<F> {
        fn drop(this: Pin<&mut Self>) {
            this.project().count.finish();
        }
    }
}

/// Who uncounts a task when it ends.
enum Count {
    /// The [`SystemTask`], with this.
    Here(Arc<Lifecycle>),
    /// The task's future, which holds the system: dropped, ended or not, it
    /// uncounts itself (a drain task: see `SystemTask::counting_itself`).
    InTheTask,
    /// Nobody any more: it ended.
    Ended,
}

impl Count {
    /// The task ended (or is dropped): uncounts it if this is who does,
    /// exactly once.
    fn finish(&mut self) {
        if let Count::Here(lifecycle) = std::mem::replace(self, Count::Ended) {
            lifecycle.task_finished();
        }
    }
}

impl<F: Future<Output = ()>> SystemTask<F> {
    /// `task`, already counted with `Lifecycle::task_started`, to run with
    /// `context` current.
    pub(crate) fn new(task: F, context: TaskContext, lifecycle: Arc<Lifecycle>) -> Self {
        SystemTask {
            task,
            context,
            count: Count::Here(lifecycle),
        }
    }

    /// As [`SystemTask::new`], for a `task` that uncounts itself when it is
    /// dropped, whether it ended or not. It holds the system anyway; a
    /// reference to the lifecycle here would be one more count changed
    /// twice per task, shared by every core.
    pub(crate) fn counting_itself(task: F, context: TaskContext) -> Self {
        SystemTask {
            task,
            context,
            count: Count::InTheTask,
        }
    }
}

impl<F: Future<Output = ()>> Future for SystemTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if let Count::Ended = this.count {
            // Polled again only by mistake.
            return Poll::Ready(());
        }
        let task = this.task;
        // Our tasks contain user code in `catch` already; this catches a
        // panic of our own, which must not take the worker thread down.
        let polled = context::enter(*this.context, || {
            catch_unwind(AssertUnwindSafe(|| task.poll(cx)))
        });
        match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(())) => {}
            Err(payload) => log::error!(
                "an acteur task panicked outside user code: {}",
                panic_message(&*payload)
            ),
        }
        this.count.finish();
        Poll::Ready(())
    }
}
