//! Imported key material (keys of origin `external`) through the service layer: import
//! parameters, the import itself and the deletion of imported material are each authorized
//! as `keys:import` and audited (an intent row before the provider acts, then the outcome).
//! The import token and the wrapped material never reach a log, an error or an audit row.

use keygate_core::access::Action;
use keygate_core::api::Resolved;
use keygate_core::{
    ImportParameters, ImportedMaterial, KeyLocator, KeyMetadata, Result, WrappingAlgorithm,
    WrappingKeySpec,
};

use super::Session;

impl Session {
    /// A wrapping public key and an import token for importing material into `key`
    /// (`keys:import`).
    ///
    /// # Errors
    /// As [`KeyProvider::import_parameters`](keygate_core::KeyProvider::import_parameters).
    pub(super) async fn import_parameters_op(
        &self,
        key: &KeyLocator,
        algorithm: WrappingAlgorithm,
        wrapping_key: WrappingKeySpec,
    ) -> Result<Resolved<ImportParameters>> {
        self.key_op(Action::KeysImport, key, |k, _| async move {
            let params = k
                .provider
                .import_parameters(&k.id, algorithm, wrapping_key)
                .await?;
            Ok((k.answer(params), None))
        })
        .await
    }

    /// Imports wrapped material into `key` (`keys:import`); returns the key, now enabled.
    ///
    /// # Errors
    /// As [`KeyProvider::import_material`](keygate_core::KeyProvider::import_material).
    pub(super) async fn import_key_material_op(
        &self,
        key: &KeyLocator,
        material: ImportedMaterial,
    ) -> Result<KeyMetadata> {
        self.key_op(Action::KeysImport, key, |k, _| async move {
            let meta = k.provider.import_material(&k.id, material).await?;
            let version = meta.primary_version.clone();
            Ok((meta, version))
        })
        .await
    }

    /// Deletes `key`'s imported material (`keys:import`): the key becomes pending import.
    ///
    /// # Errors
    /// As [`KeyProvider::delete_imported_material`](keygate_core::KeyProvider::delete_imported_material).
    pub(super) async fn delete_imported_material_op(
        &self,
        key: &KeyLocator,
    ) -> Result<KeyMetadata> {
        self.key_op(Action::KeysImport, key, |k, _| async move {
            let meta = k.provider.delete_imported_material(&k.id).await?;
            Ok((meta, None))
        })
        .await
    }
}
