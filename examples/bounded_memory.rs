//! Many more players than fit in RAM: `max_actors` keeps the 5,000 most
//! recently active in memory while 100,000 different players send a move.
//! Evicted players save their position in `deactivate` (here, into a shared
//! map standing in for a database, given to the system as application data)
//! and load it again when they come back.
//!
//! Run with `cargo run --example bounded_memory`; it exits by itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use acteur::{
    Acteur, Actor, ActorAssistant, ActorConfiguration, BoxError, DeactivationReason, Receive,
};

/// Stands in for a database table: player ID to saved position.
#[derive(Default)]
struct Positions(Mutex<HashMap<u64, i64>>);

const IN_RAM: usize = 5_000;
const PLAYERS: u64 = 100_000;

struct Player {
    position: i64,
}

impl Actor for Player {
    type Id = u64;

    async fn activate(id: u64, assistant: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        let table = assistant.data::<Positions>()?;
        let position = table.0.lock().unwrap().get(&id).copied().unwrap_or(0);
        Ok(Player { position })
    }

    async fn deactivate(&mut self, assistant: &ActorAssistant<Self>) {
        // Save on every kind of deactivation; the reason could pick a
        // cheaper or a more thorough way.
        let _: DeactivationReason = assistant.deactivation_reason();
        let id = *assistant.id();
        let table = assistant.data::<Positions>().expect("built with Positions");
        table.0.lock().unwrap().insert(id, self.position);
    }

    fn configuration() -> ActorConfiguration {
        ActorConfiguration {
            idle_timeout: Some(Duration::from_secs(60)),
            max_actors: Some(IN_RAM),
            ..Default::default()
        }
    }
}

struct Move(i64);

impl Receive<Move> for Player {
    async fn handle(&mut self, message: Move, _: &ActorAssistant<Self>) {
        self.position += message.0;
    }
}

fn main() {
    let sys = Acteur::builder().data(Positions::default()).build();
    for round in 1..=2 {
        for id in 0..PLAYERS {
            sys.send_to_actor_sync::<Player, Move>(id, Move(1)).unwrap();
            if (id + 1) % 20_000 == 0 {
                let stats = sys.statistics();
                let players = stats.actor::<Player>().unwrap();
                println!(
                    "round {round}: {:>6} players sent a move, {:>5} in RAM (limit {IN_RAM}), {:>6} evicted so far",
                    id + 1,
                    players.active_actors,
                    players.deactivations_by_reason.evicted_by_count,
                );
            }
        }
    }
    sys.stop();
    sys.wait_until_stopped();

    // Every player moved twice, though most were evicted in between.
    let table = sys.data::<Positions>().unwrap();
    let total: i64 = table.0.lock().unwrap().values().sum();
    println!("positions saved: {total} (expected {})", 2 * PLAYERS);
    assert_eq!(total, 2 * PLAYERS as i64);
}
