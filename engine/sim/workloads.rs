//! sim/workloads: the Camunda workloads inside the Kubernetes stand-in — the [`Reconciler`]
//! that makes StatefulSets, Deployments, pods and PVCs behave like the chart's (reference 5.1,
//! 5.3, 3.1 step 7) and couples them to the simulated components (scaling to 0 takes an API
//! away). It must not implement the Kubernetes HTTP protocol (that is `sim::kube`).

use std::path::Path;
use std::sync::Arc;

use super::model::Shared;
use super::{SimConfig, SimError, kube};

/// The kubeconfig context the simulator writes.
pub const KUBE_CONTEXT: &str = "runbook-sim";

/// Starts the stand-in with the Camunda workloads and writes the kubeconfig.
pub async fn start_kube(
    _config: &SimConfig,
    _shared: Shared,
    _kubeconfig: &Path,
) -> Result<Arc<kube::KubeHandle>, SimError> {
    Err(SimError::Config("kubernetes coupling not built yet".into()))
}
