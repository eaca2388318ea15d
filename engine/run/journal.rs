//! journal: the run's state directory. Each run gets `<state-dir>/runs/<run-id>/` with an
//! append-only `journal.jsonl` (one `RunEvent` per line, synced per event) and the plan
//! text it ran; a lock file allows one active run per plan and state dir. Also reads
//! journals back (`runbook runs`, `runbook recover`). It never sees secrets: events arrive
//! masked.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::run::events::RunEvent;
use crate::run::private_files;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    #[error("cannot use state directory {path}: {message}")]
    #[diagnostic(
        code(runbook::journal::io),
        help("pass --state-dir DIR with a writable directory")
    )]
    Io { path: String, message: String },
    #[error(
        "plan `{plan}` is already being run from this state directory (pid {pid}, started {started_at}, run {run_id})"
    )]
    #[diagnostic(
        code(runbook::journal::locked),
        help(
            "wait for that run to end; if its process is gone, the lock is stale: run `runbook recover {run_id}`"
        )
    )]
    Locked {
        plan: String,
        pid: u32,
        started_at: String,
        run_id: String,
    },
    #[error("no run `{0}` in this state directory")]
    #[diagnostic(
        code(runbook::journal::unknown_run),
        help("`runbook runs` lists the runs")
    )]
    UnknownRun(String),
}

fn io_err(path: &Path, e: &std::io::Error) -> JournalError {
    JournalError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// An open journal of one run.
pub struct Journal {
    pub dir: PathBuf,
    file: File,
    lock: Option<RunLock>,
}

impl Journal {
    /// Creates the run directory, takes the plan lock, and writes the plan text beside it.
    pub fn create(
        state_dir: &Path,
        run_id: &str,
        plan_name: &str,
        plan_text: &str,
        started_at: &str,
    ) -> Result<Self, JournalError> {
        let dir = state_dir.join("runs").join(run_id);
        private_files::create_dir_all(&dir).map_err(|e| io_err(&dir, &e))?;
        let lock = RunLock::acquire(state_dir, plan_name, run_id, started_at)?;
        private_files::write(&dir.join("plan.yaml"), plan_text).map_err(|e| io_err(&dir, &e))?;
        let path = dir.join("journal.jsonl");
        let file = private_files::open_options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, &e))?;
        Ok(Self {
            dir,
            file,
            lock: Some(lock),
        })
    }

    /// Reopens an existing run's journal for appending (recover), taking the plan lock.
    pub fn reopen(
        state_dir: &Path,
        run_id: &str,
        plan_name: &str,
        started_at: &str,
    ) -> Result<Self, JournalError> {
        let dir = state_dir.join("runs").join(run_id);
        let path = dir.join("journal.jsonl");
        if !path.exists() {
            return Err(JournalError::UnknownRun(run_id.to_string()));
        }
        let lock = RunLock::acquire(state_dir, plan_name, run_id, started_at)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, &e))?;
        Ok(Self {
            dir,
            file,
            lock: Some(lock),
        })
    }

    /// Appends one event and syncs it to disk, so a crash loses at most the line being written.
    pub fn append(&mut self, event: &RunEvent) -> std::io::Result<()> {
        self.append_unsynced(event, crate::clock::now_rfc3339())?;
        self.file.sync_data()
    }

    /// Appends one event, stamped with the wall-clock time it happened at, without syncing;
    /// `sync` makes a batch durable (group commit).
    pub fn append_unsynced(&mut self, event: &RunEvent, at: String) -> std::io::Result<()> {
        let mut line = stamped(event, at)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Syncs everything appended so far to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Releases the lock (also done on drop).
    pub fn close(&mut self) {
        self.lock.take();
    }
}

/// Reads a journal; a partial last line (crash mid-write) is ignored.
pub fn read(path: &Path) -> std::io::Result<Vec<RunEvent>> {
    let file = File::open(path)?;
    Ok(BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect())
}

/// One run found in a state directory.
pub struct RunInfo {
    pub run_id: String,
    pub dir: PathBuf,
    pub events: Vec<RunEvent>,
}

impl RunInfo {
    pub fn plan(&self) -> &str {
        match self.events.first() {
            Some(RunEvent::RunStarted(start)) => &start.plan,
            _ => "?",
        }
    }

    pub fn finished(&self) -> Option<&RunEvent> {
        self.events
            .iter()
            .rev()
            .find(|e| matches!(e, RunEvent::RunFinished { .. }))
    }
}

/// Every run in `state_dir`, oldest first.
pub fn list(state_dir: &Path) -> Vec<RunInfo> {
    let runs = state_dir.join("runs");
    let Ok(entries) = std::fs::read_dir(&runs) else {
        return Vec::new();
    };
    let mut out: Vec<RunInfo> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let dir = e.path();
            let events = read(&dir.join("journal.jsonl")).ok()?;
            Some(RunInfo {
                run_id: e.file_name().to_string_lossy().into_owned(),
                dir,
                events,
            })
        })
        .collect();
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    out
}

/// Finds one run by id (or the newest unfinished one when `id` is `None`).
pub fn find(state_dir: &Path, id: Option<&str>) -> Result<RunInfo, JournalError> {
    let runs = list(state_dir);
    let found = match id {
        Some(id) => runs.into_iter().find(|r| r.run_id == id),
        None => runs.into_iter().rev().find(|r| r.finished().is_none()),
    };
    found.ok_or_else(|| JournalError::UnknownRun(id.unwrap_or("(newest unfinished)").to_string()))
}

/// The lock file `<state-dir>/locks/<plan>.lock`, held with an OS file lock for the life of
/// the run; it names its holder so a refused run can say who holds it.
struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    fn acquire(
        state_dir: &Path,
        plan: &str,
        run_id: &str,
        started_at: &str,
    ) -> Result<Self, JournalError> {
        let dir = state_dir.join("locks");
        private_files::create_dir_all(&dir).map_err(|e| io_err(&dir, &e))?;
        let safe: String = plan
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.lock"));
        let mut file = private_files::open_options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, &e))?;
        if file.try_lock().is_err() {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&holder).unwrap_or_default();
            return Err(JournalError::Locked {
                plan: plan.to_string(),
                pid: v["pid"]
                    .as_u64()
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or(0),
                started_at: v["started_at"].as_str().unwrap_or("?").to_string(),
                run_id: v["run_id"].as_str().unwrap_or("?").to_string(),
            });
        }
        let holder = serde_json::json!({"pid": std::process::id(), "started_at": started_at, "run_id": run_id});
        file.set_len(0).map_err(|e| io_err(&path, &e))?;
        file.write_all(holder.to_string().as_bytes())
            .map_err(|e| io_err(&path, &e))?;
        Ok(Self { _file: file, path })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // The OS lock goes with the file handle; clear the holder text so a reader does not
        // mistake a free lock for a held one.
        let _ = std::fs::write(&self.path, b"");
    }
}

/// An event as a journal line: its JSON with `"at"` (RFC 3339, UTC, milliseconds) added, so
/// the journal tells when exporting paused and resumed. Readers ignore the field.
pub fn stamped(event: &RunEvent, at: String) -> std::io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    // Events serialize as objects (`{"event":...}`): splice the field in before the closing
    // brace rather than building a `Value` per line (the journal is on the hot path).
    if line.last() == Some(&b'}') {
        line.pop();
        line.extend_from_slice(b",\"at\":");
        serde_json::to_writer(&mut line, &at).map_err(std::io::Error::other)?;
        line.push(b'}');
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_run_of_a_plan_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "r1", "p", "x", "t0").unwrap();
        match Journal::create(dir.path(), "r2", "p", "x", "t1") {
            Err(JournalError::Locked { pid, run_id, .. }) => {
                assert_eq!(pid, std::process::id());
                assert_eq!(run_id, "r1");
            }
            other => panic!("expected a lock error, got {:?}", other.err()),
        }
        drop(j);
        assert!(Journal::create(dir.path(), "r3", "p", "x", "t2").is_ok());
    }

    #[test]
    fn partial_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "r1", "p", "x", "t0").unwrap();
        j.append(&RunEvent::UndoRegistered { id: "a".into() })
            .unwrap();
        let path = j.dir.join("journal.jsonl");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"event\":\"step_sta")
            .unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
    }
}
