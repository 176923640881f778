//! Tests of the audit model: the chain hash, CSV export, query matching.

use super::*;
use time::macros::datetime;

fn event() -> NewAuditEvent {
    NewAuditEvent {
        time: datetime!(2026-11-23 18:34:45.123456789 UTC),
        request_id: "req-1".into(),
        principal: "alice".into(),
        source: "cli".into(),
        action: "crypto:encrypt".into(),
        provider: Some("local".into()),
        key: Some("kg://local/demo".into()),
        key_version: None,
        outcome: AuditOutcome::Success,
        error_kind: None,
        duration_us: 1234,
        intent_seq: None,
    }
}

fn stored(seq: u64) -> AuditEvent {
    event().into_chained(seq, GENESIS_HASH.to_owned(), None)
}

#[test]
fn chain_hash_matches_the_documented_encoding() {
    // Computed outside keygate (Python hashlib over the encoding in the rustdoc).
    let first = chain_hash(GENESIS_HASH, 1, &event());
    assert_eq!(
        first,
        "0137d6df2a02eeec62f992cd7d9e8974878bf48892a07858b736744420ebdc82"
    );
    let second = NewAuditEvent {
        request_id: "req-2".into(),
        principal: "bob".into(),
        source: "rest".into(),
        action: "keys:create".into(),
        provider: None,
        key: None,
        key_version: Some("v1".into()),
        outcome: AuditOutcome::Failure,
        error_kind: Some("not_found".into()),
        duration_us: 7,
        ..event()
    };
    assert_eq!(
        chain_hash(&first, 2, &second),
        "245ae9412d63b62ef88339cfc1b564ac365898955db68570aae010e0a043c4dd"
    );
}

#[test]
fn every_field_changes_the_hash() {
    let base = chain_hash(GENESIS_HASH, 1, &event());
    let variants: [fn(&mut NewAuditEvent); 11] = [
        |e| e.time += time::Duration::nanoseconds(1),
        |e| e.request_id.push('x'),
        |e| e.principal.push('x'),
        |e| e.source.push('x'),
        |e| e.action.push('x'),
        |e| e.provider = None,
        |e| e.key = Some("kg://local/other".into()),
        |e| e.key_version = Some("1".into()),
        |e| e.outcome = AuditOutcome::Denied,
        |e| e.error_kind = Some("denied".into()),
        |e| e.duration_us += 1,
    ];
    for (i, change) in variants.iter().enumerate() {
        let mut e = event();
        change(&mut e);
        assert_ne!(chain_hash(GENESIS_HASH, 1, &e), base, "field {i}");
    }
    assert_ne!(chain_hash(GENESIS_HASH, 2, &event()), base);
    assert_ne!(chain_hash(&"1".repeat(64), 1, &event()), base);
}

#[test]
fn encoding_is_unambiguous_and_offset_free() {
    // Moving bytes between adjacent fields must change the hash.
    let a = NewAuditEvent {
        request_id: "ab".into(),
        principal: "c".into(),
        ..event()
    };
    let b = NewAuditEvent {
        request_id: "a".into(),
        principal: "bc".into(),
        ..event()
    };
    assert_ne!(
        chain_hash(GENESIS_HASH, 1, &a),
        chain_hash(GENESIS_HASH, 1, &b)
    );
    // Absent and empty are different values.
    let none = NewAuditEvent {
        key_version: None,
        ..event()
    };
    let empty = NewAuditEvent {
        key_version: Some(String::new()),
        ..event()
    };
    assert_ne!(
        chain_hash(GENESIS_HASH, 1, &none),
        chain_hash(GENESIS_HASH, 1, &empty)
    );
    // The same instant written in another offset hashes the same.
    let shifted = NewAuditEvent {
        time: event()
            .time
            .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap()),
        ..event()
    };
    assert_eq!(
        chain_hash(GENESIS_HASH, 1, &shifted),
        chain_hash(GENESIS_HASH, 1, &event())
    );
}

#[test]
fn chained_rows_link_and_round_trip() {
    assert_eq!(GENESIS_HASH.len(), 64);
    assert!(GENESIS_HASH.bytes().all(|b| b == b'0'));
    let first = stored(1);
    assert_eq!(first.prev_hash, GENESIS_HASH);
    assert_eq!(first.chain_form(None), Some(ChainForm::Unkeyed));
    assert_eq!(first.event(), event());
    let second = event().into_chained(2, first.hash.clone(), None);
    assert_eq!(second.prev_hash, first.hash);
    assert_ne!(second.hash, first.hash);
    let mut edited = second.clone();
    edited.principal = "mallory".into();
    assert_eq!(edited.chain_form(None), None);
}

#[test]
fn keyed_rows_need_the_key_and_the_unkeyed_form_stays_recognised() {
    let keys = AuditKeys::from_root_key(&[7u8; 32]).unwrap();
    let other = AuditKeys::from_root_key(&[8u8; 32]).unwrap();
    let keyed = event().into_chained(1, GENESIS_HASH.to_owned(), Some(&keys.chain));
    // Computed outside keygate: Python hmac over the documented encoding, with the key from
    // HKDF-SHA256(root = 32 bytes of 7, salt = "", info = "keygate audit chain hmac-sha256 v1").
    assert_eq!(
        keyed.hash,
        "80e4ab82c8cbed55fb05dc52f7771c682fb6680abbc5bc3776a2488188914e7d"
    );
    assert_eq!(keyed.chain_form(Some(&keys.chain)), Some(ChainForm::Keyed));
    assert_eq!(keyed.chain_form(Some(&other.chain)), None);
    assert_eq!(keyed.chain_form(None), None);
    let unkeyed = stored(1);
    assert_eq!(
        unkeyed.chain_form(Some(&keys.chain)),
        Some(ChainForm::Unkeyed)
    );
    let mut edited = keyed.clone();
    edited.duration_us += 1;
    assert_eq!(edited.chain_form(Some(&keys.chain)), None);
    // Re-hashing an edited row without the key yields the unkeyed form, never the keyed one.
    let rehashed = edited
        .event()
        .into_chained(1, GENESIS_HASH.to_owned(), None);
    assert_eq!(
        rehashed.chain_form(Some(&keys.chain)),
        Some(ChainForm::Unkeyed)
    );
}

#[test]
fn leaf_hash_covers_the_encoding_without_the_chain() {
    let a = stored(1);
    let keys = AuditKeys::from_root_key(&[7u8; 32]).unwrap();
    let b = event().into_chained(1, GENESIS_HASH.to_owned(), Some(&keys.chain));
    assert_eq!(a.leaf_hash(), b.leaf_hash());
    assert_eq!(a.leaf_hash(), merkle::leaf_hash(&encode_row(1, &event())));
    assert_ne!(stored(2).leaf_hash(), a.leaf_hash());
}

#[test]
fn canonical_time_is_fixed_width_utc() {
    let t = datetime!(2026-01-02 03:04:05 +02:00);
    assert_eq!(canonical_time(t).unwrap(), "2026-01-02T01:04:05.000000000Z");
    let later = canonical_time(datetime!(2026-01-02 01:04:05.5 UTC)).unwrap();
    assert!(canonical_time(t).unwrap() < later);
    let parsed = OffsetDateTime::parse(
        &canonical_time(event().time).unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(parsed, event().time);
    let err = canonical_time(datetime!(-0001-01-01 0:00 UTC)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
}

#[test]
fn outcome_names_round_trip() {
    for o in [
        AuditOutcome::Success,
        AuditOutcome::Denied,
        AuditOutcome::Failure,
        AuditOutcome::Unknown,
    ] {
        assert_eq!(o.as_str().parse::<AuditOutcome>().unwrap(), o);
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(json, format!("\"{}\"", o.as_str()));
    }
    assert!("Success".parse::<AuditOutcome>().is_err());
}

#[test]
fn csv_quotes_per_rfc_4180() {
    let header = AuditEvent::csv_header();
    assert_eq!(header.split(',').count(), 15);
    assert!(header.starts_with("seq,time,request_id,"));
    assert!(header.ends_with(",duration_us,prev_hash,hash,intent_seq"));

    let row = stored(7).to_csv_row();
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!(fields.len(), 15);
    assert_eq!(fields[14], "", "absent intent_seq is empty");
    assert_eq!(fields[0], "7");
    assert_eq!(fields[1], "2026-11-23T18:34:45.123456789Z");
    assert_eq!(fields[6], "local");
    assert_eq!(fields[8], "", "absent key_version is empty");
    assert_eq!(fields[9], "success");
    assert_eq!(fields[11], "1234");
    assert_eq!(fields[12], GENESIS_HASH);

    let mut odd = stored(8);
    odd.principal = "a,b".into();
    odd.request_id = "say \"hi\"".into();
    odd.source = "line\nbreak".into();
    odd.action = "cr\rx".into();
    let row = odd.to_csv_row();
    assert!(row.contains(",\"say \"\"hi\"\"\",\"a,b\",\"line\nbreak\",\"cr\rx\","));
    assert!(!row.ends_with('\n'));
}

#[test]
fn query_matches_each_filter() {
    let e = stored(5);
    assert!(AuditQuery::default().matches(&e));
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery::default();
        f(&mut q);
        q.matches(&e)
    };
    assert!(q(|q| q.after = Some(4)));
    assert!(!q(|q| q.after = Some(5)));
    assert!(q(
        |q| q.since = Some(datetime!(2026-11-23 18:34:45.123456789 UTC))
    ));
    assert!(!q(|q| q.since = Some(datetime!(2026-11-23 18:34:46 UTC))));
    assert!(q(|q| q.until = Some(datetime!(2026-11-23 18:34:46 UTC))));
    assert!(!q(
        |q| q.until = Some(datetime!(2026-11-23 18:34:45.123456789 UTC))
    ));
    assert!(q(|q| q.key = Some("kg://local/demo".into())));
    assert!(!q(|q| q.key = Some("kg://local/other".into())));
    assert!(q(|q| q.principal = Some("alice".into())));
    assert!(!q(|q| q.principal = Some("alic".into())));
    assert!(q(|q| q.outcome = Some(AuditOutcome::Success)));
    assert!(!q(|q| q.outcome = Some(AuditOutcome::Denied)));
    assert!(q(|q| q.action = Some("crypto:encrypt".into())));
    assert!(q(|q| q.action = Some("crypto:*".into())));
    assert!(q(|q| q.action = Some("*".into())));
    assert!(!q(|q| q.action = Some("crypto:".into())));
    assert!(!q(|q| q.action = Some("keys:*".into())));
    // A row without a key never matches a key filter.
    let mut keyless = stored(6);
    keyless.key = None;
    let by_key = AuditQuery {
        key: Some("kg://local/demo".into()),
        ..AuditQuery::default()
    };
    assert!(!by_key.matches(&keyless));
}

#[test]
fn action_patterns() {
    assert!(action_matches("crypto:*", "crypto:decrypt"));
    assert!(action_matches("crypto:*", "crypto:"));
    assert!(!action_matches("crypto:*", "crypt"));
    assert!(action_matches("*", "anything"));
    assert!(!action_matches("c*o:encrypt", "crypto:encrypt"));
    assert!(action_matches("c*o", "c*o"));
}

#[test]
fn page_size_defaults_and_clamps() {
    let with = |limit| AuditQuery {
        limit,
        ..AuditQuery::default()
    };
    assert_eq!(with(None).page_size().unwrap(), 100);
    assert_eq!(with(Some(7)).page_size().unwrap(), 7);
    assert_eq!(with(Some(50_000)).page_size().unwrap(), 1000);
    assert_eq!(
        with(Some(0)).page_size().unwrap_err().kind(),
        crate::ErrorKind::InvalidArgument
    );
}

#[test]
fn intent_seq_is_hashed_only_when_present() {
    // Absent: the encoding (and so every hash written before the field existed) is
    // unchanged, which `chain_hash_matches_the_documented_encoding` pins.
    let plain = chain_hash(GENESIS_HASH, 2, &event());
    let outcome_of = |intent| NewAuditEvent {
        intent_seq: Some(intent),
        ..event()
    };
    let one = chain_hash(GENESIS_HASH, 2, &outcome_of(1));
    assert_ne!(one, plain);
    assert_ne!(one, chain_hash(GENESIS_HASH, 2, &outcome_of(2)));
    let stored = outcome_of(1).into_chained(2, GENESIS_HASH.to_owned(), None);
    assert_eq!(stored.intent_seq, Some(1));
    assert_eq!(chain_hash(GENESIS_HASH, 2, &stored.event()), stored.hash);
    assert_eq!(stored.hash, one);
    assert!(stored.to_csv_row().ends_with(",1"));
}

#[test]
fn check_agrees_with_chain_form_and_leaf_hash() {
    let keys = AuditKeys::from_root_key(&[9u8; 32]).unwrap();
    let other = AuditKeys::from_root_key(&[8u8; 32]).unwrap();
    let keyed = event().into_chained(3, "ab".repeat(32), Some(&keys.chain));
    let unkeyed = NewAuditEvent {
        intent_seq: Some(2),
        ..event()
    }
    .into_chained(4, "cd".repeat(32), None);
    let mut edited = keyed.clone();
    edited.principal.push('x');
    for (row, key) in [
        (&keyed, Some(&keys.chain)),
        (&keyed, Some(&other.chain)),
        (&keyed, None),
        (&unkeyed, Some(&keys.chain)),
        (&unkeyed, None),
        (&edited, Some(&keys.chain)),
    ] {
        assert_eq!(row.check(key), (row.chain_form(key), row.leaf_hash()));
    }
    assert_eq!(keyed.check(Some(&keys.chain)).0, Some(ChainForm::Keyed));
    assert_eq!(unkeyed.check(Some(&keys.chain)).0, Some(ChainForm::Unkeyed));
    assert_eq!(edited.check(Some(&keys.chain)).0, None);
}

#[test]
fn canonical_times_parse_back_and_other_spellings_do_not() {
    for t in [
        datetime!(2026-11-23 18:34:45.123456789 UTC),
        datetime!(0000-01-01 0:00 UTC),
        datetime!(0999-02-28 23:59:59.000000001 UTC),
        datetime!(9999-12-31 23:59:59.999999999 UTC),
        datetime!(2024-02-29 12:00 UTC),
    ] {
        let text = canonical_time(t).unwrap();
        assert_eq!(parse_canonical_time(&text), Some(t), "{text}");
    }
    for text in [
        "2026-11-23T18:34:45.123456789+00:00",
        "2026-11-23T18:34:45.12345678Z",
        "2026-11-23t18:34:45.123456789Z",
        "2026-11-23T18:34:45,123456789Z",
        "2026-13-23T18:34:45.123456789Z",
        "2025-02-29T18:34:45.123456789Z",
        "2026-11-23T24:00:00.000000000Z",
        "2026-11-23T23:59:60.000000000Z",
        "2026-11-23T18:34:4x.123456789Z",
        "+026-11-23T18:34:45.123456789Z",
        "",
    ] {
        assert_eq!(parse_canonical_time(text), None, "{text}");
    }
}
