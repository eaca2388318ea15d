//! aws_sigv4: AWS Signature Version 4 for requests to Amazon OpenSearch Service (`es`) and
//! OpenSearch Serverless (`aoss`), written from AWS's published algorithm ("Create a signed
//! AWS API request") and checked against its test suite. It signs one request's method, URL,
//! body and the headers it adds; it owns no credentials (`aws_credentials` does) and sends
//! nothing. HMAC-SHA256 is built on `sha2` here (RFC 2104) rather than adding a crate.

use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;

/// Credentials to sign with; the secret never leaves this module except inside a signature.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// The headers to add to a request (`x-amz-date`, `x-amz-content-sha256`,
/// `x-amz-security-token` when there is one, `authorization`).
pub(super) fn sign(
    method: &str,
    url: &Url,
    body: &[u8],
    creds: &Credentials,
    region: &str,
    service: &str,
    since_epoch: Duration,
) -> Vec<(String, String)> {
    let (amz_date, date) = clock_parts(since_epoch);
    let payload_hash = hex(&Sha256::digest(body));
    let mut headers = vec![
        ("host".to_string(), host(url)),
        ("x-amz-content-sha256".to_string(), payload_hash.clone()),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token".to_string(), token.clone()));
    }
    let request = Canonical {
        method,
        uri: &canonical_uri(url.path()),
        query: &canonical_query(url),
        headers: &headers,
        payload_hash: &payload_hash,
    };
    let scope = Scope {
        date: &date,
        region,
        service,
    };
    let (signed, signature) = signature(&request, &scope, &amz_date, &creds.secret_access_key);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id,
        scope.text()
    );
    let mut out: Vec<(String, String)> = headers.into_iter().filter(|(k, _)| k != "host").collect();
    out.push(("authorization".to_string(), authorization));
    out
}

/// `20150830T123600Z` and `20150830` for a time since the Unix epoch.
fn clock_parts(since_epoch: Duration) -> (String, String) {
    // `2015-08-30T12:36:00.000Z`
    let rfc = crate::clock::rfc3339(since_epoch);
    let digits: String = rfc[..19].chars().filter(char::is_ascii_digit).collect();
    (
        format!("{}T{}Z", &digits[..8], &digits[8..]),
        digits[..8].to_string(),
    )
}

/// The parts of the canonical request (AWS: "Create a canonical request").
pub(super) struct Canonical<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub query: &'a str,
    /// Lower-case names; sorted here.
    pub headers: &'a [(String, String)],
    pub payload_hash: &'a str,
}

pub(super) struct Scope<'a> {
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Scope<'_> {
    fn text(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// The signed header list and the signature of `request`.
pub(super) fn signature(
    request: &Canonical<'_>,
    scope: &Scope<'_>,
    amz_date: &str,
    secret: &str,
) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    headers.sort();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        request.method, request.uri, request.query, request.payload_hash
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        scope.text(),
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    for part in [scope.region, scope.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    (signed, hex(&hmac(&key, to_sign.as_bytes())))
}

/// The path as sent, each segment URI-encoded once more (non-S3 services encode twice).
pub(super) fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Query pairs, decoded, then encoded strictly and sorted.
fn canonical_query(url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `host[:port]` as the `Host` header carries it.
fn host(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// RFC 3986 encoding: everything but `A-Z a-z 0-9 - . _ ~` as `%XX` (upper case).
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HMAC-SHA256 (RFC 2104): block size 64.
pub(super) fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "aws_sigv4_tests.rs"]
mod tests;
