//! sim/exporting: the exporting control endpoint of reference 4.2 (`/actuator/exporting/...` on
//! the 8.8 orchestration port and the 8.7 gateway). It owns the response forms (8.8 wrapper by
//! default, plain 204 as an option) and the failure rules; the pause semantics live in
//! `cluster`.
//!
//! Source: camunda/camunda `dist/src/main/java/io/camunda/zeebe/shared/management/
//! ExportingEndpoint.java` — operations `pause` (with `soft`), `resume`; any other operation key
//! throws and answers status 500.

use serde::Serialize;

use super::http::{Message, Req, Resp};
use super::model::World;

/// The 8.8 wrapper `{"body":..,"status":..,"contentType":null}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wrapped {
    body: Option<Message>,
    status: u16,
    content_type: Option<String>,
}

fn success(world: &World) -> Resp {
    if world.facts.exporting_plain_204 {
        return Resp::empty(204);
    }
    Resp::json(
        200,
        &Wrapped {
            body: None,
            status: 204,
            content_type: None,
        },
    )
}

fn failure(world: &World, message: String) -> Resp {
    if world.facts.exporting_plain_204 {
        return Resp::message(500, &message);
    }
    Resp::json(
        200,
        &Wrapped {
            body: Some(Message { message }),
            status: 500,
            content_type: None,
        },
    )
}

/// The message Zeebe gives when not every broker answers.
fn topology_message(world: &World) -> String {
    let n = world.facts.brokers;
    format!(
        "Expected {n} members of partition 1 but found {}, current topology: (simulated)",
        n.saturating_sub(1)
    )
}

/// `POST /actuator/exporting/{pause|resume}[?soft=true]`.
pub fn handle(world: &mut World, req: &Req, rest: &[String]) -> Resp {
    if req.method != "POST" {
        return Resp::method_not_allowed();
    }
    let op = match rest {
        [op] => op.as_str(),
        _ => return Resp::not_found(),
    };
    let pause = match op {
        "pause" => true,
        "resume" => false,
        // Unknown operation keys throw in the endpoint and answer 500.
        other => return failure(world, format!("Unsupported operation: {other}")),
    };
    match apply(world, pause, req.flag("soft")) {
        Ok(()) => success(world),
        Err(message) => failure(world, message),
    }
}

/// Pauses (softly or not) or resumes exporting; `Err` carries Zeebe's message when not every
/// broker answers. Shared with the 8.10 REST form (`rest_api`).
pub fn apply(world: &mut World, pause: bool, soft: bool) -> Result<(), String> {
    if !world.brokers_running || world.faults.exporting_fails(pause) {
        return Err(topology_message(world));
    }
    if pause {
        if soft {
            world.cluster.soft_pause();
        } else {
            world.cluster.hard_pause();
        }
    } else {
        world.cluster.resume();
    }
    world.note_exporting();
    Ok(())
}
