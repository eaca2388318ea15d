//! run: a validated plan plus values becomes a run, and a run becomes events. Parameter values
//! (`inputs`), the shared run context (`context`), rendering a step into its exact request
//! (`rendered_request`), the scheduler and the step runner, the event type, the recorder and
//! its heartbeats, the journal, masking (`redact`), recovery of an unfinished run, and the driver that ties one run
//! together. It reaches HTTP and kubectl only through `executor`, and never prints or parses
//! command lines: that is `cli`'s job.

pub mod before_retry;
pub mod confirm;
pub mod context;
pub mod driver;
pub mod effects;
pub mod events;
pub mod heartbeat;
pub mod inputs;
pub mod journal;
pub mod param_error;
pub mod private_files;
pub mod recorder;
pub mod recovery;
pub mod redact;
pub mod rendered_request;
pub mod retry_policy;
pub mod scheduler;
pub mod sealed;
pub mod step_runner;
