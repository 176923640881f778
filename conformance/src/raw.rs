//! Raw RSA encryption ([`KeyProvider::encrypt_raw`] and [`KeyProvider::decrypt_raw`]) for
//! every algorithm a provider declares in `raw_encryption`.

use super::support::{Keys, Step, ensure, expect_err, flipped, random_bytes, skip};
use super::{CheckResult, Outcome};
use keygate_core::crypto::EncryptionAlgorithm;
use keygate_core::error::ErrorKind;
use keygate_core::key::{KeySpec, KeyUsage};
use keygate_core::provider::KeyProvider;

/// For each declared algorithm on an RSA-2048 encryption key: the ciphertext is the bare RSA
/// block (256 bytes, randomized), it decrypts with and without the version named, a tampered
/// one is `IntegrityFailure`; the symmetric default is `Unsupported`.
pub async fn raw_rsa_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "raw-rsa");
    keys.finish(async {
        let algorithms = p.capabilities().raw_encryption.clone();
        if algorithms.is_empty() {
            return skip("capabilities.raw_encryption is empty");
        }
        if !p.capabilities().key_specs.contains(&KeySpec::Rsa2048) {
            return skip("capabilities.key_specs has no RSA_2048");
        }
        let key = keys
            .create(KeySpec::Rsa2048, Some(KeyUsage::Encrypt))
            .await?;
        let version = key.primary_version.clone();
        for alg in algorithms {
            let what = format!("encrypt_raw({}, {})", key.id, alg.as_str());
            let pt = random_bytes(32);
            let a = p.encrypt_raw(&key.id, alg, &pt).await.step(&what)?;
            let b = p.encrypt_raw(&key.id, alg, &pt).await.step(&what)?;
            ensure!(
                a.bytes.len() == 256,
                "{what}: {} bytes, not 256",
                a.bytes.len()
            );
            ensure!(a.bytes != b.bytes, "{what}: the same ciphertext twice");
            ensure!(
                a.algorithm == alg,
                "{what}: algorithm {}",
                a.algorithm.as_str()
            );
            for named in [None, version.as_deref()] {
                let got = p
                    .decrypt_raw(&key.id, named, alg, &a.bytes)
                    .await
                    .step(format!("decrypt_raw of {what} (version {named:?})"))?;
                ensure!(
                    got.as_slice() == pt.as_slice(),
                    "decrypt_raw of {what} returned other bytes"
                );
            }
            expect_err(
                format!("decrypt_raw of a tampered {what}"),
                p.decrypt_raw(&key.id, None, alg, &flipped(&a.bytes, 100))
                    .await,
                ErrorKind::IntegrityFailure,
            )?;
        }
        expect_err(
            format!("encrypt_raw({}, SYMMETRIC_DEFAULT)", key.id),
            p.encrypt_raw(&key.id, EncryptionAlgorithm::SymmetricDefault, b"x")
                .await,
            ErrorKind::Unsupported,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}
