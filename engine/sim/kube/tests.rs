//! Tests of the kube stand-in that drive the real `kubectl` binary against it. They own a
//! small test reconciler (`tests/reconciler.rs`), the harness that runs kubectl with a time
//! limit (`tests/harness.rs`) and the command tests (`tests/commands.rs`). Nothing here is
//! used outside tests.

mod commands;
mod harness;
mod reconciler;
