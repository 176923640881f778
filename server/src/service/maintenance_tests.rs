//! Maintenance audits before acting: each due rotation or destruction (of a key or of one
//! version) writes its intent row, acts, then writes its outcome row; with an audit log that cannot write nothing is rotated
//! or destroyed; with nothing due nothing is written.

use keygate_core::api::Gateway;
use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery};
use keygate_core::{CreateKeyRequest, KeySpec, KeyState, RotationSchedule, VersionState};
use time::{Duration, OffsetDateTime};

use super::Service;
use super::tests::{kl, start_on};
use crate::cache::CacheConfig;
use crate::store::GatewayStore;

/// Every audit row, oldest first.
async fn rows(service: &Service) -> Vec<AuditEvent> {
    let mut rows = service
        .audit()
        .query(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    rows.sort_by_key(|r| r.seq);
    rows
}

/// The scheduler's rows: (action, outcome, key version, intent seq) and the row's seq.
async fn scheduler_rows(
    service: &Service,
) -> Vec<(u64, String, AuditOutcome, Option<String>, Option<u64>)> {
    rows(service)
        .await
        .into_iter()
        .filter(|r| r.source == "scheduler")
        .map(|r| (r.seq, r.action, r.outcome, r.key_version, r.intent_seq))
        .collect()
}

fn rotating(name: &str) -> CreateKeyRequest {
    let mut req = CreateKeyRequest::new(name, KeySpec::Aes256);
    req.rotation = Some(RotationSchedule::every(7));
    req
}

#[tokio::test]
async fn a_due_rotation_is_not_run_while_the_audit_log_cannot_write() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store.clone(), CacheConfig::default()).await;
    let admin = service.local_admin();
    admin.create_key(None, rotating("r")).await.unwrap();
    let due = OffsetDateTime::now_utc() + Duration::days(8);

    store.refuse_audit_inserts().await;
    service.run_maintenance(due).await;
    store.allow_audit_inserts().await;
    let versions = admin.list_versions(&kl("r")).await.unwrap().value;
    assert_eq!(
        versions.len(),
        1,
        "rotated without an intent row: {versions:?}"
    );
    assert!(scheduler_rows(&service).await.is_empty());

    // The log writes again: the next pass rotates, between its intent and outcome rows.
    service.run_maintenance(due).await;
    let versions = admin.list_versions(&kl("r")).await.unwrap().value;
    assert_eq!(versions.len(), 2);
    let rows = scheduler_rows(&service).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (intent, outcome) = (&rows[0], &rows[1]);
    assert_eq!(
        (intent.1.as_str(), intent.2, intent.4),
        ("keys:rotate", AuditOutcome::Unknown, None)
    );
    assert_eq!(
        (outcome.1.as_str(), outcome.2, outcome.4),
        ("keys:rotate", AuditOutcome::Success, Some(intent.0))
    );
    assert_eq!(outcome.3.as_deref(), Some(versions[1].id.as_str()));
}

#[tokio::test]
async fn a_due_destruction_writes_its_intent_then_its_outcome() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("d", KeySpec::Aes256))
        .await
        .unwrap();
    admin.schedule_deletion(&kl("d"), 7).await.unwrap();

    // Before the deletion date nothing is due and nothing is written.
    service
        .run_maintenance(OffsetDateTime::now_utc() + Duration::days(6))
        .await;
    assert!(scheduler_rows(&service).await.is_empty());

    service
        .run_maintenance(OffsetDateTime::now_utc() + Duration::days(8))
        .await;
    let all = rows(&service).await;
    let mine: Vec<&AuditEvent> = all.iter().filter(|r| r.source == "scheduler").collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!(
        (mine[0].action.as_str(), mine[0].outcome),
        ("keys:delete", AuditOutcome::Unknown)
    );
    assert_eq!(
        (mine[1].action.as_str(), mine[1].outcome, mine[1].intent_seq),
        ("keys:delete", AuditOutcome::Success, Some(mine[0].seq))
    );
    for r in &mine {
        assert_eq!(r.principal, "keygate");
        assert_eq!(r.provider.as_deref(), Some("local"));
        assert!(r.key.as_deref().is_some_and(|k| k.ends_with("d")), "{r:?}");
    }
    assert_eq!(mine[0].request_id, mine[1].request_id);
    let state = admin.describe_key(&kl("d")).await.unwrap().state;
    assert_eq!(state, KeyState::Destroyed);

    // Done once: a later pass finds nothing due and writes nothing.
    service
        .run_maintenance(OffsetDateTime::now_utc() + Duration::days(9))
        .await;
    assert_eq!(scheduler_rows(&service).await.len(), 2);
}

#[tokio::test]
async fn a_due_version_destruction_names_the_version_in_both_rows() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("v", KeySpec::Aes256))
        .await
        .unwrap();
    admin.rotate_key(&kl("v")).await.unwrap();
    let doomed = admin.destroy_version(&kl("v"), "1").await.unwrap().value;
    let at = doomed.destroy_time.unwrap();
    let before = scheduler_rows(&service).await.len();

    service.run_maintenance(at - Duration::seconds(1)).await;
    assert_eq!(scheduler_rows(&service).await.len(), before, "not due yet");

    service.run_maintenance(at).await;
    let rows = scheduler_rows(&service).await;
    let mine = &rows[before..];
    assert_eq!(mine.len(), 2, "{mine:?}");
    let (intent, outcome) = (&mine[0], &mine[1]);
    assert_eq!(
        (intent.1.as_str(), intent.2, intent.3.as_deref(), intent.4),
        ("keys:delete", AuditOutcome::Unknown, Some("1"), None)
    );
    assert_eq!(
        (
            outcome.1.as_str(),
            outcome.2,
            outcome.3.as_deref(),
            outcome.4
        ),
        (
            "keys:delete",
            AuditOutcome::Success,
            Some("1"),
            Some(intent.0)
        )
    );
    let versions = admin.list_versions(&kl("v")).await.unwrap().value;
    assert_eq!(versions[0].state, VersionState::Destroyed);
    assert_eq!(versions[1].state, VersionState::Enabled);
    let key = admin.describe_key(&kl("v")).await.unwrap().state;
    assert_eq!(key, KeyState::Enabled, "the key stays");

    service.run_maintenance(at + Duration::days(1)).await;
    assert_eq!(
        scheduler_rows(&service).await.len(),
        before + 2,
        "done once"
    );
}

#[tokio::test]
async fn nothing_due_writes_nothing() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let admin = service.local_admin();
    admin.create_key(None, rotating("later")).await.unwrap();
    admin
        .create_key(None, CreateKeyRequest::new("plain", KeySpec::Aes256))
        .await
        .unwrap();
    let before = rows(&service).await.len();
    for _ in 0..3 {
        service.run_maintenance(OffsetDateTime::now_utc()).await;
    }
    assert_eq!(rows(&service).await.len(), before);
    assert_eq!(
        admin.list_versions(&kl("later")).await.unwrap().value.len(),
        1
    );
}

/// `keygate serve`'s timer pass runs only while this process leads the scheduler; on
/// SQLite it leads alone once its leadership runs.
#[tokio::test]
async fn the_timer_pass_runs_only_while_this_process_leads() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store.clone(), CacheConfig::default()).await;
    let admin = service.local_admin();
    admin.create_key(None, rotating("led")).await.unwrap();
    let due = OffsetDateTime::now_utc() + Duration::days(8);

    // Not started: not leading, nothing rotated, nothing written.
    assert!(!service.leadership().leads());
    service.run_led_maintenance(due).await;
    assert_eq!(
        admin.list_versions(&kl("led")).await.unwrap().value.len(),
        1
    );
    assert!(scheduler_rows(&service).await.is_empty());

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (leadership, shared) = (service.leadership().clone(), store.clone());
    let task = tokio::spawn(async move { leadership.run(&shared, stopped).await });
    while !service.leadership().leads() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    service.run_led_maintenance(due).await;
    assert_eq!(
        admin.list_versions(&kl("led")).await.unwrap().value.len(),
        2
    );
    stop.send_replace(true);
    task.await.unwrap();
}
