//! How an actor's ID becomes the bytes a store keys its row with.
//!
//! The encoding is part of the stored data, so it never changes between
//! releases or machines (unlike `Hash`): integers are big-endian (`usize`
//! and `isize` as 64-bit ones), signed ones with the
//! sign bit flipped, so that byte order is numeric order; strings are their
//! UTF-8 bytes; byte strings are themselves; each part of a tuple is
//! prefixed with its length (4 bytes, big-endian), so that no two tuples
//! share an encoding.

/// An actor ID that a [`StateStore`](crate::persistence::StateStore) can
/// key rows with: integers, `bool`, `char`, strings, byte strings, and
/// tuples of up to four of them.
///
/// Implement it for an ID type of your own by writing the bytes of what
/// identifies it, most often by delegating to a field:
///
/// ```
/// use acteur::persistence::StateKey;
///
/// struct AccountId(u64);
/// impl StateKey for AccountId {
///     fn write_key(&self, key: &mut Vec<u8>) {
///         self.0.write_key(key);
///     }
/// }
/// assert_eq!(AccountId(7).to_key(), 7u64.to_key());
/// ```
///
/// The bytes are stored: changing how a type writes them makes the rows
/// written before unreachable.
pub trait StateKey {
    /// Appends this ID's bytes to `key`.
    fn write_key(&self, key: &mut Vec<u8>);

    /// This ID's bytes.
    fn to_key(&self) -> Vec<u8> {
        let mut key = Vec::new();
        self.write_key(&mut key);
        key
    }
}

/// The row of one actor's state: its type's
/// [`TYPE_KEY`](crate::persistence::StateWrite::type_key) and its ID's
/// [key](StateKey::to_key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StateKeyRef<'a> {
    /// The actor type's stable name.
    pub type_key: &'a str,
    /// The actor ID, as [`StateKey::to_key`] writes it.
    pub id: &'a [u8],
}

macro_rules! unsigned_keys {
    ($($t:ty),*) => {$(
        impl StateKey for $t {
            fn write_key(&self, key: &mut Vec<u8>) {
                key.extend_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}
unsigned_keys!(u8, u16, u32, u64, u128);

macro_rules! signed_keys {
    ($($t:ty => $u:ty),*) => {$(
        impl StateKey for $t {
            fn write_key(&self, key: &mut Vec<u8>) {
                // Flipping the sign bit puts negative numbers first.
                let flipped = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                key.extend_from_slice(&flipped.to_be_bytes());
            }
        }
    )*};
}
signed_keys!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

// The pointer-sized integers are stored as 64-bit ones, so that a key does
// not depend on the machine that wrote it.
impl StateKey for usize {
    fn write_key(&self, key: &mut Vec<u8>) {
        (*self as u64).write_key(key);
    }
}

impl StateKey for isize {
    fn write_key(&self, key: &mut Vec<u8>) {
        (*self as i64).write_key(key);
    }
}

impl StateKey for bool {
    fn write_key(&self, key: &mut Vec<u8>) {
        key.push(u8::from(*self));
    }
}

impl StateKey for char {
    fn write_key(&self, key: &mut Vec<u8>) {
        u32::from(*self).write_key(key);
    }
}

impl StateKey for str {
    fn write_key(&self, key: &mut Vec<u8>) {
        key.extend_from_slice(self.as_bytes());
    }
}

impl StateKey for String {
    fn write_key(&self, key: &mut Vec<u8>) {
        self.as_str().write_key(key);
    }
}

impl StateKey for [u8] {
    fn write_key(&self, key: &mut Vec<u8>) {
        key.extend_from_slice(self);
    }
}

impl StateKey for Vec<u8> {
    fn write_key(&self, key: &mut Vec<u8>) {
        self.as_slice().write_key(key);
    }
}

impl<const N: usize> StateKey for [u8; N] {
    fn write_key(&self, key: &mut Vec<u8>) {
        self.as_slice().write_key(key);
    }
}

impl<T: StateKey + ?Sized> StateKey for &T {
    fn write_key(&self, key: &mut Vec<u8>) {
        (**self).write_key(key);
    }
}

impl<T: StateKey + ?Sized> StateKey for Box<T> {
    fn write_key(&self, key: &mut Vec<u8>) {
        (**self).write_key(key);
    }
}

impl<T: StateKey + ?Sized> StateKey for std::sync::Arc<T> {
    fn write_key(&self, key: &mut Vec<u8>) {
        (**self).write_key(key);
    }
}

/// Appends `part`, prefixed with its length.
fn write_part(part: &impl StateKey, key: &mut Vec<u8>) {
    let at = key.len();
    key.extend_from_slice(&[0; 4]);
    part.write_key(key);
    // A part over 4 GiB is not an ID; it would only wrap its prefix.
    let length = u32::try_from(key.len() - at - 4).unwrap_or(u32::MAX);
    key[at..at + 4].copy_from_slice(&length.to_be_bytes());
}

macro_rules! tuple_keys {
    ($(($($name:ident),+)),*) => {$(
        impl<$($name: StateKey),+> StateKey for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_key(&self, key: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $(write_part($name, key);)+
            }
        }
    )*};
}
tuple_keys!((A, B), (A, B, C), (A, B, C, D));

#[cfg(test)]
mod tests {
    use super::StateKey;

    #[test]
    fn integers_sort_as_their_keys() {
        let signed = [i64::MIN, -300, -1, 0, 1, 255, 256, i64::MAX];
        for pair in signed.windows(2) {
            assert!(pair[0].to_key() < pair[1].to_key(), "{pair:?}");
        }
        let unsigned = [0u32, 1, 255, 256, 65_536, u32::MAX];
        for pair in unsigned.windows(2) {
            assert!(pair[0].to_key() < pair[1].to_key(), "{pair:?}");
        }
        assert_eq!(1u16.to_key(), [0, 1]);
        assert_eq!(7usize.to_key(), 7u64.to_key());
        assert_eq!((-7isize).to_key(), (-7i64).to_key());
        assert_eq!((-1i8).to_key(), [0x7f]);
    }

    #[test]
    fn strings_and_bytes_are_themselves() {
        assert_eq!("né".to_key(), "né".as_bytes());
        assert_eq!(String::from("a").to_key(), b"a");
        assert_eq!(vec![1u8, 2].to_key(), [1, 2]);
        assert_eq!([9u8; 3].to_key(), [9, 9, 9]);
        assert_eq!(StateKey::to_key(&&7u8), [7]);
    }

    #[test]
    fn tuples_never_share_a_key() {
        // Without the lengths, both would be the bytes "abc".
        assert_ne!(("ab", "c").to_key(), ("a", "bc").to_key());
        assert_eq!(
            (1u8, "xy").to_key(),
            [0, 0, 0, 1, 1, 0, 0, 0, 2, b'x', b'y']
        );
    }
}
