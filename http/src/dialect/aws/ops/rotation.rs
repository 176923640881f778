//! Rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand
//! and ListKeyRotations.
//!
//! `ListKeyRotations` reports every version after the first as a rotation, `AUTOMATIC` when
//! the key's rotation schedule made it and `ON_DEMAND` when a caller did, as the provider
//! recorded it (a version whose provider keeps no such record, or made before keygate kept
//! it, is reported `ON_DEMAND`).

use keygate_core::api::Gateway as _;
use keygate_core::{RotationKind, RotationSchedule};
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::keys::{Empty, KeyIdRequest, KeyIdResponse, ListRequest};
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::rules;
use crate::dialect::aws::wire::{check_range, epoch, page};

/// AWS's default rotation period.
const DEFAULT_PERIOD_DAYS: i64 = 365;

/// `EnableKeyRotation`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableRotationRequest {
    key_id: Option<String>,
    rotation_period_in_days: Option<i64>,
}

/// `EnableKeyRotation`: every 90–2560 days, 365 by default.
pub async fn enable(cx: &Ctx<'_>, req: EnableRotationRequest) -> Result<Empty, AwsError> {
    let days = req.rotation_period_in_days.unwrap_or(DEFAULT_PERIOD_DAYS);
    check_range("rotationPeriodInDays", days, 90, 2560)?;
    let target = cx.key_only(req.key_id).await?;
    let period = u32::try_from(days).unwrap_or(365);
    cx.session
        .clone()
        .with_key_rule(rules::rotatable("EnableKeyRotation"))
        .set_rotation(&target, Some(RotationSchedule::every(period)))
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `DisableKeyRotation`.
pub async fn disable(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<Empty, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    cx.session
        .clone()
        .with_key_rule(rules::rotatable("DisableKeyRotation"))
        .set_rotation(&target, None)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `GetKeyRotationStatus` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatusResponse {
    key_rotation_enabled: bool,
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_rotation_date: Option<f64>,
}

/// `GetKeyRotationStatus`.
pub async fn status(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<StatusResponse, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    let resolved = cx
        .session
        .clone()
        .with_key_rule(rules::rotatable("GetKeyRotationStatus"))
        .get_rotation(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    let schedule = resolved.value;
    Ok(StatusResponse {
        key_rotation_enabled: schedule.is_some(),
        key_id: cx.keys.arn_for(&resolved.uri).await?,
        rotation_period_in_days: schedule.map(|s| s.period_days),
        next_rotation_date: schedule.and_then(|s| s.next_rotation).map(epoch),
    })
}

/// `RotateKeyOnDemand`: answers the key's id, not its ARN ("KeyId: Identifies the KMS key
/// that KMS is rotating", a key id in AWS's example answer).
pub async fn rotate(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<KeyIdResponse, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    let rotated = cx
        .session
        .clone()
        .with_key_rule(rules::rotatable("RotateKeyOnDemand"))
        .rotate_key(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(KeyIdResponse {
        key_id: cx.keys.id_for(&rotated.uri).await?,
    })
}

/// One rotation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rotation {
    key_id: String,
    rotation_date: f64,
    rotation_type: &'static str,
}

/// `ListKeyRotations` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRotationsResponse {
    rotations: Vec<Rotation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

/// `ListKeyRotations`: every version after the first, oldest first.
pub async fn list(cx: &Ctx<'_>, req: ListRequest) -> Result<ListRotationsResponse, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    let versions = cx
        .session
        .list_versions(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    let arn = cx.keys.arn_for(&versions.uri).await?;
    let rotations: Vec<Rotation> = versions
        .value
        .iter()
        .skip(1)
        .map(|v| Rotation {
            key_id: arn.clone(),
            rotation_date: epoch(v.created),
            rotation_type: match v.rotation {
                Some(RotationKind::Automatic) => "AUTOMATIC",
                _ => "ON_DEMAND",
            },
        })
        .collect();
    let (rotations, next_marker) = page(rotations, req.limit, req.marker.as_deref(), 100)?;
    Ok(ListRotationsResponse {
        rotations,
        truncated: next_marker.is_some(),
        next_marker,
    })
}
