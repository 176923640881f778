#![allow(clippy::unwrap_used)]

use keygate_core::KeySpec;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::fixtures::{self, NOW, ctx};

const URI: &str = "local://payments";

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn opened() -> State {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Open(URI.into()), &c);
    let g = s.generation;
    s.update(Msg::Metadata(g, Ok(fixtures::keys("local").remove(0))), &c);
    s.update(Msg::Providers(g, Ok(fixtures::providers())), &c);
    s
}

#[test]
fn opening_loads_every_part_on_its_own() {
    let mut s = State::default();
    let c = ctx(false);
    let e = s.update(Msg::Open(URI.into()), &c);
    let parts: Vec<PartKind> = e
        .iter()
        .map(|e| match e {
            Effect::Run(Cmd::Load { part, key, now, .. }) => {
                assert_eq!(key, URI);
                assert_eq!(*now, NOW);
                *part
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        parts,
        [
            PartKind::Metadata,
            PartKind::Versions,
            PartKind::Policy,
            PartKind::Audit,
            PartKind::Providers
        ]
    );
    // One part failing leaves the others alone.
    let g = s.generation;
    s.update(Msg::Policy(g, Err("permission denied".into())), &c);
    s.update(Msg::Versions(g, Ok(Vec::new())), &c);
    assert_eq!(s.policy, Part::Failed("permission denied".into()));
    assert_eq!(s.versions, Part::Ready(Vec::new()));
    assert_eq!(s.metadata, Part::Loading);
    assert_eq!(s.audit, Part::Loading);
}

#[test]
fn the_public_key_is_asked_for_asymmetric_keys_only() {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Open("local://signing".into()), &c);
    let g = s.generation;
    let e = s.update(
        Msg::Metadata(g, Ok(fixtures::key("local", "signing", KeySpec::EcP256))),
        &c,
    );
    assert!(matches!(
        &e[..],
        [Effect::Run(Cmd::Load {
            part: PartKind::PublicKey,
            ..
        })]
    ));
    s.update(
        Msg::PublicKey(g, Ok("-----BEGIN PUBLIC KEY-----".into())),
        &c,
    );
    assert!(matches!(s.public_key, Part::Ready(Some(_))));
    let s = opened();
    assert_eq!(s.public_key, Part::Ready(None));
}

#[test]
fn answers_for_another_load_are_dropped() {
    let mut s = opened();
    let c = ctx(false);
    let old = s.generation;
    s.update(Msg::Refresh, &c);
    s.update(
        Msg::Audit(
            old,
            Ok(Recent {
                events: Vec::new(),
                partial: false,
            }),
        ),
        &c,
    );
    assert_eq!(s.audit, Part::Loading);
    // Opening another key starts from nothing.
    s.update(Msg::Open("local://signing".into()), &c);
    assert_eq!(s.metadata, Part::Loading);
    assert_eq!(s.key(), "local://signing");
}

#[test]
fn p_opens_the_policy_editor_on_this_key() {
    let mut s = opened();
    let c = ctx(false);
    assert_eq!(s.on_key(key(KeyCode::Char('p')), &c), Some(Msg::EditPolicy));
    assert_eq!(
        s.update(Msg::EditPolicy, &c),
        vec![Effect::Open(Route::Policy(PolicyTarget::Key(URI.into())))]
    );
}

#[test]
fn scrolling_stays_in_range() {
    let mut s = opened();
    let c = ctx(false);
    s.update(Msg::Scroll(-5), &c);
    assert_eq!(s.scroll, 0);
    s.update(Msg::Scroll(4), &c);
    assert_eq!(s.scroll, 4);
    s.update(Msg::Top, &c);
    assert_eq!(s.scroll, 0);
}

#[test]
fn actions_work_on_the_shown_key() {
    let mut s = opened();
    let c = ctx(false);
    for (request, title) in [
        (Request::Rotate, "Rotate now"),
        (Request::Schedule, "Rotation schedule"),
        (Request::RotateAt, "Rotate at a time"),
        (Request::Toggle, "Disable key"),
        (Request::Delete, "Schedule deletion"),
    ] {
        assert!(s.update(Msg::Action(request), &c).is_empty(), "{request:?}");
        assert_eq!(s.dialog().unwrap().title(), title);
        s.update(Msg::Dialog(key(KeyCode::Esc)), &c);
        assert!(s.dialog().is_none());
    }
    let e = s.update(Msg::Action(Request::CancelDeletion), &c);
    assert!(matches!(&e[0], Effect::Notify(n) if n.error));
    // Rotate, confirmed: the mutation runs; its answer notifies and reloads every part.
    s.update(Msg::Action(Request::Rotate), &c);
    let e = s.update(Msg::Dialog(key(KeyCode::Char('y'))), &c);
    assert_eq!(
        e[1],
        Effect::Run(Cmd::Mutate(Mutation::Rotate { key: URI.into() }))
    );
    let e = s.update(Msg::Done(Ok("rotated local://payments".into())), &c);
    assert_eq!(
        e[0],
        Effect::Notify(Notice::info("rotated local://payments"))
    );
    assert_eq!(e.len(), 6);
}

#[test]
fn actions_wait_for_the_key() {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Open(URI.into()), &c);
    let e = s.update(Msg::Action(Request::Rotate), &c);
    assert!(matches!(&e[0], Effect::Notify(n) if n.error));
}

#[test]
fn readonly_refuses_every_action() {
    let mut s = opened();
    let ro = ctx(true);
    for request in [
        Request::Rotate,
        Request::Schedule,
        Request::RotateAt,
        Request::Toggle,
        Request::Delete,
        Request::CancelDeletion,
    ] {
        assert_eq!(
            s.update(Msg::Action(request), &ro),
            vec![Effect::Notify(readonly_notice())]
        );
        assert!(s.dialog().is_none());
    }
    s.update(Msg::Action(Request::Toggle), &ctx(false));
    assert_eq!(
        s.update(Msg::Dialog(key(KeyCode::Char('y'))), &ro),
        vec![Effect::Notify(readonly_notice())]
    );
}

#[test]
fn every_listed_binding_does_something() {
    let s = opened();
    let c = ctx(false);
    for b in BINDINGS {
        for k in crate::keymap::parse(b.keys).unwrap() {
            assert!(s.on_key(k, &c).is_some(), "{} does nothing", b.keys);
        }
    }
}

#[test]
fn the_detail_reloads_on_ticks_once_stale() {
    let mut s = opened();
    let mut c = ctx(false);
    assert!(s.update(Msg::Tick, &c).is_empty());
    c.now = NOW + crate::screens::keys::REFRESH_EVERY;
    assert_eq!(s.update(Msg::Tick, &c).len(), 5);
}
