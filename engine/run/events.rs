//! events: what happens during a run, as one serde enum. The scheduler emits them; the
//! journal writes them, the progress display and the report read them. Values in events are
//! already masked: an event never carries a secret.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Which part of the run a step belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Main,
    Undo,
    Finally,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    /// A step failed; every undo and finally step completed.
    Failed,
    /// An undo or finally step failed: a human must look.
    CompensationFailed,
    /// Interrupted by SIGINT/SIGTERM; undo and finally ran.
    Interrupted,
    /// The run's `--timeout` was reached; undo and finally ran. Journals written before this
    /// variant existed recorded a timeout as `interrupted` (exit 130); they still read.
    TimedOut,
}

impl Outcome {
    /// The documented exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Succeeded => 0,
            Outcome::Failed => 1,
            Outcome::CompensationFailed => 3,
            Outcome::Interrupted => 130,
            // GNU timeout(1)'s code: schedulers and shells already read 124 as "timed out".
            Outcome::TimedOut => 124,
        }
    }
}

/// What a run starts with: the `run_started` event's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    pub run_id: String,
    pub plan: String,
    pub plan_file: String,
    pub plan_digest: String,
    pub params: serde_json::Map<String, Json>,
    pub minted: Vec<String>,
    pub pid: u32,
    pub started_at: String,
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// Boxed: the largest event happens once, and a run keeps every event for its report.
    RunStarted(Box<RunStart>),
    StepStarted {
        phase: Phase,
        id: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<Json>,
    },
    WaitPolled {
        id: String,
        poll: u32,
        observed: Json,
    },
    /// One `for_each` item succeeded: `recover --resume` does not run it again.
    ItemSucceeded {
        phase: Phase,
        id: String,
        /// Its place in the `for_each` list.
        index: usize,
        item: Json,
        outputs: serde_json::Map<String, Json>,
    },
    StepRetrying {
        phase: Phase,
        id: String,
        attempt: u32,
        delay_ms: u64,
        error: String,
        /// The attempt's action worked but its `check` does not hold yet; what the response
        /// showed (state or status). Progress output then says "not ready yet", not "failed".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_yet: Option<Json>,
    },
    StepSucceeded {
        phase: Phase,
        id: String,
        attempts: u32,
        duration_ms: u64,
        outputs: serde_json::Map<String, Json>,
    },
    StepFailed {
        phase: Phase,
        id: String,
        attempts: u32,
        duration_ms: u64,
        error: String,
    },
    StepSkipped {
        phase: Phase,
        id: String,
        reason: String,
    },
    UndoRegistered {
        id: String,
    },
    /// A destructive step is about to start: its exact calls (every `for_each` item still to
    /// do), so logs and the journal show what it deleted. Masked like every event.
    DestructiveCalls {
        phase: Phase,
        id: String,
        /// Strings; a call holding a declared secret is sealed like any stored value.
        calls: Vec<Json>,
    },
    /// A step (or `for_each` item) is about to repeat an attempt that may have left
    /// something half done: the exact calls of its `before_retry` clean-up (none when its
    /// `find` found nothing). Masked like every event.
    BeforeRetry {
        phase: Phase,
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<Json>,
        calls: Vec<Json>,
    },
    Interrupted {
        reason: String,
    },
    RunFinished {
        outcome: Outcome,
        exit_code: u8,
        duration_ms: u64,
        message: String,
    },
}

impl RunEvent {
    /// The step id an event is about, if any.
    pub fn step_id(&self) -> Option<&str> {
        match self {
            RunEvent::StepStarted { id, .. }
            | RunEvent::WaitPolled { id, .. }
            | RunEvent::StepRetrying { id, .. }
            | RunEvent::ItemSucceeded { id, .. }
            | RunEvent::StepSucceeded { id, .. }
            | RunEvent::StepFailed { id, .. }
            | RunEvent::StepSkipped { id, .. }
            | RunEvent::DestructiveCalls { id, .. }
            | RunEvent::BeforeRetry { id, .. }
            | RunEvent::UndoRegistered { id } => Some(id),
            _ => None,
        }
    }
}
