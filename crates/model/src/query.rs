//! The `q` search syntax of `GET /api/v2/users` (`management-api.md` §4.1).
//!
//! ```text
//! query   := clause ( [AND | OR] clause )*     -- juxtaposition means OR; AND binds tighter
//! clause  := [NOT | "-"] ( "(" query ")" | term )
//! term    := field ":" value | "_exists_:" field
//! value   := word | word* | "quoted phrase" | range
//! range   := ("[" | "{") bound " TO " bound ("]" | "}")    -- bound may be *
//! ```
//!
//! [`parse`] checks the whole query against that grammar and against the type of each
//! field, so the store only ever sees well-formed values:
//!
//! * booleans (`email_verified`, `blocked`) are exactly `true` or `false`;
//! * dates (`created_at`, `updated_at`, `last_login`) are either a day `YYYY-MM-DD` or a
//!   canonical timestamp `YYYY-MM-DDTHH:MM:SS.mmmZ` (any ISO 8601 input is converted);
//! * `logins_count` values are whole numbers in their shortest decimal form;
//! * prefix searches exist only on text fields and metadata, with at least 3 characters.
//!
//! Positions in error messages count characters from 1.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::{ModelError, Result};

/// Deepest accepted nesting of parentheses.
pub const MAX_DEPTH: usize = 32;
/// Most terms one query may hold.
pub const MAX_TERMS: usize = 256;
/// Fewest characters accepted before a trailing `*`.
pub const MIN_PREFIX_CHARS: usize = 3;

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
    Term {
        field: SearchField,
        matcher: Matcher,
    },
    Exists(SearchField),
}

/// A searchable attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchField {
    UserId,
    Email,
    EmailVerified,
    Name,
    GivenName,
    FamilyName,
    Nickname,
    Username,
    PhoneNumber,
    Blocked,
    IdentitiesConnection,
    IdentitiesProvider,
    IdentitiesUserId,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LoginsCount,
    /// The keys below `app_metadata`, outermost first (never empty when parsed).
    AppMetadata(Vec<String>),
    /// The keys below `user_metadata`, outermost first (never empty when parsed).
    UserMetadata(Vec<String>),
}

/// How a term compares a field with the user's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Whole-value match (case-insensitive for text).
    Exact(String),
    /// The value starts with this text (case-insensitive); the `*` is not included.
    Prefix(String),
    /// Each bound is the value and whether it is inclusive; `None` is an open (`*`) bound.
    Range {
        lower: Option<(String, bool)>,
        upper: Option<(String, bool)>,
    },
}

/// The type of the values a field holds, which decides what a term may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Date,
    Integer,
    Metadata,
}

impl SearchField {
    /// The field for a dotted name as written in a query (`email`, `user_metadata.plan`).
    pub fn from_name(name: &str) -> Result<SearchField> {
        let keys: Vec<String> = name.split('.').map(str::to_string).collect();
        SearchField::from_keys(keys, name)
    }

    /// `keys` are the dot-separated parts of the name; `shown` is how the user wrote it.
    fn from_keys(mut keys: Vec<String>, shown: &str) -> Result<SearchField> {
        let simple = match keys.as_slice() {
            [one] => match one.as_str() {
                "user_id" => Some(SearchField::UserId),
                "email" => Some(SearchField::Email),
                "email_verified" => Some(SearchField::EmailVerified),
                "name" => Some(SearchField::Name),
                "given_name" => Some(SearchField::GivenName),
                "family_name" => Some(SearchField::FamilyName),
                "nickname" => Some(SearchField::Nickname),
                "username" => Some(SearchField::Username),
                "phone_number" => Some(SearchField::PhoneNumber),
                "blocked" => Some(SearchField::Blocked),
                "created_at" => Some(SearchField::CreatedAt),
                "updated_at" => Some(SearchField::UpdatedAt),
                "last_login" => Some(SearchField::LastLogin),
                "logins_count" => Some(SearchField::LoginsCount),
                "app_metadata" | "user_metadata" => {
                    return Err(query_error(format!(
                        "search field \"{one}\" needs a key, as in {one}.plan"
                    )));
                }
                _ => None,
            },
            [first, second] if first == "identities" => match second.as_str() {
                "connection" => Some(SearchField::IdentitiesConnection),
                "provider" => Some(SearchField::IdentitiesProvider),
                "user_id" => Some(SearchField::IdentitiesUserId),
                _ => None,
            },
            _ => None,
        };
        if let Some(field) = simple {
            return Ok(field);
        }
        let root = keys.first().map(String::as_str).unwrap_or_default();
        if root != "app_metadata" && root != "user_metadata" {
            return Err(query_error(format!("unknown search field \"{shown}\"")));
        }
        let app = root == "app_metadata";
        keys.remove(0);
        if keys.iter().any(String::is_empty) {
            return Err(query_error(format!(
                "empty key in search field \"{shown}\""
            )));
        }
        Ok(if app {
            SearchField::AppMetadata(keys)
        } else {
            SearchField::UserMetadata(keys)
        })
    }

    fn kind(&self) -> Kind {
        match self {
            SearchField::UserId
            | SearchField::Email
            | SearchField::Name
            | SearchField::GivenName
            | SearchField::FamilyName
            | SearchField::Nickname
            | SearchField::Username
            | SearchField::PhoneNumber
            | SearchField::IdentitiesConnection
            | SearchField::IdentitiesProvider
            | SearchField::IdentitiesUserId => Kind::Text,
            SearchField::EmailVerified | SearchField::Blocked => Kind::Bool,
            SearchField::CreatedAt | SearchField::UpdatedAt | SearchField::LastLogin => Kind::Date,
            SearchField::LoginsCount => Kind::Integer,
            SearchField::AppMetadata(_) | SearchField::UserMetadata(_) => Kind::Metadata,
        }
    }
}

impl fmt::Display for SearchField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (root, keys) = match self {
            SearchField::UserId => return f.write_str("user_id"),
            SearchField::Email => return f.write_str("email"),
            SearchField::EmailVerified => return f.write_str("email_verified"),
            SearchField::Name => return f.write_str("name"),
            SearchField::GivenName => return f.write_str("given_name"),
            SearchField::FamilyName => return f.write_str("family_name"),
            SearchField::Nickname => return f.write_str("nickname"),
            SearchField::Username => return f.write_str("username"),
            SearchField::PhoneNumber => return f.write_str("phone_number"),
            SearchField::Blocked => return f.write_str("blocked"),
            SearchField::IdentitiesConnection => return f.write_str("identities.connection"),
            SearchField::IdentitiesProvider => return f.write_str("identities.provider"),
            SearchField::IdentitiesUserId => return f.write_str("identities.user_id"),
            SearchField::CreatedAt => return f.write_str("created_at"),
            SearchField::UpdatedAt => return f.write_str("updated_at"),
            SearchField::LastLogin => return f.write_str("last_login"),
            SearchField::LoginsCount => return f.write_str("logins_count"),
            SearchField::AppMetadata(keys) => ("app_metadata", keys),
            SearchField::UserMetadata(keys) => ("user_metadata", keys),
        };
        f.write_str(root)?;
        for key in keys {
            write!(f, ".{key}")?;
        }
        Ok(())
    }
}

/// Parses a `q` parameter. An empty or blank query is an error: the caller handles an
/// absent `q` itself.
pub fn parse(q: &str) -> Result<Query> {
    let mut parser = Parser {
        chars: q.chars().collect(),
        pos: 0,
        terms: 0,
    };
    parser.skip_ws();
    if parser.at_end() {
        return Err(query_error("the query is empty".to_string()));
    }
    let query = parser.query(0)?;
    parser.skip_ws();
    match parser.peek() {
        None => Ok(query),
        Some(c) => Err(parser.unexpected(c)),
    }
}

/// A sort order for `GET /api/v2/users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

/// The sortable attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LoginsCount,
    Email,
    Name,
    GivenName,
    FamilyName,
    Nickname,
    Username,
    UserId,
}

impl SortField {
    pub const ALL: [SortField; 11] = [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::LastLogin,
        SortField::LoginsCount,
        SortField::Email,
        SortField::Name,
        SortField::GivenName,
        SortField::FamilyName,
        SortField::Nickname,
        SortField::Username,
        SortField::UserId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::LastLogin => "last_login",
            SortField::LoginsCount => "logins_count",
            SortField::Email => "email",
            SortField::Name => "name",
            SortField::GivenName => "given_name",
            SortField::FamilyName => "family_name",
            SortField::Nickname => "nickname",
            SortField::Username => "username",
            SortField::UserId => "user_id",
        }
    }
}

impl Sort {
    /// Parses `field:1` (ascending) or `field:-1` (descending).
    pub fn parse(s: &str) -> Result<Sort> {
        let text = s.trim();
        let (name, direction) = match text.rsplit_once(':') {
            Some((name, direction)) => (name, Some(direction)),
            None => (text, None),
        };
        let Some(field) = SortField::ALL.into_iter().find(|f| f.name() == name) else {
            let names: Vec<&str> = SortField::ALL.iter().map(|f| f.name()).collect();
            return Err(query_error(format!(
                "cannot sort by \"{name}\"; sortable fields are {}",
                names.join(", ")
            )));
        };
        let descending = match direction {
            Some("1") => false,
            Some("-1") => true,
            Some(other) => {
                return Err(query_error(format!(
                    "invalid sort direction \"{other}\" for \"{name}\"; use {name}:1 or {name}:-1"
                )));
            }
            None => {
                return Err(query_error(format!(
                    "sort by \"{name}\" needs a direction: {name}:1 or {name}:-1"
                )));
            }
        };
        Ok(Sort { field, descending })
    }
}

fn query_error(message: String) -> ModelError {
    ModelError::Query(message)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    And,
    Or,
    Not,
}

impl Keyword {
    fn text(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
        }
    }
}

/// A value as written, before it is checked against the field's type.
enum RawValue {
    Word {
        text: String,
        prefix: bool,
    },
    Phrase(String),
    Range {
        lower: Option<(String, bool)>,
        upper: Option<(String, bool)>,
    },
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    terms: usize,
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// The 1-based position of the next character.
    fn position(&self) -> usize {
        self.pos + 1
    }

    fn skip_ws(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// True at the end of a term: end of input, whitespace or a closing parenthesis.
    fn at_term_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => is_space(c) || c == ')',
        }
    }

    fn unexpected(&self, c: char) -> ModelError {
        query_error(format!(
            "unexpected \"{c}\" at position {}",
            self.position()
        ))
    }

    /// The operator starting at the current position, if a whole word.
    fn keyword(&self) -> Option<Keyword> {
        for keyword in [Keyword::And, Keyword::Or, Keyword::Not] {
            let text = keyword.text();
            let len = text.chars().count();
            let matches = text
                .chars()
                .enumerate()
                .all(|(i, c)| self.peek_at(i) == Some(c));
            let bounded = match self.peek_at(len) {
                None => true,
                Some(c) => is_space(c) || c == '(' || c == ')',
            };
            if matches && bounded {
                return Some(keyword);
            }
        }
        None
    }

    fn consume_keyword(&mut self, keyword: Keyword) {
        self.pos += keyword.text().len();
    }

    /// `query := clause ( [AND | OR] clause )*`, stopping before `)` or the end.
    fn query(&mut self, depth: usize) -> Result<Query> {
        let mut alternatives = Vec::new();
        let mut conjunction = vec![self.clause(depth)?];
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')') => break,
                Some(_) => {}
            }
            match self.keyword() {
                Some(Keyword::And) => {
                    self.consume_keyword(Keyword::And);
                    conjunction.push(self.clause_after(depth, "AND")?);
                }
                Some(Keyword::Or) => {
                    self.consume_keyword(Keyword::Or);
                    alternatives.push(combine(std::mem::take(&mut conjunction), true));
                    conjunction.push(self.clause_after(depth, "OR")?);
                }
                Some(Keyword::Not) | None => {
                    alternatives.push(combine(std::mem::take(&mut conjunction), true));
                    conjunction.push(self.clause(depth)?);
                }
            }
        }
        alternatives.push(combine(conjunction, true));
        Ok(combine(alternatives, false))
    }

    /// A clause that must follow an operator.
    fn clause_after(&mut self, depth: usize, operator: &str) -> Result<Query> {
        self.skip_ws();
        if self.at_end() {
            return Err(query_error(format!(
                "expected a search term after {operator} at the end of the query"
            )));
        }
        self.clause(depth)
    }

    /// `clause := [NOT | "-"] ( "(" query ")" | term )`
    fn clause(&mut self, depth: usize) -> Result<Query> {
        self.skip_ws();
        let negated = if self.keyword() == Some(Keyword::Not) {
            self.consume_keyword(Keyword::Not);
            self.skip_ws();
            Some("NOT")
        } else if self.peek() == Some('-') {
            self.pos += 1;
            if self.peek().is_none_or(is_space) {
                return Err(query_error(format!(
                    "\"-\" at position {} must be followed directly by a search term",
                    self.pos
                )));
            }
            Some("-")
        } else {
            None
        };
        let inner = match self.peek() {
            None => {
                return Err(query_error(match negated {
                    Some(op) => {
                        format!("expected a search term after {op} at the end of the query")
                    }
                    None => "unexpected end of query".to_string(),
                }));
            }
            Some('(') => {
                let open = self.position();
                if depth >= MAX_DEPTH {
                    return Err(query_error(format!(
                        "parentheses nest deeper than {MAX_DEPTH} levels at position {open}"
                    )));
                }
                self.pos += 1;
                let inner = self.query(depth + 1)?;
                self.skip_ws();
                if self.peek() == Some(')') {
                    self.pos += 1;
                } else {
                    return Err(query_error(format!(
                        "missing \")\" to close the \"(\" at position {open}"
                    )));
                }
                inner
            }
            Some(')') => return Err(self.unexpected(')')),
            Some(_) => {
                if let Some(keyword) = self.keyword() {
                    return Err(query_error(format!(
                        "unexpected {} at position {}",
                        keyword.text(),
                        self.position()
                    )));
                }
                self.term()?
            }
        };
        Ok(match negated {
            Some(_) => Query::Not(Box::new(inner)),
            None => inner,
        })
    }

    /// `term := field ":" value | "_exists_:" field`
    fn term(&mut self) -> Result<Query> {
        let start = self.position();
        self.reject_operator_symbols()?;
        match self.peek() {
            Some('"') => {
                return Err(query_error(format!(
                    "the quoted phrase at position {start} needs a field, as in name:\"jane doe\""
                )));
            }
            Some('[' | '{') => {
                return Err(query_error(format!(
                    "the range at position {start} needs a field, as in created_at:[2020-01-01 TO *]"
                )));
            }
            _ => {}
        }
        let (keys, shown) = self.field_name()?;
        if self.peek() != Some(':') {
            if let Some(c) = self.peek().filter(|c| !is_space(*c) && *c != ')') {
                return Err(self.unexpected(c));
            }
            let hint = if ["and", "or", "not"].contains(&shown.to_ascii_lowercase().as_str()) {
                "; the operators AND, OR and NOT are written in capitals"
            } else {
                ""
            };
            return Err(query_error(format!(
                "search term \"{shown}\" at position {start} has no field; write field:value, as in email:jane@example.com{hint}"
            )));
        }
        self.pos += 1;
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(query_error(format!(
                "the query has more than {MAX_TERMS} search terms"
            )));
        }
        if shown == "_exists_" {
            let field_start = self.position();
            if self.at_term_end() {
                return Err(query_error(format!(
                    "missing field name after \"_exists_:\" at position {field_start}"
                )));
            }
            let (keys, shown) = self.field_name()?;
            let field = SearchField::from_keys(keys, &shown)?;
            return match self.peek() {
                Some(c) if !self.at_term_end() => Err(self.unexpected(c)),
                _ => Ok(Query::Exists(field)),
            };
        }
        let field = SearchField::from_keys(keys, &shown)?;
        let raw = self.value(&field)?;
        if let Some(c) = self.peek().filter(|_| !self.at_term_end()) {
            return Err(self.unexpected(c));
        }
        let matcher = check_value(&field, raw)?;
        Ok(Query::Term { field, matcher })
    }

    fn reject_operator_symbols(&self) -> Result<()> {
        let position = self.position();
        let message = match (self.peek(), self.peek_at(1)) {
            (Some('&'), Some('&')) => "\"&&\" is not supported; use AND",
            (Some('|'), Some('|')) => "\"||\" is not supported; use OR",
            (Some('!'), _) => "\"!\" is not supported; use NOT",
            (Some('+'), _) => "\"+\" (required clause) is not supported; use AND",
            _ => return Ok(()),
        };
        Err(query_error(format!("{message} (position {position})")))
    }

    /// Reads a field name up to `:`, whitespace, a parenthesis or the end. Returns its
    /// dot-separated keys (escapes resolved) and the name as written.
    fn field_name(&mut self) -> Result<(Vec<String>, String)> {
        let mut keys = vec![String::new()];
        let mut shown = String::new();
        while let Some(c) = self.peek() {
            if c == ':' || c == '(' || c == ')' || is_space(c) {
                break;
            }
            self.pos += 1;
            shown.push(c);
            match c {
                '\\' => match self.peek() {
                    Some(escaped) => {
                        self.pos += 1;
                        shown.push(escaped);
                        if let Some(key) = keys.last_mut() {
                            key.push(escaped);
                        }
                    }
                    None => {
                        return Err(query_error("the query ends with a lone \"\\\"".to_string()));
                    }
                },
                '.' => keys.push(String::new()),
                '*' | '?' => {
                    return Err(query_error(format!(
                        "wildcards in field names are not supported (position {})",
                        self.pos
                    )));
                }
                _ => {
                    if let Some(key) = keys.last_mut() {
                        key.push(c);
                    }
                }
            }
        }
        Ok((keys, shown))
    }

    /// `value := word | word* | "quoted phrase" | range`, right after `field:`.
    fn value(&mut self, field: &SearchField) -> Result<RawValue> {
        let start = self.position();
        match self.peek() {
            None => Err(query_error(format!(
                "missing value after \"{field}:\" at the end of the query"
            ))),
            Some(c) if is_space(c) || c == ')' => Err(query_error(format!(
                "missing value after \"{field}:\" at position {start}"
            ))),
            Some('(') => Err(query_error(format!(
                "grouping after a field (\"{field}:(\" at position {start}) is not supported; write {field}:a OR {field}:b"
            ))),
            Some('/') => Err(query_error(format!(
                "regular expressions (\"/\" at position {start}) are not supported"
            ))),
            Some('>' | '<') => Err(query_error(format!(
                "comparison operators (at position {start}) are not supported; use a range, as in {field}:[a TO *]"
            ))),
            Some('"') => {
                let text = self.phrase()?;
                match self.peek() {
                    Some('*') => Err(query_error(format!(
                        "a quoted phrase cannot end in \"*\" (position {}); remove the quotes for a prefix search",
                        self.position()
                    ))),
                    Some('~') => Err(query_error(format!(
                        "proximity search (\"~\" at position {}) is not supported",
                        self.position()
                    ))),
                    Some('^') => Err(query_error(format!(
                        "boosting (\"^\" at position {}) is not supported",
                        self.position()
                    ))),
                    _ => Ok(RawValue::Phrase(text)),
                }
            }
            Some(open @ ('[' | '{')) => {
                self.pos += 1;
                self.range(open == '[', start)
            }
            Some(_) => self.word(),
        }
    }

    /// A quoted phrase, starting at its opening quote; `\"` and `\\` are escapes.
    fn phrase(&mut self) -> Result<String> {
        let start = self.position();
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(query_error(format!(
                        "the quoted phrase starting at position {start} is not closed"
                    )));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => {
                            text.push(c);
                            self.pos += 1;
                        }
                        None => {
                            return Err(query_error(format!(
                                "the quoted phrase starting at position {start} is not closed"
                            )));
                        }
                    }
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// An unquoted value, up to whitespace, `)` or the end; a final unescaped `*` makes it
    /// a prefix.
    fn word(&mut self) -> Result<RawValue> {
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if is_space(c) || c == ')' {
                break;
            }
            let position = self.position();
            match c {
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(escaped) => {
                            text.push(escaped);
                            self.pos += 1;
                        }
                        None => {
                            return Err(query_error(
                                "the query ends with a lone \"\\\"".to_string(),
                            ));
                        }
                    }
                }
                '*' => {
                    self.pos += 1;
                    if self.at_term_end() {
                        return Ok(RawValue::Word { text, prefix: true });
                    }
                    return Err(query_error(format!(
                        "\"*\" is only supported at the end of a value (position {position})"
                    )));
                }
                '?' => {
                    return Err(query_error(format!(
                        "the wildcard \"?\" (position {position}) is not supported"
                    )));
                }
                '~' => {
                    return Err(query_error(format!(
                        "fuzzy search (\"~\" at position {position}) is not supported"
                    )));
                }
                '^' => {
                    return Err(query_error(format!(
                        "boosting (\"^\" at position {position}) is not supported"
                    )));
                }
                '"' | '(' | '[' | ']' | '{' | '}' => return Err(self.unexpected(c)),
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(RawValue::Word {
            text,
            prefix: false,
        })
    }

    /// The rest of a range after its opening bracket.
    fn range(&mut self, lower_inclusive: bool, start: usize) -> Result<RawValue> {
        self.skip_ws();
        let lower = self.bound(start)?;
        let before_to = self.position();
        let spaced = self.skip_ws() > 0;
        let has_to = self.peek() == Some('T') && self.peek_at(1) == Some('O');
        if !spaced || !has_to || !self.peek_at(2).is_some_and(is_space) {
            return Err(query_error(format!(
                "expected \" TO \" in the range starting at position {start} (position {before_to})"
            )));
        }
        self.pos += 2;
        self.skip_ws();
        let upper = self.bound(start)?;
        self.skip_ws();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(query_error(format!(
                    "missing \"]\" or \"}}\" to close the range starting at position {start}"
                )));
            }
        };
        self.pos += 1;
        Ok(RawValue::Range {
            lower: lower.map(|v| (v, lower_inclusive)),
            upper: upper.map(|v| (v, upper_inclusive)),
        })
    }

    /// One bound of a range: `*` (open), a quoted phrase or a word.
    fn bound(&mut self, range_start: usize) -> Result<Option<String>> {
        if self.peek() == Some('"') {
            return self.phrase().map(Some);
        }
        let mut text = String::new();
        let mut star = false;
        while let Some(c) = self.peek() {
            if is_space(c) || c == ']' || c == '}' {
                break;
            }
            let position = self.position();
            match c {
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(escaped) => {
                            text.push(escaped);
                            self.pos += 1;
                        }
                        None => {
                            return Err(query_error(
                                "the query ends with a lone \"\\\"".to_string(),
                            ));
                        }
                    }
                }
                '*' if text.is_empty() && !star => {
                    star = true;
                    self.pos += 1;
                }
                '*' | '?' => {
                    return Err(query_error(format!(
                        "wildcards inside a range are not supported (position {position})"
                    )));
                }
                '"' | '(' | ')' | '[' | '{' => return Err(self.unexpected(c)),
                _ if star => {
                    return Err(query_error(format!(
                        "wildcards inside a range are not supported (position {})",
                        position - 1
                    )));
                }
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        if star {
            return Ok(None);
        }
        if text.is_empty() {
            return Err(query_error(format!(
                "missing bound in the range starting at position {range_start}"
            )));
        }
        Ok(Some(text))
    }
}

/// Joins clauses; a single clause stands alone and nested groups of the same operator
/// are flattened.
fn combine(parts: Vec<Query>, and: bool) -> Query {
    let mut flat = Vec::with_capacity(parts.len());
    for part in parts {
        match (part, and) {
            (Query::And(inner), true) | (Query::Or(inner), false) => flat.extend(inner),
            (other, _) => flat.push(other),
        }
    }
    if flat.len() == 1
        && let Some(only) = flat.pop()
    {
        return only;
    }
    if and {
        Query::And(flat)
    } else {
        Query::Or(flat)
    }
}

/// Checks a value against the field's type and puts it in canonical form.
fn check_value(field: &SearchField, raw: RawValue) -> Result<Matcher> {
    let kind = field.kind();
    match raw {
        RawValue::Word { text, prefix: true } => {
            if kind != Kind::Text && kind != Kind::Metadata {
                return Err(query_error(format!(
                    "a prefix search (\"*\") is not supported on {field}"
                )));
            }
            if text.chars().count() < MIN_PREFIX_CHARS {
                return Err(query_error(format!(
                    "a prefix search needs at least {MIN_PREFIX_CHARS} characters before \"*\" (in {field}:{text}*)"
                )));
            }
            Ok(Matcher::Prefix(text))
        }
        RawValue::Word {
            text,
            prefix: false,
        }
        | RawValue::Phrase(text) => Ok(Matcher::Exact(check_scalar(field, kind, text)?)),
        RawValue::Range { lower, upper } => {
            if kind == Kind::Bool {
                return Err(query_error(format!("a range is not supported on {field}")));
            }
            let check = |bound: Option<(String, bool)>| -> Result<Option<(String, bool)>> {
                bound
                    .map(|(text, inclusive)| Ok((check_scalar(field, kind, text)?, inclusive)))
                    .transpose()
            };
            Ok(Matcher::Range {
                lower: check(lower)?,
                upper: check(upper)?,
            })
        }
    }
}

fn check_scalar(field: &SearchField, kind: Kind, text: String) -> Result<String> {
    match kind {
        Kind::Text | Kind::Metadata => Ok(text),
        Kind::Bool => match text.as_str() {
            "true" | "false" => Ok(text),
            _ => Err(query_error(format!(
                "{field} accepts only true or false, not \"{text}\""
            ))),
        },
        Kind::Integer => text
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| query_error(format!("{field} needs a whole number, not \"{text}\""))),
        Kind::Date => canonical_date(&text).ok_or_else(|| {
            query_error(format!(
                "invalid date \"{text}\" for {field}; use YYYY-MM-DD or ISO 8601, as in 2020-01-31T12:00:00Z"
            ))
        }),
    }
}

/// `YYYY-MM-DD` stays a day; any other accepted ISO 8601 time becomes a canonical
/// profile timestamp.
fn canonical_date(text: &str) -> Option<String> {
    if is_day(text) {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|_| text.to_string());
    }
    let time = crate::time::parse(text)?;
    if !(1..=9999).contains(&time.year()) {
        return None;
    }
    let canonical = crate::time::format_millis(time.timestamp_millis());
    crate::time::is_canonical(&canonical).then_some(canonical)
}

/// True when `text` has the shape `YYYY-MM-DD` (the date itself is not checked).
pub fn is_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn term(field: SearchField, matcher: Matcher) -> Query {
        Query::Term { field, matcher }
    }

    fn exact(field: SearchField, value: &str) -> Query {
        term(field, Matcher::Exact(value.to_string()))
    }

    fn message(q: &str) -> String {
        match parse(q) {
            Err(ModelError::Query(message)) => message,
            other => panic!("{q:?} should fail, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_required_examples() {
        assert_eq!(
            parse(r#"identities.connection:"Username-Password-Authentication""#),
            Ok(exact(
                SearchField::IdentitiesConnection,
                "Username-Password-Authentication"
            ))
        );
        assert_eq!(
            parse(r#"email:"jane@example.com""#),
            Ok(exact(SearchField::Email, "jane@example.com"))
        );
        assert_eq!(
            parse("name:jane*"),
            Ok(term(SearchField::Name, Matcher::Prefix("jane".into())))
        );
        assert_eq!(
            parse("email:jane@example.com AND NOT blocked:true"),
            Ok(Query::And(vec![
                exact(SearchField::Email, "jane@example.com"),
                Query::Not(Box::new(exact(SearchField::Blocked, "true"))),
            ]))
        );
        assert_eq!(
            parse("(given_name:ana OR given_name:ana*) AND email_verified:true"),
            Ok(Query::And(vec![
                Query::Or(vec![
                    exact(SearchField::GivenName, "ana"),
                    term(SearchField::GivenName, Matcher::Prefix("ana".into())),
                ]),
                exact(SearchField::EmailVerified, "true"),
            ]))
        );
        assert_eq!(
            parse("created_at:[2020-01-01 TO *]"),
            Ok(term(
                SearchField::CreatedAt,
                Matcher::Range {
                    lower: Some(("2020-01-01".into(), true)),
                    upper: None
                }
            ))
        );
        assert_eq!(
            parse("user_metadata.plan:premium"),
            Ok(exact(
                SearchField::UserMetadata(vec!["plan".into()]),
                "premium"
            ))
        );
        assert_eq!(
            parse("_exists_:username"),
            Ok(Query::Exists(SearchField::Username))
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_juxtaposition_is_or() {
        let a = || exact(SearchField::Name, "a");
        let b = || exact(SearchField::Name, "b");
        let c = || exact(SearchField::Name, "c");
        let expected = Query::Or(vec![a(), Query::And(vec![b(), c()])]);
        assert_eq!(parse("name:a OR name:b AND name:c"), Ok(expected.clone()));
        assert_eq!(parse("name:a name:b AND name:c"), Ok(expected));
        assert_eq!(
            parse("name:a AND name:b name:c"),
            Ok(Query::Or(vec![Query::And(vec![a(), b()]), c()]))
        );
        assert_eq!(
            parse("name:a -name:b"),
            Ok(Query::Or(vec![a(), Query::Not(Box::new(b()))]))
        );
        assert_eq!(
            parse("  ( ( name:a ) )  "),
            Ok(a()),
            "redundant parentheses disappear"
        );
        assert_eq!(
            parse("name:a AND (name:b AND name:c)"),
            Ok(Query::And(vec![a(), b(), c()]))
        );
        assert_eq!(parse("NOT(name:a)"), Ok(Query::Not(Box::new(a()))));
    }

    #[test]
    fn values_and_fields() {
        assert_eq!(
            parse(r#"name:"Jane \"JD\" Doe""#),
            Ok(exact(SearchField::Name, "Jane \"JD\" Doe"))
        );
        assert_eq!(
            parse(r"name:jane\*"),
            Ok(exact(SearchField::Name, "jane*")),
            "an escaped star is literal"
        );
        assert_eq!(
            parse(r#"name:"jane*""#),
            Ok(exact(SearchField::Name, "jane*"))
        );
        assert_eq!(
            parse("phone_number:+15551234567"),
            Ok(exact(SearchField::PhoneNumber, "+15551234567"))
        );
        assert_eq!(
            parse("app_metadata.billing.plan:gold"),
            Ok(exact(
                SearchField::AppMetadata(vec!["billing".into(), "plan".into()]),
                "gold"
            ))
        );
        assert_eq!(
            parse(r#"app_metadata.we\"ird\ key:yes"#),
            Ok(exact(
                SearchField::AppMetadata(vec!["we\"ird key".into()]),
                "yes"
            ))
        );
        assert_eq!(
            parse("_exists_:user_metadata.consent.given"),
            Ok(Query::Exists(SearchField::UserMetadata(vec![
                "consent".into(),
                "given".into()
            ])))
        );
        assert_eq!(
            parse("logins_count:{007 TO 100]"),
            Ok(term(
                SearchField::LoginsCount,
                Matcher::Range {
                    lower: Some(("7".into(), false)),
                    upper: Some(("100".into(), true))
                }
            ))
        );
        assert_eq!(
            parse(r#"last_login:["2020-01-01T10:00:00+02:00" TO 2020-02-01T00:00:00.5Z}"#),
            Ok(term(
                SearchField::LastLogin,
                Matcher::Range {
                    lower: Some(("2020-01-01T08:00:00.000Z".into(), true)),
                    upper: Some(("2020-02-01T00:00:00.500Z".into(), false))
                }
            ))
        );
        assert_eq!(
            parse("updated_at:2021-03-04T05:06:07Z"),
            Ok(exact(SearchField::UpdatedAt, "2021-03-04T05:06:07.000Z")),
            "colons are allowed inside a value"
        );
        assert_eq!(
            parse("user_id:[* TO *]"),
            Ok(term(
                SearchField::UserId,
                Matcher::Range {
                    lower: None,
                    upper: None
                }
            ))
        );
        assert_eq!(parse("email:\"\""), Ok(exact(SearchField::Email, "")));
    }

    #[test]
    fn errors_name_the_construct() {
        assert_eq!(message("foo:bar"), "unknown search field \"foo\"");
        assert_eq!(
            message("identities.foo:bar"),
            "unknown search field \"identities.foo\""
        );
        assert_eq!(message("Email:x"), "unknown search field \"Email\"");
        assert_eq!(message("email:x)"), "unexpected \")\" at position 8");
        assert_eq!(
            message("(email:x"),
            "missing \")\" to close the \"(\" at position 1"
        );
        assert_eq!(
            message("email:)"),
            "missing value after \"email:\" at position 7"
        );
        assert!(message("name:ja*").contains("at least 3 characters before \"*\""));
        assert!(message("name:*").contains("at least 3 characters"));
        assert!(message("").contains("empty"));
        assert!(message("   \t ").contains("empty"));
        assert!(message("jane").contains("has no field"));
        assert!(message("name:a and name:b").contains("capitals"));
        assert!(message("user_metadata:x").contains("needs a key"));
        assert!(message("user_metadata..x:y").contains("empty key"));
        assert!(message("email_verified:yes").contains("only true or false"));
        assert!(message("blocked:TRUE").contains("only true or false"));
        assert!(message("blocked:tr*").contains("prefix search"));
        assert!(message("blocked:[false TO true]").contains("range is not supported"));
        assert!(message("logins_count:abc").contains("whole number"));
        assert!(message("created_at:2020-13-01").contains("invalid date"));
        assert!(message("created_at:yesterday").contains("invalid date"));
        assert!(message("created_at:2020*").contains("prefix search"));
        assert!(message("name:ja?e").contains("\"?\""));
        assert!(message("name:jane~").contains("fuzzy"));
        assert!(message("name:jane^2").contains("boosting"));
        assert!(message("name:\"jane doe\"~2").contains("proximity"));
        assert!(message("name:/ja.e/").contains("regular expressions"));
        assert!(message("name:(a OR b)").contains("grouping"));
        assert!(message("name:j*ne").contains("only supported at the end"));
        assert!(message("name:a && name:b").contains("\"&&\""));
        assert!(message("name:a || name:b").contains("\"||\""));
        assert!(message("!name:a").contains("\"!\""));
        assert!(message("+name:a").contains("\"+\""));
        assert!(message("name:a AND").contains("after AND"));
        assert!(message("name:a OR").contains("after OR"));
        assert!(message("NOT").contains("after NOT"));
        assert!(message("name:a -").contains("\"-\""));
        assert!(message("NOT NOT name:a").contains("unexpected NOT"));
        assert!(message("AND name:a").contains("unexpected AND"));
        assert!(message("- name:a").contains("\"-\""));
        assert!(message("()").contains("unexpected \")\""));
        assert!(message("name:\"jane").contains("not closed"));
        assert!(message("created_at:[2020-01-01 *]").contains("TO"));
        assert!(message("created_at:[2020-01-01 TO *").contains("close the range"));
        assert!(message("created_at:[2020-01-01 to *]").contains("TO"));
        assert!(message("name:[ab* TO c]").contains("wildcards"));
        assert!(message("created_at:>2020-01-01").contains("comparison"));
        assert!(message("name:\"a\"b").contains("unexpected \"b\""));
        assert!(message("name:a\\").contains("lone"));
        assert!(message("\"jane\"").contains("needs a field"));
        assert!(message("_exists_:").contains("missing field name"));
        assert!(message("_exists_:nope").contains("unknown search field \"nope\""));
        assert!(message("na*me:x").contains("wildcards in field names"));
        let deep = format!("{}name:a{}", "(".repeat(40), ")".repeat(40));
        assert!(message(&deep).contains("nest deeper"));
        let many = vec!["name:a"; MAX_TERMS + 1].join(" OR ");
        assert!(message(&many).contains("more than"));
        let ok = vec!["name:a"; MAX_TERMS].join(" OR ");
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn error_display_is_prefixed() {
        let err = parse("foo:bar").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("invalid query: unknown search field \"foo\"".to_string())
        );
    }

    #[test]
    fn sort_parses_field_and_direction() {
        assert_eq!(
            Sort::parse("created_at:1"),
            Ok(Sort {
                field: SortField::CreatedAt,
                descending: false
            })
        );
        assert_eq!(
            Sort::parse("logins_count:-1"),
            Ok(Sort {
                field: SortField::LoginsCount,
                descending: true
            })
        );
        for field in SortField::ALL {
            assert_eq!(
                Sort::parse(&format!("{}:-1", field.name())).map(|s| s.field),
                Ok(field)
            );
        }
        let error = |s: &str| match Sort::parse(s) {
            Err(ModelError::Query(m)) => m,
            other => panic!("{s:?}: {other:?}"),
        };
        assert!(error("blocked:1").contains("cannot sort by \"blocked\""));
        assert!(error("user_metadata.plan:1").contains("\"user_metadata.plan\""));
        assert!(error("email:2").contains("invalid sort direction \"2\" for \"email\""));
        assert!(error("email").contains("needs a direction"));
        assert!(error("").contains("cannot sort by"));
    }

    #[test]
    fn search_field_names_round_trip() {
        for name in [
            "user_id",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
            "nickname",
            "username",
            "phone_number",
            "blocked",
            "identities.connection",
            "identities.provider",
            "identities.user_id",
            "created_at",
            "updated_at",
            "last_login",
            "logins_count",
            "app_metadata.a.b",
            "user_metadata.plan",
        ] {
            let field = SearchField::from_name(name);
            assert_eq!(field.map(|f| f.to_string()), Ok(name.to_string()));
        }
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9@.+-]{1,12}",
            "[a-z0-9]{3,8}\\*",
            "\"[a-zA-Z0-9 %_*()\\[\\]:]{0,12}\"",
            Just("[2020-01-01 TO *]".to_string()),
        ]
    }

    fn term_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            (
                prop_oneof![
                    Just("email"),
                    Just("name"),
                    Just("identities.connection"),
                    Just("user_metadata.plan"),
                    Just("app_metadata.a.b"),
                ],
                value_strategy()
            )
                .prop_map(|(f, v)| format!("{f}:{v}")),
            Just("blocked:true".to_string()),
            Just("logins_count:[1 TO 5}".to_string()),
            Just("_exists_:username".to_string()),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(q in ".{0,64}") {
            let _ = parse(&q);
            let _ = Sort::parse(&q);
        }

        #[test]
        fn never_panics_on_query_like_text(
            q in "[a-z_.:()\"*\\\\\\[\\]{} \\-!&|~^?<>/TONRAD0-9]{0,48}"
        ) {
            let _ = parse(&q);
        }

        #[test]
        fn well_formed_queries_parse(
            terms in prop::collection::vec(term_strategy(), 1..6),
            ops in prop::collection::vec(
                prop_oneof![Just(" AND "), Just(" OR "), Just(" "), Just(" AND NOT "), Just(" -")],
                5
            ),
            grouped in any::<bool>(),
        ) {
            let mut q = String::new();
            for (i, t) in terms.iter().enumerate() {
                if i > 0 {
                    q.push_str(ops[i - 1]);
                }
                q.push_str(t);
            }
            if grouped {
                q = format!("NOT ({q})");
            }
            prop_assert!(parse(&q).is_ok(), "{q:?}: {:?}", parse(&q));
        }
    }
}
