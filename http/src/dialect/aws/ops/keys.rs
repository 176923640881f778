//! Key management: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription and tags.

use keygate_core::api::Gateway as _;
use keygate_core::{
    Capabilities, CreateKeyRequest as KgCreate, KeyMetadata, KeyOrigin, KeySpec, KeyState,
    KeyUpdate, Labels,
};
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::wire::{
    check_len, check_range, epoch, key_spec, key_spec_name, key_state_name, key_usage,
    key_usage_name, mac_algorithm_name, page, required, signing_algorithm_name,
};

/// An answer without members (`{}`).
#[derive(Debug, Serialize)]
pub struct Empty {}

/// A request naming one key.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    /// The key.
    pub key_id: Option<String>,
}

/// A paged listing request (`Limit`, `Marker`; `KeyId` where the listing is of one key).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    /// The key, for per-key listings.
    pub key_id: Option<String>,
    /// Page size, 1–1000.
    pub limit: Option<i64>,
    /// Where the previous page ended.
    pub marker: Option<String>,
}

/// One tag.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Its key.
    pub tag_key: Option<String>,
    /// Its value.
    pub tag_value: Option<String>,
}

/// `CreateKey`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    tags: Option<Vec<Tag>>,
    multi_region: Option<bool>,
    xks_key_id: Option<String>,
}

/// AWS `KeyMetadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsKeyMetadata {
    #[serde(rename = "AWSAccountId")]
    aws_account_id: String,
    key_id: String,
    arn: String,
    creation_date: f64,
    enabled: bool,
    description: String,
    key_usage: &'static str,
    key_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_date: Option<f64>,
    origin: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<f64>,
    key_manager: &'static str,
    customer_master_key_spec: &'static str,
    key_spec: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    encryption_algorithms: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signing_algorithms: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mac_algorithms: Vec<&'static str>,
    multi_region: bool,
}

/// `{"KeyMetadata": ...}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponse {
    key_metadata: AwsKeyMetadata,
}

/// The encryption and signing algorithms a key of `spec` for `usage` can use in a provider
/// with `caps`, as AWS names them: AES keys `SYMMETRIC_DEFAULT`; RSA encryption keys
/// `RSAES_OAEP_SHA_1` and `RSAES_OAEP_SHA_256` where the provider encrypts raw RSA-OAEP with
/// that hash (`RSAES_OAEP_SHA_256` also through its native RSA encryption); signing keys the
/// algorithms the provider signs with for the spec (one for a Cloud KMS RSA key).
pub fn algorithms(
    caps: &Capabilities,
    spec: KeySpec,
    usage: keygate_core::KeyUsage,
) -> (Vec<&'static str>, Vec<&'static str>) {
    use keygate_core::{EncryptionAlgorithm as E, KeyUsage};
    match usage {
        KeyUsage::Encrypt if spec == KeySpec::Aes256 => (vec!["SYMMETRIC_DEFAULT"], Vec::new()),
        KeyUsage::Encrypt if spec.is_rsa() => {
            let raw = |a| caps.raw_encryption.contains(&a);
            let mut names = Vec::new();
            if raw(E::RsaOaepSha1) {
                names.push("RSAES_OAEP_SHA_1");
            }
            if raw(E::RsaOaepSha256) || caps.rsa_encryption {
                names.push("RSAES_OAEP_SHA_256");
            }
            (names, Vec::new())
        }
        KeyUsage::Sign => (
            Vec::new(),
            caps.signing_algorithms(spec)
                .iter()
                .map(|a| signing_algorithm_name(*a))
                .collect(),
        ),
        _ => (Vec::new(), Vec::new()),
    }
}

/// `meta` in AWS's shape.
///
/// # Errors
/// When the key's id cannot be stored.
pub async fn render(cx: &Ctx<'_>, meta: &KeyMetadata) -> Result<AwsKeyMetadata, AwsError> {
    let id = cx.keys.id_for(&meta.uri).await?;
    let spec = key_spec_name(meta.spec);
    let usage = meta.usage;
    let provider = cx
        .session
        .service()
        .registry()
        .provider(&meta.provider)
        .await?;
    let (encryption_algorithms, signing_algorithms) =
        algorithms(provider.capabilities(), meta.spec, usage);
    Ok(AwsKeyMetadata {
        aws_account_id: cx.config.account_id.clone(),
        arn: cx.keys.arn(&id),
        key_id: id,
        creation_date: epoch(meta.created),
        enabled: meta.state == KeyState::Enabled,
        description: meta.description.clone(),
        key_usage: key_usage_name(usage),
        key_state: key_state_name(&meta.state),
        deletion_date: match meta.state {
            KeyState::PendingDeletion { deletion_date } => Some(epoch(deletion_date)),
            _ => None,
        },
        origin: match meta.origin() {
            KeyOrigin::External => "EXTERNAL",
            _ => "AWS_KMS",
        },
        expiration_model: meta
            .import
            .and_then(|i| i.expiration_model)
            .map(|m| m.as_str()),
        valid_to: meta.import.and_then(|i| i.valid_to).map(epoch),
        key_manager: "CUSTOMER",
        customer_master_key_spec: spec,
        key_spec: spec,
        encryption_algorithms,
        signing_algorithms,
        mac_algorithms: meta
            .spec
            .mac_algorithm()
            .map(|a| vec![mac_algorithm_name(a)])
            .unwrap_or_default(),
        multi_region: false,
    })
}

async fn metadata_response(
    cx: &Ctx<'_>,
    meta: &KeyMetadata,
) -> Result<KeyMetadataResponse, AwsError> {
    Ok(KeyMetadataResponse {
        key_metadata: render(cx, meta).await?,
    })
}

fn labels_of(tags: Vec<Tag>) -> Result<Labels, AwsError> {
    let mut labels = Labels::new();
    for tag in tags {
        let key = required(tag.tag_key, "tags.member.tagKey")?;
        let value = required(tag.tag_value, "tags.member.tagValue")?;
        check_len("tags.member.tagKey", key.len(), 1, 128)?;
        check_len("tags.member.tagValue", value.len(), 0, 256)?;
        labels.insert(key, value);
    }
    Ok(labels)
}

/// `CreateKey`: a key in the provider of the request's region (`[dialects.aws] regions`,
/// else `provider`), named after its new UUID and recorded in that region. A `Policy` is
/// set after the key exists (a second Gateway call and audit row).
pub async fn create_key(
    cx: &Ctx<'_>,
    req: CreateKeyRequest,
) -> Result<KeyMetadataResponse, AwsError> {
    let origin = match req.origin.as_deref() {
        None | Some("AWS_KMS") => KeyOrigin::Generated,
        Some("EXTERNAL") => KeyOrigin::External,
        Some(_) => {
            return Err(AwsError::unsupported(
                "keygate creates keys with Origin AWS_KMS or EXTERNAL only (no CloudHSM or \
                 external key store)",
            ));
        }
    };
    if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() {
        return Err(AwsError::unsupported("keygate has no custom key stores"));
    }
    if req.multi_region == Some(true) {
        return Err(AwsError::unsupported("keygate has no multi-Region keys"));
    }
    let spec_name = req
        .key_spec
        .or(req.customer_master_key_spec)
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
    let spec = key_spec(&spec_name)?;
    let usage = match req.key_usage.as_deref() {
        Some(u) => key_usage(u)?,
        None if spec == KeySpec::Aes256 => keygate_core::KeyUsage::Encrypt,
        None if spec.is_hmac() => keygate_core::KeyUsage::Mac,
        None => {
            return Err(AwsError::validation(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
            ));
        }
    };
    if !spec.usages().contains(&usage) {
        return Err(AwsError::validation(format!(
            "KeyUsage {} is not compatible with KeySpec {spec_name}",
            key_usage_name(usage)
        )));
    }
    let description = req.description.unwrap_or_default();
    check_len("description", description.len(), 0, 8192)?;
    let policy = req
        .policy
        .as_deref()
        .map(super::policy::parse_document)
        .transpose()?;
    let bypass = req.bypass_policy_lockout_safety_check.unwrap_or(false);
    // AWS refuses a policy that would lock the caller out before it creates the key.
    if let Some(doc) = &policy
        && !bypass
        && super::policy::enforced_in(cx, cx.config.provider.as_deref()).await
    {
        super::policy::check_lockout(cx, doc, None)?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let request = KgCreate {
        usage: Some(usage),
        description,
        labels: labels_of(req.tags.unwrap_or_default())?,
        origin,
        ..KgCreate::new(id.clone(), spec)
    };
    let meta = cx
        .session
        .create_key(cx.config.provider_for(cx.keys.region()), request)
        .await?;
    cx.keys.assign(&id, &meta.uri).await?;
    if let Some(policy) = policy {
        super::policy::set_document(cx, &meta.uri, policy, bypass).await?;
    }
    metadata_response(cx, &meta).await
}

/// `DescribeKey`.
pub async fn describe_key(
    cx: &Ctx<'_>,
    req: KeyIdRequest,
) -> Result<KeyMetadataResponse, AwsError> {
    let target = cx.target(req.key_id).await?;
    let meta = cx
        .session
        .describe_key(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    metadata_response(cx, &meta).await
}

/// One entry of `ListKeys`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    key_id: String,
    key_arn: String,
}

/// `ListKeys` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    keys: Vec<KeyListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

/// `ListKeys`: every key the caller may list in the request's region (every key of every
/// provider without a `regions` table).
pub async fn list_keys(cx: &Ctx<'_>, req: ListRequest) -> Result<ListKeysResponse, AwsError> {
    let listing = cx.session.list_keys(None).await?;
    for failure in &listing.errors {
        tracing::warn!(provider = %failure.provider, error = %failure.message, "ListKeys: a provider could not be listed");
    }
    let here = cx.keys.region_filter().await?;
    let keys: Vec<_> = listing
        .keys
        .into_iter()
        .filter(|k| here.contains(&k.uri, &k.provider))
        .collect();
    let (keys, next_marker) = page(keys, req.limit, req.marker.as_deref(), 1000)?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let id = cx.keys.id_for(&key.uri).await?;
        out.push(KeyListEntry {
            key_arn: cx.keys.arn(&id),
            key_id: id,
        });
    }
    Ok(ListKeysResponse {
        keys: out,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

/// `EnableKey`.
pub async fn enable_key(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<Empty, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    cx.session
        .enable_key(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `DisableKey`.
pub async fn disable_key(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<Empty, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    cx.session
        .disable_key(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `ScheduleKeyDeletion`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleDeletionRequest {
    key_id: Option<String>,
    pending_window_in_days: Option<i64>,
}

/// `ScheduleKeyDeletion` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleDeletionResponse {
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_date: Option<f64>,
    key_state: &'static str,
    pending_window_in_days: i64,
}

/// `ScheduleKeyDeletion`: 7–30 days, 30 by default, as in AWS.
pub async fn schedule_deletion(
    cx: &Ctx<'_>,
    req: ScheduleDeletionRequest,
) -> Result<ScheduleDeletionResponse, AwsError> {
    let days = req.pending_window_in_days.unwrap_or(30);
    check_range("pendingWindowInDays", days, 7, 30)?;
    let target = cx.key_only(req.key_id).await?;
    let meta = cx
        .session
        .schedule_deletion(&target, u32::try_from(days).unwrap_or(30))
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(ScheduleDeletionResponse {
        key_id: cx.keys.arn_for(&meta.uri).await?,
        deletion_date: match meta.state {
            KeyState::PendingDeletion { deletion_date } => Some(epoch(deletion_date)),
            _ => None,
        },
        key_state: key_state_name(&meta.state),
        pending_window_in_days: days,
    })
}

/// `{"KeyId": arn}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdResponse {
    /// The key's ARN (its key id for RotateKeyOnDemand, as AWS answers).
    pub key_id: String,
}

/// `CancelKeyDeletion` (the key is left disabled, as in AWS, when the provider does so).
pub async fn cancel_deletion(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<KeyIdResponse, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    let meta = cx
        .session
        .cancel_deletion(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(KeyIdResponse {
        key_id: cx.keys.arn_for(&meta.uri).await?,
    })
}

/// `UpdateKeyDescription`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateDescriptionRequest {
    key_id: Option<String>,
    description: Option<String>,
}

/// `UpdateKeyDescription`.
pub async fn update_description(
    cx: &Ctx<'_>,
    req: UpdateDescriptionRequest,
) -> Result<Empty, AwsError> {
    let description = required(req.description, "description")?;
    check_len("description", description.len(), 0, 8192)?;
    let target = cx.key_only(req.key_id).await?;
    let update = KeyUpdate {
        description: Some(description),
        ..KeyUpdate::default()
    };
    cx.session
        .update_key(&target, update)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `TagResource`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    key_id: Option<String>,
    tags: Option<Vec<Tag>>,
}

/// `TagResource`: tags are keygate labels.
pub async fn tag_resource(cx: &Ctx<'_>, req: TagResourceRequest) -> Result<Empty, AwsError> {
    let labels = labels_of(required(req.tags, "tags")?)?;
    let target = cx.key_only(req.key_id).await?;
    let update = KeyUpdate {
        set_labels: labels,
        ..KeyUpdate::default()
    };
    cx.session
        .update_key(&target, update)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `UntagResource`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    key_id: Option<String>,
    tag_keys: Option<Vec<String>>,
}

/// `UntagResource`.
pub async fn untag_resource(cx: &Ctx<'_>, req: UntagResourceRequest) -> Result<Empty, AwsError> {
    let keys = required(req.tag_keys, "tagKeys")?;
    let target = cx.key_only(req.key_id).await?;
    let update = KeyUpdate {
        remove_labels: keys,
        ..KeyUpdate::default()
    };
    cx.session
        .update_key(&target, update)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `ListResourceTags` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsResponse {
    tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

/// `ListResourceTags`: the key's labels, by key.
pub async fn list_resource_tags(
    cx: &Ctx<'_>,
    req: ListRequest,
) -> Result<ListTagsResponse, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    let meta = cx
        .session
        .describe_key(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    let tags: Vec<Tag> = meta
        .labels
        .into_iter()
        .map(|(k, v)| Tag {
            tag_key: Some(k),
            tag_value: Some(v),
        })
        .collect();
    let (tags, next_marker) = page(tags, req.limit, req.marker.as_deref(), 50)?;
    Ok(ListTagsResponse {
        tags,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_core::{EncryptionAlgorithm, KeyUsage};

    #[test]
    fn algorithms_are_those_the_provider_declares_for_the_key() {
        let raw = Capabilities::builder()
            .rsa_encryption(true)
            .raw_encryption(vec![
                EncryptionAlgorithm::RsaOaepSha1,
                EncryptionAlgorithm::RsaOaepSha256,
            ])
            .build();
        assert_eq!(
            algorithms(&raw, KeySpec::Rsa2048, KeyUsage::Encrypt).0,
            ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        );
        assert_eq!(
            algorithms(&raw, KeySpec::Aes256, KeyUsage::Encrypt),
            (vec!["SYMMETRIC_DEFAULT"], Vec::new())
        );
        let all_rsa = algorithms(&raw, KeySpec::Rsa2048, KeyUsage::Sign).1;
        assert_eq!(all_rsa.len(), KeySpec::Rsa2048.signing_algorithms().len());
        // A Cloud KMS key: native RSA-OAEP-SHA-256 only, one signing algorithm per RSA key.
        let cloud = Capabilities::builder()
            .rsa_encryption(true)
            .one_signing_algorithm_per_key(true)
            .build();
        assert_eq!(
            algorithms(&cloud, KeySpec::Rsa3072, KeyUsage::Encrypt).0,
            ["RSAES_OAEP_SHA_256"]
        );
        let one = algorithms(&cloud, KeySpec::Rsa3072, KeyUsage::Sign).1;
        assert_eq!(one.len(), 1, "{one:?}");
        assert!(all_rsa.len() > 1 && all_rsa.contains(&one[0]));
        // No RSA encryption at all: nothing to list.
        let none = Capabilities::builder().build();
        assert!(
            algorithms(&none, KeySpec::Rsa2048, KeyUsage::Encrypt)
                .0
                .is_empty()
        );
        assert!(algorithms(&none, KeySpec::HmacSha256, KeyUsage::Mac) == (Vec::new(), Vec::new()));
    }
}
