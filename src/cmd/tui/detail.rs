//! One node's detail (Enter on a node): host name and last report age,
//! CPUs and load, a bar per CPU, memory and swap, disk, and each
//! interface with its rates. Lines are built to the body's width: bars
//! shrink, columns of the interface table drop whole, numbers are never
//! cut.

use super::app::NodeInfo;
use super::columns::width;
use super::palette::{Palette, TITLE};
use crate::cmd::format::{age, bytes, node_label, percent};
use crate::cmd::{memory_total, memory_used_by_programs};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// CPU bars per column before the bars are laid out in more columns.
const BARS_PER_COLUMN: usize = 16;
/// Narrowest and widest bar, in cells.
const BAR_MIN: usize = 10;
const BAR_MAX: usize = 40;
/// Space between columns of bars.
const BAR_GAP: usize = 3;

/// Draws `node`'s detail in `area`, from line `offset` on.
pub fn draw(frame: &mut Frame, area: Rect, node: &NodeInfo, offset: usize, palette: Palette) {
    let lines = lines(node, area.width as usize, palette);
    let offset = offset.min(lines.len().saturating_sub(1));
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((offset.min(u16::MAX as usize) as u16, 0));
    frame.render_widget(paragraph, area);
}

/// Every line of the detail for a body `width` cells wide.
pub fn lines(node: &NodeInfo, width: usize, palette: Palette) -> Vec<Line<'static>> {
    let row = &node.row;
    let mut who = node_label(row.node);
    if row.node != crate::cmd::MASTER {
        who = format!("node {who}");
    }
    if !node.name.is_empty() && node.name != who {
        who = format!("{who} ({})", node.name);
    }
    let state = if node.is_up() {
        format!("up, last report {} ago", age(row.age_secs))
    } else {
        format!(
            "down, last report {} ago; its last data:",
            age(row.age_secs)
        )
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(who, TITLE),
        Span::raw(format!("  {state}")),
    ])];

    let plural = if node.cpu_count == 1 { "" } else { "s" };
    let clock = if node.mhz > 0.0 {
        format!(" at {:.0} MHz", node.mhz)
    } else {
        String::new()
    };
    let l = &node.loadavg;
    lines.push(Line::from(format!(
        "{} CPU{plural}{clock}  load {:.2} {:.2} {:.2}  {}/{} running",
        node.cpu_count, l.load[0], l.load[1], l.load[2], l.num_active_procs, l.total_procs
    )));
    lines.extend(cpu_bars(node, width, palette));
    lines.push(Line::default());
    lines.extend(memory_lines(node).into_iter().map(Line::from));
    lines.push(Line::default());
    lines.extend(interface_lines(node, width).into_iter().map(Line::from));
    if !node.is_up() {
        lines = lines
            .into_iter()
            .map(|l| l.patch_style(palette.stale()))
            .collect();
    }
    lines
}

/// One bar per CPU (`cpu3 ████░░░░  45%`), in as many columns as keep
/// each under [`BARS_PER_COLUMN`] lines and fit the width.
fn cpu_bars(node: &NodeInfo, width: usize, palette: Palette) -> Vec<Line<'static>> {
    let cpus = &node.row.cpus;
    if cpus.is_empty() {
        return vec![Line::from("no CPU sample yet")];
    }
    let label_width = format!("cpu{}", cpus.len() - 1).len();
    let fixed = label_width + 1 + 1 + 4;
    let fit = ((width + BAR_GAP) / (fixed + BAR_MIN + BAR_GAP)).max(1);
    let columns = cpus.len().div_ceil(BARS_PER_COLUMN).min(fit).max(1);
    let cell = (width.saturating_sub(BAR_GAP * (columns - 1))) / columns;
    let bar = cell.saturating_sub(fixed).clamp(1, BAR_MAX);
    let per_column = cpus.len().div_ceil(columns);
    (0..per_column)
        .map(|line| {
            let mut spans = Vec::new();
            for column in 0..columns {
                let cpu = column * per_column + line;
                let Some(&fraction) = cpus.get(cpu) else {
                    break;
                };
                if column > 0 {
                    spans.push(Span::raw(" ".repeat(BAR_GAP)));
                }
                let filled = ((fraction.clamp(0.0, 1.0) * bar as f32).round() as usize).min(bar);
                spans.push(Span::raw(format!("{:<label_width$} ", format!("cpu{cpu}"))));
                spans.push(Span::styled("█".repeat(filled), palette.load(fraction)));
                spans.push(Span::raw("░".repeat(bar - filled)));
                spans.push(Span::raw(format!(" {:>4}", percent(fraction))));
            }
            Line::from(spans)
        })
        .collect()
}

fn memory_lines(node: &NodeInfo) -> Vec<String> {
    let m = &node.meminfo;
    let total = memory_total(m);
    let mut lines = Vec::new();
    if total > 0 {
        let programs = memory_used_by_programs(m);
        lines.push(format!(
            "memory {} of {} held by programs ({})",
            bytes(programs),
            bytes(total),
            percent((programs as f64 / total as f64) as f32)
        ));
        lines.push(format!(
            "       {} buffers, {} cache, {} free",
            bytes(m.buffers),
            bytes(m.cached),
            bytes(m.mem.free)
        ));
    } else {
        lines.push("memory not reported".into());
    }
    let swap_total = m.swap.used.saturating_add(m.swap.free);
    lines.push(if swap_total > 0 {
        format!(
            "swap   {} of {} used ({})",
            bytes(m.swap.used),
            bytes(swap_total),
            percent((m.swap.used as f64 / swap_total as f64) as f32)
        )
    } else {
        "swap   none".into()
    });
    lines.push(match node.disk {
        Some(d) => format!(
            "disk / {} of {} used ({}), {} available",
            bytes(d.size.saturating_sub(d.free)),
            bytes(d.size),
            percent(d.used_fraction()),
            bytes(d.avail)
        ),
        None => "disk   not reported".into(),
    });
    lines
}

/// The interfaces as a table: name, rates, then totals while they fit.
fn interface_lines(node: &NodeInfo, body_width: usize) -> Vec<String> {
    if node.interfaces.is_empty() {
        return vec!["no network interfaces reported".into()];
    }
    let rate = |r: Option<u64>| r.map_or("-".to_string(), |r| format!("{}/s", bytes(r)));
    let mut table: Vec<Vec<String>> = vec![["interface", "receive", "send", "received", "sent"]
        .map(String::from)
        .to_vec()];
    for i in &node.interfaces {
        table.push(vec![
            i.name.clone(),
            rate(i.rates.map(|r| r.0)),
            rate(i.rates.map(|r| r.1)),
            bytes(i.received),
            bytes(i.transmitted),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| table.iter().map(|row| width(&row[c])).max().unwrap_or(0))
        .collect();
    // Drop the totals, then the send rate, while the table is too wide.
    let mut shown = 5;
    while shown > 2 && widths[..shown].iter().sum::<usize>() + 2 * (shown - 1) > body_width {
        shown -= 1;
    }
    let mut lines = vec!["rates: between the last two reports seen (- until two)".to_string()];
    for row in &table {
        let mut line = String::new();
        for c in 0..shown {
            let cell = &row[c];
            let fill = " ".repeat(widths[c] - width(cell));
            if c == 0 {
                line.push_str(cell);
                line.push_str(&fill);
            } else {
                line.push_str("  ");
                line.push_str(&fill);
                line.push_str(cell);
            }
        }
        lines.push(line);
    }
    lines
}
