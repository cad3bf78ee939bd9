//! Content negotiation: which exposition format (`Accept`) and whether gzip
//! (`Accept-Encoding`) a scrape gets. Pure functions of the header values,
//! so every rule is a unit test.
//!
//! The rules are Prometheus client_golang's: the offer with the highest
//! `q` wins, ties go to the offer listed first by the client, `q=0`
//! refuses, and anything we do not understand falls back to the 0.0.4
//! text format (a scrape must never fail on a header).

/// An exposition format the exporter can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// OpenMetrics 1.0.0 (also served, identically, for 0.0.1).
    OpenMetrics(OpenMetricsVersion),
}

/// The OpenMetrics version a client asked for; the body is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMetricsVersion {
    /// 1.0.0 (or no version given).
    V1_0_0,
    /// 0.0.1, which older Prometheus servers ask for first.
    V0_0_1,
}

impl Format {
    /// The reply's Content-Type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics(OpenMetricsVersion::V1_0_0) => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
            Format::OpenMetrics(OpenMetricsVersion::V0_0_1) => {
                "application/openmetrics-text; version=0.0.1; charset=utf-8"
            }
        }
    }

    /// Whether this is OpenMetrics.
    pub fn is_open_metrics(self) -> bool {
        matches!(self, Format::OpenMetrics(_))
    }

    /// A short name for the exporter's own counters (`format` label).
    pub fn label(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::OpenMetrics(_) => "openmetrics",
        }
    }
}

/// One element of a comma-separated header: the value before the first
/// `;`, lower-cased and trimmed, and its `q` (1 when absent or unreadable,
/// clamped to 0..=1) and the other parameters.
struct Element<'a> {
    value: String,
    q: f32,
    params: Vec<(String, &'a str)>,
}

fn elements(header: &str) -> impl Iterator<Item = Element<'_>> {
    header.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let value = parts.next()?.trim().to_ascii_lowercase();
        if value.is_empty() {
            return None;
        }
        let mut q = 1.0f32;
        let mut params = Vec::new();
        for param in parts {
            let Some((key, val)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let val = val.trim().trim_matches('"');
            if key == "q" {
                q = val.parse::<f32>().unwrap_or(1.0).clamp(0.0, 1.0);
            } else {
                params.push((key, val));
            }
        }
        Some(Element { value, q, params })
    })
}

/// The format for an `Accept` header (`None`: the header was absent).
pub fn format(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Text;
    };
    let mut best: Option<(f32, Format)> = None;
    for element in elements(accept) {
        let version = element
            .params
            .iter()
            .find(|(key, _)| key == "version")
            .map(|(_, v)| *v);
        let offer = match element.value.as_str() {
            "application/openmetrics-text" => match version {
                None | Some("1.0.0") => Format::OpenMetrics(OpenMetricsVersion::V1_0_0),
                Some("0.0.1") => Format::OpenMetrics(OpenMetricsVersion::V0_0_1),
                Some(_) => continue,
            },
            // Any text/plain version gets 0.0.4: our names and labels are
            // the classic character set, which every text version reads.
            "text/plain" | "text/*" | "*/*" => Format::Text,
            _ => continue,
        };
        if element.q > 0.0 && best.is_none_or(|(q, _)| element.q > q) {
            best = Some((element.q, offer));
        }
    }
    best.map_or(Format::Text, |(_, format)| format)
}

/// Whether an `Accept-Encoding` header lets the reply be gzipped: `gzip`
/// (or `x-gzip`, or `*`) with a `q` above 0 that no other coding beats
/// but `identity`.
pub fn gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let mut gzip_q = None;
    let mut star_q = None;
    let mut identity_q = None;
    for element in elements(header) {
        match element.value.as_str() {
            "gzip" | "x-gzip" => gzip_q = Some(element.q),
            "*" => star_q = Some(element.q),
            "identity" => identity_q = Some(element.q),
            _ => {}
        }
    }
    let q = gzip_q.or(star_q).unwrap_or(0.0);
    q > 0.0 && q >= identity_q.unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,\
        text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    const PROMETHEUS_3: &str =
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
        application/openmetrics-text;version=0.0.1;q=0.4,\
        text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
        text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

    #[test]
    fn prometheus_servers_get_open_metrics_and_others_the_text_format() {
        let v1 = Format::OpenMetrics(OpenMetricsVersion::V1_0_0);
        assert_eq!(format(Some(PROMETHEUS_2_42)), v1);
        assert_eq!(format(Some(PROMETHEUS_3)), v1);
        assert_eq!(format(None), Format::Text);
        assert_eq!(format(Some("*/*")), Format::Text);
        assert_eq!(format(Some("text/html")), Format::Text);
        assert_eq!(format(Some("")), Format::Text);
        assert_eq!(
            format(Some("application/openmetrics-text; version=0.0.1")),
            Format::OpenMetrics(OpenMetricsVersion::V0_0_1)
        );
        assert_eq!(
            format(Some("application/openmetrics-text;q=0.2, text/plain;q=0.9")),
            Format::Text
        );
        assert_eq!(
            format(Some("application/openmetrics-text;version=2.0.0")),
            Format::Text,
            "a version we do not write"
        );
        assert_eq!(
            format(Some("application/openmetrics-text;q=0")),
            Format::Text,
            "q=0 refuses"
        );
    }

    #[test]
    fn gzip_only_when_asked_and_not_refused() {
        assert!(gzip(Some("gzip")));
        assert!(gzip(Some("deflate, GZIP;q=0.8")));
        assert!(gzip(Some("*")));
        assert!(gzip(Some("gzip, identity")));
        assert!(!gzip(None));
        assert!(!gzip(Some("")));
        assert!(!gzip(Some("br, deflate")));
        assert!(!gzip(Some("gzip;q=0")));
        assert!(!gzip(Some("*;q=0.5, gzip;q=0")));
        assert!(!gzip(Some("gzip;q=0.1, identity;q=0.9")));
    }
}
