//! yaml_subset: a fast reader for the block/flow subset of YAML that plan files use, giving
//! exactly the `yaml::Node` tree (values and byte spans) that the full reader (`yaml.rs`,
//! serde-saphyr) gives for the same text, several times faster.
//!
//! It decides nothing: on anything unusual, anything it is not sure it reads exactly as the
//! full reader does, and on every error, it gives up (`None`) and the full reader decides,
//! including every error message. So it must never accept a text the full reader refuses,
//! nor read one differently; the differential tests below hold it to that.
//!
//! The subset: block mappings and sequences (including sequences at their key's indentation
//! and compact `- key: v` items), flow sequences and mappings (across lines, with trailing
//! commas), single-line plain and quoted scalars, literal and folded block scalars without an
//! indentation indicator, comments, blank lines and one leading `---`. Outside it (gives up):
//! anchors, aliases, tags, `?` keys, directives, more than one document, `...`, multi-line
//! plain or quoted scalars, tabs, carriage returns and other control characters, merge keys
//! (`<<`), duplicate keys, nesting deeper than `yaml::MAX_DEPTH`, integers beyond i64 and
//! non-finite floats.

mod block;
mod block_scalar;
mod cursor;
mod flow;
mod keys;
mod plain;
mod quoted;
mod resolve;
#[cfg(test)]
mod tests;

use crate::plan::source::Span;
use crate::plan::yaml::Node;

/// Longest implicit key we read: the full reader's scanner looks ahead at most 1024
/// characters for a key's `:`; stay well inside that.
const MAX_KEY_BYTES: usize = 1000;

/// Reads `text` if it is inside the subset; `None`: not in the subset or not sure, use the
/// full parser.
pub(super) fn parse(text: &str) -> Option<Node> {
    if !ordinary_characters(text) {
        return None;
    }
    block::document(&mut cursor::Cursor::new(text))
}

/// A mapping's span: its own (`raw`) widened over its keys and values, as `yaml::extend`
/// does for the full reader (a plain loop: this runs for every collection).
fn map_span(raw: Span, entries: &[(Node, Node)]) -> Span {
    entries
        .iter()
        .fold(raw, |span, (k, v)| cover(cover(span, k.span), v.span))
}

/// A sequence's span: its own widened over its items.
fn seq_span(raw: Span, items: &[Node]) -> Span {
    items.iter().fold(raw, |span, item| cover(span, item.span))
}

fn cover(a: Span, b: Span) -> Span {
    Span {
        start: a.start.min(b.start),
        end: a.end.max(b.end),
    }
}

/// Only characters both readers treat alike: no tab, carriage return or other control
/// character, and none of the non-ASCII ones YAML treats specially.
fn ordinary_characters(text: &str) -> bool {
    // Branch-free per chunk, so the compiler can vectorize the pass over the whole text.
    let bytes_ok = text.as_bytes().chunks(64).all(|chunk| {
        chunk.iter().fold(true, |ok, &b| {
            ok & ((b >= b' ') & (b != 0x7f) | (b == b'\n'))
        })
    });
    bytes_ok && (text.is_ascii() || !text.chars().any(special_non_ascii))
}

/// NEL and the other C1 controls, the line and paragraph separators, the byte order mark,
/// the non-characters U+FFFE and U+FFFF.
fn special_non_ascii(ch: char) -> bool {
    matches!(
        ch,
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}
