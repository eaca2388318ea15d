//! http_tls: the TLS side of an HTTP client: extra trusted CAs (a PEM file or PEM text), a
//! client certificate and key (mutual TLS), and the explicit `insecure` opt-out. It reads the
//! files it is named; errors name the file and never print key material. Routing (which name
//! a certificate is checked against) is `http_route`'s.

use std::path::Path;

use super::http::error_chain;
use super::{StepError, TlsOptions};

/// `builder` with `tls` applied.
pub(super) fn configure(
    mut builder: reqwest::ClientBuilder,
    tls: &TlsOptions,
) -> Result<reqwest::ClientBuilder, StepError> {
    builder = builder.tls_danger_accept_invalid_certs(tls.insecure);
    if let Some(path) = &tls.ca_file {
        builder = builder.tls_certs_merge(ca_bundle(
            &read(path, "CA file")?,
            &path.display().to_string(),
        )?);
    }
    if let Some(pem) = &tls.ca_pem {
        builder = builder.tls_certs_merge(ca_bundle(pem.as_bytes(), "tls.ca_pem")?);
    }
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => builder = builder.identity(identity(cert, key)?),
        (None, None) => {}
        _ => {
            return Err(tls_error(
                "a client certificate needs both `client_cert_file` and `client_key_file`".into(),
            ));
        }
    }
    Ok(builder)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, StepError> {
    std::fs::read(path)
        .map_err(|err| tls_error(format!("cannot read {what} {}: {err}", path.display())))
}

fn ca_bundle(pem: &[u8], source: &str) -> Result<Vec<reqwest::Certificate>, StepError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|err| tls_error(format!("invalid CA {source}: {}", error_chain(&err))))?;
    if certs.is_empty() {
        return Err(tls_error(format!("CA {source} holds no PEM certificate")));
    }
    Ok(certs)
}

/// The client certificate chain and its private key, both PEM.
fn identity(cert: &Path, key: &Path) -> Result<reqwest::Identity, StepError> {
    let mut pem = read(cert, "client certificate")?;
    pem.push(b'\n');
    pem.extend(read(key, "client key")?);
    // reqwest's message may quote the input; only the file names are shown.
    reqwest::Identity::from_pem(&pem).map_err(|_| {
        tls_error(format!(
            "client certificate {} and key {} are not a PEM certificate chain and its private key",
            cert.display(),
            key.display()
        ))
    })
}

fn tls_error(message: String) -> StepError {
    StepError::Tls { message }
}
