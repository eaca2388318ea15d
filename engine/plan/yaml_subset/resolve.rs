//! Plain scalar resolution: what a plain (unquoted) scalar means, exactly as serde-saphyr's
//! `deserialize_any` decides it with our options (YAML 1.2 booleans, no legacy octal, numbers
//! with leading zeros or underscores stay numbers, non-finite floats rejected). Ported from
//! serde-saphyr 2.2.0 `parse_scalars.rs` and `de/deserializer.rs`; every spelling the full
//! reader rejects, or that we have no test for, gives `None` so the full reader decides.

use crate::plan::yaml::Value;

/// The value of a plain scalar, or `None` when the full reader must decide (it would reject
/// it, or the spelling is one we do not reproduce).
pub(super) fn resolve_plain(s: &str) -> Option<Value> {
    // Most scalars are words: only these first bytes can start anything but a string.
    if !matches!(
        s.as_bytes().first(),
        None | Some(
            b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'0'..=b'9' | b'.' | b'+' | b'-'
        )
    ) {
        return Some(Value::Str(s.to_owned()));
    }
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    match unsigned.as_bytes().first() {
        Some(b'0'..=b'9') => number(s, unsigned),
        // `.5` is a float; `.inf` and `.nan` are rejected (non-finite), `-.nan` is a string.
        Some(b'.') => dotted(s, unsigned),
        // Neither integer nor float syntax starts otherwise; Rust's float parser takes `inf`
        // and `nan`, but serde-saphyr keeps non-finite spellings without a digit as strings.
        _ => Some(Value::Str(s.to_owned())),
    }
}

/// A scalar starting (after its sign) with a digit: integer, float or string.
fn number(s: &str, unsigned: &str) -> Option<Value> {
    // Upper-case radix prefixes (`0X1F`) stay strings in serde-saphyr; rare, so not ours.
    if matches!(unsigned.as_bytes(), [b'0', b'X' | b'O' | b'B', ..]) {
        return None;
    }
    let negative = s.starts_with('-');
    // A negative decimal with a leading zero (`-007`) skips integer parsing (a float).
    if !(negative && leading_zero_decimal(unsigned))
        && let Some(magnitude) = int_magnitude(unsigned)
    {
        // Beyond i64 the full reader refuses the integer ("too large") or falls through to a
        // float, and still compares it as an integer key: not ours.
        return signed(magnitude, negative).map(Value::Int);
    }
    float(s)
}

/// A scalar starting (after its sign) with `.`.
fn dotted(s: &str, unsigned: &str) -> Option<Value> {
    if matches!(
        unsigned,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
    ) {
        return None;
    }
    float(s)
}

/// Rust's float syntax, as serde-saphyr uses it; an infinite result (`1e999`) is rejected
/// there, and not reproduced here.
fn float(s: &str) -> Option<Value> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(Value::Float(v)),
        Ok(_) => None,
        Err(_) => Some(Value::Str(s.to_owned())),
    }
}

/// The integer of `magnitude` and sign, if it fits i64.
fn signed(magnitude: u128, negative: bool) -> Option<i64> {
    let magnitude = i128::try_from(magnitude).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// `0127`, `+0127`, `-0127`: decimal digits with a redundant leading zero.
fn leading_zero_decimal(unsigned: &str) -> bool {
    unsigned.len() > 1 && unsigned.starts_with('0') && unsigned.bytes().all(|b| b.is_ascii_digit())
}

/// The magnitude of an unsigned integer spelling (`+` allowed): decimal without a leading
/// zero, or `0x`/`0o`/`0b`; underscores only between digits. None if it is not one or it
/// overflows u128.
fn int_magnitude(unsigned: &str) -> Option<u128> {
    let rest = unsigned.strip_prefix('+').unwrap_or(unsigned);
    let (radix, digits) = if let Some(d) = rest.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = rest.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = rest.strip_prefix("0b") {
        (2, d)
    } else {
        if rest.starts_with('0') && rest != "0" {
            return None;
        }
        (10, rest)
    };
    digits_value(digits, radix)
}

/// Digits in `radix` with single underscores between them.
fn digits_value(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut saw_digit = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let between =
                i > 0 && bytes[i - 1] != b'_' && bytes.get(i + 1).is_some_and(|&n| n != b'_');
            if !between {
                return None;
            }
            continue;
        }
        let d = char::from(b).to_digit(16).filter(|&d| d < radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
        saw_digit = true;
    }
    saw_digit.then_some(value)
}
