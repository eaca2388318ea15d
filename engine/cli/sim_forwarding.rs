//! sim_forwarding: the simulator reached as a laptop reaches a real cluster (`rehearse
//! --port-forward`, `sim --port-forward`). The plans get values naming the chart's Services
//! with `port_forward: true` and, as `--kubectl`, a script that runs `runbook kubectl-shim`
//! (relaying `port-forward` to the simulator, handing every other verb to the real kubectl).
//! Each forward started is logged, so a rehearsal can say how many ran and that none outlived
//! its run.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the rehearsal runs the plans with, and what it checks afterwards.
pub(crate) struct Forwarding {
    /// The script to pass as `--kubectl`.
    pub kubectl: PathBuf,
    /// The values file text.
    pub values: String,
    services: PathBuf,
}

/// Writes the Service map and the kubectl script under `state_dir`.
pub(crate) fn prepare(
    sim: &runbook_sim::SimHandle,
    state_dir: &Path,
    real_kubectl: &Path,
    rbac: bool,
) -> std::io::Result<Forwarding> {
    let (values, map) = sim.port_forward_view();
    let services = absolute(&state_dir.join("port-forward-services.json"))?;
    std::fs::write(
        &services,
        serde_json::to_string_pretty(&map).unwrap_or_default(),
    )?;
    let _ = std::fs::remove_file(format!("{}.log", services.display()));
    let exe = std::env::current_exe()?;
    let kubectl = absolute(&state_dir.join("kubectl"))?;
    let script = format!(
        "#!/bin/sh\n# kubectl for `runbook rehearse --port-forward`: port-forward is relayed to the simulator.\n{}RUNBOOK_SHIM_KUBECTL={} RUNBOOK_SHIM_SERVICES={} exec {} kubectl-shim \"$@\"\n",
        // The simulator enforces a Role: the forward's API calls are judged too.
        if rbac { "RUNBOOK_SHIM_RBAC=1 " } else { "" },
        quote(&real_kubectl.to_string_lossy()),
        quote(&services.to_string_lossy()),
        quote(&exe.to_string_lossy())
    );
    std::fs::write(&kubectl, script)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(Forwarding {
        kubectl,
        values,
        services,
    })
}

impl Forwarding {
    /// How many forwards the runs started (the relay logs each start).
    pub(crate) fn started(&self) -> usize {
        std::fs::read_to_string(format!("{}.log", self.services.display()))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// Relays of this rehearsal still running (their environment names its Service map),
    /// after giving killed ones a moment to go.
    pub(crate) async fn leftovers(&self) -> Vec<u32> {
        let marker = format!("RUNBOOK_SHIM_SERVICES={}", self.services.display());
        for _ in 0..40 {
            let alive = relays_with(&marker);
            if alive.is_empty() {
                return alive;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        relays_with(&marker)
    }
}

/// Pids of `kubectl-shim ... port-forward` processes whose environment holds `marker`.
fn relays_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let read = |f: &str| std::fs::read(format!("/proc/{pid}/{f}")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
            let environ = String::from_utf8_lossy(&read("environ")).replace('\0', "\n");
            cmdline.contains("kubectl-shim")
                && cmdline.contains("port-forward")
                && environ.lines().any(|l| l == marker)
        })
        .collect()
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

/// A single-quoted shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
