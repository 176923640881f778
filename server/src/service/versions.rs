//! One key version at a time: enable, disable, schedule destruction, restore, make primary.
//!
//! Each is authorized as its key-level equivalent (enable → `keys:enable`, disable →
//! `keys:disable`, destroy → `keys:delete`, restore → `keys:undelete`, primary →
//! `keys:rotate`) and audited the same way (an intent row before the provider acts, then the
//! outcome), every row naming the version.

use keygate_core::access::Action;
use keygate_core::api::Resolved;
use keygate_core::{KeyLocator, KeyMetadata, KeyVersion, Result};

use super::Session;

/// Which change to make to one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VersionChange {
    Enable,
    Disable,
    Destroy,
    Restore,
}

impl VersionChange {
    fn action(self) -> Action {
        match self {
            Self::Enable => Action::KeysEnable,
            Self::Disable => Action::KeysDisable,
            Self::Destroy => Action::KeysDelete,
            Self::Restore => Action::KeysUndelete,
        }
    }
}

impl Session {
    /// Applies `change` to `version` of `key`.
    pub(super) async fn change_version(
        &self,
        key: &KeyLocator,
        version: &str,
        change: VersionChange,
    ) -> Result<Resolved<KeyVersion>> {
        self.key_op_at(change.action(), key, Some(version), |k, _| async move {
            let p = &k.provider;
            let v = match change {
                VersionChange::Enable => p.enable_version(&k.id, version).await?,
                VersionChange::Disable => p.disable_version(&k.id, version).await?,
                VersionChange::Destroy => p.destroy_version(&k.id, version).await?,
                VersionChange::Restore => p.restore_version(&k.id, version).await?,
            };
            let id = v.id.clone();
            Ok((k.answer(v), Some(id)))
        })
        .await
    }

    /// Makes `version` the primary version of `key`.
    pub(super) async fn make_primary(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<KeyMetadata> {
        self.key_op_at(Action::KeysRotate, key, Some(version), |k, _| async move {
            let meta = k.provider.set_primary_version(&k.id, version).await?;
            let primary = meta.primary_version.clone();
            Ok((meta, primary))
        })
        .await
    }
}
