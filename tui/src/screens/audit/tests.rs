#![allow(clippy::unwrap_used)]

use keygate_core::audit::{AuditOutcome, BrokenRow};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use time::Duration;

use super::*;
use crate::fixtures::{NOW, ctx};
use crate::keymap;

/// Event `seq`: alternating principals, actions and providers, `seq` seconds after
/// 11:00 of the fixed day.
pub(crate) fn event(seq: u64) -> AuditEvent {
    let aws = seq.is_multiple_of(3);
    AuditEvent {
        seq,
        time: NOW - Duration::hours(1) + Duration::seconds(i64::try_from(seq).unwrap()),
        request_id: format!("req-{seq:04}"),
        principal: if seq.is_multiple_of(2) {
            "alice"
        } else {
            "local:root"
        }
        .to_owned(),
        source: "console".to_owned(),
        action: if seq.is_multiple_of(4) {
            "keys:rotate"
        } else {
            "crypto:encrypt"
        }
        .to_owned(),
        provider: Some(if aws { "aws" } else { "local" }.to_owned()),
        key: Some(if aws {
            "aws-kms://us-east-1/orders".to_owned()
        } else {
            "local://payments".to_owned()
        }),
        key_version: Some("3".to_owned()),
        outcome: if seq.is_multiple_of(5) {
            AuditOutcome::Denied
        } else {
            AuditOutcome::Success
        },
        error_kind: (seq.is_multiple_of(5)).then(|| "permission_denied".to_owned()),
        duration_us: 1200 + seq,
        intent_seq: None,
        prev_hash: format!("{:064x}", seq - 1),
        hash: format!("{seq:064x}"),
    }
}

fn events(range: std::ops::RangeInclusive<u64>) -> Vec<AuditEvent> {
    range.map(event).collect()
}

/// A screen opened and streaming: returns it and its stream's generation.
fn opened() -> (State, u64) {
    let mut s = State::default();
    let effects = s.update(Msg::Refresh, &ctx(false));
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::Run(Cmd::Follow { generation, .. }) => Some(*generation),
            _ => None,
        })
        .unwrap();
    assert!(effects.contains(&Effect::Run(Cmd::Verify)));
    (s, generation)
}

fn streaming(n: u64) -> State {
    let (mut s, generation) = opened();
    s.update(
        Msg::Events {
            generation,
            events: events(1..=n),
        },
        &ctx(false),
    );
    s.update(
        Msg::Verified(Ok(AuditVerification {
            rows: 1234,
            head: Some("ab".into()),
            first_broken: None,
            root: None,
            unkeyed_rows: 0,
            checkpoint: None,
            unresolved_intents: 0,
            from_checkpoint: None,
        })),
        &ctx(false),
    );
    s
}

fn typed(s: &mut State, text: &str) -> Vec<Effect<Cmd>> {
    s.update(Msg::FilterStart, &ctx(false));
    for c in text.chars() {
        s.update(Msg::FilterChar(c), &ctx(false));
    }
    s.update(Msg::FilterApply, &ctx(false))
}

fn follow_query(effects: &[Effect<Cmd>]) -> Option<(u64, AuditQuery)> {
    effects.iter().find_map(|e| match e {
        Effect::Run(Cmd::Follow {
            generation, query, ..
        }) => Some((*generation, query.clone())),
        _ => None,
    })
}

#[test]
fn opening_starts_one_stream_from_the_last_hour_and_checks_the_chain() {
    let (mut s, generation) = opened();
    assert_eq!(s.stream(), &Stream::Live);
    assert_eq!(s.chain(), &Chain::Checking);
    // Opening again while live re-checks the chain but keeps the stream.
    let again = s.update(Msg::Refresh, &ctx(false));
    assert_eq!(again, vec![Effect::Run(Cmd::Verify)]);
    assert_eq!(s.generation(), generation);
    let (_, query) = follow_query(&s.update(Msg::Restart, &ctx(false))).unwrap();
    assert_eq!(query.since, Some(NOW - Duration::hours(1)));
    // An ended stream restarts on the next open.
    s.update(
        Msg::Ended {
            generation: s.generation(),
            error: Some("gone".into()),
        },
        &ctx(false),
    );
    assert_eq!(s.stream(), &Stream::Ended("gone".into()));
    assert!(follow_query(&s.update(Msg::Refresh, &ctx(false))).is_some());
}

#[test]
fn events_append_and_the_view_follows_the_newest() {
    let mut s = streaming(5);
    assert_eq!(s.events().len(), 5);
    assert_eq!(s.selected(), 4);
    assert!(s.following());
    s.update(Msg::Move(-2), &ctx(false));
    assert!(!s.following());
    let generation = s.generation();
    s.update(
        Msg::Events {
            generation,
            events: events(6..=7),
        },
        &ctx(false),
    );
    // Scrolled up: the selection stays where the user put it.
    assert_eq!(s.selected(), 2);
    s.update(Msg::Bottom, &ctx(false));
    assert!(s.following());
    assert_eq!(s.selected(), 6);
    s.update(Msg::Top, &ctx(false));
    assert_eq!(s.selected(), 0);
    s.update(Msg::Move(100), &ctx(false));
    assert_eq!(s.selected(), 6);
    assert!(s.following());
}

#[test]
fn stale_generations_are_dropped() {
    let mut s = streaming(3);
    let old = s.generation();
    typed(&mut s, "principal:alice");
    assert_eq!(s.generation(), old + 1);
    s.update(
        Msg::Events {
            generation: old,
            events: events(10..=12),
        },
        &ctx(false),
    );
    assert!(s.events().is_empty());
    s.update(
        Msg::Ended {
            generation: old,
            error: Some("old stream".into()),
        },
        &ctx(false),
    );
    assert_eq!(s.stream(), &Stream::Live);
}

#[test]
fn a_restart_tells_the_old_stream_to_stop() {
    let (mut s, _) = opened();
    let first = s.update(Msg::Restart, &ctx(false));
    let Some(Effect::Run(Cmd::Follow {
        stop, generation, ..
    })) = first.into_iter().next()
    else {
        panic!("no stream");
    };
    assert_eq!(*stop.0.borrow(), generation);
    s.update(Msg::Restart, &ctx(false));
    assert_ne!(*stop.0.borrow(), generation);
}

#[test]
fn pause_counts_new_events_and_resume_shows_them() {
    let mut s = streaming(3);
    s.update(Msg::TogglePause, &ctx(false));
    assert!(s.paused());
    let generation = s.generation();
    s.update(
        Msg::Events {
            generation,
            events: events(4..=8),
        },
        &ctx(false),
    );
    assert_eq!(s.events().len(), 3);
    assert_eq!(s.new_while_paused(), 5);
    s.update(Msg::TogglePause, &ctx(false));
    assert!(!s.paused());
    assert_eq!(s.events().len(), 8);
    assert_eq!(s.new_while_paused(), 0);
    assert_eq!(s.events().back().unwrap().seq, 8);
    assert_eq!(s.selected(), 7);
}

#[test]
fn memory_is_bounded_by_the_ring() {
    let mut s = streaming(0);
    let generation = s.generation();
    for chunk in 0..21u64 {
        let from = chunk * 500 + 1;
        s.update(
            Msg::Events {
                generation,
                events: events(from..=from + 499),
            },
            &ctx(false),
        );
    }
    assert_eq!(s.events().len(), CAPACITY);
    assert_eq!(s.events().back().unwrap().seq, 10_500);
    assert_eq!(s.events().front().unwrap().seq, 501);
    // Paused, held events share the budget.
    s.update(Msg::TogglePause, &ctx(false));
    s.update(
        Msg::Events {
            generation,
            events: events(10_501..=10_600),
        },
        &ctx(false),
    );
    assert_eq!(s.new_while_paused(), 100);
    s.update(Msg::TogglePause, &ctx(false));
    assert_eq!(s.events().len(), CAPACITY);
    assert_eq!(s.events().back().unwrap().seq, 10_600);
}

#[test]
fn a_filter_restarts_the_stream_with_what_the_gateway_can_filter() {
    let mut s = streaming(3);
    let effects = typed(
        &mut s,
        "provider:aws principal:alice action:keys:rotate outcome:denied since:2h",
    );
    let (generation, query) = follow_query(&effects).unwrap();
    assert_eq!(generation, s.generation());
    assert_eq!(query.principal.as_deref(), Some("alice"));
    assert_eq!(query.action.as_deref(), Some("keys:rotate"));
    assert_eq!(query.outcome, Some(AuditOutcome::Denied));
    assert_eq!(query.since, Some(NOW - Duration::hours(2)));
    // The provider is filtered here.
    s.update(
        Msg::Events {
            generation,
            events: events(1..=12),
        },
        &ctx(false),
    );
    assert!(
        s.events()
            .iter()
            .all(|e| e.provider.as_deref() == Some("aws"))
    );
    assert_eq!(s.events().len(), 4);
    // esc on the screen clears the filter and restarts.
    let esc = s.on_key(KeyEvent::from(KeyCode::Esc), &ctx(false));
    assert_eq!(esc, Some(Msg::FilterClear));
    let cleared = s.update(Msg::FilterClear, &ctx(false));
    assert_eq!(follow_query(&cleared).unwrap().1.principal, None);
    assert_eq!(s.filter_text(), "");
}

#[test]
fn an_invalid_filter_is_an_error_and_keeps_the_text_and_the_stream() {
    let mut s = streaming(3);
    let generation = s.generation();
    let effects = typed(&mut s, "outcome:maybe");
    assert!(effects.is_empty());
    assert!(s.filter_error().unwrap().contains("maybe"));
    assert_eq!(s.filter_text(), "outcome:maybe");
    assert_eq!(s.generation(), generation);
    assert_eq!(s.events().len(), 3);
    // Still editing: the next key goes to the filter line.
    assert_eq!(
        s.on_key(KeyEvent::from(KeyCode::Char('x')), &ctx(false)),
        Some(Msg::FilterChar('x'))
    );
    // esc abandons the edit and restores the applied (empty) filter.
    s.update(Msg::FilterCancel, &ctx(false));
    assert_eq!(s.filter_text(), "");
    assert_eq!(s.filter_error(), None);
}

#[test]
fn enter_opens_the_selected_event_and_esc_closes_it() {
    let mut s = streaming(5);
    s.update(Msg::Move(-1), &ctx(false));
    let open = s.on_key(KeyEvent::from(KeyCode::Enter), &ctx(false));
    assert_eq!(open, Some(Msg::Open));
    s.update(Msg::Open, &ctx(false));
    assert_eq!(s.detail().unwrap().seq, 4);
    // New events do not change the event shown.
    let generation = s.generation();
    s.update(
        Msg::Events {
            generation,
            events: events(6..=6),
        },
        &ctx(false),
    );
    assert_eq!(s.detail().unwrap().seq, 4);
    let close = s.on_key(KeyEvent::from(KeyCode::Esc), &ctx(false));
    assert_eq!(close, Some(Msg::Close));
    s.update(Msg::Close, &ctx(false));
    assert!(s.detail().is_none());
}

#[test]
fn verification_is_shown_and_rechecked_with_v() {
    let mut s = streaming(1);
    assert!(matches!(s.chain(), Chain::Checked(v) if v.rows == 1234));
    assert_eq!(
        s.on_key(KeyEvent::from(KeyCode::Char('v')), &ctx(false)),
        Some(Msg::Verify)
    );
    assert_eq!(
        s.update(Msg::Verify, &ctx(false)),
        vec![Effect::Run(Cmd::Verify)]
    );
    assert_eq!(s.chain(), &Chain::Checking);
    s.update(Msg::Verified(Err("denied".into())), &ctx(false));
    assert_eq!(s.chain(), &Chain::Failed("denied".into()));
}

#[test]
fn every_binding_does_something() {
    let s = streaming(5);
    for b in BINDINGS {
        for key in keymap::parse(b.keys).unwrap() {
            assert!(s.on_key(key, &ctx(false)).is_some(), "{}", b.keys);
        }
    }
    // Keys it does not use stay global.
    assert_eq!(
        s.on_key(KeyEvent::from(KeyCode::Char('q')), &ctx(false)),
        None
    );
    assert_eq!(
        s.on_key(KeyEvent::from(KeyCode::Char(':')), &ctx(false)),
        None
    );
}

// Snapshots, at 80×24 and 120×40.

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snapshot(name: &str, state: &State) {
    for (w, h) in SIZES {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| state.view(f, f.area(), &ctx(false)))
            .unwrap();
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!(
                format!("audit_{name}_{w}x{h}"),
                terminal.backend().to_string()
            );
        });
    }
}

#[test]
fn snapshots() {
    snapshot("streaming", &streaming(60));

    let mut paused = streaming(8);
    paused.update(Msg::TogglePause, &ctx(false));
    let generation = paused.generation();
    paused.update(
        Msg::Events {
            generation,
            events: events(9..=20),
        },
        &ctx(false),
    );
    snapshot("paused", &paused);

    let mut filtered = streaming(0);
    let effects = typed(&mut filtered, "provider:aws outcome:denied");
    let (generation, query) = follow_query(&effects).unwrap();
    // The gateway applies what the query says; the screen the rest.
    let sent = events(1..=40)
        .into_iter()
        .filter(|e| query.matches(e))
        .collect();
    filtered.update(
        Msg::Events {
            generation,
            events: sent,
        },
        &ctx(false),
    );
    snapshot("filtered", &filtered);

    let mut invalid = streaming(4);
    typed(&mut invalid, "since:yesterday");
    snapshot("filter_invalid", &invalid);

    let mut detail = streaming(5);
    detail.update(Msg::Open, &ctx(false));
    snapshot("event_detail", &detail);

    let mut broken = streaming(6);
    broken.update(
        Msg::Verified(Ok(AuditVerification {
            rows: 41,
            head: Some("ab".into()),
            first_broken: Some(BrokenRow {
                seq: 42,
                reason: "hash mismatch (row edited)".into(),
            }),
            root: None,
            unkeyed_rows: 0,
            checkpoint: None,
            unresolved_intents: 0,
            from_checkpoint: None,
        })),
        &ctx(false),
    );
    snapshot("chain_broken", &broken);

    snapshot("empty", &opened().0);
}
