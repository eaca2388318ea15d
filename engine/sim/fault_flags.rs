//! sim/fault_flags: faults given on the command line (`--fault`, `--outcome`), in the
//! `key=value,key=value` form Helm users know from `--set`, turned into the same [`Scenario`]
//! a scenario file gives. Parsing only: what a fault does is `sim::faults`.

use serde_json::{Map, Value};

use super::faults::{EndpointFault, OutcomeRule, Scenario};

/// Builds a scenario from `--fault` and `--outcome` flags, e.g.
/// `--fault component=optimize,path=/actuator/backups/*,status=502,times=2` and
/// `--outcome component=webapps,result=failed`.
pub fn scenario_from_flags(faults: &[String], outcomes: &[String]) -> Result<Scenario, String> {
    let mut s = Scenario::default();
    for f in faults {
        let fault: EndpointFault =
            serde_json::from_value(fields(f)?).map_err(|e| format!("--fault {f:?}: {e}"))?;
        s.faults.push(fault);
    }
    for o in outcomes {
        let outcome: OutcomeRule =
            serde_json::from_value(fields(o)?).map_err(|e| format!("--outcome {o:?}: {e}"))?;
        s.outcomes.push(outcome);
    }
    // The same checks as a scenario file (known components, valid statuses).
    let yaml = serde_json::to_string(&s).map_err(|e| e.to_string())?;
    Scenario::from_yaml_str(&yaml).map_err(|e| e.to_string())
}

/// `a=1,b=x,c=true` as a JSON object: integers and booleans typed, the rest strings.
fn fields(spec: &str) -> Result<Value, String> {
    let mut map = Map::new();
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "{spec:?}: `{part}` is not key=value (e.g. component=optimize,status=502)"
            ));
        };
        let v = v.trim();
        let value = if let Ok(n) = v.parse::<u64>() {
            Value::from(n)
        } else if let Ok(b) = v.parse::<bool>() {
            Value::Bool(b)
        } else {
            Value::String(v.to_string())
        };
        map.insert(k.trim().to_string(), value);
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Outcome;

    #[test]
    fn flags_become_a_scenario() {
        let s = scenario_from_flags(
            &["component=optimize,method=GET,path=/actuator/backups/*,status=502,times=2".into()],
            &["component=webapps,result=failed,times=1".into()],
        )
        .expect("valid");
        assert_eq!(s.faults[0].component, "optimize");
        assert_eq!(s.faults[0].status, Some(502));
        assert_eq!(s.faults[0].times, Some(2));
        assert_eq!(s.outcomes[0].result, Outcome::Failed);
    }

    #[test]
    fn kubernetes_faults_come_from_flags_too() {
        let s = scenario_from_flags(
            &["component=kubernetes,method=PATCH,path=/apis/apps/v1/namespaces/*/statefulsets/*/scale,status=500,times=1".into()],
            &[],
        )
        .expect("valid");
        let mut armed = crate::faults::Faults::default();
        armed.add(s);
        let path = "/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe/scale";
        assert_eq!(
            armed
                .take("kubernetes", "PATCH", path)
                .and_then(|a| a.status),
            Some(500)
        );
        assert!(armed.take("kubernetes", "PATCH", path).is_none(), "times=1");
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        let e = scenario_from_flags(&["component=nope".into()], &[]).unwrap_err();
        assert!(e.contains("unknown component"), "{e}");
        let e = scenario_from_flags(&["status".into()], &[]).unwrap_err();
        assert!(e.contains("not key=value"), "{e}");
        let e = scenario_from_flags(&["component=any,colour=red".into()], &[]).unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }
}
