//! jq: conditions and extractions written in the jq language, through jaq. `Jq::compile`
//! checks an expression at validation time (errors with their place inside it); `Jq::eval`
//! runs it at run time against a JSON input and the plan's variables. Compiled filters are
//! cached per thread by source text, because compiling against jq's standard library costs
//! about a quarter of a millisecond. It knows nothing of steps or HTTP.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value as Json;

use crate::source::Span;

/// Variables every expression may read, in this order.
pub const VARS: &[&str] = &["$params", "$steps", "$run", "$item", "$targets"];

/// A jq expression from a plan, with where it was written.
#[derive(Clone, Debug)]
pub struct Jq {
    pub source: String,
    pub span: Span,
}

/// A problem inside an expression: offsets are relative to the expression text.
#[derive(Clone, Debug, PartialEq)]
pub struct JqError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// The values bound to `$params`, `$steps`, ... for one evaluation.
pub struct JqVars<'a> {
    pub params: &'a Json,
    pub steps: &'a Json,
    pub run: &'a Json,
    pub item: &'a Json,
    pub targets: &'a Json,
}

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// Most compiled filters kept per thread. Each one carries jq's whole standard library
/// (about 100 KiB), so an unbounded cache of a plan with thousands of distinct expressions
/// would hold gigabytes; past the bound a miss costs one compile (under a millisecond).
const CACHE_LIMIT: usize = 256;

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<Filter>>> = RefCell::new(HashMap::new());
    /// The standard library's definitions, parsed once per thread: parsing their text
    /// was a third of every compile.
    static PRELUDE_DEFS: Vec<jaq_core::load::parse::Def<&'static str>> = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .collect();
}

impl Jq {
    pub fn new(source: impl Into<String>, span: Span) -> Self {
        Self {
            source: source.into(),
            span,
        }
    }

    /// Checks that the expression compiles.
    pub fn check(&self) -> Result<(), Vec<JqError>> {
        compiled(&self.source).map(|_| ())
    }

    /// Runs the expression and returns its first output (`null` if it has none).
    pub fn eval(&self, input: &Json, vars: &JqVars<'_>) -> Result<Json, String> {
        let filter = compiled(&self.source).map_err(|errs| {
            errs.into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let values = [vars.params, vars.steps, vars.run, vars.item, vars.targets].map(to_val);
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new(values));
        let mut out = filter.id.run((ctx, to_val(input))).map(unwrap_valr);
        match out.next() {
            None => Ok(Json::Null),
            Some(Ok(v)) => Ok(from_val(&v)),
            Some(Err(e)) => Err(format!("jq error: {e}")),
        }
    }

    /// Runs the expression as a condition: jq truthiness (only `false` and `null` are false).
    pub fn truthy(&self, input: &Json, vars: &JqVars<'_>) -> Result<bool, String> {
        self.eval(input, vars)
            .map(|v| !matches!(v, Json::Null | Json::Bool(false)))
    }
}

fn compiled(source: &str) -> Result<Rc<Filter>, Vec<JqError>> {
    if let Some(f) = CACHE.with(|c| c.borrow().get(source).cloned()) {
        return Ok(f);
    }
    let filter = Rc::new(compile(source)?);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        // Bound the cache: plans are finite, but a long-lived process may see many.
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(source.to_string(), filter.clone());
    });
    Ok(filter)
}

/// Definitions jq 1.6+ has and jaq lacks, prepended to every expression; error offsets are
/// shifted back so they still point into the user's text.
const PRELUDE: &str = "def IN(s): any(s == .; .); def IN(src; s): any(src == s; .); ";

/// Deeper bracket nesting than this is refused before jaq sees it: its parser and evaluator
/// recurse per level and would overflow the stack on hostile input.
const MAX_NESTING: usize = 64;

/// The first bracket that opens level `MAX_NESTING + 1`, if any (strings are skipped).
fn too_deep(source: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, ch) in source.char_indices() {
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_string = true,
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((i, i + 1));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn compile(source: &str) -> Result<Filter, Vec<JqError>> {
    if let Some((start, end)) = too_deep(source) {
        return Err(vec![JqError {
            message: format!("nested more than {MAX_NESTING} levels deep"),
            start,
            end,
        }]);
    }
    let code = format!("{PRELUDE}{source}");
    let shift = |e: JqError| JqError {
        message: e.message,
        start: e.start.saturating_sub(PRELUDE.len()),
        end: e.end.saturating_sub(PRELUDE.len()),
    };
    compile_code(&code).map_err(|errs| errs.into_iter().map(shift).collect())
}

fn compile_code(source: &str) -> Result<Filter, Vec<JqError>> {
    let defs = PRELUDE_DEFS.with(Clone::clone);
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let program = File {
        code: source,
        path: (),
    };
    let modules = loader.load(&arena, program).map_err(|errs| {
        errs.into_iter()
            .flat_map(|(file, e)| load_errors(file.code, e))
            .collect::<Vec<_>>()
    })?;
    Compiler::default()
        .with_funs(funs)
        .with_global_vars(VARS.iter().copied())
        .compile(modules)
        .map_err(|errs| {
            errs.into_iter()
                .flat_map(|(file, es)| {
                    es.into_iter().map(move |(name, undefined)| {
                        let r = span_of(file.code, name);
                        JqError {
                            message: format!("undefined {} `{name}`", undefined.as_str()),
                            start: r.0,
                            end: r.1,
                        }
                    })
                })
                .collect()
        })
}

fn load_errors<'s>(code: &'s str, e: jaq_core::load::Error<&'s str>) -> Vec<JqError> {
    use jaq_core::load::Error;
    match e {
        Error::Io(errs) => errs
            .into_iter()
            .map(|(s, msg)| {
                let r = span_of(code, s);
                JqError {
                    message: msg,
                    start: r.0,
                    end: r.1,
                }
            })
            .collect(),
        Error::Lex(errs) => errs
            .into_iter()
            .map(|(expect, s)| {
                let r = span_of(code, s);
                JqError {
                    message: format!("expected {}", expect.as_str()),
                    start: r.0,
                    end: r.0 + s.chars().next().map_or(0, char::len_utf8),
                }
            })
            .collect(),
        Error::Parse(errs) => errs
            .into_iter()
            .map(|(expect, s)| {
                let r = span_of(code, s);
                let found = if s.is_empty() {
                    "the end".to_string()
                } else {
                    format!("`{}`", s.chars().take(20).collect::<String>())
                };
                JqError {
                    message: format!("expected {}, found {found}", expect.as_str()),
                    start: r.0,
                    end: r.0 + s.chars().next().map_or(0, char::len_utf8),
                }
            })
            .collect(),
    }
}

/// Where `part` (a slice of `whole`) sits in it; jaq reports positions as sub-slices.
fn span_of(whole: &str, part: &str) -> (usize, usize) {
    let start = (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len());
    (start, (start + part.len()).min(whole.len()))
}

fn to_val(v: &Json) -> Val {
    let text = serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
    jaq_json::read::parse_single(&text).unwrap_or(Val::Null)
}

fn from_val(v: &Val) -> Json {
    serde_json::from_str(&v.to_string()).unwrap_or_else(|_| Json::String(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars<'a>(p: &'a Json, n: &'a Json) -> JqVars<'a> {
        JqVars {
            params: p,
            steps: n,
            run: n,
            item: n,
            targets: n,
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
        let errs = compile(&deep).err().expect("refused");
        assert!(errs[0].message.contains("nested more than"), "{errs:?}");
        assert_eq!(errs[0].start, MAX_NESTING);
        // Brackets inside strings do not count.
        assert!(too_deep(&format!("\"{}\"", "[".repeat(500))).is_none());
        assert!(compile("[[[1]]] | length").is_ok());
    }

    #[test]
    fn evaluates_with_variables() {
        let p = json!({"id": 7});
        let n = Json::Null;
        let jq = Jq::new(
            r#".body.state == "COMPLETED" and $params.id == 7"#,
            Span::default(),
        );
        assert!(
            jq.truthy(&json!({"body": {"state": "COMPLETED"}}), &vars(&p, &n))
                .unwrap()
        );
        let jq = Jq::new(".body.scheduledSnapshots", Span::default());
        assert_eq!(
            jq.eval(
                &json!({"body": {"scheduledSnapshots": ["a"]}}),
                &vars(&p, &n)
            )
            .unwrap(),
            json!(["a"])
        );
    }

    #[test]
    fn reports_errors_with_positions() {
        let e = Jq::new(".a | nosuchfn", Span::default())
            .check()
            .unwrap_err();
        assert_eq!((e[0].start, e[0].end), (5, 13));
        let e = Jq::new(".a ==", Span::default()).check().unwrap_err();
        assert!(!e.is_empty());
        let jq = Jq::new(r#".s | IN("A", "B")"#, Span::default());
        let n = Json::Null;
        assert!(jq.truthy(&json!({"s": "B"}), &vars(&n, &n)).unwrap());
        let e = Jq::new("$nope", Span::default()).check().unwrap_err();
        assert!(e[0].message.contains("variable"), "{e:?}");
    }
}
