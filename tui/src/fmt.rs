//! How times and durations read on screen. Everything is UTC, to the minute, so a table reads
//! the same on every machine and snapshots are stable.

use time::OffsetDateTime;
use time::macros::format_description;

/// `2026-11-23 18:34` (UTC).
pub fn when(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `2026-11-23` (UTC).
pub fn date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// How far `t` is from `now`, roughly: `in 3d`, `5h ago`, `now`.
pub fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (t - now).whole_seconds();
    let abs = secs.unsigned_abs();
    let amount = match abs {
        0..60 => return "now".to_owned(),
        60..3600 => format!("{}m", abs / 60),
        3600..86_400 => format!("{}h", abs / 3600),
        _ => format!("{}d", abs / 86_400),
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_read_in_utc_and_relative() {
        let now = datetime!(2026-11-23 18:34:45 +02:00);
        assert_eq!(when(now), "2026-11-23 16:34");
        assert_eq!(date(now), "2026-11-23");
        assert_eq!(relative(now + time::Duration::days(3), now), "in 3d");
        assert_eq!(relative(now - time::Duration::hours(5), now), "5h ago");
        assert_eq!(relative(now, now), "now");
    }
}
