//! The scheduler's lease: one holder at a time on a shared PostgreSQL store, taken over when
//! the holder gives it up, dies, or stops renewing (within the lease time); SQLite leads
//! alone.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Leadership;
use crate::config::SchedulerConfig;
use crate::store::postgres::testing::{fresh_schema, open_on};
use crate::store::{SqliteStore, Store};

const LEASE: Duration = Duration::from_secs(3);

/// Tries `lease` until it is held, for at most `within`; returns how long that took.
async fn take_within(
    lease: &mut Box<dyn crate::store::SchedulerLease>,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    while !lease.acquire_or_renew().await.unwrap() {
        assert!(
            started.elapsed() < within,
            "the lease was not taken over within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

fn config(replica: &str) -> SchedulerConfig {
    SchedulerConfig {
        replica: Some(replica.to_owned()),
        lease_secs: LEASE.as_secs(),
        ..SchedulerConfig::default()
    }
}

#[tokio::test]
async fn one_replica_holds_the_lease_and_another_takes_it_when_given_up() {
    let Some(schema) = fresh_schema("lease_given_up").await else {
        return;
    };
    let (a, b) = (open_on(&schema).await, open_on(&schema).await);
    let mut first = a.scheduler_lease("gw-a", LEASE).unwrap();
    let mut second = b.scheduler_lease("gw-b", LEASE).unwrap();
    assert!(first.acquire_or_renew().await.unwrap());
    assert!(!second.acquire_or_renew().await.unwrap());
    // Renewing keeps it; every process can tell who holds it.
    assert!(first.acquire_or_renew().await.unwrap());
    assert!(!second.acquire_or_renew().await.unwrap());
    assert_eq!(b.scheduler_leader().await.unwrap().as_deref(), Some("gw-a"));

    first.release().await;
    take_within(&mut second, Duration::from_secs(10)).await;
    assert_eq!(a.scheduler_leader().await.unwrap().as_deref(), Some("gw-b"));
    assert!(!first.acquire_or_renew().await.unwrap());

    // A holder that is dropped (its process died) frees the lease with its session.
    drop(second);
    take_within(&mut first, Duration::from_secs(10)).await;
}

/// A holder that stops renewing without closing its session (a hung process, a machine cut
/// off) keeps the lease only until the database ends its idle session: about one lease time.
#[tokio::test]
async fn a_holder_that_stops_renewing_loses_the_lease_after_the_lease_time() {
    let Some(schema) = fresh_schema("lease_unrenewed").await else {
        return;
    };
    let (a, b) = (open_on(&schema).await, open_on(&schema).await);
    let mut hung = a.scheduler_lease("gw-hung", LEASE).unwrap();
    assert!(hung.acquire_or_renew().await.unwrap());
    // Never renewed, never closed: the session stays open on our side.
    std::mem::forget(hung);
    let mut other = b.scheduler_lease("gw-other", LEASE).unwrap();
    assert!(!other.acquire_or_renew().await.unwrap());
    // Generous for a loaded machine; the bound itself is LEASE plus one try.
    let took = take_within(&mut other, LEASE * 10).await;
    eprintln!("an unrenewed lease of {LEASE:?} was taken over after {took:?}");
    assert_eq!(
        b.scheduler_leader().await.unwrap().as_deref(),
        Some("gw-other")
    );
}

#[tokio::test]
async fn of_two_running_replicas_exactly_one_leads_and_the_other_takes_over_at_its_stop() {
    let Some(schema) = fresh_schema("leadership_run").await else {
        return;
    };
    let stores: Vec<Arc<dyn Store>> =
        vec![open_on(&schema).await.into(), open_on(&schema).await.into()];
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    let mut replicas = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        let leadership = Arc::new(Leadership::new(&config(&format!("gw-{i}"))));
        let (stop, stopped) = watch::channel(false);
        let (l, s) = (Arc::clone(&leadership), Arc::clone(store));
        let task = tokio::spawn(async move { l.run(&*s, stopped).await });
        stops.push(stop);
        tasks.push(task);
        replicas.push(leadership);
    }
    let leaders = async || {
        let started = Instant::now();
        loop {
            let leading: Vec<usize> = (0..replicas.len())
                .filter(|&i| replicas[i].leads())
                .collect();
            if !leading.is_empty() || started.elapsed() > Duration::from_secs(20) {
                return leading;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let leading = leaders().await;
    assert_eq!(leading.len(), 1, "leaders: {leading:?}");
    let first = leading[0];
    assert_eq!(
        stores[0].scheduler_leader().await.unwrap(),
        Some(format!("gw-{first}"))
    );
    // The other replica keeps trying and keeps failing while the leader runs.
    tokio::time::sleep(LEASE).await;
    assert!(replicas[first].leads());
    assert!(!replicas[1 - first].leads());

    // The leader stops (gives the lease up): the other leads at its next try.
    stops[first].send_replace(true);
    tasks.remove(first).await.unwrap();
    assert!(!replicas[first].leads());
    let leading = leaders().await;
    assert_eq!(leading, vec![1 - first]);
    stops[1 - first].send_replace(true);
}

#[tokio::test]
async fn on_sqlite_the_serving_process_leads_alone() {
    let store = SqliteStore::in_memory().await.unwrap();
    assert!(store.scheduler_lease("gw", LEASE).is_none());
    assert_eq!(store.scheduler_leader().await.unwrap(), None);
    let leadership = Arc::new(Leadership::new(&config("gw")));
    assert!(!leadership.leads());
    let (stop, stopped) = watch::channel(false);
    let l = Arc::clone(&leadership);
    let task = tokio::spawn(async move { l.run(&store, stopped).await });
    let started = Instant::now();
    while !leadership.leads() {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send_replace(true);
    task.await.unwrap();
    assert!(!leadership.leads());
}
