//! A map from a Rust type to the shared machinery serving it (an actor
//! type's slots, a service's pool), created on first use.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use crate::Error;
use crate::system::lifecycle::Lifecycle;

/// `C` is the type-independent view the system uses for statistics and
/// shutdown (a trait object).
pub(crate) struct Registry<C: ?Sized> {
    entries: RwLock<HashMap<TypeId, Entry<C>, BuildHasherDefault<TypeIdHasher>>>,
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

struct Entry<C: ?Sized> {
    typed: Arc<dyn Any + Send + Sync>,
    control: Arc<C>,
}

impl<C: ?Sized> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            entries: RwLock::default(),
        }
    }
}

impl<C: ?Sized> Registry<C> {
    /// The entry for `T`, if there is one.
    #[inline]
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.read()
            .get(&TypeId::of::<T>())
            .map(|entry| downcast(&entry.typed))
    }

    /// The entry for `T`: the existing one, or `candidate`, which is then
    /// registered and passed to `on_insert` under the registry's write lock.
    /// Registration is refused once the system is stopping, checked under the
    /// lock that [`Registry::all`] also takes, so shutdown sees every entry.
    pub(crate) fn get_or_insert<T: Any + Send + Sync>(
        &self,
        lifecycle: &Lifecycle,
        candidate: Arc<T>,
        control: impl FnOnce(Arc<T>) -> Arc<C>,
        on_insert: impl FnOnce(&Arc<T>),
    ) -> Result<Arc<T>, Error> {
        let key = TypeId::of::<T>();
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = entries.get(&key) {
            return Ok(downcast(&found.typed));
        }
        if lifecycle.is_stopping() {
            return Err(Error::Stopped);
        }
        on_insert(&candidate);
        let entry = Entry {
            typed: candidate.clone(),
            control: control(candidate.clone()),
        };
        entries.insert(key, entry);
        Ok(candidate)
    }

    /// Every entry's control view.
    pub(crate) fn all(&self) -> Vec<Arc<C>> {
        self.read()
            .values()
            .map(|entry| entry.control.clone())
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<TypeId, Entry<C>, BuildHasherDefault<TypeIdHasher>>>
    {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }
}

fn downcast<T: Any + Send + Sync>(typed: &Arc<dyn Any + Send + Sync>) -> Arc<T> {
    match typed.clone().downcast::<T>() {
        Ok(typed) => typed,
        // Entries are keyed by their own TypeId, so this cannot happen.
        Err(_) => unreachable!("registry entry stored under another type's TypeId"),
    }
}
