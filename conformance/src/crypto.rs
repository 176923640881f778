//! Encryption: roundtrips, context binding, tampering, data keys, limits and secrecy.

use futures::future::join_all;

use super::support::{
    Keys, Step, all_passed, context, ensure, expect_err, flipped, leaks, need_spec, random_bytes,
    skip,
};
use super::{CheckResult, Failure, Outcome};
use keygate_core::crypto::{DataKeySpec, EncryptionAlgorithm, EncryptionContext};
use keygate_core::error::ErrorKind;
use keygate_core::key::{KeyMetadata, KeySpec, KeyUsage};
use keygate_core::provider::KeyProvider;

/// Encrypts `pt` under `key` with `ctx` and checks it decrypts back; returns the ciphertext.
async fn roundtrip(
    p: &dyn KeyProvider,
    key: &KeyMetadata,
    pt: &[u8],
    ctx: &EncryptionContext,
    algorithm: EncryptionAlgorithm,
) -> Result<Vec<u8>, Failure> {
    let what = format!("encrypt({} {}, {} bytes)", key.spec, key.id, pt.len());
    let ct = p.encrypt(&key.id, pt, ctx).await.step(&what)?;
    ensure!(
        ct.algorithm == algorithm,
        "{what}: algorithm {}, expected {}",
        ct.algorithm.as_str(),
        algorithm.as_str()
    );
    ensure!(
        Some(&ct.key_version) == key.primary_version.as_ref(),
        "{what}: key_version {}, expected the primary {:?}",
        ct.key_version,
        key.primary_version
    );
    ensure!(
        pt.len() < 8 || !ct.bytes.windows(pt.len()).any(|w| w == pt),
        "{what}: the ciphertext contains the plaintext"
    );
    let got = p
        .decrypt(Some(&key.id), None, &ct.bytes, ctx)
        .await
        .step(format!("decrypt of {what}"))?;
    ensure!(
        got.as_slice() == pt,
        "decrypt of {what} returned {} other bytes",
        got.len()
    );
    Ok(ct.bytes)
}

/// AES-256 encrypt/decrypt roundtrips for 1 byte, 100 bytes and `max_plaintext_bytes`, with
/// and without a context; encrypting the same plaintext twice gives different ciphertexts.
pub async fn symmetric_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "symmetric-roundtrip");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("roundtrip");
        let alg = EncryptionAlgorithm::SymmetricDefault;
        for size in [1, 100, p.capabilities().max_plaintext_bytes] {
            roundtrip(p, &key, &random_bytes(size), &ctx, alg).await?;
        }
        roundtrip(p, &key, &random_bytes(32), &EncryptionContext::new(), alg).await?;
        let pt = random_bytes(100);
        let a = roundtrip(p, &key, &pt, &ctx, alg).await?;
        let b = roundtrip(p, &key, &pt, &ctx, alg).await?;
        ensure!(
            a != b,
            "encrypting the same plaintext twice gave the same ciphertext (not randomized)"
        );
        Ok(Outcome::Passed)
    })
    .await
}

/// RSA specs offered, RSA-2048 first (cheapest).
fn rsa_specs(p: &dyn KeyProvider) -> Vec<KeySpec> {
    let specs = &p.capabilities().key_specs;
    [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096]
        .into_iter()
        .filter(|s| specs.contains(s))
        .collect()
}

/// RSA-OAEP roundtrips for every RSA spec created with `usage: encrypt` (with a context too
/// when `asymmetric_context`); encryption is randomized.
pub async fn rsa_oaep_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "rsa-oaep");
    keys.finish(async {
        if !p.capabilities().rsa_encryption {
            return skip("capabilities.rsa_encryption is false");
        }
        let specs = rsa_specs(p);
        if specs.is_empty() {
            return skip("capabilities.key_specs has no RSA spec");
        }
        let with_context = p.capabilities().asymmetric_context;
        let cases = specs.into_iter().map(|spec| {
            let keys = &keys;
            async move {
                let key = keys.create(spec, Some(KeyUsage::Encrypt)).await?;
                let alg = EncryptionAlgorithm::RsaOaepSha256;
                let pt = random_bytes(32);
                let none = EncryptionContext::new();
                let a = roundtrip(p, &key, &pt, &none, alg).await?;
                let b = roundtrip(p, &key, &pt, &none, alg).await?;
                ensure!(
                    a != b,
                    "RSA-OAEP encryption of the same plaintext twice under {spec} gave the same ciphertext"
                );
                if with_context {
                    roundtrip(p, &key, &pt, &context("rsa"), alg).await?;
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// Checks that a ciphertext made with one context fails to decrypt under others.
async fn context_is_bound(p: &dyn KeyProvider, key: &KeyMetadata) -> Result<(), Failure> {
    let a = context("a");
    let cases = [
        (a.clone(), context("b"), "a different value"),
        (a.clone(), EncryptionContext::new(), "an empty context"),
        (
            a.clone(),
            a.clone().with("extra", "1"),
            "an extra context pair",
        ),
        (
            EncryptionContext::new(),
            a.clone(),
            "a context where none was used",
        ),
    ];
    for (enc, dec, label) in cases {
        let ct = p
            .encrypt(&key.id, b"context-bound", &enc)
            .await
            .step(format!("encrypt({} {})", key.spec, key.id))?;
        expect_err(
            format!("decrypt({} {}) with {label}", key.spec, key.id),
            p.decrypt(Some(&key.id), None, &ct.bytes, &dec).await,
            ErrorKind::IntegrityFailure,
        )?;
    }
    Ok(())
}

/// Decrypting with another context than the one used to encrypt (different, missing or
/// extra) fails with `IntegrityFailure`, for AES and, when `asymmetric_context`, RSA-OAEP.
pub async fn wrong_context_is_integrity_failure(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "wrong-context");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        context_is_bound(p, &key).await?;
        let caps = p.capabilities();
        if caps.asymmetric_context
            && caps.rsa_encryption
            && let Some(&spec) = rsa_specs(p).first()
        {
            let rsa = keys.create(spec, Some(KeyUsage::Encrypt)).await?;
            context_is_bound(p, &rsa).await?;
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// A ciphertext with its first, middle or last byte flipped fails with `IntegrityFailure`
/// (AES, and RSA-OAEP when `rsa_encryption`).
pub async fn tampered_ciphertext_is_integrity_failure(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "tampered-ciphertext");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let mut targets = vec![keys.create(KeySpec::Aes256, None).await?];
        if p.capabilities().rsa_encryption
            && let Some(&spec) = rsa_specs(p).first()
        {
            targets.push(keys.create(spec, Some(KeyUsage::Encrypt)).await?);
        }
        let bound = context("tamper");
        let none = EncryptionContext::new();
        let mut results = Vec::new();
        for key in &targets {
            // RSA encryption takes a context only where the provider binds one.
            let ctx = if key.spec.is_rsa() && !p.capabilities().asymmetric_context {
                &none
            } else {
                &bound
            };
            let ct = p
                .encrypt(&key.id, &random_bytes(100), ctx)
                .await
                .step(format!("encrypt({} {})", key.spec, key.id))?;
            let len = ct.bytes.len();
            ensure!(
                len > 0,
                "encrypt({}) returned an empty ciphertext",
                key.spec
            );
            for (label, at) in [("first", 0), ("middle", len / 2), ("last", len - 1)] {
                results.push(expect_err(
                    format!(
                        "decrypt({} {}) of a ciphertext with its {label} byte (of {len}) flipped",
                        key.spec, key.id
                    ),
                    p.decrypt(Some(&key.id), None, &flipped(&ct.bytes, at), ctx)
                        .await,
                    ErrorKind::IntegrityFailure,
                ));
            }
        }
        all_passed(results)
    })
    .await
}

/// Decrypting a ciphertext while naming another key fails with `IntegrityFailure`.
pub async fn other_keys_ciphertext_is_integrity_failure(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "other-key");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let a = keys.create(KeySpec::Aes256, None).await?;
        let b = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("other-key");
        let ct = p
            .encrypt(&a.id, b"belongs to a", &ctx)
            .await
            .step("encrypt")?;
        expect_err(
            format!(
                "decrypt naming key {} of a ciphertext made by {}",
                b.id, a.id
            ),
            p.decrypt(Some(&b.id), None, &ct.bytes, &ctx).await,
            ErrorKind::IntegrityFailure,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}

/// With `self_describing_ciphertext`, `decrypt(None, ..)` finds the key itself, and still
/// checks the context.
pub async fn decrypt_without_key_id(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "decrypt-no-key");
    keys.finish(async {
        if !p.capabilities().self_describing_ciphertext {
            return skip("capabilities.self_describing_ciphertext is false");
        }
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("no-key-id");
        let pt = random_bytes(40);
        let ct = p.encrypt(&key.id, &pt, &ctx).await.step("encrypt")?;
        let got = p
            .decrypt(None, None, &ct.bytes, &ctx)
            .await
            .step("decrypt(None, ..)")?;
        ensure!(
            got.as_slice() == pt.as_slice(),
            "decrypt(None, ..) returned other bytes than were encrypted"
        );
        expect_err(
            "decrypt(None, ..) with a different context",
            p.decrypt(None, None, &ct.bytes, &context("other")).await,
            ErrorKind::IntegrityFailure,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}

/// A plaintext one byte over `max_plaintext_bytes` fails with `InvalidArgument`.
pub async fn oversized_plaintext_is_invalid_argument(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "oversized");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let max = p.capabilities().max_plaintext_bytes;
        expect_err(
            format!(
                "encrypt of {} bytes (max_plaintext_bytes is {max})",
                max + 1
            ),
            p.encrypt(&key.id, &random_bytes(max + 1), &EncryptionContext::new())
                .await,
            ErrorKind::InvalidArgument,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}

/// `generate_data_key` for every size in `data_key_specs` and, when `data_key_bytes`, for 1,
/// 24, 33 and 1024 bytes: the plaintext has the right length, the ciphertext decrypts to it
/// under the same context and fails under another; keys differ. With `data_key_bytes`, 0 and
/// 1025 bytes are `InvalidArgument`.
pub async fn data_key_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "data-key");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("data-key");
        let caps = p.capabilities();
        let mut specs = caps.data_key_specs.clone();
        if caps.data_key_bytes {
            specs.extend(
                [1, 24, 33, DataKeySpec::MAX_BYTES]
                    .map(|n| DataKeySpec::of_bytes(n).unwrap_or(DataKeySpec::Aes256)),
            );
            for n in [0, DataKeySpec::MAX_BYTES + 1] {
                let bad = DataKeySpec::Bytes(u16::try_from(n).unwrap_or(u16::MAX));
                expect_err(
                    format!("generate_data_key of {n} bytes"),
                    p.generate_data_key(&key.id, bad, &ctx).await.map(drop),
                    ErrorKind::InvalidArgument,
                )?;
            }
        }
        if specs.is_empty() {
            return skip("capabilities.data_key_specs is empty");
        }
        for spec in specs {
            let what = format!("generate_data_key({spec:?})");
            let dk = p.generate_data_key(&key.id, spec, &ctx).await.step(&what)?;
            ensure!(
                dk.plaintext.len() == spec.len(),
                "{what}: plaintext of {} bytes, expected {}",
                dk.plaintext.len(),
                spec.len()
            );
            ensure!(
                Some(&dk.key_version) == key.primary_version.as_ref(),
                "{what}: key_version {}, expected the primary {:?}",
                dk.key_version,
                key.primary_version
            );
            // Below 16 bytes a key may appear in any ciphertext, or twice, by chance.
            let long = dk.plaintext.len() >= 16;
            ensure!(
                !long
                    || !dk
                        .ciphertext
                        .windows(dk.plaintext.len())
                        .any(|w| w == dk.plaintext.as_slice()),
                "{what}: the ciphertext contains the plaintext data key"
            );
            let opened = p
                .decrypt(Some(&key.id), None, &dk.ciphertext, &ctx)
                .await
                .step(format!("decrypt of {what}'s ciphertext"))?;
            ensure!(
                opened.as_slice() == dk.plaintext.as_slice(),
                "decrypt of {what}'s ciphertext returned other bytes than its plaintext"
            );
            expect_err(
                format!("decrypt of {what}'s ciphertext with a different context"),
                p.decrypt(Some(&key.id), None, &dk.ciphertext, &context("other"))
                    .await,
                ErrorKind::IntegrityFailure,
            )?;
            let again = p.generate_data_key(&key.id, spec, &ctx).await.step(&what)?;
            ensure!(
                !long || again.plaintext.as_slice() != dk.plaintext.as_slice(),
                "{what} twice gave the same data key"
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// 100 concurrent encryptions of distinct plaintexts all succeed, and each ciphertext
/// decrypts (concurrently again) to its own plaintext.
pub async fn concurrent_encrypts(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "concurrent");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("concurrent");
        let plaintexts: Vec<Vec<u8>> = (0..100_u32)
            .map(|i| {
                let mut pt = i.to_be_bytes().to_vec();
                pt.extend(random_bytes(28));
                pt
            })
            .collect();
        let sealed = join_all(plaintexts.iter().map(|pt| p.encrypt(&key.id, pt, &ctx))).await;
        let mut ciphertexts = Vec::with_capacity(sealed.len());
        for (i, ct) in sealed.into_iter().enumerate() {
            ciphertexts.push(ct.step(format!("concurrent encrypt #{i}"))?);
        }
        let opened = join_all(
            ciphertexts
                .iter()
                .map(|ct| p.decrypt(Some(&key.id), None, &ct.bytes, &ctx)),
        )
        .await;
        for (i, (got, want)) in opened.into_iter().zip(&plaintexts).enumerate() {
            let got = got.step(format!("concurrent decrypt #{i}"))?;
            ensure!(
                got.as_slice() == want.as_slice(),
                "concurrent decrypt #{i} returned another encryption's plaintext or other bytes"
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// Plaintexts and data keys appear nowhere in `Debug` output of the data key, the provider,
/// ciphertexts or errors (as text, hex, base64 or byte lists).
pub async fn secrets_stay_out_of_debug_and_errors(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "secrets-debug");
    keys.finish(async {
        if let Some(skipped) = need_spec(p, KeySpec::Aes256) {
            return Ok(skipped);
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("secrets");
        // The marker must not share its first bytes with key names (`kgc-...`): providers with
        // self-describing ciphertexts carry the key id in clear, and `leaks` matches on the
        // first 8 bytes of a secret shown as a byte list.
        let marker = format!("plaintext-marker-{:016x}", super::support::random_u64());
        let dk = p
            .generate_data_key(&key.id, DataKeySpec::Aes256, &ctx)
            .await
            .step("generate_data_key")?;
        let ct = p
            .encrypt(&key.id, marker.as_bytes(), &ctx)
            .await
            .step("encrypt")?;
        let err = match p
            .decrypt(Some(&key.id), None, &ct.bytes, &context("wrong"))
            .await
        {
            Ok(_) => return Err(Failure::new("decrypt with a wrong context succeeded")),
            Err(e) => e,
        };
        let opened = p
            .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
            .await
            .step("decrypt")?;
        let outputs = [
            ("the DataKey's Debug", format!("{dk:?}")),
            ("the provider's Debug", format!("{p:?}")),
            ("the Ciphertext's Debug", format!("{ct:?}")),
            ("a decrypt error's Display", err.to_string()),
            ("a decrypt error's Debug", format!("{err:?}")),
        ];
        for (label, text) in &outputs {
            ensure!(
                !leaks(text, marker.as_bytes()),
                "{label} shows an encrypted plaintext"
            );
            ensure!(
                !leaks(text, dk.plaintext.as_slice()),
                "{label} shows a generated data key"
            );
        }
        ensure!(
            opened.as_slice() == marker.as_bytes(),
            "decrypt returned other bytes than were encrypted"
        );
        Ok(Outcome::Passed)
    })
    .await
}
