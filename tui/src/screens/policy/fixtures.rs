//! Fixtures the editor's test modules share: sample policies of every kind and a state
//! with one loaded.

#![allow(clippy::unwrap_used)]

use keygate_core::access::AccessPolicy;
use keygate_core::{Binding, NativePolicy, Policy};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::doc::{Doc, TextFormat};
use super::{Cmd, Loaded, Msg, State};
use crate::app::PolicyTarget;
use crate::screens::{Ctx, Effect};
use crate::theme::Theme;

pub(super) const GATEWAY_TOML: &str = r#"
[roles.rotator]
description = "rotates prod keys"
[[roles.rotator.statements]]
effect = "allow"
actions = ["keys:rotate", "keys:describe"]
keys = { name = "prod-*" }

[[statements]]
effect = "deny"
actions = ["crypto:decrypt"]
principals = ["ci-*"]
"#;

pub(super) const AWS_DOC: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
     "Action": "kms:*", "Resource": "*"},
    {"Sid": "Use", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/ci"]},
     "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}
  ]
}"#;

pub(super) fn ctx(readonly: bool) -> Ctx {
    Ctx {
        readonly,
        theme: Theme::colored(),
        now: time::macros::datetime!(2026-11-23 12:00 UTC),
    }
}

pub(super) fn gateway_doc() -> Doc {
    Doc::Gateway(AccessPolicy::from_toml(GATEWAY_TOML).unwrap())
}

pub(super) fn local_doc() -> Doc {
    let mut p = Policy::from_bindings(vec![
        Binding::role("user:alice@example.com", "viewer"),
        Binding::actions("user:app@example.com", ["decrypt", "encrypt"]),
    ]);
    p.etag = Some("etag-1".into());
    Doc::Key(p)
}

pub(super) fn aws_doc() -> Doc {
    let document: serde_json::Value = serde_json::from_str(AWS_DOC).unwrap();
    let mut p = Policy {
        native: Some(NativePolicy {
            format: "aws-key-policy".into(),
            document,
        }),
        ..Policy::default()
    };
    // As the provider returns it: bindings extracted, document verbatim.
    p = match Doc::Key(p).parse(AWS_DOC, TextFormat::Toml).unwrap() {
        Doc::Key(p) => p,
        Doc::Gateway(_) => unreachable!(),
    };
    Doc::Key(p)
}

pub(super) fn key_target() -> PolicyTarget {
    PolicyTarget::Key("local://payments".into())
}

/// A state on `target` with `doc` loaded.
pub(super) fn loaded(target: PolicyTarget, doc: Doc, readonly: bool) -> State {
    let mut s = State::default();
    let c = ctx(readonly);
    assert_eq!(
        s.update(Msg::Open(target.clone()), &c),
        vec![Effect::Run(Cmd::Load(target.clone()))]
    );
    let title = match &target {
        PolicyTarget::Gateway => "gateway access policy".to_owned(),
        PolicyTarget::Key(uri) => format!("payments ({uri})"),
    };
    assert!(
        s.update(Msg::Loaded(target, Box::new(Ok(Loaded { doc, title }))), &c)
            .is_empty()
    );
    s
}

pub(super) fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub(super) fn typed(s: &mut State, text: &str) {
    for ch in text.chars() {
        s.update(Msg::Input(key(KeyCode::Char(ch))), &ctx(false));
    }
}
