//! Date and date-time formats of campaign columns (IMP-21, IMP-22, IMP-24).
//!
//! Named formats use Alterian's notation: `CCYY` four-digit year, `YY` two-digit year
//! (`00`–`49` → 2000s, `50`–`99` → 1900s), `MM` month, `MMM` English month abbreviation
//! (`Jan`…`Dec`, any case), `DD` day. Without separators every field has its exact width;
//! with a separator (`/`, `-`, `.`) day and month may have one or two digits, years keep
//! their width. Invalid calendar dates (`31/02/2024`) never parse.
//!
//! Date-time formats: `CCYYMMDD HHMMSS`, `CCYYMMDD HH:MM:SS`, `CCYY-MM-DD HH:MM:SS` (values
//! are UTC) and `ISO 8601` (`CCYY-MM-DDTHH:MM:SS`, optional `.fraction` of 1–9 digits,
//! optional `Z` or `±HH:MM` / `±HHMM`; values without an offset are UTC). Results are
//! converted to UTC. Anything containing `%` is a custom chrono `strftime` pattern.

use std::fmt;
use std::str::FromStr;

use chrono::format::{Item, StrftimeItems};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The English month abbreviations of `MMM`.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The order (and year width) of the three fields of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// `CCYY MM DD`
    Ymd,
    /// `DD MM CCYY`
    Dmy,
    /// `CCYY DD MM`
    Ydm,
    /// `MM DD CCYY`
    Mdy,
    /// `DD MM YY`
    DmyShort,
    /// `MM DD YY`
    MdyShort,
    /// `DD MMM CCYY`
    DMonY,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year4,
    Year2,
    Month,
    MonthName,
    Day,
}

impl Field {
    fn token(self) -> &'static str {
        match self {
            Field::Year4 => "CCYY",
            Field::Year2 => "YY",
            Field::Month => "MM",
            Field::MonthName => "MMM",
            Field::Day => "DD",
        }
    }
    fn from_token(token: &str) -> Option<Field> {
        Some(match token {
            "CCYY" | "YYYY" => Field::Year4,
            "YY" => Field::Year2,
            "MM" => Field::Month,
            "MMM" => Field::MonthName,
            "DD" => Field::Day,
            _ => return None,
        })
    }
    fn width(self) -> usize {
        match self {
            Field::Year4 => 4,
            Field::Year2 | Field::Month | Field::Day => 2,
            Field::MonthName => 3,
        }
    }
}

impl DateOrder {
    pub const ALL: [DateOrder; 7] = [
        DateOrder::Ymd,
        DateOrder::Dmy,
        DateOrder::Ydm,
        DateOrder::Mdy,
        DateOrder::DmyShort,
        DateOrder::MdyShort,
        DateOrder::DMonY,
    ];

    fn fields(self) -> [Field; 3] {
        use Field::*;
        match self {
            DateOrder::Ymd => [Year4, Month, Day],
            DateOrder::Dmy => [Day, Month, Year4],
            DateOrder::Ydm => [Year4, Day, Month],
            DateOrder::Mdy => [Month, Day, Year4],
            DateOrder::DmyShort => [Day, Month, Year2],
            DateOrder::MdyShort => [Month, Day, Year2],
            DateOrder::DMonY => [Day, MonthName, Year4],
        }
    }

    fn from_fields(fields: [Field; 3]) -> Option<DateOrder> {
        DateOrder::ALL.into_iter().find(|o| o.fields() == fields)
    }

    /// Whether the day comes before the month (IMP-22 ambiguity), `None` when the order is
    /// not ambiguous (year first, or a month name).
    pub fn day_first(self) -> Option<bool> {
        match self {
            DateOrder::Dmy | DateOrder::DmyShort => Some(true),
            DateOrder::Mdy | DateOrder::MdyShort => Some(false),
            _ => None,
        }
    }

    /// The name without separators, e.g. `DDMMCCYY`.
    pub fn name(self, sep: Option<char>) -> String {
        let tokens = self.fields().map(Field::token);
        match sep {
            None => tokens.concat(),
            Some(c) => tokens.join(&c.to_string()),
        }
    }
}

/// The parse format of a date or datetime column (IMP-21).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DateFormat {
    /// `CCYYMMDD` (default for date columns).
    Ccyymmdd,
    /// `CCYY-MM-DD`.
    CcyyDashMmDd,
    Ddmmccyy,
    Ccyyddmm,
    Mmddccyy,
    Ddmmyy,
    Mmddyy,
    /// `DDMMMCCYY`, e.g. `05Jan2024`.
    Ddmmmccyy,
    /// Any date order with a `/`, `-` or `.` separator, e.g. `DD/MM/CCYY`.
    WithSeparator {
        order: DateOrder,
        sep: char,
    },
    /// `CCYYMMDD HHMMSS` (default for datetime columns).
    CcyymmddHhmmss,
    /// `CCYYMMDD HH:MM:SS`.
    CcyymmddHhColonMmColonSs,
    /// `CCYY-MM-DD HH:MM:SS`.
    CcyyDashMmDdHhMmSs,
    /// ISO 8601 with `T`, optional fraction and optional `Z` / `±HH:MM`.
    Iso8601,
    /// A chrono `strftime` pattern (contains `%`).
    Custom(String),
}

/// The separators allowed in [`DateFormat::WithSeparator`].
pub const DATE_SEPARATORS: [char; 3] = ['/', '-', '.'];

impl DateFormat {
    /// The default format of new date columns.
    pub const DEFAULT_DATE: DateFormat = DateFormat::Ccyymmdd;
    /// The default format of new datetime columns.
    pub const DEFAULT_DATETIME: DateFormat = DateFormat::CcyymmddHhmmss;

    /// Every named date format: the eight plain ones and each order with each separator.
    pub fn date_candidates() -> Vec<DateFormat> {
        let mut all: Vec<DateFormat> = DateOrder::ALL
            .into_iter()
            .map(|o| DateFormat::from_layout(o, None))
            .collect();
        all.push(DateFormat::CcyyDashMmDd);
        for sep in DATE_SEPARATORS {
            for order in DateOrder::ALL {
                let f = DateFormat::from_layout(order, Some(sep));
                if !all.contains(&f) {
                    all.push(f);
                }
            }
        }
        all
    }

    /// Every named datetime format.
    pub fn datetime_candidates() -> Vec<DateFormat> {
        vec![
            DateFormat::CcyymmddHhmmss,
            DateFormat::CcyymmddHhColonMmColonSs,
            DateFormat::CcyyDashMmDdHhMmSs,
            DateFormat::Iso8601,
        ]
    }

    fn from_layout(order: DateOrder, sep: Option<char>) -> DateFormat {
        match (order, sep) {
            (DateOrder::Ymd, None) => DateFormat::Ccyymmdd,
            (DateOrder::Ymd, Some('-')) => DateFormat::CcyyDashMmDd,
            (DateOrder::Dmy, None) => DateFormat::Ddmmccyy,
            (DateOrder::Ydm, None) => DateFormat::Ccyyddmm,
            (DateOrder::Mdy, None) => DateFormat::Mmddccyy,
            (DateOrder::DmyShort, None) => DateFormat::Ddmmyy,
            (DateOrder::MdyShort, None) => DateFormat::Mmddyy,
            (DateOrder::DMonY, None) => DateFormat::Ddmmmccyy,
            (order, Some(sep)) => DateFormat::WithSeparator { order, sep },
        }
    }

    /// The field order and separator of a named date format.
    pub fn date_layout(&self) -> Option<(DateOrder, Option<char>)> {
        Some(match self {
            DateFormat::Ccyymmdd => (DateOrder::Ymd, None),
            DateFormat::CcyyDashMmDd => (DateOrder::Ymd, Some('-')),
            DateFormat::Ddmmccyy => (DateOrder::Dmy, None),
            DateFormat::Ccyyddmm => (DateOrder::Ydm, None),
            DateFormat::Mmddccyy => (DateOrder::Mdy, None),
            DateFormat::Ddmmyy => (DateOrder::DmyShort, None),
            DateFormat::Mmddyy => (DateOrder::MdyShort, None),
            DateFormat::Ddmmmccyy => (DateOrder::DMonY, None),
            DateFormat::WithSeparator { order, sep } => (*order, Some(*sep)),
            _ => return None,
        })
    }

    /// Whether this is a date-time format (including custom patterns with a time field).
    pub fn is_datetime(&self) -> bool {
        match self {
            DateFormat::CcyymmddHhmmss
            | DateFormat::CcyymmddHhColonMmColonSs
            | DateFormat::CcyyDashMmDdHhMmSs
            | DateFormat::Iso8601 => true,
            DateFormat::Custom(p) => [
                "%H", "%I", "%M", "%S", "%T", "%R", "%s", "%+", "%c", "%r", "%X",
            ]
            .iter()
            .any(|t| p.contains(t)),
            _ => false,
        }
    }

    /// Checks the format itself (custom patterns must be valid strftime, separators `/-.`).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            DateFormat::Custom(p) => check_custom(p),
            DateFormat::WithSeparator { sep, .. } if !DATE_SEPARATORS.contains(sep) => Err(
                format!("date separator {sep:?} is not one of '/', '-', '.'"),
            ),
            _ => Ok(()),
        }
    }

    /// Parses a (trimmed) value as a calendar date. Date-time formats parse the whole
    /// date-time and keep its UTC date.
    pub fn parse_date(&self, s: &str) -> Option<NaiveDate> {
        if let Some((order, sep)) = self.date_layout() {
            return parse_layout(s, order, sep);
        }
        match self {
            DateFormat::Custom(p) => NaiveDate::parse_from_str(s, p)
                .ok()
                .or_else(|| self.parse_datetime(s).map(|d| d.date_naive())),
            _ => self.parse_datetime(s).map(|d| d.date_naive()),
        }
    }

    /// Parses a (trimmed) value as a date-time, returned in UTC. Date formats give midnight
    /// UTC.
    pub fn parse_datetime(&self, s: &str) -> Option<DateTime<Utc>> {
        let naive = match self {
            DateFormat::CcyymmddHhmmss => split_date_time(s, 8, DateOrder::Ymd, None, false)?,
            DateFormat::CcyymmddHhColonMmColonSs => {
                split_date_time(s, 8, DateOrder::Ymd, None, true)?
            }
            DateFormat::CcyyDashMmDdHhMmSs => {
                split_date_time(s, 10, DateOrder::Ymd, Some('-'), true)?
            }
            DateFormat::Iso8601 => return parse_iso8601(s),
            DateFormat::Custom(p) => {
                if let Ok(d) = DateTime::<FixedOffset>::parse_from_str(s, p) {
                    return Some(d.with_timezone(&Utc));
                }
                match NaiveDateTime::parse_from_str(s, p) {
                    Ok(n) => n,
                    Err(_) => NaiveDate::parse_from_str(s, p)
                        .ok()?
                        .and_time(NaiveTime::MIN),
                }
            }
            other => {
                let (order, sep) = other.date_layout()?;
                parse_layout(s, order, sep)?.and_time(NaiveTime::MIN)
            }
        };
        Some(Utc.from_utc_datetime(&naive))
    }

    /// Formats a date in this format (the inverse of [`parse_date`](Self::parse_date); `YY`
    /// keeps only the last two digits of the year).
    pub fn format_date(&self, date: NaiveDate) -> String {
        if let Some((order, sep)) = self.date_layout() {
            return format_layout(date, order, sep);
        }
        match self {
            DateFormat::Custom(p) => format_custom(date.and_time(NaiveTime::MIN), p),
            _ => self.format_datetime(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))),
        }
    }

    /// Formats a UTC date-time in this format (ISO 8601 with `Z`, fraction only when
    /// non-zero).
    pub fn format_datetime(&self, dt: DateTime<Utc>) -> String {
        let date = dt.date_naive();
        let hms = (dt.hour(), dt.minute(), dt.second());
        match self {
            DateFormat::CcyymmddHhmmss => format!(
                "{} {:02}{:02}{:02}",
                format_layout(date, DateOrder::Ymd, None),
                hms.0,
                hms.1,
                hms.2
            ),
            DateFormat::CcyymmddHhColonMmColonSs => format!(
                "{} {:02}:{:02}:{:02}",
                format_layout(date, DateOrder::Ymd, None),
                hms.0,
                hms.1,
                hms.2
            ),
            DateFormat::CcyyDashMmDdHhMmSs => format!(
                "{} {:02}:{:02}:{:02}",
                format_layout(date, DateOrder::Ymd, Some('-')),
                hms.0,
                hms.1,
                hms.2
            ),
            DateFormat::Iso8601 => dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            DateFormat::Custom(p) => format_custom(dt.naive_utc(), p),
            other => other.format_date(date),
        }
    }
}

fn check_custom(p: &str) -> Result<(), String> {
    if !p.contains('%') {
        return Err(format!("custom date pattern {p:?} has no % field"));
    }
    if StrftimeItems::new(p).any(|i| matches!(i, Item::Error)) {
        return Err(format!("{p:?} is not a valid strftime pattern"));
    }
    Ok(())
}

fn format_custom(n: NaiveDateTime, p: &str) -> String {
    if check_custom(p).is_err() {
        return String::new();
    }
    let mut out = String::new();
    // `write!` into a String only fails when a formatting item cannot be rendered.
    if fmt::write(&mut out, format_args!("{}", n.format(p))).is_err() {
        return String::new();
    }
    out
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month_from_name(s: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(s))
        .map(|i| i as u32 + 1)
}

/// The year of a two-digit year (IMP-21): `00`–`49` → 2000s, `50`–`99` → 1900s.
pub fn expand_two_digit_year(yy: u32) -> i32 {
    if yy < 50 {
        2000 + yy as i32
    } else {
        1900 + yy as i32
    }
}

fn parse_layout(s: &str, order: DateOrder, sep: Option<char>) -> Option<NaiveDate> {
    if !s.is_ascii() {
        return None;
    }
    let fields = order.fields();
    let mut parts: [&str; 3] = [""; 3];
    match sep {
        None => {
            let total: usize = fields.iter().map(|f| f.width()).sum();
            if s.len() != total {
                return None;
            }
            let mut at = 0;
            for (i, f) in fields.iter().enumerate() {
                parts[i] = s.get(at..at + f.width())?;
                at += f.width();
            }
        }
        Some(c) => {
            let mut it = s.split(c);
            for p in parts.iter_mut() {
                *p = it.next()?;
            }
            if it.next().is_some() {
                return None;
            }
        }
    }
    let (mut y, mut m, mut d) = (None, None, None);
    for (f, p) in fields.iter().zip(parts) {
        match f {
            Field::Year4 if p.len() == 4 => y = Some(digits(p)? as i32),
            Field::Year2 if p.len() == 2 => y = Some(expand_two_digit_year(digits(p)?)),
            Field::MonthName if p.len() == 3 => m = Some(month_from_name(p)?),
            Field::Month | Field::Day if p.len() == 2 || (sep.is_some() && p.len() == 1) => {
                let v = digits(p)?;
                if *f == Field::Month {
                    m = Some(v)
                } else {
                    d = Some(v)
                }
            }
            _ => return None,
        }
    }
    NaiveDate::from_ymd_opt(y?, m?, d?)
}

fn format_layout(date: NaiveDate, order: DateOrder, sep: Option<char>) -> String {
    let parts = order.fields().map(|f| match f {
        Field::Year4 => format!("{:04}", date.year()),
        Field::Year2 => format!("{:02}", date.year().rem_euclid(100)),
        Field::Month => format!("{:02}", date.month()),
        Field::MonthName => MONTHS[date.month0() as usize].to_string(),
        Field::Day => format!("{:02}", date.day()),
    });
    match sep {
        None => parts.concat(),
        Some(c) => parts.join(&c.to_string()),
    }
}

fn parse_time(s: &str, colons: bool) -> Option<NaiveTime> {
    let (h, m, sec) = if colons {
        let mut it = s.split(':');
        let r = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        r
    } else {
        if s.len() != 6 || !s.is_ascii() {
            return None;
        }
        (s.get(0..2)?, s.get(2..4)?, s.get(4..6)?)
    };
    if h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(digits(h)?, digits(m)?, digits(sec)?)
}

fn split_date_time(
    s: &str,
    date_len: usize,
    order: DateOrder,
    sep: Option<char>,
    colons: bool,
) -> Option<NaiveDateTime> {
    if !s.is_ascii() || s.as_bytes().get(date_len) != Some(&b' ') {
        return None;
    }
    let date = parse_layout(s.get(..date_len)?, order, sep)?;
    let time = parse_time(s.get(date_len + 1..)?, colons)?;
    Some(date.and_time(time))
}

fn parse_iso8601(s: &str) -> Option<DateTime<Utc>> {
    if !s.is_ascii() || s.len() < 19 {
        return None;
    }
    let b = s.as_bytes();
    if b[10] != b'T' && b[10] != b't' {
        return None;
    }
    let date = parse_layout(s.get(..10)?, DateOrder::Ymd, Some('-'))?;
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" {
        return None;
    }
    let time = parse_time(s.get(11..19)?, true)?;
    let mut rest = s.get(19..)?;
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(frac.get(..n)?)? * 10u32.pow(9 - n as u32);
        rest = frac.get(n..)?;
    }
    let offset_secs: i32 = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let body = rest.get(1..)?;
            let (hh, mm) = match body.len() {
                5 if body.as_bytes()[2] == b':' => (body.get(..2)?, body.get(3..)?),
                4 => (body.get(..2)?, body.get(2..)?),
                2 => (body, "00"),
                _ => return None,
            };
            let (hh, mm) = (digits(hh)?, digits(mm)?);
            if hh > 23 || mm > 59 {
                return None;
            }
            sign * (hh as i32 * 3600 + mm as i32 * 60)
        }
    };
    let naive = date.and_time(time.with_nanosecond(nanos)?);
    let offset = FixedOffset::east_opt(offset_secs)?;
    let local = offset.from_local_datetime(&naive).single()?;
    Some(local.with_timezone(&Utc))
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((order, sep)) = self.date_layout() {
            return f.write_str(&order.name(sep));
        }
        f.write_str(match self {
            DateFormat::CcyymmddHhmmss => "CCYYMMDD HHMMSS",
            DateFormat::CcyymmddHhColonMmColonSs => "CCYYMMDD HH:MM:SS",
            DateFormat::CcyyDashMmDdHhMmSs => "CCYY-MM-DD HH:MM:SS",
            DateFormat::Iso8601 => "ISO 8601",
            DateFormat::Custom(p) => p,
            _ => "",
        })
    }
}

impl FromStr for DateFormat {
    type Err = String;

    /// Names as displayed (`CCYYMMDD`, `DD/MM/CCYY`, `DD-MMM-CCYY`, `ISO 8601`, …; case-
    /// insensitive, `YYYY` accepted for `CCYY`), or a strftime pattern containing `%`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.contains('%') {
            check_custom(t)?;
            return Ok(DateFormat::Custom(t.to_string()));
        }
        let u = t.to_ascii_uppercase().replace("YYYY", "CCYY");
        let named = match u.as_str() {
            "CCYYMMDD HHMMSS" => Some(DateFormat::CcyymmddHhmmss),
            "CCYYMMDD HH:MM:SS" => Some(DateFormat::CcyymmddHhColonMmColonSs),
            "CCYY-MM-DD HH:MM:SS" => Some(DateFormat::CcyyDashMmDdHhMmSs),
            "ISO 8601" | "ISO8601" | "ISO" | "ISO-8601" => Some(DateFormat::Iso8601),
            _ => None,
        };
        if let Some(f) = named {
            return Ok(f);
        }
        for sep in DATE_SEPARATORS {
            if u.contains(sep) {
                let tokens: Vec<&str> = u.split(sep).collect();
                let fields: Option<Vec<Field>> =
                    tokens.iter().map(|t| Field::from_token(t)).collect();
                if let Some(order) = fields
                    .and_then(|f| <[Field; 3]>::try_from(f).ok())
                    .and_then(DateOrder::from_fields)
                {
                    return Ok(DateFormat::from_layout(order, Some(sep)));
                }
                return Err(unknown(t));
            }
        }
        DateOrder::ALL
            .into_iter()
            .find(|o| o.name(None) == u)
            .map(|o| DateFormat::from_layout(o, None))
            .ok_or_else(|| unknown(t))
    }
}

fn unknown(t: &str) -> String {
    format!(
        "unknown date format {t:?}: use CCYYMMDD, CCYY-MM-DD, DDMMCCYY, CCYYDDMM, MMDDCCYY, \
         DDMMYY, MMDDYY, DDMMMCCYY (optionally with '/', '-' or '.' between fields), \
         CCYYMMDD HHMMSS, CCYYMMDD HH:MM:SS, CCYY-MM-DD HH:MM:SS, ISO 8601, or a strftime \
         pattern with %"
    )
}

impl Serialize for DateFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The outcome of proposing a date format from sample values (IMP-22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateGuess {
    /// Exactly one candidate parses every sample.
    Format(DateFormat),
    /// Several candidates fit (typically day-first and month-first): the column stays text
    /// with [`AMBIGUOUS_DAY_MONTH`].
    Ambiguous { candidates: Vec<DateFormat> },
    /// No candidate parses every sample.
    None,
}

/// The warning of an ambiguous day/month order (IMP-22).
pub const AMBIGUOUS_DAY_MONTH: &str = "day/month order is ambiguous — choose a format";

/// Proposes a date format for non-empty sample values (IMP-22). `prefer_day_first`
/// (a per-instance locale setting) resolves a day/month ambiguity when given.
pub fn guess_date_format(samples: &[&str], prefer_day_first: Option<bool>) -> DateGuess {
    let samples: Vec<&str> = samples
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if samples.is_empty() {
        return DateGuess::None;
    }
    let fits: Vec<DateFormat> = DateFormat::date_candidates()
        .into_iter()
        .filter(|f| samples.iter().all(|s| f.parse_date(s).is_some()))
        .collect();
    match fits.len() {
        0 => DateGuess::None,
        1 => fits
            .into_iter()
            .next()
            .map_or(DateGuess::None, DateGuess::Format),
        _ => {
            if let Some(pref) = prefer_day_first {
                let chosen: Vec<&DateFormat> = fits
                    .iter()
                    .filter(|f| f.date_layout().and_then(|(o, _)| o.day_first()) == Some(pref))
                    .collect();
                if let [one] = chosen.as_slice() {
                    return DateGuess::Format((*one).clone());
                }
            }
            DateGuess::Ambiguous { candidates: fits }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn named_formats_parse_and_reject() {
        let cases: &[(&str, &str, NaiveDate, &str)] = &[
            ("CCYYMMDD", "20240131", d(2024, 1, 31), "20243101"),
            ("CCYY-MM-DD", "2024-01-31", d(2024, 1, 31), "2024/01/31"),
            ("DDMMCCYY", "31012024", d(2024, 1, 31), "01312024"),
            ("CCYYDDMM", "20243101", d(2024, 1, 31), "20240131"),
            ("MMDDCCYY", "01312024", d(2024, 1, 31), "31012024"),
            ("DDMMYY", "310124", d(2024, 1, 31), "013124"),
            ("MMDDYY", "013199", d(1999, 1, 31), "310199"),
            ("DDMMMCCYY", "31Jan2024", d(2024, 1, 31), "31Foo2024"),
            ("DD/MM/CCYY", "31/01/2024", d(2024, 1, 31), "31/02/2024"),
            ("MM/DD/CCYY", "1/31/2024", d(2024, 1, 31), "31/1/2024"),
            ("DD.MM.CCYY", "5.1.2024", d(2024, 1, 5), "5.1.24"),
            ("DD-MM-YY", "05-01-49", d(2049, 1, 5), "05-01-2049"),
            ("DD-MMM-CCYY", "05-jan-2024", d(2024, 1, 5), "05-01-2024"),
            ("CCYY/MM/DD", "2024/02/29", d(2024, 2, 29), "2023/02/29"),
            (
                "%d %B %Y",
                "5 January 2024",
                d(2024, 1, 5),
                "January 5 2024",
            ),
        ];
        for (name, ok, expected, bad) in cases {
            let f: DateFormat = name.parse().unwrap_or(DateFormat::Custom(String::new()));
            assert_eq!(f.to_string(), *name, "display of {name}");
            assert_eq!(f.parse_date(ok), Some(*expected), "{name} parses {ok}");
            assert_eq!(f.parse_date(bad), None, "{name} rejects {bad}");
        }
    }

    #[test]
    fn datetime_formats() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .ok()
        };
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "CCYYMMDD HHMMSS",
                "20240131 235959",
                "2024-01-31T23:59:59Z",
                "20240131 240000",
            ),
            (
                "CCYYMMDD HH:MM:SS",
                "20240131 23:59:59",
                "2024-01-31T23:59:59Z",
                "20240131 235959",
            ),
            (
                "CCYY-MM-DD HH:MM:SS",
                "2024-01-31 23:59:59",
                "2024-01-31T23:59:59Z",
                "2024-01-31T23:59:59",
            ),
            (
                "ISO 8601",
                "2024-01-31T23:59:59",
                "2024-01-31T23:59:59Z",
                "2024-01-31 23:59:59",
            ),
            (
                "ISO 8601",
                "2024-01-31T23:59:59.123Z",
                "2024-01-31T23:59:59.123Z",
                "2024-01-31T23:59:59.Z",
            ),
            (
                "ISO 8601",
                "2024-01-31T23:59:59+02:00",
                "2024-01-31T21:59:59Z",
                "2024-01-31T23:59:59+25:00",
            ),
            (
                "ISO 8601",
                "2024-01-01T00:30:00-01:30",
                "2024-01-01T02:00:00Z",
                "2024-02-30T00:00:00Z",
            ),
            (
                "%d/%m/%Y %H:%M",
                "31/01/2024 23:59",
                "2024-01-31T23:59:00Z",
                "31/01/2024",
            ),
        ];
        for (name, ok, expected, bad) in cases {
            let f: DateFormat = name.parse().unwrap_or(DateFormat::Custom(String::new()));
            assert!(f.is_datetime(), "{name}");
            assert_eq!(f.parse_datetime(ok), at(expected), "{name} parses {ok}");
            assert!(f.parse_datetime(ok).is_some());
            assert_eq!(f.parse_datetime(bad), None, "{name} rejects {bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!("ccyymmdd".parse::<DateFormat>(), Ok(DateFormat::Ccyymmdd));
        assert_eq!(
            "YYYY-MM-DD".parse::<DateFormat>(),
            Ok(DateFormat::CcyyDashMmDd)
        );
        assert_eq!(
            "DD/MM/CCYY".parse::<DateFormat>(),
            Ok(DateFormat::WithSeparator {
                order: DateOrder::Dmy,
                sep: '/'
            })
        );
        assert_eq!("ISO8601".parse::<DateFormat>(), Ok(DateFormat::Iso8601));
        assert!("DD/MM".parse::<DateFormat>().is_err());
        assert!("DD/MM/CC".parse::<DateFormat>().is_err());
        assert!("MMDDDD".parse::<DateFormat>().is_err());
        assert!("%Q".parse::<DateFormat>().is_err());
        assert!(!DateFormat::Ddmmccyy.is_datetime());
        for f in DateFormat::date_candidates()
            .into_iter()
            .chain(DateFormat::datetime_candidates())
        {
            assert_eq!(f.to_string().parse::<DateFormat>(), Ok(f.clone()), "{f}");
        }
        assert_eq!(DateFormat::date_candidates().len(), 8 + 3 * 7 - 1);
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(expand_two_digit_year(0), 2000);
        assert_eq!(expand_two_digit_year(49), 2049);
        assert_eq!(expand_two_digit_year(50), 1950);
        assert_eq!(expand_two_digit_year(99), 1999);
    }

    #[test]
    fn ambiguity() {
        let dmy = DateFormat::WithSeparator {
            order: DateOrder::Dmy,
            sep: '/',
        };
        let mdy = DateFormat::WithSeparator {
            order: DateOrder::Mdy,
            sep: '/',
        };
        assert_eq!(
            guess_date_format(&["01/02/2024", "12/11/2023"], None),
            DateGuess::Ambiguous {
                candidates: vec![dmy.clone(), mdy.clone()]
            }
        );
        assert_eq!(
            guess_date_format(&["01/02/2024", "12/11/2023"], Some(true)),
            DateGuess::Format(dmy.clone())
        );
        assert_eq!(
            guess_date_format(&["01/02/2024", "12/11/2023"], Some(false)),
            DateGuess::Format(mdy)
        );
        assert_eq!(
            guess_date_format(&["01/02/2024", "31/12/2023"], None),
            DateGuess::Format(dmy)
        );
        assert_eq!(
            guess_date_format(&["2024-01-31", " "], None),
            DateGuess::Format(DateFormat::CcyyDashMmDd)
        );
        assert_eq!(guess_date_format(&["hello"], None), DateGuess::None);
        assert_eq!(guess_date_format(&[], None), DateGuess::None);
    }
}
