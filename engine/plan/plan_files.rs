//! plan_files: which files under a directory given to `validate` are plans. The rule, also in
//! docs/plan-format.md ("Which files are plans"):
//!
//! - hidden entries (`.github/`, `.runbook/`) are skipped: other tools' YAML and run state;
//! - a file is a candidate when its name matches an `--include` glob (default `*.yaml`,
//!   `*.yml`) and no `--exclude` glob (default `values*`: values files live beside plans);
//! - a candidate is a plan when a line at the top level starts with `apiVersion: runbook/` or
//!   is `kind: Plan`. Other YAML (Helm values, CI files, Kubernetes manifests) is skipped, so
//!   a plan directory may hold them; a damaged plan still says what it is and is checked.
//!
//! Files named on the command line are always checked. Globs match the path relative to the
//! directory given (`*` and `?` do not cross `/`; `**` does) or, without a `/`, the file name.
//! This module only selects files; reading and validating them is `loader`'s job.

use std::path::{Path, PathBuf};

/// The globs that select candidate files in a directory.
#[derive(Clone, Debug)]
pub struct PlanFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Default for PlanFilter {
    fn default() -> Self {
        Self {
            include: vec!["*.yaml".into(), "*.yml".into()],
            exclude: vec!["values*".into()],
        }
    }
}

impl PlanFilter {
    /// Whether `rel` (a path relative to the directory searched, `/`-separated) is a candidate.
    pub fn selects(&self, rel: &str) -> bool {
        let matches = |globs: &[String]| globs.iter().any(|g| glob_matches_path(g, rel));
        matches(&self.include) && !matches(&self.exclude)
    }
}

/// A glob with `/` matches the whole relative path; without, the file name.
fn glob_matches_path(glob: &str, rel: &str) -> bool {
    if glob.contains('/') {
        glob_matches(glob.as_bytes(), rel.as_bytes())
    } else {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        glob_matches(glob.as_bytes(), name.as_bytes())
    }
}

/// `*` and `?` within one path segment, `**` across segments. Iterative (bounded by
/// pattern × text), so no pattern can recurse deeply.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // The last `*`/`**` seen: where in the pattern to resume and the text position it took.
    let mut star: Option<(usize, usize, bool)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            let deep = pattern.get(p + 1) == Some(&b'*');
            p += if deep { 2 } else { 1 };
            star = Some((p, t, deep));
        } else if p < pattern.len()
            && (pattern[p] == b'?' && text[t] != b'/' || pattern[p] == text[t])
        {
            p += 1;
            t += 1;
        } else if let Some((sp, st, deep)) = star
            && (deep || text[st] != b'/')
        {
            p = sp;
            t = st + 1;
            star = Some((sp, st + 1, deep));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether the text says it is a plan: a top-level `apiVersion: runbook/...` or `kind: Plan`.
pub fn looks_like_a_plan(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_end();
        line.starts_with("apiVersion: runbook/")
            || line.starts_with("apiVersion: \"runbook/")
            || line.starts_with("apiVersion: 'runbook/")
            || line == "kind: Plan"
    })
}

/// The plan files below `dir`, sorted; unreadable candidates are kept, so the loader reports
/// them.
pub fn plans_in(dir: &Path, filter: &PlanFilter) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk(dir, dir, filter, &mut out)?;
    Ok(out)
}

fn walk(
    root: &Path,
    dir: &Path,
    filter: &PlanFilter,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if is_hidden(&p) {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, filter, out)?;
        } else if filter.selects(&relative(root, &p)) && is_plan_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// A candidate that cannot be read (or is not UTF-8) is kept: the loader explains why.
fn is_plan_file(p: &Path) -> bool {
    match std::fs::read(p) {
        Ok(bytes) => std::str::from_utf8(&bytes).map_or(true, looks_like_a_plan),
        Err(_) => true,
    }
}

fn relative(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Hidden entries (`.github/`, `.runbook/`) hold other tools' YAML (CI workflows) and run
/// state, not plans.
fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names_and_relative_paths() {
        assert!(glob_matches_path("*.yaml", "a/b/plan.yaml"));
        assert!(!glob_matches_path("*.yaml", "plan.yml"));
        assert!(glob_matches_path("values*", "dir/values-prod.yaml"));
        assert!(glob_matches_path("camunda/*.yaml", "camunda/backup.yaml"));
        assert!(!glob_matches_path(
            "camunda/*.yaml",
            "camunda/old/backup.yaml"
        ));
        assert!(glob_matches_path(
            "camunda/**.yaml",
            "camunda/old/backup.yaml"
        ));
        assert!(glob_matches_path("b?ckup.yaml", "backup.yaml"));
        assert!(glob_matches_path("*", "x"));
        assert!(!glob_matches_path("a", "ab"));
    }

    #[test]
    fn a_pathological_glob_is_answered_without_recursion() {
        let glob = "*a".repeat(200);
        let name = "a".repeat(5_000) + "b";
        assert!(!glob_matches(glob.as_bytes(), name.as_bytes()));
    }

    #[test]
    fn the_default_filter_skips_values_files() {
        let f = PlanFilter::default();
        assert!(f.selects("backup.yaml"));
        assert!(f.selects("sub/restore.yml"));
        assert!(!f.selects("values.yaml"));
        assert!(!f.selects("sub/values-prod.yaml"));
        assert!(!f.selects("README.md"));
    }

    #[test]
    fn plans_say_what_they_are() {
        assert!(looks_like_a_plan("apiVersion: runbook/v1\nsteps: []\n"));
        assert!(looks_like_a_plan("# a comment\nkind: Plan\n"));
        assert!(looks_like_a_plan("apiVersion: \"runbook/v2\"\n"));
        assert!(!looks_like_a_plan("name: CI\non: [push]\njobs: {}\n"));
        assert!(!looks_like_a_plan(
            "apiVersion: apps/v1\nkind: Deployment\n"
        ));
        assert!(
            !looks_like_a_plan("  kind: Plan\n"),
            "nested, not top level"
        );
    }
}
