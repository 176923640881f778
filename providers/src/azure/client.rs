//! The Key Vault client and what keygate reads from its answers: one key as keygate sees it
//! ([`Key`]: spec, usage, state, current version), live or soft-deleted.

use std::collections::HashMap;
use std::sync::Mutex;

use azure_core::http::StatusCode;
use azure_security_keyvault_keys::KeyClient;
use azure_security_keyvault_keys::models::{
    DeletedKey, JsonWebKey, Key as AzKey, KeyAttributes, KeyClientGetKeyOptions, KeyOperation,
    KeyType,
};
use keygate_core::{Error, KeySpec, KeyState, KeyUsage, Result};
use time::OffsetDateTime;

use super::error::{from_sdk, is_status};
use super::jwk;
use super::tags;

/// The Key Vault client with what every operation needs.
pub(crate) struct Vault {
    /// The SDK client (holds the credential: never shown).
    pub client: KeyClient,
    /// The provider's registered name, for errors and logs.
    pub provider: String,
    /// The vault's name.
    pub vault_name: String,
    /// A Managed HSM: AES_256 keys are native `oct-HSM` keys, every key type is `-HSM`.
    pub hsm: bool,
    /// Public keys read so far, by (key name, version): versions never change.
    public_keys: Mutex<HashMap<(String, String), Vec<u8>>>,
}

/// A key as keygate sees it.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// The key's name (its keygate id).
    pub name: String,
    /// keygate's spec.
    pub spec: KeySpec,
    /// keygate's usage.
    pub usage: KeyUsage,
    /// An AES_256 key held as an RSA key: keygate's client-side envelope.
    pub envelope: bool,
    /// The current version is enabled.
    pub enabled: bool,
    /// Soft-deleted: the date it is purged.
    pub purge_date: Option<OffsetDateTime>,
    /// The current version's id.
    pub version: Option<String>,
    /// The current version's creation time.
    pub created: OffsetDateTime,
    /// What the tags say (labels, description).
    pub tags: tags::Read,
    /// The public part of the current version.
    pub jwk: Option<JsonWebKey>,
    /// The soft-delete retention the vault reports.
    pub recoverable_days: Option<i32>,
}

impl Key {
    /// keygate's state.
    pub fn state(&self) -> KeyState {
        match self.purge_date {
            Some(deletion_date) => KeyState::PendingDeletion { deletion_date },
            None if self.enabled => KeyState::Enabled,
            None => KeyState::Disabled,
        }
    }

    /// Refuses a key of another usage than `usage`.
    ///
    /// # Errors
    /// [`Error::InvalidState`] naming the operation.
    pub fn require_usage(&self, usage: KeyUsage, op: &str) -> Result<()> {
        if self.usage == usage {
            Ok(())
        } else {
            Err(Error::state(format!(
                "{op}: key `{}` is a {} key for {}, not {usage}",
                self.name, self.spec, self.usage
            )))
        }
    }

    /// Refuses a key that is not enabled, and returns its current version.
    ///
    /// # Errors
    /// [`Error::InvalidState`] for a disabled key or one pending deletion.
    pub fn require_enabled(&self, op: &str) -> Result<&str> {
        match (self.state(), self.version.as_deref()) {
            (KeyState::Enabled, Some(v)) => Ok(v),
            (KeyState::Enabled, None) => Err(Error::provider(
                "azure",
                format!(
                    "{op}: the vault named no current version of key `{}`",
                    self.name
                ),
            )),
            // Key Vault keeps `enabled` per version: a disabled key is its disabled current
            // version.
            (KeyState::Disabled, Some(v)) => Err(keygate_core::version::version_not_usable(
                &self.name,
                v,
                keygate_core::VersionState::Disabled,
            )),
            (state, _) => Err(Error::state(format!(
                "{op}: key `{}` is {state}",
                self.name
            ))),
        }
    }
}

/// Checks a key name: Key Vault allows 1–127 of `0-9 a-z A-Z -`.
///
/// # Errors
/// [`Error::InvalidArgument`].
pub(crate) fn check_name(name: &str) -> Result<()> {
    if (1..=127).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{}` is not a Key Vault key name: 1 to 127 letters, digits and `-`",
            name.chars().take(140).collect::<String>()
        )))
    }
}

/// The name and version in a key id `https://<vault>/keys/<name>[/<version>]`.
pub(crate) fn parse_kid(kid: &str) -> Option<(String, Option<String>)> {
    let path = kid.split_once("://").map_or(kid, |(_, rest)| rest);
    let mut segments = path.split('/').skip(1);
    if segments.next()? != "keys" {
        return None;
    }
    let name = segments.next().filter(|n| !n.is_empty())?.to_owned();
    let version = segments.next().filter(|v| !v.is_empty()).map(str::to_owned);
    Some((name, version))
}

/// When a deleted key is purged: the date the vault names, else the end of the retention
/// after its deletion.
pub(crate) fn purge_date(key: &DeletedKey) -> OffsetDateTime {
    key.scheduled_purge_date
        .or_else(|| {
            let days = key.attributes.as_ref()?.recoverable_days?;
            Some(key.deleted_date? + time::Duration::days(i64::from(days)))
        })
        .unwrap_or_else(OffsetDateTime::now_utc)
}

/// The key operations of a new key.
pub(crate) fn key_ops(spec: KeySpec, usage: KeyUsage, envelope: bool) -> Vec<KeyOperation> {
    match usage {
        KeyUsage::Sign => vec![KeyOperation::Sign, KeyOperation::Verify],
        _ if envelope => vec![KeyOperation::WrapKey, KeyOperation::UnwrapKey],
        _ if spec.is_rsa() || spec == KeySpec::Aes256 => vec![
            KeyOperation::Encrypt,
            KeyOperation::Decrypt,
            KeyOperation::WrapKey,
            KeyOperation::UnwrapKey,
        ],
        _ => Vec::new(),
    }
}

impl Vault {
    /// A vault over `client`.
    pub fn new(client: KeyClient, provider: String, vault_name: String, hsm: bool) -> Self {
        Self {
            client,
            provider,
            vault_name,
            hsm,
            public_keys: Mutex::new(HashMap::new()),
        }
    }

    /// The error mapper for operation `what`.
    pub fn err<'a>(&'a self, what: &'a str) -> impl Fn(azure_core::Error) -> Error + 'a {
        move |e| from_sdk(&e, &self.provider, what)
    }

    /// The key type of a new key of `spec` (an envelope is RSA).
    pub fn key_type(&self, spec: KeySpec, envelope: bool) -> KeyType {
        match (spec.is_ec(), spec == KeySpec::Aes256 && !envelope, self.hsm) {
            (true, _, false) => KeyType::Ec,
            (true, _, true) => KeyType::EcHsm,
            (_, true, _) => KeyType::OctHsm,
            (_, false, false) => KeyType::Rsa,
            (_, false, true) => KeyType::RsaHsm,
        }
    }

    /// The live key `name`, or the soft-deleted one (pending deletion).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a name Key Vault cannot hold; [`Error::NotFound`] when
    /// the vault has neither; what the vault answers otherwise.
    pub async fn key(&self, name: &str) -> Result<Key> {
        match self.live(name, None).await? {
            Some(k) => Ok(k),
            None => self.deleted(name).await?.ok_or_else(|| {
                Error::not_found(format!(
                    "key `{name}` is not in vault `{}`",
                    self.vault_name
                ))
            }),
        }
    }

    /// The live key `name` (at `version`), `None` when the vault does not have it.
    ///
    /// # Errors
    /// As [`Vault::key`].
    pub async fn live(&self, name: &str, version: Option<&str>) -> Result<Option<Key>> {
        check_name(name)?;
        let what = format!("get_key({name})");
        let options = KeyClientGetKeyOptions {
            key_version: version.map(str::to_owned),
            ..Default::default()
        };
        match self.client.get_key(name, Some(options)).await {
            Ok(r) => {
                let key = r.into_model().map_err(self.err(&what))?;
                Ok(Some(self.wrap(name, key)?))
            }
            Err(e) if is_status(&e, StatusCode::NotFound) => Ok(None),
            Err(e) => Err(from_sdk(&e, &self.provider, &what)),
        }
    }

    /// The soft-deleted key `name`, `None` when the vault has none.
    ///
    /// # Errors
    /// As [`Vault::key`].
    pub async fn deleted(&self, name: &str) -> Result<Option<Key>> {
        check_name(name)?;
        let what = format!("get_deleted_key({name})");
        match self.client.get_deleted_key(name, None).await {
            Ok(r) => {
                let key = r.into_model().map_err(self.err(&what))?;
                Ok(Some(self.wrap_deleted(name, key)?))
            }
            Err(e) if is_status(&e, StatusCode::NotFound) => Ok(None),
            Err(e) => Err(from_sdk(&e, &self.provider, &what)),
        }
    }

    /// keygate's view of a live key bundle.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a key keygate does not model.
    pub fn wrap(&self, name: &str, key: AzKey) -> Result<Key> {
        self.view(name, key.key, key.attributes, key.tags, None)
    }

    /// keygate's view of a deleted key bundle.
    ///
    /// # Errors
    /// As [`Vault::wrap`].
    pub fn wrap_deleted(&self, name: &str, key: DeletedKey) -> Result<Key> {
        let purge = purge_date(&key);
        self.view(name, key.key, key.attributes, key.tags, Some(purge))
    }

    fn view(
        &self,
        name: &str,
        jwk: Option<JsonWebKey>,
        attributes: Option<KeyAttributes>,
        tags: Option<HashMap<String, String>>,
        purge_date: Option<OffsetDateTime>,
    ) -> Result<Key> {
        let read = tags::read(tags.as_ref());
        let derived = jwk.as_ref().and_then(jwk::spec_of);
        let (spec, usage) = match (read.spec, read.usage, derived) {
            (Some(s), Some(u), _) => (s, u),
            (Some(s), None, _) => (s, s.default_usage()),
            (None, _, Some(d)) => d,
            (None, _, None) => {
                return Err(Error::unsupported(format!(
                    "key `{name}` is of a type or size keygate does not model"
                )));
            }
        };
        let kty = jwk.as_ref().and_then(|j| j.kty.as_ref());
        let envelope = spec == KeySpec::Aes256 && jwk::is_rsa(kty);
        if spec == KeySpec::Aes256 && !envelope && !jwk::is_oct(kty) && jwk.is_some() {
            return Err(Error::unsupported(format!(
                "key `{name}` is tagged AES_256 but is neither an RSA envelope key nor an oct key"
            )));
        }
        let version = jwk
            .as_ref()
            .and_then(|j| j.kid.as_deref())
            .and_then(parse_kid)
            .and_then(|(_, v)| v);
        let attributes = attributes.unwrap_or_default();
        Ok(Key {
            name: name.to_owned(),
            spec,
            usage,
            envelope,
            enabled: attributes.enabled.unwrap_or(true),
            purge_date,
            version,
            created: attributes.created.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            tags: read,
            jwk,
            recoverable_days: attributes.recoverable_days,
        })
    }

    /// The SubjectPublicKeyInfo DER of version `version` of key `key` (whose current version's
    /// JWK is at hand).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown version; [`Error::Provider`] when the vault sends no
    /// public numbers.
    pub async fn public_key(&self, key: &Key, version: &str) -> Result<Vec<u8>> {
        let cache_key = (key.name.clone(), version.to_owned());
        if let Some(der) = self
            .public_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cache_key)
        {
            return Ok(der.clone());
        }
        let jwk = if key.version.as_deref() == Some(version) && key.jwk.is_some() {
            key.jwk.clone()
        } else {
            if !super::envelope::valid_version(version) {
                return Err(Error::not_found(format!(
                    "key `{}` has no version `{version}`",
                    key.name
                )));
            }
            match self.live(&key.name, Some(version)).await? {
                Some(k) => k.jwk,
                None => {
                    return Err(Error::not_found(format!(
                        "key `{}` has no version `{version}`",
                        key.name
                    )));
                }
            }
        };
        let der = jwk
            .as_ref()
            .and_then(|j| jwk::spki_of(j, key.spec))
            .ok_or_else(|| {
                Error::provider(
                    &self.provider,
                    format!(
                        "the vault sent no public key for version `{version}` of key `{}`",
                        key.name
                    ),
                )
            })?;
        self.public_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cache_key, der.clone());
        Ok(der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["a", "payments-2026", &"k".repeat(127)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a_b", "a.b", "a/b", "ключ", &"k".repeat(128)] {
            assert_eq!(
                check_name(bad).unwrap_err().kind(),
                keygate_core::ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn kids_name_the_key_and_version() {
        assert_eq!(
            parse_kid("https://v.vault.azure.net/keys/k1/0123abc"),
            Some(("k1".into(), Some("0123abc".into())))
        );
        assert_eq!(
            parse_kid("https://127.0.0.1:8443/keys/k1"),
            Some(("k1".into(), None))
        );
        assert_eq!(parse_kid("https://v/secrets/s/1"), None);
        assert_eq!(parse_kid("nonsense"), None);
    }

    #[test]
    fn new_keys_get_the_operations_of_their_usage() {
        assert_eq!(
            key_ops(KeySpec::Aes256, KeyUsage::Encrypt, true),
            [KeyOperation::WrapKey, KeyOperation::UnwrapKey]
        );
        assert_eq!(
            key_ops(KeySpec::Rsa2048, KeyUsage::Sign, false),
            [KeyOperation::Sign, KeyOperation::Verify]
        );
        assert_eq!(key_ops(KeySpec::Rsa4096, KeyUsage::Encrypt, false).len(), 4);
    }
}
