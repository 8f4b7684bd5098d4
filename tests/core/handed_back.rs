//! A refused `try_send_*` hands its message back, whatever the reason.

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, Error, Listen, Respond, Service,
    ServiceAssistant, ServiceConfiguration, TrySendError,
};

use crate::helpers::shut_down;

/// Neither `Clone` nor `Debug`: it can only come back by being handed back.
struct Parcel(u32);

struct Misconfigured;
impl Actor for Misconfigured {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Misconfigured)
    }
    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            mailbox_capacity: Some(0),
            ..Default::default()
        }
    }
}
impl acteur::Receive<Parcel> for Misconfigured {
    async fn handle(&mut self, _: Parcel, _: &ActorAssistant<Self>) {}
}

struct Courier;
impl Actor for Courier {
    type Id = u32;
    async fn activate(_: u32, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Courier)
    }
}
impl acteur::Receive<Parcel> for Courier {
    async fn handle(&mut self, _: Parcel, _: &ActorAssistant<Self>) {}
}
/// Tries to pass a parcel to an actor whose configuration is invalid, from
/// a handler; answers what came back.
struct PassOn(u32);
impl Respond<PassOn> for Courier {
    type Response = Option<(Error, u32)>;
    async fn handle(&mut self, m: PassOn, assistant: &ActorAssistant<Self>) -> Self::Response {
        let refused = assistant.try_send_to_actor::<Misconfigured, Parcel>(1, Parcel(m.0));
        refused.err().map(|refused| {
            let (error, Parcel(number)) = refused.into_parts();
            (error, number)
        })
    }
}

struct Depot;
impl Service for Depot {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Depot, ServiceConfiguration::default()))
    }
}
impl Listen<Parcel> for Depot {
    async fn handle(&self, _: Parcel, _: &ServiceAssistant<Self>) {}
}

fn parts<M>(refused: Result<(), TrySendError<M>>) -> (Error, M) {
    match refused {
        Ok(()) => panic!("expected a refusal"),
        Err(refused) => refused.into_parts(),
    }
}

#[test]
fn an_invalid_configuration_hands_the_message_back_from_anywhere() {
    let sys = Acteur::new();
    let (error, Parcel(number)) =
        parts(sys.try_send_to_actor::<Misconfigured, Parcel>(1, Parcel(7)));
    assert!(
        matches!(
            error,
            Error::InvalidConfiguration {
                field: "mailbox_capacity",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(number, 7);
    let from_handler = sys
        .call_actor_sync::<Courier, PassOn>(1, PassOn(8))
        .unwrap();
    assert!(
        matches!(from_handler, Some((Error::InvalidConfiguration { .. }, 8))),
        "{from_handler:?}"
    );
    shut_down(&sys);

    let limited = Acteur::builder().max_actors(0).build();
    let (error, Parcel(number)) = parts(limited.try_send_to_service::<Depot, Parcel>(Parcel(9)));
    assert!(
        matches!(error, Error::InvalidConfiguration { .. }),
        "{error:?}"
    );
    assert_eq!(number, 9);
    shut_down(&limited);
}

#[test]
fn a_stopping_system_hands_the_message_back() {
    let sys = Acteur::new();
    sys.try_send_to_actor::<Courier, Parcel>(1, Parcel(0))
        .unwrap();
    sys.try_send_to_service::<Depot, Parcel>(Parcel(0)).unwrap();
    sys.stop();
    let (error, Parcel(number)) = parts(sys.try_send_to_actor::<Courier, Parcel>(1, Parcel(1)));
    assert_eq!((error, number), (Error::Stopped, 1));
    let (error, Parcel(number)) = parts(sys.try_send_to_actor::<Courier, Parcel>(2, Parcel(2)));
    assert_eq!((error, number), (Error::Stopped, 2));
    let (error, Parcel(number)) = parts(sys.try_send_to_service::<Depot, Parcel>(Parcel(3)));
    assert_eq!((error, number), (Error::Stopped, 3));
    shut_down(&sys);
}

#[test]
fn question_mark_turns_a_refusal_into_an_error() {
    fn send(sys: &Acteur) -> Result<(), Error> {
        sys.try_send_to_actor::<Courier, Parcel>(1, Parcel(1))?;
        Ok(())
    }
    let sys = Acteur::new();
    shut_down(&sys);
    assert_eq!(send(&sys), Err(Error::Stopped));
}
