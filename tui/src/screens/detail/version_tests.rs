//! The versions table's selection and its actions, through the detail's `update`.
#![allow(clippy::unwrap_used)]

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::fixtures::{self, ctx};
use crate::screens::actions::versions::VersionChange;

const URI: &str = "local://payments";

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The detail of `payments` with its four versions (1 destroy-scheduled, 2 disabled,
/// 3 primary, 4 enabled) loaded.
fn with_versions() -> State {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Open(URI.into()), &c);
    let g = s.generation;
    s.update(Msg::Metadata(g, Ok(fixtures::keys("local").remove(0))), &c);
    s.update(Msg::Providers(g, Ok(fixtures::providers())), &c);
    s.update(Msg::Versions(g, Ok(fixtures::versions())), &c);
    s
}

fn selected(s: &State) -> &str {
    &s.selected_version().unwrap().id
}

/// Presses the keys that select version `id` (the table is newest first: 4, 3, 2, 1).
fn select(s: &mut State, id: &str) {
    let c = ctx(false);
    s.update(Msg::SelectVersion(-10), &c);
    while selected(s) != id {
        let msg = s.on_key(key(KeyCode::Char(']')), &c).unwrap();
        s.update(msg, &c);
    }
}

/// Opens `request`'s dialog on version `id`, confirms it with `y`, and returns what ran.
fn confirm(s: &mut State, id: &str, request: VersionRequest) -> Vec<Effect<Cmd>> {
    let c = ctx(false);
    select(s, id);
    assert!(s.update(Msg::VersionAction(request), &c).is_empty());
    assert!(s.dialog().is_some(), "{request:?} on {id}");
    s.update(Msg::Dialog(key(KeyCode::Char('y'))), &c)
}

fn mutation(id: &str, change: VersionChange) -> Effect<Cmd> {
    Effect::Run(Cmd::Mutate(Mutation::Version {
        key: URI.into(),
        version: id.into(),
        change,
    }))
}

#[test]
fn the_newest_version_is_selected_and_brackets_move_within_the_table() {
    let mut s = with_versions();
    let c = ctx(false);
    assert_eq!(selected(&s), "4");
    assert_eq!(
        s.on_key(key(KeyCode::Char(']')), &c),
        Some(Msg::SelectVersion(1))
    );
    assert_eq!(
        s.on_key(key(KeyCode::Char('[')), &c),
        Some(Msg::SelectVersion(-1))
    );
    s.update(Msg::SelectVersion(1), &c);
    assert_eq!(selected(&s), "3");
    s.update(Msg::SelectVersion(5), &c);
    assert_eq!(selected(&s), "1");
    s.update(Msg::SelectVersion(-1), &c);
    assert_eq!(selected(&s), "2");
    s.update(Msg::SelectVersion(-9), &c);
    assert_eq!(selected(&s), "4");
    // A reload keeps the selection while the version is listed.
    select(&mut s, "2");
    s.update(Msg::Refresh, &c);
    let g = s.generation;
    s.update(Msg::Versions(g, Ok(fixtures::versions())), &c);
    assert_eq!(selected(&s), "2");
    let mut fewer = fixtures::versions();
    fewer.remove(1);
    s.update(Msg::Versions(g, Ok(fewer)), &c);
    assert_eq!(selected(&s), "4");
}

#[test]
fn each_version_action_confirms_then_runs_on_the_selected_version() {
    let mut s = with_versions();
    for (id, request, change, title) in [
        (
            "4",
            VersionRequest::Toggle,
            VersionChange::Disable,
            "Disable version",
        ),
        (
            "2",
            VersionRequest::Toggle,
            VersionChange::Enable,
            "Enable version",
        ),
        (
            "2",
            VersionRequest::Destroy,
            VersionChange::Destroy,
            "Destroy version",
        ),
        (
            "1",
            VersionRequest::Restore,
            VersionChange::Restore,
            "Restore version",
        ),
        (
            "4",
            VersionRequest::MakePrimary,
            VersionChange::MakePrimary,
            "Make primary",
        ),
    ] {
        select(&mut s, id);
        s.update(Msg::VersionAction(request), &ctx(false));
        assert_eq!(s.dialog().unwrap().title(), title);
        let e = s.update(Msg::Dialog(key(KeyCode::Char('y'))), &ctx(false));
        assert_eq!(
            e,
            vec![
                Effect::Notify(Notice::info("working…")),
                mutation(id, change)
            ]
        );
        assert!(s.dialog().is_none());
    }
    // `n` closes a dialog without running anything.
    select(&mut s, "3");
    s.update(Msg::VersionAction(VersionRequest::Destroy), &ctx(false));
    assert!(
        s.update(Msg::Dialog(key(KeyCode::Char('n'))), &ctx(false))
            .is_empty()
    );
    assert!(s.dialog().is_none());
    // The answer notifies and reloads every part.
    let e = s.update(
        Msg::Done(Ok("disabled version 4 of local://payments".into())),
        &ctx(false),
    );
    assert_eq!(
        e[0],
        Effect::Notify(Notice::info("disabled version 4 of local://payments"))
    );
    assert_eq!(e.len(), 6);
    let e = s.update(
        Msg::Done(Err("destroy version failed: denied".into())),
        &ctx(false),
    );
    assert!(matches!(&e[0], Effect::Notify(n) if n.error));
}

#[test]
fn the_action_keys_ask_for_their_actions() {
    let s = with_versions();
    let c = ctx(false);
    for (ch, request) in [
        ('E', VersionRequest::Toggle),
        ('X', VersionRequest::Destroy),
        ('U', VersionRequest::Restore),
        ('P', VersionRequest::MakePrimary),
    ] {
        assert_eq!(
            s.on_key(key(KeyCode::Char(ch)), &c),
            Some(Msg::VersionAction(request))
        );
    }
    let destroy = confirm(&mut with_versions(), "3", VersionRequest::Destroy);
    assert_eq!(destroy[1], mutation("3", VersionChange::Destroy));
}

#[test]
fn a_version_whose_state_does_not_allow_the_action_says_why() {
    let mut s = with_versions();
    let c = ctx(false);
    for (id, request, says) in [
        ("1", VersionRequest::Toggle, "restore it first"),
        ("1", VersionRequest::Destroy, "already destroy_scheduled"),
        ("1", VersionRequest::MakePrimary, "only an enabled version"),
        ("2", VersionRequest::MakePrimary, "only an enabled version"),
        ("3", VersionRequest::MakePrimary, "already the primary"),
        (
            "4",
            VersionRequest::Restore,
            "not scheduled for destruction",
        ),
    ] {
        select(&mut s, id);
        let e = s.update(Msg::VersionAction(request), &c);
        assert!(
            matches!(&e[..], [Effect::Notify(n)] if n.error && n.text.contains(says)),
            "{request:?} on {id}: {e:?}"
        );
        assert!(s.dialog().is_none());
    }
}

#[test]
fn version_actions_wait_for_the_versions() {
    let mut s = State::default();
    let c = ctx(false);
    s.update(Msg::Open(URI.into()), &c);
    let g = s.generation;
    s.update(Msg::Metadata(g, Ok(fixtures::keys("local").remove(0))), &c);
    let e = s.update(Msg::VersionAction(VersionRequest::Toggle), &c);
    assert!(matches!(&e[..], [Effect::Notify(n)] if n.error));
    assert!(s.dialog().is_none());
    // Moving a selection that is not there yet does nothing.
    s.update(Msg::SelectVersion(1), &c);
    assert!(s.selected_version().is_none());
}

#[test]
fn readonly_refuses_every_version_action_but_selection_works() {
    let mut s = with_versions();
    let ro = ctx(true);
    s.update(Msg::SelectVersion(1), &ro);
    assert_eq!(selected(&s), "3");
    for request in [
        VersionRequest::Toggle,
        VersionRequest::Destroy,
        VersionRequest::Restore,
        VersionRequest::MakePrimary,
    ] {
        assert_eq!(
            s.update(Msg::VersionAction(request), &ro),
            vec![Effect::Notify(readonly_notice())]
        );
        assert!(s.dialog().is_none());
    }
    // A dialog opened before (it cannot be under --readonly) is refused on submit too.
    s.update(Msg::VersionAction(VersionRequest::Destroy), &ctx(false));
    assert_eq!(
        s.update(Msg::Dialog(key(KeyCode::Char('y'))), &ro),
        vec![Effect::Notify(readonly_notice())]
    );
    // Help hides the version actions under --readonly and lists the selection keys.
    let help: Vec<String> = crate::help::lines(&Route::KeyDetail { key: URI.into() }, &ro)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let help = help.join("\n");
    assert!(help.contains("select the newer / older version"), "{help}");
    assert!(!help.contains("destroy the selected version"), "{help}");
}

#[test]
fn the_destroy_question_says_it_stops_working_and_can_be_restored() {
    let mut s = with_versions();
    select(&mut s, "3");
    s.update(Msg::VersionAction(VersionRequest::Toggle), &ctx(false));
    let Some(Dialog {
        kind: actions::Kind::Confirm { question, .. },
        ..
    }) = s.dialog()
    else {
        panic!("no confirmation");
    };
    assert!(question.contains("It is the primary"), "{question}");
    s.update(Msg::Dialog(key(KeyCode::Esc)), &ctx(false));
    s.update(Msg::VersionAction(VersionRequest::Destroy), &ctx(false));
    let Some(Dialog {
        kind: actions::Kind::Confirm { question, .. },
        ..
    }) = s.dialog()
    else {
        panic!("no confirmation");
    };
    assert!(question.contains("stops working at once"), "{question}");
    assert!(question.contains("unless restored"), "{question}");
}

#[test]
fn a_provider_without_version_operations_says_so_before_asking() {
    let mut s = State::default();
    let c = ctx(false);
    let orders = fixtures::keys("aws").remove(0);
    s.update(Msg::Open(orders.uri.clone()), &c);
    let g = s.generation;
    s.update(Msg::Metadata(g, Ok(orders)), &c);
    s.update(Msg::Providers(g, Ok(fixtures::providers())), &c);
    s.update(Msg::Versions(g, Ok(fixtures::versions())), &c);
    for (request, says) in [
        (
            VersionRequest::Toggle,
            "provider aws cannot enable or disable one version",
        ),
        (
            VersionRequest::Destroy,
            "provider aws cannot destroy or restore one version",
        ),
        (
            VersionRequest::MakePrimary,
            "provider aws cannot choose the primary version",
        ),
    ] {
        let e = s.update(Msg::VersionAction(request), &c);
        assert_eq!(e, vec![Effect::Notify(Notice::error(says))]);
        assert!(s.dialog().is_none());
    }
}
