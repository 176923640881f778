//! Raw RSAES-OAEP ciphertexts: what a client makes with a key's public key alone (SHA-256,
//! MGF1-SHA-256, empty label), as the cloud dialects' asymmetric decrypt calls carry them.
//! They decrypt under any enabled version, refuse an encryption context, and leave the
//! self-describing format as it was.

use keygate_core::{CreateKeyRequest, EncryptionContext, Error, KeyProvider, KeySpec, KeyUsage};
use keygate_providers::local::LocalProvider;
use rsa::pkcs8::DecodePublicKey;
use rsa::rand_core::{self, CryptoRng, RngCore};
use rsa::sha2::Sha256;
use rsa::{Oaep, RsaPublicKey};

/// `rsa`'s randomness from aws-lc-rs's system generator (the workspace carries no `rand`).
struct SystemRng;

impl RngCore for SystemRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        aws_lc_rs::rand::fill(dest).unwrap();
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SystemRng {}

async fn provider_with(keys: &[(&str, KeySpec, KeyUsage)]) -> LocalProvider {
    let p = LocalProvider::builder().build().await.unwrap();
    for &(name, spec, usage) in keys {
        p.create_key(CreateKeyRequest {
            usage: Some(usage),
            ..CreateKeyRequest::new(name, spec)
        })
        .await
        .unwrap();
    }
    p
}

/// Encrypts `plaintext` as a client would: the SPKI from `get_public_key` (of `version`, else
/// the primary), RSAES-OAEP with SHA-256, MGF1-SHA-256 and an empty label.
async fn client_encrypt(
    p: &LocalProvider,
    key: &str,
    version: Option<&str>,
    plaintext: &[u8],
) -> Vec<u8> {
    let der = p.get_public_key(key, version).await.unwrap().der;
    RsaPublicKey::from_public_key_der(&der)
        .unwrap()
        .encrypt(&mut SystemRng, Oaep::new::<Sha256>(), plaintext)
        .unwrap()
}

fn none() -> EncryptionContext {
    EncryptionContext::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn public_key_ciphertexts_decrypt_for_rsa_2048_and_4096() {
    let p = provider_with(&[
        ("r2048", KeySpec::Rsa2048, KeyUsage::Encrypt),
        ("r4096", KeySpec::Rsa4096, KeyUsage::Encrypt),
    ])
    .await;
    for (key, len) in [("r2048", 256), ("r4096", 512)] {
        let plaintext = format!("a data key for {key}");
        let ct = client_encrypt(&p, key, None, plaintext.as_bytes()).await;
        assert_eq!(ct.len(), len, "{key}");
        let plain = p.decrypt(Some(key), None, &ct, &none()).await.unwrap();
        assert_eq!(plain.as_slice(), plaintext.as_bytes(), "{key}");
    }
    // The largest plaintext OAEP-SHA256 takes with a 2048-bit key, and an empty one.
    for plaintext in [vec![0x5A; 190], Vec::new()] {
        let ct = client_encrypt(&p, "r2048", None, &plaintext).await;
        let plain = p.decrypt(Some("r2048"), None, &ct, &none()).await.unwrap();
        assert_eq!(plain.as_slice(), plaintext.as_slice());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn older_versions_decrypt_after_rotations() {
    let p = provider_with(&[("rsa", KeySpec::Rsa2048, KeyUsage::Encrypt)]).await;
    let v1 = client_encrypt(&p, "rsa", None, b"under version 1").await;
    let v2 = p.rotate_key("rsa").await.unwrap().id;
    let v3 = p.rotate_key("rsa").await.unwrap().id;
    assert_eq!((v2.as_str(), v3.as_str()), ("2", "3"));
    assert_ne!(
        p.get_public_key("rsa", Some("1")).await.unwrap().der,
        p.get_public_key("rsa", None).await.unwrap().der,
        "a rotation kept the public key"
    );
    let old_pk = client_encrypt(&p, "rsa", Some("1"), b"old public key").await;
    let middle = client_encrypt(&p, "rsa", Some(&v2), b"middle public key").await;
    let primary = client_encrypt(&p, "rsa", None, b"primary public key").await;
    for (ct, want) in [
        (&v1, &b"under version 1"[..]),
        (&old_pk, b"old public key"),
        (&middle, b"middle public key"),
        (&primary, b"primary public key"),
    ] {
        let plain = p.decrypt(Some("rsa"), None, ct, &none()).await.unwrap();
        assert_eq!(plain.as_slice(), want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampered_or_foreign_raw_ciphertexts_are_integrity_failures() {
    let p = provider_with(&[
        ("rsa", KeySpec::Rsa2048, KeyUsage::Encrypt),
        ("other", KeySpec::Rsa2048, KeyUsage::Encrypt),
    ])
    .await;
    p.rotate_key("rsa").await.unwrap();
    let ct = client_encrypt(&p, "rsa", Some("1"), b"tamper me").await;
    for at in [0, ct.len() / 2, ct.len() - 1] {
        let mut bad = ct.clone();
        bad[at] ^= 0x01;
        let r = p.decrypt(Some("rsa"), None, &bad, &none()).await;
        assert!(
            matches!(r, Err(Error::IntegrityFailure)),
            "byte {at} flipped: {r:?}"
        );
    }
    let foreign = client_encrypt(&p, "other", None, b"another key's").await;
    let r = p.decrypt(Some("rsa"), None, &foreign, &none()).await;
    assert!(matches!(r, Err(Error::IntegrityFailure)), "{r:?}");
    // Not the key's modulus length: not a raw ciphertext, and not a self-describing one either.
    for cut in [&ct[1..], &ct[..ct.len() - 1]] {
        let r = p.decrypt(Some("rsa"), None, cut, &none()).await;
        assert!(matches!(r, Err(Error::IntegrityFailure)), "{r:?}");
    }
    // Without a key id nothing says which key a raw ciphertext is for.
    let r = p.decrypt(None, None, &ct, &none()).await;
    assert!(matches!(r, Err(Error::IntegrityFailure)), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_encryption_context_is_an_invalid_argument() {
    let p = provider_with(&[("rsa", KeySpec::Rsa2048, KeyUsage::Encrypt)]).await;
    let ct = client_encrypt(&p, "rsa", None, b"no context here").await;
    let ctx = EncryptionContext::new().with("tenant", "acme");
    let Err(Error::InvalidArgument(msg)) = p.decrypt(Some("rsa"), None, &ct, &ctx).await else {
        panic!("a context with a raw ciphertext was not an invalid argument");
    };
    assert!(
        msg.contains("public key") && msg.contains("encryption context"),
        "unclear message: {msg}"
    );
    // Even garbage of the right length: the context is refused before any decryption.
    let r = p.decrypt(Some("rsa"), None, &[7u8; 256], &ctx).await;
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_state_and_usage_come_first() {
    let p = provider_with(&[
        ("rsa", KeySpec::Rsa2048, KeyUsage::Encrypt),
        ("signer", KeySpec::Rsa2048, KeyUsage::Sign),
    ])
    .await;
    let ct = client_encrypt(&p, "rsa", None, b"state first").await;
    let ctx = EncryptionContext::new().with("tenant", "acme");

    let r = p.decrypt(Some("missing"), None, &ct, &none()).await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
    let r = p.decrypt(Some("signer"), None, &ct, &none()).await;
    assert!(matches!(r, Err(Error::InvalidState(_))), "{r:?}");

    p.disable_key("rsa").await.unwrap();
    for context in [none(), ctx] {
        let r = p.decrypt(Some("rsa"), None, &ct, &context).await;
        assert!(matches!(r, Err(Error::InvalidState(_))), "{r:?}");
    }
    p.enable_key("rsa").await.unwrap();
    let plain = p.decrypt(Some("rsa"), None, &ct, &none()).await.unwrap();
    assert_eq!(plain.as_slice(), b"state first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_describing_ciphertexts_still_decrypt() {
    let p = provider_with(&[
        ("r2048", KeySpec::Rsa2048, KeyUsage::Encrypt),
        ("r4096", KeySpec::Rsa4096, KeyUsage::Encrypt),
        ("aes", KeySpec::Aes256, KeyUsage::Encrypt),
    ])
    .await;
    let ctx = EncryptionContext::new().with("tenant", "acme");
    for key in ["r2048", "r4096", "aes"] {
        for context in [none(), ctx.clone()] {
            let ct = p.encrypt(key, b"self-describing", &context).await.unwrap();
            for named in [Some(key), None] {
                let plain = p.decrypt(named, None, &ct.bytes, &context).await.unwrap();
                assert_eq!(plain.as_slice(), b"self-describing", "{key} {named:?}");
            }
        }
        // The context is still bound to a self-describing ciphertext.
        let ct = p.encrypt(key, b"bound", &ctx).await.unwrap();
        let r = p.decrypt(Some(key), None, &ct.bytes, &none()).await;
        assert!(matches!(r, Err(Error::IntegrityFailure)), "{key}: {r:?}");
    }
    // One made before a rotation decrypts after it.
    let old = p.encrypt("r2048", b"before", &ctx).await.unwrap();
    p.rotate_key("r2048").await.unwrap();
    let plain = p
        .decrypt(Some("r2048"), None, &old.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(plain.as_slice(), b"before");
}
