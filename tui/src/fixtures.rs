//! Fixed sample data for the console's tests, snapshots and benchmark: providers with
//! realistic capabilities, keys in every state, and a fixed `now`, so what is drawn never
//! depends on the clock or the machine.

use keygate_core::api::{
    AuditHealth, GatewayStatus, HealthError, KeyListing, ProviderFailure, ProviderHealth,
    StoreHealth,
};
use keygate_core::{
    Capabilities, DataKeySpec, DayRange, KeyMetadata, KeySpec, KeyState, KeyVersion, Labels,
    ProviderKind, RotationSchedule, VerifyMode, VersionState,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::screens::actions::Provider;
use crate::screens::{Ctx, Effect, keys};

/// The fixed "now" of every fixture.
pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

/// Capabilities like the local provider's (every spec; rotation 1–3650 days; deletion
/// 1–30 days).
pub fn local_capabilities() -> Capabilities {
    Capabilities::builder()
        .key_specs(KeySpec::ALL.to_vec())
        .rsa_encryption(true)
        .deletion_window(DayRange::new(1, 30))
        .rotation_period(Some(DayRange::new(1, 3650)))
        .rotatable_specs(KeySpec::ALL.to_vec())
        .scheduled_rotation_specs(KeySpec::ALL.to_vec())
        .list_versions(true)
        .asymmetric_context(true)
        .max_plaintext_bytes(65_536)
        .data_key_specs(vec![DataKeySpec::Aes256, DataKeySpec::Aes128])
        .self_describing_ciphertext(true)
        .verify(VerifyMode::Remote)
        .key_policy(true)
        .native_policy_format(Some("keygate".to_owned()))
        .labels(true)
        .max_page_size(1000)
        .policy_sample(Vec::new())
        .digest_signing(true)
        .one_signing_algorithm_per_key(false)
        .version_state(true)
        .version_destruction(true)
        .primary_selection(true)
        .build()
}

/// Capabilities like AWS KMS's (rotation 90–2560 days for AES keys; deletion 7–30 days).
pub fn aws_capabilities() -> Capabilities {
    let mut caps = local_capabilities();
    caps.deletion_window = DayRange::new(7, 30);
    caps.rotation_period = Some(DayRange::new(90, 2560));
    caps.rotatable_specs = vec![KeySpec::Aes256];
    caps.scheduled_rotation_specs = vec![KeySpec::Aes256];
    caps.asymmetric_context = false;
    caps.native_policy_format = Some("aws-key-policy".to_owned());
    // KMS rotations are not addressable one by one.
    caps.version_state = false;
    caps.version_destruction = false;
    caps.primary_selection = false;
    caps
}

/// Two providers: `local` and `aws`.
pub fn providers() -> Vec<Provider> {
    vec![
        Provider {
            name: "local".to_owned(),
            kind: ProviderKind::Local,
            capabilities: local_capabilities(),
        },
        Provider {
            name: "aws".to_owned(),
            kind: ProviderKind::Aws,
            capabilities: aws_capabilities(),
        },
    ]
}

/// The gateway's status as the header shows it: `local` reachable, `aws` not, audit head
/// 42, store writable.
pub fn status() -> GatewayStatus {
    let health = |name: &str, kind, error: Option<&str>| ProviderHealth {
        name: name.to_owned(),
        kind,
        reachable: error.is_none(),
        latency_ms: if error.is_none() { 2 } else { 5000 },
        error: error.map(|message| HealthError {
            kind: "unavailable".to_owned(),
            message: message.to_owned(),
        }),
        circuit: None,
    };
    GatewayStatus {
        version: "0.1.0".to_owned(),
        features: vec!["aws".to_owned()],
        providers: vec![
            health("local", ProviderKind::Local, None),
            health("aws", ProviderKind::Aws, Some("no answer within 5 s")),
        ],
        store: StoreHealth {
            backend: "sqlite".to_owned(),
            readable: true,
            writable: true,
            error: None,
        },
        audit: AuditHealth {
            writer_running: true,
            rows: 42,
            head_seq: Some(42),
            head_hash: Some("ab".repeat(32)),
            size_bytes: Some(98_304),
            failed_batches: 0,
            error: None,
        },
        listeners: Vec::new(),
        checked_at: NOW,
        scheduler: None,
    }
}

/// A key named `name` in `provider`, enabled, created 30 days before [`NOW`].
pub fn key(provider: &str, name: &str, spec: KeySpec) -> KeyMetadata {
    let uri = if provider == "aws" {
        format!("aws-kms://us-east-1/{name}")
    } else {
        format!("{provider}://{name}")
    };
    KeyMetadata {
        import: None,
        uri,
        provider: provider.to_owned(),
        id: name.to_owned(),
        name: name.to_owned(),
        spec,
        usage: spec.default_usage(),
        state: KeyState::Enabled,
        primary_version: Some("1".to_owned()),
        rotation: None,
        labels: Labels::new(),
        description: String::new(),
        created: NOW - Duration::days(30),
    }
}

/// The sample keys of `provider`: one per interesting state.
pub fn keys(provider: &str) -> Vec<KeyMetadata> {
    if provider == "aws" {
        let mut orders = key("aws", "orders", KeySpec::Aes256);
        orders.rotation = Some(RotationSchedule {
            period_days: 365,
            next_rotation: Some(NOW + Duration::days(200)),
        });
        orders.labels.insert("team".into(), "pay".into());
        let mut legacy = key("aws", "legacy", KeySpec::Rsa2048);
        legacy.state = KeyState::Disabled;
        legacy.created = NOW - Duration::days(400);
        return vec![orders, legacy];
    }
    let mut payments = key(provider, "payments", KeySpec::Aes256);
    payments.rotation = Some(RotationSchedule {
        period_days: 90,
        next_rotation: Some(NOW + Duration::days(12)),
    });
    payments.labels.insert("team".into(), "pay".into());
    payments.labels.insert("env".into(), "prod".into());
    payments.description = "card data".into();
    payments.primary_version = Some("3".into());
    let signing = key(provider, "signing", KeySpec::EcP256);
    let mut old = key(provider, "old-reports", KeySpec::HmacSha256);
    old.state = KeyState::PendingDeletion {
        deletion_date: NOW + Duration::days(7),
    };
    vec![payments, signing, old]
}

/// The versions of the sample key `payments`, oldest first, one per state but destroyed:
/// 1 destroy-scheduled (destroyed in a day), 2 disabled, 3 enabled and primary, 4 enabled.
pub fn versions() -> Vec<KeyVersion> {
    let version = |id: u8, state: VersionState, days_old: i64| KeyVersion {
        id: id.to_string(),
        created: NOW - Duration::days(days_old),
        state,
        primary: false,
        destroy_time: None,
        rotation: None,
    };
    let mut out = vec![
        version(1, VersionState::DestroyScheduled, 270),
        version(2, VersionState::Disabled, 180),
        version(3, VersionState::Enabled, 90),
        version(4, VersionState::Enabled, 1),
    ];
    out[0].destroy_time = Some(NOW + Duration::days(1));
    out[2].primary = true;
    out
}

/// A listing of `provider`'s sample keys.
pub fn listing(provider: &str) -> KeyListing {
    KeyListing {
        keys: keys(provider),
        errors: Vec::new(),
    }
}

/// A listing in which `provider` failed.
pub fn failed_listing(provider: &str, message: &str) -> KeyListing {
    KeyListing {
        keys: Vec::new(),
        errors: vec![ProviderFailure {
            provider: provider.to_owned(),
            kind: "unavailable".to_owned(),
            message: message.to_owned(),
        }],
    }
}

/// `n` generated keys in `provider` (the benchmark's 100,000), varied in spec, state, labels
/// and rotation so that filters and sorts do real work.
pub fn many_keys(provider: &str, n: usize) -> Vec<KeyMetadata> {
    let specs = [
        KeySpec::Aes256,
        KeySpec::Rsa2048,
        KeySpec::EcP256,
        KeySpec::HmacSha256,
    ];
    (0..n)
        .map(|i| {
            let spec = specs[i % specs.len()];
            let mut k = key(provider, &format!("{provider}-key-{i:06}"), spec);
            k.usage = spec.default_usage();
            k.created = NOW - Duration::minutes(i64::try_from(i).unwrap_or(0));
            if i % 7 == 0 {
                k.state = KeyState::Disabled;
            }
            if i % 3 == 0 {
                k.rotation = Some(RotationSchedule {
                    period_days: 90,
                    next_rotation: Some(
                        NOW + Duration::hours(i64::try_from(i % 2000).unwrap_or(0)),
                    ),
                });
            }
            k.labels
                .insert("team".into(), ["pay", "ops", "data", "web"][i % 4].into());
            k
        })
        .collect()
}

/// A provider named `name`: AWS capabilities when the name starts with `aws`, else local.
pub fn provider(name: &str) -> Provider {
    let aws = name.starts_with("aws");
    Provider {
        name: name.to_owned(),
        kind: if aws {
            ProviderKind::Aws
        } else {
            ProviderKind::Local
        },
        capabilities: if aws {
            aws_capabilities()
        } else {
            local_capabilities()
        },
    }
}

/// Loads `state` as the gateway would answer: the providers named in `listings`, then each
/// provider's keys (or error) in order. Providers without an entry stay loading.
pub fn load_keys(
    state: &mut keys::State,
    ctx: &Ctx,
    providers: &[&str],
    listings: Vec<(&str, Result<Vec<KeyMetadata>, String>)>,
) {
    let mut generation = 0;
    for e in state.update(keys::Msg::Refresh, ctx) {
        if let Effect::Run(keys::Cmd::Providers { generation: g }) = e {
            generation = g;
        }
    }
    let result = Ok(providers.iter().map(|p| provider(p)).collect());
    state.update(keys::Msg::Providers { generation, result }, ctx);
    for (name, result) in listings {
        let msg = keys::Msg::ProviderKeys {
            generation,
            provider: name.to_owned(),
            result,
        };
        state.update(msg, ctx);
    }
}

/// The cost report of a small estate over the 30 days before [`NOW`], priced by the
/// gateway's own arithmetic at the built-in list prices. By hand: `aws` holds `orders`
/// (3 live versions: $1 + 2 × $1) and `legacy` (RSA 2048, $1), and was asked 35,000
/// symmetric requests ($0.105), 10,000 on RSA 2048 ($0.03) and 10,000 key listings ($0.03):
/// $4.00 a month + $0.165. `gcp` holds `archive` (4 versions × $0.06 = $0.24) with 4,000
/// decryptions ($0.012) and 200 free describes. `local` costs nothing; its `old-reports` is
/// pending deletion and not billed. Token calls are not counted.
pub fn cost_report() -> keygate_core::cost::CostReport {
    use keygate_core::cost::{ActionCount, Estate, EstateKey, EstateProvider, PriceList};

    let provider = |name: &str, kind| EstateProvider {
        name: name.to_owned(),
        kind,
    };
    let key = |uri: &str, provider: &str, spec, versions| EstateKey {
        uri: uri.to_owned(),
        provider: provider.to_owned(),
        spec,
        versions,
    };
    let count = |provider: &str, key: Option<&str>, action: &str, count| ActionCount {
        provider: Some(provider.to_owned()),
        key_uri: key.map(str::to_owned),
        action: action.to_owned(),
        count,
    };
    let archive = "gcp-kms://projects/acme/locations/europe-west1/keyRings/prod/cryptoKeys/archive";
    let (orders, legacy) = ("aws-kms://us-east-1/orders", "aws-kms://us-east-1/legacy");
    let estate = Estate {
        providers: vec![
            provider("local", ProviderKind::Local),
            provider("aws", ProviderKind::Aws),
            provider("gcp", ProviderKind::Gcp),
        ],
        keys: vec![
            key("local://payments", "local", KeySpec::Aes256, 3),
            key("local://signing", "local", KeySpec::EcP256, 1),
            key("local://old-reports", "local", KeySpec::HmacSha256, 0),
            key(orders, "aws", KeySpec::Aes256, 3),
            key(legacy, "aws", KeySpec::Rsa2048, 1),
            key(archive, "gcp", KeySpec::Aes256, 4),
        ],
        counts: vec![
            count("aws", Some(orders), "crypto:encrypt", 25_000),
            count("aws", Some(orders), "crypto:decrypt", 10_000),
            count("aws", Some(legacy), "crypto:decrypt", 10_000),
            count("aws", None, "keys:list", 10_000),
            count("local", Some("local://payments"), "crypto:encrypt", 1_200),
            count("gcp", Some(archive), "crypto:decrypt", 4_000),
            count("gcp", Some(archive), "keys:describe", 200),
            count("local", None, "tokens:create", 3),
        ],
        since: NOW - Duration::days(30),
        until: NOW,
        notes: Vec::new(),
    };
    keygate_core::cost::price_estate(&estate, &PriceList::default())
}

/// A context at [`NOW`], coloured, read-write unless `readonly`.
pub fn ctx(readonly: bool) -> Ctx {
    Ctx {
        readonly,
        theme: crate::theme::Theme::colored(),
        now: NOW,
    }
}
