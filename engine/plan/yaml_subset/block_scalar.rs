//! Literal (`|`) and folded (`>`) block scalars with a chomping indicator or none, and the
//! indentation detected from the first content line; folded lines indented deeper than the
//! first keep their line breaks, as YAML says. Gives up on an explicit indentation
//! indicator, an empty scalar, whitespace-only lines deeper than the content, and a scalar
//! that runs to the end of a text without a final line break.
//!
//! Span, as the full reader reports it: from the first content character to where its
//! scanner stopped, i.e. past the trailing blank lines and the indentation of the line that
//! ends the scalar (or the end of the text).

use super::cursor::Cursor;
use crate::plan::yaml::{Node, Value};

#[derive(Clone, Copy, PartialEq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// The lines of a scalar, where its span ends, and the start of the line that ended it
/// (None: the end of the text).
struct Body<'t> {
    lines: Vec<Line<'t>>,
    end: usize,
    next_line: Option<usize>,
}

/// One line of the scalar's body, indentation removed.
enum Line<'t> {
    Empty,
    Text(&'t str),
}

/// At the `|` or `>` of a block scalar inside a collection indented `parent` columns: reads
/// it and leaves the cursor on the next line with content.
pub(super) fn block_scalar(c: &mut Cursor, parent: usize) -> Option<Node> {
    let folded = c.peek() == b'>';
    c.pos += 1;
    let chomp = match c.peek() {
        b'-' => Chomp::Strip,
        b'+' => Chomp::Keep,
        _ => Chomp::Clip,
    };
    if chomp != Chomp::Clip {
        c.pos += 1;
    }
    // An indentation indicator or anything else glued to the header: not ours.
    if !c.blank_at(c.pos) {
        return None;
    }
    c.expect_line_end()?;
    let body_start = c.pos + 1;
    let (first_text, indent) = detect_indent(c, body_start)?;
    if indent <= parent {
        return None;
    }
    let body = body(c, body_start, indent)?;
    let value = if folded {
        fold(&body.lines)
    } else {
        literal(&body.lines)
    };
    let value = chomped(value, &body.lines, chomp);
    let node = c.scalar(first_text + indent, body.end, Value::Str(value))?;
    match body.next_line {
        Some(start) => {
            c.pos = start;
            c.skip_to_content(false)?;
        }
        None => c.pos = c.b.len(),
    }
    Some(node)
}

/// The start of the first non-blank line of the body and its indentation. Gives up when
/// there is none, or a blank line before it is deeper (the full reader errs or decides).
fn detect_indent(c: &Cursor, mut line: usize) -> Option<(usize, usize)> {
    let mut deepest_blank = 0;
    while line < c.b.len() {
        let end = c.line_end(line);
        let spaces = c.b[line..end].iter().take_while(|&&b| b == b' ').count();
        if line + spaces < end {
            return (deepest_blank <= spaces).then_some((line, spaces));
        }
        deepest_blank = deepest_blank.max(spaces);
        line = end + 1;
    }
    None
}

/// The body from the line starting at `first` (blank lines as `Empty`).
fn body<'t>(c: &Cursor<'t>, first: usize, indent: usize) -> Option<Body<'t>> {
    let mut lines = Vec::new();
    let mut line = first;
    while line < c.b.len() {
        let end = c.line_end(line);
        let spaces = c.b[line..end].iter().take_while(|&&b| b == b' ').count();
        if line + spaces == end {
            if spaces > indent {
                return None;
            }
            lines.push(Line::Empty);
        } else if spaces < indent {
            return Some(Body {
                lines,
                end: line + spaces,
                next_line: Some(line),
            });
        } else {
            lines.push(Line::Text(&c.text[line + indent..end]));
        }
        if end >= c.b.len() {
            // The last line has no line break: chomping there is the full reader's business.
            return None;
        }
        line = end + 1;
    }
    Some(Body {
        lines,
        end: c.b.len(),
        next_line: None,
    })
}

fn literal(lines: &[Line]) -> String {
    let mut out = String::new();
    let mut empties = 0;
    let mut first = true;
    for line in lines {
        match line {
            Line::Empty => empties += 1,
            Line::Text(t) => {
                if !first {
                    out.push('\n');
                }
                push_newlines(&mut out, empties);
                out.push_str(t);
                first = false;
                empties = 0;
            }
        }
    }
    out
}

/// Folding: a line break between two text lines becomes a space, one followed by empty
/// lines just their line breaks; next to a more-indented ("spaced") line it is kept.
fn fold(lines: &[Line]) -> String {
    let mut out = String::new();
    let mut empties = 0;
    let mut previous: Option<bool> = None;
    for line in lines {
        match line {
            Line::Empty => empties += 1,
            Line::Text(t) => {
                let spaced = t.starts_with(' ');
                match previous {
                    None => push_newlines(&mut out, empties),
                    Some(false) if !spaced && empties == 0 => out.push(' '),
                    Some(false) if !spaced => push_newlines(&mut out, empties),
                    Some(_) => push_newlines(&mut out, empties + 1),
                }
                out.push_str(t);
                previous = Some(spaced);
                empties = 0;
            }
        }
    }
    out
}

/// Applies the chomping indicator: the final line break and trailing empty lines.
fn chomped(mut value: String, lines: &[Line], chomp: Chomp) -> String {
    let trailing = lines
        .iter()
        .rev()
        .take_while(|l| matches!(l, Line::Empty))
        .count();
    match chomp {
        Chomp::Strip => {}
        Chomp::Clip => value.push('\n'),
        Chomp::Keep => {
            value.push('\n');
            push_newlines(&mut value, trailing);
        }
    }
    value
}

fn push_newlines(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n('\n', n));
}
