//! The mouse, for those who reach for it (every action also has a key):
//! the wheel moves the cursor (scrolls the detail), a click puts the
//! cursor on the node under it, and a click on the node already under the
//! cursor opens its detail. Positions are mapped with the same geometry
//! the view draws with ([`view::table_rows`], [`view::Grid`]).

use super::app::Screen;
use super::keys::Action;
use super::view::{self, Grid};
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

/// Rows the wheel moves per notch.
const WHEEL_STEP: usize = 3;

/// Applies `event` to `screen` drawn on a terminal of `size`.
pub fn handle_mouse(event: MouseEvent, screen: &mut Screen, size: Rect) -> Action {
    if screen.prompt.is_some() {
        return Action::Nothing;
    }
    let [_, body, _] = view::areas(size);
    let down = match event.kind {
        MouseEventKind::ScrollDown => true,
        MouseEventKind::ScrollUp => false,
        MouseEventKind::Down(MouseButton::Left) => {
            if screen.help {
                screen.help = false;
                return Action::Redraw;
            }
            return click(screen, body, event.column, event.row);
        }
        _ => return Action::Nothing,
    };
    if screen.help {
        return Action::Nothing;
    }
    if screen.detail.is_some() {
        screen.detail_offset = if down {
            screen.detail_offset + WHEEL_STEP
        } else {
            screen.detail_offset.saturating_sub(WHEEL_STEP)
        };
        return Action::Redraw;
    }
    let step = if screen.compact {
        Grid::of(screen, body).per_line
    } else {
        WHEEL_STEP
    };
    let by = if down {
        step as isize
    } else {
        -(step as isize)
    };
    screen.move_cursor(by);
    Action::Redraw
}

/// A left click at terminal cell (`x`, `y`).
fn click(screen: &mut Screen, body: Rect, x: u16, y: u16) -> Action {
    if screen.detail.is_some() || !body.contains((x, y).into()) {
        return Action::Nothing;
    }
    let y = y - body.y;
    let node = if screen.compact {
        Grid::of(screen, body)
            .number_at(x - body.x, y)
            .filter(|&n| screen.node(n).is_some_and(|n| screen.filter.matches(n)))
    } else {
        let nodes = screen.visible();
        let (offset, visible) = view::table_rows(screen, &nodes, body);
        // Line 0 is the heading.
        let row = (y as usize).checked_sub(1).filter(|&r| r < visible);
        row.and_then(|r| nodes.get(offset + r)).map(|n| n.row.node)
    };
    let Some(node) = node else {
        return Action::Nothing;
    };
    if screen.cursor == Some(node) {
        screen.detail = Some(node);
        screen.detail_offset = 0;
    } else {
        // Keep the view where it is: the clicked row is on screen.
        if !screen.compact {
            let nodes = screen.visible();
            screen.offset = view::table_rows(screen, &nodes, body).0;
        }
        screen.cursor = Some(node);
    }
    Action::Redraw
}

#[cfg(test)]
mod tests {
    use super::super::app::testing::{info, screen};
    use super::super::view::draw;
    use super::*;
    use crate::shm::NodeState;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::KeyModifiers;
    use ratatui::Terminal;

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// Where `text` is drawn, as (column, line).
    fn find(screen: &Screen, size: Rect, text: &str) -> (u16, u16) {
        let mut terminal = Terminal::new(TestBackend::new(size.width, size.height)).unwrap();
        terminal.draw(|f| draw(f, screen)).unwrap();
        let buffer = terminal.backend().buffer();
        for y in 0..size.height {
            let line: Vec<String> = (0..size.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            for x in 0..size.width as usize {
                if line[x..].concat().starts_with(text) {
                    return (x as u16, y);
                }
            }
        }
        panic!("{text:?} is not drawn");
    }

    #[test]
    fn a_click_on_a_row_selects_its_node_and_a_second_opens_it() {
        let mut s = screen(
            (0..100)
                .map(|n| info(n, NodeState::Up, &[0.1], 0.0))
                .collect(),
        );
        let size = Rect::new(0, 0, 60, 12);
        let left = MouseEventKind::Down(MouseButton::Left);
        for _ in 0..5 {
            handle_mouse(mouse(MouseEventKind::ScrollDown, 0, 5), &mut s, size);
        }
        assert_eq!(s.cursor, Some(15));
        // Node 13's row, wherever the view drew it.
        let (x, y) = find(&s, size, "13 ");
        assert_eq!(
            handle_mouse(mouse(left, x, y), &mut s, size),
            Action::Redraw
        );
        assert_eq!(s.cursor, Some(13));
        assert_eq!(find(&s, size, "13 "), (x, y), "the view did not move");
        handle_mouse(mouse(left, x, y), &mut s, size);
        assert_eq!(s.detail, Some(13));
    }

    #[test]
    fn a_click_on_a_grid_cell_selects_that_node() {
        let mut s = screen(
            (-1..130)
                .map(|n| info(n, NodeState::Up, &[0.1], 0.0))
                .collect(),
        );
        s.compact = true;
        let size = Rect::new(0, 0, 60, 10);
        let left = MouseEventKind::Down(MouseButton::Left);
        // Node 73: on the line headed by its line's first number, after
        // the label and a space before each group of ten.
        let per_line = view::cells_per_line(size.width) as u16;
        let (node, first) = (73, 73 / per_line * per_line);
        let (x, y) = find(&s, size, &format!("{first:>5} "));
        let within = node - first;
        let cell = x + 5 + within / 10 * 11 + 1 + within % 10;
        handle_mouse(mouse(left, cell, y), &mut s, size);
        assert_eq!(s.cursor, Some(i32::from(node)));
        let (x, y) = find(&s, size, "master ");
        handle_mouse(mouse(left, x + 7, y), &mut s, size);
        assert_eq!(s.cursor, Some(-1));
        // A group's separating space is no node.
        let (x, y) = find(&s, size, &format!("{first:>5} "));
        assert_eq!(
            handle_mouse(mouse(left, x + 5 + 11, y), &mut s, size),
            Action::Nothing
        );
    }
}
