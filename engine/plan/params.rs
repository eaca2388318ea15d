//! params: typed parameter values. Coerces values from YAML, `--set`, `-f` files and the
//! environment to a param's type, and resolves a plan's params for one run (later sources
//! win, as in Helm: defaults, then env, then `-f` files in order, then `--set` in order).

use serde_json::Value as Json;

use crate::plan::ParamType;

/// Converts `v` to type `ty`. Strings are parsed, so `--set port=9600` works.
pub fn coerce(v: &Json, ty: ParamType) -> Result<Json, String> {
    match ty {
        ParamType::String => match v {
            Json::String(_) => Ok(v.clone()),
            Json::Number(n) => Ok(Json::String(n.to_string())),
            Json::Bool(b) => Ok(Json::String(b.to_string())),
            _ => Err(format!("expected a string, found {}", kind(v))),
        },
        ParamType::Integer => match v {
            Json::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Json::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Json::from)
                .map_err(|_| format!("`{s}` is not an integer")),
            _ => Err(format!("expected an integer, found {}", kind(v))),
        },
        ParamType::Number => match v {
            Json::Number(_) => Ok(v.clone()),
            Json::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number)
                .ok_or_else(|| format!("`{s}` is not a number")),
            _ => Err(format!("expected a number, found {}", kind(v))),
        },
        ParamType::Boolean => match v {
            Json::Bool(_) => Ok(v.clone()),
            Json::String(s) => match s.trim() {
                "true" => Ok(Json::Bool(true)),
                "false" => Ok(Json::Bool(false)),
                _ => Err(format!("`{s}` is not true or false")),
            },
            _ => Err(format!("expected true or false, found {}", kind(v))),
        },
        ParamType::Duration => match v {
            Json::String(s) => crate::plan::duration::parse(s).map(|_| v.clone()),
            Json::Number(n) if n.is_u64() => Ok(Json::String(format!("{n}s"))),
            _ => Err(format!(
                "expected a duration such as `30s`, found {}",
                kind(v)
            )),
        },
        ParamType::Url => match v {
            Json::String(s) => match url::Url::parse(s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    Ok(Json::String(s.trim_end_matches('/').to_string()))
                }
                Ok(u) => Err(format!("URL scheme `{}` is not http or https", u.scheme())),
                Err(e) => Err(format!("`{s}` is not a URL: {e}")),
            },
            _ => Err(format!("expected a URL, found {}", kind(v))),
        },
        ParamType::List => match v {
            Json::Array(_) => Ok(v.clone()),
            Json::String(s) => Ok(Json::Array(split_list(s))),
            _ => Err(format!("expected a list, found {}", kind(v))),
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
