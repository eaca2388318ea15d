//! runbook: a declarative workflow engine for operational procedures.
//!
//! Layers, each depending only on those above it:
//! - `plan`: text -> spanned YAML -> raw shapes -> validated `plan::Plan` with its graphs.
//!   Diagnostics are collected, never thrown, until the CLI renders them.
//! - `executor`: one attempt of one rendered HTTP request or kubectl command.
//! - `run`: plan + values -> scheduler -> events, journal, recovery.
//! - `rbac`: plans + values -> the least-privilege Role of their kubectl calls (`runbook rbac`).
//! - `cli`: the command line: argument parsing, commands, printing, exit codes.
//!
//! The Camunda simulator is its own crate (`runbook-sim`, in `engine/sim/`); only `cli`
//! uses it, for `runbook sim` and `runbook rehearse`.

// `pub` means "another crate (the binary, the integration tests) uses it"; what only this
// crate uses is `pub(crate)`, so the public surface is what the tree shows (test helpers
// are exempt).
#![cfg_attr(not(test), warn(unreachable_pub))]

pub mod cli;
pub mod clock;
pub mod executor;
pub mod plan;
pub mod rbac;
pub mod run;
