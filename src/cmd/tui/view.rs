//! Drawing the monitor: the title line, the body (Classic table, compact
//! grid or one node's detail), the bottom line (keys, the filter being
//! typed, or the last read's error) and the help over them.
//!
//! [`draw`] is a pure function of a [`Screen`]: tests render it into
//! ratatui's `TestBackend` and read the buffer.

use super::app::{NodeInfo, Screen};
use super::columns::{self, Column};
use super::detail;
use super::keys::KEYS;
use super::palette::{Palette, CURSOR, TITLE};
use crate::cmd::table::Level;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;
use std::time::Duration;

/// The title line, the body and the bottom line of a screen `area`.
pub fn areas(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Draws `screen` over the whole frame.
pub fn draw(frame: &mut Frame, screen: &Screen) {
    let [top, body, bottom] = areas(frame.area());
    let palette = Palette::new(screen.colour);

    frame.render_widget(Paragraph::new(title(screen, top.width)), top);
    match screen.detail.and_then(|n| screen.node(n)) {
        Some(node) => detail::draw(frame, body, node, screen.detail_offset, palette),
        None if screen.compact => draw_compact(frame, body, screen, palette),
        None => draw_classic(frame, body, screen, palette),
    }
    frame.render_widget(
        Paragraph::new(bottom_line(screen, palette, bottom.width)),
        bottom,
    );
    if screen.help {
        draw_help(frame, frame.area());
    }
}

/// Joins `parts` with two spaces, leaving out those that do not fit
/// (later parts go first); the first part is always kept.
fn fit_parts(parts: &[String], width: u16) -> String {
    let mut line = String::new();
    for (i, part) in parts.iter().enumerate() {
        let candidate = if i == 0 {
            part.clone()
        } else {
            format!("{line}  {part}")
        };
        if i == 0 || columns::width(&candidate) <= width as usize {
            line = candidate;
        }
    }
    line
}

/// The title: counts, then the view, its sort and filter, and the interval.
fn title(screen: &Screen, width: u16) -> Line<'static> {
    let (nodes, up, down) = screen.counts();
    let mut parts = vec![format!("beostatus  {nodes} nodes: {up} up, {down} down")];
    if !screen.filter.is_empty() {
        let shown = screen.visible().len();
        parts.push(format!("{shown} shown: {}", screen.filter.text()));
    }
    parts.push(format!("every {}", interval_text(screen.interval)));
    if screen.compact {
        parts.push("compact".into());
    } else {
        parts.push("classic".into());
        let arrow = if screen.descending { "↓" } else { "↑" };
        parts.push(format!("sort {}{arrow}", screen.sort.name()));
    }
    Line::styled(fit_parts(&parts, width), TITLE)
}

/// The bottom line: the filter being typed, else the error, else keys.
fn bottom_line(screen: &Screen, palette: Palette, width: u16) -> Line<'static> {
    if let Some(text) = &screen.prompt {
        return Line::from(format!("filter (0-15,32 up down name; Enter Esc): {text}▏"));
    }
    if let Some(e) = &screen.error {
        return Line::styled(
            format!(
                "error: {}",
                crate::cmd::escape::for_terminal(e.to_string().as_bytes())
            ),
            palette.error(),
        );
    }
    if screen.detail.is_some() {
        let parts = [
            "Esc back",
            "← → other node",
            "↑↓ scroll",
            "? help",
            "q quit",
        ];
        return Line::from(fit_parts(&parts.map(String::from), width));
    }
    let parts = [
        "q quit",
        "? help",
        "Enter detail",
        "/ filter",
        "s sort",
        "c classic/compact",
        "r refresh",
    ]
    .map(String::from);
    Line::from(fit_parts(&parts, width))
}

fn interval_text(interval: Duration) -> String {
    let secs = interval.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else {
        format!("{secs}s")
    }
}

/// The first item to show so that `cursor` is among the `visible` items
/// from `offset` on (and no space is wasted past the end).
pub fn scrolled(offset: usize, cursor: usize, count: usize, visible: usize) -> usize {
    let visible = visible.max(1);
    let offset = offset.min(count.saturating_sub(visible));
    if cursor < offset {
        cursor
    } else if cursor >= offset + visible {
        cursor + 1 - visible
    } else {
        offset
    }
}

/// `text` padded to `width` (left or right), cut with `…` if it is longer
/// (only host names can be: numbers set their column's width).
fn pad(text: &str, width: usize, left: bool) -> String {
    let have = columns::width(text);
    if have > width {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        return cut;
    }
    let fill = " ".repeat(width - have);
    if left {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

fn draw_classic(frame: &mut Frame, area: Rect, screen: &Screen, palette: Palette) {
    let nodes = screen.visible();
    let layout = columns::layout(&nodes, screen.cpu_columns, screen.sort, area.width);
    let heading: Vec<Span> = layout
        .iter()
        .enumerate()
        .flat_map(|(i, &(column, width))| {
            let gap = Span::raw(if i == 0 { "" } else { " " });
            let text = pad(&column.heading(), width, column.left_aligned());
            [gap, Span::styled(text, TITLE)]
        })
        .collect();
    let mut lines = vec![Line::from(heading)];

    let (offset, visible) = table_rows(screen, &nodes, area);
    let cursor = screen.cursor_position(&nodes);
    for (i, node) in nodes.iter().enumerate().skip(offset).take(visible) {
        let line = classic_row(node, &layout, palette);
        lines.push(if i == cursor {
            line.patch_style(CURSOR)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The table's first row shown (an index into `nodes`, the visible nodes)
/// and how many rows fit under the heading in the body `area`.
pub fn table_rows(screen: &Screen, nodes: &[&NodeInfo], area: Rect) -> (usize, usize) {
    let visible = area.height.saturating_sub(1) as usize;
    let cursor = screen.cursor_position(nodes);
    (
        scrolled(screen.offset, cursor, nodes.len(), visible),
        visible,
    )
}

fn classic_row(node: &NodeInfo, layout: &[(Column, usize)], palette: Palette) -> Line<'static> {
    let stale = !node.is_up();
    let mut spans = Vec::new();
    for (i, &(column, width)) in layout.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        if column == Column::Up {
            let glyph = palette.usable(node.row.available);
            spans.push(glyph);
            spans.push(Span::raw(" ".repeat(width.saturating_sub(1))));
            continue;
        }
        let text = pad(&column.text(node), width, column.left_aligned());
        let style = match column.busy(node) {
            Some(f) if !stale => palette.load(f),
            _ => Style::new(),
        };
        spans.push(Span::styled(text, style));
    }
    let line = Line::from(spans);
    if stale {
        // Last data, greyed out, as the Classic view showed it.
        line.patch_style(palette.stale())
    } else {
        line
    }
}

/// Nodes per grid line for a body `width` columns wide: groups of ten
/// cells and a space, after a 6-column label.
pub fn cells_per_line(width: u16) -> usize {
    let groups = (width.saturating_sub(6) / 11).max(1);
    groups as usize * 10
}

/// Where the compact grid puts its cells in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Whether the master has its own line at the top.
    pub master_line: bool,
    /// Lines above the grid (the master's, the legend).
    pub fixed: usize,
    /// Node numbers per grid line.
    pub per_line: usize,
    /// Cells in the grid: numbers 0 to the highest that reported.
    pub count: usize,
    /// First grid line shown.
    pub offset: usize,
    /// Grid lines that fit.
    pub visible: usize,
}

impl Grid {
    /// The grid of `screen` in the body `area`.
    pub fn of(screen: &Screen, area: Rect) -> Grid {
        let master_line = screen.node(crate::cmd::MASTER).is_some();
        let fixed = usize::from(master_line) + 1;
        let per_line = cells_per_line(area.width);
        let highest = screen.nodes.iter().map(|n| n.row.node).max().unwrap_or(-1);
        let count = (highest + 1).max(0) as usize;
        let nodes = screen.visible();
        let cursor_line = nodes
            .get(screen.cursor_position(&nodes))
            .map_or(0, |n| n.row.node.max(0) as usize / per_line);
        let visible = (area.height as usize).saturating_sub(fixed);
        let offset = scrolled(
            screen.offset,
            cursor_line,
            count.div_ceil(per_line),
            visible,
        );
        Grid {
            master_line,
            fixed,
            per_line,
            count,
            offset,
            visible,
        }
    }

    /// Column of node `number`'s cell on its line: a 5-column label, then
    /// a space before each group of ten.
    fn column(&self, number: usize) -> usize {
        let within = number % self.per_line;
        5 + within / 10 + 1 + within
    }

    /// The node number whose cell is at column `x` of body line `y`.
    pub fn number_at(&self, x: u16, y: u16) -> Option<i32> {
        let (x, y) = (x as usize, y as usize);
        if self.master_line && y == 0 {
            return (x == "master ".len()).then_some(crate::cmd::MASTER);
        }
        let line = self.offset + y.checked_sub(self.fixed)?;
        if y - self.fixed >= self.visible {
            return None;
        }
        let first = line * self.per_line;
        (first..(first + self.per_line).min(self.count))
            .find(|&n| self.column(n) == x)
            .map(|n| n as i32)
    }
}

fn draw_compact(frame: &mut Frame, area: Rect, screen: &Screen, palette: Palette) {
    let nodes = screen.visible();
    let cursor = nodes
        .get(screen.cursor_position(&nodes))
        .map(|n| n.row.node);
    let grid = Grid::of(screen, area);
    let cell = |number: i32| -> Span<'static> {
        let span = match screen.node(number) {
            Some(n) if !screen.filter.matches(n) => palette.hidden(),
            Some(n) => palette.level(n.row.level()),
            None if screen.filter.matches_missing(number) => palette.level(Level::Missing),
            None => palette.hidden(),
        };
        if cursor == Some(number) {
            span.patch_style(CURSOR)
        } else {
            span
        }
    };

    let mut lines = Vec::new();
    if grid.master_line {
        lines.push(Line::from(vec![
            Span::raw("master "),
            cell(crate::cmd::MASTER),
        ]));
    }
    let legend = [
        (Level::Idle, " <25% "),
        (Level::Light, " <50% "),
        (Level::Heavy, " <75% "),
        (Level::Busy, " busy "),
        (Level::Down, " down "),
        (Level::Missing, " none"),
    ];
    let mut legend_line = vec![Span::raw("CPU ")];
    for (level, text) in legend {
        legend_line.push(palette.level(level));
        legend_line.push(Span::raw(text));
    }
    lines.push(Line::from(legend_line));

    let per_line = grid.per_line;
    let line_count = grid.count.div_ceil(per_line);
    for line in (grid.offset..line_count).take(grid.visible) {
        let first = line * per_line;
        let mut spans = vec![Span::raw(format!("{first:>5}"))];
        for number in first..(first + per_line).min(grid.count) {
            if (number - first).is_multiple_of(10) {
                spans.push(Span::raw(" "));
            }
            spans.push(cell(number as i32));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The help: every key of [`KEYS`] in a box over the middle of the screen.
fn draw_help(frame: &mut Frame, area: Rect) {
    let keys_width = KEYS
        .iter()
        .map(|(k, _)| columns::width(k))
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(pad(keys, keys_width, true), TITLE),
                Span::raw("  "),
                Span::raw(*what),
            ])
        })
        .collect();
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
    let width = (widest + 2).min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    let box_area = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")),
        box_area,
    );
}

#[cfg(test)]
mod tests {
    use super::super::app::testing::{info, screen};
    use super::super::app::SortKey;
    use super::super::detail;
    use super::*;
    use crate::cmd::format::percent;
    use crate::shm::NodeState;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Color, Modifier};
    use ratatui::Terminal;

    fn render(screen: &Screen, width: u16, height: u16) -> ratatui::buffer::Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, screen)).unwrap();
        terminal.backend().buffer().clone()
    }

    fn line(buffer: &ratatui::buffer::Buffer, y: u16) -> String {
        (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect()
    }

    #[test]
    fn every_view_draws_in_tiny_terminals() {
        let mut s = screen(vec![
            info(-1, NodeState::Up, &[0.5], 0.0),
            info(7, NodeState::Down, &[1.0; 4], 2.0),
        ]);
        s.nodes[1].interfaces.push(super::super::app::Interface {
            name: "eth0".into(),
            received: 1,
            transmitted: 2,
            rates: Some((3, 4)),
        });
        for (compact, detail, help) in [
            (false, None, false),
            (true, None, false),
            (false, Some(7), false),
            (false, None, true),
        ] {
            s.compact = compact;
            s.detail = detail;
            s.help = help;
            render(&s, 1, 1);
            for (width, height) in [(5, 2), (12, 3), (20, 6)] {
                let buffer = render(&s, width, height);
                let corner = if help { "┌" } else { "b" };
                assert_eq!(buffer[(0, 0)].symbol(), corner, "title or help box");
            }
        }
    }

    #[test]
    fn a_narrow_table_keeps_the_column_it_is_sorted_by() {
        let nodes: Vec<_> = (0..3)
            .map(|n| info(n, NodeState::Up, &[0.5; 8], 10.0 + n as f32))
            .collect();
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let shown = |sort, width| -> Vec<Column> {
            columns::layout(&refs, 8, sort, width)
                .into_iter()
                .map(|(c, _)| c)
                .collect()
        };
        assert_eq!(
            shown(SortKey::Node, 30),
            [Column::Node, Column::State, Column::CpuAvg, Column::Memory]
        );
        // Load (5 wide with "10.00") pushes Memory out: 4+5+7+5 and gaps.
        assert_eq!(
            shown(SortKey::Load, 30),
            [Column::Node, Column::State, Column::CpuAvg, Column::Load]
        );
        assert_eq!(shown(SortKey::Node, 3), [Column::Node], "Node at the least");
    }

    #[test]
    fn many_cpus_get_bars_in_columns_and_whole_numbers() {
        let cpus: Vec<f32> = (0..64).map(|c| c as f32 / 63.0).collect();
        let node = info(0, NodeState::Up, &cpus, 1.0);
        for (width, columns) in [(100, 4), (40, 1)] {
            let lines = detail::lines(&node, width, Palette::new(true));
            let bars: Vec<String> = lines
                .iter()
                .map(|l| l.to_string())
                .filter(|l| l.starts_with("cpu"))
                .collect();
            assert_eq!(bars.len(), 64 / columns, "at {width}");
            for (i, bar) in bars.iter().enumerate() {
                assert!(Span::raw(bar.as_str()).width() <= width, "{bar}");
                let first = cpus[i];
                assert!(
                    bar.contains(&format!("cpu{i} ")) && bar.contains(&percent(first)),
                    "{bar}"
                );
                let last = (columns - 1) * bars.len() + i;
                assert!(bar.trim_end().ends_with(&percent(cpus[last])), "{bar}");
            }
        }
    }

    #[test]
    fn a_grid_of_ten_thousand_nodes_scrolls_to_the_cursor() {
        let mut s = screen(
            (0..10_000)
                .map(|n| info(n, NodeState::Up, &[(n % 4) as f32 / 4.0], 0.0))
                .collect(),
        );
        s.compact = true;
        s.cursor = Some(5000);
        let buffer = render(&s, 80, 24);
        let per_line = cells_per_line(80);
        let first = 5000 / per_line * per_line;
        let y = (0..24)
            .find(|&y| line(&buffer, y).starts_with(&format!("{first:>5} ")))
            .expect("the cursor's line is on screen");
        // Label, then a space before each group of ten.
        let offset = 5000 - first;
        let x = (5 + offset + offset / 10 + 1) as u16;
        assert!(buffer[(x, y)].modifier.contains(Modifier::REVERSED));
        assert_eq!(buffer[(x, y)].symbol(), "■");
        assert_eq!(
            buffer[(x, y)].fg,
            Color::Green,
            "node 5000 is at 0%: the idle colour"
        );
    }
}
