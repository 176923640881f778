//! The OpenAPI 3.0 document served at `/v1/openapi.json`, built in code.
//!
//! [`OPERATIONS`] describes every route; a test checks that its (method, path) pairs are
//! exactly the router's [`super::route_table`], and that each reaches a handler.

use serde_json::{Map, Value, json};

use super::Verb;
use super::openapi_schemas::schemas;

/// What a successful response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// A JSON schema by name.
    Schema(&'static str),
    /// A JSON array of a schema.
    Array(&'static str),
    /// No body.
    Empty,
    /// Prometheus text.
    Text,
    /// Server-Sent Events.
    EventStream,
    /// Any JSON (the OpenAPI document itself).
    AnyJson,
}

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The method, as the route table registers it.
    pub verb: Verb,
    /// Path template.
    pub path: &'static str,
    /// `operationId`.
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Whether a bearer token is required.
    pub auth: bool,
    /// The JSON request body schema.
    pub request: Option<&'static str>,
    /// The success status.
    pub status: u16,
    /// The success body.
    pub response: Body,
    /// Query parameters (all optional strings unless noted in the summary).
    pub query: &'static [&'static str],
}

const AUDIT_FILTERS: &[&str] = &[
    "since",
    "until",
    "key",
    "principal",
    "action",
    "outcome",
    "after",
    "limit",
];

macro_rules! op {
    ($verb:ident $path:literal, $id:literal, $summary:literal, auth = $auth:literal,
     req = $req:expr, $status:literal => $resp:expr $(, query = $query:expr)?) => {
        Operation {
            verb: Verb::$verb,
            path: $path,
            id: $id,
            summary: $summary,
            auth: $auth,
            request: $req,
            status: $status,
            response: $resp,
            query: { let _q: &'static [&'static str] = &[]; $(let _q = $query;)? _q },
        }
    };
}

use Body::{AnyJson, Array, Empty, EventStream, Schema, Text};

/// Every operation of the API.
pub const OPERATIONS: &[Operation] = &[
    op!(Get "/v1/health", "health", "Liveness", auth = false, req = None, 200 => Schema("Status")),
    op!(Get "/v1/ready", "ready", "Readiness: the store answers and the audit writer runs (503 otherwise)", auth = false, req = None, 200 => Schema("Status")),
    op!(Get "/metrics", "metrics", "Prometheus metrics", auth = false, req = None, 200 => Text),
    op!(Get "/v1/openapi.json", "openapi", "This document", auth = false, req = None, 200 => AnyJson),
    op!(Get "/v1/noop", "noop", "Authenticated no-op (benchmark baseline; no provider call, no audit row)", auth = true, req = None, 200 => Schema("Noop")),
    op!(Get "/v1/whoami", "whoami", "The caller's identity", auth = true, req = None, 200 => Schema("Identity")),
    op!(Get "/v1/providers", "listProviders", "Registered providers", auth = true, req = None, 200 => Array("ProviderSummary")),
    op!(Get "/v1/status", "status", "The gateway's health: each provider probed, the store, the audit head, listeners, version and features (`status:read`)", auth = true, req = None, 200 => Schema("GatewayStatus")),
    op!(Get "/v1/keys", "listKeys", "Keys across providers (or one)", auth = true, req = None, 200 => Schema("KeyListing"), query = &["provider"]),
    op!(Post "/v1/keys", "createKey", "Create a key", auth = true, req = Some("CreateKey"), 201 => Schema("KeyMetadata")),
    op!(Get "/v1/keys/{key}", "describeKey", "One key", auth = true, req = None, 200 => Schema("KeyMetadata")),
    op!(Patch "/v1/keys/{key}", "updateKey", "Change description and labels", auth = true, req = Some("KeyUpdate"), 200 => Schema("KeyMetadata")),
    op!(Post "/v1/keys/{key}/enable", "enableKey", "Enable", auth = true, req = None, 200 => Schema("KeyMetadata")),
    op!(Post "/v1/keys/{key}/disable", "disableKey", "Disable", auth = true, req = None, 200 => Schema("KeyMetadata")),
    op!(Post "/v1/keys/{key}/delete", "scheduleDeletion", "Schedule deletion", auth = true, req = Some("ScheduleDeletion"), 200 => Schema("KeyMetadata")),
    op!(Post "/v1/keys/{key}/undelete", "cancelDeletion", "Cancel a scheduled deletion", auth = true, req = None, 200 => Schema("KeyMetadata")),
    op!(Get "/v1/keys/{key}/versions", "listVersions", "Versions, oldest first", auth = true, req = None, 200 => Array("KeyVersion")),
    op!(Post "/v1/keys/{key}/versions/{version}/enable", "enableVersion", "Enable one version", auth = true, req = None, 200 => Schema("KeyVersion")),
    op!(Post "/v1/keys/{key}/versions/{version}/disable", "disableVersion", "Disable one version: it refuses every use until enabled", auth = true, req = None, 200 => Schema("KeyVersion")),
    op!(Post "/v1/keys/{key}/versions/{version}/destroy", "destroyVersion", "Schedule one version's destruction (it stops working at once; `destroy_time` says when its material goes)", auth = true, req = None, 200 => Schema("KeyVersion")),
    op!(Post "/v1/keys/{key}/versions/{version}/restore", "restoreVersion", "Restore a version scheduled for destruction (it comes back disabled)", auth = true, req = None, 200 => Schema("KeyVersion")),
    op!(Post "/v1/keys/{key}/versions/{version}/primary", "setPrimaryVersion", "Make an enabled version the primary one", auth = true, req = None, 200 => Schema("KeyMetadata")),
    op!(Get "/v1/keys/{key}/versions/{version}/public-key", "getVersionPublicKey", "Public key of one version", auth = true, req = None, 200 => Schema("PublicKey")),
    op!(Post "/v1/keys/{key}/versions/{version}/sign", "signWithVersion", "Sign with one version (the body of /v1/sign; `key` and `key_version` come from the path)", auth = true, req = Some("Sign"), 200 => Schema("Signature")),
    op!(Post "/v1/keys/{key}/versions/{version}/verify", "verifyWithVersion", "Verify with one version (the body of /v1/verify; `key` and `key_version` come from the path)", auth = true, req = Some("Verify"), 200 => Schema("Valid")),
    op!(Post "/v1/keys/{key}/versions/{version}/mac", "generateMacWithVersion", "Compute a MAC with one version (the body of /v1/mac; `key` and `key_version` come from the path)", auth = true, req = Some("Mac"), 200 => Schema("MacTag")),
    op!(Post "/v1/keys/{key}/versions/{version}/mac/verify", "verifyMacWithVersion", "Check a MAC with one version (the body of /v1/mac/verify; `key` and `key_version` come from the path)", auth = true, req = Some("MacVerify"), 200 => Schema("Valid")),
    op!(Post "/v1/keys/{key}/versions/{version}/decrypt", "decryptWithVersion", "Decrypt a provider-native ciphertext with one version (the body of /v1/decrypt; `key` and `key_version` come from the path)", auth = true, req = Some("Decrypt"), 200 => Schema("Decrypted")),
    op!(Post "/v1/keys/{key}/rotate", "rotateKey", "Rotate now", auth = true, req = None, 200 => Schema("KeyVersion")),
    op!(Get "/v1/keys/{key}/rotation", "getRotation", "Automatic rotation schedule", auth = true, req = None, 200 => Schema("Rotation")),
    op!(Put "/v1/keys/{key}/rotation", "setRotation", "Set or clear the rotation schedule", auth = true, req = Some("SetRotation"), 200 => Schema("Rotation")),
    op!(Get "/v1/keys/{key}/aws-arn", "getAwsKeyArn", "The ARN keygate's AWS KMS door names the key by (what AWS Encryption SDK messages name it by)", auth = true, req = None, 200 => Schema("AwsArn")),
    op!(Get "/v1/keys/{key}/public-key", "getPublicKey", "Public key of an asymmetric key", auth = true, req = None, 200 => Schema("PublicKey"), query = &["version"]),
    op!(Post "/v1/keys/{key}/import-parameters", "getImportParameters", "A wrapping public key and an import token for a key of origin external (valid 24 hours)", auth = true, req = Some("ImportParametersRequest"), 200 => Schema("ImportParameters")),
    op!(Post "/v1/keys/{key}/import", "importKeyMaterial", "Import wrapped key material into a key pending import", auth = true, req = Some("ImportMaterial"), 200 => Schema("KeyMetadata")),
    op!(Post "/v1/keys/{key}/delete-material", "deleteImportedKeyMaterial", "Delete a key's imported material (it becomes pending_import)", auth = true, req = None, 200 => Schema("KeyMetadata")),
    op!(Get "/v1/keys/{key}/policy", "getKeyPolicy", "The key's provider policy", auth = true, req = None, 200 => Schema("Policy")),
    op!(Put "/v1/keys/{key}/policy", "setKeyPolicy", "Replace the key's provider policy", auth = true, req = Some("Policy"), 200 => Schema("Policy")),
    op!(Post "/v1/encrypt", "encrypt", "Encrypt into a keygate envelope", auth = true, req = Some("Encrypt"), 200 => Schema("Encrypted")),
    op!(Post "/v1/encrypt-native", "encryptNative", "Encrypt with the key itself, in the provider's native format (RSA-OAEP for RSA keys)", auth = true, req = Some("Encrypt"), 200 => Schema("NativeEncrypted")),
    op!(Post "/v1/random", "generateRandom", "Random bytes (1–1024) from the gateway", auth = true, req = Some("Random"), 200 => Schema("RandomBytes")),
    op!(Post "/v1/decrypt", "decrypt", "Decrypt an envelope (or a native ciphertext with `key`); every ciphertext failure is one 400 integrity_failure", auth = true, req = Some("Decrypt"), 200 => Schema("Decrypted")),
    op!(Post "/v1/generate-data-key", "generateDataKey", "A data key and its wrapped form", auth = true, req = Some("GenerateDataKey"), 200 => Schema("DataKey")),
    op!(Post "/v1/envelope/begin", "beginEnvelope", "A data key and envelope header for client-side sealing", auth = true, req = Some("BeginEnvelope"), 200 => Schema("SealingKey")),
    op!(Post "/v1/envelope/open", "openEnvelope", "Unwrap the data key of an envelope header", auth = true, req = Some("OpenEnvelope"), 200 => Schema("DataKeyOnly")),
    op!(Post "/v1/envelope/rewrap", "rewrapEnvelope", "Add and remove keys of an envelope header (the payload is not needed and not re-encrypted)", auth = true, req = Some("RewrapEnvelope"), 200 => Schema("RewrappedEnvelope")),
    op!(Post "/v1/sign", "sign", "Sign a message", auth = true, req = Some("Sign"), 200 => Schema("Signature")),
    op!(Post "/v1/verify", "verify", "Verify a signature", auth = true, req = Some("Verify"), 200 => Schema("Valid")),
    op!(Post "/v1/mac", "generateMac", "Compute a MAC", auth = true, req = Some("Mac"), 200 => Schema("MacTag")),
    op!(Post "/v1/mac/verify", "verifyMac", "Check a MAC", auth = true, req = Some("MacVerify"), 200 => Schema("Valid")),
    op!(Get "/v1/aliases", "listAliases", "Every alias", auth = true, req = None, 200 => Array("Alias")),
    op!(Post "/v1/aliases", "createAlias", "Create an alias", auth = true, req = Some("CreateAlias"), 201 => Schema("Alias")),
    op!(Put "/v1/aliases/{name}", "updateAlias", "Point an alias at another key", auth = true, req = Some("UpdateAlias"), 200 => Schema("Alias")),
    op!(Delete "/v1/aliases/{name}", "deleteAlias", "Delete an alias", auth = true, req = None, 204 => Empty),
    op!(Get "/v1/audit", "queryAudit", "One page of audit events, oldest first (`after` is the cursor)", auth = true, req = None, 200 => Schema("AuditPage"), query = AUDIT_FILTERS),
    op!(Get "/v1/audit/stream", "followAudit", "Audit events as Server-Sent Events (`event: audit`, `id: <seq>`); honours Last-Event-ID", auth = true, req = None, 200 => EventStream, query = AUDIT_FILTERS),
    op!(Get "/v1/audit/verify", "verifyAudit", "Check the audit log: the keyed hash chain and the Merkle tree (with from_checkpoint=true only the rows after the newest kept signed checkpoint)", auth = true, req = None, 200 => Schema("AuditVerification"), query = &["from_checkpoint"]),
    op!(Get "/v1/cost", "cost", "What the key estate costs per provider and per key (keys per month, requests counted from the audit log since `since`: a span such as 30d, 12h, 2w or an RFC 3339 time; default 30d), and on every other kind of provider; needs audit:read", auth = true, req = None, 200 => Schema("CostReport"), query = &["since"]),
    op!(Get "/v1/audit/checkpoint", "auditCheckpoint", "A signed checkpoint (C2SP tlog-checkpoint note) of the whole audit log", auth = true, req = None, 200 => Schema("AuditCheckpoint")),
    op!(Get "/v1/audit/proof", "auditInclusionProof", "An RFC 6962 inclusion proof of row `seq` in the tree of `size` rows (default: the whole log), with a checkpoint of that tree", auth = true, req = None, 200 => Schema("AuditInclusionProof"), query = &["seq", "size"]),
    op!(Get "/v1/audit/consistency", "auditConsistencyProof", "An RFC 6962 consistency proof that the tree of `size` rows (default: the whole log) extends the tree of `old_size` rows", auth = true, req = None, 200 => Schema("AuditConsistencyProof"), query = &["old_size", "size"]),
    op!(Get "/v1/tokens", "listTokens", "API tokens (never their secrets)", auth = true, req = None, 200 => Array("TokenInfo")),
    op!(Post "/v1/tokens", "createToken", "Issue a token (its secret is shown once)", auth = true, req = Some("TokenRequest"), 201 => Schema("IssuedToken")),
    op!(Delete "/v1/tokens/{id}", "revokeToken", "Revoke a token", auth = true, req = None, 200 => Schema("TokenInfo")),
    op!(Get "/v1/policy", "getAccessPolicy", "The gateway access policy", auth = true, req = None, 200 => Schema("AccessPolicy")),
    op!(Put "/v1/policy", "setAccessPolicy", "Replace the gateway access policy", auth = true, req = Some("AccessPolicy"), 200 => Schema("AccessPolicy")),
];

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema_ref("Error")}},
    })
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let description = if name == "key" {
                "key name, `alias/<name>` or key URI, percent-encoded as one segment"
            } else {
                "identifier"
            };
            json!({"name": name, "in": "path", "required": true,
                   "description": description, "schema": {"type": "string"}})
        })
        .collect()
}

fn operation(op: &Operation) -> Value {
    let mut parameters = path_params(op.path);
    for q in op.query {
        let schema = match *q {
            "limit" => json!({"type": "integer", "minimum": 1}),
            "since" | "until" => json!({"type": "string", "format": "date-time"}),
            _ => json!({"type": "string"}),
        };
        parameters.push(json!({"name": q, "in": "query", "required": false, "schema": schema}));
    }
    if op.response == EventStream {
        parameters.push(
            json!({"name": "Last-Event-ID", "in": "header", "required": false,
                               "schema": {"type": "string"}}),
        );
    }
    let success = match op.response {
        Schema(name) => json!({"description": "success",
            "content": {"application/json": {"schema": schema_ref(name)}}}),
        Array(name) => json!({"description": "success",
            "content": {"application/json": {"schema": {"type": "array", "items": schema_ref(name)}}}}),
        Empty => json!({"description": "done"}),
        Text => json!({"description": "Prometheus text exposition",
            "content": {"text/plain": {"schema": {"type": "string"}}}}),
        EventStream => json!({"description": "event stream",
            "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
        AnyJson => json!({"description": "success",
            "content": {"application/json": {"schema": {"type": "object"}}}}),
    };
    let mut responses = Map::new();
    responses.insert(op.status.to_string(), success);
    responses.insert("default".into(), error_response("typed error"));
    if op.auth {
        responses.insert("401".into(), error_response("missing or invalid token"));
        responses.insert(
            "403".into(),
            error_response("not allowed by the access policy"),
        );
        responses.insert(
            "429".into(),
            error_response("rate limited (see Retry-After)"),
        );
    }
    let mut out = json!({
        "operationId": op.id,
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(req) = op.request {
        out["requestBody"] = json!({"required": true,
            "content": {"application/json": {"schema": schema_ref(req)}}});
    }
    if !op.auth {
        out["security"] = json!([]);
    }
    out
}

/// The OpenAPI 3.0 document of the REST API, built from [`OPERATIONS`]: what
/// `GET /v1/openapi.json` serves.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let entry = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(methods) = entry.as_object_mut() {
            methods.insert(op.verb.as_str().to_ascii_lowercase(), operation(op));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "keygate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One gateway over every key manager. Binary fields are standard base64. \
                Errors are {\"error\": {\"kind\", \"message\", \"request_id\"}}.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(),
        },
    })
}

/// The (method, path) pairs the document describes, read back from the document itself.
pub fn documented_routes(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, methods) in paths {
            if let Some(methods) = methods.as_object() {
                for method in methods.keys() {
                    out.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn document_matches_the_router_exactly() {
        let documented: BTreeSet<(String, String)> =
            documented_routes(&document()).into_iter().collect();
        let registered: BTreeSet<(String, String)> = super::super::route_table()
            .into_iter()
            .map(|r| (r.verb.as_str().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(documented, registered);
        assert_eq!(
            registered.len(),
            OPERATIONS.len(),
            "a route is registered twice"
        );
    }

    #[test]
    fn authenticated_routes_name_their_action() {
        // Only the public routes and the identity-only ones have no gateway action.
        let without: BTreeSet<&str> = super::super::route_table()
            .into_iter()
            .filter(|r| r.action.is_none())
            .map(|r| r.path)
            .collect();
        let expected: BTreeSet<&str> = [
            "/v1/health",
            "/v1/ready",
            "/metrics",
            "/v1/openapi.json",
            "/v1/noop",
            "/v1/whoami",
            "/v1/providers",
        ]
        .into_iter()
        .collect();
        assert_eq!(without, expected);
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "dangling $ref {name}");
        }
        let ids: BTreeSet<&str> = OPERATIONS.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), OPERATIONS.len(), "duplicate operationId");
    }
}
