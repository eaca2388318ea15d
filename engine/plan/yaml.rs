//! yaml: reads YAML text into a `Node` tree where every node, key included, carries its byte
//! span. This is the only place that talks to serde-saphyr; it enforces the input limits
//! (size, nesting, aliases) and turns YAML syntax errors into spans. It knows nothing of plans.
//! The common subset plan files use is read by `yaml_subset` first, which gives up to this
//! module on anything it is not sure of.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::plan::source::Span;

/// Largest plan or values file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 32;
/// Most alias expansions accepted (alias bombs stop here).
pub const MAX_ALIAS_EVENTS: usize = 100_000;

/// One YAML node with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

/// The value of a node. Mapping keys are nodes too, so they keep their spans.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// The word a diagnostic uses for this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The value as JSON (keys rendered as strings), for defaults, bodies and `-f` values.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A mapping key as text (non-string keys in their YAML spelling).
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".into(),
            Value::Seq(_) | Value::Map(_) => "<complex key>".into(),
        }
    }
}

/// Why a text is not a YAML document we accept.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses one YAML document. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            message: format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES} bytes",
                text.len()
            ),
            span: Span::point(0),
        });
    }
    if text.trim().is_empty() || text.lines().all(is_comment_or_blank) {
        return Ok(Node {
            span: Span::point(0),
            value: Value::Null,
        });
    }
    // Plan files almost always stay inside a simple subset of YAML that a hand-written reader
    // gets through several times faster; it gives up (None) on anything else.
    if let Some(node) = crate::plan::yaml_subset::parse(text) {
        return Ok(node);
    }
    parse_full(text)
}

/// The full YAML reader (serde-saphyr): decides everything the fast subset reader leaves,
/// including every error message. Tests compare the two.
pub(crate) fn parse_full(text: &str) -> Result<Node, YamlError> {
    let raw: serde_saphyr::Spanned<RawNode> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| to_yaml_error(&e, text))?;
    Ok(convert(raw, text.len()))
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t == "---"
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_nodes = 20_000_000;
    budget.max_events = 50_000_000;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES;
    budget.max_documents = 1;
    let mut alias = serde_saphyr::options::AliasLimits::default();
    alias.max_total_replayed_events = MAX_ALIAS_EVENTS;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits = alias;
    options.with_snippet = false;
    // YAML 1.2 booleans only: `on`, `n`, `yes` stay strings (the "Norway problem").
    options.strict_booleans = true;
    options
}

fn to_yaml_error(e: &serde_saphyr::Error, text: &str) -> YamlError {
    let span = e
        .location()
        .map(|l| {
            let s = l.span();
            match s.byte_offset() {
                Some(o) => {
                    let o = (o as usize).min(text.len());
                    Span::new(
                        o,
                        o + (s.byte_len().unwrap_or(0) as usize).min(text.len() - o),
                    )
                }
                // Syntax errors carry only line and column.
                None => {
                    let line = usize::try_from(l.line()).unwrap_or(1);
                    let col = usize::try_from(l.column()).unwrap_or(1);
                    let o = crate::plan::source::SourceFile::new("", text).offset_of(line, col);
                    let len = text[o..].chars().next().map_or(0, char::len_utf8);
                    Span::new(o, o + len)
                }
            }
        })
        .unwrap_or_else(|| Span::point(0));
    YamlError {
        message: clean_message(&e.to_string()),
        span,
    }
}

/// serde-saphyr appends "at line X column Y"; the diagnostic shows the place itself.
fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    if first.contains("Depth") || first.contains("recursion limit") || first.contains("nesting") {
        return format!("the document nests deeper than {MAX_DEPTH} levels");
    }
    if first.contains("alias") || first.contains("Alias") || first.contains("replay") {
        return format!(
            "the document expands aliases too much (limit: {MAX_ALIAS_EVENTS} expanded nodes); is it an alias bomb?"
        );
    }
    if first.contains("budget breached") {
        return format!(
            "the document is too large to read ({})",
            first.trim_start_matches("budget breached: ")
        );
    }
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match (first.starts_with("line "), first.find(": ")) {
        (true, Some(i)) => &first[i + 2..],
        _ => first,
    };
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

fn convert(raw: serde_saphyr::Spanned<RawNode>, text_len: usize) -> Node {
    let span = raw_span(&raw.referenced, text_len);
    let value = match raw.value {
        RawNode::Null => Value::Null,
        RawNode::Bool(b) => Value::Bool(b),
        RawNode::Int(i) => Value::Int(i),
        RawNode::Float(f) => Value::Float(f),
        RawNode::Str(s) => Value::Str(s),
        RawNode::Seq(items) => {
            Value::Seq(items.into_iter().map(|n| convert(n, text_len)).collect())
        }
        RawNode::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, text_len), convert(v, text_len)))
                .collect(),
        ),
    };
    let span = match &value {
        // Collections only carry their start; extend them over their children so a label
        // on a whole mapping or list covers it.
        Value::Seq(items) => extend(span, items.iter().map(|n| n.span)),
        Value::Map(entries) => extend(span, entries.iter().flat_map(|(k, v)| [k.span, v.span])),
        _ => span,
    };
    Node { span, value }
}

fn extend(span: Span, children: impl Iterator<Item = Span>) -> Span {
    children.fold(span, |acc, s| {
        Span::new(acc.start.min(s.start), acc.end.max(s.end))
    })
}

fn raw_span(location: &serde_saphyr::Location, text_len: usize) -> Span {
    let s = location.span();
    let start = s.byte_offset().map_or(0, |o| (o as usize).min(text_len));
    let len = s.byte_len().map_or(0, |l| l as usize);
    Span::new(start, (start + len).min(text_len))
}

/// What serde-saphyr fills; converted to `Node` right away.
enum RawNode {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<serde_saphyr::Spanned<RawNode>>),
    Map(
        Vec<(
            serde_saphyr::Spanned<RawNode>,
            serde_saphyr::Spanned<RawNode>,
        )>,
    ),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNode, E> {
        i64::try_from(v)
            .map(RawNode::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawNode, E> {
        i64::try_from(v)
            .map(RawNode::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawNode, E> {
        i64::try_from(v)
            .map(RawNode::Int)
            .map_err(|_| E::custom(format!("integer {v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<RawNode, E> {
        Err(E::custom("binary values are not supported"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = a.next_key()? {
            entries.push((key, a.next_value()?));
        }
        Ok(RawNode::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        parse(text).expect("parses")
    }

    #[test]
    fn scalars_keep_their_spans() {
        let text = "a: 'x'\nb: [1, 2]\n";
        let n = node(text);
        let Value::Map(entries) = &n.value else {
            panic!()
        };
        assert_eq!(&text[entries[0].0.span.start..entries[0].0.span.end], "a");
        assert_eq!(&text[entries[0].1.span.start..entries[0].1.span.end], "'x'");
        let Value::Seq(items) = &entries[1].1.value else {
            panic!()
        };
        assert_eq!(&text[items[1].span.start..items[1].span.end], "2");
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.span.start > 0, "{e:?}");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.to_lowercase().contains("duplicate"), "{e:?}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&text).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&text).is_err());
        let text: String = (0..100)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        assert!(parse(&text).is_err());
    }

    #[test]
    fn empty_is_null() {
        assert_eq!(node("# nothing\n").value, Value::Null);
    }
}
