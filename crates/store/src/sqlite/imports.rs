//! SQL of saved import definitions and their runs (migrations 0005–0007).

use rusqlite::{Connection as Db, OptionalExtension, TransactionBehavior, params};
use userbridge_model::time;

use crate::{
    Conflict, DefinitionDeletion, ImportDefinitionRecord, ImportRunRecord, Result, StoreError,
};

const DEFINITION_COLUMNS: &str = "id, name, definition, version, created_at, updated_at";
const RUN_COLUMNS: &str =
    "id, definition_id, definition_version, state, started_at, report, dry_run, document, message";

fn definition_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportDefinitionRecord> {
    Ok(ImportDefinitionRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        definition: r.get(2)?,
        version: r.get::<_, i64>(3)? as u64,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRunRecord> {
    Ok(ImportRunRecord {
        id: r.get(0)?,
        definition_id: r.get(1)?,
        definition_version: r.get::<_, i64>(2)? as u64,
        state: r.get(3)?,
        started_at: r.get(4)?,
        report: r.get(5)?,
        dry_run: r.get(6)?,
        document: r.get(7)?,
        message: r.get(8)?,
    })
}

fn or_now(value: &str) -> String {
    match value.is_empty() {
        true => time::now(),
        false => value.to_string(),
    }
}

/// Inserts (version 1) or replaces (version + 1) a definition; with `existing_only`, an
/// unknown id writes nothing and answers `None`. The name check and the write share one
/// IMMEDIATE transaction, so two writers (the server and the CLI on the same file) cannot
/// both take a name. Names are compared in Rust: SQLite's `lower()` folds ASCII only.
pub(crate) fn save_definition(
    db: &mut Db,
    d: &ImportDefinitionRecord,
    existing_only: bool,
) -> Result<Option<u64>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let wanted = d.name.to_lowercase();
    let taken = {
        let mut stmt = tx.prepare_cached("SELECT name FROM import_definitions WHERE id <> ?1")?;
        let names = stmt.query_map([&d.id], |r| r.get::<_, String>(0))?;
        let mut taken = false;
        for name in names {
            taken |= name?.to_lowercase() == wanted;
        }
        taken
    };
    if taken {
        return Err(StoreError::Conflict(Conflict::ImportDefinitionName));
    }
    let updated = or_now(&d.updated_at);
    let version: Option<i64> = tx
        .prepare_cached(
            "UPDATE import_definitions SET name = ?2, definition = ?3, updated_at = ?4,
                 version = version + 1
             WHERE id = ?1 RETURNING version",
        )?
        .query_row(params![d.id, d.name, d.definition, updated], |r| r.get(0))
        .optional()?;
    let version = match version {
        Some(v) => v as u64,
        None if existing_only => return Ok(None),
        None => {
            tx.execute(
                "INSERT INTO import_definitions
                     (id, name, definition, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                params![d.id, d.name, d.definition, or_now(&d.created_at), updated],
            )?;
            1
        }
    };
    tx.commit()?;
    Ok(Some(version))
}

pub(crate) fn delete_definition(
    db: &mut Db,
    id: &str,
    busy_states: &[&str],
) -> Result<DefinitionDeletion> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let busy = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM import_runs WHERE definition_id = ?1 AND state = ?2
             ORDER BY started_at, id LIMIT 1"
        ))?;
        let mut busy = None;
        for state in busy_states {
            busy = stmt.query_row([id, state], run_from_row).optional()?;
            if busy.is_some() {
                break;
            }
        }
        busy
    };
    if let Some(run) = busy {
        return Ok(DefinitionDeletion::Busy(run));
    }
    let deleted = tx.execute("DELETE FROM import_definitions WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(match deleted {
        0 => DefinitionDeletion::NotFound,
        _ => DefinitionDeletion::Deleted,
    })
}

pub(crate) fn definitions(db: &Db) -> Result<Vec<ImportDefinitionRecord>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM import_definitions ORDER BY name, id"
    ))?;
    let rows = stmt.query_map([], definition_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn definition(db: &Db, id: &str) -> Result<Option<ImportDefinitionRecord>> {
    Ok(db
        .prepare_cached(&format!(
            "SELECT {DEFINITION_COLUMNS} FROM import_definitions WHERE id = ?1"
        ))?
        .query_row([id], definition_from_row)
        .optional()?)
}

pub(crate) fn save_run(db: &mut Db, run: &ImportRunRecord) -> Result<()> {
    db.execute(
        "INSERT INTO import_runs (id, definition_id, definition_version, state, started_at,
             report, dry_run, document, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, report = excluded.report,
             message = excluded.message, definition_version = excluded.definition_version",
        params![
            run.id,
            run.definition_id,
            run.definition_version as i64,
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

/// Moves a run from state `from` to `to` (and sets its message) only if it is still in `from`.
pub(crate) fn transition_run(
    db: &Db,
    id: &str,
    from: &str,
    to: &str,
    message: Option<&str>,
) -> Result<bool> {
    let changed = db.execute(
        "UPDATE import_runs SET state = ?3, message = coalesce(?4, message)
         WHERE id = ?1 AND state = ?2",
        params![id, from, to, message],
    )?;
    Ok(changed == 1)
}

pub(crate) fn delete_run(db: &Db, id: &str) -> Result<bool> {
    Ok(db.execute("DELETE FROM import_runs WHERE id = ?1", [id])? == 1)
}

pub(crate) fn runs(db: &Db, definition_id: &str) -> Result<Vec<ImportRunRecord>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM import_runs WHERE definition_id = ?1 ORDER BY started_at, id"
    ))?;
    let rows = stmt.query_map([definition_id], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn run(db: &Db, id: &str) -> Result<Option<ImportRunRecord>> {
    Ok(db
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM import_runs WHERE id = ?1"
        ))?
        .query_row([id], run_from_row)
        .optional()?)
}

pub(crate) fn runs_with_state(db: &Db, state: &str) -> Result<Vec<ImportRunRecord>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM import_runs WHERE state = ?1 ORDER BY started_at, id"
    ))?;
    let rows = stmt.query_map([state], run_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::sqlite::MIGRATIONS;
    use crate::{
        Conflict, DefinitionDeletion, ImportDefinitionRecord, ImportRunRecord, SqliteStore, Store,
        StoreError,
    };

    fn definition(id: &str, name: &str) -> ImportDefinitionRecord {
        ImportDefinitionRecord {
            id: id.into(),
            name: name.into(),
            definition: format!("{{\"name\":{name:?}}}"),
            version: 0,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn run(id: &str, definition_id: &str, state: &str) -> ImportRunRecord {
        ImportRunRecord {
            id: id.into(),
            definition_id: definition_id.into(),
            definition_version: 2,
            state: state.into(),
            started_at: String::new(),
            report: String::new(),
            dry_run: false,
            document: None,
            message: None,
        }
    }

    #[test]
    fn versions_start_at_one_and_count_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let mut d = definition("def_a", "A");
        d.created_at = "2024-01-01T00:00:00.000Z".into();
        d.version = 7; // ignored: the store numbers versions
        store.save_import_definition(&d).unwrap();
        let saved = store.import_definition("def_a").unwrap().unwrap();
        assert_eq!(saved.version, 1);

        d.name = "A renamed".into();
        d.created_at = String::new();
        assert_eq!(store.update_import_definition(&d).unwrap(), Some(2));
        store.save_import_definition(&d).unwrap();
        let saved = store.import_definition("def_a").unwrap().unwrap();
        assert_eq!(saved.version, 3);
        assert_eq!(saved.name, "A renamed");
        assert_eq!(saved.created_at, "2024-01-01T00:00:00.000Z");
        assert_ne!(saved.updated_at, saved.created_at);

        // An update of an unknown id creates nothing.
        assert_eq!(
            store
                .update_import_definition(&definition("def_b", "B"))
                .unwrap(),
            None
        );
        assert!(store.import_definition("def_b").unwrap().is_none());
    }

    #[test]
    fn names_are_unique_case_insensitively() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store
            .save_import_definition(&definition("def_a", "Ünïcode users"))
            .unwrap();
        let clash = |r: crate::Result<()>| {
            matches!(r, Err(StoreError::Conflict(Conflict::ImportDefinitionName)))
        };
        assert!(clash(
            store.save_import_definition(&definition("def_b", "üNÏCODE USERS"))
        ));
        store
            .save_import_definition(&definition("def_b", "other"))
            .unwrap();
        assert!(clash(
            store
                .update_import_definition(&definition("def_b", "ünïcode Users"))
                .map(|_| ())
        ));
        // A definition may change the case of its own name.
        assert_eq!(
            store
                .update_import_definition(&definition("def_a", "ÜNÏCODE USERS"))
                .unwrap(),
            Some(2)
        );
        assert_eq!(
            store.import_definition("def_b").unwrap().unwrap().version,
            1
        );
    }

    #[test]
    fn a_transition_happens_only_from_the_expected_state() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store
            .save_import_run(&run("run_1", "def_a", "queued"))
            .unwrap();
        let to_running = || store.transition_import_run("run_1", "queued", "running", None);
        assert!(to_running().unwrap());
        // Whoever comes second finds the state changed and changes nothing.
        assert!(!to_running().unwrap());
        assert!(
            !store
                .transition_import_run("run_1", "queued", "cancelled", Some("too late"))
                .unwrap()
        );
        let saved = store.import_run("run_1").unwrap().unwrap();
        assert_eq!((saved.state.as_str(), saved.message), ("running", None));
        assert!(
            !store
                .transition_import_run("run_9", "queued", "running", None)
                .unwrap()
        );
    }

    #[test]
    fn delete_refuses_busy_definitions_and_keeps_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store
            .save_import_definition(&definition("def_a", "A"))
            .unwrap();
        store
            .save_import_run(&run("run_1", "def_a", "completed"))
            .unwrap();
        store
            .save_import_run(&run("run_2", "def_a", "queued"))
            .unwrap();
        let busy = ["queued", "running"];
        match store.delete_import_definition("def_a", &busy).unwrap() {
            DefinitionDeletion::Busy(r) => assert_eq!(r.id, "run_2"),
            other => panic!("{other:?}"),
        }
        assert!(store.import_definition("def_a").unwrap().is_some());

        store
            .save_import_run(&run("run_2", "def_a", "failed"))
            .unwrap();
        assert_eq!(
            store.delete_import_definition("def_a", &busy).unwrap(),
            DefinitionDeletion::Deleted
        );
        assert!(store.import_definition("def_a").unwrap().is_none());
        assert_eq!(
            store.delete_import_definition("def_a", &busy).unwrap(),
            DefinitionDeletion::NotFound
        );
        let runs = store.import_runs("def_a").unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].definition_version, 2);
        assert_eq!(
            store.import_run("run_1").unwrap().unwrap().state,
            "completed"
        );
    }

    /// Migration 0007 on a database written by the previous schema: existing definitions
    /// and runs read as version 1.
    #[test]
    fn migration_numbers_existing_rows_version_one() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let db =
                rusqlite::Connection::open(tmp.path().join(super::super::DATABASE_FILE)).unwrap();
            for sql in &MIGRATIONS[..6] {
                db.execute_batch(sql).unwrap();
            }
            db.pragma_update(None, "user_version", 6).unwrap();
            db.execute_batch(
                "INSERT INTO import_definitions VALUES ('def_old', 'Old', '{}', 't0', 't0');
                 INSERT INTO import_runs (id, definition_id, state, started_at, report)
                     VALUES ('run_old', 'def_old', 'completed', 't1', '{}');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(tmp.path()).unwrap();
        let d = store.import_definition("def_old").unwrap().unwrap();
        assert_eq!((d.version, d.created_at.as_str()), (1, "t0"));
        let r = store.import_run("run_old").unwrap().unwrap();
        assert_eq!(r.definition_version, 1);
        let mut d = d;
        d.updated_at = String::new();
        assert_eq!(store.update_import_definition(&d).unwrap(), Some(2));
    }
}
