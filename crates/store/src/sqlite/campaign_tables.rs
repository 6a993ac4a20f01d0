//! SQL of campaign tables (campaign-import.md §5–§7, migration 0004).
//!
//! Each campaign table `name` has a metadata row in `campaign_tables` and a data table
//! `"campaign_<name>"`: STRICT, a hidden `_row INTEGER PRIMARY KEY` (insertion order), a hidden
//! `_key TEXT` with a unique index (the normalised key, NULL in keyless rows) and one `ANY` column per
//! campaign column, named as the column and always quoted by [`quote_ident`]. SQL text is only
//! ever built from a validated table name and quoted column names; cell values are always
//! bound as parameters. A direct load fills `"campaign__load_<name>"` (same columns, no
//! index) and renames it to the data table when it commits ([`load_direct`]).

use rusqlite::types::{ToSqlOutput, ValueRef};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection as Db, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};
use userbridge_model::time;

use super::conflict;
use super::key_filter::KeyFilter;
use super::staging::CampaignStaging;
use crate::{
    ApplyMode, CampaignColumn, CampaignRowSink, CampaignTable, Conflict, DirectLoad, FilterOp,
    Result, RowFilter, StagedOutcome, StoreError, StoredValue,
};

/// Longest table name (IMP-1).
const MAX_TABLE_NAME_CHARS: usize = 63;
/// Longest column name (IMP-1).
const MAX_COLUMN_NAME_CHARS: usize = 128;
/// The hidden columns of every data table; campaign columns may not use these names.
const ROW_COLUMN: &str = "_row";
const KEY_COLUMN: &str = "_key";

/// Quotes an SQL identifier: wrapped in `"`, inner `"` doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Checks a table name: `^[A-Za-z][A-Za-z0-9_]{0,62}$`, not `sqlite_…` (defence in depth: the
/// campaign crate checks it too).
pub(crate) fn check_table_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = name.len() <= MAX_TABLE_NAME_CHARS
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_"));
    if valid {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "campaign table name {name:?} must be 1–{MAX_TABLE_NAME_CHARS} letters, digits or \
             '_', starting with a letter"
        )))
    }
}

/// The key column names are compared by (Unicode lower case; stricter than SQLite's ASCII).
fn column_key(name: &str) -> String {
    name.to_lowercase()
}

fn check_column_name(name: &str, existing: &[CampaignColumn]) -> Result<()> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_COLUMN_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "column name {name:?} must be 1–{MAX_COLUMN_NAME_CHARS} printable characters"
        )));
    }
    let key = column_key(name);
    if key == ROW_COLUMN || key == KEY_COLUMN {
        return Err(StoreError::Invalid(format!(
            "column name {name:?} is reserved"
        )));
    }
    if existing.iter().any(|c| column_key(&c.name) == key) {
        return Err(StoreError::Conflict(Conflict::CampaignColumn));
    }
    Ok(())
}

/// The quoted name of a table's data table.
fn data_table(name: &str) -> Result<String> {
    check_table_name(name)?;
    Ok(quote_ident(&format!("campaign_{name}")))
}

impl rusqlite::ToSql for StoredValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StoredValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            StoredValue::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            StoredValue::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

/// A stored cell. Only INTEGER, TEXT and NULL are ever written; a REAL or BLOB put there by
/// other tools is read as text.
fn stored_value(value: ValueRef<'_>) -> StoredValue {
    match value {
        ValueRef::Null => StoredValue::Null,
        ValueRef::Integer(i) => StoredValue::Integer(i),
        ValueRef::Real(f) => StoredValue::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            StoredValue::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

fn definition_json(columns: &[CampaignColumn], key: &[String]) -> String {
    json!({
        "columns": columns
            .iter()
            .map(|c| json!({"name": c.name, "spec": c.spec}))
            .collect::<Vec<_>>(),
        "key": key,
    })
    .to_string()
}

fn parse_definition(name: &str, text: &str) -> Result<(Vec<CampaignColumn>, Vec<String>)> {
    let corrupt = || StoreError::Corrupt(format!("campaign table {name}: bad definition"));
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt())?;
    let columns = value
        .get("columns")
        .and_then(Value::as_array)
        .ok_or_else(corrupt)?
        .iter()
        .map(|c| {
            Ok(CampaignColumn {
                name: c
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(corrupt)?
                    .to_string(),
                spec: c.get("spec").cloned().unwrap_or(Value::Null),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let key = value
        .get("key")
        .and_then(Value::as_array)
        .ok_or_else(corrupt)?
        .iter()
        .map(|k| k.as_str().map(str::to_string).ok_or_else(corrupt))
        .collect::<Result<Vec<_>>>()?;
    Ok((columns, key))
}

/// A table's definition without its row count.
fn load(db: &Db, name: &str) -> Result<Option<CampaignTable>> {
    let row: Option<(String, String, String)> = db
        .prepare_cached("SELECT name, definition, created_at FROM campaign_tables WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((name, definition, created_at)) = row else {
        return Ok(None);
    };
    let (columns, key) = parse_definition(&name, &definition)?;
    Ok(Some(CampaignTable {
        name,
        columns,
        key,
        rows: 0,
        created_at,
    }))
}

fn load_existing(db: &Db, name: &str) -> Result<CampaignTable> {
    load(db, name)?.ok_or_else(|| StoreError::NotFound(format!("campaign table {name:?}")))
}

fn count_rows(db: &Db, name: &str) -> Result<u64> {
    let n: i64 = db.query_row(
        &format!("SELECT count(*) FROM {}", data_table(name)?),
        [],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// `"a", "b", …` for the campaign columns of a table.
fn column_list(table: &CampaignTable) -> String {
    table
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn create(db: &mut Db, table: &CampaignTable) -> Result<()> {
    let tx = db.transaction()?;
    create_in(&tx, table)?;
    tx.commit()?;
    Ok(())
}

/// Creates a table inside the caller's transaction.
fn create_in(tx: &Db, table: &CampaignTable) -> Result<()> {
    let physical = data_table(&table.name)?;
    let mut checked: Vec<CampaignColumn> = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        check_column_name(&column.name, &checked).map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Invalid(format!(
                "column name {:?} is used twice (names compare case-insensitively)",
                column.name
            )),
            other => other,
        })?;
        checked.push(column.clone());
    }
    // Key names are stored as the columns spell them.
    let mut key = Vec::with_capacity(table.key.len());
    for k in &table.key {
        let column = checked
            .iter()
            .find(|c| column_key(&c.name) == column_key(k))
            .ok_or_else(|| StoreError::Invalid(format!("key column {k:?} is not a column")))?;
        if key.contains(&column.name) {
            return Err(StoreError::Invalid(format!(
                "key column {k:?} is named twice"
            )));
        }
        key.push(column.name.clone());
    }
    let created_at = if table.created_at.is_empty() {
        time::now()
    } else {
        table.created_at.clone()
    };
    let sql = create_data_table(&physical, &checked);
    tx.execute(
        "INSERT INTO campaign_tables (name, definition, created_at) VALUES (?1, ?2, ?3)",
        params![table.name, definition_json(&checked, &key), created_at],
    )
    .map_err(|e| match conflict(e) {
        StoreError::Conflict(_) => StoreError::Conflict(Conflict::CampaignTable),
        other => other,
    })?;
    tx.execute(&sql, [])?;
    tx.execute(&create_key_index(&table.name)?, [])?;
    Ok(())
}

/// `CREATE TABLE` of a data table (without its key index).
fn create_data_table(physical: &str, columns: &[CampaignColumn]) -> String {
    let mut sql = format!(
        "CREATE TABLE {physical} ({} INTEGER PRIMARY KEY, {} TEXT",
        quote_ident(ROW_COLUMN),
        quote_ident(KEY_COLUMN)
    );
    for column in columns {
        sql.push_str(", ");
        sql.push_str(&quote_ident(&column.name));
        sql.push_str(" ANY");
    }
    sql.push_str(") STRICT");
    sql
}

/// The unique index on `_key`: a named index rather than a column constraint, so a load into
/// an empty table can drop it and build it once, sorted, after the rows are in.
fn key_index(name: &str) -> Result<String> {
    check_table_name(name)?;
    Ok(quote_ident(&format!("campaign_{name}{KEY_INDEX_SUFFIX}")))
}

const KEY_INDEX_SUFFIX: &str = "__key";

fn create_key_index(name: &str) -> Result<String> {
    Ok(format!(
        "CREATE UNIQUE INDEX {} ON {} ({})",
        key_index(name)?,
        data_table(name)?,
        quote_ident(KEY_COLUMN)
    ))
}

/// Whether the table's key index is the named one (tables made before it carried a
/// `UNIQUE` column constraint, whose index cannot be dropped).
fn has_named_key_index(tx: &Transaction<'_>, name: &str) -> Result<bool> {
    let index = format!("campaign_{name}{KEY_INDEX_SUFFIX}");
    Ok(tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
        [index],
        |r| r.get(0),
    )?)
}

pub(crate) fn tables(db: &Db) -> Result<Vec<CampaignTable>> {
    let names: Vec<String> = {
        let mut stmt = db.prepare_cached("SELECT name FROM campaign_tables ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if let Some(t) = table(db, &name)? {
            out.push(t);
        }
    }
    Ok(out)
}

pub(crate) fn table(db: &Db, name: &str) -> Result<Option<CampaignTable>> {
    let Some(mut table) = load(db, name)? else {
        return Ok(None);
    };
    table.rows = count_rows(db, &table.name)?;
    Ok(Some(table))
}

pub(crate) fn add_column(db: &mut Db, table: &str, column: &CampaignColumn) -> Result<()> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut t = load_existing(&tx, table)?;
    check_column_name(&column.name, &t.columns)?;
    tx.execute(
        &format!(
            "ALTER TABLE {} ADD COLUMN {} ANY",
            data_table(&t.name)?,
            quote_ident(&column.name)
        ),
        [],
    )?;
    t.columns.push(column.clone());
    tx.execute(
        "UPDATE campaign_tables SET definition = ?2 WHERE name = ?1",
        params![t.name, definition_json(&t.columns, &t.key)],
    )?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn rows(
    db: &Db,
    table: &str,
    filter: Option<&RowFilter>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Vec<StoredValue>>> {
    let t = load_existing(db, table)?;
    let physical = data_table(&t.name)?;
    let mut sql = format!("SELECT {} FROM {physical}", select_list(&t));
    if let Some(f) = filter {
        let column = t
            .columns
            .iter()
            .find(|c| column_key(&c.name) == column_key(&f.column))
            .ok_or_else(|| StoreError::NotFound(format!("column {:?}", f.column)))?;
        let cell = format!("CAST({} AS TEXT)", quote_ident(&column.name));
        sql.push_str(&match f.op {
            FilterOp::Equals => format!(" WHERE {cell} = ?3"),
            FilterOp::Contains => format!(" WHERE instr(lower({cell}), lower(?3)) > 0"),
        });
    }
    sql.push_str(&format!(
        " ORDER BY {} LIMIT ?1 OFFSET ?2",
        quote_ident(ROW_COLUMN)
    ));
    let mut stmt = db.prepare(&sql)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    stmt.raw_bind_parameter(1, limit)?;
    stmt.raw_bind_parameter(2, offset)?;
    if let Some(f) = filter {
        stmt.raw_bind_parameter(3, f.value.as_str())?;
    }
    let n = t.columns.len();
    let mut out = Vec::new();
    let mut query = stmt.raw_query();
    while let Some(r) = query.next()? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(stored_value(r.get_ref(i)?));
        }
        out.push(row);
    }
    Ok(out)
}

/// The columns a read selects; a table without columns still selects something valid.
fn select_list(t: &CampaignTable) -> String {
    if t.columns.is_empty() {
        quote_ident(ROW_COLUMN)
    } else {
        column_list(t)
    }
}

pub(crate) fn scan(
    db: &Db,
    table: &str,
    visit: &mut dyn FnMut(&[StoredValue]) -> Result<()>,
) -> Result<()> {
    let t = load_existing(db, table)?;
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        select_list(&t),
        data_table(&t.name)?,
        quote_ident(ROW_COLUMN)
    );
    let mut stmt = db.prepare(&sql)?;
    let n = t.columns.len();
    let mut row: Vec<StoredValue> = Vec::with_capacity(n);
    let mut query = stmt.raw_query();
    while let Some(r) = query.next()? {
        row.clear();
        for i in 0..n {
            row.push(stored_value(r.get_ref(i)?));
        }
        visit(&row)?;
    }
    Ok(())
}

/// Applies a staged run in one IMMEDIATE transaction (RUN-2): the staging file is attached,
/// every outcome is computed with set-based statements, `commit` sees the counts and decides.
/// `create`: the table is created inside the same transaction (so a rolled-back run leaves
/// none). `cancel`, when set, interrupts the statements and rolls back.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_staged(
    db: &mut Db,
    table: &str,
    create: Option<&CampaignTable>,
    mode: ApplyMode,
    blank_overwrites: bool,
    staging: &mut CampaignStaging,
    cancel: Option<Arc<AtomicBool>>,
    commit: &mut dyn FnMut(&StagedOutcome) -> bool,
) -> Result<StagedOutcome> {
    staging.settle()?;
    let path = staging.path().to_str().ok_or_else(|| {
        StoreError::Invalid(format!(
            "the staging file {} is not a UTF-8 path",
            staging.path().display()
        ))
    })?;
    db.execute("ATTACH DATABASE ?1 AS staging", [path])?;
    db.pragma_update(Some("staging"), "cache_size", STAGED_CACHE_KIB)?;
    let applied = cancellable(db, cancel, |db, cancelled| {
        apply_staged_tx(
            db,
            table,
            create,
            mode,
            blank_overwrites,
            staging,
            &mut |outcome| {
                // A cancel that came after the last statement still rolls back.
                if cancelled() {
                    Err(StoreError::Aborted(CANCELLED.into()))
                } else {
                    Ok(commit(outcome))
                }
            },
        )
    });
    let detached = db.execute("DETACH DATABASE staging", []);
    let outcome = applied?;
    detached?;
    Ok(outcome)
}

/// Runs `work` with `cancel` watched: SQLite interrupts a statement running when it is set
/// (answered as `StoreError::Aborted(CANCELLED)`), and `work` gets a check for the moments
/// between statements.
fn cancellable<T>(
    db: &mut Db,
    cancel: Option<Arc<AtomicBool>>,
    work: impl FnOnce(&mut Db, &dyn Fn() -> bool) -> Result<T>,
) -> Result<T> {
    let cancelled = {
        let flag = cancel.clone();
        move || flag.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    };
    if let Some(flag) = cancel {
        db.progress_handler(PROGRESS_OPS, Some(move || flag.load(Ordering::Relaxed)));
    }
    let result = work(db, &cancelled);
    db.progress_handler(0, None::<fn() -> bool>);
    result.map_err(interrupted)
}

/// Rows per transaction of a direct load: the write lock is free between two, so the rest
/// of the application keeps writing while a large file is read.
const LOAD_ROWS_PER_TRANSACTION: u64 = 50_000;

/// The table a direct load of `name` fills before it replaces the data table. Table names
/// start with a letter, so no data table (`campaign_<name>`) is ever called so.
fn load_table(name: &str) -> Result<String> {
    check_table_name(name)?;
    Ok(quote_ident(&format!(
        "campaign__load_{}",
        name.to_ascii_lowercase()
    )))
}

/// Loads rows straight into an empty table: see `Store::load_campaign_table`.
///
/// The rows go to a load table on `loader` (a connection of its own, so the shared writer
/// is not held while the file is read), committed every [`LOAD_ROWS_PER_TRANSACTION`] rows;
/// then one short transaction replaces the data table by it and builds the key index. A
/// killed load leaves only the load table, which the next load of that table drops; while
/// a load runs, `lock` (a file lock, released by the OS when the process dies) tells it
/// apart from a leftover.
#[allow(clippy::too_many_arguments)]
pub(crate) fn load_direct(
    loader: &mut Db,
    lock: &std::fs::File,
    table: &str,
    create: Option<&CampaignTable>,
    overwrite: bool,
    cancel: Option<Arc<AtomicBool>>,
    load: &mut dyn FnMut(&mut dyn CampaignRowSink) -> Result<()>,
    commit: &mut dyn FnMut(&StagedOutcome) -> bool,
) -> Result<DirectLoad> {
    if lock.try_lock().is_err() {
        // Another load of this table is running (another process): the caller stages
        // instead, and its apply waits for the write lock like any writer.
        return Ok(DirectLoad::Busy);
    }
    let shadow = load_table(table)?;
    let loaded = cancellable(loader, cancel, |db, cancelled| {
        let Some(columns) = prepare_load(db, &shadow, table, create, overwrite)? else {
            return Ok(DirectLoad::NotEmpty);
        };
        let (inserted, may_repeat) = fill_load_table(db, &shadow, columns.len(), load)?;
        if may_repeat {
            return Ok(DirectLoad::KeysMayRepeat);
        }
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(new) = create {
            create_in(&tx, new)?;
        }
        let t = load_existing(&tx, table)?;
        if t.columns != columns {
            return Err(StoreError::Aborted(format!(
                "the columns of table {} changed while the run read its file",
                t.name
            )));
        }
        let physical = data_table(&t.name)?;
        if !overwrite && has_rows(&tx, &physical)? {
            return Ok(DirectLoad::NotEmpty);
        }
        // Dropping the data table drops its key index; the load table takes its place.
        tx.execute(&format!("DROP TABLE {physical}"), [])?;
        tx.execute(&format!("ALTER TABLE {shadow} RENAME TO {physical}"), [])?;
        build_key_index(&tx, &t.name)?;
        let outcome = StagedOutcome {
            inserted,
            ..StagedOutcome::default()
        };
        if cancelled() {
            return Err(StoreError::Aborted(CANCELLED.into()));
        }
        if commit(&outcome) {
            tx.commit()?;
        }
        Ok(DirectLoad::Loaded(outcome))
    });
    // Whatever happened, no load table stays behind (after a commit there is none).
    let dropped = loader.execute(&format!("DROP TABLE IF EXISTS {shadow}"), []);
    let _ = lock.unlock();
    let loaded = loaded?;
    dropped?;
    Ok(loaded)
}

fn has_rows(db: &Db, physical: &str) -> Result<bool> {
    Ok(db.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {physical})"),
        [],
        |r| r.get(0),
    )?)
}

/// Checks that the load may go ahead — the table can be created, or exists and is empty or
/// overwritten — and creates an empty load table with its columns; `None` when the table
/// has rows (and the load is no overwrite). A load table left by a killed load is dropped.
fn prepare_load(
    db: &mut Db,
    shadow: &str,
    table: &str,
    create: Option<&CampaignTable>,
    overwrite: bool,
) -> Result<Option<Vec<CampaignColumn>>> {
    let mut tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(&format!("DROP TABLE IF EXISTS {shadow}"), [])?;
    let columns = {
        // Creating the table here only checks it can be; the savepoint is rolled back, so
        // no empty table is visible while the file is read.
        let probe = tx.savepoint()?;
        if let Some(new) = create {
            create_in(&probe, new)?;
        }
        let t = load_existing(&probe, table)?;
        if !overwrite && has_rows(&probe, &data_table(&t.name)?)? {
            return Ok(None);
        }
        t.columns
    };
    tx.execute(&create_data_table(shadow, &columns), [])?;
    tx.commit()?;
    Ok(Some(columns))
}

/// Feeds `load` a sink into the load table; answers the rows inserted and whether the sink
/// refused a key that may repeat.
fn fill_load_table(
    db: &Db,
    shadow: &str,
    columns: usize,
    load: &mut dyn FnMut(&mut dyn CampaignRowSink) -> Result<()>,
) -> Result<(u64, bool)> {
    let placeholders: String = (0..columns).map(|i| format!(", ?{}", i + 2)).collect();
    // Columns by position: the load table has `_row`, `_key`, then the table's columns.
    let mut sink = LoadSink {
        db,
        insert: db.prepare(&format!(
            "INSERT INTO {shadow} VALUES (NULL, ?1{placeholders})"
        ))?,
        columns,
        keys: KeyFilter::new(),
        inserted: 0,
        in_transaction: 0,
    };
    let loaded = load(&mut sink);
    let ended = if sink.in_transaction > 0 {
        let end = if loaded.is_ok() { "COMMIT" } else { "ROLLBACK" };
        db.execute_batch(end)
    } else {
        Ok(())
    };
    loaded?;
    ended?;
    Ok((sink.inserted, sink.keys.release()))
}

/// The sink of a direct load: one prepared INSERT into the load table, a transaction every
/// [`LOAD_ROWS_PER_TRANSACTION`] rows, and the filter that proves keys unique.
struct LoadSink<'db> {
    db: &'db Db,
    insert: rusqlite::Statement<'db>,
    columns: usize,
    keys: KeyFilter,
    inserted: u64,
    in_transaction: u64,
}

impl CampaignRowSink for LoadSink<'_> {
    fn insert(&mut self, key: Option<&str>, values: &[Option<StoredValue>]) -> Result<bool> {
        if values.len() != self.columns {
            return Err(StoreError::Invalid(format!(
                "{} values for {} columns",
                values.len(),
                self.columns
            )));
        }
        // Once some key may repeat the filter says so for every later key too.
        if key.is_some_and(|key| self.keys.insert(key)) {
            return Ok(false);
        }
        if self.in_transaction == 0 {
            self.db.execute_batch("BEGIN IMMEDIATE")?;
        }
        self.insert.raw_bind_parameter(1, key)?;
        for (i, value) in values.iter().enumerate() {
            // A blank is stored as NULL on insert, as the staged path does.
            self.insert
                .raw_bind_parameter(i + 2, value.as_ref().unwrap_or(&StoredValue::Null))?;
        }
        self.insert
            .raw_execute()
            .map_err(|e| interrupted(e.into()))?;
        self.inserted += 1;
        self.in_transaction += 1;
        if self.in_transaction >= LOAD_ROWS_PER_TRANSACTION {
            self.db.execute_batch("COMMIT")?;
            self.in_transaction = 0;
        }
        Ok(true)
    }
}

/// Builds a table's key index (after a load into an empty table).
fn build_key_index(tx: &Transaction<'_>, name: &str) -> Result<()> {
    // The sort of an index build may use as much memory as the page cache: a smaller cache
    // for the build keeps the run's peak memory where the rest of the run is.
    tx.pragma_update(None, "cache_size", INDEX_BUILD_CACHE_KIB)?;
    let built = tx.execute(&create_key_index(name)?, []);
    tx.pragma_update(None, "cache_size", super::WRITER_CACHE_KIB)?;
    built?;
    Ok(())
}

/// Page cache for the attached staging file while applying (KiB, negative for SQLite).
const STAGED_CACHE_KIB: i64 = -16_384;
/// Page cache while a key index is built (KiB, negative for SQLite).
const INDEX_BUILD_CACHE_KIB: i64 = -16_384;
/// Virtual machine steps between two looks at the cancel flag.
const PROGRESS_OPS: i32 = 100_000;

fn interrupted(e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            StoreError::Aborted(CANCELLED.into())
        }
        other => other,
    }
}

/// The message of [`StoreError::Aborted`] for a cancelled apply.
pub const CANCELLED: &str = "cancelled";

fn apply_staged_tx(
    db: &mut Db,
    table: &str,
    create: Option<&CampaignTable>,
    mode: ApplyMode,
    blank_overwrites: bool,
    staging: &CampaignStaging,
    commit: &mut dyn FnMut(&StagedOutcome) -> Result<bool>,
) -> Result<StagedOutcome> {
    // IMMEDIATE: the write lock is taken now, so the whole run sees one snapshot (IMP-28).
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(new) = create {
        create_in(&tx, new)?;
    }
    let t = load_existing(&tx, table)?;
    if staging.columns() != t.columns.len() {
        return Err(StoreError::Invalid(format!(
            "{} staged values per row for the {} columns of table {}",
            staging.columns(),
            t.columns.len(),
            t.name
        )));
    }
    let outcome = apply_staged_in(&tx, &t, mode, blank_overwrites, staging.rows_to_apply())?;
    if commit(&outcome)? {
        tx.commit()?;
    }
    // Otherwise dropping `tx` rolls back.
    Ok(outcome)
}

fn apply_staged_in(
    tx: &Transaction<'_>,
    t: &CampaignTable,
    mode: ApplyMode,
    blank_overwrites: bool,
    staging_rows: u64,
) -> Result<StagedOutcome> {
    let physical = data_table(&t.name)?;
    let key = quote_ident(KEY_COLUMN);
    let columns: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.name)).collect();
    // A staged blank is an empty BLOB (staging.rs): NULL on insert, or with blank_overwrites.
    let inserted_value = |i: usize| format!("nullif(r.v{i}, x'')");
    let mut outcome = StagedOutcome::default();

    let target_has_rows = if mode == ApplyMode::Overwrite {
        tx.execute(&format!("DELETE FROM {physical}"), [])?;
        false
    } else {
        has_rows(tx, &physical)?
    };
    // Every count follows from the statements' own change counts and the number of staged
    // rows, so no separate join is needed to find the matches.
    let candidates = staging_rows;
    let duplicate_key = |e: rusqlite::Error| match conflict(e) {
        StoreError::Conflict(_) => StoreError::Invalid(format!(
            "a key appears twice in the staged rows of table {}",
            t.name
        )),
        other => other,
    };
    // Scans staging in file order (NOT INDEXED: the key index would read staged rows in key
    // order, at random), probing the table's key index; the table's rows, loaded in file
    // order too, are then visited almost sequentially.
    if target_has_rows
        && !t.key.is_empty()
        && !columns.is_empty()
        && matches!(mode, ApplyMode::AddAndUpdate | ApplyMode::UpdateOnly)
    {
        let merged: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if blank_overwrites {
                    inserted_value(i)
                } else {
                    format!("CASE WHEN r.v{i} IS x'' THEN t.{c} ELSE r.v{i} END")
                }
            })
            .collect();
        let sets: Vec<String> = columns
            .iter()
            .zip(&merged)
            .map(|(c, m)| format!("{c} = {m}"))
            .collect();
        // Only rows whose merged values differ are written (IMP-30: the rest are unchanged).
        let differs: Vec<String> = columns
            .iter()
            .zip(&merged)
            .map(|(c, m)| format!("t.{c} IS NOT {m}"))
            .collect();
        outcome.updated = tx.execute(
            &format!(
                "UPDATE {physical} AS t SET {} FROM staging.records AS r NOT INDEXED
                 WHERE t.{key} = r.key AND r.code IS NULL AND ({})",
                sets.join(", "),
                differs.join(" OR ")
            ),
            [],
        )? as u64;
    }

    if mode == ApplyMode::UpdateOnly {
        let mut stmt = tx.prepare(&format!(
            "SELECT r.seq FROM staging.records AS r NOT INDEXED
             WHERE r.code IS NULL AND NOT EXISTS (SELECT 1 FROM {physical} AS t WHERE t.{key} = r.key)
             ORDER BY r.seq"
        ))?;
        let seqs = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        outcome.not_found = seqs.collect::<rusqlite::Result<_>>()?;
        outcome.unchanged = candidates - outcome.not_found.len() as u64 - outcome.updated;
        return Ok(outcome);
    }

    let values: String = (0..columns.len())
        .map(|i| format!(", {}", inserted_value(i)))
        .collect();
    let names: String = columns.iter().map(|c| format!(", {c}")).collect();
    let unmatched = if target_has_rows {
        format!(" AND NOT EXISTS (SELECT 1 FROM {physical} AS t WHERE t.{key} = r.key)")
    } else {
        String::new()
    };
    // Loading an empty table: build the key index once, sorted, after the rows are in,
    // instead of inserting a million random keys into it one by one.
    let rebuild_index = !target_has_rows && has_named_key_index(tx, &t.name)?;
    if rebuild_index {
        tx.execute(&format!("DROP INDEX {}", key_index(&t.name)?), [])?;
    }
    outcome.inserted = tx
        .execute(
            &format!(
                "INSERT INTO {physical} ({key}{names})
                 SELECT r.key{values} FROM staging.records AS r NOT INDEXED
                 WHERE r.code IS NULL{unmatched} ORDER BY r.seq"
            ),
            [],
        )
        .map_err(duplicate_key)? as u64;
    if rebuild_index {
        build_key_index(tx, &t.name).map_err(|e| match e {
            StoreError::Sqlite(e) => duplicate_key(e),
            other => other,
        })?;
    }
    let matched = candidates - outcome.inserted;
    outcome.unchanged = matched - outcome.updated;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteStore, Store};

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn col(name: &str) -> CampaignColumn {
        CampaignColumn {
            name: name.to_string(),
            spec: json!({"type": "text"}),
        }
    }

    fn table(name: &str, columns: &[&str], key: &[&str]) -> CampaignTable {
        CampaignTable {
            name: name.to_string(),
            columns: columns.iter().map(|c| col(c)).collect(),
            key: key.iter().map(|k| k.to_string()).collect(),
            rows: 0,
            created_at: String::new(),
        }
    }

    fn text(s: &str) -> Option<StoredValue> {
        Some(StoredValue::Text(s.to_string()))
    }

    fn t(s: &str) -> StoredValue {
        StoredValue::Text(s.to_string())
    }

    fn row(line: u64, key: Option<&str>, values: Vec<Option<StoredValue>>) -> CampaignRow {
        CampaignRow {
            line,
            key: key.map(str::to_string),
            values,
        }
    }

    /// Stages `rows` and applies them; returns (inserted, updated, unchanged, lines not
    /// found); commits when `commit` is true.
    fn apply(
        store: &SqliteStore,
        name: &str,
        mode: ApplyMode,
        blank_overwrites: bool,
        rows: Vec<CampaignRow>,
        commit: bool,
    ) -> Result<(u64, u64, u64, Vec<u64>)> {
        let dir = tempfile::tempdir().unwrap();
        let width = rows.first().map_or_else(
            || {
                store
                    .campaign_table(name)
                    .ok()
                    .flatten()
                    .map_or(0, |t| t.columns.len())
            },
            |r| r.values.len(),
        );
        let mut staging = CampaignStaging::create(dir.path(), "run", width)?;
        let mut lines = std::collections::HashMap::new();
        for row in &rows {
            let seq = staging.add_row(row.line, row.key.as_deref(), &[], &row.values)?;
            lines.insert(seq, row.line);
        }
        staging.finish_reading()?;
        let outcome = store.apply_campaign_staging(
            name,
            None,
            mode,
            blank_overwrites,
            &mut staging,
            None,
            &mut |_| commit,
        )?;
        let not_found = outcome.not_found.iter().map(|s| lines[s]).collect();
        Ok((
            outcome.inserted,
            outcome.updated,
            outcome.unchanged,
            not_found,
        ))
    }

    /// A converted row, as the campaign crate stages it.
    struct CampaignRow {
        line: u64,
        key: Option<String>,
        values: Vec<Option<StoredValue>>,
    }

    fn all_rows(store: &SqliteStore, name: &str) -> Vec<Vec<StoredValue>> {
        store.campaign_rows(name, None, 0, u64::MAX).unwrap()
    }

    /// `contacts (email, first)`, keyed by email, holding a@x/Ann and b@x/Bob.
    fn contacts() -> (tempfile::TempDir, SqliteStore) {
        let (dir, store) = store();
        store
            .create_campaign_table(&table("contacts", &["email", "first"], &["email"]))
            .unwrap();
        apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            false,
            vec![
                row(1, Some("a@x"), vec![text("a@x"), text("Ann")]),
                row(2, Some("b@x"), vec![text("b@x"), text("Bob")]),
            ],
            true,
        )
        .unwrap();
        (dir, store)
    }

    #[test]
    fn create_list_describe_with_row_counts() {
        let (_dir, store) = contacts();
        store
            .create_campaign_table(&table("Empty", &["a"], &[]))
            .unwrap();
        let tables = store.campaign_tables().unwrap();
        let summary: Vec<_> = tables.iter().map(|t| (t.name.as_str(), t.rows)).collect();
        assert_eq!(summary, [("contacts", 2), ("Empty", 0)]);
        let t = store.campaign_table("CONTACTS").unwrap().unwrap();
        assert_eq!(t.name, "contacts");
        assert_eq!(t.key, ["email"]);
        assert_eq!(t.columns, [col("email"), col("first")]);
        assert!(!t.created_at.is_empty());
        assert!(store.campaign_table("nope").unwrap().is_none());
        let err = store
            .create_campaign_table(&table("Contacts", &["x"], &[]))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(Conflict::CampaignTable)));
    }

    #[test]
    fn bad_definitions_are_rejected() {
        let (_dir, store) = store();
        for (columns, key) in [
            (&["a", "A"][..], &[][..]),
            (&["a", "_KEY"][..], &[][..]),
            (&["a", "_row"][..], &[][..]),
            (&["a", ""][..], &[][..]),
            (&["a", "tab\there"][..], &[][..]),
            (&["a"][..], &["b"][..]),
        ] {
            let err = store
                .create_campaign_table(&table("t", columns, key))
                .unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{columns:?} {err}");
        }
        assert!(store.campaign_tables().unwrap().is_empty());
        // A key names columns case-insensitively and is stored as the column spells it.
        store
            .create_campaign_table(&table("t", &["Email"], &["EMAIL"]))
            .unwrap();
        assert_eq!(store.campaign_table("t").unwrap().unwrap().key, ["Email"]);
    }

    #[test]
    fn hostile_column_names_work_and_hostile_table_names_are_rejected() {
        let (_dir, store) = store();
        let columns = [
            "a\"b",
            "x\"; DROP TABLE campaign_tables; --",
            "-- comment",
            "select",
            "from",
            "semi;colon",
            "with space",
            "rowid",
            "ünïcödé",
        ];
        store
            .create_campaign_table(&table("hostile", &columns, &["select"]))
            .unwrap();
        let values: Vec<_> = columns.iter().map(|c| text(&format!("v {c}"))).collect();
        let outcomes = apply(
            &store,
            "hostile",
            ApplyMode::AddAndUpdate,
            false,
            vec![row(1, Some("k"), values.clone())],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (1, 0, 0, vec![]));
        let expected: Vec<_> = values.into_iter().map(Option::unwrap).collect();
        assert_eq!(all_rows(&store, "hostile"), [expected]);
        let filter = RowFilter {
            column: "X\"; drop table campaign_tables; --".into(),
            op: FilterOp::Contains,
            value: "DROP".into(),
        };
        assert_eq!(
            store
                .campaign_rows("hostile", Some(&filter), 0, 10)
                .unwrap()
                .len(),
            1
        );
        store
            .add_campaign_column("hostile", &col("new\"col"))
            .unwrap();
        assert_eq!(store.campaign_table("hostile").unwrap().unwrap().rows, 1);

        for name in [
            "a\"b",
            "x; DROP TABLE campaign_tables",
            "a--b",
            "a b",
            "",
            "1abc",
            "_abc",
            "sqlite_master",
            "SQLITE_x",
            "é",
            &"a".repeat(64),
        ] {
            let err = store
                .create_campaign_table(&table(name, &["a"], &[]))
                .unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{name:?}: {err}");
            assert!(matches!(
                store.campaign_rows(name, None, 0, 1),
                Err(StoreError::Invalid(_) | StoreError::NotFound(_))
            ));
        }
        // SQL keywords are fine as table names: they are quoted and prefixed.
        store
            .create_campaign_table(&table("select", &["a"], &[]))
            .unwrap();
        store
            .create_campaign_table(&table(&"a".repeat(63), &["a"], &[]))
            .unwrap();
        assert_eq!(store.campaign_tables().unwrap().len(), 3);
    }

    #[test]
    fn add_only_inserts_and_leaves_matches_unchanged() {
        let (_dir, store) = contacts();
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::AddOnly,
            false,
            vec![
                row(1, Some("a@x"), vec![text("a@x"), text("Changed")]),
                row(2, Some("c@x"), vec![text("c@x"), text("Cid")]),
            ],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (1, 0, 1, vec![]));
        assert_eq!(
            all_rows(&store, "contacts"),
            [
                vec![t("a@x"), t("Ann")],
                vec![t("b@x"), t("Bob")],
                vec![t("c@x"), t("Cid")]
            ]
        );
    }

    #[test]
    fn update_only_updates_matches_and_reports_misses() {
        let (_dir, store) = contacts();
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::UpdateOnly,
            false,
            vec![
                row(1, Some("a@x"), vec![text("a@x"), text("Anna")]),
                row(2, Some("z@x"), vec![text("z@x"), text("Zed")]),
                row(3, Some("b@x"), vec![text("b@x"), text("Bob")]),
                row(4, None, vec![text("n@x"), text("None")]),
            ],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (0, 1, 1, vec![2, 4]));
        assert_eq!(
            all_rows(&store, "contacts"),
            [vec![t("a@x"), t("Anna")], vec![t("b@x"), t("Bob")]]
        );
    }

    #[test]
    fn add_and_update_blanks_and_clears() {
        let (_dir, store) = contacts();
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            false,
            vec![
                // blank does not overwrite: unchanged
                row(1, Some("a@x"), vec![text("a@x"), None]),
                // clear sets NULL
                row(2, Some("b@x"), vec![None, Some(StoredValue::Null)]),
                // new row with a blank: NULL
                row(3, Some("c@x"), vec![text("c@x"), None]),
                // integers are stored as integers
                row(
                    4,
                    Some("d@x"),
                    vec![text("d@x"), Some(StoredValue::Integer(7))],
                ),
            ],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (2, 1, 1, vec![]));
        assert_eq!(
            all_rows(&store, "contacts"),
            [
                vec![t("a@x"), t("Ann")],
                vec![t("b@x"), StoredValue::Null],
                vec![t("c@x"), StoredValue::Null],
                vec![t("d@x"), StoredValue::Integer(7)],
            ]
        );
        // Clearing what is already NULL changes nothing.
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            false,
            vec![row(1, Some("b@x"), vec![None, Some(StoredValue::Null)])],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (0, 0, 1, vec![]));
    }

    #[test]
    fn blank_overwrites_clears_blanks_on_update() {
        let (_dir, store) = contacts();
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            true,
            vec![
                row(1, Some("a@x"), vec![text("a@x"), None]),
                row(2, Some("c@x"), vec![text("c@x"), None]),
            ],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (1, 1, 0, vec![]));
        assert_eq!(
            all_rows(&store, "contacts"),
            [
                vec![t("a@x"), StoredValue::Null],
                vec![t("b@x"), t("Bob")],
                vec![t("c@x"), StoredValue::Null]
            ]
        );
    }

    #[test]
    fn overwrite_replaces_and_rollback_keeps_old_rows() {
        let (_dir, store) = contacts();
        let new_rows = || {
            vec![
                row(1, Some("a@x"), vec![text("a@x"), text("New Ann")]),
                row(2, Some("z@x"), vec![text("z@x"), text("Zed")]),
            ]
        };
        let old = all_rows(&store, "contacts");
        // Not committed: the old rows remain, in every mode.
        for mode in [
            ApplyMode::Overwrite,
            ApplyMode::AddOnly,
            ApplyMode::UpdateOnly,
            ApplyMode::AddAndUpdate,
        ] {
            apply(&store, "contacts", mode, true, new_rows(), false).unwrap();
            assert_eq!(all_rows(&store, "contacts"), old, "{mode:?}");
        }
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::Overwrite,
            false,
            new_rows(),
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (2, 0, 0, vec![]));
        assert_eq!(
            all_rows(&store, "contacts"),
            [vec![t("a@x"), t("New Ann")], vec![t("z@x"), t("Zed")]]
        );
        // A duplicate key in an overwrite run fails the run, and nothing changes.
        let err = apply(
            &store,
            "contacts",
            ApplyMode::Overwrite,
            false,
            vec![
                row(1, Some("q@x"), vec![text("q@x"), None]),
                row(2, Some("q@x"), vec![text("q@x"), None]),
            ],
            true,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        assert_eq!(store.campaign_table("contacts").unwrap().unwrap().rows, 2);
    }

    /// Stages `rows` in `dir` for one of the tests below.
    fn staged(dir: &std::path::Path, rows: &[CampaignRow]) -> CampaignStaging {
        let mut staging = CampaignStaging::create(dir, "run", 2).unwrap();
        for row in rows {
            staging
                .add_row(row.line, row.key.as_deref(), &[], &row.values)
                .unwrap();
        }
        staging.finish_reading().unwrap();
        staging
    }

    #[test]
    fn refused_or_cancelled_runs_roll_everything_back() {
        let (dir, store) = contacts();
        let old = all_rows(&store, "contacts");
        let rows = [
            row(1, Some("a@x"), vec![text("a@x"), text("X")]),
            row(2, Some("n@x"), vec![text("n@x"), text("N")]),
        ];
        for mode in [ApplyMode::Overwrite, ApplyMode::AddAndUpdate] {
            let mut staging = staged(dir.path(), &rows);
            let mut seen = None;
            let outcome = store
                .apply_campaign_staging(
                    "contacts",
                    None,
                    mode,
                    false,
                    &mut staging,
                    None,
                    &mut |o| {
                        seen = Some(o.clone());
                        false
                    },
                )
                .unwrap();
            assert_eq!(seen, Some(outcome));
            assert_eq!(all_rows(&store, "contacts"), old);
        }
        // A cancel flag already set interrupts the statements.
        let mut staging = staged(dir.path(), &rows);
        let cancel = Arc::new(AtomicBool::new(true));
        let err = store
            .apply_campaign_staging(
                "contacts",
                None,
                ApplyMode::Overwrite,
                false,
                &mut staging,
                Some(cancel),
                &mut |_| true,
            )
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Aborted(m) if m == CANCELLED),
            "{err}"
        );
        assert_eq!(all_rows(&store, "contacts"), old);
        // The connection is usable afterwards: the staging file was detached.
        assert_eq!(
            apply(&store, "contacts", ApplyMode::AddOnly, false, vec![], true).unwrap(),
            (0, 0, 0, vec![])
        );
        // A table created by a refused run does not exist afterwards.
        let mut staging = staged(dir.path(), &rows);
        let new = table("fresh", &["email", "first"], &["email"]);
        store
            .apply_campaign_staging(
                "fresh",
                Some(&new),
                ApplyMode::AddAndUpdate,
                false,
                &mut staging,
                None,
                &mut |_| false,
            )
            .unwrap();
        assert!(store.campaign_table("fresh").unwrap().is_none());
        // Rows of the wrong width are refused.
        let err = apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            false,
            vec![row(1, Some("w@x"), vec![text("w@x")])],
            true,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        assert!(matches!(
            apply(&store, "missing", ApplyMode::AddOnly, false, vec![], true),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn reads_during_a_run_see_the_last_committed_rows() {
        let (dir, store) = contacts();
        let mut staging = staged(dir.path(), &[row(1, Some("z@x"), vec![text("z@x"), None])]);
        let mut seen = Vec::new();
        store
            .apply_campaign_staging(
                "contacts",
                None,
                ApplyMode::Overwrite,
                false,
                &mut staging,
                None,
                &mut |_| {
                    // Would deadlock if reads used the writer the run holds.
                    seen.push(store.campaign_table("contacts").unwrap().map(|t| t.rows));
                    seen.push(Some(
                        store.campaign_rows("contacts", None, 0, 10).unwrap().len() as u64,
                    ));
                    true
                },
            )
            .unwrap();
        assert_eq!(seen, [Some(2), Some(2)]);
        assert_eq!(store.campaign_table("contacts").unwrap().unwrap().rows, 1);
    }

    #[test]
    fn keyless_tables_append() {
        let (_dir, store) = store();
        store
            .create_campaign_table(&table("log", &["msg"], &[]))
            .unwrap();
        for _ in 0..2 {
            let outcomes = apply(
                &store,
                "log",
                ApplyMode::AddOnly,
                false,
                vec![row(1, None, vec![text("hi")])],
                true,
            )
            .unwrap();
            assert_eq!(outcomes, (1, 0, 0, vec![]));
        }
        assert_eq!(store.campaign_table("log").unwrap().unwrap().rows, 2);
    }

    #[test]
    fn filters_and_pages() {
        let (_dir, store) = store();
        store
            .create_campaign_table(&table("people", &["Name", "Age"], &[]))
            .unwrap();
        let rows: Vec<_> = [("Ann", 30), ("Bob", 41), ("Joanna", 30), ("anneke", 5)]
            .iter()
            .enumerate()
            .map(|(i, (n, a))| {
                row(
                    i as u64 + 1,
                    None,
                    vec![text(n), Some(StoredValue::Integer(*a))],
                )
            })
            .collect();
        apply(&store, "people", ApplyMode::AddOnly, false, rows, true).unwrap();
        let names = |filter: Option<&RowFilter>, offset, limit| -> Vec<StoredValue> {
            store
                .campaign_rows("people", filter, offset, limit)
                .unwrap()
                .into_iter()
                .map(|mut r| r.remove(0))
                .collect()
        };
        assert_eq!(names(None, 1, 2), [t("Bob"), t("Joanna")]);
        let equals = RowFilter {
            column: "age".into(),
            op: FilterOp::Equals,
            value: "30".into(),
        };
        assert_eq!(names(Some(&equals), 0, 10), [t("Ann"), t("Joanna")]);
        let equals_text = RowFilter {
            column: "name".into(),
            op: FilterOp::Equals,
            value: "ann".into(),
        };
        assert!(names(Some(&equals_text), 0, 10).is_empty());
        let contains = RowFilter {
            column: "NAME".into(),
            op: FilterOp::Contains,
            value: "ANN".into(),
        };
        assert_eq!(
            names(Some(&contains), 0, 10),
            [t("Ann"), t("Joanna"), t("anneke")]
        );
        assert_eq!(names(Some(&contains), 1, 1), [t("Joanna")]);
        // Filter values are data, never SQL.
        let injection = RowFilter {
            column: "Name".into(),
            op: FilterOp::Equals,
            value: "x' OR '1'='1".into(),
        };
        assert!(names(Some(&injection), 0, 10).is_empty());
        let unknown = RowFilter {
            column: "nope".into(),
            op: FilterOp::Equals,
            value: String::new(),
        };
        assert!(matches!(
            store.campaign_rows("people", Some(&unknown), 0, 10),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn add_column_keeps_rows() {
        let (_dir, store) = contacts();
        store.add_campaign_column("contacts", &col("City")).unwrap();
        let err = store
            .add_campaign_column("contacts", &col("CITY"))
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Conflict(Conflict::CampaignColumn)
        ));
        assert!(matches!(
            store.add_campaign_column("contacts", &col("_key")),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.add_campaign_column("missing", &col("x")),
            Err(StoreError::NotFound(_))
        ));
        let described = store.campaign_table("contacts").unwrap().unwrap();
        assert_eq!(described.columns.len(), 3);
        assert_eq!(described.key, ["email"]);
        assert_eq!(
            all_rows(&store, "contacts")[0],
            [t("a@x"), t("Ann"), StoredValue::Null]
        );
        let outcomes = apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            false,
            vec![row(1, Some("a@x"), vec![None, None, text("Paris")])],
            true,
        )
        .unwrap();
        assert_eq!(outcomes, (0, 1, 0, vec![]));
        assert_eq!(
            all_rows(&store, "contacts")[0],
            [t("a@x"), t("Ann"), t("Paris")]
        );
    }

    #[test]
    fn scan_streams_in_insertion_order() {
        let (_dir, store) = contacts();
        let mut seen = Vec::new();
        store
            .scan_campaign_rows("contacts", &mut |r| {
                seen.push(r.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, all_rows(&store, "contacts"));
        // A visitor error stops the scan.
        let mut count = 0;
        let err = store
            .scan_campaign_rows("contacts", &mut |_| {
                count += 1;
                Err(StoreError::Aborted("stop".into()))
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Aborted(_)));
        assert_eq!(count, 1);
    }

    #[test]
    fn a_hundred_thousand_rows_in_one_call() {
        let (_dir, store) = store();
        store
            .create_campaign_table(&table("big", &["email", "n"], &["email"]))
            .unwrap();
        const N: u64 = 100_000;
        let rows = (0..N)
            .map(|i| {
                row(
                    i + 1,
                    Some(&format!("u{i}@x")),
                    vec![
                        text(&format!("u{i}@x")),
                        Some(StoredValue::Integer(i as i64)),
                    ],
                )
            })
            .collect();
        let outcome = apply(&store, "big", ApplyMode::AddAndUpdate, false, rows, true).unwrap();
        assert_eq!(outcome, (N, 0, 0, vec![]));
        assert_eq!(store.campaign_table("big").unwrap().unwrap().rows, N);

        // Again: every other row changed; blanks keep the stored email.
        let rows = (0..N)
            .map(|i| {
                let n = if i % 2 == 0 { i as i64 } else { -1 };
                row(
                    i + 1,
                    Some(&format!("u{i}@x")),
                    vec![None, Some(StoredValue::Integer(n))],
                )
            })
            .collect();
        let outcome = apply(&store, "big", ApplyMode::AddAndUpdate, false, rows, true).unwrap();
        assert_eq!(outcome, (0, N / 2, N / 2, vec![]));
        let mut scanned = 0u64;
        store
            .scan_campaign_rows("big", &mut |values| {
                assert!(
                    matches!(&values[0], StoredValue::Text(e) if e == &format!("u{scanned}@x"))
                );
                scanned += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(scanned, N);
    }

    /// Loads `rows` directly; `commit` is what the caller decides once the rows are in.
    fn load(
        store: &SqliteStore,
        create: Option<&CampaignTable>,
        name: &str,
        overwrite: bool,
        rows: &[CampaignRow],
        commit: bool,
    ) -> Result<DirectLoad> {
        store.load_campaign_table(
            name,
            create,
            overwrite,
            None,
            &mut |sink| {
                for r in rows {
                    if !sink.insert(r.key.as_deref(), &r.values)? {
                        break;
                    }
                }
                Ok(())
            },
            &mut |_| commit,
        )
    }

    fn no_load_tables(store: &SqliteStore) -> bool {
        let db = store.db();
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'campaign\\_\\_load%' ESCAPE '\\'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        n == 0
    }

    #[test]
    fn a_direct_load_creates_fills_and_indexes_the_table_at_once() {
        let (_dir, store) = store();
        let new = table("contacts", &["email", "first"], &["email"]);
        let rows = vec![
            row(1, Some("a@x"), vec![text("a@x"), text("Ann")]),
            row(2, Some("b@x"), vec![text("b@x"), None]),
        ];
        let outcome = load(&store, Some(&new), "contacts", false, &rows, true).unwrap();
        assert_eq!(
            outcome,
            DirectLoad::Loaded(StagedOutcome {
                inserted: 2,
                ..StagedOutcome::default()
            })
        );
        // A blank is NULL once inserted; the rows keep file order.
        assert_eq!(
            all_rows(&store, "contacts"),
            [vec![t("a@x"), t("Ann")], vec![t("b@x"), StoredValue::Null]]
        );
        assert!(no_load_tables(&store));
        // The key index is back: a later staged run matches on it.
        let again = apply(
            &store,
            "contacts",
            ApplyMode::AddAndUpdate,
            false,
            vec![row(1, Some("a@x"), vec![text("a@x"), text("Anna")])],
            true,
        )
        .unwrap();
        assert_eq!(again, (0, 1, 0, vec![]));
        // A table with rows is not loaded directly, and the sink is never offered.
        let refused = store
            .load_campaign_table(
                "contacts",
                None,
                false,
                None,
                &mut |_| unreachable!("a table with rows is never loaded directly"),
                &mut |_| true,
            )
            .unwrap();
        assert_eq!(refused, DirectLoad::NotEmpty);
        // Overwrite replaces every row.
        let rows = vec![row(1, Some("c@x"), vec![text("c@x"), text("Cy")])];
        load(&store, None, "contacts", true, &rows, true).unwrap();
        assert_eq!(all_rows(&store, "contacts"), [vec![t("c@x"), t("Cy")]]);
    }

    #[test]
    fn a_direct_load_that_stops_leaves_nothing() {
        let (_dir, store) = store();
        let new = table("contacts", &["email"], &["email"]);
        let unique = vec![row(1, Some("a@x"), vec![text("a@x")])];
        // A dry run (commit refused): no table, no load table.
        let outcome = load(&store, Some(&new), "contacts", false, &unique, false).unwrap();
        assert!(matches!(outcome, DirectLoad::Loaded(_)));
        assert!(store.campaign_table("contacts").unwrap().is_none());
        assert!(no_load_tables(&store));
        // A key seen twice: the sink refuses it and the load is rolled back.
        let repeated = vec![
            row(1, Some("a@x"), vec![text("a@x")]),
            row(2, Some("a@x"), vec![text("a@x")]),
        ];
        let outcome = load(&store, Some(&new), "contacts", false, &repeated, true).unwrap();
        assert_eq!(outcome, DirectLoad::KeysMayRepeat);
        assert!(store.campaign_table("contacts").unwrap().is_none());
        assert!(no_load_tables(&store));
        // An error of the caller's (a read error, a cancel) rolls back too.
        let failed = store.load_campaign_table(
            "contacts",
            Some(&new),
            false,
            None,
            &mut |sink| {
                sink.insert(Some("a@x"), &[text("a@x")])?;
                Err(StoreError::Aborted("the file broke".into()))
            },
            &mut |_| true,
        );
        assert!(matches!(failed, Err(StoreError::Aborted(m)) if m == "the file broke"));
        assert!(store.campaign_table("contacts").unwrap().is_none());
        assert!(no_load_tables(&store));
    }

    #[test]
    fn a_killed_loads_leftover_is_dropped_and_a_running_one_is_left_alone() {
        let (dir, store) = store();
        store
            .create_campaign_table(&table("contacts", &["email"], &["email"]))
            .unwrap();
        // What a killed load leaves: a filled load table.
        store
            .db()
            .execute_batch(
                "CREATE TABLE campaign__load_contacts (_row INTEGER PRIMARY KEY, _key TEXT, email ANY);
                 INSERT INTO campaign__load_contacts VALUES (NULL, 'old@x', 'old@x');",
            )
            .unwrap();
        // While another process loads this table (it holds the lock), no direct load.
        let lock = std::fs::File::create(dir.path().join("campaign-load-contacts.lock")).unwrap();
        lock.lock().unwrap();
        let rows = vec![row(1, Some("a@x"), vec![text("a@x")])];
        assert_eq!(
            load(&store, None, "contacts", false, &rows, true).unwrap(),
            DirectLoad::Busy
        );
        lock.unlock().unwrap();
        // Once it is gone, the leftover is dropped and the load goes ahead.
        assert!(matches!(
            load(&store, None, "contacts", false, &rows, true).unwrap(),
            DirectLoad::Loaded(_)
        ));
        assert_eq!(all_rows(&store, "contacts"), [vec![t("a@x")]]);
        assert!(no_load_tables(&store));
    }
}
