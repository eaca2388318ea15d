//! sim/aws_sigv4_check: the datastore as Amazon OpenSearch Service guards it with IAM: every
//! request must carry an AWS Signature V4 made with the configured key, for its region and
//! service, over exactly what arrived (method, path, query, signed headers, body). It is
//! written here from AWS's published algorithm ("Create a signed AWS API request"), apart
//! from the engine's signer, so that the two can disagree (the simulator imports nothing from
//! the engine). Refusals use the service's 403 texts.

use sha2::{Digest, Sha256};

use super::cluster_config::AwsIam;
use super::http::Req;

/// `Err(message)` for a request the service would refuse.
pub fn verify(iam: &AwsIam, req: &Req) -> Result<(), String> {
    let Some(auth) = req.authorization.as_deref() else {
        return Err("Missing Authentication Token".into());
    };
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    let credential = field("Credential");
    let parts: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = parts[..] else {
        return Err("Authorization header requires 'Credential' parameter.".into());
    };
    if key_id != iam.access_key_id {
        return Err("The security token included in the request is invalid.".into());
    }
    if region != iam.region || service != iam.service {
        return Err(format!(
            "Credential should be scoped to a valid region and service ({}/{}).",
            iam.region, iam.service
        ));
    }
    let header = |n: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    let payload = hex(&Sha256::digest(&req.body));
    if header("x-amz-content-sha256") != payload {
        return Err(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
        );
    }
    let signed = field("SignedHeaders");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{signed}\n{payload}",
        req.method,
        encode_path(&req.raw_path),
        canonical_query(&req.raw_query),
        signed
            .split(';')
            .map(|n| format!("{n}:{}\n", header(n)))
            .collect::<String>(),
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{date}/{region}/{service}/aws4_request\n{}",
        header("x-amz-date"),
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", iam.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    if hex(&hmac(&key, to_sign.as_bytes())) == field("Signature") && signed.contains("host") {
        Ok(())
    } else {
        Err("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into())
    }
}

/// Each segment of the path as received, URI-encoded (the service encodes what it got).
fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (encode(&k), encode(&v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let xored = |pad: u8| block.iter().map(|k| k ^ pad).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(xored(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(xored(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
