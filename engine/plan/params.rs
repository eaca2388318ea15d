//! params: typed parameter values. Coerces values from YAML, `--set`, `-f` files and the
//! environment to a param's type, and resolves a plan's params for one run (later sources
//! win, as in Helm: defaults, then env, then `-f` files in order, then `--set` in order).

use serde_json::Value as Json;

use crate::plan::ParamType;
use crate::plan::duration::DurationError;

/// Why a value does not fit a param's type; the message names what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoerceError {
    /// A value of the wrong kind (`expected an integer, found a list`).
    #[error("expected {expected}, found {found}")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    /// A string that does not parse as the type (`` `x` is not an integer ``).
    #[error("`{text}` is not {what}")]
    NotA { text: String, what: &'static str },
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("URL scheme `{0}` is not http or https")]
    UrlScheme(String),
    #[error("`{text}` is not a URL: {reason}")]
    Url { text: String, reason: String },
}

fn wrong(expected: &'static str, v: &Json) -> CoerceError {
    CoerceError::WrongKind {
        expected,
        found: kind(v),
    }
}

fn not_a(text: &str, what: &'static str) -> CoerceError {
    CoerceError::NotA {
        text: text.into(),
        what,
    }
}

/// Converts `v` to type `ty`. Strings are parsed, so `--set port=9600` works.
pub fn coerce(v: &Json, ty: ParamType) -> Result<Json, CoerceError> {
    match ty {
        ParamType::String => match v {
            Json::String(_) => Ok(v.clone()),
            Json::Number(n) => Ok(Json::String(n.to_string())),
            Json::Bool(b) => Ok(Json::String(b.to_string())),
            _ => Err(wrong("a string", v)),
        },
        ParamType::Integer => match v {
            Json::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Json::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Json::from)
                .map_err(|_| not_a(s, "an integer")),
            _ => Err(wrong("an integer", v)),
        },
        ParamType::Number => match v {
            Json::Number(_) => Ok(v.clone()),
            Json::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number)
                .ok_or_else(|| not_a(s, "a number")),
            _ => Err(wrong("a number", v)),
        },
        ParamType::Boolean => match v {
            Json::Bool(_) => Ok(v.clone()),
            Json::String(s) => match s.trim() {
                "true" => Ok(Json::Bool(true)),
                "false" => Ok(Json::Bool(false)),
                _ => Err(not_a(s, "true or false")),
            },
            _ => Err(wrong("true or false", v)),
        },
        ParamType::Duration => match v {
            Json::String(s) => Ok(crate::plan::duration::parse(s).map(|_| v.clone())?),
            Json::Number(n) if n.is_u64() => Ok(Json::String(format!("{n}s"))),
            _ => Err(wrong("a duration such as `30s`", v)),
        },
        ParamType::Url => match v {
            Json::String(s) => match url::Url::parse(s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    Ok(Json::String(s.trim_end_matches('/').to_string()))
                }
                Ok(u) => Err(CoerceError::UrlScheme(u.scheme().into())),
                Err(e) => Err(CoerceError::Url {
                    text: s.clone(),
                    reason: e.to_string(),
                }),
            },
            _ => Err(wrong("a URL", v)),
        },
        ParamType::List => match v {
            Json::Array(_) => Ok(v.clone()),
            Json::String(s) => Ok(Json::Array(split_list(s))),
            _ => Err(wrong("a list", v)),
        },
    }
}

/// `{a,b}` or `a,b` as a list of strings (Helm's `--set` list spelling).
fn split_list(s: &str) -> Vec<Json> {
    let inner = s
        .trim()
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s.trim());
    if inner.is_empty() {
        return Vec::new();
    }
    inner
        .split(',')
        .map(|x| Json::String(x.trim().to_string()))
        .collect()
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coerces_strings_from_the_command_line() {
        assert_eq!(coerce(&json!("42"), ParamType::Integer).unwrap(), json!(42));
        assert_eq!(
            coerce(&json!("true"), ParamType::Boolean).unwrap(),
            json!(true)
        );
        assert_eq!(
            coerce(&json!("{a,b}"), ParamType::List).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            coerce(&json!("http://x:1/"), ParamType::Url).unwrap(),
            json!("http://x:1")
        );
        assert!(coerce(&json!("x"), ParamType::Integer).is_err());
        // A bare number is seconds, as in plans and on the command line.
        assert!(coerce(&json!("5"), ParamType::Duration).is_ok());
        assert!(coerce(&json!("5x"), ParamType::Duration).is_err());
    }
}
