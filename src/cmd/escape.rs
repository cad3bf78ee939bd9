//! Making network-originated strings safe to print on a terminal.
//!
//! Host names, interface names and cpuinfo strings come from the nodes, and
//! a node (or anyone who can send it datagrams without a key) chooses their
//! bytes. Printed raw, an ESC sequence can set the terminal title, clear the
//! screen or move the cursor, and a newline can forge a whole line of
//! output. This module owns the one rule every terminal output applies to
//! such strings, as `systemctl` and `ls` do: printable text is kept as it
//! is; control characters (C0, DEL, C1), the Unicode controls that reorder
//! text (bidirectional overrides and isolates), bytes that are not UTF-8,
//! and the backslash itself are written as escapes (`\x1b`, `\u{202e}`,
//! `\\`), so the output is one line, shows what was sent, and cannot be
//! confused with an escape that was sent literally. JSON and Prometheus
//! output must not use it: their formats escape exactly, by their own
//! rules.

use std::borrow::Cow;
use std::fmt::Write;

/// `bytes` as text safe for a terminal (borrowed when nothing needed
/// escaping).
pub fn for_terminal(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.chars().any(needs_escape) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if (c as u32) < 0x100 && needs_escape(c) {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else if needs_escape(c) {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_kept_and_borrowed() {
        for name in [
            "node0123.hpc.example.edu",
            "eth0",
            "Intel(R) Xeon(R) @ 2.10GHz",
            "nœud-été",
        ] {
            assert!(matches!(for_terminal(name.as_bytes()), Cow::Borrowed(n) if n == name));
        }
    }

    #[test]
    fn control_characters_newlines_bidi_and_bad_utf8_are_escaped() {
        let forged = b"n1\x1b]0;owned\x07\x1b[2J\nnode 0 (trusted): up\r\x7f\xc2\x9b";
        assert_eq!(
            for_terminal(forged),
            "n1\\x1b]0;owned\\x07\\x1b[2J\\x0anode 0 (trusted): up\\x0d\\x7f\\x9b"
        );
        assert_eq!(for_terminal("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(for_terminal(b"a\xffb\\x41"), "a\\xffb\\\\x41");
        assert_eq!(for_terminal(b"tab\there"), "tab\\x09here");
    }

    #[test]
    fn no_output_contains_a_control_character_whatever_the_input() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes = state.to_le_bytes();
            let out = for_terminal(&bytes);
            assert!(!out.chars().any(char::is_control), "{bytes:?} gave {out:?}");
        }
    }
}
