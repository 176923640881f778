//! Signatures and MACs: Sign, Verify, GenerateMac, VerifyMac, GetPublicKey.
//!
//! `MessageType: RAW` signs the message, `DIGEST` a digest the caller computed (its length
//! must be the algorithm's hash length). A signature or MAC that does not verify is AWS's
//! `KMSInvalidSignatureException` / `KMSInvalidMacException`, not a `false`.

use std::fmt;
use std::sync::{Arc, OnceLock};

use keygate_core::api::Gateway as _;
use keygate_core::{KeyUsage, SignInput, SigningAlgorithm};
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::keys::KeyIdRequest;
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::rules;
use crate::dialect::aws::wire::{
    blob, check_len, key_spec_name, key_usage_name, mac_algorithm, mac_algorithm_name, required,
    signing_algorithm, signing_algorithm_name,
};

/// The most message AWS signs or MACs in one call.
const MAX_MESSAGE: usize = 4096;
/// The largest signature or MAC AWS accepts.
const MAX_SIGNATURE: usize = 6144;

/// `Sign` and `Verify`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignRequest {
    key_id: Option<String>,
    #[serde(default, deserialize_with = "blob::deserialize")]
    message: Option<Vec<u8>>,
    message_type: Option<String>,
    #[serde(default, deserialize_with = "blob::deserialize")]
    signature: Option<Vec<u8>>,
    signing_algorithm: Option<String>,
    dry_run: Option<bool>,
}

impl fmt::Debug for SignRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignRequest")
            .field("key_id", &self.key_id)
            .field("message", &"<redacted>")
            .field("message_type", &self.message_type)
            .field("signing_algorithm", &self.signing_algorithm)
            .finish_non_exhaustive()
    }
}

/// True for `DIGEST`, false for `RAW` (the default).
fn is_digest(
    message_type: Option<&str>,
    message: &[u8],
    alg: SigningAlgorithm,
) -> Result<bool, AwsError> {
    match message_type {
        None | Some("RAW") => Ok(false),
        Some("DIGEST") => {
            let expected = alg.digest_len();
            if message.len() != expected {
                return Err(AwsError::validation(format!(
                    "Digest is invalid length for algorithm {}: expected {expected} bytes",
                    signing_algorithm_name(alg)
                )));
            }
            Ok(true)
        }
        Some("EXTERNAL_MU") => Err(AwsError::unsupported(
            "MessageType EXTERNAL_MU is not supported by keygate",
        )),
        Some(other) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'messageType' failed to satisfy \
             constraint: Member must satisfy enum value set: [RAW, DIGEST]"
        ))),
    }
}

fn no_dry_run(dry_run: Option<bool>) -> Result<(), AwsError> {
    if dry_run == Some(true) {
        return Err(AwsError::unsupported("keygate does not support DryRun"));
    }
    Ok(())
}

/// `Sign` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignResponse {
    key_id: String,
    #[serde(serialize_with = "blob::serialize")]
    signature: Vec<u8>,
    signing_algorithm: &'static str,
}

/// The signing input: the message, or its digest when `MessageType` is `DIGEST`.
fn input(digest: bool, message: &[u8]) -> SignInput<'_> {
    if digest {
        SignInput::Digest(message)
    } else {
        SignInput::Message(message)
    }
}

/// `Sign`.
pub async fn sign(cx: &Ctx<'_>, req: SignRequest) -> Result<SignResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let message = required(req.message, "message")?;
    check_len("message", message.len(), 1, MAX_MESSAGE)?;
    let alg = signing_algorithm(&required(req.signing_algorithm, "signingAlgorithm")?)?;
    let digest = is_digest(req.message_type.as_deref(), &message, alg)?;
    let target = cx.target(req.key_id).await?;
    let signed = cx
        .session
        .clone()
        .with_key_rule(rules::signing_algorithm(alg))
        .sign(&target, None, input(digest, &message), Some(alg))
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(SignResponse {
        key_id: cx.keys.arn_for(&signed.uri).await?,
        signature: signed.value.bytes,
        signing_algorithm: signing_algorithm_name(signed.value.algorithm),
    })
}

/// `Verify` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyResponse {
    key_id: String,
    signature_valid: bool,
    signing_algorithm: &'static str,
}

/// `Verify`.
pub async fn verify(cx: &Ctx<'_>, req: SignRequest) -> Result<VerifyResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let message = required(req.message, "message")?;
    check_len("message", message.len(), 1, MAX_MESSAGE)?;
    let signature = required(req.signature, "signature")?;
    check_len("signature", signature.len(), 1, MAX_SIGNATURE)?;
    let alg = signing_algorithm(&required(req.signing_algorithm, "signingAlgorithm")?)?;
    let digest = is_digest(req.message_type.as_deref(), &message, alg)?;
    let target = cx.target(req.key_id).await?;
    let valid = cx
        .session
        .clone()
        .with_key_rule(rules::signing_algorithm(alg))
        .verify(
            &target,
            None,
            input(digest, &message),
            &signature,
            Some(alg),
        )
        .await
        .map_err(|e| cx.fail(e, &target))?;
    if !valid.value {
        return Err(AwsError::bad(
            "KMSInvalidSignatureException",
            "The signature is not valid for the message and key.",
        ));
    }
    Ok(VerifyResponse {
        key_id: cx.keys.arn_for(&valid.uri).await?,
        signature_valid: true,
        signing_algorithm: signing_algorithm_name(alg),
    })
}

/// `GenerateMac` and `VerifyMac`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MacRequest {
    key_id: Option<String>,
    #[serde(default, deserialize_with = "blob::deserialize")]
    message: Option<Vec<u8>>,
    mac_algorithm: Option<String>,
    #[serde(default, deserialize_with = "blob::deserialize")]
    mac: Option<Vec<u8>>,
    dry_run: Option<bool>,
}

impl fmt::Debug for MacRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacRequest")
            .field("key_id", &self.key_id)
            .field("message", &"<redacted>")
            .field("mac_algorithm", &self.mac_algorithm)
            .finish_non_exhaustive()
    }
}

/// `GenerateMac` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MacResponse {
    #[serde(serialize_with = "blob::serialize")]
    mac: Vec<u8>,
    mac_algorithm: &'static str,
    key_id: String,
}

/// `GenerateMac`. The requested algorithm must be the key's (`InvalidKeyUsageException`,
/// before the MAC is computed).
pub async fn generate_mac(cx: &Ctx<'_>, req: MacRequest) -> Result<MacResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let message = required(req.message, "message")?;
    check_len("message", message.len(), 1, MAX_MESSAGE)?;
    let alg = mac_algorithm(&required(req.mac_algorithm, "macAlgorithm")?)?;
    let target = cx.target(req.key_id).await?;
    let tag = cx
        .session
        .clone()
        .with_key_rule(rules::mac_algorithm(alg))
        .generate_mac(&target, None, &message)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(MacResponse {
        key_id: cx.keys.arn_for(&tag.uri).await?,
        mac: tag.value.bytes,
        mac_algorithm: mac_algorithm_name(tag.value.algorithm),
    })
}

/// `VerifyMac` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacResponse {
    key_id: String,
    mac_valid: bool,
    mac_algorithm: &'static str,
}

/// `VerifyMac`. The requested algorithm must be the key's (`InvalidKeyUsageException`).
pub async fn verify_mac(cx: &Ctx<'_>, req: MacRequest) -> Result<VerifyMacResponse, AwsError> {
    no_dry_run(req.dry_run)?;
    let message = required(req.message, "message")?;
    check_len("message", message.len(), 1, MAX_MESSAGE)?;
    let mac = required(req.mac, "mac")?;
    check_len("mac", mac.len(), 1, MAX_SIGNATURE)?;
    let alg = mac_algorithm(&required(req.mac_algorithm, "macAlgorithm")?)?;
    let target = cx.target(req.key_id).await?;
    let valid = cx
        .session
        .clone()
        .with_key_rule(rules::mac_algorithm(alg))
        .verify_mac(&target, None, &message, &mac)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    if !valid.value {
        return Err(AwsError::bad(
            "KMSInvalidMacException",
            "The MAC is not valid for the message and key.",
        ));
    }
    Ok(VerifyMacResponse {
        key_id: cx.keys.arn_for(&valid.uri).await?,
        mac_valid: true,
        mac_algorithm: mac_algorithm_name(alg),
    })
}

/// `GetPublicKey` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicKeyResponse {
    key_id: String,
    #[serde(serialize_with = "blob::serialize")]
    public_key: Vec<u8>,
    customer_master_key_spec: &'static str,
    key_spec: &'static str,
    key_usage: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    encryption_algorithms: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signing_algorithms: Vec<&'static str>,
}

/// `GetPublicKey`: DER SubjectPublicKeyInfo, with the key's spec, its `KeyUsage` and the
/// algorithms of that usage (`EncryptionAlgorithms` for `ENCRYPT_DECRYPT`,
/// `SigningAlgorithms` for `SIGN_VERIFY`), as AWS answers so that a holder of the public key
/// uses it only as KMS would. A symmetric key has none: UnsupportedOperationException.
pub async fn get_public_key(
    cx: &Ctx<'_>,
    req: KeyIdRequest,
) -> Result<PublicKeyResponse, AwsError> {
    let target = cx.target(req.key_id).await?;
    let seen = Arc::new(OnceLock::new());
    let resolved = cx
        .session
        .clone()
        .with_key_rule(rules::public_key(Arc::clone(&seen)))
        .get_public_key(&target, None)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    let key_id = cx.keys.arn_for(&resolved.uri).await?;
    let public = resolved.value;
    let spec = key_spec_name(public.spec);
    // The service saw the key's usage when it resolved it; an EC key can only sign.
    let usage = seen.get().copied().unwrap_or(KeyUsage::Sign);
    let provider = cx
        .session
        .service()
        .registry()
        .provider(&resolved.key.provider)
        .await?;
    let (encryption_algorithms, signing_algorithms) =
        super::keys::algorithms(provider.capabilities(), public.spec, usage);
    Ok(PublicKeyResponse {
        key_id,
        public_key: public.der,
        customer_master_key_spec: spec,
        key_spec: spec,
        key_usage: key_usage_name(usage),
        encryption_algorithms,
        signing_algorithms,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn message_types_and_digest_lengths() {
        let alg = SigningAlgorithm::EcdsaSha256;
        assert!(!is_digest(None, b"x", alg).unwrap());
        assert!(is_digest(Some("DIGEST"), &[0u8; 32], alg).unwrap());
        assert_eq!(
            is_digest(Some("DIGEST"), &[0u8; 31], alg).unwrap_err().code,
            "ValidationException"
        );
        assert!(is_digest(Some("DIGEST"), &[0u8; 48], SigningAlgorithm::EcdsaSha384).unwrap());
        assert_eq!(
            is_digest(Some("RAWISH"), b"x", alg).unwrap_err().code,
            "ValidationException"
        );
    }
}
