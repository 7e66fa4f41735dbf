//! memberlist's optional encryption (`security.go`, `keyring.go`): AES-GCM envelopes
//! `[version][nonce 12][ciphertext ‖ tag 16]` under a keyring whose first key encrypts and
//! whose every key is tried to decrypt.
//!
//! Stock Alertmanager never sets a gossip key, so this exists for clusters of other memberlist
//! users and for completeness of the wire format. Nonces are supplied by the caller (who owns
//! the randomness), which keeps the codec deterministic under test.

use crate::error::{DecodeError, EncodeError};
use crate::messages::MessageType;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce};
use std::fmt;

/// Bytes of the random nonce in every envelope.
pub const NONCE_SIZE: usize = 12;
/// Bytes of the GCM tag.
pub const TAG_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;

type Aes192Gcm = AesGcm<Aes192, U12>;

/// Envelope format, chosen by the sender's protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionVersion {
    /// Version 0: plaintext PKCS#7-padded to the AES block size (protocol version 1 only).
    Padded = 0,
    /// Version 1: no padding (protocol version 2 and later, what current peers send).
    Unpadded = 1,
}

impl EncryptionVersion {
    /// Bytes an envelope adds at most: 45 with padding, 29 without.
    pub fn overhead(self) -> usize {
        match self {
            Self::Padded => 1 + NONCE_SIZE + BLOCK_SIZE + TAG_SIZE,
            Self::Unpadded => 1 + NONCE_SIZE + TAG_SIZE,
        }
    }

    /// Exact envelope length for `plain_len` bytes of plaintext.
    pub fn sealed_len(self, plain_len: usize) -> usize {
        match self {
            Self::Padded => 1 + NONCE_SIZE + plain_len + padding(plain_len) + TAG_SIZE,
            Self::Unpadded => 1 + NONCE_SIZE + plain_len + TAG_SIZE,
        }
    }
}

/// PKCS#7 always pads, a full block when the length is already a multiple.
fn padding(len: usize) -> usize {
    BLOCK_SIZE - len % BLOCK_SIZE
}

enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes192(Box<Aes192Gcm>),
    Aes256(Box<Aes256Gcm>),
}

impl Cipher {
    fn new(key: &[u8]) -> Result<Self, EncodeError> {
        let bad = |_| EncodeError::InvalidKey(key.len());
        Ok(match key.len() {
            16 => Self::Aes128(Box::new(Aes128Gcm::new_from_slice(key).map_err(bad)?)),
            24 => Self::Aes192(Box::new(Aes192Gcm::new_from_slice(key).map_err(bad)?)),
            32 => Self::Aes256(Box::new(Aes256Gcm::new_from_slice(key).map_err(bad)?)),
            n => return Err(EncodeError::InvalidKey(n)),
        })
    }

    fn seal(&self, nonce: &[u8; NONCE_SIZE], msg: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = Nonce::from_slice(nonce);
        let payload = Payload { msg, aad };
        let sealed = match self {
            Self::Aes128(c) => c.encrypt(nonce, payload),
            Self::Aes192(c) => c.encrypt(nonce, payload),
            Self::Aes256(c) => c.encrypt(nonce, payload),
        };
        sealed.expect("AES-GCM sealing fails only for inputs beyond 64 GiB")
    }

    fn open(&self, nonce: &[u8], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let nonce = Nonce::from_slice(nonce);
        let payload = Payload { msg, aad };
        match self {
            Self::Aes128(c) => c.decrypt(nonce, payload),
            Self::Aes192(c) => c.decrypt(nonce, payload),
            Self::Aes256(c) => c.decrypt(nonce, payload),
        }
        .ok()
    }
}

/// Encryption keys, primary first. Keys are AES-128, -192 or -256 by length.
pub struct Keyring {
    ciphers: Vec<Cipher>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "Keyring({} keys)", self.ciphers.len())
    }
}

impl Keyring {
    /// Builds a keyring; the first key is the primary (used to encrypt).
    pub fn new<K: AsRef<[u8]>>(keys: &[K]) -> Result<Self, EncodeError> {
        if keys.is_empty() {
            return Err(EncodeError::NoKeys);
        }
        let ciphers = keys.iter().map(|k| Cipher::new(k.as_ref())).collect::<Result<_, _>>()?;
        Ok(Self { ciphers })
    }

    /// Encrypts `plain` with the primary key into `[version][nonce][ciphertext ‖ tag]`.
    pub fn seal(
        &self,
        version: EncryptionVersion,
        nonce: &[u8; NONCE_SIZE],
        plain: &[u8],
        aad: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(version.sealed_len(plain.len()));
        out.push(version as u8);
        out.extend_from_slice(nonce);
        let sealed = match version {
            EncryptionVersion::Unpadded => self.ciphers[0].seal(nonce, plain, aad),
            EncryptionVersion::Padded => {
                let pad = padding(plain.len());
                let mut padded = plain.to_vec();
                padded.resize(plain.len() + pad, pad as u8);
                self.ciphers[0].seal(nonce, &padded, aad)
            }
        };
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts an envelope with the first key that authenticates it.
    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let version = match envelope.first() {
            None => return Err(DecodeError::Decrypt("empty payload".into())),
            Some(0) => EncryptionVersion::Padded,
            Some(1) => EncryptionVersion::Unpadded,
            Some(v) => return Err(DecodeError::Decrypt(format!("unsupported version {v}"))),
        };
        if envelope.len() < version.sealed_len(0) {
            return Err(DecodeError::Decrypt(format!(
                "payload of {} bytes is too small",
                envelope.len()
            )));
        }
        let (nonce, sealed) = envelope[1..].split_at(NONCE_SIZE);
        let plain = self
            .ciphers
            .iter()
            .find_map(|c| c.open(nonce, sealed, aad))
            .ok_or_else(|| DecodeError::Decrypt("no installed key could decrypt".into()))?;
        match version {
            EncryptionVersion::Unpadded => Ok(plain),
            EncryptionVersion::Padded => unpad(plain),
        }
    }
}

/// Strips PKCS#7 padding, refusing pad bytes Go would mis-slice on.
fn unpad(mut plain: Vec<u8>) -> Result<Vec<u8>, DecodeError> {
    let pad = usize::from(plain.last().copied().unwrap_or(0));
    if pad == 0 || pad > BLOCK_SIZE || pad > plain.len() {
        return Err(DecodeError::Decrypt("bad padding".into()));
    }
    plain.truncate(plain.len() - pad);
    Ok(plain)
}

/// How to encrypt outgoing bytes.
#[derive(Debug, Clone, Copy)]
pub struct Seal<'a> {
    /// Keys; the primary encrypts.
    pub keyring: &'a Keyring,
    /// Envelope format; [`EncryptionVersion::Unpadded`] for any current peer.
    pub version: EncryptionVersion,
    /// A fresh random nonce; reusing one under the same key breaks GCM.
    pub nonce: [u8; NONCE_SIZE],
}

/// A packet envelope: the label is the authenticated data.
pub fn seal_packet(seal: &Seal<'_>, payload: &[u8], label: &str) -> Vec<u8> {
    seal.keyring.seal(seal.version, &seal.nonce, payload, label.as_bytes())
}

/// Opens a packet envelope sealed with [`seal_packet`].
pub fn open_packet(keyring: &Keyring, payload: &[u8], label: &str) -> Result<Vec<u8>, DecodeError> {
    keyring.open(payload, label.as_bytes())
}

/// The authenticated data of a stream frame: `[10][len u32 BE] ‖ label`.
fn stream_aad(len: u32, label: &str) -> Vec<u8> {
    let mut aad = vec![MessageType::Encrypt as u8];
    aad.extend_from_slice(&len.to_be_bytes());
    aad.extend_from_slice(label.as_bytes());
    aad
}

/// A stream frame `[10][len u32 BE][envelope]`.
pub fn seal_stream(seal: &Seal<'_>, plain: &[u8], label: &str) -> Result<Vec<u8>, EncodeError> {
    let sealed_len = seal.version.sealed_len(plain.len());
    let len = u32::try_from(sealed_len).map_err(|_| EncodeError::TooLong {
        what: "encrypted stream frame",
        len: sealed_len,
        max: u32::MAX as usize,
    })?;
    let aad = stream_aad(len, label);
    let mut out = aad[..5].to_vec();
    out.extend_from_slice(&seal.keyring.seal(seal.version, &seal.nonce, plain, &aad));
    Ok(out)
}

/// Opens the stream frame at the start of `buf` (which begins with the type byte 10).
/// Returns the plaintext and the bytes used; `UnexpectedEnd` means the frame is still
/// arriving. Frames longer than `max_len` are refused before they are buffered.
pub fn open_stream(
    buf: &[u8],
    keyring: &Keyring,
    label: &str,
    max_len: usize,
) -> Result<(Vec<u8>, usize), DecodeError> {
    let header =
        buf.get(..5).ok_or(DecodeError::UnexpectedEnd { what: "encrypted frame length" })?;
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    if len as usize > max_len {
        return Err(DecodeError::TooLong {
            what: "encrypted stream frame",
            len: u64::from(len),
            max: max_len as u64,
        });
    }
    let envelope = buf
        .get(5..5 + len as usize)
        .ok_or(DecodeError::UnexpectedEnd { what: "encrypted frame" })?;
    let plain = keyring.open(envelope, &stream_aad(len, label))?;
    Ok((plain, 5 + len as usize))
}
