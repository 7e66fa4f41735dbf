//! Varint-length-delimited protobuf streams: how Alertmanager writes gossip updates, full
//! states and snapshot files, for silences and the notification log alike (Go's
//! `pbutil.WriteDelimited`). Each message type checks its own validity on top of this.

use prost::Message;
use prost::encoding;

/// Appends `message` to `out` behind its uvarint length.
pub fn append<M: Message>(out: &mut Vec<u8>, message: &M) {
    let len = message.encoded_len();
    out.reserve(len + encoding::encoded_len_varint(len as u64));
    encoding::encode_varint(len as u64, out);
    message.encode_raw(out);
}

/// One length-prefixed message: the form of a single gossip update.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    let mut out = Vec::new();
    append(&mut out, message);
    out
}

/// A concatenation of length-prefixed messages, in the order given.
pub fn encode_all<'a, M: Message + 'a>(messages: impl IntoIterator<Item = &'a M>) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        append(&mut out, message);
    }
    out
}

/// The messages of a stream, in order. The iterator ends after the first error (a malformed
/// prefix, a truncated body or an undecodable message), which callers treat as invalidating
/// the whole stream, as Alertmanager does.
pub fn messages<M: Message + Default>(bytes: &[u8]) -> Messages<'_, M> {
    Messages { rest: bytes, failed: false, _message: std::marker::PhantomData }
}

/// Iterator returned by [`messages`].
pub struct Messages<'a, M> {
    rest: &'a [u8],
    failed: bool,
    _message: std::marker::PhantomData<M>,
}

impl<M: Message + Default> Iterator for Messages<'_, M> {
    type Item = Result<M, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let item = self.decode_one();
        self.failed = item.is_err();
        Some(item)
    }
}

impl<M: Message + Default> Messages<'_, M> {
    fn decode_one(&mut self) -> Result<M, String> {
        let len = encoding::decode_varint(&mut self.rest).map_err(|error| error.to_string())?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= self.rest.len())
            .ok_or_else(|| "unexpected EOF".to_owned())?;
        let (body, rest) = self.rest.split_at(len);
        self.rest = rest;
        M::decode(body).map_err(|error| error.to_string())
    }
}
