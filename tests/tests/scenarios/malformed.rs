//! Malformed input at every door: for the REST API and the AWS, GCP and Azure dialects,
//! [`PER_DOOR`] requests generated from a seeded PRNG (garbage bodies, wrong JSON types, deep
//! nesting, bodies over the limit, invalid UTF-8, bad base64, odd key names, bad credentials)
//! against a real gateway. Every request but the bad-credential ones is authenticated, so
//! the malformed part reaches the parsers. Every answer must be a 4xx in the door's error
//! shape, within [`WITHIN`].

use std::time::{Duration, Instant};

use keygate_core::api::Gateway as _;
use keygate_core::{CreateKeyRequest, KeySpec};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{TestGateway, config};

#[path = "malformed/sign.rs"]
mod sign;
use sign::sign;
#[path = "malformed/generate.rs"]
mod generate;
use generate::{LIMIT, Rng, bad_bearer, bad_value, garbage, odd_name};

/// Requests per door.
const PER_DOOR: usize = 240;
/// The longest any one answer may take.
const WITHIN: Duration = Duration::from_secs(1);

/// One generated request.
struct Case {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    what: String,
}

/// Sends every case, checks each answer with `shaped`, and returns the slowest time.
async fn run(
    http: &reqwest::Client,
    cases: Vec<Case>,
    shaped: fn(&Value, &HeaderMap) -> bool,
) -> Duration {
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let mut slowest = Duration::ZERO;
    for case in cases {
        let mut req = http.request(case.method.clone(), &case.url).body(case.body);
        for (name, value) in &case.headers {
            if let Ok(v) = reqwest::header::HeaderValue::from_bytes(value) {
                req = req.header(name.as_str(), v);
            }
        }
        let started = Instant::now();
        let response = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.what));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let took = started.elapsed();
        slowest = slowest.max(took);
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{}: {status} with a body that is not JSON: {:?}",
                case.what,
                String::from_utf8_lossy(&bytes)
            )
        });
        assert!(
            (400..500).contains(&status),
            "{}: {status} {body}",
            case.what
        );
        assert!(
            shaped(&body, &headers),
            "{}: {status} not in the door's shape: {body}",
            case.what
        );
        assert!(took < WITHIN, "{}: took {took:?}", case.what);
    }
    slowest
}

/// A gateway with every dialect, a small body limit and no rate limit in the way; one AES
/// key named `real` (some cases aim well-formed requests with malformed fields at it).
async fn gateway() -> TestGateway {
    let gw = TestGateway::start_with(config(|c| {
        c.server.body_limit_bytes = LIMIT;
        c.server.rate_limit.per_second = 100_000;
        c.server.rate_limit.burst = 100_000;
    }))
    .await;
    gw.service
        .local_admin()
        .create_key(None, CreateKeyRequest::new("real", KeySpec::Aes256))
        .await
        .unwrap();
    gw
}

/// `segment` percent-encoded for a URL path; a name of dots only gets a trailing `x`, since
/// URLs resolve `..` (a request for another path is not this door's case).
fn encode(segment: &str) -> String {
    let dots_only = !segment.is_empty() && segment.bytes().all(|b| b == b'.');
    let segment = if dots_only {
        format!("{segment}x")
    } else {
        segment.to_owned()
    };
    segment
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rest_requests_get_typed_4xx_answers() {
    let gw = gateway().await;
    let token = gw.token("fuzz", "admin").await;
    let mut rng = Rng(0x5eed_0001);
    let mut cases = Vec::new();
    for i in 0..PER_DOOR {
        let mut auth = Some(format!("Bearer {token}"));
        let mut content_type = b"application/json".to_vec();
        let (method, path, body, what) = match rng.below(8) {
            0 => (
                Method::POST,
                "/v1/encrypt".to_owned(),
                garbage(&mut rng),
                "garbage",
            ),
            1 => {
                let (field, value) = (rng.pick(&["key", "plaintext"]), bad_value(&mut rng));
                let mut body = json!({"key": "real", "plaintext": "aGVsbG8="});
                body[field] = value;
                (
                    Method::POST,
                    "/v1/encrypt".to_owned(),
                    body.to_string().into_bytes(),
                    "wrong type",
                )
            }
            2 => {
                let body = json!({"ciphertext": bad_value(&mut rng)});
                (
                    Method::POST,
                    "/v1/decrypt".to_owned(),
                    body.to_string().into_bytes(),
                    "bad ciphertext",
                )
            }
            3 => {
                let body = json!({"key": odd_name(&mut rng), "plaintext": "aGVsbG8="});
                (
                    Method::POST,
                    "/v1/encrypt".to_owned(),
                    body.to_string().into_bytes(),
                    "odd key name",
                )
            }
            4 => {
                let name = encode(&odd_name(&mut rng));
                let path = rng.pick(&[
                    format!("/v1/keys/{name}"),
                    format!("/v1/keys/{name}/versions"),
                ]);
                (Method::GET, path, Vec::new(), "odd key path")
            }
            5 => {
                auth = bad_bearer(&mut rng);
                let body = json!({"key": "real", "plaintext": "aGVsbG8="});
                (
                    Method::POST,
                    "/v1/encrypt".to_owned(),
                    body.to_string().into_bytes(),
                    "bad auth",
                )
            }
            6 => {
                content_type = rng.pick(&[
                    b"text/plain".to_vec(),
                    b"application/xml".to_vec(),
                    b"\xff".to_vec(),
                ]);
                (
                    Method::POST,
                    "/v1/random".to_owned(),
                    b"{\"bytes\": 16}".to_vec(),
                    "content type",
                )
            }
            _ => {
                let body = json!({"bytes": bad_value(&mut rng)});
                (
                    Method::POST,
                    "/v1/random".to_owned(),
                    body.to_string().into_bytes(),
                    "random size",
                )
            }
        };
        let mut headers = vec![("content-type".to_owned(), content_type)];
        if let Some(a) = auth {
            headers.push(("authorization".to_owned(), a.into_bytes()));
        }
        cases.push(Case {
            method,
            url: format!("{}{path}", gw.base),
            headers,
            body,
            what: format!("REST #{i} {what} {path}"),
        });
    }
    let slowest = run(&reqwest::Client::new(), cases, |v, _| {
        v["error"]["kind"].is_string()
            && v["error"]["message"].is_string()
            && v["error"]["request_id"].is_string()
    })
    .await;
    eprintln!("REST: {PER_DOOR} malformed requests, slowest answer {slowest:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_aws_requests_get_aws_shaped_4xx_answers() {
    let gw = gateway().await;
    let (akid, secret) = crate::aws::access_key(&gw, "fuzz", "admin").await;
    let host = gw.base.trim_start_matches("http://").to_owned();
    let mut rng = Rng(0x5eed_0002);
    let mut cases = Vec::new();
    let ops = [
        "Encrypt",
        "Decrypt",
        "DescribeKey",
        "GenerateDataKey",
        "ReEncrypt",
        "GetPublicKey",
        "Sign",
    ];
    for i in 0..PER_DOOR {
        let op = rng.pick(&ops);
        let mut target = format!("TrentService.{op}");
        let mut sign_with = Some(secret.clone());
        let mut content_type = b"application/x-amz-json-1.1".to_vec();
        let (body, what) = match rng.below(8) {
            0 => (garbage(&mut rng), "garbage"),
            1 => {
                let mut body = json!({"KeyId": "real", "Plaintext": "aGVsbG8=", "CiphertextBlob": "aGVsbG8=", "KeySpec": "AES_256"});
                // A field the operation reads, so the bad value cannot be ignored.
                let field = match op {
                    "Encrypt" => rng.pick(&["KeyId", "Plaintext"]),
                    "Decrypt" | "ReEncrypt" => "CiphertextBlob",
                    "GenerateDataKey" => rng.pick(&["KeyId", "KeySpec"]),
                    _ => "KeyId",
                };
                body[field] = bad_value(&mut rng);
                (body.to_string().into_bytes(), "wrong type")
            }
            2 => {
                target = "TrentService.Decrypt".to_owned();
                let random = base64_of(&rng.bytes(64));
                let blob = rng.pick(&[json!("***"), json!(""), json!("AAAA"), json!(random)]);
                (
                    json!({"CiphertextBlob": blob}).to_string().into_bytes(),
                    "bad ciphertext",
                )
            }
            3 => {
                let id = odd_name(&mut rng);
                let id = rng.pick(&[
                    id.clone(),
                    format!("alias/{id}"),
                    format!("arn:aws:kms:us-east-1:000000000000:key/{id}"),
                ]);
                (
                    json!({"KeyId": id, "Plaintext": "aGVsbG8=", "KeySpec": "AES_256"})
                        .to_string()
                        .into_bytes(),
                    "odd key id",
                )
            }
            4 => {
                target = rng.pick(&[
                    "TrentService.Explode".to_owned(),
                    "TrentService.".to_owned(),
                    "Trent.Encrypt".to_owned(),
                    format!("TrentService.{}", "E".repeat(3000)),
                    "TrentService.encrypt".to_owned(),
                ]);
                (b"{}".to_vec(), "unknown operation")
            }
            5 => {
                sign_with = rng.pick(&[None, Some("wrong-secret".to_owned())]);
                (
                    json!({"KeyId": "real", "Plaintext": "aGVsbG8="})
                        .to_string()
                        .into_bytes(),
                    "bad signature",
                )
            }
            6 => {
                content_type = rng.pick(&[
                    b"application/json".to_vec(),
                    b"text/plain".to_vec(),
                    Vec::new(),
                ]);
                (
                    json!({"KeyId": "real", "Plaintext": "aGVsbG8="})
                        .to_string()
                        .into_bytes(),
                    "content type",
                )
            }
            _ => {
                target = "TrentService.Encrypt".to_owned();
                // A context value that is not a string.
                let value = rng.pick(&[
                    json!(3.5),
                    json!([1]),
                    json!({"a": 1}),
                    json!(true),
                    json!(null),
                ]);
                (
                json!({"KeyId": "real", "Plaintext": "aGVsbG8=", "EncryptionContext": {"k": value}})
                    .to_string()
                    .into_bytes(),
                "bad context",
                )
            }
        };
        let mut headers = vec![
            ("content-type".to_owned(), content_type),
            ("x-amz-target".to_owned(), target.clone().into_bytes()),
        ];
        match sign_with {
            Some(secret) => headers.extend(sign(&akid, &secret, &host, &target, &body)),
            None if rng.below(2) == 0 => headers.push((
                "authorization".to_owned(),
                b"AWS4-HMAC-SHA256 garbage".to_vec(),
            )),
            None => {}
        }
        cases.push(Case {
            method: Method::POST,
            url: format!("{}/", gw.base),
            headers,
            body,
            what: format!("AWS #{i} {what} {target}"),
        });
    }
    let slowest = run(&reqwest::Client::new(), cases, |v, h| {
        v["__type"].is_string()
            && v["message"].is_string()
            && h.get("x-amzn-errortype")
                .is_some_and(|t| v["__type"] == t.to_str().unwrap_or_default())
    })
    .await;
    eprintln!("AWS: {PER_DOOR} malformed requests, slowest answer {slowest:?}");
    gw.stop().await;
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_gcp_requests_get_google_shaped_4xx_answers() {
    let gw = gateway().await;
    let token = gw.token("fuzz", "admin").await;
    let mut rng = Rng(0x5eed_0003);
    let mut cases = Vec::new();
    let real = "/v1/projects/p/locations/global/keyRings/keygate/cryptoKeys/real";
    for i in 0..PER_DOOR {
        let mut auth = Some(format!("Bearer {token}"));
        let (method, path, body, what) = match rng.below(7) {
            0 => (
                Method::POST,
                format!("{real}:encrypt"),
                garbage(&mut rng),
                "garbage",
            ),
            1 => {
                let mut body =
                    json!({"plaintext": "aGVsbG8=", "additionalAuthenticatedData": "YQ=="});
                body["plaintext"] = bad_value(&mut rng);
                (
                    Method::POST,
                    format!("{real}:encrypt"),
                    body.to_string().into_bytes(),
                    "wrong type",
                )
            }
            2 => {
                let body = json!({"ciphertext": bad_value(&mut rng)});
                (
                    Method::POST,
                    format!("{real}:decrypt"),
                    body.to_string().into_bytes(),
                    "bad ciphertext",
                )
            }
            3 => {
                let (ring, key) = (encode(&odd_name(&mut rng)), encode(&odd_name(&mut rng)));
                let odd = encode(&odd_name(&mut rng));
                let project = rng.pick(&["p".to_owned(), odd]);
                let path = format!(
                    "/v1/projects/{project}/locations/global/keyRings/{ring}/cryptoKeys/{key}:encrypt"
                );
                (
                    Method::POST,
                    path,
                    json!({"plaintext": "aGVsbG8="}).to_string().into_bytes(),
                    "odd names",
                )
            }
            4 => {
                let verb = rng.pick(&[
                    ":explode",
                    ":",
                    ":encrypt:decrypt",
                    "/cryptoKeyVersions/x:frob",
                    "/../..",
                ]);
                let method = rng.pick(&[Method::POST, Method::PUT, Method::DELETE]);
                (
                    method,
                    format!("{real}{verb}"),
                    b"{}".to_vec(),
                    "unknown method",
                )
            }
            5 => {
                auth = bad_bearer(&mut rng);
                (
                    Method::POST,
                    format!("{real}:encrypt"),
                    json!({"plaintext": "aGVsbG8="}).to_string().into_bytes(),
                    "bad auth",
                )
            }
            _ => {
                let location = encode(&odd_name(&mut rng));
                (
                    Method::GET,
                    format!("/v1/projects/p/locations/{location}/keyRings/r/cryptoKeys/k"),
                    Vec::new(),
                    "odd location",
                )
            }
        };
        let mut headers = vec![("content-type".to_owned(), b"application/json".to_vec())];
        if let Some(a) = auth {
            headers.push(("authorization".to_owned(), a.into_bytes()));
        }
        cases.push(Case {
            method,
            url: format!("{}{path}", gw.base),
            headers,
            body,
            what: format!("GCP #{i} {what} {path}"),
        });
    }
    let slowest = run(&reqwest::Client::new(), cases, |v, _| {
        v["error"]["code"].is_u64()
            && v["error"]["message"].is_string()
            && v["error"]["status"].is_string()
    })
    .await;
    eprintln!("GCP: {PER_DOOR} malformed requests, slowest answer {slowest:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_azure_requests_get_azure_shaped_4xx_answers() {
    let gw = gateway().await;
    let token = gw.token("fuzz", "admin").await;
    let ca = std::fs::read(&gw.azure_ca).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    let mut rng = Rng(0x5eed_0004);
    let mut cases = Vec::new();
    let v = "api-version=7.5";
    for i in 0..PER_DOOR {
        let mut auth = Some(format!("Bearer {token}"));
        let (method, path, body, what) = match rng.below(7) {
            0 => (
                Method::POST,
                format!("/keys/real/encrypt?{v}"),
                garbage(&mut rng),
                "garbage",
            ),
            1 => {
                let mut body = json!({"alg": "A256GCM", "value": "aGVsbG8"});
                // Azure strips `=` padding before decoding, so `====` is the empty value there.
                body["value"] = match bad_value(&mut rng) {
                    v if v == json!("====") => json!("=*"),
                    v => v,
                };
                (
                    Method::POST,
                    format!("/keys/real/encrypt?{v}"),
                    body.to_string().into_bytes(),
                    "wrong type",
                )
            }
            2 => {
                let body = json!({"alg": "RSA-OAEP", "value": bad_value(&mut rng)});
                (
                    Method::POST,
                    format!("/keys/real/decrypt?{v}"),
                    body.to_string().into_bytes(),
                    "bad ciphertext",
                )
            }
            3 => {
                let name = encode(&odd_name(&mut rng));
                let op = rng.pick(&["encrypt", "decrypt", "sign", "wrapkey"]);
                (
                    Method::POST,
                    format!("/keys/{name}/{op}?{v}"),
                    json!({"alg": "RSA-OAEP", "value": "aGk"})
                        .to_string()
                        .into_bytes(),
                    "odd key name",
                )
            }
            4 => {
                let query = rng.pick(&[
                    "",
                    "api-version=",
                    "api-version=1999-01-01",
                    "api-version=7.5&maxresults=-1",
                    "api-version=%00",
                ]);
                (
                    Method::POST,
                    format!("/keys/real/encrypt?{query}"),
                    b"{}".to_vec(),
                    "bad query",
                )
            }
            5 => {
                auth = bad_bearer(&mut rng);
                (
                    Method::POST,
                    format!("/keys/real/encrypt?{v}"),
                    json!({"alg": "A256GCM", "value": "aGk"})
                        .to_string()
                        .into_bytes(),
                    "bad auth",
                )
            }
            _ => {
                let path =
                    rng.pick(&["/nothing", "/keys/real/1/2/3/4", "/deletedkeys/%00", "/rng"]);
                let method = rng.pick(&[Method::PUT, Method::DELETE, Method::PATCH]);
                (
                    method,
                    format!("{path}?{v}"),
                    b"{\"x\": 1}".to_vec(),
                    "odd route",
                )
            }
        };
        let mut headers = vec![("content-type".to_owned(), b"application/json".to_vec())];
        if let Some(a) = auth {
            headers.push(("authorization".to_owned(), a.into_bytes()));
        }
        cases.push(Case {
            method,
            url: format!("{}{path}", gw.azure_url),
            headers,
            body,
            what: format!("Azure #{i} {what} {path}"),
        });
    }
    let slowest = run(&http, cases, |v, _| {
        v["error"]["code"].is_string() && v["error"]["message"].is_string()
    })
    .await;
    eprintln!("Azure: {PER_DOOR} malformed requests, slowest answer {slowest:?}");
    gw.stop().await;
}
