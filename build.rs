//! build: records the commit the binary is built from for `runbook --version` (issue 14: an
//! image or a CronJob log must say exactly what ran). `RUNBOOK_COMMIT` in the environment wins
//! (a source tarball or a container build without `.git`); else `git rev-parse`; else
//! `unknown`. A `-dirty` suffix marks uncommitted changes.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RUNBOOK_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    let commit = std::env::var("RUNBOOK_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RUNBOOK_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let hash = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}
