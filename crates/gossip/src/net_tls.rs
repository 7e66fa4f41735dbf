//! The socket side of Alertmanager's TLS transport, used by [`crate::net`] in place of UDP
//! and plain TCP when [`crate::NetConfig::tls`] is set: the TLS handshakes, reading frames
//! ([`crate::tls_frame`]) off accepted connections, dialling stream connections, and the
//! pool of long-lived connections that carry packets, one per peer address, as
//! Alertmanager keeps them.
//!
//! A pooled connection is only ever written by its dialler; it is still read, so a peer
//! that rejects our certificate after a TLS 1.3 handshake (or simply closes) ends the
//! connection at once and the next packet dials afresh. Packets stay lossy: a packet that
//! finds its connection's queue full or its dial failing is dropped, as UDP would drop it.

use crate::tls_frame::{TlsFrame, decode_frame, encode_packet_frame, encode_stream_frame};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Packets waiting for one peer's connection before newer ones are dropped.
const LINK_QUEUE: usize = 256;
/// Most pooled packet connections (Alertmanager's pool holds 1024).
const MAX_LINKS: usize = 1024;
/// Most accepted connections open at once: every peer's pooled connection plus its streams.
pub(crate) const MAX_CONNECTIONS: usize = 1024;

/// The TLS settings of `--cluster.tls-config`: what the listener presents and checks, and
/// what the dialler presents and checks.
#[derive(Debug, Clone)]
pub struct TlsTransport {
    /// Used for every accepted connection.
    pub server: Arc<rustls::ServerConfig>,
    /// Used for every dialled connection; peers are verified by IP address.
    pub client: Arc<rustls::ClientConfig>,
}

/// What the TLS transport did, for Alertmanager's `alertmanager_tls_transport_*` counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportEvent {
    /// A packet of this many bytes (without the frame) was written to a peer.
    PacketSent(usize),
    /// A packet of this many bytes (without the frame) was read from a peer.
    PacketReceived(usize),
    /// A stream connection was dialled and announced.
    StreamSent,
    /// An accepted connection turned into a stream.
    StreamReceived,
    /// An accepted connection failed or ended before turning into a stream (Alertmanager
    /// counts a packet connection's close as a read error too).
    ReadError,
    /// Dialling or writing a packet connection (`stream: false`) or a stream connection
    /// failed.
    WriteError {
        /// Which kind of connection.
        stream: bool,
    },
}

/// A server-side TLS connection.
pub(crate) type Accepted = tokio_rustls::server::TlsStream<TcpStream>;
/// A client-side TLS connection.
pub(crate) type Dialled = tokio_rustls::client::TlsStream<TcpStream>;

/// Runs the server handshake on an accepted connection.
pub(crate) async fn accept(transport: &TlsTransport, tcp: TcpStream) -> io::Result<Accepted> {
    tcp.set_nodelay(true)?;
    TlsAcceptor::from(transport.server.clone()).accept(tcp).await
}

/// Dials `to` and runs the client handshake, checking the certificate against `to`'s IP.
async fn dial(client: &Arc<rustls::ClientConfig>, to: SocketAddr) -> io::Result<Dialled> {
    let tcp = TcpStream::connect(to).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::IpAddress(to.ip().into());
    TlsConnector::from(client.clone()).connect(name, tcp).await
}

/// Dials `to` for one memberlist stream: the connection is announced as a stream and is
/// then the stream's, as a plain TCP connection would be.
pub(crate) async fn dial_stream(transport: &TlsTransport, to: SocketAddr) -> io::Result<Dialled> {
    let mut stream = dial(&transport.client, to).await?;
    write_frame(&mut stream, &encode_stream_frame()).await?;
    Ok(stream)
}

/// Writes one frame in one write, flushed, so it ends a TLS record (see
/// [`crate::tls_frame`]).
async fn write_frame(stream: &mut Dialled, frame: &[u8]) -> io::Result<()> {
    stream.write_all(frame).await?;
    stream.flush().await
}

/// Reads the next frame of an accepted connection; `buf` keeps what was read past it (the
/// start of a stream, after a stream frame). `None` when the peer closes between frames.
pub(crate) async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> io::Result<Option<TlsFrame>> {
    loop {
        match decode_frame(buf) {
            Ok(Some((frame, used))) => {
                buf.drain(..used);
                return Ok(Some(frame));
            }
            Ok(None) => {}
            Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
        buf.reserve(4096);
        if stream.read_buf(buf).await? == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// A frame waiting for its connection, and the length of the packet it carries.
type Queued = (Vec<u8>, usize);

/// The pooled packet connections, keyed by peer address.
pub(crate) struct PacketLinks {
    transport: TlsTransport,
    /// Our listen address as peers should answer it, written into every packet frame.
    from: String,
    timeout: Duration,
    /// Each link's queue of frames, with the length of the packet each carries.
    links: Mutex<HashMap<SocketAddr, mpsc::Sender<Queued>>>,
    report: Arc<dyn Fn(TransportEvent) + Send + Sync>,
}

impl PacketLinks {
    pub(crate) fn new(
        transport: TlsTransport,
        from: SocketAddr,
        timeout: Duration,
        report: Arc<dyn Fn(TransportEvent) + Send + Sync>,
    ) -> Arc<Self> {
        let from = from.to_string();
        Arc::new(Self { transport, from, timeout, links: Mutex::default(), report })
    }

    /// Queues `packet` for `to`; returns the task to spawn when a new connection is needed.
    /// The task holds the pool weakly, so dropping the pool ends every connection.
    #[must_use]
    pub(crate) fn send(
        self: &Arc<Self>,
        to: SocketAddr,
        packet: &[u8],
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let mut frame = (encode_packet_frame(&self.from, packet), packet.len());
        let mut links = self.links.lock().expect("packet links lock poisoned");
        if let Some(link) = links.get(&to) {
            match link.try_send(frame) {
                Ok(()) => return None,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::debug!(%to, "gossip packet dropped: TLS connection backlog full");
                    return None;
                }
                Err(mpsc::error::TrySendError::Closed(back)) => {
                    frame = back;
                    links.remove(&to);
                }
            }
        }
        if links.len() >= MAX_LINKS {
            tracing::debug!(%to, "gossip packet dropped: too many TLS connections");
            return None;
        }
        let (sender, receiver) = mpsc::channel(LINK_QUEUE);
        sender.try_send(frame).expect("a new queue has room");
        links.insert(to, sender.clone());
        drop(links);
        let pool = Arc::downgrade(self);
        let (client, timeout) = (self.transport.client.clone(), self.timeout);
        let report = self.report.clone();
        Some(async move {
            if let Err(error) = run_link(&client, to, timeout, receiver, &*report).await {
                tracing::debug!(%to, %error, "gossip TLS packet connection ended");
                report(TransportEvent::WriteError { stream: false });
            }
            forget(&pool, to, &sender);
        })
    }
}

/// Removes `to`'s link if it is still the one that just ended.
fn forget(pool: &Weak<PacketLinks>, to: SocketAddr, ended: &mpsc::Sender<Queued>) {
    let Some(pool) = pool.upgrade() else { return };
    let mut links = pool.links.lock().expect("packet links lock poisoned");
    if links.get(&to).is_some_and(|link| link.same_channel(ended)) {
        links.remove(&to);
    }
}

/// Dials `to` and writes its queued packets until the queue closes, a write fails or
/// stalls past `timeout`, or the peer closes or rejects the connection.
async fn run_link(
    client: &Arc<rustls::ClientConfig>,
    to: SocketAddr,
    timeout: Duration,
    mut queue: mpsc::Receiver<Queued>,
    report: &(dyn Fn(TransportEvent) + Send + Sync),
) -> io::Result<()> {
    let mut stream = tokio::time::timeout(timeout, dial(client, to))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    let mut scratch = [0u8; 512];
    loop {
        tokio::select! {
            frame = queue.recv() => {
                let Some((frame, packet_len)) = frame else { return Ok(()) };
                tokio::time::timeout(timeout, write_frame(&mut stream, &frame))
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
                report(TransportEvent::PacketSent(packet_len));
            }
            // Peers never write on a packet connection: anything read is the end of it.
            read = stream.read(&mut scratch) => {
                return match read? {
                    0 => Err(io::ErrorKind::UnexpectedEof.into()),
                    _ => Err(io::Error::new(io::ErrorKind::InvalidData, "unexpected bytes")),
                };
            }
        }
    }
}
