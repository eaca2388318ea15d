//! kubectl_shim: `runbook kubectl-shim ARGS...` (hidden), the `kubectl` that `rehearse
//! --port-forward` puts on `--kubectl`. `port-forward <svc> <local>:<remote>` relays a local
//! port on 127.0.0.1 to the simulated component behind that Service and prints kubectl's own
//! `Forwarding from` lines; every other verb is handed to the real kubectl. The simulator's
//! Kubernetes stand-in cannot speak kubectl's streaming protocol (WebSocket/SPDY), so this is
//! the stand-in for that one verb; the engine's port-forward lifecycle runs unchanged.
//! Environment: `RUNBOOK_SHIM_KUBECTL` (the real kubectl), `RUNBOOK_SHIM_SERVICES` (a JSON map
//! of Service name to `127.0.0.1:<port>`), `RUNBOOK_SHIM_RBAC` (set: replay the forward's API
//! calls first, `shim_rbac.rs`, so the simulator's RBAC mode judges them).

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::cli::exit_code::Exit;

use clap::Args;
use tokio::net::{TcpListener, TcpStream};

#[derive(Args)]
pub struct ShimArgs {
    /// kubectl's arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn shim(a: &ShimArgs) -> ExitCode {
    match a.args.iter().position(|x| x == "port-forward") {
        Some(i) => {
            // With the simulator's RBAC mode on, the calls kubectl makes before it streams go
            // to the API server first, so a Role without them is refused as on a cluster.
            if std::env::var_os("RUNBOOK_SHIM_RBAC").is_some()
                && let Some(resource) = a.args.get(i + 1)
            {
                let kubectl =
                    std::env::var("RUNBOOK_SHIM_KUBECTL").unwrap_or_else(|_| "kubectl".into());
                if let Err(e) = crate::cli::shim_rbac::replay(&kubectl, &a.args[..i], resource) {
                    eprintln!("{e}");
                    return ExitCode::from(Exit::Failed);
                }
            }
            port_forward(&a.args[i + 1..])
        }
        None => real_kubectl(&a.args),
    }
}

/// Replaces this process with the real kubectl (signals and exit code pass through).
fn real_kubectl(args: &[String]) -> ExitCode {
    let kubectl = std::env::var("RUNBOOK_SHIM_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let mut command = std::process::Command::new(&kubectl);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        eprintln!("error: cannot run {kubectl}: {err}");
        ExitCode::from(Exit::Failed)
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(err) => {
            eprintln!("error: cannot run {kubectl}: {err}");
            ExitCode::from(Exit::Failed)
        }
    }
}

/// `<resource> <local>:<remote> [flags]`: relay until killed, as kubectl does.
fn port_forward(rest: &[String]) -> ExitCode {
    let (Some(resource), Some(ports)) = (rest.first(), rest.get(1)) else {
        eprintln!("error: TYPE/NAME and list of ports are required for port-forward");
        return ExitCode::from(Exit::Failed);
    };
    let service = resource
        .strip_prefix("services/")
        .or_else(|| resource.strip_prefix("svc/"))
        .unwrap_or(resource);
    let (local, remote) = ports.split_once(':').unwrap_or((ports, ports));
    // A Service port the simulator serves on its own address (8.10's REST API on the
    // gateway's 8080 beside the management 9600) is keyed `<service>:<port>`.
    let mut map = services();
    let Some(target) = map
        .remove(&format!("{service}:{remote}"))
        .or_else(|| map.remove(service))
    else {
        eprintln!("error: services \"{service}\" not found");
        return ExitCode::from(Exit::Failed);
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::from(Exit::Failed);
    };
    runtime.block_on(relay(local.parse().unwrap_or(0), remote, &target))
}

/// Appends `<target> <local port>` to `<Service map>.log`, so the rehearsal can count the
/// forwards its runs started.
fn log_start(target: &str, port: u16) {
    use std::io::Write;
    let Ok(map) = std::env::var("RUNBOOK_SHIM_SERVICES") else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{map}.log"))
    {
        let _ = writeln!(f, "{target} {port}");
    }
}

fn services() -> BTreeMap<String, String> {
    std::env::var("RUNBOOK_SHIM_SERVICES")
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

async fn relay(local: u16, remote: &str, target: &str) -> ExitCode {
    let listener = match TcpListener::bind(("127.0.0.1", local)).await {
        Ok(l) => l,
        Err(err) => {
            eprintln!("Unable to listen on port {local}: {err}");
            return ExitCode::from(Exit::Failed);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(local);
    log_start(target, port);
    println!("Forwarding from 127.0.0.1:{port} -> {remote}");
    println!("Forwarding from [::1]:{port} -> {remote}");
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        let target = target.to_string();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(&target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
