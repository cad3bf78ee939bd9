//! How the monitor tells states apart: colours when the terminal may use
//! them, and characters that carry the same states when `NO_COLOR` is set
//! (<https://no-color.org>). Every style and state glyph of the monitor
//! comes from here, so no view can forget the colourless case.

use crate::cmd::table::Level;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

/// True unless `NO_COLOR` is set to a non-empty value.
pub fn colour_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Headings and the title.
pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);

/// The row or cell under the cursor: reversed, which needs no colour.
pub const CURSOR: Style = Style::new().add_modifier(Modifier::REVERSED);

/// The styles and glyphs of one mode (colour or not).
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    colour: bool,
}

impl Palette {
    /// Colours on or off.
    pub fn new(colour: bool) -> Palette {
        Palette { colour }
    }

    fn fg(self, colour: Color) -> Style {
        if self.colour {
            Style::new().fg(colour)
        } else {
            Style::new()
        }
    }

    /// Data of a node that stopped reporting: grey, or dim without colour
    /// (its State column says `down` either way).
    pub fn stale(self) -> Style {
        if self.colour {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// Error text.
    pub fn error(self) -> Style {
        self.fg(Color::Red)
    }

    /// A busy fraction (CPU use): green idle to red busy.
    pub fn load(self, fraction: f32) -> Style {
        self.fg(match fraction {
            x if x < 0.25 => Color::Green,
            x if x < 0.50 => Color::Yellow,
            x if x < 0.75 => Color::LightRed,
            _ => Color::Red,
        })
    }

    /// The Up column: ✓ usable, ✗ not (distinct without colour too).
    pub fn usable(self, available: bool) -> Span<'static> {
        if available {
            Span::styled("✓", self.fg(Color::Green))
        } else {
            Span::styled("✗", self.fg(Color::Red))
        }
    }

    /// The compact grid's cell for a level: a coloured square, or without
    /// colour the character `--once --compact` uses for the level.
    pub fn level(self, level: Level) -> Span<'static> {
        if !self.colour {
            return Span::raw(level.glyph().to_string());
        }
        match level {
            Level::Idle => Span::styled("■", Style::new().fg(Color::Green)),
            Level::Light => Span::styled("■", Style::new().fg(Color::Yellow)),
            Level::Heavy => Span::styled("■", Style::new().fg(Color::LightRed)),
            Level::Busy => Span::styled("■", Style::new().fg(Color::Red)),
            Level::Down => Span::styled(
                "■",
                Style::new().fg(Color::DarkGray).add_modifier(Modifier::DIM),
            ),
            Level::Missing => Span::styled("·", Style::new().fg(Color::DarkGray)),
        }
    }

    /// A node the filter hides, in the grid (kept as a blank so the other
    /// cells stay at their numbers).
    pub fn hidden(self) -> Span<'static> {
        Span::raw(" ")
    }
}
