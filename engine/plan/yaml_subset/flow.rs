//! Flow collections: `[a, b]` and `{a: b, c: [1, 2]}`, nested, across lines, with comments
//! and trailing commas. Entries are scalars (plain, quoted) or flow collections; a flow
//! mapping entry needs `key: value` (an empty value, a key without `:`, a complex key or a
//! single-pair mapping inside a sequence gives up), and a plain scalar may not continue on
//! the next line.
//!
//! Spans, as the full reader reports them: a collection starts at its opening bracket (one
//! byte) and is extended over its children, so it does not cover its closing bracket.

use super::cursor::Cursor;
use super::keys::Keys;
use super::plain::{can_start_plain, flow_plain};
use super::quoted::quoted;
use super::resolve::resolve_plain;
use super::{MAX_KEY_BYTES, map_span, seq_span};
use crate::plan::source::Span;
use crate::plan::yaml::{Node, Value};

/// At `[` or `{`: reads the collection and leaves the cursor just past its closing bracket.
/// Its continuation lines must be indented deeper than `parent`, the indentation of the
/// enclosing block collection (-1 at the document root).
pub(super) fn flow(c: &mut Cursor, parent: isize) -> Option<Node> {
    c.enter()?;
    let open = c.pos;
    c.pos += 1;
    let node = if c.b[open] == b'[' {
        sequence(c, parent, open)
    } else {
        mapping(c, parent, open)
    }?;
    c.leave();
    Some(node)
}

fn sequence(c: &mut Cursor, parent: isize, open: usize) -> Option<Node> {
    let mark = c.items.len();
    loop {
        space(c, parent)?;
        if c.peek() == b']' {
            break;
        }
        let item = entry(c, parent)?;
        c.items.push(item);
        space(c, parent)?;
        match c.peek() {
            b',' => c.pos += 1,
            b']' => break,
            _ => return None,
        }
    }
    c.pos += 1;
    let items = c.take_items(mark);
    let span = seq_span(Span::new(open, open + 1), &items);
    Some(Node {
        span,
        value: Value::Seq(items),
    })
}

fn mapping(c: &mut Cursor, parent: isize, open: usize) -> Option<Node> {
    let mark = c.entries.len();
    let mut keys = Keys::default();
    loop {
        space(c, parent)?;
        if c.peek() == b'}' {
            break;
        }
        let key = key(c)?;
        if !keys.admit(c.text, &c.entries[mark..], &key) {
            return None;
        }
        space(c, parent)?;
        if matches!(c.peek(), b',' | b'}') {
            return None;
        }
        let value = entry(c, parent)?;
        c.entries.push((key, value));
        space(c, parent)?;
        match c.peek() {
            b',' => c.pos += 1,
            b'}' => break,
            _ => return None,
        }
    }
    c.pos += 1;
    let entries = c.take_entries(mark);
    let span = map_span(Span::new(open, open + 1), &entries);
    Some(Node {
        span,
        value: Value::Map(entries),
    })
}

/// A mapping key and its `:` (followed by a blank, on the same line).
fn key(c: &mut Cursor) -> Option<Node> {
    let start = c.pos;
    let key = scalar(c)?;
    c.skip_spaces();
    if c.peek() != b':' || !matches!(c.at(c.pos + 1), b' ' | b'\n') || c.pos - start > MAX_KEY_BYTES
    {
        return None;
    }
    c.pos += 1;
    Some(key)
}

/// One entry: a nested collection or a scalar.
fn entry(c: &mut Cursor, parent: isize) -> Option<Node> {
    match c.peek() {
        b'[' | b'{' => flow(c, parent),
        _ => scalar(c),
    }
}

/// A quoted or plain scalar.
fn scalar(c: &mut Cursor) -> Option<Node> {
    let start = c.pos;
    match c.peek() {
        b'"' | b'\'' => {
            let (value, end) = quoted(c.text, start)?;
            c.pos = end;
            c.scalar(start, end, Value::Str(value))
        }
        first if can_start_plain(first, c.at(start + 1)) => {
            let end = flow_plain(c.b, start);
            let value = resolve_plain(&c.text[start..end])?;
            c.pos = end;
            c.scalar(start, end, value)
        }
        _ => None,
    }
}

/// Skips spaces, line breaks and comments between flow tokens. A line with content must be
/// indented deeper than `parent` and may not be a document marker.
fn space(c: &mut Cursor, parent: isize) -> Option<()> {
    loop {
        match c.peek() {
            b' ' => c.pos += 1,
            b'\n' => {
                c.pos += 1;
                c.line_start = c.pos;
                if c.document_marker_at(c.pos) {
                    return None;
                }
                let indent = c.skip_spaces();
                let content = !matches!(c.peek(), b'\n' | b'#' | 0);
                if content && indent as isize <= parent {
                    return None;
                }
            }
            b'#' if matches!(c.b[c.pos - 1], b' ' | b'\n') => c.pos = c.line_end(c.pos),
            _ => return Some(()),
        }
    }
}
