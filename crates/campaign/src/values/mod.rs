//! Typed columns of campaign tables (`campaign-import.md` §5, §6.5, §6.6, §6.9, §8.2):
//! column specs, conversion of raw cells into storable [`Value`]s, key normalisation, and
//! table/column name checks.
//!
//! Conversion order for one cell ([`ColumnSpec::convert`]):
//! 1. the cell is trimmed (leading/trailing Unicode whitespace, U+00A0 included; IMP-25);
//! 2. a trimmed cell equal to the clear token is [`Cell::Clear`] (an empty token disables
//!    the feature; IMP-34) — rejected `not_null` on a non-nullable column;
//! 3. a trimmed cell that is empty is [`Cell::Blank`] (a qualified `""` too; IMP-33);
//! 4. the value is converted per type; text columns with `trim: false` keep the untrimmed
//!    text (other types are always trimmed);
//! 5. a failure follows `on_error` (IMP-23): reject (default), set empty ([`Cell::Blank`]),
//!    or convert the default value instead.

mod dates;
mod identifiers;
mod numbers;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use dates::{
    AMBIGUOUS_DAY_MONTH, DATE_SEPARATORS, DateFormat, DateGuess, DateOrder, MONTHS,
    expand_two_digit_year, guess_date_format,
};
pub use identifiers::{
    MAX_COLUMN_NAME_CHARS, MAX_TABLE_NAME_CHARS, check_column_name, check_column_names,
    check_table_name, quote_identifier,
};
pub use numbers::{
    MAX_DECIMAL_CHARS, THOUSANDS_SEPARATORS, format_integer, parse_decimal, parse_integer,
};

/// The default clear token (IMP-34).
pub const DEFAULT_CLEAR_TOKEN: &str = "#CLEAR#";

/// The type of a campaign column (IMP-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Text,
    Integer,
    Decimal,
    Boolean,
    Date,
    Datetime,
    Email,
}

impl ColumnType {
    pub const ALL: [ColumnType; 7] = [
        ColumnType::Text,
        ColumnType::Integer,
        ColumnType::Decimal,
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::Datetime,
        ColumnType::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
            ColumnType::Email => "email",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ColumnType {
    type Err = String;
    /// Case-insensitive type names as displayed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        ColumnType::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                format!(
                    "unknown column type {t:?}: use text, integer, decimal, boolean, date, \
                     datetime or email"
                )
            })
    }
}

/// What to do with a value that does not convert (IMP-23).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Reject the row (default).
    #[default]
    Reject,
    /// Treat the cell as blank.
    SetEmpty,
    /// Convert this value instead (it must convert itself).
    Default(String),
}

/// Case transform of text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseTransform {
    #[default]
    None,
    Upper,
    Lower,
}

fn default_true() -> bool {
    true
}
fn default_decimal_separator() -> char {
    '.'
}

/// One column of a campaign table with its conversion options (IMP-1, IMP-20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type", alias = "column_type")]
    pub column_type: ColumnType,
    /// Default `true`.
    #[serde(default = "default_true")]
    pub nullable: bool,
    /// Text columns: maximum length in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Date/datetime columns: the parse format (default `CCYYMMDD` / `CCYYMMDD HHMMSS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DateFormat>,
    /// Integer/decimal columns: one of `,` `.` space `'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands: Option<char>,
    /// Decimal columns: `.` (default) or `,`.
    #[serde(default = "default_decimal_separator")]
    pub decimal_separator: char,
    /// Boolean columns: words accepted as true, besides true/yes/y/1/t (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub true_words: Vec<String>,
    /// Boolean columns: words accepted as false, besides false/no/n/0/f.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub false_words: Vec<String>,
    #[serde(default)]
    pub on_error: OnError,
    /// Text columns: cut values longer than `max_length` instead of rejecting them.
    #[serde(default)]
    pub truncate: bool,
    /// Text columns.
    #[serde(default)]
    pub case: CaseTransform,
    /// Text columns may opt out of trimming (other types are always trimmed).
    #[serde(default = "default_true")]
    pub trim: bool,
    /// Remove one leading `'` before converting (IMP-15): undoes the formula escaping of
    /// Auth0's and userbridge's exports (`'=1+2` → `=1+2`, `'+4420…` → `+4420…`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strip_leading_apostrophe: bool,
}

/// A converted cell, ready to store: SQLite-friendly and comparable.
///
/// Decimals are canonical decimal text (see [`parse_decimal`]): exact, and equal numbers
/// are equal strings (`"-12.50"` → `"-12.5"`, `"1e2"` → `"100"`). Dates are calendar dates
/// (never instants, IMP-24); datetimes are UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Decimal(String),
    Boolean(bool),
    Date(NaiveDate),
    Datetime(DateTime<Utc>),
}

impl fmt::Display for Value {
    /// The canonical text: empty for NULL, `true`/`false`, dates `CCYY-MM-DD`, datetimes
    /// RFC 3339 in UTC with `Z` (fraction only when non-zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Text(s) | Value::Decimal(s) => f.write_str(s),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::Datetime(d) => {
                f.write_str(&d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
        }
    }
}

/// A converted cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    /// Blank after trimming (also a qualified `""`): no change on update, NULL/default on
    /// insert (IMP-33).
    Blank,
    /// The clear token: NULL on insert and update (IMP-34).
    Clear,
    Value(Value),
}

/// Why a cell (and so its row) is rejected (§8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    InvalidInteger,
    InvalidDecimal,
    InvalidBoolean,
    InvalidDate,
    InvalidDatetime,
    InvalidEmail,
    TooLong,
    MissingKey,
    /// Code `not_null`, as in the §8.2 table.
    #[serde(rename = "not_null")]
    NotNullable,
}

impl RejectReason {
    /// The `_reason_code` of reject files.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidInteger => "invalid_integer",
            RejectReason::InvalidDecimal => "invalid_decimal",
            RejectReason::InvalidBoolean => "invalid_boolean",
            RejectReason::InvalidDate => "invalid_date",
            RejectReason::InvalidDatetime => "invalid_datetime",
            RejectReason::InvalidEmail => "invalid_email",
            RejectReason::TooLong => "too_long",
            RejectReason::MissingKey => "missing_key",
            RejectReason::NotNullable => "not_null",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected cell: the reason code and a message showing the value and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub reason: RejectReason,
    pub message: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Reject {}

/// Values longer than this are shortened (with `…`) in reject messages.
const MESSAGE_VALUE_CHARS: usize = 80;

/// The value quoted for a message, shortened when long.
fn shown(value: &str) -> String {
    if value.chars().count() <= MESSAGE_VALUE_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MESSAGE_VALUE_CHARS).collect();
        format!("{:?}…", head)
    }
}

fn reject(reason: RejectReason, message: String) -> Reject {
    Reject { reason, message }
}

/// The default boolean words (IMP-20), lower-case.
pub const TRUE_WORDS: [&str; 5] = ["true", "yes", "y", "1", "t"];
pub const FALSE_WORDS: [&str; 5] = ["false", "no", "n", "0", "f"];

/// Checks an email address (`user-schema.md` §3.1, simplified): one `@`; local part 1–64
/// characters; domain of non-empty dot-separated labels with at least one dot; total ≤ 254
/// characters; no whitespace or control characters anywhere.
pub fn is_valid_email(s: &str) -> bool {
    if s.chars().count() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if domain.contains('@') || local.is_empty() || local.chars().count() > 64 {
        return false;
    }
    domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

impl ColumnSpec {
    /// A nullable column of this type with every option at its default.
    pub fn new(name: impl Into<String>, column_type: ColumnType) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            column_type,
            nullable: true,
            max_length: None,
            format: None,
            thousands: None,
            decimal_separator: '.',
            true_words: Vec::new(),
            false_words: Vec::new(),
            on_error: OnError::Reject,
            truncate: false,
            case: CaseTransform::None,
            trim: true,
            strip_leading_apostrophe: false,
        }
    }

    /// The effective date/datetime format (the column's, or the type's default).
    pub fn effective_format(&self) -> DateFormat {
        match (&self.format, self.column_type) {
            (Some(f), _) => f.clone(),
            (None, ColumnType::Datetime) => DateFormat::DEFAULT_DATETIME,
            (None, _) => DateFormat::DEFAULT_DATE,
        }
    }

    /// Checks the spec itself: column name, format kind against the type, separators,
    /// boolean words, and that an `on_error` default converts.
    pub fn validate(&self) -> Result<(), String> {
        check_column_name(&self.name)?;
        let ctx = |e: String| format!("column {:?}: {e}", self.name);
        if let Some(f) = &self.format {
            f.validate().map_err(ctx)?;
            match self.column_type {
                ColumnType::Date if f.is_datetime() => {
                    return Err(ctx(format!("{f} is a date-time format, not a date format")));
                }
                ColumnType::Datetime if f.date_layout().is_some() => {
                    return Err(ctx(format!("{f} is a date format, not a date-time format")));
                }
                ColumnType::Date | ColumnType::Datetime => {}
                t => return Err(ctx(format!("a {t} column takes no date format"))),
            }
        }
        if let Some(t) = self.thousands {
            if !THOUSANDS_SEPARATORS.contains(&t) {
                return Err(ctx(format!(
                    "thousands separator {t:?} is not one of ',', '.', ' ', '''"
                )));
            }
            if t == self.decimal_separator && self.column_type == ColumnType::Decimal {
                return Err(ctx("thousands and decimal separators must differ".into()));
            }
        }
        if !matches!(self.decimal_separator, '.' | ',') {
            return Err(ctx(format!(
                "decimal separator {:?} is not '.' or ','",
                self.decimal_separator
            )));
        }
        let norm = |w: &String| w.trim().to_lowercase();
        let trues: Vec<String> = self.true_words.iter().map(norm).collect();
        let falses: Vec<String> = self.false_words.iter().map(norm).collect();
        for w in trues.iter().chain(&falses) {
            if w.is_empty() {
                return Err(ctx("boolean words cannot be blank".into()));
            }
        }
        if let Some(w) = trues
            .iter()
            .find(|w| falses.contains(w) || FALSE_WORDS.contains(&w.as_str()))
            .or_else(|| falses.iter().find(|w| TRUE_WORDS.contains(&w.as_str())))
        {
            return Err(ctx(format!("boolean word {w:?} is both true and false")));
        }
        if self.max_length == Some(0) {
            return Err(ctx("max length must be at least 1".into()));
        }
        if let OnError::Default(v) = &self.on_error {
            self.convert_value(v)
                .map_err(|r| ctx(format!("the on-error default does not convert: {r}")))?;
        }
        Ok(())
    }

    /// Converts one raw cell (as parsed, before trimming). Returns the cell and whether a
    /// text value was truncated (to be counted in the report).
    pub fn convert(&self, raw: &str, clear_token: &str) -> Result<(Cell, bool), Reject> {
        let raw = match raw.trim_start().strip_prefix('\'') {
            Some(unescaped) if self.strip_leading_apostrophe => unescaped,
            _ => raw,
        };
        let trimmed = raw.trim();
        if !clear_token.is_empty() && trimmed == clear_token {
            if !self.nullable {
                return Err(reject(
                    RejectReason::NotNullable,
                    format!(
                        "the clear token {} cannot be used in non-nullable column {:?}",
                        shown(clear_token),
                        self.name
                    ),
                ));
            }
            return Ok((Cell::Clear, false));
        }
        match self.convert_value(raw) {
            Ok(ok) => Ok(ok),
            Err(rejected) => match &self.on_error {
                OnError::Reject => Err(rejected),
                OnError::SetEmpty => Ok((Cell::Blank, false)),
                OnError::Default(v) => self.convert_value(v).map_err(|r| Reject {
                    reason: r.reason,
                    message: format!("{}; the on-error default is invalid too: {}", rejected, r),
                }),
            },
        }
    }

    /// Conversion without the clear token and `on_error`.
    fn convert_value(&self, raw: &str) -> Result<(Cell, bool), Reject> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok((Cell::Blank, false));
        }
        let value = match self.column_type {
            ColumnType::Text => return self.convert_text(if self.trim { s } else { raw }),
            ColumnType::Integer => {
                Value::Integer(parse_integer(s, self.thousands).ok_or_else(|| {
                    reject(
                        RejectReason::InvalidInteger,
                        format!("{} is not an integer{}", shown(s), self.number_hint()),
                    )
                })?)
            }
            ColumnType::Decimal => Value::Decimal(
                parse_decimal(s, self.decimal_separator, self.thousands).ok_or_else(|| {
                    reject(
                        RejectReason::InvalidDecimal,
                        format!(
                            "{} is not a decimal number (decimal separator {:?}{})",
                            shown(s),
                            self.decimal_separator,
                            self.thousands
                                .map(|t| format!(", thousands separator {t:?}"))
                                .unwrap_or_default()
                        ),
                    )
                })?,
            ),
            ColumnType::Boolean => Value::Boolean(self.parse_boolean(s).ok_or_else(|| {
                reject(
                    RejectReason::InvalidBoolean,
                    format!(
                        "{} is not a boolean (true/false, yes/no, y/n, 1/0, t/f{})",
                        shown(s),
                        if self.true_words.is_empty() && self.false_words.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ", or {} / {}",
                                self.true_words.join("/"),
                                self.false_words.join("/")
                            )
                        }
                    ),
                )
            })?),
            ColumnType::Date => {
                let f = self.effective_format();
                Value::Date(f.parse_date(s).ok_or_else(|| {
                    reject(
                        RejectReason::InvalidDate,
                        format!("{} is not a date in {f}", shown(s)),
                    )
                })?)
            }
            ColumnType::Datetime => {
                let f = self.effective_format();
                Value::Datetime(f.parse_datetime(s).ok_or_else(|| {
                    reject(
                        RejectReason::InvalidDatetime,
                        format!("{} is not a date-time in {f}", shown(s)),
                    )
                })?)
            }
            ColumnType::Email => {
                if !is_valid_email(s) {
                    return Err(reject(
                        RejectReason::InvalidEmail,
                        format!(
                            "{} is not an email address (local@domain.tld, one @, no spaces)",
                            shown(s)
                        ),
                    ));
                }
                Value::Text(s.to_lowercase())
            }
        };
        Ok((Cell::Value(value), false))
    }

    fn number_hint(&self) -> String {
        match self.thousands {
            None => " (digits with an optional sign)".into(),
            Some(t) => format!(" (digits with an optional sign and thousands separator {t:?})"),
        }
    }

    fn parse_boolean(&self, s: &str) -> Option<bool> {
        let lower = s.to_lowercase();
        let is = |defaults: &[&str], custom: &[String]| {
            defaults.contains(&lower.as_str())
                || custom.iter().any(|w| w.trim().to_lowercase() == lower)
        };
        if is(&TRUE_WORDS, &self.true_words) {
            Some(true)
        } else if is(&FALSE_WORDS, &self.false_words) {
            Some(false)
        } else {
            None
        }
    }

    fn convert_text(&self, s: &str) -> Result<(Cell, bool), Reject> {
        let text = match self.case {
            CaseTransform::None => s.to_string(),
            CaseTransform::Upper => s.to_uppercase(),
            CaseTransform::Lower => s.to_lowercase(),
        };
        if let Some(max) = self.max_length {
            let chars = text.chars().count();
            if chars > max {
                if self.truncate {
                    let cut: String = text.chars().take(max).collect();
                    return Ok((Cell::Value(Value::Text(cut)), true));
                }
                return Err(reject(
                    RejectReason::TooLong,
                    format!(
                        "{} is {chars} characters long, more than the maximum of {max}",
                        shown(&text)
                    ),
                ));
            }
        }
        Ok((Cell::Value(Value::Text(text)), false))
    }
}

/// Key normalisation (IMP-26): email trimmed + lower-cased; text trimmed (case-sensitive
/// unless `case_insensitive`); numbers and dates by value (their canonical text, see
/// [`Value`]'s `Display`). Returns `None` for a blank key (→ `missing_key`, IMP-27).
pub fn key_part(value: &Value, case_insensitive: bool) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(s) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else if case_insensitive {
                Some(t.to_lowercase())
            } else {
                Some(t.to_string())
            }
        }
        other => Some(other.to_string()),
    }
}

/// The key part of a converted cell: a blank cell or the clear token is `missing_key`
/// (IMP-27, IMP-34).
pub fn key_part_of_cell(
    cell: &Cell,
    column: &str,
    case_insensitive: bool,
) -> Result<String, Reject> {
    let missing = |what: &str| {
        reject(
            RejectReason::MissingKey,
            format!("key column {column:?} is {what}"),
        )
    };
    match cell {
        Cell::Blank => Err(missing("blank")),
        Cell::Clear => Err(missing("the clear token")),
        Cell::Value(v) => key_part(v, case_insensitive).ok_or_else(|| missing("blank")),
    }
}
