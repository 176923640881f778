#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use keygate_core::access::{AccessPolicy, Effect as Allow, Statement};
use keygate_core::api::{Alias, KeyListing, ProviderFailure, ProviderSummary};
use keygate_core::compliance::{Inventory, Rule, Severity, evaluate};
use keygate_core::{Binding, KeyRef, KeySpec, Policy, ProviderKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use time::Duration;

use super::*;
use crate::fixtures::{self, NOW, ctx};
use crate::keymap;

fn summary(name: &str, aws: bool) -> ProviderSummary {
    ProviderSummary {
        name: name.to_owned(),
        kind: if aws {
            ProviderKind::Aws
        } else {
            ProviderKind::Local
        },
        uri_prefix: format!("{name}://"),
        capabilities: if aws {
            fixtures::aws_capabilities()
        } else {
            fixtures::local_capabilities()
        },
    }
}

/// The fixture keys plus an idle AWS key without rotation, a local key overdue for
/// rotation, an alias on the disabled and
/// the pending keys, a wildcard key policy, a gateway allow for everyone.
fn inventory() -> Inventory {
    let mut keys = fixtures::keys("local");
    keys.extend(fixtures::keys("aws"));
    let mut billing = fixtures::key("aws", "billing", KeySpec::Aes256);
    billing.created = NOW - Duration::days(200);
    keys.push(billing);
    let mut ledger = fixtures::key("local", "ledger", KeySpec::Aes256);
    ledger.rotation = Some(keygate_core::RotationSchedule {
        period_days: 30,
        next_rotation: Some(NOW - Duration::days(3)),
    });
    keys.push(ledger);
    let alias = |name: &str, provider: &str, id: &str| Alias {
        name: name.to_owned(),
        target: KeyRef::new(provider, id),
        created: NOW,
    };
    let last_use = keys
        .iter()
        .filter(|k| k.name != "billing")
        .map(|k| (k.uri.clone(), NOW - Duration::days(2)))
        .collect();
    let mut key_policies = BTreeMap::new();
    key_policies.insert(
        "aws-kms://us-east-1/orders".to_owned(),
        Policy::from_bindings(vec![Binding::actions("*", ["kms:Decrypt"])]),
    );
    Inventory {
        providers: vec![summary("local", false), summary("aws", true)],
        keys: KeyListing {
            keys,
            errors: Vec::new(),
        },
        aliases: Some(vec![
            alias("legacy-app", "aws", "legacy"),
            alias("reports", "local", "old-reports"),
        ]),
        key_policies,
        access_policy: Some(AccessPolicy {
            roles: BTreeMap::new(),
            statements: vec![Statement {
                effect: Allow::Allow,
                actions: vec!["keys:describe".into()],
                keys: None,
                principals: vec!["*".into()],
                roles: Vec::new(),
            }],
        }),
        last_use: Some(last_use),
        ..Inventory::default()
    }
}

fn report() -> Report {
    evaluate(&inventory(), Options::default(), NOW)
}

fn loaded_with(report: Report) -> State {
    let mut s = State::default();
    let effects = s.update(Msg::Refresh, &ctx(false));
    assert_eq!(
        effects,
        vec![Effect::Run(Cmd::Load {
            generation: 1,
            now: NOW
        })]
    );
    s.update(
        Msg::Loaded {
            generation: 1,
            result: Ok(Box::new(report)),
        },
        &ctx(false),
    );
    s
}

fn loaded() -> State {
    loaded_with(report())
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::from(code)
}

#[test]
fn the_fixture_report_has_one_finding_per_rule() {
    let r = report();
    let mut rules: Vec<Rule> = r.findings.iter().map(|f| f.rule).collect();
    rules.sort();
    rules.dedup();
    assert_eq!(rules, Rule::ALL.to_vec());
}

#[test]
fn a_load_shows_findings_highest_severity_first_and_drops_stale_answers() {
    let mut s = loaded();
    let severities: Vec<Severity> = s.findings().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
    assert_eq!(severities[0], Severity::High);
    // A refresh in flight; an answer for the old generation is ignored.
    s.update(Msg::Refresh, &ctx(false));
    assert!(s.loading());
    let empty = evaluate(&Inventory::default(), Options::default(), NOW);
    s.update(
        Msg::Loaded {
            generation: 1,
            result: Ok(Box::new(empty)),
        },
        &ctx(false),
    );
    assert!(s.loading());
    assert_eq!(s.findings().count(), report().findings.len());
    // A failed refresh keeps the last report.
    s.update(
        Msg::Loaded {
            generation: 2,
            result: Err("gateway down".into()),
        },
        &ctx(false),
    );
    assert!(!s.loading());
    assert!(s.report().is_some());
}

#[test]
fn sorting_cycles_columns_and_keeps_the_selection() {
    let mut s = loaded();
    s.update(Msg::Move(2), &ctx(false));
    let chosen = s.selected().unwrap().clone();
    s.update(Msg::SortNext, &ctx(false));
    assert_eq!(s.sort(), (Column::Rule, false));
    assert_eq!(s.selected().unwrap(), &chosen);
    let rules: Vec<Rule> = s.findings().map(|f| f.rule).collect();
    assert!(rules.windows(2).all(|w| w[0] <= w[1]), "{rules:?}");
    s.update(Msg::SortReverse, &ctx(false));
    let reversed: Vec<Rule> = s.findings().map(|f| f.rule).collect();
    assert!(reversed.windows(2).all(|w| w[0] >= w[1]), "{reversed:?}");
    for _ in 0..3 {
        s.update(Msg::SortNext, &ctx(false));
    }
    assert_eq!(s.sort().0, Column::Severity);
}

#[test]
fn moving_is_bounded_and_enter_opens_the_key_or_the_gateway_policy() {
    let mut s = loaded();
    let n = s.findings().count();
    s.update(Msg::Move(-5), &ctx(false));
    assert_eq!(s.selected, 0);
    s.update(Msg::Move(100), &ctx(false));
    assert_eq!(s.selected, n - 1);
    s.update(Msg::Top, &ctx(false));
    let first = s.selected().unwrap().clone();
    let expected = match &first.key {
        Some(k) => Route::KeyDetail { key: k.clone() },
        None => Route::Policy(PolicyTarget::Gateway),
    };
    assert_eq!(
        s.update(Msg::Open, &ctx(true)),
        vec![Effect::Open(expected)]
    );
    let gateway = s.findings().position(|f| f.key.is_none()).unwrap();
    s.update(Msg::Top, &ctx(false));
    s.update(Msg::Move(isize::try_from(gateway).unwrap()), &ctx(false));
    assert_eq!(
        s.update(Msg::Open, &ctx(false)),
        vec![Effect::Open(Route::Policy(PolicyTarget::Gateway))]
    );
    let pending = s
        .findings()
        .position(|f| f.rule == Rule::PendingDeletion)
        .unwrap();
    s.update(Msg::Top, &ctx(false));
    s.update(Msg::Move(isize::try_from(pending).unwrap()), &ctx(false));
    assert_eq!(
        s.update(Msg::Open, &ctx(false)),
        vec![Effect::Open(Route::KeyDetail {
            key: "local://old-reports".into()
        })]
    );
}

fn export_keys(s: &mut State, ctx: &Ctx, keys: &[KeyEvent]) -> Vec<Effect<Cmd>> {
    let mut last = Vec::new();
    for k in keys {
        let msg = s.on_key(*k, ctx).unwrap();
        last = s.update(msg, ctx);
    }
    last
}

#[test]
fn export_writes_the_chosen_format_to_a_dated_file_even_when_readonly() {
    let readonly = ctx(true);
    let mut s = loaded();
    let effects = export_keys(
        &mut s,
        &readonly,
        &[key(KeyCode::Char('e')), key(KeyCode::Char('c'))],
    );
    assert!(effects.is_empty());
    assert_eq!(
        s.export().unwrap().path,
        "keygate-compliance-2026-11-23.csv"
    );
    let effects = export_keys(&mut s, &readonly, &[key(KeyCode::Enter)]);
    assert!(effects.contains(&Effect::Run(Cmd::Write {
        path: "keygate-compliance-2026-11-23.csv".into(),
        content: report().to_csv(),
    })));
    assert!(s.export().is_none());
    let done = s.update(
        Msg::Exported(Ok("/tmp/keygate-compliance-2026-11-23.csv".into())),
        &readonly,
    );
    assert_eq!(
        done,
        vec![Effect::Notify(Notice::info(
            "compliance report written to /tmp/keygate-compliance-2026-11-23.csv"
        ))]
    );
}

#[test]
fn export_takes_a_typed_path_refuses_an_empty_one_and_cancels() {
    let c = ctx(false);
    let mut s = loaded();
    let ctrl_u = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
    let mut keys = vec![key(KeyCode::Char('e')), key(KeyCode::Char('j')), ctrl_u];
    keys.push(key(KeyCode::Enter));
    assert!(export_keys(&mut s, &c, &keys).is_empty());
    assert_eq!(
        s.export().unwrap().error.as_deref(),
        Some("type a file name")
    );
    let typed: Vec<KeyEvent> = "out/r.json"
        .chars()
        .map(|ch| key(KeyCode::Char(ch)))
        .chain([key(KeyCode::Enter)])
        .collect();
    let effects = export_keys(&mut s, &c, &typed);
    assert!(effects.contains(&Effect::Run(Cmd::Write {
        path: "out/r.json".into(),
        content: report().to_json(),
    })));
    // esc closes the dialog at either step, writing nothing.
    for keys in [
        vec![key(KeyCode::Char('e')), key(KeyCode::Esc)],
        vec![
            key(KeyCode::Char('e')),
            key(KeyCode::Char('m')),
            key(KeyCode::Esc),
        ],
    ] {
        assert!(export_keys(&mut s, &c, &keys).is_empty());
        assert!(s.export().is_none());
    }
    // Nothing to export before the first report.
    let mut empty = State::default();
    assert!(matches!(
        &empty.update(Msg::ExportStart, &c)[..],
        [Effect::Notify(n)] if n.error
    ));
    let failed = s.update(Msg::Exported(Err("cannot write x: denied".into())), &c);
    assert_eq!(
        failed,
        vec![Effect::Notify(Notice::error("cannot write x: denied"))]
    );
}

#[tokio::test]
async fn an_export_writes_the_file_and_answers_its_path() {
    let dir = std::env::temp_dir().join(format!("keygate-compliance-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.md");
    let written = write(path.display().to_string(), "# report\n".into()).await;
    assert_eq!(written, Ok(path.display().to_string()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# report\n");
    let missing = dir.join("no-such-dir").join("r.md");
    let failed = write(missing.display().to_string(), String::new()).await;
    assert!(failed.unwrap_err().starts_with("cannot write "));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_binding_does_something() {
    let s = loaded();
    for b in BINDINGS {
        for k in keymap::parse(b.keys).unwrap() {
            assert!(s.on_key(k, &ctx(false)).is_some(), "{}", b.keys);
        }
    }
    assert_eq!(s.on_key(key(KeyCode::Char('q')), &ctx(false)), None);
    assert_eq!(s.on_key(key(KeyCode::Esc), &ctx(false)), None);
}

// Snapshots, at 80×24 and 120×40.

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snapshot(name: &str, state: &State) {
    for (w, h) in SIZES {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| state.view(f, f.area(), &ctx(true)))
            .unwrap();
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!(
                format!("compliance_{name}_{w}x{h}"),
                terminal.backend().to_string()
            );
        });
    }
}

#[test]
fn snapshots() {
    snapshot("summary_and_findings", &loaded());

    let mut clean = Inventory {
        providers: vec![summary("local", false)],
        ..Inventory::default()
    };
    clean.aliases = Some(Vec::new());
    snapshot(
        "empty",
        &loaded_with(evaluate(&clean, Options::default(), NOW)),
    );

    let mut failing = inventory();
    failing.providers.push(summary("azure", false));
    failing.keys.errors.push(ProviderFailure {
        provider: "azure".into(),
        kind: "unavailable".into(),
        message: "vault kv-prod unreachable".into(),
    });
    snapshot(
        "provider_error",
        &loaded_with(evaluate(&failing, Options::default(), NOW)),
    );

    let mut exporting = loaded();
    export_keys(
        &mut exporting,
        &ctx(true),
        &[key(KeyCode::Char('e')), key(KeyCode::Char('m'))],
    );
    snapshot("export", &exporting);

    let mut loading = State::default();
    loading.update(Msg::Refresh, &ctx(true));
    snapshot("loading", &loading);
}
