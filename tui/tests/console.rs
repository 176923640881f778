//! Snapshots of the console core's screens (keys, key detail, action dialogs, help, palette,
//! cost)
//! on `TestBackend`, at 80×24 and 120×40, with fixed data and a fixed `now`.
#![allow(clippy::unwrap_used)]

use keygate_core::access::Identity;
use keygate_core::audit::{AuditEvent, AuditOutcome};
use keygate_core::{Binding, KeyVersion, Policy, VersionState};
use keygate_tui::app::{Action, Command, Model, Route, StatusError, init, update};
use keygate_tui::fixtures::{self, NOW};
use keygate_tui::screens::actions::Request;
use keygate_tui::screens::{cost, detail, keys};
use keygate_tui::theme::Theme;
use keygate_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::Duration;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn render(model: &Model, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view(model, f)).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn base(readonly: bool, w: u16, h: u16) -> Model {
    let mut m = Model::new(readonly, Theme::colored(), NOW);
    init(&mut m);
    update(&mut m, Action::Resize(w, h));
    update(
        &mut m,
        Action::Identity(Ok(Identity {
            principal: "local:alice".into(),
            role: "admin".into(),
        })),
    );
    m
}

fn loaded(readonly: bool, w: u16, h: u16) -> Model {
    let mut m = base(readonly, w, h);
    let ctx = m.ctx();
    fixtures::load_keys(
        &mut m.keys,
        &ctx,
        &["local", "aws"],
        vec![
            ("local", Ok(fixtures::keys("local"))),
            ("aws", Ok(fixtures::keys("aws"))),
        ],
    );
    m
}

fn key(m: &mut Model, code: KeyCode) {
    update(m, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn keys_msg(m: &mut Model, msg: keys::Msg) {
    update(m, Action::Keys(msg));
}

fn snap(name: &str, build: impl Fn(u16, u16) -> Model) {
    for (w, h) in SIZES {
        let model = build(w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&model, w, h));
    }
}

#[test]
fn keys_loading() {
    snap("keys_loading", |w, h| {
        let mut m = base(false, w, h);
        let ctx = m.ctx();
        fixtures::load_keys(
            &mut m.keys,
            &ctx,
            &["local", "aws"],
            vec![("local", Ok(fixtures::keys("local")))],
        );
        m
    });
}

#[test]
fn keys_loaded() {
    snap("keys_loaded", |w, h| loaded(false, w, h));
}

/// The header from the gateway's status: providers that answered out of all, and the
/// audit head. A refused status keeps the plain provider count.
#[test]
fn keys_with_status() {
    snap("keys_with_status", |w, h| {
        let mut m = loaded(false, w, h);
        update(&mut m, Action::Status(Ok(fixtures::status())));
        m
    });
    let mut m = loaded(false, 80, 24);
    update(
        &mut m,
        Action::Status(Err(StatusError::Refused("denied".into()))),
    );
    assert!(
        render(&m, 80, 24).starts_with(" keygate │ Keys │ local:alice (admin) │ 2 providers\n")
    );
}

#[test]
fn keys_filtered() {
    snap("keys_filtered", |w, h| {
        let mut m = loaded(false, w, h);
        key(&mut m, KeyCode::Char('/'));
        for c in "label:team=pay".chars() {
            key(&mut m, KeyCode::Char(c));
        }
        m
    });
}

#[test]
fn keys_bad_filter() {
    snap("keys_bad_filter", |w, h| {
        let mut m = loaded(false, w, h);
        key(&mut m, KeyCode::Char('/'));
        keys_msg(
            &mut m,
            keys::Msg::SetFilter("provider:aws colour:red".into()),
        );
        m
    });
}

#[test]
fn keys_provider_error() {
    snap("keys_provider_error", |w, h| {
        let mut m = base(false, w, h);
        let ctx = m.ctx();
        fixtures::load_keys(
            &mut m.keys,
            &ctx,
            &["local", "aws"],
            vec![
                ("local", Ok(fixtures::keys("local"))),
                (
                    "aws",
                    Err("unavailable: cannot reach https://kms.us-east-1.amazonaws.com".into()),
                ),
            ],
        );
        m
    });
}

#[test]
fn keys_empty() {
    snap("keys_empty", |w, h| {
        let mut m = base(false, w, h);
        let ctx = m.ctx();
        fixtures::load_keys(
            &mut m.keys,
            &ctx,
            &["local"],
            vec![("local", Ok(Vec::new()))],
        );
        m
    });
}

#[test]
fn keys_sorted_reversed_and_scrolled() {
    snap("keys_many", |w, h| {
        let mut m = base(false, w, h);
        let ctx = m.ctx();
        fixtures::load_keys(
            &mut m.keys,
            &ctx,
            &["local"],
            vec![("local", Ok(fixtures::many_keys("local", 200)))],
        );
        key(&mut m, KeyCode::Char('s'));
        key(&mut m, KeyCode::Char('S'));
        key(&mut m, KeyCode::PageDown);
        key(&mut m, KeyCode::Char('j'));
        m
    });
}

#[test]
fn keys_readonly() {
    snap("keys_readonly", |w, h| loaded(true, w, h));
}

fn event(seq: u64, action: &str, outcome: AuditOutcome) -> AuditEvent {
    AuditEvent {
        seq,
        time: NOW - Duration::hours(i64::try_from(10 - seq).unwrap()),
        request_id: format!("req-{seq}"),
        principal: "local:alice".into(),
        source: "console".into(),
        action: action.into(),
        provider: Some("local".into()),
        key: Some("local://payments".into()),
        key_version: Some("3".into()),
        outcome,
        error_kind: None,
        duration_us: 120,
        intent_seq: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn detail_model(w: u16, h: u16) -> Model {
    let versions = (1..=3)
        .map(|i| KeyVersion {
            id: i.to_string(),
            created: NOW - Duration::days(90 * (3 - i)),
            state: VersionState::Enabled,
            primary: i == 3,
            destroy_time: None,
            rotation: None,
        })
        .collect();
    detail_with(versions, w, h)
}

/// The detail of `payments` with `versions`.
fn detail_with(versions: Vec<KeyVersion>, w: u16, h: u16) -> Model {
    let mut m = loaded(false, w, h);
    let cmds = update(
        &mut m,
        Action::Open(Route::KeyDetail {
            key: "local://payments".into(),
        }),
    );
    let g = cmds
        .iter()
        .find_map(|c| match c {
            Command::Detail(detail::Cmd::Load { generation, .. }) => Some(*generation),
            _ => None,
        })
        .unwrap();
    let d = |m: &mut Model, msg| {
        update(m, Action::Detail(msg));
    };
    d(
        &mut m,
        detail::Msg::Metadata(g, Ok(fixtures::keys("local").remove(0))),
    );
    d(&mut m, detail::Msg::Providers(g, Ok(fixtures::providers())));
    d(&mut m, detail::Msg::Versions(g, Ok(versions)));
    d(
        &mut m,
        detail::Msg::Policy(
            g,
            Ok(Policy::from_bindings(vec![
                Binding::role("user:alice", "admin"),
                Binding::role("*", "viewer"),
            ])),
        ),
    );
    d(
        &mut m,
        detail::Msg::Audit(
            g,
            Ok(detail::Recent {
                events: vec![
                    event(7, "keys:describe", AuditOutcome::Success),
                    event(8, "crypto:encrypt", AuditOutcome::Denied),
                    event(9, "keys:rotate", AuditOutcome::Success),
                ],
                partial: false,
            }),
        ),
    );
    m
}

#[test]
fn detail_loaded() {
    snap("detail", detail_model);
}

/// Versions in every state but destroyed, the third row (version 2, disabled) selected with
/// `]`; the destroy-scheduled version shows when it will be destroyed.
#[test]
fn detail_versions_selected() {
    snap("detail_versions", |w, h| {
        let mut m = detail_with(fixtures::versions(), w, h);
        key(&mut m, KeyCode::Char(']'));
        key(&mut m, KeyCode::Char(']'));
        assert_eq!(m.detail.selected_version().unwrap().id, "2");
        m
    });
}

/// `X` on the selected version: the destroy confirmation.
#[test]
fn dialog_destroy_version() {
    snap("dialog_destroy_version", |w, h| {
        let mut m = detail_with(fixtures::versions(), w, h);
        key(&mut m, KeyCode::Char(']'));
        key(&mut m, KeyCode::Char('X'));
        assert!(m.detail.dialog().is_some());
        m
    });
}

/// The detail's help: its bindings with the version actions, and under `--readonly` the
/// selection keys without them.
#[test]
fn help_detail() {
    for readonly in [false, true] {
        let name = if readonly {
            "help_detail_readonly"
        } else {
            "help_detail"
        };
        snap(name, |w, h| {
            let mut m = detail_with(fixtures::versions(), w, h);
            m.readonly = readonly;
            key(&mut m, KeyCode::Char('?'));
            m
        });
    }
}

#[test]
fn detail_loading_with_a_failed_part() {
    snap("detail_partial", |w, h| {
        let mut m = loaded(false, w, h);
        let cmds = update(
            &mut m,
            Action::Open(Route::KeyDetail {
                key: "local://signing".into(),
            }),
        );
        let g = cmds
            .iter()
            .find_map(|c| match c {
                Command::Detail(detail::Cmd::Load { generation, .. }) => Some(*generation),
                _ => None,
            })
            .unwrap();
        update(
            &mut m,
            Action::Detail(detail::Msg::Metadata(
                g,
                Ok(fixtures::keys("local").remove(1)),
            )),
        );
        update(
            &mut m,
            Action::Detail(detail::Msg::Policy(
                g,
                Err("permission denied: keys:get-policy".into()),
            )),
        );
        m
    });
}

fn with_dialog(request: Request, select: usize) -> impl Fn(u16, u16) -> Model {
    move |w, h| {
        let mut m = loaded(false, w, h);
        keys_msg(&mut m, keys::Msg::Move(isize::try_from(select).unwrap()));
        keys_msg(&mut m, keys::Msg::Action(request));
        assert!(m.keys.dialog().is_some(), "{request:?}");
        m
    }
}

// Rows by name: 0 legacy, 1 old-reports, 2 orders, 3 payments, 4 signing.
#[test]
fn dialog_create() {
    snap("dialog_create", with_dialog(Request::Create, 0));
}

#[test]
fn dialog_rotate() {
    snap("dialog_rotate", with_dialog(Request::Rotate, 2));
}

#[test]
fn dialog_schedule_with_an_error() {
    snap("dialog_schedule_error", |w, h| {
        let mut m = with_dialog(Request::Schedule, 2)(w, h);
        key(&mut m, KeyCode::Backspace);
        key(&mut m, KeyCode::Backspace);
        key(&mut m, KeyCode::Enter);
        m
    });
}

#[test]
fn dialog_rotate_at() {
    snap("dialog_rotate_at", with_dialog(Request::RotateAt, 2));
}

#[test]
fn dialog_disable() {
    snap("dialog_disable", with_dialog(Request::Toggle, 2));
}

#[test]
fn dialog_delete() {
    snap("dialog_delete", |w, h| {
        let mut m = with_dialog(Request::Delete, 2)(w, h);
        for c in "ord".chars() {
            key(&mut m, KeyCode::Char(c));
        }
        m
    });
}

#[test]
fn dialog_cancel_deletion() {
    snap(
        "dialog_cancel_deletion",
        with_dialog(Request::CancelDeletion, 1),
    );
}

#[test]
fn help() {
    snap("help_keys", |w, h| {
        let mut m = loaded(false, w, h);
        key(&mut m, KeyCode::Char('?'));
        m
    });
    snap("help_keys_readonly", |w, h| {
        let mut m = loaded(true, w, h);
        key(&mut m, KeyCode::Char('?'));
        m
    });
}

#[test]
fn palette() {
    snap("palette", |w, h| {
        let mut m = loaded(false, w, h);
        key(&mut m, KeyCode::Char(':'));
        key(&mut m, KeyCode::Char('p'));
        m
    });
}

/// The cost screen reached from the palette on a read-only console, with its help: the
/// report is a read, so nothing is hidden.
#[test]
fn cost() {
    let open = |w, h| {
        let mut m = loaded(true, w, h);
        key(&mut m, KeyCode::Char(':'));
        for c in "cost".chars() {
            key(&mut m, KeyCode::Char(c));
        }
        let commands = update(&mut m, Action::Key(KeyEvent::from(KeyCode::Enter)));
        assert!(matches!(
            &commands[..],
            [Command::Cost(cost::Cmd::Load { generation, .. })] if *generation == 1
        ));
        update(
            &mut m,
            Action::Cost(cost::Msg::Loaded {
                generation: 1,
                result: Ok(Box::new(fixtures::cost_report())),
            }),
        );
        m
    };
    snap("cost", open);
    snap("help_cost_readonly", |w, h| {
        let mut m = open(w, h);
        key(&mut m, KeyCode::Char('?'));
        m
    });
}

#[test]
fn no_color_keeps_the_layout() {
    // NO_COLOR changes styles only: the text drawn is the same.
    let colored = loaded(false, 80, 24);
    let mut mono = loaded(false, 80, 24);
    mono.theme = Theme { color: false };
    assert_eq!(render(&colored, 80, 24), render(&mono, 80, 24));
}
