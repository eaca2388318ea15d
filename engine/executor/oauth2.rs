//! oauth2: bearer tokens from an OAuth2 client-credentials grant (RFC 6749 §4.4), as
//! Camunda's identity providers (Keycloak, Entra ID, Okta) issue them. It fetches a token on
//! first use, keeps it in memory for the run and fetches a new one shortly before it expires or
//! after the API refused it (401). Tokens are never logged, journaled or returned; the token
//! response is not logged. Retrying a failed token request is the scheduler's business.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{OAuth2Grant, StepError, TransportKind};

/// A token is renewed this long before its `expires_in` runs out.
const RENEW_BEFORE: Duration = Duration::from_secs(30);
/// Lifetime assumed when the provider gives no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// What identifies one token: the grant without its secret.
type Key = (String, String, Option<String>, Option<String>);

/// Tokens of this process, by grant.
#[derive(Default)]
pub(super) struct TokenCache {
    tokens: Mutex<HashMap<Key, (String, Instant)>>,
}

impl TokenCache {
    /// A valid token for `grant`: the cached one, or a fresh one from its token URL.
    pub(super) async fn token(
        &self,
        client: &reqwest::Client,
        grant: &OAuth2Grant,
    ) -> Result<String, StepError> {
        let key = key(grant);
        if let Some((token, until)) = self.lock().get(&key)
            && Instant::now() + RENEW_BEFORE < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = fetch(client, grant).await?;
        self.lock()
            .insert(key, (token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Drops the token of `grant` (the API answered 401: it was revoked or rotated).
    pub(super) fn forget(&self, grant: &OAuth2Grant) {
        self.lock().remove(&key(grant));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (String, Instant)>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(g: &OAuth2Grant) -> Key {
    (
        g.token_url.clone(),
        g.client_id.clone(),
        g.scope.clone(),
        g.audience.clone(),
    )
}

/// `POST token_url` with the client credentials in the form body (`client_secret_post`).
async fn fetch(client: &reqwest::Client, g: &OAuth2Grant) -> Result<(String, Duration), StepError> {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "client_credentials"),
        ("client_id", &g.client_id),
        ("client_secret", &g.client_secret),
    ];
    if let Some(scope) = &g.scope {
        form.push(("scope", scope));
    }
    if let Some(audience) = &g.audience {
        form.push(("audience", audience));
    }
    let shown = super::http::redact_url(&g.token_url);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let response = client
        .post(&g.token_url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| StepError::Transport {
            kind: TransportKind::Connect,
            message: format!(
                "OAuth2 token request to {shown}: {}",
                super::http::error_chain(&e.without_url())
            ),
        })?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !(200..=299).contains(&status) {
        return Err(refused(&shown, status, &body));
    }
    let Some(token) = body["access_token"].as_str().filter(|t| !t.is_empty()) else {
        return Err(StepError::Protocol {
            message: format!("OAuth2 token response of {shown} has no `access_token`"),
        });
    };
    let lifetime = body["expires_in"]
        .as_u64()
        .map_or(DEFAULT_LIFETIME, Duration::from_secs);
    Ok((token.to_string(), lifetime))
}

/// A refused token request: the provider's `error` and `error_description` (RFC 6749 §5.2),
/// never the request's secret. 5xx and 429 may pass (retryable); a refused client will not.
fn refused(url: &str, status: u16, body: &Value) -> StepError {
    let reason = [body["error"].as_str(), body["error_description"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let message = format!("OAuth2 token request to {url} returned status {status}: {reason}");
    if status == 429 || status >= 500 {
        // `Connect`: the API itself was not reached.
        StepError::Transport {
            kind: TransportKind::Connect,
            message,
        }
    } else {
        StepError::Auth { message }
    }
}

#[cfg(test)]
#[path = "oauth2_tests.rs"]
mod tests;
