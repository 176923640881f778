//! Resource Manager's role assignments at a key's scope, over raw HTTPS: what keygate's Azure
//! provider relies on, plus the client mistakes it never makes.

use keygate_core::api::Gateway as _;
use keygate_core::audit::AuditQuery;
use keygate_core::{CreateKeyRequest, KeySpec};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::https;
use crate::support::TestGateway;

const PRINCIPAL: &str = "7d3f2c1b-9a8e-4f6d-b5c4-3a2b1c0d9e8f";
const READER: &str = "21090545-7ca7-4776-b22c-e363652d74d2";
const CRYPTO_USER: &str = "12338af0-0e69-4776-bea7-57ae8d297424";
const NAME: &str = "5f1c9e2a-7b3d-4c8e-9a1f-0b2c3d4e5f60";

fn scope(gw: &TestGateway, vault: &str, key: &str) -> String {
    format!(
        "{}/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}/providers/Microsoft.Authorization/roleAssignments",
        gw.azure_url
    )
}

fn body(role: &str, principal: &str) -> Value {
    json!({ "properties": {
        "roleDefinitionId": format!("/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": principal,
        "principalType": "Group",
    }})
}

#[tokio::test]
async fn role_assignments_are_the_keys_policy() {
    let gw = TestGateway::start().await;
    let token = gw.token("rbac-admin", "admin").await;
    let admin = gw.service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("rbac-key", KeySpec::Aes256))
        .await
        .unwrap();
    let http = https(&gw).build().unwrap();
    let base = scope(&gw, "keygate", "rbac-key");
    let v = "api-version=2022-04-01";
    let send = |req: reqwest::RequestBuilder| {
        let token = token.clone();
        async move {
            let r = req.bearer_auth(token).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let (s, listed) = send(http.get(format!("{base}?{v}&$filter=atScope()"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(listed["value"], json!([]));

    // PUT creates (201), the same again is 200, under the derived name it is listed.
    let (s, created) = send(
        http.put(format!("{base}/{NAME}?{v}"))
            .json(&body(READER, PRINCIPAL)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let derived = created["name"].as_str().unwrap().to_owned();
    assert_eq!(created["properties"]["principalType"], "Group");
    assert!(
        created["properties"]["roleDefinitionId"]
            .as_str()
            .unwrap()
            .ends_with(READER)
    );
    let (s, again) = send(
        http.put(format!("{base}/{derived}?{v}"))
            .json(&body(READER, PRINCIPAL)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    let (s, conflict) = send(
        http.put(format!("{base}/{NAME}?{v}"))
            .json(&body(READER, PRINCIPAL)),
    )
    .await;
    if derived != NAME {
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(conflict["error"]["code"], "RoleAssignmentExists");
    }
    let (s, one) = send(http.get(format!("{base}/{derived}?{v}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["properties"]["principalId"], PRINCIPAL);

    // keygate's own view of the key: a readable binding.
    let policy = admin
        .get_key_policy(&crate::support::kl("rbac-key"))
        .await
        .unwrap();
    assert_eq!(policy.value.bindings.len(), 1);
    assert_eq!(
        policy.value.bindings[0].principal,
        format!("group:{PRINCIPAL}")
    );
    assert_eq!(
        policy.value.bindings[0].role.as_deref(),
        Some("Key Vault Reader")
    );

    // A binding set through keygate that is no assignment survives PUT and DELETE.
    let mut with_other = policy.value.clone();
    with_other
        .bindings
        .push(keygate_core::Binding::role("user:alice", "admin"));
    admin
        .set_key_policy(&crate::support::kl("rbac-key"), with_other)
        .await
        .unwrap();
    let (s, _) = send(
        http.put(format!("{base}/{NAME}?{v}"))
            .json(&body(CRYPTO_USER, PRINCIPAL)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, listed) =
        send(http.get(format!("{base}?{v}&$filter=principalId eq '{PRINCIPAL}'"))).await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 2);
    let (s, deleted) = send(http.delete(format!("{base}/{derived}?{v}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(deleted["name"], derived.as_str());
    let (s, _) = send(http.delete(format!("{base}/{derived}?{v}"))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let principals: Vec<String> = admin
        .get_key_policy(&crate::support::kl("rbac-key"))
        .await
        .unwrap()
        .value
        .bindings
        .into_iter()
        .map(|b| b.principal)
        .collect();
    assert_eq!(
        principals,
        [format!("group:{PRINCIPAL}"), "user:alice".to_owned()]
    );

    // Client mistakes: 4xx in Resource Manager's shape.
    let cases = [
        (
            http.get(format!("{base}?api-version=2015-07-01")),
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
        ),
        (
            http.get(base.clone()),
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
        ),
        (
            http.get(format!("{base}/not-a-guid?{v}")),
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
        ),
        (
            http.get(format!("{base}/{NAME}?{v}")),
            StatusCode::NOT_FOUND,
            "RoleAssignmentNotFound",
        ),
        (
            http.get(format!("{base}?{v}&$filter=roleName eq 'x'")),
            StatusCode::BAD_REQUEST,
            "InvalidFilterInQueryString",
        ),
        (
            http.put(format!("{base}/{NAME}?{v}")).body("{"),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
        ),
        (
            http.put(format!("{base}/{NAME}?{v}"))
                .json(&body(READER, "bob")),
            StatusCode::BAD_REQUEST,
            "InvalidPrincipalId",
        ),
        (
            http.put(format!("{base}/{NAME}?{v}"))
                .json(&body("reader", PRINCIPAL)),
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
        ),
        (
            http.get(format!("{}?{v}", scope(&gw, "keygate", "no-such-key"))),
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
        ),
        (
            http.get(format!("{}?{v}", scope(&gw, "other-vault", "rbac-key"))),
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
        ),
        (
            http.post(format!("{base}/{NAME}?{v}")),
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
        ),
    ];
    for (req, status, code) in cases {
        let (s, answer) = send(req).await;
        assert_eq!(
            (s, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
    }
    // Without a token: 401.
    let r = http.get(format!("{base}?{v}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Every change went through the service layer, audited as the Azure dialect's.
    let sets = gw
        .service
        .audit()
        .query(&AuditQuery {
            action: Some("keys:policy:set".into()),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        // One outcome row per call (each also wrote an intent row before it acted).
        .filter(|e| e.source == "azure" && e.principal == "rbac-admin")
        .filter(|e| e.outcome != keygate_core::audit::AuditOutcome::Unknown)
        .count();
    assert_eq!(sets, 3, "two PUTs that created and one DELETE");
    gw.stop().await;
}
