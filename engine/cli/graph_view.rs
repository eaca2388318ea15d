//! graph_view: `runbook graph` output. Steps by stage, the critical path, and undo and
//! finally edges drawn distinctly, as text, Graphviz DOT or Mermaid. Formatting only.

use crate::plan::graph::{PlanGraphs, StepGraph};
use crate::plan::{Plan, Step};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

pub fn render(plan: &Plan, graphs: &PlanGraphs, format: GraphFormat) -> String {
    match format {
        GraphFormat::Text => text(plan, graphs),
        GraphFormat::Dot => dot(plan, graphs),
        GraphFormat::Mermaid => mermaid(plan, graphs),
    }
}

fn critical(plan: &Plan, g: &StepGraph) -> Vec<String> {
    g.critical_path()
        .into_iter()
        .map(|i| plan.steps[i].id.clone())
        .collect()
}

fn marks(s: &Step) -> String {
    let mut m = Vec::new();
    if s.destructive {
        m.push("DESTRUCTIVE");
    }
    if s.when.is_some() {
        m.push("conditional");
    }
    if s.for_each.is_some() {
        m.push("for_each");
    }
    if matches!(s.action, crate::plan::Action::Wait(_)) {
        m.push("wait");
    }
    if m.is_empty() {
        String::new()
    } else {
        format!("  [{}]", m.join(", "))
    }
}

fn text(
    plan: &Plan,
    PlanGraphs {
        main, finally: fin, ..
    }: &PlanGraphs,
) -> String {
    let mut out = format!(
        "Plan `{}`: {} steps in {} stages, {} finally steps\n",
        plan.name,
        plan.steps.len(),
        main.stages().len(),
        plan.finally.len()
    );
    for (n, stage) in main.stages().iter().enumerate() {
        out.push_str(&format!("\nstage {}\n", n + 1));
        for &i in stage {
            let s = &plan.steps[i];
            let needs: Vec<&str> = s.needs.iter().map(|(n, _)| n.as_str()).collect();
            let after = if needs.is_empty() {
                String::new()
            } else {
                format!("  <- {}", needs.join(", "))
            };
            out.push_str(&format!(
                "  {} ({}){after}{}\n",
                s.id,
                s.action.kind(),
                marks(s)
            ));
            if let Some(u) = &s.undo {
                out.push_str(&format!(
                    "      undo ~> {} ({})\n",
                    u.description.as_deref().unwrap_or("compensate"),
                    u.action.kind()
                ));
            }
        }
    }
    out.push_str(&format!(
        "\ncritical path: {}\n",
        critical(plan, main).join(" -> ")
    ));
    if !plan.finally.is_empty() {
        out.push_str("\nfinally (after all steps, whatever happened):\n");
        for &i in &fin.order {
            let s = &plan.finally[i];
            let needs: Vec<&str> = s.needs.iter().map(|(n, _)| n.as_str()).collect();
            let after = if needs.is_empty() {
                String::new()
            } else {
                format!("  <- {}", needs.join(", "))
            };
            out.push_str(&format!(
                "  {} ({}){after}{}\n",
                s.id,
                s.action.kind(),
                marks(s)
            ));
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A two-line DOT label: the id, then the action kind. The `\n` is DOT's line break, so it
/// must not go through `quote`, which would escape it into a literal backslash.
fn label(id: &str, kind: &str) -> String {
    format!("\"{}\\n({})\"", escape(id), escape(kind))
}

fn dot(
    plan: &Plan,
    PlanGraphs {
        main, finally: fin, ..
    }: &PlanGraphs,
) -> String {
    let crit = critical(plan, main);
    let mut out = format!(
        "digraph {} {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        quote(&plan.name)
    );
    for (n, stage) in main.stages().iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_stage_{} {{\n    label=\"stage {}\"; style=dashed;\n",
            n + 1,
            n + 1
        ));
        for &i in stage {
            let s = &plan.steps[i];
            let color = if s.destructive { ", color=red" } else { "" };
            let bold = if crit.contains(&s.id) {
                ", penwidth=2"
            } else {
                ""
            };
            out.push_str(&format!(
                "    {} [label={}{color}{bold}];\n",
                quote(&s.id),
                label(&s.id, s.action.kind())
            ));
        }
        out.push_str("  }\n");
    }
    for s in &plan.steps {
        for (n, _) in &s.needs {
            let bold = if crit.contains(n) && crit.contains(&s.id) {
                " [penwidth=2]"
            } else {
                ""
            };
            out.push_str(&format!("  {} -> {}{bold};\n", quote(n), quote(&s.id)));
        }
        if s.undo.is_some() {
            let u = format!("undo:{}", s.id);
            out.push_str(&format!("  {} [label={}, shape=note, style=dashed];\n  {} -> {} [style=dashed, label=\"undo\"];\n", quote(&u), quote(&format!("undo {}", s.id)), quote(&s.id), quote(&u)));
        }
    }
    if !plan.finally.is_empty() {
        out.push_str("  subgraph cluster_finally {\n    label=\"finally\"; style=dotted;\n");
        for &i in &fin.order {
            let s = &plan.finally[i];
            out.push_str(&format!(
                "    {} [label={}, shape=octagon];\n",
                quote(&s.id),
                label(&s.id, s.action.kind())
            ));
        }
        out.push_str("  }\n");
        for s in &plan.finally {
            for (n, _) in &s.needs {
                out.push_str(&format!("  {} -> {};\n", quote(n), quote(&s.id)));
            }
        }
        let roots = fin
            .order
            .iter()
            .filter(|&&i| plan.finally[i].needs.is_empty());
        for &r in roots {
            out.push_str(&format!(
                "  \"(end of steps)\" -> {} [style=dotted, label=\"always\"];\n",
                quote(&plan.finally[r].id)
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid node id for a step id: one id per step (`a-b` and `a_b` stay apart: `_` becomes
/// `__`, any other character `_` and its hex code) and never a keyword such as `end` (the
/// `n_` prefix).
fn mermaid_id(s: &str) -> String {
    let mut out = String::from("n_");
    for c in s.chars() {
        match c {
            '_' => out.push_str("__"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c => out.push_str(&format!("_{:x}_", u32::from(c))),
        }
    }
    out
}

fn mermaid(
    plan: &Plan,
    PlanGraphs {
        main, finally: fin, ..
    }: &PlanGraphs,
) -> String {
    let crit = critical(plan, main);
    let mut out = String::from("flowchart LR\n");
    for (n, stage) in main.stages().iter().enumerate() {
        out.push_str(&format!("  subgraph stage{}[\"stage {}\"]\n", n + 1, n + 1));
        for &i in stage {
            let s = &plan.steps[i];
            out.push_str(&format!(
                "    {}[\"{} ({})\"]\n",
                mermaid_id(&s.id),
                s.id,
                s.action.kind()
            ));
        }
        out.push_str("  end\n");
    }
    for s in &plan.steps {
        for (n, _) in &s.needs {
            let arrow = if crit.contains(n) && crit.contains(&s.id) {
                "==>"
            } else {
                "-->"
            };
            out.push_str(&format!(
                "  {} {arrow} {}\n",
                mermaid_id(n),
                mermaid_id(&s.id)
            ));
        }
        if s.undo.is_some() {
            out.push_str(&format!(
                "  {} -.->|undo| undo_{}[/\"undo {}\"/]\n",
                mermaid_id(&s.id),
                mermaid_id(&s.id),
                s.id
            ));
        }
        if s.destructive {
            out.push_str(&format!(
                "  style {} stroke:#d00,stroke-width:2px\n",
                mermaid_id(&s.id)
            ));
        }
    }
    if !plan.finally.is_empty() {
        out.push_str("  subgraph finally[\"finally (always)\"]\n");
        for &i in &fin.order {
            let s = &plan.finally[i];
            out.push_str(&format!(
                "    {}{{{{\"{} ({})\"}}}}\n",
                mermaid_id(&s.id),
                s.id,
                s.action.kind()
            ));
        }
        out.push_str("  end\n");
        for s in &plan.finally {
            for (n, _) in &s.needs {
                out.push_str(&format!("  {} --> {}\n", mermaid_id(n), mermaid_id(&s.id)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::loader;

    const PLAN: &str = "apiVersion: runbook/v1\nkind: Plan\nname: g\ntargets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\nsteps:\n  - id: a-b\n    http: {target: web, path: /x}\n  - id: a_b\n    http: {target: web, path: /x}\n  - id: end\n    needs: [a-b, a_b]\n    destructive: true\n    http: {target: web, method: DELETE, path: /x}\n    undo: {http: {target: web, path: /y}}\n  - id: side\n    when: 'true'\n    needs: a-b\n    wait: {http: {target: web, path: /x}, until: 'true', timeout: 1m}\nfinally:\n  - id: tidy\n    http: {target: web, path: /z}\n";

    fn shown(format: GraphFormat) -> String {
        let (plan, graphs) = loader::valid_for_test(PLAN);
        render(&plan, &graphs, format)
    }

    #[test]
    fn text_shows_stages_needs_marks_undo_and_finally() {
        let t = shown(GraphFormat::Text);
        assert!(
            t.starts_with("Plan `g`: 4 steps in 2 stages, 1 finally steps\n"),
            "{t}"
        );
        assert!(
            t.contains("  end (http)  <- a-b, a_b  [DESTRUCTIVE]\n"),
            "{t}"
        );
        assert!(t.contains("      undo ~> compensate (http)\n"), "{t}");
        assert!(
            t.contains("side (wait)  <- a-b  [conditional, wait]"),
            "{t}"
        );
        assert!(t.contains("\ncritical path: "), "{t}");
        assert!(
            t.contains("finally (after all steps, whatever happened):\n  tidy (http)"),
            "{t}"
        );
    }

    #[test]
    fn dot_labels_break_lines_and_quote_ids() {
        let d = shown(GraphFormat::Dot);
        assert!(d.starts_with("digraph \"g\" {"), "{d}");
        // DOT's line break, not a literal backslash-n.
        assert!(d.contains("label=\"a-b\\n(http)\""), "{d}");
        assert!(!d.contains("\\\\n"), "{d}");
        assert!(
            d.contains("\"end\" [label=\"end\\n(http)\", color=red"),
            "{d}"
        );
        assert!(d.contains("\"end\" -> \"undo:end\" [style=dashed"), "{d}");
        assert!(d.contains("\"(end of steps)\" -> \"tidy\""), "{d}");
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }

    #[test]
    fn mermaid_ids_are_distinct_and_never_keywords() {
        assert_ne!(mermaid_id("a-b"), mermaid_id("a_b"));
        assert_ne!(mermaid_id("a_2d_b"), mermaid_id("a-b"));
        assert_eq!(mermaid_id("end"), "n_end");
        let m = shown(GraphFormat::Mermaid);
        assert!(m.starts_with("flowchart LR\n"), "{m}");
        assert!(
            m.contains(&format!("{} ==> n_end", mermaid_id("a-b")))
                || m.contains(&format!("{} --> n_end", mermaid_id("a-b"))),
            "{m}"
        );
        assert!(m.contains("style n_end stroke:#d00"), "{m}");
        assert!(m.contains("subgraph finally[\"finally (always)\"]"), "{m}");
        // No node is called `end` bare (Mermaid's keyword closes the subgraph).
        assert!(
            !m.lines().any(|l| l.trim_start().starts_with("end[")),
            "{m}"
        );
    }
}
