//! sim/index_names: the names of this installation's indices and templates, after the
//! configured prefixes (the Camunda API reference §7.5: `orchestration.index.prefix` before the
//! web-app and `camunda-*` names, Optimize's prefix in place of `optimize`, the exporter's
//! prefix in place of `zeebe-record`), and the 8.8 dated usage-metric indices with the version
//! from which backups contain them (§7.6). It owns naming only; it must not create indices.

use super::CamundaVersion;
use super::cluster_config::parse_version;
use super::datastore::Owner;
use super::model::Facts;

/// 8.8: `<index_prefix>-<name>`, or `name` without a prefix. 8.7: Operate's and Tasklist's
/// own prefixes replace the leading `operate`/`tasklist` (Operate 8.7
/// `AbstractIndexDescriptor.getFullQualifiedName`: `"%s-%s-%s_"` of `indexPrefix` (default
/// `operate`), index name and version; Tasklist alike; §7.5).
fn web(facts: &Facts, name: &str) -> String {
    if facts.version == CamundaVersion::V8_7 {
        let c = &facts.config;
        for (head, prefix) in [
            ("operate-", &c.operate_index_prefix),
            ("tasklist-", &c.tasklist_index_prefix),
        ] {
            if let (Some(rest), false) = (name.strip_prefix(head), prefix.is_empty()) {
                return format!("{prefix}-{rest}");
            }
        }
        return name.to_string();
    }
    match facts.config.index_prefix.as_str() {
        "" => name.to_string(),
        p => format!("{p}-{name}"),
    }
}

/// `<optimize prefix>-<rest>`; Optimize's default prefix is `optimize`.
fn optimize(facts: &Facts, rest: &str) -> String {
    match facts.config.optimize_index_prefix.as_str() {
        "" => format!("optimize-{rest}"),
        p => format!("{p}-{rest}"),
    }
}

/// `<record_prefix>_<value type>_<version>` (the exporter's index, before the date).
fn record(facts: &Facts, kind: &str) -> String {
    format!(
        "{}_{kind}_{}",
        facts.config.record_prefix,
        facts.camunda_version()
    )
}

/// The indices of a fresh installation (names as in reference 4.8), created on start.
pub fn seed_indices(facts: &Facts, date: &str) -> Vec<(String, Owner)> {
    let version = facts.version;
    let mut out: Vec<(String, Owner)> = Vec::new();
    for kind in ["process-instance", "job", "variable"] {
        out.push((
            format!("{}_{date}", record(facts, kind)),
            Owner::ZeebeRecord,
        ));
    }
    let operate: &[&str] = match version {
        CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => &[
            "operate-list-view-8.3.0_",
            "operate-flownode-instance-8.3.1_",
            "operate-variable-8.3.0_",
            "operate-batch-operation-1.0.0_",
        ],
        CamundaVersion::V8_7 => &[
            "operate-list-view-8.3.0_",
            "operate-flownode-instance-8.3.1_",
            "operate-variable-8.3.0_",
            "operate-incident-8.3.1_",
            "operate-batch-operation-1.0.0_",
            "operate-import-position-8.3.0_",
        ],
    };
    out.extend(operate.iter().map(|n| (web(facts, n), Owner::Operate)));
    let tasklist: &[&str] = match version {
        CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => &[
            "tasklist-task-8.8.0_",
            "tasklist-draft-task-variable-8.3.0_",
        ],
        CamundaVersion::V8_7 => &[
            "tasklist-task-8.5.0_",
            "tasklist-variable-8.3.0_",
            "tasklist-draft-task-variable-8.3.0_",
            "tasklist-form-8.4.0_",
            "tasklist-metric-8.3.0_",
            "tasklist-import-position-8.2.0_",
        ],
    };
    out.extend(tasklist.iter().map(|n| (web(facts, n), Owner::Tasklist)));
    if version.orchestration_cluster() {
        // camunda/camunda webapps-schema `UsageMetricTemplate` (`usage-metric`, 8.8.0) and
        // `UsageMetricTUTemplate` (`usage-metric-tu`): the live indices end with `_`.
        for n in [
            "camunda-user-8.8.0_",
            "camunda-authorization-8.8.0_",
            "camunda-role-8.8.0_",
            "camunda-usage-metric-8.8.0_",
            "camunda-usage-metric-tu-8.8.0_",
        ] {
            out.push((web(facts, n), Owner::Camunda));
        }
    }
    if facts.optimize {
        for n in [
            "position-based-import-index_v3",
            "timestamp-based-import-index_v5",
        ] {
            out.push((optimize(facts, n), Owner::OptimizeImport));
        }
        for n in [
            "process-definition_v6",
            "process-instance-sim_v8",
            "single-process-report_v11",
        ] {
            out.push((optimize(facts, n), Owner::Optimize));
        }
    }
    out
}

/// 8.8's archived usage metrics: the templates' live index name plus a date (§7.6).
pub fn dated_usage_metric_indices(facts: &Facts, date: &str) -> Vec<String> {
    if !facts.version.orchestration_cluster() {
        return Vec::new();
    }
    [
        "camunda-usage-metric-8.8.0_",
        "camunda-usage-metric-tu-8.8.0_",
    ]
    .iter()
    .map(|n| web(facts, &format!("{n}{date}")))
    .collect()
}

/// "Backups created with Camunda 8.8 versions earlier than 8.8.15 do not include dated usage
/// metric indices" (8.8 restore docs, §7.6).
pub fn backups_include_dated_usage_metrics(facts: &Facts) -> bool {
    facts.version.orchestration_cluster()
        && parse_version(&facts.camunda_version()).is_some_and(|v| v >= (8, 8, 15))
}

/// Index templates (name, patterns) the components create on first start (reference 3.1 #1).
pub fn seed_templates(facts: &Facts) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = [
        "operate-batch-operation-1.0.0_",
        "operate-list-view-8.3.0_",
        "tasklist-task-8.5.0_",
    ]
    .iter()
    .map(|n| {
        (
            web(facts, &format!("{n}template")),
            vec![web(facts, &format!("{n}*"))],
        )
    })
    .collect();
    for kind in ["process-instance", "job"] {
        let name = record(facts, kind);
        out.push((name.clone(), vec![format!("{name}_*")]));
    }
    if facts.optimize {
        out.push((
            optimize(facts, "process-instance_template"),
            vec![optimize(facts, "process-instance-*")],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;
    use crate::model::World;

    fn facts(tweak: impl FnOnce(&mut SimConfig)) -> Facts {
        let mut c = SimConfig::default();
        tweak(&mut c);
        World::new(&c).facts
    }

    #[test]
    fn prefixes_change_every_name() {
        let f = facts(|c| {
            c.scenario.config.index_prefix = "c1".into();
            c.scenario.config.optimize_index_prefix = "o1".into();
            c.scenario.config.record_prefix = "rec".into();
        });
        let names: Vec<String> = seed_indices(&f, "2026-12-04")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.contains(&"c1-operate-list-view-8.3.0_".to_string()));
        assert!(names.contains(&"c1-camunda-usage-metric-8.8.0_".to_string()));
        assert!(names.contains(&"o1-process-definition_v6".to_string()));
        assert!(names.contains(&"rec_job_8.8.0_2026-12-04".to_string()));
        assert!(!names.iter().any(|n| n.starts_with("operate-")
            || n.starts_with("optimize-")
            || n.starts_with("zeebe-record")));
        let d = facts(|_| {});
        let names: Vec<String> = seed_indices(&d, "2026-12-04")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.contains(&"operate-list-view-8.3.0_".to_string()));
        assert!(names.contains(&"optimize-process-definition_v6".to_string()));
        assert!(names.contains(&"zeebe-record_job_8.8.0_2026-12-04".to_string()));
    }

    #[test]
    fn prefixes_87_replace_operate_and_tasklist() {
        let f = facts(|c| {
            c.camunda_version = CamundaVersion::V8_7;
            c.scenario.config.operate_index_prefix = "op1".into();
            c.scenario.config.tasklist_index_prefix = "tl1".into();
        });
        let names: Vec<String> = seed_indices(&f, "2026-12-04")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.contains(&"op1-list-view-8.3.0_".to_string()));
        assert!(names.contains(&"tl1-task-8.5.0_".to_string()));
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("operate-") || n.starts_with("tasklist-"))
        );
        let templates = seed_templates(&f);
        assert!(
            templates
                .iter()
                .any(|(n, _)| n == "op1-list-view-8.3.0_template")
        );
    }

    #[test]
    fn dated_usage_metrics_are_in_backups_from_8_8_15() {
        let old = facts(|c| c.scenario.config.camunda_version = Some("8.8.14".into()));
        assert!(!backups_include_dated_usage_metrics(&old));
        assert_eq!(
            dated_usage_metric_indices(&old, "2026-12-01"),
            vec![
                "camunda-usage-metric-8.8.0_2026-12-01",
                "camunda-usage-metric-tu-8.8.0_2026-12-01"
            ]
        );
        let new = facts(|c| c.scenario.config.camunda_version = Some("8.8.15".into()));
        assert!(backups_include_dated_usage_metrics(&new));
        let v87 = facts(|c| c.camunda_version = CamundaVersion::V8_7);
        assert!(dated_usage_metric_indices(&v87, "2026-12-01").is_empty());
    }
}
