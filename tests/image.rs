//! Issue 14, the container image: `image/build-from-host.sh` assembles the Containerfile's
//! runtime layout from this host's files with buildah (vfs storage in a temporary root,
//! nothing pulled), then the image runs `runbook --version` and a full `runbook rehearse` as
//! the non-root user 65532 (`buildah run --isolation chroot`). Skips, saying why, where buildah
//! is missing or the test is not root (CI installs buildah and runs as root: .ci/run).

use std::path::Path;
use std::process::Command;

use crate::harness::root;

/// Why the image test cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (buildah's vfs storage and chroot isolation need root)".into());
    }
    if Command::new("buildah").arg("--version").output().is_err() {
        return Some("buildah is not installed (apt-get install -y buildah)".into());
    }
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        return Some("kubectl is not installed: the image needs one to copy".into());
    }
    None
}

/// `buildah --storage-driver vfs --root <store> ...`, its stdout, failing loudly.
fn buildah(store: &Path, args: &[&str]) -> String {
    let out = Command::new("buildah")
        .args(["--storage-driver", "vfs", "--root"])
        .arg(store)
        .arg("--runroot")
        .arg(store.join("run"))
        .args(args)
        .output()
        .expect("buildah runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "buildah {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn the_image_runs_version_and_rehearse_as_a_non_root_user() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED the_image_runs_version_and_rehearse_as_a_non_root_user: {why}");
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let image = "localhost/runbook:integration-test";
    let built = Command::new(root().join("image/build-from-host.sh"))
        .env("RUNBOOK_BIN", env!("CARGO_BIN_EXE_runbook"))
        .env("BUILDAH_ROOT", store.path())
        .env("IMAGE", image)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&built.stdout);
    assert!(
        built.status.success(),
        "build-from-host.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let size: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("size_bytes="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(size > 1_000_000, "{size}");

    let config = buildah(
        store.path(),
        &[
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}",
            image,
        ],
    );
    assert_eq!(config.trim(), "65532:65532 [/usr/bin/runbook]");

    let ctr = buildah(store.path(), &["from", image]).trim().to_string();
    let version = buildah(
        store.path(),
        &[
            "run",
            "--isolation",
            "chroot",
            &ctr,
            "--",
            "/bin/runbook",
            "--version",
        ],
    );
    assert!(
        version.starts_with(&format!("runbook {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    // The shipped plans are in the image and valid (buildah fails on a non-zero exit).
    buildah(
        store.path(),
        &[
            "run",
            "--isolation",
            "chroot",
            &ctr,
            "--",
            "/usr/bin/runbook",
            "validate",
            "/usr/share/runbook/plans",
        ],
    );
    // The whole rehearsal (simulator, kubectl, backup, restore, oracle) inside the image, as
    // 65532, with its state in /tmp.
    let rehearse = buildah(
        store.path(),
        &[
            "run",
            "--isolation",
            "chroot",
            "--env",
            "RUNBOOK_STATE_DIR=/tmp/runbook",
            &ctr,
            "--",
            "/usr/bin/runbook",
            "rehearse",
            "--state-dir",
            "/tmp/rehearse",
        ],
    );
    assert!(rehearse.contains("VERDICT: PASS"), "{rehearse}");
    buildah(store.path(), &["rm", &ctr]);
    buildah(store.path(), &["rmi", "-f", image]);
}
