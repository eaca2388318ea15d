//! inputs: parameter values for one run, from `--set k=v` (Helm's syntax), `--set-file k=path`
//! (the file's content, as Helm reads it), `-f values.yaml` files, environment variables and
//! defaults, in Helm's precedence (files, then `--set`, then `--set-file`; later wins). Minted
//! defaults (`{{now "unix"}}`) are computed here, once. Produces `ResolvedParams`; it does not
//! render steps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value as Json};

use crate::plan::diagnostic::did_you_mean;
use crate::plan::params::coerce;
use crate::plan::{ParamDefault, Plan};
use crate::run::param_error::{DefaultError, ParamError, SetSyntaxError, ValuesFileError};

/// What the user passed on the command line.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub sets: Vec<String>,
    pub files: Vec<PathBuf>,
    /// `--set-file name=path` (Helm: `a=p1,b=p2`): the param is the file's exact content.
    pub set_files: Vec<String>,
}

/// Final parameter values of a run.
#[derive(Clone, Debug, Default)]
pub struct ResolvedParams {
    pub values: Map<String, Json>,
    /// Names whose value was minted from a computed default in this run.
    pub minted: Vec<String>,
    /// Names of secret params.
    pub secret_names: Vec<String>,
    /// Warnings (e.g. keys of `-f` files no param declares).
    pub warnings: Vec<String>,
}

impl ResolvedParams {
    /// The text of every secret value, for redaction.
    pub fn secret_values(&self) -> Vec<String> {
        self.secret_names
            .iter()
            .filter_map(|n| self.values.get(n))
            .map(crate::plan::template::display)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The values with secrets replaced by `***`.
    pub fn masked(&self) -> Map<String, Json> {
        self.values
            .iter()
            .map(|(k, v)| {
                let empty = v.is_null() || v.as_str().is_some_and(str::is_empty);
                (
                    k.clone(),
                    if self.secret_names.contains(k) && !empty {
                        Json::String("***".into())
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    }
}

/// Splits Helm-style `--set a=1,b=2` (`\,` escapes a comma) into pairs.
pub fn parse_set(s: &str) -> Result<Vec<(String, String)>, SetSyntaxError> {
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut parts = Vec::new();
    let mut chars = s.chars().peekable();
    let mut depth = 0;
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => current.extend(chars.next()),
            '{' => {
                depth += 1;
                current.push(ch);
            }
            '}' => {
                depth -= 1;
                current.push(ch);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    parts.push(current);
    for part in parts {
        let Some((k, v)) = part.split_once('=') else {
            return Err(SetSyntaxError::NoEquals(part));
        };
        if k.trim().is_empty() {
            return Err(SetSyntaxError::NoName(part));
        }
        pairs.push((k.trim().to_string(), v.to_string()));
    }
    Ok(pairs)
}

/// One `--set-file name=path[,name=path]`: each param gets its file's content, unchanged (a
/// trailing newline stays, as with Helm); an unreadable file is an error naming it.
fn set_file(
    plan: &Plan,
    names: &[&str],
    set: &str,
    given: &mut BTreeMap<String, (Json, String)>,
    errors: &mut Vec<ParamError>,
) {
    let pairs = match parse_set(set) {
        Ok(pairs) => pairs,
        Err(reason) => {
            return errors.push(ParamError::SetSyntax {
                flag: "--set-file",
                set: set.into(),
                reason,
            });
        }
    };
    for (k, path) in pairs {
        if !names.contains(&k.as_str()) {
            errors.push(ParamError::UnknownParam {
                flag: "--set-file",
                set: set.into(),
                plan: plan.name.clone(),
                hint: did_you_mean(&k, names.iter().copied()),
                name: k,
            });
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                given.insert(k, (Json::String(text), format!("--set-file {set}")));
            }
            Err(e) => errors.push(ParamError::SetFileUnreadable {
                set: set.into(),
                path,
                param: k,
                reason: e.to_string(),
            }),
        }
    }
}

/// Resolves every param of `plan`. `env` looks up environment variables.
pub fn resolve(
    plan: &Plan,
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedParams, Vec<ParamError>> {
    let mut errors = Vec::new();
    let mut given: BTreeMap<String, (Json, String)> = BTreeMap::new();
    let mut out = ResolvedParams::default();
    let names: Vec<&str> = plan.params.iter().map(|p| p.name.as_str()).collect();
    for file in &inputs.files {
        match read_values(file) {
            Ok(map) => {
                for (k, v) in map {
                    if names.contains(&k.as_str()) {
                        given.insert(k, (v, format!("-f {}", file.display())));
                    } else {
                        out.warnings.push(format!(
                            "{}: `{k}` is not a param of plan `{}`; ignored",
                            file.display(),
                            plan.name
                        ));
                    }
                }
            }
            Err(e) => errors.push(e.into()),
        }
    }
    for set in &inputs.sets {
        match parse_set(set) {
            Ok(pairs) => {
                for (k, v) in pairs {
                    if names.contains(&k.as_str()) {
                        given.insert(k, (Json::String(v), format!("--set {set}")));
                    } else {
                        errors.push(ParamError::UnknownParam {
                            flag: "--set",
                            set: set.clone(),
                            plan: plan.name.clone(),
                            hint: did_you_mean(&k, names.iter().copied()),
                            name: k,
                        });
                    }
                }
            }
            Err(reason) => errors.push(ParamError::SetSyntax {
                flag: "--set",
                set: set.clone(),
                reason,
            }),
        }
    }
    for set in &inputs.set_files {
        set_file(plan, &names, set, &mut given, &mut errors);
    }
    for p in &plan.params {
        if p.secret {
            out.secret_names.push(p.name.clone());
        }
        let from_env = p
            .env
            .as_ref()
            .and_then(|e| env(e).map(|v| (Json::String(v), format!("${e}"))));
        let value = match given.remove(&p.name).or(from_env) {
            Some((v, from)) => match coerce(&v, p.ty) {
                Ok(v) => Some(v),
                Err(reason) => {
                    errors.push(ParamError::BadValue {
                        param: p.name.clone(),
                        from,
                        reason,
                    });
                    continue;
                }
            },
            None => match &p.default {
                Some(ParamDefault::Value(v)) => Some(v.clone()),
                Some(ParamDefault::Minted(t)) => match t
                    .render(&Json::Null)
                    .map_err(DefaultError::from)
                    .and_then(|s| Ok(coerce(&Json::String(s), p.ty)?))
                {
                    Ok(v) => {
                        out.minted.push(p.name.clone());
                        Some(v)
                    }
                    Err(reason) => {
                        errors.push(ParamError::DefaultFailed {
                            param: p.name.clone(),
                            reason,
                        });
                        continue;
                    }
                },
                None => None,
            },
        };
        match value {
            Some(v) if !p.choices.is_empty() && !p.choices.contains(&v) => {
                let allowed: Vec<String> = p
                    .choices
                    .iter()
                    .map(crate::plan::template::display)
                    .collect();
                errors.push(ParamError::NotAChoice {
                    param: p.name.clone(),
                    value: crate::plan::template::display(&v),
                    allowed,
                });
            }
            Some(v) => {
                out.values.insert(p.name.clone(), v);
            }
            None if p.required => {
                let how = p
                    .env
                    .as_ref()
                    .map(|e| format!(", -f values.yaml or ${e}"))
                    .unwrap_or_else(|| " or -f values.yaml".into());
                errors.push(ParamError::Required {
                    param: p.name.clone(),
                    how,
                });
            }
            None => {
                out.values.insert(p.name.clone(), Json::Null);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Reads a `-f` file: a YAML mapping of param names to values.
fn read_values(path: &std::path::Path) -> Result<Map<String, Json>, ValuesFileError> {
    let source =
        crate::plan::loader::read_text(path).map_err(|e| ValuesFileError::Load(e.to_string()))?;
    let node = crate::plan::yaml::parse(source.text()).map_err(|e| {
        let (line, col) = source.line_col(e.span.start);
        ValuesFileError::Yaml {
            path: path.display().to_string(),
            line,
            col,
            message: e.message,
        }
    })?;
    match node.to_json() {
        Json::Object(m) => Ok(m),
        Json::Null => Ok(Map::new()),
        _ => Err(ValuesFileError::NotAMapping(path.display().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_helm_style_sets() {
        assert_eq!(
            parse_set("a=1,b=x\\,y").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x,y".into())]
        );
        assert_eq!(
            parse_set("l={a,b}").unwrap(),
            vec![("l".into(), "{a,b}".into())]
        );
        assert!(parse_set("novalue").is_err());
    }

    fn plan() -> Plan {
        let text = "apiVersion: runbook/v1\nkind: Plan\nname: t\nparams:\n  ca: {type: string, default: \"\"}\n  token: {type: string, secret: true, default: \"\"}\ntargets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\nsteps:\n  - id: a\n    http: {target: web, path: \"/{{params.ca}}{{params.token}}\"}\n";
        crate::plan::loader::valid_for_test(text).0
    }

    #[test]
    fn set_file_reads_the_exact_content_and_wins_over_set() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nx\n").unwrap();
        let inputs = Inputs {
            sets: vec!["ca=from-set".into()],
            set_files: vec![format!("ca={}", ca.display())],
            ..Inputs::default()
        };
        let r = resolve(&plan(), &inputs, &|_| None).expect("resolves");
        assert_eq!(r.values["ca"], "-----BEGIN CERTIFICATE-----\nx\n");
    }

    #[test]
    fn set_file_errors_name_the_file_or_the_param() {
        let inputs = Inputs {
            set_files: vec!["ca=/nonexistent/ca.pem".into(), "tokn=/x".into()],
            ..Inputs::default()
        };
        let errors = resolve(&plan(), &inputs, &|_| None).expect_err("refused");
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, ParamError::SetFileUnreadable { path, param, .. } if path == "/nonexistent/ca.pem" && param == "ca")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.to_string().contains("has no param `tokn`")
                    && e.to_string().contains("token")),
            "{errors:?}"
        );
    }
}
