//! aws_credentials: the AWS credentials a SigV4-signed request uses, found as the AWS SDKs
//! find them: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) first,
//! else a web identity (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`, what EKS IRSA and Pod
//! Identity webhooks mount) exchanged with STS `AssumeRoleWithWebIdentity` and kept in memory
//! until shortly before it expires. Nothing here is logged, journaled or shown.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::aws_sigv4::Credentials;
use super::{StepError, TransportKind};

/// How long assumed-role credentials are reused (STS gives one hour by default).
const ASSUMED_FOR: Duration = Duration::from_secs(50 * 60);

/// Environment lookups, so tests need not touch the process environment.
pub(super) type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// Assumed-role credentials of this process.
#[derive(Default)]
pub(super) struct CredentialCache {
    assumed: Mutex<Option<(Credentials, Instant)>>,
}

impl CredentialCache {
    /// Static credentials from the environment, or (cached) web-identity ones.
    pub(super) async fn credentials(
        &self,
        client: &reqwest::Client,
        region: &str,
        env: Env<'_>,
    ) -> Result<Credentials, StepError> {
        let non_empty = |k: &str| env(k).filter(|v| !v.is_empty());
        if let (Some(id), Some(secret)) = (
            non_empty("AWS_ACCESS_KEY_ID"),
            non_empty("AWS_SECRET_ACCESS_KEY"),
        ) {
            return Ok(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: non_empty("AWS_SESSION_TOKEN"),
            });
        }
        let (Some(role), Some(token_file)) = (
            non_empty("AWS_ROLE_ARN"),
            non_empty("AWS_WEB_IDENTITY_TOKEN_FILE"),
        ) else {
            return Err(StepError::Auth {
                message: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (EKS IRSA sets both)".into(),
            });
        };
        if let Some((creds, until)) = self.lock().as_ref()
            && Instant::now() < *until
        {
            return Ok(creds.clone());
        }
        let endpoint = non_empty("AWS_ENDPOINT_URL_STS")
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
        let session = non_empty("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "runbook".into());
        let token = std::fs::read_to_string(&token_file).map_err(|e| StepError::Auth {
            message: format!("cannot read the web identity token file {token_file}: {e}"),
        })?;
        let creds = assume_role(client, &endpoint, &role, &session, token.trim()).await?;
        *self.lock() = Some((creds.clone(), Instant::now() + ASSUMED_FOR));
        Ok(creds)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Credentials, Instant)>> {
        self.assumed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// STS `AssumeRoleWithWebIdentity` (an unsigned call: the web identity token is the proof).
async fn assume_role(
    client: &reqwest::Client,
    endpoint: &str,
    role: &str,
    session: &str,
    token: &str,
) -> Result<Credentials, StepError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role),
            ("RoleSessionName", session),
            ("WebIdentityToken", token),
        ])
        .finish();
    let shown = super::http::redact_url(endpoint);
    let response = client
        .post(endpoint)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| StepError::Transport {
            kind: TransportKind::Connect,
            message: format!(
                "STS {shown}: {}",
                super::http::error_chain(&e.without_url())
            ),
        })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if !(200..=299).contains(&status) {
        let reason = [tag(&text, "Code"), tag(&text, "Message")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let message =
            format!("STS AssumeRoleWithWebIdentity for {role} returned status {status}: {reason}");
        return Err(if status >= 500 || status == 429 {
            StepError::Transport {
                kind: TransportKind::Connect,
                message,
            }
        } else {
            StepError::Auth { message }
        });
    }
    match (tag(&text, "AccessKeyId"), tag(&text, "SecretAccessKey")) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: tag(&text, "SessionToken"),
        }),
        _ => Err(StepError::Protocol {
            message: format!("STS {shown} answered without credentials"),
        }),
    }
}

/// The text of the first `<name>...</name>` of an STS XML answer.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + end].trim().to_string())
}

#[cfg(test)]
#[path = "aws_request_tests.rs"]
mod tests;
