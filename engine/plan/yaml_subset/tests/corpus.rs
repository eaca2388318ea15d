//! Coverage: the shipped plans, the valid fixtures and a plan in the style of the synthetic
//! benchmark plan are read by the subset reader, exactly as by the full reader.

use std::path::{Path, PathBuf};

use super::{fast, gives_up};

/// Shipped plans outside the subset, and why: they fall back to the full reader.
const FALL_BACK: &[(&str, &str)] = &[
    ("plans/camunda/backup-8.8.yaml", "anchors and aliases"),
    ("plans/camunda/restore-8.7.yaml", "anchors and aliases"),
    ("plans/camunda/backup-8.9.yaml", "anchors and aliases"),
    ("plans/camunda/backup-8.10.yaml", "anchors and aliases"),
];

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn shipped_plans_and_valid_fixtures_are_in_the_subset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&root.join("plans"), &mut files);
    yaml_files(&root.join("tests/fixtures/valid"), &mut files);
    files.sort();
    assert!(files.len() >= 5, "no plans found: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let name = path.strip_prefix(root).expect("under the root");
        let name = name.to_string_lossy().replace('\\', "/");
        if FALL_BACK.iter().any(|(f, _)| *f == name) {
            gives_up(&text);
        } else {
            fast(&text);
        }
    }
}

/// A few steps shaped like `examples/bench_static.rs`'s `plan_text`.
#[test]
fn the_benchmark_plan_shape_is_in_the_subset() {
    let mut text = String::from(
        "apiVersion: runbook/v1\nkind: Plan\nname: synthetic\n\
         params:\n  x: { default: tenant-a }\n  base_url: { type: url, default: http://127.0.0.1:1 }\n\
         \x20 token: { default: t, secret: true }\n\
         targets:\n  api:\n    http:\n      url: \"{{params.base_url}}\"\n      \
         headers: { Authorization: \"Bearer {{params.token}}\" }\n      timeout: 30s\nsteps:\n",
    );
    for i in 0..5 {
        text.push_str(&format!(
            "  - id: step-{i}\n    description: Synthetic step {i} of a wide plan.\n"
        ));
        if i > 0 {
            text.push_str(&format!("    needs: [step-{}, step-0]\n", i - 1));
        }
        text.push_str(&format!(
            "    http:\n      target: api\n      method: POST\n      \
             path: \"/items/{{{{params.x}}}}/{{{{steps.step-0.outputs.y}}}}\"\n      \
             query: {{ page: \"{p}\" }}\n      json: {{ origin: \"{{{{steps.step-0.outputs.y}}}}\", n: {i} }}\n    \
             check: '.status == 200 and (.body.items | length) >= {i}'\n    \
             retry: {{ attempts: 3, backoff: {{ initial: 1s, max: 10s }} }}\n    timeout: 30s\n    \
             outputs:\n      y: .body.id\n      count: .body.items | length\n",
            p = i % 17
        ));
    }
    fast(&text);
}
