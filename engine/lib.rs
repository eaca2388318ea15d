//! runbook: declarative workflow engine for operational procedures.
pub mod executor;
pub mod sim;
