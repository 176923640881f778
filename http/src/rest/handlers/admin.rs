//! Aliases, API tokens and the gateway access policy.

use axum::http::StatusCode;
use keygate_core::access::AccessPolicy;
use keygate_core::api::{Alias, Gateway as _, TokenInfo, TokenRequest};

use super::ApiResult;
use crate::rest::extract::{Caller, Json, Path, locator};
use keygate_core::wire::{CreateAliasBody, IssuedTokenBody, UpdateAliasBody};

pub(super) async fn list_aliases(Caller(s): Caller) -> ApiResult<Json<Vec<Alias>>> {
    Ok(Json(s.list_aliases().await?))
}

pub(super) async fn create_alias(
    Caller(s): Caller,
    Json(body): Json<CreateAliasBody>,
) -> ApiResult<(StatusCode, Json<Alias>)> {
    let alias = s.create_alias(&body.name, &locator(&body.key)?).await?;
    Ok((StatusCode::CREATED, Json(alias)))
}

pub(super) async fn update_alias(
    Caller(s): Caller,
    Path(name): Path<String>,
    Json(body): Json<UpdateAliasBody>,
) -> ApiResult<Json<Alias>> {
    Ok(Json(s.update_alias(&name, &locator(&body.key)?).await?))
}

pub(super) async fn delete_alias(
    Caller(s): Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.delete_alias(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list_tokens(Caller(s): Caller) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(s.list_tokens().await?))
}

pub(super) async fn create_token(
    Caller(s): Caller,
    Json(req): Json<TokenRequest>,
) -> ApiResult<(StatusCode, Json<IssuedTokenBody>)> {
    let issued = s.create_token(req).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenBody {
            token: issued.token,
            info: issued.info,
        }),
    ))
}

pub(super) async fn revoke_token(
    Caller(s): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenInfo>> {
    Ok(Json(s.revoke_token(&id).await?))
}

pub(super) async fn get_policy(Caller(s): Caller) -> ApiResult<Json<AccessPolicy>> {
    Ok(Json(s.get_access_policy().await?))
}

pub(super) async fn set_policy(
    Caller(s): Caller,
    Json(policy): Json<AccessPolicy>,
) -> ApiResult<Json<AccessPolicy>> {
    Ok(Json(s.set_access_policy(policy).await?))
}
