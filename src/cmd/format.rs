//! Human units for the text outputs: binary byte sizes, rates, ages and
//! percentages. Pure functions; every text output uses these, so one
//! change of style changes all of them.

/// How byte quantities are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    /// Binary units with one decimal: `512 B`, `1.5 KiB`, `3.0 GiB`.
    #[default]
    Human,
    /// The exact number of bytes.
    Bytes,
}

impl Units {
    /// `n` bytes in these units.
    pub fn bytes(self, n: u64) -> String {
        match self {
            Units::Human => bytes(n),
            Units::Bytes => n.to_string(),
        }
    }

    /// `n` bytes per second in these units.
    pub fn rate(self, n: u64) -> String {
        match self {
            Units::Human => format!("{}/s", bytes(n)),
            Units::Bytes => format!("{n} B/s"),
        }
    }
}

/// `n` bytes in binary units with one decimal (`1.0 KiB`); plain bytes below
/// 1 KiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    // 1023.96 KiB would print as "1024.0 KiB": move to the next unit.
    if format!("{value:.1}") == "1024.0" && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An age in seconds as the two largest units: `12s`, `3m12s`, `1h05m`,
/// `2d03h`.
pub fn age(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A fraction (0.0 to 1.0) as a whole percentage: `45%`.
pub fn percent(fraction: f32) -> String {
    format!("{:.0}%", (fraction * 100.0).clamp(0.0, 100.0))
}

/// How a node is named in text: `master` for -1, else its number.
pub fn node_label(node: i32) -> String {
    if node == super::MASTER {
        "master".to_string()
    } else {
        node.to_string()
    }
}

/// Lays out `rows` as columns separated by two spaces: the first
/// `left_columns` columns left-aligned, the others right-aligned (numbers).
/// Lines carry no trailing spaces.
pub fn align(rows: &[Vec<String>], left_columns: usize) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let pad = widths[c] - cell.chars().count();
                if c < left_columns {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                } else {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                }
            }
            line.truncate(line.trim_end().len());
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_use_binary_units_with_one_decimal() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(bytes(123_456_789), "117.7 MiB");
        assert_eq!(bytes((1 << 20) - 1), "1.0 MiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
        assert_eq!(Units::Bytes.bytes(1536), "1536");
        assert_eq!(Units::Human.rate(2048), "2.0 KiB/s");
    }

    #[test]
    fn ages_show_the_two_largest_units() {
        assert_eq!(age(0), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(192), "3m12s");
        assert_eq!(age(3600), "1h00m");
        assert_eq!(age(3 * 86_400 + 7200 + 5), "3d02h");
    }

    #[test]
    fn columns_align_left_then_right() {
        let rows = vec![
            vec!["name".to_string(), "bytes".to_string()],
            vec!["eth0".to_string(), "5".to_string()],
            vec!["lo".to_string(), "12345".to_string()],
        ];
        assert_eq!(
            align(&rows, 1),
            vec!["name  bytes", "eth0      5", "lo    12345"]
        );
    }

    #[test]
    fn percentages_are_whole_and_clamped() {
        assert_eq!(percent(0.456), "46%");
        assert_eq!(percent(1.5), "100%");
        assert_eq!(percent(0.0), "0%");
    }
}
