//! runbook: declarative workflow engine for operational procedures.
pub mod sim;
