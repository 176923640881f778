#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate_core::Error;
use keygate_core::cost::{CostReport, Estate, EstateProvider, PriceList, price_estate};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use super::figures::request_lines;
use super::*;
use crate::app::Action;
use crate::fixtures::{self, NOW, ctx};
use crate::keymap;
use crate::screens::policy::io_tests::FakeGateway;

fn loaded_with(report: CostReport) -> State {
    let mut s = State::default();
    let effects = s.update(Msg::Refresh, &ctx(true));
    assert_eq!(
        effects,
        vec![Effect::Run(Cmd::Load {
            generation: 1,
            since: NOW - Duration::days(30),
        })]
    );
    s.update(
        Msg::Loaded {
            generation: 1,
            result: Ok(Box::new(report)),
        },
        &ctx(true),
    );
    s
}

fn loaded() -> State {
    loaded_with(fixtures::cost_report())
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::from(code)
}

fn press(s: &mut State, code: KeyCode) -> Vec<Effect<Cmd>> {
    let msg = s.on_key(key(code), &ctx(true)).unwrap();
    s.update(msg, &ctx(true))
}

fn render(state: &State, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| state.view(f, f.area(), &ctx(true)))
        .unwrap();
    terminal.backend().to_string()
}

fn micros(usd: f64) -> i64 {
    (usd * 1_000_000.0).round() as i64
}

#[test]
fn the_fixture_estate_costs_what_its_hand_computation_says() {
    let r = fixtures::cost_report();
    let by_name = |n: &str| r.providers.iter().find(|p| p.provider == n).unwrap();
    let aws = by_name("aws");
    assert_eq!((aws.keys, aws.key_versions), (2, 4));
    assert_eq!(micros(aws.monthly_usd), 4_000_000);
    assert_eq!(micros(aws.requests_usd), 165_000);
    let gcp = by_name("gcp");
    assert_eq!(micros(gcp.total_usd), 252_000);
    // old-reports is pending deletion: not billed, not counted as a key.
    assert_eq!(by_name("local").keys, 2);
    assert_eq!(micros(r.total_usd), 4_417_000);
    // The whole estate on AWS: keys $3 + $1 + $3 + $1 + $3 (4 versions, 3 billed) = $11,
    // requests $0.0036 + $0.165 + $0.012 + $0.0006 = $0.1812.
    let on = |kind| micros(r.elsewhere[&kind]);
    assert_eq!(on(keygate_core::ProviderKind::Aws), 11_181_200);
    // On GCP: 12 versions × $0.06 and every crypto call at $0.03, management free.
    assert_eq!(on(keygate_core::ProviderKind::Gcp), 870_600);
    assert_eq!(on(keygate_core::ProviderKind::Local), 0);
}

#[test]
fn the_worked_figures_add_up_to_the_report() {
    let r = fixtures::cost_report();
    for p in &r.providers {
        let lines = request_lines(r.prices.of(p.kind), &p.requests);
        let sum: i64 = lines.iter().map(|l| micros(l.usd)).sum();
        assert_eq!(sum, micros(p.requests_usd), "{}", p.provider);
    }
    for k in &r.keys {
        let lines = request_lines(r.prices.of(k.kind), &k.requests);
        let sum: i64 = lines.iter().map(|l| micros(l.usd)).sum();
        assert_eq!(sum, micros(k.requests_usd), "{}", k.uri);
    }
}

#[test]
fn the_screen_shows_each_row_and_the_selected_one_worked_out() {
    let mut s = loaded();
    // Keys are by provider, then URI: aws's first.
    assert_eq!(s.selected_key().unwrap().uri, "aws-kms://us-east-1/legacy");
    s.update(Msg::Move(1), &ctx(true));
    let screen = render(&s, 120, 40);
    let aws = screen.lines().find(|l| l.contains("│aws ")).unwrap();
    for figure in ["$4.00", "55,000", "$0.165", "$4.165"] {
        assert!(aws.contains(figure), "{figure} in {aws}");
    }
    let total = screen.lines().find(|l| l.contains("│TOTAL")).unwrap();
    for figure in ["$4.24", "$0.177", "$4.417", "$11.1812", "$0.8706"] {
        assert!(total.contains(figure), "{figure} in {total}");
    }
    assert!(
        screen.contains("symmetric      35,000 × $0.03/10k = $0.105"),
        "{screen}"
    );
    assert!(
        screen
            .contains("monthly $1.00/key + $1.00/version beyond 1, max 3 billed (aws, 2026-12-07)")
    );
    // At 80 columns the estate elsewhere is one line.
    let narrow = render(&s, 80, 24);
    assert!(
        narrow.contains("Same estate on: local $0.00 · aws $11.1812"),
        "{narrow}"
    );
}

#[test]
fn the_window_cycles_and_each_change_prices_again() {
    let mut s = loaded();
    assert_eq!(s.window(), Window::Month);
    let effects = press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.window(), Window::Quarter);
    assert_eq!(
        effects,
        vec![Effect::Run(Cmd::Load {
            generation: 2,
            since: NOW - Duration::days(90),
        })]
    );
    assert!(s.loading());
    // The 30-day report stays on screen meanwhile, marked as being replaced.
    assert!(s.report().is_some());
    assert!(render(&s, 120, 40).contains("pricing 90d…"));
    // Round to 7 days; an answer to an older window is dropped.
    let effects = press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.window(), Window::Week);
    assert_eq!(
        effects,
        vec![Effect::Run(Cmd::Load {
            generation: 3,
            since: NOW - Duration::days(7),
        })]
    );
    let mut quarter = fixtures::cost_report();
    quarter.since = NOW - Duration::days(90);
    s.update(
        Msg::Loaded {
            generation: 2,
            result: Ok(Box::new(quarter)),
        },
        &ctx(true),
    );
    assert!(s.loading());
    assert_eq!(s.report().unwrap().since, NOW - Duration::days(30));
    let mut week = fixtures::cost_report();
    week.since = NOW - Duration::days(7);
    s.update(
        Msg::Loaded {
            generation: 3,
            result: Ok(Box::new(week)),
        },
        &ctx(true),
    );
    assert!(!s.loading());
    assert_eq!(s.report().unwrap().since, NOW - Duration::days(7));
    let screen = render(&s, 120, 40);
    assert!(screen.contains("window [7d] 30d 90d"), "{screen}");
    assert!(screen.contains("requests over 7d"), "{screen}");
    // S goes back the other way.
    press(&mut s, KeyCode::Char('S'));
    assert_eq!(s.window(), Window::Quarter);
    press(&mut s, KeyCode::Char('S'));
    assert_eq!(s.window(), Window::Month);
}

#[test]
fn a_refusal_or_a_failure_is_shown_and_a_failed_refresh_keeps_the_last_report() {
    let mut s = State::default();
    s.update(Msg::Refresh, &ctx(true));
    s.update(
        Msg::Loaded {
            generation: 1,
            result: Err(LoadError::Refused("permission denied: auditor only".into())),
        },
        &ctx(true),
    );
    assert!(!s.loading());
    assert!(s.report().is_none());
    let screen = render(&s, 80, 24);
    assert!(
        screen.contains("refused: the cost view needs audit:read"),
        "{screen}"
    );
    assert!(screen.contains("the gateway said: permission denied: auditor only"));
    // A later success clears the error.
    s.update(Msg::Refresh, &ctx(true));
    s.update(
        Msg::Loaded {
            generation: 2,
            result: Ok(Box::new(fixtures::cost_report())),
        },
        &ctx(true),
    );
    assert!(s.error().is_none());
    // A failed refresh keeps the report and says so on the status line.
    s.update(Msg::Refresh, &ctx(true));
    s.update(
        Msg::Loaded {
            generation: 3,
            result: Err(LoadError::Failed("unavailable: gateway down".into())),
        },
        &ctx(true),
    );
    assert!(s.report().is_some());
    assert_eq!(
        s.error(),
        Some(&LoadError::Failed("unavailable: gateway down".into()))
    );
    let screen = render(&s, 120, 40);
    assert!(
        screen.contains("refresh failed: cannot price the estate: unavailable: gateway down"),
        "{screen}"
    );
}

#[test]
fn gateway_errors_are_sorted_by_what_the_user_can_do() {
    assert!(matches!(
        LoadError::from_error(&Error::PermissionDenied("no audit:read".into())),
        LoadError::Refused(m) if m.contains("no audit:read")
    ));
    assert!(matches!(
        LoadError::from_error(&Error::unsupported("the cost view")),
        LoadError::Unsupported(_)
    ));
    let failed = LoadError::from_error(&Error::unavailable("store locked"));
    assert!(failed.summary().contains("store locked"), "{failed:?}");
    assert_eq!(failed.detail(), None);
}

#[test]
fn moving_is_bounded_per_table_and_tab_switches_tables() {
    let mut s = loaded();
    let keys = s.report().unwrap().keys.len();
    s.update(Msg::Move(-3), &ctx(true));
    assert_eq!(s.key, 0);
    press(&mut s, KeyCode::Char('G'));
    assert_eq!(s.key, keys - 1);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.focus(), Focus::Providers);
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.selected_provider().unwrap().provider, "gcp");
    // The keys table kept its place.
    assert_eq!(s.key, keys - 1);
    press(&mut s, KeyCode::Char('g'));
    assert_eq!(s.selected_provider().unwrap().provider, "local");
    // A smaller estate on reload clamps both selections.
    press(&mut s, KeyCode::Char('G'));
    let mut smaller = fixtures::cost_report();
    smaller.providers.truncate(1);
    smaller.keys.truncate(1);
    s.update(Msg::Refresh, &ctx(true));
    s.update(
        Msg::Loaded {
            generation: 2,
            result: Ok(Box::new(smaller)),
        },
        &ctx(true),
    );
    assert_eq!((s.provider, s.key), (0, 0));
}

#[test]
fn enter_opens_a_key_or_goes_to_a_provider_s_first_key() {
    let mut s = loaded();
    assert_eq!(
        press(&mut s, KeyCode::Enter),
        vec![Effect::Open(Route::KeyDetail {
            key: "aws-kms://us-east-1/legacy".into()
        })]
    );
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Char('G'));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(s.focus(), Focus::Keys);
    assert_eq!(s.selected_key().unwrap().provider, "gcp");
    // A provider without keys says so.
    let mut bare = fixtures::cost_report();
    bare.keys.retain(|k| k.provider != "gcp");
    let mut s = loaded_with(bare);
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Char('G'));
    assert_eq!(
        press(&mut s, KeyCode::Enter),
        vec![Effect::Notify(Notice::info("gcp holds no billed keys"))]
    );
    // Nothing loaded: nothing to open.
    let mut empty = State::default();
    assert!(empty.update(Msg::Open, &ctx(true)).is_empty());
}

#[test]
fn every_binding_does_something_and_none_mutates() {
    let s = loaded();
    for b in BINDINGS {
        assert!(!b.mutates, "{}", b.keys);
        for k in keymap::parse(b.keys).unwrap() {
            assert!(s.on_key(k, &ctx(true)).is_some(), "{}", b.keys);
        }
    }
    assert_eq!(s.on_key(key(KeyCode::Char('q')), &ctx(true)), None);
    assert_eq!(s.on_key(key(KeyCode::Esc), &ctx(true)), None);
}

async fn run_one(cmd: Cmd, gw: Arc<FakeGateway>) -> Msg {
    let (tx, mut rx) = mpsc::unbounded_channel();
    run(cmd, gw, Emit::new(tx, Action::Cost)).await;
    match rx.recv().await {
        Some(Action::Cost(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn run_asks_the_gateway_for_the_window_and_sorts_its_errors() {
    let gw = Arc::new(FakeGateway::default());
    let load = |generation| Cmd::Load {
        generation,
        since: NOW - Duration::days(7),
    };
    *gw.cost.lock().unwrap() = Some(Ok(fixtures::cost_report()));
    let msg = run_one(load(1), Arc::clone(&gw)).await;
    assert_eq!(
        msg,
        Msg::Loaded {
            generation: 1,
            result: Ok(Box::new(fixtures::cost_report()))
        }
    );
    assert_eq!(
        gw.calls.lock().unwrap().as_slice(),
        ["cost 2026-11-16 12:00"]
    );
    *gw.cost.lock().unwrap() = Some(Err(Error::PermissionDenied("audit:read".into())));
    let Msg::Loaded { result, .. } = run_one(load(2), Arc::clone(&gw)).await else {
        panic!()
    };
    assert!(matches!(result, Err(LoadError::Refused(_))), "{result:?}");
    // A gateway without a cost view (the trait's default answer).
    let Msg::Loaded { result, .. } = run_one(load(3), gw).await else {
        panic!()
    };
    assert!(
        matches!(result, Err(LoadError::Unsupported(_))),
        "{result:?}"
    );
}

// Snapshots, at 80×24 and 120×40, of a read-only console (the screen changes nothing).

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snapshot(name: &str, state: &State) {
    for (w, h) in SIZES {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!(format!("cost_{name}_{w}x{h}"), render(state, w, h));
        });
    }
}

#[test]
fn snapshots() {
    let mut keys = loaded();
    keys.update(Msg::Move(1), &ctx(true));
    snapshot("keys", &keys);

    let mut providers = loaded();
    press(&mut providers, KeyCode::Tab);
    press(&mut providers, KeyCode::Char('j'));
    snapshot("provider_selected", &providers);

    let mut loading = State::default();
    loading.update(Msg::Refresh, &ctx(true));
    snapshot("loading", &loading);

    let mut refused = State::default();
    refused.update(Msg::Refresh, &ctx(true));
    refused.update(
        Msg::Loaded {
            generation: 1,
            result: Err(LoadError::Refused(
                "permission denied: local:app may not audit:read".into(),
            )),
        },
        &ctx(true),
    );
    snapshot("refused", &refused);

    let mut failed = loaded();
    failed.update(Msg::Refresh, &ctx(true));
    failed.update(
        Msg::Loaded {
            generation: 2,
            result: Err(LoadError::Failed("unavailable: connection refused".into())),
        },
        &ctx(true),
    );
    snapshot("refresh_failed", &failed);

    let empty = Estate {
        providers: vec![EstateProvider {
            name: "local".into(),
            kind: keygate_core::ProviderKind::Local,
        }],
        keys: Vec::new(),
        counts: Vec::new(),
        since: NOW - Duration::days(30),
        until: NOW,
        notes: vec!["the local provider could not list its keys: store locked".into()],
    };
    let empty = price_estate(&empty, &PriceList::default());
    snapshot("empty_with_note", &loaded_with(empty));
}
