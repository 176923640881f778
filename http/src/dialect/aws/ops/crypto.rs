//! Encryption: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
//! GenerateRandom.
//!
//! A symmetric `CiphertextBlob` is a keygate envelope (it names its key), so it decrypts
//! without a `KeyId`, through the CLI and REST, and through the other dialects. RSA keys
//! encrypt with RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256 into the bare RSA ciphertext AWS
//! answers (the provider's raw encryption, binding no context); a provider without raw
//! RSA-OAEP-SHA-256 answers its native form for RSAES_OAEP_SHA_256, and Decrypt still opens
//! the native form keygate answered before. The encryption context
//! must match exactly on decrypt, as in AWS. `ReEncrypt` is a decrypt then an encrypt: two
//! Gateway calls, two audit rows.

use std::collections::BTreeMap;
use std::fmt;

use keygate_core::api::{Decrypted, Gateway as _};
use keygate_core::envelope::{self, EnvelopeHeader, is_envelope};
use keygate_core::{DataKeySpec, EncryptionAlgorithm, EncryptionContext, Error};
use serde::{Deserialize, Deserializer, Serialize};
use zeroize::Zeroizing;

use super::Ctx;
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::rules;
use crate::dialect::aws::wire::{blob, check_len, check_range, required};
use keygate_core::KeyLocator;
use keygate_server::service::Session;

/// The most plaintext AWS encrypts in one call.
const MAX_PLAINTEXT: usize = 4096;
/// The shortest data key the door wraps: an envelope key is at least 16 bytes.
const MIN_ENVELOPE_DATA_KEY: usize = 16;
/// The largest ciphertext AWS accepts.
const MAX_CIPHERTEXT: usize = 6144;
/// The sizes of a bare RSA ciphertext under keygate's RSA keys (2048, 3072, 4096 bits).
const RSA_SIZES: [usize; 3] = [256, 384, 512];

/// A secret blob member (plaintext): wiped from memory when dropped.
fn secret_blob<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Zeroizing<Vec<u8>>>, D::Error> {
    blob::deserialize(d).map(|b| b.map(Zeroizing::new))
}

/// The encryption algorithms of the `EncryptionAlgorithm` members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Symmetric,
    RsaOaepSha256,
    RsaOaepSha1,
}

impl Algorithm {
    fn parse(name: Option<&str>) -> Result<Self, AwsError> {
        match name {
            None | Some("SYMMETRIC_DEFAULT") => Ok(Self::Symmetric),
            Some("RSAES_OAEP_SHA_256") => Ok(Self::RsaOaepSha256),
            Some("RSAES_OAEP_SHA_1") => Ok(Self::RsaOaepSha1),
            Some(other @ "SM2PKE") => Err(AwsError::unsupported(format!(
                "EncryptionAlgorithm {other} is not supported by keygate; use SYMMETRIC_DEFAULT, \
                 RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256"
            ))),
            Some(other) => Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'encryptionAlgorithm' failed to \
                 satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, \
                 RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Symmetric => "SYMMETRIC_DEFAULT",
            Self::RsaOaepSha256 => "RSAES_OAEP_SHA_256",
            Self::RsaOaepSha1 => "RSAES_OAEP_SHA_1",
        }
    }

    /// The raw RSA algorithm of an `RSAES_*` algorithm.
    fn raw(self) -> Option<EncryptionAlgorithm> {
        match self {
            Self::Symmetric => None,
            Self::RsaOaepSha256 => Some(EncryptionAlgorithm::RsaOaepSha256),
            Self::RsaOaepSha1 => Some(EncryptionAlgorithm::RsaOaepSha1),
        }
    }

    /// True when this is `RSAES_OAEP_SHA_256` and `target`'s provider has no raw
    /// RSA-OAEP-SHA-256: the provider's native RSA encryption stands in.
    async fn native(self, cx: &Ctx<'_>, target: &KeyLocator) -> Result<bool, AwsError> {
        if self != Self::RsaOaepSha256 {
            return Ok(false);
        }
        Ok(cx.locate(target).await?.is_some_and(|key| {
            !key.provider
                .capabilities()
                .raw_encryption
                .contains(&EncryptionAlgorithm::RsaOaepSha256)
        }))
    }
    /// The caller's session, refusing a key this algorithm does not fit (AWS's rule).
    fn session(self, cx: &Ctx<'_>) -> Session {
        let rule = rules::encryption_algorithm(self.name(), self != Self::Symmetric);
        cx.session.clone().with_key_rule(rule)
    }
}

fn context(map: Option<BTreeMap<String, String>>) -> EncryptionContext {
    EncryptionContext(map.unwrap_or_default())
}

fn no_dry_run(dry_run: Option<bool>) -> Result<(), AwsError> {
    if dry_run == Some(true) {
        return Err(AwsError::unsupported("keygate does not support DryRun"));
    }
    Ok(())
}

/// `Encrypt`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptRequest {
    key_id: Option<String>,
    #[serde(default, deserialize_with = "secret_blob")]
    plaintext: Option<Zeroizing<Vec<u8>>>,
    encryption_context: Option<BTreeMap<String, String>>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

impl fmt::Debug for EncryptRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("key_id", &self.key_id)
            .field("plaintext", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `Encrypt` and `ReEncrypt`'s ciphertext answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    #[serde(serialize_with = "blob::serialize")]
    ciphertext_blob: Vec<u8>,
    key_id: String,
    encryption_algorithm: &'static str,
}

/// Encrypts under `target`; returns the ciphertext and the key's URI.
async fn seal(
    cx: &Ctx<'_>,
    target: &KeyLocator,
    plaintext: &[u8],
    ctx: &EncryptionContext,
    algorithm: Algorithm,
) -> Result<(Vec<u8>, String), AwsError> {
    let session = algorithm.session(cx);
    match algorithm {
        Algorithm::Symmetric => {
            let blob = session
                .encrypt(target, plaintext, ctx)
                .await
                .map_err(|e| cx.fail(e, target))?;
            // The envelope names the key the service resolved.
            let uri = EnvelopeHeader::decode(&blob)?.0.key_uri;
            Ok((blob, uri))
        }
        Algorithm::RsaOaepSha256 if algorithm.native(cx, target).await? => {
            let ct = session
                .encrypt_native(target, plaintext, ctx)
                .await
                .map_err(|e| cx.fail(e, target))?;
            Ok((ct.value.bytes, ct.uri))
        }
        Algorithm::RsaOaepSha256 | Algorithm::RsaOaepSha1 => {
            // The bare RSA ciphertext binds no context; one given could never be checked.
            if !ctx.is_empty() {
                return Err(AwsError::validation(
                    "EncryptionContext is not supported with asymmetric encryption algorithms",
                ));
            }
            let raw = algorithm
                .raw()
                .unwrap_or(EncryptionAlgorithm::RsaOaepSha256);
            let ct = session
                .encrypt_raw(target, raw, plaintext)
                .await
                .map_err(|e| cx.fail(e, target))?;
            Ok((ct.value.bytes, ct.uri))
        }
    }
}

/// `Encrypt`: at most 4096 bytes, as in AWS.
pub async fn encrypt(cx: &Ctx<'_>, req: EncryptRequest) -> Result<EncryptResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let plaintext = required(req.plaintext, "plaintext")?;
    check_len("plaintext", plaintext.len(), 1, MAX_PLAINTEXT)?;
    let algorithm = Algorithm::parse(req.encryption_algorithm.as_deref())?;
    let target = cx.target(req.key_id).await?;
    let ctx = context(req.encryption_context);
    let (ciphertext_blob, uri) = seal(cx, &target, &plaintext, &ctx, algorithm).await?;
    Ok(EncryptResponse {
        ciphertext_blob,
        key_id: cx.keys.arn_for(&uri).await?,
        encryption_algorithm: algorithm.name(),
    })
}

/// `Decrypt`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptRequest {
    #[serde(default, deserialize_with = "blob::deserialize")]
    ciphertext_blob: Option<Vec<u8>>,
    encryption_context: Option<BTreeMap<String, String>>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

/// `Decrypt` answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptResponse {
    key_id: String,
    #[serde(serialize_with = "blob::serialize")]
    plaintext: Zeroizing<Vec<u8>>,
    encryption_algorithm: &'static str,
}

/// Any failure to open a ciphertext is the one `InvalidCiphertextException` (a malformed
/// envelope included), except the caller's own refusals and keygate's faults.
fn open_error(cx: &Ctx<'_>, error: Error, target: &KeyLocator) -> AwsError {
    match error {
        Error::IntegrityFailure | Error::InvalidArgument(_) => AwsError::invalid_ciphertext(),
        other => cx.fail(other, target),
    }
}

/// Decrypts `ct`, checking the context exactly and, when the caller named one, the key.
async fn open(
    cx: &Ctx<'_>,
    ct: &[u8],
    ctx: &EncryptionContext,
    key_id: Option<String>,
    algorithm: Algorithm,
) -> Result<Decrypted, AwsError> {
    check_len("ciphertextBlob", ct.len(), 1, MAX_CIPHERTEXT)?;
    let named = match key_id {
        Some(k) => Some(cx.target(Some(k)).await?),
        None => None,
    };
    let decrypted = if algorithm == Algorithm::Symmetric && is_envelope(ct) {
        let header_key = EnvelopeHeader::decode(ct)
            .map(|(h, _)| h.key_uri)
            .map_err(|_| AwsError::invalid_ciphertext())?;
        match &named {
            // The named key is authorized and checked against the envelope by the service,
            // in one audited call (another key's envelope is a `denied` row).
            Some(target) => match algorithm.session(cx).decrypt_under(target, ct, ctx).await {
                Ok(d) => d,
                Err(Error::IntegrityFailure) => {
                    return Err(if cx.uri_of(target).await? == header_key {
                        AwsError::invalid_ciphertext()
                    } else {
                        AwsError::bad(
                            "IncorrectKeyException",
                            "The key ID in the request does not identify the KMS key that encrypted the ciphertext.",
                        )
                    });
                }
                Err(e) => return Err(open_error(cx, e, target)),
            },
            None => {
                // The envelope's key must be in the request's region, as the key a
                // `KeyId` names must.
                let envelope_target = match cx
                    .in_region(KeyLocator::Uri(header_key.clone()), &header_key)
                    .await
                {
                    Err(e) if e.code == "NotFoundException" => return Err(cx.missing(e).await),
                    other => other?,
                };
                cx.session
                    .decrypt(ct, ctx)
                    .await
                    .map_err(|e| open_error(cx, e, &envelope_target))?
            }
        }
    } else {
        // Not an envelope: a provider-native ciphertext (RSA, or one a cloud KMS made
        // itself), which needs its key named.
        let Some(target) = &named else {
            return Err(match algorithm {
                Algorithm::RsaOaepSha256 | Algorithm::RsaOaepSha1 => AwsError::validation(
                    "KeyId is required to decrypt with an asymmetric encryption algorithm",
                ),
                Algorithm::Symmetric => AwsError::invalid_ciphertext(),
            });
        };
        // Before raw RSAES_OAEP_SHA_256, keygate answered its native ciphertext (the bare RSA
        // ciphertext behind a header, so never of a modulus' size): those still open.
        let native = algorithm == Algorithm::Symmetric
            || algorithm.native(cx, target).await?
            || (algorithm == Algorithm::RsaOaepSha256 && !RSA_SIZES.contains(&ct.len()));
        if let (Some(raw), false) = (algorithm.raw(), native) {
            algorithm
                .session(cx)
                .decrypt_raw(target, None, raw, ct)
                .await
                .map_err(|e| open_error(cx, e, target))?
        } else {
            algorithm
                .session(cx)
                .decrypt_native(target, None, ct, ctx)
                .await
                .map_err(|e| open_error(cx, e, target))?
        }
    };
    // AWS semantics: the context must be exactly the one used to encrypt (empty = empty).
    if decrypted.context != *ctx {
        return Err(AwsError::invalid_ciphertext());
    }
    Ok(decrypted)
}

/// `Decrypt`.
pub async fn decrypt(cx: &Ctx<'_>, req: DecryptRequest) -> Result<DecryptResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let ct = required(req.ciphertext_blob, "ciphertextBlob")?;
    let algorithm = Algorithm::parse(req.encryption_algorithm.as_deref())?;
    let ctx = context(req.encryption_context);
    let d = open(cx, &ct, &ctx, req.key_id, algorithm).await?;
    Ok(DecryptResponse {
        key_id: cx.keys.arn_for(&d.key_uri).await?,
        plaintext: d.plaintext,
        encryption_algorithm: algorithm.name(),
    })
}

/// `ReEncrypt`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptRequest {
    #[serde(default, deserialize_with = "blob::deserialize")]
    ciphertext_blob: Option<Vec<u8>>,
    source_encryption_context: Option<BTreeMap<String, String>>,
    source_key_id: Option<String>,
    destination_key_id: Option<String>,
    destination_encryption_context: Option<BTreeMap<String, String>>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

/// `ReEncrypt` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptResponse {
    #[serde(serialize_with = "blob::serialize")]
    ciphertext_blob: Vec<u8>,
    source_key_id: String,
    key_id: String,
    source_encryption_algorithm: &'static str,
    destination_encryption_algorithm: &'static str,
}

/// `ReEncrypt`: decrypt, then encrypt under the destination key.
pub async fn re_encrypt(
    cx: &Ctx<'_>,
    req: ReEncryptRequest,
) -> Result<ReEncryptResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let ct = required(req.ciphertext_blob, "ciphertextBlob")?;
    let source_alg = Algorithm::parse(req.source_encryption_algorithm.as_deref())?;
    let dest_alg = Algorithm::parse(req.destination_encryption_algorithm.as_deref())?;
    let destination = cx.target(req.destination_key_id).await?;
    let source_ctx = context(req.source_encryption_context);
    let d = open(cx, &ct, &source_ctx, req.source_key_id, source_alg).await?;
    let dest_ctx = context(req.destination_encryption_context);
    let (ciphertext_blob, uri) = seal(cx, &destination, &d.plaintext, &dest_ctx, dest_alg).await?;
    Ok(ReEncryptResponse {
        ciphertext_blob,
        source_key_id: cx.keys.arn_for(&d.key_uri).await?,
        key_id: cx.keys.arn_for(&uri).await?,
        source_encryption_algorithm: source_alg.name(),
        destination_encryption_algorithm: dest_alg.name(),
    })
}

/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataKeyRequest {
    key_id: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    dry_run: Option<bool>,
}

/// `GenerateDataKey(WithoutPlaintext)` answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataKeyResponse {
    #[serde(serialize_with = "blob::serialize")]
    ciphertext_blob: Vec<u8>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret"
    )]
    plaintext: Option<Zeroizing<Vec<u8>>>,
    key_id: String,
}

fn serialize_secret<S: serde::Serializer>(
    bytes: &Option<Zeroizing<Vec<u8>>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => blob::serialize(b, s),
        None => s.serialize_none(),
    }
}

fn data_key_spec(req: &DataKeyRequest) -> Result<DataKeySpec, AwsError> {
    match (req.key_spec.as_deref(), req.number_of_bytes) {
        (Some(_), Some(_)) | (None, None) => Err(AwsError::validation(
            "Please specify either number of bytes or key spec.",
        )),
        (Some("AES_256"), None) => Ok(DataKeySpec::Aes256),
        (Some("AES_128"), None) => Ok(DataKeySpec::Aes128),
        (Some(other), None) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy \
             constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        ))),
        (None, Some(n)) => {
            check_range("numberOfBytes", n, 1, 1024)?;
            let bytes = usize::try_from(n).unwrap_or(0);
            // The CiphertextBlob is a keygate envelope keyed by the data key itself, and an
            // envelope key is at least 16 bytes.
            if bytes < MIN_ENVELOPE_DATA_KEY {
                return Err(AwsError::unsupported(format!(
                    "keygate's AWS door makes data keys of {MIN_ENVELOPE_DATA_KEY} to 1024 bytes \
                     (its CiphertextBlob is an envelope keyed by the data key), not {bytes}"
                )));
            }
            DataKeySpec::of_bytes(bytes).map_err(|e| AwsError::validation(e.to_string()))
        }
    }
}

/// One `Gateway::generate_data_key` call; the provider's wrapped key becomes a keygate
/// envelope whose payload is the data key sealed under itself, so `Decrypt` (and
/// `keygate decrypt`) returns the data key like any other plaintext.
async fn data_key(cx: &Ctx<'_>, req: DataKeyRequest) -> Result<DataKeyResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    // NumberOfBytes's documented bounds are checked with the request; what keygate can
    // make of it waits for the key, as AWS looks the key up first.
    if let Some(n) = req.number_of_bytes {
        check_range("numberOfBytes", n, 1, 1024)?;
    }
    let spec = data_key_spec(&req);
    let target = cx.target(req.key_id).await?;
    let ctx = context(req.encryption_context);
    let rule = rules::data_key(spec.as_ref().map(drop).map_err(Clone::clone));
    let resolved = cx
        .session
        .clone()
        .with_key_rule(rule)
        .generate_data_key(&target, spec.unwrap_or(DataKeySpec::Aes256), &ctx)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    let uri = resolved.uri;
    let dk = resolved.value;
    let header = EnvelopeHeader::new(
        resolved.key.provider,
        uri.clone(),
        dk.key_version,
        ctx,
        dk.ciphertext,
    );
    let ciphertext_blob = envelope::seal(&header, &dk.plaintext, &dk.plaintext)?;
    Ok(DataKeyResponse {
        ciphertext_blob,
        plaintext: Some(dk.plaintext),
        key_id: cx.keys.arn_for(&uri).await?,
    })
}

/// `GenerateDataKey`.
pub async fn generate_data_key(
    cx: &Ctx<'_>,
    req: DataKeyRequest,
) -> Result<DataKeyResponse, AwsError> {
    data_key(cx, req).await
}

/// `GenerateDataKeyWithoutPlaintext`.
pub async fn generate_data_key_without_plaintext(
    cx: &Ctx<'_>,
    req: DataKeyRequest,
) -> Result<DataKeyResponse, AwsError> {
    let mut answer = data_key(cx, req).await?;
    answer.plaintext = None;
    Ok(answer)
}

/// `GenerateRandom`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RandomRequest {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<serde_json::Value>,
}

/// `GenerateRandom` answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RandomResponse {
    #[serde(serialize_with = "blob::serialize")]
    plaintext: Zeroizing<Vec<u8>>,
}

/// `GenerateRandom`: 1–1024 bytes.
pub async fn generate_random(cx: &Ctx<'_>, req: RandomRequest) -> Result<RandomResponse, AwsError> {
    if req.custom_key_store_id.is_some() || req.recipient.is_some() {
        return Err(AwsError::unsupported(
            "keygate has no custom key stores or Nitro Enclave recipients",
        ));
    }
    let n = required(req.number_of_bytes, "numberOfBytes")?;
    check_range("numberOfBytes", n, 1, 1024)?;
    let bytes = usize::try_from(n).unwrap_or(1);
    Ok(RandomResponse {
        plaintext: cx.session.generate_random(bytes).await?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn algorithms_and_data_key_specs_follow_aws() {
        assert_eq!(Algorithm::parse(None).unwrap(), Algorithm::Symmetric);
        assert_eq!(
            Algorithm::parse(Some("RSAES_OAEP_SHA_1")).unwrap(),
            Algorithm::RsaOaepSha1
        );
        assert_eq!(
            Algorithm::parse(Some("SM2PKE")).unwrap_err().code,
            "UnsupportedOperationException"
        );
        assert_eq!(
            Algorithm::parse(Some("ROT13")).unwrap_err().code,
            "ValidationException"
        );
        let req = |spec: Option<&str>, n: Option<i64>| DataKeyRequest {
            key_spec: spec.map(str::to_owned),
            number_of_bytes: n,
            ..DataKeyRequest::default()
        };
        assert_eq!(
            data_key_spec(&req(Some("AES_128"), None)).unwrap(),
            DataKeySpec::Aes128
        );
        assert_eq!(
            data_key_spec(&req(None, Some(32))).unwrap(),
            DataKeySpec::Aes256
        );
        for (n, spec) in [
            (17, DataKeySpec::Bytes(17)),
            (24, DataKeySpec::Bytes(24)),
            (16, DataKeySpec::Aes128),
            (1024, DataKeySpec::Bytes(1024)),
        ] {
            assert_eq!(data_key_spec(&req(None, Some(n))).unwrap(), spec);
        }
        for (spec, n, code) in [
            (None, None, "ValidationException"),
            (Some("AES_256"), Some(32), "ValidationException"),
            (None, Some(0), "ValidationException"),
            (None, Some(1025), "ValidationException"),
            (None, Some(5), "UnsupportedOperationException"),
        ] {
            assert_eq!(data_key_spec(&req(spec, n)).unwrap_err().code, code);
        }
    }

    #[test]
    fn plaintext_never_reaches_debug_output() {
        let req: EncryptRequest =
            serde_json::from_str(r#"{"KeyId":"k","Plaintext":"c2VjcmV0LXBsYWludGV4dA=="}"#)
                .unwrap();
        let text = format!("{req:?}");
        assert!(
            !text.contains("115, 101, 99") && !text.contains("c2Vj"),
            "{text}"
        );
    }
}
