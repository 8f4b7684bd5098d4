//! An activation that must evict others first, while the store fails
//! saves: the evicted states cannot leave RAM until they are saved, so the
//! room may not come for as long as the store is down. Rather than wait
//! that long, the activation is refused with `StateError::Unavailable`, and
//! the evictions go on in a task of their own, retried until the store
//! takes them: no state is dropped, and the limits hold.

use std::sync::Arc;

use futures_lite::future;

use super::StoreHandle;
use crate::Error;
use crate::persistence::StateError;
use crate::system::System;
use crate::system::limits::evictor::Eviction;
use crate::system::tasks::context::TaskContext;

/// Awaits `evictions`, unless saves fail meanwhile: then they go on in a
/// task of their own, and the activation that needed the room gets the
/// error returned.
pub(crate) async fn wait_for_room(
    system: &Arc<System>,
    mut evictions: Eviction,
) -> Result<(), Error> {
    let Some(failing) = system
        .data
        .get::<StoreHandle>()
        .ok()
        .map(|store| store.failing.clone())
    else {
        evictions.await;
        return Ok(());
    };
    loop {
        // Listen first, then look: a change in between is seen.
        let changed = failing.changed();
        if failing.any() {
            system.lifecycle.task_started();
            system.spawn_counted(TaskContext::default(), evictions);
            return Err(Error::State(StateError::Unavailable {
                reason: "the state store is failing saves, and this activation needs room that \
                         evicted actors only make once their states are saved; try again later"
                    .to_string(),
            }));
        }
        let done = future::or(
            async {
                (&mut evictions).await;
                true
            },
            async {
                changed.await;
                false
            },
        )
        .await;
        if done {
            return Ok(());
        }
    }
}
