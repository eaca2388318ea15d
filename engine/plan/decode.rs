//! decode: small readers from `yaml::Node` to typed raw values that push a diagnostic for
//! every shape problem (wrong type, unknown key, missing field) instead of stopping at the
//! first. They check shapes only; meaning (durations, references, jq) is `validate`'s job.

use crate::plan::diagnostic::{Diagnostic, did_you_mean, list_names};
use crate::plan::source::{Span, Spanned};
use crate::plan::yaml::{Node, Value};

/// Collects the diagnostics of one file while decoding it.
#[derive(Default)]
pub struct Decoder {
    pub diagnostics: Vec<Diagnostic>,
}

/// The entries of a mapping whose keys were checked against a known list.
pub struct Fields<'n> {
    pub node: &'n Node,
    /// Span of the key that introduced this mapping (for "missing field" labels).
    pub owner: Span,
    entries: Vec<(&'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
            .map(|(_, v)| *v)
    }

    /// The span of `key` itself, if present.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
            .map(|(k, _)| k.span)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl Decoder {
    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Reads a mapping whose keys must be among `allowed`; `what` names it in messages.
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        owner: Span,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.type_error(node, &format!("{what} must be a mapping"), "a mapping");
            return None;
        };
        let mut kept = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match &k.value {
                Value::Str(name) if allowed.contains(&name.as_str()) => kept.push((k, v)),
                Value::Str(name) => self.unknown_key(k.span, name, what, allowed),
                _ => self.push(Diagnostic::error(
                    "runbook::plan::invalid_key",
                    format!("keys of {what} must be strings"),
                    k.span,
                    format!("{} key", k.value.kind()),
                )),
            }
        }
        Some(Fields {
            node,
            owner,
            entries: kept,
        })
    }

    fn unknown_key(&mut self, span: Span, name: &str, what: &str, allowed: &[&str]) {
        let help = did_you_mean(name, allowed.iter().copied())
            .unwrap_or_else(|| format!("known keys: {}", list_names(allowed.iter().copied())));
        self.push(
            Diagnostic::error(
                "runbook::plan::unknown_key",
                format!("unknown key `{name}` in {what}"),
                span,
                "not a known key",
            )
            .with_help(help),
        );
    }

    /// A user-named mapping (params, targets, outputs, headers): keys are names.
    pub fn named_map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Vec<(Spanned<String>, &'n Node)> {
        match &node.value {
            Value::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| match &k.value {
                    Value::Str(s) => Some((Spanned::new(s.clone(), k.span), v)),
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                        Some((Spanned::new(k.key_text(), k.span), v))
                    }
                    _ => {
                        self.type_error(k, &format!("names in {what} must be strings"), "a string");
                        None
                    }
                })
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.type_error(node, &format!("{what} must be a mapping"), "a mapping");
                Vec::new()
            }
        }
    }

    /// Reports a required field that is absent.
    pub fn missing(&mut self, fields: &Fields<'_>, key: &str, what: &str) {
        self.push(
            Diagnostic::error(
                "runbook::plan::missing_field",
                format!("{what} is missing the required field `{key}`"),
                fields.owner,
                format!("`{key}` is required here"),
            )
            .with_help(format!("add `{key}:`")),
        );
    }

    /// Reports a value of the wrong type.
    pub fn type_error(&mut self, node: &Node, message: &str, expected: &str) {
        self.push(Diagnostic::error(
            "runbook::plan::wrong_type",
            message.to_string(),
            node.span,
            format!("expected {expected}, found {}", node.value.kind()),
        ));
    }

    /// A string; numbers and booleans are refused so that `version: 8.8` does not lose its
    /// spelling silently.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.value {
            Value::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            _ => {
                self.type_error(node, &format!("{what} must be a string"), "a string");
                None
            }
        }
    }

    /// A string, or a number/boolean taken in its YAML spelling (for header values, query
    /// parameters and kubectl arguments, where users write `--replicas: 3`).
    pub fn scalar_text(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.value {
            Value::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            Value::Int(i) => Some(Spanned::new(i.to_string(), node.span)),
            Value::Float(f) => Some(Spanned::new(f.to_string(), node.span)),
            Value::Bool(b) => Some(Spanned::new(b.to_string(), node.span)),
            _ => {
                self.type_error(node, &format!("{what} must be a string"), "a string");
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        match &node.value {
            Value::Bool(b) => Some(Spanned::new(*b, node.span)),
            _ => {
                self.type_error(node, &format!("{what} must be true or false"), "a boolean");
                None
            }
        }
    }

    pub fn int(&mut self, node: &Node, what: &str) -> Option<Spanned<i64>> {
        match &node.value {
            Value::Int(i) => Some(Spanned::new(*i, node.span)),
            _ => {
                self.type_error(node, &format!("{what} must be an integer"), "an integer");
                None
            }
        }
    }

    pub fn number(&mut self, node: &Node, what: &str) -> Option<Spanned<f64>> {
        match &node.value {
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(Spanned::new(*i as f64, node.span)),
            Value::Float(f) => Some(Spanned::new(*f, node.span)),
            _ => {
                self.type_error(node, &format!("{what} must be a number"), "a number");
                None
            }
        }
    }

    /// A duration as written: a string like `30s` or an integer number of seconds. Parsed
    /// later by `validate`.
    pub fn duration_text(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.value {
            Value::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            Value::Int(i) => Some(Spanned::new(format!("{i}s"), node.span)),
            _ => {
                self.type_error(
                    node,
                    &format!("{what} must be a duration such as `30s`"),
                    "a duration",
                );
                None
            }
        }
    }

    /// A list of items read by `item`; a single scalar counts as a one-item list when
    /// `allow_single` (so `needs: a` works like `needs: [a]`).
    pub fn list<'n, T>(
        &mut self,
        node: &'n Node,
        what: &str,
        allow_single: bool,
        mut item: impl FnMut(&mut Self, &'n Node) -> Option<T>,
    ) -> Vec<T> {
        match &node.value {
            Value::Seq(items) => {
                // Sized up front: `filter_map` gives no lower bound, and growing by doubling
                // a list of 10k steps costs half again its size at the peak.
                let mut out = Vec::with_capacity(items.len());
                out.extend(items.iter().filter_map(|n| item(self, n)));
                out
            }
            Value::Null => Vec::new(),
            Value::Str(_) if allow_single => item(self, node).into_iter().collect(),
            _ => {
                self.type_error(node, &format!("{what} must be a list"), "a list");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::yaml::parse;

    fn node(text: &str) -> Node {
        parse(text).expect("yaml")
    }

    fn codes(d: &Decoder) -> Vec<&'static str> {
        d.diagnostics.iter().map(|x| x.code).collect()
    }

    #[test]
    fn fields_keep_known_keys_and_report_the_others() {
        let n = node("name: x\nnmae: y\n1: z\n");
        let mut d = Decoder::default();
        let f = d
            .fields(&n, Span::point(0), "the plan", &["name", "steps"])
            .expect("a mapping");
        assert_eq!(f.get("name").map(|v| v.key_text()), Some("x".into()));
        assert!(f.has("name") && !f.has("nmae") && !f.has("steps"));
        assert_eq!(
            codes(&d),
            ["runbook::plan::unknown_key", "runbook::plan::invalid_key"]
        );
        d.missing(&f, "steps", "the plan");
        assert_eq!(codes(&d)[2], "runbook::plan::missing_field");
        assert!(d.diagnostics[2].message.contains("`steps`"));
    }

    #[test]
    fn fields_of_a_non_mapping_is_a_type_error() {
        let n = node("[a, b]");
        let mut d = Decoder::default();
        assert!(d.fields(&n, Span::point(0), "the plan", &["a"]).is_none());
        assert_eq!(codes(&d), ["runbook::plan::wrong_type"]);
        assert!(
            d.diagnostics[0].labels[0].text.contains("found"),
            "{:?}",
            d.diagnostics[0]
        );
    }

    #[test]
    fn scalars_are_read_strictly_or_in_their_spelling() {
        let mut d = Decoder::default();
        assert!(
            d.string(&node("8.8"), "`version`").is_none(),
            "a number is not a string"
        );
        assert_eq!(
            d.scalar_text(&node("3"), "arg").map(|s| s.value),
            Some("3".into())
        );
        assert_eq!(
            d.scalar_text(&node("true"), "arg").map(|s| s.value),
            Some("true".into())
        );
        assert_eq!(d.bool(&node("true"), "b").map(|s| s.value), Some(true));
        assert!(d.bool(&node("yes please"), "b").is_none());
        assert_eq!(d.int(&node("42"), "n").map(|s| s.value), Some(42));
        assert!(d.int(&node("4.2"), "n").is_none());
        assert_eq!(d.number(&node("4"), "n").map(|s| s.value), Some(4.0));
        assert_eq!(
            d.duration_text(&node("90"), "timeout").map(|s| s.value),
            Some("90s".into()),
            "a bare number is seconds"
        );
        assert!(d.duration_text(&node("[1]"), "timeout").is_none());
        assert_eq!(d.diagnostics.len(), 4);
        assert!(codes(&d).iter().all(|c| *c == "runbook::plan::wrong_type"));
    }

    #[test]
    fn lists_accept_a_single_name_where_allowed() {
        let mut d = Decoder::default();
        let one = |d: &mut Decoder, n: &Node| d.string(n, "a need").map(|s| s.value);
        assert_eq!(d.list(&node("a"), "`needs`", true, one), ["a"]);
        assert_eq!(d.list(&node("[a, b]"), "`needs`", true, one), ["a", "b"]);
        assert!(d.list(&node("~"), "`needs`", true, one).is_empty());
        assert!(d.diagnostics.is_empty());
        assert!(d.list(&node("a"), "`args`", false, one).is_empty());
        assert_eq!(codes(&d), ["runbook::plan::wrong_type"]);
    }

    #[test]
    fn named_maps_take_number_names_in_their_spelling() {
        let mut d = Decoder::default();
        let names: Vec<String> = d
            .named_map(&node("a: 1\n2: 3\n"), "`params`")
            .into_iter()
            .map(|(k, _)| k.value)
            .collect();
        assert_eq!(names, ["a", "2"]);
        assert!(d.named_map(&node("~"), "`params`").is_empty());
        assert!(d.named_map(&node("[a]"), "`params`").is_empty());
        assert_eq!(codes(&d), ["runbook::plan::wrong_type"]);
    }
}
