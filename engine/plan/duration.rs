//! duration: the plan's duration syntax (`250ms`, `30s`, `5m`, `1h30m`, `2d`), parsing and
//! printing. Nothing else.

use std::time::Duration;

/// Why a text is not a duration; the message says how to write it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("`{0}` is out of range")]
    OutOfRange(String),
    #[error("`{text}` is not a duration: expected a number before `{rest}`")]
    NumberExpected { text: String, rest: String },
    #[error("`{0}` has no unit: write `{0}s` for seconds")]
    NoUnit(String),
    #[error("unknown unit `{unit}` in `{text}`: use ms, s, m, h or d")]
    UnknownUnit { unit: String, text: String },
}

/// Parses a duration such as `1h30m` or `250ms`.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    // A bare number is seconds, as YAML's `timeout: 30` in a plan: the same syntax on the
    // command line (`--timeout 30`) and in plans.
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = t.parse().map_err(|_| DurationError::NotANumber(t.into()))?;
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| DurationError::OutOfRange(t.into()));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::NumberExpected {
                text: t.into(),
                rest: rest.into(),
            });
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::NotANumber(rest[..digits].into()))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "" => return Err(DurationError::NoUnit(t.into())),
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.into(),
                    text: t.into(),
                });
            }
        };
        total += Duration::try_from_secs_f64(number * scale)
            .map_err(|_| DurationError::OutOfRange(t.into()))?;
    }
    Ok(total)
}

/// Prints a duration the way a plan would write it.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms < 1000 {
            format!("{ms}ms")
        } else {
            format!("{:.3}s", d.as_secs_f64())
        };
    }
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse("1.2.3").is_err());
        assert!(parse("10s5").is_err());
        assert!(parse("10x").is_err());
        assert!(parse("s").is_err());
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(250)), "250ms");
    }
}
