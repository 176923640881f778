//! Rotation records through aws-sdk-kms: a version keygate's scheduler made is `AUTOMATIC`
//! in `ListKeyRotations` (and `automatic` in keygate's version listing), one a caller asked
//! for is `ON_DEMAND` (`on_demand`); the scheduler's audit rows are those of source
//! `scheduler`.

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::types::{KeySpec, RotationType};
use keygate_core::api::Gateway as _;
use keygate_core::{KeyLocator, RotationKind};

use super::{audit, client, create};
use crate::support::TestGateway;

/// The rotation types `ListKeyRotations` reports for `key`, oldest first.
async fn rotation_types(c: &Client, key: &str) -> Vec<RotationType> {
    let listed = c.list_key_rotations().key_id(key).send().await.unwrap();
    listed
        .rotations()
        .iter()
        .map(|r| r.rotation_type().cloned().unwrap())
        .collect()
}

#[tokio::test]
async fn scheduled_rotations_are_automatic_and_requested_ones_on_demand() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "ops", "admin").await;
    let key = create(&c, KeySpec::SymmetricDefault, None).await;
    c.enable_key_rotation()
        .key_id(&key)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    // The schedule comes due: keygate's maintenance pass rotates the key.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(91);
    gw.service.run_maintenance(later).await;
    let rotated = c.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    assert_eq!(rotated.key_id(), Some(key.as_str()));

    assert_eq!(
        rotation_types(&c, &key).await,
        [RotationType::Automatic, RotationType::OnDemand]
    );
    // keygate's own listing records the same kinds.
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{key}");
    let uri = gw
        .service
        .aws_key_ids()
        .aws_uri_of(&key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no keygate key for {arn}"));
    let versions = gw
        .service
        .local_admin()
        .list_versions(&KeyLocator::Uri(uri.clone()))
        .await
        .unwrap()
        .value;
    let kinds: Vec<_> = versions.iter().map(|v| v.rotation).collect();
    assert_eq!(
        kinds,
        [
            None,
            Some(RotationKind::Automatic),
            Some(RotationKind::OnDemand)
        ]
    );
    // The automatic rotation's rows are the scheduler's; the on-demand one's the caller's.
    let rows = audit(&gw).await;
    let rotations: Vec<_> = rows
        .iter()
        .filter(|e| e.action == "keys:rotate" && e.key.as_deref() == Some(uri.as_str()))
        .filter(|e| e.key_version.is_some())
        .map(|e| (e.source.as_str(), e.key_version.as_deref()))
        .collect();
    assert_eq!(
        rotations,
        [("scheduler", Some("2")), ("aws", Some("3"))],
        "{rows:#?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn localstack_reports_on_demand_rotations_alike() {
    let Ok(endpoint) = std::env::var("KEYGATE_TEST_AWS_ENDPOINT") else {
        eprintln!("skipped: KEYGATE_TEST_AWS_ENDPOINT is not set (no LocalStack)");
        return;
    };
    let config = aws_sdk_kms::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "localstack"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    let c = Client::from_conf(config);
    let key = create(&c, KeySpec::SymmetricDefault, None).await;
    let rotated = c.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    assert_eq!(rotated.key_id(), Some(key.as_str()));
    // LocalStack cannot be made to run a scheduled rotation, and its community edition does
    // not serve ListKeyRotations (501 `InternalFailure`, "not yet been emulated"): the
    // listing is checked only where it is served.
    match c.list_key_rotations().key_id(&key).send().await {
        Ok(listed) => {
            let types: Vec<_> = listed
                .rotations()
                .iter()
                .filter_map(|r| r.rotation_type().cloned())
                .collect();
            assert_eq!(types, [RotationType::OnDemand]);
        }
        Err(e) => {
            use aws_sdk_kms::error::ProvideErrorMetadata as _;
            assert_eq!(e.code(), Some("InternalFailure"), "{e:?}");
            eprintln!("LocalStack does not serve ListKeyRotations: the listing is not compared");
        }
    }
}
