//! Cryptographic operations: envelopes, data keys, signatures and MACs.
//!
//! The decrypt endpoints answer every failure about the ciphertext with one fixed message
//! ([`ApiError::from_decrypt`]).

use keygate_core::api::Gateway as _;
use keygate_core::envelope::{EnvelopeHeader, is_envelope};
use keygate_core::{DataKeySpec, Error, KeyLocator};

use super::ApiResult;
use crate::rest::error::ApiError;
use crate::rest::extract::{Caller, Json, Keyed, locator};
use keygate_core::wire::{
    BeginEnvelopeBody, DataKeyBody, DataKeyOnly, DataKeyResponse, DecryptBody, DecryptedBody,
    EncryptBody, EncryptedBody, MacBody, MacResponse, MacVerifyBody, NativeEncryptedBody,
    OpenEnvelopeBody, RandomBody, RandomResponse, RewrapBody, RewrapResponse, SealingKeyBody,
    SignBody, SignatureBody, Valid, VerifyBody, b64, b64_secret, unb64, unb64_secret,
};

pub(super) async fn encrypt(
    Caller(s): Caller,
    Json(body): Json<EncryptBody>,
) -> ApiResult<Json<EncryptedBody>> {
    let plaintext = unb64_secret("plaintext", &body.plaintext)?;
    let keys = locators(&body.key, &body.keys)?;
    let envelope = s
        .encrypt_for_keys(&keys, plaintext.as_slice(), &body.context)
        .await?;
    // The envelope names its keys and versions; reading them back from the header keeps the
    // answer exactly what a decrypt will route on.
    let (header, _) = EnvelopeHeader::decode(&envelope)?;
    Ok(Json(EncryptedBody {
        ciphertext: b64(&envelope),
        key_uris: header.recipients().into_iter().map(|r| r.key_uri).collect(),
        key_uri: header.key_uri,
        key_version: header.key_version,
    }))
}

pub(super) async fn encrypt_native(
    Caller(s): Caller,
    Json(body): Json<EncryptBody>,
) -> ApiResult<Keyed<NativeEncryptedBody>> {
    let plaintext = unb64_secret("plaintext", &body.plaintext)?;
    let ct = s
        .encrypt_native(&locator(&body.key)?, plaintext.as_slice(), &body.context)
        .await?;
    Ok(Keyed(ct.map(|ct| NativeEncryptedBody {
        ciphertext: b64(&ct.bytes),
        key_version: ct.key_version,
        algorithm: ct.algorithm,
    })))
}

pub(super) async fn random(
    Caller(s): Caller,
    Json(body): Json<RandomBody>,
) -> ApiResult<Json<RandomResponse>> {
    let bytes = s.generate_random(body.bytes).await?;
    Ok(Json(RandomResponse {
        random: b64_secret(&bytes),
    }))
}

pub(super) async fn decrypt(
    Caller(s): Caller,
    Json(body): Json<DecryptBody>,
) -> ApiResult<Json<DecryptedBody>> {
    let ciphertext = unb64("ciphertext", &body.ciphertext).map_err(ApiError::from_decrypt)?;
    let version = body.key_version.as_deref();
    let decrypted = if is_envelope(&ciphertext) {
        // An envelope names the version that sealed it; naming another is a mistake.
        match (version, EnvelopeHeader::decode(&ciphertext)) {
            (Some(v), Ok((header, _))) if header.key_version != v => Err(Error::invalid(
                "the envelope was sealed by another key version than the one named",
            )),
            _ => s.decrypt(&ciphertext, &body.context).await,
        }
    } else if let Some(key) = &body.key {
        match KeyLocator::parse(key) {
            Ok(key) => {
                s.decrypt_native(&key, version, &ciphertext, &body.context)
                    .await
            }
            Err(e) => Err(e),
        }
    } else {
        Err(Error::IntegrityFailure)
    }
    .map_err(ApiError::from_decrypt)?;
    Ok(Json(DecryptedBody {
        plaintext: b64_secret(&decrypted.plaintext),
        key_uri: decrypted.key_uri,
        key_version: decrypted.key_version,
        context: decrypted.context,
    }))
}

pub(super) async fn generate_data_key(
    Caller(s): Caller,
    Json(body): Json<DataKeyBody>,
) -> ApiResult<Keyed<DataKeyResponse>> {
    let spec = match (body.spec, body.bytes) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid("give either `spec` or `bytes`, not both").into());
        }
        (None, Some(n)) => DataKeySpec::of_bytes(n)?,
        (spec, None) => spec.unwrap_or(DataKeySpec::Aes256),
    };
    let dk = s
        .generate_data_key(&locator(&body.key)?, spec, &body.context)
        .await?;
    Ok(Keyed(dk.map(|dk| DataKeyResponse {
        plaintext: b64_secret(&dk.plaintext),
        ciphertext: b64(&dk.ciphertext),
        key_version: dk.key_version,
    })))
}

pub(super) async fn begin_envelope(
    Caller(s): Caller,
    Json(body): Json<BeginEnvelopeBody>,
) -> ApiResult<Json<SealingKeyBody>> {
    let keys = locators(&body.key, &body.keys)?;
    let sealing = s.begin_envelope_for_keys(&keys, &body.context).await?;
    Ok(Json(SealingKeyBody {
        header: b64(&sealing.header.encode()?),
        data_key: b64_secret(&sealing.data_key),
    }))
}

pub(super) async fn open_envelope(
    Caller(s): Caller,
    Json(body): Json<OpenEnvelopeBody>,
) -> ApiResult<Json<DataKeyOnly>> {
    let bytes = unb64("header", &body.header).map_err(ApiError::from_decrypt)?;
    let (header, _) = EnvelopeHeader::decode(&bytes).map_err(ApiError::from_decrypt)?;
    let data_key = s
        .open_envelope(&header, &body.context)
        .await
        .map_err(ApiError::from_decrypt)?;
    Ok(Json(DataKeyOnly {
        data_key: b64_secret(&data_key),
    }))
}

pub(super) async fn rewrap_envelope(
    Caller(s): Caller,
    Json(body): Json<RewrapBody>,
) -> ApiResult<Json<RewrapResponse>> {
    let bytes = unb64("header", &body.header)?;
    let (header, len) = EnvelopeHeader::decode(&bytes)?;
    if len != bytes.len() {
        return Err(Error::invalid("`header` holds bytes after the envelope header").into());
    }
    let add = body
        .add
        .iter()
        .map(|k| locator(k))
        .collect::<Result<Vec<_>, _>>()?;
    let remove = body
        .remove
        .iter()
        .map(|k| locator(k))
        .collect::<Result<Vec<_>, _>>()?;
    let rewrapped = s
        .rewrap_envelope(&header, &add, &remove, &body.context)
        .await?;
    let encoded = rewrapped.encode()?;
    Ok(Json(RewrapResponse {
        same_length: encoded.len() == len,
        header: b64(&encoded),
        key_uris: rewrapped
            .recipients()
            .into_iter()
            .map(|r| r.key_uri)
            .collect(),
    }))
}

/// `key` (when not empty) then `keys`: the keys of an envelope, at least one.
fn locators(key: &str, keys: &[String]) -> Result<Vec<KeyLocator>, ApiError> {
    let all: Vec<KeyLocator> = std::iter::once(key)
        .filter(|k| !k.is_empty())
        .chain(keys.iter().map(String::as_str))
        .map(locator)
        .collect::<Result<_, _>>()?;
    if all.is_empty() {
        return Err(Error::invalid("name a key: `key` or `keys`").into());
    }
    Ok(all)
}

pub(super) async fn sign(
    Caller(s): Caller,
    Json(body): Json<SignBody>,
) -> ApiResult<Keyed<SignatureBody>> {
    let message = unb64("message", &body.message)?;
    let input = body.message_type.input(&message);
    let sig = s
        .sign(
            &locator(&body.key)?,
            body.key_version.as_deref(),
            input,
            body.algorithm,
        )
        .await?;
    Ok(Keyed(sig.map(|sig| SignatureBody {
        signature: b64(&sig.bytes),
        key_version: sig.key_version,
        algorithm: sig.algorithm,
    })))
}

pub(super) async fn verify(
    Caller(s): Caller,
    Json(body): Json<VerifyBody>,
) -> ApiResult<Keyed<Valid>> {
    let message = unb64("message", &body.message)?;
    let signature = unb64("signature", &body.signature)?;
    let version = body.key_version.as_deref();
    let input = body.message_type.input(&message);
    let valid = s
        .verify(
            &locator(&body.key)?,
            version,
            input,
            &signature,
            body.algorithm,
        )
        .await?;
    Ok(Keyed(valid.map(|valid| Valid { valid })))
}

pub(super) async fn mac(
    Caller(s): Caller,
    Json(body): Json<MacBody>,
) -> ApiResult<Keyed<MacResponse>> {
    let message = unb64("message", &body.message)?;
    let tag = s
        .generate_mac(&locator(&body.key)?, body.key_version.as_deref(), &message)
        .await?;
    Ok(Keyed(tag.map(|tag| MacResponse {
        mac: b64(&tag.bytes),
        key_version: tag.key_version,
        algorithm: tag.algorithm,
    })))
}

pub(super) async fn mac_verify(
    Caller(s): Caller,
    Json(body): Json<MacVerifyBody>,
) -> ApiResult<Keyed<Valid>> {
    let message = unb64("message", &body.message)?;
    let mac = unb64("mac", &body.mac)?;
    let valid = s
        .verify_mac(
            &locator(&body.key)?,
            body.key_version.as_deref(),
            &message,
            &mac,
        )
        .await?;
    Ok(Keyed(valid.map(|valid| Valid { valid })))
}
