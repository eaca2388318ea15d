//! exit_code: the one type for the process exit codes the CLI returns; its variants are the rows
//! of README.md's "Exit codes" table (a unit test parses the table and checks they agree). Every
//! command picks its code through [`Exit`], never through a numeric literal. It owns no decision
//! about *which* code a situation gets: the commands decide that.
//!
//! `run::events::Outcome::exit_code` stays in the run layer because the journal records the
//! number; [`Exit::from`] maps an outcome here, and a test checks both give the same number.

use std::process::ExitCode;

use crate::run::events::Outcome;

/// A documented exit code (README.md, "### Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success: every file valid, the command did its job, the run succeeded.
    Ok = 0,
    /// Invalid plan (`validate`) or a failed step whose undo and finally completed: what the
    /// run changed was rolled back, so running it again is safe.
    Failed = 1,
    /// Usage or I/O error, invalid plan for `graph`/`plan`/`run`, bad `--set`/`-f` value.
    Usage = 2,
    /// An undo or finally step failed: human attention needed.
    CleanupFailed = 3,
    /// The run succeeded but its report (`--report FILE` or the run directory's
    /// `report.json`) or its metrics (`--metrics-file`, `--pushgateway`) could not be
    /// written: a scheduler that keeps reports or alerts on metrics must notice.
    ReportNotWritten = 4,
    /// The run's `--timeout` was reached, after undo and finally (GNU timeout's 124).
    TimedOut = 124,
    /// Interrupted (SIGINT/SIGTERM), after undo and finally.
    Interrupted = 130,
}

impl Exit {
    /// Every variant, in the README table's order.
    pub const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::Failed,
        Exit::Usage,
        Exit::CleanupFailed,
        Exit::ReportNotWritten,
        Exit::TimedOut,
        Exit::Interrupted,
    ];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

impl From<Outcome> for Exit {
    fn from(o: Outcome) -> Exit {
        match o {
            Outcome::Succeeded => Exit::Ok,
            Outcome::Failed => Exit::Failed,
            Outcome::CompensationFailed => Exit::CleanupFailed,
            Outcome::Interrupted => Exit::Interrupted,
            Outcome::TimedOut => Exit::TimedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes in README.md's exit-code table, in order, with each row's text.
    fn readme_rows() -> Vec<(u8, String)> {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("### Exit codes")
            .nth(1)
            .expect("README has an '### Exit codes' section");
        table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                let first = l.trim_matches('|').split('|').next()?.trim();
                Some((first.parse::<u8>().ok()?, l.to_string()))
            })
            .collect()
    }

    #[test]
    fn exit_enum_matches_readme_table() {
        let rows = readme_rows();
        let readme_codes: Vec<u8> = rows.iter().map(|(c, _)| *c).collect();
        let enum_codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(readme_codes, enum_codes, "README table rows vs enum Exit");
        // Each row says what its variant means (a renumbering would break these).
        let row = |e: Exit| rows.iter().find(|(c, _)| *c == e.code()).unwrap().1.clone();
        assert!(row(Exit::Ok).contains("success"));
        assert!(row(Exit::Failed).contains("a step failed"));
        assert!(row(Exit::Usage).contains("usage"));
        assert!(row(Exit::CleanupFailed).contains("undo or finally step failed"));
        assert!(row(Exit::ReportNotWritten).contains("report could not be written"));
        assert!(row(Exit::TimedOut).contains("--timeout"));
        assert!(row(Exit::Interrupted).contains("interrupted"));
    }

    #[test]
    fn outcome_maps_to_the_same_number_the_journal_records() {
        for o in [
            Outcome::Succeeded,
            Outcome::Failed,
            Outcome::CompensationFailed,
            Outcome::Interrupted,
            Outcome::TimedOut,
        ] {
            assert_eq!(Exit::from(o).code(), o.exit_code(), "{o:?}");
        }
    }
}
