//! The embedded SQLite backend: one database file, WAL journal, versioned migrations.

mod admins;
mod audit;
mod campaign_tables;
mod documents;
mod imports;
mod key_filter;
mod search;
pub(crate) mod staging;
mod users;

pub use campaign_tables::CANCELLED;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection as Db, OpenFlags, OptionalExtension, params};
use userbridge_model::query::Query;
use userbridge_model::{Connection, Job, JobKind, JobStatus, User, ids, time};

use crate::{
    Admin, ApplyMode, AuditEvent, CampaignColumn, CampaignTable, Client, Conflict,
    DefinitionDeletion, DocDirectory, Document, ImportDefinitionRecord, ImportRunRecord, Result,
    RowFilter, SigningKeyRecord, Store, StoreError, StoredValue, UserScan, UserSearch, WebSession,
    WriteTx,
};

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_import_errors.sql"),
    include_str!("migrations/0003_documents.sql"),
    include_str!("migrations/0004_campaign_tables.sql"),
    include_str!("migrations/0005_import_definitions.sql"),
    include_str!("migrations/0006_import_processes.sql"),
    include_str!("migrations/0007_definition_versions.sql"),
    include_str!("migrations/0008_web_admins.sql"),
    include_str!("migrations/0009_signing_keys.sql"),
    include_str!("migrations/0010_audit_log.sql"),
];

/// The connection every fresh directory starts with (Auth0's default database connection).
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// Page cache of the writing connection, in KiB (negative = KiB for SQLite).
pub(crate) const WRITER_CACHE_KIB: i64 = -65_536;

/// Checkpoint the WAL every 64 MiB rather than every 4 MiB: bulk imports then copy each
/// page back to the database file far fewer times.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "userbridge.db";

pub struct SqliteStore {
    path: PathBuf,
    db: Mutex<Db>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn configure(db: &Db) -> Result<()> {
    db.busy_timeout(std::time::Duration::from_secs(30))?;
    db.pragma_update(None, "foreign_keys", "ON")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    // 8 MiB page cache for readers: scans are sequential, a larger cache would only
    // grow the memory an export needs.
    db.pragma_update(None, "cache_size", -8_192)?;
    Ok(())
}

/// [`configure`] for a connection that writes in bulk.
fn configure_writer(db: &Db) -> Result<()> {
    configure(db)?;
    // A larger cache: bulk inserts touch index pages all over, and every miss is a read
    // plus a rewrite at commit.
    db.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
    db.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating when needed) the database in `data_dir`, runs pending migrations
    /// and makes sure the default connection exists.
    pub fn open(data_dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let mut db = Db::open(&path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        configure_writer(&db)?;
        migrate(&mut db)?;
        let store = SqliteStore {
            path,
            db: Mutex::new(db),
        };
        if store.connection_by_name(DEFAULT_CONNECTION)?.is_none() {
            store.create_connection(DEFAULT_CONNECTION)?;
        }
        Ok(store)
    }

    /// Path of the database file (what the `sqlite3` CLI opens in the benchmarks).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        // A panic while holding the lock cannot leave SQLite half-written (every write is a
        // transaction), so a poisoned lock is still safe to use.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A separate read-only connection, so a long scan never blocks writers (WAL).
    fn reader(&self) -> Result<Db> {
        let db = Db::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&db)?;
        Ok(db)
    }

    fn connection_names(db: &Db) -> Result<HashMap<String, Arc<str>>> {
        let mut stmt = db.prepare_cached("SELECT id, name FROM connections")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut names = HashMap::new();
        for row in rows {
            let (id, name) = row?;
            names.insert(id, Arc::from(name));
        }
        Ok(names)
    }
}

fn migrate(db: &mut Db) -> Result<()> {
    let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::SchemaTooNew {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = db.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Maps a UNIQUE violation to the key it concerns; other errors pass through.
pub(crate) fn conflict(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(e, Some(msg)) = &err
        && e.code == rusqlite::ErrorCode::ConstraintViolation
        && msg.contains("UNIQUE")
    {
        let which = if msg.contains("users.user_id") {
            Conflict::UserId
        } else if msg.contains("users.email") {
            Conflict::Email
        } else if msg.contains("users.username") {
            Conflict::Username
        } else if msg.contains("connections.name") {
            Conflict::ConnectionName
        } else if msg.contains("documents.name_key") || msg.contains("doc_directories.name_key") {
            Conflict::DocumentName
        } else {
            Conflict::Other
        };
        return StoreError::Conflict(which);
    }
    StoreError::Sqlite(err)
}

fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Job, String, String, String)> {
    let spec: String = row.get("spec")?;
    let result: Option<String> = row.get("result")?;
    let job = Job {
        id: row.get("id")?,
        kind: JobKind::UsersExport,
        status: JobStatus::Pending,
        created_at: row.get("created_at")?,
        connection_id: row.get("connection_id")?,
        connection: row.get("connection")?,
        spec: serde_json::Value::Null,
        processed: row.get::<_, i64>("processed")? as u64,
        total: row.get::<_, i64>("total")? as u64,
        status_details: row.get("status_details")?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
        finished_at: row.get("finished_at")?,
        created_by: row.get("created_by")?,
    };
    Ok((job, row.get("kind")?, row.get("status")?, spec))
}

fn finish_job(parts: (Job, String, String, String)) -> Result<Job> {
    let (mut job, kind, status, spec) = parts;
    job.kind = kind
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("job {}: {e}", job.id)))?;
    job.status = status
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("job {}: {e}", job.id)))?;
    job.spec = serde_json::from_str(&spec)
        .map_err(|e| StoreError::Corrupt(format!("job {} spec: {e}", job.id)))?;
    Ok(job)
}

const JOB_SELECT: &str = "SELECT j.*, c.name AS connection FROM jobs j \
                          LEFT JOIN connections c ON c.id = j.connection_id";

fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

impl Store for SqliteStore {
    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    fn connections(&self) -> Result<Vec<Connection>> {
        let db = self.db();
        let mut stmt = db.prepare_cached("SELECT id, name FROM connections ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(Connection {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn connection_by_id(&self, id: &str) -> Result<Option<Connection>> {
        Ok(self
            .db()
            .query_row(
                "SELECT id, name FROM connections WHERE id = ?1",
                [id],
                |r| {
                    Ok(Connection {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn connection_by_name(&self, name: &str) -> Result<Option<Connection>> {
        Ok(self
            .db()
            .query_row(
                "SELECT id, name FROM connections WHERE name = ?1",
                [name],
                |r| {
                    Ok(Connection {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn create_connection(&self, name: &str) -> Result<Connection> {
        let connection = Connection {
            id: ids::new_connection_id(),
            name: name.to_string(),
        };
        self.db()
            .execute(
                "INSERT INTO connections (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![connection.id, connection.name, time::now()],
            )
            .map_err(conflict)?;
        Ok(connection)
    }

    fn insert_users(&self, connection_id: &str, users: &[User]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        users::insert(&tx, connection_id, users)?;
        tx.commit()?;
        Ok(())
    }

    fn user(&self, user_id: &str) -> Result<Option<User>> {
        let db = self.db();
        let names = Self::connection_names(&db)?;
        users::select_one(&db, &names, "u.user_id = ?1", &[&user_id])
    }

    fn update_user(&self, user: &User) -> Result<()> {
        users::update(&self.db(), user)
    }

    fn delete_user(&self, user_id: &str) -> Result<bool> {
        Ok(self
            .db()
            .execute("DELETE FROM users WHERE user_id = ?1", [user_id])?
            > 0)
    }

    fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        let db = self.db();
        let names = Self::connection_names(&db)?;
        users::select_many(&db, &names, "u.email = ?1 ORDER BY u.user_id", &[&email])
    }

    fn search_users(&self, search: &UserSearch) -> Result<Vec<User>> {
        let db = self.db();
        let names = Self::connection_names(&db)?;
        users::search(&db, &names, search)
    }

    fn count_users(&self, query: Option<&Query>, connection: Option<&str>) -> Result<u64> {
        users::count(&self.db(), query, connection)
    }

    fn count_scan(&self, scan: &UserScan) -> Result<u64> {
        // On a reader with a small cache, so counting never fills the writer's cache.
        let db = self.reader()?;
        let all: i64 = match &scan.connection_id {
            Some(id) => db.query_row(
                "SELECT count(*) FROM users WHERE connection_id = ?1",
                [id],
                |r| r.get(0),
            )?,
            None => db.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?,
        };
        let all = all as u64;
        Ok(scan.limit.map_or(all, |limit| all.min(limit)))
    }

    fn scan_users(
        &self,
        scan: &UserScan,
        visit: &mut dyn FnMut(&User) -> Result<()>,
    ) -> Result<()> {
        let db = self.reader()?;
        let names = Self::connection_names(&db)?;
        users::scan(&db, &names, scan, visit)
    }

    fn create_client(&self, client: &Client) -> Result<()> {
        self.db()
            .execute(
                "INSERT INTO clients (client_id, name, secret_hash, scopes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    client.client_id,
                    client.name,
                    client.secret_hash,
                    client.scopes.join(" "),
                    client.created_at
                ],
            )
            .map_err(conflict)?;
        Ok(())
    }

    fn client(&self, client_id: &str) -> Result<Option<Client>> {
        Ok(self
            .db()
            .query_row(
                "SELECT client_id, name, secret_hash, scopes, created_at FROM clients
                 WHERE client_id = ?1",
                [client_id],
                client_from_row,
            )
            .optional()?)
    }

    fn set_client_scopes(&self, client_id: &str, scopes: &[String]) -> Result<()> {
        self.db().execute(
            "UPDATE clients SET scopes = ?2 WHERE client_id = ?1",
            params![client_id, scopes.join(" ")],
        )?;
        Ok(())
    }

    fn clients(&self) -> Result<Vec<Client>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT client_id, name, secret_hash, scopes, created_at FROM clients ORDER BY created_at",
        )?;
        let rows = stmt.query_map([], client_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> Result<bool> {
        let changed = self.db().execute(
            "UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1",
            params![client_id, secret_hash],
        )?;
        Ok(changed > 0)
    }

    fn delete_client(&self, client_id: &str) -> Result<bool> {
        let deleted = self
            .db()
            .execute("DELETE FROM clients WHERE client_id = ?1", [client_id])?;
        Ok(deleted > 0)
    }

    fn add_signing_key(&self, kid: &str, now: i64) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
            [now],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (kid, created_at, retired_at) VALUES (?1, ?2, NULL)",
            params![kid, now],
        )
        .map_err(conflict)?;
        tx.commit()?;
        Ok(())
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT kid, created_at, retired_at FROM signing_keys ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([], signing_key_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn signing_key(&self, kid: &str) -> Result<Option<SigningKeyRecord>> {
        Ok(self
            .db()
            .query_row(
                "SELECT kid, created_at, retired_at FROM signing_keys WHERE kid = ?1",
                [kid],
                signing_key_from_row,
            )
            .optional()?)
    }

    fn current_signing_key(&self) -> Result<Option<SigningKeyRecord>> {
        Ok(self
            .db()
            .query_row(
                "SELECT kid, created_at, retired_at FROM signing_keys WHERE retired_at IS NULL",
                [],
                signing_key_from_row,
            )
            .optional()?)
    }

    fn delete_signing_key(&self, kid: &str) -> Result<bool> {
        let deleted = self
            .db()
            .execute("DELETE FROM signing_keys WHERE kid = ?1", [kid])?;
        Ok(deleted > 0)
    }

    fn create_job(&self, job: &Job) -> Result<()> {
        self.db().execute(
            "INSERT INTO jobs (id, kind, status, created_at, connection_id, spec, processed, total,
                               status_details, result, finished_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                job.id,
                job.kind.as_str(),
                job.status.as_str(),
                job.created_at,
                job.connection_id,
                job.spec.to_string(),
                job.processed as i64,
                job.total as i64,
                job.status_details,
                job.result.as_ref().map(|r| r.to_string()),
                job.finished_at,
                job.created_by,
            ],
        )?;
        Ok(())
    }

    fn job(&self, id: &str) -> Result<Option<Job>> {
        let db = self.db();
        let parts = db
            .query_row(&format!("{JOB_SELECT} WHERE j.id = ?1"), [id], job_from_row)
            .optional()?;
        parts.map(finish_job).transpose()
    }

    fn update_job(&self, job: &Job) -> Result<()> {
        update_job(&self.db(), job)
    }

    fn set_job_progress(&self, id: &str, processed: u64, total: u64) -> Result<()> {
        self.db().execute(
            "UPDATE jobs SET processed = ?2, total = ?3 WHERE id = ?1",
            params![id, processed as i64, total as i64],
        )?;
        Ok(())
    }

    fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(&format!(
            "{JOB_SELECT} WHERE j.status = ?1 ORDER BY j.created_at"
        ))?;
        let rows = stmt.query_map([status.as_str()], job_from_row)?;
        let parts: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        parts.into_iter().map(finish_job).collect()
    }

    fn jobs_page(&self, offset: u64, limit: u64) -> Result<Vec<Job>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(&format!(
            "{JOB_SELECT} ORDER BY j.created_at DESC, j.id DESC LIMIT ?1 OFFSET ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![limit, offset], job_from_row)?;
        let parts: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
        parts.into_iter().map(finish_job).collect()
    }

    fn count_jobs(&self) -> Result<u64> {
        let count: i64 = self
            .db()
            .query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))?;
        Ok(count as u64)
    }

    fn delete_job(&self, id: &str) -> Result<()> {
        self.db().execute("DELETE FROM jobs WHERE id = ?1", [id])?;
        Ok(())
    }

    fn job_errors(&self, job_id: &str) -> Result<Vec<String>> {
        let db = self.db();
        let mut stmt =
            db.prepare_cached("SELECT body FROM job_errors WHERE job_id = ?1 ORDER BY idx")?;
        let rows = stmt.query_map([job_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn delete_job_errors(&self, job_id: &str) -> Result<()> {
        self.db()
            .execute("DELETE FROM job_errors WHERE job_id = ?1", [job_id])?;
        Ok(())
    }

    fn count_active_jobs_by(&self, created_by: &str) -> Result<u64> {
        let n: i64 = self.db().query_row(
            "SELECT count(*) FROM jobs
             WHERE created_by = ?1 AND status IN ('pending', 'processing')",
            [created_by],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        audit::record(&self.db(), event)
    }

    fn audit_events(&self, offset: u64, limit: u64) -> Result<Vec<AuditEvent>> {
        audit::page(&self.db(), offset, limit)
    }

    fn count_audit_events(&self) -> Result<u64> {
        audit::count(&self.db())
    }

    fn set_admin_password(&self, username: &str, password_hash: &str) -> Result<()> {
        admins::set_password(&mut self.db(), username, password_hash)
    }

    fn admin(&self, username: &str) -> Result<Option<Admin>> {
        admins::admin(&self.db(), username)
    }

    fn admins(&self) -> Result<Vec<Admin>> {
        admins::admins(&self.db())
    }

    fn create_web_session(&self, digest: &str, session: &WebSession) -> Result<()> {
        admins::create_session(&self.db(), digest, session)
    }

    fn web_session(&self, digest: &str) -> Result<Option<WebSession>> {
        admins::session(&self.db(), digest)
    }

    fn delete_web_session(&self, digest: &str) -> Result<bool> {
        admins::delete_session(&self.db(), digest)
    }

    fn delete_expired_web_sessions(&self, now: i64) -> Result<u64> {
        admins::delete_expired(&self.db(), now)
    }

    fn doc_directory(&self, parent_id: &str, name: &str) -> Result<Option<DocDirectory>> {
        documents::directory(&self.db(), parent_id, name)
    }

    fn doc_directories(&self, parent_id: &str) -> Result<Vec<DocDirectory>> {
        documents::directories(&self.db(), parent_id)
    }

    fn create_doc_directory(&self, directory: &DocDirectory) -> Result<()> {
        documents::create_directory(&self.db(), directory)
    }

    fn delete_doc_directory(&self, id: &str, recursive: bool) -> Result<Option<Vec<String>>> {
        documents::delete_directory(&mut self.db(), id, recursive)
    }

    fn move_doc_directory(&self, id: &str, parent_id: &str, name: &str) -> Result<()> {
        documents::move_directory(&self.db(), id, parent_id, name)
    }

    fn document(&self, directory_id: &str, name: &str) -> Result<Option<Document>> {
        documents::document(&self.db(), directory_id, name)
    }

    fn documents(&self, directory_id: &str) -> Result<Vec<Document>> {
        documents::documents(&self.db(), directory_id)
    }

    fn insert_document(&self, document: &Document, replacing: Option<&str>) -> Result<()> {
        documents::insert_document(&mut self.db(), document, replacing)
    }

    fn delete_document(&self, id: &str) -> Result<bool> {
        documents::delete_document(&self.db(), id)
    }

    fn move_document(&self, id: &str, directory_id: &str, name: &str) -> Result<()> {
        documents::move_document(&self.db(), id, directory_id, name)
    }

    fn search_documents(
        &self,
        directory_id: &str,
        needle: &str,
    ) -> Result<Vec<(String, Document)>> {
        documents::search(&self.db(), directory_id, needle)
    }

    // Reads of campaign tables go through a reader connection: a run holds the writer for
    // its whole transaction (RUN-2), and browsing must not wait for it (WAL: readers see the
    // last committed state).
    fn create_campaign_table(&self, table: &CampaignTable) -> Result<()> {
        campaign_tables::create(&mut self.db(), table)
    }

    fn campaign_tables(&self) -> Result<Vec<CampaignTable>> {
        campaign_tables::tables(&self.reader()?)
    }

    fn campaign_table(&self, name: &str) -> Result<Option<CampaignTable>> {
        campaign_tables::table(&self.reader()?, name)
    }

    fn add_campaign_column(&self, table: &str, column: &CampaignColumn) -> Result<()> {
        campaign_tables::add_column(&mut self.db(), table, column)
    }

    fn campaign_rows(
        &self,
        table: &str,
        filter: Option<&RowFilter>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Vec<StoredValue>>> {
        campaign_tables::rows(&self.reader()?, table, filter, offset, limit)
    }

    fn scan_campaign_rows(
        &self,
        table: &str,
        visit: &mut dyn FnMut(&[StoredValue]) -> Result<()>,
    ) -> Result<()> {
        // On a reader: a long export never blocks a run.
        campaign_tables::scan(&self.reader()?, table, visit)
    }

    fn save_import_definition(&self, definition: &ImportDefinitionRecord) -> Result<()> {
        imports::save_definition(&mut self.db(), definition, false).map(|_| ())
    }

    fn update_import_definition(&self, definition: &ImportDefinitionRecord) -> Result<Option<u64>> {
        imports::save_definition(&mut self.db(), definition, true)
    }

    fn delete_import_definition(
        &self,
        id: &str,
        busy_states: &[&str],
    ) -> Result<DefinitionDeletion> {
        imports::delete_definition(&mut self.db(), id, busy_states)
    }

    fn import_definitions(&self) -> Result<Vec<ImportDefinitionRecord>> {
        imports::definitions(&self.reader()?)
    }

    fn import_definition(&self, id: &str) -> Result<Option<ImportDefinitionRecord>> {
        imports::definition(&self.reader()?, id)
    }

    fn save_import_run(&self, run: &ImportRunRecord) -> Result<()> {
        imports::save_run(&mut self.db(), run)
    }

    fn transition_import_run(
        &self,
        id: &str,
        from: &str,
        to: &str,
        message: Option<&str>,
    ) -> Result<bool> {
        imports::transition_run(&self.db(), id, from, to, message)
    }

    fn delete_import_run(&self, id: &str) -> Result<bool> {
        imports::delete_run(&self.db(), id)
    }

    fn import_runs(&self, definition_id: &str) -> Result<Vec<ImportRunRecord>> {
        imports::runs(&self.reader()?, definition_id)
    }

    fn import_run(&self, id: &str) -> Result<Option<ImportRunRecord>> {
        imports::run(&self.reader()?, id)
    }

    fn import_runs_with_state(&self, state: &str) -> Result<Vec<ImportRunRecord>> {
        imports::runs_with_state(&self.reader()?, state)
    }

    fn apply_campaign_staging(
        &self,
        table: &str,
        create: Option<&CampaignTable>,
        mode: ApplyMode,
        blank_overwrites: bool,
        staging: &mut crate::CampaignStaging,
        cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
        commit: &mut dyn FnMut(&crate::StagedOutcome) -> bool,
    ) -> Result<crate::StagedOutcome> {
        campaign_tables::apply_staged(
            &mut self.db(),
            table,
            create,
            mode,
            blank_overwrites,
            staging,
            cancel,
            commit,
        )
    }

    fn load_campaign_table(
        &self,
        table: &str,
        create: Option<&CampaignTable>,
        overwrite: bool,
        cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
        load: &mut dyn FnMut(&mut dyn crate::CampaignRowSink) -> Result<()>,
        commit: &mut dyn FnMut(&crate::StagedOutcome) -> bool,
    ) -> Result<crate::DirectLoad> {
        // A connection of its own: the shared writer stays free while the file is read.
        // Used by this thread only: SQLite's own mutexes would be pure cost.
        let mut loader = Db::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure_writer(&loader)?;
        campaign_tables::check_table_name(table)?;
        let lock_path = self
            .path
            .with_file_name(format!("campaign-load-{}.lock", table.to_ascii_lowercase()));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StoreError::DataDir {
                path: lock_path.display().to_string(),
                source,
            })?;
        campaign_tables::load_direct(
            &mut loader,
            &lock,
            table,
            create,
            overwrite,
            cancel,
            load,
            commit,
        )
    }

    fn write_transaction(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>,
    ) -> Result<()> {
        let mut db = self.db();
        let names = Self::connection_names(&db)?;
        let tx = db.transaction()?;
        let mut writer = SqliteWriteTx { db: &tx, names };
        work(&mut writer)?;
        tx.commit()?;
        Ok(())
    }
}

fn update_job(db: &Db, job: &Job) -> Result<()> {
    db.prepare_cached(
        "UPDATE jobs SET status = ?2, processed = ?3, total = ?4, status_details = ?5,
                         result = ?6, finished_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        job.id,
        job.status.as_str(),
        job.processed as i64,
        job.total as i64,
        job.status_details,
        job.result.as_ref().map(|r| r.to_string()),
        job.finished_at,
    ])?;
    Ok(())
}

/// [`WriteTx`] over an open SQLite transaction.
struct SqliteWriteTx<'t> {
    db: &'t rusqlite::Transaction<'t>,
    names: HashMap<String, Arc<str>>,
}

impl WriteTx for SqliteWriteTx<'_> {
    fn user_by_email(&mut self, connection_id: &str, email: &str) -> Result<Option<User>> {
        users::select_one(
            self.db,
            &self.names,
            "u.email = ?1 AND u.connection_id = ?2",
            &[&email, &connection_id],
        )
    }

    fn user_by_id(&mut self, user_id: &str) -> Result<Option<(User, String)>> {
        let connection_id: Option<String> = self
            .db
            .prepare_cached("SELECT connection_id FROM users WHERE user_id = ?1")?
            .query_row([user_id], |r| r.get(0))
            .optional()?;
        let Some(connection_id) = connection_id else {
            return Ok(None);
        };
        let user = users::select_one(self.db, &self.names, "u.user_id = ?1", &[&user_id])?;
        Ok(user.map(|u| (u, connection_id)))
    }

    fn user_by_username(&mut self, connection_id: &str, username: &str) -> Result<Option<User>> {
        users::select_one(
            self.db,
            &self.names,
            "u.connection_id = ?1 AND u.username = ?2",
            &[&connection_id, &username],
        )
    }

    fn insert_user(&mut self, connection_id: &str, user: &User) -> Result<()> {
        users::insert(self.db, connection_id, std::slice::from_ref(user))
    }

    fn update_user(&mut self, user: &User) -> Result<()> {
        users::update(self.db, user)
    }

    fn add_job_errors(&mut self, job_id: &str, errors: &[(u64, String)]) -> Result<()> {
        let mut stmt = self.db.prepare_cached(
            "INSERT OR REPLACE INTO job_errors (job_id, idx, body) VALUES (?1, ?2, ?3)",
        )?;
        for (index, body) in errors {
            stmt.execute(params![job_id, *index as i64, body])?;
        }
        Ok(())
    }

    fn update_job(&mut self, job: &Job) -> Result<()> {
        update_job(self.db, job)
    }
}

fn client_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: r.get(0)?,
        name: r.get(1)?,
        secret_hash: r.get(2)?,
        scopes: split_scopes(&r.get::<_, String>(3)?),
        created_at: r.get(4)?,
    })
}

fn signing_key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: r.get(0)?,
        created_at: r.get(1)?,
        retired_at: r.get(2)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use userbridge_model::{Job, JobKind, JobStatus};

    use crate::{SqliteStore, Store};

    fn job(id: &str, created_at: &str) -> Job {
        Job {
            id: id.into(),
            kind: JobKind::UsersExport,
            status: JobStatus::Pending,
            created_at: created_at.into(),
            connection_id: None,
            connection: None,
            spec: serde_json::json!({}),
            processed: 0,
            total: 0,
            status_details: None,
            result: None,
            finished_at: None,
            created_by: None,
        }
    }

    #[test]
    fn jobs_page_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store
            .create_job(&job("job_b", "2024-01-02T00:00:00.000Z"))
            .unwrap();
        store
            .create_job(&job("job_a", "2024-01-01T00:00:00.000Z"))
            .unwrap();
        store
            .create_job(&job("job_c", "2024-01-02T00:00:00.000Z"))
            .unwrap();
        let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.jobs_page(0, 10).unwrap()),
            ["job_c", "job_b", "job_a"]
        );
        assert_eq!(ids(store.jobs_page(1, 1).unwrap()), ["job_b"]);
        assert!(store.jobs_page(3, 10).unwrap().is_empty());
        assert_eq!(store.count_jobs().unwrap(), 3);
    }

    #[test]
    fn active_jobs_are_counted_per_creator() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        let by = |id: &str, who: &str, status: JobStatus| Job {
            created_by: Some(who.into()),
            status,
            ..job(id, "2024-01-01T00:00:00.000Z")
        };
        store
            .create_job(&by("job_1", "a", JobStatus::Pending))
            .unwrap();
        store
            .create_job(&by("job_2", "a", JobStatus::Processing))
            .unwrap();
        store
            .create_job(&by("job_3", "a", JobStatus::Completed))
            .unwrap();
        store
            .create_job(&by("job_4", "b", JobStatus::Pending))
            .unwrap();
        store
            .create_job(&job("job_5", "2024-01-01T00:00:00.000Z"))
            .unwrap();
        assert_eq!(store.count_active_jobs_by("a").unwrap(), 2);
        assert_eq!(store.count_active_jobs_by("b").unwrap(), 1);
        assert_eq!(store.count_active_jobs_by("c").unwrap(), 0);
        assert_eq!(
            store.job("job_4").unwrap().unwrap().created_by.as_deref(),
            Some("b")
        );
    }

    #[test]
    fn audit_events_read_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        for (i, action) in ["a.one", "a.two", "a.three"].iter().enumerate() {
            store
                .record_audit(&crate::AuditEvent {
                    id: 0,
                    at: String::new(),
                    actor: "cli".into(),
                    action: action.to_string(),
                    target: format!("t{i}"),
                    detail: serde_json::json!({ "n": i }),
                })
                .unwrap();
        }
        let page = store.audit_events(0, 2).unwrap();
        let actions: Vec<_> = page.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["a.three", "a.two"]);
        assert_eq!(page[0].detail, serde_json::json!({ "n": 2 }));
        assert!(page[0].at.ends_with('Z'), "{}", page[0].at);
        assert!(page[0].id > page[1].id);
        assert_eq!(store.audit_events(2, 2).unwrap()[0].target, "t0");
        assert_eq!(store.count_audit_events().unwrap(), 3);
    }

    #[test]
    fn a_new_signing_key_retires_the_current_one() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        assert_eq!(store.current_signing_key().unwrap(), None);
        store.add_signing_key("kid-a", 100).unwrap();
        store.add_signing_key("kid-b", 200).unwrap();
        let keys = store.signing_keys().unwrap();
        let summary: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.as_str(), k.created_at, k.retired_at))
            .collect();
        assert_eq!(summary, [("kid-a", 100, Some(200)), ("kid-b", 200, None)]);
        assert_eq!(store.current_signing_key().unwrap().unwrap().kid, "kid-b");
        assert_eq!(
            store.signing_key("kid-a").unwrap().unwrap().retired_at,
            Some(200)
        );
        // A kid is never reused: the insert fails and the current key stays current.
        assert!(store.add_signing_key("kid-a", 300).is_err());
        assert_eq!(store.current_signing_key().unwrap().unwrap().kid, "kid-b");
        assert!(store.delete_signing_key("kid-a").unwrap());
        assert!(!store.delete_signing_key("kid-a").unwrap());
        assert_eq!(store.signing_key("kid-a").unwrap(), None);
    }
}
