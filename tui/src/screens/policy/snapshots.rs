//! Snapshots of the policy editor on `TestBackend`, at 80×24 and 120×40.

#![allow(clippy::unwrap_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Color;

use super::fixtures::{aws_doc, ctx, gateway_doc, key, key_target, loaded, local_doc, typed};
use super::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn render(state: &State, readonly: bool, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| state.view(f, f.area(), &ctx(readonly)))
        .unwrap();
    terminal
}

fn snapshot(name: &str, state: &State, readonly: bool) {
    for size in SIZES {
        let terminal = render(state, readonly, size);
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!(
                format!("policy_{name}_{}x{}", size.0, size.1),
                terminal.backend().to_string()
            );
        });
    }
}

/// An AWS key policy with one binding added and one removed, not yet applied.
fn aws_staged() -> State {
    let mut s = loaded(key_target(), aws_doc(), false);
    s.update(Msg::Add, &ctx(false));
    typed(&mut s, "arn:aws:iam::111122223333:role/audit");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "kms:DescribeKey, kms:GetKeyPolicy");
    s.update(Msg::Submit, &ctx(false));
    s.update(Msg::Move(2), &ctx(false));
    s.update(Msg::Remove, &ctx(false));
    s.update(Msg::Confirm(true), &ctx(false));
    s
}

#[test]
fn bindings_table() {
    snapshot("bindings_table_aws_staged", &aws_staged(), false);
    snapshot(
        "bindings_table_gateway",
        &loaded(PolicyTarget::Gateway, gateway_doc(), false),
        false,
    );
    snapshot(
        "bindings_table_readonly",
        &loaded(key_target(), local_doc(), true),
        true,
    );
}

#[test]
fn native_document() {
    let mut s = loaded(key_target(), aws_doc(), false);
    s.update(Msg::ToggleView, &ctx(false));
    snapshot("native_document_aws", &s, false);
    let mut g = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    g.update(Msg::ToggleView, &ctx(false));
    snapshot("native_document_gateway_toml", &g, false);
}

#[test]
fn add_form() {
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    s.update(Msg::Add, &ctx(false));
    typed(&mut s, "ci-*");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "ghost");
    s.update(Msg::Input(key(KeyCode::Tab)), &ctx(false));
    typed(&mut s, "keys:list");
    s.update(Msg::Submit, &ctx(false));
    snapshot("add_form_refused", &s, false);
}

#[test]
fn in_app_editing() {
    let mut s = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    s.update(Msg::EditInApp, &ctx(false));
    for _ in 0..3 {
        s.update(Msg::Input(key(KeyCode::Down)), &ctx(false));
    }
    s.update(Msg::Input(key(KeyCode::End)), &ctx(false));
    s.update(Msg::Input(key(KeyCode::Enter)), &ctx(false));
    typed(&mut s, "# reviewed 2026-11");
    snapshot("in_app_editing", &s, false);
}

#[test]
fn validation_error() {
    let mut s = loaded(key_target(), aws_doc(), false);
    s.update(
        Msg::Edited(Ok(
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}\n".into(),
        )),
        &ctx(false),
    );
    snapshot("validation_error_json", &s, false);
    let mut g = loaded(PolicyTarget::Gateway, gateway_doc(), false);
    g.update(
        Msg::Edited(Ok(
            "[[statements]]\neffect = \"allow\"\nactions = [\"keys:rotat\"]\n".into(),
        )),
        &ctx(false),
    );
    snapshot("validation_error_gateway", &g, false);
}

#[test]
fn diff() {
    let mut s = aws_staged();
    s.update(Msg::ShowDiff, &ctx(false));
    snapshot("diff", &s, false);
}

#[test]
fn apply_confirm() {
    let mut s = aws_staged();
    s.update(Msg::Apply, &ctx(false));
    snapshot("apply_confirm", &s, false);
    s.update(Msg::Confirm(true), &ctx(false));
    s.update(
        Msg::Applied(Err(Failure {
            kind: keygate_core::ErrorKind::InvalidState,
            message: "invalid state: the key policy changed (etag mismatch)".into(),
        })),
        &ctx(false),
    );
    snapshot("apply_failed", &s, false);
}

#[test]
fn load_failure() {
    let mut s = State::default();
    s.update(Msg::Open(key_target()), &ctx(false));
    s.update(
        Msg::Loaded(
            key_target(),
            Box::new(Err(Failure {
                kind: keygate_core::ErrorKind::Unsupported,
                message: "keys of provider `azure` have no key policy".into(),
            })),
        ),
        &ctx(false),
    );
    snapshot("load_failure", &s, false);
}

#[test]
fn diff_lines_are_coloured() {
    let mut s = aws_staged();
    s.update(Msg::ShowDiff, &ctx(false));
    let terminal = render(&s, false, (120, 40));
    let buffer = terminal.backend().buffer();
    let fg_of_line_starting = |prefix: &str| {
        (0..buffer.area.height).find_map(|y| {
            let line: String = (1..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect();
            line.starts_with(prefix).then(|| buffer[(1, y)].fg)
        })
    };
    assert_eq!(fg_of_line_starting("+ "), Some(Color::Green));
    assert_eq!(fg_of_line_starting("- "), Some(Color::Red));
}
