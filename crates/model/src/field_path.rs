//! Export field paths (`user-schema.md` §9): `email`, `user_metadata.consent.given`,
//! `identities[0].connection`, `user_metadata["a.b"]`.

use std::fmt;

use crate::{ModelError, Result};

/// Longest accepted path, in characters (Auth0's `maxLength` of `fields[].name`).
pub const MAX_PATH_CHARS: usize = 100;

/// The profile attributes a path may start from (`user-schema.md` §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    AppMetadata,
    Blocked,
    CreatedAt,
    Email,
    EmailVerified,
    FamilyName,
    GivenName,
    Identities,
    LastIp,
    LastLogin,
    LastPasswordReset,
    LoginsCount,
    Multifactor,
    MultifactorLastModified,
    Name,
    Nickname,
    PhoneNumber,
    PhoneVerified,
    Picture,
    UpdatedAt,
    UserId,
    UserMetadata,
    Username,
}

impl Attribute {
    /// Every exportable attribute, in the alphabetical order of their names.
    pub const ALL: [Attribute; 23] = [
        Attribute::AppMetadata,
        Attribute::Blocked,
        Attribute::CreatedAt,
        Attribute::Email,
        Attribute::EmailVerified,
        Attribute::FamilyName,
        Attribute::GivenName,
        Attribute::Identities,
        Attribute::LastIp,
        Attribute::LastLogin,
        Attribute::LastPasswordReset,
        Attribute::LoginsCount,
        Attribute::Multifactor,
        Attribute::MultifactorLastModified,
        Attribute::Name,
        Attribute::Nickname,
        Attribute::PhoneNumber,
        Attribute::PhoneVerified,
        Attribute::Picture,
        Attribute::UpdatedAt,
        Attribute::UserId,
        Attribute::UserMetadata,
        Attribute::Username,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attribute::AppMetadata => "app_metadata",
            Attribute::Blocked => "blocked",
            Attribute::CreatedAt => "created_at",
            Attribute::Email => "email",
            Attribute::EmailVerified => "email_verified",
            Attribute::FamilyName => "family_name",
            Attribute::GivenName => "given_name",
            Attribute::Identities => "identities",
            Attribute::LastIp => "last_ip",
            Attribute::LastLogin => "last_login",
            Attribute::LastPasswordReset => "last_password_reset",
            Attribute::LoginsCount => "logins_count",
            Attribute::Multifactor => "multifactor",
            Attribute::MultifactorLastModified => "multifactor_last_modified",
            Attribute::Name => "name",
            Attribute::Nickname => "nickname",
            Attribute::PhoneNumber => "phone_number",
            Attribute::PhoneVerified => "phone_verified",
            Attribute::Picture => "picture",
            Attribute::UpdatedAt => "updated_at",
            Attribute::UserId => "user_id",
            Attribute::UserMetadata => "user_metadata",
            Attribute::Username => "username",
        }
    }

    pub fn from_name(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Profile timestamps: the attributes a `date_format` applies to.
    pub fn is_timestamp(self) -> bool {
        matches!(
            self,
            Attribute::CreatedAt
                | Attribute::UpdatedAt
                | Attribute::LastLogin
                | Attribute::LastPasswordReset
                | Attribute::MultifactorLastModified
        )
    }
}

/// One step below the root attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A parsed, valid field path. Its `Display` is the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
    root: Attribute,
    steps: Vec<Step>,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath> {
        let fail = |reason: &str| ModelError::FieldPath {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(fail("empty path"));
        }
        if text.chars().count() > MAX_PATH_CHARS {
            return Err(fail("longer than 100 characters"));
        }
        let root_end = text.find(['.', '[']).unwrap_or(text.len());
        let root_name = &text[..root_end];
        let root = Attribute::from_name(root_name).ok_or_else(|| {
            fail(&format!(
                "{root_name:?} is not an exportable user attribute"
            ))
        })?;
        let mut steps = Vec::new();
        let mut rest = &text[root_end..];
        while let Some(first) = rest.chars().next() {
            if first == '.' {
                let body = &rest[1..];
                let end = body.find(['.', '[', ']', '"']).unwrap_or(body.len());
                if end == 0 {
                    return Err(fail("empty key after '.'"));
                }
                steps.push(Step::Key(body[..end].to_string()));
                rest = &body[end..];
            } else if first == '[' {
                let body = &rest[1..];
                if let Some(quoted) = body.strip_prefix('"') {
                    let (key, after) =
                        parse_quoted(quoted).ok_or_else(|| fail("unterminated quoted key"))?;
                    if key.is_empty() {
                        return Err(fail("empty quoted key"));
                    }
                    rest = after
                        .strip_prefix(']')
                        .ok_or_else(|| fail("expected ']' after quoted key"))?;
                    steps.push(Step::Key(key));
                } else {
                    let end = body.find(']').ok_or_else(|| fail("missing ']'"))?;
                    let digits = &body[..end];
                    let valid = !digits.is_empty()
                        && digits.bytes().all(|b| b.is_ascii_digit())
                        && (digits == "0" || !digits.starts_with('0'));
                    let index =
                        digits
                            .parse::<usize>()
                            .ok()
                            .filter(|_| valid)
                            .ok_or_else(|| {
                                fail("an index must be a whole number without leading zeros")
                            })?;
                    steps.push(Step::Index(index));
                    rest = &body[end + 1..];
                }
            } else {
                return Err(fail(&format!("unexpected {first:?}")));
            }
        }
        Ok(FieldPath {
            text: text.to_string(),
            root,
            steps,
        })
    }

    /// A path of just one attribute.
    pub fn attribute(root: Attribute) -> FieldPath {
        FieldPath {
            text: root.name().to_string(),
            root,
            steps: Vec::new(),
        }
    }

    pub fn root(&self) -> Attribute {
        self.root
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Reads a quoted key body up to its closing `"`; returns the key and what follows the quote.
fn parse_quoted(body: &str) -> Option<(String, &str)> {
    let mut key = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((key, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => key.push(escaped),
                _ => return None,
            },
            other => key.push(other),
        }
    }
    None
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Writes a key as path text, quoting it when it holds `.`, `[`, `]` or `"`.
pub fn push_key(out: &mut String, key: &str) {
    if key.is_empty() || key.contains(['.', '[', ']', '"', '\\']) {
        out.push_str("[\"");
        for c in key.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("\"]");
    } else {
        out.push('.');
        out.push_str(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(k: &str) -> Step {
        Step::Key(k.to_string())
    }

    #[test]
    fn parses_the_documented_examples() {
        let p = FieldPath::parse("user_metadata.consent.given").unwrap();
        assert_eq!(p.root(), Attribute::UserMetadata);
        assert_eq!(p.steps(), &[key("consent"), key("given")]);
        let p = FieldPath::parse("identities[0].connection").unwrap();
        assert_eq!(p.steps(), &[Step::Index(0), key("connection")]);
        let p = FieldPath::parse("app_metadata.roles[1]").unwrap();
        assert_eq!(p.steps(), &[key("roles"), Step::Index(1)]);
        let p = FieldPath::parse(r#"user_metadata["a.b"]"#).unwrap();
        assert_eq!(p.steps(), &[key("a.b")]);
        let p = FieldPath::parse(r#"user_metadata["say \"hi\" \\ [x]"]"#).unwrap();
        assert_eq!(p.steps(), &[key(r#"say "hi" \ [x]"#)]);
        assert_eq!(FieldPath::parse("email").unwrap().steps(), &[]);
    }

    #[test]
    fn rejects_bad_paths_with_a_reason() {
        for bad in [
            "",
            "password",
            "password_hash",
            "Email",
            "email.",
            "user_metadata..a",
            "identities[",
            "identities[]",
            "identities[01]",
            "identities[-1]",
            "identities[a]",
            "identities[0]x",
            r#"user_metadata["a"#,
            r#"user_metadata[""]"#,
            r#"user_metadata["a"b]"#,
            "user_metadata.a\"b",
            "user_metadata]",
        ] {
            let err = FieldPath::parse(bad).expect_err(bad);
            assert!(
                err.to_string().contains("invalid field path"),
                "{bad}: {err}"
            );
        }
        let long = format!("user_metadata.{}", "a".repeat(90));
        assert!(FieldPath::parse(&long).is_err());
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0usize..1000).prop_map(Step::Index),
            "[^\\x00]{1,8}".prop_map(Step::Key),
        ]
    }

    proptest! {
        /// Any path built from keys and indexes renders to text that parses back to it.
        #[test]
        fn rendered_paths_parse_back(root in proptest::sample::select(Attribute::ALL.to_vec()),
                                     steps in proptest::collection::vec(arb_step(), 0..4)) {
            let mut text = root.name().to_string();
            for step in &steps {
                match step {
                    Step::Index(i) => text.push_str(&format!("[{i}]")),
                    Step::Key(k) => push_key(&mut text, k),
                }
            }
            prop_assume!(text.chars().count() <= MAX_PATH_CHARS);
            let parsed = FieldPath::parse(&text).unwrap();
            prop_assert_eq!(parsed.root(), root);
            prop_assert_eq!(parsed.steps(), &steps[..]);
            prop_assert_eq!(parsed.as_str(), text);
        }

        /// The parser never panics, whatever it is given.
        #[test]
        fn parser_never_panics(text in "\\PC{0,40}") {
            let _ = FieldPath::parse(&text);
        }
    }
}
