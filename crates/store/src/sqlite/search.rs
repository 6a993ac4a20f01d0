//! Translation of a users search query into SQL for SQLite.
//!
//! The SQL runs over `users u JOIN connections c ON c.id = u.connection_id`. Every value of
//! the query (and every JSON path built from metadata keys) is bound as a positional `?`
//! parameter; the SQL text only ever contains fixed column names and operators.
//!
//! A term on a missing value is false, and `NOT` of it is true (as in Lucene: `NOT email:x`
//! finds users without an email): each `NOT` turns an SQL `NULL` into false first.

use rusqlite::types::Value;
use userbridge_model::query::{Matcher, Query, SearchField, Sort, SortField, is_day};

/// SQL boolean expression for `query`, over table alias `u` (users) and `c` (connections,
/// joined as `c.id = u.connection_id`); values are pushed to `params` as positional `?`
/// parameters — never spliced into SQL text.
pub(crate) fn where_sql(query: &Query, params: &mut Vec<Value>) -> String {
    match query {
        Query::And(parts) => join(parts, " AND ", "(1)", params),
        Query::Or(parts) => join(parts, " OR ", "(0)", params),
        Query::Not(inner) => format!("(NOT COALESCE({}, 0))", where_sql(inner, params)),
        Query::Term { field, matcher } => term_sql(field, matcher, params),
        Query::Exists(field) => exists_sql(field, params),
    }
}

/// ORDER BY clause body (without the words ORDER BY); default `u.created_at ASC, u.user_id
/// ASC`; any sort ends with `u.user_id` as tie-breaker (same direction as the sort).
///
/// Users without a value for the sort field come last in both directions (as with
/// Elasticsearch's default `missing: _last`).
pub(crate) fn order_sql(sort: Option<&Sort>) -> String {
    let Some(sort) = sort else {
        return "u.created_at ASC, u.user_id ASC".to_string();
    };
    let direction = if sort.descending { "DESC" } else { "ASC" };
    let (column, nullable) = match sort.field {
        SortField::CreatedAt => ("u.created_at", false),
        SortField::UpdatedAt => ("u.updated_at", false),
        SortField::LastLogin => ("u.last_login", true),
        SortField::LoginsCount => ("u.logins_count", true),
        SortField::Email => ("u.email", true),
        SortField::Name => ("u.name", true),
        SortField::GivenName => ("u.given_name", true),
        SortField::FamilyName => ("u.family_name", true),
        SortField::Nickname => ("u.nickname", true),
        SortField::Username => ("u.username", true),
        SortField::UserId => return format!("u.user_id {direction}"),
    };
    let nulls = if nullable { " NULLS LAST" } else { "" };
    format!("{column} {direction}{nulls}, u.user_id {direction}")
}

fn join(parts: &[Query], operator: &str, empty: &str, params: &mut Vec<Value>) -> String {
    if parts.is_empty() {
        return empty.to_string();
    }
    let sql: Vec<String> = parts.iter().map(|part| where_sql(part, params)).collect();
    format!("({})", sql.join(operator))
}

/// Where a text field's values come from.
enum Source {
    /// An SQL expression over `u` / `c`.
    Column(&'static str),
    /// A key of each object in `u.linked_identities`.
    Linked(&'static str),
}

/// How a field is stored.
enum Target {
    Text(Vec<Source>),
    Bool(&'static str),
    Date(&'static str),
    Integer(&'static str),
    Metadata { column: &'static str, path: String },
}

/// The user id without its provider prefix (`auth0|abc` → `abc`).
const OWN_IDENTITY_USER_ID: &str = "substr(u.user_id, instr(u.user_id, '|') + 1)";

fn target(field: &SearchField) -> Target {
    let text = |column| Target::Text(vec![Source::Column(column)]);
    match field {
        SearchField::UserId => text("u.user_id"),
        SearchField::Email => text("u.email"),
        SearchField::Name => text("u.name"),
        SearchField::GivenName => text("u.given_name"),
        SearchField::FamilyName => text("u.family_name"),
        SearchField::Nickname => text("u.nickname"),
        SearchField::Username => text("u.username"),
        SearchField::PhoneNumber => text("u.phone_number"),
        SearchField::IdentitiesConnection => {
            Target::Text(vec![Source::Column("c.name"), Source::Linked("connection")])
        }
        SearchField::IdentitiesProvider => {
            Target::Text(vec![Source::Column("'auth0'"), Source::Linked("provider")])
        }
        SearchField::IdentitiesUserId => Target::Text(vec![
            Source::Column(OWN_IDENTITY_USER_ID),
            Source::Linked("user_id"),
        ]),
        SearchField::EmailVerified => Target::Bool("u.email_verified"),
        SearchField::Blocked => Target::Bool("u.blocked"),
        SearchField::CreatedAt => Target::Date("u.created_at"),
        SearchField::UpdatedAt => Target::Date("u.updated_at"),
        SearchField::LastLogin => Target::Date("u.last_login"),
        SearchField::LoginsCount => Target::Integer("u.logins_count"),
        SearchField::AppMetadata(keys) => Target::Metadata {
            column: "u.app_metadata",
            path: json_path(keys),
        },
        SearchField::UserMetadata(keys) => Target::Metadata {
            column: "u.user_metadata",
            path: json_path(keys),
        },
    }
}

/// `$."key"."key2"`, each key a JSON string literal (SQLite resolves its escapes).
fn json_path(keys: &[String]) -> String {
    let mut path = String::from("$");
    for key in keys {
        path.push_str(".\"");
        for c in key.chars() {
            match c {
                '"' => path.push_str("\\\""),
                '\\' => path.push_str("\\\\"),
                c if u32::from(c) < 0x20 => path.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => path.push(c),
            }
        }
        path.push('"');
    }
    path
}

/// The expression of one key of a linked identity `j` (a row of `json_each`).
fn linked_value(key: &str) -> String {
    format!("json_extract(j.value, '$.{key}')")
}

fn linked_exists(condition: &str) -> String {
    format!("(EXISTS (SELECT 1 FROM json_each(u.linked_identities) j WHERE {condition}))")
}

fn term_sql(field: &SearchField, matcher: &Matcher, params: &mut Vec<Value>) -> String {
    match target(field) {
        Target::Text(sources) => {
            let parts: Vec<String> = sources
                .iter()
                .map(|source| match source {
                    Source::Column(column) => text_sql(column, matcher, params),
                    Source::Linked(key) => {
                        linked_exists(&text_sql(&linked_value(key), matcher, params))
                    }
                })
                .collect();
            any(parts)
        }
        Target::Bool(column) => bool_sql(column, matcher, params),
        Target::Date(column) => date_sql(column, matcher, params),
        Target::Integer(column) => integer_sql(column, matcher, params),
        Target::Metadata { column, path } => {
            params.push(Value::Text(path));
            // A path naming an array tests each element; naming a scalar gives a single row
            // whose key is NULL; naming an object gives rows keyed by text, which are skipped.
            let condition = metadata_value_sql("m.value", "m.type", matcher, params);
            format!(
                "(EXISTS (SELECT 1 FROM json_each({column}, ?) m \
                 WHERE (m.key IS NULL OR typeof(m.key) = 'integer') AND {condition}))"
            )
        }
    }
}

fn exists_sql(field: &SearchField, params: &mut Vec<Value>) -> String {
    match target(field) {
        Target::Text(sources) => any(sources
            .iter()
            .map(|source| match source {
                Source::Column(column) => format!("({column} IS NOT NULL)"),
                Source::Linked(key) => linked_exists(&format!("{} IS NOT NULL", linked_value(key))),
            })
            .collect()),
        Target::Bool(column) | Target::Date(column) | Target::Integer(column) => {
            format!("({column} IS NOT NULL)")
        }
        Target::Metadata { column, path } => {
            params.push(Value::Text(path));
            format!("(COALESCE(json_type({column}, ?), 'null') <> 'null')")
        }
    }
}

/// `(a OR b …)`, or `a` alone.
fn any(mut parts: Vec<String>) -> String {
    match parts.len() {
        0 => "(0)".to_string(),
        1 => parts.pop().unwrap_or_else(|| "(0)".to_string()),
        _ => format!("({})", parts.join(" OR ")),
    }
}

/// `(a AND b …)`, or `(1)` when there is no condition.
fn all(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "(1)".to_string()
    } else {
        format!("({})", parts.join(" AND "))
    }
}

/// `%`, `_` and `\` escaped for `LIKE … ESCAPE '\'`, then `%` appended.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn lower_op(inclusive: bool) -> &'static str {
    if inclusive { ">=" } else { ">" }
}

fn upper_op(inclusive: bool) -> &'static str {
    if inclusive { "<=" } else { "<" }
}

/// Whole-value, case-insensitive text comparison.
fn text_sql(expr: &str, matcher: &Matcher, params: &mut Vec<Value>) -> String {
    match matcher {
        Matcher::Exact(value) => {
            params.push(Value::Text(value.clone()));
            format!("(lower({expr}) = lower(?))")
        }
        Matcher::Prefix(prefix) => {
            params.push(Value::Text(like_prefix(prefix)));
            format!("(lower({expr}) LIKE lower(?) ESCAPE '\\')")
        }
        Matcher::Range { lower, upper } => {
            let mut parts = vec![format!("{expr} IS NOT NULL")];
            if let Some((value, inclusive)) = lower {
                params.push(Value::Text(value.clone()));
                parts.push(format!("lower({expr}) {} lower(?)", lower_op(*inclusive)));
            }
            if let Some((value, inclusive)) = upper {
                params.push(Value::Text(value.clone()));
                parts.push(format!("lower({expr}) {} lower(?)", upper_op(*inclusive)));
            }
            all(parts)
        }
    }
}

fn bool_value(text: &str) -> Option<i64> {
    match text {
        "true" => Some(1),
        "false" => Some(0),
        _ => None,
    }
}

/// Booleans are 0/1 columns. A user whose column is NULL (`blocked` never set) matches
/// neither `true` nor `false`.
fn bool_sql(column: &str, matcher: &Matcher, params: &mut Vec<Value>) -> String {
    match matcher {
        Matcher::Exact(value) => match bool_value(value) {
            Some(flag) => {
                params.push(Value::Integer(flag));
                format!("({column} = ?)")
            }
            None => "(0)".to_string(),
        },
        Matcher::Prefix(_) => "(0)".to_string(),
        Matcher::Range { lower, upper } => {
            let mut parts = vec![format!("{column} IS NOT NULL")];
            for (bound, op) in [(lower, lower_op as fn(bool) -> _), (upper, upper_op)] {
                if let Some((value, inclusive)) = bound {
                    let Some(flag) = bool_value(value) else {
                        return "(0)".to_string();
                    };
                    params.push(Value::Integer(flag));
                    parts.push(format!("{column} {} ?", op(*inclusive)));
                }
            }
            all(parts)
        }
    }
}

fn day_start(day: &str) -> String {
    format!("{day}T00:00:00.000Z")
}

fn day_end(day: &str) -> String {
    format!("{day}T23:59:59.999Z")
}

/// Dates compare as canonical text. A day `YYYY-MM-DD` stands for all of it: equal means
/// within the day, `> day` means after its end, `< day` before its start.
fn date_sql(column: &str, matcher: &Matcher, params: &mut Vec<Value>) -> String {
    match matcher {
        Matcher::Exact(value) if is_day(value) => {
            params.push(Value::Text(day_start(value)));
            params.push(Value::Text(day_end(value)));
            format!("({column} BETWEEN ? AND ?)")
        }
        Matcher::Exact(value) => {
            params.push(Value::Text(value.clone()));
            format!("({column} = ?)")
        }
        Matcher::Prefix(prefix) => {
            params.push(Value::Text(like_prefix(prefix)));
            format!("({column} LIKE ? ESCAPE '\\')")
        }
        Matcher::Range { lower, upper } => {
            let mut parts = vec![format!("{column} IS NOT NULL")];
            if let Some((value, inclusive)) = lower {
                let bound = match (is_day(value), inclusive) {
                    (true, true) => day_start(value),
                    (true, false) => day_end(value),
                    (false, _) => value.clone(),
                };
                params.push(Value::Text(bound));
                parts.push(format!("{column} {} ?", lower_op(*inclusive)));
            }
            if let Some((value, inclusive)) = upper {
                let bound = match (is_day(value), inclusive) {
                    (true, true) => day_end(value),
                    (true, false) => day_start(value),
                    (false, _) => value.clone(),
                };
                params.push(Value::Text(bound));
                parts.push(format!("{column} {} ?", upper_op(*inclusive)));
            }
            all(parts)
        }
    }
}

/// A number written by the user: an integer, a finite decimal, or `None`.
fn number(text: &str) -> Option<Value> {
    let plausible = text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    if !plausible {
        return None;
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::Integer(n));
    }
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Value::Real)
}

fn integer_sql(column: &str, matcher: &Matcher, params: &mut Vec<Value>) -> String {
    match matcher {
        Matcher::Exact(value) => match number(value) {
            Some(n) => {
                params.push(n);
                format!("({column} = ?)")
            }
            None => "(0)".to_string(),
        },
        Matcher::Prefix(_) => "(0)".to_string(),
        Matcher::Range { lower, upper } => {
            let mut parts = vec![format!("{column} IS NOT NULL")];
            for (bound, op) in [(lower, lower_op as fn(bool) -> _), (upper, upper_op)] {
                if let Some((value, inclusive)) = bound {
                    let Some(n) = number(value) else {
                        return "(0)".to_string();
                    };
                    params.push(n);
                    parts.push(format!("{column} {} ?", op(*inclusive)));
                }
            }
            all(parts)
        }
    }
}

/// One metadata value `value` of JSON type `kind` (as `json_each` reports them): strings
/// compare case-insensitively, `true`/`false` also match JSON booleans, a number also
/// matches JSON numbers by value.
fn metadata_value_sql(
    value: &str,
    kind: &str,
    matcher: &Matcher,
    params: &mut Vec<Value>,
) -> String {
    let numeric = format!("{kind} IN ('integer', 'real')");
    match matcher {
        Matcher::Exact(text) => {
            params.push(Value::Text(text.clone()));
            let mut parts = vec![format!("({kind} = 'text' AND lower({value}) = lower(?))")];
            if text.eq_ignore_ascii_case("true") {
                parts.push(format!("({kind} = 'true')"));
            } else if text.eq_ignore_ascii_case("false") {
                parts.push(format!("({kind} = 'false')"));
            } else if let Some(n) = number(text) {
                params.push(n);
                parts.push(format!("({numeric} AND {value} = ?)"));
            }
            any(parts)
        }
        Matcher::Prefix(prefix) => {
            params.push(Value::Text(like_prefix(prefix)));
            format!("({kind} = 'text' AND lower({value}) LIKE lower(?) ESCAPE '\\')")
        }
        Matcher::Range { lower, upper } => {
            let bounds = [lower, upper];
            let present = bounds.iter().filter_map(|b| b.as_ref());
            let all_numeric = present.clone().all(|(text, _)| number(text).is_some());
            if present.count() == 0 {
                return format!("({kind} <> 'null')");
            }
            let mut parts = Vec::new();
            if all_numeric {
                parts.push(numeric);
            } else {
                parts.push(format!("{kind} = 'text'"));
            }
            for (bound, op) in [(lower, lower_op as fn(bool) -> _), (upper, upper_op)] {
                if let Some((text, inclusive)) = bound {
                    match number(text).filter(|_| all_numeric) {
                        Some(n) => {
                            params.push(n);
                            parts.push(format!("{value} {} ?", op(*inclusive)));
                        }
                        None => {
                            params.push(Value::Text(text.clone()));
                            parts.push(format!("lower({value}) {} lower(?)", op(*inclusive)));
                        }
                    }
                }
            }
            all(parts)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;
    use rusqlite::{Connection, params_from_iter};
    use userbridge_model::query::parse;

    const DB: &str = "con_aaaaaaaaaaaaaaaa";
    const OTHER: &str = "con_bbbbbbbbbbbbbbbb";

    struct U {
        id: &'static str,
        connection: &'static str,
        email: Option<&'static str>,
        verified: bool,
        given: Option<&'static str>,
        name: Option<&'static str>,
        created: &'static str,
        username: Option<&'static str>,
        blocked: Option<bool>,
        logins: Option<i64>,
        last_login: Option<&'static str>,
        user_metadata: Option<&'static str>,
        app_metadata: Option<&'static str>,
        linked: Option<&'static str>,
    }

    const BASE: U = U {
        id: "",
        connection: DB,
        email: None,
        verified: false,
        given: None,
        name: None,
        created: "2022-01-01T00:00:00.000Z",
        username: None,
        blocked: None,
        logins: None,
        last_login: None,
        user_metadata: None,
        app_metadata: None,
        linked: None,
    };

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("migrations/0001_initial.sql"))
            .unwrap();
        conn.execute(
            "INSERT INTO connections (id, name, created_at) VALUES (?1, 'Username-Password-Authentication', '2019-01-01T00:00:00.000Z'), (?2, 'Other-DB', '2019-01-01T00:00:00.000Z')",
            [DB, OTHER],
        )
        .unwrap();
        let users = [
            U {
                id: "auth0|u1",
                email: Some("jane@example.com"),
                verified: true,
                given: Some("Jane"),
                name: Some("Jane Doe"),
                created: "2020-01-01T00:00:00.000Z",
                blocked: Some(false),
                logins: Some(5),
                last_login: Some("2024-05-01T10:00:00.000Z"),
                user_metadata: Some(r#"{"plan":"premium","tags":["vip","beta"]}"#),
                app_metadata: Some(r#"{"roles":["admin"],"score":10,"nested":{"plan":"gold"}}"#),
                ..BASE
            },
            U {
                id: "auth0|u2",
                email: Some("ana@example.com"),
                verified: true,
                given: Some("Ana"),
                name: Some("Ana"),
                created: "2019-12-31T23:59:59.999Z",
                blocked: Some(true),
                logins: Some(0),
                user_metadata: Some(r#"{"plan":"Free"}"#),
                ..BASE
            },
            U {
                id: "auth0|u3",
                email: Some("anabel@example.org"),
                given: Some("Anabel"),
                name: Some("Anabel"),
                created: "2020-06-15T12:00:00.000Z",
                user_metadata: Some(r#"{"plan":"premium","beta":true,"age":42,"zip":"01234"}"#),
                ..BASE
            },
            U {
                id: "auth0|u4",
                email: Some("deal@example.com"),
                name: Some("50%_off deal"),
                created: "2021-01-01T00:00:00.000Z",
                app_metadata: Some(r#"{"score":10.0,"beta":"true"}"#),
                ..BASE
            },
            U {
                id: "auth0|u5",
                email: Some("fifty@example.com"),
                name: Some("50abcd"),
                created: "2021-01-01T00:00:00.000Z",
                ..BASE
            },
            U {
                id: "auth0|u6",
                email: Some("percent@example.com"),
                name: Some("50%x"),
                created: "2021-02-01T00:00:00.000Z",
                linked: Some(
                    r#"[{"connection":"google-oauth2","isSocial":true,"provider":"google-oauth2","user_id":"1234567890"}]"#,
                ),
                ..BASE
            },
            U {
                id: "auth0|u7",
                email: Some("slash@example.com"),
                name: Some("back\\slash"),
                created: "2021-03-01T00:00:00.000Z",
                linked: Some(
                    r#"[{"connection":"github","isSocial":true,"provider":"github","user_id":42}]"#,
                ),
                ..BASE
            },
            U {
                id: "auth0|u8",
                connection: OTHER,
                email: Some("jsmith@example.net"),
                name: Some("J. Smith"),
                username: Some("JSmith"),
                created: "2021-04-01T00:00:00.000Z",
                logins: Some(12),
                last_login: Some("2023-01-01T00:00:00.000Z"),
                app_metadata: Some(r#"{"we\"ird":"yes","back\\slash":{"k":1}}"#),
                ..BASE
            },
        ];
        for u in users {
            conn.execute(
                "INSERT INTO users (user_id, connection_id, email, email_verified, given_name, name, \
                 created_at, updated_at, username, blocked, logins_count, last_login, \
                 user_metadata, app_metadata, linked_identities) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                rusqlite::params![
                    u.id,
                    u.connection,
                    u.email,
                    u.verified,
                    u.given,
                    u.name,
                    u.created,
                    u.username,
                    u.blocked,
                    u.logins,
                    u.last_login,
                    u.user_metadata,
                    u.app_metadata,
                    u.linked,
                ],
            )
            .unwrap();
        }
        conn
    }

    fn run(conn: &Connection, query: &Query, sort: Option<&Sort>) -> rusqlite::Result<Vec<String>> {
        let mut params = Vec::new();
        let condition = where_sql(query, &mut params);
        assert_eq!(
            condition.matches('?').count(),
            params.len(),
            "one parameter per placeholder in {condition}"
        );
        let sql = format!(
            "SELECT u.user_id FROM users u JOIN connections c ON c.id = u.connection_id \
             WHERE {condition} ORDER BY {}",
            order_sql(sort)
        );
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(params), |row| row.get::<_, String>(0))?;
        rows.collect()
    }

    /// The short ids (`u1`, …) of the users `q` finds, in the default order.
    fn find(conn: &Connection, q: &str) -> Vec<String> {
        let query = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        run(conn, &query, None)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
            .into_iter()
            .map(|id| id.trim_start_matches("auth0|").to_string())
            .collect()
    }

    fn ids(list: &str) -> Vec<String> {
        list.split_whitespace().map(str::to_string).collect()
    }

    #[track_caller]
    fn check(conn: &Connection, q: &str, expected: &str) {
        assert_eq!(find(conn, q), ids(expected), "q = {q}");
    }

    #[test]
    fn connection_count_query_and_linked_identities() {
        let conn = db();
        check(
            &conn,
            r#"identities.connection:"Username-Password-Authentication""#,
            "u2 u1 u3 u4 u5 u6 u7",
        );
        check(&conn, "identities.connection:other-db", "u8");
        check(&conn, "identities.connection:GOOGLE-OAUTH2", "u6");
        check(&conn, "identities.connection:git*", "u7");
        check(
            &conn,
            "identities.provider:auth0",
            "u2 u1 u3 u4 u5 u6 u7 u8",
        );
        check(&conn, "identities.provider:github", "u7");
        check(&conn, "identities.user_id:42", "u7");
        check(&conn, "identities.user_id:1234567890", "u6");
        check(&conn, "identities.user_id:U1", "u1");
        check(&conn, "user_id:\"AUTH0|u8\"", "u8");
        check(
            &conn,
            "NOT identities.provider:google-oauth2",
            "u2 u1 u3 u4 u5 u7 u8",
        );
    }

    #[test]
    fn text_fields_are_case_insensitive_whole_values() {
        let conn = db();
        check(&conn, r#"email:"JANE@example.com""#, "u1");
        check(&conn, "email:jane", "");
        check(&conn, "name:jane*", "u1");
        check(&conn, "name:JANE*", "u1");
        check(&conn, "name:\"jane doe\"", "u1");
        check(&conn, "username:jsmith", "u8");
        check(&conn, "given_name:[ana TO anabel]", "u2 u3");
        check(&conn, "given_name:{ana TO anabel]", "u3");
        check(&conn, "_exists_:username", "u8");
        check(&conn, "_exists_:given_name", "u2 u1 u3");
    }

    #[test]
    fn prefix_text_is_literal() {
        let conn = db();
        check(&conn, "name:50%_*", "u4");
        check(&conn, "name:50%*", "u4 u6");
        check(&conn, "name:50a*", "u5");
        check(&conn, r"name:back\\s*", "u7");
        check(&conn, r"name:back\\slash", "u7");
        check(&conn, r#"name:"x') OR 1=1 --""#, "");
    }

    #[test]
    fn booleans_not_and_precedence() {
        let conn = db();
        check(&conn, "email:jane@example.com AND NOT blocked:true", "u1");
        check(&conn, "email:ana@example.com AND NOT blocked:true", "");
        check(&conn, "NOT blocked:true", "u1 u3 u4 u5 u6 u7 u8");
        check(&conn, "blocked:false", "u1");
        check(&conn, "-email_verified:true", "u3 u4 u5 u6 u7 u8");
        check(
            &conn,
            "(given_name:ana OR given_name:ana*) AND email_verified:true",
            "u2",
        );
        check(&conn, "given_name:ana* AND email_verified:true", "u2");
        check(
            &conn,
            "given_name:jane OR given_name:ana AND blocked:true",
            "u2 u1",
        );
        check(
            &conn,
            "(given_name:jane OR given_name:ana) AND blocked:true",
            "u2",
        );
        check(
            &conn,
            "email:jane@example.com email:ana@example.com",
            "u2 u1",
        );
        check(
            &conn,
            "NOT (given_name:ana* OR _exists_:username)",
            "u1 u4 u5 u6 u7",
        );
    }

    #[test]
    fn dates_and_numbers() {
        let conn = db();
        check(
            &conn,
            "created_at:[2020-01-01 TO *]",
            "u1 u3 u4 u5 u6 u7 u8",
        );
        check(&conn, "created_at:[* TO 2020-01-01]", "u2 u1");
        check(&conn, "created_at:{* TO 2020-01-01}", "u2");
        check(&conn, "created_at:{2020-01-01 TO 2021-01-01}", "u3");
        check(&conn, "created_at:{2020-01-01 TO 2021-01-01]", "u3 u4 u5");
        check(&conn, "created_at:2020-01-01", "u1");
        check(&conn, "created_at:2019-12-31", "u2");
        check(&conn, "created_at:\"2020-01-01T01:00:00+01:00\"", "u1");
        check(
            &conn,
            "created_at:[2019-12-31T23:59:59.999Z TO 2020-01-01T00:00:00Z}",
            "u2",
        );
        check(&conn, "last_login:[2024-01-01 TO *]", "u1");
        check(&conn, "_exists_:last_login", "u1 u8");
        check(&conn, "logins_count:[1 TO *]", "u1 u8");
        check(&conn, "logins_count:0", "u2");
        check(&conn, "logins_count:{5 TO 12]", "u8");
        check(&conn, "NOT logins_count:[1 TO *]", "u2 u3 u4 u5 u6 u7");
    }

    #[test]
    fn metadata_paths() {
        let conn = db();
        check(&conn, "user_metadata.plan:premium", "u1 u3");
        check(&conn, "user_metadata.plan:FREE", "u2");
        check(&conn, "user_metadata.plan:prem*", "u1 u3");
        check(&conn, "user_metadata.tags:vip", "u1");
        check(&conn, "user_metadata.tags:bet*", "u1");
        check(&conn, "user_metadata.beta:true", "u3");
        check(&conn, "app_metadata.beta:true", "u4");
        check(&conn, "user_metadata.age:42", "u3");
        check(&conn, "user_metadata.age:[40 TO 50]", "u3");
        check(&conn, "user_metadata.age:{42 TO *]", "");
        check(&conn, "user_metadata.zip:01234", "u3");
        check(&conn, "user_metadata.zip:1234", "");
        check(&conn, "app_metadata.score:10", "u1 u4");
        check(&conn, "app_metadata.roles:admin", "u1");
        check(&conn, "app_metadata.nested.plan:gold", "u1");
        check(&conn, "app_metadata.nested:gold", "");
        check(&conn, "app_metadata.plan:gold", "");
        check(&conn, r#"app_metadata.we\"ird:YES"#, "u8");
        check(&conn, r"_exists_:app_metadata.back\\slash", "u8");
        check(&conn, r"app_metadata.back\\slash.k:1", "u8");
        check(&conn, "_exists_:user_metadata.plan", "u2 u1 u3");
        check(&conn, "NOT _exists_:user_metadata.plan", "u4 u5 u6 u7 u8");
        check(&conn, "user_metadata.plan:[free TO premium]", "u2 u1 u3");
        check(&conn, "user_metadata.plan:[* TO *]", "u2 u1 u3");
        check(&conn, "user_metadata.plan:{free TO *]", "u1 u3");
    }

    #[test]
    fn order_clauses() {
        assert_eq!(order_sql(None), "u.created_at ASC, u.user_id ASC");
        let sort = |s: &str| Sort::parse(s).unwrap();
        assert_eq!(
            order_sql(Some(&sort("created_at:-1"))),
            "u.created_at DESC, u.user_id DESC"
        );
        assert_eq!(
            order_sql(Some(&sort("email:1"))),
            "u.email ASC NULLS LAST, u.user_id ASC"
        );
        assert_eq!(order_sql(Some(&sort("user_id:-1"))), "u.user_id DESC");

        let conn = db();
        let everyone = parse("_exists_:user_id").unwrap();
        let short = |sort: &Sort| -> String {
            run(&conn, &everyone, Some(sort))
                .unwrap()
                .iter()
                .map(|id| id.trim_start_matches("auth0|"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(short(&sort("logins_count:-1")), "u8 u1 u2 u7 u6 u5 u4 u3");
        assert_eq!(short(&sort("logins_count:1")), "u2 u1 u8 u3 u4 u5 u6 u7");
        assert_eq!(short(&sort("created_at:1")), "u2 u1 u3 u4 u5 u6 u7 u8");
        assert_eq!(short(&sort("created_at:-1")), "u8 u7 u6 u5 u4 u3 u1 u2");
        assert_eq!(short(&sort("username:1")), "u8 u1 u2 u3 u4 u5 u6 u7");
        assert_eq!(short(&sort("user_id:-1")), "u8 u7 u6 u5 u4 u3 u2 u1");
        for field in SortField::ALL {
            for descending in [false, true] {
                assert!(run(&conn, &everyone, Some(&Sort { field, descending })).is_ok());
            }
        }
    }

    #[test]
    fn hand_built_queries_never_break_the_sql() {
        let conn = db();
        let odd = [
            Query::And(vec![]),
            Query::Or(vec![]),
            Query::Not(Box::new(Query::Or(vec![]))),
            Query::Term {
                field: SearchField::Blocked,
                matcher: Matcher::Prefix("tru".into()),
            },
            Query::Term {
                field: SearchField::LoginsCount,
                matcher: Matcher::Exact("many".into()),
            },
            Query::Term {
                field: SearchField::EmailVerified,
                matcher: Matcher::Range {
                    lower: Some(("false".into(), false)),
                    upper: None,
                },
            },
            Query::Term {
                field: SearchField::UserMetadata(vec![]),
                matcher: Matcher::Exact("x".into()),
            },
            Query::Term {
                field: SearchField::UserMetadata(vec![String::new(), "a\u{1}b".into()]),
                matcher: Matcher::Exact("x".into()),
            },
            Query::Exists(SearchField::IdentitiesUserId),
        ];
        for query in &odd {
            assert!(run(&conn, query, None).is_ok(), "{query:?}");
        }
        assert_eq!(run(&conn, &odd[0], None).unwrap().len(), 8);
        assert_eq!(run(&conn, &odd[2], None).unwrap().len(), 8);
        assert_eq!(
            run(&conn, &odd[5], None).unwrap(),
            vec!["auth0|u2".to_string(), "auth0|u1".to_string()]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever the parser accepts runs as SQL.
        #[test]
        fn parsed_queries_always_run(
            q in "(NOT |-|\\()?(email|name|blocked|logins_count|created_at|identities\\.(connection|user_id)|user_metadata\\.[a-z\"\\\\]{1,3}|_exists_):([a-z0-9%_\\\\\"*]{1,6}|\\[(\\*|1|2020-01-01) TO (\\*|9|ab)[\\]}])( (AND|OR) name:x)?\\)?"
        ) {
            let conn = db();
            if let Ok(query) = parse(&q) {
                prop_assert!(run(&conn, &query, None).is_ok(), "{}", q);
            }
        }
    }
}
