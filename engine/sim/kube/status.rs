//! Errors as the API server reports them: `Status` objects with an HTTP code, a reason and a
//! message in the shape kubectl prints (`Error from server (NotFound): deployments.apps "x"
//! not found`). Owns only the error values and their encoding; it must not decide when a
//! request fails.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::resources::Resource;

/// A failed request.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, resource: &Resource, name: &str) -> Self {
        self.details =
            Some(json!({"name": name, "group": resource.group, "kind": resource.plural}));
        self
    }

    /// `pods "x" not found`.
    pub fn not_found(resource: &Resource, name: &str) -> Self {
        let message = format!("{} \"{name}\" not found", resource.qualified_plural());
        Self::new(404, "NotFound", message).with_details(resource, name)
    }

    /// A path the server does not serve.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// `pods "x" already exists`.
    pub fn already_exists(resource: &Resource, name: &str) -> Self {
        let message = format!("{} \"{name}\" already exists", resource.qualified_plural());
        Self::new(409, "AlreadyExists", message).with_details(resource, name)
    }

    /// A stale `metadata.resourceVersion` in an update.
    pub fn conflict(resource: &Resource, name: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
             please apply your changes to the latest version and try again",
            resource.qualified_plural()
        );
        Self::new(409, "Conflict", message).with_details(resource, name)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// A well-formed request whose object is not acceptable (`422`).
    pub fn invalid(resource: &Resource, name: &str, message: impl Into<String>) -> Self {
        let message = format!(
            "{} \"{name}\" is invalid: {}",
            resource.kind,
            message.into()
        );
        Self::new(422, "Invalid", message).with_details(resource, name)
    }

    /// `NewForbidden` (k8s.io/apimachinery `pkg/api/errors`): 403, reason `Forbidden`,
    /// details naming the group, the resource (as `kind`) and the object (omitted if empty).
    pub fn forbidden(message: String, group: &str, resource: &str, name: &str) -> Self {
        let mut details = serde_json::Map::new();
        for (key, value) in [("name", name), ("group", group), ("kind", resource)] {
            if !value.is_empty() {
                details.insert(key.into(), Value::String(value.into()));
            }
        }
        let mut e = Self::new(403, "Forbidden", message);
        e.details = Some(Value::Object(details));
        e
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// A body in a format the stand-in does not read (`accepted` lists what it does).
    pub fn unsupported_media_type(content_type: &str, accepted: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: {accepted}"
            ),
        )
    }

    /// A watch that asks for history the store no longer has.
    pub fn expired(revision: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {revision}"),
        )
    }

    /// The answer of an injected fault with HTTP `code`, as the API server words it
    /// (k8s.io/apimachinery `pkg/api/errors/errors.go` constructors and k8s.io/apiserver
    /// `endpoints/handlers/responsewriters/status.go` `ErrorToAPIStatus`):
    /// - 500: an etcd error passed through `ErrorToAPIStatus`: reason unknown (`""`), the
    ///   error text as message, so kubectl prints `Error from server: etcdserver: request
    ///   timed out`;
    /// - 409: `NewConflict` on the addressed object (`Operation cannot be fulfilled on
    ///   statefulsets.apps "x": the object has been modified; ...`);
    /// - 429: `NewTooManyRequests` with `details.retryAfterSeconds: 1` (the `Retry-After`
    ///   header is added by [`ApiError::into_response`]; client-go waits and retries such
    ///   answers itself, up to 10 times, as against a real server);
    /// - 503: `NewServiceUnavailable`; 504: `NewTimeoutError`;
    /// - any other code: `NewInternalError`-style `InternalError` with the code kept.
    ///
    /// `message` replaces the default text; `object` (resource, name) is what the path names.
    pub fn injected(code: u16, message: Option<String>, object: Option<(&Resource, &str)>) -> Self {
        let text = |default: &str| message.clone().unwrap_or_else(|| default.to_string());
        match code {
            500 => Self::new(500, "", text("etcdserver: request timed out")),
            409 => match object {
                Some((resource, name)) if !name.is_empty() && message.is_none() => {
                    Self::conflict(resource, name)
                }
                _ => Self::new(
                    409,
                    "Conflict",
                    text(
                        "the object has been modified; please apply your changes to the latest version and try again",
                    ),
                ),
            },
            429 => {
                let mut e = Self::new(
                    429,
                    "TooManyRequests",
                    text("Too many requests, please try again later."),
                );
                e.details = Some(json!({"retryAfterSeconds": 1}));
                e
            }
            503 => Self::new(
                503,
                "ServiceUnavailable",
                text("the server is currently unable to handle the request"),
            ),
            504 => Self::new(
                504,
                "Timeout",
                text(
                    "Timeout: request did not complete within requested timeout - context deadline exceeded",
                ),
            ),
            _ => Self::new(
                code,
                "InternalError",
                format!("Internal error occurred: {}", text("injected fault")),
            ),
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (code, self.to_status().to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self
            .details
            .as_ref()
            .and_then(|d| d.get("retryAfterSeconds"))
            .and_then(Value::as_u64)
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
