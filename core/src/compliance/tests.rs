#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::access::{Effect, Statement};
use crate::api::ProviderFailure;
use crate::provider::{Capabilities, DayRange, VerifyMode};
use crate::{
    Binding, KeyMetadata, KeyRef, KeySpec, KeyState, Labels, ProviderKind, RotationSchedule,
    VersionState,
};

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn caps(scheduled: Vec<KeySpec>) -> Capabilities {
    Capabilities {
        import_material: false,
        key_specs: KeySpec::ALL.to_vec(),
        rsa_encryption: true,
        deletion_window: DayRange::new(7, 30),
        rotation_period: Some(DayRange::new(90, 2560)),
        rotatable_specs: scheduled.clone(),
        scheduled_rotation_specs: scheduled,
        list_versions: true,
        asymmetric_context: false,
        max_plaintext_bytes: 4096,
        data_key_specs: Vec::new(),
        data_key_bytes: false,
        self_describing_ciphertext: true,
        verify: VerifyMode::Remote,
        key_policy: true,
        native_policy_format: None,
        labels: true,
        max_page_size: 1000,
        policy_sample: Vec::new(),
        digest_signing: false,
        one_signing_algorithm_per_key: false,
        version_state: false,
        version_destruction: false,
        primary_selection: false,
        raw_encryption: Vec::new(),
        expiry_policy: false,
    }
}

fn provider(name: &str) -> ProviderSummary {
    ProviderSummary {
        name: name.to_owned(),
        kind: ProviderKind::Local,
        uri_prefix: format!("{name}://"),
        capabilities: caps(vec![KeySpec::Aes256]),
    }
}

fn key(provider: &str, name: &str) -> KeyMetadata {
    KeyMetadata {
        import: None,
        uri: format!("{provider}://{name}"),
        provider: provider.to_owned(),
        id: name.to_owned(),
        name: name.to_owned(),
        spec: KeySpec::Aes256,
        usage: KeySpec::Aes256.default_usage(),
        state: KeyState::Enabled,
        primary_version: Some("1".to_owned()),
        rotation: Some(RotationSchedule {
            period_days: 90,
            next_rotation: Some(NOW + Duration::days(10)),
        }),
        labels: Labels::new(),
        description: String::new(),
        created: NOW - Duration::days(400),
    }
}

/// One provider `p` with `keys`, aliases readable and empty, every key used yesterday.
fn inventory(keys: Vec<KeyMetadata>) -> Inventory {
    let last_use = keys
        .iter()
        .map(|k| (k.uri.clone(), NOW - Duration::days(1)))
        .collect();
    Inventory {
        providers: vec![provider("p")],
        keys: KeyListing {
            keys,
            errors: Vec::new(),
        },
        aliases: Some(Vec::new()),
        last_use: Some(last_use),
        ..Inventory::default()
    }
}

fn alias(name: &str, key: &KeyMetadata) -> Alias {
    Alias {
        name: name.to_owned(),
        target: KeyRef::new(key.provider.clone(), key.id.clone()),
        created: NOW,
    }
}

fn rules_of(inv: &Inventory) -> Vec<Rule> {
    evaluate(inv, Options::default(), NOW)
        .findings
        .iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn a_healthy_estate_has_no_findings() {
    let inv = inventory(vec![key("p", "good")]);
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings, Vec::new());
    assert_eq!(report.summary.keys, 1);
    assert_eq!(report.summary.by_provider["p"][&Rule::RotationOff], 0);
}

#[test]
fn rotation_off_fires_only_where_the_provider_could_schedule_it() {
    let mut off = key("p", "off");
    off.rotation = None;
    let inv = inventory(vec![off.clone()]);
    assert_eq!(rules_of(&inv), vec![Rule::RotationOff]);
    let f = &evaluate(&inv, Options::default(), NOW).findings[0];
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.message.contains("90–2560 days"), "{}", f.message);

    // An RSA key the provider cannot schedule, a signing key, a disabled key: silent.
    let mut rsa = off.clone();
    rsa.spec = KeySpec::Rsa2048;
    let mut signing = off.clone();
    signing.spec = KeySpec::EcP256;
    signing.usage = crate::KeyUsage::Sign;
    let mut disabled = off.clone();
    disabled.state = KeyState::Disabled;
    assert_eq!(rules_of(&inventory(vec![rsa, signing, disabled])), vec![]);

    // A provider without schedules at all.
    let mut inv = inventory(vec![off]);
    inv.providers[0].capabilities.rotation_period = None;
    assert_eq!(rules_of(&inv), vec![]);
}

#[test]
fn rotation_overdue_fires_on_a_past_due_date_or_an_old_newest_version() {
    let mut late = key("p", "late");
    late.rotation = Some(RotationSchedule {
        period_days: 90,
        next_rotation: Some(NOW - Duration::days(3)),
    });
    let inv = inventory(vec![late.clone()]);
    assert_eq!(rules_of(&inv), vec![Rule::RotationOverdue]);
    let f = &evaluate(&inv, Options::default(), NOW).findings[0];
    assert_eq!(f.severity, Severity::High);
    assert!(f.message.contains("2026-11-20"), "{}", f.message);

    // Within the grace: silent.
    let grace = Options {
        rotation_grace_days: 5,
        ..Options::default()
    };
    assert!(evaluate(&inv, grace, NOW).findings.is_empty());

    // The next date is in the future but the newest version is 100 days old.
    let stale = key("p", "stale");
    let mut inv = inventory(vec![stale.clone()]);
    let version = |age: i64| crate::KeyVersion {
        id: "1".into(),
        created: NOW - Duration::days(age),
        state: VersionState::Enabled,
        primary: true,
        destroy_time: None,
        rotation: None,
    };
    inv.versions
        .insert(stale.uri.clone(), vec![version(300), version(100)]);
    assert_eq!(rules_of(&inv), vec![Rule::RotationOverdue]);
    inv.versions
        .insert(stale.uri, vec![version(300), version(20)]);
    assert_eq!(rules_of(&inv), vec![]);
}

#[test]
fn pending_deletion_fires_and_is_high_while_aliased() {
    let mut doomed = key("p", "doomed");
    doomed.state = KeyState::PendingDeletion {
        deletion_date: NOW + Duration::days(7),
    };
    let mut inv = inventory(vec![doomed.clone()]);
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule, Rule::PendingDeletion);
    assert_eq!(report.findings[0].severity, Severity::Medium);
    assert!(report.findings[0].message.contains("in 7 days"));

    inv.aliases = Some(vec![alias("billing", &doomed)]);
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings[0].severity, Severity::High);
    assert!(report.findings[0].message.contains("alias/billing"));

    assert_eq!(rules_of(&inventory(vec![key("p", "alive")])), vec![]);
}

#[test]
fn disabled_keys_with_aliases_fire_and_without_stay_silent() {
    let mut off = key("p", "old");
    off.state = KeyState::Disabled;
    let mut inv = inventory(vec![off.clone(), key("p", "new")]);
    assert_eq!(rules_of(&inv), vec![]);
    inv.aliases = Some(vec![alias("app", &off), alias("app2", &off)]);
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule, Rule::DisabledWithAlias);
    assert!(report.findings[0].message.contains("alias/app, alias/app2"));
    // An enabled key behind an alias is fine.
    let live = key("p", "live");
    let mut inv = inventory(vec![live.clone()]);
    inv.aliases = Some(vec![alias("app", &live)]);
    assert_eq!(rules_of(&inv), vec![]);
}

#[test]
fn wildcard_principals_fire_in_key_policies() {
    let k = key("p", "open");
    let mut inv = inventory(vec![k.clone()]);
    inv.key_policies.insert(
        k.uri.clone(),
        Policy::from_bindings(vec![Binding::role("user:alice", "admin")]),
    );
    assert_eq!(rules_of(&inv), vec![]);
    inv.key_policies.insert(
        k.uri,
        Policy::from_bindings(vec![
            Binding::role("user:alice", "admin"),
            Binding::actions("*", ["kms:Decrypt"]),
        ]),
    );
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule, Rule::WildcardPrincipal);
    assert!(report.findings[0].message.contains("kms:Decrypt"));
}

#[test]
fn wildcard_principals_fire_in_the_gateway_policy_for_allows_only() {
    let statement = |effect, principals: &[&str], roles: &[&str]| Statement {
        effect,
        actions: vec!["crypto:*".to_owned()],
        keys: None,
        principals: principals.iter().map(|s| (*s).to_owned()).collect(),
        roles: roles.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut inv = inventory(Vec::new());
    inv.access_policy = Some(AccessPolicy {
        roles: BTreeMap::new(),
        statements: vec![
            statement(Effect::Deny, &["*"], &[]),
            statement(Effect::Allow, &["ci-*"], &[]),
            statement(Effect::Allow, &[], &["app"]),
        ],
    });
    assert_eq!(rules_of(&inv), vec![]);
    inv.access_policy = Some(AccessPolicy {
        roles: BTreeMap::new(),
        statements: vec![
            statement(Effect::Allow, &["alice", "*"], &[]),
            statement(Effect::Allow, &[], &[]),
        ],
    });
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings.len(), 2);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.provider == GATEWAY && f.key.is_none())
    );
    assert_eq!(report.findings[0].name, "access policy statements[0]");
    assert_eq!(
        report.summary.by_provider[GATEWAY][&Rule::WildcardPrincipal],
        2
    );
}

#[test]
fn unused_keys_fire_after_the_window_and_young_keys_do_not() {
    let used = key("p", "used");
    let idle = key("p", "idle");
    let mut young = key("p", "young");
    young.created = NOW - Duration::days(10);
    let mut inv = inventory(vec![used.clone(), idle.clone(), young.clone()]);
    let last_use = inv.last_use.as_mut().unwrap();
    last_use.remove(&idle.uri);
    last_use.remove(&young.uri);
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule, Rule::UnusedKey);
    assert_eq!(report.findings[0].name, "idle");
    assert_eq!(report.findings[0].severity, Severity::Low);

    // Used 100 days ago: unused with the default 90, used with 120.
    inv.last_use
        .as_mut()
        .unwrap()
        .insert(idle.uri.clone(), NOW - Duration::days(100));
    assert_eq!(evaluate(&inv, Options::default(), NOW).findings.len(), 1);
    let wide = Options {
        unused_days: 120,
        ..Options::default()
    };
    assert!(evaluate(&inv, wide, NOW).findings.is_empty());

    // Without the audit log the rule does not run.
    inv.last_use = None;
    assert!(evaluate(&inv, Options::default(), NOW).findings.is_empty());
}

#[test]
fn provider_errors_are_reported_not_counted() {
    let mut inv = inventory(vec![key("p", "good")]);
    inv.providers.push(provider("azure"));
    inv.keys.errors.push(ProviderFailure {
        provider: "azure".into(),
        kind: "unavailable".into(),
        message: "vault unreachable".into(),
    });
    inv.errors.push(SourceError {
        source: "aliases".into(),
        key: None,
        message: "permission denied".into(),
    });
    let report = evaluate(&inv, Options::default(), NOW);
    assert_eq!(report.errors.len(), 2);
    assert_eq!(report.errors[0].source, "azure");
    assert!(report.errors[0].message.contains("vault unreachable"));
    assert!(!report.summary.by_provider.contains_key("azure"));
}

/// A report with one finding of each kind of awkward text.
fn awkward_report() -> Report {
    let mut off = key("p", "a,b");
    off.rotation = None;
    off.name = "say \"hi\"\nthere".into();
    let mut doomed = key("p", "pipe|key");
    doomed.state = KeyState::PendingDeletion {
        deletion_date: NOW + Duration::days(3),
    };
    evaluate(&inventory(vec![off, doomed]), Options::default(), NOW)
}

#[test]
fn markdown_has_a_summary_and_a_findings_table() {
    let md = awkward_report().to_markdown();
    assert!(md.starts_with("# keygate compliance report\n"));
    assert!(md.contains(
        "| Provider | rotation-off | rotation-overdue | pending-deletion | disabled-with-alias | wildcard-principal | unused-key | Total |"
    ));
    assert!(md.contains("| p | 1 | 0 | 1 | 0 | 0 | 0 | 2 |"), "{md}");
    assert!(md.contains("| Severity | Rule | Provider | Key | Message |"));
    // Pipes escaped and newlines flattened, so every row stays one table row.
    assert!(md.contains("pipe\\|key"), "{md}");
    assert!(md.contains("say \"hi\" there"), "{md}");
    assert!(md.contains("**2 findings**: 0 high, 2 medium, 0 low."));
    let empty = evaluate(&inventory(Vec::new()), Options::default(), NOW).to_markdown();
    assert!(empty.contains("No findings."));
}

#[test]
fn csv_quotes_commas_quotes_and_newlines() {
    let csv = awkward_report().to_csv();
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("severity,rule,provider,key,name,message")
    );
    assert!(csv.ends_with("\r\n"));
    // The URI holds a comma, the name a quote and a newline.
    assert!(
        csv.contains("medium,rotation-off,p,\"p://a,b\",\"say \"\"hi\"\"\nthere\","),
        "{csv}"
    );
    assert!(
        csv.contains("medium,pending-deletion,p,p://pipe|key,pipe|key,"),
        "{csv}"
    );
}

#[test]
fn json_has_the_documented_shape() {
    let json: serde_json::Value = serde_json::from_str(&awkward_report().to_json()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["errors", "findings", "generated", "options", "summary"]
    );
    assert_eq!(json["generated"], "2026-11-23T12:00:00Z");
    assert_eq!(json["options"]["unused_days"], 90);
    assert_eq!(json["summary"]["findings"], 2);
    assert_eq!(json["summary"]["by_severity"]["medium"], 2);
    assert_eq!(json["summary"]["by_rule"]["rotation-off"], 1);
    assert_eq!(json["summary"]["by_provider"]["p"]["pending-deletion"], 1);
    let f = &json["findings"][0];
    assert_eq!(f["severity"], "medium");
    assert!(f["rule"].is_string() && f["provider"] == "p" && f["key"].is_string());
    assert!(f["message"].is_string() && f["name"].is_string());
    // It reads back.
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, awkward_report());
}

#[test]
fn severities_parse_and_order() {
    assert_eq!("high".parse::<Severity>().unwrap(), Severity::High);
    assert!("urgent".parse::<Severity>().is_err());
    assert!(Severity::High > Severity::Medium && Severity::Medium > Severity::Low);
    let report = awkward_report();
    assert_eq!(report.at_least(Severity::Medium), 2);
    assert_eq!(report.at_least(Severity::High), 0);
}
