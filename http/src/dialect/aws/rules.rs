//! AWS KMS's rules on the key an operation resolves to, where AWS refuses more than
//! keygate itself does (keygate seals envelopes under RSA keys and rotates any key; AWS
//! does neither). Each rule is a [`KeyRule`] the operation's session checks once the key is
//! found and the caller authorized, before any provider call, so the refusal is audited and
//! an unknown key is still `NotFoundException` first.
//!
//! The usage every door requires (Sign needs a signing key, ...) is the service's own check
//! ([`keygate_server::service::check_usage`]); these are the AWS-only ones.

use keygate_core::access::Action;
use keygate_core::{Error, KeyMetadata, KeyUsage, MacAlgorithm, SigningAlgorithm};
use keygate_server::service::KeyRule;

use super::error::AwsError;
use super::wire::{key_spec_name, key_usage_name, mac_algorithm_name, signing_algorithm_name};

/// A symmetric encryption key: AES, `ENCRYPT_DECRYPT`.
fn is_symmetric_encryption(key: &KeyMetadata) -> bool {
    !key.spec.is_asymmetric() && key.usage == KeyUsage::Encrypt
}

/// Encrypt, Decrypt and ReEncrypt with `algorithm`: AWS's InvalidKeyUsageException when
/// "the encryption algorithm ... specified for the operation is incompatible with the type
/// of key material in the KMS key (KeySpec)": `SYMMETRIC_DEFAULT` (also what an absent
/// `EncryptionAlgorithm` means) only with a symmetric key, an `RSAES_*` algorithm only
/// with an RSA key.
pub fn encryption_algorithm(algorithm: &'static str, rsa: bool) -> KeyRule {
    KeyRule::new(move |_, key| {
        let fits = if rsa {
            key.spec.is_rsa()
        } else {
            !key.spec.is_asymmetric()
        };
        if fits {
            return Ok(());
        }
        Err(Error::usage(format!(
            "{} key spec is not valid for encryption algorithm {algorithm}",
            key_spec_name(key.spec)
        )))
    })
}

/// GenerateDataKey, GenerateDataKeyWithoutPlaintext: "To generate a data key, specify the
/// symmetric encryption KMS key ... You cannot use an asymmetric KMS key"
/// (InvalidKeyUsageException). `then` is the request's own check that waits for the key
/// (the data key size keygate can make: AWS looks the key up before it answers about
/// `NumberOfBytes`, so an unknown key is NotFoundException whatever the size).
pub fn data_key(then: Result<(), AwsError>) -> KeyRule {
    let then = then.err();
    KeyRule::new(move |_, key| {
        if !is_symmetric_encryption(key) {
            return Err(Error::usage(format!(
                "{} key spec is not valid for generating data keys; use a symmetric \
                 encryption KMS key",
                key_spec_name(key.spec)
            )));
        }
        match &then {
            Some(e) => Err(to_core(e.clone())),
            None => Ok(()),
        }
    })
}

/// EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand:
/// "Automatic key rotation is supported only on symmetric encryption KMS keys" and
/// "On-demand key rotation is supported only on symmetric encryption KMS keys": asymmetric
/// and HMAC keys are UnsupportedOperationException.
pub fn rotatable(operation: &'static str) -> KeyRule {
    KeyRule::new(move |_, key| {
        if is_symmetric_encryption(key) {
            return Ok(());
        }
        Err(Error::unsupported(format!(
            "{operation} is supported only on symmetric encryption KMS keys; this key is \
             {} with key usage {}",
            key_spec_name(key.spec),
            key_usage_name(key.usage)
        )))
    })
}

/// Sign and Verify with `algorithm`: InvalidKeyUsageException when "the ... signing
/// algorithm specified for the operation is incompatible with the type of key material in
/// the KMS key (KeySpec)" (ECDSA with an RSA key, a curve's other hash, ...). A key of the
/// wrong usage is the service's own refusal, before this.
pub fn signing_algorithm(algorithm: SigningAlgorithm) -> KeyRule {
    KeyRule::new(move |_, key| {
        if key.usage != KeyUsage::Sign || key.spec.signing_algorithms().contains(&algorithm) {
            return Ok(());
        }
        Err(Error::usage(format!(
            "{} key spec is not valid for signing algorithm {}",
            key_spec_name(key.spec),
            signing_algorithm_name(algorithm)
        )))
    })
}

/// GenerateMac and VerifyMac with `algorithm`: the key's own MAC algorithm only
/// (InvalidKeyUsageException), checked before the MAC is computed.
pub fn mac_algorithm(algorithm: MacAlgorithm) -> KeyRule {
    KeyRule::new(move |_, key| match key.spec.mac_algorithm() {
        Some(own) if own != algorithm => Err(Error::usage(format!(
            "{} key spec is not valid for MAC algorithm {}; the key's is {}",
            key_spec_name(key.spec),
            mac_algorithm_name(algorithm),
            mac_algorithm_name(own)
        ))),
        _ => Ok(()),
    })
}

/// GetPublicKey of a symmetric key: UnsupportedOperationException ("the specified resource
/// is not valid for this operation"). `seen` receives the key's usage, which the public key
/// alone does not tell for RSA and the answer reports.
pub fn public_key(seen: std::sync::Arc<std::sync::OnceLock<KeyUsage>>) -> KeyRule {
    KeyRule::new(move |action, key| {
        if action == Action::KeysPublicKey {
            let _ = seen.set(key.usage);
        }
        if key.spec.is_asymmetric() {
            return Ok(());
        }
        Err(Error::unsupported(format!(
            "{} key spec is not valid for GetPublicKey: the key has no public key",
            key_spec_name(key.spec)
        )))
    })
}

/// A dialect error as the core error that maps back to it (the rule runs in the service).
fn to_core(e: AwsError) -> Error {
    match e.code {
        "UnsupportedOperationException" => Error::unsupported(e.message),
        _ => Error::invalid(e.message),
    }
}
