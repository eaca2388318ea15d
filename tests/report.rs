//! Issue 14, "a report people look at": a backup against the simulator leaves `report.html`
//! and `report.md` next to `report.json`; `runbook report` renders either for any run; the
//! HTML page is drawn by a real headless Chromium (Debian's `chromium`; the test says so and
//! skips that part where it is missing) and the screenshot shows the outcome badge, the bars
//! and the shaded exporting-paused window.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{SimProcess, output, root, run_against_sim};

fn report(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_runbook"));
    c.arg("report")
        .args(["--state-dir", "runs"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    output(c)
}

#[test]
fn a_backup_leaves_readable_reports_and_the_page_renders_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let _sim = SimProcess::start(
        dir.path(),
        &["--camunda-version", "8.8", "--datastore", "elasticsearch"],
    );
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    let (code, text) = output(run_against_sim(
        dir.path(),
        &plan,
        &["--set", "backup_id=4242"],
    ));
    assert_eq!(code, 0, "{text}");
    let run_dir = std::fs::read_dir(dir.path().join("runs/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .expect("a run directory");
    let beside = std::fs::read_to_string(run_dir.join("report.md")).expect("report.md");
    assert!(beside.contains("| backup_id | `4242` |"), "{beside}");
    assert!(beside.contains("```mermaid\ngantt\n"), "{beside}");
    assert!(run_dir.join("report.html").is_file());

    let (code, md) = report(dir.path(), &["--format", "markdown"]);
    assert_eq!(code, 0, "{md}");
    assert_eq!(md, beside, "the command renders what the run wrote");
    let (code, out) = report(dir.path(), &["--format", "html", "-o", "page.html"]);
    assert_eq!(code, 0, "{out}");
    let page = std::fs::read_to_string(dir.path().join("page.html")).unwrap();
    assert!(page.contains("exporting_paused · "), "the window is drawn");
    let (code, out) = report(dir.path(), &["no-such-run"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no run `no-such-run`"), "{out}");

    match chromium() {
        Some(browser) => screenshot_shows_the_run(&browser, dir.path()),
        None => eprintln!(
            "SKIPPED the browser check: no chromium (install Debian's `chromium`, or set RUNBOOK_CHROMIUM)"
        ),
    }
}

fn chromium() -> Option<String> {
    std::env::var("RUNBOOK_CHROMIUM")
        .ok()
        .or_else(|| Some("/usr/bin/chromium".to_string()))
        .filter(|p| Path::new(p).is_file())
}

/// Screenshots `page.html` at 1200x900 and checks the picture: its size, the green outcome
/// badge, green bars and the amber shade of the window.
fn screenshot_shows_the_run(browser: &str, dir: &Path) {
    let shot = dir.join("shot.png");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,900",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", dir.join("page.html").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish its screenshot in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("a screenshot"));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let channels = info.color_type.samples();
    let count = |rgb: (u8, u8, u8), tolerance: i32| {
        buf[..info.buffer_size()]
            .chunks(channels)
            .filter(|p| {
                (i32::from(p[0]) - i32::from(rgb.0)).abs() <= tolerance
                    && (i32::from(p[1]) - i32::from(rgb.1)).abs() <= tolerance
                    && (i32::from(p[2]) - i32::from(rgb.2)).abs() <= tolerance
            })
            .count()
    };
    let badge = count((0x1f, 0x8a, 0x4c), 6);
    let bars = count((0x2e, 0x9e, 0x5b), 6);
    // #f6c343 at 28 % over white.
    let shade = count((0xfc, 0xef, 0xcf), 8);
    assert!(badge > 300, "the SUCCEEDED badge is drawn ({badge} px)");
    assert!(bars > 300, "step bars are drawn ({bars} px)");
    assert!(
        shade > 5_000,
        "the exporting-paused window is shaded ({shade} px)"
    );
}
