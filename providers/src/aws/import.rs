//! Imported key material, passed through to KMS: `GetParametersForImport`,
//! `ImportKeyMaterial` and `DeleteImportedKeyMaterial` on keys created with
//! `Origin=EXTERNAL`. KMS keeps the wrapping keys and enforces the rules; the token and the
//! wrapped material go to KMS as given and appear in no log or error.

use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, KeyMetadata as AwsKeyMetadata, OriginType,
    WrappingKeySpec as AwsWrappingKeySpec,
};
use keygate_core::{
    Error, ExpirationModel, ImportInfo, ImportParameters, ImportedMaterial, KeyMetadata, Result,
    WrappingAlgorithm, WrappingKeySpec,
};

use super::AwsKmsProvider;
use super::client;

fn algorithm_to_aws(algorithm: WrappingAlgorithm) -> AlgorithmSpec {
    match algorithm {
        WrappingAlgorithm::RsaesOaepSha1 => AlgorithmSpec::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256 => AlgorithmSpec::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha1 => AlgorithmSpec::RsaAesKeyWrapSha1,
        _ => AlgorithmSpec::RsaAesKeyWrapSha256,
    }
}

fn spec_to_aws(spec: WrappingKeySpec) -> AwsWrappingKeySpec {
    match spec {
        WrappingKeySpec::Rsa2048 => AwsWrappingKeySpec::Rsa2048,
        WrappingKeySpec::Rsa3072 => AwsWrappingKeySpec::Rsa3072,
        _ => AwsWrappingKeySpec::Rsa4096,
    }
}

/// What KMS's metadata says of a key of imported material; `None` for any other origin.
pub(crate) fn import_info(raw: &AwsKeyMetadata) -> Option<ImportInfo> {
    if raw.origin() != Some(&OriginType::External) {
        return None;
    }
    Some(ImportInfo {
        expiration_model: raw.expiration_model().and_then(|m| match m {
            ExpirationModelType::KeyMaterialExpires => Some(ExpirationModel::KeyMaterialExpires),
            ExpirationModelType::KeyMaterialDoesNotExpire => {
                Some(ExpirationModel::KeyMaterialDoesNotExpire)
            }
            _ => None,
        }),
        valid_to: raw.valid_to().map(client::to_time),
    })
}

impl AwsKmsProvider {
    pub(super) async fn import_parameters_impl(
        &self,
        key_id: &str,
        algorithm: WrappingAlgorithm,
        wrapping_key: WrappingKeySpec,
    ) -> Result<ImportParameters> {
        let key = self.kms.describe(key_id).await?;
        let what = format!("get_parameters_for_import({})", key.id);
        let out = self
            .kms
            .client
            .get_parameters_for_import()
            .key_id(&key.id)
            .wrapping_algorithm(algorithm_to_aws(algorithm))
            .wrapping_key_spec(spec_to_aws(wrapping_key))
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let missing =
            |member: &str| Error::provider(&self.info.name, format!("{what}: no {member}"));
        Ok(ImportParameters {
            key_id: key.id.clone(),
            public_key: out
                .public_key
                .ok_or_else(|| missing("PublicKey"))?
                .into_inner(),
            import_token: out
                .import_token
                .ok_or_else(|| missing("ImportToken"))?
                .into_inner(),
            algorithm,
            valid_to: out
                .parameters_valid_to
                .as_ref()
                .map(client::to_time)
                .ok_or_else(|| missing("ParametersValidTo"))?,
        })
    }

    pub(super) async fn import_material_impl(
        &self,
        key_id: &str,
        material: ImportedMaterial,
    ) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        let what = format!("import_key_material({})", key.id);
        let model = match material.valid_to {
            Some(_) => ExpirationModelType::KeyMaterialExpires,
            None => ExpirationModelType::KeyMaterialDoesNotExpire,
        };
        self.kms
            .client
            .import_key_material()
            .key_id(&key.id)
            .import_token(Blob::new(material.import_token))
            .encrypted_key_material(Blob::new(material.encrypted_material))
            .expiration_model(model)
            .set_valid_to(
                material
                    .valid_to
                    .map(|t| DateTime::from_secs(t.unix_timestamp())),
            )
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let key = self.kms.describe(&key.id).await?;
        self.metadata(&key).await
    }

    pub(super) async fn delete_imported_material_impl(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        let what = format!("delete_imported_key_material({})", key.id);
        self.kms
            .client
            .delete_imported_key_material()
            .key_id(&key.id)
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let key = self.kms.describe(&key.id).await?;
        self.metadata(&key).await
    }
}
