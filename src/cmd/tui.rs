//! `beostatus`'s terminal monitor: the Classic table or the compact grid,
//! refreshed every interval, drawn with ratatui on crossterm.
//!
//! [`draw`] is a pure function of a [`Screen`] (tests render it into
//! ratatui's `TestBackend` and read the buffer); [`run`] owns the terminal
//! (raw mode, alternate screen, restored on every exit path) and the event
//! loop. A read that fails while running keeps the last data on screen and
//! shows the error in the status line: the monitor outlives a recvstats
//! restart.

use super::format::{bytes, node_label, percent};
use super::table::{grid, CpuColumns, Level, NodeRow};
use super::Snapshot;
use crate::error::{Error, Result};
use crate::shm::{NodeState, Reader};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How the monitor runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Time between reads of the files.
    pub interval: Duration,
    /// Start in the compact view.
    pub compact: bool,
    /// Per-CPU columns up to this many CPUs, else a summary.
    pub cpu_columns: usize,
}

/// Everything one frame shows.
#[derive(Debug, Clone)]
pub struct Screen {
    /// The rows, in node order.
    pub rows: Vec<NodeRow>,
    /// Compact grid (true) or Classic table.
    pub compact: bool,
    /// First row (Classic) or grid line (compact) shown.
    pub offset: usize,
    /// See [`Options::cpu_columns`].
    pub cpu_columns: usize,
    /// See [`Options::interval`].
    pub interval: Duration,
    /// The last read's error, if it failed (the rows are then older).
    pub error: Option<String>,
}

const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
const STALE: Style = Style::new().fg(Color::DarkGray);

/// Colour of a busy fraction: green idle to red busy.
fn load_colour(fraction: f32) -> Color {
    match fraction {
        x if x < 0.25 => Color::Green,
        x if x < 0.50 => Color::Yellow,
        x if x < 0.75 => Color::LightRed,
        _ => Color::Red,
    }
}

/// The compact grid's cell for a level.
fn level_span(level: Level) -> Span<'static> {
    match level {
        Level::Idle => Span::styled("■", Style::new().fg(Color::Green)),
        Level::Light => Span::styled("■", Style::new().fg(Color::Yellow)),
        Level::Heavy => Span::styled("■", Style::new().fg(Color::LightRed)),
        Level::Busy => Span::styled("■", Style::new().fg(Color::Red)),
        Level::Down => Span::styled("■", STALE.add_modifier(Modifier::DIM)),
        Level::Missing => Span::styled("·", STALE),
    }
}

/// Draws `screen` over the whole frame.
pub fn draw(frame: &mut Frame, screen: &Screen) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let up = screen
        .rows
        .iter()
        .filter(|r| r.state == NodeState::Up)
        .count();
    let title = format!(
        "beostatus  {} nodes: {up} up, {} down  every {}  {}",
        screen.rows.len(),
        screen.rows.len() - up,
        interval_text(screen.interval),
        if screen.compact { "compact" } else { "classic" },
    );
    frame.render_widget(Paragraph::new(Line::styled(title, TITLE)), top);

    if screen.compact {
        draw_compact(frame, body, screen);
    } else {
        draw_classic(frame, body, screen);
    }

    let status = match &screen.error {
        Some(e) => Line::styled(
            format!(
                "error: {}",
                super::escape::for_terminal(e.to_string().as_bytes())
            ),
            Style::new().fg(Color::Red),
        ),
        None => Line::from("q quit  c classic/compact  ↑↓ PgUp PgDn Home End scroll  r refresh"),
    };
    frame.render_widget(Paragraph::new(status), bottom);
}

fn interval_text(interval: Duration) -> String {
    let secs = interval.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else {
        format!("{secs}s")
    }
}

/// First item shown when `count` items scroll in `visible` lines.
fn clamp_offset(offset: usize, count: usize, visible: usize) -> usize {
    offset.min(count.saturating_sub(visible))
}

fn draw_classic(frame: &mut Frame, area: Rect, screen: &Screen) {
    let cpu = CpuColumns::choose(&screen.rows, screen.cpu_columns);
    let mut widths = vec![
        Constraint::Length(6),
        Constraint::Length(2),
        Constraint::Length(10),
    ];
    let cpu_headings = cpu.headings();
    widths.extend(
        cpu_headings
            .iter()
            .map(|h| Constraint::Length(h.len().max(4) as u16)),
    );
    widths.extend([
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(11),
    ]);

    let mut heading: Vec<Cell> = ["Node", "Up", "State"].map(Cell::from).to_vec();
    heading.extend(
        cpu_headings
            .into_iter()
            .map(|h| Cell::from(Line::from(h).right_aligned())),
    );
    heading.extend(
        ["Memory", "Swap", "Disk", "Network"].map(|h| Cell::from(Line::from(h).right_aligned())),
    );

    let visible = area.height.saturating_sub(1) as usize;
    let offset = clamp_offset(screen.offset, screen.rows.len(), visible);
    let rows = screen
        .rows
        .iter()
        .skip(offset)
        .take(visible)
        .map(|r| classic_row(r, cpu));
    let table = Table::new(rows, widths)
        .header(Row::new(heading).style(TITLE))
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn classic_row(row: &NodeRow, cpu: CpuColumns) -> Row<'static> {
    let stale = row.state == NodeState::Down;
    let right = |text: String| Cell::from(Line::from(text).right_aligned());
    let mut cells = vec![
        Cell::from(node_label(row.node)),
        if row.available {
            Cell::from(Span::styled("✓", Style::new().fg(Color::Green)))
        } else {
            Cell::from(Span::styled("✗", Style::new().fg(Color::Red)))
        },
        Cell::from(row.state_text()),
    ];
    for (text, fraction) in cpu.cells(row) {
        let cell = right(text);
        cells.push(match fraction {
            Some(f) if !stale => cell.style(Style::new().fg(load_colour(f))),
            _ => cell,
        });
    }
    let fraction = |f: Option<f32>| f.map_or("-".to_string(), percent);
    cells.push(right(fraction(row.memory)));
    cells.push(right(fraction(row.swap)));
    cells.push(right(fraction(row.disk)));
    cells.push(right(format!("{}/s", bytes(row.net_rate))));
    let row_widget = Row::new(cells);
    if stale {
        // Last data, greyed out, as the Classic view showed it.
        row_widget.style(STALE)
    } else {
        row_widget
    }
}

/// Nodes per grid line for a body `width` columns wide: groups of ten
/// cells and a space, after a 6-column label.
pub fn cells_per_line(width: u16) -> usize {
    let groups = (width.saturating_sub(6) / 11).max(1);
    groups as usize * 10
}

fn draw_compact(frame: &mut Frame, area: Rect, screen: &Screen) {
    let (master, cells) = grid(&screen.rows);
    let per_line = cells_per_line(area.width);
    let mut lines = Vec::new();
    if let Some(level) = master {
        lines.push(Line::from(vec![Span::raw("master "), level_span(level)]));
    }
    let legend = [
        (Level::Idle, " <25%  "),
        (Level::Light, " <50%  "),
        (Level::Heavy, " <75%  "),
        (Level::Busy, " busy  "),
        (Level::Down, " down"),
    ];
    let mut legend_line = vec![Span::raw("mean CPU: ")];
    for (level, text) in legend {
        legend_line.push(level_span(level));
        legend_line.push(Span::raw(text));
    }
    lines.push(Line::from(legend_line));
    let fixed = lines.len();
    let grid_lines: Vec<Line> = cells
        .chunks(per_line)
        .enumerate()
        .map(|(i, chunk)| {
            let mut spans = vec![Span::raw(format!("{:>5}", i * per_line))];
            for (j, &level) in chunk.iter().enumerate() {
                if j % 10 == 0 {
                    spans.push(Span::raw(" "));
                }
                spans.push(level_span(level));
            }
            Line::from(spans)
        })
        .collect();
    let visible = (area.height as usize).saturating_sub(fixed);
    let offset = clamp_offset(screen.offset, grid_lines.len(), visible);
    lines.extend(grid_lines.into_iter().skip(offset).take(visible));
    frame.render_widget(Paragraph::new(lines), area);
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Quit,
    Redraw,
    Refresh,
    Nothing,
}

fn handle_key(key: KeyEvent, screen: &mut Screen, page: usize) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::Nothing;
    }
    match key.code {
        KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Action::Quit,
        KeyCode::Char('c') => {
            screen.compact = !screen.compact;
            screen.offset = 0;
            Action::Redraw
        }
        KeyCode::Char('r') => Action::Refresh,
        KeyCode::Down | KeyCode::Char('j') => scroll(screen, |o| o.saturating_add(1)),
        KeyCode::Up | KeyCode::Char('k') => scroll(screen, |o| o.saturating_sub(1)),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll(screen, |o| o.saturating_add(page)),
        KeyCode::PageUp => scroll(screen, |o| o.saturating_sub(page)),
        KeyCode::Home => scroll(screen, |_| 0),
        KeyCode::End => scroll(screen, |_| usize::MAX),
        _ => Action::Nothing,
    }
}

fn scroll(screen: &mut Screen, to: impl Fn(usize) -> usize) -> Action {
    // Keep the offset within the items so scrolling back up responds at once.
    let items = if screen.compact {
        grid(&screen.rows).1.len()
    } else {
        screen.rows.len()
    };
    screen.offset = to(screen.offset).min(items.saturating_sub(1));
    Action::Redraw
}

/// Runs the monitor until the user quits. `rows` turns a snapshot into rows
/// (the caller knows who is asking, for the Up column).
pub fn run(
    reader: &Reader,
    options: Options,
    rows: impl Fn(&Snapshot) -> Vec<NodeRow>,
) -> Result<()> {
    // Fail with one line before touching the terminal if the files are bad.
    let first = Snapshot::read(reader)?;
    if !std::io::stdout().is_terminal() {
        return Err(Error::InvalidArgument(
            "standard output is not a terminal; use --once for text".into(),
        ));
    }
    let mut screen = Screen {
        rows: rows(&first),
        compact: options.compact,
        offset: 0,
        cpu_columns: options.cpu_columns,
        interval: options.interval,
        error: None,
    };
    let mut terminal = ratatui::try_init().map_err(|e| Error::io("set up the terminal", e))?;
    let result = event_loop(&mut terminal, reader, &mut screen, options, rows);
    // Restore even when the loop failed; report the loop's error first.
    let restored = ratatui::try_restore().map_err(|e| Error::io("restore the terminal", e));
    result.and(restored)
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    reader: &Reader,
    screen: &mut Screen,
    options: Options,
    rows: impl Fn(&Snapshot) -> Vec<NodeRow>,
) -> Result<()> {
    let terminal_error = |e| Error::io("draw on the terminal", e);
    let mut next_read = Instant::now() + options.interval;
    loop {
        terminal.draw(|f| draw(f, screen)).map_err(terminal_error)?;
        let page = terminal
            .size()
            .map_or(10, |s| s.height.saturating_sub(3).max(1) as usize);
        let mut refresh = false;
        loop {
            let wait = next_read.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                refresh = true;
                break;
            }
            if !event::poll(wait).map_err(terminal_error)? {
                continue;
            }
            match event::read().map_err(terminal_error)? {
                Event::Key(key) => match handle_key(key, screen, page) {
                    Action::Quit => return Ok(()),
                    Action::Redraw => break,
                    Action::Refresh => {
                        refresh = true;
                        break;
                    }
                    Action::Nothing => {}
                },
                Event::Resize(..) => break,
                _ => {}
            }
        }
        if refresh {
            match Snapshot::read(reader) {
                Ok(snapshot) => {
                    screen.rows = rows(&snapshot);
                    screen.error = None;
                }
                Err(e) => screen.error = Some(e.to_string()),
            }
            next_read = Instant::now() + options.interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn row(node: i32, state: NodeState, cpus: &[f32]) -> NodeRow {
        NodeRow {
            node,
            available: state == NodeState::Up,
            state,
            age_secs: 3600,
            cpus: cpus.to_vec(),
            memory: Some(0.5),
            swap: None,
            disk: Some(0.25),
            net_rate: 1024,
        }
    }

    fn screen(rows: Vec<NodeRow>, compact: bool) -> Screen {
        Screen {
            rows,
            compact,
            offset: 0,
            cpu_columns: 8,
            interval: Duration::from_secs(2),
            error: None,
        }
    }

    fn render(screen: &Screen, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, screen)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect()
    }

    #[test]
    fn keys_scroll_toggle_and_quit() {
        let mut s = screen(
            (0..30).map(|n| row(n, NodeState::Up, &[0.1])).collect(),
            false,
        );
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(
            handle_key(key(KeyCode::PageDown), &mut s, 10),
            Action::Redraw
        );
        assert_eq!(s.offset, 10);
        handle_key(key(KeyCode::End), &mut s, 10);
        assert_eq!(s.offset, 29);
        handle_key(key(KeyCode::Up), &mut s, 10);
        assert_eq!(s.offset, 28);
        assert_eq!(
            handle_key(key(KeyCode::Char('c')), &mut s, 10),
            Action::Redraw
        );
        assert!(s.compact);
        assert_eq!(s.offset, 0);
        assert_eq!(
            handle_key(key(KeyCode::Char('q')), &mut s, 10),
            Action::Quit
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(handle_key(ctrl_c, &mut s, 10), Action::Quit);
    }

    #[test]
    fn the_error_of_a_failed_read_replaces_the_key_help() {
        let mut s = screen(vec![row(0, NodeState::Up, &[0.1])], false);
        s.error = Some("/x/beostat: no such file".into());
        let lines = render(&s, 60, 5);
        assert_eq!(lines[4].trim_end(), "error: /x/beostat: no such file");
    }

    #[test]
    fn compact_grid_wraps_at_the_width_in_groups_of_ten() {
        assert_eq!(cells_per_line(80), 60);
        assert_eq!(cells_per_line(10), 10);
        let rows: Vec<NodeRow> = (0..25).map(|n| row(n, NodeState::Up, &[0.1])).collect();
        let lines = render(&screen(rows, true), 30, 6);
        assert_eq!(lines[2].trim_end(), "    0 ■■■■■■■■■■ ■■■■■■■■■■");
        assert_eq!(lines[3].trim_end(), "   20 ■■■■■");
    }
}
