//! beostat-exporter's HTTP side as a scraper and a hostile client meet it:
//! concurrent connections (a client that never reads and a thousand idle
//! ones do not delay a scrape), bounded requests, gzip and OpenMetrics
//! bodies checked by Prometheus's own `promtool`, and the landing, health
//! and readiness pages. The exposition's values are checked in
//! tests/commands.rs.
//!
//! The promtool checks are `#[ignore]`d where promtool may be missing;
//! CI installs it (Debian's `prometheus`) and runs them with `--ignored`.

use beostat::shm::{now_ns, NodeUpdate, ShmWriter, WriterOptions};
use beostat::types::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_rustls::rustls;

mod common;
use common::exporter::{Exporter, EXPORTER};

/// A hang guard for every read, never a speed limit: a healthy exporter
/// answers these in well under a second.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// Writes `nodes` nodes of `cpus` CPUs each (and 2 interfaces), all up.
fn write_cluster(dir: &Path, nodes: u32, cpus: u32) -> ShmWriter {
    let mut options = WriterOptions::new(dir);
    options.node_capacity = nodes;
    options.max_cpus = options.max_cpus.max(cpus);
    options.node_expiry_secs = 86_400;
    let mut writer = ShmWriter::open(&options).unwrap();
    let now = now_ns();
    let cpu = beostat_stat_cpu {
        user: 123_456,
        nice: 7,
        system: 23_456,
        idle: 9_876_543,
    };
    let stat = vec![cpu; cpus as usize];
    let mut eth0 = beostat_net_dev::default();
    eth0.set_name(b"eth0");
    eth0.recv.bytes = 1 << 40;
    let mut ib0 = eth0;
    ib0.set_name(b"ib0");
    for node in -1..nodes as i32 {
        let name = format!("n{node}");
        writer
            .update(
                node,
                &NodeUpdate {
                    time_ns: now,
                    name: Some(name.as_bytes()),
                    stat_cpu: Some(&stat),
                    net_dev: Some(&[eth0, ib0]),
                    loadavg: Some(beostat_loadavg {
                        load: [1.0, 2.0, 3.0],
                        num_active_procs: 2,
                        total_procs: 200,
                        last_pid: 99,
                    }),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    writer
}

/// A response: status line, headers (lower-cased names) and raw body.
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }
}

/// Sends `request` (without the final blank line) on a new connection,
/// with `Connection: close`, and reads the whole response.
fn exchange(address: &str, request: &str) -> Response {
    let stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    exchange_on(stream, address, request)
}

/// [`exchange`] on a connection already made (TLS).
fn exchange_on(mut stream: impl Read + Write, address: &str, request: &str) -> Response {
    write!(
        stream,
        "{request}\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(address: &str, path: &str, headers: &str) -> Response {
    let request = if headers.is_empty() {
        format!("GET {path} HTTP/1.1")
    } else {
        format!("GET {path} HTTP/1.1\r\n{headers}")
    };
    exchange(address, &request)
}

/// The value of an unlabelled sample, or of the first sample whose line
/// starts with `prefix`.
fn sample(body: &str, prefix: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {prefix}"))
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut text)
        .expect("a gzip body");
    text
}

/// Lifts this process's soft open-file limit to the hard one: the test
/// holds a thousand sockets.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit are given a valid rlimit.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(limit.rlim_cur >= 1100, "ulimit -Hn is {}", limit.rlim_cur);
}

// Regression: tiny_http served one request at a time, so a client that
// asked for /metrics and never read blocked every later scrape.
#[test]
fn a_client_that_never_reads_and_a_thousand_idle_ones_do_not_delay_a_scrape() {
    raise_open_file_limit();
    let dir = tempfile::tempdir().unwrap();
    // 2,000 nodes x 32 CPUs per CPU: a body of about 20 MB, far more than
    // the socket buffers between the exporter and a client that stops.
    let _writer = write_cluster(dir.path(), 2_000, 32);
    let exporter = Exporter::start(
        dir.path(),
        &[
            "--per-cpu",
            "--web.read-timeout",
            "3600",
            "--web.write-timeout",
            "3600",
        ],
    );
    let address = exporter.address.as_str();

    // The client that never reads: it asks in OpenMetrics, so a later
    // scrape can tell from the exporter's counters that it was served.
    let stuck = {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket
            .connect(&address.parse::<std::net::SocketAddr>().unwrap().into())
            .unwrap();
        let mut stream: TcpStream = socket.into();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {address}\r\n\
             Accept: application/openmetrics-text; version=1.0.0\r\n\r\n"
        )
        .unwrap();
        stream
    };
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();

    // Wait (gzip scrapes, small) until the exporter holds all of them and
    // has rendered the stuck client's reply.
    let mut waited = 0;
    loop {
        let probe = get(address, "/metrics", "Accept-Encoding: gzip");
        assert_eq!(probe.status, "HTTP/1.1 200 OK");
        let body = gunzip(&probe.body);
        let stuck_served = sample(
            &body,
            "beostat_exporter_scrapes_total{format=\"openmetrics\",encoding=\"identity\"}",
        );
        let open = sample(&body, "beostat_exporter_connections_open ");
        if stuck_served == 1.0 && open >= 1002.0 {
            break;
        }
        waited += 1;
        assert!(
            waited < 3000,
            "the exporter never took the connections: {open} open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The normal scrape, whole, while all of them are held.
    let scrape = get(address, "/metrics", "");
    assert_eq!(scrape.status, "HTTP/1.1 200 OK");
    let body = scrape.text();
    assert!(body.contains("beostat_node_up{node=\"1999\"} 1\n"));
    assert!(body.contains(
        "beostat_node_cpu_seconds_total{node=\"1999\",cpu=\"31\",mode=\"idle\"} 98765.43\n"
    ));
    assert!(sample(body, "beostat_exporter_connections_open ") >= 1002.0);
    assert!(body.len() > 10_000_000, "{} bytes", body.len());
    // The stuck client and the idle ones are still connected: nothing was
    // closed to make room.
    for stream in idle.iter().chain([&stuck]) {
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        match stream.peek(&mut byte) {
            Ok(0) => panic!("a held connection was closed"),
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
        }
    }
}

// Regression: a 512 MiB request line took the exporter from 40 to 570 MB.
#[test]
fn an_oversized_request_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path(), 4, 2);
    let exporter = Exporter::start(dir.path(), &[]);

    // A request head that fills the 16 KiB bound without ending: 431.
    // Exactly 16 KiB, so the exporter has read every byte when it answers
    // and closes (unread bytes would make the kernel reset the connection
    // and could lose the answer).
    let mut head = format!(
        "GET /metrics HTTP/1.1\r\nHost: {}\r\nX-Padding: ",
        exporter.address
    );
    head.push_str(&"a".repeat(16 * 1024 - head.len()));
    let mut stream = TcpStream::connect(&exporter.address).unwrap();
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );

    // A 256 MiB request line: the exporter hangs up long before it ends.
    let mut stream = TcpStream::connect(&exporter.address).unwrap();
    stream.set_write_timeout(Some(HANG_GUARD)).unwrap();
    stream.write_all(b"GET /").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let sent = (0..256).position(|_| stream.write_all(&chunk).is_err());
    assert!(sent.is_some(), "the exporter read a 256 MiB request line");
    drop(stream);

    // A request with a body: 413, the body never read.
    let with_body = exchange(
        &exporter.address,
        "GET /metrics HTTP/1.1\r\nContent-Length: 1000000000",
    );
    assert_eq!(with_body.status, "HTTP/1.1 413 Payload Too Large");

    let after = get(&exporter.address, "/metrics", "");
    assert_eq!(after.status, "HTTP/1.1 200 OK");
    let peak = exporter.peak_rss();
    assert!(peak < 64 << 20, "peak RSS {peak} bytes");
}

#[test]
fn landing_health_and_readiness_pages_and_only_get_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let writer = write_cluster(dir.path(), 4, 2);
    let exporter = Exporter::start(dir.path(), &[]);
    let address = exporter.address.as_str();

    let landing = get(address, "/", "");
    assert_eq!(landing.status, "HTTP/1.1 200 OK");
    assert_eq!(
        landing.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        landing.text().contains("<a href=\"metrics\">"),
        "{}",
        landing.text()
    );
    assert_eq!(get(address, "/-/healthy", "").status, "HTTP/1.1 200 OK");
    assert_eq!(get(address, "/-/ready", "").status, "HTTP/1.1 200 OK");
    assert_eq!(
        get(address, "/nothing", "").status,
        "HTTP/1.1 404 Not Found"
    );

    let post = exchange(address, "POST /metrics HTTP/1.1\r\nContent-Length: 0");
    assert_eq!(post.status, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let head = exchange(address, "HEAD /metrics HTTP/1.1");
    assert_eq!(head.status, "HTTP/1.1 200 OK");
    assert!(head.body.is_empty());

    let build = get(address, "/metrics", "");
    assert!(build.text().contains(&format!(
        "beostat_exporter_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    )));

    // Not ready once the files are gone; still healthy.
    drop(writer);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        get(address, "/-/ready", "").status,
        "HTTP/1.1 503 Service Unavailable"
    );
    assert_eq!(get(address, "/-/healthy", "").status, "HTTP/1.1 200 OK");
}

#[test]
fn gzip_and_open_metrics_are_negotiated_and_carry_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path(), 50, 4);
    let exporter = Exporter::start(dir.path(), &[]);
    let address = exporter.address.as_str();

    let plain = get(address, "/metrics", "");
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let zipped = get(address, "/metrics", "Accept-Encoding: gzip, deflate");
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert!(zipped.body.len() * 4 < plain.body.len());
    let open = get(
        address,
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    );
    assert_eq!(
        open.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(open.text().ends_with("# EOF\n"));
    assert!(open
        .text()
        .contains("# TYPE beostat_node_cpu_seconds counter\n"));

    // The same samples in all three, but for the exporter's own figures.
    let samples = |body: &str| -> Vec<String> {
        body.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("beostat_exporter_"))
            .map(str::to_string)
            .collect()
    };
    let expected = samples(plain.text());
    assert!(expected.len() > 50 * 30, "{} samples", expected.len());
    assert_eq!(samples(&gunzip(&zipped.body)), expected);
    assert_eq!(samples(open.text()), expected);
}

/// Runs `promtool check metrics` on `body`; returns its exit status and
/// its complaints.
fn promtool_check(body: &str) -> (bool, Vec<String>) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let complaints = String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect();
    (output.status.success(), complaints)
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); CI runs it"]
fn promtool_accepts_the_gzip_and_open_metrics_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path(), 100, 8);
    for extra in [&[][..], &["--per-cpu"][..]] {
        let exporter = Exporter::start(dir.path(), extra);
        let zipped = get(&exporter.address, "/metrics", "Accept-Encoding: gzip");
        assert_eq!(zipped.header("content-encoding"), Some("gzip"));
        let (clean, complaints) = promtool_check(&gunzip(&zipped.body));
        assert!(clean && complaints.is_empty(), "{complaints:?}");

        // promtool 2.42 reads only the 0.0.4 text format: it takes an
        // OpenMetrics counter's `_total` samples for a family of their own
        // without HELP. That, for exactly the counter families, must be
        // all it says; a line it could not parse would say more.
        let open = get(
            &exporter.address,
            "/metrics",
            "Accept: application/openmetrics-text; version=1.0.0\r\nAccept-Encoding: gzip",
        );
        assert_eq!(open.header("content-encoding"), Some("gzip"));
        let body = gunzip(&open.body);
        let mut counters: Vec<String> = body
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .map(|name| format!("{name}_total no help text"))
            .collect();
        counters.sort();
        let (_, mut complaints) = promtool_check(&body);
        complaints.sort();
        assert!(!counters.is_empty());
        assert_eq!(complaints, counters);
    }
}

/// A TLS client that trusts `cert` alone.
fn tls_client(cert: &rcgen::Certificate) -> std::sync::Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
        .unwrap();
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    std::sync::Arc::new(config)
}

fn tls_exchange(
    address: &str,
    client: &std::sync::Arc<rustls::ClientConfig>,
    request: &str,
) -> Response {
    let socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(client.clone(), name).unwrap();
    exchange_on(
        rustls::StreamOwned::new(connection, socket),
        address,
        request,
    )
}

#[test]
fn tls_and_basic_auth_from_an_exporter_toolkit_web_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path(), 4, 2);
    let web = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(web.path().join("server.crt"), certified.cert.pem()).unwrap();
    std::fs::write(
        web.path().join("server.key"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    // Paths relative to the file, as exporter-toolkit reads them.
    let config = web.path().join("web.yml");
    std::fs::write(
        &config,
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
             basic_auth_users:\n  prom: '{hash}'\n"
        ),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &["--web.config.file", config.to_str().unwrap()]);
    let address = exporter.address.as_str();
    let client = tls_client(&certified.cert);

    let anonymous = tls_exchange(address, &client, "GET /metrics HTTP/1.1");
    assert_eq!(anonymous.status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"beostat\"")
    );
    // prom:wrong, then prom:s3cret.
    let wrong = tls_exchange(
        address,
        &client,
        "GET /metrics HTTP/1.1\r\nAuthorization: Basic cHJvbTp3cm9uZw==",
    );
    assert_eq!(wrong.status, "HTTP/1.1 401 Unauthorized");
    for _ in 0..2 {
        let good = tls_exchange(
            address,
            &client,
            "GET /metrics HTTP/1.1\r\nAuthorization: Basic cHJvbTpzM2NyZXQ=",
        );
        assert_eq!(good.status, "HTTP/1.1 200 OK");
        assert!(good.text().contains("beostat_node_up{node=\"3\"} 1\n"));
    }
    // Plain HTTP on the TLS port gets no page. (The exporter may hang up
    // before the request is all written: a failed write is fine.)
    let mut plain = TcpStream::connect(address).unwrap();
    plain.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n");
    let _ = plain.write_all(request.as_bytes());
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(
        !String::from_utf8_lossy(&raw).contains("beostat_node_up"),
        "metrics served without TLS"
    );
}

#[test]
fn a_web_config_asking_for_what_we_do_not_do_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path(), 4, 2);
    let web = tempfile::tempdir().unwrap();
    for (text, expected) in [
        (
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
            "unknown field `cipher_suites`",
        ),
        ("basic_auth_users:\n  prom: plaintext\n", "prom: not a bcrypt hash"),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "missing.crt",
        ),
    ] {
        let config = web.path().join("web.yml");
        std::fs::write(&config, text).unwrap();
        let output = Command::new(EXPORTER)
            .arg("--shm-dir")
            .arg(dir.path())
            .args(["--listen", "127.0.0.1:0", "--web.config.file"])
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("beostat-exporter: ") && stderr.contains(expected),
            "{text:?}: {stderr}"
        );
    }
}

#[test]
fn connections_beyond_the_bound_are_closed_on_arrival_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = write_cluster(dir.path(), 4, 2);
    let exporter = Exporter::start(dir.path(), &["--web.max-connections", "5"]);
    let address = exporter.address.as_str();
    let held: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    // One more: accepted and closed at once, without an answer. (The five
    // are accepted in order, so the sixth is the one refused.)
    let mut extra = TcpStream::connect(address).unwrap();
    extra.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let _ = extra.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = extra.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // Once the held ones go, scrapes are served and the refusal counted.
    drop(held);
    // (Until the exporter has seen them close, a new connection may still
    // be refused: a reset, tried again.)
    let mut tries = 0;
    let body = loop {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        if answer.starts_with("HTTP/1.1 200 OK") {
            break answer;
        }
        tries += 1;
        assert!(tries < 1000, "never served again");
        std::thread::sleep(Duration::from_millis(10));
    };
    // The sixth, and any retried above.
    let refused = sample(&body, "beostat_exporter_connections_refused_total ");
    assert!(refused >= 1.0 && refused <= 1.0 + tries as f64, "{refused}");
}

#[test]
fn a_reply_to_a_client_that_stops_reading_is_abandoned_after_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // About 9 MB per CPU: more than the socket buffers can hold.
    let _writer = write_cluster(dir.path(), 1_000, 32);
    let exporter = Exporter::start(dir.path(), &["--per-cpu", "--web.write-timeout", "1"]);
    let address = exporter.address.as_str();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect(&address.parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    let mut stuck: TcpStream = socket.into();
    stuck.set_read_timeout(Some(HANG_GUARD)).unwrap();
    write!(stuck, "GET /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();

    // Wait (a bounded number of gzip scrapes) until the exporter counts a
    // connection that ended in an error: the stuck one, timed out.
    let mut tries = 0;
    while sample(
        &gunzip(&get(address, "/metrics", "Accept-Encoding: gzip").body),
        "beostat_exporter_connection_errors_total ",
    ) < 1.0
    {
        tries += 1;
        assert!(tries < 3000, "the stuck reply was never abandoned");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Now read: the reply stops short of its Content-Length.
    let mut raw = Vec::new();
    let _ = stuck.read_to_end(&mut raw);
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content-length");
    assert!(
        raw.len() - head_end < length,
        "{} of {length} bytes",
        raw.len() - head_end
    );
}
