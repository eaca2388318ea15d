//! The cursor the subset reader moves over the text: byte position, the start of the current
//! line, line and comment skipping, and the budget the full reader enforces (nesting depth,
//! node count, scalar bytes), so that a document the full reader would refuse for its size is
//! never accepted here.

use crate::plan::source::Span;
use crate::plan::yaml::{MAX_DEPTH, MAX_FILE_BYTES, Node, Value};

/// Give up well before the full reader's node budget (20M nodes, 50M events: a collection
/// is two events) is near.
const MAX_NODES: usize = 10_000_000;
/// The full reader's scalar-bytes budget. The subset has no aliases and its escapes only
/// shrink text, so its scalars never hold more bytes than the file, which is itself at most
/// `MAX_FILE_BYTES`: this bound is a backstop. (Half of it sent 50 MB plans, 100k steps, to
/// the full reader, 15x slower.)
const MAX_SCALAR_BYTES: usize = MAX_FILE_BYTES;

pub(super) struct Cursor<'t> {
    pub text: &'t str,
    pub b: &'t [u8],
    /// Current byte position; `b.len()` at the end.
    pub pos: usize,
    /// Start of the line `pos` is on.
    pub line_start: usize,
    /// Entries and items of the collections being read: shared stacks, moved out at each
    /// collection's end into a vector of exactly its size (no regrowth copies, no slack).
    pub entries: Vec<(Node, Node)>,
    pub items: Vec<Node>,
    depth: usize,
    nodes: usize,
    scalar_bytes: usize,
}

impl<'t> Cursor<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            b: text.as_bytes(),
            pos: 0,
            line_start: 0,
            entries: Vec::new(),
            items: Vec::new(),
            depth: 0,
            nodes: 0,
            scalar_bytes: 0,
        }
    }

    /// The byte at `i`, or 0 past the end (NUL never occurs: `parse` refuses it).
    pub(super) fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    pub(super) fn peek(&self) -> u8 {
        self.at(self.pos)
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Column of `pos` (bytes; indentation is spaces only, so also characters).
    pub(super) fn column(&self) -> usize {
        self.pos - self.line_start
    }

    /// Whether the byte at `i` ends a token: a space, a line break or the end.
    pub(super) fn blank_at(&self, i: usize) -> bool {
        matches!(self.at(i), b' ' | b'\n' | 0)
    }

    /// Skips spaces; returns how many.
    pub(super) fn skip_spaces(&mut self) -> usize {
        let from = self.pos;
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        self.pos - from
    }

    /// Index of the line break ending the line `from` is on, or the end of the text.
    pub(super) fn line_end(&self, from: usize) -> usize {
        self.b[from.min(self.b.len())..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |i| from + i)
    }

    /// After a node: only spaces and a comment may follow on its line.
    pub(super) fn expect_line_end(&mut self) -> Option<()> {
        let spaces = self.skip_spaces();
        match self.peek() {
            b'\n' | 0 => Some(()),
            // A `#` starts a comment only after whitespace.
            b'#' if spaces > 0 => {
                self.pos = self.line_end(self.pos);
                Some(())
            }
            _ => None,
        }
    }

    /// From anywhere on a line whose rest is spaces or a comment, moves to the first
    /// character of the next line with content (or to the end).
    pub(super) fn next_line(&mut self) -> Option<()> {
        let end = self.line_end(self.pos);
        if end >= self.b.len() {
            self.pos = self.b.len();
            return Some(());
        }
        self.pos = end + 1;
        self.skip_to_content(false)
    }

    /// `pos` is at a line start: skips blank and comment lines and leaves `pos` on the first
    /// character of the next line with content (or at the end). `allow_start`: one `---`
    /// line may be skipped (the start of the document); any other document marker gives up.
    pub(super) fn skip_to_content(&mut self, mut allow_start: bool) -> Option<()> {
        loop {
            self.line_start = self.pos;
            if self.document_marker_at(self.pos) {
                if !(allow_start && self.peek() == b'-') {
                    return None;
                }
                allow_start = false;
                self.pos += 3;
                self.expect_line_end()?;
            } else {
                self.skip_spaces();
                if !matches!(self.peek(), b'\n' | b'#' | 0) {
                    return Some(());
                }
            }
            let end = self.line_end(self.pos);
            if end >= self.b.len() {
                self.pos = self.b.len();
                return Some(());
            }
            self.pos = end + 1;
        }
    }

    /// `---` or `...` at a line start, followed by a blank: a document marker.
    pub(super) fn document_marker_at(&self, line_start: usize) -> bool {
        let rest = &self.b[line_start..];
        (rest.starts_with(b"---") || rest.starts_with(b"...")) && self.blank_at(line_start + 3)
    }

    /// A scalar node, counted against the budget.
    pub(super) fn scalar(&mut self, start: usize, end: usize, value: Value) -> Option<Node> {
        if let Value::Str(s) = &value {
            self.scalar_bytes += s.len();
        } else {
            self.scalar_bytes += end - start;
        }
        self.count_node()?;
        (self.scalar_bytes <= MAX_SCALAR_BYTES).then_some(Node {
            span: Span::new(start, end),
            value,
        })
    }

    /// Entering a mapping or sequence; gives up past the full reader's depth limit.
    pub(super) fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        self.count_node()?;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// The entries a mapping pushed since `mark` (`split_off` allocates exactly their number
    /// and copies them in one go).
    pub(super) fn take_entries(&mut self, mark: usize) -> Vec<(Node, Node)> {
        self.entries.split_off(mark)
    }

    /// The items a sequence pushed since `mark`.
    pub(super) fn take_items(&mut self, mark: usize) -> Vec<Node> {
        self.items.split_off(mark)
    }

    pub(super) fn leave(&mut self) {
        self.depth -= 1;
    }

    fn count_node(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }
}
