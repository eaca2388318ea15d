//! Tests for the port_forward executor.
