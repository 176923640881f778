//! `/v1/keys`: listing, lifecycle, versions, rotation, public keys and key policies.

use axum::http::StatusCode;
use keygate_core::api::{Gateway as _, KeyListing};
use keygate_core::{
    CreateKeyRequest, KeyMetadata, KeyUpdate, KeyVersion, Policy, RotationSchedule,
};

use super::ApiResult;
use crate::rest::extract::{Caller, Json, KeyPath, Keyed, Query};
use keygate_core::wire::{
    AwsArnBody, CreateKeyBody, DeleteBody, ProviderQuery, PublicKeyBody, RotationBody,
    SetRotationBody, VersionQuery, b64,
};

pub(super) async fn list(
    Caller(s): Caller,
    Query(q): Query<ProviderQuery>,
) -> ApiResult<Json<KeyListing>> {
    Ok(Json(s.list_keys(q.provider.as_deref()).await?))
}

pub(super) async fn create(
    Caller(s): Caller,
    Json(body): Json<CreateKeyBody>,
) -> ApiResult<(StatusCode, Json<KeyMetadata>)> {
    let req = CreateKeyRequest {
        origin: body.origin.unwrap_or_default(),
        name: body.name,
        spec: body.spec,
        usage: body.usage,
        description: body.description.unwrap_or_default(),
        labels: body.labels.unwrap_or_default(),
        rotation: body.rotation_period_days.map(RotationSchedule::every),
    };
    let meta = s.create_key(body.provider.as_deref(), req).await?;
    Ok((StatusCode::CREATED, Json(meta)))
}

pub(super) async fn describe(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.describe_key(&key).await?))
}

pub(super) async fn update(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Json(update): Json<KeyUpdate>,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.update_key(&key, update).await?))
}

pub(super) async fn enable(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.enable_key(&key).await?))
}

pub(super) async fn disable(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.disable_key(&key).await?))
}

pub(super) async fn delete(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Json(body): Json<DeleteBody>,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.schedule_deletion(&key, body.pending_days).await?))
}

pub(super) async fn undelete(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.cancel_deletion(&key).await?))
}

pub(super) async fn versions(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Keyed<Vec<KeyVersion>>> {
    Ok(Keyed(s.list_versions(&key).await?))
}

pub(super) async fn rotate(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Keyed<KeyVersion>> {
    Ok(Keyed(s.rotate_key(&key).await?))
}

pub(super) async fn get_rotation(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Keyed<RotationBody>> {
    let schedule = s.get_rotation(&key).await?;
    Ok(Keyed(schedule.map(|schedule| RotationBody {
        schedule,
        key: None,
    })))
}

pub(super) async fn set_rotation(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Json(body): Json<SetRotationBody>,
) -> ApiResult<Json<RotationBody>> {
    let schedule = body.period_days.map(RotationSchedule::every);
    let key = s.set_rotation(&key, schedule).await?;
    Ok(Json(RotationBody {
        schedule: key.rotation,
        key: Some(key),
    }))
}

pub(super) async fn public_key(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Keyed<PublicKeyBody>> {
    let pk = s.get_public_key(&key, q.version.as_deref()).await?;
    Ok(Keyed(pk.map(|pk| PublicKeyBody {
        pem: pk.pem(),
        der: b64(&pk.der),
        key_version: pk.key_version,
        spec: pk.spec,
    })))
}

pub(super) async fn aws_arn(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Keyed<AwsArnBody>> {
    let arn = s.aws_key_arn(&key).await?;
    Ok(Keyed(arn.map(|arn| AwsArnBody { arn })))
}

pub(super) async fn get_policy(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Keyed<Policy>> {
    let policy = s.get_key_policy(&key).await?;
    Ok(Keyed(
        policy.map(keygate_core::keypolicy::with_parsed_document),
    ))
}

pub(super) async fn set_policy(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Json(policy): Json<Policy>,
) -> ApiResult<Keyed<Policy>> {
    let policy = s.set_key_policy(&key, policy).await?;
    Ok(Keyed(
        policy.map(keygate_core::keypolicy::with_parsed_document),
    ))
}
