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
