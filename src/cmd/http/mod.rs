//! The HTTP server beostat's web pages run on (today the exporter's
//! `/metrics`; a later web view mounts its pages the same way): hyper 1.x
//! HTTP/1.1 on a tokio current-thread runtime.
//!
//! It owns the connection rules and nothing about what a page says:
//! - every connection is its own task, so a client that never reads, or a
//!   thousand that never send, cost a task each and delay nobody;
//! - at most [`Limits::max_connections`] connections are open at once; one
//!   more is accepted and closed at once (and counted), so the kernel's
//!   backlog never holds a scrape behind them;
//! - a request's head must arrive within [`Limits::header_read_timeout`]
//!   (counted from when the connection starts waiting for it, so an idle
//!   connection, new or kept alive, is closed after that long) and fit in
//!   [`Limits::max_request_bytes`] (hyper answers 431 beyond), and
//!   requests with a body are refused (413): pages only read;
//! - a reply that cannot move a byte for [`Limits::write_timeout`] (a
//!   client that stopped reading) ends its connection ([`timed_io`]);
//! - only GET and HEAD; `/` is a landing page linking every page, and
//!   `/-/healthy` answers 200 while the process serves.
//!
//! - optional TLS and basic auth from an exporter-toolkit web config file
//!   ([`web_config`]); with basic auth every path needs it.
//!
//! Pages do their heavy work off the I/O thread (`spawn_blocking`), so
//! one slow page never stalls the sockets of the others.

pub mod negotiate;
mod timed_io;
pub mod web_config;

use crate::error::{Error, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timed_io::TimedIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use web_config::{BasicAuth, WebConfig};

/// A reply: the whole body in memory (pages render before they answer).
pub type Reply = Response<Full<Bytes>>;

/// What a page is given: the request's method, URI and headers.
pub type RequestHead = Parts;

/// A page's answer, computed asynchronously.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// A page: answers the request head it is given.
pub type Handler = Arc<dyn Fn(RequestHead) -> ReplyFuture + Send + Sync>;

/// One page of a site.
#[derive(Clone)]
pub struct Page {
    /// Its path, e.g. `/metrics` (the query string is ignored).
    pub path: &'static str,
    /// One line for the landing page.
    pub title: &'static str,
    /// What answers it.
    pub handler: Handler,
}

/// What a server serves: its name (the landing page's title) and pages.
#[derive(Clone)]
pub struct Site {
    /// The program, e.g. `beostat-exporter`.
    pub name: &'static str,
    /// One paragraph for the landing page (plain text).
    pub description: String,
    /// The pages, linked from `/` in this order.
    pub pages: Vec<Page>,
}

/// The bounds every connection lives within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Largest request head (request line and headers), bytes; hyper
    /// cannot go below 8,192.
    pub max_request_bytes: usize,
    /// Time a connection may wait for a request head, idle included.
    pub header_read_timeout: Duration,
    /// Time a connection may wait to write without a byte moving.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_request_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(60),
        }
    }
}

/// The server's own counters (for the exporter's self-metrics).
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Connections accepted and served.
    pub connections_accepted: AtomicU64,
    /// Connections closed on arrival because `max_connections` were open.
    pub connections_refused: AtomicU64,
    /// Connections that ended in an error (timeouts, oversized heads,
    /// resets).
    pub connection_errors: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
}

/// A plain-text reply.
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    reply(status, "text/plain; charset=utf-8", body.into())
}

/// A reply with a content type.
pub fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Binds a listening socket at `address`: `HOST:PORT`, `[V6]:PORT`, or
/// `:PORT` for every address of both families (node_exporter's spelling).
/// Port 0 picks a free port.
pub fn bind(address: &str) -> Result<TcpListener> {
    let fail = |e: std::io::Error| Error::io(format!("listen on {address}"), e);
    let candidates: Vec<SocketAddr> = if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| {
            fail(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "expected HOST:PORT or :PORT",
            ))
        })?;
        // Both families on one socket; IPv4 alone where IPv6 is off.
        vec![
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)),
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port)),
        ]
    } else {
        address.to_socket_addrs().map_err(fail)?.collect()
    };
    let mut last = None;
    for candidate in candidates {
        match listen(candidate) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(fail(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address")
    })))
}

fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if address.is_ipv6() && address.ip().is_unspecified() {
        // `:PORT` means both families, as it does for node_exporter.
        socket.set_only_v6(false)?;
    }
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Lifts the soft limit on open files to the hard limit (as Go programs
/// such as node_exporter do at start), so `max_connections` is not cut
/// short by the usual soft limit of 1,024. Returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit are given a valid rlimit to fill or read.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

/// Serves `site` on `listener` until the process ends, with TLS and basic
/// auth as `web` asks. `blocking_threads` bounds the threads pages may run
/// their work on. Errors of single connections are counted, never fatal;
/// `log` receives the few lines worth an administrator's attention
/// (rate-limited).
pub fn serve(
    listener: TcpListener,
    site: Site,
    web: WebConfig,
    limits: Limits,
    stats: Arc<ServerStats>,
    blocking_threads: usize,
    log: fn(std::fmt::Arguments<'_>),
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(blocking_threads.max(1))
        .thread_name("beostat-http")
        .build()
        .map_err(|e| Error::io("start the HTTP runtime", e))?;
    runtime.block_on(accept_loop(
        listener,
        Arc::new(site),
        web,
        limits,
        stats,
        log,
    ))
}

async fn accept_loop(
    listener: TcpListener,
    site: Arc<Site>,
    web: WebConfig,
    limits: Limits,
    stats: Arc<ServerStats>,
    log: fn(std::fmt::Arguments<'_>),
) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| Error::io("register the listening socket", e))?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let tls = web.tls.map(tokio_rustls::TlsAcceptor::from);
    let auth = web.auth.map(Arc::new);
    let mut accept_errors = Throttle::default();
    let mut refusals = Throttle::default();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors or a connection reset before we
                // took it: wait a little rather than spin.
                accept_errors.note(log, format_args!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            stats.connections_refused.fetch_add(1, Ordering::Relaxed);
            refusals.note(
                log,
                format_args!(
                    "{} connections open (--web.max-connections): closing new ones",
                    limits.max_connections
                ),
            );
            drop(stream);
            continue;
        };
        stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
        stats.connections_open.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let site = site.clone();
        let stats = stats.clone();
        let tls = tls.clone();
        let auth = auth.clone();
        tokio::spawn(async move {
            let served = match tls {
                Some(tls) => {
                    // The handshake is part of reading the request: the
                    // same deadline.
                    match tokio::time::timeout(limits.header_read_timeout, tls.accept(stream)).await
                    {
                        Ok(Ok(stream)) => serve_connection(stream, site, auth, limits).await,
                        _ => false,
                    }
                }
                None => serve_connection(stream, site, auth, limits).await,
            };
            if !served {
                stats.connection_errors.fetch_add(1, Ordering::Relaxed);
            }
            stats.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
}

/// Serves HTTP/1.1 on one connection until it closes; false if it ended
/// in an error.
async fn serve_connection<S>(
    stream: S,
    site: Arc<Site>,
    auth: Option<Arc<BasicAuth>>,
    limits: Limits,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(TimedIo::new(stream, limits.write_timeout));
    let service = service_fn(move |request| {
        let site = site.clone();
        let auth = auth.clone();
        async move { Ok::<_, Infallible>(route(&site, auth, request).await) }
    });
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_request_bytes.max(8192))
        .serve_connection(io, service)
        .await
        .is_ok()
}

/// At most one log line a minute for a repeated condition, with the count
/// of the ones left out.
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    fn note(&mut self, log: fn(std::fmt::Arguments<'_>), message: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(60))
        {
            self.suppressed += 1;
            return;
        }
        if self.suppressed > 0 {
            log(format_args!(
                "{message} ({} more like this in the last minute)",
                self.suppressed
            ));
        } else {
            log(message);
        }
        self.last = Some(now);
        self.suppressed = 0;
    }
}

async fn route(site: &Site, auth: Option<Arc<BasicAuth>>, request: Request<Incoming>) -> Reply {
    let (head, body) = request.into_parts();
    drop(body);
    if let Some(auth) = auth {
        let authorization = head
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        // bcrypt is slow by design: off the I/O thread.
        let allowed = tokio::task::spawn_blocking(move || auth.allows(authorization.as_deref()))
            .await
            .unwrap_or(false);
        if !allowed {
            let mut response = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"beostat\""),
            );
            return response;
        }
    }
    if head.method != Method::GET && head.method != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let has_body = head.headers.contains_key(header::TRANSFER_ENCODING)
        || head
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if has_body {
        // Answering closes the connection: hyper does not read a body we
        // leave unread, so its bytes never reach memory.
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requests with a body are not served\n",
        );
    }
    match head.uri.path() {
        "/" => landing_page(site),
        "/-/healthy" => text(StatusCode::OK, "OK\n"),
        path => match site.pages.iter().find(|page| page.path == path) {
            Some(page) => (page.handler)(head).await,
            None => text(
                StatusCode::NOT_FOUND,
                format!("not found; see / for the pages of {}\n", site.name),
            ),
        },
    }
}

fn landing_page(site: &Site) -> Reply {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{name}</title></head>\n\
         <body>\n<h1>{name}</h1>\n<p>{description}</p>\n<ul>\n",
        name = escape_html(site.name),
        description = escape_html(&site.description),
    );
    for page in &site.pages {
        html.push_str(&format!(
            "<li><a href=\"{path}\">{path}</a>: {title}</li>\n",
            path = escape_html(page.path.trim_start_matches('/')),
            title = escape_html(page.title),
        ));
    }
    html.push_str("<li><a href=\"-/healthy\">-/healthy</a>: 200 OK while the server runs</li>\n");
    html.push_str(&format!(
        "</ul>\n<p>version {}</p>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    ));
    reply(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from(html),
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}
