//! sim/actuator_info: what `GET /actuator/info` answers per component (the Camunda API
//! reference §7.9). The orchestration cluster (and the 8.7 components) expose Spring Boot's
//! build info (`build-info` goal in camunda/camunda `dist/pom.xml`); Optimize exposes `info`
//! but its build adds no build-info, so it answers `{}` unless `config.optimize_info_build`.
//! It owns the body only; it must not route or render HTTP.

use serde_json::{Value, json};

use super::model::{Component, World};

/// The JSON body of `/actuator/info` for `c`.
pub fn body(world: &World, c: Component) -> Value {
    let (artifact, name, version) = match c {
        Component::Optimize if !world.facts.config.optimize_info_build => return json!({}),
        Component::Optimize => (
            "optimize-distro",
            "Optimize",
            world.facts.optimize_version(),
        ),
        Component::Operate => ("operate-webapp", "Operate", world.facts.camunda_version()),
        Component::Tasklist => ("tasklist-webapp", "Tasklist", world.facts.camunda_version()),
        Component::Gateway => (
            "camunda-zeebe",
            "Zeebe Gateway",
            world.facts.camunda_version(),
        ),
        _ => ("camunda-zeebe", "Camunda", world.facts.camunda_version()),
    };
    json!({"build": {"artifact": artifact, "name": name, "version": version}})
}
