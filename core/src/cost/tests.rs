//! The cost of a hand-built estate, every figure worked out by hand in the comments (list
//! prices of the built-in defaults: AWS $1/key/month + $1 per rotation up to two, $0.03 per
//! 10,000 requests, $0.15 for asymmetric other than RSA 2048; GCP $0.06 per version,
//! $0.03 per 10,000, management free; Azure no key charge, $0.03 / $0.15 per 10,000; local 0).

use time::macros::datetime;

use super::*;

fn estate() -> Estate {
    let p = |name: &str, kind| EstateProvider {
        name: name.into(),
        kind,
    };
    let k = |uri: &str, provider: &str, spec, versions| EstateKey {
        uri: uri.into(),
        provider: provider.into(),
        spec,
        versions,
    };
    let c = |provider: Option<&str>, key: Option<&str>, action: &str, count| ActionCount {
        provider: provider.map(str::to_owned),
        key_uri: key.map(str::to_owned),
        action: action.into(),
        count,
    };
    Estate {
        providers: vec![
            p("aws-prod", ProviderKind::Aws),
            p("gcp-main", ProviderKind::Gcp),
            p("az", ProviderKind::Azure),
            p("local", ProviderKind::Local),
        ],
        keys: vec![
            k("aws-kms://k1", "aws-prod", KeySpec::Aes256, 1),
            k("aws-kms://k2", "aws-prod", KeySpec::Aes256, 5),
            // Pending deletion: no live versions, not billed.
            k("aws-kms://k3", "aws-prod", KeySpec::Rsa2048, 0),
            k("gcp-kms://g1", "gcp-main", KeySpec::Aes256, 4),
            k("gcp-kms://g2", "gcp-main", KeySpec::EcP256, 1),
            k("azure-kv://a1", "az", KeySpec::Rsa3072, 2),
            k("local://l1", "local", KeySpec::Aes256, 2),
        ],
        counts: vec![
            c(
                Some("aws-prod"),
                Some("aws-kms://k1"),
                "crypto:encrypt",
                20_000,
            ),
            c(
                Some("aws-prod"),
                Some("aws-kms://k1"),
                "crypto:decrypt",
                5_000,
            ),
            c(
                Some("aws-prod"),
                Some("aws-kms://k3"),
                "crypto:sign",
                10_000,
            ),
            c(Some("aws-prod"), None, "random:generate", 3_333),
            c(
                Some("aws-prod"),
                Some("aws-kms://k2"),
                "keys:describe",
                10_000,
            ),
            // Gateway-only calls are not billed by any cloud.
            c(None, None, "audit:read", 100),
            c(Some("aws-prod"), None, "tokens:create", 7),
            // A key that no longer exists: billed to its provider as symmetric.
            c(
                Some("aws-prod"),
                Some("aws-kms://gone"),
                "crypto:decrypt",
                10_000,
            ),
            c(
                Some("gcp-main"),
                Some("gcp-kms://g1"),
                "crypto:encrypt",
                40_000,
            ),
            c(
                Some("gcp-main"),
                Some("gcp-kms://g2"),
                "crypto:sign",
                10_000,
            ),
            c(Some("gcp-main"), Some("gcp-kms://g1"), "keys:rotate", 50),
            c(Some("az"), Some("azure-kv://a1"), "crypto:decrypt", 20_000),
            c(Some("az"), Some("azure-kv://a1"), "keys:describe", 1),
            c(
                Some("local"),
                Some("local://l1"),
                "crypto:encrypt",
                1_000_000,
            ),
        ],
        since: datetime!(2026-11-07 00:00 UTC),
        until: datetime!(2026-12-07 00:00 UTC),
        notes: vec![],
    }
}

fn tally(items: &[(RequestKind, u64)]) -> RequestTally {
    items.iter().copied().collect()
}

#[test]
fn hand_computed_estate() {
    let r = price_estate(&estate(), &PriceList::default());
    use ProviderKind::{Aws, Azure, Gcp, Local};
    use RequestKind::*;

    let aws = &r.providers[0];
    assert_eq!((aws.provider.as_str(), aws.kind), ("aws-prod", Aws));
    // k1 and k2 billed (k3 is pending deletion); versions 1 + 5 + 0.
    assert_eq!((aws.keys, aws.key_versions), (2, 6));
    // k1 $1; k2: 5 versions capped at 3 = $1 + 2 × $1 = $3; k3 $0.
    assert_eq!(aws.monthly_usd, 4.0);
    // symmetric 20,000 + 5,000 + 10,000 (gone) = 35,000; RSA 2048 10,000; random 3,333;
    // management 10,000.
    assert_eq!(
        aws.requests,
        tally(&[
            (Symmetric, 35_000),
            (Rsa2048, 10_000),
            (Random, 3_333),
            (Management, 10_000)
        ])
    );
    // 3.5 × 0.03 = 0.105; 0.03; 0.3333 × 0.03 = 0.009999; 0.03 → 0.174999.
    assert_eq!(aws.requests_usd, 0.174999);
    assert_eq!(aws.total_usd, 4.174999);
    // On GCP: versions 1 + 5 = 6 × 0.06 = 0.36; requests 0.105 + 0.03 + 0.009999 + 0
    // (management free) = 0.144999 → 0.504999. On Azure: no key charge, requests as on AWS
    // (0.174999). Local: 0.
    assert_eq!(
        aws.elsewhere,
        [
            (Aws, 4.174999),
            (Gcp, 0.504999),
            (Azure, 0.174999),
            (Local, 0.0)
        ]
        .into()
    );

    let gcp = &r.providers[1];
    assert_eq!((gcp.keys, gcp.key_versions), (2, 5));
    // 5 versions × 0.06.
    assert_eq!(gcp.monthly_usd, 0.3);
    // 4 × 0.03 = 0.12 symmetric; 1 × 0.03 asymmetric (same price on GCP software keys).
    assert_eq!(gcp.requests_usd, 0.15);
    assert_eq!(gcp.total_usd, 0.45);
    // On AWS: g1 (4 versions, capped at 3) $3 + g2 $1 = $4; 0.12 + 1 × 0.15 (EC) + 50
    // management × 0.03 / 10,000 = 0.00015 → 4.27015. On Azure: 0.12 + 0.15 + 0.00015.
    assert_eq!(
        gcp.elsewhere,
        [(Aws, 4.27015), (Gcp, 0.45), (Azure, 0.27015), (Local, 0.0)].into()
    );

    let az = &r.providers[2];
    assert_eq!((az.keys, az.key_versions, az.monthly_usd), (1, 2, 0.0));
    // RSA 3072: 2 × 0.15 = 0.30; one management call 0.000003.
    assert_eq!(az.requests_usd, 0.300003);
    // On AWS: $1 + one rotation $1 = $2 + 0.300003. On GCP: 2 × 0.06 = 0.12 + 2 × 0.03
    // = 0.06 + 0 → 0.18.
    assert_eq!(
        az.elsewhere,
        [
            (Aws, 2.300003),
            (Gcp, 0.18),
            (Azure, 0.300003),
            (Local, 0.0)
        ]
        .into()
    );

    let local = &r.providers[3];
    assert_eq!((local.total_usd, local.key_versions), (0.0, 2));
    // 1,000,000 symmetric = 100 × 10,000 × 0.03 = $3. AWS: $2 + $3; GCP: 0.12 + $3; Azure $3.
    assert_eq!(
        local.elsewhere,
        [(Aws, 5.0), (Gcp, 3.12), (Azure, 3.0), (Local, 0.0)].into()
    );

    // 4 + 0.3; 0.174999 + 0.15 + 0.300003 = 0.625002.
    assert_eq!(r.monthly_usd, 4.3);
    assert_eq!(r.requests_usd, 0.625002);
    assert_eq!(r.total_usd, 4.925002);
    // AWS: 4.174999 + 4.27015 + 2.300003 + 5 = 15.745152; GCP: 0.504999 + 0.45 + 0.18 +
    // 3.12 = 4.254999; Azure: 0.174999 + 0.27015 + 0.300003 + 3 = 3.745152.
    assert_eq!(
        r.elsewhere,
        [
            (Aws, 15.745152),
            (Gcp, 4.254999),
            (Azure, 3.745152),
            (Local, 0.0)
        ]
        .into()
    );

    // Per key, sorted by provider then URI: aws-prod < az ('w' < 'z'), gcp-main, local.
    let uris: Vec<&str> = r.keys.iter().map(|k| k.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "aws-kms://k1",
            "aws-kms://k2",
            "aws-kms://k3",
            "azure-kv://a1",
            "gcp-kms://g1",
            "gcp-kms://g2",
            "local://l1"
        ]
    );
    let k1 = &r.keys[0];
    // 25,000 symmetric × 0.03 / 10,000 = 0.075.
    assert_eq!((k1.monthly_usd, k1.requests_usd), (1.0, 0.075));
    assert_eq!(k1.requests, tally(&[(Symmetric, 25_000)]));
    let k2 = &r.keys[1];
    assert_eq!((k2.monthly_usd, k2.requests_usd), (3.0, 0.03));
    let k3 = &r.keys[2];
    assert_eq!((k3.monthly_usd, k3.requests_usd), (0.0, 0.03));
    let g1 = &r.keys[4];
    // 4 × 0.06 = 0.24; 40,000 × 0.03 / 10,000 = 0.12 (rotation free).
    assert_eq!((g1.monthly_usd, g1.requests_usd), (0.24, 0.12));
    assert_eq!(r.keys[3].requests_usd, 0.300003);
}

#[test]
fn overrides_replace_single_fields_and_refuse_negative_prices() {
    let mut config = PricingConfig::default();
    config.aws.key_month = Some(2.5);
    config.local.symmetric_per_10k = Some(0.01);
    let list = PriceList::from_config(&config).unwrap();
    assert_eq!(list.aws.key_month, 2.5);
    assert_eq!(list.aws.version_month, 1.0);
    assert_eq!(list.aws.source, "keygate.toml [pricing]");
    assert_eq!(list.gcp, PriceList::default().gcp);
    // One local key with 1 version, 20,000 requests at 0.01 / 10,000 = 0.02; the AWS key
    // charge now $2.50.
    let estate = Estate {
        providers: vec![EstateProvider {
            name: "l".into(),
            kind: ProviderKind::Local,
        }],
        keys: vec![EstateKey {
            uri: "local://x".into(),
            provider: "l".into(),
            spec: KeySpec::HmacSha256,
            versions: 1,
        }],
        counts: vec![ActionCount {
            provider: Some("l".into()),
            key_uri: Some("local://x".into()),
            action: "crypto:mac".into(),
            count: 20_000,
        }],
        since: datetime!(2026-12-01 00:00 UTC),
        until: datetime!(2026-12-07 00:00 UTC),
        notes: vec![],
    };
    let r = price_estate(&estate, &list);
    assert_eq!(r.total_usd, 0.02);
    assert_eq!(r.elsewhere[&ProviderKind::Aws], 2.5 + 0.06);

    config.gcp.version_month = Some(-1.0);
    let err = PriceList::from_config(&config).unwrap_err();
    assert!(
        err.to_string().contains("pricing.gcp.version_month"),
        "{err}"
    );
}

#[test]
fn since_takes_spans_and_times() {
    let now = datetime!(2026-12-07 12:00 UTC);
    assert_eq!(
        parse_since("30d", now).unwrap(),
        datetime!(2026-11-07 12:00 UTC)
    );
    assert_eq!(
        parse_since("12h", now).unwrap(),
        datetime!(2026-12-07 00:00 UTC)
    );
    assert_eq!(
        parse_since("2w", now).unwrap(),
        datetime!(2026-11-23 12:00 UTC)
    );
    assert_eq!(
        parse_since("2026-12-01T00:00:00Z", now).unwrap(),
        datetime!(2026-12-01 00:00 UTC)
    );
    for bad in [
        "",
        "d",
        "30",
        "30y",
        "-1d",
        "99999d",
        "2027-01-01T00:00:00Z",
        "é",
    ] {
        let err = parse_since(bad, now).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
    }
}
