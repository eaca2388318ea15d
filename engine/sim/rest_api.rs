//! sim/rest_api: the 8.10 Orchestration Cluster REST API on the gateway's http port (the 8080
//! role), the part runbook uses: exporting control and the runtime/history backups under
//! `/v2` (reference camunda-8.9-8.10.md §2.5) and the recovery-mode and Restore API endpoints
//! (§4.3, served by `restore_api`). Every `/v2` request needs a bearer token from the
//! simulated identity provider (`oauth_idp`), else 401 `application/problem+json`.
//!
//! It owns the REST forms only: the behaviour is the management API's (`exporting`, `zeebe`,
//! `webapps`), whose answers are re-rendered here — success bodies as documented (`204` for
//! exporting, `202 {"backupId": N}` for a runtime backup), errors as RFC 9457 problem details
//! whose `detail` is the management API's message, except the runtime backup's 409, whose text
//! is the REST spec's ("A backup with the same or a higher id already exists.", §2.5). The GET
//! bodies of `/v2/backups/...` are not documented in the reference (§2.5 "status codes not
//! read"); they repeat the management API's JSON.

use super::http::{Req, Resp};
use super::model::World;
use super::oauth_idp::{problem, unauthenticated};

/// §2.5, D `take-runtime-backup.api.mdx`.
pub const RUNTIME_BACKUP_EXISTS: &str = "A backup with the same or a higher id already exists.";

/// Routes `/v2/...` (and answers 404 elsewhere on this port).
pub fn handle(world: &mut World, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    if segs.first() != Some(&"v2") {
        return Resp::not_found();
    }
    if let Some(refused) = unauthenticated(world, req) {
        return refused;
    }
    let rest: Vec<String> = req.segs[segs.len().min(3)..].to_vec();
    match (req.method.as_str(), &segs[1..]) {
        ("POST", ["exporting", op]) => exporting(world, req, op),
        (_, ["backups", "runtime", ..]) => runtime(world, req, &rest),
        (_, ["backups", "history", ..]) => history(world, req, &rest),
        (_, ["mode"]) | (_, ["topology"]) | (_, ["restore"]) => {
            super::restore_api::handle_rest(world, req, segs[1])
        }
        _ => problem(404, "Not Found", "No endpoint at this path.", &req.path),
    }
}

/// `POST /v2/exporting/pause[?soft=true]`, `POST /v2/exporting/resume` → 204 (§2.5).
fn exporting(world: &mut World, req: &Req, op: &str) -> Resp {
    let pause = match op {
        "pause" => true,
        "resume" => false,
        _ => return problem(404, "Not Found", "Unknown exporting operation.", &req.path),
    };
    match super::exporting::apply(world, pause, req.flag("soft")) {
        Ok(()) => Resp::empty(204),
        Err(message) => problem(500, "Internal Server Error", &message, &req.path),
    }
}

/// `/v2/backups/runtime[/{id}]`, `?prefix=` on the list (§2.5).
fn runtime(world: &mut World, req: &Req, rest: &[String]) -> Resp {
    let resp = match (req.method.as_str(), rest, req.q("prefix")) {
        ("GET", [], Some(prefix)) => {
            let pattern = format!("{}*", prefix.trim_end_matches('*'));
            super::zeebe::handle(world, req, &[pattern], true)
        }
        _ => super::zeebe::handle(world, req, rest, true),
    };
    if req.method == "POST" {
        return take_answer(resp, &req.path);
    }
    as_problem(resp, &req.path)
}

/// The REST form of a runtime backup's answer: 202 `{"backupId": N}` (§2.5), the spec's 409.
fn take_answer(resp: Resp, path: &str) -> Resp {
    match resp.status {
        202 => {
            let id = serde_json::from_slice::<serde_json::Value>(&resp.body)
                .ok()
                .and_then(|v| v.get("backupId").cloned())
                .unwrap_or_default();
            Resp::json(202, &serde_json::json!({ "backupId": id }))
        }
        409 => problem(409, "Conflict", RUNTIME_BACKUP_EXISTS, path),
        _ => as_problem(resp, path),
    }
}

/// `/v2/backups/history[/{id}]`, `?prefix=` on the list (`verbose` accepted and ignored).
fn history(world: &mut World, req: &Req, rest: &[String]) -> Resp {
    let app = super::webapps::App::Webapps;
    let resp = match (req.method.as_str(), rest, req.q("prefix")) {
        ("GET", [], Some(prefix)) => {
            let mut inner = req.clone();
            let pattern = format!("{}*", prefix.trim_end_matches('*'));
            inner.query.insert("pattern".to_string(), pattern);
            super::webapps::handle(world, app, &inner, rest)
        }
        _ => super::webapps::handle(world, app, req, rest),
    };
    as_problem(resp, &req.path)
}

/// A management-API error (`{"message": ..}`) as a problem detail; successes unchanged.
fn as_problem(resp: Resp, path: &str) -> Resp {
    if resp.status < 400 || resp.drop {
        return resp;
    }
    let detail = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(&resp.body).into_owned());
    problem(resp.status, title(resp.status), &detail, path)
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Internal Server Error",
    }
}
