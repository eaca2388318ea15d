//! template: handlebars strings in plans. At validation time a template is parsed once and
//! its references (`params.x`, `steps.<id>.outputs.<name>`, ...) are listed with their spans;
//! at run time it renders against a JSON scope. It decides nothing about which references are
//! allowed where (that is `validate`'s job) and never sees secrets' meaning: it renders what
//! the scope holds.

mod simple;

use std::sync::{Arc, LazyLock};

use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, JsonRender, Output, RenderContext, RenderError,
    RenderErrorReason, Renderable,
};
use serde_json::Value as Json;

use crate::plan::source::Span;

/// Why a template did not render. Validation refuses most causes up front (unknown names,
/// unknown helpers); what remains is a value missing at run time or a helper failing on it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRenderError {
    /// A variable with no value (`{{steps.a.outputs.x}}` before `a` produced `x`).
    #[error("`{0}` has no value")]
    MissingValue(String),
    /// Any other handlebars failure, in its own words.
    #[error("{0}")]
    Handlebars(String),
}

/// Callers that still carry errors as text take a template error as its message.
impl From<TemplateRenderError> for String {
    fn from(e: TemplateRenderError) -> String {
        e.to_string()
    }
}

/// Helpers templates may call, besides the block helpers `if`, `unless`, `each` and `with`.
pub const HELPERS: &[&str] = &[
    "json", "default", "now", "eq", "ne", "not", "and", "or", "len", "lookup",
];

/// The helpers handlebars registers itself (`Handlebars::new`); a lone `{{name}}` with one of
/// these names is a call, not a variable.
const BUILTIN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// A parsed template string.
#[derive(Clone, Debug)]
pub struct Template {
    pub source: String,
    pub span: Span,
    body: Body,
    pub refs: Vec<Reference>,
    /// The whole string is one `{{path}}` (the only reference): JSON bodies substitute the
    /// typed value.
    whole: bool,
}

/// How a template renders.
#[derive(Clone, Debug)]
enum Body {
    /// No `{{`: the source itself.
    Literal,
    /// Text and `{{path}}` only; the n-th `Var` reads `refs[n]`.
    Simple(Arc<[simple::Piece]>),
    /// Anything else, compiled by handlebars.
    Full(Arc<handlebars::Template>),
}

/// One variable a template reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub path: Vec<String>,
    pub span: Span,
    /// Read under `default` (or a `with`/`if` guard): a missing value is fine.
    pub guarded: bool,
}

impl Reference {
    /// The path as written, e.g. `steps.a.outputs.b`.
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}

/// A template that does not parse.
#[derive(Clone, Debug)]
pub struct TemplateError {
    pub message: String,
    pub span: Span,
}

impl Template {
    /// A template with no `{{`; renders to itself with no parsing.
    pub fn literal(text: impl Into<String>, span: Span) -> Self {
        Self {
            source: text.into(),
            span,
            body: Body::Literal,
            refs: Vec::new(),
            whole: false,
        }
    }

    /// Parses `source`. `span` is where it sits in the file; `exact` says whether offsets in
    /// `source` map 1:1 onto the file from `span.start` (false for escaped or folded YAML
    /// strings, whose labels then cover the whole value).
    pub fn parse(
        source: &str,
        span: Span,
        content_start: Option<usize>,
    ) -> Result<Self, TemplateError> {
        if !source.contains("{{") {
            return Ok(Self::literal(source, span));
        }
        let at = |offset: usize, len: usize| match content_start {
            Some(start) => Span::new(start + offset, start + offset + len),
            None => span,
        };
        if let Some(offset) = too_deep(source) {
            return Err(TemplateError {
                message: format!(
                    "blocks or sub-expressions nested more than {MAX_NESTING} levels deep"
                ),
                span: at(offset, 2),
            });
        }
        if let Some(pieces) = simple::parse(source, |n| {
            BUILTIN_HELPERS.contains(&n) || HELPERS.contains(&n)
        }) {
            return Ok(Self::simple(source, span, pieces, at));
        }
        Self::full(source, span, at)
    }

    /// Compiles with handlebars: helpers, blocks and everything `simple` leaves alone.
    fn full(
        source: &str,
        span: Span,
        at: impl Fn(usize, usize) -> Span,
    ) -> Result<Self, TemplateError> {
        let parsed = handlebars::Template::compile(source).map_err(|e| {
            let offset = e
                .pos()
                .map_or(0, |(line, col)| offset_in(source, line, col));
            TemplateError {
                message: e.reason().to_string(),
                span: at(offset, 0),
            }
        })?;
        if let Some(name) = unknown_helper(&parsed.elements) {
            let offset = source.find(name.as_str()).unwrap_or(0);
            return Err(TemplateError {
                message: format!(
                    "unknown helper `{name}`; helpers are {}, and the blocks `if`, `unless`, `each`, `with`",
                    HELPERS.join(", ")
                ),
                span: at(offset, name.len()),
            });
        }
        let mut refs = Vec::new();
        let mut cursor = 0;
        collect_elements(&parsed.elements, source, &mut cursor, false, &mut refs);
        for r in &mut refs {
            r.span = at(r.span.start, r.span.len());
        }
        let whole = is_whole_path(&parsed);
        Ok(Self {
            source: source.to_string(),
            span,
            body: Body::Full(Arc::new(parsed)),
            refs,
            whole,
        })
    }

    fn simple(
        source: &str,
        span: Span,
        pieces: Vec<simple::Piece>,
        at: impl Fn(usize, usize) -> Span,
    ) -> Self {
        let refs: Vec<Reference> = pieces
            .iter()
            .filter_map(|p| match p {
                simple::Piece::Var(r) => Some(Reference {
                    path: split_path(&source[r.clone()]),
                    span: at(r.start, r.len()),
                    guarded: false,
                }),
                simple::Piece::Text(_) => None,
            })
            .collect();
        let whole = matches!(pieces.as_slice(), [simple::Piece::Var(_)]);
        Self {
            source: source.to_string(),
            span,
            body: Body::Simple(pieces.into()),
            refs,
            whole,
        }
    }

    /// Whether the template has anything to render.
    pub fn is_literal(&self) -> bool {
        matches!(self.body, Body::Literal)
    }

    /// Renders against `scope`.
    pub fn render(&self, scope: &Json) -> Result<String, TemplateRenderError> {
        let parsed = match &self.body {
            Body::Literal => return Ok(self.source.clone()),
            Body::Simple(pieces) => return Ok(self.render_simple(pieces, scope)),
            Body::Full(parsed) => parsed,
        };
        let ctx = Context::from(scope.clone());
        let mut rc = RenderContext::new(None);
        let mut out = handlebars::StringOutput::new();
        parsed
            .render(&REGISTRY, &ctx, &mut rc, &mut out)
            .map_err(|e| render_error(&e))?;
        out.into_string()
            .map_err(|e| TemplateRenderError::Handlebars(e.to_string()))
    }

    /// What handlebars would print: a missing value prints nothing (no strict mode), values
    /// print as handlebars prints them.
    fn render_simple(&self, pieces: &[simple::Piece], scope: &Json) -> String {
        let mut out = String::with_capacity(self.source.len());
        let mut refs = self.refs.iter();
        for piece in pieces {
            match piece {
                simple::Piece::Text(r) => out.push_str(&self.source[r.clone()]),
                simple::Piece::Var(_) => {
                    if let Some(v) = refs.next().and_then(|r| lookup(scope, &r.path)) {
                        out.push_str(&v.render());
                    }
                }
            }
        }
        out
    }

    /// The path of a template that is one `{{path}}` and nothing else.
    pub fn whole_path(&self) -> Option<&[String]> {
        match (self.whole, self.refs.as_slice()) {
            (true, [r]) => Some(&r.path),
            _ => None,
        }
    }

    /// Renders to a typed value: a whole-string `{{path}}` yields the value itself (so
    /// `backupId: "{{params.backup_id}}"` stays a number); anything else yields a string.
    pub fn render_value(&self, scope: &Json) -> Result<Json, TemplateRenderError> {
        if let Some(path) = self.whole_path()
            && let Some(v) = lookup(scope, path)
        {
            return Ok(v.clone());
        }
        self.render(scope).map(Json::String)
    }
}

/// Follows a dotted path through a JSON scope.
pub fn lookup<'a>(scope: &'a Json, path: &[String]) -> Option<&'a Json> {
    path.iter().try_fold(scope, |v, seg| match v {
        Json::Object(m) => m.get(seg),
        Json::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn render_error(e: &RenderError) -> TemplateRenderError {
    match e.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => {
            TemplateRenderError::MissingValue(path.clone())
        }
        other => TemplateRenderError::Handlebars(other.to_string()),
    }
}

fn offset_in(source: &str, line: usize, col: usize) -> usize {
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = source.get(line_start..).unwrap_or("");
    line_start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// Whether the template is one `{{path}}` and nothing else.
fn is_whole_path(t: &handlebars::Template) -> bool {
    match t.elements.as_slice() {
        [TemplateElement::Expression(h)] if h.params.is_empty() && h.hash.is_empty() => {
            match &h.name {
                Parameter::Path(_) => true,
                Parameter::Name(n) => !HELPERS.contains(&n.as_str()),
                _ => false,
            }
        }
        _ => false,
    }
}

fn raw_path(p: &handlebars::Path) -> String {
    match p {
        handlebars::Path::Relative((_, raw)) | handlebars::Path::Local((_, _, raw)) => raw.clone(),
    }
}

fn split_path(raw: &str) -> Vec<String> {
    raw.trim_start_matches("./")
        .split(['.', '/'])
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches(|c| c == '[' || c == ']').to_string())
        .collect()
}

fn collect_elements(
    elements: &[TemplateElement],
    src: &str,
    cursor: &mut usize,
    guarded: bool,
    refs: &mut Vec<Reference>,
) {
    for el in elements {
        match el {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                collect_helper(h, src, cursor, guarded, refs);
            }
            TemplateElement::HelperBlock(h) => {
                let name = param_name(&h.name);
                // Inside `each`/`with` paths are relative to the block value: not checked.
                let scoped = matches!(name.as_deref(), Some("each" | "with"));
                let guard = guarded || matches!(name.as_deref(), Some("if" | "unless" | "with"));
                for p in &h.params {
                    collect_param(p, src, cursor, guard, refs);
                }
                if !scoped {
                    if let Some(t) = &h.template {
                        collect_elements(&t.elements, src, cursor, guarded, refs);
                    }
                    if let Some(t) = &h.inverse {
                        collect_elements(&t.elements, src, cursor, guarded, refs);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The first helper called (`{{name x}}`, `{{#name x}}`, `(name x)`) that is neither ours nor
/// handlebars' own: handlebars only finds out when it renders, in the middle of a run.
fn unknown_helper(elements: &[TemplateElement]) -> Option<String> {
    let known = |n: &str| HELPERS.contains(&n) || BUILTIN_HELPERS.contains(&n);
    let in_params = |h: &HelperTemplate| {
        h.params
            .iter()
            .chain(h.hash.values())
            .find_map(|p| match p {
                Parameter::Subexpression(sub) => {
                    unknown_helper(std::slice::from_ref(sub.element.as_ref()))
                }
                _ => None,
            })
    };
    elements.iter().find_map(|el| match el {
        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
            let is_call = !h.params.is_empty() || !h.hash.is_empty();
            match &h.name {
                Parameter::Name(n) if is_call && !known(n) => Some(n.clone()),
                _ => in_params(h),
            }
        }
        TemplateElement::HelperBlock(h) => match param_name(&h.name) {
            Some(n) if !known(&n) => Some(n),
            _ => in_params(h).or_else(|| {
                [&h.template, &h.inverse]
                    .into_iter()
                    .flatten()
                    .find_map(|t| unknown_helper(&t.elements))
            }),
        },
        _ => None,
    })
}

fn param_name(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(p) => Some(raw_path(p)),
        _ => None,
    }
}

fn collect_helper(
    h: &HelperTemplate,
    src: &str,
    cursor: &mut usize,
    guarded: bool,
    refs: &mut Vec<Reference>,
) {
    let is_call = !h.params.is_empty() || !h.hash.is_empty();
    match &h.name {
        Parameter::Name(n) if is_call || HELPERS.contains(&n.as_str()) => {
            let guard = guarded || n == "default";
            for p in &h.params {
                collect_param(p, src, cursor, guard, refs);
            }
            for p in h.hash.values() {
                collect_param(p, src, cursor, guard, refs);
            }
        }
        other => collect_param(other, src, cursor, guarded, refs),
    }
}

fn collect_param(
    p: &Parameter,
    src: &str,
    cursor: &mut usize,
    guarded: bool,
    refs: &mut Vec<Reference>,
) {
    match p {
        Parameter::Path(path) => push_ref(&raw_path(path), src, cursor, guarded, refs),
        Parameter::Name(n) => push_ref(n, src, cursor, guarded, refs),
        Parameter::Subexpression(sub) => {
            if let TemplateElement::Expression(h) = sub.element.as_ref() {
                collect_helper(h, src, cursor, guarded, refs);
            }
        }
        _ => {}
    }
}

fn push_ref(raw: &str, src: &str, cursor: &mut usize, guarded: bool, refs: &mut Vec<Reference>) {
    if raw.starts_with('@') || raw == "this" || raw.starts_with("../") {
        return;
    }
    let at = src
        .get(*cursor..)
        .and_then(|rest| rest.find(raw))
        .map_or(*cursor, |i| *cursor + i);
    *cursor = at + raw.len();
    refs.push(Reference {
        path: split_path(raw),
        span: Span::new(at, at + raw.len()),
        guarded,
    });
}

static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut h = Handlebars::new();
    h.register_escape_fn(handlebars::no_escape);
    h.register_helper("json", Box::new(json_helper));
    h.register_helper("default", Box::new(default_helper));
    h.register_helper("now", Box::new(now_helper));
    h.register_helper("len", Box::new(len_helper));
    h
});

fn json_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let v = h.param(0).map_or(Json::Null, |p| p.value().clone());
    out.write(&serde_json::to_string(&v).unwrap_or_default())?;
    Ok(())
}

fn default_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let first = h.param(0).map(|p| p.value()).filter(|v| !v.is_null());
    let v = first
        .or_else(|| h.param(1).map(|p| p.value()))
        .cloned()
        .unwrap_or(Json::Null);
    out.write(&display(&v))?;
    Ok(())
}

fn len_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let n = match h.param(0).map(|p| p.value()) {
        Some(Json::Array(a)) => a.len(),
        Some(Json::Object(o)) => o.len(),
        Some(Json::String(s)) => s.chars().count(),
        _ => 0,
    };
    out.write(&n.to_string())?;
    Ok(())
}

fn now_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let format = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .unwrap_or("unix");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let text = match format {
        "unix" => now.as_secs().to_string(),
        "unix_ms" => now.as_millis().to_string(),
        "rfc3339" => crate::clock::rfc3339(now),
        other => {
            return Err(RenderErrorReason::Other(format!(
                "`now` takes \"unix\", \"unix_ms\" or \"rfc3339\", not {other:?}"
            ))
            .into());
        }
    };
    out.write(&text)?;
    Ok(())
}

/// How a JSON value reads inside a string: strings bare, everything else as JSON.
pub fn display(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Deeper nesting than this is refused: rendering recurses per level (a stack overflow on
/// hostile input), and no real template comes close.
const MAX_NESTING: usize = 32;

/// The offset of the `{{#` block or `(` sub-expression that opens level `MAX_NESTING + 1`.
fn too_deep(source: &str) -> Option<usize> {
    let (mut blocks, mut parens, mut inside) = (0usize, 0usize, false);
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"{{") {
            inside = true;
            match bytes.get(i + 2) {
                Some(b'#') => blocks += 1,
                Some(b'/') => blocks = blocks.saturating_sub(1),
                _ => {}
            }
            if blocks > MAX_NESTING {
                return Some(i);
            }
            i += 2;
            continue;
        }
        if inside && bytes[i..].starts_with(b"}}") {
            inside = false;
            parens = 0;
            i += 2;
            continue;
        }
        if inside {
            match bytes[i] {
                b'(' => {
                    parens += 1;
                    if parens > MAX_NESTING {
                        return Some(i);
                    }
                }
                b')' => parens = parens.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_helpers_are_refused_at_their_place() {
        for src in [
            "x {{upper params.a}}",
            "{{#loop params.a}}y{{/loop}}",
            "{{json (upper params.a)}}",
            "{{#if params.a}}{{upper params.a}}{{/if}}",
        ] {
            let e = Template::parse(src, Span::new(0, src.len()), Some(0)).unwrap_err();
            assert!(e.message.contains("unknown helper"), "{src}: {}", e.message);
            let name = &src[e.span.start..e.span.end];
            assert!(name == "upper" || name == "loop", "{src}: {name}");
        }
        for src in [
            "{{default params.a \"b\"}}",
            "{{#each params.l}}{{this}}{{/each}}",
            "{{gt 1 2}}",
        ] {
            assert!(
                Template::parse(src, Span::new(0, src.len()), Some(0)).is_ok(),
                "{src}"
            );
        }
    }

    fn refs(src: &str) -> Vec<(String, &str, bool)> {
        let t = Template::parse(src, Span::new(0, src.len()), Some(0)).expect("parses");
        t.refs
            .iter()
            .map(|r| (r.dotted(), &src[r.span.start..r.span.end], r.guarded))
            .collect()
    }

    #[test]
    fn deep_nesting_is_refused() {
        let blocks = format!("/{}x{}", "{{#if a}}".repeat(40), "{{/if}}".repeat(40));
        let e = Template::parse(&blocks, Span::new(0, blocks.len()), Some(0)).unwrap_err();
        assert!(e.message.contains("nested more than"), "{}", e.message);
        let subs = format!("{{{{json {}x{}}}}}", "(json ".repeat(40), ")".repeat(40));
        assert!(Template::parse(&subs, Span::new(0, subs.len()), Some(0)).is_err());
        // Siblings are not nesting.
        let flat = "{{#if a}}x{{/if}}".repeat(100);
        assert!(Template::parse(&flat, Span::new(0, flat.len()), Some(0)).is_ok());
    }

    #[test]
    fn lists_references_with_their_place() {
        assert_eq!(
            refs("/x/{{params.id}}/{{steps.a-b.outputs.c}}"),
            vec![
                ("params.id".into(), "params.id", false),
                ("steps.a-b.outputs.c".into(), "steps.a-b.outputs.c", false)
            ]
        );
        assert_eq!(
            refs("{{default steps.a.outputs.b 3}}"),
            vec![("steps.a.outputs.b".into(), "steps.a.outputs.b", true)]
        );
        assert_eq!(refs("{{json item}}"), vec![("item".into(), "item", false)]);
        assert_eq!(refs("{{now \"unix\"}}"), vec![]);
    }

    #[test]
    fn renders_and_keeps_types_for_whole_paths() {
        let scope = json!({"params": {"id": 42, "name": "x"}, "item": ["a", 1]});
        let t = Template::parse("{{params.id}}", Span::default(), None).unwrap();
        assert_eq!(t.render_value(&scope).unwrap(), json!(42));
        let t = Template::parse("id-{{params.id}}-{{params.name}}", Span::default(), None).unwrap();
        assert_eq!(t.render(&scope).unwrap(), "id-42-x");
        let t = Template::parse("{{json item}}", Span::default(), None).unwrap();
        assert_eq!(t.render(&scope).unwrap(), r#"["a",1]"#);
        let t = Template::parse("{{default params.none \"d\"}}", Span::default(), None).unwrap();
        assert_eq!(t.render(&scope).unwrap(), "d");
    }

    /// The handlebars-free path reads and renders exactly as handlebars does.
    #[test]
    fn simple_templates_match_handlebars() {
        let scope = json!({
            "params": {"id": 42, "name": "x", "f": 1.5, "t": true, "n": null,
                       "list": ["a", 1, {"k": 1}], "map": {"k": "v"}},
            "steps": {"s-1": {"outputs": {"y": "why"}}},
            "item": "it", "run": {"id": "r-1"}
        });
        for src in [
            "{{params.id}}",
            "id-{{params.id}}-{{params.name}}/{{ params.f }}",
            "{{params.t}}{{params.n}}{{params.missing}}{{nothing.at.all}}",
            "[{{params.list}}] {{params.map}} {{params.list.0}} {{params.list.2.k}}",
            "/x/{{steps.s-1.outputs.y}}?run={{run.id}}&i={{item}}",
            "{{item}}",
            "a } b { c {{params.name}}",
        ] {
            let span = Span::new(10, 10 + src.len());
            let fast = Template::parse(src, span, Some(10)).unwrap();
            assert!(matches!(fast.body, Body::Simple(_)), "{src}");
            let full = Template::full(src, span, |o, l| Span::new(10 + o, 10 + o + l)).unwrap();
            assert_eq!(fast.refs, full.refs, "{src}");
            assert_eq!(fast.whole_path(), full.whole_path(), "{src}");
            assert_eq!(fast.render(&scope), full.render(&scope), "{src}");
            assert_eq!(
                fast.render_value(&scope),
                full.render_value(&scope),
                "{src}"
            );
        }
    }

    #[test]
    fn reports_syntax_errors() {
        assert!(Template::parse("{{#if x}}", Span::default(), Some(0)).is_err());
    }
}
