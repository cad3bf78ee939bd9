//! beostat-exporter's pages on the HTTP server ([`super::http`]):
//! `/metrics` (one scrape: read the files, render, gzip if asked) and
//! `/-/ready` (the files can be read).
//!
//! A scrape's work (reading every node, formatting, compressing) runs on
//! the runtime's blocking threads, at most `max_scrapes` at once; more
//! scrapes wait their turn (Prometheus servers of an HA pair scrape at the
//! same moment, and both should get an answer, not a 503). The I/O thread
//! only moves bytes, so a scrape in progress never delays another
//! connection's reading or writing.

use super::http::negotiate::{self, Format};
use super::http::{self, Handler, Page, Reply, RequestHead, ServerStats, Site};
use super::metrics::{self, ExporterCounters, Options};
use super::Snapshot;
use crate::error::Result;
use crate::shm::Reader;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// The exporter's state shared by its pages.
pub struct Exporter {
    program: &'static str,
    reader: Reader,
    per_cpu: bool,
    scrapes_at_once: Arc<Semaphore>,
    server: Arc<ServerStats>,
    /// Scrapes answered, by format (text, openmetrics) and gzip.
    scrapes: [[AtomicU64; 2]; 2],
    /// The last body's length: the next one's first allocation.
    last_len: AtomicUsize,
}

impl Exporter {
    /// An exporter reading `reader`'s files; `server` is the HTTP server's
    /// counters (exported with the scrape).
    pub fn new(
        program: &'static str,
        reader: Reader,
        per_cpu: bool,
        max_scrapes: usize,
        server: Arc<ServerStats>,
    ) -> Arc<Exporter> {
        Arc::new(Exporter {
            program,
            reader,
            per_cpu,
            scrapes_at_once: Arc::new(Semaphore::new(max_scrapes.max(1))),
            server,
            scrapes: Default::default(),
            last_len: AtomicUsize::new(0),
        })
    }

    /// The exporter's site: its pages on the server.
    pub fn site(self: &Arc<Self>) -> Site {
        let metrics: Handler = {
            let exporter = self.clone();
            Arc::new(move |head| Box::pin(exporter.clone().metrics(head)))
        };
        let ready: Handler = {
            let exporter = self.clone();
            Arc::new(move |_| {
                let reply = exporter.ready();
                Box::pin(async move { reply })
            })
        };
        Site {
            name: self.program,
            description: "Cluster status from the shared-memory files of recvstats, \
                          for Prometheus. Metric names: docs/COMMANDS.md."
                .to_string(),
            pages: vec![
                Page {
                    path: "/metrics",
                    title: "metrics (Prometheus text format or OpenMetrics, gzip when asked)",
                    handler: metrics,
                },
                Page {
                    path: "/-/ready",
                    title: "200 OK when the shared-memory files can be read, else 503",
                    handler: ready,
                },
            ],
        }
    }

    fn ready(&self) -> Reply {
        match self.reader.control() {
            Ok(_) => http::text(StatusCode::OK, "OK\n"),
            Err(e) => http::text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        }
    }

    async fn metrics(self: Arc<Self>, head: RequestHead) -> Reply {
        let value = |name| head.headers.get(name).and_then(|v| v.to_str().ok());
        let format = negotiate::format(value(header::ACCEPT));
        let gzip = negotiate::gzip(value(header::ACCEPT_ENCODING));
        let Ok(_turn) = self.scrapes_at_once.clone().acquire_owned().await else {
            return http::text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        };
        let exporter = self.clone();
        let scraped = tokio::task::spawn_blocking(move || exporter.scrape(format, gzip)).await;
        let body = match scraped {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                super::log(self.program, format_args!("scrape failed: {e}"));
                return http::text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n"));
            }
            Err(e) => {
                super::log(self.program, format_args!("scrape failed: {e}"));
                return http::text(StatusCode::INTERNAL_SERVER_ERROR, "scrape failed\n");
            }
        };
        let mut reply = http::reply(StatusCode::OK, format.content_type(), body);
        let headers = reply.headers_mut();
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        reply
    }

    /// One scrape's body, in `format`, gzipped if `gzip`.
    pub fn scrape(&self, format: Format, gzip: bool) -> Result<Bytes> {
        let started = Instant::now();
        let snapshot = Snapshot::read(&self.reader)?;
        let options = Options {
            per_cpu: self.per_cpu,
            format,
        };
        let mut body = String::with_capacity(self.last_len.load(Ordering::Relaxed) + 4096);
        let running = metrics::process_alive(snapshot.control.writer_pid);
        metrics::render(&mut body, &snapshot, options, Some(running), started);
        drop(snapshot);
        let counter = &self.scrapes[usize::from(format.is_open_metrics())][usize::from(gzip)];
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::exporter_families(&mut body, options, &self.counters());
        metrics::finish(&mut body, options);
        self.last_len.store(body.len(), Ordering::Relaxed);
        if !gzip {
            return Ok(Bytes::from(body.into_bytes()));
        }
        // Level 1: text this repetitive shrinks about tenfold already, at
        // a fraction of the default level's time (docs/PERFORMANCE.md).
        let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::fast());
        let compressed = encoder
            .write_all(body.as_bytes())
            .and_then(|()| encoder.finish())
            .map_err(|e| crate::error::Error::io("gzip a scrape", e))?;
        Ok(Bytes::from(compressed))
    }

    fn counters(&self) -> ExporterCounters {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        ExporterCounters {
            scrapes: [
                [load(&self.scrapes[0][0]), load(&self.scrapes[0][1])],
                [load(&self.scrapes[1][0]), load(&self.scrapes[1][1])],
            ],
            connections_accepted: load(&self.server.connections_accepted),
            connections_refused: load(&self.server.connections_refused),
            connection_errors: load(&self.server.connection_errors),
            connections_open: load(&self.server.connections_open),
        }
    }
}
