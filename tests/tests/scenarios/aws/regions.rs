//! Regions and accounts through aws-sdk-kms clients configured for different regions against
//! one AWS door: ARNs name the region the request was signed for; with a `[dialects.aws]
//! regions` table a key lives in the region its `CreateKey` was signed for (in that region's
//! provider) and is found only there, aliases included; ARNs naming another account or
//! another region name no key.
//!
//! The same region sequence runs against LocalStack when `KEYGATE_TEST_AWS_ENDPOINT` names
//! one: LocalStack keeps keys per region and account as AWS does, and answers every step
//! alike.

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::primitives::Blob;
use keygate_core::api::Gateway as _;
use keygate_core::{CreateKeyRequest, KeySpec};
use keygate_server::config::Config;

use super::{access_key, code};
use crate::support::TestGateway;

/// A client signing for `region`.
fn client_in(endpoint: &str, region: &str, akid: &str, secret: &str) -> Client {
    let config = aws_sdk_kms::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(akid, secret, None, None, "keygate"))
        .behavior_version(BehaviorVersion::latest())
        .build();
    Client::from_conf(config)
}

/// The steps every AWS KMS takes alike, with `west` signing for us-west-2 and `eu` for
/// eu-west-1 in `account`: a key made in us-west-2 is found there by id and ARN (the ARN
/// naming us-west-2) and nowhere else. Returns the key's id.
async fn region_sequence(west: &Client, eu: &Client, account: &str) -> String {
    let meta = west
        .create_key()
        .description("made in us-west-2")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let id = meta.key_id().to_owned();
    let arn = format!("arn:aws:kms:us-west-2:{account}:key/{id}");
    assert_eq!(meta.arn(), Some(arn.as_str()));
    let described = west.describe_key().key_id(&arn).send().await.unwrap();
    assert_eq!(described.key_metadata.unwrap().arn(), Some(arn.as_str()));
    west.describe_key().key_id(&id).send().await.unwrap();
    // Another region: not by id, not by its ARN, not by an ARN naming the other region.
    for other in [
        id.clone(),
        arn.clone(),
        format!("arn:aws:kms:eu-west-1:{account}:key/{id}"),
    ] {
        let found = eu.describe_key().key_id(&other).send().await;
        assert_eq!(code(found), "NotFoundException", "{other}");
    }
    // Another account's ARN names no key here.
    let elsewhere = format!("arn:aws:kms:us-west-2:111122223333:key/{id}");
    let found = west.describe_key().key_id(&elsewhere).send().await;
    assert_eq!(code(found), "NotFoundException");
    // ListKeys lists a region's keys.
    let listed = |c: &Client| {
        let c = c.clone();
        async move {
            let mut ids = Vec::new();
            let mut marker = None;
            loop {
                let page = c
                    .list_keys()
                    .set_marker(marker)
                    .limit(1000)
                    .send()
                    .await
                    .unwrap();
                ids.extend(page.keys().iter().map(|k| {
                    (
                        k.key_id().unwrap().to_owned(),
                        k.key_arn().unwrap().to_owned(),
                    )
                }));
                marker = page.next_marker().map(str::to_owned);
                if marker.is_none() {
                    break ids;
                }
            }
        }
    };
    assert!(listed(west).await.contains(&(id.clone(), arn.clone())));
    assert!(listed(eu).await.iter().all(|(k, _)| *k != id));
    id
}

/// `[providers.local]` and `[providers.west]` (both local), us-east-1 and eu-west-1 served
/// by `local`, us-west-2 by `west`.
fn regional_config() -> Config {
    let text = "[providers.local]\n\n[providers.west]\nkind = \"local\"\n\n[dialects.aws]\n\
                regions = { \"us-east-1\" = \"local\", \"eu-west-1\" = \"local\", \"us-west-2\" = \"west\" }\n";
    let parsed = Config::parse(text, Vec::<(String, String)>::new(), "test").unwrap();
    crate::support::config(|c| {
        c.providers = parsed.providers;
        c.dialects.aws.regions = parsed.dialects.aws.regions;
    })
}

#[tokio::test]
async fn keys_live_in_their_region_and_its_provider() {
    let gw = TestGateway::start_with(regional_config()).await;
    let (akid, secret) = access_key(&gw, "regions", "admin").await;
    let west = client_in(&gw.base, "us-west-2", &akid, &secret);
    let eu = client_in(&gw.base, "eu-west-1", &akid, &secret);
    let east = client_in(&gw.base, "us-east-1", &akid, &secret);

    let west_key = region_sequence(&west, &eu, "000000000000").await;
    let ids = gw.service.aws_key_ids();
    let west_uri = ids.aws_uri_of(&west_key).await.unwrap().unwrap();
    assert!(west_uri.starts_with("local://west/"), "{west_uri}");

    // eu-west-1 and us-east-1 share a provider, yet a key lives in one region only.
    let eu_key = eu
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id()
        .to_owned();
    let eu_uri = ids.aws_uri_of(&eu_key).await.unwrap().unwrap();
    assert!(eu_uri.starts_with("local://") && !eu_uri.starts_with("local://west/"));
    let found = east.describe_key().key_id(&eu_key).send().await;
    assert_eq!(code(found), "NotFoundException");
    // Every operation, not only DescribeKey: Encrypt with another region's key, and
    // Decrypt of its ciphertext (which names its key) through another region.
    let sealed = west
        .encrypt()
        .key_id(&west_key)
        .plaintext(Blob::new("west data"))
        .send()
        .await
        .unwrap();
    let refused = eu
        .encrypt()
        .key_id(&west_key)
        .plaintext(Blob::new("x"))
        .send()
        .await;
    assert_eq!(code(refused), "NotFoundException");
    let blob = sealed.ciphertext_blob().unwrap().clone();
    assert_eq!(
        code(eu.decrypt().ciphertext_blob(blob.clone()).send().await),
        "NotFoundException"
    );
    let opened = west.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"west data");
    assert_eq!(
        opened.key_id(),
        Some(format!("arn:aws:kms:us-west-2:000000000000:key/{west_key}").as_str())
    );

    // Aliases are in their key's region.
    west.create_alias()
        .alias_name("alias/app")
        .target_key_id(&west_key)
        .send()
        .await
        .unwrap();
    west.describe_key()
        .key_id("alias/app")
        .send()
        .await
        .unwrap();
    let arn_alias = "arn:aws:kms:us-west-2:000000000000:alias/app";
    west.describe_key().key_id(arn_alias).send().await.unwrap();
    let found = eu.describe_key().key_id("alias/app").send().await;
    assert_eq!(code(found), "NotFoundException");
    let deleted = eu.delete_alias().alias_name("alias/app").send().await;
    assert_eq!(code(deleted), "NotFoundException");
    // keygate's alias names are global: the name another region uses is taken (AWS would
    // let eu-west-1 have its own alias/app).
    let taken = eu
        .create_alias()
        .alias_name("alias/app")
        .target_key_id(&eu_key)
        .send()
        .await;
    assert_eq!(code(taken), "AlreadyExistsException");
    let names = |c: &Client| {
        let c = c.clone();
        async move {
            let page = c.list_aliases().limit(100).send().await.unwrap();
            page.aliases()
                .iter()
                .map(|a| a.alias_arn().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(&west).await, [arn_alias]);
    assert!(names(&eu).await.is_empty());

    // A key made outside the door (here by an admin in-process) is in its provider's home
    // region: `region` (us-east-1) maps to `local`.
    let made = gw
        .service
        .local_admin()
        .create_key(
            Some("local"),
            CreateKeyRequest::new("cli-key", KeySpec::Aes256),
        )
        .await
        .unwrap();
    let arn = gw.service.aws_key_arn(&made.uri).await.unwrap();
    assert!(
        arn.starts_with("arn:aws:kms:us-east-1:000000000000:key/"),
        "{arn}"
    );
    east.describe_key().key_id(&arn).send().await.unwrap();
    let id = arn.rsplit('/').next().unwrap();
    assert_eq!(
        code(eu.describe_key().key_id(id).send().await),
        "NotFoundException"
    );
    // The ARN keygate names outside a request is the key's own region's.
    let arn = gw.service.aws_key_arn(&west_uri).await.unwrap();
    assert!(arn.starts_with("arn:aws:kms:us-west-2:"), "{arn}");

    // A region the table does not name is not served.
    let far = client_in(&gw.base, "ap-south-1", &akid, &secret);
    assert_eq!(
        code(far.list_keys().send().await),
        "InvalidSignatureException"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_region_of_an_unregistered_provider_is_refused_at_start() {
    let mut config = crate::support::config(|c| {
        c.dialects.aws.regions = [("us-west-2".to_owned(), "nowhere".to_owned())].into();
    });
    let home = tempfile::tempdir().unwrap();
    config.dialects.azure.resolve_in_home(home.path());
    let service = keygate::compose::open(&config, &keygate_server::Home::new(home.path()))
        .await
        .unwrap();
    let Err(refused) = keygate_http::bind(service, &config).await else {
        panic!("a region mapped to no registered provider was accepted");
    };
    assert!(
        refused
            .to_string()
            .contains("dialects.aws.regions.us-west-2"),
        "{refused}"
    );
}

#[tokio::test]
async fn without_a_regions_table_every_region_sees_every_key_under_its_own_arn() {
    let gw = TestGateway::start().await;
    let (akid, secret) = access_key(&gw, "anywhere", "admin").await;
    let eu = client_in(&gw.base, "eu-west-1", &akid, &secret);
    let west = client_in(&gw.base, "us-west-2", &akid, &secret);
    let meta = eu.create_key().send().await.unwrap().key_metadata.unwrap();
    let id = meta.key_id().to_owned();
    let eu_arn = format!("arn:aws:kms:eu-west-1:000000000000:key/{id}");
    assert_eq!(meta.arn(), Some(eu_arn.as_str()));
    // The same key through us-west-2, under a us-west-2 ARN.
    let seen = west.describe_key().key_id(&id).send().await.unwrap();
    let west_arn = format!("arn:aws:kms:us-west-2:000000000000:key/{id}");
    assert_eq!(seen.key_metadata.unwrap().arn(), Some(west_arn.as_str()));
    west.describe_key().key_id(&west_arn).send().await.unwrap();
    // An ARN names its region and account: another region's or account's is not found.
    assert_eq!(
        code(west.describe_key().key_id(&eu_arn).send().await),
        "NotFoundException"
    );
    let elsewhere = format!("arn:aws:kms:us-west-2:111122223333:key/{id}");
    assert_eq!(
        code(west.describe_key().key_id(&elsewhere).send().await),
        "NotFoundException"
    );
    let listed = west.list_keys().send().await.unwrap();
    assert!(
        listed
            .keys()
            .iter()
            .any(|k| k.key_arn() == Some(west_arn.as_str()))
    );
    gw.stop().await;
}

#[tokio::test]
async fn localstack_keeps_keys_per_region_too() {
    let Ok(endpoint) = std::env::var("KEYGATE_TEST_AWS_ENDPOINT") else {
        eprintln!("skipped: KEYGATE_TEST_AWS_ENDPOINT is not set (no LocalStack)");
        return;
    };
    let west = client_in(&endpoint, "us-west-2", "test", "test");
    let eu = client_in(&endpoint, "eu-west-1", "test", "test");
    let id = region_sequence(&west, &eu, "000000000000").await;
    west.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
}
