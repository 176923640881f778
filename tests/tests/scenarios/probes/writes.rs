//! The dialects' own records are written through the audited service: GCP key rings and
//! version destroy requests each write exactly one row, refusals included.

use keygate_core::audit::{AuditEvent, AuditOutcome};

use super::outcome_rows;
use crate::support::TestGateway;

const LOC: &str = "projects/demo/locations/local";

fn summary(rows: &[AuditEvent]) -> Vec<(String, String, AuditOutcome, Option<String>)> {
    rows.iter()
        .map(|r| (r.source.clone(), r.action.clone(), r.outcome, r.key.clone()))
        .collect()
}

#[tokio::test]
async fn gcp_key_ring_creation_and_refusals_are_audited() {
    let gw = TestGateway::start().await;
    let ops = crate::gcp::client(&gw, &gw.token("ops", "operator").await).await;
    ops.create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("payments")
        .send()
        .await
        .unwrap();
    let ring = format!("{LOC}/keyRings/payments");
    assert_eq!(
        summary(&outcome_rows(&gw, "ops").await),
        vec![(
            "gcp".to_owned(),
            "keys:create".to_owned(),
            AuditOutcome::Success,
            Some(ring.clone())
        )]
    );
    // A second creation fails (it exists): one failure row.
    let again = ops
        .create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("payments")
        .send()
        .await;
    assert!(again.is_err());
    let rows = outcome_rows(&gw, "ops").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].outcome, AuditOutcome::Failure);

    // A caller who may create no key: refused, and the refusal is a `denied` row.
    let watcher = crate::gcp::client(&gw, &gw.token("watcher", "auditor").await).await;
    let create = watcher
        .create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("sneaky")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        crate::gcp::code(&create),
        google_cloud_gax::error::rpc::Code::PermissionDenied
    );
    // Reading a ring is audited too (the auditor may list keys).
    watcher.get_key_ring().set_name(&ring).send().await.unwrap();
    let rows = outcome_rows(&gw, "watcher").await;
    assert_eq!(
        rows.iter()
            .map(|r| (r.action.as_str(), r.outcome))
            .collect::<Vec<_>>(),
        vec![
            ("keys:create", AuditOutcome::Denied),
            ("keys:list", AuditOutcome::Success)
        ]
    );
    gw.stop().await;
}

/// Whether a gateway action changes state (the writes every door must audit).
fn is_write(action: &str) -> bool {
    matches!(
        action,
        "keys:create"
            | "keys:update"
            | "keys:enable"
            | "keys:disable"
            | "keys:delete"
            | "keys:undelete"
            | "keys:rotate"
            | "keys:policy:set"
            | "keys:import"
            | "aliases:write"
    )
}

/// The documented audit rows of each write of a dialect: the table under `## Audit rows of
/// each write` in its book page, `` | `<write>` | `<action>`, `<action>` | ``.
fn documented(page: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let path = format!("{}/../docs/src/dialects/{page}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let section = text
        .split("## Audit rows of each write")
        .nth(1)
        .unwrap_or_else(|| panic!("{page} has no `## Audit rows of each write` section"));
    let mut out = std::collections::BTreeMap::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(write) = cells[0].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
            continue;
        };
        let rows = if cells[1].starts_with("none") {
            Vec::new()
        } else {
            cells[1]
                .split(',')
                .map(|a| a.trim().trim_matches('`').to_owned())
                .collect()
        };
        out.insert(write.to_owned(), rows);
    }
    out
}

/// The actions of the rows `principal` gained since it had `before` rows.
async fn new_rows(gw: &TestGateway, principal: &str, before: &mut usize) -> Vec<String> {
    let rows = outcome_rows(gw, principal).await;
    let new = rows[*before..].iter().map(|r| r.action.clone()).collect();
    *before = rows.len();
    new
}

#[tokio::test]
async fn every_aws_write_operation_writes_its_documented_rows() {
    use aws_sdk_kms::types::Tag;
    let gw = TestGateway::start().await;
    let c = crate::aws::client(&gw, "writer", "admin").await;
    let docs = documented("aws.md");
    let writes: Vec<&str> = keygate_http::dialect::aws::OPERATIONS
        .iter()
        .filter(|(_, action)| is_write(action.as_str()))
        .map(|(op, _)| *op)
        .collect();
    assert!(writes.len() >= 10, "{writes:?}");
    let key = c
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    // A key of imported material, for the three import operations.
    let ext = c
        .create_key()
        .origin(aws_sdk_kms::types::OriginType::External)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let mut params = None;
    let mut before = outcome_rows(&gw, "writer").await.len();
    let tag = Tag::builder()
        .tag_key("team")
        .tag_value("pay")
        .build()
        .unwrap();
    let mut seen = Vec::new();
    // Run in an order where each write can succeed; every write of the table must appear.
    let order = [
        "CreateKey",
        "UpdateKeyDescription",
        "TagResource",
        "UntagResource",
        "DisableKey",
        "EnableKey",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
        "PutKeyPolicy",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "GetParametersForImport",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
    ];
    for op in order {
        let k = key.as_str();
        let ok = match op {
            "CreateKey" => c.create_key().send().await.is_ok(),
            "UpdateKeyDescription" => c.update_key_description().key_id(k).description("d").send().await.is_ok(),
            "TagResource" => c.tag_resource().key_id(k).tags(tag.clone()).send().await.is_ok(),
            "UntagResource" => c.untag_resource().key_id(k).tag_keys("team").send().await.is_ok(),
            "DisableKey" => c.disable_key().key_id(k).send().await.is_ok(),
            "EnableKey" => c.enable_key().key_id(k).send().await.is_ok(),
            "EnableKeyRotation" => c.enable_key_rotation().key_id(k).send().await.is_ok(),
            "DisableKeyRotation" => c.disable_key_rotation().key_id(k).send().await.is_ok(),
            "RotateKeyOnDemand" => c.rotate_key_on_demand().key_id(k).send().await.is_ok(),
            "PutKeyPolicy" => c
                .put_key_policy()
                .key_id(k)
                .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"billing"},"Action":["kms:Encrypt"],"Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"kms:*","Resource":"*"}]}"#)
                .send()
                .await
                .is_ok(),
            "CreateAlias" => c.create_alias().alias_name("alias/w").target_key_id(k).send().await.is_ok(),
            "UpdateAlias" => c.update_alias().alias_name("alias/w").target_key_id(k).send().await.is_ok(),
            "DeleteAlias" => c.delete_alias().alias_name("alias/w").send().await.is_ok(),
            "ScheduleKeyDeletion" => c.schedule_key_deletion().key_id(k).send().await.is_ok(),
            "CancelKeyDeletion" => c.cancel_key_deletion().key_id(k).send().await.is_ok(),
            "GetParametersForImport" => {
                params = c
                    .get_parameters_for_import()
                    .key_id(&ext)
                    .wrapping_algorithm(aws_sdk_kms::types::AlgorithmSpec::RsaesOaepSha256)
                    .wrapping_key_spec(aws_sdk_kms::types::WrappingKeySpec::Rsa2048)
                    .send()
                    .await
                    .ok();
                params.is_some()
            }
            "ImportKeyMaterial" => {
                let p = params.take().unwrap();
                let wrapped = keygate_core::import::wrap_material(
                    p.public_key().unwrap().as_ref(),
                    keygate_core::WrappingAlgorithm::RsaesOaepSha256,
                    &[9u8; 32],
                )
                .unwrap();
                c.import_key_material()
                    .key_id(&ext)
                    .import_token(p.import_token().unwrap().clone())
                    .encrypted_key_material(aws_sdk_kms::primitives::Blob::new(wrapped))
                    .expiration_model(
                        aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire,
                    )
                    .send()
                    .await
                    .is_ok()
            }
            "DeleteImportedKeyMaterial" => c
                .delete_imported_key_material()
                .key_id(&ext)
                .send()
                .await
                .is_ok(),
            other => panic!("no case for {other}"),
        };
        assert!(ok, "{op} failed");
        let rows = new_rows(&gw, "writer", &mut before).await;
        let expected = docs
            .get(op)
            .unwrap_or_else(|| panic!("aws.md documents no audit rows for {op} (saw {rows:?})"));
        assert_eq!(&rows, expected, "{op}");
        seen.push(op);
    }
    let mut writes = writes;
    writes.sort_unstable();
    seen.sort_unstable();
    assert_eq!(
        writes, seen,
        "every write operation of the dispatcher is exercised"
    );
    gw.stop().await;
}

#[tokio::test]
async fn every_gcp_write_method_writes_its_documented_rows() {
    let gw = TestGateway::start().await;
    let token = gw.token("writer", "admin").await;
    let http = reqwest::Client::new();
    let docs = documented("gcp.md");
    let fill = |t: &str| {
        t.replace("{p}", "demo")
            .replace("{l}", "local")
            .replace("{r}", "w-ring")
            .replace("{k}", "w-key")
            .replace("{v}", "1")
    };
    let writes: Vec<(&str, &str)> = keygate_http::dialect::gcp::METHODS
        .iter()
        .copied()
        .filter(|(m, t)| {
            keygate_http::dialect::gcp::method_action(m, &fill(t))
                .is_some_and(|a| is_write(a.as_str()))
        })
        .collect();
    assert!(writes.len() >= 6, "{writes:?}");
    let ring = "projects/{p}/locations/{l}/keyRings";
    let key = "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}";
    let version = "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}";
    // Each write, in an order where it can succeed, with its query and body.
    let cases: Vec<(&str, String, &str, serde_json::Value)> = vec![
        (
            "POST",
            ring.to_owned(),
            "keyRingId=w-ring",
            serde_json::json!({}),
        ),
        (
            "POST",
            format!("{ring}/{{r}}/cryptoKeys"),
            "cryptoKeyId=w-key",
            serde_json::json!({"purpose": "ENCRYPT_DECRYPT"}),
        ),
        (
            "PATCH",
            key.to_owned(),
            "updateMask=labels",
            serde_json::json!({"labels": {"team": "pay"}}),
        ),
        (
            "POST",
            format!("{key}:setIamPolicy"),
            "",
            serde_json::json!({"policy": {"bindings": [{"role": "roles/cloudkms.viewer", "members": ["user:a@x"]}]}}),
        ),
        (
            "POST",
            format!("{key}/cryptoKeyVersions"),
            "",
            serde_json::json!({}),
        ),
        (
            "POST",
            format!("{key}:updatePrimaryVersion"),
            "",
            serde_json::json!({"cryptoKeyVersionId": "1"}),
        ),
        (
            "PATCH",
            version.replace("{v}", "2"),
            "updateMask=state",
            serde_json::json!({"state": "DISABLED"}),
        ),
        (
            "POST",
            format!("{}:destroy", version.replace("{v}", "2")),
            "",
            serde_json::json!({}),
        ),
        (
            "POST",
            format!("{}:restore", version.replace("{v}", "2")),
            "",
            serde_json::json!({}),
        ),
        (
            "POST",
            format!("{ring}/{{r}}:setIamPolicy"),
            "",
            serde_json::json!({"policy": {}}),
        ),
    ];
    let mut before = outcome_rows(&gw, "writer").await.len();
    let mut seen = Vec::new();
    for (method, template, query, body) in &cases {
        let url = format!("{}/v1/{}?{query}", gw.base, fill(template));
        let resp = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
            )
            .bearer_auth(&token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let rows = new_rows(&gw, "writer", &mut before).await;
        // The route as the table names it (a version path written with a concrete id).
        let route = format!(
            "{method} {}",
            template.replace("cryptoKeyVersions/2", "cryptoKeyVersions/{v}")
        );
        let expected = docs.get(&route).unwrap_or_else(|| {
            panic!("gcp.md documents no audit rows for {route} (saw {rows:?}, {status} {text})")
        });
        assert_eq!(&rows, expected, "{route}: {status} {text}");
        seen.push(route);
    }
    let mut table: Vec<String> = writes.iter().map(|(m, t)| format!("{m} {t}")).collect();
    table.sort();
    seen.sort();
    seen.dedup();
    assert_eq!(
        table, seen,
        "every write method of the routing table is exercised"
    );
    gw.stop().await;
}

#[tokio::test]
async fn every_azure_write_route_writes_its_documented_rows() {
    let gw = TestGateway::start().await;
    let token = gw.token("writer", "admin").await;
    let ca = std::fs::read(&gw.azure_ca).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    let docs = documented("azure.md");
    let concrete = |t: &str, v: &str| t.replace("{n}", "w-key").replace("{v}", v);
    let writes: Vec<String> = keygate_http::dialect::azure::ROUTES
        .iter()
        .filter(|(m, t)| {
            keygate_http::dialect::azure::route_action(m, &concrete(t, "1"))
                .is_some_and(|a| is_write(a.as_str()))
        })
        .map(|(m, t)| format!("{m} {t}"))
        .collect();
    assert!(writes.len() >= 6, "{writes:?}");
    let cases = [
        (
            "POST",
            "/keys/{n}/create",
            serde_json::json!({"kty": "oct-HSM"}),
        ),
        (
            "PATCH",
            "/keys/{n}",
            serde_json::json!({"tags": {"team": "pay"}}),
        ),
        (
            "PATCH",
            "/keys/{n}/{v}",
            serde_json::json!({"tags": {"team": "ops"}}),
        ),
        ("POST", "/keys/{n}/rotate", serde_json::json!(null)),
        (
            "PUT",
            "/keys/{n}/rotationpolicy",
            serde_json::json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "P90D"}, "action": {"type": "Rotate"}}]}),
        ),
        ("DELETE", "/keys/{n}", serde_json::json!(null)),
        ("POST", "/deletedkeys/{n}/recover", serde_json::json!(null)),
    ];
    let mut before = outcome_rows(&gw, "writer").await.len();
    let mut version = String::from("1");
    let mut seen = Vec::new();
    for (method, template, body) in cases {
        let url = format!(
            "{}{}?api-version=7.5",
            gw.azure_url,
            concrete(template, &version)
        );
        let mut req = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
            )
            .bearer_auth(&token);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let answer: serde_json::Value = resp.json().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "{method} {template}: {status} {answer}"
        );
        if let Some(kid) = answer["key"]["kid"].as_str() {
            version = kid.rsplit('/').next().unwrap().to_owned();
        }
        let rows = new_rows(&gw, "writer", &mut before).await;
        let route = format!("{method} {template}");
        let expected = docs.get(&route).unwrap_or_else(|| {
            panic!("azure.md documents no audit rows for {route} (saw {rows:?})")
        });
        assert_eq!(&rows, expected, "{route}");
        seen.push(route);
    }
    let mut writes = writes;
    writes.sort();
    seen.sort();
    assert_eq!(
        writes, seen,
        "every write route of the routing table is exercised"
    );
    gw.stop().await;
}

#[tokio::test]
async fn every_azure_arm_write_route_writes_its_documented_rows_and_refusals_are_denied() {
    use keygate_core::api::Gateway as _;
    let gw = TestGateway::start().await;
    let token = gw.token("writer", "admin").await;
    let watcher = gw.token("arm-watcher", "auditor").await;
    gw.service
        .local_admin()
        .create_key(
            None,
            keygate_core::CreateKeyRequest::new("w-arm", keygate_core::KeySpec::Aes256),
        )
        .await
        .unwrap();
    let ca = std::fs::read(&gw.azure_ca).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    let docs = documented("azure.md");
    const ASSIGNMENT: &str = "5f1c9e2a-7b3d-4c8e-9a1f-0b2c3d4e5f60";
    let concrete = |t: &str, a: &str| {
        t.replace("{s}", "sub-1")
            .replace("{g}", "rg")
            .replace("{vault}", "keygate")
            .replace("{n}", "w-arm")
            .replace("{a}", a)
    };
    let writes: Vec<(&str, &str)> = keygate_http::dialect::azure::ARM_ROUTES
        .iter()
        .copied()
        .filter(|(m, t)| {
            keygate_http::dialect::azure::arm_route_action(m, &concrete(t, ASSIGNMENT))
                .is_some_and(|a| is_write(a.as_str()))
        })
        .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let body = serde_json::json!({ "properties": {
        "roleDefinitionId": "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/21090545-7ca7-4776-b22c-e363652d74d2",
        "principalId": "7d3f2c1b-9a8e-4f6d-b5c4-3a2b1c0d9e8f",
        "principalType": "Group",
    }});
    let send = |method: &str, template: &str, name: &str, bearer: &str| {
        let url = format!(
            "{}{}?api-version=2022-04-01",
            gw.azure_url,
            concrete(template, name)
        );
        let req = http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .bearer_auth(bearer);
        let req = if method == "PUT" {
            req.json(&body)
        } else {
            req
        };
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (
                status,
                resp.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // PUT first (it makes the assignment), then DELETE of it by its derived name.
    let mut before = outcome_rows(&gw, "writer").await.len();
    let mut watched = 0;
    let mut name = ASSIGNMENT.to_owned();
    let mut seen = Vec::new();
    for method in ["PUT", "DELETE"] {
        let (_, template) = *writes.iter().find(|(m, _)| *m == method).unwrap();
        // A caller who may read the key's policy but not change it: refused, and the
        // refusal is a `denied` row (after its read); nothing changes.
        let (status, answer) = send(method, template, &name, &watcher).await;
        assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{method}: {answer}");
        let rows = outcome_rows(&gw, "arm-watcher").await;
        let last = rows.last().unwrap();
        assert_eq!(
            (last.action.as_str(), last.outcome),
            ("keys:policy:set", AuditOutcome::Denied),
            "{method}"
        );
        assert!(rows.len() > watched, "{method}: no row for the refusal");
        watched = rows.len();

        let (status, answer) = send(method, template, &name, &token).await;
        assert!(
            status.is_success(),
            "{method} {template}: {status} {answer}"
        );
        if let Some(derived) = answer["name"].as_str() {
            name = derived.to_owned();
        }
        let rows = new_rows(&gw, "writer", &mut before).await;
        let route = format!("{method} {template}");
        let expected = docs.get(&route).unwrap_or_else(|| {
            panic!("azure.md documents no audit rows for {route} (saw {rows:?})")
        });
        assert_eq!(&rows, expected, "{route}");
        seen.push((method, template));
    }
    let mut writes = writes;
    writes.sort_unstable();
    seen.sort_unstable();
    assert_eq!(
        writes, seen,
        "every write route of the ARM table is exercised"
    );
    // Every write has its intent row before its outcome row.
    let all = gw
        .service
        .local_admin()
        .query_audit(&keygate_core::audit::AuditQuery {
            principal: Some("writer".into()),
            action: Some("keys:policy:set".into()),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let intents = all
        .iter()
        .filter(|r| r.outcome == AuditOutcome::Unknown)
        .count();
    assert_eq!(intents, 2, "{all:?}");
    for r in all.iter().filter(|r| r.outcome == AuditOutcome::Success) {
        let intent = all.iter().find(|i| Some(i.seq) == r.intent_seq).unwrap();
        assert_eq!(intent.request_id, r.request_id);
    }
    gw.stop().await;
}
