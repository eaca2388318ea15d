//! jq: conditions and extractions written in the jq language, through jaq. `check_all`
//! checks a plan's expressions at validation time, in one compile (errors with their place
//! inside each expression); `Jq::eval` runs one at run time against a JSON input and the
//! plan's variables. Compiled filters are cached per thread by source text, because
//! compiling against jq's standard library costs about a quarter of a millisecond. It knows
//! nothing of steps or HTTP.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value as Json;

use crate::plan::source::Span;

/// Why an expression gave no value at run time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// It does not compile (validation refuses this first; kept for expressions made at run
    /// time), with every compiler message.
    #[error("{}", .0.join("; "))]
    Compile(Vec<String>),
    /// jq raised an error on this input (`error(...)`, a type error, ...).
    #[error("jq error: {0}")]
    Runtime(String),
}

/// Callers that still carry errors as text take an evaluation error as its message.
impl From<EvalError> for String {
    fn from(e: EvalError) -> String {
        e.to_string()
    }
}

/// Variables every expression may read, in this order.
pub const VARS: &[&str] = &["$params", "$steps", "$run", "$item", "$targets", "$effects"];

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
    /// What each step may have done so far, succeeded or not (see the run's `effects`).
    pub effects: &'a Json,
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

    /// Runs the expression and returns its first output (`null` if it has none).
    pub fn eval(&self, input: &Json, vars: &JqVars<'_>) -> Result<Json, EvalError> {
        let filter = compiled(&self.source)
            .map_err(|errs| EvalError::Compile(errs.into_iter().map(|e| e.message).collect()))?;
        let values = [
            vars.params,
            vars.steps,
            vars.run,
            vars.item,
            vars.targets,
            vars.effects,
        ]
        .map(to_val);
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new(values));
        let mut out = filter.id.run((ctx, to_val(input))).map(unwrap_valr);
        match out.next() {
            None => Ok(Json::Null),
            Some(Ok(v)) => Ok(from_val(&v)),
            Some(Err(e)) => Err(EvalError::Runtime(e.to_string())),
        }
    }

    /// Runs the expression as a condition: jq truthiness (only `false` and `null` are false).
    pub fn truthy(&self, input: &Json, vars: &JqVars<'_>) -> Result<bool, EvalError> {
        self.eval(input, vars)
            .map(|v| !matches!(v, Json::Null | Json::Bool(false)))
    }
}

/// Checks many expressions at once; the result is in the order of `sources`.
///
/// Compiling one expression compiles jq's whole standard library with it (about 0.2 ms), so
/// a plan with thousands of distinct expressions spent seconds there. Here every
/// expression that parses on its own becomes one definition of a single program, compiled
/// once; only when that program fails is it split in halves until the failing expressions
/// stand alone and are compiled alone, which gives their own errors and positions.
pub fn check_all(sources: &[&str]) -> Vec<Result<(), Vec<JqError>>> {
    let mut results = vec![Ok(()); sources.len()];
    let mut batch = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        if batchable(source) {
            batch.push(i);
        } else {
            results[i] = compiled(source).map(|_| ());
        }
    }
    check_group(sources, &batch, &mut results);
    results
}

/// Names of the definitions that hold batched expressions. An expression that mentions the
/// prefix is compiled alone, so no expression can call another one's definition.
const BATCH_PREFIX: &str = "__runbook_jq_";

/// Whether `source` can go into a batch: it must lex and parse as one complete term on its
/// own, so that inside `def name: (\n{source}\n);` its tokens and its parse are the same as
/// alone (a comment ends at the newline; a complete term cannot swallow the `)`).
fn batchable(source: &str) -> bool {
    if source.contains(BATCH_PREFIX) || too_complex(source).is_some() {
        return false;
    }
    // A trailing backslash would carry a comment over the newline that must end it.
    if source.lines().any(|l| l.trim_end().ends_with('\\')) {
        return false;
    }
    jaq_core::load::parse(source, |p| p.term()).is_some()
}

/// Compiles the expressions `group` (indices into `sources`) as one program; on failure
/// splits the group, down to single expressions, which are compiled alone for their errors.
fn check_group(sources: &[&str], group: &[usize], results: &mut [Result<(), Vec<JqError>>]) {
    match group {
        [] => {}
        [i] => results[*i] = compiled(sources[*i]).map(|_| ()),
        _ if compile(&batch_program(sources, group)).is_ok() => {}
        _ => {
            let (left, right) = group.split_at(group.len() / 2);
            check_group(sources, left, results);
            check_group(sources, right, results);
        }
    }
}

/// `def __runbook_jq_0: (\n{e0}\n); def __runbook_jq_1: ...; .`
fn batch_program(sources: &[&str], group: &[usize]) -> String {
    let mut code = String::with_capacity(group.iter().map(|&i| sources[i].len() + 32).sum());
    for (n, &i) in group.iter().enumerate() {
        use std::fmt::Write;
        let _ = write!(code, "def {BATCH_PREFIX}{n}: (\n{}\n);\n", sources[i]);
    }
    code.push('.');
    code
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

/// More operators and separators (`,` `|` `+` `==` `and` `or` ...) than this are refused
/// too: jaq parses, compiles and evaluates a chain of them as a tree as deep as the chain,
/// so `[1,1,...]` with a thousand elements or a thousand `or` terms overflowed the stack
/// (a debug build failed from about 300). Real conditions use a few dozen.
const MAX_OPERATORS: usize = 128;

/// Why `source` is refused before jaq sees it, with the byte range of the first offending
/// token: too deeply nested, or too many operators. Strings and comments are skipped.
fn too_complex(source: &str) -> Option<JqError> {
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut in_comment = false;
    let mut prev_op = false;
    let mut prev = ' ';
    let bytes = source.as_bytes();
    for (i, ch) in source.char_indices() {
        if in_comment {
            in_comment = ch != '\n';
            continue;
        }
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        let word_op = (source[i..].starts_with("and") || source[i..].starts_with("or"))
            && !(prev.is_alphanumeric() || prev == '_' || prev == '$' || prev == '.')
            && {
                let len = if source[i..].starts_with("and") { 3 } else { 2 };
                !bytes
                    .get(i + len)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            };
        let is_op = word_op || ",|+-*/%<>=!".contains(ch);
        if is_op && !prev_op {
            operators += 1;
            if operators > MAX_OPERATORS {
                return Some(JqError {
                    message: format!(
                        "more than {MAX_OPERATORS} operators and separators; split the expression or compute the value in a step"
                    ),
                    start: i,
                    end: i + ch.len_utf8(),
                });
            }
        }
        prev_op = is_op && !word_op;
        match ch {
            '"' => in_string = true,
            '#' => in_comment = true,
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(JqError {
                        message: format!("nested more than {MAX_NESTING} levels deep"),
                        start: i,
                        end: i + 1,
                    });
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = ch;
    }
    None
}

fn compile(source: &str) -> Result<Filter, Vec<JqError>> {
    if let Some(e) = too_complex(source) {
        return Err(vec![e]);
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
            effects: n,
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
        let errs = compile(&deep).err().expect("refused");
        assert!(errs[0].message.contains("nested more than"), "{errs:?}");
        assert_eq!(errs[0].start, MAX_NESTING);
        // Brackets inside strings do not count.
        assert!(too_complex(&format!("\"{}\"", "[".repeat(500))).is_none());
        assert!(compile("[[[1]]] | length").is_ok());
    }

    #[test]
    fn long_operator_chains_are_refused_before_parsing() {
        let long = [
            format!("[{}] | length > 0", vec!["1"; 1200].join(",")),
            vec!["true"; 2000].join(" or "),
            vec!["."; 3000].join(" | "),
        ];
        for source in &long {
            let errs = compile(source).err().expect("refused");
            assert!(errs[0].message.contains("operators"), "{}", errs[0].message);
        }
        // Words that merely contain `and`/`or`, strings and comments do not count.
        let fine = format!(
            ".order.android | \"{}\" # {}\n",
            ",".repeat(500),
            "|".repeat(500)
        );
        assert!(too_complex(&fine).is_none());
        let ops = vec!["."; MAX_OPERATORS + 1].join("|");
        assert!(too_complex(&ops).is_none());
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

    fn check(source: &str) -> Result<(), Vec<JqError>> {
        check_all(&[source]).remove(0)
    }

    #[test]
    fn reports_errors_with_positions() {
        let e = check(".a | nosuchfn").unwrap_err();
        assert_eq!((e[0].start, e[0].end), (5, 13));
        let e = check(".a ==").unwrap_err();
        assert!(!e.is_empty());
        let jq = Jq::new(r#".s | IN("A", "B")"#, Span::default());
        let n = Json::Null;
        assert!(jq.truthy(&json!({"s": "B"}), &vars(&n, &n)).unwrap());
        let e = check("$nope").unwrap_err();
        assert!(e[0].message.contains("variable"), "{e:?}");
    }

    /// Batched checking must give exactly what checking each expression alone gives.
    #[test]
    fn batch_check_agrees_with_checking_alone() {
        let cases = [
            ".a",
            ".body.state == \"COMPLETED\"",
            ".a | nosuchfn",
            ".a ==",
            "1); def g: (2",
            ".a # a comment",
            ".a # a comment that goes on \\\n| nosuchfn",
            "def f: 1; f + 1",
            "\"x\\(.a | tostring)y\"",
            "__runbook_jq_0",
            "$params.x and $nope",
            "reduce .[] as $x (0; . + $x)",
            "label $out | foreach .[] as $i (0; .+$i; if . > 3 then ., break $out else empty end)",
            ".s | IN(\"A\", \"B\")",
            "",
            ")",
            "include \"x\"; .",
            "[.[] | select(.state == \"FAILED\")] | length > 0",
        ];
        let alone: Vec<_> = cases.iter().map(|c| compiled(c).map(|_| ())).collect();
        assert_eq!(check_all(&cases), alone);
        // A batch of only valid expressions compiles as one program.
        let valid = [".a", ".b", "$params.x", "def f: 2; f"];
        assert!(check_all(&valid).iter().all(Result::is_ok));
        assert!(compile(&batch_program(&valid, &[0, 1, 2, 3])).is_ok());
    }

    /// Mutated expressions (characters dropped, doubled or replaced by jq punctuation),
    /// checked in batches, agree with checking each alone: no mutation may make a batch
    /// accept what alone is refused, or the other way round.
    #[test]
    fn batch_check_agrees_on_mutated_expressions() {
        let seeds = [
            r#".body.state == "COMPLETED" and $params.id == 7"#,
            r#"[.body[] | select(.state != "COMPLETED")] | length == 0"#,
            r#"def f(x): x + 1; f(.a) # note"#,
            r#""id-\(.a | tostring)" | ascii_downcase"#,
            r#"reduce .items[] as $i ({}; .[$i.name] = $i)"#,
        ];
        let pieces = [
            "(", ")", "[", "]", "\"", "#", "\\", "\n", ";", "|", "def", "$", ".",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut cases = Vec::new();
        for _ in 0..400 {
            let mut chars: Vec<String> =
                seeds[next(seeds.len())].chars().map(String::from).collect();
            for _ in 0..1 + next(3) {
                let at = next(chars.len());
                match next(3) {
                    0 => drop(chars.remove(at)),
                    1 => chars.insert(at, chars[at].clone()),
                    _ => chars[at] = pieces[next(pieces.len())].to_string(),
                }
            }
            cases.push(chars.concat());
        }
        let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
        let alone: Vec<_> = cases.iter().map(|c| compiled(c).map(|_| ())).collect();
        let valid = alone.iter().filter(|r| r.is_ok()).count();
        assert!(
            valid > 40 && valid < 360,
            "{valid} of 400 valid: mutate differently"
        );
        for chunk in (0..cases.len()).collect::<Vec<_>>().chunks(40) {
            let batch: Vec<&str> = chunk.iter().map(|&i| cases[i]).collect();
            let expected: Vec<_> = chunk.iter().map(|&i| alone[i].clone()).collect();
            assert_eq!(check_all(&batch), expected, "{batch:#?}");
        }
    }
}
