//! Per-version `enabled`: Key Vault keeps the attribute on each version, and a PATCH of one
//! version's attributes sets it. Key Vault has no per-version destruction (a key is deleted
//! as a whole), so `destroy_version` and `restore_version` stay
//! [`Error::Unsupported`](keygate_core::Error::Unsupported).

use azure_security_keyvault_keys::models::{
    KeyAttributes, KeyClientUpdateKeyPropertiesOptions, UpdateKeyPropertiesParameters,
};
use keygate_core::{Error, KeyState, KeyUsage, KeyVersion, Result, VersionState};

use super::AzureKeyVaultProvider;
use super::client::Key;
use super::error::{from_sdk, is_disabled};

impl AzureKeyVaultProvider {
    /// The key `key_id` for `usage` and the version an operation uses: `version` when named
    /// (any version: the vault refuses a disabled one, and one the key does not have is
    /// `NotFound`), else the current one, which must be enabled.
    pub(super) async fn key_at(
        &self,
        key_id: &str,
        usage: KeyUsage,
        op: &str,
        version: Option<&str>,
    ) -> Result<(Key, String)> {
        let Some(version) = version else {
            return self.usable(key_id, usage, op).await;
        };
        Ok((self.live_for(key_id, usage, op).await?, version.to_owned()))
    }

    /// The key `key_id` for `usage`, not pending deletion; the state of its versions is left
    /// to the vault (which refuses a disabled one).
    pub(super) async fn live_for(&self, key_id: &str, usage: KeyUsage, op: &str) -> Result<Key> {
        let key = self.vault.key(key_id).await?;
        key.require_usage(usage, op)?;
        if let KeyState::PendingDeletion { .. } = key.state() {
            return Err(Error::state(format!(
                "{op}: key `{key_id}` is {}",
                key.state()
            )));
        }
        Ok(key)
    }

    /// A vault error of an operation with `version` of `key`: a refusal because the version
    /// is disabled names the version and its state; the rest is mapped as usual.
    pub(super) fn version_error(
        &self,
        e: &azure_core::Error,
        key: &str,
        version: &str,
        what: &str,
    ) -> Error {
        if is_disabled(e) {
            keygate_core::version::version_not_usable(key, version, VersionState::Disabled)
        } else {
            from_sdk(e, &self.info.name, what)
        }
    }

    /// Sets `version`'s `enabled` attribute; answers the version as listed afterwards.
    pub(super) async fn set_version_enabled(
        &self,
        key_id: &str,
        version: &str,
        enabled: bool,
    ) -> Result<KeyVersion> {
        let op = if enabled {
            "enable_version"
        } else {
            "disable_version"
        };
        let key = self.live_key(key_id, op).await?;
        let listed = self.versions(key_id).await?;
        if !listed.iter().any(|v| v.id == version) {
            return Err(Error::not_found(format!(
                "version `{version}` of key `{key_id}`"
            )));
        }
        let what = format!("{op}({key_id}/{version})");
        let params = UpdateKeyPropertiesParameters {
            key_attributes: Some(KeyAttributes {
                enabled: Some(enabled),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = KeyClientUpdateKeyPropertiesOptions {
            key_version: Some(version.to_owned()),
            ..Default::default()
        };
        let body = params.try_into().map_err(self.vault.err(&what))?;
        self.vault
            .client
            .update_key_properties(&key.name, body, Some(options))
            .await
            .map_err(self.vault.err(&what))?;
        self.versions(key_id)
            .await?
            .into_iter()
            .find(|v| v.id == version)
            .ok_or_else(|| Error::not_found(format!("version `{version}` of key `{key_id}`")))
    }
}
