//! Property checks over the Azure dialect's request parsing, for the `fuzz/` target
//! `azure_request` and for the test that replays its committed corpus on stable Rust.
//!
//! Not part of keygate's API: hidden from the docs and free to change.

use axum::http::Method;
use keygate_core::KeySpec;

use super::error::AzureError;
use super::ops::{self, crypto, keys, rotation};
use super::route::{CryptoOp, Route};
use super::wire::{
    self, CreateKeyParams, KeyOperationParams, RandomParams, SignParams, UpdateKeyParams,
    VerifyParams,
};
use crate::dialect::fuzzing::{request, request_text};

fn client<T>(result: Result<T, AzureError>) -> Option<T> {
    result
        .map_err(|e| {
            assert!(e.status.is_client_error(), "{} {}", e.status, e.code);
        })
        .ok()
}

/// Method, path, query and body to the typed request (the request in the text form of
/// [`request`]): the route, the query, and the body read as the route's handler reads it,
/// with the checks the handler makes before it calls the gateway. Every refusal is a 4xx;
/// a route prints back to a path that parses to the same route; an ECDSA signature in
/// Azure's raw form converts to DER and back to itself.
pub fn azure_request(data: &[u8]) {
    let Some((parts, body)) = request(data) else {
        return;
    };
    let _ = client(super::parse_query(&parts.uri));
    let Some(route) = client(Route::parse(&parts.method, parts.uri.path())) else {
        return;
    };
    let _ = route.action();
    let _ = route.takes_body();
    if let Some((method, path)) = printed(&route) {
        let again = Route::parse(&method, &path).expect("a printed route parses");
        assert_eq!(again, route, "{method} {path} is another route");
    }
    read_body(&route, &body);
}

/// The canonical method and path of `route` (the omitted version as the SDKs write it).
fn printed(route: &Route) -> Option<(Method, String)> {
    let version = |v: &Option<String>| v.clone().unwrap_or_default();
    Some(match route {
        Route::ListKeys => (Method::GET, "/keys".into()),
        Route::CreateKey(n) => (Method::POST, format!("/keys/{n}/create")),
        Route::GetKey(n, v) => (Method::GET, format!("/keys/{n}/{}", version(v))),
        Route::UpdateKey(n, v) => (Method::PATCH, format!("/keys/{n}/{}", version(v))),
        Route::DeleteKey(n) => (Method::DELETE, format!("/keys/{n}")),
        Route::ListVersions(n) => (Method::GET, format!("/keys/{n}/versions")),
        Route::Rotate(n) => (Method::POST, format!("/keys/{n}/rotate")),
        Route::GetRotationPolicy(n) => (Method::GET, format!("/keys/{n}/rotationpolicy")),
        Route::SetRotationPolicy(n) => (Method::PUT, format!("/keys/{n}/rotationpolicy")),
        Route::Crypto(n, v, op) => (
            Method::POST,
            format!(
                "/keys/{n}/{}/{}",
                version(v),
                op.name().to_ascii_lowercase()
            ),
        ),
        Route::ListDeleted => (Method::GET, "/deletedkeys".into()),
        Route::GetDeleted(n) => (Method::GET, format!("/deletedkeys/{n}")),
        Route::PurgeDeleted(n) => (Method::DELETE, format!("/deletedkeys/{n}")),
        Route::RecoverDeleted(n) => (Method::POST, format!("/deletedkeys/{n}/recover")),
        Route::Random => (Method::POST, "/rng".into()),
        Route::Unsupported(_) => return None,
    })
}

/// The body as the handler of `route` reads it (see `ops::dispatch`).
fn read_body(route: &Route, body: &[u8]) {
    match route {
        Route::CreateKey(_) => {
            if let Some(p) = client(ops::parse::<CreateKeyParams>(body)) {
                if let Some(a) = &p.attributes {
                    let _ = client(a.check());
                }
                let _ = client(keys::spec_of(&p));
                let _ = client(keys::usage_of(p.key_ops.as_deref().unwrap_or_default()));
            }
        }
        Route::UpdateKey(..) => {
            if let Some(p) = client(ops::parse::<UpdateKeyParams>(body)) {
                if let Some(a) = &p.attributes {
                    let _ = client(a.check());
                }
                let _ = client(keys::usage_of(p.key_ops.as_deref().unwrap_or_default()));
            }
        }
        Route::SetRotationPolicy(_) => {
            if let Some(p) = client(ops::parse::<rotation::PolicyIn>(body)) {
                let _ = client(rotation::parse_policy(&p));
            }
        }
        Route::Crypto(_, _, CryptoOp::Sign) => {
            if let Some(p) = client(ops::parse::<SignParams>(body))
                && let Some((_, _, len)) = client(crypto::signing(&p.alg))
            {
                let _ = client(crypto::check_digest(&p.alg, &p.value.0, len));
            }
        }
        Route::Crypto(_, _, CryptoOp::Verify) => {
            if let Some(p) = client(ops::parse::<VerifyParams>(body))
                && let Some((_, spec, len)) = client(crypto::signing(&p.alg))
            {
                let _ = client(crypto::check_digest(&p.alg, &p.digest.0, len));
                ecdsa_round_trip(spec.unwrap_or(KeySpec::Rsa2048), &p.value.0);
            }
        }
        Route::Crypto(_, _, op) => {
            if let Some(p) = client(ops::parse::<KeyOperationParams>(body)) {
                let _ = client(crypto::check_algorithm(&p.alg, *op));
            }
        }
        Route::Random => {
            let _ = client(ops::parse::<RandomParams>(body));
        }
        _ => {}
    }
    if let Ok(text) = std::str::from_utf8(body)
        && let Some(bytes) = client(wire::unb64("value", text))
    {
        assert_eq!(wire::unb64("value", &wire::b64(&bytes)).ok(), Some(bytes));
    }
}

fn ecdsa_round_trip(spec: KeySpec, raw: &[u8]) {
    for spec in [
        spec,
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::EcP521,
        KeySpec::EcSecp256k1,
    ] {
        if let Some(der) = wire::ecdsa_raw_to_der(spec, raw) {
            let back = wire::ecdsa_der_to_raw(spec, &der).expect("DER made here converts back");
            assert_eq!(back, raw, "an ECDSA signature changed in a round trip");
        }
    }
}

/// Seeds: requests of every route, with typical bodies.
pub fn seeds() -> Vec<Vec<u8>> {
    let json = [("content-type", "application/json")];
    let q = "?api-version=7.4";
    let sig = wire::b64(&[7u8; 64]);
    let digest = wire::b64(&[1u8; 32]);
    let cases: Vec<(&str, String, String)> = vec![
        ("GET", format!("/keys{q}&maxresults=5"), String::new()),
        ("POST", format!("/keys/k1/create{q}"), r#"{"kty":"EC","crv":"P-256","key_ops":["sign","verify"],"attributes":{"enabled":true},"tags":{"a":"b"}}"#.into()),
        ("POST", format!("/keys/k2/create{q}"), r#"{"kty":"RSA","key_size":3072,"key_ops":["encrypt","decrypt"]}"#.into()),
        ("GET", format!("/keys/k1/{q}"), String::new()),
        ("PATCH", format!("/keys/k1/0123abcd{q}"), r#"{"attributes":{"enabled":false,"exp":1},"tags":{}}"#.into()),
        ("PUT", format!("/keys/k1/rotationpolicy{q}"), r#"{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],"attributes":{}}"#.into()),
        ("POST", format!("/keys/k1//encrypt{q}"), r#"{"alg":"RSA-OAEP-256","value":"aGVsbG8"}"#.into()),
        ("POST", format!("/keys/k1/v1/unwrapkey{q}"), r#"{"alg":"A256GCM","value":"AAAA","iv":"AAAAAAAAAAAAAAAA","tag":"AA=="}"#.into()),
        ("POST", format!("/keys/k1//sign{q}"), format!(r#"{{"alg":"ES256","value":"{digest}"}}"#)),
        ("POST", format!("/keys/k1/v2/verify{q}"), format!(r#"{{"alg":"ES256","digest":"{digest}","value":"{sig}"}}"#)),
        ("DELETE", format!("/keys/k1{q}"), String::new()),
        ("POST", format!("/deletedkeys/k1/recover{q}"), String::new()),
        ("POST", format!("/rng{q}"), r#"{"count":32}"#.into()),
        ("POST", format!("/keys/k1/backup{q}"), String::new()),
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
            assert!(Route::parse(&parts.method, parts.uri.path()).is_ok());
            assert!(super::super::parse_query(&parts.uri).is_ok());
            azure_request(&seed);
        }
    }

    #[test]
    fn the_azure_request_corpus_holds_the_properties() {
        replay(&corpus_dir(MANIFEST, "azure_request"), azure_request);
    }

    #[test]
    #[ignore = "writes the seed corpus; run by hand after a wire change"]
    fn write_fuzz_seeds() {
        write_seeds(&corpus_dir(MANIFEST, "azure_request"), &seeds());
    }
}
