//! Tests for the kubectl executor.
