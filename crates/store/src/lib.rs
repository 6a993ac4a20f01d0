//! Storage interface of userbridge and its embedded SQLite backend.
//!
//! Callers only see the [`Store`] trait and plain domain types; every line of SQL
//! lives in a backend module, so a PostgreSQL backend can be added beside
//! [`sqlite`] without touching the engines or the server.

use userbridge_model::query::{Query, Sort};
use userbridge_model::{Attribute, Connection, Job, JobStatus, User};

pub mod sqlite;

pub use sqlite::SqliteStore;

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
}

/// Which unique key a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    UserId,
    Email,
    Username,
    ConnectionName,
    Other,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conflict::UserId => "a user with this user_id",
            Conflict::Email => "a user with this email",
            Conflict::Username => "a user with this username",
            Conflict::ConnectionName => "a connection with this name",
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
    /// Hex SHA-256 of the secret; the secret itself is never stored.
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

/// An issued access token, looked up by the hash of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub expires_at: i64,
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
    fn clients(&self) -> Result<Vec<Client>>;
    fn insert_token(&self, token_hash: &str, token: &AccessToken) -> Result<()>;
    fn token(&self, token_hash: &str) -> Result<Option<AccessToken>>;
    /// Deletes tokens that expired before `now` (unix seconds).
    fn purge_tokens(&self, now: i64) -> Result<u64>;

    fn create_job(&self, job: &Job) -> Result<()>;
    fn job(&self, id: &str) -> Result<Option<Job>>;
    /// Saves a job's status, progress, details and result.
    fn update_job(&self, job: &Job) -> Result<()>;
    /// Saves progress only (frequent, cheap).
    fn set_job_progress(&self, id: &str, processed: u64, total: u64) -> Result<()>;
    fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>>;
    fn delete_job(&self, id: &str) -> Result<()>;
    /// Error elements recorded for an import job, in file order (JSON text each).
    fn job_errors(&self, job_id: &str) -> Result<Vec<String>>;
    /// Deletes the error elements of a job (its data retention ended).
    fn delete_job_errors(&self, job_id: &str) -> Result<()>;

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
