//! Encryption: AES-GCM known answers through our envelope, keyring rules, and encrypted
//! packets and streams end to end.

use super::hex;
use crate::DecodeError;
use crate::keyring::{EncryptionVersion, Keyring, Seal, open_stream};
use crate::messages::{Message, Ping};
use crate::packet::{Inbound, PacketOptions, decode_packet_with, encode_packet};
use crate::stream::{
    Direction, StreamLimits, StreamMessage, StreamOptions, StreamRead, read_stream,
};

const NONCE: [u8; 12] = [0; 12];

#[test]
fn aes_gcm_known_answers_in_envelope() {
    // NIST GCM test cases 1 and 2: zero key, zero IV.
    let ring = Keyring::new(&[[0u8; 16]]).unwrap();
    let empty = ring.seal(EncryptionVersion::Unpadded, &NONCE, b"", b"");
    let want = [&[1u8][..], &NONCE, &hex("58e2fccefa7e3061367f1d57a4e7455a")].concat();
    assert_eq!(empty, want);
    let block = ring.seal(EncryptionVersion::Unpadded, &NONCE, &[0; 16], b"");
    let want = [
        &[1u8][..],
        &NONCE,
        &hex("0388dace60b6a392f328c2b971b2fe78 ab6e47d42cec13bdf53a67b21257bddf"),
    ]
    .concat();
    assert_eq!(block, want);
    assert_eq!(ring.open(&block, b"").unwrap(), vec![0; 16]);
}

#[test]
fn padded_version_pads_a_full_block_and_round_trips() {
    let ring = Keyring::new(&[[1u8; 32]]).unwrap();
    for len in [0usize, 1, 15, 16, 17, 100] {
        let plain = vec![0xab; len];
        let sealed = ring.seal(EncryptionVersion::Padded, &NONCE, &plain, b"aad");
        assert_eq!(sealed.len(), EncryptionVersion::Padded.sealed_len(len));
        assert_eq!(sealed[0], 0);
        assert!(sealed.len() - len <= EncryptionVersion::Padded.overhead());
        assert_eq!(ring.open(&sealed, b"aad").unwrap(), plain);
    }
    assert_eq!(EncryptionVersion::Unpadded.overhead(), 29);
    assert_eq!(EncryptionVersion::Padded.overhead(), 45);
}

#[test]
fn keyring_rules() {
    assert!(Keyring::new::<[u8; 16]>(&[]).is_err());
    assert!(Keyring::new(&[vec![0u8; 17]]).is_err());
    let old = Keyring::new(&[vec![2u8; 24]]).unwrap();
    let rotated = Keyring::new(&[vec![3u8; 16], vec![2u8; 24]]).unwrap();
    let sealed = old.seal(EncryptionVersion::Unpadded, &NONCE, b"hello", b"l");
    // Every key is tried on receive; only the primary seals.
    assert_eq!(rotated.open(&sealed, b"l").unwrap(), b"hello");
    let resealed = rotated.seal(EncryptionVersion::Unpadded, &NONCE, b"hello", b"l");
    assert!(old.open(&resealed, b"l").is_err());
    // The label is authenticated.
    assert!(rotated.open(&sealed, b"other").is_err());
    let mut v2 = sealed.clone();
    v2[0] = 2;
    assert!(matches!(rotated.open(&v2, b"l"), Err(DecodeError::Decrypt(_))));
    assert!(rotated.open(&sealed[..28], b"l").is_err());
    assert_eq!(format!("{rotated:?}"), "Keyring(2 keys)");
}

#[test]
fn encrypted_packets() {
    let ring = Keyring::new(&[[9u8; 16]]).unwrap();
    let ping = Message::Ping(Ping { seq_no: 3, node: "x".into(), ..Default::default() });
    let seal = Seal { keyring: &ring, version: EncryptionVersion::Unpadded, nonce: [5; 12] };
    let opts = PacketOptions { label: "l", crc: true, compress: true, encrypt: Some(seal) };
    let bytes = encode_packet(std::slice::from_ref(&ping), &opts).unwrap();
    assert_eq!(&bytes[..3], &[244, 1, b'l']);
    assert_eq!(bytes[3], 1, "envelope version follows the label");
    let strict = Inbound { label: "l", keyring: Some(&ring), verify_incoming: true };
    assert_eq!(decode_packet_with(&bytes, &strict).unwrap(), vec![Ok(ping.clone())]);

    let plain_opts = PacketOptions { label: "l", ..Default::default() };
    let plain = encode_packet(std::slice::from_ref(&ping), &plain_opts).unwrap();
    assert!(decode_packet_with(&plain, &strict).is_err());
    let lax = Inbound { verify_incoming: false, ..strict };
    assert_eq!(decode_packet_with(&plain, &lax).unwrap(), vec![Ok(ping)]);
}

#[test]
fn encrypted_streams() {
    let ring = Keyring::new(&[[4u8; 32]]).unwrap();
    let limits = StreamLimits::default();
    let msg = StreamMessage::User(vec![7; 3000]);
    let seal = Seal { keyring: &ring, version: EncryptionVersion::Unpadded, nonce: [1; 12] };
    let inbound = Inbound { label: "l", keyring: Some(&ring), verify_incoming: true };
    for (dir, header) in [(Direction::Request, true), (Direction::Reply, false)] {
        let opts =
            StreamOptions { label: "l", label_header: header, compress: true, encrypt: Some(seal) };
        let bytes = msg.encode(&opts).unwrap();
        let got = read_stream(&bytes, dir, &inbound, &limits).unwrap();
        assert_eq!(got, StreamRead::Complete { message: msg.clone(), consumed: bytes.len() });
        for cut in [0, 3, 7, bytes.len() / 2, bytes.len() - 1] {
            let got = read_stream(&bytes[..cut], dir, &inbound, &limits).unwrap();
            assert_eq!(got, StreamRead::Incomplete, "cut {cut}");
        }
        // The label is part of the stream's authenticated data even without a header.
        let other = Inbound { label: "m", ..inbound };
        assert!(read_stream(&bytes, Direction::Reply, &other, &limits).is_err());
    }
    let plain = msg.encode(&StreamOptions::default()).unwrap();
    let verify = read_stream(&plain, Direction::Reply, &inbound, &limits);
    assert_eq!(verify, Err(DecodeError::NotEncrypted));
    // An announced frame beyond the limit is refused before it is buffered.
    let huge = [10, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(open_stream(&huge, &ring, "l", 1 << 20), Err(DecodeError::TooLong { .. })));
}
