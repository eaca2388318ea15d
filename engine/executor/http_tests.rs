//! Tests for the http executor.
