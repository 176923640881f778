//! AWS Signature Version 4 verification for the KMS dialect.
//!
//! The gateway recomputes the signature the way the AWS SDKs compute it (the canonical
//! request, the string to sign over the credential scope, the HMAC-SHA256 key chain from the
//! secret access key) and compares it with the presented one in constant time. Failures are
//! refused as AWS refuses them: no `Authorization` header is `MissingAuthenticationToken`, an
//! unknown, revoked or expired access key is `UnrecognizedClient`, and a wrong or stale
//! signature is `InvalidSignature`. Neither the signature nor the secret is ever logged.
//!
//! The region in the credential scope is the client's choice (the scope is signed, so it
//! cannot be altered in transit): the dialect serves it when `[dialects.aws]` does (see
//! [`signed_region`]); the service must be `kms`.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use keygate_core::access::Identity;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::AwsError;
use keygate_server::service::Service;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "kms";
/// How far the request's time may be from the gateway's, as in AWS.
const MAX_SKEW: time::Duration = time::Duration::minutes(5);

/// RFC 3986 unreserved characters stay as they are; everything else is `%XX`.
const URI_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping `/` (path segments).
const PATH_ENCODE: &AsciiSet = &URI_ENCODE.remove(b'/');

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Authorization<'a> {
    pub(super) access_key_id: &'a str,
    pub(super) date: &'a str,
    pub(super) region: &'a str,
    pub(super) service: &'a str,
    pub(super) terminal: &'a str,
    pub(super) signed_headers: Vec<&'a str>,
    pub(super) signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> AwsError {
    AwsError::bad("IncompleteSignatureException", message)
}

fn invalid_signature(message: impl Into<String>) -> AwsError {
    AwsError::bad("InvalidSignatureException", message)
}

fn unrecognized() -> AwsError {
    AwsError::bad(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
}

pub(super) fn parse_authorization(value: &str) -> Result<Authorization<'_>, AwsError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| incomplete(format!("Authorization header must use {ALGORITHM}")))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| incomplete("Authorization header is malformed"))?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return Err(incomplete("Authorization header is malformed")),
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminal] = scope[..] else {
        return Err(incomplete(
            "Credential must be <access key id>/<date>/<region>/<service>/aws4_request",
        ));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        terminal,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

pub(super) fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// A header's canonical value: every value of the header, trimmed, inner runs of spaces
/// collapsed, joined with `,`.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (
                utf8_percent_encode(&decode(k), URI_ENCODE).to_string(),
                utf8_percent_encode(&decode(v), URI_ENCODE).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request of the spec (non-S3 services: the path as sent, encoded once more).
pub(super) fn canonical_request(
    parts: &Parts,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<String, AwsError> {
    let path = parts.uri.path();
    let path = if path.is_empty() { "/" } else { path };
    let mut out = String::new();
    out.push_str(parts.method.as_str());
    out.push('\n');
    out.push_str(&utf8_percent_encode(path, PATH_ENCODE).to_string());
    out.push('\n');
    out.push_str(&canonical_query(parts.uri.query()));
    out.push('\n');
    for name in signed_headers {
        let value = match canonical_header_value(&parts.headers, name) {
            Some(v) => v,
            // HTTP/2 carries the host in the URI authority, not in a header.
            None if *name == "host" => parts
                .uri
                .authority()
                .map(|a| a.as_str().to_owned())
                .ok_or_else(|| incomplete("the signed header 'host' is missing"))?,
            None => return Err(incomplete(format!("the signed header '{name}' is missing"))),
        };
        out.push_str(name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// The signature of `string_to_sign` with `secret` for `date`/`region`/`service`.
fn signature(
    secret: &[u8],
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let mut key = b"AWS4".to_vec();
    key.extend_from_slice(secret);
    let k_date = hmac_sha256(&key, date.as_bytes());
    let k_region = hmac_sha256(k_date.as_ref(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), b"aws4_request");
    zeroize::Zeroize::zeroize(&mut key);
    hex::encode(hmac_sha256(k_signing.as_ref(), string_to_sign.as_bytes()))
}

fn parse_amz_date(text: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(text, format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// Verifies the request's SigV4 signature and returns who signed it.
///
/// # Errors
/// The AWS error for the failure (see the module docs); `DependencyTimeoutException` when
/// the token store cannot be read.
pub async fn verify(
    service: &Service,
    parts: &Parts,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Identity, AwsError> {
    let presented = presented(parts)?;
    let (identity, secret) = match service.authenticate_aws(presented.auth.access_key_id).await {
        Ok(found) => found,
        Err(keygate_core::Error::Unauthenticated(_)) => return Err(unrecognized()),
        Err(e) => return Err(AwsError::from(e)),
    };
    check_signature(&presented, parts, body, &secret, now)?;
    Ok(identity)
}

/// The region a request's credential scope names, when `config` serves it: any region
/// without a `regions` table, the table's regions with one. Call after [`verify`].
///
/// # Errors
/// `InvalidSignatureException` for a region keygate does not serve (AWS's answer to a
/// request signed for another region than the endpoint's), or the errors of a malformed
/// `Authorization` header.
pub(super) fn signed_region(
    parts: &Parts,
    config: &keygate_server::config::AwsDialectConfig,
) -> Result<String, AwsError> {
    let region = presented(parts)?.auth.region;
    if !config.serves(region) {
        return Err(invalid_signature(format!(
            "Credential should be scoped to a valid region. keygate serves no region '{region}'."
        )));
    }
    Ok(region.to_owned())
}

/// What a request presents for its signature, checked as far as it can be before the
/// access key is looked up.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Presented<'a> {
    pub(super) auth: Authorization<'a>,
    amz_date: &'a str,
    pub(super) signed_at: OffsetDateTime,
}

/// The checks of [`verify`] that need no secret: the `Authorization` header's form, the
/// signed headers, the scope's service and date, and no session token.
pub(super) fn presented(parts: &Parts) -> Result<Presented<'_>, AwsError> {
    let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(AwsError::bad(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| incomplete("Authorization header is malformed"))?;
    let auth = parse_authorization(header)?;
    if auth.terminal != "aws4_request" {
        return Err(incomplete(
            "Credential should be scoped with a valid terminator: 'aws4_request'",
        ));
    }
    let lowercase_sorted = auth
        .signed_headers
        .iter()
        .all(|h| !h.is_empty() && *h == h.to_ascii_lowercase())
        && auth.signed_headers.is_sorted();
    if !lowercase_sorted {
        return Err(incomplete("SignedHeaders must be lower-case and sorted"));
    }
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.contains(&required) {
            return Err(invalid_signature(format!(
                "'{required}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }
    // The operation must be covered by the signature, or a captured request could be
    // replayed as another operation on the same body.
    if parts.headers.contains_key("x-amz-target") && !auth.signed_headers.contains(&"x-amz-target")
    {
        return Err(invalid_signature(
            "'x-amz-target' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if auth.service != SERVICE {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    let amz_date = parts
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
        })?;
    let signed_at =
        parse_amz_date(amz_date).ok_or_else(|| incomplete("X-Amz-Date is not a valid date"))?;
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(invalid_signature(
            "Credential should be scoped to a valid date: the X-Amz-Date day.",
        ));
    }
    // Session tokens are an AWS STS feature; keygate issues none, so any is unknown.
    if parts.headers.contains_key("x-amz-security-token") {
        return Err(unrecognized());
    }
    Ok(Presented {
        auth,
        amz_date,
        signed_at,
    })
}

/// The signature the request should carry under `secret` (the declared body hash checked
/// on the way).
pub(super) fn expected_signature(
    presented: &Presented<'_>,
    parts: &Parts,
    body: &[u8],
    secret: &[u8],
) -> Result<String, AwsError> {
    let body_hash = hex_sha256(body);
    if let Some(declared) = parts.headers.get("x-amz-content-sha256")
        && declared.as_bytes() != body_hash.as_bytes()
    {
        return Err(invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match the request body.",
        ));
    }
    let auth = &presented.auth;
    let canonical = canonical_request(parts, &auth.signed_headers, &body_hash)?;
    let scope = format!("{}/{}/{SERVICE}/aws4_request", auth.date, auth.region);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        presented.amz_date,
        hex_sha256(canonical.as_bytes())
    );
    Ok(signature(
        secret,
        auth.date,
        auth.region,
        SERVICE,
        &string_to_sign,
    ))
}

/// The checks of [`verify`] that need the access key's secret: the request's time against
/// `now`, the body hash, and the signature itself (compared in constant time).
pub(super) fn check_signature(
    presented: &Presented<'_>,
    parts: &Parts,
    body: &[u8],
    secret: &[u8],
    now: OffsetDateTime,
) -> Result<(), AwsError> {
    if (now - presented.signed_at).abs() > MAX_SKEW {
        return Err(invalid_signature(format!(
            "Signature expired: {} is now earlier or later than 5 minutes from the server time.",
            presented.amz_date
        )));
    }
    let expected = expected_signature(presented, parts, body, secret)?;
    let matches = aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        presented.auth.signature.as_bytes(),
    )
    .is_ok();
    if !matches {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::Request;

    /// Case `get-vanilla-query-order-key-case` of the AWS SigV4 test suite, end to end.
    #[test]
    fn matches_the_aws_documentation_example() {
        let request = Request::builder()
            .method("GET")
            .uri("https://example.amazonaws.com/?Param2=value2&Param1=value1")
            .header("host", "example.amazonaws.com")
            .header("x-amz-date", "20150830T123600Z")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let canonical =
            canonical_request(&parts, &["host", "x-amz-date"], &hex_sha256(b"")).unwrap();
        assert_eq!(
            canonical,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n{}",
            hex_sha256(canonical.as_bytes())
        );
        // The suite signs for service `service`.
        let secret = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            signature(secret, "20150830", "us-east-1", "service", &string_to_sign),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn authorization_headers_parse_or_are_refused() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=KGAKABC/20240101/eu-west-1/kms/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abcd",
        )
        .unwrap();
        assert_eq!(
            (a.access_key_id, a.date, a.region, a.service, a.signature),
            ("KGAKABC", "20240101", "eu-west-1", "kms", "abcd")
        );
        assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
        for bad in [
            "Bearer x",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=a/b/c/kms/aws4_request, Signature=x",
            "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=x",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=x, Extra=y",
        ] {
            let e = parse_authorization(bad).unwrap_err();
            assert_eq!(e.code, "IncompleteSignatureException", "{bad}");
        }
    }

    #[test]
    fn header_values_are_trimmed_and_queries_sorted() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", "  one   two ".parse().unwrap());
        headers.append("x-a", "three".parse().unwrap());
        assert_eq!(
            canonical_header_value(&headers, "x-a").unwrap(),
            "one two,three"
        );
        assert_eq!(canonical_query(Some("b=2&a=%7E x&a=1")), "a=1&a=~%20x&b=2");
        assert_eq!(canonical_query(None), "");
        assert!(parse_amz_date("20240102T030405Z").is_some());
        assert!(parse_amz_date("2024-01-02").is_none());
    }
}
