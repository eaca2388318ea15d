//! Tests for the exec executor.
