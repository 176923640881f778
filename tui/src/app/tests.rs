#![allow(clippy::unwrap_used)]

use ratatui::crossterm::event::{MouseButton, MouseEvent};

use super::*;
use crate::fixtures::{self, NOW};
use crate::keymap::GLOBAL;

fn model(readonly: bool) -> Model {
    let mut m = Model::new(readonly, Theme::colored(), NOW);
    init(&mut m);
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

fn press(m: &mut Model, code: KeyCode) -> Vec<Command> {
    update(m, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_str(m: &mut Model, s: &str) {
    for c in s.chars() {
        press(m, KeyCode::Char(c));
    }
}

#[test]
fn init_asks_whoami_and_loads_the_keys() {
    let mut m = Model::new(false, Theme::colored(), NOW);
    let c = init(&mut m);
    assert_eq!(c[0], Command::Whoami);
    assert!(c.contains(&Command::Keys(keys::Cmd::Providers { generation: 1 })));
    assert!(c.contains(&Command::Status), "{c:?}");
    update(
        &mut m,
        Action::Identity(Ok(Identity {
            principal: "local:alice".into(),
            role: "admin".into(),
        })),
    );
    assert!(matches!(&m.identity, Some(Ok(id)) if id.principal == "local:alice"));
}

#[test]
fn the_palette_opens_screens() {
    let mut m = model(false);
    press(&mut m, KeyCode::Char(':'));
    assert_eq!(m.overlay, Some(Overlay::Palette(String::new())));
    type_str(&mut m, "audit");
    assert_eq!(m.overlay, Some(Overlay::Palette("audit".into())));
    let c = press(&mut m, KeyCode::Enter);
    assert_eq!(m.route(), &Route::Audit);
    assert!(m.overlay.is_none());
    assert!(!c.is_empty());
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "policy");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.route(), &Route::Policy(PolicyTarget::Gateway));
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "compliance");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.route(), &Route::Compliance);
    // :keys returns to the root instead of growing the stack.
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "keys");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.stack, vec![Route::Keys]);
}

#[test]
fn palette_provider_filters_the_keys_screen() {
    let mut m = model(false);
    update(&mut m, Action::Open(Route::Audit));
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "pr");
    press(&mut m, KeyCode::Tab);
    assert_eq!(m.overlay, Some(Overlay::Palette("provider ".into())));
    type_str(&mut m, "a");
    press(&mut m, KeyCode::Tab);
    assert_eq!(m.overlay, Some(Overlay::Palette("provider aws".into())));
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.route(), &Route::Keys);
    assert_eq!(m.keys.filter_text(), "provider:aws");
    assert_eq!(m.keys.visible_len(), 2);
}

#[test]
fn a_bad_palette_command_keeps_the_text_and_says_why() {
    let mut m = model(false);
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "provider gcp");
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.overlay, Some(Overlay::Palette("provider gcp".into())));
    let n = m.notice.clone().unwrap();
    assert!(n.error && n.text.contains("no provider `gcp`"), "{n:?}");
    // esc closes; backspace on an empty line closes too.
    press(&mut m, KeyCode::Esc);
    assert!(m.overlay.is_none());
    press(&mut m, KeyCode::Char(':'));
    press(&mut m, KeyCode::Backspace);
    assert!(m.overlay.is_none());
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "q");
    press(&mut m, KeyCode::Enter);
    assert!(m.quit);
}

#[test]
fn help_opens_scrolls_and_closes() {
    let mut m = model(false);
    press(&mut m, KeyCode::Char('?'));
    assert_eq!(m.overlay, Some(Overlay::Help));
    press(&mut m, KeyCode::Char('j'));
    press(&mut m, KeyCode::Char('j'));
    assert_eq!(m.help_scroll, 2);
    // Keys do not reach the screen under help.
    assert!(!m.quit);
    press(&mut m, KeyCode::Esc);
    assert!(m.overlay.is_none());
    assert_eq!(m.route(), &Route::Keys);
}

#[test]
fn help_lists_the_screen_and_global_bindings_and_hides_mutations_when_readonly() {
    let text = |readonly: bool, route: &Route| {
        let m = model(readonly);
        crate::help::lines(route, &m.ctx())
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let rw = text(false, &Route::Keys);
    for b in keys::BINDINGS.iter().chain(GLOBAL) {
        assert!(rw.contains(b.does), "{}", b.does);
    }
    let ro = text(true, &Route::Keys);
    for b in keys::BINDINGS {
        assert_eq!(ro.contains(b.does), !b.mutates, "{}", b.does);
    }
    let detail = text(
        true,
        &Route::KeyDetail {
            key: "local://x".into(),
        },
    );
    assert!(detail.contains("policy editor"));
    assert!(!detail.contains("rotate now"));
}

#[test]
fn enter_opens_the_detail_and_esc_goes_back() {
    let mut m = model(false);
    let c = press(&mut m, KeyCode::Enter);
    assert_eq!(
        m.route(),
        &Route::KeyDetail {
            key: "aws-kms://us-east-1/legacy".into()
        }
    );
    assert_eq!(m.detail.key(), "aws-kms://us-east-1/legacy");
    assert_eq!(c.len(), 5);
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.route(), &Route::Keys);
    // esc on the root stays there; q quits.
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.route(), &Route::Keys);
    press(&mut m, KeyCode::Char('q'));
    assert!(m.quit);
}

#[test]
fn a_change_made_in_the_detail_reloads_the_table_too() {
    let mut m = model(false);
    press(&mut m, KeyCode::Enter);
    let c = update(
        &mut m,
        Action::Detail(detail::Msg::Done(Ok("rotated".into()))),
    );
    assert!(
        c.iter()
            .any(|c| matches!(c, Command::Keys(keys::Cmd::Providers { .. })))
    );
    assert_eq!(m.notice, Some(Notice::info("rotated")));
}

#[test]
fn ticks_refresh_the_screen_on_display() {
    let mut m = model(false);
    assert!(update(&mut m, Action::Tick(NOW + time::Duration::seconds(1))).is_empty());
    let c = update(&mut m, Action::Tick(NOW + keys::REFRESH_EVERY));
    assert!(
        c.iter()
            .any(|c| matches!(c, Command::Keys(keys::Cmd::Providers { .. })))
    );
    assert_eq!(m.now, NOW + keys::REFRESH_EVERY);
}

#[test]
fn the_mouse_goes_to_the_screen_on_display() {
    let mut m = model(false);
    update(&mut m, Action::Resize(120, 40));
    // Header, provider line, filter line, table border, table header: first row at y=5+1.
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 20,
        row: 7,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut m, Action::Mouse(click));
    assert_eq!(m.keys.selected().unwrap().name, "orders");
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        ..click
    };
    update(&mut m, Action::Mouse(wheel));
    assert_eq!(m.keys.selected().unwrap().name, "signing");
    // Under an overlay the mouse does nothing.
    press(&mut m, KeyCode::Char('?'));
    update(&mut m, Action::Mouse(click));
    assert_eq!(m.keys.selected().unwrap().name, "signing");
}

#[test]
fn ctrl_c_quits_even_while_typing() {
    let mut m = model(false);
    press(&mut m, KeyCode::Char('/'));
    press(&mut m, KeyCode::Char('q'));
    assert!(!m.quit);
    assert_eq!(m.keys.filter_text(), "q");
    update(
        &mut m,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(m.quit);
}

#[test]
fn help_on_the_policy_editor_lists_its_bindings() {
    let m = model(false);
    let text: Vec<String> = crate::help::lines(&Route::Policy(PolicyTarget::Gateway), &m.ctx())
        .iter()
        .map(ToString::to_string)
        .collect();
    let text = text.join("\n");
    for b in policy::BINDINGS {
        assert!(text.contains(b.does), "{}", b.does);
    }
}

#[test]
fn status_is_asked_with_every_keys_reload_until_it_is_refused() {
    let mut m = model(false);
    let ctrl_r = |m: &mut Model| {
        update(
            m,
            Action::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        )
    };
    assert!(ctrl_r(&mut m).contains(&Command::Status));
    update(&mut m, Action::Status(Ok(fixtures::status())));
    assert!(matches!(&m.status, Some(Ok(s)) if s.audit.head_seq == Some(42)));
    // A failure is asked again; a refusal is not (each would be a denied audit row).
    update(
        &mut m,
        Action::Status(Err(StatusError::Failed("timeout".into()))),
    );
    assert!(ctrl_r(&mut m).contains(&Command::Status));
    update(
        &mut m,
        Action::Status(Err(StatusError::Refused("denied".into()))),
    );
    let c = ctrl_r(&mut m);
    assert!(
        c.iter()
            .any(|c| matches!(c, Command::Keys(keys::Cmd::Providers { .. }))),
        "{c:?}"
    );
    assert!(!c.contains(&Command::Status), "{c:?}");
}

#[test]
fn the_cost_screen_opens_from_the_palette_read_only_and_prices_the_last_30_days() {
    let mut m = model(true);
    press(&mut m, KeyCode::Char(':'));
    type_str(&mut m, "cost");
    let c = press(&mut m, KeyCode::Enter);
    assert_eq!(m.route(), &Route::Cost);
    assert_eq!(
        c,
        vec![Command::Cost(cost::Cmd::Load {
            generation: 1,
            since: NOW - time::Duration::days(30),
        })]
    );
    // `s` changes the window and asks again, under --readonly too: the report is a read.
    let c = press(&mut m, KeyCode::Char('s'));
    assert_eq!(
        c,
        vec![Command::Cost(cost::Cmd::Load {
            generation: 2,
            since: NOW - time::Duration::days(90),
        })]
    );
    assert!(m.notice.is_none());
    let help: Vec<String> = crate::help::lines(&Route::Cost, &m.ctx())
        .iter()
        .map(ToString::to_string)
        .collect();
    let help = help.join("\n");
    assert!(help.starts_with("Cost screen"), "{help}");
    for b in cost::BINDINGS {
        assert!(help.contains(b.does), "{}", b.does);
    }
    // A key's detail from the cost screen, and back.
    update(
        &mut m,
        Action::Cost(cost::Msg::Loaded {
            generation: 2,
            result: Ok(Box::new(fixtures::cost_report())),
        }),
    );
    press(&mut m, KeyCode::Enter);
    assert_eq!(
        m.route(),
        &Route::KeyDetail {
            key: "aws-kms://us-east-1/legacy".into()
        }
    );
    press(&mut m, KeyCode::Esc);
    assert_eq!(m.route(), &Route::Cost);
}
