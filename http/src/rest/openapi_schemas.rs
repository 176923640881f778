//! The `components.schemas` of the OpenAPI document: one JSON Schema per body in
//! [`keygate_core::wire`] and the core types the API returns.

use serde_json::{Value, json};

fn string() -> Value {
    json!({"type": "string"})
}

fn b64(description: &str) -> Value {
    json!({"type": "string", "format": "byte", "description": description})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable(mut schema: Value) -> Value {
    // OpenAPI 3.0 ignores siblings of `$ref`, so a nullable reference needs `allOf`.
    if schema.get("$ref").is_some() {
        return json!({"allOf": [schema], "nullable": true});
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("nullable".into(), Value::Bool(true));
    }
    schema
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn enumeration(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

/// `GatewayStatus` (`keygate_core::api`): what `GET /v1/status` answers.
fn gateway_status() -> Value {
    let integer = || json!({"type": "integer", "minimum": 0});
    let boolean = || json!({"type": "boolean"});
    let error = || {
        object(
            &["kind", "message"],
            json!({"kind": string(), "message": string()}),
        )
    };
    object(
        &[
            "version",
            "features",
            "providers",
            "store",
            "audit",
            "listeners",
            "checked_at",
        ],
        json!({
            "version": string(),
            "features": {"type": "array", "items": enumeration(&["aws", "azure", "gcp"])},
            "providers": {"type": "array", "items": object(&["name", "kind", "reachable", "latency_ms"], json!({
                "name": string(),
                "kind": enumeration(&["local", "aws", "azure", "gcp"]),
                "reachable": boolean(),
                "latency_ms": integer(),
                "error": error(),
            }))},
            "store": object(&["backend", "readable", "writable"], json!({
                "backend": string(), "readable": boolean(), "writable": boolean(), "error": error(),
            })),
            "audit": object(&["writer_running", "rows", "failed_batches"], json!({
                "writer_running": boolean(),
                "rows": integer(),
                "head_seq": integer(),
                "head_hash": {"type": "string", "description": "hex SHA-256 of the last row"},
                "size_bytes": integer(),
                "failed_batches": integer(),
                "error": error(),
            })),
            "listeners": {"type": "array", "items": object(&["name", "url"], json!({
                "name": enumeration(&["rest", "azure"]), "url": string(),
            }))},
            "checked_at": time(),
            "scheduler": object(&["replica", "leading", "shared"], json!({
                "replica": string(),
                "leading": boolean(),
                "shared": {"type": "boolean", "description": "leadership is a lease among replicas sharing a PostgreSQL store"},
                "leader": {"type": "string", "description": "the replica holding the scheduler's lease; absent when none does"},
            })),
        }),
    )
}

/// Every schema, by name.
pub(super) fn schemas() -> Value {
    let specs: Vec<&str> = keygate_core::KeySpec::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let key_spec = enumeration(&specs);
    let algorithms: Vec<&str> = keygate_core::SigningAlgorithm::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    let signing = enumeration(&algorithms);
    let mac_alg = enumeration(&["HMAC_SHA256", "HMAC_SHA384", "HMAC_SHA512"]);
    // Several objects: one `json!` of every schema exceeds the macro recursion limit.
    let parts = [
        json!({
            "Error": object(&["error"], json!({"error": object(&["kind", "message"], json!({
                "kind": {"type": "string", "description": "stable error kind: not_found, already_exists, invalid_argument, invalid_state, permission_denied, unauthenticated, unsupported, throttled, unavailable, integrity_failure, provider, ..."},
                "message": string(),
                "request_id": nullable(string()),
            }))})),
            "Status": object(&["status"], json!({"status": string(), "providers_down": {"type": "array", "items": string()}})),
            "Noop": object(&["ok"], json!({"ok": {"type": "boolean"}})),
            "Identity": object(&["principal", "role"], json!({"principal": string(), "role": string()})),
            "KeySpec": key_spec,
            "KeyUsage": enumeration(&["encrypt", "sign", "mac"]),
            "SigningAlgorithm": signing,
            "MacAlgorithm": mac_alg,
            "EncryptionContext": string_map(),
            "Labels": string_map(),
            "ProviderSummary": object(&["name", "kind", "uri_prefix", "capabilities"], json!({
                "name": string(),
                "kind": enumeration(&["local", "aws", "azure", "gcp"]),
                "uri_prefix": string(),
                "capabilities": {"type": "object", "description": "what the provider supports"},
            })),
            "RotationSchedule": object(&["period_days"], json!({
                "period_days": {"type": "integer", "minimum": 1},
                "next_rotation": time(),
            })),
        }),
        json!({
            "KeyMetadata": object(&["uri", "provider", "id", "name", "spec", "usage", "state", "labels", "description", "created"], json!({
                "uri": string(), "provider": string(), "id": string(), "name": string(),
                "spec": r("KeySpec"), "usage": r("KeyUsage"),
                "state": enumeration(&["enabled", "disabled", "pending_deletion", "destroyed"]),
                "deletion_date": time(),
                "primary_version": nullable(string()),
                "rotation": nullable(r("RotationSchedule")),
                "labels": r("Labels"), "description": string(), "created": time(),
            })),
            "KeyListing": object(&["keys"], json!({
                "keys": {"type": "array", "items": r("KeyMetadata")},
                "errors": {"type": "array", "items": object(&["provider", "kind", "message"], json!({
                    "provider": string(), "kind": string(), "message": string(),
                }))},
            })),
            "CreateKey": object(&["name", "spec"], json!({
                "provider": string(), "name": string(), "spec": r("KeySpec"), "usage": r("KeyUsage"),
                "description": string(), "labels": r("Labels"),
                "rotation_period_days": {"type": "integer", "minimum": 1},
            })),
            "KeyUpdate": object(&[], json!({
                "description": nullable(string()),
                "set_labels": r("Labels"),
                "remove_labels": {"type": "array", "items": string()},
            })),
            "ScheduleDeletion": object(&["pending_days"], json!({"pending_days": {"type": "integer", "minimum": 0}})),
            "KeyVersion": object(&["id", "created", "state", "primary"], json!({
                "id": string(), "created": time(),
                "state": enumeration(&["enabled", "disabled", "destroy_scheduled", "destroyed"]),
                "primary": {"type": "boolean"},
                "destroy_time": time(),
            })),
            "Rotation": object(&["schedule"], json!({"schedule": nullable(r("RotationSchedule"))})),
            "SetRotation": object(&["period_days"], json!({"period_days": nullable(json!({"type": "integer", "minimum": 1}))})),
            "AwsArn": object(&["arn"], json!({
                "arn": string(),
            })),
            "ImportParametersRequest": object(&["wrapping_algorithm", "wrapping_key_spec"], json!({
                "wrapping_algorithm": string(), "wrapping_key_spec": string(),
            })),
            "ImportParameters": object(&["public_key", "import_token", "algorithm", "valid_to"], json!({
                "public_key": b64("DER SubjectPublicKeyInfo of the wrapping key"),
                "import_token": b64("opaque import token"),
                "algorithm": string(), "valid_to": string(),
            })),
            "ImportMaterial": object(&["import_token", "encrypted_material"], json!({
                "import_token": b64("the token from the import parameters"),
                "encrypted_material": b64("the material wrapped under the parameters' public key"),
                "valid_to": string(),
            })),
            "PublicKey": object(&["pem", "der", "key_version", "spec"], json!({
                "pem": string(), "der": b64("DER SubjectPublicKeyInfo"), "key_version": string(), "spec": r("KeySpec"),
            })),
        }),
        json!({
            "Policy": object(&[], json!({
                "bindings": {"type": "array", "items": object(&["principal"], json!({
                    "principal": string(), "role": string(), "actions": {"type": "array", "items": string()},
                }))},
                "native": object(&["format", "document"], json!({"format": string(), "document": {}})),
                "etag": string(),
            })),
            "Encrypt": object(&["plaintext"], json!({
                "key": string(), "keys": {"type": "array", "items": string(), "description": "more keys: one wrapped copy of the data key per key"},
                "plaintext": b64("plaintext"), "context": r("EncryptionContext"),
            })),
            "Encrypted": object(&["ciphertext", "key_uri", "key_version"], json!({
                "ciphertext": b64("keygate envelope"), "key_uri": string(), "key_version": string(),
                "key_uris": {"type": "array", "items": string()},
            })),
            "NativeEncrypted": object(&["ciphertext", "key_version", "algorithm"], json!({
                "ciphertext": b64("provider-native ciphertext"), "key_version": string(),
                "algorithm": enumeration(&["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_256"]),
            })),
            "Random": object(&["bytes"], json!({
                "bytes": {"type": "integer", "minimum": 1, "maximum": 1024},
            })),
            "RandomBytes": object(&["random"], json!({ "random": b64("random bytes") })),
            "Decrypt": object(&["ciphertext"], json!({
                "ciphertext": b64("envelope, or a provider-native ciphertext with `key`"),
                "context": r("EncryptionContext"), "key": string(),
                "key_version": string(), "version": string(),
            })),
            "Decrypted": object(&["plaintext", "key_uri", "context"], json!({
                "plaintext": b64("plaintext"), "key_uri": string(), "key_version": nullable(string()),
                "context": r("EncryptionContext"),
            })),
            "GenerateDataKey": object(&["key"], json!({
                "key": string(), "spec": enumeration(&["AES_256", "AES_128"]),
                "bytes": {"type": "integer", "minimum": 1, "maximum": 1024, "description": "a data key of this many bytes, instead of spec"},
                "context": r("EncryptionContext"),
            })),
            "DataKey": object(&["plaintext", "ciphertext", "key_version"], json!({
                "plaintext": b64("data key"), "ciphertext": b64("wrapped data key"), "key_version": string(),
            })),
            "BeginEnvelope": object(&[], json!({
                "key": string(), "keys": {"type": "array", "items": string()}, "context": r("EncryptionContext"),
            })),
            "RewrapEnvelope": object(&["header"], json!({
                "header": b64("encoded envelope header"),
                "add": {"type": "array", "items": string()}, "remove": {"type": "array", "items": string()},
                "context": r("EncryptionContext"),
            })),
            "RewrappedEnvelope": object(&["header", "key_uris", "same_length"], json!({
                "header": b64("new encoded envelope header"), "key_uris": {"type": "array", "items": string()},
                "same_length": {"type": "boolean"},
            })),
            "SealingKey": object(&["header", "data_key"], json!({
                "header": b64("encoded envelope header"), "data_key": b64("data key"),
            })),
            "OpenEnvelope": object(&["header"], json!({
                "header": b64("encoded envelope header"), "context": r("EncryptionContext"),
            })),
            "DataKeyOnly": object(&["data_key"], json!({"data_key": b64("data key")})),
        }),
        json!({
            "Sign": object(&["key", "message", "algorithm"], json!({
                "key": string(), "message": b64("message, or its digest with message_type digest"),
                "algorithm": r("SigningAlgorithm"), "message_type": enumeration(&["raw", "digest"]),
                "key_version": string(), "version": string(),
            })),
            "Signature": object(&["signature", "key_version", "algorithm"], json!({
                "signature": b64("signature"), "key_version": string(), "algorithm": r("SigningAlgorithm"),
            })),
            "Verify": object(&["key", "message", "signature", "algorithm"], json!({
                "key": string(), "message": b64("message"), "signature": b64("signature"),
                "algorithm": r("SigningAlgorithm"), "key_version": string(), "version": string(),
                "message_type": enumeration(&["raw", "digest"]),
            })),
            "Valid": object(&["valid"], json!({"valid": {"type": "boolean"}})),
            "Mac": object(&["key", "message"], json!({
                "key": string(), "message": b64("message"), "key_version": string(), "version": string(),
            })),
            "MacTag": object(&["mac", "key_version", "algorithm"], json!({
                "mac": b64("tag"), "key_version": string(), "algorithm": r("MacAlgorithm"),
            })),
            "MacVerify": object(&["key", "message", "mac"], json!({
                "key": string(), "message": b64("message"), "mac": b64("tag"),
                "key_version": string(), "version": string(),
            })),
            "Alias": object(&["name", "target", "created"], json!({
                "name": string(),
                "target": object(&["provider", "id"], json!({"provider": string(), "id": string()})),
                "created": time(),
            })),
            "CreateAlias": object(&["name", "key"], json!({"name": string(), "key": string()})),
            "UpdateAlias": object(&["key"], json!({"key": string()})),
        }),
        json!({
            "AuditEvent": object(&["seq", "time", "request_id", "principal", "source", "action", "outcome", "duration_us", "prev_hash", "hash"], json!({
                "seq": {"type": "integer"}, "time": time(), "request_id": string(), "principal": string(),
                "source": string(), "action": string(), "provider": nullable(string()),
                "key": nullable(string()), "key_version": nullable(string()),
                "outcome": enumeration(&["success", "denied", "failure"]),
                "error_kind": nullable(string()), "duration_us": {"type": "integer"},
                "prev_hash": string(), "hash": string(),
            })),
            "AuditPage": object(&["items", "next_cursor"], json!({
                "items": {"type": "array", "items": r("AuditEvent")},
                "next_cursor": nullable(string()),
            })),
            "CostReport": object(&["since", "until", "providers", "keys", "monthly_usd", "requests_usd", "total_usd", "elsewhere", "prices"], json!({
                "since": time(), "until": time(),
                "providers": {"type": "array", "items": object(&["provider", "kind", "keys", "key_versions", "monthly_usd", "requests", "requests_usd", "total_usd", "elsewhere"], json!({
                    "provider": string(), "kind": string(), "keys": {"type": "integer"},
                    "key_versions": {"type": "integer"}, "monthly_usd": {"type": "number"},
                    "requests": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "requests_usd": {"type": "number"}, "total_usd": {"type": "number"},
                    "elsewhere": {"type": "object", "additionalProperties": {"type": "number"}},
                }))},
                "keys": {"type": "array", "items": object(&["uri", "provider", "kind", "spec", "versions", "monthly_usd", "requests", "requests_usd"], json!({
                    "uri": string(), "provider": string(), "kind": string(), "spec": string(),
                    "versions": {"type": "integer"}, "monthly_usd": {"type": "number"},
                    "requests": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "requests_usd": {"type": "number"},
                }))},
                "monthly_usd": {"type": "number"}, "requests_usd": {"type": "number"},
                "total_usd": {"type": "number"},
                "elsewhere": {"type": "object", "additionalProperties": {"type": "number"}},
                "notes": {"type": "array", "items": string()},
                "prices": {"type": "object"},
            })),
            "AuditVerification": object(&["rows"], json!({
                "rows": {"type": "integer"}, "head": nullable(string()),
                "first_broken": nullable(object(&["seq", "reason"], json!({"seq": {"type": "integer"}, "reason": string()}))),
                "root": string(), "unkeyed_rows": {"type": "integer"},
                "checkpoint": object(&["origin", "size", "root", "consistent"], json!({
                    "origin": string(), "size": {"type": "integer"}, "root": string(),
                    "consistent": {"type": "boolean"},
                })),
            })),
            "AuditCheckpoint": object(&["origin", "size", "root", "note", "public_key"], json!({
                "origin": string(), "size": {"type": "integer"}, "root": string(),
                "note": string(), "public_key": string(),
            })),
            "AuditInclusionProof": object(&["row", "leaf_index", "leaf_hash", "proof", "checkpoint"], json!({
                "row": r("AuditEvent"), "leaf_index": {"type": "integer"}, "leaf_hash": string(),
                "proof": {"type": "array", "items": string()}, "checkpoint": r("AuditCheckpoint"),
            })),
            "AuditConsistencyProof": object(&["old_size", "old_root", "proof", "checkpoint"], json!({
                "old_size": {"type": "integer"}, "old_root": string(),
                "proof": {"type": "array", "items": string()}, "checkpoint": r("AuditCheckpoint"),
            })),
            "TokenInfo": object(&["id", "principal", "role", "created"], json!({
                "id": string(), "principal": string(), "role": string(), "created": time(),
                "expires": nullable(time()), "revoked": nullable(time()),
                "kind": {"type": "string", "enum": ["bearer", "aws"], "default": "bearer"},
            })),
            "TokenRequest": object(&["principal", "role"], json!({
                "principal": string(), "role": string(),
                "expires_in_days": nullable(json!({"type": "integer", "minimum": 1})),
                "kind": {"type": "string", "enum": ["bearer", "aws"], "default": "bearer"},
            })),
            "GatewayStatus": gateway_status(),
            "IssuedToken": object(&["token", "info"], json!({"token": string(), "info": r("TokenInfo")})),
            "AccessPolicy": object(&[], json!({
                "roles": {"type": "object", "additionalProperties": {"type": "object"}},
                "statements": {"type": "array", "items": {"type": "object"}},
            })),
        }),
    ];
    let mut all = serde_json::Map::new();
    for part in parts {
        if let Value::Object(map) = part {
            all.extend(map);
        }
    }
    Value::Object(all)
}
