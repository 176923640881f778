//! The local provider end to end: persistence, root keys, maintenance, material at rest, and
//! the full conformance suite on an in-memory and an on-disk store. The modules under
//! `local/` cover single features beyond the conformance suite.
#![allow(clippy::unwrap_used)]

#[path = "local/digest_signing.rs"]
mod digest_signing;
#[path = "local/import.rs"]
mod import;
#[path = "local/raw_oaep.rs"]
mod raw_oaep;
#[path = "local/versions.rs"]
mod versions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use keygate_conformance::ProviderHandle;
use keygate_core::{
    CreateKeyRequest, DataKeySpec, EncryptionContext, Error, KeyProvider, KeySpec, KeyState,
    KeyUsage, ListKeysRequest, ManualClock, RotationSchedule, SigningAlgorithm, VersionState,
};
use keygate_providers::local::{LocalBuilder, LocalProvider};
use sqlx::{Connection, Row};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

fn root_key(byte: u8) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(vec![byte; 32])
}

async fn on_disk(db: &Path, key: u8) -> keygate_core::Result<LocalProvider> {
    LocalBuilder::new()
        .with_path(db)
        .with_root_key(root_key(key))
        .build()
        .await
}

fn ctx() -> EncryptionContext {
    EncryptionContext::new()
        .with("tenant", "acme")
        .with("purpose", "test")
}

/// Every file of the SQLite database (main file, WAL, shared memory), concatenated.
fn db_bytes(db: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(bytes) = std::fs::read(PathBuf::from(p)) {
            out.extend(bytes);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The raw `material` column of one key version, read straight from the database file.
async fn raw_material(db: &Path, key: &str, version: i64) -> Option<Vec<u8>> {
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let row =
        sqlx::query("SELECT material FROM local_key_versions WHERE key_id = ? AND version = ?")
            .bind(key)
            .bind(version)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    row.try_get::<Option<Vec<u8>>, _>("material").unwrap()
}

fn request(name: &str, spec: KeySpec, usage: Option<KeyUsage>) -> CreateKeyRequest {
    CreateKeyRequest {
        usage,
        ..CreateKeyRequest::new(name, spec)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_of_every_spec_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/dir/keys.db");
    let p = on_disk(&db, 1).await.unwrap();

    let specs = [
        ("aes", KeySpec::Aes256, None),
        ("rsa2048-enc", KeySpec::Rsa2048, Some(KeyUsage::Encrypt)),
        ("rsa2048-sig", KeySpec::Rsa2048, Some(KeyUsage::Sign)),
        ("rsa3072", KeySpec::Rsa3072, Some(KeyUsage::Sign)),
        ("rsa4096", KeySpec::Rsa4096, Some(KeyUsage::Encrypt)),
        ("ec256", KeySpec::EcP256, None),
        ("ec384", KeySpec::EcP384, None),
        ("ec521", KeySpec::EcP521, None),
        ("secp256k1", KeySpec::EcSecp256k1, None),
        ("hmac256", KeySpec::HmacSha256, None),
        ("hmac384", KeySpec::HmacSha384, None),
        ("hmac512", KeySpec::HmacSha512, None),
    ];
    for (name, spec, usage) in specs {
        p.create_key(request(name, spec, usage)).await.unwrap();
    }
    assert_eq!(
        specs
            .iter()
            .map(|s| s.1)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        KeySpec::ALL.len(),
        "the test covers every spec"
    );

    let msg = b"persisted message";
    let aes_ct = p.encrypt("aes", b"aes plaintext", &ctx()).await.unwrap();
    let rsa_ct = p
        .encrypt("rsa2048-enc", b"rsa plaintext", &ctx())
        .await
        .unwrap();
    let rsa4k_ct = p
        .encrypt("rsa4096", b"rsa4k plaintext", &ctx())
        .await
        .unwrap();
    let sigs = [
        ("rsa2048-sig", SigningAlgorithm::RsaPssSha256),
        ("rsa3072", SigningAlgorithm::RsaPkcs1Sha256),
        ("ec256", SigningAlgorithm::EcdsaSha256),
        ("ec384", SigningAlgorithm::EcdsaSha384),
        ("ec521", SigningAlgorithm::EcdsaSha512),
        ("secp256k1", SigningAlgorithm::EcdsaSha256),
        ("rsa3072", SigningAlgorithm::RsaPssSha512),
    ];
    let mut signatures = Vec::new();
    for (key, alg) in sigs {
        signatures.push((
            key,
            alg,
            p.sign(key, None, keygate_core::SignInput::Message(msg), alg)
                .await
                .unwrap()
                .bytes,
        ));
    }
    let mut macs = Vec::new();
    for key in ["hmac256", "hmac384", "hmac512"] {
        macs.push((key, p.generate_mac(key, None, msg).await.unwrap().bytes));
    }
    let public = p.get_public_key("ec384", None).await.unwrap();
    let before = p.describe_key("rsa3072").await.unwrap();
    drop(p);

    let p = on_disk(&db, 1).await.unwrap();
    assert_eq!(p.describe_key("rsa3072").await.unwrap(), before);
    let all = p.list_keys(ListKeysRequest::default()).await.unwrap();
    assert_eq!(all.items.len(), specs.len());
    for (ct, want) in [
        (&aes_ct, &b"aes plaintext"[..]),
        (&rsa_ct, b"rsa plaintext"),
        (&rsa4k_ct, b"rsa4k plaintext"),
    ] {
        let got = p.decrypt(None, None, &ct.bytes, &ctx()).await.unwrap();
        assert_eq!(got.as_slice(), want);
    }
    for (key, alg, sig) in &signatures {
        assert!(
            p.verify(key, None, keygate_core::SignInput::Message(msg), sig, *alg)
                .await
                .unwrap(),
            "{key}"
        );
        assert!(
            !p.verify(
                key,
                None,
                keygate_core::SignInput::Message(b"other"),
                sig,
                *alg
            )
            .await
            .unwrap(),
            "{key}"
        );
    }
    for (key, mac) in &macs {
        assert!(p.verify_mac(key, None, msg, mac).await.unwrap(), "{key}");
        assert!(
            !p.verify_mac(key, None, b"other", mac).await.unwrap(),
            "{key}"
        );
    }
    assert_eq!(p.get_public_key("ec384", None).await.unwrap(), public);
}

#[tokio::test]
async fn another_root_key_is_refused_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let p = on_disk(&db, 1).await.unwrap();
    p.create_key(CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    drop(p);
    let err = on_disk(&db, 2).await.unwrap_err();
    assert!(matches!(err, Error::RootKeyMismatch), "{err:?}");
    // The right key still opens it.
    on_disk(&db, 1).await.unwrap();
}

#[tokio::test]
async fn root_key_configuration_errors_are_invalid_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalBuilder::new()
        .with_path(dir.path().join("keys.db"))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("a root key is required")),
        "{err:?}"
    );
    let err = LocalBuilder::new()
        .with_root_key(Zeroizing::new(vec![1; 16]))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let short = dir.path().join("short.key");
    std::fs::write(&short, [0u8; 31]).unwrap();
    let err = LocalBuilder::new()
        .with_root_key_file(&short)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("32 bytes")),
        "{err:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn root_key_file_is_created_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let key_file = dir.path().join("secrets/root.key");
    let open = || {
        LocalBuilder::new()
            .with_path(&db)
            .with_root_key_file(&key_file)
            .build()
    };
    let p = open().await.unwrap();
    let bytes = std::fs::read(&key_file).unwrap();
    assert_eq!(bytes.len(), 32);
    assert_ne!(bytes, vec![0u8; 32]);
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let ct = encrypt_fresh_key(&p, "k").await;
    drop(p);

    let p = open().await.unwrap();
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        bytes,
        "the file is reused"
    );
    let pt = p.decrypt(Some("k"), None, &ct, &ctx()).await.unwrap();
    assert_eq!(pt.as_slice(), b"hello");
}

async fn encrypt_fresh_key(p: &LocalProvider, name: &str) -> Vec<u8> {
    p.create_key(CreateKeyRequest::new(name, KeySpec::Aes256))
        .await
        .unwrap();
    p.encrypt(name, b"hello", &ctx()).await.unwrap().bytes
}

#[tokio::test]
async fn tick_rotates_due_keys_and_destroys_expired_ones() {
    let start = datetime!(2030-01-01 00:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let p = LocalBuilder::new()
        .with_path(&db)
        .with_root_key(root_key(3))
        .with_clock(clock.clone())
        .build()
        .await
        .unwrap();

    let mut req = CreateKeyRequest::new("rotating", KeySpec::Aes256);
    req.rotation = Some(RotationSchedule::every(7));
    let meta = p.create_key(req).await.unwrap();
    assert_eq!(
        meta.rotation.unwrap().next_rotation,
        Some(start + Duration::days(7))
    );
    p.create_key(CreateKeyRequest::new("mac", KeySpec::HmacSha256))
        .await
        .unwrap();
    p.set_rotation("mac", Some(RotationSchedule::every(10)))
        .await
        .unwrap();
    let old_ct = p.encrypt("rotating", b"old", &ctx()).await.unwrap();
    let old_mac = p.generate_mac("mac", None, b"m").await.unwrap();

    let early = p.tick(start + Duration::days(6)).await.unwrap();
    assert!(early.rotated.is_empty() && early.destroyed.is_empty());

    let at = start + Duration::days(7);
    let done = p.tick(at).await.unwrap();
    assert_eq!(done.rotated, vec![("rotating".to_owned(), "2".to_owned())]);
    let sched = p.get_rotation("rotating").await.unwrap().unwrap();
    assert_eq!(sched.next_rotation, Some(start + Duration::days(14)));
    // A second tick at the same time does nothing more.
    assert!(p.tick(at).await.unwrap().rotated.is_empty());

    // Far behind schedule: one rotation, and the next date jumps past `now` in whole periods.
    let late = start + Duration::days(30);
    let done = p.tick(late).await.unwrap();
    assert_eq!(done.rotated.len(), 2, "{done:?}");
    let sched = p.get_rotation("rotating").await.unwrap().unwrap();
    assert_eq!(sched.next_rotation, Some(start + Duration::days(35)));
    let sched = p.get_rotation("mac").await.unwrap().unwrap();
    assert_eq!(sched.next_rotation, Some(start + Duration::days(40)));

    let versions = p.list_versions("rotating").await.unwrap();
    assert_eq!(versions.len(), 3);
    assert!(versions[2].primary && !versions[0].primary);
    let pt = p.decrypt(None, None, &old_ct.bytes, &ctx()).await.unwrap();
    assert_eq!(pt.as_slice(), b"old");
    assert_eq!(
        p.encrypt("rotating", b"new", &ctx())
            .await
            .unwrap()
            .key_version,
        "3"
    );
    assert!(
        p.verify_mac("mac", None, b"m", &old_mac.bytes)
            .await
            .unwrap()
    );

    // Deletion: nothing happens before the date, everything after it.
    clock.set(late);
    let meta = p.schedule_deletion("rotating", 3).await.unwrap();
    let deletion_date = late + Duration::days(3);
    assert_eq!(meta.state, KeyState::PendingDeletion { deletion_date });
    assert!(
        p.tick(deletion_date - Duration::seconds(1))
            .await
            .unwrap()
            .destroyed
            .is_empty()
    );
    let done = p.tick(deletion_date).await.unwrap();
    assert_eq!(done.destroyed, vec!["rotating".to_owned()]);
    assert!(done.rotated.iter().all(|(k, _)| k != "rotating"));

    assert_eq!(
        p.describe_key("rotating").await.unwrap().state,
        KeyState::Destroyed
    );
    assert!(
        p.list_versions("rotating")
            .await
            .unwrap()
            .iter()
            .all(|v| v.state == VersionState::Destroyed)
    );
    for err in [
        p.encrypt("rotating", b"x", &ctx()).await.unwrap_err(),
        p.decrypt(None, None, &old_ct.bytes, &ctx())
            .await
            .unwrap_err(),
        p.rotate_key("rotating").await.unwrap_err(),
        p.enable_key("rotating").await.unwrap_err(),
        p.cancel_deletion("rotating").await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::InvalidState(_)), "{err:?}");
    }
    for v in 1..=3 {
        assert_eq!(
            raw_material(&db, "rotating", v).await,
            None,
            "version {v} wiped"
        );
    }
    assert!(raw_material(&db, "mac", 1).await.is_some());
}

#[tokio::test]
async fn material_at_rest_is_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let p = on_disk(&db, 4).await.unwrap();
    p.create_key(CreateKeyRequest::new("mac", KeySpec::HmacSha256))
        .await
        .unwrap();
    p.create_key(request("rsa", KeySpec::Rsa2048, Some(KeyUsage::Sign)))
        .await
        .unwrap();
    let msg = b"message to authenticate";
    let tag = p.generate_mac("mac", None, msg).await.unwrap().bytes;

    let raw = raw_material(&db, "mac", 1).await.unwrap();
    // No window of the stored column is the HMAC key.
    for start in 0..=raw.len().saturating_sub(32) {
        let candidate =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &raw[start..start + 32]);
        assert_ne!(
            aws_lc_rs::hmac::sign(&candidate, msg).as_ref(),
            tag.as_slice()
        );
    }
    let raw = raw_material(&db, "rsa", 1).await.unwrap();
    assert!(aws_lc_rs::rsa::KeyPair::from_pkcs8(&raw).is_err());
    assert!(aws_lc_rs::rsa::KeyPair::from_pkcs8(raw.get(1..).unwrap_or_default()).is_err());
}

#[tokio::test]
async fn the_database_never_holds_plaintexts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let p = on_disk(&db, 5).await.unwrap();
    p.create_key(CreateKeyRequest::new("aes", KeySpec::Aes256))
        .await
        .unwrap();
    let plaintext = b"KNOWN-PLAINTEXT-7f3a9c41e2b8d605-do-not-store";
    let ct = p.encrypt("aes", plaintext, &ctx()).await.unwrap();
    let data_key = p
        .generate_data_key("aes", DataKeySpec::Aes256, &ctx())
        .await
        .unwrap();
    let bytes = db_bytes(&db);
    assert!(!bytes.is_empty());
    assert!(!contains(&bytes, plaintext));
    assert!(!contains(&bytes, &data_key.plaintext));
    assert!(
        !contains(&bytes, &ct.bytes[ct.bytes.len() - 20..]),
        "ciphertexts are not stored either"
    );
    drop(p);
    let bytes = db_bytes(&db);
    assert!(!contains(&bytes, plaintext));
    assert!(!contains(&bytes, &data_key.plaintext));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_encrypts_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = Arc::new(on_disk(&dir.path().join("keys.db"), 6).await.unwrap());
    p.create_key(CreateKeyRequest::new("busy", KeySpec::Aes256))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..100u32)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move {
                let pt = i.to_be_bytes();
                let ct = p.encrypt("busy", &pt, &ctx()).await.unwrap();
                let back = p.decrypt(None, None, &ct.bytes, &ctx()).await.unwrap();
                assert_eq!(back.as_slice(), pt);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Writers too: rotations and state changes from many tasks at once.
    let writers: Vec<_> = (0..16u32)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    p.rotate_key("busy").await.map(|_| ())
                } else {
                    p.disable_key("busy").await?;
                    p.enable_key("busy").await.map(|_| ())
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().unwrap();
    }
    let versions = p.list_versions("busy").await.unwrap();
    let ids: Vec<_> = versions.iter().map(|v| v.id.clone()).collect();
    assert_eq!(ids, (1..=9).map(|v| v.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn in_memory_providers_are_separate_and_foreign_ciphertexts_fail() {
    let a = LocalProvider::builder().build().await.unwrap();
    let b = LocalProvider::builder()
        .with_name("other")
        .build()
        .await
        .unwrap();
    assert_eq!(b.info().name, "other");
    assert_eq!(b.info().uri_prefix, "local://other/");
    a.create_key(CreateKeyRequest::new("same", KeySpec::Aes256))
        .await
        .unwrap();
    assert!(matches!(
        b.describe_key("same").await,
        Err(Error::NotFound(_))
    ));
    let meta = b
        .create_key(CreateKeyRequest::new("same", KeySpec::Aes256))
        .await
        .unwrap();
    assert_eq!(meta.uri, "local://other/same");
    assert_eq!(meta.provider, "other");
    let ct = a.encrypt("same", b"for a only", &ctx()).await.unwrap();
    for key_id in [None, Some("same")] {
        let err = b
            .decrypt(key_id, None, &ct.bytes, &ctx())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::IntegrityFailure), "{err:?}");
    }
    let err = b
        .decrypt(Some("missing"), None, &ct.bytes, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn debug_and_logs_hold_no_secrets() {
    let logs = Arc::new(Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(capture::Capture(logs.clone()));
    // Other tests on other threads may have registered the provider's log call sites while
    // no subscriber wanted them; recompute their interest now that this one exists.
    tracing::callsite::rebuild_interest_cache();

    let secret_root = Zeroizing::new(b"ROOTKEY-0123456789abcdef-ROOTKEY".to_vec());
    let builder = LocalBuilder::new().with_root_key(secret_root.clone());
    assert!(!format!("{builder:?}").contains("ROOTKEY"));
    let p = builder.build().await.unwrap();
    p.create_key(CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    let plaintext = "PLAINTEXT-6c1d0e77-never-logged";
    let ct = p.encrypt("k", plaintext.as_bytes(), &ctx()).await.unwrap();
    let back = p.decrypt(Some("k"), None, &ct.bytes, &ctx()).await.unwrap();
    let dk = p
        .generate_data_key("k", DataKeySpec::Aes256, &ctx())
        .await
        .unwrap();
    let err = p
        .decrypt(None, None, &ct.bytes, &EncryptionContext::new())
        .await
        .unwrap_err();

    let debug = format!("{p:?} {back:?} {dk:?} {err:?} {err}");
    let logs = logs.lock().unwrap().clone();
    // Some event was captured, so the scan below reads real log lines. Not a particular one:
    // a call site that another test thread registers at the same moment can keep the
    // interest it computed before this thread's subscriber existed (tracing caches interest
    // per call site), so which of this test's events arrive is not deterministic.
    assert!(
        logs.contains("keygate_providers::local"),
        "logging was captured: {logs}"
    );
    for haystack in [&debug, &logs] {
        assert!(!haystack.contains(plaintext), "{haystack}");
        assert!(!haystack.contains("ROOTKEY"), "{haystack}");
        assert!(!haystack.contains(&format!("{:?}", dk.plaintext.as_slice())));
    }
}

/// A minimal tracing subscriber that appends every event's fields to a string.
mod capture {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    pub struct Capture(pub Arc<Mutex<String>>);

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut out = self.0.lock().unwrap();
            span.record(&mut Fields(&mut out));
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            values.record(&mut Fields(&mut self.0.lock().unwrap()));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut out = self.0.lock().unwrap();
            out.push('\n');
            out.push_str(event.metadata().target());
            event.record(&mut Fields(&mut out));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

// ---------------------------------------------------------------------------------------
// The conformance suite (keygate_conformance): one test per check on a fresh provider,
// and the whole suite at once on one shared provider, in memory and on disk.
// ---------------------------------------------------------------------------------------

/// An on-disk provider together with the temporary folder that holds its files.
struct OnDisk {
    provider: LocalProvider,
    _dir: tempfile::TempDir,
}

impl ProviderHandle for OnDisk {
    fn provider(&self) -> &dyn KeyProvider {
        &self.provider
    }
}

async fn fresh_on_disk() -> OnDisk {
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalBuilder::new()
        .with_path(dir.path().join("keys.db"))
        .with_root_key_file(dir.path().join("root.key"))
        .build()
        .await
        .unwrap();
    OnDisk {
        provider,
        _dir: dir,
    }
}

mod conformance_in_memory {
    keygate_conformance::conformance_tests!(async {
        keygate_providers::local::LocalProvider::builder()
            .build()
            .await
            .expect("in-memory local provider")
    });
}

mod conformance_on_disk {
    keygate_conformance::conformance_tests!(super::fresh_on_disk());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_run_all_in_memory() {
    let p = LocalProvider::builder().build().await.unwrap();
    keygate_conformance::run_all(&p).await.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_run_all_on_disk() {
    let disk = fresh_on_disk().await;
    keygate_conformance::run_all(disk.provider())
        .await
        .assert_passed();
}

#[test]
fn now_is_not_used_directly() {
    // The provider takes its time from the injected clock: a key created under a manual clock
    // carries the clock's time, not the wall clock's.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let at = datetime!(2031-06-01 12:00 UTC);
        let p = LocalBuilder::new()
            .with_clock(Arc::new(ManualClock::new(at)))
            .build()
            .await
            .unwrap();
        let meta = p
            .create_key(CreateKeyRequest::new("clocked", KeySpec::EcP256))
            .await
            .unwrap();
        assert_eq!(meta.created, at);
        let v = p.rotate_key("clocked").await.unwrap();
        assert_eq!(v.created, at);
        assert_ne!(meta.created, OffsetDateTime::now_utc());
    });
}

/// The probe `keygate status` runs reads the key store: it answers while the store is
/// whole and fails (naming the provider) once the store cannot be read.
#[tokio::test]
async fn probe_reads_the_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let provider = on_disk(&db, 7).await.unwrap();
    provider.probe().await.unwrap();
    let shared: keygate_core::DynProvider = Arc::new(provider);
    shared.probe().await.unwrap();

    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE local_meta")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let err = shared.probe().await.unwrap_err();
    assert!(err.to_string().contains("local"), "{err}");
}

/// A fresh schema of the test database `KEYGATE_TEST_PG_URL` names, or `None` (said on
/// stderr) when it is not set.
#[allow(clippy::print_stderr)]
fn pg_schema(test: &str) -> Option<(String, String)> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let Ok(url) = std::env::var("KEYGATE_TEST_PG_URL") else {
        eprintln!("SKIPPED {test}: KEYGATE_TEST_PG_URL is not set");
        return None;
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000;
    Some((url, format!("kgtest_lp_{}_{n}_{nanos}", std::process::id())))
}

async fn on_postgres(url: &str, schema: &str, key: u8) -> keygate_core::Result<LocalProvider> {
    LocalBuilder::new()
        .with_postgres(url, schema)
        .with_root_key(root_key(key))
        .build()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_run_all_on_postgres() {
    let Some((url, schema)) = pg_schema("conformance_run_all_on_postgres") else {
        return;
    };
    let p = on_postgres(&url, &schema, 7).await.unwrap();
    keygate_conformance::run_all(&p).await.assert_passed();
}

/// Two providers on one schema stand for two replicas: what one does, the other sees at
/// once; rotations through both number versions once each; another root key is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_postgres_share_keys_and_versions() {
    let Some((url, schema)) = pg_schema("replicas_on_postgres_share_keys") else {
        return;
    };
    let a = Arc::new(on_postgres(&url, &schema, 9).await.unwrap());
    let b = Arc::new(on_postgres(&url, &schema, 9).await.unwrap());
    a.create_key(request("shared", KeySpec::Aes256, None))
        .await
        .unwrap();
    let ct = a.encrypt("shared", b"hello", &ctx()).await.unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let p = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { p.rotate_key("shared").await.unwrap().id })
        })
        .collect();
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.unwrap().parse::<u32>().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4, 5, 6, 7]);
    let pt = b
        .decrypt(Some("shared"), None, &ct.bytes, &ctx())
        .await
        .unwrap();
    assert_eq!(&pt[..], b"hello");
    b.disable_key("shared").await.unwrap();
    let err = a.encrypt("shared", b"x", &ctx()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err}");
    let other = on_postgres(&url, &schema, 10).await.unwrap_err();
    assert!(matches!(other, Error::RootKeyMismatch), "{other}");
}
