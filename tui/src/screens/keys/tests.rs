#![allow(clippy::unwrap_used)]

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent};
use ratatui::layout::Rect;

use super::*;
use crate::fixtures::{self, NOW, ctx};
use crate::screens::actions::Kind;

fn loaded() -> State {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Viewport(3), &c);
    fixtures::load_keys(
        &mut s,
        &c,
        &["local", "aws"],
        vec![
            ("local", Ok(fixtures::keys("local"))),
            ("aws", Ok(fixtures::keys("aws"))),
        ],
    );
    s
}

fn names(s: &State) -> Vec<String> {
    s.visible
        .iter()
        .map(|&i| s.rows[i as usize].meta.name.clone())
        .collect()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn typed(s: &mut State, text: &str) {
    let c = ctx(false);
    s.update(Msg::FilterStart, &c);
    for ch in text.chars() {
        s.update(Msg::FilterChar(ch), &c);
    }
}

#[test]
fn providers_load_concurrently_one_command_each() {
    let mut s = State::default();
    let c = ctx(false);
    let e = s.update(Msg::Refresh, &c);
    assert_eq!(
        e,
        vec![
            Effect::Run(Cmd::Providers { generation: 1 }),
            Effect::Run(Cmd::Aliases { generation: 1 }),
        ]
    );
    let e = s.update(
        Msg::Providers {
            generation: 1,
            result: Ok(fixtures::providers()),
        },
        &c,
    );
    assert_eq!(
        e,
        vec![
            Effect::Run(Cmd::Keys {
                generation: 1,
                provider: "local".into()
            }),
            Effect::Run(Cmd::Keys {
                generation: 1,
                provider: "aws".into()
            }),
        ]
    );
    assert!(s.slots().iter().all(|sl| sl.load == Load::Loading));
    // aws answers first with an error; local is still loading and unaffected.
    s.update(
        Msg::ProviderKeys {
            generation: 1,
            provider: "aws".into(),
            result: Err("unavailable: endpoint down".into()),
        },
        &c,
    );
    assert_eq!(s.slots()[0].load, Load::Loading);
    assert_eq!(
        s.slots()[1].load,
        Load::Failed("unavailable: endpoint down".into())
    );
    s.update(
        Msg::ProviderKeys {
            generation: 1,
            provider: "local".into(),
            result: Ok(fixtures::keys("local")),
        },
        &c,
    );
    assert_eq!(s.slots()[0].load, Load::Loaded(3));
    assert_eq!(s.len(), 3);
}

#[test]
fn answers_of_an_older_load_are_dropped() {
    let mut s = loaded();
    let c = ctx(false);
    s.update(Msg::Refresh, &c);
    s.update(
        Msg::ProviderKeys {
            generation: 1,
            provider: "local".into(),
            result: Ok(Vec::new()),
        },
        &c,
    );
    assert_eq!(s.len(), 5);
    // The reload keeps showing the previous keys until its own answers arrive.
    assert!(s.slots().iter().all(|sl| sl.reloading));
}

#[test]
fn a_provider_that_disappears_takes_its_keys_along() {
    let mut s = loaded();
    let c = ctx(false);
    s.update(Msg::Refresh, &c);
    s.update(
        Msg::Providers {
            generation: 2,
            result: Ok(vec![fixtures::provider("local")]),
        },
        &c,
    );
    assert_eq!(s.len(), 3);
    assert_eq!(s.visible_len(), 3);
}

#[test]
fn aliases_show_and_are_searchable() {
    let mut s = loaded();
    let c = ctx(false);
    let target = fixtures::keys("aws")[0].key_ref();
    s.update(
        Msg::Aliases {
            generation: 1,
            result: Ok(vec![keygate_core::api::Alias {
                name: "checkout".into(),
                target,
                created: NOW,
            }]),
        },
        &c,
    );
    typed(&mut s, "checkout");
    assert_eq!(names(&s), ["orders"]);
    assert_eq!(
        s.rows[s.visible[0] as usize].display_name(),
        "orders (alias/checkout)"
    );
}

#[test]
fn sorting_cycles_columns_and_reverses() {
    let mut s = loaded();
    let c = ctx(false);
    assert_eq!(
        names(&s),
        ["legacy", "old-reports", "orders", "payments", "signing"]
    );
    s.update(Msg::SortNext, &c);
    assert_eq!(s.sort(), (Column::Spec, false));
    assert_eq!(names(&s)[0], "orders");
    s.update(Msg::SortReverse, &c);
    assert_eq!(s.sort(), (Column::Spec, true));
    assert_eq!(names(&s)[0], "old-reports");
}

#[test]
fn the_filter_applies_as_typed_and_a_bad_one_keeps_text_and_rows() {
    let mut s = loaded();
    let c = ctx(false);
    typed(&mut s, "provider:aws");
    assert_eq!(names(&s), ["legacy", "orders"]);
    s.update(Msg::SetFilter("provider:aws colour:red".into()), &c);
    assert_eq!(s.filter_text(), "provider:aws colour:red");
    assert!(
        s.filter_error()
            .unwrap()
            .contains("unknown qualifier `colour:`")
    );
    // The last valid filter still shows.
    assert_eq!(names(&s), ["legacy", "orders"]);
    s.update(Msg::SetFilter("provider:aws".into()), &c);
    s.update(Msg::FilterStart, &c);
    typed(&mut s, " state:disabled");
    assert!(s.filter_error().is_none());
    assert_eq!(names(&s), ["legacy"]);
    // enter keeps it, esc clears it.
    assert_eq!(s.on_key(key(KeyCode::Enter), &c), Some(Msg::FilterDone));
    s.update(Msg::FilterDone, &c);
    assert_eq!(s.on_key(key(KeyCode::Esc), &c), Some(Msg::FilterClear));
    s.update(Msg::FilterClear, &c);
    assert_eq!(s.visible_len(), 5);
    // With no filter, esc is left to the global "back".
    assert_eq!(s.on_key(key(KeyCode::Esc), &c), None);
}

#[test]
fn typing_a_filter_takes_every_key() {
    let mut s = loaded();
    let c = ctx(false);
    s.update(Msg::FilterStart, &c);
    assert_eq!(
        s.on_key(key(KeyCode::Char('q')), &c),
        Some(Msg::FilterChar('q'))
    );
    assert_eq!(
        s.on_key(key(KeyCode::Char('r')), &c),
        Some(Msg::FilterChar('r'))
    );
    assert_eq!(
        s.on_key(key(KeyCode::Backspace), &c),
        Some(Msg::FilterBackspace)
    );
}

#[test]
fn selection_moves_scrolls_and_survives_a_filter() {
    let mut s = loaded();
    let c = ctx(false);
    s.update(Msg::Move(1), &c);
    s.update(Msg::Move(1), &c);
    s.update(Msg::Move(1), &c);
    assert_eq!(s.selected().unwrap().name, "payments");
    // Three rows fit: the fourth selected scrolls by one.
    assert_eq!(s.offset, 1);
    s.update(Msg::Bottom, &c);
    assert_eq!(s.selected().unwrap().name, "signing");
    s.update(Msg::Move(10), &c);
    assert_eq!(s.selected().unwrap().name, "signing");
    s.update(Msg::Top, &c);
    assert_eq!(s.offset, 0);
    s.update(Msg::Move(-1), &c);
    assert_eq!(s.selected().unwrap().name, "legacy");
    s.update(Msg::Move(2), &c);
    typed(&mut s, "or");
    // "orders" was selected and still matches: it stays selected.
    assert_eq!(s.selected().unwrap().name, "orders");
}

#[test]
fn enter_and_a_second_click_open_the_detail() {
    let mut s = loaded();
    let c = ctx(false);
    let open = vec![Effect::Open(Route::KeyDetail {
        key: "aws-kms://us-east-1/legacy".into(),
    })];
    assert_eq!(s.update(Msg::Open, &c), open);
    assert!(s.update(Msg::Click(1), &c).is_empty());
    assert_eq!(s.selected().unwrap().name, "old-reports");
    s.update(Msg::Click(0), &c);
    assert_eq!(s.update(Msg::Click(0), &c), open);
    assert!(s.update(Msg::Click(99), &c).is_empty());
}

#[test]
fn the_mouse_selects_the_clicked_row_and_the_wheel_moves() {
    let s = loaded();
    let c = ctx(false);
    let area = Rect::new(0, 1, 120, 38);
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Provider line, filter line, then the table: border, header, first row.
    assert_eq!(s.on_mouse(click(5), area, &c), Some(Msg::Click(0)));
    assert_eq!(s.on_mouse(click(7), area, &c), Some(Msg::Click(2)));
    assert_eq!(s.on_mouse(click(4), area, &c), None);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        ..click(0)
    };
    assert_eq!(s.on_mouse(wheel, area, &c), Some(Msg::Move(3)));
}

#[test]
fn the_table_reloads_on_ticks_once_stale() {
    let mut s = loaded();
    let mut c = ctx(false);
    assert!(s.update(Msg::Tick, &c).is_empty());
    c.now = NOW + REFRESH_EVERY;
    assert_eq!(
        s.update(Msg::Tick, &c),
        vec![
            Effect::Run(Cmd::Providers { generation: 2 }),
            Effect::Run(Cmd::Aliases { generation: 2 }),
        ]
    );
}

#[test]
fn every_action_opens_its_dialog() {
    let mut s = loaded();
    let c = ctx(false);
    // legacy (aws, RSA, disabled) is selected.
    s.update(Msg::Action(Request::Toggle), &c);
    assert!(matches!(
        s.dialog().unwrap().kind,
        Kind::Confirm {
            mutation: Mutation::Enable { .. },
            ..
        }
    ));
    s.update(Msg::Dialog(key(KeyCode::Esc)), &c);
    assert!(s.dialog().is_none());
    // aws cannot schedule RSA rotation: a notice, no dialog.
    let e = s.update(Msg::Action(Request::Schedule), &c);
    assert!(matches!(&e[0], Effect::Notify(n) if n.error));
    assert!(s.dialog().is_none());
    s.update(Msg::Move(2), &c); // orders
    for (request, title) in [
        (Request::Create, "Create key"),
        (Request::Rotate, "Rotate now"),
        (Request::Schedule, "Rotation schedule"),
        (Request::RotateAt, "Rotate at a time"),
        (Request::Toggle, "Disable key"),
        (Request::Delete, "Schedule deletion"),
    ] {
        assert!(s.update(Msg::Action(request), &c).is_empty(), "{request:?}");
        assert_eq!(s.dialog().unwrap().title(), title);
        s.update(Msg::Dialog(key(KeyCode::Esc)), &c);
    }
    s.update(Msg::Move(-1), &c); // old-reports, pending deletion
    s.update(Msg::Action(Request::CancelDeletion), &c);
    assert_eq!(s.dialog().unwrap().title(), "Cancel deletion");
}

#[test]
fn a_confirmed_action_runs_then_notifies_and_reloads() {
    let mut s = loaded();
    let c = ctx(false);
    s.update(Msg::Move(2), &c); // orders
    s.update(Msg::Action(Request::Rotate), &c);
    assert_eq!(
        s.on_key(key(KeyCode::Char('y')), &c),
        Some(Msg::Dialog(key(KeyCode::Char('y'))))
    );
    let e = s.update(Msg::Dialog(key(KeyCode::Char('y'))), &c);
    assert_eq!(
        e[1],
        Effect::Run(Cmd::Mutate(Mutation::Rotate {
            key: "aws-kms://us-east-1/orders".into()
        }))
    );
    assert!(s.dialog().is_none());
    let e = s.update(Msg::Done(Ok("rotated".into())), &c);
    assert_eq!(e[0], Effect::Notify(Notice::info("rotated")));
    assert_eq!(e[1], Effect::Run(Cmd::Providers { generation: 2 }));
    let e = s.update(Msg::Done(Err("rotate failed: denied".into())), &c);
    assert_eq!(e[0], Effect::Notify(Notice::error("rotate failed: denied")));
    assert_eq!(e.len(), 3);
}

#[test]
fn readonly_refuses_every_action() {
    let mut s = loaded();
    let ro = ctx(true);
    s.update(Msg::Move(2), &ro);
    for request in [
        Request::Create,
        Request::Rotate,
        Request::Schedule,
        Request::RotateAt,
        Request::Toggle,
        Request::Delete,
        Request::CancelDeletion,
    ] {
        assert_eq!(
            s.update(Msg::Action(request), &ro),
            vec![Effect::Notify(readonly_notice())],
            "{request:?}"
        );
        assert!(s.dialog().is_none());
    }
    // A dialog opened before (it cannot be under --readonly) is refused on submit too.
    s.update(Msg::Action(Request::Rotate), &ctx(false));
    assert_eq!(
        s.update(Msg::Dialog(key(KeyCode::Char('y'))), &ro),
        vec![Effect::Notify(readonly_notice())]
    );
}

#[test]
fn every_listed_binding_does_something() {
    let s = loaded();
    let c = ctx(false);
    for b in BINDINGS {
        for k in crate::keymap::parse(b.keys).unwrap() {
            assert!(s.on_key(k, &c).is_some(), "{} does nothing", b.keys);
        }
    }
}

#[test]
fn an_empty_backend_and_a_providers_error_are_shown() {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Refresh, &c);
    s.update(
        Msg::Providers {
            generation: 1,
            result: Err("permission denied".into()),
        },
        &c,
    );
    assert_eq!(s.providers_error.as_deref(), Some("permission denied"));
    assert!(s.is_empty());
}
