//! A state as stored: its bytes, how they are encoded, and their checksum.

use super::checksum::crc32;

/// One actor's state as a store keeps it: the encoded bytes, the codec
/// and schema they were written with, and their CRC-32, checked before
/// anything is decoded.
///
/// ```
/// use acteur::persistence::Envelope;
///
/// let envelope = Envelope::new(1, 3, b"balance=10".to_vec());
/// assert!(envelope.is_intact());
/// let mut damaged = envelope.clone();
/// damaged.bytes[0] ^= 1;
/// assert!(!damaged.is_intact());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Which encoding `bytes` are in, so that a reader can refuse one it
    /// does not know instead of misreading it.
    pub codec: u8,
    /// The version of the state's type that wrote it, so that a reader can
    /// tell an older state, to upgrade, from a newer one it cannot read.
    pub schema: u32,
    /// The CRC-32 of `bytes`, as written.
    pub checksum: u32,
    /// The encoded state.
    pub bytes: Vec<u8>,
}

impl Envelope {
    /// The envelope of `bytes`, encoded with `codec` for `schema`, with
    /// their checksum.
    pub fn new(codec: u8, schema: u32, bytes: Vec<u8>) -> Envelope {
        Envelope {
            codec,
            schema,
            checksum: crc32(&bytes),
            bytes,
        }
    }

    /// Whether `bytes` still match the checksum they were written with.
    pub fn is_intact(&self) -> bool {
        crc32(&self.bytes) == self.checksum
    }
}
