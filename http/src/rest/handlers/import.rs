//! `/v1/keys/{key}/import-parameters`, `/import` and `/delete-material`: imported key
//! material (keys of origin `external`). Tokens and wrapped material are base64 on the wire
//! and never logged.

use keygate_core::api::Gateway as _;
use keygate_core::wire::{
    ImportMaterialBody, ImportParametersBody, ImportParametersRequestBody, b64, unb64,
};
use keygate_core::{ImportedMaterial, KeyMetadata};

use super::ApiResult;
use crate::rest::extract::{Caller, Json, KeyPath, Keyed};

pub(super) async fn parameters(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Json(body): Json<ImportParametersRequestBody>,
) -> ApiResult<Keyed<ImportParametersBody>> {
    let params = s
        .import_parameters(&key, body.wrapping_algorithm, body.wrapping_key_spec)
        .await?;
    Ok(Keyed(params.map(|p| ImportParametersBody {
        public_key: b64(&p.public_key),
        import_token: b64(&p.import_token),
        algorithm: p.algorithm,
        valid_to: p.valid_to,
    })))
}

pub(super) async fn import(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
    Json(body): Json<ImportMaterialBody>,
) -> ApiResult<Json<KeyMetadata>> {
    let material = ImportedMaterial {
        import_token: unb64("import_token", &body.import_token)?,
        encrypted_material: unb64("encrypted_material", &body.encrypted_material)?,
        valid_to: body.valid_to,
    };
    Ok(Json(s.import_key_material(&key, material).await?))
}

pub(super) async fn delete_material(
    Caller(s): Caller,
    KeyPath(key): KeyPath,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(s.delete_imported_material(&key).await?))
}
