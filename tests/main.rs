//! Integration tests: one binary driving the real `runbook` CLI.
