//! sim/datastore_tls: the datastore served over TLS with a private CA, as ECK and the Bitnami
//! chart with security on do (issue 15). It makes a CA and a server certificate for
//! `127.0.0.1`, `localhost` and the chart's service name in-process (rcgen), writes the CA
//! where a plan's `datastore_ca_file` can read it, and gives the listener its acceptor. It
//! owns only certificates; what the datastore answers is `es_api`'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The acceptor and where its CA was written.
pub struct DatastoreTls {
    pub acceptor: TlsAcceptor,
    pub ca_file: PathBuf,
}

/// Makes the PKI and writes `datastore-ca.pem` under `state_dir`.
pub fn make(state_dir: &Path, service_name: &str) -> Result<DatastoreTls, String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let err = |e: &dyn std::fmt::Display| format!("datastore TLS: {e}");
    let ca_key = KeyPair::generate().map_err(|e| err(&e))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| err(&e))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "runbook simulator datastore CA");
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| err(&e))?;
    let leaf_key = KeyPair::generate().map_err(|e| err(&e))?;
    let names = vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        service_name.to_string(),
    ];
    let leaf = CertificateParams::new(names)
        .map_err(|e| err(&e))?
        .signed_by(&leaf_key, &Issuer::from_params(&ca, &ca_key))
        .map_err(|e| err(&e))?;
    let ca_file = state_dir.join("datastore-ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).map_err(|e| err(&e))?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&e))?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .map_err(|e| err(&e))?;
    Ok(DatastoreTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_file,
    })
}
