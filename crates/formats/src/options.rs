//! Writer options (`export-formats.md` §4.1).

use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::format::{Fixed, Item, Numeric, Pad, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use userbridge_model::ExportFormat;

use crate::{FormatError, Result};

/// CSV-injection handling of csv/tsv cells (`export-formats.md` §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormulaEscape {
    /// `'` before text starting with `=`, `+`, `-`, `@`, TAB, CR or NUL, unless it is a plain number.
    #[default]
    Smart,
    /// Auth0's rule: every string cell gets `'`, doubled quotes and surrounding quotes.
    Auth0,
    /// RFC 4180 quoting only.
    None,
}

impl FormulaEscape {
    pub fn as_str(self) -> &'static str {
        match self {
            FormulaEscape::Smart => "smart",
            FormulaEscape::Auth0 => "auth0",
            FormulaEscape::None => "none",
        }
    }
}

impl FromStr for FormulaEscape {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "smart" => Ok(FormulaEscape::Smart),
            "auth0" => Ok(FormulaEscape::Auth0),
            "none" => Ok(FormulaEscape::None),
            _ => Err(FormatError::InvalidFormulaEscape(s.to_string())),
        }
    }
}

impl fmt::Display for FormulaEscape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated strftime pattern applied to profile timestamps (`export-formats.md` §4.1).
#[derive(Debug, Clone)]
pub struct DateFormat {
    pattern: String,
    items: Vec<Item<'static>>,
    /// The same pattern as pieces of a canonical timestamp, when it only uses zero-padded
    /// `%Y %m %d %H %M %S %.3f` (and `%F`, `%T`…) and literal text: formatting is then copying.
    pieces: Option<Vec<Piece>>,
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(Box<str>),
    /// A byte range of the canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` text.
    Range(usize, usize),
}

impl Piece {
    fn from_item(item: &Item<'_>) -> Option<Piece> {
        Some(match item {
            Item::Literal(s) | Item::Space(s) => Piece::Literal((*s).into()),
            Item::OwnedLiteral(s) | Item::OwnedSpace(s) => Piece::Literal(s.clone()),
            Item::Numeric(numeric, Pad::Zero) => match numeric {
                Numeric::Year => Piece::Range(0, 4),
                Numeric::Month => Piece::Range(5, 7),
                Numeric::Day => Piece::Range(8, 10),
                Numeric::Hour => Piece::Range(11, 13),
                Numeric::Minute => Piece::Range(14, 16),
                Numeric::Second => Piece::Range(17, 19),
                _ => return None,
            },
            Item::Fixed(Fixed::Nanosecond3) => Piece::Range(19, 23),
            _ => return None,
        })
    }
}

/// Reads a canonical timestamp (`YYYY-MM-DDTHH:MM:SS.mmmZ`) that is a real UTC time, without a
/// general-purpose parser. Leap seconds and anything else are left to the slow path.
fn parse_canonical(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 24 {
        return None;
    }
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b'T',
        13 | 16 => *c == b':',
        19 => *c == b'.',
        23 => *c == b'Z',
        _ => c.is_ascii_digit(),
    });
    if !shape {
        return None;
    }
    let num = |from: usize, to: usize| {
        b[from..to]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4) as i32, num(5, 7), num(8, 10))?;
    let time = NaiveTime::from_hms_milli_opt(num(11, 13), num(14, 16), num(17, 19), num(20, 23))?;
    Some(date.and_time(time).and_utc())
}

impl PartialEq for DateFormat {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for DateFormat {}

impl DateFormat {
    /// Validates a strftime pattern such as `%Y%m%d %H%M%S`. Empty patterns and patterns with a
    /// specifier chrono cannot format (`%Q`, a lone `%`…) are rejected.
    pub fn parse(pattern: &str) -> Result<DateFormat> {
        let invalid = |reason: &str| FormatError::InvalidDateFormat {
            pattern: pattern.to_string(),
            reason: reason.to_string(),
        };
        if pattern.is_empty() {
            return Err(invalid("the pattern is empty"));
        }
        let items = StrftimeItems::new(pattern)
            .parse_to_owned()
            .map_err(|_| invalid("unknown or incomplete % specifier"))?;
        // Some items parse but cannot be formatted; try once on a real time.
        let mut probe = String::new();
        write!(
            probe,
            "{}",
            DateTime::<Utc>::UNIX_EPOCH.format_with_items(items.iter())
        )
        .map_err(|_| invalid("the pattern cannot be formatted"))?;
        let pieces = items.iter().map(Piece::from_item).collect();
        Ok(DateFormat {
            pattern: pattern.to_string(),
            items,
            pieces,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Formats a canonical timestamp (`2024-03-01T09:15:27.412Z`); text that is not a timestamp
    /// is returned unchanged.
    pub fn format(&self, timestamp: &str) -> String {
        let mut out = String::with_capacity(timestamp.len());
        self.format_into(timestamp, &mut out);
        out
    }

    /// Appends the formatted timestamp (or `timestamp` itself if it does not parse) to `out`.
    pub(crate) fn format_into(&self, timestamp: &str, out: &mut String) {
        let start = out.len();
        let time = match parse_canonical(timestamp) {
            Some(time) => {
                if let Some(pieces) = &self.pieces {
                    for piece in pieces {
                        match piece {
                            Piece::Literal(s) => out.push_str(s),
                            Piece::Range(from, to) => out.push_str(&timestamp[*from..*to]),
                        }
                    }
                    return;
                }
                time
            }
            None => match userbridge_model::time::parse(timestamp) {
                Some(time) => time,
                None => {
                    out.push_str(timestamp);
                    return;
                }
            },
        };
        if write!(out, "{}", time.format_with_items(self.items.iter())).is_err() {
            out.truncate(start);
            out.push_str(timestamp);
        }
    }
}

impl FromStr for DateFormat {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self> {
        DateFormat::parse(s)
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// How a [`crate::RecordWriter`] lays out its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    pub format: ExportFormat,
    /// csv only (tsv always uses TAB). Any character but `"`, CR and LF. Default `,`.
    pub delimiter: char,
    /// CRLF instead of LF after every csv/tsv record.
    pub crlf: bool,
    /// UTF-8 BOM first (csv/tsv only; never written for JSON).
    pub bom: bool,
    /// Every CRLF, CR and LF inside a csv/tsv cell becomes one space.
    pub flatten_newlines: bool,
    /// csv/tsv only; JSON is never escaped.
    pub formula_escape: FormulaEscape,
    /// Applied to [`userbridge_model::FieldValue::Timestamp`] values and profile timestamps.
    pub date_format: Option<DateFormat>,
    /// Whole-profile JSON only: each record also carries the user's password hashes and MFA
    /// factors (`userbridge export --include-secrets`; never the API).
    pub include_secrets: bool,
}

impl WriterOptions {
    /// The documented defaults for `format`: comma, LF, no BOM, no flattening, `smart`, dates as
    /// stored.
    pub fn new(format: ExportFormat) -> WriterOptions {
        WriterOptions {
            format,
            delimiter: ',',
            crlf: false,
            bom: false,
            flatten_newlines: false,
            formula_escape: FormulaEscape::Smart,
            date_format: None,
            include_secrets: false,
        }
    }
}

impl Default for WriterOptions {
    /// The CLI's default: tsv.
    fn default() -> Self {
        WriterOptions::new(ExportFormat::Tsv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_escape_parses_its_three_names() {
        for mode in [
            FormulaEscape::Smart,
            FormulaEscape::Auth0,
            FormulaEscape::None,
        ] {
            assert_eq!(mode.as_str().parse::<FormulaEscape>().unwrap(), mode);
            assert_eq!(mode.to_string(), mode.as_str());
        }
        let err = "Smart".parse::<FormulaEscape>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid formula escape mode "Smart" (expected smart, auth0 or none)"#
        );
        assert!("".parse::<FormulaEscape>().is_err());
        assert_eq!(FormulaEscape::default(), FormulaEscape::Smart);
    }

    #[test]
    fn date_formats_from_the_spec_work() {
        let ts = "2024-03-01T09:15:27.412Z";
        for (pattern, expected) in [
            ("%Y%m%d", "20240301"),
            ("%Y%m%d %H%M%S", "20240301 091527"),
            ("%Y-%m-%d", "2024-03-01"),
            ("%Y-%m-%d %H:%M:%S", "2024-03-01 09:15:27"),
            ("%d/%m/%Y %%", "01/03/2024 %"),
            ("%s", "1709284527"),
        ] {
            let df = DateFormat::parse(pattern).unwrap();
            assert_eq!(df.format(ts), expected, "{pattern}");
            assert_eq!(df.as_str(), pattern);
        }
    }

    #[test]
    fn bad_date_formats_are_rejected() {
        for pattern in ["", "%Q", "%Y-%", "%-", "abc %E"] {
            let err = DateFormat::parse(pattern).unwrap_err();
            assert!(
                matches!(err, FormatError::InvalidDateFormat { .. }),
                "{pattern}: {err}"
            );
        }
        assert!("%Y".parse::<DateFormat>().is_ok());
    }

    #[test]
    fn fast_path_is_used_for_simple_patterns_only() {
        for (pattern, fast) in [
            ("%Y%m%d", true),
            ("%Y%m%d %H%M%S", true),
            ("%F %T%.3f", true),
            ("%Y-%m-%dT%H:%M:%S%.3fZ", true),
            ("%-m/%d/%Y", false),
            ("%y", false),
            ("%s", false),
            ("%b %e", false),
        ] {
            let df = DateFormat::parse(pattern).unwrap();
            assert_eq!(df.pieces.is_some(), fast, "{pattern}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_matches_chrono(
            millis in 0i64..253_402_300_800_000,
            pattern in proptest::sample::select(vec![
                "%Y%m%d", "%Y%m%d %H%M%S", "%Y-%m-%d %H:%M:%S", "%F %T%.3f", "<%Y|%m|%d %%>",
                "%d.%m.%Y %H:%M", "%-m/%-d/%y %I:%M %p", "%s %j %a", "%+",
            ]),
        ) {
            let ts = userbridge_model::time::format_millis(millis);
            let expected = chrono::DateTime::parse_from_rfc3339(&ts)
                .unwrap()
                .with_timezone(&Utc)
                .format(pattern)
                .to_string();
            proptest::prop_assert_eq!(DateFormat::parse(pattern).unwrap().format(&ts), expected);
        }

        #[test]
        fn invalid_canonical_looking_text_falls_back(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z",
        ) {
            let df = DateFormat::parse("%Y%m%d %H%M%S").unwrap();
            let expected = match userbridge_model::time::parse(&text) {
                Some(t) => t.format("%Y%m%d %H%M%S").to_string(),
                None => text.clone(),
            };
            proptest::prop_assert_eq!(df.format(&text), expected);
        }
    }

    #[test]
    fn unparsable_timestamps_fall_back_to_the_input() {
        let df = DateFormat::parse("%Y%m%d").unwrap();
        assert_eq!(
            df.format("2024-02-30T00:00:00.000Z"),
            "2024-02-30T00:00:00.000Z"
        );
        assert_eq!(
            df.format("2024-13-01T00:00:00.000Z"),
            "2024-13-01T00:00:00.000Z"
        );
        // Other RFC 3339 text still goes through chrono.
        assert_eq!(df.format("2024-03-01T23:30:00-02:00"), "20240302");
        let df = DateFormat::parse("%Y%m%d").unwrap();
        assert_eq!(df.format("not a date"), "not a date");
        assert_eq!(df.format(""), "");
    }

    #[test]
    fn options_defaults() {
        let o = WriterOptions::default();
        assert_eq!(o.format, ExportFormat::Tsv);
        assert_eq!(o.delimiter, ',');
        assert!(!o.crlf && !o.bom && !o.flatten_newlines);
        assert_eq!(o.formula_escape, FormulaEscape::Smart);
        assert!(o.date_format.is_none());
    }
}
