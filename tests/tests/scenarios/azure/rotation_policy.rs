//! Rotation policies with `expiryTime`, a `Notify` action and a rotation before expiry,
//! through the SDK: stored and returned as sent, and the notification recorded as a
//! `keys:notify` audit event by maintenance when it comes due, once per primary version.

use azure_security_keyvault_keys::models::KeyRotationPolicyAttributes;
use time::{Duration, OffsetDateTime};

use super::*;

fn action(kind: KeyRotationPolicyAction, before_expiry: &str) -> LifetimeAction {
    LifetimeAction {
        trigger: Some(LifetimeActionTrigger {
            time_before_expiry: Some(before_expiry.into()),
            ..Default::default()
        }),
        action: Some(LifetimeActionType {
            type_prop: Some(kind),
        }),
    }
}

#[tokio::test]
async fn expiry_and_notify_are_stored_returned_and_notified_by_maintenance() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;
    create(&kc, "expiring", create_params(KeyType::Oct, &[])).await;
    let start = OffsetDateTime::now_utc();

    let policy = KeyRotationPolicy {
        lifetime_actions: Some(vec![
            action(KeyRotationPolicyAction::Rotate, "P10D"),
            action(KeyRotationPolicyAction::Notify, "P30D"),
        ]),
        attributes: Some(KeyRotationPolicyAttributes {
            expiry_time: Some("P90D".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    kc.update_key_rotation_policy("expiring", policy.try_into().unwrap(), None)
        .await
        .unwrap();
    let got = kc
        .get_key_rotation_policy("expiring", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(got.attributes.unwrap().expiry_time.as_deref(), Some("P90D"));
    let actions: Vec<(Option<KeyRotationPolicyAction>, Option<String>)> = got
        .lifetime_actions
        .unwrap()
        .into_iter()
        .map(|a| {
            (
                a.action.unwrap().type_prop,
                a.trigger.unwrap().time_before_expiry,
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            (Some(KeyRotationPolicyAction::Rotate), Some("P10D".into())),
            (Some(KeyRotationPolicyAction::Notify), Some("P30D".into())),
        ]
    );
    // The rotation before expiry is keygate's schedule: every 90 - 10 days.
    let admin = gw.service.local_admin();
    let key = crate::support::kl("expiring");
    let schedule = admin.get_rotation(&key).await.unwrap().value.unwrap();
    assert_eq!(schedule.period_days, 80);

    let notified = || async {
        gw.service
            .audit()
            .query(&AuditQuery {
                action: Some("keys:notify".into()),
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap()
            .items
    };
    // Not yet due 59 days in; due 60 days in (90 - 30), recorded once.
    gw.service.run_maintenance(start + Duration::days(59)).await;
    assert!(notified().await.is_empty());
    gw.service.run_maintenance(start + Duration::days(61)).await;
    gw.service.run_maintenance(start + Duration::days(62)).await;
    let rows = notified().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].key_version.as_deref(), Some("1"));
    assert!(rows[0].key.as_deref().unwrap().ends_with("expiring"));
    assert_eq!(rows[0].principal, "keygate");

    // A policy that asks for no expiry removes it; invalid ones are Key Vault's 400.
    let plain = KeyRotationPolicy {
        lifetime_actions: Some(vec![]),
        ..Default::default()
    };
    kc.update_key_rotation_policy("expiring", plain.try_into().unwrap(), None)
        .await
        .unwrap();
    let got = kc
        .get_key_rotation_policy("expiring", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert!(got.lifetime_actions.unwrap_or_default().is_empty());
    let stored = admin.get_rotation_policy(&key).await.unwrap().value;
    assert_eq!((stored.rotation, stored.expiry), (None, None));
    let bad = KeyRotationPolicy {
        lifetime_actions: Some(vec![action(KeyRotationPolicyAction::Notify, "P30D")]),
        ..Default::default()
    };
    let err = kc
        .update_key_rotation_policy("expiring", bad.try_into().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(status(&err), StatusCode::BadRequest);
    gw.stop().await;
}
