//! Integration tests: one binary driving the real `runbook` CLI.

mod camunda;
mod cli_conventions;
mod deploy;
mod diagnostics;
mod faults;
mod fuzz;
mod harness;
mod image;
mod metrics;
mod plans;
mod rbac;
mod rehearse;
mod report;
mod restore_cleanup;
mod run;
mod sim_cli;
mod sweeps;
mod unattended;
mod validate;
