//! The HTTP server of `guichet serve` and of the tests: an accept loop over hyper's HTTP/1
//! connections that bounds what one client can hold (see [`ConnectionLimits`]).
//!
//! - At most `max_connections` connections at once, and `max_connections_per_client` from one
//!   client address (its IPv4 address or IPv6 /64; trusted proxies are not capped per
//!   address): a connection over a cap gets a 503 with a French text and is closed at once.
//! - A watchdog per connection closes it when the client is too slow: headers not complete
//!   `header_read_timeout` after the connection opened (or after the first byte of a later
//!   request), no next request within `keep_alive_timeout`, no progress for
//!   `body_read_timeout` while the server waits for the request body or for the client to
//!   take the response, or a body slower on average than `body_min_rate` once the first
//!   `body_read_timeout` has passed (a body trickled a byte at a time). Time the server
//!   itself spends on a request is never counted.
//! - On shutdown the listener is closed, idle connections are closed, requests in flight
//!   are answered, and [`run`] returns once every connection has ended.
//!
//! Handlers get the peer as `ConnectInfo<SocketAddr>`, as with `axum::serve`; each request is
//! handled in a `client` span naming its [`ClientAddress`], so its log lines name it too.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tower::ServiceExt;
use tracing::Instrument;

use crate::app::{self, AppState};
use crate::client::{ClientAddress, TrustedProxies};
use crate::config::ConnectionLimits;
use crate::shutdown::Shutdown;

/// What a connection over a cap is told.
const REFUSAL_TEXT: &str = "Trop de connexions ouvertes : réessayez dans quelques instants.\n";

/// The whole answer to a connection over a cap.
static REFUSAL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         retry-after: 10\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{REFUSAL_TEXT}",
        REFUSAL_TEXT.len()
    )
    .into_bytes()
});

/// Serves the application's router on `listener` until `shutdown` is triggered (for `guichet
/// serve`, `state.shutdown`), then stops accepting and returns once every open connection has
/// ended (see the module doc).
pub async fn run(listener: TcpListener, state: AppState, shutdown: Shutdown) -> io::Result<()> {
    let router = app::router(state.clone());
    let limits = state.settings.connections.clone();
    let trusted = Arc::new(state.settings.trusted_proxies.clone());
    let admission = Arc::new(Admission::new(
        &limits,
        state.settings.trusted_proxies.clone(),
    ));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.triggered() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            // The client gave up before we took its connection.
            Err(e) if is_connection_error(&e) => continue,
            // Out of file descriptors and the like: wait for some to be freed.
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = shutdown.triggered() => break,
                }
            }
        };
        let Some(ticket) = admission.admit(peer) else {
            refuse(stream);
            continue;
        };
        tokio::spawn(serve_connection(
            stream,
            peer,
            router.clone(),
            trusted.clone(),
            limits.clone(),
            shutdown.clone(),
            ticket,
        ));
    }
    drop(listener);
    admission.drained().await;
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers 503 and closes, without waiting for anything: what the client already sent is read
/// and dropped first, so that the close is a clean end of stream and the client sees the
/// answer rather than a reset.
fn refuse(stream: TcpStream) {
    let mut sink = [0u8; 4096];
    for _ in 0..4 {
        match stream.try_read(&mut sink) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
    let _ = stream.try_write(&REFUSAL);
}

/// Counts open connections, in all and per client address.
struct Admission {
    max_connections: usize,
    max_per_client: usize,
    trusted_proxies: TrustedProxies,
    open: Mutex<Open>,
    /// Notified when the last connection closes.
    closed: Notify,
    /// Refusals not logged yet, and when the last log line was written (in seconds since
    /// `created`): at most one line every ten seconds during an attack.
    refused: AtomicU64,
    logged_at: AtomicU64,
    created: Instant,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_client: HashMap<ClientAddress, usize>,
}

/// One admitted connection; dropping it frees its place.
struct Ticket {
    admission: Arc<Admission>,
    client: Option<ClientAddress>,
}

impl Admission {
    fn new(limits: &ConnectionLimits, trusted_proxies: TrustedProxies) -> Self {
        Admission {
            max_connections: limits.max_connections,
            max_per_client: limits.max_connections_per_client,
            trusted_proxies,
            open: Mutex::default(),
            closed: Notify::new(),
            refused: AtomicU64::new(0),
            logged_at: AtomicU64::new(0),
            created: Instant::now(),
        }
    }

    /// A place for a connection from `peer`, if both caps allow it.
    fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Ticket> {
        // A proxy carries many clients: only the total counts for it.
        let client =
            (!self.trusted_proxies.contains(peer.ip())).then(|| ClientAddress::of(peer.ip()));
        let mut open = self.open.lock().expect("connection counts");
        let refusal = if open.total >= self.max_connections {
            Some("too many connections in all")
        } else if let Some(client) = &client
            && open.per_client.get(client).copied().unwrap_or(0) >= self.max_per_client
        {
            Some("too many connections from this client")
        } else {
            None
        };
        if let Some(reason) = refusal {
            drop(open);
            self.log_refusal(reason, client.as_ref());
            return None;
        }
        open.total += 1;
        if let Some(client) = &client {
            *open.per_client.entry(client.clone()).or_default() += 1;
        }
        Some(Ticket {
            admission: self.clone(),
            client,
        })
    }

    fn log_refusal(&self, reason: &str, client: Option<&ClientAddress>) {
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.created.elapsed().as_secs() + 10;
        let last = self.logged_at.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .logged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.refused.fetch_sub(refused, Ordering::Relaxed);
            let client = client.map_or_else(|| "trusted proxy".to_owned(), ToString::to_string);
            tracing::warn!(
                reason,
                %client,
                refused,
                max_connections = self.max_connections,
                max_per_client = self.max_per_client,
                "connections refused (503): over the cap"
            );
        }
    }

    /// Completes once no connection is open.
    async fn drained(&self) {
        loop {
            let notified = self.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open.lock().expect("connection counts").total == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().expect("connection counts");
        open.total -= 1;
        if let Some(client) = &self.client
            && let Some(count) = open.per_client.get_mut(client)
        {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(client);
            }
        }
        if open.total == 0 {
            self.admission.closed.notify_waiters();
        }
    }
}

/// Serves one connection until it ends, the client is too slow, or it is idle at shutdown.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    trusted: Arc<TrustedProxies>,
    limits: ConnectionLimits,
    shutdown: Shutdown,
    _ticket: Ticket,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            let activity = activity.clone();
            let trusted = trusted.clone();
            async move {
                let in_flight = InFlight::start(activity.clone());
                let mut request = request.map(|body| {
                    Body::new(WatchedBody {
                        inner: body,
                        activity,
                    })
                });
                request.extensions_mut().insert(ConnectInfo(peer));
                // Every log line of the request names its client.
                let client = ClientAddress::resolve(peer.ip(), request.headers(), &trusted);
                let span = tracing::info_span!("client", address = %client);
                let response = match router.oneshot(request).instrument(span).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| ResponseBody {
                    inner: body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        activity: activity.clone(),
    });
    // The watchdog below times the headers: hyper's own timer would also cut idle
    // keep-alive connections at the header timeout.
    let connection = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        let deadline = activity.deadline(&limits);
        let sleep = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = sleep => {
                if let Some((at, waiting_for)) = activity.deadline(&limits)
                    && at <= Instant::now()
                {
                    tracing::debug!(%peer, waiting_for, "connection closed: client too slow");
                    return;
                }
            }
            () = activity.changed.notified() => {}
            () = shutdown.triggered(), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

/// What a connection is doing, as far as its watchdog needs to know.
struct Activity {
    state: Mutex<ActivityState>,
    /// Told when a deadline may have come nearer.
    changed: Notify,
}

struct ActivityState {
    /// Requests being handled (at most one on HTTP/1, but counted to be safe).
    requests: usize,
    /// Whether a request was answered on this connection already.
    served: bool,
    /// When the connection opened or its last request was answered.
    idle_since: Instant,
    /// First byte of the next request, on a kept-alive connection.
    head_started: Option<Instant>,
    /// Since when a handler waits for more of the request body.
    body_waiting: Option<Instant>,
    /// When the handler began reading the request body, and how much of it it has had.
    body_started: Option<Instant>,
    body_received: u64,
    /// Since when the client does not take what is written to it.
    write_blocked: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            state: Mutex::new(ActivityState {
                requests: 0,
                served: false,
                idle_since: Instant::now(),
                head_started: None,
                body_waiting: None,
                body_started: None,
                body_received: 0,
                write_blocked: None,
            }),
            changed: Notify::new(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut ActivityState) -> bool) {
        let nearer = change(&mut self.state.lock().expect("connection activity"));
        if nearer {
            self.changed.notify_one();
        }
    }

    /// When the connection is to be closed if nothing happens, and what it then waits for.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, &'static str)> {
        let state = self.state.lock().expect("connection activity");
        let waiting = if state.requests == 0 {
            // The first request's headers are timed from the connection's opening.
            let head = if state.served {
                state.head_started
            } else {
                Some(state.idle_since)
            };
            Some(match head {
                Some(started) => (started + limits.header_read_timeout, "request headers"),
                None => (state.idle_since + limits.keep_alive_timeout, "next request"),
            })
        } else {
            None
        };
        let body = state
            .body_waiting
            .map(|since| (since + limits.body_read_timeout, "request body"));
        // Each byte received earns the time the minimum rate allows for it.
        let earned = Duration::from_secs_f64(
            state.body_received as f64 / limits.body_min_rate.max(1) as f64,
        );
        let body_rate = state.body_started.map(|since| {
            (
                since + limits.body_read_timeout + earned,
                "request body at the minimum rate",
            )
        });
        let write = state.write_blocked.map(|since| {
            (
                since + limits.body_read_timeout,
                "client to read the response",
            )
        });
        [waiting, body, body_rate, write]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
    }

    fn read(&self) {
        self.update(|s| {
            let first = s.requests == 0 && s.served && s.head_started.is_none();
            if first {
                s.head_started = Some(Instant::now());
            }
            first
        });
    }

    fn write_blocked(&self, blocked: bool) {
        self.update(|s| match (blocked, s.write_blocked) {
            (true, None) => {
                s.write_blocked = Some(Instant::now());
                true
            }
            (false, Some(_)) => {
                s.write_blocked = None;
                false
            }
            _ => false,
        });
    }

    fn body(&self, read: BodyRead) {
        self.update(|s| {
            let now = Instant::now();
            let started = s.body_started.is_none() && read != BodyRead::Done;
            if started {
                s.body_started = Some(now);
            }
            match read {
                BodyRead::Waiting => {
                    let waiting = s.body_waiting.is_none();
                    s.body_waiting.get_or_insert(now);
                    started || waiting
                }
                BodyRead::Received(bytes) => {
                    s.body_received += bytes as u64;
                    s.body_waiting = None;
                    started
                }
                BodyRead::Done => {
                    s.body_started = None;
                    s.body_received = 0;
                    s.body_waiting = None;
                    false
                }
            }
        });
    }
}

/// What reading the request body gave.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyRead {
    /// Nothing yet: the handler waits for the client.
    Waiting,
    /// This many bytes, and more to come.
    Received(usize),
    /// The end, or an error.
    Done,
}

/// A request being handled: from its headers read until its response is written (or
/// dropped). No header or keep-alive deadline runs meanwhile.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.update(|s| {
            s.requests += 1;
            s.head_started = None;
            true
        });
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|s| {
            s.requests -= 1;
            s.served = true;
            s.idle_since = Instant::now();
            s.head_started = None;
            s.body_waiting = None;
            s.body_started = None;
            s.body_received = 0;
            true
        });
    }
}

/// The socket, telling the watchdog when bytes arrive and when writes are stuck.
struct WatchedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl WatchedIo {
    fn noting_writes<T>(&self, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        self.activity.write_blocked(polled.is_pending());
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.noting_writes(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.noting_writes(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body, telling the watchdog while the handler waits for its next piece.
struct WatchedBody {
    inner: Incoming,
    activity: Arc<Activity>,
}

impl HttpBody for WatchedBody {
    type Data = <Incoming as HttpBody>::Data;
    type Error = <Incoming as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let read = match &polled {
            Poll::Pending => BodyRead::Waiting,
            Poll::Ready(Some(Ok(frame))) if !self.inner.is_end_stream() => {
                BodyRead::Received(frame.data_ref().map_or(0, |data| data.len()))
            }
            Poll::Ready(_) => BodyRead::Done,
        };
        self.activity.body(read);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        self.activity.body(BodyRead::Done);
    }
}

/// A response body that keeps its request in flight until hyper has taken all of it.
struct ResponseBody {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for ResponseBody {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_declares_its_exact_length() {
        let text = std::str::from_utf8(&REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{text}");
        let length = format!("content-length: {}", body.len());
        assert!(head.lines().any(|line| line == length), "{text}");
        assert!(body.starts_with("Trop de connexions"), "{text}");
    }

    #[test]
    fn per_client_and_total_caps_admit_up_to_their_limit_and_free_places_on_close() {
        let limits = ConnectionLimits {
            max_connections: 3,
            max_connections_per_client: 2,
            ..ConnectionLimits::default()
        };
        let admission = Arc::new(Admission::new(
            &limits,
            TrustedProxies::parse("10.0.0.1").unwrap(),
        ));
        let peer = |s: &str| -> SocketAddr { s.parse().unwrap() };
        let a1 = admission.admit(peer("192.0.2.1:1000")).unwrap();
        // Same IPv6 /64 counts as one client.
        let b1 = admission.admit(peer("[2001:db8::1]:1000")).unwrap();
        let _b2 = admission.admit(peer("[2001:db8::2]:1000")).unwrap();
        assert!(admission.admit(peer("[2001:db8::3]:1000")).is_none());
        // The total is reached: even a trusted proxy waits.
        assert!(admission.admit(peer("198.51.100.1:1000")).is_none());
        assert!(admission.admit(peer("10.0.0.1:1000")).is_none());
        drop(b1);
        let _b3 = admission.admit(peer("[2001:db8::3]:1000")).unwrap();
        drop(a1);
        // A trusted proxy is not capped per address.
        let _p1 = admission.admit(peer("10.0.0.1:1000")).unwrap();
        assert!(admission.admit(peer("10.0.0.1:1001")).is_none());
        assert_eq!(admission.open.lock().unwrap().total, 3);
    }
}
