//! `beostatus`'s terminal monitor: the Classic table or the compact grid,
//! sortable and filterable, with one node's detail on Enter and the keys
//! on `?`; refreshed every interval, drawn with ratatui on crossterm.
//!
//! - [`app`]: the state (nodes of the last read, cursor, sort, filter);
//! - [`filter`]: the `/` filter's words;
//! - [`keys`]: the key table and what each key does;
//! - [`mouse`]: wheel and clicks (optional: every action has a key);
//! - [`columns`]: the table's columns and which fit a width;
//! - [`view`]: drawing a frame ([`draw`] is a pure function of a [`Screen`];
//!   tests render it into ratatui's `TestBackend` and read the buffer);
//! - [`detail`]: one node's detail;
//! - [`palette`]: colours, and the characters used when `NO_COLOR` is set.
//!
//! [`run`] owns the terminal (raw mode, alternate screen, restored on every
//! exit path) and the event loop. A read that fails while running keeps
//! the last data on screen and shows the error in the bottom line: the
//! monitor outlives a recvstats restart.

pub mod app;
pub mod columns;
pub mod detail;
pub mod filter;
pub mod keys;
pub mod mouse;
pub mod palette;
pub mod view;

pub use app::Screen;
pub use palette::colour_wanted;
pub use view::{cells_per_line, draw};

use super::Snapshot;
use crate::error::{Error, Result};
use crate::shm::Reader;
use keys::{handle_key, Action, Viewport};
use mouse::handle_mouse;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::layout::Rect;
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
    /// Use colours ([`colour_wanted`]: not when `NO_COLOR` is set).
    pub colour: bool,
}

/// Runs the monitor until the user quits. `available` says whether the
/// caller may use a node (the Up column).
pub fn run(reader: &Reader, options: Options, available: impl Fn(i32) -> bool) -> Result<()> {
    // Fail with one line before touching the terminal if the files are bad.
    let first = Snapshot::read(reader)?;
    if !std::io::stdout().is_terminal() {
        return Err(Error::InvalidArgument(
            "standard output is not a terminal; use --once for text".into(),
        ));
    }
    let mut screen = Screen::new(&options);
    screen.update(&first, &available);
    let mut terminal = ratatui::try_init().map_err(|e| Error::io("set up the terminal", e))?;
    // ratatui's panic hook restores the terminal; release the mouse first.
    let restore_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        restore_hook(info);
    }));
    let result = execute!(std::io::stdout(), EnableMouseCapture)
        .map_err(|e| Error::io("set up the terminal", e))
        .and_then(|()| event_loop(&mut terminal, reader, &mut screen, options, available));
    // Restore even when the loop failed; report the loop's error first.
    let released = execute!(std::io::stdout(), DisableMouseCapture)
        .map_err(|e| Error::io("restore the terminal", e));
    let restored = ratatui::try_restore().map_err(|e| Error::io("restore the terminal", e));
    result.and(released).and(restored)
}

/// The sizes keys move by, for a terminal of `width` × `height`: the title,
/// the bottom line and the table's heading take three lines.
fn viewport(width: u16, height: u16) -> Viewport {
    Viewport {
        page: height.saturating_sub(3).max(1) as usize,
        per_line: cells_per_line(width),
    }
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    reader: &Reader,
    screen: &mut Screen,
    options: Options,
    available: impl Fn(i32) -> bool,
) -> Result<()> {
    let terminal_error = |e| Error::io("draw on the terminal", e);
    let mut next_read = Instant::now() + options.interval;
    loop {
        terminal.draw(|f| draw(f, screen)).map_err(terminal_error)?;
        let size = terminal.size().map_or(Rect::new(0, 0, 80, 24), |s| {
            Rect::new(0, 0, s.width, s.height)
        });
        let view = viewport(size.width, size.height);
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
                Event::Key(key) => match handle_key(key, screen, view) {
                    Action::Quit => return Ok(()),
                    Action::Redraw => break,
                    Action::Refresh => {
                        refresh = true;
                        break;
                    }
                    Action::Nothing => {}
                },
                Event::Mouse(mouse) => match handle_mouse(mouse, screen, size) {
                    Action::Nothing => {}
                    _ => break,
                },
                Event::Resize(..) => break,
                _ => {}
            }
        }
        if refresh {
            match Snapshot::read(reader) {
                Ok(snapshot) => screen.update(&snapshot, &available),
                Err(e) => screen.error = Some(e.to_string()),
            }
            next_read = Instant::now() + options.interval;
        }
    }
}
