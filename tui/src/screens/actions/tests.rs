#![allow(clippy::unwrap_used)]

use keygate_core::{KeyMetadata, KeySpec, KeyState, RotationSchedule};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::Duration;

use super::*;
use crate::fixtures::{self, NOW};

fn press(d: &mut Dialog, code: KeyCode) -> Step {
    d.handle(KeyEvent::new(code, KeyModifiers::NONE), NOW)
}

fn type_text(d: &mut Dialog, text: &str) {
    for c in text.chars() {
        press(d, KeyCode::Char(c));
    }
}

fn clear(d: &mut Dialog) {
    d.handle(
        KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
        NOW,
    );
}

fn focus(d: &mut Dialog, label: &str) {
    d.form.focus = d.form.fields.iter().position(|f| f.label == label).unwrap();
}

fn aws_orders() -> KeyMetadata {
    fixtures::keys("aws").remove(0)
}

#[test]
fn confirmations_run_on_y_and_close_on_n() {
    let providers = fixtures::providers();
    let key = aws_orders();
    let mut d = open(Request::Rotate, Some(&key), &providers).unwrap();
    assert_eq!(press(&mut d, KeyCode::Char('x')), Step::Stay);
    assert_eq!(
        press(&mut d, KeyCode::Char('y')),
        Step::Submit(Mutation::Rotate {
            key: key.uri.clone()
        })
    );
    assert_eq!(press(&mut d, KeyCode::Char('n')), Step::Cancel);
    assert_eq!(press(&mut d, KeyCode::Esc), Step::Cancel);
}

#[test]
fn toggle_disables_an_enabled_key_and_enables_a_disabled_one() {
    let providers = fixtures::providers();
    let mut key = aws_orders();
    let mut d = open(Request::Toggle, Some(&key), &providers).unwrap();
    assert!(matches!(
        press(&mut d, KeyCode::Char('y')),
        Step::Submit(Mutation::Disable { .. })
    ));
    key.state = KeyState::Disabled;
    let mut d = open(Request::Toggle, Some(&key), &providers).unwrap();
    assert!(matches!(
        press(&mut d, KeyCode::Char('y')),
        Step::Submit(Mutation::Enable { .. })
    ));
    key.state = KeyState::PendingDeletion {
        deletion_date: NOW + Duration::days(3),
    };
    assert!(open(Request::Toggle, Some(&key), &providers).is_err());
}

#[test]
fn cancel_deletion_needs_a_pending_key() {
    let providers = fixtures::providers();
    let key = aws_orders();
    assert!(open(Request::CancelDeletion, Some(&key), &providers).is_err());
    let pending = fixtures::keys("local").remove(2);
    let mut d = open(Request::CancelDeletion, Some(&pending), &providers).unwrap();
    assert_eq!(
        press(&mut d, KeyCode::Char('y')),
        Step::Submit(Mutation::CancelDeletion { key: pending.uri })
    );
}

#[test]
fn actions_need_a_key() {
    assert_eq!(
        open(Request::Rotate, None, &fixtures::providers()).unwrap_err(),
        "no key selected"
    );
}

#[test]
fn schedule_is_validated_against_the_provider_bounds() {
    let providers = fixtures::providers();
    let key = aws_orders();
    let mut d = open(Request::Schedule, Some(&key), &providers).unwrap();
    assert_eq!(d.form.get("period days"), "365");
    clear(&mut d);
    type_text(&mut d, "30");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(
        d.error.as_deref().unwrap().contains("90–2560"),
        "{:?}",
        d.error
    );
    // The typed value is kept.
    assert_eq!(d.form.get("period days"), "30");
    clear(&mut d);
    type_text(&mut d, "180");
    press(&mut d, KeyCode::Tab);
    type_text(&mut d, "+10d");
    assert_eq!(
        press(&mut d, KeyCode::Enter),
        Step::Submit(Mutation::SetRotation {
            key: key.uri.clone(),
            schedule: Some(RotationSchedule {
                period_days: 180,
                next_rotation: Some(NOW + Duration::days(10)),
            }),
        })
    );
    // A past next time is refused.
    clear(&mut d);
    type_text(&mut d, "2020-01-01");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(d.error.as_deref().unwrap().contains("not in the future"));
    // An empty period clears the schedule.
    focus(&mut d, "period days");
    clear(&mut d);
    assert_eq!(
        press(&mut d, KeyCode::Enter),
        Step::Submit(Mutation::SetRotation {
            key: key.uri,
            schedule: None,
        })
    );
}

#[test]
fn schedule_is_refused_where_the_provider_cannot_rotate_the_spec() {
    let providers = fixtures::providers();
    let legacy = fixtures::keys("aws").remove(1);
    let err = open(Request::Schedule, Some(&legacy), &providers).unwrap_err();
    assert!(err.contains("cannot rotate automatically"), "{err}");
}

#[test]
fn rotate_at_keeps_the_period() {
    let providers = fixtures::providers();
    let key = aws_orders();
    let mut d = open(Request::RotateAt, Some(&key), &providers).unwrap();
    type_text(&mut d, "soon");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(d.error.is_some());
    clear(&mut d);
    type_text(&mut d, "2026-12-24T08:00:00Z");
    assert_eq!(
        press(&mut d, KeyCode::Enter),
        Step::Submit(Mutation::SetRotation {
            key: key.uri,
            schedule: Some(RotationSchedule {
                period_days: 365,
                next_rotation: Some(time::macros::datetime!(2026-12-24 08:00 UTC)),
            }),
        })
    );
    // Without a schedule there is no period to keep.
    let unscheduled = fixtures::key("aws", "plain", KeySpec::Aes256);
    assert!(
        open(Request::RotateAt, Some(&unscheduled), &providers)
            .unwrap_err()
            .contains("set one first")
    );
}

#[test]
fn deletion_needs_the_exact_name_and_a_window_within_bounds() {
    let providers = fixtures::providers();
    let key = aws_orders();
    let mut d = open(Request::Delete, Some(&key), &providers).unwrap();
    assert_eq!(d.form.get("waiting days"), "30");
    type_text(&mut d, "order");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(d.error.as_deref().unwrap().contains("`orders`"));
    type_text(&mut d, "s");
    press(&mut d, KeyCode::Tab);
    clear(&mut d);
    type_text(&mut d, "3");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(d.error.as_deref().unwrap().contains("7–30"));
    clear(&mut d);
    type_text(&mut d, "7");
    assert_eq!(
        press(&mut d, KeyCode::Enter),
        Step::Submit(Mutation::ScheduleDeletion {
            key: key.uri,
            days: 7
        })
    );
    let pending = fixtures::keys("local").remove(2);
    assert!(open(Request::Delete, Some(&pending), &providers).is_err());
}

#[test]
fn create_validates_name_labels_and_rotation_against_the_chosen_provider() {
    let providers = fixtures::providers();
    let mut d = open(Request::Create, None, &providers).unwrap();
    assert_eq!(d.form.get("provider"), "local");
    // Switch to aws: specs follow the provider.
    press(&mut d, KeyCode::Right);
    assert_eq!(d.form.get("provider"), "aws");
    focus(&mut d, "name");
    type_text(&mut d, "bad name");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(
        d.error.as_deref().unwrap().contains("contains ` `"),
        "{:?}",
        d.error
    );
    clear(&mut d);
    type_text(&mut d, "billing");
    focus(&mut d, "spec");
    assert_eq!(d.form.get("spec"), "AES_256");
    press(&mut d, KeyCode::Right);
    assert_eq!(d.form.get("spec"), "RSA_2048");
    // RSA offers encrypt and sign.
    focus(&mut d, "usage");
    press(&mut d, KeyCode::Right);
    assert_eq!(d.form.get("usage"), "sign");
    focus(&mut d, "rotation days");
    type_text(&mut d, "365");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(
        d.error
            .as_deref()
            .unwrap()
            .contains("cannot rotate RSA_2048")
    );
    // Back to AES: rotation within 90–2560 works; labels parse.
    focus(&mut d, "spec");
    press(&mut d, KeyCode::Left);
    assert_eq!(d.form.get("usage"), "encrypt");
    focus(&mut d, "labels");
    type_text(&mut d, "team=pay");
    focus(&mut d, "rotation days");
    clear(&mut d);
    type_text(&mut d, "30");
    assert_eq!(press(&mut d, KeyCode::Enter), Step::Stay);
    assert!(d.error.as_deref().unwrap().contains("90–2560"));
    clear(&mut d);
    type_text(&mut d, "90");
    let Step::Submit(Mutation::Create { provider, request }) = press(&mut d, KeyCode::Enter) else {
        panic!("not submitted: {:?}", d.error);
    };
    assert_eq!(provider, "aws");
    assert_eq!(request.name, "billing");
    assert_eq!(request.spec, KeySpec::Aes256);
    assert_eq!(request.rotation, Some(RotationSchedule::every(90)));
    assert_eq!(request.labels.get("team").map(String::as_str), Some("pay"));
}

#[test]
fn create_needs_a_provider() {
    assert!(open(Request::Create, None, &[]).is_err());
}

#[test]
fn action_keys_map_to_requests() {
    for b in BINDINGS {
        let c = b.keys.chars().next().unwrap();
        assert!(
            request_for(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)).is_some(),
            "{}",
            b.keys
        );
        assert!(b.mutates);
    }
}
