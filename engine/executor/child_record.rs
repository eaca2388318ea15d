//! child_record: long-lived children (each `kubectl port-forward`) written to a file as they
//! start, `<pid> <argv>`, so that after the run itself was killed (SIGKILL, a lost laptop
//! session) `recover` can stop the ones it left running instead of leaving them holding local
//! ports. A pid is only signalled while `/proc/<pid>/cmdline` is still that exact argv, so a
//! reused pid is never touched. Linux `/proc`; elsewhere nothing is found.

use std::io::Write;
use std::path::Path;

/// Appends one child; failures are ignored (the record is a convenience for `recover`).
pub(super) fn record(path: &Path, pid: u32, argv: &[String]) {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    // Owner-only, like everything in the state directory.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if let Ok(mut f) = options.open(path) {
        let _ = writeln!(f, "{pid} {}", argv.join("\u{1f}"));
    }
}

/// Kills every recorded child still running with its recorded argv; returns their pids.
pub fn stop_leftovers(path: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (pid, argv) = line.split_once(' ')?;
            let pid: u32 = pid.parse().ok()?;
            let running = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let running: Vec<&str> = std::str::from_utf8(&running)
                .ok()?
                .trim_end_matches('\0')
                .split('\0')
                .collect();
            let recorded: Vec<&str> = argv.split('\u{1f}').collect();
            // A script-started relay shows its interpreter first: compare the arguments, which
            // must include the port-forward verb; never this process.
            let args = recorded.get(1..).unwrap_or_default();
            (pid != std::process::id() && args.contains(&"port-forward") && running.ends_with(args))
                .then_some(pid)
        })
        .filter(|pid| {
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect()
}
