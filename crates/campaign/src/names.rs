//! Names and paths of the Documents area (DOC-1).
//!
//! A name is 1–255 characters (Unicode scalar values), holds no `/` and no control
//! character (`char::is_control`: C0, DEL, C1) and is neither `.` nor `..`. Anything else
//! is allowed, `\` included: names never reach the filesystem (content is stored by id).
//! A path is `/` or `/name/name…`; the leading `/` may be left out and one trailing `/` is
//! ignored. Nothing is normalised: `.`, `..` and empty components are errors.

use std::fmt;

use crate::error::{CampaignError, Result};

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A valid directory or document name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

/// Why `text` is not a valid name, if it is not.
fn name_problem(text: &str) -> Option<String> {
    let chars = text.chars().count();
    if chars == 0 {
        return Some("a name cannot be empty".into());
    }
    if chars > MAX_NAME_CHARS {
        return Some(format!(
            "a name is at most {MAX_NAME_CHARS} characters, this one has {chars}"
        ));
    }
    if text == "." || text == ".." {
        return Some(format!("{text:?} is not allowed as a name"));
    }
    if text.contains('/') {
        return Some("a name cannot contain '/'".into());
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Some(format!(
            "a name cannot contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    None
}

impl Name {
    pub fn parse(text: &str) -> Result<Name> {
        match name_problem(text) {
            None => Ok(Name(text.to_string())),
            Some(reason) => Err(CampaignError::InvalidName {
                name: text.to_string(),
                reason,
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with ` (n)` inserted before its last extension (`users (2).csv`), or at
    /// the end when it has none (`report (2)`); a leading dot is not an extension.
    pub fn numbered(&self, n: u32) -> Result<Name> {
        let (stem, ext) = match self.0.rfind('.') {
            Some(i) if i > 0 => self.0.split_at(i),
            _ => (self.0.as_str(), ""),
        };
        Name::parse(&format!("{stem} ({n}){ext}"))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid path: the names from the root down; empty for `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DocPath(Vec<Name>);

impl DocPath {
    pub fn root() -> DocPath {
        DocPath(Vec::new())
    }

    pub fn parse(text: &str) -> Result<DocPath> {
        let invalid = |reason: String| CampaignError::InvalidPath {
            path: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("a path cannot be empty (the root is \"/\")".into()));
        }
        let body = text.strip_prefix('/').unwrap_or(text);
        if body.is_empty() {
            return Ok(DocPath::root());
        }
        let body = body.strip_suffix('/').unwrap_or(body);
        body.split('/')
            .map(|part| match name_problem(part) {
                None => Ok(Name(part.to_string())),
                Some(reason) => Err(invalid(if part.is_empty() {
                    "empty component (\"//\")".into()
                } else {
                    format!("{part:?}: {reason}")
                })),
            })
            .collect::<Result<Vec<_>>>()
            .map(DocPath)
    }

    pub fn names(&self) -> &[Name] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last name, `None` for the root.
    pub fn name(&self) -> Option<&Name> {
        self.0.last()
    }

    /// The parent directory, `None` for the root.
    pub fn parent(&self) -> Option<DocPath> {
        let (_, parent) = self.0.split_last()?;
        Some(DocPath(parent.to_vec()))
    }

    pub fn join(&self, name: &Name) -> DocPath {
        let mut names = self.0.clone();
        names.push(name.clone());
        DocPath(names)
    }

    /// True when `self` is `other` or below it (compared case-insensitively, like names).
    pub fn starts_with(&self, other: &DocPath) -> bool {
        other.0.len() <= self.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.0.to_lowercase() == b.0.to_lowercase())
    }
}

impl fmt::Display for DocPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for name in &self.0 {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn reason(text: &str) -> String {
        match Name::parse(text) {
            Err(CampaignError::InvalidName { reason, .. }) => reason,
            other => panic!("{text:?} should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn names_follow_every_rule_of_doc_1() {
        assert!(reason("").contains("empty"));
        assert!(reason(".").contains("not allowed"));
        assert!(reason("..").contains("not allowed"));
        assert!(reason("a/b").contains("'/'"));
        assert!(reason("/").contains("'/'"));
        assert!(reason("a\u{0}b").contains("U+0000"));
        assert!(reason("line\nbreak").contains("U+000A"));
        assert!(reason("tab\t").contains("U+0009"));
        assert!(reason("del\u{7f}").contains("U+007F"));
        assert!(reason("c1\u{85}").contains("U+0085"));
        let long = "x".repeat(256);
        assert!(reason(&long).contains("256"));
        // 255 characters pass even when they are multi-byte.
        assert!(Name::parse(&"é".repeat(255)).is_ok());
        assert!(Name::parse(&"x".repeat(255)).is_ok());
        for ok in [
            "users.csv",
            "...",
            ".hidden",
            "a..b",
            "back\\slash",
            "Ünïcode ✓",
            " spaced ",
        ] {
            assert_eq!(Name::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn paths_parse_strictly_and_display_canonically() {
        assert!(DocPath::parse("/").unwrap().is_root());
        assert_eq!(DocPath::parse("/a/b").unwrap().to_string(), "/a/b");
        assert_eq!(DocPath::parse("a/b/").unwrap().to_string(), "/a/b");
        assert_eq!(
            DocPath::parse("marketing/").unwrap().to_string(),
            "/marketing"
        );
        for bad in ["", "//", "/a//b", "/a/../b", "/..", "/.", "/a/\u{1}", "a//"] {
            assert!(
                matches!(DocPath::parse(bad), Err(CampaignError::InvalidPath { .. })),
                "{bad:?}"
            );
        }
        let err = DocPath::parse("/a/..").unwrap_err().to_string();
        assert!(err.contains("\"..\""), "{err}");
        let p = DocPath::parse("/a/b").unwrap();
        assert_eq!(p.parent().unwrap().to_string(), "/a");
        assert_eq!(p.name().unwrap().as_str(), "b");
        assert!(DocPath::root().parent().is_none());
        assert!(p.starts_with(&DocPath::parse("/A").unwrap()));
        assert!(
            !DocPath::parse("/ab")
                .unwrap()
                .starts_with(&DocPath::parse("/a").unwrap())
        );
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        let n = |s: &str, i| Name::parse(s).unwrap().numbered(i).unwrap().to_string();
        assert_eq!(n("users.csv", 2), "users (2).csv");
        assert_eq!(n("users.tar.gz", 3), "users.tar (3).gz");
        assert_eq!(n("report", 2), "report (2)");
        assert_eq!(n(".env", 2), ".env (2)");
        assert!(Name::parse(&"x".repeat(255)).unwrap().numbered(2).is_err());
    }

    proptest! {
        #[test]
        fn the_path_parser_never_panics(text in "\\PC*|[/a.\u{0}-\u{1f}]{0,12}") {
            let _ = DocPath::parse(&text);
            let _ = Name::parse(&text);
        }

        #[test]
        fn valid_names_round_trip(name in "[^/\\p{Cc}]{1,255}") {
            prop_assume!(name != "." && name != "..");
            let parsed = Name::parse(&name).unwrap();
            prop_assert_eq!(parsed.as_str(), name.as_str());
            let path = DocPath::parse(&format!("/{name}")).unwrap();
            prop_assert_eq!(path.to_string(), format!("/{name}"));
            prop_assert_eq!(DocPath::parse(&path.to_string()).unwrap(), path);
        }
    }
}
