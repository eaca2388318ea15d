//! shell_docs: `runbook completion SHELL` (a completion script for bash, zsh, fish, elvish or
//! PowerShell) and `runbook man` (the man page, roff), both generated from the same clap
//! definitions the CLI parses with, so neither can drift from the real flags. It prints only.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

use crate::cli::exit_code::Exit;

#[derive(Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// Prints the completion script. Install, e.g.: `runbook completion bash >
/// /etc/bash_completion.d/runbook`, or `source <(runbook completion bash)` in `~/.bashrc`.
pub fn completion(a: &CompletionArgs) -> ExitCode {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "runbook", &mut std::io::stdout());
    ExitCode::from(Exit::Ok)
}

/// Prints the man page (section 1); `runbook man | man -l -` shows it.
pub fn man() -> ExitCode {
    let page = clap_mangen::Man::new(crate::cli::Cli::command());
    let mut out = Vec::new();
    if let Err(e) = page.render(&mut out) {
        eprintln!("error: cannot render the man page: {e}");
        return ExitCode::from(Exit::Usage);
    }
    if let Err(e) = std::io::stdout().write_all(&out) {
        eprintln!("error: cannot write the man page: {e}");
        return ExitCode::from(Exit::Usage);
    }
    ExitCode::from(Exit::Ok)
}
