//! What the sniffer proposes for a column (IMP-20..IMP-22): a type, and for dates a format
//! chosen only when exactly one candidate parses every sampled value.

use super::sniff::ProposedType;

/// Trims whitespace, U+00A0 included (IMP-25).
pub(crate) fn trim_cell(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}')
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn unsigned(s: &str) -> &str {
    s.strip_prefix(['+', '-']).unwrap_or(s)
}

pub(crate) fn is_integer(s: &str) -> bool {
    digits(unsigned(s))
}

/// Sign, digits, one decimal separator `sep`, optional exponent.
pub(crate) fn is_decimal(s: &str, sep: char) -> bool {
    let s = unsigned(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if exponent.is_some_and(|exp| !digits(unsigned(exp))) {
        return false;
    }
    let (int, frac) = match mantissa.split_once(sep) {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    (int.is_empty() || digits(int))
        && (frac.is_empty() || digits(frac))
        && !(int.is_empty() && frac.is_empty())
}

pub(crate) fn is_boolean(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "y" | "n" | "t" | "f"
    )
}

pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Day/month order of a format, for the ambiguity rule (IMP-22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    None,
    DayFirst,
    MonthFirst,
}

pub(crate) struct DateFormat {
    /// As shown to users (IMP-21 notation).
    pub(crate) name: &'static str,
    /// `Y` year, `M` month, `D` day, `h` `m` `s` time digits; anything else literal.
    /// Empty for ISO 8601, checked by [`is_iso8601`].
    pattern: &'static str,
    pub(crate) datetime: bool,
    pub(crate) order: Order,
}

const fn fmt(
    name: &'static str,
    pattern: &'static str,
    datetime: bool,
    order: Order,
) -> DateFormat {
    DateFormat {
        name,
        pattern,
        datetime,
        order,
    }
}

pub(crate) const FORMATS: &[DateFormat] = &[
    fmt("CCYYMMDD", "YYYYMMDD", false, Order::None),
    fmt("CCYY-MM-DD", "YYYY-MM-DD", false, Order::None),
    fmt("CCYY/MM/DD", "YYYY/MM/DD", false, Order::None),
    fmt("DD/MM/CCYY", "DD/MM/YYYY", false, Order::DayFirst),
    fmt("MM/DD/CCYY", "MM/DD/YYYY", false, Order::MonthFirst),
    fmt("DD.MM.CCYY", "DD.MM.YYYY", false, Order::DayFirst),
    fmt("MM.DD.CCYY", "MM.DD.YYYY", false, Order::MonthFirst),
    fmt("DD-MM-CCYY", "DD-MM-YYYY", false, Order::DayFirst),
    fmt("MM-DD-CCYY", "MM-DD-YYYY", false, Order::MonthFirst),
    fmt("CCYYMMDD HHMMSS", "YYYYMMDD hhmmss", true, Order::None),
    fmt("CCYYMMDD HH:MM:SS", "YYYYMMDD hh:mm:ss", true, Order::None),
    fmt(
        "CCYY-MM-DD HH:MM:SS",
        "YYYY-MM-DD hh:mm:ss",
        true,
        Order::None,
    ),
    fmt(
        "DD/MM/CCYY HH:MM:SS",
        "DD/MM/YYYY hh:mm:ss",
        true,
        Order::DayFirst,
    ),
    fmt(
        "MM/DD/CCYY HH:MM:SS",
        "MM/DD/YYYY hh:mm:ss",
        true,
        Order::MonthFirst,
    ),
    fmt("ISO 8601", "", true, Order::None),
];

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn valid_time(h: u32, mi: u32, s: u32) -> bool {
    h < 24 && mi < 60 && s < 61
}

impl DateFormat {
    pub(crate) fn parses(&self, s: &str) -> bool {
        if self.pattern.is_empty() {
            return is_iso8601(s);
        }
        if s.len() != self.pattern.len() || !s.is_ascii() {
            return false;
        }
        let (mut y, mut mo, mut d, mut h, mut mi, mut se) = (0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
        for (p, c) in self.pattern.bytes().zip(s.bytes()) {
            let slot = match p {
                b'Y' => &mut y,
                b'M' => &mut mo,
                b'D' => &mut d,
                b'h' => &mut h,
                b'm' => &mut mi,
                b's' => &mut se,
                _ => {
                    if p != c {
                        return false;
                    }
                    continue;
                }
            };
            if !c.is_ascii_digit() {
                return false;
            }
            *slot = *slot * 10 + u32::from(c - b'0');
        }
        // Eight bare digits are a date only in a plausible range (else they are integers).
        if !self.pattern.contains(['-', '/', '.']) && !(1900..=2199).contains(&y) {
            return false;
        }
        valid_date(y, mo, d) && valid_time(h, mi, se)
    }
}

fn num(s: &str, len: usize) -> Option<(u32, &str)> {
    if s.len() < len || !s.is_char_boundary(len) || !digits(&s[..len]) {
        return None;
    }
    let v = s[..len].parse().ok()?;
    Some((v, &s[len..]))
}

/// `CCYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM|±HHMM]`.
pub(crate) fn is_iso8601(s: &str) -> bool {
    let parse = || -> Option<()> {
        let (y, r) = num(s, 4)?;
        let r = r.strip_prefix('-')?;
        let (mo, r) = num(r, 2)?;
        let r = r.strip_prefix('-')?;
        let (d, r) = num(r, 2)?;
        let r = r.strip_prefix(['T', 't'])?;
        let (h, r) = num(r, 2)?;
        let r = r.strip_prefix(':')?;
        let (mi, mut r) = num(r, 2)?;
        let mut se = 0;
        if let Some(rest) = r.strip_prefix(':') {
            let (v, rest) = num(rest, 2)?;
            se = v;
            r = rest;
            if let Some(rest) = r.strip_prefix(['.', ',']) {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return None;
                }
                r = &rest[n..];
            }
        }
        if !(valid_date(y, mo, d) && valid_time(h, mi, se)) {
            return None;
        }
        if r.is_empty() || r == "Z" || r == "z" {
            return Some(());
        }
        let r = r.strip_prefix(['+', '-'])?;
        let (oh, r) = num(r, 2)?;
        let r = r.strip_prefix(':').unwrap_or(r);
        let (om, r) = num(r, 2)?;
        (r.is_empty() && oh < 24 && om < 60).then_some(())
    };
    parse().is_some()
}

pub(crate) fn is_number_or_date(s: &str) -> bool {
    let s = trim_cell(s);
    is_integer(s) || is_decimal(s, '.') || is_decimal(s, ',') || FORMATS.iter().any(|f| f.parses(s))
}

/// The proposal for one column from its sampled values.
pub(crate) struct Proposal {
    pub(crate) proposed_type: ProposedType,
    pub(crate) date_format: Option<String>,
    pub(crate) warnings: Vec<String>,
    /// Every value starts with `'` (Auth0's and OWASP's formula escaping): remove it (IMP-15);
    /// the type is proposed for the values without it.
    pub(crate) strip_leading_apostrophe: bool,
}

pub(crate) fn propose(values: &[&str]) -> Proposal {
    let trimmed: Vec<&str> = values
        .iter()
        .map(|v| trim_cell(v))
        .filter(|v| !v.is_empty())
        .collect();
    let unescaped: Option<Vec<&str>> = trimmed.iter().map(|v| v.strip_prefix('\'')).collect();
    match unescaped {
        Some(rest) if !rest.is_empty() => {
            let mut proposal = propose_unescaped(&rest);
            proposal.strip_leading_apostrophe = true;
            proposal.warnings.insert(
                0,
                "every value starts with an apostrophe (formula escaping): proposed to remove \
                 it (IMP-15)"
                    .to_string(),
            );
            proposal
        }
        _ => propose_unescaped(&trimmed),
    }
}

fn propose_unescaped(values: &[&str]) -> Proposal {
    let mut warnings = Vec::new();
    let values: Vec<&str> = values
        .iter()
        .map(|v| trim_cell(v))
        .filter(|v| !v.is_empty())
        .collect();
    let text = |warnings| Proposal {
        proposed_type: ProposedType::Text,
        date_format: None,
        warnings,
        strip_leading_apostrophe: false,
    };
    if values.is_empty() {
        warnings.push("no values in the sample — proposed as text".to_string());
        return text(warnings);
    }
    let all = |f: &dyn Fn(&str) -> bool| values.iter().all(|v| f(v));

    let dates: Vec<&DateFormat> = FORMATS
        .iter()
        .filter(|f| values.iter().all(|v| f.parses(v)))
        .collect();
    match dates.as_slice() {
        [] => {}
        [only] => {
            return Proposal {
                proposed_type: if only.datetime {
                    ProposedType::Datetime
                } else {
                    ProposedType::Date
                },
                date_format: Some(only.name.to_string()),
                warnings,
                strip_leading_apostrophe: false,
            };
        }
        several => {
            let names: Vec<&str> = several.iter().map(|f| f.name).collect();
            let day_month = several.iter().any(|f| f.order == Order::DayFirst)
                && several.iter().any(|f| f.order == Order::MonthFirst);
            if day_month {
                warnings.push(format!(
                    "day/month order is ambiguous — choose a format ({})",
                    names.join(" or ")
                ));
            } else {
                warnings.push(format!(
                    "several date formats fit — choose one ({})",
                    names.join(", ")
                ));
            }
            return text(warnings);
        }
    }

    if all(&is_integer) {
        let leading_zero = values.iter().any(|v| {
            let d = unsigned(v);
            d.len() > 1 && d.starts_with('0')
        });
        if leading_zero {
            warnings.push(
                "values have leading zeros that an integer would lose — proposed as text"
                    .to_string(),
            );
            return text(warnings);
        }
        return Proposal {
            proposed_type: ProposedType::Integer,
            date_format: None,
            warnings,
            strip_leading_apostrophe: false,
        };
    }
    if all(&|v| is_decimal(v, '.')) {
        return Proposal {
            proposed_type: ProposedType::Decimal,
            date_format: None,
            warnings,
            strip_leading_apostrophe: false,
        };
    }
    if all(&|v| is_decimal(v, ',')) {
        warnings.push("decimal separator is ',' — set it in the mapping".to_string());
        return Proposal {
            proposed_type: ProposedType::Decimal,
            date_format: None,
            warnings,
            strip_leading_apostrophe: false,
        };
    }
    if all(&is_boolean) {
        return Proposal {
            proposed_type: ProposedType::Boolean,
            date_format: None,
            warnings,
            strip_leading_apostrophe: false,
        };
    }
    if all(&is_email) {
        return Proposal {
            proposed_type: ProposedType::Email,
            date_format: None,
            warnings,
            strip_leading_apostrophe: false,
        };
    }
    text(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(values: &[&str]) -> (ProposedType, Option<String>, Vec<String>) {
        let r = propose(values);
        (r.proposed_type, r.date_format, r.warnings)
    }

    #[test]
    fn scalars() {
        assert_eq!(p(&["1", "-2", "+30"]).0, ProposedType::Integer);
        assert_eq!(p(&["1", "007"]).0, ProposedType::Text);
        assert_eq!(p(&["1.5", "2", "-3e4", ".5"]).0, ProposedType::Decimal);
        assert_eq!(p(&["1,5", "2"]).0, ProposedType::Decimal);
        assert_eq!(p(&["yes", "No", "TRUE"]).0, ProposedType::Boolean);
        assert_eq!(p(&["a@b.com", " C@D.ORG "]).0, ProposedType::Email);
        assert_eq!(p(&["a@b", "x"]).0, ProposedType::Text);
        assert_eq!(p(&["", " "]).0, ProposedType::Text);
        assert!(p(&["'001", "'+1"]).2[0].contains("apostrophe"));
        // IMP-15: the type is proposed for the values without their apostrophe.
        let escaped = propose(&["'-5", "'+12", "'7"]);
        assert!(escaped.strip_leading_apostrophe);
        assert_eq!(escaped.proposed_type, ProposedType::Integer);
        assert!(!propose(&["'a", "b"]).strip_leading_apostrophe);
    }

    #[test]
    fn dates() {
        assert_eq!(
            p(&["20240131", "19991231"]),
            (ProposedType::Date, Some("CCYYMMDD".into()), vec![])
        );
        assert_eq!(p(&["20241331"]).0, ProposedType::Integer);
        assert_eq!(p(&["2024-02-29"]).1.as_deref(), Some("CCYY-MM-DD"));
        assert_eq!(p(&["2023-02-29"]).0, ProposedType::Text);
        assert_eq!(
            p(&["31/01/2024", "01/02/2024"]).1.as_deref(),
            Some("DD/MM/CCYY")
        );
        assert_eq!(
            p(&["01/31/2024", "02/01/2024"]).1.as_deref(),
            Some("MM/DD/CCYY")
        );
        let (t, f, w) = p(&["01/02/2024", "03/04/2024"]);
        assert_eq!((t, f), (ProposedType::Text, None));
        assert!(w[0].starts_with("day/month order is ambiguous — choose a format"));
        assert_eq!(p(&["31.01.2024"]).1.as_deref(), Some("DD.MM.CCYY"));
        assert_eq!(
            p(&["20240131 235959"]),
            (
                ProposedType::Datetime,
                Some("CCYYMMDD HHMMSS".into()),
                vec![]
            )
        );
        assert_eq!(
            p(&["2024-01-31 23:59:59"]).1.as_deref(),
            Some("CCYY-MM-DD HH:MM:SS")
        );
        for iso in [
            "2024-01-31T23:59:59Z",
            "2024-01-31T23:59:59.123Z",
            "2024-01-31T23:59:59+02:00",
            "2024-01-31T23:59",
            "2024-01-31T23:59:59.5-0530",
        ] {
            assert_eq!(p(&[iso]).1.as_deref(), Some("ISO 8601"), "{iso}");
        }
        assert!(!is_iso8601("2024-01-31T25:00:00Z"));
        assert!(!is_iso8601("2024-01-31T23:59:59+"));
    }
}
