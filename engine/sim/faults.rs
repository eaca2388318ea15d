//! sim/faults: the scenario format (faults injected per endpoint, backup outcomes, exporting
//! failures, cluster configuration) and the bookkeeping of which faults are still armed. The
//! format is documented in the `sim` module doc. It owns matching and counting; it must not
//! build responses (the HTTP layer renders a fault with the component's error body).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SimError;

/// How a backup or snapshot ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    #[default]
    Succeed,
    /// Ends `FAILED`.
    Failed,
    /// Stays `IN_PROGRESS` forever.
    Hang,
    /// Snapshots only: ends `PARTIAL` with failed shards (reference §7.3).
    Partial,
    /// Zeebe on 8.9 only: a partition's backup is deleted (primary-storage retention) and the
    /// backup ends `DELETED` (camunda-8.9-8.10.md §2.2 step 9).
    Deleted,
}

/// A fault on matching requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFault {
    /// `orchestration|gateway|operate|tasklist|optimize|datastore|kubernetes|any` (`any`:
    /// every product component, not `kubernetes`).
    #[serde(default = "any")]
    pub component: String,
    #[serde(default)]
    pub method: Option<String>,
    /// Path pattern, `*` = any run of characters; absent = every path.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub drop_connection: bool,
    /// Only the next N matching calls; absent = always.
    #[serde(default)]
    pub times: Option<u32>,
    /// Let the first N matching calls through untouched (e.g. a plan's preflight GET of the
    /// same path), then apply the fault.
    #[serde(default)]
    pub after: u32,
}

/// The component name of Kubernetes API requests; `any` does not include it, so a scenario
/// written for the product ports keeps meaning what it meant.
pub const KUBERNETES: &str = "kubernetes";

fn any() -> String {
    "any".to_string()
}

/// How the next backups of a component end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRule {
    /// `webapps|operate|tasklist|optimize|zeebe|snapshot|restore`.
    pub component: String,
    pub result: Outcome,
    #[serde(default)]
    pub times: Option<u32>,
}

/// Exporting pause/resume failures (inner `status: 500`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportingFaults {
    #[serde(default)]
    pub pause_failures: u32,
    #[serde(default)]
    pub resume_failures: u32,
}

pub use super::cluster_config::ClusterConfig;

/// A scenario: everything that makes a run deviate from the happy path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub faults: Vec<EndpointFault>,
    #[serde(default)]
    pub outcomes: Vec<OutcomeRule>,
    #[serde(default)]
    pub exporting: ExportingFaults,
    #[serde(default)]
    pub config: ClusterConfig,
    /// What a rehearsal expects of its runs (`runbook rehearse` reads it; the simulator
    /// ignores it), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<serde_json::Value>,
}

const COMPONENTS: [&str; 10] = [
    "any",
    "kubernetes",
    "orchestration",
    "gateway",
    "operate",
    "tasklist",
    "optimize",
    "datastore",
    "rest",
    "identity",
];
const OUTCOME_COMPONENTS: [&str; 8] = [
    "webapps",
    "operate",
    "tasklist",
    "optimize",
    "zeebe",
    "snapshot",
    "restore",
    "zeebe-restore",
];

impl Scenario {
    /// Adds the faults and outcomes of `other` (flags after a file).
    pub fn add(&mut self, other: Scenario) {
        self.faults.extend(other.faults);
        self.outcomes.extend(other.outcomes);
        self.exporting.pause_failures += other.exporting.pause_failures;
        self.exporting.resume_failures += other.exporting.resume_failures;
    }

    /// Reads a scenario YAML file.
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ScenarioRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_str(&text)
    }

    /// Parses a scenario from YAML (JSON is YAML too).
    pub fn from_yaml_str(text: &str) -> Result<Self, SimError> {
        if text.trim().is_empty() {
            return Ok(Scenario::default());
        }
        let s: Scenario =
            serde_saphyr::from_str(text).map_err(|e| SimError::Scenario(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), SimError> {
        for f in &self.faults {
            if !COMPONENTS.contains(&f.component.as_str()) {
                return Err(SimError::Scenario(format!(
                    "unknown component {:?} (one of {})",
                    f.component,
                    COMPONENTS.join(", ")
                )));
            }
            if let Some(s) = f.status
                && !(100..=599).contains(&s)
            {
                return Err(SimError::Scenario(format!("invalid status {s}")));
            }
        }
        for o in &self.outcomes {
            if !OUTCOME_COMPONENTS.contains(&o.component.as_str()) {
                return Err(SimError::Scenario(format!(
                    "unknown outcome component {:?} (one of {})",
                    o.component,
                    OUTCOME_COMPONENTS.join(", ")
                )));
            }
            if o.result == Outcome::Partial
                && !matches!(o.component.as_str(), "snapshot" | "restore")
            {
                return Err(SimError::Scenario(
                    "result: partial applies to component: snapshot or restore only".to_string(),
                ));
            }
            if o.component == "restore" && o.result != Outcome::Partial {
                return Err(SimError::Scenario(
                    "component: restore takes result: partial only (a `_restore` that ends with failed shards)".to_string(),
                ));
            }
            if o.component == "zeebe-restore"
                && !matches!(o.result, Outcome::Failed | Outcome::Hang)
            {
                return Err(SimError::Scenario(
                    "component: zeebe-restore (the 8.10 Restore API) takes result: failed or hang"
                        .to_string(),
                ));
            }
            if o.result == Outcome::Deleted && o.component != "zeebe" {
                return Err(SimError::Scenario(
                    "result: deleted applies to component: zeebe only".to_string(),
                ));
            }
        }
        self.config.validate().map_err(SimError::Scenario)
    }
}

impl Scenario {
    /// Refuses what the simulated version does not have: the `DELETED` outcome and
    /// continuous backups exist from 8.9 on (camunda-8.9-8.10.md §2.3).
    pub fn check_version(&self, version: super::CamundaVersion) -> Result<(), SimError> {
        if !version.has_rest_api() && self.outcomes.iter().any(|o| o.component == "zeebe-restore") {
            return Err(SimError::Scenario(
                "component: zeebe-restore needs --camunda-version 8.10 (the Restore API)"
                    .to_string(),
            ));
        }
        if version.at_least_8_9() {
            return Ok(());
        }
        if self.outcomes.iter().any(|o| o.result == Outcome::Deleted) {
            return Err(SimError::Scenario(
                "result: deleted needs --camunda-version 8.9 (8.8 and 8.7 have no DELETED state)"
                    .to_string(),
            ));
        }
        if self.config.continuous_backups {
            return Err(SimError::Scenario(
                "config.continuous_backups needs --camunda-version 8.9".to_string(),
            ));
        }
        Ok(())
    }
}

/// What the HTTP layer must do with one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultAction {
    pub latency_ms: u64,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub drop_connection: bool,
}

/// The armed faults.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Faults {
    pub endpoint: Vec<EndpointFault>,
    pub outcomes: Vec<OutcomeRule>,
    pub pause_failures: u32,
    pub resume_failures: u32,
}

impl Faults {
    pub fn add(&mut self, s: Scenario) {
        self.endpoint.extend(s.faults);
        self.outcomes.extend(s.outcomes);
        self.pause_failures += s.exporting.pause_failures;
        self.resume_failures += s.exporting.resume_failures;
    }

    /// The first armed fault matching the request, consumed once if counted.
    pub fn take(&mut self, component: &str, method: &str, path: &str) -> Option<FaultAction> {
        let pos = self.endpoint.iter().position(|f| {
            (f.component == component || (f.component == "any" && component != KUBERNETES))
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path
                    .as_deref()
                    .is_none_or(|p| super::datastore::glob(p, path))
                && f.times != Some(0)
        })?;
        let f = &mut self.endpoint[pos];
        if f.after > 0 {
            f.after -= 1;
            return None;
        }
        let action = FaultAction {
            latency_ms: f.latency_ms.unwrap_or(0),
            status: f.status,
            message: f.message.clone(),
            drop_connection: f.drop_connection,
        };
        if let Some(n) = f.times.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.endpoint.remove(pos);
            }
        }
        Some(action)
    }

    /// The outcome of the next backup of `component`.
    pub fn outcome(&mut self, component: &str) -> Outcome {
        let Some(pos) = self
            .outcomes
            .iter()
            .position(|o| o.component == component && o.times != Some(0))
        else {
            return Outcome::Succeed;
        };
        let rule = &mut self.outcomes[pos];
        let result = rule.result;
        if let Some(n) = rule.times.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.outcomes.remove(pos);
            }
        }
        result
    }

    /// Whether the next pause (or resume) fails; consumes one failure.
    pub fn exporting_fails(&mut self, pause: bool) -> bool {
        let n = if pause {
            &mut self.pause_failures
        } else {
            &mut self.resume_failures
        };
        if *n > 0 {
            *n -= 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses() {
        let text = include_str!("scenarios/example-faults.yaml");
        let s = Scenario::from_yaml_str(text).expect("example parses");
        assert!(!s.faults.is_empty());
        assert!(!s.outcomes.is_empty());
    }

    #[test]
    fn counted_faults_expire() {
        let mut f = Faults::default();
        f.add(
            Scenario::from_yaml_str(
                "faults:\n  - component: orchestration\n    method: POST\n    path: /actuator/backupHistory*\n    status: 502\n    times: 1\n",
            )
            .unwrap(),
        );
        assert!(
            f.take("optimize", "POST", "/actuator/backupHistory")
                .is_none()
        );
        let a = f
            .take("orchestration", "post", "/actuator/backupHistory")
            .unwrap();
        assert_eq!(a.status, Some(502));
        assert!(
            f.take("orchestration", "POST", "/actuator/backupHistory")
                .is_none()
        );
    }

    #[test]
    fn unknown_keys_and_components_are_rejected() {
        assert!(Scenario::from_yaml_str("faultz: []").is_err());
        assert!(Scenario::from_yaml_str("faults:\n  - component: zeebe\n").is_err());
        assert!(Scenario::from_yaml_str("").unwrap() == Scenario::default());
    }
}
