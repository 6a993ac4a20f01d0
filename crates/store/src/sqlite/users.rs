//! SQL for the users table: row mapping with projection, writes, search and scans.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection as Db, ToSql, params_from_iter};
use serde_json::value::RawValue;
use userbridge_model::query::{Matcher, Query, SearchField};
use userbridge_model::{Attribute, User};

use super::{conflict, search};
use crate::{Result, StoreError, UserScan, UserSearch};

/// The user columns, in table order (`id` and `connection_id` aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    UserId,
    Email,
    EmailVerified,
    GivenName,
    FamilyName,
    Name,
    Nickname,
    Picture,
    CreatedAt,
    UpdatedAt,
    Username,
    PhoneNumber,
    PhoneVerified,
    Blocked,
    LastLogin,
    LastIp,
    LoginsCount,
    LastPasswordReset,
    MultifactorLastModified,
    UserMetadata,
    AppMetadata,
    LinkedIdentities,
    PasswordHash,
    CustomPasswordHash,
    MfaFactors,
}

const ALL: [Col; 25] = [
    Col::UserId,
    Col::Email,
    Col::EmailVerified,
    Col::GivenName,
    Col::FamilyName,
    Col::Name,
    Col::Nickname,
    Col::Picture,
    Col::CreatedAt,
    Col::UpdatedAt,
    Col::Username,
    Col::PhoneNumber,
    Col::PhoneVerified,
    Col::Blocked,
    Col::LastLogin,
    Col::LastIp,
    Col::LoginsCount,
    Col::LastPasswordReset,
    Col::MultifactorLastModified,
    Col::UserMetadata,
    Col::AppMetadata,
    Col::LinkedIdentities,
    Col::PasswordHash,
    Col::CustomPasswordHash,
    Col::MfaFactors,
];

/// Columns every read includes: they are never null and cheap.
const ALWAYS: [Col; 4] = [
    Col::UserId,
    Col::EmailVerified,
    Col::CreatedAt,
    Col::UpdatedAt,
];

impl Col {
    fn name(self) -> &'static str {
        match self {
            Col::UserId => "user_id",
            Col::Email => "email",
            Col::EmailVerified => "email_verified",
            Col::GivenName => "given_name",
            Col::FamilyName => "family_name",
            Col::Name => "name",
            Col::Nickname => "nickname",
            Col::Picture => "picture",
            Col::CreatedAt => "created_at",
            Col::UpdatedAt => "updated_at",
            Col::Username => "username",
            Col::PhoneNumber => "phone_number",
            Col::PhoneVerified => "phone_verified",
            Col::Blocked => "blocked",
            Col::LastLogin => "last_login",
            Col::LastIp => "last_ip",
            Col::LoginsCount => "logins_count",
            Col::LastPasswordReset => "last_password_reset",
            Col::MultifactorLastModified => "multifactor_last_modified",
            Col::UserMetadata => "user_metadata",
            Col::AppMetadata => "app_metadata",
            Col::LinkedIdentities => "linked_identities",
            Col::PasswordHash => "password_hash",
            Col::CustomPasswordHash => "custom_password_hash",
            Col::MfaFactors => "mfa_factors",
        }
    }

    fn for_attribute(attribute: Attribute) -> Col {
        match attribute {
            Attribute::AppMetadata => Col::AppMetadata,
            Attribute::Blocked => Col::Blocked,
            Attribute::CreatedAt => Col::CreatedAt,
            Attribute::Email => Col::Email,
            Attribute::EmailVerified => Col::EmailVerified,
            Attribute::FamilyName => Col::FamilyName,
            Attribute::GivenName => Col::GivenName,
            Attribute::Identities => Col::LinkedIdentities,
            Attribute::LastIp => Col::LastIp,
            Attribute::LastLogin => Col::LastLogin,
            Attribute::LastPasswordReset => Col::LastPasswordReset,
            Attribute::LoginsCount => Col::LoginsCount,
            Attribute::Multifactor => Col::MfaFactors,
            Attribute::MultifactorLastModified => Col::MultifactorLastModified,
            Attribute::Name => Col::Name,
            Attribute::Nickname => Col::Nickname,
            Attribute::PhoneNumber => Col::PhoneNumber,
            Attribute::PhoneVerified => Col::PhoneVerified,
            Attribute::Picture => Col::Picture,
            Attribute::UpdatedAt => Col::UpdatedAt,
            Attribute::UserId => Col::UserId,
            Attribute::UserMetadata => Col::UserMetadata,
            Attribute::Username => Col::Username,
        }
    }
}

/// The columns a read selects, in select-list order after `connection_id`.
struct Projection(Vec<Col>);

impl Projection {
    fn all() -> Projection {
        Projection(ALL.to_vec())
    }

    fn of(attributes: Option<&[Attribute]>) -> Projection {
        let Some(attributes) = attributes else {
            return Projection::all();
        };
        let mut cols = ALWAYS.to_vec();
        for col in attributes.iter().map(|a| Col::for_attribute(*a)) {
            if !cols.contains(&col) {
                cols.push(col);
            }
        }
        // Table order lets SQLite decode each row front to back.
        cols.sort_by_key(|c| ALL.iter().position(|x| x == c));
        Projection(cols)
    }

    fn select_list(&self) -> String {
        let mut sql = String::from("u.connection_id");
        for col in &self.0 {
            sql.push_str(", u.");
            sql.push_str(col.name());
        }
        sql
    }

    fn read(&self, row: &rusqlite::Row<'_>, names: &HashMap<String, Arc<str>>) -> Result<User> {
        let mut user = User::default();
        self.read_into(row, names, &mut user, &mut String::new())?;
        Ok(user)
    }

    /// Fills `user` from a row, reusing its string buffers: a scan of a million users
    /// then allocates almost nothing.
    fn read_into(
        &self,
        row: &rusqlite::Row<'_>,
        names: &HashMap<String, Arc<str>>,
        user: &mut User,
        last_connection_id: &mut String,
    ) -> Result<()> {
        let connection_id = text_ref(row, 0)?.unwrap_or_default();
        // Consecutive users mostly share a connection: skip the lookup when it repeats.
        if user.connection.is_empty() || *last_connection_id != connection_id {
            user.connection = names.get(connection_id).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!("unknown connection {connection_id}"))
            })?;
            set(last_connection_id, connection_id);
        }
        for (i, col) in self.0.iter().enumerate() {
            let i = i + 1;
            match col {
                Col::UserId => set(&mut user.user_id, text_ref(row, i)?.unwrap_or_default()),
                Col::Email => set_opt(&mut user.email, text_ref(row, i)?),
                Col::EmailVerified => user.email_verified = flag(row, i)?.unwrap_or(false),
                Col::GivenName => set_opt(&mut user.given_name, text_ref(row, i)?),
                Col::FamilyName => set_opt(&mut user.family_name, text_ref(row, i)?),
                Col::Name => set_opt(&mut user.name, text_ref(row, i)?),
                Col::Nickname => set_opt(&mut user.nickname, text_ref(row, i)?),
                Col::Picture => set_opt(&mut user.picture, text_ref(row, i)?),
                Col::CreatedAt => set(&mut user.created_at, text_ref(row, i)?.unwrap_or_default()),
                Col::UpdatedAt => set(&mut user.updated_at, text_ref(row, i)?.unwrap_or_default()),
                Col::Username => set_opt(&mut user.username, text_ref(row, i)?),
                Col::PhoneNumber => set_opt(&mut user.phone_number, text_ref(row, i)?),
                Col::PhoneVerified => user.phone_verified = flag(row, i)?,
                Col::Blocked => user.blocked = flag(row, i)?,
                Col::LastLogin => set_opt(&mut user.last_login, text_ref(row, i)?),
                Col::LastIp => set_opt(&mut user.last_ip, text_ref(row, i)?),
                Col::LoginsCount => user.logins_count = row.get(i)?,
                Col::LastPasswordReset => set_opt(&mut user.last_password_reset, text_ref(row, i)?),
                Col::MultifactorLastModified => {
                    set_opt(&mut user.multifactor_last_modified, text_ref(row, i)?)
                }
                Col::UserMetadata => user.user_metadata = json(row, i)?,
                Col::AppMetadata => user.app_metadata = json(row, i)?,
                Col::LinkedIdentities => user.linked_identities = json(row, i)?,
                Col::PasswordHash => set_opt(&mut user.password_hash, text_ref(row, i)?),
                Col::CustomPasswordHash => user.custom_password_hash = json(row, i)?,
                Col::MfaFactors => user.mfa_factors = json(row, i)?,
            }
        }
        Ok(())
    }
}

fn set(slot: &mut String, value: &str) {
    slot.clear();
    slot.push_str(value);
}

fn set_opt(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => set(s, v),
        (None, Some(v)) => *slot = Some(v.to_string()),
        (_, None) => *slot = None,
    }
}

fn text_ref<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> Result<Option<&'r str>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        // SIMD validation: on a million-user scan this is a visible share of the time.
        ValueRef::Text(bytes) => simdutf8::basic::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("column {i}: invalid UTF-8"))),
        other => Err(StoreError::Corrupt(format!(
            "column {i}: expected text, got {other:?}"
        ))),
    }
}

fn flag(row: &rusqlite::Row<'_>, i: usize) -> Result<Option<bool>> {
    Ok(row.get::<_, Option<i64>>(i)?.map(|v| v != 0))
}

fn json(row: &rusqlite::Row<'_>, i: usize) -> Result<Option<Box<RawValue>>> {
    text_ref(row, i)?
        .map(|t| {
            RawValue::from_string(t.to_string())
                .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
        })
        .transpose()
}

fn raw(v: &Option<Box<RawValue>>) -> Option<&str> {
    v.as_deref().map(RawValue::get)
}

/// Runs `stmt` with `first` bound to `?1` and the user's columns, in `ALL` order, after it.
fn execute_with(
    stmt: &mut rusqlite::CachedStatement<'_>,
    first: Option<&dyn ToSql>,
    user: &User,
) -> Result<usize> {
    let json = [
        raw(&user.user_metadata),
        raw(&user.app_metadata),
        raw(&user.linked_identities),
        raw(&user.custom_password_hash),
        raw(&user.mfa_factors),
    ];
    let columns: [&dyn ToSql; 25] = [
        &user.user_id,
        &user.email,
        &user.email_verified,
        &user.given_name,
        &user.family_name,
        &user.name,
        &user.nickname,
        &user.picture,
        &user.created_at,
        &user.updated_at,
        &user.username,
        &user.phone_number,
        &user.phone_verified,
        &user.blocked,
        &user.last_login,
        &user.last_ip,
        &user.logins_count,
        &user.last_password_reset,
        &user.multifactor_last_modified,
        &json[0],
        &json[1],
        &json[2],
        &user.password_hash,
        &json[3],
        &json[4],
    ];
    let mut params: Vec<&dyn ToSql> = Vec::with_capacity(26);
    params.extend(first);
    params.extend(columns);
    stmt.execute(params.as_slice()).map_err(conflict)
}

/// `INSERT INTO users (connection_id, <every column>) VALUES (?1, ?2, …)`, built once:
/// an import runs it a million times.
fn insert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<&str> = ALL.iter().map(|c| c.name()).collect();
        let placeholders: Vec<String> = (2..=ALL.len() + 1).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO users (connection_id, {}) VALUES (?1, {})",
            columns.join(", "),
            placeholders.join(", ")
        )
    })
}

/// `UPDATE users SET <every column but user_id> WHERE user_id = ?1`, built once.
fn update_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let sets: Vec<String> = ALL
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{} = ?{}", c.name(), i + 1))
            .collect();
        format!("UPDATE users SET {} WHERE user_id = ?1", sets.join(", "))
    })
}

pub(super) fn insert(db: &Db, connection_id: &str, users: &[User]) -> Result<()> {
    let mut stmt = db.prepare_cached(insert_sql())?;
    for user in users {
        execute_with(&mut stmt, Some(&connection_id), user)?;
    }
    Ok(())
}

pub(super) fn update(db: &Db, user: &User) -> Result<()> {
    let mut stmt = db.prepare_cached(update_sql())?;
    execute_with(&mut stmt, None, user)?;
    Ok(())
}

type Names = HashMap<String, Arc<str>>;

pub(super) fn select_many(
    db: &Db,
    names: &Names,
    condition: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<User>> {
    static SELECT: OnceLock<String> = OnceLock::new();
    let projection = Projection::all();
    let select = SELECT.get_or_init(|| projection.select_list());
    let mut stmt = db.prepare_cached(&format!("SELECT {select} FROM users u WHERE {condition}"))?;
    let mut rows = stmt.query(params)?;
    let mut users = Vec::new();
    while let Some(row) = rows.next()? {
        users.push(projection.read(row, names)?);
    }
    Ok(users)
}

pub(super) fn select_one(
    db: &Db,
    names: &Names,
    condition: &str,
    params: &[&dyn ToSql],
) -> Result<Option<User>> {
    Ok(select_many(db, names, condition, params)?
        .into_iter()
        .next())
}

/// `WHERE` text and parameters for a query plus an optional connection-name filter.
fn filter(query: Option<&Query>, connection: Option<&str>) -> (String, Vec<Value>) {
    let mut params = Vec::new();
    let mut clauses = Vec::new();
    if let Some(query) = query {
        clauses.push(search::where_sql(query, &mut params));
    }
    // The `connection` parameter filters exactly as `identities.connection:"name"` does.
    if let Some(name) = connection {
        let term = Query::Term {
            field: SearchField::IdentitiesConnection,
            matcher: Matcher::Exact(name.to_string()),
        };
        clauses.push(search::where_sql(&term, &mut params));
    }
    if clauses.is_empty() {
        clauses.push("1".to_string());
    }
    (clauses.join(" AND "), params)
}

pub(super) fn search(db: &Db, names: &Names, search: &UserSearch) -> Result<Vec<User>> {
    let projection = Projection::all();
    let (condition, mut params) = filter(search.query.as_ref(), search.connection.as_deref());
    let sql = format!(
        "SELECT {} FROM users u JOIN connections c ON c.id = u.connection_id
         WHERE {condition} ORDER BY {} LIMIT ? OFFSET ?",
        projection.select_list(),
        search::order_sql(search.sort.as_ref()),
    );
    params.push(Value::Integer(search.limit.min(i64::MAX as u64) as i64));
    params.push(Value::Integer(search.offset.min(i64::MAX as u64) as i64));
    let mut stmt = db.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut users = Vec::new();
    while let Some(row) = rows.next()? {
        users.push(projection.read(row, names)?);
    }
    Ok(users)
}

pub(super) fn count(db: &Db, query: Option<&Query>, connection: Option<&str>) -> Result<u64> {
    let (condition, params) = filter(query, connection);
    let sql = format!(
        "SELECT count(*) FROM users u JOIN connections c ON c.id = u.connection_id WHERE {condition}"
    );
    let n: i64 = db.query_row(&sql, params_from_iter(params), |r| r.get(0))?;
    Ok(n as u64)
}

pub(super) fn scan(
    db: &Db,
    names: &Names,
    scan: &UserScan,
    visit: &mut dyn FnMut(&User) -> Result<()>,
) -> Result<()> {
    let projection = Projection::of(scan.attributes.as_deref());
    let mut params = Vec::new();
    let mut sql = format!("SELECT {} FROM users u", projection.select_list());
    if let Some(id) = &scan.connection_id {
        sql.push_str(" WHERE u.connection_id = ?");
        params.push(Value::Text(id.clone()));
    }
    sql.push_str(" ORDER BY u.user_id");
    if let Some(limit) = scan.limit {
        sql.push_str(" LIMIT ?");
        params.push(Value::Integer(limit.min(i64::MAX as u64) as i64));
    }
    let mut stmt = db.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut user = User::default();
    let mut last_connection_id = String::new();
    while let Some(row) = rows.next()? {
        projection.read_into(row, names, &mut user, &mut last_connection_id)?;
        visit(&user)?;
    }
    Ok(())
}
