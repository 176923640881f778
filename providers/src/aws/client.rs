//! Translation between keygate's model and KMS's: specs, usages, states, dates, tags, key
//! references, and the few SDK calls that assemble a key's full metadata.
//!
//! KMS splits what keygate calls a key's metadata over several calls: `DescribeKey` (spec,
//! usage, state, description), `ListAliases` (the name), `ListResourceTags` (labels),
//! `GetKeyRotationStatus` (schedule) and `ListKeyRotations` (versions). [`Kms`] makes them.

use std::sync::{Arc, OnceLock};

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{
    self as aws, KeyMetadata as AwsKeyMetadata, KeyUsageType, RotationType, SigningAlgorithmSpec,
    Tag,
};
use keygate_core::{
    Error, KeySpec, KeyState, KeyUsage, KeyVersion, Labels, Result, RotationKind, RotationSchedule,
    SigningAlgorithm, VersionState, validate_name,
};
use time::OffsetDateTime;

use super::error::AwsError;

/// Prefix of every KMS alias name.
pub(crate) const ALIAS_PREFIX: &str = "alias/";
/// Aliases AWS manages for its own services' keys; never a keygate name.
const AWS_ALIAS_PREFIX: &str = "alias/aws/";
/// The version id of an AES key's material when the endpoint cannot list rotations, so
/// versions cannot be counted: it names whatever material is current.
pub(crate) const CURRENT_VERSION: &str = "current";
/// The version id of a key's original material.
pub(crate) const FIRST_VERSION: &str = "1";

/// The KMS key spec of a keygate spec (every keygate spec has one).
pub(crate) fn spec_to_aws(spec: KeySpec) -> aws::KeySpec {
    match spec {
        KeySpec::Aes256 => aws::KeySpec::SymmetricDefault,
        KeySpec::Rsa2048 => aws::KeySpec::Rsa2048,
        KeySpec::Rsa3072 => aws::KeySpec::Rsa3072,
        KeySpec::Rsa4096 => aws::KeySpec::Rsa4096,
        KeySpec::EcP256 => aws::KeySpec::EccNistP256,
        KeySpec::EcP384 => aws::KeySpec::EccNistP384,
        KeySpec::EcP521 => aws::KeySpec::EccNistP521,
        KeySpec::EcSecp256k1 => aws::KeySpec::EccSecgP256K1,
        KeySpec::HmacSha256 => aws::KeySpec::Hmac256,
        KeySpec::HmacSha384 => aws::KeySpec::Hmac384,
        KeySpec::HmacSha512 => aws::KeySpec::Hmac512,
        // `KeySpec` is non-exhaustive; a spec added later maps to nothing until it is added
        // here, and `create_key` refuses it through the capabilities first.
        _ => aws::KeySpec::from("UNKNOWN"),
    }
}

/// The keygate spec of a KMS key spec; `None` for specs keygate does not model (SM2, ML-DSA,
/// HMAC-224, ...).
pub(crate) fn spec_from_aws(spec: &aws::KeySpec) -> Option<KeySpec> {
    Some(match spec {
        aws::KeySpec::SymmetricDefault => KeySpec::Aes256,
        aws::KeySpec::Rsa2048 => KeySpec::Rsa2048,
        aws::KeySpec::Rsa3072 => KeySpec::Rsa3072,
        aws::KeySpec::Rsa4096 => KeySpec::Rsa4096,
        aws::KeySpec::EccNistP256 => KeySpec::EcP256,
        aws::KeySpec::EccNistP384 => KeySpec::EcP384,
        aws::KeySpec::EccNistP521 => KeySpec::EcP521,
        aws::KeySpec::EccSecgP256K1 => KeySpec::EcSecp256k1,
        aws::KeySpec::Hmac256 => KeySpec::HmacSha256,
        aws::KeySpec::Hmac384 => KeySpec::HmacSha384,
        aws::KeySpec::Hmac512 => KeySpec::HmacSha512,
        _ => return None,
    })
}

/// The KMS key usage of a keygate usage.
pub(crate) fn usage_to_aws(usage: KeyUsage) -> KeyUsageType {
    match usage {
        KeyUsage::Sign => KeyUsageType::SignVerify,
        KeyUsage::Mac => KeyUsageType::GenerateVerifyMac,
        _ => KeyUsageType::EncryptDecrypt,
    }
}

/// The keygate usage of a KMS usage; `None` for key agreement and key encapsulation keys.
pub(crate) fn usage_from_aws(usage: &KeyUsageType) -> Option<KeyUsage> {
    match usage {
        KeyUsageType::EncryptDecrypt => Some(KeyUsage::Encrypt),
        KeyUsageType::SignVerify => Some(KeyUsage::Sign),
        KeyUsageType::GenerateVerifyMac => Some(KeyUsage::Mac),
        _ => None,
    }
}

/// The KMS signing algorithm of a keygate one.
pub(crate) fn signing_to_aws(algorithm: SigningAlgorithm) -> SigningAlgorithmSpec {
    match algorithm {
        SigningAlgorithm::RsaPssSha256 => SigningAlgorithmSpec::RsassaPssSha256,
        SigningAlgorithm::RsaPkcs1Sha256 => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        SigningAlgorithm::RsaPssSha384 => SigningAlgorithmSpec::RsassaPssSha384,
        SigningAlgorithm::RsaPssSha512 => SigningAlgorithmSpec::RsassaPssSha512,
        SigningAlgorithm::RsaPkcs1Sha384 => SigningAlgorithmSpec::RsassaPkcs1V15Sha384,
        SigningAlgorithm::RsaPkcs1Sha512 => SigningAlgorithmSpec::RsassaPkcs1V15Sha512,
        SigningAlgorithm::EcdsaSha384 => SigningAlgorithmSpec::EcdsaSha384,
        SigningAlgorithm::EcdsaSha512 => SigningAlgorithmSpec::EcdsaSha512,
        _ => SigningAlgorithmSpec::EcdsaSha256,
    }
}

/// A KMS timestamp as a `time` one (KMS dates are whole seconds; nanoseconds are kept).
pub(crate) fn to_time(t: &aws_smithy_types::DateTime) -> OffsetDateTime {
    let nanos = i128::from(t.secs()) * 1_000_000_000 + i128::from(t.subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The keygate state of a key from its KMS metadata. States in which KMS refuses every use
/// (creating, pending import, unavailable, updating) show as disabled.
pub(crate) fn state_from_aws(meta: &AwsKeyMetadata) -> KeyState {
    match meta.key_state() {
        Some(aws::KeyState::Enabled) => KeyState::Enabled,
        Some(aws::KeyState::PendingImport) => KeyState::PendingImport,
        Some(aws::KeyState::PendingDeletion | aws::KeyState::PendingReplicaDeletion) => {
            match meta.deletion_date() {
                Some(date) => KeyState::PendingDeletion {
                    deletion_date: to_time(date),
                },
                None => KeyState::Disabled,
            }
        }
        _ => KeyState::Disabled,
    }
}

/// Labels as KMS tags.
///
/// # Errors
/// [`Error::InvalidArgument`] for a label KMS cannot store: a key of 1–128 characters not
/// starting with `aws:`, a value of at most 256.
pub(crate) fn labels_to_tags(labels: &Labels) -> Result<Vec<Tag>> {
    labels
        .iter()
        .map(|(k, v)| {
            if k.is_empty() || k.chars().count() > 128 || k.starts_with("aws:") {
                return Err(Error::invalid(format!(
                    "label key `{k}` cannot be an AWS tag key (1–128 characters, not starting with `aws:`)"
                )));
            }
            if v.chars().count() > 256 {
                return Err(Error::invalid(format!(
                    "label `{k}` has a value longer than the 256 characters of an AWS tag"
                )));
            }
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| Error::invalid(format!("label `{k}`: {e}")))
        })
        .collect()
}

/// KMS tags as labels.
pub(crate) fn tags_to_labels(tags: &[Tag]) -> Labels {
    tags.iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect()
}

/// True for a KMS key id: a UUID, or `mrk-` and 32 hex digits for multi-Region keys.
pub(crate) fn is_key_id(s: &str) -> bool {
    let hex =
        |part: &str, len: usize| part.len() == len && part.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(rest) = s.strip_prefix("mrk-") {
        return hex(rest, 32);
    }
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(&len, part)| hex(part, len))
}

/// What to send KMS as `KeyId` for a caller's key reference: a key id, a key ARN or an alias
/// (`alias/...`, or an alias ARN) as given; anything else is a keygate key name, sent as its
/// alias `alias/<name>`.
pub(crate) fn key_ref(input: &str) -> String {
    if input.starts_with("arn:") || input.starts_with(ALIAS_PREFIX) || is_key_id(input) {
        input.to_owned()
    } else {
        format!("{ALIAS_PREFIX}{input}")
    }
}

/// Checks a keygate key name can be a KMS alias, and returns the alias.
///
/// # Errors
/// [`Error::InvalidArgument`] for a name keygate refuses, a name with `.` (KMS aliases allow
/// letters, digits, `-`, `_` and `/`), or one that looks like a key id (it would be taken for
/// one when looked up).
pub(crate) fn alias_for_name(name: &str) -> Result<String> {
    validate_name("key", name)?;
    if name.contains('.') {
        return Err(Error::invalid(format!(
            "key name `{name}`: AWS KMS aliases cannot contain `.`"
        )));
    }
    if is_key_id(name) {
        return Err(Error::invalid(format!(
            "key name `{name}` looks like a KMS key id; choose another"
        )));
    }
    Ok(format!("{ALIAS_PREFIX}{name}"))
}

/// The keygate name among a key's aliases: the first (sorted) that is not AWS-managed,
/// without its `alias/` prefix.
pub(crate) fn name_from_aliases<'a>(aliases: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut names: Vec<&str> = aliases
        .into_iter()
        .filter(|a| !a.starts_with(AWS_ALIAS_PREFIX))
        .filter_map(|a| a.strip_prefix(ALIAS_PREFIX))
        .collect();
    names.sort_unstable();
    names.first().map(|n| (*n).to_owned())
}

/// A key as `DescribeKey` sees it, with its spec and usage in keygate terms.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    /// The KMS key id.
    pub(crate) id: String,
    /// Spec.
    pub(crate) spec: KeySpec,
    /// Usage.
    pub(crate) usage: KeyUsage,
    /// The whole KMS metadata.
    pub(crate) raw: AwsKeyMetadata,
}

impl Described {
    /// Builds from KMS metadata.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a key whose spec or usage keygate does not model.
    pub(crate) fn new(raw: AwsKeyMetadata) -> Result<Self> {
        let id = raw.key_id().to_owned();
        let spec = raw.key_spec().and_then(spec_from_aws).ok_or_else(|| {
            Error::unsupported(format!(
                "KMS key {id} has spec {:?}, which keygate does not model",
                raw.key_spec().map(aws::KeySpec::as_str)
            ))
        })?;
        let usage = raw.key_usage().and_then(usage_from_aws).ok_or_else(|| {
            Error::unsupported(format!(
                "KMS key {id} has usage {:?}, which keygate does not model",
                raw.key_usage().map(KeyUsageType::as_str)
            ))
        })?;
        Ok(Self {
            id,
            spec,
            usage,
            raw,
        })
    }

    /// The keygate state.
    pub(crate) fn state(&self) -> KeyState {
        state_from_aws(&self.raw)
    }

    /// Fails with `InvalidState` unless the key is enabled and made for `usage`.
    ///
    /// # Errors
    /// [`Error::InvalidState`] naming what is wrong.
    pub(crate) fn require(&self, usage: KeyUsage, op: &str) -> Result<()> {
        if self.usage != usage {
            return Err(Error::state(format!(
                "{op}: key {} is a {} {} key",
                self.id, self.spec, self.usage
            )));
        }
        let state = self.state();
        if !state.is_usable() {
            return Err(Error::state(format!("{op}: key {} is {state}", self.id)));
        }
        Ok(())
    }
}

/// The SDK client plus what keygate knows about the endpoint, with errors already turned into
/// keygate errors.
#[derive(Clone)]
pub(crate) struct Kms {
    /// The SDK client.
    pub(crate) client: Client,
    /// The registered provider name, for error messages.
    pub(crate) provider: String,
    /// Whether the endpoint answers `ListKeyRotations` (so versions can be counted), once a
    /// probe found out; unset while the probe runs or when it could not reach the endpoint.
    pub(crate) rotations: Arc<OnceLock<bool>>,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms")
            .field("provider", &self.provider)
            .field("lists_rotations", &self.lists_rotations())
            .finish_non_exhaustive()
    }
}

impl Kms {
    /// Whether versions can be counted: what the probe found, else yes (KMS itself does).
    pub(crate) fn lists_rotations(&self) -> bool {
        self.rotations.get().copied().unwrap_or(true)
    }

    /// Converts an SDK error for the operation `what`.
    pub(crate) fn err(&self, what: &str) -> impl FnOnce(AwsError) -> Error + '_ {
        let what = what.to_owned();
        move |e| e.into_core(&self.provider, &what)
    }

    /// `DescribeKey` of a caller's key reference (id, ARN, alias or keygate name).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown key; [`Error::Unsupported`] for a key keygate does
    /// not model.
    pub(crate) async fn describe(&self, key: &str) -> Result<Described> {
        let what = format!("describe_key({key})");
        let out = self
            .client
            .describe_key()
            .key_id(key_ref(key))
            .send()
            .await
            .map_err(|e| self.err(&what)(e.into()))?;
        let raw = out
            .key_metadata
            .ok_or_else(|| Error::provider(&self.provider, format!("{what}: no KeyMetadata")))?;
        Described::new(raw)
    }

    /// The key's keygate name: its first non-AWS alias, else its id.
    pub(crate) async fn name(&self, key_id: &str) -> Result<String> {
        let what = format!("list_aliases({key_id})");
        let mut aliases = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .list_aliases()
                .key_id(key_id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| self.err(&what)(e.into()))?;
            aliases.extend(
                out.aliases()
                    .iter()
                    .filter_map(|a| a.alias_name().map(str::to_owned)),
            );
            match out.next_marker {
                Some(m) if out.truncated => marker = Some(m),
                _ => break,
            }
        }
        Ok(name_from_aliases(aliases.iter().map(String::as_str))
            .unwrap_or_else(|| key_id.to_owned()))
    }

    /// The key's tags as labels.
    pub(crate) async fn labels(&self, key_id: &str) -> Result<Labels> {
        let what = format!("list_resource_tags({key_id})");
        let mut labels = Labels::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .list_resource_tags()
                .key_id(key_id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| self.err(&what)(e.into()))?;
            labels.extend(tags_to_labels(out.tags()));
            match out.next_marker {
                Some(m) if out.truncated => marker = Some(m),
                _ => break,
            }
        }
        Ok(labels)
    }

    /// The automatic rotation schedule: only symmetric encryption keys have one.
    pub(crate) async fn rotation(&self, key: &Described) -> Result<Option<RotationSchedule>> {
        if key.spec != KeySpec::Aes256 {
            return Ok(None);
        }
        let what = format!("get_key_rotation_status({})", key.id);
        let out = self
            .client
            .get_key_rotation_status()
            .key_id(&key.id)
            .send()
            .await
            .map_err(|e| self.err(&what)(e.into()));
        let out = match out {
            Ok(out) => out,
            // A key pending deletion has no rotation status in KMS: it will not rotate.
            Err(Error::InvalidState(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !out.key_rotation_enabled {
            return Ok(None);
        }
        let period = out
            .rotation_period_in_days
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(365);
        Ok(Some(RotationSchedule {
            period_days: period,
            next_rotation: out.next_rotation_date.as_ref().map(to_time),
        }))
    }

    /// The key's versions, oldest first: the original material is `1` and each rotation in
    /// `ListKeyRotations` adds one. Without `ListKeyRotations` an AES key has the single
    /// version [`CURRENT_VERSION`]; keys KMS never rotates (asymmetric, HMAC) have only `1`.
    pub(crate) async fn versions(&self, key: &Described) -> Result<Vec<KeyVersion>> {
        let created = key
            .raw
            .creation_date()
            .map_or(OffsetDateTime::UNIX_EPOCH, to_time);
        let single = |id: &str| {
            vec![KeyVersion {
                id: id.to_owned(),
                created,
                state: VersionState::Enabled,
                primary: true,
                destroy_time: None,
                rotation: None,
            }]
        };
        if key.spec != KeySpec::Aes256 {
            return Ok(single(FIRST_VERSION));
        }
        if !self.lists_rotations() {
            return Ok(single(CURRENT_VERSION));
        }
        let what = format!("list_key_rotations({})", key.id);
        let mut dates = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .list_key_rotations()
                .key_id(&key.id)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| self.err(&what)(e.into()))?;
            // Each rotation with the kind KMS records (`RotationType`).
            dates.extend(out.rotations().iter().map(|r| {
                let kind = r.rotation_type().and_then(|t| match t {
                    RotationType::Automatic => Some(RotationKind::Automatic),
                    RotationType::OnDemand => Some(RotationKind::OnDemand),
                    _ => None,
                });
                (r.rotation_date().map_or(created, to_time), kind)
            }));
            match out.next_marker {
                Some(m) if out.truncated => marker = Some(m),
                _ => break,
            }
        }
        dates.sort_by_key(|(date, _)| *date);
        let count = dates.len() + 1;
        Ok(std::iter::once((created, None))
            .chain(dates)
            .enumerate()
            .map(|(i, (created, rotation))| KeyVersion {
                id: (i + 1).to_string(),
                created,
                state: VersionState::Enabled,
                primary: i + 1 == count,
                destroy_time: None,
                rotation,
            })
            .collect())
    }

    /// The id of the key's primary version.
    pub(crate) async fn primary_version(&self, key: &Described) -> Result<String> {
        let versions = self.versions(key).await?;
        Ok(versions
            .into_iter()
            .find(|v| v.primary)
            .map_or_else(|| FIRST_VERSION.to_owned(), |v| v.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keygate_spec_has_a_kms_spec_and_back() {
        for spec in KeySpec::ALL {
            assert_eq!(spec_from_aws(&spec_to_aws(spec)), Some(spec), "{spec}");
        }
        assert_eq!(spec_from_aws(&aws::KeySpec::Sm2), None);
        assert_eq!(spec_from_aws(&aws::KeySpec::Hmac224), None);
        for usage in [KeyUsage::Encrypt, KeyUsage::Sign, KeyUsage::Mac] {
            assert_eq!(usage_from_aws(&usage_to_aws(usage)), Some(usage));
        }
        assert_eq!(usage_from_aws(&KeyUsageType::KeyAgreement), None);
    }

    #[test]
    fn labels_and_tags_map_one_to_one() {
        let labels: Labels = [("team", "pay"), ("env", ""), ("ünï", "cödé")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let tags = labels_to_tags(&labels).unwrap();
        assert_eq!(tags.len(), 3);
        assert_eq!(tags_to_labels(&tags), labels);

        for (k, v) in [
            ("aws:reserved", "x"),
            ("", "x"),
            (&*"k".repeat(129), "x"),
            ("ok", &*"v".repeat(257)),
        ] {
            let bad: Labels = [(k.to_owned(), v.to_owned())].into_iter().collect();
            let err = labels_to_tags(&bad).unwrap_err();
            assert_eq!(err.kind(), keygate_core::ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn key_references_pass_ids_and_arns_and_alias_names() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(is_key_id(id));
        assert!(is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(!is_key_id("1234abcd-12ab-34cd-56ef-1234567890a"));
        assert!(!is_key_id("pay"));
        assert_eq!(key_ref(id), id);
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
        assert_eq!(key_ref(&arn), arn);
        assert_eq!(key_ref("alias/pay"), "alias/pay");
        assert_eq!(key_ref("pay"), "alias/pay");
    }

    #[test]
    fn names_become_aliases_and_back() {
        assert_eq!(alias_for_name("pay-key_1").unwrap(), "alias/pay-key_1");
        assert!(alias_for_name("pay.key").is_err());
        assert!(alias_for_name("-pay").is_err());
        assert!(alias_for_name("1234abcd-12ab-34cd-56ef-1234567890ab").is_err());
        assert_eq!(
            name_from_aliases(["alias/aws/ebs", "alias/zeta", "alias/alpha"]),
            Some("alpha".to_owned())
        );
        assert_eq!(name_from_aliases(["alias/aws/s3"]), None);
    }

    #[test]
    fn states_follow_kms() {
        let meta = |state: aws::KeyState| {
            AwsKeyMetadata::builder()
                .key_id("k")
                .key_state(state)
                .deletion_date(aws_smithy_types::DateTime::from_secs(1_900_000_000))
                .build()
                .unwrap()
        };
        assert_eq!(
            state_from_aws(&meta(aws::KeyState::Enabled)),
            KeyState::Enabled
        );
        assert_eq!(
            state_from_aws(&meta(aws::KeyState::Disabled)),
            KeyState::Disabled
        );
        assert_eq!(
            state_from_aws(&meta(aws::KeyState::Creating)),
            KeyState::Disabled
        );
        match state_from_aws(&meta(aws::KeyState::PendingDeletion)) {
            KeyState::PendingDeletion { deletion_date } => {
                assert_eq!(deletion_date.unix_timestamp(), 1_900_000_000);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
