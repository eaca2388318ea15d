//! Integration tests: one binary driving the real `runbook` CLI.

mod faults;
mod fuzz;
mod harness;
mod plans;
mod run;
mod validate;
