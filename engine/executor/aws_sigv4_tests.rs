//! AWS SigV4 against AWS's published test suite (credentials `AKIDEXAMPLE`, 2015-08-30
//! 12:36:00 UTC, us-east-1, service `service`) and HMAC-SHA256 against RFC 4231.

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn vector(method: &str, uri: &str, query: &str) -> (String, String) {
    let headers = vec![
        ("Host".to_string(), "example.amazonaws.com".to_string()),
        ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
    ];
    signature(
        &Canonical {
            method,
            uri,
            query,
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        },
        &Scope {
            date: "20150830",
            region: "us-east-1",
            service: "service",
        },
        "20150830T123600Z",
        SECRET,
    )
}

#[test]
fn hmac_sha256_matches_rfc_4231() {
    // Test case 2.
    assert_eq!(
        hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // Test case 6: a key longer than the block.
    assert_eq!(
        hex(&hmac(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn signatures_match_the_aws_test_suite() {
    // get-vanilla
    assert_eq!(
        vector("GET", "/", ""),
        (
            "host;x-amz-date".to_string(),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".to_string()
        )
    );
    // get-vanilla-query-order-key-case (the query is canonical: sorted)
    assert_eq!(
        vector("GET", "/", "Param1=value1&Param2=value2").1,
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
    // get-utf8: the path `/ሴ`, encoded once
    assert_eq!(
        vector("GET", &canonical_uri("/ሴ"), "").1,
        "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
    );
}

#[test]
fn a_signed_request_carries_scope_date_payload_hash_and_token() {
    let url = Url::parse("https://search-x.eu-west-1.es.amazonaws.com/_snapshot/camunda/a_*?wait_for_completion=true").unwrap();
    let creds = Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: SECRET.into(),
        session_token: Some("session-token-1".into()),
    };
    let headers = sign(
        "PUT",
        &url,
        b"{}",
        &creds,
        "eu-west-1",
        "es",
        Duration::from_secs(1_440_938_160),
    );
    let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("x-amz-date").as_deref(), Some("20150830T123600Z"));
    assert_eq!(
        get("x-amz-security-token").as_deref(),
        Some("session-token-1")
    );
    assert_eq!(
        get("x-amz-content-sha256").as_deref(),
        Some("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    );
    let auth = get("authorization").unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/es/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="), "{auth}");
    assert!(!auth.contains(SECRET));
    // A wildcard in the path is encoded as the server will encode what it receives.
    assert_eq!(canonical_uri(url.path()), "/_snapshot/camunda/a_%2A");
}
