//! The keyed chain, the tree and checkpoints against a log tampered with in the database:
//! each kind of tampering is reported with the first bad row, and a published checkpoint
//! catches what the log alone cannot (rows cut off the end, a log rewritten as if unkeyed).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use keygate_core::ErrorKind;
use keygate_core::audit::checkpoint::Checkpoint;
use keygate_core::audit::merkle;
use keygate_core::audit::{AuditKeys, ChainForm, GENESIS_HASH};

use crate::audit::tests::event;
use crate::audit::{AuditConfig, AuditLog, AuditQuery};
use crate::store::GatewayStore;

const ROOT: [u8; 32] = [42u8; 32];

fn keys() -> Arc<AuditKeys> {
    Arc::new(AuditKeys::from_root_key(&ROOT).unwrap())
}

async fn keyed_log(rows: usize) -> (GatewayStore, AuditLog) {
    let store = GatewayStore::in_memory().await.unwrap();
    let log = AuditLog::open_keyed(
        Arc::new(store.clone()),
        &AuditConfig::default(),
        Some(keys()),
    )
    .await
    .unwrap();
    for i in 1..=rows {
        log.append(event(i)).await.unwrap();
    }
    (store, log)
}

/// Rewrites rows `from..` in place with `principal = 'mallory'`, each re-hashed with the
/// unkeyed hash (what a database writer without the root key can compute) and re-linked.
async fn rewrite_unkeyed(store: &GatewayStore, log: &AuditLog, from: u64) {
    let rows = log.query(&AuditQuery::default()).await.unwrap().items;
    let mut prev = rows[usize::try_from(from).unwrap() - 2].hash.clone();
    for row in rows.into_iter().filter(|r| r.seq >= from) {
        let mut e = row.event();
        e.principal = "mallory".into();
        let forged = e.into_chained(row.seq, prev.clone(), None);
        store
            .execute(&format!(
                "UPDATE audit_events SET principal = 'mallory', prev_hash = '{}', hash = '{}' \
                 WHERE seq = {}",
                forged.prev_hash, forged.hash, forged.seq
            ))
            .await;
        prev = forged.hash;
    }
}

#[tokio::test]
async fn rows_are_keyed_and_a_suffix_rehashed_without_the_key_is_named() {
    let (store, log) = keyed_log(6).await;
    let rows = log.query(&AuditQuery::default()).await.unwrap().items;
    let k = keys();
    assert!(
        rows.iter()
            .all(|r| r.chain_form(Some(&k.chain)) == Some(ChainForm::Keyed))
    );
    let v = log.verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
    assert_eq!(v.unkeyed_rows, 0);
    let leaves: Vec<_> = rows.iter().map(|r| r.leaf_hash()).collect();
    assert_eq!(
        v.root.as_deref(),
        Some(keygate_core::audit::hex(&merkle::root(&leaves)).as_str())
    );

    rewrite_unkeyed(&store, &log, 4).await;
    let v = log.verify().await.unwrap();
    let broken = v.first_broken.unwrap();
    assert_eq!(broken.seq, 4, "{}", broken.reason);
    assert!(
        broken.reason.contains("without the chain key"),
        "{}",
        broken.reason
    );
    assert_eq!(v.rows, 3);
}

#[tokio::test]
async fn a_forged_row_appended_with_a_valid_unkeyed_hash_is_named() {
    let (store, log) = keyed_log(3).await;
    let head = log.query(&AuditQuery::default()).await.unwrap().items[2].clone();
    let forged = event(9).into_chained(4, head.hash.clone(), None);
    store
        .execute(&format!(
            "INSERT INTO audit_events SELECT 4, time, 'forged', principal, source, action, \
             provider, key_uri, key_version, outcome, error_kind, duration_us, '{}', '{}', \
             intent_seq FROM audit_events WHERE seq = 3",
            forged.prev_hash, forged.hash
        ))
        .await;
    assert_eq!(log.verify().await.unwrap().first_broken.unwrap().seq, 4);
}

#[tokio::test]
async fn an_older_unkeyed_log_keeps_verifying_and_continues_keyed() {
    let store = GatewayStore::in_memory().await.unwrap();
    let old = AuditLog::open(Arc::new(store.clone()), &AuditConfig::default())
        .await
        .unwrap();
    for i in 1..=3 {
        old.append(event(i)).await.unwrap();
    }
    drop(old);
    let log = AuditLog::open_keyed(
        Arc::new(store.clone()),
        &AuditConfig::default(),
        Some(keys()),
    )
    .await
    .unwrap();
    for i in 4..=5 {
        log.append(event(i)).await.unwrap();
    }
    let v = log.verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
    assert_eq!((v.rows, v.unkeyed_rows), (5, 3));
    log.checkpoint().await.unwrap();
    // Rewriting the keyed rows back into the unkeyed form is named at the first of them.
    rewrite_unkeyed(&store, &log, 5).await;
    assert_eq!(log.verify().await.unwrap().first_broken.unwrap().seq, 5);
}

#[tokio::test]
async fn proofs_verify_against_signed_checkpoints() {
    let (_store, log) = keyed_log(11).await;
    let verifier = log.public_key().unwrap();
    let cp = log.checkpoint().await.unwrap();
    assert_eq!(cp.size, 11);
    assert_eq!(cp.public_key, verifier.to_string());
    let opened = verifier.open_checkpoint(&cp.note).unwrap();
    for seq in [1, 6, 11] {
        let p = log.inclusion_proof(seq, None).await.unwrap();
        assert_eq!(p.row.seq, seq);
        let path: Vec<_> = p
            .proof
            .iter()
            .map(|h| merkle::parse_hex(h).unwrap())
            .collect();
        let at = verifier.open_checkpoint(&p.checkpoint.note).unwrap();
        assert_eq!(at, opened);
        merkle::verify_inclusion(seq - 1, at.size, &p.row.leaf_hash(), &path, &at.root).unwrap();
    }
    // Against an older size.
    let p = log.inclusion_proof(3, Some(5)).await.unwrap();
    assert_eq!(p.checkpoint.size, 5);
    log.inclusion_proof(6, Some(5)).await.unwrap_err();
    log.inclusion_proof(12, None).await.unwrap_err();
    log.inclusion_proof(0, None).await.unwrap_err();
    log.inclusion_proof(1, Some(12)).await.unwrap_err();

    let old = log.inclusion_proof(1, Some(4)).await.unwrap().checkpoint;
    let old = verifier.open_checkpoint(&old.note).unwrap();
    let c = log.consistency_proof(4, None).await.unwrap();
    let path: Vec<_> = c
        .proof
        .iter()
        .map(|h| merkle::parse_hex(h).unwrap())
        .collect();
    let new = verifier.open_checkpoint(&c.checkpoint.note).unwrap();
    merkle::verify_consistency(4, new.size, &path, &old.root, &new.root).unwrap();
    log.consistency_proof(12, None).await.unwrap_err();
}

#[tokio::test]
async fn a_broken_log_gets_no_checkpoint_and_no_proof() {
    let (store, log) = keyed_log(4).await;
    store
        .execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 2")
        .await;
    let e = log.checkpoint().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert!(e.to_string().contains("seq 2"), "{e}");
    log.inclusion_proof(1, None).await.unwrap_err();
}

#[tokio::test]
async fn checked_against_an_older_checkpoint_every_tampering_is_named() {
    // (tampering, first bad row)
    let cases: [(&str, u64); 5] = [
        // Rows cut off the end: the log alone verifies, the checkpoint does not.
        ("DELETE FROM audit_events WHERE seq > 5", 6),
        ("DELETE FROM audit_events WHERE seq = 4", 5),
        (
            "UPDATE audit_events SET principal = 'mallory' WHERE seq = 3",
            3,
        ),
        ("UPDATE audit_events SET seq = -1 WHERE seq = 2", 0),
        (
            "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 7",
            107,
        ),
    ];
    for (tamper, seq) in cases {
        let (store, log) = keyed_log(8).await;
        let note = log.checkpoint().await.unwrap().note;
        let v = log.verify_against(&note).await.unwrap();
        assert!(v.first_broken.is_none() && v.checkpoint.unwrap().consistent);
        store.execute(tamper).await;
        let v = log.verify_against(&note).await.unwrap();
        let broken = v
            .first_broken
            .unwrap_or_else(|| panic!("{tamper}: not detected"));
        assert_eq!(broken.seq, seq, "{tamper}: {}", broken.reason);
        assert!(!v.checkpoint.unwrap().consistent, "{tamper}");
    }
}

#[tokio::test]
async fn a_log_rewritten_whole_is_caught_by_the_checkpoint() {
    // Someone without the root key rewrites every row in the unkeyed form of older logs:
    // the chain alone cannot tell it from an old log; the checkpoint can.
    let (store, log) = keyed_log(4).await;
    let note = log.checkpoint().await.unwrap().note;
    let rows = log.query(&AuditQuery::default()).await.unwrap().items;
    let mut prev = GENESIS_HASH.to_owned();
    for row in rows {
        let mut e = row.event();
        e.principal = "mallory".into();
        let forged = e.into_chained(row.seq, prev.clone(), None);
        store
            .execute(&format!(
                "UPDATE audit_events SET principal = 'mallory', prev_hash = '{}', hash = '{}' \
                 WHERE seq = {}",
                forged.prev_hash, forged.hash, forged.seq
            ))
            .await;
        prev = forged.hash;
    }
    assert!(log.verify().await.unwrap().first_broken.is_none());
    let v = log.verify_against(&note).await.unwrap();
    assert_eq!(v.first_broken.unwrap().seq, 4);
    // A checkpoint of another key is refused outright.
    let other = AuditKeys::from_root_key(&[1u8; 32]).unwrap();
    let foreign = other
        .signer
        .sign_checkpoint(&Checkpoint {
            origin: other.signer.name().to_owned(),
            size: 1,
            root: [0; 32],
        })
        .unwrap();
    assert_eq!(
        log.verify_against(&foreign).await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn publishing_writes_checkpoints_and_refuses_a_log_that_lost_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gateway.db");
    let file = dir.path().join("audit.checkpoint");
    let copy = dir.path().join("copy.checkpoint");
    let open = || async {
        let store = GatewayStore::open(&db).await.unwrap();
        let log = AuditLog::open_keyed(
            Arc::new(store.clone()),
            &AuditConfig::default(),
            Some(keys()),
        )
        .await
        .unwrap();
        (store, log)
    };
    let (store, log) = open().await;
    for i in 1..=3 {
        log.append(event(i)).await.unwrap();
    }
    let publisher = log
        .start_publishing(vec![file.clone(), copy.clone()], Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(publisher.first.size, 3);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for i in 4..=6 {
        log.append(event(i)).await.unwrap();
    }
    let verifier = log.public_key().unwrap();
    let mut size = 0;
    for _ in 0..100 {
        let note = std::fs::read_to_string(&copy).unwrap();
        size = verifier.open_checkpoint(&note).unwrap().size;
        if size == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(size, 6);
    drop(publisher);

    // A restart on an intact log publishes again.
    drop(log);
    let (_, log) = open().await;
    let again = log
        .start_publishing(vec![file.clone()], Duration::from_secs(1))
        .await
        .unwrap();
    drop(again);
    // Rows cut off the end (with the home's file deleted too, the copy still knows).
    store
        .execute("DELETE FROM audit_events WHERE seq > 4")
        .await;
    std::fs::remove_file(&file).unwrap();
    let e = log
        .start_publishing(vec![file.clone(), copy.clone()], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert!(e.to_string().contains("first missing row 5"), "{e}");
    // An edited row is named even without a checkpoint.
    store
        .execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 2")
        .await;
    let e = log
        .start_publishing(vec![dir.path().join("none")], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("seq 2"), "{e}");
}
