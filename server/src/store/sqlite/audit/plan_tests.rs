//! Query plans of the audit reads: for every filter combination the query builder can produce
//! (the CLI's `audit tail|export` flags, `GET /v1/audit`, the console's audit screen all end in
//! [`AuditQuery`]), SQLite's `EXPLAIN QUERY PLAN` must not read the whole table, and a filter
//! on a column must be served by an index on it.

#![allow(clippy::unwrap_used)]

use keygate_core::audit::{AuditOutcome, AuditQuery};
use sqlx::{QueryBuilder, Row, Sqlite};
use time::macros::datetime;

use super::{SqliteStore, filtered, prefix_end};

/// The plan's detail lines for `sql`.
async fn plan(store: &SqliteStore, mut sql: QueryBuilder<'static, Sqlite>) -> Vec<String> {
    let rows = sql.build().fetch_all(&store.pool).await.unwrap();
    rows.iter()
        .map(|row| row.try_get::<String, _>("detail").unwrap())
        .collect()
}

/// Whether a plan line reads a table from end to end (with or without an index: a
/// `SCAN ... USING INDEX` visits every row too). Every table here is `audit_events`, under its
/// name or an alias.
fn full_scan(line: &str) -> bool {
    line.starts_with("SCAN ")
}

/// Every query the builder can produce: each filter absent or present (the action as a name,
/// a prefix or `*`, the time window open, from, to or both), with and without a cursor.
fn every_query() -> Vec<AuditQuery> {
    let mut all = Vec::new();
    for key in [None, Some("kg://local/k")] {
        for principal in [None, Some("alice")] {
            for action in [None, Some("crypto:encrypt"), Some("crypto:*"), Some("*")] {
                for outcome in [None, Some(AuditOutcome::Failure)] {
                    for (since, until) in [
                        (None, None),
                        (Some(datetime!(2026-01-01 0:00 UTC)), None),
                        (None, Some(datetime!(2026-02-01 0:00 UTC))),
                        (
                            Some(datetime!(2026-01-01 0:00 UTC)),
                            Some(datetime!(2026-02-01 0:00 UTC)),
                        ),
                    ] {
                        for after in [None, Some(1000)] {
                            all.push(AuditQuery {
                                since,
                                until,
                                key: key.map(str::to_owned),
                                principal: principal.map(str::to_owned),
                                action: action.map(str::to_owned),
                                outcome,
                                after,
                                limit: None,
                            });
                        }
                    }
                }
            }
        }
    }
    all
}

/// Whether `q` filters on a column other than `seq` and time (which the `seq` cursor, the
/// primary key, may serve as well as the time index: SQLite picks).
fn filters_a_column(q: &AuditQuery) -> bool {
    q.key.is_some()
        || q.principal.is_some()
        || q.outcome.is_some()
        || q.action.as_deref().is_some_and(|a| a != "*")
}

#[tokio::test]
async fn no_filter_combination_reads_the_whole_table() {
    let store = SqliteStore::in_memory().await.unwrap();
    let queries = every_query();
    assert_eq!(queries.len(), 2 * 2 * 4 * 2 * 4 * 2);
    for q in &queries {
        let lines = plan(
            &store,
            filtered("EXPLAIN QUERY PLAN SELECT", q, 101).unwrap(),
        )
        .await;
        assert!(!lines.is_empty(), "no plan for {q:?}");
        assert!(
            !lines.iter().any(|l| full_scan(l)),
            "full scan for {q:?}: {lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("SEARCH audit_events")),
            "no search of the table for {q:?}: {lines:?}"
        );
        if filters_a_column(q) {
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains("USING INDEX audit_events_by_")
                        || l.contains("USING COVERING INDEX audit_events_by_")),
                "a column filter without its index for {q:?}: {lines:?}"
            );
        }
    }
}

/// The combination the issue measured: one key and a principal with many rows goes straight
/// to that key's rows of that principal, in `seq` order (no sort).
#[tokio::test]
async fn one_key_and_one_principal_use_their_composite_index() {
    let store = SqliteStore::in_memory().await.unwrap();
    let q = AuditQuery {
        key: Some("kg://local/k".into()),
        principal: Some("alice".into()),
        ..AuditQuery::default()
    };
    let lines = plan(
        &store,
        filtered("EXPLAIN QUERY PLAN SELECT", &q, 101).unwrap(),
    )
    .await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INDEX audit_events_by_key_principal")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("TEMP B-TREE")),
        "{lines:?}"
    );
}

/// The other reads of the table: the cost view's counts and the unresolved intents.
#[tokio::test]
async fn the_counting_reads_search_an_index() {
    let store = SqliteStore::in_memory().await.unwrap();
    for sql in [
        "EXPLAIN QUERY PLAN SELECT provider, key_uri, action, COUNT(*) FROM audit_events \
         WHERE time >= '2026-01-01' AND outcome = 'success' GROUP BY provider, key_uri, action",
        "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM audit_events AS i WHERE i.outcome = 'unknown' \
         AND NOT EXISTS (SELECT 1 FROM audit_events AS o WHERE o.intent_seq = i.seq)",
    ] {
        let lines = plan(&store, QueryBuilder::new(sql)).await;
        assert!(!lines.iter().any(|l| full_scan(l)), "{sql}: {lines:?}");
    }
}

#[test]
fn prefix_ends_bound_exactly_the_texts_with_the_prefix() {
    assert_eq!(prefix_end("crypto:").as_deref(), Some("crypto;"));
    assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
    assert_eq!(prefix_end("a\u{10ffff}").as_deref(), Some("b"));
    assert_eq!(prefix_end("\u{10ffff}"), None);
    let end = prefix_end("keys:").unwrap();
    for inside in ["keys:", "keys:create", "keys:\u{10ffff}"] {
        assert!(inside >= "keys:" && inside < end.as_str(), "{inside}");
    }
    for outside in ["keys", "keys;", "keyt", "kez"] {
        assert!(!(outside >= "keys:" && outside < end.as_str()), "{outside}");
    }
}
