//! `--web.config.file`: TLS and basic auth, in the file format of
//! Prometheus's exporter-toolkit (so one file serves node_exporter and
//! beostat-exporter alike):
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # PEM; relative paths are relative to this file
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: ca.crt                          # with the above
//!   min_version: TLS12                              # optional: TLS12 or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':')
//! ```
//!
//! Owns reading and checking that file and deciding whether a request's
//! `Authorization` is good. Settings of the toolkit we do not implement
//! (cipher suites, curves, `http_server_config`, ...) are refused by name
//! rather than ignored: a file that asks for more than we do must not
//! serve with less. TLS is rustls with the *ring* provider.

use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    RootCertStore, ServerConfig,
};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    min_version: Option<String>,
    max_version: Option<String>,
}

/// What a web config file asks for.
pub struct WebConfig {
    /// TLS, when `tls_server_config` is given.
    pub tls: Option<Arc<ServerConfig>>,
    /// Basic auth, when `basic_auth_users` is not empty.
    pub auth: Option<BasicAuth>,
}

impl WebConfig {
    /// Reads and checks `path`; every error names the file and the setting.
    pub fn load(path: &Path) -> Result<WebConfig> {
        let invalid = |what: String| {
            Error::io(
                format!("web config {}", path.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidData, what),
            )
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("read web config {}", path.display()), e))?;
        let file: File = serde_yaml_ng::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = match file.tls_server_config {
            Some(tls) => Some(Arc::new(tls_config(&tls, base).map_err(invalid)?)),
            None => None,
        };
        let auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            for (user, hash) in &file.basic_auth_users {
                // Checked now so a typo fails at start, not at each scrape.
                bcrypt::verify("", hash).map_err(|e| {
                    invalid(format!("basic_auth_users: {user}: not a bcrypt hash: {e}"))
                })?;
            }
            Some(BasicAuth {
                users: file.basic_auth_users,
                verified: Mutex::new(HashSet::new()),
            })
        };
        Ok(WebConfig { tls, auth })
    }
}

fn tls_config(tls: &TlsFile, base: &Path) -> std::result::Result<ServerConfig, String> {
    let resolve = |p: &PathBuf| base.join(p);
    let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
        return Err("tls_server_config needs cert_file and key_file".into());
    };
    let read = |what: &str, path: &Path| {
        std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
    };
    let cert_pem = read("cert_file", &resolve(cert_file))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("cert_file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("cert_file {}: no certificate", cert_file.display()));
    }
    let key_pem = read("key_file", &resolve(key_file))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| format!("key_file: {e}"))?;

    let version = |name: &Option<String>, default| match name.as_deref() {
        None => Ok(default),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(other) => Err(format!(
            "TLS version {other} not supported (TLS12 or TLS13)"
        )),
    };
    let (min, max) = (
        version(&tls.min_version, 12)?,
        version(&tls.max_version, 13)?,
    );
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, version)| version)
            .collect();
    if versions.is_empty() {
        return Err("min_version is above max_version".into());
    }
    // ring, not rustls' default aws-lc-rs: it builds with a C compiler
    // alone, quickly. rustls marks it deprecated because it offers no
    // post-quantum key exchange (X25519MLKEM768); classic X25519 and the
    // NIST curves remain. Switching is a feature flag and this line.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let client_auth = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match client_auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
            let Some(ca_file) = &tls.client_ca_file else {
                return Err(format!(
                    "client_auth_type {client_auth} needs client_ca_file"
                ));
            };
            let pem = read("client_ca_file", &resolve(ca_file))?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("client_ca_file: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("client_ca_file: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if client_auth == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "client_auth_type {other} not supported (NoClientCert, \
                 VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ))
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("cert_file and key_file: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `basic_auth_users`: names and bcrypt hashes.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// SHA-256 of `user:password` pairs bcrypt has accepted, so a scrape
    /// every 15 s does not pay bcrypt's deliberate slowness each time (as
    /// exporter-toolkit caches too). Bounded by the number of users as
    /// long as passwords do not change; cleared when it grows past 1024.
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl BasicAuth {
    /// Whether an `Authorization` header value is a user's good password.
    /// Slow (bcrypt) the first time: call it off the I/O thread.
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(decode_basic) else {
            return false;
        };
        let Some(hash) = self.users.get(&user) else {
            // The same work as for a known user (bcrypt against some
            // user's hash, the answer thrown away), so a wrong name is not
            // told apart by time.
            if let Some(any) = self.users.values().next() {
                let _ = bcrypt::verify(&password, any);
            }
            return false;
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update(b":")
            .chain_update(&password)
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if self.lock().contains(&key) {
            return true;
        }
        if bcrypt::verify(&password, hash).unwrap_or(false) {
            let mut verified = self.lock();
            if verified.len() >= 1024 {
                verified.clear();
            }
            verified.insert(key);
            true
        } else {
            false
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `Basic BASE64(user:password)` → (user, password bytes).
fn decode_basic(header: &[u8]) -> Option<(String, Vec<u8>)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    if encoded.len() > 4096 {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode_and_junk_does_not() {
        assert_eq!(
            decode_basic(b"Basic cHJvbTpzM2NyZXQ="),
            Some(("prom".to_string(), b"s3cret".to_vec()))
        );
        assert_eq!(
            decode_basic(b"basic dTpwOnE="),
            Some(("u".to_string(), b"p:q".to_vec()))
        );
        assert_eq!(decode_basic(b"Bearer cHJvbTpzM2NyZXQ="), None);
        assert_eq!(decode_basic(b"Basic cHJvbTpzM2NyZXQ"), None, "unpadded");
        assert_eq!(
            decode_basic(b"Basic cHJv=TpzM2NyZXQ="),
            None,
            "inner padding"
        );
        assert_eq!(decode_basic(b"Basic bm9jb2xvbg=="), None, "no colon");
        assert_eq!(decode_basic(b"Basic !!!!"), None);
    }

    #[test]
    fn only_a_users_own_password_is_allowed() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth {
            users: [("prom".to_string(), hash)].into_iter().collect(),
            verified: Mutex::new(HashSet::new()),
        };
        assert!(auth.allows(Some(b"Basic cHJvbTpzM2NyZXQ=")));
        assert!(auth.allows(Some(b"Basic cHJvbTpzM2NyZXQ=")), "cached");
        // prom:wrong, other:s3cret, none.
        assert!(!auth.allows(Some(b"Basic cHJvbTp3cm9uZw==")));
        assert!(!auth.allows(Some(b"Basic b3RoZXI6czNjcmV0")));
        assert!(!auth.allows(None));
    }
}
