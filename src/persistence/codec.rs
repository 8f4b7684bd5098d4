//! How a state becomes bytes and back: postcard, the one codec there is so
//! far. Each stored envelope names its codec, so that another can be added
//! without making old rows unreadable.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The codec byte of a postcard encoding.
pub(crate) const POSTCARD: u8 = 1;

/// `state` as postcard bytes, or what the encoder said.
pub(crate) fn encode<T: Serialize>(state: &T) -> Result<Vec<u8>, String> {
    postcard::to_stdvec(state).map_err(|error| error.to_string())
}

/// The value `bytes` (postcard) encode, or what the decoder said. Bytes
/// left over after the value are an error: the row is not what it seems.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes left over after the state", rest.len())),
        Err(error) => Err(error.to_string()),
    }
}
