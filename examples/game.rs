//! A game world: thousands of players walking between hundreds of rooms.
//!
//! Every player and every room is an actor, activated by its first message.
//! A player that moves tells the room it leaves and the room it enters; a
//! room tells its members who came and went, and what was said, through the
//! `Herald` service, which delivers each notice to each member. Nothing is
//! locked by the game code: each actor handles its own messages one at a
//! time, and different actors run on every core.
//!
//! The world runs a few rounds, waits until every notice has been delivered,
//! prints a summary and exits. The walks are the same every run; who is in
//! a room when something happens there, and so the number of notices,
//! depends on how the rooms' and players' messages interleave. Run it with
//! `cargo run --release --example game` (`-- PLAYERS ROOMS ROUNDS` to
//! change the sizes, 10000 1000 5 by default).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, LazyLock, Mutex, PoisonError};
use std::time::Instant;

use acteur::{
    Acteur, Actor, ActorAssistant, BoxError, Listen, Receive, Respond, Service, ServiceAssistant,
    ServiceConfiguration,
};

type PlayerId = u32;
type RoomId = u32;

// ------------------------------------------------------------- the world

/// Messages sent and not yet handled, across the whole world: each handler
/// counts the messages it sends before it counts itself done, so the count
/// reaches zero only once nothing is left to do.
struct Pending {
    count: Mutex<u64>,
    zero: Condvar,
}

impl Pending {
    fn add(&self, messages: u64) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += messages;
    }

    fn done(&self) {
        TALLY.messages_handled.fetch_add(1, Relaxed);
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    fn wait_for_zero(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            count = self
                .zero
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

static PENDING: Pending = Pending {
    count: Mutex::new(0),
    zero: Condvar::new(),
};

/// What the world did, for the summary.
#[derive(Default)]
struct Tally {
    messages_handled: AtomicU64,
    moves: AtomicU64,
    lines_said: AtomicU64,
    notices_delivered: AtomicU64,
}

static TALLY: LazyLock<Tally> = LazyLock::new(Tally::default);

// --------------------------------------------------------------- players

struct Player {
    room: Option<RoomId>,
    /// The players this one has seen come, go or speak.
    met: HashSet<PlayerId>,
    lines_heard: u64,
}

impl Actor for Player {
    type Id = PlayerId;
    async fn activate(_: PlayerId, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Player {
            room: None,
            met: HashSet::new(),
            lines_heard: 0,
        })
    }
}

/// Walk to another room.
struct MoveTo(RoomId);

impl Receive<MoveTo> for Player {
    async fn handle(&mut self, MoveTo(to): MoveTo, assistant: &ActorAssistant<Self>) {
        let me = *assistant.id();
        if self.room != Some(to) {
            let left = self.room.replace(to);
            PENDING.add(1 + u64::from(left.is_some()));
            if let Some(from) = left {
                let _ = assistant
                    .send_to_actor::<Room, Leave>(from, Leave(me))
                    .await;
            }
            let _ = assistant.send_to_actor::<Room, Enter>(to, Enter(me)).await;
            TALLY.moves.fetch_add(1, Relaxed);
        }
        PENDING.done();
    }
}

/// Say something to everyone in the room.
struct Say;

impl Receive<Say> for Player {
    async fn handle(&mut self, _: Say, assistant: &ActorAssistant<Self>) {
        if let Some(room) = self.room {
            PENDING.add(1);
            let _ = assistant
                .send_to_actor::<Room, Said>(room, Said(*assistant.id()))
                .await;
            TALLY.lines_said.fetch_add(1, Relaxed);
        }
        PENDING.done();
    }
}

/// Something happened in the player's room.
struct Notice(Event);

impl Receive<Notice> for Player {
    async fn handle(&mut self, Notice(event): Notice, _: &ActorAssistant<Self>) {
        match event {
            Event::Entered(other) | Event::Left(other) => self.met.insert(other),
            Event::Said(other) => {
                self.lines_heard += 1;
                self.met.insert(other)
            }
        };
        TALLY.notices_delivered.fetch_add(1, Relaxed);
        PENDING.done();
    }
}

/// How many players this one has met, and how many lines it has heard.
struct Acquaintance;

impl Respond<Acquaintance> for Player {
    type Response = (usize, u64);
    async fn handle(&mut self, _: Acquaintance, _: &ActorAssistant<Self>) -> (usize, u64) {
        (self.met.len(), self.lines_heard)
    }
}

// ----------------------------------------------------------------- rooms

struct Room {
    members: HashSet<PlayerId>,
}

impl Actor for Room {
    type Id = RoomId;
    async fn activate(_: RoomId, _: &ActorAssistant<Self>) -> Result<Self, BoxError> {
        Ok(Room {
            members: HashSet::new(),
        })
    }
}

/// What a room tells its members.
#[derive(Clone, Copy)]
enum Event {
    Entered(PlayerId),
    Left(PlayerId),
    Said(PlayerId),
}

impl Room {
    /// Has the herald tell `event` to every member but the one it is about.
    async fn announce(&self, event: Event, about: PlayerId, assistant: &ActorAssistant<Self>) {
        let to: Vec<PlayerId> = self
            .members
            .iter()
            .copied()
            .filter(|&m| m != about)
            .collect();
        if !to.is_empty() {
            PENDING.add(1);
            let _ = assistant
                .send_to_service::<Herald, Announce>(Announce { to, event })
                .await;
        }
        PENDING.done();
    }
}

struct Enter(PlayerId);
impl Receive<Enter> for Room {
    async fn handle(&mut self, Enter(player): Enter, assistant: &ActorAssistant<Self>) {
        self.members.insert(player);
        self.announce(Event::Entered(player), player, assistant)
            .await;
    }
}

struct Leave(PlayerId);
impl Receive<Leave> for Room {
    async fn handle(&mut self, Leave(player): Leave, assistant: &ActorAssistant<Self>) {
        self.members.remove(&player);
        self.announce(Event::Left(player), player, assistant).await;
    }
}

struct Said(PlayerId);
impl Receive<Said> for Room {
    async fn handle(&mut self, Said(player): Said, assistant: &ActorAssistant<Self>) {
        self.announce(Event::Said(player), player, assistant).await;
    }
}

// ---------------------------------------------------------------- herald

/// Delivers room events to players: in a real server, the part that writes
/// to each player's connection. Stateless, so it runs on every core.
struct Herald;

impl Service for Herald {
    async fn initialize(
        _: &ServiceAssistant<Self>,
    ) -> Result<(Self, ServiceConfiguration), BoxError> {
        Ok((Herald, ServiceConfiguration::default()))
    }
}

struct Announce {
    to: Vec<PlayerId>,
    event: Event,
}

impl Listen<Announce> for Herald {
    async fn handle(&self, announce: Announce, assistant: &ServiceAssistant<Self>) {
        PENDING.add(announce.to.len() as u64);
        for player in announce.to {
            let _ = assistant
                .send_to_actor::<Player, Notice>(player, Notice(announce.event))
                .await;
        }
        PENDING.done();
    }
}

// ------------------------------------------------------------------ main

/// A small deterministic generator, so that every run walks the same way.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(sides)) as u32
    }
}

fn argument(position: usize, default: u32) -> u32 {
    std::env::args()
        .nth(position)
        .and_then(|text| text.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn main() {
    let players = argument(1, 10_000);
    let rooms = argument(2, 1_000);
    let rounds = argument(3, 5);
    let sys = Acteur::new();
    let mut dice = Dice(0x5eed);
    let started = Instant::now();

    for round in 0..rounds {
        for player in 0..players {
            PENDING.add(1);
            // Most players walk; one in four stays and talks instead.
            let sent = if round > 0 && dice.roll(4) == 0 {
                sys.send_to_actor_sync::<Player, Say>(player, Say)
            } else {
                sys.send_to_actor_sync::<Player, MoveTo>(player, MoveTo(dice.roll(rooms)))
            };
            sent.expect("the system runs until the end of main");
        }
    }
    // Every move, line and notice has been handled once nothing is pending.
    PENDING.wait_for_zero();
    let elapsed = started.elapsed();

    let (met, heard) = sys
        .call_actor_sync::<Player, Acquaintance>(0, Acquaintance)
        .expect("player 0 answers");
    let statistics = sys.statistics();
    let live = |name: &str| {
        statistics
            .actors
            .iter()
            .find(|actors| actors.name.ends_with(name))
            .map_or(0, |actors| actors.active_actors)
    };
    let moves = TALLY.moves.load(Relaxed);
    let lines = TALLY.lines_said.load(Relaxed);
    let notices = TALLY.notices_delivered.load(Relaxed);
    let messages = TALLY.messages_handled.load(Relaxed);
    println!("{players} players, {rooms} rooms, {rounds} rounds in {elapsed:.2?}");
    println!("  {moves} moves, {lines} lines said, {notices} notices delivered");
    println!(
        "  {messages} messages handled, {:.0}/s, by {} players and {} rooms in RAM",
        messages as f64 / elapsed.as_secs_f64(),
        live("::Player"),
        live("::Room"),
    );
    println!("  player 0 met {met} other players and heard {heard} lines");

    sys.stop();
    sys.wait_until_stopped();
    assert_eq!(
        sys.statistics()
            .actors
            .iter()
            .map(|a| a.panics)
            .sum::<u64>(),
        0,
        "no handler panicked"
    );
}
