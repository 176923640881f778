//! Argument checks and small encodings of the local provider: labels, descriptions,
//! policies, list cursors, version ids and rotation dates.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{Binding, Error, Labels, Result, validate_name};
use time::{Duration, OffsetDateTime};

/// Longest description, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 8192;
/// Longest label key, in characters.
pub(crate) const MAX_LABEL_KEY_CHARS: usize = 63;
/// Longest label value, in characters.
pub(crate) const MAX_LABEL_VALUE_CHARS: usize = 255;

/// Marks cursors as ours, so a random string that happens to be base64 is still refused.
const CURSOR_PREFIX: &str = "k1:";

/// Checks a description's length.
pub(crate) fn description(d: &str) -> Result<()> {
    let n = d.chars().count();
    if n > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(format!(
            "a description may have at most {MAX_DESCRIPTION_CHARS} characters, got {n}"
        )));
    }
    Ok(())
}

/// Checks label keys (1–63 characters) and values (at most 255).
pub(crate) fn labels<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> Result<()> {
    for (k, v) in labels {
        let kn = k.chars().count();
        if kn == 0 || kn > MAX_LABEL_KEY_CHARS {
            return Err(Error::invalid(format!(
                "label key `{k}` must be 1 to {MAX_LABEL_KEY_CHARS} characters long"
            )));
        }
        if v.chars().count() > MAX_LABEL_VALUE_CHARS {
            return Err(Error::invalid(format!(
                "the value of label `{k}` may have at most {MAX_LABEL_VALUE_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// Applies a label change: `set` first, then `remove`.
pub(crate) fn apply_labels(current: &mut Labels, set: &Labels, remove: &[String]) {
    for (k, v) in set {
        current.insert(k.clone(), v.clone());
    }
    for k in remove {
        current.remove(k);
    }
}

/// Checks policy bindings: every principal non-empty, every binding a role or some actions.
pub(crate) fn bindings(bindings: &[Binding]) -> Result<()> {
    for b in bindings {
        if b.principal.trim().is_empty() {
            return Err(Error::invalid("a policy binding needs a principal"));
        }
        let has_role = b.role.as_deref().is_some_and(|r| !r.trim().is_empty());
        let has_actions = b.actions.iter().any(|a| !a.trim().is_empty());
        if !has_role && !has_actions {
            return Err(Error::invalid(format!(
                "the binding for `{}` needs a role or at least one action",
                b.principal
            )));
        }
        if b.actions.iter().any(|a| a.trim().is_empty()) {
            return Err(Error::invalid(format!(
                "the binding for `{}` has an empty action",
                b.principal
            )));
        }
    }
    Ok(())
}

/// The opaque cursor that continues a listing after `last_id`.
pub(crate) fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{last_id}"))
}

/// The key id a cursor continues after.
///
/// # Errors
/// [`Error::InvalidArgument`] for anything [`encode_cursor`] did not make.
pub(crate) fn decode_cursor(cursor: &str) -> Result<String> {
    let bad = || Error::invalid("the page cursor is not valid; pass a next_cursor as returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let id = text.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
    validate_name("key", id).map_err(|_| bad())?;
    Ok(id.to_owned())
}

/// A version id (`"1"`, `"2"`, ...) as a number; `None` for anything else.
pub(crate) fn version_number(v: &str) -> Option<u32> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.starts_with('0') {
        return None;
    }
    v.parse().ok()
}

/// `from` plus `days` days.
///
/// # Errors
/// [`Error::InvalidArgument`] when the date is out of range.
pub(crate) fn add_days(from: OffsetDateTime, days: u32) -> Result<OffsetDateTime> {
    from.checked_add(Duration::days(i64::from(days)))
        .ok_or_else(|| Error::invalid(format!("{days} days after {from} is out of range")))
}

/// The first time after `now` that is `next` plus a whole number of periods.
///
/// # Errors
/// [`Error::InvalidArgument`] when the date is out of range.
pub(crate) fn next_after(
    next: OffsetDateTime,
    period_days: u32,
    now: OffsetDateTime,
) -> Result<OffsetDateTime> {
    if next > now {
        return Ok(next);
    }
    let period = Duration::days(i64::from(period_days.max(1)));
    let behind = now - next;
    let periods = behind.whole_seconds() / period.whole_seconds() + 1;
    let jump = period
        .whole_seconds()
        .checked_mul(periods)
        .map(Duration::seconds)
        .ok_or_else(|| Error::invalid("rotation date out of range"))?;
    let mut n = next
        .checked_add(jump)
        .ok_or_else(|| Error::invalid("rotation date out of range"))?;
    while n <= now {
        n = n
            .checked_add(period)
            .ok_or_else(|| Error::invalid("rotation date out of range"))?;
    }
    Ok(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cursors_roundtrip_and_garbage_is_refused() {
        let c = encode_cursor("key-01.a_b");
        assert_eq!(decode_cursor(&c).unwrap(), "key-01.a_b");
        for bad in [
            "",
            "!!!",
            "Zm9v",
            "garbage-cursor",
            &URL_SAFE_NO_PAD.encode("k1:a b"),
        ] {
            assert!(
                matches!(decode_cursor(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn version_numbers() {
        assert_eq!(version_number("1"), Some(1));
        assert_eq!(version_number("42"), Some(42));
        for bad in ["", "0", "01", "-1", "+1", "1.0", "x", "99999999999"] {
            assert_eq!(version_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn label_and_description_bounds() {
        let mut l = Labels::new();
        l.insert("a".repeat(63), "v".repeat(255));
        assert!(labels(&l).is_ok());
        l.insert("b".repeat(64), String::new());
        assert!(labels(&l).is_err());
        let mut l = Labels::new();
        l.insert(String::new(), "v".into());
        assert!(labels(&l).is_err());
        let mut l = Labels::new();
        l.insert("k".into(), "v".repeat(256));
        assert!(labels(&l).is_err());
        assert!(description(&"d".repeat(8192)).is_ok());
        assert!(description(&"d".repeat(8193)).is_err());
    }

    #[test]
    fn bindings_need_principal_and_grant() {
        assert!(bindings(&[Binding::role("user:a", "viewer")]).is_ok());
        assert!(bindings(&[Binding::actions("user:a", ["encrypt"])]).is_ok());
        assert!(bindings(&[Binding::role(" ", "viewer")]).is_err());
        assert!(bindings(&[Binding::actions("user:a", Vec::<String>::new())]).is_err());
        assert!(bindings(&[Binding::actions("user:a", [""])]).is_err());
    }

    #[test]
    fn next_rotation_advances_by_whole_periods() {
        let start = datetime!(2030-01-01 00:00 UTC);
        let now = datetime!(2030-01-25 12:00 UTC);
        assert_eq!(
            next_after(start, 10, now).unwrap(),
            datetime!(2030-01-31 00:00 UTC)
        );
        assert_eq!(
            next_after(start, 1, datetime!(2030-01-01 00:00 UTC)).unwrap(),
            datetime!(2030-01-02 00:00 UTC)
        );
        let later = datetime!(2031-01-01 00:00 UTC);
        assert_eq!(next_after(later, 5, now).unwrap(), later);
    }
}
