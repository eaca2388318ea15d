//! sim: `runbook sim`. Starts the built-in simulator on 127.0.0.1, prints the values file
//! the plans take with `-f` (and writes it with `--values-out`), and serves until interrupted
//! or `--for` elapses. Wiring only: the simulator itself lives in `sim`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit_code::Exit;
use std::time::Duration;

use clap::{Args, ValueEnum};

use runbook_sim::{CamundaVersion, Datastore, Scenario, SimConfig};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VersionArg {
    #[value(name = "8.8")]
    V88,
    #[value(name = "8.7")]
    V87,
    /// 8.9: the 8.8 surface plus the deltas of shared/reference/camunda-8.9-8.10.md §2, §5.
    #[value(name = "8.9")]
    V89,
    /// 8.10: 8.9 plus the Orchestration Cluster REST API (`/v2`, OAuth2 bearer tokens),
    /// recovery mode and the Restore API (camunda-8.9-8.10.md §2.5, §4.3).
    #[value(name = "8.10")]
    V810,
}

impl VersionArg {
    /// The simulated version this flag names.
    pub fn version(self) -> CamundaVersion {
        match self {
            VersionArg::V88 => CamundaVersion::V8_8,
            VersionArg::V87 => CamundaVersion::V8_7,
            VersionArg::V89 => CamundaVersion::V8_9,
            VersionArg::V810 => CamundaVersion::V8_10,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DatastoreArg {
    Elasticsearch,
    Opensearch,
}

#[derive(Args, Clone)]
pub struct SimArgs {
    /// Camunda version to simulate.
    #[arg(long, value_enum, default_value = "8.8")]
    pub camunda_version: VersionArg,
    /// Datastore to simulate.
    #[arg(long, value_enum, default_value = "elasticsearch")]
    pub datastore: DatastoreArg,
    /// Faults to inject (YAML; see the example in engine/sim/scenarios/).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// A fault, `key=value,...` as in a scenario file's `faults:` (repeatable), e.g.
    /// `component=optimize,path=/actuator/backups/*,status=502,times=2`.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,
    /// How backups end, as in a scenario file's `outcomes:` (repeatable), e.g.
    /// `component=webapps,result=failed,times=1`.
    #[arg(long = "outcome", value_name = "SPEC")]
    pub outcomes: Vec<String>,
    /// Where the simulator writes its kubeconfig.
    #[arg(long, default_value = ".runbook/sim")]
    pub state_dir: PathBuf,
    /// Also write the values file here.
    #[arg(long, value_name = "FILE")]
    pub values_out: Option<PathBuf>,
    /// Run without Optimize.
    #[arg(long)]
    pub no_optimize: bool,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = crate::plan::duration::parse)]
    pub run_for: Option<Duration>,
    /// Print values naming the chart's Services with `port_forward: true`, as for a real
    /// cluster, and write `<state-dir>/kubectl`: pass it as `--kubectl` and its `port-forward`
    /// reaches the simulator (every other verb goes to the real kubectl).
    #[arg(long)]
    pub port_forward: bool,
    /// The real kubectl that `--port-forward`'s script hands other verbs to.
    #[arg(long, env = "RUNBOOK_KUBECTL", default_value = "kubectl")]
    pub kubectl: PathBuf,
    /// Enforce this Role (YAML, e.g. `runbook rbac` output) on the Kubernetes stand-in: a
    /// request it does not grant gets the API server's 403 Forbidden (`PUT /sim/rbac` changes
    /// it at run time).
    #[arg(long, value_name = "ROLE.yaml")]
    pub rbac: Option<PathBuf>,
}

/// The Role of `--rbac FILE` (`sim` and `rehearse`).
pub(crate) fn rbac_policy(
    path: Option<&std::path::Path>,
) -> Result<Option<runbook_sim::kube::Policy>, SimStartError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| SimStartError(format!("--rbac {}: {e}", path.display())))?;
    runbook_sim::kube::Policy::from_yaml(&text)
        .map(Some)
        .map_err(|e| SimStartError(format!("--rbac {}: {e}", path.display())))
}

/// A simulator that failed to start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the simulator could not start: {0}")]
#[diagnostic(code(runbook::sim::start))]
pub struct SimStartError(pub String);

/// The faults of `--scenario FILE` followed by those of `--fault` and `--outcome` flags.
pub fn scenario_from(
    file: Option<&std::path::Path>,
    faults: &[String],
    outcomes: &[String],
) -> Result<Scenario, SimStartError> {
    let mut scenario = match file {
        Some(p) => Scenario::from_yaml_file(p).map_err(|e| SimStartError(e.to_string()))?,
        None => Scenario::default(),
    };
    let flags =
        runbook_sim::fault_flags::scenario_from_flags(faults, outcomes).map_err(SimStartError)?;
    scenario.add(flags);
    Ok(scenario)
}

impl SimArgs {
    /// The simulator configuration these flags describe.
    pub fn config(&self) -> Result<SimConfig, SimStartError> {
        let scenario = scenario_from(self.scenario.as_deref(), &self.faults, &self.outcomes)?;
        Ok(SimConfig {
            camunda_version: self.camunda_version.version(),
            datastore: match self.datastore {
                DatastoreArg::Elasticsearch => Datastore::Elasticsearch,
                DatastoreArg::Opensearch => Datastore::OpenSearch,
            },
            scenario,
            // Absolute: the values file names the kubeconfig under it, and a run reads that
            // file from wherever it is started.
            state_dir: std::path::absolute(&self.state_dir).map_err(|e| {
                SimStartError(format!("cannot resolve {}: {e}", self.state_dir.display()))
            })?,
            optimize: !self.no_optimize,
            ..SimConfig::default()
        })
    }
}

pub fn sim(a: &SimArgs) -> ExitCode {
    let config = match a.config() {
        Ok(c) => c,
        Err(e) => return crate::cli::fail(e),
    };
    let policy = match rbac_policy(a.rbac.as_deref()) {
        Ok(p) => p,
        Err(e) => return crate::cli::fail(e),
    };
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return crate::cli::fail(SimStartError("cannot start the async runtime".into()));
    };
    runtime.block_on(async {
        let handle = match runbook_sim::start(config).await {
            Ok(h) => h,
            Err(e) => return crate::cli::fail(SimStartError(e.to_string())),
        };
        let rbac = policy.is_some();
        if let Some(policy) = policy {
            eprintln!("RBAC: the Kubernetes stand-in grants only {} (`GET /sim/rbac` lists denials)", policy.user);
            handle.set_rbac(Some(policy));
        }
        let values = if a.port_forward {
            match crate::cli::sim_forwarding::prepare(&handle, &a.state_dir, &a.kubectl, rbac) {
                Ok(f) => {
                    eprintln!(
                        "port-forwards: run plans with `--kubectl {}`",
                        f.kubectl.display()
                    );
                    f.values
                }
                Err(e) => {
                    handle.shutdown().await;
                    return crate::cli::fail(SimStartError(format!(
                        "cannot write the port-forward files in {}: {e}",
                        a.state_dir.display()
                    )));
                }
            }
        } else {
            handle.values_yaml()
        };
        print!("{values}");
        let _ = std::io::stdout().flush();
        if let Some(path) = &a.values_out
            && let Err(e) = std::fs::write(path, &values)
        {
            handle.shutdown().await;
            return crate::cli::fail(SimStartError(format!("cannot write {}: {e}", path.display())));
        }
        eprintln!("simulator running on 127.0.0.1; use the values above with `runbook run PLAN -f values.yaml`. Ctrl-C stops it.");
        match a.run_for {
            Some(d) => tokio::select! {
                () = tokio::time::sleep(d) => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        handle.shutdown().await;
        ExitCode::from(Exit::Ok)
    })
}
