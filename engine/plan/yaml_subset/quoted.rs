//! Quoted scalars on one line: `'single'` (with `''` for a quote) and `"double"` (with the
//! YAML escapes). A quoted scalar that runs past its line, or an unknown escape, gives up:
//! line folding inside quotes and the error messages belong to the full reader.

/// The value of the quoted scalar whose opening quote is at `start`, and the index just past
/// its closing quote.
pub(super) fn quoted(text: &str, start: usize) -> Option<(String, usize)> {
    match text.as_bytes()[start] {
        b'\'' => single(text, start),
        _ => double(text, start),
    }
}

fn single(text: &str, start: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut run = start + 1;
    let mut i = run;
    loop {
        match b.get(i)? {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push_str(&text[run..=i]);
                i += 2;
                run = i;
            }
            b'\'' => {
                out.push_str(&text[run..i]);
                return Some((out, i + 1));
            }
            b'\n' => return None,
            _ => i += 1,
        }
    }
}

fn double(text: &str, start: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut run = start + 1;
    let mut i = run;
    loop {
        match b.get(i)? {
            b'"' => {
                out.push_str(&text[run..i]);
                return Some((out, i + 1));
            }
            b'\\' => {
                out.push_str(&text[run..i]);
                i = escape(text, i + 1, &mut out)?;
                run = i;
            }
            b'\n' => return None,
            _ => i += 1,
        }
    }
}

/// Decodes the escape whose letter is at `at` into `out`; returns the index after it.
fn escape(text: &str, at: usize, out: &mut String) -> Option<usize> {
    let c = match text.as_bytes().get(at)? {
        b'0' => '\0',
        b'a' => '\u{7}',
        b'b' => '\u{8}',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\u{b}',
        b'f' => '\u{c}',
        b'r' => '\r',
        b'e' => '\u{1b}',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex(text, at + 1, 2, out),
        b'u' => return hex(text, at + 1, 4, out),
        b'U' => return hex(text, at + 1, 8, out),
        _ => return None,
    };
    out.push(c);
    Some(at + 1)
}

/// `len` hex digits at `at` naming a Unicode scalar value.
fn hex(text: &str, at: usize, len: usize, out: &mut String) -> Option<usize> {
    let digits = text.get(at..at + len)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(digits, 16).ok()?)?;
    out.push(c);
    Some(at + len)
}
