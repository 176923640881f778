//! Azure Resource Manager's role assignments at a key's scope: the few routes keygate's Azure
//! provider (and `az role assignment`) use to read and edit a key's access policy.
//!
//! ```text
//! S = /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}
//! GET    S/providers/Microsoft.Authorization/roleAssignments[?$filter=atScope()|principalId eq '{id}']
//! GET    S/providers/Microsoft.Authorization/roleAssignments/{name}
//! PUT    S/providers/Microsoft.Authorization/roleAssignments/{name}
//! DELETE S/providers/Microsoft.Authorization/roleAssignments/{name}
//! ```
//!
//! Any subscription and resource group are accepted; the vault must be the dialect's. The
//! assignments ARE the key's keygate policy: every route is a `get_key_policy` (and, for PUT
//! and DELETE, a `set_key_policy`) of the caller's session, checked and audited like any other
//! call. An assignment is the binding `Binding::role(principal, role)` where the principal is
//! the object id (`group:`, `serviceprincipal:`, `foreigngroup:` or `device:` before it for
//! principal types other than `User`) and the role is a built-in role's name
//! ([`BUILT_IN_ROLES`]) or the role definition's GUID. Bindings that are not of this form are
//! not listed, and kept as they are by PUT and DELETE.
//!
//! Assignment names are derived, as keygate's provider derives them
//! ([`assignment_name`]: a UUID v5 of scope, principal and role): a PUT under another name
//! is accepted and the assignment is listed under its derived name. Assignments carry no
//! creation dates.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use keygate_core::api::Gateway as _;
use keygate_core::native::azure::{BUILT_IN_ROLES, assignment_name};
use keygate_core::{Binding, Error, KeyLocator, Policy};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AzureState;
use super::arm_routes::{Target, eq, is_guid, parse_path};
use super::auth;
use keygate_server::service::Session;

/// The role-assignment API versions keygate answers.
pub const API_VERSIONS: [&str; 5] = [
    "2020-04-01-preview",
    "2020-08-01-preview",
    "2020-10-01-preview",
    "2022-01-01-preview",
    "2022-04-01",
];

const ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";

/// ARM principal types and the prefix keygate's bindings give them (`User` has none).
const PRINCIPAL_TYPES: [(&str, &str); 5] = [
    ("User", ""),
    ("Group", "group:"),
    ("ServicePrincipal", "serviceprincipal:"),
    ("ForeignGroup", "foreigngroup:"),
    ("Device", "device:"),
];

/// An error in Resource Manager's shape.
#[derive(Debug)]
struct ArmError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ArmError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", message)
    }

    /// The answer for a keygate error; client mistakes stay 4xx.
    fn from_core(err: Error, scope: &str) -> Self {
        match err {
            Error::NotFound(_) => Self::not_found(format!("The resource '{scope}' was not found.")),
            Error::InvalidArgument(m) | Error::Unsupported(m) => Self::bad("InvalidRequest", m),
            Error::PermissionDenied(_) => Self::new(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!(
                    "The client does not have authorization to manage role assignments over scope '{scope}'."
                ),
            ),
            Error::Unauthenticated(_) => Self::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            ),
            Error::Throttled { .. } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests; retry later.",
            ),
            Error::InvalidState(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            Error::InvalidKeyUsage(m) => Self::new(StatusCode::BAD_REQUEST, "BadRequest", m),
            Error::Unavailable { message: what, .. } => {
                tracing::warn!(%what, "azure dialect (arm): unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                )
            }
            other => {
                tracing::error!(error = %other, "azure dialect (arm): internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "The server encountered an internal error.",
                )
            }
        }
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .extensions_mut()
            .insert(crate::shape::Shaped(crate::shape::Door::Azure));
        response
    }
}

/// One assignment as keygate's binding encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment {
    principal_id: String,
    principal_type: &'static str,
    role_guid: String,
}

impl Assignment {
    /// The assignment a binding stands for, when it stands for one.
    fn of(binding: &Binding) -> Option<Self> {
        if !binding.actions.is_empty() {
            return None;
        }
        let role = binding.role.as_deref()?;
        let role_guid = BUILT_IN_ROLES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(role))
            .map(|(_, guid)| (*guid).to_owned())
            .or_else(|| is_guid(role).then(|| role.to_ascii_lowercase()))?;
        let (principal_type, id) = PRINCIPAL_TYPES.iter().rev().find_map(|(ty, prefix)| {
            let lower = binding.principal.to_ascii_lowercase();
            lower
                .strip_prefix(prefix)
                .map(|id| (*ty, id.to_owned()))
                .filter(|_| !prefix.is_empty() || !lower.contains(':'))
        })?;
        is_guid(&id).then_some(Self {
            principal_id: id,
            principal_type,
            role_guid,
        })
    }

    /// The binding keygate keeps for it.
    fn binding(&self) -> Binding {
        let prefix = PRINCIPAL_TYPES
            .iter()
            .find(|(ty, _)| *ty == self.principal_type)
            .map_or("", |(_, p)| p);
        let role = BUILT_IN_ROLES
            .iter()
            .find(|(_, guid)| *guid == self.role_guid)
            .map_or(self.role_guid.clone(), |(name, _)| (*name).to_owned());
        Binding::role(format!("{prefix}{}", self.principal_id), role)
    }

    fn name(&self, scope: &str) -> String {
        assignment_name(scope, &self.principal_id, &self.role_guid)
    }

    fn same_grant(&self, other: &Self) -> bool {
        self.principal_id == other.principal_id && self.role_guid == other.role_guid
    }

    fn json(&self, t: &Target) -> Value {
        let name = self.name(&t.scope);
        json!({
            "id": format!("{}/providers/{ASSIGNMENT_TYPE}/{name}", t.scope),
            "name": name,
            "type": ASSIGNMENT_TYPE,
            "properties": {
                "roleDefinitionId": format!(
                    "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                    t.subscription, self.role_guid
                ),
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "scope": t.scope,
            }
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutBody {
    properties: PutProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutProperties {
    role_definition_id: String,
    principal_id: String,
    #[serde(default)]
    principal_type: Option<String>,
}

/// Handles every `/subscriptions/...` request on the Azure listener.
pub(super) async fn handle(State(state): State<AzureState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let limit = state.edge.body_limit;
    let body = axum::body::to_bytes(body, limit).await;
    let session = match auth::authenticate(&state, &parts, None, false).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let run = async {
        let body = body.map_err(|_| {
            ArmError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLarge",
                format!("The request body is larger than {limit} bytes."),
            )
        })?;
        route(&state, &session, &parts, &body).await
    };
    match run.await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn route(
    state: &AzureState,
    session: &Session,
    parts: &Parts,
    body: &[u8],
) -> Result<Response, ArmError> {
    let path = parts.uri.path();
    let Some(t) = parse_path(path) else {
        return Err(ArmError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The requested path is not served by this endpoint.",
        ));
    };
    let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .map_err(|_| ArmError::bad("InvalidRequest", "The query string is malformed."))?;
    match query.get("api-version").map(String::as_str) {
        Some(v) if API_VERSIONS.contains(&v) => {}
        Some(v) => {
            return Err(ArmError::bad(
                "InvalidApiVersionParameter",
                format!(
                    "The api-version '{}' is invalid. The supported versions are '{}'.",
                    v.chars().take(32).collect::<String>(),
                    API_VERSIONS.join(",")
                ),
            ));
        }
        None => {
            return Err(ArmError::bad(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ));
        }
    }
    if !eq(&t.vault, &state.config.vault_name) {
        return Err(ArmError::not_found(format!(
            "The Resource 'Microsoft.KeyVault/vaults/{}' under resource group was not found.",
            t.vault
        )));
    }
    if let Some(name) = &t.assignment
        && !is_guid(name)
    {
        return Err(ArmError::bad(
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    let method = parts.method.as_str();
    match (method, t.assignment.as_deref()) {
        ("GET", None) => list(session, &t, query.get("$filter").map(String::as_str)).await,
        ("GET", Some(name)) => {
            let (_, assignments) = read(session, &t).await?;
            assignments
                .iter()
                .find(|a| a.name(&t.scope) == name)
                .map(|a| (StatusCode::OK, axum::Json(a.json(&t))).into_response())
                .ok_or_else(|| not_assigned(name))
        }
        ("PUT", Some(name)) => put(session, &t, name, body).await,
        ("DELETE", Some(name)) => delete(session, &t, name).await,
        _ => Err(ArmError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The method {method} is not allowed here."),
        )),
    }
}

fn not_assigned(name: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RoleAssignmentNotFound",
        format!("The role assignment '{name}' is not found."),
    )
}

/// The key's policy and the assignments its bindings stand for.
async fn read(session: &Session, t: &Target) -> Result<(Policy, Vec<Assignment>), ArmError> {
    let policy = session
        .get_key_policy(&KeyLocator::Name(t.key.clone()))
        .await
        .map_err(|e| ArmError::from_core(e, &t.scope))?
        .value;
    let assignments = policy.bindings.iter().filter_map(Assignment::of).collect();
    Ok((policy, assignments))
}

async fn write(session: &Session, t: &Target, bindings: Vec<Binding>) -> Result<(), ArmError> {
    session
        .set_key_policy(
            &KeyLocator::Name(t.key.clone()),
            Policy::from_bindings(bindings),
        )
        .await
        .map(|_| ())
        .map_err(|e| ArmError::from_core(e, &t.scope))
}

async fn list(session: &Session, t: &Target, filter: Option<&str>) -> Result<Response, ArmError> {
    let principal = match filter.map(str::trim) {
        None | Some("") => None,
        Some(f) if eq(f, "atScope()") => None,
        Some(f) => {
            let id = f
                .strip_prefix("principalId eq '")
                .and_then(|r| r.strip_suffix('\''))
                .filter(|id| is_guid(id))
                .ok_or_else(|| {
                    ArmError::bad(
                        "InvalidFilterInQueryString",
                        "Supported filters are atScope() and principalId eq '{id}'.",
                    )
                })?;
            Some(id.to_ascii_lowercase())
        }
    };
    let (_, assignments) = read(session, t).await?;
    let value: Vec<Value> = assignments
        .iter()
        .filter(|a| principal.as_ref().is_none_or(|p| *p == a.principal_id))
        .map(|a| a.json(t))
        .collect();
    Ok((StatusCode::OK, axum::Json(json!({ "value": value }))).into_response())
}

async fn put(session: &Session, t: &Target, name: &str, body: &[u8]) -> Result<Response, ArmError> {
    let body: PutBody = serde_json::from_slice(body).map_err(|e| {
        ArmError::bad(
            "InvalidRequestContent",
            format!(
                "The request content is invalid (line {}, column {}): it needs properties.roleDefinitionId and properties.principalId.",
                e.line(),
                e.column()
            ),
        )
    })?;
    let p = body.properties;
    if !is_guid(&p.principal_id) {
        return Err(ArmError::bad(
            "InvalidPrincipalId",
            "A valid principal ID must be provided for role assignment.",
        ));
    }
    let role_guid = p
        .role_definition_id
        .strip_prefix('/')
        .map(|r| r.split('/').collect::<Vec<_>>())
        .and_then(|s| match s.as_slice() {
            [rest @ .., "providers", ns, defs, guid]
                if eq(ns, "Microsoft.Authorization")
                    && eq(defs, "roleDefinitions")
                    && is_guid(guid)
                    && (rest.is_empty() || (rest.len() == 2 && eq(rest[0], "subscriptions"))) =>
            {
                Some(guid.to_ascii_lowercase())
            }
            _ => None,
        })
        .ok_or_else(|| {
            ArmError::bad(
                "InvalidRoleDefinitionId",
                "The role definition ID must look like /subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid}.",
            )
        })?;
    let principal_type = match p.principal_type.as_deref() {
        None => "User",
        Some(ty) => PRINCIPAL_TYPES
            .iter()
            .find(|(known, _)| eq(known, ty))
            .map(|(known, _)| *known)
            .ok_or_else(|| {
                ArmError::bad(
                    "InvalidPrincipalType",
                    "principalType must be User, Group, ServicePrincipal, ForeignGroup or Device.",
                )
            })?,
    };
    let wanted = Assignment {
        principal_id: p.principal_id.to_ascii_lowercase(),
        principal_type,
        role_guid,
    };
    let (policy, assignments) = read(session, t).await?;
    if let Some(existing) = assignments.iter().find(|a| a.same_grant(&wanted)) {
        let existing_name = existing.name(&t.scope);
        if existing_name.eq_ignore_ascii_case(name) {
            return Ok((StatusCode::OK, axum::Json(existing.json(t))).into_response());
        }
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "RoleAssignmentExists",
            format!(
                "The role assignment already exists. The ID of the existing role assignment is {existing_name}."
            ),
        ));
    }
    let mut bindings = policy.bindings;
    bindings.push(wanted.binding());
    write(session, t, bindings).await?;
    Ok((StatusCode::CREATED, axum::Json(wanted.json(t))).into_response())
}

async fn delete(session: &Session, t: &Target, name: &str) -> Result<Response, ArmError> {
    let (policy, _) = read(session, t).await?;
    let mut removed = None;
    let kept: Vec<Binding> = policy
        .bindings
        .into_iter()
        .filter(|b| match Assignment::of(b) {
            Some(a) if a.name(&t.scope).eq_ignore_ascii_case(name) => {
                removed = Some(a);
                false
            }
            _ => true,
        })
        .collect();
    let Some(removed) = removed else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    write(session, t, kept).await?;
    Ok((StatusCode::OK, axum::Json(removed.json(t))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const CRYPTO_USER: &str = "12338af0-0e69-4776-bea7-57ae8d297424";

    #[test]
    fn bindings_and_assignments_roundtrip() {
        for ty in ["User", "Group", "ServicePrincipal"] {
            let a = Assignment {
                principal_id: P.into(),
                principal_type: PRINCIPAL_TYPES.iter().find(|(t, _)| *t == ty).unwrap().0,
                role_guid: CRYPTO_USER.into(),
            };
            let b = a.binding();
            assert_eq!(b.role.as_deref(), Some("Key Vault Crypto User"));
            assert_eq!(Assignment::of(&b), Some(a));
        }
        assert_eq!(Assignment::of(&Binding::role("user:alice", "admin")), None);
        assert_eq!(Assignment::of(&Binding::role(P, "not-a-role")), None);
        assert_eq!(Assignment::of(&Binding::actions(P, ["keys:get"])), None);
        assert_eq!(
            Assignment::of(&Binding::role(format!("weird:{P}"), CRYPTO_USER)),
            None
        );
    }

    #[test]
    fn names_match_the_providers() {
        let a = Assignment {
            principal_id: P.into(),
            principal_type: "User",
            role_guid: CRYPTO_USER.into(),
        };
        assert_eq!(a.name("/S/x"), assignment_name("/s/X", P, CRYPTO_USER));
    }
}
