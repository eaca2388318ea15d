//! template::simple: the common template shape, text with `{{a.b.c}}` substitutions, read
//! without handlebars. Compiling a handlebars template costs microseconds and kilobytes, and a
//! large plan holds tens of thousands of such strings, nearly all of this shape. It must accept
//! only what handlebars reads the same way: anything else (helpers, blocks, escapes, raw or
//! whitespace-control braces, `this`, `@vars`, `[...]` segments) returns `None` so the full
//! handlebars path decides.

use std::ops::Range;

/// One piece of a simple template.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Piece {
    /// Literal text: a byte range of the source.
    Text(Range<usize>),
    /// A `{{path}}`: the byte range of the path inside the braces.
    Var(Range<usize>),
}

/// The pieces of `source` if it is made only of text and `{{path}}` substitutions.
pub(super) fn parse(source: &str, is_helper: impl Fn(&str) -> bool) -> Option<Vec<Piece>> {
    // A backslash may escape braces in handlebars; a stray `}}` or `{{{` means something else.
    if source.contains('\\') {
        return None;
    }
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = source[rest..].find("{{").map(|i| rest + i) {
        if open > rest {
            pieces.push(Piece::Text(rest..open));
        }
        let close = source[open + 2..].find("}}").map(|i| open + 2 + i)?;
        pieces.push(Piece::Var(path_in(source, open + 2..close, &is_helper)?));
        rest = close + 2;
    }
    if source[rest..].contains("}}") {
        return None;
    }
    if rest < source.len() {
        pieces.push(Piece::Text(rest..source.len()));
    }
    Some(pieces)
}

/// The range of the path between `{{` and `}}`, if what is there is a plain path.
fn path_in(
    source: &str,
    inner: Range<usize>,
    is_helper: &impl Fn(&str) -> bool,
) -> Option<Range<usize>> {
    let text = &source[inner.clone()];
    let lead = text.len() - text.trim_start_matches(' ').len();
    let path = text.trim_matches(' ');
    let mut segments = path.split('.');
    let first = segments.next()?;
    if !is_name(first) || matches!(first, "this" | "else") {
        return None;
    }
    let mut count = 1;
    for segment in segments {
        if !(is_name(segment) || is_index(segment)) {
            return None;
        }
        count += 1;
    }
    // A lone name may be a helper call (`{{now}}`).
    if count == 1 && is_helper(first) {
        return None;
    }
    let start = inner.start + lead;
    Some(start..start + path.len())
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(s: &str) -> Option<Vec<Piece>> {
        parse(s, |n| n == "now")
    }

    #[test]
    fn reads_text_and_paths() {
        let s = "/a/{{params.x}}/{{ steps.s-1.outputs.y }}";
        let p = pieces(s).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[1], Piece::Var(5..13));
        assert_eq!(&s[5..13], "params.x");
        let Piece::Var(r) = &p[3] else { panic!() };
        assert_eq!(&s[r.clone()], "steps.s-1.outputs.y");
    }

    #[test]
    fn leaves_everything_else_to_handlebars() {
        for s in [
            "{{json item}}",
            "{{#if a}}x{{/if}}",
            "{{{raw}}}",
            "{{~a}}",
            "\\{{a}}",
            "{{now}}",
            "{{this}}",
            "{{@index}}",
            "{{a.[b c]}}",
            "{{../a}}",
            "{{!comment}}",
            "{{a}} }}",
            "{{a",
            "{{1a}}",
        ] {
            assert_eq!(pieces(s), None, "{s}");
        }
    }
}
