//! Property checks over the AWS dialect's request parsing and SigV4, for the `fuzz/`
//! targets `aws_request` and `aws_sigv4` and for the tests that replay their committed
//! corpora on stable Rust.
//!
//! Not part of keygate's API: hidden from the docs and free to change.

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use time::Duration;

use super::error::{AwsError, CONTENT_TYPE};
use super::ops::policy;
use super::sigv4::{self, Presented};
use crate::dialect::fuzzing::{request, request_text};

/// The secret every fuzzed request is checked against.
const SECRET: &[u8] = b"kgs_fuzzing-secret-access-key";

fn assert_client_error(e: &AwsError, codes: &[&str]) {
    assert!(e.status.is_client_error(), "{} for {}", e.status, e.code);
    assert!(codes.contains(&e.code), "unexpected code {}", e.code);
}

/// Operation and body to typed request. The input is the `X-Amz-Target` value, a line
/// feed, the `Content-Type`, a line feed, and the body. A refusal must be a 4xx
/// `UnknownOperationException` or `SerializationException`; a request that parses must
/// parse the same again, and the same from its body re-serialized (member order and
/// whitespace do not matter). The body also goes through the key policy reader.
pub fn aws_request(data: &[u8]) {
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let target = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let content_type = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let body = lines.next().unwrap_or_default();
    let parsed = super::parse_request(&target, &content_type, body);
    match &parsed {
        Err(e) => assert_client_error(e, &["UnknownOperationException", "SerializationException"]),
        Ok(request) => {
            let _ = request.action();
            let again = super::parse_request(&target, &content_type, body)
                .expect("a request that parsed parses again");
            assert_eq!(format!("{request:?}"), format!("{again:?}"));
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
                let reencoded = serde_json::to_vec(&value).expect("a JSON value serializes");
                let same = super::parse_request(&target, &content_type, &reencoded)
                    .expect("the re-serialized body parses");
                assert_eq!(format!("{request:?}"), format!("{same:?}"));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(body)
        && let Err(e) = policy::parse_document(text)
    {
        assert_client_error(
            &e,
            &["MalformedPolicyDocumentException", "ValidationException"],
        );
    }
}

const SIGV4_CODES: &[&str] = &[
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
];

/// SigV4 verification of a request (in the text form of [`request`]). Canonicalization is
/// deterministic; every refusal is a 4xx with one of SigV4's codes; a request re-signed
/// with the signature the gateway computes verifies, and stops verifying when its body
/// changes or its time is more than five minutes off.
pub fn aws_sigv4(data: &[u8]) {
    let Some((parts, body)) = request(data) else {
        return;
    };
    let body_hash = sigv4::hex_sha256(&body);
    for signed in [
        &["host", "x-amz-date"][..],
        &["content-type", "host", "x-amz-target"],
    ] {
        let once = sigv4::canonical_request(&parts, signed, &body_hash);
        let twice = sigv4::canonical_request(&parts, signed, &body_hash);
        assert_eq!(once, twice, "canonicalization is not deterministic");
        if let Err(e) = once {
            assert_client_error(&e, SIGV4_CODES);
        }
    }
    let presented = match sigv4::presented(&parts) {
        Ok(p) => p,
        Err(e) => return assert_client_error(&e, SIGV4_CODES),
    };
    let now = presented.signed_at;
    if let Err(e) = sigv4::check_signature(&presented, &parts, &body, SECRET, now) {
        assert_client_error(&e, SIGV4_CODES);
    }
    let expected = match sigv4::expected_signature(&presented, &parts, &body, SECRET) {
        Ok(sig) => sig,
        Err(e) => return assert_client_error(&e, SIGV4_CODES),
    };
    let resigned = with_signature(&parts, &presented, &expected);
    let again = sigv4::presented(&resigned).expect("a re-signed request presents the same");
    assert_eq!(again.auth.signed_headers, presented.auth.signed_headers);
    sigv4::check_signature(&again, &resigned, &body, SECRET, now)
        .expect("a request with the computed signature verifies");
    let late = now + Duration::minutes(6);
    let e = sigv4::check_signature(&again, &resigned, &body, SECRET, late)
        .expect_err("a stale signature verifies");
    assert_eq!(e.code, "InvalidSignatureException");
    let mut other_body = body.clone();
    other_body.push(b'!');
    let e = sigv4::check_signature(&again, &resigned, &other_body, SECRET, now)
        .expect_err("a changed body verifies");
    assert_eq!(e.code, "InvalidSignatureException");
    let e = sigv4::check_signature(&again, &resigned, &body, b"another secret", now)
        .expect_err("another secret verifies");
    assert_eq!(e.code, "InvalidSignatureException");
}

/// `parts` with its `Authorization` header rewritten to carry `signature`.
fn with_signature(parts: &Parts, presented: &Presented<'_>, signature: &str) -> Parts {
    let auth = &presented.auth;
    let value = format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/{}, SignedHeaders={}, Signature={signature}",
        auth.access_key_id,
        auth.date,
        auth.region,
        auth.service,
        auth.terminal,
        auth.signed_headers.join(";"),
    );
    let mut out = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .body(())
        .expect("the parts of a request build a request")
        .into_parts()
        .0;
    out.headers = parts.headers.clone();
    out.headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&value).expect("the header it came from was valid"),
    );
    out
}

/// Seeds for `aws_request` (the first list) and `aws_sigv4` (the second): every
/// operation with a typical body, and signed requests.
pub fn seeds() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let bodies: &[(&str, &str)] = &[
        (
            "CreateKey",
            r#"{"Description":"d","KeyUsage":"ENCRYPT_DECRYPT","KeySpec":"SYMMETRIC_DEFAULT","Tags":[{"TagKey":"a","TagValue":"b"}]}"#,
        ),
        ("DescribeKey", r#"{"KeyId":"alias/app"}"#),
        ("ListKeys", r#"{"Limit":10,"Marker":"MTA="}"#),
        (
            "ScheduleKeyDeletion",
            r#"{"KeyId":"k","PendingWindowInDays":7}"#,
        ),
        (
            "TagResource",
            r#"{"KeyId":"k","Tags":[{"TagKey":"t","TagValue":"v"}]}"#,
        ),
        ("UntagResource", r#"{"KeyId":"k","TagKeys":["t"]}"#),
        (
            "EnableKeyRotation",
            r#"{"KeyId":"k","RotationPeriodInDays":90}"#,
        ),
        (
            "CreateAlias",
            r#"{"AliasName":"alias/a","TargetKeyId":"k"}"#,
        ),
        (
            "Encrypt",
            r#"{"KeyId":"k","Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"},"EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#,
        ),
        ("Decrypt", r#"{"CiphertextBlob":"AQEBAQ==","KeyId":"k"}"#),
        (
            "ReEncrypt",
            r#"{"CiphertextBlob":"AQ==","DestinationKeyId":"k2"}"#,
        ),
        (
            "GenerateDataKey",
            r#"{"KeyId":"k","KeySpec":"AES_256","NumberOfBytes":32}"#,
        ),
        ("GenerateRandom", r#"{"NumberOfBytes":16}"#),
        (
            "Sign",
            r#"{"KeyId":"k","Message":"bQ==","MessageType":"RAW","SigningAlgorithm":"ECDSA_SHA_256"}"#,
        ),
        (
            "GenerateMac",
            r#"{"KeyId":"k","Message":"bQ==","MacAlgorithm":"HMAC_SHA_256"}"#,
        ),
        (
            "PutKeyPolicy",
            r#"{"KeyId":"k","PolicyName":"default","Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"}"#,
        ),
        ("GetPublicKey", ""),
    ];
    let requests = bodies
        .iter()
        .map(|(op, body)| format!("TrentService.{op}\n{CONTENT_TYPE}\n{body}").into_bytes())
        .collect();
    let body = br#"{"KeyId":"alias/app","Plaintext":"aGVsbG8="}"#;
    let mut signed = Vec::new();
    for (date, extra) in [("20240102T030405Z", false), ("20251231T235959Z", true)] {
        let mut headers = vec![
            ("host", "kms.example.test"),
            ("x-amz-date", date),
            ("x-amz-target", "TrentService.Encrypt"),
            ("content-type", CONTENT_TYPE),
        ];
        if extra {
            headers.push(("x-amz-content-sha256", ""));
        }
        let hash = sigv4::hex_sha256(body);
        let headers: Vec<(&str, &str)> = headers
            .into_iter()
            .map(|(n, v)| {
                if n == "x-amz-content-sha256" {
                    (n, hash.as_str())
                } else {
                    (n, v)
                }
            })
            .collect();
        let names: Vec<&str> = {
            let mut names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
            names.sort_unstable();
            names
        };
        let unsigned = request_text("POST", "/?b=2&a=1", &headers, body);
        let (parts, _) = request(&unsigned).expect("a seed request parses");
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=KGAKFUZZ/{}/eu-west-1/kms/aws4_request, SignedHeaders={}, Signature=0",
            &date[..8],
            names.join(";")
        );
        let mut with_auth = headers.clone();
        with_auth.push(("authorization", &auth));
        let text = request_text("POST", "/?b=2&a=1", &with_auth, body);
        let (parts_auth, _) = request(&text).expect("a seed request parses");
        drop(parts);
        let presented = sigv4::presented(&parts_auth).expect("a seed request presents");
        let sig = sigv4::expected_signature(&presented, &parts_auth, body, SECRET)
            .expect("a seed request signs");
        let auth = auth.replace("Signature=0", &format!("Signature={sig}"));
        let mut final_headers = headers.clone();
        final_headers.push(("authorization", &auth));
        signed.push(request_text("POST", "/?b=2&a=1", &final_headers, body));
    }
    signed.push(request_text("POST", "/", &[("host", "h")], b"{}"));
    (requests, signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_core::fuzzing::{corpus_dir, replay, write_seeds};

    const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn seeds_hold_the_properties() {
        let (requests, signed) = seeds();
        for seed in &requests {
            aws_request(seed);
        }
        for seed in &signed[..2] {
            let (parts, body) = request(seed).unwrap();
            let presented = sigv4::presented(&parts).unwrap();
            sigv4::check_signature(&presented, &parts, &body, SECRET, presented.signed_at).unwrap();
        }
        signed.iter().for_each(|s| aws_sigv4(s));
    }

    #[test]
    fn the_aws_request_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "aws_request"), aws_request);
    }

    #[test]
    fn the_aws_sigv4_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "aws_sigv4"), aws_sigv4);
    }

    #[test]
    #[ignore = "writes the seed corpora; run by hand after a wire change"]
    fn write_fuzz_seeds() {
        let (requests, signed) = seeds();
        write_seeds(&corpus_dir(MANIFEST, "aws_request"), &requests);
        write_seeds(&corpus_dir(MANIFEST, "aws_sigv4"), &signed);
    }
}
