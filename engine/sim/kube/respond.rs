//! Response encoding: JSON objects, Tables and plain text with the `Content-Type` kubectl
//! expects. Owns no decisions about what to answer.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::handlers::Request;
use super::resources::Resource;
use super::store::KubeObjects;
use super::table;

/// An object as JSON, or as a one-row Table when the client asked for one.
pub(crate) fn object_response(
    code: StatusCode,
    r: &Resource,
    object: &Value,
    store: &KubeObjects,
    req: &Request,
) -> Response {
    if table::wanted(&req.accept) {
        let doc = table::table(r, &[object], store.revision());
        return typed_response(code, &doc, table::CONTENT_TYPE);
    }
    json_response(code, object)
}

pub(crate) fn json_response(code: StatusCode, value: &Value) -> Response {
    typed_response(code, value, "application/json")
}

pub(crate) fn typed_response(
    code: StatusCode,
    value: &Value,
    content_type: &'static str,
) -> Response {
    typed_response_text(code, value.to_string(), content_type)
}

pub(crate) fn typed_response_text(
    code: StatusCode,
    text: String,
    content_type: &'static str,
) -> Response {
    let mut response = (code, text).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A response whose body fails before its first byte: hyper then closes the connection
/// without writing the head, so the client sees the connection end with no answer (as when
/// an API server or a load balancer in front of it goes away mid-request).
pub(crate) fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped by an injected fault",
        ))
    });
    Response::new(Body::from_stream(failing))
}
