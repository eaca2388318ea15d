//! Label and field selectors of list and watch requests (`labelSelector=a=b,c in (d,e)`,
//! `fieldSelector=metadata.name=x`), and the selector string of a workload's
//! `spec.selector`. Parsing rejects malformed input with a message; matching reads objects but
//! never changes them.

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Parses the query form. Requirements are comma-joined; commas inside `in (...)` belong
    /// to the value set.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if !part.is_empty() {
                requirements.push(parse_requirement(part)?);
            }
        }
        Ok(LabelSelector(requirements))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => !label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        })
    }
}

/// A parsed field selector: `path=value`, `path==value` or `path!=value`, comma-joined, where
/// `path` is a dotted path into the object (`metadata.name`, `status.phase`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, equal, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                ));
            };
            terms.push((path.trim().to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    /// Whether the object satisfies every term. A missing field reads as "" (so
    /// `spec.nodeName=` selects unscheduled pods, as on a real server).
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, equal, value)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let actual = match object.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }
}

/// The selector string of a workload's `spec.selector` (`matchLabels` sorted by key, then
/// `matchExpressions`), as the `Scale` status and `kubectl get -o wide` show it.
pub(crate) fn selector_string(selector: Option<&Value>) -> String {
    let Some(selector) = selector else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        let mut pairs: Vec<(&String, &Value)> = labels.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in pairs {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for expr in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = expr
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match expr
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.join(",")
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let bad = || format!("unable to parse requirement: {part:?}");
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::NotExists(label_key(key, part)?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(
            label_key(k, part)?,
            v.trim().to_string(),
        ));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(
            label_key(k, part)?,
            v.trim().to_string(),
        ));
    }
    if let Some(open) = part.find('(') {
        let close = part.rfind(')').filter(|c| *c > open).ok_or_else(bad)?;
        let head: Vec<&str> = part[..open].split_whitespace().collect();
        let values: Vec<String> = part[open + 1..close]
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        return match head.as_slice() {
            [k, "in"] => Ok(Requirement::In(label_key(k, part)?, values)),
            [k, "notin"] => Ok(Requirement::NotIn(label_key(k, part)?, values)),
            _ => Err(bad()),
        };
    }
    Ok(Requirement::Exists(label_key(part, part)?))
}

fn label_key(key: &str, part: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!("unable to parse requirement: {part:?}"));
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match() {
        let pod = json!({"metadata": {"labels": {"app": "x", "tier": "db"}}});
        let yes = [
            "app=x",
            "app==x,tier",
            "tier in (db, web)",
            "app,!missing",
            "tier notin (web)",
        ];
        for text in yes {
            assert!(LabelSelector::parse(text).unwrap().matches(&pod), "{text}");
        }
        let no = ["app=y", "missing", "tier in (web)", "app!=x"];
        for text in no {
            assert!(!LabelSelector::parse(text).unwrap().matches(&pod), "{text}");
        }
        assert!(LabelSelector::parse("a in (b").is_err());
    }

    #[test]
    fn field_selectors_match() {
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert!(
            FieldSelector::parse("metadata.name=p")
                .unwrap()
                .matches(&pod)
        );
        assert!(
            FieldSelector::parse("status.phase!=Failed")
                .unwrap()
                .matches(&pod)
        );
        assert!(
            !FieldSelector::parse("metadata.name==q")
                .unwrap()
                .matches(&pod)
        );
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
