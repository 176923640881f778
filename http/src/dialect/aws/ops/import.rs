//! Imported key material: GetParametersForImport, ImportKeyMaterial and
//! DeleteImportedKeyMaterial, for keys created with `Origin=EXTERNAL`. The import token and
//! the encrypted material pass through to the service layer and are never logged.

use keygate_core::api::Gateway as _;
use keygate_core::{ImportedMaterial, WrappingAlgorithm, WrappingKeySpec};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Ctx;
use super::keys::{Empty, KeyIdRequest};
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::wire::{blob, epoch, required};

/// `GetParametersForImport`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersRequest {
    key_id: Option<String>,
    wrapping_algorithm: Option<String>,
    wrapping_key_spec: Option<String>,
}

/// `GetParametersForImport`'s answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersResponse {
    key_id: String,
    #[serde(with = "blob")]
    import_token: Vec<u8>,
    #[serde(with = "blob")]
    public_key: Vec<u8>,
    parameters_valid_to: f64,
}

impl std::fmt::Debug for ParametersResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParametersResponse")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// `ImportKeyMaterial`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportRequest {
    key_id: Option<String>,
    #[serde(default, with = "blob")]
    import_token: Option<Vec<u8>>,
    #[serde(default, with = "blob")]
    encrypted_key_material: Option<Vec<u8>>,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
    import_type: Option<String>,
    key_material_id: Option<String>,
}

impl std::fmt::Debug for ImportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportRequest")
            .field("key_id", &self.key_id)
            .field("valid_to", &self.valid_to)
            .field("expiration_model", &self.expiration_model)
            .finish_non_exhaustive()
    }
}

fn wrapping_algorithm(name: &str) -> Result<WrappingAlgorithm, AwsError> {
    name.parse().map_err(|_| {
        AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'wrappingAlgorithm' failed to satisfy \
             constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_1, \
             RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1, RSA_AES_KEY_WRAP_SHA_256]"
        ))
    })
}

fn wrapping_key_spec(name: &str) -> Result<WrappingKeySpec, AwsError> {
    name.parse().map_err(|_| {
        AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'wrappingKeySpec' failed to satisfy \
             constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096]"
        ))
    })
}

/// `GetParametersForImport`: a fresh RSA wrapping key and import token, valid 24 hours.
pub async fn get_parameters(
    cx: &Ctx<'_>,
    req: ParametersRequest,
) -> Result<ParametersResponse, AwsError> {
    let algorithm = wrapping_algorithm(&required(req.wrapping_algorithm, "wrappingAlgorithm")?)?;
    let spec = wrapping_key_spec(&required(req.wrapping_key_spec, "wrappingKeySpec")?)?;
    let target = cx.key_only(req.key_id).await?;
    let params = cx
        .session
        .import_parameters(&target, algorithm, spec)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    let key_id = cx.keys.id_for(&params.uri).await?;
    Ok(ParametersResponse {
        key_id: cx.keys.arn(&key_id),
        import_token: params.value.import_token,
        public_key: params.value.public_key,
        parameters_valid_to: epoch(params.value.valid_to),
    })
}

/// `ImportKeyMaterial`: `ExpirationModel` defaults to `KEY_MATERIAL_EXPIRES`, which needs
/// `ValidTo`; `KEY_MATERIAL_DOES_NOT_EXPIRE` refuses one (AWS's rules).
pub async fn import_material(cx: &Ctx<'_>, req: ImportRequest) -> Result<Empty, AwsError> {
    let token = required(req.import_token, "importToken")?;
    let material = required(req.encrypted_key_material, "encryptedKeyMaterial")?;
    if req.import_type.as_deref() == Some("NEW_KEY_MATERIAL") || req.key_material_id.is_some() {
        return Err(AwsError::unsupported(
            "keygate keeps one key material per imported key: ImportType NEW_KEY_MATERIAL and \
             KeyMaterialId are not supported",
        ));
    }
    let valid_to = match (req.expiration_model.as_deref(), req.valid_to) {
        (None | Some("KEY_MATERIAL_EXPIRES"), Some(t)) => Some(
            OffsetDateTime::from_unix_timestamp(t.trunc() as i64)
                .map_err(|_| AwsError::validation("ValidTo is out of range"))?,
        ),
        (None | Some("KEY_MATERIAL_EXPIRES"), None) => {
            return Err(AwsError::validation(
                "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
            ));
        }
        (Some("KEY_MATERIAL_DOES_NOT_EXPIRE"), None) => None,
        (Some("KEY_MATERIAL_DOES_NOT_EXPIRE"), Some(_)) => {
            return Err(AwsError::validation(
                "A validTo date is only valid if the ExpirationModel is KEY_MATERIAL_EXPIRES",
            ));
        }
        (Some(other), _) => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'expirationModel' failed to \
                 satisfy constraint: Member must satisfy enum value set: \
                 [KEY_MATERIAL_DOES_NOT_EXPIRE, KEY_MATERIAL_EXPIRES]"
            )));
        }
    };
    let target = cx.key_only(req.key_id).await?;
    cx.session
        .import_key_material(
            &target,
            ImportedMaterial {
                import_token: token,
                encrypted_material: material,
                valid_to,
            },
        )
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `DeleteImportedKeyMaterial`: the key becomes `PendingImport`.
pub async fn delete_material(cx: &Ctx<'_>, req: KeyIdRequest) -> Result<Empty, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    cx.session
        .delete_imported_material(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}
