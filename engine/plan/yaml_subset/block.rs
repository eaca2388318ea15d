//! Block structure: the document, block mappings (`key: value`, the value on the same line
//! or on deeper lines), block sequences (`- item`, nested `- - x`, compact `- key: v`, and
//! sequences at their parent key's indentation), and where each node sits on its line.
//!
//! Every parse function starts with the cursor on the node's first character and returns
//! with it on the first character of the next line with content (or at the end); the
//! enclosing collection then decides from that line's indentation whether it continues,
//! ends, or (deeper than allowed: a continuation line or an indentation error) gives up.
//!
//! Spans, as the full reader reports them: a mapping starts at its first key; a sequence at
//! its first `-`, except one at its parent key's indentation, which starts where its first
//! item's content does (or at the end of that `-` line when it has none); both are extended
//! over their children. An empty value is a point at its key's `:`, an empty item a point at
//! the end of its `-` line.

use super::block_scalar::block_scalar;
use super::cursor::Cursor;
use super::flow::flow;
use super::keys::Keys;
use super::plain::{block_plain, can_start_plain, key_colon};
use super::quoted::quoted;
use super::resolve::resolve_plain;
use super::{MAX_KEY_BYTES, map_span, seq_span};
use crate::plan::source::Span;
use crate::plan::yaml::{Node, Value};

/// The whole document: one node, then nothing but blank and comment lines.
pub(super) fn document(c: &mut Cursor) -> Option<Node> {
    c.skip_to_content(true)?;
    if c.at_end() {
        return None;
    }
    let node = own_line(c, -1)?;
    c.at_end().then_some(node)
}

/// A node that starts a line, in a collection indented `parent` (-1: the document).
fn own_line(c: &mut Cursor, parent: isize) -> Option<Node> {
    let col = c.column();
    match c.peek() {
        b'-' if c.blank_at(c.pos + 1) => sequence(c, col, false),
        b'[' | b'{' => {
            let node = flow(c, parent)?;
            end_of_node(c, node)
        }
        b'"' | b'\'' => quoted_first(c, col),
        first if can_start_plain(first, c.at(c.pos + 1)) => {
            if key_colon(c.b, c.pos).is_some() {
                mapping(c, col)
            } else {
                plain_scalar(c)
            }
        }
        _ => None,
    }
}

/// A quoted scalar starting a node: the first key of a mapping at `col`, or a scalar.
fn quoted_first(c: &mut Cursor, col: usize) -> Option<Node> {
    let start = c.pos;
    let (value, end) = quoted(c.text, start)?;
    let mut after = end;
    while c.at(after) == b' ' {
        after += 1;
    }
    if c.at(after) == b':' && c.blank_at(after + 1) {
        return mapping(c, col);
    }
    c.pos = end;
    let node = c.scalar(start, end, Value::Str(value))?;
    end_of_node(c, node)
}

/// A single-line plain scalar (no `: ` in it).
fn plain_scalar(c: &mut Cursor) -> Option<Node> {
    let start = c.pos;
    let plain = block_plain(c.b, start);
    if plain.colon.is_some() {
        return None;
    }
    let value = resolve_plain(&c.text[start..plain.end])?;
    let node = c.scalar(start, plain.end, value)?;
    c.pos = plain.end;
    end_of_node(c, node)
}

/// After a node that ends on its line: only a comment may follow; moves to the next line.
fn end_of_node(c: &mut Cursor, node: Node) -> Option<Node> {
    c.expect_line_end()?;
    c.next_line()?;
    Some(node)
}

/// A block mapping whose keys are at column `col`.
fn mapping(c: &mut Cursor, col: usize) -> Option<Node> {
    c.enter()?;
    let start = c.pos;
    let mark = c.entries.len();
    let mut keys = Keys::default();
    loop {
        let (key, colon) = key(c)?;
        if !keys.admit(c.text, &c.entries[mark..], &key) {
            return None;
        }
        let value = value(c, col, colon)?;
        c.entries.push((key, value));
        if c.at_end() || c.column() < col {
            break;
        }
        if c.column() > col {
            return None;
        }
    }
    c.leave();
    let entries = c.take_entries(mark);
    Some(Node {
        span: map_span(Span::point(start), &entries),
        value: Value::Map(entries),
    })
}

/// A mapping key and the position of its `:`; leaves the cursor after the `:`.
fn key(c: &mut Cursor) -> Option<(Node, usize)> {
    let start = c.pos;
    let (key, colon) = match c.peek() {
        b'"' | b'\'' => {
            let (value, end) = quoted(c.text, start)?;
            c.pos = end;
            c.skip_spaces();
            if c.peek() != b':' || !c.blank_at(c.pos + 1) {
                return None;
            }
            (c.scalar(start, end, Value::Str(value))?, c.pos)
        }
        first if can_start_plain(first, c.at(start + 1)) => {
            let colon = key_colon(c.b, start)?;
            let text = c.text[start..colon].trim_end_matches(' ');
            let value = resolve_plain(text)?;
            (c.scalar(start, start + text.len(), value)?, colon)
        }
        _ => return None,
    };
    if colon - start > MAX_KEY_BYTES {
        return None;
    }
    c.pos = colon + 1;
    Some((key, colon))
}

/// The value after a key's `:` (the cursor is after it), in a mapping at `col`.
fn value(c: &mut Cursor, col: usize, colon: usize) -> Option<Node> {
    c.skip_spaces();
    if matches!(c.peek(), b'\n' | b'#' | 0) {
        c.next_line()?;
        return below(c, col, colon);
    }
    inline(c, col)
}

/// The value of a key with nothing after its `:`: on deeper lines, a sequence at the key's
/// own indentation, or empty.
fn below(c: &mut Cursor, col: usize, colon: usize) -> Option<Node> {
    if c.at_end() || c.column() < col || (c.column() == col && !at_item(c)) {
        return c.scalar(colon, colon, Value::Null);
    }
    if c.column() == col {
        return sequence(c, col, true);
    }
    own_line(c, col as isize)
}

/// A value on the same line as its key or `-`, in a collection at `parent`: a scalar, a flow
/// collection or a block scalar (a nested block collection cannot start there).
fn inline(c: &mut Cursor, parent: usize) -> Option<Node> {
    let start = c.pos;
    match c.peek() {
        b'[' | b'{' => {
            let node = flow(c, parent as isize)?;
            end_of_node(c, node)
        }
        b'"' | b'\'' => {
            let (value, end) = quoted(c.text, start)?;
            c.pos = end;
            let node = c.scalar(start, end, Value::Str(value))?;
            end_of_node(c, node)
        }
        b'|' | b'>' => block_scalar(c, parent),
        first if can_start_plain(first, c.at(start + 1)) => plain_scalar(c),
        _ => None,
    }
}

/// Whether the cursor is on a sequence item's `-`.
fn at_item(c: &Cursor) -> bool {
    c.peek() == b'-' && c.blank_at(c.pos + 1)
}

/// A block sequence whose `-` are at column `col`; `at_key_indent`: it is the value of a key
/// at the same indentation (its span then starts at its first item, see the module doc).
fn sequence(c: &mut Cursor, col: usize, at_key_indent: bool) -> Option<Node> {
    c.enter()?;
    let first_dash = c.pos;
    let mut first_content = None;
    let mark = c.items.len();
    loop {
        c.pos += 1;
        c.skip_spaces();
        let same_line = !matches!(c.peek(), b'\n' | b'#' | 0);
        let content = if same_line { c.pos } else { c.line_end(c.pos) };
        first_content.get_or_insert(content);
        let item = if same_line {
            item_inline(c, col)?
        } else {
            c.next_line()?;
            item_below(c, col, content)?
        };
        c.items.push(item);
        if c.at_end() || c.column() < col {
            break;
        }
        if c.column() > col {
            return None;
        }
        // Same indentation but no `-`: the parent decides (a key of the parent mapping).
        if !at_item(c) {
            break;
        }
    }
    c.leave();
    let items = c.take_items(mark);
    let start = if at_key_indent {
        first_content.unwrap_or(first_dash)
    } else {
        first_dash
    };
    Some(Node {
        span: seq_span(Span::point(start), &items),
        value: Value::Seq(items),
    })
}

/// An item on the same line as its `-`: a nested sequence, a compact mapping, or a value.
fn item_inline(c: &mut Cursor, seq_col: usize) -> Option<Node> {
    let col = c.column();
    match c.peek() {
        b'-' if c.blank_at(c.pos + 1) => sequence(c, col, false),
        b'"' | b'\'' => quoted_first(c, col),
        first if can_start_plain(first, c.at(c.pos + 1)) && key_colon(c.b, c.pos).is_some() => {
            mapping(c, col)
        }
        _ => inline(c, seq_col),
    }
}

/// An item with nothing after its `-`: on deeper lines, or empty (a point at `line_end`).
fn item_below(c: &mut Cursor, col: usize, line_end: usize) -> Option<Node> {
    if c.at_end() || c.column() <= col {
        return c.scalar(line_end, line_end, Value::Null);
    }
    own_line(c, col as isize)
}
