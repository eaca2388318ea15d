//! form_post: one `application/x-www-form-urlencoded` POST whose answer the executor reads
//! itself (an OAuth2 token, STS credentials), never a plan's request: no retries, no logging
//! of the body either way (both directions carry credentials).

use super::{StepError, TransportKind};

/// POSTs `pairs` to `url`; the status and body text. `what` names the call in errors.
pub(super) async fn post_form(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(&str, &str)],
    what: &str,
) -> Result<(u16, String), StepError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| StepError::Transport {
            // The API itself was not reached.
            kind: TransportKind::Connect,
            message: format!(
                "{what} {}: {}",
                super::http::redact_url(url),
                super::http::error_chain(&e.without_url())
            ),
        })?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}
