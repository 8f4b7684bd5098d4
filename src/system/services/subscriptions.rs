//! Which services receive a published message type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::system::System;
use crate::system::services::pool::PublishWait;

/// Delivers one published `M` to one subscribed service; returns the wait
/// for room if that service is full.
pub(crate) type Deliver<M> = Arc<dyn Fn(&Arc<System>, M) -> Option<PublishWait> + Send + Sync>;

/// Per message type, its subscribers as `(service TypeId, deliver)`.
#[derive(Default)]
pub(crate) struct Subscriptions {
    by_message: RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

type Subscribers<M> = Vec<(TypeId, Deliver<M>)>;

impl Subscriptions {
    /// Subscribes the service `service` to `M`; a second subscription of the
    /// same service changes nothing.
    pub(crate) fn subscribe<M: 'static>(&self, service: TypeId, deliver: Deliver<M>) {
        let mut by_message = self
            .by_message
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = by_message
            .entry(TypeId::of::<M>())
            .or_insert_with(|| Box::new(Subscribers::<M>::new()));
        if let Some(subscribers) = entry.downcast_mut::<Subscribers<M>>() {
            if !subscribers.iter().any(|(known, _)| *known == service) {
                subscribers.push((service, deliver));
            }
        }
    }

    /// The current subscribers of `M`, but `skip` (a cluster's forwarder,
    /// for a message that came from another node).
    pub(crate) fn subscribers<M: 'static>(&self, skip: Option<TypeId>) -> Vec<Deliver<M>> {
        let by_message = self
            .by_message
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        by_message
            .get(&TypeId::of::<M>())
            .and_then(|entry| entry.downcast_ref::<Subscribers<M>>())
            .map(|subscribers| {
                subscribers
                    .iter()
                    .filter(|(subscriber, _)| Some(*subscriber) != skip)
                    .map(|(_, deliver)| deliver.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
