//! runbook: declarative workflow engine.
