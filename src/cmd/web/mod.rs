//! The exporter's web view: a page of the cluster and of one node, served
//! on the exporter's HTTP server ([`super::http`]: same process, same TLS
//! and basic auth, read-only), and the JSON it polls ([`api`]).
//!
//! The page is plain HTML, CSS and one ES module under `web/` in the
//! source tree, compiled into the binary with `include_str!`: nothing is
//! fetched from anywhere but this server (the Content-Security-Policy says
//! so to the browser too), and there is no build step to keep.
//!
//! Pages:
//! - `/web`: the page (`/web/app.js`, `/web/style.css` its parts);
//! - `/api/cluster?metric=cpu|load|mem|net&idle=0.5`: every node number's
//!   state and one metric, the totals, and idle CPUs as
//!   `beostat_count_idle_cpus(idle)` counts them for the exporter's user;
//! - `/api/node?node=N`: one node (404 if it never reported).
//!
//! Both answer 503 with `{"error": ...}` when the files cannot be read
//! (recvstats stopped and its files are gone): the page shows a banner.
//! Reading runs on blocking threads, a few at once (`max_at_once`).

pub mod api;

use super::http::{self, negotiate, Handler, Page, Reply, RequestHead};
use super::metrics::process_alive;
use super::Snapshot;
use crate::error::{Error, Result};
use crate::shm::{now_ns, Reader};
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::Semaphore;

const INDEX_HTML: &str = include_str!("../../../web/index.html");
const APP_JS: &str = include_str!("../../../web/app.js");
const STYLE_CSS: &str = include_str!("../../../web/style.css");

/// Nothing but this server, no inline script: the page needs no more.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// A JSON body, or the status and message of why there is none.
type Built = std::result::Result<Bytes, (StatusCode, String)>;

/// The idle threshold when the query names none (the manual's example).
const DEFAULT_IDLE_THRESHOLD: f32 = 0.5;

/// The web view's state: the files it reads and its bound on reads at once.
pub struct Web {
    reader: Reader,
    at_once: Arc<Semaphore>,
}

impl Web {
    /// A web view reading `reader`'s files, at most `max_at_once` reads
    /// at a time.
    pub fn new(reader: Reader, max_at_once: usize) -> Arc<Web> {
        Arc::new(Web {
            reader,
            at_once: Arc::new(Semaphore::new(max_at_once.max(1))),
        })
    }

    /// The web view's pages, to add to a site.
    pub fn pages(self: &Arc<Self>) -> Vec<Page> {
        let asset = |body: &'static str, content_type: &'static str| -> Handler {
            Arc::new(move |_| Box::pin(async move { static_reply(body, content_type) }))
        };
        let cluster: Handler = {
            let web = self.clone();
            Arc::new(move |head| Box::pin(web.clone().answer(head, Web::cluster)))
        };
        let node: Handler = {
            let web = self.clone();
            Arc::new(move |head| Box::pin(web.clone().answer(head, Web::node)))
        };
        vec![
            Page {
                path: "/web",
                title: "the web view: every node, and one node in detail (live)",
                handler: asset(INDEX_HTML, "text/html; charset=utf-8"),
            },
            Page {
                path: "/web/app.js",
                title: "the web view's script",
                handler: asset(APP_JS, "text/javascript; charset=utf-8"),
            },
            Page {
                path: "/web/style.css",
                title: "the web view's style sheet",
                handler: asset(STYLE_CSS, "text/css; charset=utf-8"),
            },
            Page {
                path: "/api/cluster",
                title: "JSON for the web view: every node's state and one metric (?metric=cpu|load|mem|net&idle=0.5)",
                handler: cluster,
            },
            Page {
                path: "/api/node",
                title: "JSON for the web view: one node (?node=N)",
                handler: node,
            },
        ]
    }

    /// Runs `build` on a blocking thread and answers its JSON (gzipped
    /// when the client takes gzip).
    async fn answer(self: Arc<Self>, head: RequestHead, build: fn(&Web, &str) -> Built) -> Reply {
        let gzip = negotiate::gzip(
            head.headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
        let query = head.uri.query().unwrap_or("").to_string();
        let Ok(_turn) = self.at_once.clone().acquire_owned().await else {
            return error_reply(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into());
        };
        let web = self.clone();
        let built = tokio::task::spawn_blocking(move || {
            let body = build(&web, &query)?;
            if gzip {
                compress(&body).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
            } else {
                Ok(body)
            }
        })
        .await;
        let mut reply = match built {
            Ok(Ok(body)) => http::reply(StatusCode::OK, "application/json", body),
            Ok(Err((status, message))) => return error_reply(status, message),
            Err(_) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "failed".into()),
        };
        let headers = reply.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        reply
    }

    fn cluster(&self, query: &str) -> Built {
        let metric = match parameter(query, "metric") {
            None => api::Metric::Cpu,
            Some(name) => api::Metric::parse(name).ok_or_else(|| {
                bad_request(format!("metric {name:?}: expected cpu, load, mem or net"))
            })?,
        };
        let threshold = match parameter(query, "idle") {
            None => DEFAULT_IDLE_THRESHOLD,
            Some(text) => text
                .parse::<f32>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| bad_request(format!("idle {text:?}: expected a fraction")))?,
        };
        // The summaries, not a Snapshot: a few fields of each record, read
        // in the same pass that counts the idle CPUs (docs/PERFORMANCE.md,
        // "Web view").
        let control = self.reader.control().map_err(unavailable)?;
        let (uid, gids) = crate::capi::caller_credentials();
        let nodes = self
            .reader
            .summaries(threshold, uid, &gids)
            .map_err(unavailable)?;
        let running = process_alive(control.writer_pid);
        let document = api::cluster(now_ns(), &control, &nodes, metric, threshold, running);
        Ok(to_json(&document))
    }

    fn node(&self, query: &str) -> Built {
        let number: i32 = parameter(query, "node")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad_request("expected ?node=N (-1 is the master)".into()))?;
        let control = self.reader.control().map_err(unavailable)?;
        let counters = self.reader.counters().map_err(unavailable)?;
        let data = match self.reader.node(number) {
            Ok(data) => data,
            Err(e @ Error::UnknownNode(_)) => return Err((StatusCode::NOT_FOUND, e.to_string())),
            Err(e) => return Err(unavailable(e)),
        };
        let snapshot = Snapshot {
            taken_ns: now_ns(),
            control,
            counters,
            nodes: Vec::new(),
        };
        let running = process_alive(control.writer_pid);
        Ok(to_json(&api::node(&snapshot, &data, running)))
    }
}

/// The value of `name` in a query string (no percent-decoding: the
/// values this API takes are numbers and words).
fn parameter<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn bad_request(message: String) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, message)
}

fn unavailable(e: Error) -> (StatusCode, String) {
    (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

fn to_json(document: &impl Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(document).expect("the documents serialize"))
}

fn compress(body: &[u8]) -> Result<Bytes> {
    // Level 1, as for scrapes: the state string and small integers shrink
    // several times already.
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .map_err(|e| Error::io("gzip a web reply", e))
}

fn error_reply(status: StatusCode, message: String) -> Reply {
    #[derive(Serialize)]
    struct Failure {
        error: String,
    }
    let mut reply = http::reply(
        status,
        "application/json",
        to_json(&Failure { error: message }),
    );
    reply
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    reply
}

fn static_reply(body: &'static str, content_type: &'static str) -> Reply {
    let mut reply = http::reply(
        StatusCode::OK,
        content_type,
        Bytes::from_static(body.as_bytes()),
    );
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The files change only with the binary; a reload after an upgrade
    // must not keep the old script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    reply
}

#[cfg(test)]
mod tests {
    use super::parameter;

    #[test]
    fn parameter_finds_the_named_value_only() {
        assert_eq!(parameter("metric=net&idle=0.25", "idle"), Some("0.25"));
        assert_eq!(parameter("metric=net&idle=0.25", "metric"), Some("net"));
        assert_eq!(parameter("xmetric=net", "metric"), None);
        assert_eq!(parameter("", "node"), None);
    }
}
