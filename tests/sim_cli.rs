//! `runbook sim` as a user starts it: the values file it prints must work from anywhere.

use crate::harness::SimProcess;

/// The state directory is given relative (`--state-dir sim`); the kubeconfig path in the
/// values file must still be absolute, or a run started elsewhere cannot find it.
#[test]
fn values_name_an_absolute_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let _sim = SimProcess::start(dir.path(), &[]);
    let values = std::fs::read_to_string(dir.path().join("values.yaml")).unwrap();
    let line = values
        .lines()
        .find(|l| l.trim_start().starts_with("kubeconfig:"))
        .unwrap_or_else(|| panic!("no kubeconfig in:\n{values}"));
    let path = line.split_once(':').unwrap().1.trim().trim_matches('"');
    assert!(std::path::Path::new(path).is_absolute(), "{line}");
}
