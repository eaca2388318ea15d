//! plan: the plan language, from text to a valid plan. Reading files (`loader`, `source`),
//! YAML with spans (`yaml`, and the fast reader `yaml_subset`), shape decoding (`decode`,
//! `raw`), meaning (`validate`, `template`, `jq`, `duration`, `params`), the dependency graphs
//! (`graph`) and what each step reads (`reads`), the JSON Schema (`schema`) and the diagnostics all of them produce. The validated
//! types themselves are in `model` and re-exported here. Nothing in this layer runs a plan,
//! sends a request or prints.

pub mod decode;
pub mod diagnostic;
pub mod duration;
pub mod graph;
pub mod jq;
pub mod loader;
pub mod model;
pub mod params;
pub mod plan_files;
pub mod raw;
pub mod reads;
pub mod schema;
pub mod source;
pub mod template;
pub mod validate;
pub mod yaml;
mod yaml_subset;

pub use model::*;
