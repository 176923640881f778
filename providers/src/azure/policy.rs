//! Key policies as Azure RBAC role assignments at the key's scope, through Azure Resource
//! Manager.
//!
//! The scope of key `k` is
//! `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{k}`.
//! `get_policy` lists the assignments `atScope()` and keeps those made at exactly that scope;
//! each is one binding `Binding::role(principalId, role)`, the role named as Azure names its
//! built-in Key Vault roles ([`BUILT_IN_ROLES`](keygate_core::native::azure::BUILT_IN_ROLES)) or, for any other role, by its GUID.
//! `set_policy` accepts either, PUTs the assignments that are missing (named by a UUID v5 of
//! scope, principal and role, so a retried call changes nothing) and DELETEs the ones no
//! longer wanted. The native format [`FORMAT`](keygate_core::native::azure::FORMAT) is `{"roleAssignments": [...]}` as Resource
//! Manager returns them. Assignments have no etag.

use std::collections::BTreeMap;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::policies::Policy as HttpPolicy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, StatusCode, Url,
};
use keygate_core::native::azure::{FORMAT, assignment_name, is_guid, role_guid, role_name};
use keygate_core::{Binding, Error, NativePolicy, Policy, Result};
use serde::{Deserialize, Serialize};

use super::AzureKeyVaultProvider;
use super::error::{from_sdk, is_status};

/// The Authorization API version.
const API_VERSION: &str = "2022-04-01";
/// Resource Manager, scoped to one vault.
pub(crate) struct Arm {
    pipeline: Pipeline,
    endpoint: String,
    subscription: String,
    vault_scope: String,
}

/// One role assignment as Resource Manager writes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// The assignment's name (a GUID).
    #[serde(default)]
    pub name: String,
    /// Its properties.
    pub properties: Properties,
}

/// A role assignment's properties.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Properties {
    /// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: String,
    /// The principal's object id.
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
    /// Where it is assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentList {
    #[serde(default)]
    value: Vec<Assignment>,
    #[serde(default)]
    next_link: Option<String>,
}

/// The native document.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    role_assignments: Vec<Assignment>,
}

impl Arm {
    /// Resource Manager at `endpoint` with `credential` (scope `{endpoint}/.default`),
    /// for vault `vault` of resource group `group` in `subscription`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an endpoint that is not an https URL.
    pub(crate) fn new(
        endpoint: &str,
        credential: Arc<dyn TokenCredential>,
        options: ClientOptions,
        subscription: &str,
        group: &str,
        vault: &str,
        _provider: &str,
    ) -> Result<Self> {
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        let url = Url::parse(&endpoint)
            .map_err(|e| Error::invalid(format!("management_endpoint `{endpoint}`: {e}")))?;
        if url.scheme() != "https" {
            return Err(Error::invalid(format!(
                "management_endpoint `{endpoint}` is not an https URL"
            )));
        }
        let auth: Arc<dyn HttpPolicy> = Arc::new(BearerTokenAuthorizationPolicy::new(
            credential,
            [format!("{endpoint}/.default")],
        ));
        let pipeline = Pipeline::new(
            Some("keygate"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            vec![auth],
            None,
        );
        Ok(Self {
            pipeline,
            endpoint,
            subscription: subscription.to_owned(),
            vault_scope: format!(
                "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
            ),
        })
    }

    /// The scope of key `name`.
    fn scope(&self, name: &str) -> String {
        format!("{}/keys/{name}", self.vault_scope)
    }

    fn url(&self, path: &str, query: &str) -> Result<Url> {
        Url::parse(&format!("{}{path}?{query}", self.endpoint))
            .map_err(|e| Error::invalid(format!("cannot form a Resource Manager URL: {e}")))
    }

    async fn send(
        &self,
        request: &mut Request,
    ) -> azure_core::Result<azure_core::http::RawResponse> {
        self.pipeline
            .send(
                &Context::new(),
                request,
                Some(PipelineSendOptions::default()),
            )
            .await
    }

    /// The assignments made at exactly the scope of key `name`.
    pub(crate) async fn list(&self, provider: &str, name: &str) -> Result<Vec<Assignment>> {
        let scope = self.scope(name);
        let what = format!("list role assignments({name})");
        let mut url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            &format!("api-version={API_VERSION}&$filter=atScope()"),
        )?;
        let mut out = Vec::new();
        loop {
            let mut request = Request::new(url, Method::Get);
            request.insert_header("accept", "application/json");
            let raw = self
                .send(&mut request)
                .await
                .map_err(|e| from_sdk(&e, provider, &what))?;
            let page: AssignmentList = serde_json::from_slice(raw.body().as_ref())
                .map_err(|e| Error::provider(provider, format!("{what}: {e}")))?;
            out.extend(page.value.into_iter().filter(|a| {
                a.properties
                    .scope
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(&scope))
            }));
            match page.next_link.filter(|l| !l.is_empty()) {
                Some(next) => {
                    url = Url::parse(&next)
                        .map_err(|e| Error::provider(provider, format!("{what}: {e}")))?;
                }
                None => return Ok(out),
            }
        }
    }

    /// Assigns role `guid` to `principal` at the scope of key `name`.
    async fn put(
        &self,
        provider: &str,
        name: &str,
        principal: &str,
        guid: &str,
        principal_type: Option<String>,
    ) -> Result<()> {
        let scope = self.scope(name);
        let assignment = assignment_name(&scope, principal, guid);
        let what = format!("assign role {guid} to {principal} on key {name}");
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}"),
            &format!("api-version={API_VERSION}"),
        )?;
        let body = Assignment {
            name: String::new(),
            properties: Properties {
                role_definition_id: format!(
                    "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                    self.subscription
                ),
                principal_id: principal.to_owned(),
                principal_type,
                scope: None,
            },
        };
        let body = serde_json::json!({ "properties": body.properties });
        let mut request = Request::new(url, Method::Put);
        request.insert_header("accept", "application/json");
        request.insert_header("content-type", "application/json");
        request.set_body(body.to_string());
        match self.send(&mut request).await {
            Ok(_) => Ok(()),
            // Assigned already (by someone else under another name): what was wanted.
            Err(e) if is_status(&e, StatusCode::Conflict) => Ok(()),
            Err(e) => Err(from_sdk(&e, provider, &what)),
        }
    }

    /// Removes assignment `assignment` from the scope of key `name`.
    async fn delete(&self, provider: &str, name: &str, assignment: &str) -> Result<()> {
        let scope = self.scope(name);
        let what = format!("remove role assignment {assignment} from key {name}");
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}"),
            &format!("api-version={API_VERSION}"),
        )?;
        let mut request = Request::new(url, Method::Delete);
        request.insert_header("accept", "application/json");
        match self.send(&mut request).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, StatusCode::NotFound) => Ok(()),
            Err(e) => Err(from_sdk(&e, provider, &what)),
        }
    }
}

/// The unified policy of `assignments`, with them as the native document.
fn policy_of(assignments: Vec<Assignment>) -> Result<Policy> {
    let bindings = assignments
        .iter()
        .map(|a| {
            let guid = a
                .properties
                .role_definition_id
                .rsplit('/')
                .next()
                .unwrap_or_default();
            Binding::role(
                a.properties.principal_id.to_ascii_lowercase(),
                role_name(guid),
            )
        })
        .collect();
    let mut policy = Policy::from_bindings(bindings);
    policy.native = Some(NativePolicy {
        format: FORMAT.to_owned(),
        document: serde_json::to_value(Document {
            role_assignments: assignments,
        })
        .map_err(|e| Error::invalid(format!("cannot serialize the role assignments: {e}")))?,
    });
    Ok(policy)
}

/// The (principal, role GUID) pairs `policy` asks for, with the principal types its native
/// document names.
///
/// # Errors
/// [`Error::InvalidArgument`] for a native document of another format or shape, a binding of
/// actions, a principal that is not an object id (GUID), or an unknown role.
fn wanted(policy: &Policy) -> Result<BTreeMap<(String, String), Option<String>>> {
    let mut out = BTreeMap::new();
    match &policy.native {
        Some(native) => {
            if native.format != FORMAT {
                return Err(Error::invalid(format!(
                    "Azure role assignments have format `{FORMAT}`, not `{}`",
                    native.format
                )));
            }
            let doc: Document = serde_json::from_value(native.document.clone()).map_err(|e| {
                Error::invalid(format!(
                    "the `{FORMAT}` document is not {{\"roleAssignments\": [...]}}: {e}"
                ))
            })?;
            for a in doc.role_assignments {
                let p = principal(&a.properties.principal_id)?;
                let g = role_guid(&a.properties.role_definition_id)?;
                out.insert((p, g), a.properties.principal_type);
            }
        }
        None => {
            for b in policy.normalized_bindings() {
                let Some(role) = b.role.as_deref().filter(|r| !r.trim().is_empty()) else {
                    return Err(Error::invalid(format!(
                        "Azure RBAC assigns roles, not actions: the binding of `{}` has no role",
                        b.principal
                    )));
                };
                out.insert((principal(&b.principal)?, role_guid(role)?), None);
            }
        }
    }
    Ok(out)
}

fn principal(p: &str) -> Result<String> {
    let p = p.trim();
    if is_guid(p) {
        Ok(p.to_ascii_lowercase())
    } else {
        Err(Error::invalid(format!(
            "principal `{p}` is not an Entra ID object id (a GUID)"
        )))
    }
}

impl AzureKeyVaultProvider {
    fn arm(&self, op: &str) -> Result<&Arm> {
        self.arm.as_ref().ok_or_else(|| {
            Error::unsupported(format!(
                "{op}: provider `{}` manages no role assignments (set subscription_id and resource_group)",
                self.info.name
            ))
        })
    }

    /// The role assignments at the key's scope.
    pub(super) async fn policy(&self, key_id: &str) -> Result<Policy> {
        self.vault.key(key_id).await?;
        let arm = self.arm("get_policy")?;
        policy_of(arm.list(&self.info.name, key_id).await?)
    }

    /// Makes the key's role assignments those `policy` asks for.
    pub(super) async fn put_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        self.vault.key(key_id).await?;
        let arm = self.arm("set_policy")?;
        let wanted = wanted(&policy)?;
        let current = arm.list(&self.info.name, key_id).await?;
        let mut have: BTreeMap<(String, String), String> = BTreeMap::new();
        for a in &current {
            let guid = a
                .properties
                .role_definition_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            have.insert(
                (a.properties.principal_id.to_ascii_lowercase(), guid),
                a.name.clone(),
            );
        }
        for ((p, g), kind) in &wanted {
            if !have.contains_key(&(p.clone(), g.clone())) {
                arm.put(&self.info.name, key_id, p, g, kind.clone()).await?;
            }
        }
        for (pair, name) in &have {
            if !wanted.contains_key(pair) {
                arm.delete(&self.info.name, key_id, name).await?;
            }
        }
        tracing::info!(provider = %self.info.name, key = %key_id, assignments = wanted.len(), "set the key's role assignments");
        policy_of(arm.list(&self.info.name, key_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_and_native_documents_become_wanted_assignments() {
        let p = "6F1E0D3C-9A7B-4C2E-8D5F-1A2B3C4D5E6F";
        let policy = Policy::from_bindings(vec![Binding::role(p, "Key Vault Reader")]);
        let w = wanted(&policy).unwrap();
        assert!(w.contains_key(&(
            p.to_ascii_lowercase(),
            "21090545-7ca7-4776-b22c-e363652d74d2".to_owned()
        )));
        for bad in [
            Policy::from_bindings(vec![Binding::actions(p, ["keys:encrypt"])]),
            Policy::from_bindings(vec![Binding::role("user:alice", "Key Vault Reader")]),
            Policy::from_bindings(vec![Binding::role(p, "Owner")]),
        ] {
            assert!(wanted(&bad).is_err(), "{bad:?}");
        }
        let listed = vec![Assignment {
            name: "n1".into(),
            properties: Properties {
                role_definition_id: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/12338af0-0e69-4776-bea7-57ae8d297424".into(),
                principal_id: p.into(),
                principal_type: Some("ServicePrincipal".into()),
                scope: Some("/x".into()),
            },
        }];
        let read = policy_of(listed).unwrap();
        assert_eq!(
            read.bindings,
            [Binding::role(
                p.to_ascii_lowercase(),
                "Key Vault Crypto User"
            )]
        );
        // The native document sets back as it reads.
        let again = wanted(&read).unwrap();
        assert_eq!(
            again.get(&(
                p.to_ascii_lowercase(),
                "12338af0-0e69-4776-bea7-57ae8d297424".to_owned()
            )),
            Some(&Some("ServicePrincipal".to_owned()))
        );
        let other = Policy {
            native: Some(NativePolicy {
                format: "gcp-iam".into(),
                document: serde_json::json!({}),
            }),
            ..Policy::default()
        };
        assert!(wanted(&other).is_err());
    }
}
