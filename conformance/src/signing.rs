//! Signatures, public keys, MACs, and operations that do not fit a key's usage or spec.

use futures::future::join_all;

use super::support::{
    Keys, Step, all_passed, ensure, expect_bool, expect_err, flipped, random_bytes, skip,
};
use super::{CheckResult, Failure};
use keygate_core::SignInput;
use keygate_core::crypto::{DataKeySpec, EncryptionContext, PublicKey};
use keygate_core::error::{ErrorKind, Result};
use keygate_core::key::{KeyMetadata, KeySpec, KeyUsage, SigningAlgorithm};
use keygate_core::provider::KeyProvider;

/// Asymmetric specs offered, in `key_specs` order.
fn asymmetric_specs(p: &dyn KeyProvider) -> Vec<KeySpec> {
    p.capabilities()
        .key_specs
        .iter()
        .copied()
        .filter(|s| s.is_asymmetric())
        .collect()
}

/// Creates a signing key of `spec` (RSA keys with `usage: sign`).
async fn signing_key(keys: &Keys<'_>, spec: KeySpec) -> Result<KeyMetadata, Failure> {
    let usage = spec.is_rsa().then_some(KeyUsage::Sign);
    keys.create(spec, usage).await
}

/// For every asymmetric spec and each algorithm its keys accept
/// ([`Capabilities::signing_algorithms`](keygate_core::Capabilities::signing_algorithms)): the
/// signature reports the algorithm
/// and primary version and verifies (default and explicit version); a tampered message, a
/// signature with a flipped byte and an all-zero signature give `Ok(false)`.
pub async fn sign_verify_every_algorithm(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "sign-verify");
    keys.finish(async {
        let specs = asymmetric_specs(p);
        if specs.is_empty() {
            return skip("capabilities.key_specs has no RSA or EC spec");
        }
        let cases = specs.into_iter().map(|spec| {
            let keys = &keys;
            async move {
                let key = signing_key(keys, spec).await?;
                let primary = key.primary_version.as_deref();
                for &alg in p.capabilities().signing_algorithms(spec) {
                    let msg = random_bytes(64);
                    let what = format!("sign({spec} {}, {alg})", key.id);
                    let sig = p.sign(&key.id, None, SignInput::Message(&msg), alg).await.step(&what)?;
                    ensure!(
                        sig.algorithm == alg && Some(sig.key_version.as_str()) == primary,
                        "{what}: reported {} with version {}, expected {alg} with the primary {primary:?}",
                        sig.algorithm,
                        sig.key_version
                    );
                    let version = Some(sig.key_version.as_str());
                    let last = sig.bytes.len().saturating_sub(1);
                    let cases = [
                        ("", None, msg.clone(), sig.bytes.clone(), true),
                        ("(explicit version)", version, msg.clone(), sig.bytes.clone(), true),
                        ("over a tampered message", None, flipped(&msg, 0), sig.bytes.clone(), false),
                        ("with its last byte flipped", None, msg.clone(), flipped(&sig.bytes, last), false),
                        ("replaced by zeros", None, msg.clone(), vec![0; sig.bytes.len()], false),
                    ];
                    for (label, version, m, s, want) in cases {
                        expect_bool(
                            format!("verify of {what} {label}"),
                            p.verify(&key.id, version, SignInput::Message(&m), &s, alg).await,
                            want,
                        )?;
                    }
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// Verifies an RSA signature with the `rsa` crate: PSS with a salt as long as the digest,
/// or PKCS#1 v1.5, over the hash `D`.
fn verify_rsa<D>(
    key: rsa::RsaPublicKey,
    alg: SigningAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> std::result::Result<(), String>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset + rsa::pkcs8::AssociatedOid,
{
    use rsa::signature::Verifier as _;
    if alg.is_pss() {
        let sig = rsa::pss::Signature::try_from(sig)
            .map_err(|e| format!("malformed PSS signature: {e}"))?;
        rsa::pss::VerifyingKey::<D>::new_with_salt_len(key, alg.digest_len())
            .verify(msg, &sig)
            .map_err(|e| format!("{alg} (salt {}) does not verify: {e}", alg.digest_len()))
    } else {
        let sig = rsa::pkcs1v15::Signature::try_from(sig)
            .map_err(|e| format!("malformed PKCS#1 signature: {e}"))?;
        rsa::pkcs1v15::VerifyingKey::<D>::new(key)
            .verify(msg, &sig)
            .map_err(|e| format!("{alg} does not verify: {e}"))
    }
}

/// Verifies a DER ECDSA signature with one curve crate: `$curve` names the crate, `$key` the
/// verifying key type built from the SPKI, `$name` the curve for messages. The signature is
/// taken in its low-S form as well: ECDSA accepts `(r, s)` and `(r, n - s)` alike, and `k256`
/// verifies the low-S form only.
macro_rules! verify_ecdsa {
    ($curve:ident, $pk:expr, $msg:expr, $sig:expr, $name:literal, $alg:expr) => {{
        use $curve::ecdsa::signature::Verifier as _;
        use $curve::pkcs8::DecodePublicKey as _;
        let public = $curve::PublicKey::from_public_key_der(&$pk.der)
            .map_err(|e| format!("the public key is not a {} SPKI: {e}", $name))?;
        let key = $curve::ecdsa::VerifyingKey::from_affine(*public.as_affine())
            .map_err(|e| format!("the {} point is not a verifying key: {e}", $name))?;
        let sig = $curve::ecdsa::Signature::from_der($sig)
            .map_err(|e| format!("not a DER ECDSA {} signature: {e}", $name))?;
        let sig = sig.normalize_s().unwrap_or(sig);
        key.verify($msg, &sig)
            .map_err(|e| format!("{} on {} does not verify: {e}", $alg, $name))
    }};
}

/// Verifies `sig` over `msg` with `pk` through the RustCrypto crates, independently of the
/// provider. `Err` names what went wrong.
fn verify_independently(
    pk: &PublicKey,
    alg: SigningAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> std::result::Result<(), String> {
    use p256::pkcs8::DecodePublicKey as _;
    if alg.is_rsa() {
        let key = rsa::RsaPublicKey::from_public_key_der(&pk.der)
            .map_err(|e| format!("the public key is not an RSA SPKI: {e}"))?;
        return match alg.digest_len() {
            32 => verify_rsa::<sha2::Sha256>(key, alg, msg, sig),
            48 => verify_rsa::<sha2::Sha384>(key, alg, msg, sig),
            _ => verify_rsa::<sha2::Sha512>(key, alg, msg, sig),
        };
    }
    match (alg, pk.spec) {
        (SigningAlgorithm::EcdsaSha256, KeySpec::EcSecp256k1) => {
            verify_ecdsa!(k256, pk, msg, sig, "secp256k1", alg)
        }
        (SigningAlgorithm::EcdsaSha256, _) => verify_ecdsa!(p256, pk, msg, sig, "P-256", alg),
        (SigningAlgorithm::EcdsaSha384, _) => verify_ecdsa!(p384, pk, msg, sig, "P-384", alg),
        (SigningAlgorithm::EcdsaSha512, _) => verify_ecdsa!(p521, pk, msg, sig, "P-521", alg),
        (other, spec) => Err(format!(
            "the conformance suite cannot verify {other} on {spec} independently"
        )),
    }
}

/// Signatures verify with the exported public key through independent libraries (`rsa` for
/// PSS with a salt as long as the digest and PKCS#1 v1.5, with SHA-256, SHA-384 or SHA-512;
/// `p256`/`p384`/`p521`/`k256` for DER ECDSA), and a tampered message does not, so the check
/// is not vacuous.
pub async fn signatures_verify_independently(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "independent-verify");
    keys.finish(async {
        let specs = asymmetric_specs(p);
        if specs.is_empty() {
            return skip("capabilities.key_specs has no RSA or EC spec");
        }
        let cases = specs.into_iter().map(|spec| {
            let keys = &keys;
            async move {
                let key = signing_key(keys, spec).await?;
                let pk = p
                    .get_public_key(&key.id, None)
                    .await
                    .step(format!("get_public_key({spec} {})", key.id))?;
                for &alg in p.capabilities().signing_algorithms(spec) {
                    let msg = random_bytes(100);
                    let sig = p
                        .sign(&key.id, None, SignInput::Message(&msg), alg)
                        .await
                        .step(format!("sign({spec}, {alg})"))?;
                    verify_independently(&pk, alg, &msg, &sig.bytes).map_err(|e| {
                        Failure::new(format!(
                            "{spec} {alg} signature, checked independently: {e}"
                        ))
                    })?;
                    ensure!(
                        verify_independently(&pk, alg, &flipped(&msg, 0), &sig.bytes).is_err(),
                        "{spec} {alg}: the independent verifier accepted a tampered message"
                    );
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// The digest `alg` signs for `msg`, computed independently of the provider (`sha2`).
fn digest_of(alg: SigningAlgorithm, msg: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    match alg.digest_len() {
        48 => sha2::Sha384::digest(msg).to_vec(),
        64 => sha2::Sha512::digest(msg).to_vec(),
        _ => sha2::Sha256::digest(msg).to_vec(),
    }
}

/// For every asymmetric spec and each algorithm its keys accept, when `digest_signing`: a signature
/// over the message's digest reports the algorithm and primary version, verifies over the raw
/// message (with the provider and independently), and a signature over the raw message
/// verifies over the digest (default and explicit version); a tampered digest gives
/// `Ok(false)`; a digest of the wrong length (truncated, or the other hash's) is
/// `InvalidArgument` for `sign_digest` and `verify_digest`.
pub async fn sign_digest_matches_sign(p: &dyn KeyProvider) -> CheckResult {
    if !p.capabilities().digest_signing {
        return skip("capabilities.digest_signing is false");
    }
    let keys = Keys::new(p, "sign-digest");
    keys.finish(async {
        let specs = asymmetric_specs(p);
        if specs.is_empty() {
            return skip("capabilities.key_specs has no RSA or EC spec");
        }
        let cases = specs.into_iter().map(|spec| {
            let keys = &keys;
            async move {
                let key = signing_key(keys, spec).await?;
                let id = key.id.as_str();
                let primary = key.primary_version.as_deref();
                let pk = p
                    .get_public_key(id, None)
                    .await
                    .step(format!("get_public_key({spec} {id})"))?;
                for &alg in p.capabilities().signing_algorithms(spec) {
                    let msg = random_bytes(90);
                    let digest = digest_of(alg, &msg);
                    let what = format!("sign_digest({spec} {id}, {alg})");
                    let sig = p.sign(id, None, SignInput::Digest(&digest), alg).await.step(&what)?;
                    ensure!(
                        sig.algorithm == alg && Some(sig.key_version.as_str()) == primary,
                        "{what}: reported {} with version {}, expected {alg} with the primary {primary:?}",
                        sig.algorithm,
                        sig.key_version
                    );
                    expect_bool(
                        format!("verify of {what} over the raw message"),
                        p.verify(id, None, SignInput::Message(&msg), &sig.bytes, alg).await,
                        true,
                    )?;
                    verify_independently(&pk, alg, &msg, &sig.bytes).map_err(|e| {
                        Failure::new(format!("{what}, checked independently over the message: {e}"))
                    })?;
                    let raw = p
                        .sign(id, None, SignInput::Message(&msg), alg)
                        .await
                        .step(format!("sign({spec} {id}, {alg})"))?;
                    let version = Some(raw.key_version.as_str());
                    let cases = [
                        ("a raw-message signature", None, digest.clone(), &raw.bytes, true),
                        ("a raw-message signature (explicit version)", version, digest.clone(), &raw.bytes, true),
                        ("its own signature over a tampered digest", None, flipped(&digest, 0), &sig.bytes, false),
                    ];
                    for (label, version, d, s, want) in cases {
                        expect_bool(
                            format!("verify_digest({spec} {id}, {alg}) of {label}"),
                            p.verify(id, version, SignInput::Digest(&d), s, alg).await,
                            want,
                        )?;
                    }
                    let other_hash = if digest.len() == 32 { 48 } else { 32 };
                    for len in [digest.len() - 1, other_hash] {
                        let bad = random_bytes(len);
                        expect_err(
                            format!("sign_digest({spec} {id}, {alg}) of a {len}-byte digest"),
                            p.sign(id, None, SignInput::Digest(&bad), alg).await,
                            ErrorKind::InvalidArgument,
                        )?;
                        expect_err(
                            format!("verify_digest({spec} {id}, {alg}) of a {len}-byte digest"),
                            p.verify(id, None, SignInput::Digest(&bad), &sig.bytes, alg).await,
                            ErrorKind::InvalidArgument,
                        )?;
                    }
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// Checks `pk`'s DER is an SPKI of the algorithm and size `spec` says.
fn check_spki(spec: KeySpec, der: &[u8]) -> std::result::Result<(), String> {
    use p256::pkcs8::DecodePublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let p256 = p256::PublicKey::from_public_key_der(der).is_ok();
    let p384 = p384::PublicKey::from_public_key_der(der).is_ok();
    let p521 = p521::PublicKey::from_public_key_der(der).is_ok();
    let k256 = k256::PublicKey::from_public_key_der(der).is_ok();
    let curves = [p256, p384, p521, k256].into_iter().filter(|&c| c).count();
    let rsa = rsa::RsaPublicKey::from_public_key_der(der).ok();
    let want_bits = match spec {
        KeySpec::Rsa2048 => Some(2048),
        KeySpec::Rsa3072 => Some(3072),
        KeySpec::Rsa4096 => Some(4096),
        _ => None,
    };
    match (spec, want_bits, rsa) {
        (KeySpec::EcP256, ..) if p256 && curves == 1 => Ok(()),
        (KeySpec::EcP384, ..) if p384 && curves == 1 => Ok(()),
        (KeySpec::EcP521, ..) if p521 && curves == 1 => Ok(()),
        (KeySpec::EcSecp256k1, ..) if k256 && curves == 1 => Ok(()),
        (_, Some(bits), Some(key)) if key.n().bits() == bits => Ok(()),
        (_, Some(bits), Some(key)) => Err(format!(
            "RSA modulus of {} bits, expected {bits}",
            key.n().bits()
        )),
        _ => Err(format!(
            "not an SPKI of {spec} (parses as P-256: {p256}, P-384: {p384}, P-521: {p521}, secp256k1: {k256})"
        )),
    }
}

/// The exported public key names its spec and the primary version, its PEM decodes to the
/// same DER, and the DER is an SPKI of the right algorithm and size — for signing keys and,
/// when `rsa_encryption`, RSA encryption keys.
pub async fn public_key_encodings(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "public-key");
    keys.finish(async {
        let specs = asymmetric_specs(p);
        if specs.is_empty() {
            return skip("capabilities.key_specs has no RSA or EC spec");
        }
        let mut wanted: Vec<(KeySpec, KeyUsage)> =
            specs.iter().map(|&s| (s, KeyUsage::Sign)).collect();
        if p.capabilities().rsa_encryption
            && let Some(&rsa) = specs.iter().find(|s| s.is_rsa())
        {
            wanted.push((rsa, KeyUsage::Encrypt));
        }
        let cases = wanted.into_iter().map(|(spec, usage)| {
            let keys = &keys;
            async move {
                let key = keys.create(spec, Some(usage)).await?;
                let what = format!("get_public_key({spec} {usage} key {})", key.id);
                let pk = p.get_public_key(&key.id, None).await.step(&what)?;
                ensure!(pk.spec == spec, "{what}: spec {}, expected {spec}", pk.spec);
                ensure!(
                    Some(&pk.key_version) == key.primary_version.as_ref(),
                    "{what}: key_version {}, expected the primary {:?}",
                    pk.key_version,
                    key.primary_version
                );
                let pem = pem::parse(pk.pem())
                    .map_err(|e| Failure::new(format!("{what}: PEM does not parse: {e}")))?;
                ensure!(
                    pem.tag() == "PUBLIC KEY" && pem.contents() == pk.der.as_slice(),
                    "{what}: PEM is tagged {} and {} the DER",
                    pem.tag(),
                    if pem.contents() == pk.der.as_slice() {
                        "holds"
                    } else {
                        "does not hold"
                    }
                );
                check_spki(spec, &pk.der).map_err(|e| Failure::new(format!("{what}: {e}")))
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// An operation the key's usage does not allow fails with `InvalidState`: signing or MACs or
/// public keys with an AES key, encryption or data keys with EC, HMAC and RSA signing keys,
/// signing with RSA encryption keys.
pub async fn wrong_usage_is_invalid_state(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "wrong-usage");
    keys.finish(async {
        let caps = p.capabilities();
        let supported = |s: KeySpec| caps.key_specs.contains(&s);
        let ctx = EncryptionContext::new();
        let msg = b"keygate conformance";
        let is = ErrorKind::InvalidState;
        let mut results = Vec::new();
        let mut check = |what: String, r: Result<()>| results.push(expect_err(what, r, is));

        if supported(KeySpec::Aes256) {
            let k = keys.create(KeySpec::Aes256, None).await?;
            let id = k.id.as_str();
            let alg = SigningAlgorithm::EcdsaSha256;
            check(
                "sign with an AES key".into(),
                p.sign(id, None, SignInput::Message(msg), alg)
                    .await
                    .map(drop),
            );
            check(
                "verify with an AES key".into(),
                p.verify(id, None, SignInput::Message(msg), &[0; 64], alg)
                    .await
                    .map(drop),
            );
            check(
                "generate_mac with an AES key".into(),
                p.generate_mac(id, None, msg).await.map(drop),
            );
            check(
                "verify_mac with an AES key".into(),
                p.verify_mac(id, None, msg, &[0; 32]).await.map(drop),
            );
            check(
                "get_public_key of an AES key".into(),
                p.get_public_key(id, None).await.map(drop),
            );
        }
        let encrypt_refusing = [
            (KeySpec::EcP256, None),
            (KeySpec::HmacSha256, None),
            (KeySpec::Rsa2048, Some(KeyUsage::Sign)),
        ];
        for (spec, usage) in encrypt_refusing {
            if !supported(spec) {
                continue;
            }
            let k = keys.create(spec, usage).await?;
            let id = k.id.as_str();
            let label = format!("{spec} {} key", k.usage);
            check(
                format!("encrypt with a {label}"),
                p.encrypt(id, msg, &ctx).await.map(drop),
            );
            check(
                format!("generate_data_key with a {label}"),
                p.generate_data_key(id, DataKeySpec::Aes256, &ctx)
                    .await
                    .map(drop),
            );
            if spec.is_hmac() {
                check(
                    format!("sign with a {label}"),
                    p.sign(
                        id,
                        None,
                        SignInput::Message(msg),
                        SigningAlgorithm::EcdsaSha256,
                    )
                    .await
                    .map(drop),
                );
                check(
                    format!("get_public_key of a {label}"),
                    p.get_public_key(id, None).await.map(drop),
                );
            } else {
                check(
                    format!("generate_mac with a {label}"),
                    p.generate_mac(id, None, msg).await.map(drop),
                );
            }
        }
        if caps.rsa_encryption && supported(KeySpec::Rsa2048) {
            let k = keys
                .create(KeySpec::Rsa2048, Some(KeyUsage::Encrypt))
                .await?;
            check(
                "sign with an RSA encryption key".into(),
                p.sign(
                    &k.id,
                    None,
                    SignInput::Message(msg),
                    SigningAlgorithm::RsaPssSha256,
                )
                .await
                .map(drop),
            );
        }
        if results.is_empty() {
            return skip(
                "capabilities.key_specs has none of AES_256, EC_P256, HMAC_SHA256, RSA_2048",
            );
        }
        all_passed(results)
    })
    .await
}

/// Signing with an algorithm the key's spec does not support (ECDSA-SHA384 on P-256, RSA on
/// EC, ECDSA on RSA) fails with `InvalidArgument`; so does signing (and, with
/// `digest_signing`, signing a digest) with the second RSA algorithm when
/// `one_signing_algorithm_per_key` binds an RSA key to its first.
pub async fn wrong_signing_algorithm_is_invalid_argument(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "wrong-algorithm");
    keys.finish(async {
        // Every EC spec, and one RSA spec: RSA sizes do not differ in their algorithms.
        let all = asymmetric_specs(p);
        let rsa = all.iter().copied().find(|s| s.is_rsa());
        let specs: Vec<KeySpec> = all.into_iter().filter(|s| s.is_ec()).chain(rsa).collect();
        if specs.is_empty() {
            return skip("capabilities.key_specs has no RSA or EC spec");
        }
        let mut results = Vec::new();
        for spec in specs {
            let key = signing_key(&keys, spec).await?;
            let usable = p.capabilities().signing_algorithms(spec);
            for alg in SigningAlgorithm::ALL {
                if usable.contains(&alg) {
                    continue;
                }
                results.push(expect_err(
                    format!("sign({spec} key, {alg})"),
                    p.sign(&key.id, None, SignInput::Message(b"m"), alg).await,
                    ErrorKind::InvalidArgument,
                ));
                // The spec allows it but this provider's keys do not: the digest path too.
                if spec.signing_algorithms().contains(&alg) && p.capabilities().digest_signing {
                    results.push(expect_err(
                        format!("sign_digest({spec} key bound to one algorithm, {alg})"),
                        p.sign(&key.id, None, SignInput::Digest(&digest_of(alg, b"m")), alg)
                            .await,
                        ErrorKind::InvalidArgument,
                    ));
                }
            }
        }
        all_passed(results)
    })
    .await
}

/// For every HMAC spec: the tag has the hash's length, the right algorithm and version, is
/// deterministic and verifies; a tampered message, a flipped tag byte or a truncated tag give
/// `Ok(false)`.
pub async fn mac_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "mac");
    keys.finish(async {
        let specs: Vec<KeySpec> = p
            .capabilities()
            .key_specs
            .iter()
            .copied()
            .filter(|s| s.is_hmac())
            .collect();
        if specs.is_empty() {
            return skip("capabilities.key_specs has no HMAC spec");
        }
        let cases = specs.into_iter().map(|spec| {
            let keys = &keys;
            async move {
                let key = keys.create(spec, None).await?;
                let msg = random_bytes(80);
                let what = format!("generate_mac({spec} {})", key.id);
                let tag = p.generate_mac(&key.id, None, &msg).await.step(&what)?;
                let want_len = match spec {
                    KeySpec::HmacSha384 => 48,
                    KeySpec::HmacSha512 => 64,
                    _ => 32,
                };
                ensure!(
                    tag.bytes.len() == want_len,
                    "{what}: tag of {} bytes, expected {want_len}",
                    tag.bytes.len()
                );
                ensure!(
                    Some(tag.algorithm) == spec.mac_algorithm(),
                    "{what}: algorithm {}, expected {spec}",
                    tag.algorithm
                );
                ensure!(
                    Some(&tag.key_version) == key.primary_version.as_ref(),
                    "{what}: key_version {}, expected the primary {:?}",
                    tag.key_version,
                    key.primary_version
                );
                let again = p.generate_mac(&key.id, None, &msg).await.step(&what)?;
                ensure!(
                    again.bytes == tag.bytes,
                    "{what} twice over the same message gave different tags"
                );
                let last = tag.bytes.len().saturating_sub(1);
                let cases = [
                    ("the tag", msg.clone(), tag.bytes.clone(), true),
                    (
                        "a tampered message",
                        flipped(&msg, 0),
                        tag.bytes.clone(),
                        false,
                    ),
                    (
                        "a flipped tag byte",
                        msg.clone(),
                        flipped(&tag.bytes, last),
                        false,
                    ),
                    (
                        "a truncated tag",
                        msg.clone(),
                        tag.bytes[..last].to_vec(),
                        false,
                    ),
                ];
                for (label, m, t, want) in cases {
                    expect_bool(
                        format!("verify_mac({spec}) of {label}"),
                        p.verify_mac(&key.id, None, &m, &t).await,
                        want,
                    )?;
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}
