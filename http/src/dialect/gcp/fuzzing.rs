//! Property checks over the GCP dialect's request parsing, for the `fuzz/` target
//! `gcp_request` and for the test that replays its committed corpus on stable Rust.
//!
//! Not part of keygate's API: hidden from the docs and free to change.

use super::error::GcpError;
use super::model::{ALGORITHMS, Algorithm, PROTECTION_LEVELS, PURPOSES, VERSION_STATES};
use super::path::{self, Resource};
use super::wire::{self, Body};
use crate::dialect::fuzzing::{request, request_text};

/// Every field a Cloud KMS method body takes, in any of them.
const FIELDS: &[&str] = &[
    "name",
    "plaintext",
    "additionalAuthenticatedData",
    "plaintextCrc32c",
    "additionalAuthenticatedDataCrc32c",
    "ciphertext",
    "ciphertextCrc32c",
    "data",
    "dataCrc32c",
    "digest",
    "digestCrc32c",
    "mac",
    "macCrc32c",
    "location",
    "lengthBytes",
    "protectionLevel",
    "createTime",
    "resource",
    "options",
    "policy",
    "updateMask",
    "permissions",
    "purpose",
    "labels",
    "versionTemplate",
    "rotationPeriod",
    "nextRotationTime",
    "destroyScheduledDuration",
    "importOnly",
    "cryptoKeyVersionId",
    "state",
    "algorithm",
];

fn assert_client_error(e: &GcpError) {
    assert!(e.http.is_client_error(), "{} {}", e.http, e.status);
    assert!(
        matches!(
            e.status,
            "INVALID_ARGUMENT" | "NOT_FOUND" | "FAILED_PRECONDITION"
        ),
        "unexpected status {}",
        e.status
    );
}

fn client<T>(result: Result<T, GcpError>) -> Option<T> {
    result.map_err(|e| assert_client_error(&e)).ok()
}

/// Method, path and body to the typed request (the request in the text form of
/// [`request`]). A refusal is a 4xx in Google's statuses; a path that names a resource
/// prints back as itself; a body's fields read as the methods read them, or are refused
/// with a 4xx.
pub fn gcp_request(data: &[u8]) {
    let Some((parts, body)) = request(data) else {
        return;
    };
    if let Some((op, query, resource)) = client(super::parse_request(&parts.method, &parts.uri)) {
        assert!(resource.starts_with("projects/") && !resource.contains(':'));
        let _ = op.action();
        let again = super::parse_request(&parts.method, &parts.uri).expect("parses again");
        assert_eq!(again.0, op);
        let _ = client(query.int("pageSize"));
        let _ = query.get("pageToken");
        let _ = query.without("updateMask");
    }
    if let Some(raw) = parts.uri.path().strip_prefix("/v1/projects/")
        && let Ok(rest) = percent_encoding::percent_decode_str(raw).decode_utf8()
    {
        path_round_trip(&rest);
    }
    read_body(&body);
}

fn path_round_trip(rest: &str) {
    let Some(target) = client(path::parse(rest)) else {
        return;
    };
    let name = match &target.resource {
        Resource::Location(l) => l.to_string(),
        Resource::KeyRings(l) => format!("{l}/keyRings"),
        Resource::KeyRing(r) => r.to_string(),
        Resource::CryptoKeys(r) => format!("{r}/cryptoKeys"),
        Resource::CryptoKey(k) => k.to_string(),
        Resource::Versions(k) => format!("{k}/cryptoKeyVersions"),
        Resource::Version(v) => v.to_string(),
        Resource::PublicKey(v) => format!("{v}/publicKey"),
        Resource::Project(_) | Resource::Locations(_) | Resource::ImportJobs(_) => return,
    };
    let name = name.strip_prefix("projects/").unwrap_or(&name);
    let printed = match &target.verb {
        Some(verb) => format!("{name}:{verb}"),
        None => name.to_owned(),
    };
    assert_eq!(printed, rest, "a parsed path does not print back as itself");
}

fn read_body(bytes: &[u8]) {
    let Some(body) = client(Body::parse(bytes, FIELDS)) else {
        return;
    };
    for field in FIELDS {
        let _ = body.has(field);
    }
    let _ = client(body.string("name"));
    let _ = client(body.boolean("importOnly"));
    let _ = client(body.string_map("labels"));
    let _ = client(body.strings("permissions"));
    let _ = client(body.enumeration("protectionLevel", PROTECTION_LEVELS));
    let _ = client(body.enumeration("state", VERSION_STATES));
    let algorithm = client(body.enumeration("algorithm", ALGORITHMS)).flatten();
    if let Some(Some(purpose)) = client(body.enumeration("purpose", PURPOSES)) {
        let _ = client(Algorithm::for_create(purpose, algorithm));
    }
    if let Some(Some(template)) =
        client(body.message("versionTemplate", &["protectionLevel", "algorithm"]))
    {
        let _ = client(template.enumeration("algorithm", ALGORITHMS));
    }
    if let Some(Some(digest)) = client(body.message("digest", &["sha256", "sha384", "sha512"])) {
        for field in ["sha256", "sha384", "sha512"] {
            let _ = client(digest.bytes(field));
        }
    }
    for (data, crc) in [
        ("plaintext", "plaintextCrc32c"),
        (
            "additionalAuthenticatedData",
            "additionalAuthenticatedDataCrc32c",
        ),
        ("ciphertext", "ciphertextCrc32c"),
        ("data", "dataCrc32c"),
        ("mac", "macCrc32c"),
    ] {
        let bytes = client(body.bytes(data)).flatten();
        let given = client(body.int64(crc)).flatten();
        if let Some(bytes) = bytes {
            let _ = client(wire::check_crc(crc, given, &bytes));
            assert!(wire::check_crc(crc, Some(wire::crc(&bytes)), &bytes).is_ok());
        }
    }
    let _ = client(body.int64("lengthBytes"));
    for field in ["rotationPeriod", "destroyScheduledDuration"] {
        if let Some(Some(text)) = client(body.string(field))
            && let Some(secs) = client(wire::parse_duration(field, text))
        {
            let printed = wire::duration(secs);
            assert_eq!(wire::parse_duration(field, &printed).ok(), Some(secs));
        }
    }
    for field in ["nextRotationTime", "createTime"] {
        if let Some(Some(text)) = client(body.string(field)) {
            let _ = client(wire::parse_timestamp(field, text));
        }
    }
    if let Some(Some(policy)) =
        client(body.message("policy", &["version", "etag", "bindings", "auditConfigs"]))
    {
        let _ = client(policy.string("etag"));
        let _ = client(policy.list("auditConfigs"));
        for binding in client(policy.list("bindings")).unwrap_or_default() {
            if let Some(b) = client(Body::element(
                binding,
                "policy.bindings",
                &["role", "members", "condition"],
            )) {
                let _ = client(b.string("role"));
                let _ = client(b.strings("members"));
            }
        }
    }
}

/// Seeds: requests of every kind of method, with typical bodies.
pub fn seeds() -> Vec<Vec<u8>> {
    let ring = "/v1/projects/p/locations/global/keyRings/r";
    let key = format!("{ring}/cryptoKeys/k");
    let version = format!("{key}/cryptoKeyVersions/1");
    let json = [("content-type", "application/json")];
    let cases: Vec<(&str, String, &str)> = vec![
        ("GET", "/v1/projects/p/locations".into(), ""),
        (
            "POST",
            "/v1/projects/p/locations/global:generateRandomBytes".into(),
            r#"{"lengthBytes":32,"protectionLevel":"SOFTWARE"}"#,
        ),
        (
            "POST",
            "/v1/projects/p/locations/global/keyRings?keyRingId=r".into(),
            "{}",
        ),
        (
            "GET",
            format!("{ring}/cryptoKeys?pageSize=10&pageToken=abc"),
            "",
        ),
        (
            "POST",
            format!("{ring}/cryptoKeys?cryptoKeyId=k"),
            r#"{"purpose":"ENCRYPT_DECRYPT","labels":{"team":"a"},"versionTemplate":{"algorithm":"GOOGLE_SYMMETRIC_ENCRYPTION","protectionLevel":"SOFTWARE"},"rotationPeriod":"7776000s","nextRotationTime":"2030-01-01T00:00:00Z","destroyScheduledDuration":"86400.000s"}"#,
        ),
        (
            "PATCH",
            format!("{key}?updateMask=labels,rotationPeriod"),
            r#"{"labels":{"x":"y"},"rotation_period":"100s"}"#,
        ),
        (
            "POST",
            format!("{key}:encrypt"),
            r#"{"plaintext":"aGVsbG8=","additionalAuthenticatedData":"YWFk","plaintextCrc32c":"907060870"}"#,
        ),
        (
            "POST",
            format!("{key}:decrypt"),
            r#"{"ciphertext":"AQID","ciphertextCrc32c":1}"#,
        ),
        (
            "POST",
            format!("{key}:setIamPolicy"),
            r#"{"policy":{"etag":"BwW=","bindings":[{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["user:a@example.com"]}]}}"#,
        ),
        (
            "POST",
            format!("{key}:testIamPermissions"),
            r#"{"permissions":["cloudkms.cryptoKeyVersions.useToEncrypt"]}"#,
        ),
        (
            "POST",
            format!("{version}:asymmetricSign"),
            r#"{"digest":{"sha256":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},"digestCrc32c":"1"}"#,
        ),
        (
            "POST",
            format!("{version}:macVerify"),
            r#"{"data":"ZA==","mac":"bWFj","macCrc32c":2}"#,
        ),
        (
            "PATCH",
            format!("{version}?updateMask=state"),
            r#"{"state":2}"#,
        ),
        ("GET", format!("{version}/publicKey"), ""),
        ("POST", format!("{version}:destroy"), "{}"),
    ];
    cases
        .into_iter()
        .map(|(method, uri, body)| request_text(method, &uri, &json, body.as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_core::fuzzing::{corpus_dir, replay, write_seeds};

    const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn seeds_hold_the_properties() {
        for seed in seeds() {
            let (parts, _) = request(&seed).unwrap();
            assert!(super::super::parse_request(&parts.method, &parts.uri).is_ok());
            gcp_request(&seed);
        }
    }

    #[test]
    fn the_gcp_request_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "gcp_request"), gcp_request);
    }

    #[test]
    #[ignore = "writes the seed corpus; run by hand after a wire change"]
    fn write_fuzz_seeds() {
        write_seeds(&corpus_dir(MANIFEST, "gcp_request"), &seeds());
    }
}
