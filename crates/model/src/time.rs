//! Timestamps: ISO 8601 in UTC with exactly three fractional digits and `Z`
//! (`management-api.md` §1.4). They are kept as that text everywhere, so the
//! store, the API and an export all show the same bytes.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// Now, as a profile timestamp.
pub fn now() -> String {
    format_millis(Utc::now().timestamp_millis())
}

/// Milliseconds since the epoch, as a profile timestamp.
pub fn format_millis(millis: i64) -> String {
    match Utc.timestamp_millis_opt(millis).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parses a profile timestamp (or any RFC 3339 time) into UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// True when `text` is exactly in the canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` shape.
pub fn is_canonical(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
        && parse(text).is_some()
}

/// Unix seconds now.
pub fn unix_seconds() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_always_carry_milliseconds() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_651_000_025_098), "2022-04-26T19:07:05.098Z");
        assert!(is_canonical(&now()));
        assert!(!is_canonical("2022-04-26T19:07:05Z"));
        assert!(!is_canonical("2022-13-26T19:07:05.000Z"));
    }
}
