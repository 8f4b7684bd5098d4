//! The application's shared values (a database pool, settings), given to
//! the builder once and read by every hook and handler by their type.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::Error;

/// One value per type. Shared, not copied: the builder can be cloned, and
/// every system built from it reads the same values.
#[derive(Clone, Default)]
pub(crate) struct DataMap {
    values: HashMap<TypeId, Entry>,
}

#[derive(Clone)]
struct Entry {
    type_name: &'static str,
    value: Arc<dyn Any + Send + Sync>,
}

impl DataMap {
    /// Stores `value`, replacing any earlier value of the same type.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        let entry = Entry {
            type_name: type_name::<T>(),
            value: Arc::new(value),
        };
        self.values.insert(TypeId::of::<T>(), entry);
    }

    /// The value of type `T`, or [`Error::MissingData`] naming `T`.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|entry| entry.value.downcast_ref::<T>())
            .ok_or(Error::MissingData {
                type_name: type_name::<T>(),
            })
    }
}

impl fmt::Debug for DataMap {
    /// The types held, not their values, which need not be `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.values.values().map(|e| e.type_name).collect();
        names.sort_unstable();
        f.debug_set().entries(names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_by_its_type_and_replaced_by_the_next_of_that_type() {
        let mut data = DataMap::default();
        data.insert(7_u32);
        data.insert(String::from("first"));
        data.insert(String::from("second"));
        assert_eq!(data.get::<u32>(), Ok(&7));
        assert_eq!(data.get::<String>().map(String::as_str), Ok("second"));
        assert_eq!(
            data.get::<u64>(),
            Err(Error::MissingData { type_name: "u64" })
        );
        assert_eq!(format!("{data:?}"), r#"{"alloc::string::String", "u32"}"#);
    }
}
