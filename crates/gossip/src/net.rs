//! The tokio driver for a [`Node`]: a UDP socket and a TCP listener on the bind address (or,
//! with [`NetConfig::tls`], Alertmanager's TLS transport on the TCP listener alone, see
//! [`crate::net_tls`]), the node's timers, stream dialling with timeouts and bounded
//! concurrency, joining and re-joining seed peers, and graceful leave. The node itself stays
//! sans-IO and never knows which transport carries its packets and streams; this module and
//! [`crate::net_tls`] are the only places in the crate that touch sockets or the clock.
//!
//! The application sees the cluster through [`Cluster`] (member list, broadcasts, leave)
//! and [`Events`] (user messages, remote state, member changes), whose callbacks run on the
//! driver's tasks with no lock held, so they may call back into the [`Cluster`].

use crate::members::Member;
use crate::net_tls::{self, PacketLinks, TlsTransport, TransportEvent};
use crate::node::{Delegate, EventKind, MemberEvent, Node, Output};
use crate::packet::Inbound;
use crate::stream::{Direction, StreamLimits, StreamRead, read_stream};
use crate::tls_frame::TlsFrame;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Notify, Semaphore};
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// Largest UDP datagram read (memberlist reads up to 65536 bytes).
const MAX_DATAGRAM: usize = 65_536;
/// Hard cap on a stream read, above the codec's own limits, so a peer that never stops
/// sending cannot grow the buffer without bound.
const MAX_STREAM_BUFFER: usize = 64 << 20;
/// Alertmanager's `OversizedMessage` bound: half the 1400-byte gossip packet.
pub const MAX_GOSSIP_MESSAGE: usize = 700;

/// How the driver reaches the network and its seed peers.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Address the UDP socket and TCP listener bind.
    pub bind: SocketAddr,
    /// Bound on a whole stream exchange: dial, write, read (`--cluster.tcp-timeout`, 10s).
    pub tcp_timeout: Duration,
    /// Seed peers as `host:port` (`--cluster.peer`); names are re-resolved periodically.
    pub peers: Vec<String>,
    /// Bound on resolving the seeds (`--cluster.peers-resolve-timeout`, 15s).
    pub resolve_timeout: Duration,
    /// Time between joins to seeds that are not members (`--cluster.reconnect-interval`,
    /// 10s); zero disables them.
    pub reconnect_interval: Duration,
    /// A seed missing this long is no longer retried by the reconnect timer
    /// (`--cluster.reconnect-timeout`, 6h); the refresh still tries it.
    pub reconnect_timeout: Duration,
    /// Time between re-resolving the seeds and joining new ones (Alertmanager's 15s).
    pub refresh_interval: Duration,
    /// Most streams in flight in each direction.
    pub max_streams: usize,
    /// Alertmanager's TLS transport (`--cluster.tls-config`) instead of UDP and plain TCP.
    pub tls: Option<TlsTransport>,
}

impl NetConfig {
    /// Alertmanager's defaults for a node bound at `bind` with seeds `peers`.
    pub fn new(bind: SocketAddr, peers: Vec<String>) -> Self {
        Self {
            bind,
            tcp_timeout: Duration::from_secs(10),
            peers,
            resolve_timeout: Duration::from_secs(15),
            reconnect_interval: Duration::from_secs(10),
            reconnect_timeout: Duration::from_secs(6 * 3600),
            refresh_interval: Duration::from_secs(15),
            max_streams: 128,
            tls: None,
        }
    }
}

/// What the application hears from the cluster. Every method has a no-op default.
pub trait Events: Send + Sync + 'static {
    /// A user message, from gossip or a reliable stream (Alertmanager: a `clusterpb.Part`).
    fn user_message(&self, _bytes: Vec<u8>) {}
    /// A peer's delegate state from a push/pull (Alertmanager: a `clusterpb.FullState`).
    fn remote_state(&self, _state: Vec<u8>, _join: bool) {}
    /// A member joined, left or changed.
    fn member(&self, _event: &MemberEvent) {}
    /// A probe was acked after `rtt`.
    fn ping_complete(&self, _node: &str, _rtt: Duration) {}
    /// Another node claimed a member's name.
    fn conflict(&self, _existing: &Member, _claimed: SocketAddr) {}
    /// A join to a seed peer ended, `joined` when the peer answered the push/pull (what
    /// memberlist's `Join` reports as success); `refresh` tells the refresh timer's joins
    /// from the reconnect timer's.
    fn join_outcome(&self, _to: SocketAddr, _refresh: bool, _joined: bool) {}
    /// An oversized message sent with [`Cluster::broadcast_tagged`] reached `to`'s socket
    /// after `took` (dial and write), or could not be sent (`None`).
    fn reliable_sent(&self, _tag: &str, _to: SocketAddr, _took: Option<Duration>) {}
    /// The TLS transport moved a packet or a stream, or failed to.
    fn transport(&self, _event: TransportEvent) {}
}

/// A running memberlist node: the handle the application keeps.
pub struct Cluster<D: Delegate + Send + 'static> {
    inner: Arc<Inner<D>>,
}

impl<D: Delegate + Send + 'static> Clone for Cluster<D> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

struct Inner<D: Delegate + Send + 'static> {
    node: Mutex<Node<D>>,
    origin: Instant,
    /// The packet transport: a UDP socket, or pooled TLS connections.
    packets: Packets,
    label: String,
    /// Our own address, never a reconnect target.
    advertised: SocketAddr,
    config: NetConfig,
    events: Arc<dyn Events>,
    wake: Notify,
    dials: Arc<Semaphore>,
    accepts: Arc<Semaphore>,
    /// The driver's tasks, and whether [`Cluster::stop`] ended them (no new ones then).
    tasks: Mutex<(Vec<AbortHandle>, bool)>,
    seeds: Mutex<Seeds>,
}

enum Packets {
    Udp(UdpSocket),
    /// Outbound links, and permits for accepted connections: they live as long as their
    /// peer keeps them, so their number is bounded on its own.
    Tls(Arc<PacketLinks>, Arc<Semaphore>),
}

/// The addresses the reconnect timer re-joins: the resolved seeds, and every member that
/// died or left (Alertmanager's failed peers), each with when it was first seen missing.
#[derive(Default)]
struct Seeds {
    addrs: BTreeSet<SocketAddr>,
    failed: BTreeSet<SocketAddr>,
    missing_since: BTreeMap<SocketAddr, Instant>,
}

impl<D: Delegate + Send + 'static> Cluster<D> {
    /// Binds the sockets, builds the node with `make_node` (called once, at the driver's
    /// time origin), starts the driver's tasks and joins the seed peers. Must run inside a
    /// tokio runtime.
    pub async fn start(
        config: NetConfig,
        make_node: impl FnOnce() -> Node<D>,
        events: Arc<dyn Events>,
    ) -> io::Result<Self> {
        let tcp = TcpListener::bind(config.bind).await?;
        let node = make_node();
        let packets = match &config.tls {
            // Peers answer packets at the address written into them: the one we advertise.
            Some(tls) => Packets::Tls(
                PacketLinks::new(tls.clone(), node.addr, config.tcp_timeout, {
                    let events = events.clone();
                    Arc::new(move |event| events.transport(event))
                }),
                Arc::new(Semaphore::new(net_tls::MAX_CONNECTIONS)),
            ),
            None => Packets::Udp(UdpSocket::bind(config.bind).await?),
        };
        let inner = Arc::new(Inner {
            label: node.config.label.clone(),
            advertised: node.addr,
            node: Mutex::new(node),
            origin: Instant::now(),
            packets,
            dials: Arc::new(Semaphore::new(config.max_streams)),
            accepts: Arc::new(Semaphore::new(config.max_streams)),
            config,
            events,
            wake: Notify::new(),
            tasks: Mutex::new((Vec::new(), false)),
            seeds: Mutex::new(Seeds::default()),
        });
        let cluster = Self { inner };
        let inner = &cluster.inner;
        inner.spawn(Self::run_timers(inner.clone()));
        if matches!(inner.packets, Packets::Udp(_)) {
            inner.spawn(Self::run_udp(inner.clone()));
        }
        inner.spawn(Self::run_tcp(inner.clone(), tcp));
        inner.spawn(Self::run_peers(inner.clone()));
        Ok(cluster)
    }

    /// Runs `f` on the node at the current time, then carries out what it produced.
    pub fn with_node<R>(&self, f: impl FnOnce(&mut Node<D>, Duration) -> R) -> R {
        Inner::with_node(&self.inner, f)
    }

    /// The node's time: elapsed since the driver started.
    pub fn now(&self) -> Duration {
        self.inner.origin.elapsed()
    }

    /// Alive and suspect members, ourselves included, sorted by name.
    pub fn members(&self) -> Vec<Member> {
        self.with_node(|node, _| node.members().into_iter().cloned().collect())
    }

    /// Our index among [`Cluster::members`].
    pub fn position(&self) -> usize {
        self.with_node(|node, _| node.position())
    }

    /// Sends an application message as Alertmanager's cluster channel does: up to
    /// [`MAX_GOSSIP_MESSAGE`] bytes it is queued for gossip (and, with `push_now`, also sent
    /// at once in a packet to every live peer); larger ones go over TCP to every other
    /// member.
    pub fn broadcast(&self, bytes: Vec<u8>, push_now: bool) {
        self.broadcast_tagged("", bytes, push_now);
    }

    /// [`Cluster::broadcast`], naming the message's TCP sends `tag` in
    /// [`Events::reliable_sent`].
    pub fn broadcast_tagged(&self, tag: &str, bytes: Vec<u8>, push_now: bool) {
        let purpose = StreamPurpose::Reliable { tag: tag.into() };
        Inner::run_on_node(&self.inner, true, &purpose, |node, _| {
            if bytes.len() > MAX_GOSSIP_MESSAGE {
                let name = node.name().to_owned();
                // Every member but us, suspect ones included, as Alertmanager's `Members()`.
                let peers: Vec<SocketAddr> =
                    node.members().into_iter().filter(|m| m.name != name).map(|m| m.addr).collect();
                for to in peers {
                    node.send_reliable(to, bytes.clone());
                }
            } else if push_now {
                node.broadcast_user_to_all(bytes);
            } else {
                node.broadcast_user(bytes);
            }
        });
    }

    /// Joins `addrs` (a push/pull with the join flag to each).
    pub fn join(&self, addrs: &[SocketAddr]) {
        self.with_node(|node, now| node.join(now, addrs));
    }

    /// Leaves gracefully: announces it, waits up to `timeout` for the news to go out, then
    /// stops the driver.
    pub async fn leave(&self, timeout: Duration) {
        self.with_node(|node, now| node.leave(now));
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && !self.with_node(|node, _| node.leave_sent()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop();
    }

    /// Stops every task of the driver at once (no leave message).
    pub fn stop(&self) {
        let mut tasks = lock(&self.inner.tasks);
        tasks.1 = true;
        for task in tasks.0.drain(..) {
            task.abort();
        }
    }

    async fn run_timers(inner: Arc<Inner<D>>) {
        loop {
            // Not `with_node`: that wakes this loop, which would then never sleep.
            let deadline =
                Inner::run_on_node(&inner, false, &StreamPurpose::Exchange, |node, now| {
                    node.tick(now);
                    node.next_deadline()
                });
            let at = inner.origin + deadline;
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = inner.wake.notified() => {}
            }
        }
    }

    async fn run_udp(inner: Arc<Inner<D>>) {
        let Packets::Udp(udp) = &inner.packets else { return };
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            match udp.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    Inner::with_node(&inner, |node, now| node.handle_packet(now, from, &buf[..n]));
                }
                Err(error) => {
                    tracing::debug!(%error, "gossip UDP receive failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    async fn run_tcp(inner: Arc<Inner<D>>, listener: TcpListener) {
        loop {
            let (stream, from) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::debug!(%error, "gossip TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            if let Packets::Tls(_, connections) = &inner.packets {
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    tracing::warn!(%from, "too many gossip TLS connections; dropping one");
                    continue;
                };
                // Packet connections live long; the TLS connection task applies the stream
                // bounds only once the connection turns out to be a stream.
                let connection = Self::run_tls_connection(inner.clone(), stream, from);
                inner.spawn(async move {
                    connection.await;
                    drop(permit);
                });
                continue;
            }
            let Ok(permit) = inner.accepts.clone().try_acquire_owned() else {
                tracing::warn!(%from, "too many gossip streams in flight; dropping one");
                continue;
            };
            let inner = inner.clone();
            tokio::spawn(async move {
                Self::serve_bounded(&inner, stream, from, Vec::new()).await;
                drop(permit);
            });
        }
    }

    /// Serves one accepted TLS connection: its packets, until it closes or turns into a
    /// stream, which is then served as a plain TCP stream would be.
    async fn run_tls_connection(inner: Arc<Inner<D>>, tcp: TcpStream, from: SocketAddr) {
        let Some(tls) = &inner.config.tls else { return };
        let handshake = tokio::time::timeout(inner.config.tcp_timeout, net_tls::accept(tls, tcp));
        let mut stream = match handshake.await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(%from, %error, "gossip TLS handshake failed");
                inner.events.transport(TransportEvent::ReadError);
                return;
            }
            Err(_) => {
                tracing::debug!(%from, "gossip TLS handshake timed out");
                inner.events.transport(TransportEvent::ReadError);
                return;
            }
        };
        let mut buf = Vec::new();
        loop {
            match net_tls::read_frame(&mut stream, &mut buf).await {
                Ok(Some(TlsFrame::Packet { from: sender, bytes })) => {
                    let Ok(sender) = sender.parse::<SocketAddr>() else {
                        tracing::debug!(%from, %sender, "gossip TLS packet from an unusable address");
                        inner.events.transport(TransportEvent::ReadError);
                        return;
                    };
                    inner.events.transport(TransportEvent::PacketReceived(bytes.len()));
                    Inner::with_node(&inner, |node, now| node.handle_packet(now, sender, &bytes));
                }
                Ok(Some(TlsFrame::Stream)) => {
                    inner.events.transport(TransportEvent::StreamReceived);
                    let Ok(permit) = inner.accepts.clone().try_acquire_owned() else {
                        tracing::warn!(%from, "too many gossip streams in flight; dropping one");
                        return;
                    };
                    Self::serve_bounded(&inner, stream, from, buf).await;
                    drop(permit);
                    return;
                }
                Ok(None) => {
                    inner.events.transport(TransportEvent::ReadError);
                    return;
                }
                Err(error) => {
                    tracing::debug!(%from, %error, "gossip TLS connection failed");
                    inner.events.transport(TransportEvent::ReadError);
                    return;
                }
            }
        }
    }

    /// Serves one stream within the TCP timeout; `read` holds its bytes already read.
    async fn serve_bounded(
        inner: &Arc<Inner<D>>,
        stream: impl AsyncRead + AsyncWrite + Unpin,
        from: SocketAddr,
        read: Vec<u8>,
    ) {
        let timeout = inner.config.tcp_timeout;
        let served = tokio::time::timeout(timeout, Self::serve(inner, stream, from, read));
        if let Ok(Err(error)) | Err(error) = served.await.map_err(io::Error::other) {
            tracing::debug!(%from, %error, "gossip stream failed");
        }
    }

    async fn serve(
        inner: &Arc<Inner<D>>,
        mut stream: impl AsyncRead + AsyncWrite + Unpin,
        from: SocketAddr,
        read: Vec<u8>,
    ) -> io::Result<()> {
        let request = read_message(&mut stream, read, Direction::Request, &inner.label).await?;
        let Some(request) = request else {
            return Ok(());
        };
        let reply = Inner::with_node(inner, |node, now| node.handle_stream(now, from, &request));
        if let Some(reply) = reply {
            stream.write_all(&reply).await?;
            stream.shutdown().await?;
        }
        Ok(())
    }

    /// Resolves the seeds, joins them, then re-joins missing ones on the reconnect timer and
    /// re-resolves on the refresh timer.
    async fn run_peers(inner: Arc<Inner<D>>) {
        let resolved = resolve(&inner.config.peers, inner.config.resolve_timeout, true).await;
        let advertised = inner.advertised;
        let first: Vec<SocketAddr> =
            resolved.iter().copied().filter(|a| *a != advertised).collect();
        lock(&inner.seeds).addrs = first.iter().copied().collect();
        if !first.is_empty() {
            Inner::with_node(&inner, |node, now| node.join(now, &first));
        }
        let far = Duration::from_secs(365 * 24 * 3600);
        let period = |d: Duration| if d.is_zero() { far } else { d };
        let mut reconnect = tokio::time::interval_at(
            Instant::now() + period(inner.config.reconnect_interval),
            period(inner.config.reconnect_interval),
        );
        let mut refresh = tokio::time::interval_at(
            Instant::now() + period(inner.config.refresh_interval),
            period(inner.config.refresh_interval),
        );
        loop {
            tokio::select! {
                _ = reconnect.tick() => Self::join_missing(&inner, false),
                _ = refresh.tick() => {
                    let fresh = resolve(&inner.config.peers, inner.config.resolve_timeout, false).await;
                    let advertised = inner.advertised;
                    lock(&inner.seeds).addrs = fresh.into_iter().filter(|a| *a != advertised).collect();
                    Self::join_missing(&inner, true);
                }
            }
        }
    }

    /// Joins every seed that is not an alive or suspect member; the reconnect timer gives up
    /// on a seed missing for longer than the reconnect timeout.
    fn join_missing(inner: &Arc<Inner<D>>, refresh: bool) {
        let present: BTreeSet<SocketAddr> =
            Inner::with_node(inner, |node, _| node.members().into_iter().map(|m| m.addr).collect());
        let mut seeds = lock(&inner.seeds);
        let now = Instant::now();
        let timeout = inner.config.reconnect_timeout;
        let addrs: BTreeSet<SocketAddr> = seeds.addrs.union(&seeds.failed).copied().collect();
        let mut targets = Vec::new();
        for addr in addrs {
            if present.contains(&addr) {
                seeds.missing_since.remove(&addr);
                seeds.failed.remove(&addr);
                continue;
            }
            let since = *seeds.missing_since.entry(addr).or_insert(now);
            let expired = now.duration_since(since) > timeout;
            if expired {
                // Alertmanager forgets a failed peer after the reconnect timeout.
                seeds.failed.remove(&addr);
            }
            if (refresh && seeds.addrs.contains(&addr)) || !expired {
                targets.push(addr);
            }
        }
        drop(seeds);
        if !targets.is_empty() {
            let purpose = StreamPurpose::Join { refresh };
            Inner::run_on_node(inner, true, &purpose, |node, now| node.join(now, &targets));
        }
    }
}

impl<D: Delegate + Send + 'static> Inner<D> {
    /// Runs `f` on the node and carries out its outputs; wakes the timer loop, since `f`
    /// may have moved the node's next deadline earlier.
    fn with_node<R>(this: &Arc<Self>, f: impl FnOnce(&mut Node<D>, Duration) -> R) -> R {
        Self::run_on_node(this, true, &StreamPurpose::Exchange, f)
    }

    /// Spawns a task that [`Cluster::stop`] aborts.
    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        let (handles, stopped) = &mut *tasks;
        if *stopped {
            return;
        }
        // Long-lived TLS connections come and go; keep only the running ones.
        handles.retain(|task| !task.is_finished());
        handles.push(tokio::spawn(task).abort_handle());
    }

    /// Runs `f` on the node; the streams it opens report their outcome as `purpose` says.
    fn run_on_node<R>(
        this: &Arc<Self>,
        wake_timers: bool,
        purpose: &StreamPurpose,
        f: impl FnOnce(&mut Node<D>, Duration) -> R,
    ) -> R {
        let mut node = lock(&this.node);
        // Every call drains, so nothing is left over from earlier ones; were something left,
        // it must not be counted as opened for `purpose`.
        let earlier: Vec<Output> = node.drain_outputs().collect();
        let result = f(&mut node, this.origin.elapsed());
        let outputs: Vec<Output> = node.drain_outputs().collect();
        drop(node);
        if wake_timers {
            this.wake.notify_one();
        }
        for output in earlier {
            Self::execute(this, output, &StreamPurpose::Exchange);
        }
        for output in outputs {
            Self::execute(this, output, purpose);
        }
        result
    }

    fn execute(this: &Arc<Self>, output: Output, purpose: &StreamPurpose) {
        match output {
            Output::SendPacket { to, bytes } => match &this.packets {
                Packets::Udp(udp) => {
                    // UDP is lossy by contract: a full socket buffer drops like the network
                    // would.
                    if let Err(error) = udp.try_send_to(&bytes, to) {
                        tracing::debug!(%to, %error, "gossip packet not sent");
                    }
                }
                Packets::Tls(links, _) => {
                    if let Some(connection) = links.send(to, &bytes) {
                        this.spawn(connection);
                    }
                }
            },
            Output::OpenStream { to, bytes } => {
                let Ok(permit) = this.dials.clone().try_acquire_owned() else {
                    tracing::warn!(%to, "too many gossip streams in flight; dropping one");
                    purpose.report(&*this.events, to, None, false);
                    return;
                };
                let inner = this.clone();
                let purpose = purpose.clone();
                tokio::spawn(async move {
                    let tls = inner.config.tls.as_ref().map(|tls| (tls, &*inner.events));
                    let mut written = None;
                    let exchange = dial(to, &bytes, &inner.label, tls, &mut written);
                    let replied =
                        match tokio::time::timeout(inner.config.tcp_timeout, exchange).await {
                            Ok(Ok(Some(reply))) => {
                                Self::with_node(&inner, |node, now| {
                                    node.handle_stream_reply(now, to, &reply)
                                });
                                true
                            }
                            Ok(Ok(None)) => false,
                            Ok(Err(error)) => {
                                tracing::debug!(%to, %error, "gossip stream failed");
                                false
                            }
                            Err(_) => {
                                tracing::debug!(%to, "gossip stream timed out");
                                false
                            }
                        };
                    purpose.report(&*inner.events, to, written, replied);
                    drop(permit);
                });
            }
            Output::Event(event) => {
                let addr = event.member.addr;
                let mut seeds = lock(&this.seeds);
                match event.kind {
                    EventKind::Leave if addr != this.advertised => {
                        seeds.failed.insert(addr);
                        seeds.missing_since.insert(addr, Instant::now());
                    }
                    EventKind::Join => {
                        seeds.failed.remove(&addr);
                        seeds.missing_since.remove(&addr);
                    }
                    EventKind::Leave | EventKind::Update => {}
                }
                drop(seeds);
                this.events.member(&event);
            }
            Output::UserMessage(bytes) => this.events.user_message(bytes),
            Output::MergeRemoteState { state, join } => this.events.remote_state(state, join),
            Output::PingComplete { node, rtt } => this.events.ping_complete(&node, rtt),
            Output::Conflict { existing, claimed } => this.events.conflict(&existing, claimed),
        }
    }
}

/// Why the driver opened a stream, which decides what its outcome is reported as.
#[derive(Clone)]
enum StreamPurpose {
    /// The node's own exchanges (push/pull, TCP ping fallback): no report.
    Exchange,
    /// A join from the reconnect or the refresh timer.
    Join { refresh: bool },
    /// An oversized user message, named for [`Events::reliable_sent`].
    Reliable { tag: Arc<str> },
}

impl StreamPurpose {
    /// Reports a stream that ended: `written` is how long dialling and writing took, if they
    /// succeeded; `replied` whether a reply was read.
    fn report(
        &self,
        events: &dyn Events,
        to: SocketAddr,
        written: Option<Duration>,
        replied: bool,
    ) {
        match self {
            StreamPurpose::Exchange => {}
            StreamPurpose::Join { refresh } => events.join_outcome(to, *refresh, replied),
            StreamPurpose::Reliable { tag } => events.reliable_sent(tag, to, written),
        }
    }
}

/// Dials `to` (over TLS when `tls` is set), writes `request` and reads one reply message,
/// if the peer sends one before closing (user messages have none). `written` is set to the
/// time the dial and the write took once the request is written.
async fn dial(
    to: SocketAddr,
    request: &[u8],
    label: &str,
    tls: Option<(&TlsTransport, &dyn Events)>,
    written: &mut Option<Duration>,
) -> io::Result<Option<Vec<u8>>> {
    let started = Instant::now();
    if let Some((tls, events)) = tls {
        let dialled = net_tls::dial_stream(tls, to).await;
        events.transport(match dialled {
            Ok(_) => TransportEvent::StreamSent,
            Err(_) => TransportEvent::WriteError { stream: true },
        });
        let mut stream = dialled?;
        stream.write_all(request).await?;
        stream.flush().await?;
        *written = Some(started.elapsed());
        return read_message(&mut stream, Vec::new(), Direction::Reply, label).await;
    }
    let mut stream = TcpStream::connect(to).await?;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    *written = Some(started.elapsed());
    read_message(&mut stream, Vec::new(), Direction::Reply, label).await
}

/// Reads until one complete stream message is buffered (after the bytes already `read`) and
/// returns its bytes; `None` when the peer closes first or sends something unreadable.
async fn read_message(
    stream: &mut (impl AsyncRead + Unpin),
    read: Vec<u8>,
    direction: Direction,
    label: &str,
) -> io::Result<Option<Vec<u8>>> {
    let inbound = Inbound::plain(label);
    let limits = StreamLimits::default();
    let mut buf = read;
    buf.reserve(4096);
    loop {
        if !buf.is_empty() {
            match read_stream(&buf, direction, &inbound, &limits) {
                Ok(StreamRead::Complete { consumed, .. }) => {
                    buf.truncate(consumed);
                    return Ok(Some(buf));
                }
                Ok(StreamRead::Incomplete) => {}
                Err(error) => {
                    tracing::debug!(%error, "unreadable gossip stream");
                    return Ok(None);
                }
            }
        }
        if buf.len() >= MAX_STREAM_BUFFER {
            return Ok(None);
        }
        buf.reserve(4096);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
    }
}

/// Resolves `host:port` seeds. A name that fails to resolve is kept if it parses as an
/// address; with `wait_if_empty`, a name resolving to nothing is retried every 2s until
/// `timeout`, as Alertmanager does at startup.
pub async fn resolve(peers: &[String], timeout: Duration, wait_if_empty: bool) -> Vec<SocketAddr> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    for peer in peers {
        loop {
            let lookup = tokio::time::timeout_at(deadline, tokio::net::lookup_host(peer.as_str()));
            match lookup.await {
                Ok(Ok(addrs)) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    if addrs.is_empty()
                        && wait_if_empty
                        && Instant::now() + Duration::from_secs(2) < deadline
                    {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                    out.extend(addrs);
                }
                Ok(Err(error)) => {
                    tracing::warn!(%peer, %error, "resolving a cluster peer failed");
                    out.extend(peer.parse::<SocketAddr>().ok());
                }
                Err(_) => tracing::warn!(%peer, "resolving a cluster peer timed out"),
            }
            break;
        }
    }
    out.sort();
    out.dedup();
    out
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a driver lock is a bug; serving on from a half-updated node
    // would hide it.
    mutex.lock().expect("gossip driver lock poisoned")
}
