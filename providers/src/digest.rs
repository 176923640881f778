//! What a signature covers — a message, or the precomputed digest of one (core's
//! [`SignInput`]) — and the hash each signing algorithm signs.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
pub(crate) use keygate_core::SignInput as Signed;
use keygate_core::{Error, Result, SignInput, SigningAlgorithm};

/// What a signature covers, once a digest's length is checked against the algorithm.
pub(crate) enum Prepared<'a> {
    /// A message, which the signer hashes as the algorithm says.
    Message(&'a [u8]),
    /// A digest of the right length for the algorithm.
    Digest(Digest),
}

/// What the providers do with a [`SignInput`].
pub(crate) trait SignedExt<'a>: Copy {
    /// Checks a digest against `algorithm`; a message passes as it is. Providers call it
    /// after the key, state, usage and algorithm checks, so errors come in the contract's order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a digest's length is not the output length of the hash
    /// `algorithm` names.
    fn prepare(self, algorithm: SigningAlgorithm) -> Result<Prepared<'a>>;

    /// The digest `algorithm` signs: the message's hash, or the digest once checked.
    ///
    /// # Errors
    /// As [`SignedExt::prepare`].
    #[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
    fn digest(self, algorithm: SigningAlgorithm) -> Result<Digest>;

    /// Verifies `signature` over what this covers with a SubjectPublicKeyInfo `spki`, for
    /// providers whose backend has no verify call (Cloud KMS; Key Vault since 2025-07-01).
    /// `Ok(false)` for any signature that does not verify.
    ///
    /// # Errors
    /// As [`SignedExt::prepare`]; [`Error::Unsupported`] for an algorithm keygate cannot
    /// verify.
    #[cfg(any(feature = "azure", feature = "gcp"))]
    fn verify_with_spki(
        self,
        algorithm: SigningAlgorithm,
        spki: &[u8],
        signature: &[u8],
    ) -> Result<bool>;

    /// `message` or `digest`, for log lines (never the bytes).
    fn kind(self) -> &'static str;
}

impl<'a> SignedExt<'a> for SignInput<'a> {
    /// Checks a digest against `algorithm`; a message passes as it is. Providers call it
    /// after the key, state, usage and algorithm checks, so errors come in the contract's order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a digest's length is not the output length of the hash
    /// `algorithm` names.
    fn prepare(self, algorithm: SigningAlgorithm) -> Result<Prepared<'a>> {
        match self {
            Self::Message(m) => Ok(Prepared::Message(m)),
            Self::Digest(d) => checked(algorithm, d).map(Prepared::Digest),
        }
    }

    /// The digest `algorithm` signs: the message's hash, or the digest once checked.
    ///
    /// # Errors
    /// As [`SignedExt::prepare`].
    #[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
    fn digest(self, algorithm: SigningAlgorithm) -> Result<Digest> {
        match self.prepare(algorithm)? {
            Prepared::Message(m) => Ok(digest::digest(named_hash(algorithm).0, m)),
            Prepared::Digest(d) => Ok(d),
        }
    }

    /// Verifies `signature` over what this covers with a SubjectPublicKeyInfo `spki`, for
    /// providers whose backend has no verify call (Cloud KMS; Key Vault since 2025-07-01).
    /// `Ok(false)` for any signature that does not verify.
    ///
    /// # Errors
    /// As [`SignedExt::prepare`]; [`Error::Unsupported`] for an algorithm keygate cannot verify.
    #[cfg(any(feature = "azure", feature = "gcp"))]
    fn verify_with_spki(
        self,
        algorithm: SigningAlgorithm,
        spki: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let prepared = self.prepare(algorithm)?;
        let params = verification_algorithms(algorithm);
        if params.is_empty() {
            return Err(Error::unsupported(format!(
                "keygate cannot verify {algorithm}"
            )));
        }
        Ok(verify_spki(params, spki, &prepared, signature))
    }

    /// `message` or `digest`, for log lines (never the bytes).
    fn kind(self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::Digest(_) => "digest",
        }
    }
}

/// The aws-lc-rs verification algorithms for `algorithm`, one per curve it may run on (ECDSA
/// with SHA-256 signs on P-256 and on secp256k1); empty for an algorithm keygate cannot
/// verify. The SubjectPublicKeyInfo names its curve, so at most one of them accepts a key.
pub(crate) fn verification_algorithms(
    algorithm: SigningAlgorithm,
) -> &'static [&'static dyn VerificationAlgorithm] {
    match algorithm {
        SigningAlgorithm::RsaPssSha256 => &[&signature::RSA_PSS_2048_8192_SHA256],
        SigningAlgorithm::RsaPssSha384 => &[&signature::RSA_PSS_2048_8192_SHA384],
        SigningAlgorithm::RsaPssSha512 => &[&signature::RSA_PSS_2048_8192_SHA512],
        SigningAlgorithm::RsaPkcs1Sha256 => &[&signature::RSA_PKCS1_2048_8192_SHA256],
        SigningAlgorithm::RsaPkcs1Sha384 => &[&signature::RSA_PKCS1_2048_8192_SHA384],
        SigningAlgorithm::RsaPkcs1Sha512 => &[&signature::RSA_PKCS1_2048_8192_SHA512],
        SigningAlgorithm::EcdsaSha256 => &[
            &signature::ECDSA_P256_SHA256_ASN1,
            &signature::ECDSA_P256K1_SHA256_ASN1,
        ],
        SigningAlgorithm::EcdsaSha384 => &[&signature::ECDSA_P384_SHA384_ASN1],
        SigningAlgorithm::EcdsaSha512 => &[&signature::ECDSA_P521_SHA512_ASN1],
        _ => &[],
    }
}

/// True when `signature` verifies over `input` with the SubjectPublicKeyInfo `spki` under one
/// of `params` (see [`verification_algorithms`]).
pub(crate) fn verify_spki(
    params: &[&'static dyn VerificationAlgorithm],
    spki: &[u8],
    input: &Prepared<'_>,
    signature: &[u8],
) -> bool {
    params.iter().any(|&alg| {
        let public = UnparsedPublicKey::new(alg, spki);
        match input {
            Prepared::Message(m) => public.verify(m, signature).is_ok(),
            Prepared::Digest(d) => public.verify_digest(d, signature).is_ok(),
        }
    })
}

/// The hash `algorithm` signs (SHA-256, SHA-384 or SHA-512, as its name says), and its name
/// for messages.
fn named_hash(algorithm: SigningAlgorithm) -> (&'static digest::Algorithm, &'static str) {
    match algorithm.digest_len() {
        48 => (&digest::SHA384, "SHA-384"),
        64 => (&digest::SHA512, "SHA-512"),
        _ => (&digest::SHA256, "SHA-256"),
    }
}

fn checked(algorithm: SigningAlgorithm, digest: &[u8]) -> Result<Digest> {
    let (hash, name) = named_hash(algorithm);
    Digest::import_less_safe(digest, hash).map_err(|_| {
        Error::invalid(format!(
            "a {algorithm} digest is {} bytes (a {name} hash), got {} bytes",
            hash.output_len(),
            digest.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENGTHS: [(SigningAlgorithm, usize); 9] = [
        (SigningAlgorithm::RsaPssSha256, 32),
        (SigningAlgorithm::RsaPkcs1Sha256, 32),
        (SigningAlgorithm::EcdsaSha256, 32),
        (SigningAlgorithm::EcdsaSha384, 48),
        (SigningAlgorithm::RsaPssSha384, 48),
        (SigningAlgorithm::RsaPkcs1Sha384, 48),
        (SigningAlgorithm::RsaPssSha512, 64),
        (SigningAlgorithm::RsaPkcs1Sha512, 64),
        (SigningAlgorithm::EcdsaSha512, 64),
    ];

    #[test]
    fn digests_of_the_hash_length_pass_and_others_are_invalid_arguments() {
        for (alg, len) in LENGTHS {
            let good = vec![7u8; len];
            match Signed::Digest(&good).prepare(alg) {
                Ok(Prepared::Digest(d)) => assert_eq!(d.as_ref(), good.as_slice(), "{alg}"),
                _ => panic!("{alg}: a {len}-byte digest was refused"),
            }
            for bad in [0, len - 1, len + 1, 20] {
                match Signed::Digest(&vec![0u8; bad]).prepare(alg) {
                    Err(Error::InvalidArgument(msg)) => {
                        assert!(msg.contains(&format!("got {bad} bytes")), "{msg}");
                        assert!(msg.contains(&format!("is {len} bytes")), "{msg}");
                    }
                    Ok(_) => panic!("{alg}: a {bad}-byte digest was accepted"),
                    Err(e) => panic!("{alg}, {bad} bytes: {e}"),
                }
            }
            assert!(matches!(
                Signed::Message(&[0u8; 5]).prepare(alg),
                Ok(Prepared::Message(m)) if m.len() == 5
            ));
        }
    }

    #[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
    #[test]
    fn a_message_becomes_its_hash_and_a_digest_stays_as_given() {
        for (alg, len) in LENGTHS {
            let hashed = Signed::Message(b"m").digest(alg).expect("a message hashes");
            assert_eq!(hashed.as_ref().len(), len, "{alg}");
            let again = Signed::Digest(hashed.as_ref())
                .digest(alg)
                .expect("a digest");
            assert_eq!(again.as_ref(), hashed.as_ref(), "{alg}");
        }
    }
}
