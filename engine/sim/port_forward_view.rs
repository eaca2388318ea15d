//! sim/port_forward_view: the simulator as a laptop sees a real cluster: values whose URLs name
//! the chart's Services (`http://camunda-zeebe-gateway:9600`, ...) with `port_forward: true`,
//! and the map a `kubectl port-forward` stand-in needs from each Service to the simulated
//! component's address (issue 15: the default path exercised end to end). It owns that
//! mapping only; the relay itself is the CLI's `kubectl-shim`.

use std::collections::BTreeMap;

use url::Url;

use super::chart::Names;

/// One component the plans reach: its values key, chart component and remote port.
const FORWARDED: &[(&str, &str, u16)] = &[
    ("orchestration_url", "zeebe-gateway", 9600),
    // 8.10: the REST API is the same Service's http port, served by the simulator on its own
    // address: keyed `<service>:8080` in the map (the relay looks that up first).
    ("rest_url", "zeebe-gateway", 8080),
    ("gateway_url", "zeebe-gateway", 9600),
    ("operate_url", "operate", 9600),
    ("tasklist_url", "tasklist", 9600),
    ("optimize_url", "optimize", 8092),
    ("datastore_url", "elasticsearch", 9200),
];

/// The Service params of the plans, by chart component.
const SERVICE_PARAMS: &[(&str, &str)] = &[
    ("gateway_service", "zeebe-gateway"),
    ("operate_service", "operate"),
    ("tasklist_service", "tasklist"),
    ("optimize_service", "optimize"),
    ("datastore_service", "elasticsearch"),
];

/// `values` (the simulator's values file) rewritten for port-forwards, and the Service map.
pub fn view(values: &str, names: &Names) -> (String, BTreeMap<String, String>) {
    let mut services = BTreeMap::new();
    let mut out = String::new();
    for line in values.lines() {
        let rewritten = FORWARDED.iter().find_map(|(key, component, port)| {
            let url = line.strip_prefix(&format!("{key}: "))?.trim_matches('"');
            let url = Url::parse(url).ok()?;
            let service = names.fullname(component);
            let map_key = if *key == "rest_url" {
                format!("{service}:{port}")
            } else {
                service.clone()
            };
            services.insert(map_key, format!("{}:{}", url.host_str()?, url.port()?));
            let path = url.path().trim_end_matches('/');
            Some(format!(
                "{key}: \"{}://{service}:{port}{path}\"",
                url.scheme()
            ))
        });
        match (rewritten, line) {
            (Some(r), _) => out.push_str(&r),
            (None, "port_forward: false") => out.push_str("port_forward: true"),
            (None, l) => out.push_str(l),
        }
        out.push('\n');
    }
    for (param, component) in SERVICE_PARAMS {
        out.push_str(&format!("{param}: \"{}\"\n", names.fullname(component)));
    }
    (out, services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_api_is_keyed_by_service_and_port() {
        let config = crate::SimConfig {
            camunda_version: crate::CamundaVersion::V8_10,
            ..Default::default()
        };
        let (values, map) = view(
            "orchestration_url: \"http://127.0.0.1:1000\"\nrest_url: \"http://127.0.0.1:2000\"\nport_forward: false\n",
            &Names::new(&config),
        );
        assert!(
            values.contains("rest_url: \"http://camunda-zeebe-gateway:8080\""),
            "{values}"
        );
        assert!(values.contains("port_forward: true"), "{values}");
        assert_eq!(map["camunda-zeebe-gateway"], "127.0.0.1:1000");
        assert_eq!(map["camunda-zeebe-gateway:8080"], "127.0.0.1:2000");
    }
}
