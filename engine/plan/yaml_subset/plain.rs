//! Where a plain (unquoted) scalar ends, in block and in flow context, and whether its first
//! character may start one. Only single-line plain scalars: a continuation line is detected
//! by the callers (it is indented deeper than the next key or item may be) and gives up.

/// A plain scalar in block context, scanned to the end of its line.
pub(super) struct BlockPlain {
    /// End of the text, trailing spaces and any comment excluded.
    pub end: usize,
    /// The first `:` followed by a blank (a mapping key ends there), if any.
    pub colon: Option<usize>,
}

/// Whether `c` (followed by `next`) may start a plain scalar we read. Indicators give up:
/// anchors, aliases, tags, directives, reserved characters, block scalars, quotes and flow
/// collections are handled elsewhere or not at all; `-`, `?` and `:` start a plain scalar
/// only before a non-blank, and we take only `-` (as in `-1`).
pub(super) fn can_start_plain(c: u8, next: u8) -> bool {
    match c {
        b'-' => !matches!(next, b' ' | b'\n' | 0 | b',' | b'[' | b']' | b'{' | b'}'),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' => false,
        b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' | 0 => false,
        _ => true,
    }
}

/// The `:` ending a plain mapping key that starts at `start`: the first `:` followed by a
/// blank, before any comment or line end. Stops there, so a key line is scanned only as far
/// as its key. None too for a key with a flow indicator (legal, but rare enough not to be
/// ours): the line is then read as a plain scalar, which gives up on its `: `.
pub(super) fn key_colon(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\n' | b'[' | b']' | b'{' | b'}' | b',' => return None,
            b'#' if i > start && b[i - 1] == b' ' => return None,
            b':' if matches!(b.get(i + 1), None | Some(b' ' | b'\n')) => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Scans the plain scalar starting at `start` to the end of its line (or a comment).
pub(super) fn block_plain(b: &[u8], start: usize) -> BlockPlain {
    let mut i = start;
    let mut end = start;
    let mut colon = None;
    while i < b.len() {
        match b[i] {
            b'\n' => break,
            b'#' if i > start && b[i - 1] == b' ' => break,
            b':' if colon.is_none() && matches!(b.get(i + 1), None | Some(b' ' | b'\n')) => {
                colon = Some(i);
                end = i + 1;
            }
            b' ' => {}
            _ => end = i + 1,
        }
        i += 1;
    }
    BlockPlain { end, colon }
}

/// End of the plain scalar starting at `start` in a flow collection (trailing spaces
/// excluded): it stops at a flow indicator, a `: `, a comment or a line break.
pub(super) fn flow_plain(b: &[u8], start: usize) -> usize {
    let mut i = start;
    let mut end = start;
    while i < b.len() {
        match b[i] {
            b'\n' | b',' | b'[' | b']' | b'{' | b'}' => break,
            b'#' if i > start && b[i - 1] == b' ' => break,
            b':' if matches!(
                b.get(i + 1),
                None | Some(b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}')
            ) =>
            {
                break;
            }
            b' ' => {}
            _ => end = i + 1,
        }
        i += 1;
    }
    end
}
