//! Storage interface of userbridge and its embedded SQLite backend.
//!
//! Callers only see the [`Store`] trait and plain domain types; every line of SQL
//! lives in a backend module, so a PostgreSQL backend can be added beside
//! [`sqlite`] without touching the engines or the server.

use userbridge_model::query::{Query, Sort};
use userbridge_model::{Attribute, Connection, Job, JobStatus, User};

pub mod sqlite;

pub use sqlite::CANCELLED;
pub use sqlite::SqliteStore;
pub use sqlite::staging::{
    CampaignStaging, Mark, RejectTally, StagedRecordRef, StagedReject, encode_fields,
};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0} already exists")]
    Conflict(Conflict),
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the database holds invalid data: {0}")]
    Corrupt(String),
    #[error("the database schema is version {found}, newer than this binary knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    /// Raised by a scan visitor to stop a scan; carries the visitor's own message.
    #[error("{0}")]
    Aborted(String),
    /// A request the store refuses before touching the database (a bad campaign table or
    /// column name, a row of the wrong width, …).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The named object (a campaign table, a filter column) does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

/// Which unique key a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    UserId,
    Email,
    Username,
    ConnectionName,
    /// A directory or document of the same parent already has this name (case-insensitively).
    DocumentName,
    /// A campaign table of this name exists (compared case-insensitively).
    CampaignTable,
    /// The campaign table already has a column of this name (compared case-insensitively).
    CampaignColumn,
    /// Another import definition has this name (compared case-insensitively).
    ImportDefinitionName,
    Other,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::UserId => "a user with this user_id",
            Conflict::Email => "a user with this email",
            Conflict::Username => "a user with this username",
            Conflict::ConnectionName => "a connection with this name",
            Conflict::DocumentName => "a directory or document with this name",
            Conflict::CampaignTable => "a campaign table with this name",
            Conflict::CampaignColumn => "a column with this name",
            Conflict::ImportDefinitionName => "an import definition with this name",
            Conflict::Other => "a row with this key",
        })
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a request names a connection: by id (`con_…`, as the API sends it) or by name (as a
/// person types it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionSelector {
    Id(String),
    Name(String),
}

impl ConnectionSelector {
    pub fn resolve(&self, store: &dyn Store) -> Result<Option<Connection>> {
        match self {
            ConnectionSelector::Id(id) => store.connection_by_id(id),
            ConnectionSelector::Name(name) => store.connection_by_name(name),
        }
    }
}

impl std::fmt::Display for ConnectionSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionSelector::Id(id) | ConnectionSelector::Name(id) => f.write_str(id),
        }
    }
}

/// A page of `GET /api/v2/users`.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    pub query: Option<Query>,
    /// Connection name filter.
    pub connection: Option<String>,
    pub sort: Option<Sort>,
    pub offset: u64,
    pub limit: u64,
}

/// What an export reads: users in `user_id` order.
#[derive(Debug, Clone, Default)]
pub struct UserScan {
    pub connection_id: Option<String>,
    pub limit: Option<u64>,
    /// Attributes the caller needs; `None` reads the whole profile. Attributes not
    /// asked for are left empty in the returned users (a projection, for speed).
    pub attributes: Option<Vec<Attribute>>,
}

/// A machine-to-machine client of the Management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// The argon2id hash of the secret (PHC string); the secret itself is never stored. A
    /// data directory made before 0009 holds a hex SHA-256 here until the client's next
    /// successful token request rehashes it.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

/// A key pair that signs (or signed) access tokens; the key itself is a file named by `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` for the current key, the one that signs new tokens.
    pub retired_at: Option<i64>,
}

/// A person who signs in to the web page (the dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub username: String,
    /// bcrypt; the password itself is never stored.
    pub password_hash: String,
    pub created_at: String,
}

/// A signed-in browser of an [`Admin`], looked up by the SHA-256 of its session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub username: String,
    pub created_at: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// One row of the audit log: who did what to what, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Filled on read (the order of recording); ignored on record.
    pub id: u64,
    /// ISO 8601 UTC, milliseconds; on record, empty means now.
    pub at: String,
    /// A client id, `dashboard:<admin>`, `cli` or `server`.
    pub actor: String,
    /// What was done, `<object>.<verb>`: `users_export.created`, `document.deleted`, …
    pub action: String,
    /// What it was done to: a job or process id, a document path, a definition id, a username.
    pub target: String,
    /// Counts and names (a JSON object): never a secret, a token, a hash or a whole record.
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// An event to record now.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            id: 0,
            at: String::new(),
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail,
        }
    }
}

/// The id of the Documents root directory `/`.
pub const ROOT_DIRECTORY: &str = "dir_root";

/// A directory of the Documents area. The root has no parent and an empty name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocDirectory {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at: String,
}

/// The metadata of one stored document (its content is a file named by `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub directory_id: String,
    pub name: String,
    pub size: u64,
    pub uploaded_at: String,
    pub uploaded_by: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// `delimited text`, `gzip` or `other`.
    pub kind: String,
}

/// One campaign cell as stored. The campaign crate maps its typed values onto these: dates,
/// datetimes, decimals and emails as canonical text, booleans as 0/1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoredValue {
    Null,
    Integer(i64),
    Text(String),
}

/// One column of a campaign table.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignColumn {
    /// Any printable text (1–128 characters), unique in its table case-insensitively.
    pub name: String,
    /// The column's full typed spec; opaque to the store, kept as given.
    pub spec: serde_json::Value,
}

/// A campaign table (campaign-import.md §5).
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignTable {
    /// `^[A-Za-z][A-Za-z0-9_]{0,62}$`, not starting with `sqlite_`; unique case-insensitively.
    pub name: String,
    pub columns: Vec<CampaignColumn>,
    /// Names of the key columns (empty: no key).
    pub key: Vec<String>,
    /// Number of rows; filled on read, ignored on create.
    pub rows: u64,
    /// Filled on read; on create, used as given (empty: now).
    pub created_at: String,
}

/// How a run applies its rows (campaign-import.md §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    AddOnly,
    UpdateOnly,
    AddAndUpdate,
    Overwrite,
}

/// What a staged run did (or would do, when it is rolled back) to its table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedOutcome {
    pub inserted: u64,
    pub updated: u64,
    /// Matched, and nothing would change (IMP-30); in `add_only`, every match.
    pub unchanged: u64,
    /// `update_only` records without a match (staging `seq`s, in file order): nothing
    /// written, the caller rejects them.
    pub not_found: Vec<i64>,
}

/// Takes the rows of a direct load ([`Store::load_campaign_table`]) one at a time.
pub trait CampaignRowSink {
    /// Inserts a row: its normalised key (`None` in a keyless table) and one value per table
    /// column, in table order (a blank, `None`, is stored as NULL). `Ok(false)` when the key
    /// may have been inserted before in this load: nothing was inserted and the load must
    /// stop (it is rolled back), since only staging can apply a duplicate policy.
    fn insert(&mut self, key: Option<&str>, values: &[Option<StoredValue>]) -> Result<bool>;
}

/// How a direct load ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectLoad {
    /// The table holds rows (and the load is no overwrite): nothing was read or written.
    NotEmpty,
    /// A key may repeat: everything was rolled back.
    KeysMayRepeat,
    /// Another load of this table is running (in another process): nothing was done.
    Busy,
    /// Every row was inserted; committed when `commit` said so, rolled back otherwise.
    Loaded(StagedOutcome),
}

/// A saved Data Import definition (campaign-import.md §9): its JSON is the campaign crate's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDefinitionRecord {
    /// `def_` + 16 alphanumerics.
    pub id: String,
    pub name: String,
    /// The definition as JSON text, kept as given.
    pub definition: String,
    /// IMP-41: 1 when created, one more on each change. Filled on read; the store numbers
    /// versions itself, so the value given on save is ignored.
    pub version: u64,
    /// Filled on read; on save, used as given (empty: now).
    pub created_at: String,
    /// Filled on read; on save, used as given (empty: now).
    pub updated_at: String,
}

/// What [`Store::delete_import_definition`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionDeletion {
    Deleted,
    NotFound,
    /// Nothing deleted: this run of the definition is in one of the busy states.
    Busy(ImportRunRecord),
}

/// One recorded run of an import definition with its report (campaign-import.md §8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRunRecord {
    pub id: String,
    pub definition_id: String,
    /// The definition's version the run used (IMP-41; for a process, the version when it
    /// was queued until it starts, then the version it loaded).
    pub definition_version: u64,
    /// `completed`, `completed_with_rejects`, `aborted`, `failed`, …
    pub state: String,
    /// When the run was started (a process: when it was queued).
    pub started_at: String,
    /// The report as JSON text, kept as given; empty while a process has none.
    pub report: String,
    /// A validate-only run (IMP-38).
    pub dry_run: bool,
    /// The document read, when the run overrides the definition's.
    pub document: Option<String>,
    /// Why a process failed without a report (or was interrupted).
    pub message: Option<String>,
}

/// How [`RowFilter`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// The cell's text equals the value exactly (integers compare by their decimal text).
    Equals,
    /// The cell's text contains the value, ASCII case-insensitively.
    Contains,
}

/// A simple filter of a table's rows (one column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFilter {
    /// Column name, matched case-insensitively.
    pub column: String,
    pub op: FilterOp,
    pub value: String,
}

impl RowFilter {
    /// Parses `COL=VALUE` (equals) or `COL~VALUE` (contains); the first of `=`/`~` splits.
    pub fn parse(text: &str) -> std::result::Result<RowFilter, String> {
        let at = text
            .find(['=', '~'])
            .ok_or_else(|| format!("{text:?}: use COL=VALUE or COL~VALUE"))?;
        let op = match text.as_bytes()[at] {
            b'~' => FilterOp::Contains,
            _ => FilterOp::Equals,
        };
        Ok(RowFilter {
            column: text[..at].to_string(),
            op,
            value: text[at + 1..].to_string(),
        })
    }
}

/// Everything userbridge persists. Methods are blocking; async callers run them on a
/// blocking thread.
pub trait Store: Send + Sync {
    fn setting(&self, key: &str) -> Result<Option<String>>;
    fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    fn connections(&self) -> Result<Vec<Connection>>;
    fn connection_by_id(&self, id: &str) -> Result<Option<Connection>>;
    fn connection_by_name(&self, name: &str) -> Result<Option<Connection>>;
    fn create_connection(&self, name: &str) -> Result<Connection>;

    /// Inserts a batch of new users into one connection in one transaction: all or none.
    fn insert_users(&self, connection_id: &str, users: &[User]) -> Result<()>;
    fn user(&self, user_id: &str) -> Result<Option<User>>;
    /// Replaces every stored attribute of an existing user (matched by `user_id`).
    fn update_user(&self, user: &User) -> Result<()>;
    /// True when a user was deleted.
    fn delete_user(&self, user_id: &str) -> Result<bool>;
    fn users_by_email(&self, email: &str) -> Result<Vec<User>>;
    fn search_users(&self, search: &UserSearch) -> Result<Vec<User>>;
    fn count_users(&self, query: Option<&Query>, connection: Option<&str>) -> Result<u64>;
    /// How many users a scan will visit.
    fn count_scan(&self, scan: &UserScan) -> Result<u64>;
    /// Streams users in `user_id` order to `visit`. The `&User` is reused from row to row
    /// (no allocation per user): copy what must outlive the call.
    fn scan_users(&self, scan: &UserScan, visit: &mut dyn FnMut(&User) -> Result<()>)
    -> Result<()>;

    fn create_client(&self, client: &Client) -> Result<()>;
    fn client(&self, client_id: &str) -> Result<Option<Client>>;
    /// Replaces the scopes a client is granted (tokens already issued keep theirs).
    fn set_client_scopes(&self, client_id: &str, scopes: &[String]) -> Result<()>;
    fn clients(&self) -> Result<Vec<Client>>;
    /// Replaces a client's secret hash; false when no client has this id.
    fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> Result<bool>;
    /// True when a client was deleted.
    fn delete_client(&self, client_id: &str) -> Result<bool>;

    /// Records a new key as the current one and retires the previous current key (if any) at
    /// `now`, in one transaction.
    fn add_signing_key(&self, kid: &str, now: i64) -> Result<()>;
    /// Every key, oldest first.
    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    fn signing_key(&self, kid: &str) -> Result<Option<SigningKeyRecord>>;
    fn current_signing_key(&self) -> Result<Option<SigningKeyRecord>>;
    /// True when a key was deleted.
    fn delete_signing_key(&self, kid: &str) -> Result<bool>;

    fn create_job(&self, job: &Job) -> Result<()>;
    fn job(&self, id: &str) -> Result<Option<Job>>;
    /// Saves a job's status, progress, details and result.
    fn update_job(&self, job: &Job) -> Result<()>;
    /// Saves progress only (frequent, cheap).
    fn set_job_progress(&self, id: &str, processed: u64, total: u64) -> Result<()>;
    fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>>;
    fn delete_job(&self, id: &str) -> Result<()>;
    /// A page of jobs, newest first (`GET /api/v2/jobs`).
    fn jobs_page(&self, offset: u64, limit: u64) -> Result<Vec<Job>>;
    fn count_jobs(&self) -> Result<u64>;
    /// Error elements recorded for an import job, in file order (JSON text each).
    fn job_errors(&self, job_id: &str) -> Result<Vec<String>>;
    /// Deletes the error elements of a job (its data retention ended).
    fn delete_job_errors(&self, job_id: &str) -> Result<()>;
    /// Jobs created by `created_by` that are still pending or processing.
    fn count_active_jobs_by(&self, created_by: &str) -> Result<u64>;

    /// Appends an event to the audit log.
    fn record_audit(&self, event: &AuditEvent) -> Result<()>;
    /// A page of the audit log, newest first.
    fn audit_events(&self, offset: u64, limit: u64) -> Result<Vec<AuditEvent>>;
    fn count_audit_events(&self) -> Result<u64>;

    /// Sets an admin's password hash, creating the admin when missing, and ends every session
    /// of that admin in the same transaction: a new password signs the old browsers out.
    fn set_admin_password(&self, username: &str, password_hash: &str) -> Result<()>;
    fn admin(&self, username: &str) -> Result<Option<Admin>>;
    /// Every admin, by username.
    fn admins(&self) -> Result<Vec<Admin>>;
    /// Records a session under the hex SHA-256 of its id; its admin must exist.
    fn create_web_session(&self, digest: &str, session: &WebSession) -> Result<()>;
    /// The session with this digest, expired or not (the caller compares `expires_at`).
    fn web_session(&self, digest: &str) -> Result<Option<WebSession>>;
    /// True when a session was deleted.
    fn delete_web_session(&self, digest: &str) -> Result<bool>;
    /// Deletes sessions that expired before `now` (unix seconds).
    fn delete_expired_web_sessions(&self, now: i64) -> Result<u64>;

    /// The child directory of `parent_id` with this name, compared case-insensitively.
    /// Names of one parent are unique case-insensitively across directories and documents;
    /// a write that would break that is `StoreError::Conflict(Conflict::DocumentName)`.
    fn doc_directory(&self, parent_id: &str, name: &str) -> Result<Option<DocDirectory>>;
    /// The subdirectories of a directory, by name.
    fn doc_directories(&self, parent_id: &str) -> Result<Vec<DocDirectory>>;
    fn create_doc_directory(&self, directory: &DocDirectory) -> Result<()>;
    /// Deletes a directory with its subdirectories and their documents, and returns the ids
    /// of the documents deleted (their files are the caller's). When `recursive` is false
    /// and the directory is not empty, nothing changes and the answer is `None`.
    fn delete_doc_directory(&self, id: &str, recursive: bool) -> Result<Option<Vec<String>>>;
    /// Moves and/or renames a directory.
    fn move_doc_directory(&self, id: &str, parent_id: &str, name: &str) -> Result<()>;
    /// The document of a directory with this name, compared case-insensitively.
    fn document(&self, directory_id: &str, name: &str) -> Result<Option<Document>>;
    /// The documents of a directory, by name.
    fn documents(&self, directory_id: &str) -> Result<Vec<Document>>;
    /// Adds a document; when `replacing` names an existing document, that one is deleted in
    /// the same transaction.
    fn insert_document(&self, document: &Document, replacing: Option<&str>) -> Result<()>;
    /// True when a document was deleted.
    fn delete_document(&self, id: &str) -> Result<bool>;
    /// Moves and/or renames a document.
    fn move_document(&self, id: &str, directory_id: &str, name: &str) -> Result<()>;
    /// Documents anywhere under `directory_id` whose name contains `needle`
    /// (case-insensitively), each with its directory's path relative to `directory_id`
    /// (`""` for the directory itself, `"a/b"` below it), ordered by that path and name.
    fn search_documents(&self, directory_id: &str, needle: &str)
    -> Result<Vec<(String, Document)>>;

    /// Creates an empty campaign table. `StoreError::Conflict(Conflict::CampaignTable)` when
    /// a table of that name exists (case-insensitively); `StoreError::Invalid` for a bad
    /// table name, a bad or duplicate column name, or a key naming no column.
    fn create_campaign_table(&self, table: &CampaignTable) -> Result<()>;
    /// Every campaign table, by name, with row counts.
    fn campaign_tables(&self) -> Result<Vec<CampaignTable>>;
    /// One campaign table (name compared case-insensitively), with its row count.
    fn campaign_table(&self, name: &str) -> Result<Option<CampaignTable>>;
    /// Appends a column (IMP-3: cheap, existing rows hold NULL in it).
    fn add_campaign_column(&self, table: &str, column: &CampaignColumn) -> Result<()>;
    /// A page of rows in insertion order, one value per column in table order.
    fn campaign_rows(
        &self,
        table: &str,
        filter: Option<&RowFilter>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Vec<StoredValue>>>;
    /// Streams every row in insertion order to `visit` (on a reader connection, so writers
    /// are not blocked). The slice is reused from row to row.
    fn scan_campaign_rows(
        &self,
        table: &str,
        visit: &mut dyn FnMut(&[StoredValue]) -> Result<()>,
    ) -> Result<()>;
    /// Applies a staged run in one write transaction (RUN-2) with set-based statements:
    /// matches re-resolved against the table, updates (only rows whose merged values differ,
    /// blanks keep the stored value unless `blank_overwrites`), inserts in file order.
    /// `Overwrite` empties the table first, inside the same transaction (IMP-29). `create`
    /// creates the table in that transaction. Once the outcome is known, `commit` decides:
    /// `true` commits, `false` rolls back (dry run, threshold tripped). Setting `cancel`
    /// interrupts the statements and rolls back (`StoreError::Aborted(CANCELLED)`).
    #[allow(clippy::too_many_arguments)]
    fn apply_campaign_staging(
        &self,
        table: &str,
        create: Option<&CampaignTable>,
        mode: ApplyMode,
        blank_overwrites: bool,
        staging: &mut CampaignStaging,
        cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
        commit: &mut dyn FnMut(&StagedOutcome) -> bool,
    ) -> Result<StagedOutcome>;

    /// Loads rows straight into an empty table, in one write transaction and without
    /// staging: the fast path of a run whose every row is an insert (campaign-import.md
    /// RUN-2). `create` creates the table in that transaction; `overwrite` empties it first;
    /// otherwise a table with rows is left alone (`DirectLoad::NotEmpty`, `load` not
    /// called). `load` feeds the rows to the sink; an error from it rolls everything back.
    /// The key index is built once, after the rows are in; then `commit` decides, as in
    /// [`Store::apply_campaign_staging`]. Setting `cancel` interrupts the index build.
    #[allow(clippy::too_many_arguments)]
    fn load_campaign_table(
        &self,
        table: &str,
        create: Option<&CampaignTable>,
        overwrite: bool,
        cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
        load: &mut dyn FnMut(&mut dyn CampaignRowSink) -> Result<()>,
        commit: &mut dyn FnMut(&StagedOutcome) -> bool,
    ) -> Result<DirectLoad>;

    /// Saves an import definition: inserted with version 1, or replaced when its id exists
    /// (`created_at` kept, version + 1). Names are unique case-insensitively (Unicode lower
    /// case): a clash is `StoreError::Conflict(Conflict::ImportDefinitionName)`.
    fn save_import_definition(&self, definition: &ImportDefinitionRecord) -> Result<()>;
    /// Replaces an existing definition as `save_import_definition` does, and answers its new
    /// version; `None` (and nothing written) when no definition has this id.
    fn update_import_definition(&self, definition: &ImportDefinitionRecord) -> Result<Option<u64>>;
    /// Deletes a definition, unless one of its runs is in one of `busy_states` (checked in
    /// the same transaction). Its runs stay, still naming the definition's id.
    fn delete_import_definition(
        &self,
        id: &str,
        busy_states: &[&str],
    ) -> Result<DefinitionDeletion>;
    /// Every saved import definition, by name.
    fn import_definitions(&self) -> Result<Vec<ImportDefinitionRecord>>;
    fn import_definition(&self, id: &str) -> Result<Option<ImportDefinitionRecord>>;
    /// Records a run (inserted, or replaced when its id exists).
    fn save_import_run(&self, run: &ImportRunRecord) -> Result<()>;
    /// Moves run `id` from state `from` to `to` (with `message`, when given) if, and only if,
    /// it is in `from`; `false` when it was not (another party moved it first). Starting and
    /// cancelling a queued process race for this.
    fn transition_import_run(
        &self,
        id: &str,
        from: &str,
        to: &str,
        message: Option<&str>,
    ) -> Result<bool>;
    /// Forgets a run (RUN-7 retention); `false` when there was none.
    fn delete_import_run(&self, id: &str) -> Result<bool>;
    /// The runs of one definition, oldest first.
    fn import_runs(&self, definition_id: &str) -> Result<Vec<ImportRunRecord>>;
    fn import_run(&self, id: &str) -> Result<Option<ImportRunRecord>>;
    /// Every run in one state (`queued`, `running`, …), oldest first.
    fn import_runs_with_state(&self, state: &str) -> Result<Vec<ImportRunRecord>>;

    /// Runs `work` in one write transaction: committed when it returns `Ok`, rolled back
    /// otherwise. Import batches use it so users, errors and the job's checkpoint are
    /// saved together or not at all.
    fn write_transaction(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>)
    -> Result<()>;
}

/// What an import may do inside one transaction.
pub trait WriteTx {
    /// The user with this (lower-cased) email in a connection.
    fn user_by_email(&mut self, connection_id: &str, email: &str) -> Result<Option<User>>;
    /// The user with this full `auth0|…` id, in any connection, and that connection's id.
    fn user_by_id(&mut self, user_id: &str) -> Result<Option<(User, String)>>;
    /// The user with this (lower-cased) username in a connection.
    fn user_by_username(&mut self, connection_id: &str, username: &str) -> Result<Option<User>>;
    /// Inserts a new user; a unique-key collision is `StoreError::Conflict` and changes nothing.
    fn insert_user(&mut self, connection_id: &str, user: &User) -> Result<()>;
    /// Replaces every stored attribute of an existing user.
    fn update_user(&mut self, user: &User) -> Result<()>;
    /// Appends error elements to a job: `(index in the file, element JSON)`.
    fn add_job_errors(&mut self, job_id: &str, errors: &[(u64, String)]) -> Result<()>;
    /// Saves a job's status, progress and result (its checkpoint).
    fn update_job(&mut self, job: &Job) -> Result<()>;
}
