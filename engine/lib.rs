//! runbook: a declarative workflow engine for operational procedures.
//!
//! Pipeline: `yaml` (text -> spanned nodes) -> `raw` (shapes) -> `validate` (-> `plan::Plan`)
//! -> `graph` (DAG) -> run. Diagnostics are collected, never thrown, until the CLI renders them.

pub mod cli;
pub mod clock;
pub mod decode;
pub mod diagnostic;
pub mod dryrun;
pub mod duration;
pub mod events;
pub mod executor;
pub mod graph;
pub mod graphview;
pub mod inputs;
pub mod journal;
pub mod jq;
pub mod loader;
pub mod params;
pub mod plan;
pub mod raw;
pub mod recorder;
pub mod recovery;
pub mod redact;
pub mod rehearse;
pub mod render;
pub mod request;
pub mod runcmd;
pub mod runenv;
pub mod runner;
pub mod scheduler;
pub mod schema;
pub mod sim;
pub mod simcmd;
pub mod source;
pub mod step_runner;
pub mod template;
pub mod validate;
pub mod yaml;
mod yaml_subset;
