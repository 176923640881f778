//! `update` tests for every action of the policy editor.

#![allow(clippy::unwrap_used)]

use keygate_core::{Binding, ErrorKind, NativePolicy, Policy};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::*;

use super::doc::{Doc, Source, TextFormat};
use super::*;
use crate::app::{Action, PolicyTarget, readonly_notice};
use crate::screens::Effect;

fn notice(effects: &[Effect<Cmd>]) -> Option<&Notice> {
    effects.iter().find_map(|e| match e {
        Effect::Notify(n) => Some(n),
        _ => None,
    })
}

#[test]
fn open_loads_and_a_loaded_policy_fills_the_table() {
    let s = loaded(key_target(), local_doc(), false);
    assert_eq!(s.load, Load::Ready);
    let rows = s.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].principal, "user:alice@example.com");
    assert_eq!(rows[0].role, "viewer");
    assert_eq!(rows[1].actions, "decrypt, encrypt");
    assert!(!s.is_dirty());
}

#[test]
fn answers_for_another_policy_are_ignored_and_failures_are_kept() {
    let mut s = loaded(key_target(), local_doc(), false);
    s.update(
        Msg::Loaded(
            PolicyTarget::Gateway,
            Box::new(Ok(Loaded {
                doc: gateway_doc(),
                title: String::new(),
            })),
        ),
        &ctx(false),
    );
    assert_eq!(
        s.staged,
        Some(local_doc()),
        "a stale answer changes nothing"
    );

    let mut s = State::default();
    s.update(Msg::Open(PolicyTarget::Gateway), &ctx(false));
    let failure = Failure {
        kind: ErrorKind::PermissionDenied,
        message: "no statement allows policy:get".into(),
    };
    s.update(
        Msg::Loaded(PolicyTarget::Gateway, Box::new(Err(failure.clone()))),
        &ctx(false),
    );
    assert_eq!(s.load, Load::Failed(failure));
}

#[test]
fn reopening_the_same_policy_keeps_staged_work_and_another_one_resets() {
    let mut s = loaded(key_target(), local_doc(), false);
    s.update(Msg::Remove, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    assert!(s.is_dirty());
    assert!(s.update(Msg::Open(key_target()), &ctx(false)).is_empty());
    assert!(s.is_dirty());
    let e = s.update(Msg::Open(PolicyTarget::Gateway), &ctx(false));
    assert_eq!(e, vec![Effect::Run(Cmd::Load(PolicyTarget::Gateway))]);
    assert!(!s.is_dirty() && s.staged.is_none());
}

#[test]
fn moving_selects_rows_and_clamps() {
    let mut s = loaded(key_target(), local_doc(), false);
    s.update(Msg::Move(1), &ctx(false));
    assert_eq!(s.selected, 1);
    s.update(Msg::Move(5), &ctx(false));
    assert_eq!(s.selected, 1);
    s.update(Msg::Move(isize::MIN), &ctx(false));
    assert_eq!(s.selected, 0);
    s.update(Msg::ToggleView, &ctx(false));
    s.update(Msg::Move(isize::MAX), &ctx(false));
    assert_eq!(
        s.scroll,
        local_doc().text(TextFormat::Toml).lines().count() - 1
    );
}

#[test]
fn adding_a_binding_stages_it_without_applying() {
    let mut s = loaded(key_target(), local_doc(), false);
    assert!(s.update(Msg::Add, &ctx(false)).is_empty());
    assert!(matches!(s.mode, Mode::Adding(_)));
    typed(&mut s, "user:bob@example.com");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "admin");
    let e = s.update(Msg::Submit, &ctx(false));
    assert!(!e.iter().any(|e| matches!(e, Effect::Run(_))), "{e:?}");
    assert!(notice(&e).unwrap().text.contains("staged"));
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.is_dirty());
    assert!(
        s.rows()
            .iter()
            .any(|r| r.principal == "user:bob@example.com" && r.role == "admin")
    );
    assert_eq!(
        s.original,
        Some(local_doc()),
        "the loaded policy is untouched"
    );
}

#[test]
fn an_invalid_grant_keeps_the_form_and_its_values() {
    // The gateway validates roles: `ghost` does not exist.
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    s.update(Msg::Add, &ctx(false));
    typed(&mut s, "alice");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "ghost");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "keys:list");
    s.update(Msg::Submit, &ctx(false));
    let Mode::Adding(form) = &s.mode else {
        panic!("the form closed: {:?}", s.mode)
    };
    assert!(
        form.error
            .as_ref()
            .unwrap()
            .contains("unknown role `ghost`")
    );
    assert_eq!(form.role.value(), "ghost");
    assert!(!s.is_dirty());

    // Fixed on the role field (up from actions), it stages a top-level statement.
    s.update(Msg::Input(key(KeyCode::Up)), &ctx(false));
    for _ in 0..5 {
        s.update(Msg::Input(key(KeyCode::Backspace)), &ctx(false));
    }
    typed(&mut s, "rotator");
    s.update(Msg::Submit, &ctx(false));
    assert_eq!(s.mode, Mode::Normal);
    let Some(Doc::Gateway(p)) = &s.staged else {
        panic!()
    };
    assert_eq!(p.statements.len(), 2);
    assert_eq!(p.statements[1].roles, ["rotator"]);
    assert_eq!(p.statements[1].principals, ["alice"]);
}

#[test]
fn aws_grants_are_actions_and_edit_the_native_document() {
    let mut s = loaded(key_target(), aws_doc(), false);
    s.update(Msg::Add, &ctx(false));
    typed(&mut s, "arn:aws:iam::111122223333:role/new");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "kms:Encrypt");
    s.update(Msg::Submit, &ctx(false));
    assert_eq!(s.mode, Mode::Normal);
    let Some(Doc::Key(p)) = &s.staged else {
        panic!()
    };
    let statements = p.native.as_ref().unwrap().document["Statement"]
        .as_array()
        .unwrap();
    assert_eq!(statements.len(), 3);
    assert!(
        p.bindings
            .iter()
            .any(|b| b.principal.ends_with("role/new") && b.actions == ["kms:Encrypt"])
    );
}

#[test]
fn removing_asks_then_stages_the_removal() {
    let mut s = loaded(key_target(), aws_doc(), false);
    s.update(Msg::Move(2), &ctx(false));
    let row = s.rows()[2].clone();
    assert_eq!(s.update(Msg::Remove, &ctx(false)), Vec::new());
    assert_eq!(s.mode, Mode::ConfirmRemove(row.clone()));
    s.update(Msg::Confirm(false), &ctx(false));
    assert!(!s.is_dirty() && s.mode == Mode::Normal);

    s.update(Msg::Remove, &ctx(false));
    let e = s.update(Msg::Confirm(true), &ctx(false));
    assert!(notice(&e).unwrap().text.contains("removed"));
    assert!(s.is_dirty());
    assert_eq!(s.rows().len(), 2);
    assert!(!s.rows().iter().any(|r| r.principal == row.principal));
    assert_eq!(s.selected, 1, "the selection stays in the table");
    assert!(matches!(row.source, Some(Source::Native { index: 1, .. })));
}

#[test]
fn tab_switches_views_and_f_switches_the_gateway_format() {
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    s.update(Msg::ToggleView, &ctx(false));
    assert_eq!(s.view, View::Document);
    s.update(Msg::ToggleFormat, &ctx(false));
    assert_eq!(s.format, TextFormat::Json);
    assert!(s.staged.as_ref().unwrap().text(s.format).starts_with('{'));
    s.update(Msg::ToggleView, &ctx(false));
    assert_eq!(s.view, View::Table);
    s.update(Msg::ShowDiff, &ctx(false));
    s.update(Msg::ToggleView, &ctx(false));
    assert_eq!(s.view, View::Table, "tab leaves the diff for the table");

    let mut k = loaded(key_target(), local_doc(), false);
    let e = k.update(Msg::ToggleFormat, &ctx(false));
    assert!(notice(&e).unwrap().text.contains("only the gateway policy"));
    assert_eq!(k.format, TextFormat::Toml);
}

#[test]
fn editing_in_the_console_stages_a_valid_document() {
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    s.update(Msg::EditInApp, &ctx(false));
    assert!(matches!(s.mode, Mode::Editing(_)));
    assert_eq!(s.view, View::Document);
    // Go to the end and add a statement.
    s.update(
        Msg::Input(KeyEvent::new(KeyCode::End, KeyModifiers::CONTROL)),
        &ctx(false),
    );
    s.update(Msg::Input(key(KeyCode::Enter)), &ctx(false));
    typed(
        &mut s,
        "[[statements]]\neffect = \"allow\"\nactions = [\"audit:read\"]\nprincipals = [\"bob\"]",
    );
    let e = s.update(Msg::Submit, &ctx(false));
    assert!(
        notice(&e).unwrap().text.starts_with("valid; staged"),
        "{e:?}"
    );
    assert_eq!(s.mode, Mode::Normal);
    let Some(Doc::Gateway(p)) = &s.staged else {
        panic!()
    };
    assert_eq!(p.statements.len(), 2);
    assert_eq!(p.statements[1].principals, ["bob"]);
}

#[test]
fn an_invalid_edit_keeps_its_text_and_shows_where() {
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    s.update(Msg::EditInApp, &ctx(false));
    typed(&mut s, "oops ");
    let e = s.update(Msg::Submit, &ctx(false));
    assert!(notice(&e).unwrap().error);
    let Mode::Editing(ed) = &s.mode else {
        panic!("left the editor")
    };
    assert!(ed.area.text().contains("oops "), "the text stays");
    let err = ed.error.as_ref().unwrap();
    assert!(err.message.contains("TOML"), "{}", err.message);
    assert!(err.at.is_some(), "{err:?}");
    assert!(!s.is_dirty(), "nothing staged");

    // A validation error (not a syntax one): an unknown action.
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    let text = GATEWAY_TOML.replace("crypto:decrypt", "crypto:decrpyt");
    s.update(Msg::Edited(Ok(text.clone())), &ctx(false));
    let Mode::Editing(ed) = &s.mode else { panic!() };
    assert!(
        ed.error
            .as_ref()
            .unwrap()
            .message
            .contains("matches no action")
    );
    assert_eq!(ed.area.text().trim(), text.trim());
}

#[test]
fn leaving_a_changed_in_console_edit_asks_first() {
    let mut s = loaded(key_target(), local_doc(), false);
    s.update(Msg::EditInApp, &ctx(false));
    assert_eq!(s.update(Msg::Back, &ctx(false)), Vec::new());
    assert_eq!(s.mode, Mode::Normal, "an unchanged editor just closes");
    s.update(Msg::EditInApp, &ctx(false));
    typed(&mut s, "x");
    s.update(Msg::Back, &ctx(false));
    let Mode::Editing(ed) = &s.mode else { panic!() };
    assert!(ed.confirm_discard);
    assert_eq!(
        s.on_key(key(KeyCode::Char('q')), &ctx(false)),
        Some(Msg::Confirm(false)),
        "q at the prompt keeps editing, it does not quit"
    );
    s.update(Msg::Confirm(false), &ctx(false));
    let Mode::Editing(ed) = &s.mode else { panic!() };
    assert!(!ed.confirm_discard && ed.area.text().starts_with('x'));
    s.update(Msg::Back, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    assert_eq!(s.mode, Mode::Normal);
    assert!(!s.is_dirty());
}

#[test]
fn the_external_editor_gets_the_document_and_its_answer_is_validated() {
    let mut s = loaded(key_target(), aws_doc(), false);
    let e = s.update(Msg::EditExternal, &ctx(false));
    let [Effect::Edit(req)] = e.as_slice() else {
        panic!("{e:?}")
    };
    assert_eq!(req.suffix, ".json");
    assert_eq!(req.text, aws_doc().text(TextFormat::Toml));
    assert_eq!(
        (req.then)(Err("boom".into())),
        Action::Policy(Msg::Edited(Err("boom".into())))
    );

    // Ok and valid: staged, bindings re-extracted as the provider would.
    let edited = AWS_DOC.replace("role/ci", "role/batch");
    let e = s.update(Msg::Edited(Ok(edited)), &ctx(false));
    assert!(!notice(&e).unwrap().error);
    assert!(s.is_dirty());
    assert!(s.rows().iter().any(|r| r.principal.ends_with("role/batch")));

    // Ok but not JSON: the text opens in the console editor at the error.
    let e = s.update(
        Msg::Edited(Ok("{\n  \"Statement\": [,\n}".into())),
        &ctx(false),
    );
    assert!(notice(&e).unwrap().error);
    let Mode::Editing(ed) = &s.mode else { panic!() };
    assert_eq!(ed.error.as_ref().unwrap().at, Some((2, 17)));
    assert_eq!(ed.area.cursor(), (1, 16));
    assert!(
        s.rows().iter().any(|r| r.principal.ends_with("role/batch")),
        "staged kept"
    );

    // From the console editor, ctrl-e hands the text being edited to $EDITOR.
    let msg = s.on_key(
        KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL),
        &ctx(false),
    );
    assert_eq!(msg, Some(Msg::EditExternal));
    let e = s.update(Msg::EditExternal, &ctx(false));
    let [Effect::Edit(req)] = e.as_slice() else {
        panic!()
    };
    assert!(req.text.contains("[,"));

    // The editor failing changes nothing.
    let before = s.staged.clone();
    let e = s.update(Msg::Edited(Err("vi exited with 1".into())), &ctx(false));
    assert!(notice(&e).unwrap().text.contains("vi exited"));
    assert_eq!(s.staged, before);
}

#[test]
fn a_key_policy_without_rows_of_its_own_refuses_table_edits() {
    let doc = Doc::Key(Policy {
        bindings: vec![Binding::role("group:x", "reader")],
        native: Some(NativePolicy {
            // A native format the console does not know (Azure's `azure-rbac` is edited as
            // bindings, see doc.rs).
            format: "vault-acl".into(),
            document: serde_json::json!({"acl": []}),
        }),
        etag: None,
    });
    let mut s = loaded(key_target(), doc, false);
    let e = s.update(Msg::Add, &ctx(false));
    assert!(notice(&e).unwrap().text.contains("edited as its document"));
    let e = s.update(Msg::Remove, &ctx(false));
    assert!(notice(&e).unwrap().text.contains("edited as its document"));
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn the_diff_shows_what_changes() {
    let mut s = loaded(key_target(), local_doc(), false);
    s.update(Msg::ShowDiff, &ctx(false));
    assert_eq!(s.view, View::Diff);
    assert!(!s.is_dirty());
    s.update(Msg::Remove, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    let (add, del) = diff::counts(&s.diff);
    assert_eq!(add, 0);
    assert!(del >= 3, "the alice binding's lines go: {:?}", s.diff);
    assert!(s.diff.contains(&DiffLine::Removed(
        "      \"principal\": \"user:alice@example.com\",".into()
    )));
    // Esc leaves the diff before it leaves the screen.
    assert_eq!(s.on_key(key(KeyCode::Esc), &ctx(false)), Some(Msg::Back));
    s.update(Msg::Back, &ctx(false));
    assert_eq!(s.view, View::Table);
}

#[test]
fn apply_asks_then_runs_with_the_etag_and_reloads() {
    let mut s = loaded(key_target(), local_doc(), false);
    let e = s.update(Msg::Apply, &ctx(false));
    assert_eq!(notice(&e).unwrap().text, "nothing staged to apply");

    s.update(Msg::Remove, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    assert!(s.update(Msg::Apply, &ctx(false)).is_empty());
    assert_eq!(s.mode, Mode::Confirm(Prompt::Apply));
    assert_eq!(s.view, View::Diff, "the diff is shown before confirming");

    // Any key but y cancels and keeps the changes.
    let no = s.on_key(key(KeyCode::Char('n')), &ctx(false)).unwrap();
    let e = s.update(no, &ctx(false));
    assert!(notice(&e).unwrap().text.contains("stay staged"));
    assert!(s.is_dirty() && s.mode == Mode::Normal);

    s.update(Msg::Apply, &ctx(false));
    let yes = s.on_key(key(KeyCode::Char('y')), &ctx(false)).unwrap();
    let e = s.update(yes, &ctx(false));
    let [Effect::Run(Cmd::Apply(target, doc))] = e.as_slice() else {
        panic!("{e:?}")
    };
    assert_eq!(target, &key_target());
    let Doc::Key(p) = doc.as_ref() else { panic!() };
    assert_eq!(p.etag.as_deref(), Some("etag-1"));
    assert_eq!(p.bindings.len(), 1);
    assert_eq!(s.mode, Mode::Applying);

    let e = s.update(Msg::Applied(Ok(())), &ctx(false));
    assert_eq!(notice(&e).unwrap().text, "policy applied");
    assert!(e.contains(&Effect::Run(Cmd::Load(key_target()))));
    assert!(!s.is_dirty());
}

#[test]
fn a_failed_apply_keeps_the_staged_changes() {
    for (kind, hint) in [
        (ErrorKind::InvalidState, "changed since it was loaded"),
        (ErrorKind::PermissionDenied, "kept"),
    ] {
        let mut s = loaded(key_target(), local_doc(), false);
        s.update(Msg::Remove, &ctx(false));
        s.update(Msg::Confirm(true), &ctx(false));
        s.update(Msg::Apply, &ctx(false));
        s.update(Msg::Confirm(true), &ctx(false));
        let staged = s.staged.clone();
        let e = s.update(
            Msg::Applied(Err(Failure {
                kind,
                message: "etag mismatch".into(),
            })),
            &ctx(false),
        );
        let n = notice(&e).unwrap();
        assert!(n.error && n.text.contains(hint), "{}", n.text);
        assert_eq!(s.error.as_deref(), Some(n.text.as_str()));
        assert_eq!(s.staged, staged);
        assert!(s.is_dirty() && s.mode == Mode::Normal);
    }
}

#[test]
fn leaving_or_reloading_with_staged_changes_asks_first() {
    let mut s = loaded(key_target(), local_doc(), false);
    assert_eq!(
        s.on_key(key(KeyCode::Esc), &ctx(false)),
        None,
        "clean: global back"
    );
    assert_eq!(s.update(Msg::Back, &ctx(false)), vec![Effect::Back]);

    s.update(Msg::Remove, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    assert_eq!(s.on_key(key(KeyCode::Esc), &ctx(false)), Some(Msg::Back));
    assert!(s.update(Msg::Back, &ctx(false)).is_empty());
    assert_eq!(s.mode, Mode::Confirm(Prompt::DiscardAndLeave));
    s.update(Msg::Confirm(false), &ctx(false));
    assert!(s.is_dirty(), "staying keeps the changes");
    s.update(Msg::Back, &ctx(false));
    assert_eq!(
        s.update(Msg::Confirm(true), &ctx(false)),
        vec![Effect::Back]
    );
    assert!(!s.is_dirty());

    s.update(Msg::Remove, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    assert!(s.update(Msg::Refresh, &ctx(false)).is_empty());
    assert_eq!(s.mode, Mode::Confirm(Prompt::DiscardAndReload));
    let e = s.update(Msg::Confirm(true), &ctx(false));
    assert_eq!(e, vec![Effect::Run(Cmd::Load(key_target()))]);
    assert!(!s.is_dirty());
}

#[test]
fn readonly_refuses_every_mutation() {
    for msg in [
        Msg::Add,
        Msg::Remove,
        Msg::EditInApp,
        Msg::EditExternal,
        Msg::Edited(Ok("{\"bindings\": []}".into())),
        Msg::Submit,
        Msg::Apply,
    ] {
        let mut s = loaded(key_target(), local_doc(), true);
        let e = s.update(msg.clone(), &ctx(true));
        assert_eq!(e, vec![Effect::Notify(readonly_notice())], "{msg:?}");
        assert_eq!(s.mode, Mode::Normal, "{msg:?}");
        assert!(!s.is_dirty(), "{msg:?}");
    }
    // Reading stays possible.
    let mut s = loaded(key_target(), local_doc(), true);
    s.update(Msg::ToggleView, &ctx(true));
    s.update(Msg::ShowDiff, &ctx(true));
    assert_eq!(s.view, View::Diff);
}

#[test]
fn keys_match_the_bindings_table() {
    let s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    for b in BINDINGS {
        for k in b.keys.split([' ', '/']) {
            let code = match k {
                "tab" => KeyCode::Tab,
                "esc" => continue, // global back unless something is staged (tested above)
                "↑" => KeyCode::Up,
                "↓" => KeyCode::Down,
                "pgup" => KeyCode::PageUp,
                "pgdn" => KeyCode::PageDown,
                one if one.chars().count() == 1 => KeyCode::Char(one.chars().next().unwrap()),
                other => panic!("unknown key {other}"),
            };
            assert!(s.on_key(key(code), &ctx(false)).is_some(), "{k}");
        }
    }
    assert_eq!(
        s.on_key(key(KeyCode::Char('q')), &ctx(false)),
        None,
        "q stays global"
    );
    assert_eq!(s.on_key(key(KeyCode::Char('?')), &ctx(false)), None);
}
