//! SQL of saved import definitions and their runs (migration 0005).

use rusqlite::{Connection as Db, OptionalExtension, params};
use userbridge_model::time;

use crate::{ImportDefinitionRecord, ImportRunRecord, Result};

fn definition_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportDefinitionRecord> {
    Ok(ImportDefinitionRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        definition: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRunRecord> {
    Ok(ImportRunRecord {
        id: r.get(0)?,
        definition_id: r.get(1)?,
        state: r.get(2)?,
        started_at: r.get(3)?,
        report: r.get(4)?,
        dry_run: r.get(5)?,
        document: r.get(6)?,
        message: r.get(7)?,
    })
}

fn or_now(value: &str) -> String {
    match value.is_empty() {
        true => time::now(),
        false => value.to_string(),
    }
}

pub(crate) fn save_definition(db: &mut Db, d: &ImportDefinitionRecord) -> Result<()> {
    let created = or_now(&d.created_at);
    let updated = or_now(&d.updated_at);
    db.execute(
        "INSERT INTO import_definitions (id, name, definition, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name,
             definition = excluded.definition, updated_at = excluded.updated_at",
        params![d.id, d.name, d.definition, created, updated],
    )?;
    Ok(())
}

pub(crate) fn definitions(db: &Db) -> Result<Vec<ImportDefinitionRecord>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, name, definition, created_at, updated_at FROM import_definitions
         ORDER BY name, id",
    )?;
    let rows = stmt.query_map([], definition_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn definition(db: &Db, id: &str) -> Result<Option<ImportDefinitionRecord>> {
    Ok(db
        .prepare_cached(
            "SELECT id, name, definition, created_at, updated_at FROM import_definitions
             WHERE id = ?1",
        )?
        .query_row([id], definition_from_row)
        .optional()?)
}

pub(crate) fn save_run(db: &mut Db, run: &ImportRunRecord) -> Result<()> {
    db.execute(
        "INSERT INTO import_runs
             (id, definition_id, state, started_at, report, dry_run, document, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, report = excluded.report,
             message = excluded.message",
        params![
            run.id,
            run.definition_id,
            run.state,
            or_now(&run.started_at),
            run.report,
            run.dry_run,
            run.document,
            run.message
        ],
    )?;
    Ok(())
}

pub(crate) fn runs(db: &Db, definition_id: &str) -> Result<Vec<ImportRunRecord>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, definition_id, state, started_at, report, dry_run, document, message FROM import_runs
         WHERE definition_id = ?1 ORDER BY started_at, id",
    )?;
    let rows = stmt.query_map([definition_id], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn run(db: &Db, id: &str) -> Result<Option<ImportRunRecord>> {
    Ok(db
        .prepare_cached(
            "SELECT id, definition_id, state, started_at, report, dry_run, document, message
             FROM import_runs WHERE id = ?1",
        )?
        .query_row([id], run_from_row)
        .optional()?)
}

pub(crate) fn runs_with_state(db: &Db, state: &str) -> Result<Vec<ImportRunRecord>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, definition_id, state, started_at, report, dry_run, document, message
         FROM import_runs WHERE state = ?1 ORDER BY started_at, id",
    )?;
    let rows = stmt.query_map([state], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
