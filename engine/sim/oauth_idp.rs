//! sim/oauth_idp: the identity provider the 8.10 Orchestration Cluster REST API trusts, as far
//! as runbook needs it: an OAuth2 client-credentials token endpoint (RFC 6749 §4.4,
//! `client_secret_post`) at `POST /oauth/token` on its own port, and the check of a request's
//! bearer token (reference camunda-8.9-8.10.md §2.5, §4.3 "authenticated REST access").
//! It owns the issued tokens and the error bodies of the token endpoint; it must not know any
//! `/v2` endpoint. Tokens are opaque strings, valid for `TOKEN_LIFETIME_S`.

use std::collections::BTreeMap;

use serde_json::json;

use super::http::{Req, Resp, parse_query};
use super::model::World;

/// `expires_in` of every token (Keycloak's default access-token lifespan is 300 s).
pub const TOKEN_LIFETIME_S: u64 = 300;

/// Tokens issued so far: token → expiry (simulator ms).
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    issued: BTreeMap<String, u64>,
    seq: u64,
}

impl Tokens {
    /// Whether `token` was issued here and has not expired at `now_ms`.
    pub fn valid(&self, token: &str, now_ms: u64) -> bool {
        self.issued.get(token).is_some_and(|until| now_ms < *until)
    }

    /// Revokes every token (a test of the executor's renew-after-401).
    pub fn revoke_all(&mut self) {
        self.issued.clear();
    }

    fn issue(&mut self, now_ms: u64, wall_ms: u64) -> String {
        self.seq += 1;
        let token = format!("sim-{}-{wall_ms:x}", self.seq);
        self.issued
            .insert(token.clone(), now_ms + TOKEN_LIFETIME_S * 1000);
        token
    }
}

/// An OAuth2 error response (RFC 6749 §5.2).
fn oauth_error(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// Routes a request to the identity provider's port.
pub fn handle(world: &mut World, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["oauth", "token"]) => token(world, req),
        (_, ["oauth", "token"]) => Resp::method_not_allowed(),
        _ => Resp::not_found(),
    }
}

/// `POST /oauth/token` with `grant_type=client_credentials&client_id=..&client_secret=..`
/// (and optional `audience`/`scope`, checked when the scenario configures them).
fn token(world: &mut World, req: &Req) -> Resp {
    let form = parse_query(Some(&String::from_utf8_lossy(&req.body)));
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let cfg = &world.facts.config;
    if get("client_id") != cfg.rest_client_id || get("client_secret") != cfg.rest_client_secret {
        // Keycloak's answer to a wrong client or secret.
        return oauth_error(
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials",
        );
    }
    if let Some(audience) = &cfg.rest_audience
        && get("audience") != audience
    {
        return oauth_error(
            400,
            "invalid_request",
            "the requested audience is not allowed",
        );
    }
    let now = world.now_ms();
    let wall = world.epoch(now);
    let token = world.oauth.issue(now, wall);
    Resp::json(
        200,
        &json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S}),
    )
}

/// `None` when `req` carries a valid bearer token; else the REST API's 401 problem detail
/// (RFC 9457, `application/problem+json`; reference 8.9-8.10 §2.5: "401/403/500/503
/// `application/problem+json`").
pub fn unauthenticated(world: &World, req: &Req) -> Option<Resp> {
    let token = req
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "));
    let detail = match token {
        Some(t) if world.oauth.valid(t.trim(), world.now_ms()) => return None,
        Some(_) => "The access token is invalid or has expired.",
        None => "No Authorization header with a bearer token was sent.",
    };
    Some(problem(401, "Unauthorized", detail, &req.path))
}

/// An `application/problem+json` body, as the REST API answers errors.
pub fn problem(status: u16, title: &str, detail: &str, instance: &str) -> Resp {
    let body = json!({"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance});
    Resp {
        status,
        content_type: "application/problem+json",
        body: serde_json::to_vec(&body).unwrap_or_default(),
        drop: false,
    }
}
