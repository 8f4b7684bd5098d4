//! A map from a Rust type to the shared machinery serving it (an actor
//! type's slots, a service's pool), created on first use.
//!
//! Every send looks its target type up here, from every worker at once, so
//! the lookup takes no lock and writes nothing: each type gets a small
//! index once per process (`type_index`, cached per thread), and a system's
//! entries sit in write-once cells at that index. A lock word or a reference
//! count that every send wrote would move between the cores' caches on
//! every message. Registration, rare, happens under a lock.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, LazyLock, OnceLock, PoisonError, RwLock};

use crate::Error;

/// Entries per chunk of cells, and chunks: room for 65,536 types, with a
/// system's unused chunks costing a pointer each. Tiny in unit tests, so
/// that they reach the overflow.
#[cfg(not(test))]
const CHUNK: usize = 256;
#[cfg(not(test))]
const CHUNKS: usize = 256;
#[cfg(test)]
const CHUNK: usize = 2;
#[cfg(test)]
const CHUNKS: usize = 2;

/// `C` is the type-independent view the system uses for statistics and
/// shutdown (a trait object).
pub(crate) struct Registry<C: ?Sized> {
    /// At a type's index: its entry, an `Arc<T>` as `dyn Any`.
    cells: Box<[OnceLock<Chunk>]>,
    /// Types beyond the cells' room, should a program ever have so many.
    overflow: RwLock<TypeMap<Typed>>,
    /// Every entry's control view; its lock orders registrations.
    controls: RwLock<Vec<Arc<C>>>,
}

type Typed = Box<dyn Any + Send + Sync>;
/// [`CHUNK`] cells, allocated when a type of theirs is first used.
type Chunk = Box<[OnceLock<Typed>]>;
type TypeMap<V> = HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// An entry found: borrowed from its cell, or, for the overflow, a clone.
pub(crate) enum Found<'a, T> {
    Borrowed(&'a Arc<T>),
    Owned(Arc<T>),
}

impl<T> Deref for Found<'_, T> {
    type Target = Arc<T>;

    fn deref(&self) -> &Arc<T> {
        match self {
            Found::Borrowed(typed) => typed,
            Found::Owned(typed) => typed,
        }
    }
}

impl<C: ?Sized> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            cells: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            overflow: RwLock::default(),
            controls: RwLock::default(),
        }
    }
}

impl<C: ?Sized> Registry<C> {
    /// The entry for `T`, if there is one.
    #[inline]
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Found<'_, T>> {
        match self.cell::<T>() {
            Some(cell) => cell.get().map(|typed| Found::Borrowed(downcast(typed))),
            None => self
                .overflow
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&TypeId::of::<T>())
                .map(|typed| Found::Owned(downcast::<T>(typed).clone())),
        }
    }

    /// The cell of `T`, created if needed; `None` beyond the cells' room.
    fn cell<T: Any>(&self) -> Option<&OnceLock<Typed>> {
        let index = type_index::<T>();
        let chunk = self.cells.get(index / CHUNK)?;
        let chunk = chunk.get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
        Some(&chunk[index % CHUNK])
    }

    /// The entry for `T`: the existing one, or `candidate`, which is then
    /// registered and passed to `on_insert` under the registry's lock.
    /// Registration is refused unless `open` (whether the system still takes
    /// work from the caller), checked under the lock that [`Registry::all`]
    /// also takes, so shutdown sees every entry.
    pub(crate) fn get_or_insert<T: Any + Send + Sync>(
        &self,
        open: impl FnOnce() -> bool,
        candidate: Arc<T>,
        control: impl FnOnce(Arc<T>) -> Arc<C>,
        on_insert: impl FnOnce(&Arc<T>),
    ) -> Result<Found<'_, T>, Error> {
        let mut controls = self
            .controls
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = self.get::<T>() {
            return Ok(found);
        }
        if !open() {
            return Err(Error::Stopped);
        }
        on_insert(&candidate);
        controls.push(control(candidate.clone()));
        // Stored before the lock is released: a second registration of the
        // same type, waiting for the lock, must find this one.
        let found = match self.cell::<T>() {
            Some(cell) => Found::Borrowed(downcast(cell.get_or_init(|| Box::new(candidate)))),
            None => {
                let mut overflow = self
                    .overflow
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                overflow.insert(TypeId::of::<T>(), Box::new(candidate.clone()));
                Found::Owned(candidate)
            }
        };
        drop(controls);
        Ok(found)
    }

    /// Every entry's control view.
    pub(crate) fn all(&self) -> Vec<Arc<C>> {
        self.controls
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn len(&self) -> usize {
        self.controls
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn downcast<T: Any>(typed: &Typed) -> &Arc<T> {
    match typed.downcast_ref::<Arc<T>>() {
        Some(typed) => typed,
        // Cells and the overflow are keyed by their type, so this cannot
        // happen.
        None => unreachable!("registry entry stored under another type's index"),
    }
}

/// The process-wide index of type `T`: 0, 1, 2… in order of first use.
fn type_index<T: Any>() -> usize {
    static INDICES: LazyLock<RwLock<TypeMap<usize>>> = LazyLock::new(RwLock::default);
    thread_local! {
        /// The types this thread looked up lately, by the low bits of
        /// their id: a few instructions where the map below takes dozens.
        static RECENT: [Cell<Option<(TypeId, usize)>>; WAYS] =
            const { [const { Cell::new(None) }; WAYS] };
        static KNOWN: RefCell<TypeMap<usize>> = RefCell::default();
    }
    const WAYS: usize = 16;
    let key = TypeId::of::<T>();
    let mut hasher = TypeIdHasher::default();
    key.hash(&mut hasher);
    let way = hasher.finish() as usize % WAYS;
    if let Some((recent, index)) = RECENT.with(|recent| recent[way].get()) {
        if recent == key {
            return index;
        }
    }
    let known = KNOWN.with(|known| known.borrow().get(&key).copied());
    if let Some(index) = known {
        RECENT.with(|recent| recent[way].set(Some((key, index))));
        return index;
    }
    let index = {
        let mut indices = INDICES.write().unwrap_or_else(PoisonError::into_inner);
        let next = indices.len();
        *indices.entry(key).or_insert(next)
    };
    KNOWN.with(|known| known.borrow_mut().insert(key, index));
    index
}

/// A `TypeId` is a hash already, computed by the compiler: hashing it again
/// with SipHash cost every send some 15 ns. Keys are the program's own
/// types, so nobody outside can choose them to collide.
#[derive(Default)]
struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `TypeId` hashes itself through `write_u64`; anything else is
        // folded in byte by byte, correct if slow.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Control;

    /// Registers `T` holding `value`, then finds it again.
    fn round_trip<T: Any + Send + Sync>(registry: &Registry<Control>, value: T) {
        assert!(registry.get::<T>().is_none());
        let mut inserted = 0;
        let first = registry
            .get_or_insert(
                || true,
                Arc::new(value),
                |_| Arc::new(Control),
                |_| inserted += 1,
            )
            .map(|found| Arc::clone(&found))
            .unwrap();
        // A second registration finds the first, without inserting again.
        let again = registry
            .get_or_insert(
                || true,
                Arc::clone(&first),
                |_| Arc::new(Control),
                |_| inserted += 1,
            )
            .map(|found| Arc::clone(&found))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(Arc::ptr_eq(&first, &registry.get::<T>().unwrap()));
        assert_eq!(inserted, 1);
    }

    #[test]
    fn entries_are_found_in_the_cells_and_beyond_them() {
        #[derive(PartialEq, Debug)]
        struct A(u8);
        #[derive(PartialEq, Debug)]
        struct B(u8);
        #[derive(PartialEq, Debug)]
        struct C(u8);
        #[derive(PartialEq, Debug)]
        struct D(u8);
        #[derive(PartialEq, Debug)]
        struct E(u8);
        #[derive(PartialEq, Debug)]
        struct F(u8);
        let registry = Registry::<Control>::default();
        // Six types and four cells: at least two go to the overflow.
        round_trip(&registry, A(1));
        round_trip(&registry, B(2));
        round_trip(&registry, C(3));
        round_trip(&registry, D(4));
        round_trip(&registry, E(5));
        round_trip(&registry, F(6));
        assert_eq!(registry.len(), 6);
        assert_eq!(*registry.get::<E>().unwrap().as_ref(), E(5));
        // Once closed to the caller, nothing new registers.
        struct G;
        let refused = registry.get_or_insert(|| false, Arc::new(G), |_| Arc::new(Control), |_| {});
        assert!(matches!(refused, Err(Error::Stopped)));
    }
}
