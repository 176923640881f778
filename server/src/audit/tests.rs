#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::StreamExt as _;
use keygate_core::ErrorKind;
use time::macros::datetime;

use super::*;
use crate::store::GatewayStore;

/// The `i`th sample event (shared by the audit log's tests and the store's).
pub(crate) fn event(i: usize) -> NewAuditEvent {
    NewAuditEvent {
        time: datetime!(2026-11-23 18:00 UTC) + time::Duration::seconds(i as i64),
        request_id: format!("req-{i}"),
        principal: if i.is_multiple_of(2) { "alice" } else { "bob" }.to_owned(),
        source: "rest".to_owned(),
        action: if i.is_multiple_of(3) {
            "keys:create"
        } else {
            "crypto:encrypt"
        }
        .to_owned(),
        provider: Some("local".to_owned()),
        key: Some(format!("kg://local/k{}", i % 2)),
        key_version: Some("1".to_owned()),
        outcome: AuditOutcome::Success,
        error_kind: None,
        duration_us: i as u64,
        intent_seq: None,
    }
}

/// A log of `rows` sample events on a fresh in-memory store, and that store.
pub(crate) async fn log_with(rows: usize) -> (GatewayStore, AuditLog) {
    let store = GatewayStore::in_memory().await.unwrap();
    let log = AuditLog::open(Arc::new(store.clone()), &AuditConfig::default())
        .await
        .unwrap();
    for i in 1..=rows {
        log.append(event(i)).await.unwrap();
    }
    (store, log)
}

async fn next_of(stream: &mut BoxStream<'static, Result<AuditEvent>>) -> AuditEvent {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("follow delivered nothing within 5s")
        .expect("follow ended")
        .unwrap()
}

async fn nothing_more(stream: &mut BoxStream<'static, Result<AuditEvent>>) {
    let extra = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
    assert!(extra.is_err(), "unexpected extra item: {extra:?}");
}

#[tokio::test]
async fn empty_and_untouched_logs_verify() {
    let (_store, log) = log_with(0).await;
    let v = log.verify().await.unwrap();
    assert_eq!((v.rows, v.head, v.first_broken), (0, None, None));

    let (_store, log) = log_with(5).await;
    let last = log.append(event(6)).await.unwrap();
    assert_eq!(last.seq, 6);
    assert_eq!(
        last.chain_form(None),
        Some(keygate_core::audit::ChainForm::Unkeyed)
    );
    let v = log.verify().await.unwrap();
    assert_eq!(v.rows, 6);
    assert_eq!(v.head, Some(last.hash));
    assert_eq!(v.first_broken, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_distinct_seqs_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = GatewayStore::open(&dir.path().join("gateway.db"))
        .await
        .unwrap();
    let log = AuditLog::open(Arc::new(store), &AuditConfig::default())
        .await
        .unwrap();
    let tasks: Vec<_> = (1..=200)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(event(i)).await.unwrap() })
        })
        .collect();
    let mut acked = Vec::new();
    for task in tasks {
        acked.push(task.await.unwrap());
    }
    acked.sort_by_key(|e| e.seq);
    let seqs: Vec<u64> = acked.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    let v = log.verify().await.unwrap();
    assert_eq!((v.rows, v.first_broken), (200, None));
    // What was acknowledged is exactly what is stored.
    let mut stored = Vec::new();
    let mut q = AuditQuery::default();
    loop {
        let page = log.query(&q).await.unwrap();
        stored.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(stored, acked);
    let stats = log.stats();
    assert_eq!(stats.rows, 200);
    assert!(stats.batches >= 1 && stats.batches <= 200);
}

#[tokio::test]
async fn queued_events_share_one_transaction() {
    // On this single-threaded runtime every append below is queued before the writer runs.
    // 150 rows also span several multi-row INSERT statements in that one transaction.
    let (_store, log) = log_with(0).await;
    // Unconstrained: Tokio's cooperative budget would otherwise pause the sends part way.
    let appends = futures::future::join_all((1..=150).map(|i| log.append(event(i))));
    let all = tokio::task::unconstrained(appends).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(log.stats().batches, 1);
    assert_eq!(log.stats().rows, 150);
    assert_eq!(log.stats().average_batch(), 150.0);
    let v = log.verify().await.unwrap();
    assert_eq!((v.rows, v.first_broken), (150, None));

    let store = GatewayStore::in_memory().await.unwrap();
    let config = AuditConfig {
        batch_max: 8,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(Arc::new(store), &config).await.unwrap();
    let all = futures::future::join_all((1..=20).map(|i| log.append(event(i)))).await;
    let seqs: Vec<u64> = all.into_iter().map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "acknowledged in order");
    assert_eq!(log.stats().batches, 3, "8 + 8 + 4");
    assert_eq!(log.verify().await.unwrap().rows, 20);
}

#[tokio::test]
async fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    {
        let store = GatewayStore::open(&path).await.unwrap();
        let log = AuditLog::open(Arc::new(store), &AuditConfig::default())
            .await
            .unwrap();
        for i in 1..=3 {
            log.append(event(i)).await.unwrap();
        }
    }
    let store = GatewayStore::open(&path).await.unwrap();
    let log = AuditLog::open(Arc::new(store), &AuditConfig::default())
        .await
        .unwrap();
    assert_eq!(log.append(event(4)).await.unwrap().seq, 4);
    let v = log.verify().await.unwrap();
    assert_eq!((v.rows, v.first_broken), (4, None));
}

#[tokio::test]
async fn fails_closed_while_the_store_cannot_write() {
    let (store, log) = log_with(3).await;
    store.refuse_audit_inserts().await;
    let failed = futures::future::join_all((4..=8).map(|i| log.append(event(i)))).await;
    for r in failed {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "unavailable: audit store cannot write");
    }
    assert!(log.stats().failed_batches >= 1);
    store.allow_audit_inserts().await;
    // The failed batch did not advance the chain.
    assert_eq!(log.append(event(9)).await.unwrap().seq, 4);
    let v = log.verify().await.unwrap();
    assert_eq!((v.rows, v.first_broken), (4, None));
}

#[tokio::test]
async fn a_closed_store_fails_closed() {
    let (store, log) = log_with(1).await;
    store.close().await;
    let err = log.append(event(2)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        log.query(&AuditQuery::default()).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(
        log.verify().await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}

#[tokio::test]
async fn unstorable_events_are_refused_alone() {
    let (_store, log) = log_with(0).await;
    let too_long = NewAuditEvent {
        duration_us: u64::MAX,
        ..event(1)
    };
    let too_old = NewAuditEvent {
        time: datetime!(-0001-01-01 0:00 UTC),
        ..event(1)
    };
    let (a, b, c) = tokio::join!(
        log.append(too_long),
        log.append(too_old),
        log.append(event(1))
    );
    assert_eq!(a.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(b.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(c.unwrap().seq, 1);
}

#[tokio::test]
async fn times_are_stored_in_utc_with_nanoseconds() {
    let (_store, log) = log_with(0).await;
    let t = datetime!(2026-11-23 20:00:00.000000001 +02:00);
    let acked = log
        .append(NewAuditEvent {
            time: t,
            ..event(1)
        })
        .await
        .unwrap();
    assert_eq!(acked.time, t);
    assert_eq!(acked.time.offset(), time::UtcOffset::UTC);
    let stored = log.query(&AuditQuery::default()).await.unwrap().items;
    assert_eq!(stored, vec![acked]);
}

#[tokio::test]
async fn query_filters_and_pages() {
    let (_store, log) = log_with(12).await;
    let run = |q: AuditQuery| {
        let log = log.clone();
        async move {
            let page = log.query(&q).await.unwrap();
            let seqs: Vec<u64> = page.items.iter().map(|e| e.seq).collect();
            (seqs, page.next_cursor)
        }
    };
    let all = AuditQuery::default();
    assert_eq!(run(all.clone()).await, ((1..=12).collect(), None));
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery::default();
        f(&mut q);
        q
    };
    assert_eq!(
        run(q(|q| q.limit = Some(5))).await,
        ((1..=5).collect(), Some("5".to_owned()))
    );
    assert_eq!(
        run(q(|q| {
            q.limit = Some(5);
            q.after = Some(10);
        }))
        .await,
        (vec![11, 12], None)
    );
    // Exactly a page left: no cursor, since no more rows exist.
    assert_eq!(
        run(q(|q| {
            q.limit = Some(2);
            q.after = Some(10);
        }))
        .await
        .1,
        None
    );
    assert_eq!(
        run(q(|q| q.action = Some("keys:*".into()))).await.0,
        vec![3, 6, 9, 12]
    );
    assert_eq!(
        run(q(|q| q.action = Some("KEYS:*".into()))).await.0,
        Vec::<u64>::new(),
        "prefix match is case-sensitive"
    );
    assert_eq!(
        run(q(|q| q.action = Some("crypto:encrypt".into()))).await.0,
        vec![1, 2, 4, 5, 7, 8, 10, 11]
    );
    assert_eq!(
        run(q(|q| q.principal = Some("alice".into()))).await.0,
        vec![2, 4, 6, 8, 10, 12]
    );
    assert_eq!(
        run(q(|q| q.key = Some("kg://local/k1".into()))).await.0,
        vec![1, 3, 5, 7, 9, 11]
    );
    assert_eq!(
        run(q(|q| {
            q.since = Some(datetime!(2026-11-23 18:00:03 UTC));
            q.until = Some(datetime!(2026-11-23 18:00:06 UTC));
        }))
        .await
        .0,
        vec![3, 4, 5]
    );
    assert_eq!(
        run(q(|q| q.outcome = Some(AuditOutcome::Denied))).await.0,
        Vec::<u64>::new()
    );
    // The SQL filters agree with `AuditQuery::matches`.
    let rows = log.query(&all).await.unwrap().items;
    let filter = q(|q| {
        q.action = Some("crypto:*".into());
        q.principal = Some("bob".into());
        q.after = Some(2);
    });
    let expected: Vec<u64> = rows
        .iter()
        .filter(|e| filter.matches(e))
        .map(|e| e.seq)
        .collect();
    assert_eq!(run(filter).await.0, expected);
    assert_eq!(
        log.query(&q(|q| q.limit = Some(0)))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn follow_delivers_backlog_then_live_without_duplicates() {
    let (_store, log) = log_with(3).await;
    let mut all = log.follow(AuditQuery::default());
    let mut from_two = log.follow(AuditQuery {
        after: Some(2),
        ..AuditQuery::default()
    });
    let mut encrypt_only = log.follow(AuditQuery {
        action: Some("crypto:*".into()),
        ..AuditQuery::default()
    });
    // Written after subscribing but before the first poll: in both the store and the feed.
    log.append(event(4)).await.unwrap();
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            for i in 5..=40 {
                log.append(event(i)).await.unwrap();
            }
        })
    };
    for seq in 1..=40 {
        assert_eq!(next_of(&mut all).await.seq, seq);
    }
    for seq in 3..=40 {
        assert_eq!(next_of(&mut from_two).await.seq, seq);
    }
    for seq in (1..=40u64).filter(|s| !s.is_multiple_of(3)) {
        assert_eq!(next_of(&mut encrypt_only).await.seq, seq);
    }
    writer.await.unwrap();
    nothing_more(&mut all).await;
    nothing_more(&mut encrypt_only).await;
}

#[tokio::test]
async fn follow_rereads_the_store_after_lagging() {
    let store = GatewayStore::in_memory().await.unwrap();
    let config = AuditConfig {
        queue: 4,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(Arc::new(store), &config).await.unwrap();
    log.append(event(1)).await.unwrap();
    let mut stream = log.follow(AuditQuery::default());
    assert_eq!(next_of(&mut stream).await.seq, 1);
    // Far more rows than the live feed holds while the reader is not reading.
    for i in 2..=21 {
        log.append(event(i)).await.unwrap();
    }
    for seq in 2..=21 {
        assert_eq!(next_of(&mut stream).await.seq, seq);
    }
    log.append(event(22)).await.unwrap();
    assert_eq!(next_of(&mut stream).await.seq, 22);
    nothing_more(&mut stream).await;
}

#[test]
fn config_defaults_and_bounds() {
    let config: AuditConfig = toml::from_str("").unwrap();
    assert_eq!(config, AuditConfig::default());
    assert_eq!((config.batch_max, config.queue), (512, 8192));
    let config: AuditConfig = toml::from_str("batch_max = 64").unwrap();
    assert_eq!((config.batch_max, config.queue), (64, 8192));
    assert!(toml::from_str::<AuditConfig>("batch = 64").is_err());
    for bad in [
        AuditConfig {
            batch_max: 0,
            ..AuditConfig::default()
        },
        AuditConfig {
            queue: 0,
            ..AuditConfig::default()
        },
        AuditConfig {
            queue: MAX_QUEUE + 1,
            ..AuditConfig::default()
        },
    ] {
        assert_eq!(
            bad.validate().unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}

#[test]
fn the_checkpoint_copy_must_be_an_absolute_file_in_an_existing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("audit.checkpoint");
    let config: AuditConfig = toml::from_str(&format!(
        "checkpoint_copy = {:?}",
        good.display().to_string()
    ))
    .unwrap();
    assert!(config.problems().is_empty());
    assert_eq!(
        config.checkpoint_paths(Path::new("/home/k")),
        vec![Path::new("/home/k/audit.checkpoint").to_owned(), good]
    );
    for bad in [
        "relative/audit.checkpoint".into(),
        dir.path().to_owned(),
        dir.path().join("missing/audit.checkpoint"),
    ] {
        let config = AuditConfig {
            checkpoint_copy: Some(bad),
            ..AuditConfig::default()
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "audit.checkpoint_copy");
    }
}

#[tokio::test]
async fn open_refuses_a_bad_config() {
    let store = GatewayStore::in_memory().await.unwrap();
    let config = AuditConfig {
        queue: 0,
        ..AuditConfig::default()
    };
    assert_eq!(
        AuditLog::open(Arc::new(store), &config)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn debug_shows_state_not_rows() {
    let (_store, log) = log_with(1).await;
    let debug = format!("{log:?}");
    assert!(debug.contains("writer_running: true"), "{debug}");
    assert!(debug.contains("rows: 1"), "{debug}");
    assert!(!debug.contains("req-1"), "{debug}");
}

#[test]
fn a_stopped_writer_fails_closed() {
    // The writer lives on the runtime that opened the log; shutting that runtime down
    // drops it, as a panic in the writer would.
    let opened = tokio::runtime::Runtime::new().unwrap();
    let (_store, log) = opened.block_on(log_with(1));
    drop(opened);
    let other = tokio::runtime::Runtime::new().unwrap();
    let err = other.block_on(log.append(event(2))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(format!("{log:?}").contains("writer_running: false"));
}

/// An object writer for the tests of the parts that build gateway objects (tokens, the
/// access policy): each write commits in `log`'s store with an outcome row shaped like
/// [`event`], as the service commits them with the call's row.
pub(crate) struct LogWriter(pub(crate) AuditLog);

impl LogWriter {
    /// A writer over a new log of `store`.
    pub(crate) async fn on(store: &GatewayStore) -> Self {
        Self(
            AuditLog::open(Arc::new(store.clone()), &AuditConfig::default())
                .await
                .unwrap(),
        )
    }
}

#[async_trait::async_trait]
impl crate::store::ObjectWriter for LogWriter {
    async fn apply(
        &mut self,
        write: crate::store::ObjectWrite,
    ) -> Result<crate::store::ObjectWritten> {
        self.0.append_with_write(event(0), write).await?
    }
}
