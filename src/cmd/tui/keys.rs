//! The monitor's keys: the one table of keys (the help overlay, the man
//! page and docs/COMMANDS.md list the same), and what each key does to the
//! [`Screen`]. Pure: a key and a screen in, an [`Action`] out.

use super::app::{Screen, SortKey};
use super::filter::Filter;
use super::view::scrolled;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Every key, as the help lists it: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("? h", "list every key (any key closes the list)"),
    ("q Ctrl-C", "quit"),
    ("Esc", "leave detail or filter prompt, else quit"),
    ("↑ ↓ j k", "move the cursor (detail: scroll)"),
    ("← →", "grid: previous/next node; detail: same"),
    ("PgUp PgDn Space", "move a page"),
    ("Home End", "first / last node"),
    ("Enter", "detail of the node under the cursor"),
    ("s", "sort: node, CPU, load, memory, network"),
    ("S", "reverse the sort order"),
    ("n u l m w", "sort by node, CPU, load, memory, network"),
    ("/", "filter: 0-15,32  up  down  host name"),
    ("c", "Classic table / compact grid"),
    ("r", "read the files now"),
    ("mouse", "wheel moves; click selects, again opens"),
];

/// What the sizes of the drawn screen are, for keys that move by a page
/// or a grid line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    /// Table rows (or grid lines, or detail lines) visible at once.
    pub page: usize,
    /// Nodes per grid line.
    pub per_line: usize,
}

/// What a key asks of the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the monitor.
    Quit,
    /// Draw again.
    Redraw,
    /// Read the files now, then draw.
    Refresh,
    /// Nothing changed.
    Nothing,
}

/// Applies `key` to `screen`.
pub fn handle_key(key: KeyEvent, screen: &mut Screen, view: Viewport) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::Nothing;
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return Action::Quit;
    }
    if let Some(text) = screen.prompt.as_mut() {
        match key.code {
            KeyCode::Enter => {
                let filter = Filter::parse(text);
                screen.prompt = None;
                screen.set_filter(filter);
            }
            KeyCode::Esc => screen.prompt = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => return Action::Nothing,
        }
        return Action::Redraw;
    }
    if screen.help {
        // Any key closes the help, and only closes it.
        screen.help = false;
        return Action::Redraw;
    }
    match key.code {
        KeyCode::Char('q') => return Action::Quit,
        KeyCode::Char('?') | KeyCode::Char('h') => screen.help = true,
        KeyCode::Char('r') => return Action::Refresh,
        KeyCode::Esc if screen.detail.is_some() => screen.detail = None,
        KeyCode::Esc => return Action::Quit,
        _ if screen.detail.is_some() => return detail_key(key, screen, view),
        KeyCode::Char('c') => {
            screen.compact = !screen.compact;
            screen.offset = 0;
        }
        KeyCode::Char('/') => screen.prompt = Some(screen.filter.text().to_string()),
        KeyCode::Char('s') => screen.sort_by(screen.sort.next()),
        KeyCode::Char('S') => screen.sort_by(screen.sort),
        KeyCode::Char('n') => screen.sort_by(SortKey::Node),
        KeyCode::Char('u') => screen.sort_by(SortKey::Cpu),
        KeyCode::Char('l') => screen.sort_by(SortKey::Load),
        KeyCode::Char('m') => screen.sort_by(SortKey::Memory),
        KeyCode::Char('w') => screen.sort_by(SortKey::Network),
        KeyCode::Enter => {
            let visible = screen.visible();
            if let Some(node) = visible.get(screen.cursor_position(&visible)) {
                screen.detail = Some(node.row.node);
                screen.detail_offset = 0;
            }
        }
        KeyCode::Down | KeyCode::Char('j') if screen.compact => grid_line(screen, view, true),
        KeyCode::Up | KeyCode::Char('k') if screen.compact => grid_line(screen, view, false),
        KeyCode::Down | KeyCode::Char('j') => screen.move_cursor(1),
        KeyCode::Up | KeyCode::Char('k') => screen.move_cursor(-1),
        KeyCode::Right => screen.move_cursor(1),
        KeyCode::Left => screen.move_cursor(-1),
        KeyCode::PageDown | KeyCode::Char(' ') => screen.move_cursor(page(screen, view)),
        KeyCode::PageUp => screen.move_cursor(-page(screen, view)),
        KeyCode::Home => screen.move_cursor(isize::MIN / 2),
        KeyCode::End => screen.move_cursor(isize::MAX / 2),
        _ => return Action::Nothing,
    }
    follow_cursor(screen, view);
    Action::Redraw
}

/// Scrolls just enough to keep the cursor on the screen, so the view moves
/// only when the cursor would leave it.
fn follow_cursor(screen: &mut Screen, view: Viewport) {
    let visible = screen.visible();
    let (cursor, count) = if screen.compact {
        let per_line = view.per_line.max(1);
        let highest = visible.iter().map(|n| n.row.node).max().unwrap_or(0).max(0);
        let cursor = screen.cursor.unwrap_or(0).max(0) as usize;
        (cursor / per_line, highest as usize / per_line + 1)
    } else {
        (screen.cursor_position(&visible), visible.len())
    };
    screen.offset = scrolled(screen.offset, cursor, count, view.page);
}

/// How far a page moves the cursor: a screenful of rows, or of grid lines.
fn page(screen: &Screen, view: Viewport) -> isize {
    let nodes = if screen.compact {
        view.page * view.per_line
    } else {
        view.page
    };
    nodes.max(1) as isize
}

/// The grid's up and down: the node one line (`per_line` numbers) away.
fn grid_line(screen: &mut Screen, view: Viewport, downward: bool) {
    let Some(here) = screen.cursor else {
        return;
    };
    let step = view.per_line.max(1) as i64;
    let target = if downward {
        i64::from(here) + step
    } else {
        i64::from(here) - step
    };
    screen.move_cursor_to_number(target, downward);
}

/// Keys while one node's detail is open: scroll it, or step to the
/// previous or next node of the table.
fn detail_key(key: KeyEvent, screen: &mut Screen, view: Viewport) -> Action {
    let step = view.page.max(1);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => screen.detail_offset += 1,
        KeyCode::Up | KeyCode::Char('k') => {
            screen.detail_offset = screen.detail_offset.saturating_sub(1);
        }
        KeyCode::PageDown | KeyCode::Char(' ') => screen.detail_offset += step,
        KeyCode::PageUp => screen.detail_offset = screen.detail_offset.saturating_sub(step),
        KeyCode::Home => screen.detail_offset = 0,
        KeyCode::Left | KeyCode::Right => {
            screen.cursor = screen.detail;
            screen.move_cursor(if key.code == KeyCode::Left { -1 } else { 1 });
            screen.detail = screen.cursor;
            screen.detail_offset = 0;
        }
        KeyCode::Enter => screen.detail = None,
        _ => return Action::Nothing,
    }
    Action::Redraw
}

#[cfg(test)]
mod tests {
    use super::super::app::testing;
    use super::*;
    use crate::shm::NodeState;

    fn press(screen: &mut Screen, code: KeyCode) -> Action {
        let view = Viewport {
            page: 10,
            per_line: 20,
        };
        handle_key(KeyEvent::new(code, KeyModifiers::NONE), screen, view)
    }

    /// `count` up nodes, node N at N% CPU.
    fn screen(count: i32) -> Screen {
        testing::screen(
            (0..count)
                .map(|n| testing::info(n, NodeState::Up, &[n as f32 / 100.0], 0.0))
                .collect(),
        )
    }

    #[test]
    fn keys_move_the_cursor_by_rows_pages_and_grid_lines() {
        let mut s = screen(60);
        assert_eq!(press(&mut s, KeyCode::PageDown), Action::Redraw);
        assert_eq!(s.cursor, Some(10));
        press(&mut s, KeyCode::End);
        assert_eq!(s.cursor, Some(59));
        press(&mut s, KeyCode::Up);
        assert_eq!(s.cursor, Some(58));
        press(&mut s, KeyCode::Home);
        assert_eq!(s.cursor, Some(0));
        press(&mut s, KeyCode::Char('c'));
        assert!(s.compact);
        press(&mut s, KeyCode::Down);
        assert_eq!(s.cursor, Some(20), "one grid line of 20");
        press(&mut s, KeyCode::Right);
        assert_eq!(s.cursor, Some(21));
    }

    #[test]
    fn help_opens_and_any_key_closes_it() {
        let mut s = screen(3);
        press(&mut s, KeyCode::Char('?'));
        assert!(s.help);
        assert_eq!(press(&mut s, KeyCode::Char('q')), Action::Redraw);
        assert!(!s.help, "q closes the help before it quits");
        press(&mut s, KeyCode::Char('h'));
        assert!(s.help);
    }

    #[test]
    fn the_filter_prompt_takes_text_until_enter() {
        let mut s = screen(40);
        press(&mut s, KeyCode::Char('/'));
        for c in "30-3x".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        press(&mut s, KeyCode::Backspace);
        press(&mut s, KeyCode::Char('2'));
        assert_eq!(s.prompt.as_deref(), Some("30-32"));
        press(&mut s, KeyCode::Enter);
        assert_eq!(s.prompt, None);
        let shown: Vec<i32> = s.visible().iter().map(|n| n.row.node).collect();
        assert_eq!(shown, [30, 31, 32]);
        assert_eq!(s.cursor, Some(30));
        press(&mut s, KeyCode::Char('/'));
        assert_eq!(s.prompt.as_deref(), Some("30-32"), "starts from the filter");
        press(&mut s, KeyCode::Esc);
        assert_eq!(s.filter.text(), "30-32", "Esc keeps the old filter");
    }

    #[test]
    fn enter_opens_the_detail_and_arrows_step_through_nodes() {
        let mut s = screen(5);
        press(&mut s, KeyCode::Char('u'));
        // Sorted by CPU, busiest first: 4, 3, 2, 1, 0.
        press(&mut s, KeyCode::Home);
        press(&mut s, KeyCode::Enter);
        assert_eq!(s.detail, Some(4));
        press(&mut s, KeyCode::Right);
        assert_eq!(s.detail, Some(3), "the next node of the table's order");
        assert_eq!(press(&mut s, KeyCode::Esc), Action::Redraw);
        assert_eq!(s.detail, None);
        assert_eq!(s.cursor, Some(3));
        assert_eq!(press(&mut s, KeyCode::Esc), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let view = Viewport {
            page: 1,
            per_line: 10,
        };
        assert_eq!(handle_key(ctrl_c, &mut s, view), Action::Quit);
    }
}
