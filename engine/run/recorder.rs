//! recorder: the event sink of a real run. A writer thread appends events to the journal
//! and syncs them in batches (group commit: every event is synced before it is
//! acknowledged, concurrent steps share one sync); the same thread prints progress (plain
//! lines, JSON lines, or a live view on a terminal) and keeps every event for the report.
//! Without a live view it also prints the heartbeats `heartbeat` says are due, so a long wait
//! in a log is never silent. It formats and stores; it decides nothing about the run.

use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::run::context::EventSink;
use crate::run::events::{Phase, RunEvent};
use crate::run::heartbeat::Heartbeat;
use crate::run::journal::Journal;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// An event, the wall-clock time it happened (RFC 3339), and who waits for it to be durable.
type Message = (RunEvent, String, Option<oneshot::Sender<()>>);

/// The sink: cheap to clone through `Arc`, shuts down with `finish`.
pub struct Recorder {
    tx: Mutex<Option<mpsc::Sender<Message>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Every event so far, with when it happened (RFC 3339).
    events: Arc<Mutex<Kept>>,
}

impl Recorder {
    /// Starts the writer thread. `journal` may be `None` (tests, dry runs); `heartbeat`
    /// beats only without a live view (the live block shows the same).
    pub fn start(
        journal: Option<Journal>,
        format: LogFormat,
        live: bool,
        heartbeat: Option<Heartbeat>,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel::<Message>();
        let events = Arc::new(Mutex::new(Kept::default()));
        let kept = events.clone();
        let heartbeat = heartbeat.filter(|_| !live);
        let thread = std::thread::Builder::new()
            .name("runbook-journal".into())
            .spawn(move || writer(rx, journal, format, live, heartbeat, &kept))
            .ok();
        Arc::new(Self {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(thread),
            events,
        })
    }

    /// Stops the writer after it has written everything sent so far.
    pub fn finish(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }

    /// Moves every event out, with when each happened (RFC 3339), index for index. For the
    /// end of a run: a copy of every event of a 10k-step run was a tenth of its peak memory.
    pub fn take(&self) -> (Vec<RunEvent>, Vec<String>) {
        self.events.lock().map(|mut k| k.take()).unwrap_or_default()
    }
}

/// Every event so far with its time, in fixed-size chunks: one growing list of a 10k-step
/// run's events was copied whole at each doubling, at the run's busiest moment.
#[derive(Default)]
struct Kept {
    chunks: Vec<Vec<(RunEvent, String)>>,
}

impl Kept {
    const CHUNK: usize = 1024;

    fn push(&mut self, item: (RunEvent, String)) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(Self::CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
    }

    /// Empties the store into events and their times, freeing each chunk once moved.
    fn take(&mut self) -> (Vec<RunEvent>, Vec<String>) {
        let n = self.chunks.iter().map(Vec::len).sum();
        let (mut events, mut stamps) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for chunk in std::mem::take(&mut self.chunks) {
            for (e, at) in chunk {
                events.push(e);
                stamps.push(at);
            }
        }
        (events, stamps)
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: RunEvent, durable: Option<oneshot::Sender<()>>) {
        // After `finish` (or if the writer died) the message, ack included, is dropped, which
        // releases any waiter.
        if let Ok(tx) = self.tx.lock()
            && let Some(tx) = tx.as_ref()
        {
            let at = crate::clock::now_rfc3339();
            let _ = tx.send((event, at, durable)).is_ok();
        }
    }
}

fn writer(
    rx: mpsc::Receiver<Message>,
    mut journal: Option<Journal>,
    format: LogFormat,
    live: bool,
    mut heartbeat: Option<Heartbeat>,
    kept: &Mutex<Kept>,
) {
    let mut view = Progress::new(format, live);
    let mut journal_ok = true;
    loop {
        let due = heartbeat.as_ref().and_then(Heartbeat::next_due);
        let first = match due {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            },
        };
        if let Some(hb) = heartbeat.as_mut() {
            for beat in hb.due(Instant::now()) {
                view.beat(&beat);
            }
        }
        let Some(first) = first else { continue };
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        if let Some(j) = journal.as_mut() {
            let mut ok = true;
            for (e, at, _) in &batch {
                ok &= j.append_unsynced(e, at.clone()).is_ok();
            }
            ok &= j.sync().is_ok();
            if !ok && journal_ok {
                eprintln!(
                    "warning: cannot write the journal in {}; the run goes on without it",
                    j.dir.display()
                );
                journal_ok = false;
            }
        }
        for (e, at, ack) in batch {
            if let Some(hb) = heartbeat.as_mut() {
                hb.track(&e, Instant::now());
            }
            view.show(&e, &at);
            if let Ok(mut k) = kept.lock() {
                k.push((e, at));
            }
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
        }
    }
    view.done();
    if let Some(j) = journal.as_mut() {
        j.close();
    }
}

/// Progress output. Plain lines when piped; on a terminal, the same lines plus a live
/// block of running steps redrawn in place.
struct Progress {
    format: LogFormat,
    live: bool,
    start: Instant,
    running: Vec<(String, Instant, String)>,
    drawn: usize,
}

impl Progress {
    fn new(format: LogFormat, live: bool) -> Self {
        Self {
            format,
            live,
            start: Instant::now(),
            running: Vec::new(),
            drawn: 0,
        }
    }

    fn show(&mut self, e: &RunEvent, at: &str) {
        let mut err = std::io::stderr().lock();
        if self.format == LogFormat::Json {
            if let Ok(mut line) = crate::run::journal::stamped(e, at.to_string()) {
                line.push(b'\n');
                let _ = err.write_all(&line);
            }
            return;
        }
        self.clear(&mut err);
        self.track(e);
        if let Some(line) = line(e) {
            let t = self.start.elapsed().as_secs_f64();
            let _ = writeln!(err, "[{t:7.2}s] {line}");
        }
        self.draw(&mut err);
    }

    /// A heartbeat line: like an event's line in text, a `heartbeat` object in JSON.
    fn beat(&mut self, beat: &crate::run::heartbeat::Beat) {
        let mut err = std::io::stderr().lock();
        if self.format == LogFormat::Json {
            let mut v = serde_json::to_value(beat).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.insert("event".into(), "heartbeat".into());
                m.insert("at".into(), crate::clock::now_rfc3339().into());
            }
            let _ = writeln!(err, "{v}");
            return;
        }
        let t = self.start.elapsed().as_secs_f64();
        let _ = writeln!(err, "[{t:7.2}s] {}", beat.text());
    }

    fn track(&mut self, e: &RunEvent) {
        match e {
            RunEvent::StepStarted { id, attempt: 1, .. }
                if !self.running.iter().any(|r| &r.0 == id) =>
            {
                self.running
                    .push((id.clone(), Instant::now(), String::new()));
            }
            RunEvent::WaitPolled { id, observed, .. } => {
                if let Some(r) = self.running.iter_mut().find(|r| &r.0 == id) {
                    r.2 = shown(observed);
                }
            }
            RunEvent::StepSucceeded { id, .. }
            | RunEvent::StepFailed { id, .. }
            | RunEvent::StepSkipped { id, .. } => self.running.retain(|r| &r.0 != id),
            _ => {}
        }
    }

    fn clear(&mut self, err: &mut impl Write) {
        if self.live && self.drawn > 0 {
            let _ = write!(err, "\x1b[{}A\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn draw(&mut self, err: &mut impl Write) {
        if !self.live {
            return;
        }
        for (id, since, seen) in self.running.iter().take(20) {
            let seen = if seen.is_empty() {
                String::new()
            } else {
                format!("  last seen: {seen}")
            };
            let _ = writeln!(
                err,
                "  ⋯ {id} ({:.1}s){seen}",
                since.elapsed().as_secs_f64()
            );
            self.drawn += 1;
        }
    }

    fn done(&mut self) {
        let mut err = std::io::stderr().lock();
        self.clear(&mut err);
    }
}

fn phase(p: Phase) -> &'static str {
    match p {
        Phase::Main => "",
        Phase::Undo => "undo ",
        Phase::Finally => "finally ",
    }
}

/// An observed value as a progress line shows it: a sealed secret as `***`.
fn shown(observed: &serde_json::Value) -> String {
    crate::plan::template::display(&crate::run::sealed::masked(observed))
}

/// The plain log line of an event, if it gets one.
pub fn line(e: &RunEvent) -> Option<String> {
    Some(match e {
        RunEvent::RunStarted(start) => {
            let (run_id, plan) = (&start.run_id, &start.plan);
            let minted: Vec<String> = start
                .minted
                .iter()
                .map(|m| format!("{m}={}", crate::plan::template::display(&start.params[m])))
                .collect();
            let minted = if minted.is_empty() {
                String::new()
            } else {
                format!(" (minted: {})", minted.join(", "))
            };
            format!("run {run_id} of plan `{plan}` started{minted}")
        }
        RunEvent::StepStarted {
            phase: p,
            id,
            attempt,
            item,
        } => {
            let item = item
                .as_ref()
                .map(|i| format!(" [{}]", crate::plan::template::display(i)))
                .unwrap_or_default();
            if *attempt == 1 {
                format!("{}{id}{item} started", phase(*p))
            } else {
                format!("{}{id}{item} attempt {attempt}", phase(*p))
            }
        }
        RunEvent::WaitPolled { id, observed, .. } => match observed.get("error") {
            Some(e) => format!("{id} poll failed, retrying at the next poll: {}", shown(e)),
            None => format!("{id} observed {}", shown(observed)),
        },
        RunEvent::ItemSucceeded {
            phase: p, id, item, ..
        } => format!(
            "{}{id} [{}] succeeded",
            phase(*p),
            crate::plan::template::display(item)
        ),
        RunEvent::StepRetrying {
            phase: p,
            id,
            attempt,
            delay_ms,
            error,
            not_yet,
        } => match not_yet {
            // An expected "not yet" (a check inside its bounded grace) is progress.
            Some(seen) => format!(
                "{}{id} not ready yet (saw {}), checking again in {delay_ms} ms",
                phase(*p),
                shown(seen)
            ),
            None => format!(
                "{}{id} attempt {attempt} failed, retrying in {delay_ms} ms: {error}",
                phase(*p)
            ),
        },
        RunEvent::StepSucceeded {
            phase: p,
            id,
            duration_ms,
            ..
        } => format!("{}{id} succeeded ({duration_ms} ms)", phase(*p)),
        RunEvent::StepFailed {
            phase: p,
            id,
            error,
            ..
        } => format!("{}{id} FAILED: {error}", phase(*p)),
        RunEvent::StepSkipped {
            phase: p,
            id,
            reason,
        } => format!("{}{id} skipped: {reason}", phase(*p)),
        RunEvent::UndoRegistered { .. } => return None,
        RunEvent::DestructiveCalls {
            phase: p,
            id,
            calls,
        } => format!(
            "{}{id} is destructive; its {} call(s):\n    {}",
            phase(*p),
            calls.len(),
            calls.iter().map(shown).collect::<Vec<_>>().join("\n    ")
        ),
        RunEvent::BeforeRetry {
            phase: p,
            id,
            item,
            calls,
        } => format!(
            "{}{id}{} cleans up before repeating: {}",
            phase(*p),
            item.as_ref()
                .map(|i| format!(" [{}]", shown(i)))
                .unwrap_or_default(),
            if calls.is_empty() {
                "nothing left to remove".to_string()
            } else {
                calls.iter().map(shown).collect::<Vec<_>>().join(", ")
            }
        ),
        RunEvent::Interrupted { reason } => format!("INTERRUPTED: {reason}"),
        RunEvent::RunFinished {
            outcome,
            exit_code,
            message,
            ..
        } => format!("run finished: {outcome:?} (exit {exit_code}): {message}"),
    })
}
