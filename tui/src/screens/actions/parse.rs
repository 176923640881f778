//! Parsing what users type into action forms: day counts within a provider's bounds, times
//! (RFC 3339 or relative), labels.

use keygate_core::{DayRange, Labels};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// A whole number of days within `bounds`.
pub fn days(what: &str, text: &str, bounds: DayRange) -> Result<u32, String> {
    let t = text.trim();
    let n: u32 = t
        .parse()
        .map_err(|_| format!("{what}: `{t}` is not a whole number of days"))?;
    if !bounds.contains(n) {
        return Err(format!(
            "{what}: {n} days is outside this provider's bounds ({bounds})"
        ));
    }
    Ok(n)
}

/// A point in time: RFC 3339 (`2026-12-01T09:00:00Z`), a date (`2026-12-01`, midnight UTC) or
/// relative to `now` (`+30d`, `+12h`, `+45m`).
pub fn when(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let t = text.trim();
    if let Some(rel) = t.strip_prefix('+') {
        let split = rel.len().saturating_sub(1);
        let (num, unit) = rel.split_at(split);
        let n: i64 = num
            .parse()
            .map_err(|_| format!("`{t}`: expected +<number><d|h|m>, e.g. +30d"))?;
        let d = match unit {
            "d" => Duration::days(n),
            "h" => Duration::hours(n),
            "m" => Duration::minutes(n),
            _ => return Err(format!("`{t}`: the unit must be d, h or m (e.g. +30d)")),
        };
        return now
            .checked_add(d)
            .ok_or_else(|| format!("`{t}` is too far away"));
    }
    if let Ok(at) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(at);
    }
    if let Ok(date) = Date::parse(t, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    Err(format!(
        "`{t}` is not a time: use RFC 3339 (2026-12-01T09:00:00Z), a date (2026-12-01) or +30d"
    ))
}

/// Labels as `k=v` pairs separated by commas or spaces; empty text is no labels.
pub fn labels(text: &str) -> Result<Labels, String> {
    let mut out = Labels::new();
    for pair in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("label `{pair}` is not key=value"))?;
        if k.is_empty() {
            return Err(format!("label `{pair}` has no key"));
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use time::macros::datetime;

    use super::*;

    #[test]
    fn days_are_bounded() {
        let b = DayRange::new(90, 2560);
        assert_eq!(days("period", " 365 ", b), Ok(365));
        assert!(days("period", "30", b).unwrap_err().contains("90–2560"));
        assert!(days("period", "x", b).unwrap_err().contains("whole number"));
    }

    #[test]
    fn times_are_absolute_or_relative() {
        let now = datetime!(2026-11-01 10:00 UTC);
        assert_eq!(when("+30d", now), Ok(datetime!(2026-12-01 10:00 UTC)));
        assert_eq!(when("+2h", now), Ok(datetime!(2026-11-01 12:00 UTC)));
        assert_eq!(
            when("2026-12-24T08:00:00Z", now),
            Ok(datetime!(2026-12-24 08:00 UTC))
        );
        assert_eq!(when("2027-01-02", now), Ok(datetime!(2027-01-02 0:00 UTC)));
        assert!(when("+3w", now).is_err());
        assert!(when("+d", now).is_err());
        assert!(when("tomorrow", now).is_err());
    }

    #[test]
    fn labels_parse_or_say_why_not() {
        let l = labels("team=pay, env=prod").unwrap();
        assert_eq!(l.get("team").map(String::as_str), Some("pay"));
        assert_eq!(l.len(), 2);
        assert!(labels("").unwrap().is_empty());
        assert!(labels("team").is_err());
        assert!(labels("=x").is_err());
    }
}
