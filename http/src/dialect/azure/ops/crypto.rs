//! encrypt, decrypt, wrapkey, unwrapkey, sign, verify: one Gateway call each.
//!
//! - `RSA-OAEP-256` (SHA-256, MGF1-SHA-256, no label), `RSA-OAEP` (SHA-1, MGF1-SHA-1) and
//!   `RSA1_5` (PKCS#1 v1.5) on RSA keys (encrypt and wrapkey, decrypt and unwrapkey): the
//!   bare RSA ciphertext, as Key Vault and any holder of the public key (the JWK) make it.
//!   An RSA-OAEP-256 ciphertext of the size of no RSA key is keygate's native one, which
//!   earlier versions answered: it still decrypts.
//! - `A256GCM` (encrypt, decrypt) is keygate's envelope cut in Key Vault's shape: see
//!   `gcm.rs`. `A128GCM` and `A192GCM` need 128- and 192-bit keys, which keygate does not
//!   make, so they are refused as for a key of the wrong size.
//! - sign and verify take the DIGEST (as Azure does): RS256, PS256, ES256, ES384; ECDSA
//!   signatures are JWS's raw `r||s` on the wire and DER inside keygate.
//!
//! sign uses the version the request names (any enabled one, as Key Vault), else the current
//! one. keygate encrypts with the current version: an encryption naming another version is
//! refused after the fact (the row shows the call). For decryption the ciphertext decides,
//! and a named version must be the one that decrypts (the envelope's, for A256GCM).

use axum::response::Response;
use keygate_core::SignInput;
use keygate_core::api::Gateway as _;
use keygate_core::crypto::EncryptionAlgorithm;
use keygate_core::{EncryptionContext, KeySpec, SigningAlgorithm};

use super::super::Ctx;
use super::super::error::AzureError;
use super::super::route::CryptoOp;
use super::super::wire::{
    KeyOperationParams, KeyOperationResult, SignParams, VerifyParams, VerifyResult, b64,
    ecdsa_der_to_raw, ecdsa_raw_to_der,
};
use super::by_name;
use super::gcm;
use super::{ok, parse};

/// An algorithm of encrypt, decrypt, wrapkey and unwrapkey that keygate takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::dialect::azure) enum Alg {
    /// `RSA-OAEP-256`, `RSA-OAEP` or `RSA1_5`: raw RSA encryption under this algorithm.
    RawRsa(EncryptionAlgorithm),
    /// `A256GCM`.
    A256Gcm,
}

/// The sizes of a bare RSA ciphertext under keygate's RSA keys (2048, 3072, 4096 bits).
const RSA_SIZES: [usize; 3] = [256, 384, 512];

/// Runs `op` on key `name` (version `version`, or the primary).
pub(super) async fn run(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    op: CryptoOp,
    body: &[u8],
) -> Result<Response, AzureError> {
    match op {
        CryptoOp::Encrypt | CryptoOp::WrapKey => {
            encrypt(ctx, name, version, op, parse(body)?).await
        }
        CryptoOp::Decrypt | CryptoOp::UnwrapKey => {
            decrypt(ctx, name, version, op, parse(body)?).await
        }
        CryptoOp::Sign => sign(ctx, name, version, parse(body)?).await,
        CryptoOp::Verify => verify(ctx, name, version, parse(body)?).await,
    }
}

/// The algorithm `alg` names for `op`, or Key Vault's BadParameter.
pub(in crate::dialect::azure) fn check_algorithm(
    alg: &str,
    op: CryptoOp,
) -> Result<Alg, AzureError> {
    let gcm_allowed = matches!(op, CryptoOp::Encrypt | CryptoOp::Decrypt);
    match alg {
        "RSA-OAEP-256" => Ok(Alg::RawRsa(EncryptionAlgorithm::RsaOaepSha256)),
        "RSA-OAEP" => Ok(Alg::RawRsa(EncryptionAlgorithm::RsaOaepSha1)),
        "RSA1_5" => Ok(Alg::RawRsa(EncryptionAlgorithm::RsaPkcs1V15)),
        "A256GCM" if gcm_allowed => Ok(Alg::A256Gcm),
        "A128GCM" | "A192GCM" if gcm_allowed => Err(AzureError::bad_parameter(format!(
            "Algorithm {alg} needs a {}-bit oct key: keygate's oct keys are 256-bit (use A256GCM).",
            &alg[1..4]
        ))),
        _ => Err(AzureError::bad_parameter(format!(
            "Algorithm {} is not supported for {}: keygate supports RSA-OAEP-256, RSA-OAEP and \
             RSA1_5 (RSA keys){}.",
            alg.chars().take(32).collect::<String>(),
            op.name(),
            if gcm_allowed {
                " and A256GCM (oct keys)"
            } else {
                ""
            }
        ))),
    }
}

/// Refuses AES-GCM's fields on an RSA algorithm, as Key Vault does.
fn no_gcm_fields(alg: &str, p: &KeyOperationParams) -> Result<(), AzureError> {
    if p.aad.is_some() || p.iv.is_some() || p.tag.is_some() {
        return Err(AzureError::bad_parameter(format!(
            "{} takes no aad, iv or tag.",
            alg.chars().take(32).collect::<String>()
        )));
    }
    Ok(())
}

pub(super) fn pinned(version: Option<&str>, used: &str) -> Result<(), AzureError> {
    match version {
        Some(v) if v != used => Err(AzureError::bad_parameter(format!(
            "keygate encrypts with the key's current version ({used}); version {v} can \
             decrypt, sign and verify."
        ))),
        _ => Ok(()),
    }
}

async fn encrypt(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    op: CryptoOp,
    p: KeyOperationParams,
) -> Result<Response, AzureError> {
    let alg = check_algorithm(&p.alg, op)?;
    let err = ctx.err(op.name(), Some(name));
    let (bytes, used) = match alg {
        Alg::A256Gcm => return gcm::encrypt(ctx, name, version, p).await,
        Alg::RawRsa(algorithm) => {
            no_gcm_fields(&p.alg, &p)?;
            let ct = ctx
                .session
                .encrypt_raw(&by_name(name), algorithm, &p.value.0)
                .await
                .map_err(err)?;
            (ct.value.bytes, ct.value.key_version)
        }
    };
    pinned(version, &used)?;
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, Some(&used)),
        value: b64(&bytes),
        ..KeyOperationResult::default()
    }))
}

async fn decrypt(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    op: CryptoOp,
    p: KeyOperationParams,
) -> Result<Response, AzureError> {
    let alg = check_algorithm(&p.alg, op)?;
    let err = ctx.err(op.name(), Some(name));
    match alg {
        Alg::A256Gcm => gcm::decrypt(ctx, name, version, p).await,
        // Before raw RSA-OAEP-256, keygate answered its native ciphertext (the bare RSA
        // ciphertext behind a header): those still open.
        Alg::RawRsa(EncryptionAlgorithm::RsaOaepSha256)
            if !RSA_SIZES.contains(&p.value.0.len()) =>
        {
            no_gcm_fields(&p.alg, &p)?;
            // Azure decrypts with the version the request names: one the key does not have
            // is not found.
            if let Some(v) = version {
                let versions = ctx
                    .session
                    .list_versions(&by_name(name))
                    .await
                    .map_err(ctx.err(op.name(), Some(name)))?
                    .value;
                if !versions.iter().any(|x| x.id == v) {
                    return Err(AzureError::key_not_found(name));
                }
            }
            let d = ctx
                .session
                .decrypt_native(&by_name(name), None, &p.value.0, &EncryptionContext::new())
                .await
                .map_err(err)?;
            Ok(ok(&KeyOperationResult {
                kid: ctx.kid(name, version.or(d.key_version.as_deref())),
                value: b64(&d.plaintext),
                ..KeyOperationResult::default()
            }))
        }
        Alg::RawRsa(algorithm) => {
            no_gcm_fields(&p.alg, &p)?;
            let d = ctx
                .session
                .decrypt_raw(&by_name(name), version, algorithm, &p.value.0)
                .await
                .map_err(err)?;
            Ok(ok(&KeyOperationResult {
                kid: ctx.kid(name, version),
                value: b64(&d.plaintext),
                ..KeyOperationResult::default()
            }))
        }
    }
}

/// The keygate algorithm, the key spec its signatures are shaped for, and the digest size.
pub(in crate::dialect::azure) fn signing(
    alg: &str,
) -> Result<(SigningAlgorithm, Option<KeySpec>, usize), AzureError> {
    Ok(match alg {
        "RS256" => (SigningAlgorithm::RsaPkcs1Sha256, None, 32),
        "RS384" => (SigningAlgorithm::RsaPkcs1Sha384, None, 48),
        "RS512" => (SigningAlgorithm::RsaPkcs1Sha512, None, 64),
        "PS256" => (SigningAlgorithm::RsaPssSha256, None, 32),
        "PS384" => (SigningAlgorithm::RsaPssSha384, None, 48),
        "PS512" => (SigningAlgorithm::RsaPssSha512, None, 64),
        "ES256" => (SigningAlgorithm::EcdsaSha256, Some(KeySpec::EcP256), 32),
        "ES256K" => (
            SigningAlgorithm::EcdsaSha256,
            Some(KeySpec::EcSecp256k1),
            32,
        ),
        "ES384" => (SigningAlgorithm::EcdsaSha384, Some(KeySpec::EcP384), 48),
        "ES512" => (SigningAlgorithm::EcdsaSha512, Some(KeySpec::EcP521), 64),
        other => {
            return Err(AzureError::bad_parameter(format!(
                "Algorithm {} is not supported: keygate signs with RS256/384/512, PS256/384/512, \
                 ES256, ES256K, ES384 and ES512.",
                other.chars().take(32).collect::<String>()
            )));
        }
    })
}

pub(in crate::dialect::azure) fn check_digest(
    alg: &str,
    digest: &[u8],
    len: usize,
) -> Result<(), AzureError> {
    if digest.len() == len {
        Ok(())
    } else {
        Err(AzureError::bad_parameter(format!(
            "Invalid length of digest: {alg} takes a {len}-byte digest, not {}.",
            digest.len()
        )))
    }
}

async fn sign(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    p: SignParams,
) -> Result<Response, AzureError> {
    let (algorithm, ec, len) = signing(&p.alg)?;
    check_digest(&p.alg, &p.value.0, len)?;
    let sig = ctx
        .session
        .sign(
            &by_name(name),
            version,
            SignInput::Digest(&p.value.0),
            Some(algorithm),
        )
        .await
        .map_err(ctx.err("sign", Some(name)))?;
    let bytes = match ec {
        Some(spec) => ecdsa_der_to_raw(spec, &sig.value.bytes)?,
        None => sig.value.bytes,
    };
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, Some(&sig.value.key_version)),
        value: b64(&bytes),
        ..KeyOperationResult::default()
    }))
}

async fn verify(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    p: VerifyParams,
) -> Result<Response, AzureError> {
    let (algorithm, ec, len) = signing(&p.alg)?;
    check_digest(&p.alg, &p.digest.0, len)?;
    // A raw signature that is no point of the curve is passed on as is: it does not verify.
    let signature = match ec {
        Some(spec) => ecdsa_raw_to_der(spec, &p.value.0).unwrap_or_else(|| p.value.0.clone()),
        None => p.value.0.clone(),
    };
    let valid = ctx
        .session
        .verify(
            &by_name(name),
            version,
            SignInput::Digest(&p.digest.0),
            &signature,
            Some(algorithm),
        )
        .await
        .map_err(ctx.err("verify", Some(name)))?
        .value;
    Ok(ok(&VerifyResult { value: valid }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_are_checked() {
        assert!(check_algorithm("RSA-OAEP-256", CryptoOp::WrapKey).is_ok());
        assert!(check_algorithm("A256GCM", CryptoOp::Encrypt).is_ok());
        assert!(check_algorithm("A256GCM", CryptoOp::WrapKey).is_err());
        assert_eq!(
            check_algorithm("RSA-OAEP", CryptoOp::Encrypt).unwrap(),
            Alg::RawRsa(EncryptionAlgorithm::RsaOaepSha1)
        );
        assert_eq!(
            check_algorithm("RSA1_5", CryptoOp::UnwrapKey).unwrap(),
            Alg::RawRsa(EncryptionAlgorithm::RsaPkcs1V15)
        );
        assert!(check_algorithm("A128GCM", CryptoOp::Encrypt).is_err());
        assert!(check_algorithm("A192GCM", CryptoOp::Decrypt).is_err());
        assert!(check_algorithm("A256KW", CryptoOp::WrapKey).is_err());
        assert!(signing("EdDSA").is_err());
        assert_eq!(signing("ES384").unwrap().2, 48);
        assert_eq!(
            signing("ES512").unwrap(),
            (SigningAlgorithm::EcdsaSha512, Some(KeySpec::EcP521), 64)
        );
        assert_eq!(
            signing("ES256K").unwrap(),
            (
                SigningAlgorithm::EcdsaSha256,
                Some(KeySpec::EcSecp256k1),
                32
            )
        );
        assert_eq!(signing("PS512").unwrap().0, SigningAlgorithm::RsaPssSha512);
        assert_eq!(signing("RS384").unwrap().2, 48);
        assert!(check_digest("RS256", &[0; 31], 32).is_err());
    }
}
