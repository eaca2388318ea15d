//! param_error: why the params of a run could not be resolved (`--set`, `--set-file`, `-f`,
//! environment, defaults) or, on `recover`, do not match what the run froze. Each variant's
//! message says what is wrong, where it came from and how to fix it; the CLI prints them one
//! per line. It resolves nothing itself.

use crate::plan::params::CoerceError;
use crate::plan::template::TemplateRenderError;

/// A `--set`/`--set-file` value that is not `name=value[,name=value]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetSyntaxError {
    #[error("`{0}` is not `name=value`")]
    NoEquals(String),
    #[error("`{0}` has no name before `=`")]
    NoName(String),
}

/// A `-f` values file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValuesFileError {
    /// Missing, unreadable, not UTF-8 or too large (the loader's own message).
    #[error("{0}")]
    Load(String),
    #[error("{path}:{line}:{col}: {message}")]
    Yaml {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{0}: a values file must be a mapping of param names to values")]
    NotAMapping(String),
}

/// Why a default computed at run time (`{{now "unix"}}`) gave no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DefaultError {
    #[error(transparent)]
    Template(#[from] TemplateRenderError),
    #[error(transparent)]
    Coerce(#[from] CoerceError),
}

/// One reason the params of a run are not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// `flag` is `--set` or `--set-file`; `set` the whole argument.
    #[error("{flag} {set}: {reason}")]
    SetSyntax {
        flag: &'static str,
        set: String,
        reason: SetSyntaxError,
    },
    #[error("{flag} {set}: plan `{plan}` has no param `{name}`{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownParam {
        flag: &'static str,
        set: String,
        plan: String,
        name: String,
        /// "did you mean `x`?"
        hint: Option<String>,
    },
    #[error("--set-file {set}: cannot read `{path}` for param `{param}`: {reason}")]
    SetFileUnreadable {
        set: String,
        path: String,
        param: String,
        reason: String,
    },
    #[error(transparent)]
    ValuesFile(#[from] ValuesFileError),
    /// `from`: where the value came from (`--set a=1`, `-f v.yaml`, `$ENV`).
    #[error("param `{param}` (from {from}): {reason}")]
    BadValue {
        param: String,
        from: String,
        reason: CoerceError,
    },
    #[error("param `{param}`: computing its default failed: {reason}")]
    DefaultFailed { param: String, reason: DefaultError },
    #[error("param `{param}` is {value}, which is not one of: {}", allowed.join(", "))]
    NotAChoice {
        param: String,
        value: String,
        allowed: Vec<String>,
    },
    /// `how`: the ways to give it (`--set x=...`, `-f values.yaml`, `$ENV`).
    #[error("param `{param}` is required: pass --set {param}=...{how}")]
    Required { param: String, how: String },
    /// `recover`: a secret the run had is not given now (secrets are never journaled).
    #[error("secret param `{param}` is never journaled and is not set now: {how}")]
    SecretNotGiven { param: String, how: String },
    /// `recover`: a value given now differs from the one the run froze.
    #[error(
        "param `{param}`: the run froze {then}, but {now} was given now; recover continues the same run, so drop the new value (or start a new run)"
    )]
    FrozenConflict {
        param: String,
        then: String,
        now: String,
    },
}
