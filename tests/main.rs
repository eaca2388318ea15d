//! Integration tests: one binary driving the real `runbook` CLI.

mod camunda;
mod deploy;
mod diagnostics;
mod faults;
mod fuzz;
mod harness;
mod plans;
mod rbac;
mod rehearse;
mod restore_cleanup;
mod run;
mod sim_cli;
mod sweeps;
mod validate;
