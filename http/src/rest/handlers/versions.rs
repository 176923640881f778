//! `/v1/keys/{key}/versions/{version}/…`: one version's lifecycle (enable, disable, destroy,
//! restore, make primary), its public key, and the cryptographic operations on it.
//!
//! The operations take the same bodies as the top-level routes (`/v1/sign`, `/v1/verify`,
//! `/v1/mac`, `/v1/mac/verify`, `/v1/decrypt`); the path names the key and the version, so
//! `key` and `key_version` (or `version`) may be left out of the body, and when present must
//! name the same (a mismatch is a typed 400).

use keygate_core::api::Gateway as _;
use keygate_core::wire::{
    DecryptBody, DecryptedBody, MacBody, MacResponse, MacVerifyBody, PublicKeyBody, SignBody,
    SignatureBody, Valid, VerifyBody, b64,
};
use keygate_core::{Error, KeyMetadata, KeyVersion};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiResult, crypto};
use crate::rest::error::ApiError;
use crate::rest::extract::{Caller, Json, Keyed, Path, locator};

/// The key and the version a route names.
#[derive(Debug, Deserialize)]
pub(super) struct VersionPath {
    key: String,
    version: String,
}

pub(super) async fn enable(
    Caller(s): Caller,
    Path(p): Path<VersionPath>,
) -> ApiResult<Keyed<KeyVersion>> {
    Ok(Keyed(
        s.enable_version(&locator(&p.key)?, &p.version).await?,
    ))
}

pub(super) async fn disable(
    Caller(s): Caller,
    Path(p): Path<VersionPath>,
) -> ApiResult<Keyed<KeyVersion>> {
    Ok(Keyed(
        s.disable_version(&locator(&p.key)?, &p.version).await?,
    ))
}

pub(super) async fn destroy(
    Caller(s): Caller,
    Path(p): Path<VersionPath>,
) -> ApiResult<Keyed<KeyVersion>> {
    Ok(Keyed(
        s.destroy_version(&locator(&p.key)?, &p.version).await?,
    ))
}

pub(super) async fn restore(
    Caller(s): Caller,
    Path(p): Path<VersionPath>,
) -> ApiResult<Keyed<KeyVersion>> {
    Ok(Keyed(
        s.restore_version(&locator(&p.key)?, &p.version).await?,
    ))
}

pub(super) async fn primary(
    Caller(s): Caller,
    Path(p): Path<VersionPath>,
) -> ApiResult<Json<KeyMetadata>> {
    Ok(Json(
        s.set_primary_version(&locator(&p.key)?, &p.version).await?,
    ))
}

pub(super) async fn public_key(
    Caller(s): Caller,
    Path(p): Path<VersionPath>,
) -> ApiResult<Keyed<PublicKeyBody>> {
    let pk = s
        .get_public_key(&locator(&p.key)?, Some(&p.version))
        .await?;
    Ok(Keyed(pk.map(|pk| PublicKeyBody {
        pem: pk.pem(),
        der: b64(&pk.der),
        key_version: pk.key_version,
        spec: pk.spec,
    })))
}

pub(super) async fn sign(
    caller: Caller,
    Path(p): Path<VersionPath>,
    Json(body): Json<Value>,
) -> ApiResult<Keyed<SignatureBody>> {
    crypto::sign(caller, Json(with_path::<SignBody>(&p, body)?)).await
}

pub(super) async fn verify(
    caller: Caller,
    Path(p): Path<VersionPath>,
    Json(body): Json<Value>,
) -> ApiResult<Keyed<Valid>> {
    crypto::verify(caller, Json(with_path::<VerifyBody>(&p, body)?)).await
}

pub(super) async fn mac(
    caller: Caller,
    Path(p): Path<VersionPath>,
    Json(body): Json<Value>,
) -> ApiResult<Keyed<MacResponse>> {
    crypto::mac(caller, Json(with_path::<MacBody>(&p, body)?)).await
}

pub(super) async fn mac_verify(
    caller: Caller,
    Path(p): Path<VersionPath>,
    Json(body): Json<Value>,
) -> ApiResult<Keyed<Valid>> {
    crypto::mac_verify(caller, Json(with_path::<MacVerifyBody>(&p, body)?)).await
}

pub(super) async fn decrypt(
    caller: Caller,
    Path(p): Path<VersionPath>,
    Json(body): Json<Value>,
) -> ApiResult<Json<DecryptedBody>> {
    crypto::decrypt(caller, Json(with_path::<DecryptBody>(&p, body)?)).await
}

/// The top-level body of an operation, with the key and the version the path names put in;
/// a body that names another key or version is a typed 400.
fn with_path<T: DeserializeOwned>(p: &VersionPath, body: Value) -> Result<T, ApiError> {
    let Value::Object(mut fields) = body else {
        return Err(Error::invalid("the request body must be a JSON object").into());
    };
    for (field, want) in [
        ("key", &p.key),
        ("key_version", &p.version),
        ("version", &p.version),
    ] {
        match fields.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(given)) if given == want => {}
            Some(_) => {
                return Err(Error::invalid(format!(
                    "`{field}` in the body does not match the path's `{want}`"
                ))
                .into());
            }
        }
    }
    fields.remove("version");
    fields.insert("key".into(), Value::String(p.key.clone()));
    fields.insert("key_version".into(), Value::String(p.version.clone()));
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| Error::invalid(format!("invalid request body: {e}")).into())
}
