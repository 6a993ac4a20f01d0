//! Header verification on re-runs (campaign-import.md RUN-8): a definition remembers the
//! header row of the document it was made for, and a run whose document's header no longer
//! matches fails before any row is read, naming what is missing and what is unexpected.

use serde::{Deserialize, Serialize};

use super::definition::ValidImport;
use crate::delimited::DelimitedReader;
use crate::{CampaignError, Documents, Result};

/// How a run's header is compared with the one the definition remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyHeaders {
    /// The same names, in any order (default).
    #[default]
    Names,
    /// The same names in the same order.
    Exact,
    Off,
}

impl VerifyHeaders {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyHeaders::Names => "names",
            VerifyHeaders::Exact => "exact",
            VerifyHeaders::Off => "off",
        }
    }
}

impl std::str::FromStr for VerifyHeaders {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "names" => Ok(VerifyHeaders::Names),
            "exact" => Ok(VerifyHeaders::Exact),
            "off" => Ok(VerifyHeaders::Off),
            _ => Err(format!(
                "unknown header verification {s:?}: use names, exact or off"
            )),
        }
    }
}

/// The header row of the definition's document (`None` without a header row or when the
/// document is empty).
pub(crate) fn read_headers(
    documents: &Documents,
    import: &ValidImport,
) -> Result<Option<Vec<String>>> {
    let (info, file) = documents.open(&import.document)?;
    let reader = DelimitedReader::with_limits(file, &import.dialect, documents.read_limits())
        .map_err(|source| CampaignError::Read {
            document: info.path.clone(),
            source,
        })?;
    Ok(reader.headers().map(<[String]>::to_vec))
}

/// Compares a document's header with the remembered one; names are compared as written,
/// surrounding spaces aside.
pub(crate) fn verify(
    policy: VerifyHeaders,
    expected: Option<&[String]>,
    actual: Option<&[String]>,
    document: &str,
) -> Result<()> {
    let (Some(expected), Some(actual)) = (expected, actual) else {
        return Ok(());
    };
    if policy == VerifyHeaders::Off {
        return Ok(());
    }
    let names = |h: &[String]| h.iter().map(|n| n.trim().to_string()).collect::<Vec<_>>();
    let (expected, actual) = (names(expected), names(actual));
    let missing: Vec<String> = expected
        .iter()
        .filter(|n| !actual.contains(n))
        .cloned()
        .collect();
    let unexpected: Vec<String> = actual
        .iter()
        .filter(|n| !expected.contains(n))
        .cloned()
        .collect();
    let reordered = policy == VerifyHeaders::Exact && expected != actual;
    if missing.is_empty() && unexpected.is_empty() && !reordered {
        return Ok(());
    }
    Err(CampaignError::HeaderMismatch {
        document: document.to_string(),
        policy: policy.as_str(),
        missing,
        unexpected,
        expected: expected.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn names_ignore_order_exact_does_not() {
        let remembered = h(&["Email", "Name"]);
        let swapped = h(&["Name ", "Email"]);
        let check = |p, a: &[String]| verify(p, Some(&remembered), Some(a), "/d.csv");
        assert!(check(VerifyHeaders::Names, &swapped).is_ok());
        assert!(check(VerifyHeaders::Exact, &swapped).is_err());
        assert!(check(VerifyHeaders::Off, &h(&["x"])).is_ok());
        let err = check(VerifyHeaders::Names, &h(&["Email", "Full name"]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("missing: \"Name\""), "{err}");
        assert!(err.contains("unexpected: \"Full name\""), "{err}");
        // Nothing remembered (an older definition): nothing to compare.
        assert!(verify(VerifyHeaders::Exact, None, Some(&swapped), "/d.csv").is_ok());
    }
}
