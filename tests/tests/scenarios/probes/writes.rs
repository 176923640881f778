//! The dialects' own records are written through the audited service: GCP key rings and
//! version destroy requests each write exactly one row, refusals included.

use keygate_core::audit::{AuditEvent, AuditOutcome};

use super::outcome_rows;
use crate::support::TestGateway;

const LOC: &str = "projects/demo/locations/local";

fn summary(rows: &[AuditEvent]) -> Vec<(String, String, AuditOutcome, Option<String>)> {
    rows.iter()
        .map(|r| (r.source.clone(), r.action.clone(), r.outcome, r.key.clone()))
        .collect()
}

#[tokio::test]
async fn gcp_key_ring_creation_and_refusals_are_audited() {
    let gw = TestGateway::start().await;
    let ops = crate::gcp::client(&gw, &gw.token("ops", "operator").await).await;
    ops.create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("payments")
        .send()
        .await
        .unwrap();
    let ring = format!("{LOC}/keyRings/payments");
    assert_eq!(
        summary(&outcome_rows(&gw, "ops").await),
        vec![(
            "gcp".to_owned(),
            "keys:create".to_owned(),
            AuditOutcome::Success,
            Some(ring.clone())
        )]
    );
    // A second creation fails (it exists): one failure row.
    let again = ops
        .create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("payments")
        .send()
        .await;
    assert!(again.is_err());
    let rows = outcome_rows(&gw, "ops").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].outcome, AuditOutcome::Failure);

    // A caller who may create no key: refused, and the refusal is a `denied` row.
    let watcher = crate::gcp::client(&gw, &gw.token("watcher", "auditor").await).await;
    let create = watcher
        .create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("sneaky")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        crate::gcp::code(&create),
        google_cloud_gax::error::rpc::Code::PermissionDenied
    );
    // Reading a ring is audited too (the auditor may list keys).
    watcher.get_key_ring().set_name(&ring).send().await.unwrap();
    let rows = outcome_rows(&gw, "watcher").await;
    assert_eq!(
        rows.iter().map(|r| (r.action.as_str(), r.outcome)).collect::<Vec<_>>(),
        vec![
            ("keys:create", AuditOutcome::Denied),
            ("keys:list", AuditOutcome::Success)
        ]
    );
    gw.stop().await;
}
