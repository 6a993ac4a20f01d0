//! Command-line flags. Every flag can also come from a `USERBRIDGE_*` environment
//! variable; flags win over the environment, which wins over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "userbridge",
    version,
    about = "Move users between an identity platform and a campaign system."
)]
pub struct Cli {
    /// Directory holding the database and job files.
    #[arg(
        long,
        global = true,
        env = "USERBRIDGE_DATA_DIR",
        default_value = "./userbridge-data"
    )]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (Auth0-compatible Management API).
    Serve(ServeArgs),
    /// Export users to TSV, CSV, JSON or NDJSON.
    Export(ExportArgs),
    /// Import users from a JSON array, NDJSON, CSV or TSV file (or gzip of one).
    Import(ImportArgs),
    /// Work with users in the directory.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Work with connections.
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// The campaign data manager: Documents.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Dashboard (web page) administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit log: who ran which job, import, export and admin action, and when.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Machine-to-machine clients of the API: create, list, new secret, remove.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// The keys that sign access tokens: list, rotate.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest events, newest first: time, actor, action, target, detail (tabs).
    Ls {
        /// How many events.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create a client; prints its id and secret as JSON (the secret is shown only now).
    Create {
        /// A name for people (need not be unique).
        #[arg(long)]
        name: String,
        /// The scopes it may ask for, separated by spaces or commas, e.g.
        /// 'read:users create:users'.
        #[arg(long)]
        scopes: String,
    },
    /// List clients (id, created, name, scopes); secrets are never shown.
    Ls,
    /// Give a client a new secret (printed once); the old one stops working at once, tokens
    /// already issued live on until they expire.
    RotateSecret { client_id: String },
    /// Remove a client; its tokens are refused from the next request on.
    Rm { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys (kid, created, current or retired).
    Ls,
    /// Make a new signing key the current one. The old one keeps verifying the tokens it
    /// signed until they expire; a running server signs with the new key from its next token.
    Rotate,
    /// Delete a retired signing key now (it leaked): the tokens it signed are refused, by a
    /// running server within a minute. The current key cannot be revoked: rotate first.
    Revoke {
        /// A kid is base64url, so it may start with '-': taken as a value, not a flag.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set a new dashboard password for an admin (creating the admin when missing) and end
    /// its sessions; prints a generated password once.
    ResetPassword {
        #[arg(long, default_value = "admin")]
        username: String,
        /// Read the new password from the first line of standard input instead (at least 8
        /// characters); prints only a confirmation.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// The Documents area: directories and uploaded files.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Data Import definitions: create, list, show, update, duplicate, export, delete,
    /// preview a document, run, show a run's report.
    #[command(subcommand)]
    Imports(ImportsCommand),
    /// Campaign tables: list, show, page through rows, export.
    #[command(subcommand)]
    Tables(TablesCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportsCommand {
    /// Save a new import definition, from flags or from a JSON file; prints its id.
    Create(Box<CreateImportArgs>),
    /// List saved definitions (id, name, version, document, table, mode).
    Ls,
    /// Show one definition as JSON (id, name, version, dates, definition).
    Show { id: String },
    /// Replace a definition with the one in a JSON file (as `export` or `show` prints it);
    /// the id stays, the version goes up by one.
    Update {
        id: String,
        /// The JSON file, or - for stdin.
        #[arg(long, value_name = "FILE")]
        from: String,
    },
    /// Delete a definition (refused while one of its processes is queued or running); its
    /// past runs and reports stay.
    Rm { id: String },
    /// Save a copy of a definition as a new one (version 1); prints the new id.
    Duplicate {
        id: String,
        /// Name of the copy (default: "<name> (copy)").
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a definition as JSON without this instance's id, version and dates:
    /// `create --from` makes it again, here or on another instance.
    Export { id: String },
    /// Print the report JSON of a stored run or process.
    Report { id: String },
    /// Sniff a document: the proposed dialect, the explanation, columns and 20 rows. Each
    /// setting given is taken as chosen; the others are detected.
    Preview {
        path: String,
        /// One character, or tab, comma, semicolon, pipe.
        #[arg(long)]
        delimiter: Option<String>,
        /// Text qualifier: '"', "'" or none.
        #[arg(long)]
        qualifier: Option<String>,
        #[arg(long)]
        encoding: Option<String>,
        /// Whether row 1 is a header row: yes or no.
        #[arg(long, value_parser = ["yes", "no"])]
        header: Option<String>,
        #[arg(long)]
        skip_rows: Option<usize>,
    },
    /// Run a definition; prints the report JSON. Exit 0 completed, 2 completed with rejects,
    /// 1 aborted or failed.
    Run {
        id: String,
        /// Read this document instead of the definition's.
        #[arg(long)]
        document: Option<String>,
        /// Validate only: do all the work, then roll back.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateImportArgs {
    /// Read the whole definition from a JSON file (- for stdin), as `export` or `show`
    /// prints it, instead of the flags below.
    #[arg(long, value_name = "FILE", conflicts_with_all = DEFINITION_FLAGS)]
    pub from: Option<String>,
    #[arg(long, required_unless_present = "from")]
    pub name: Option<String>,
    /// The source document, e.g. /marketing/users.tsv.
    #[arg(long, required_unless_present = "from")]
    pub document: Option<String>,
    /// Target campaign table.
    #[arg(long, required_unless_present = "from")]
    pub table: Option<String>,
    /// Create the table from the mapping when it does not exist.
    #[arg(long)]
    pub create_table: bool,
    /// 'SOURCE=TARGET:TYPE[:FORMAT]' (SOURCE: header name, or #N for position N).
    #[arg(long = "map", required_unless_present = "from")]
    pub map: Vec<String>,
    /// Key column (target name); repeat for a composite key.
    #[arg(long)]
    pub key: Vec<String>,
    /// Remove one leading apostrophe (formula escaping, as Auth0's and userbridge's exports
    /// write it) from this target column's values before converting them; repeatable.
    #[arg(long = "strip-apostrophe", value_name = "TARGET")]
    pub strip_apostrophe: Vec<String>,
    /// add_only, update_only, add_and_update (default) or overwrite.
    #[arg(long, default_value = "add_and_update")]
    pub mode: String,
    /// first, last (default) or reject.
    #[arg(long, default_value = "last")]
    pub duplicates: String,
    /// On later runs, compare the document's header with this one's: names (same names, any
    /// order; default), exact (same order too) or off.
    #[arg(long, default_value = "names")]
    pub verify_headers: String,
    /// One character, or tab, comma, semicolon, pipe.
    #[arg(long, default_value = ",")]
    pub delimiter: String,
    /// Text qualifier: '"', "'" or none.
    #[arg(long, default_value = "\"")]
    pub qualifier: String,
    #[arg(long, default_value = "UTF-8")]
    pub encoding: String,
    /// The file has no header row (map sources by position, #1, #2, …).
    #[arg(long)]
    pub no_header: bool,
    #[arg(long, default_value_t = 0)]
    pub skip_rows: usize,
    #[arg(long, default_value = "#CLEAR#")]
    pub clear_token: String,
    /// Blank cells clear stored values.
    #[arg(long)]
    pub blank_overwrites: bool,
    #[arg(long)]
    pub max_rejected_rows: Option<u64>,
    #[arg(long)]
    pub max_rejected_percent: Option<f64>,
    /// Abort when the first N rows are all rejected (0 = off).
    #[arg(long, default_value_t = 100)]
    pub abort_if_first_rows_rejected: u64,
}

/// The flags of `imports create` that `--from` replaces.
const DEFINITION_FLAGS: [&str; 20] = [
    "name",
    "document",
    "table",
    "create_table",
    "map",
    "key",
    "strip_apostrophe",
    "mode",
    "duplicates",
    "verify_headers",
    "delimiter",
    "qualifier",
    "encoding",
    "no_header",
    "skip_rows",
    "clear_token",
    "blank_overwrites",
    "max_rejected_rows",
    "max_rejected_percent",
    "abort_if_first_rows_rejected",
];

#[derive(Debug, Subcommand)]
pub enum TablesCommand {
    /// List campaign tables with row counts.
    Ls,
    /// Show one table (columns, types, key) as JSON.
    Show { table: String },
    /// Print rows as TSV (header first).
    Rows {
        table: String,
        /// 'COL=VALUE' (equals) or 'COL~VALUE' (contains, case-insensitive).
        #[arg(long = "where")]
        filter: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Export a table as CSV or TSV (formula protection on).
    Export {
        table: String,
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(short, long, default_value = "-")]
        output: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Create a directory (and any missing parent), e.g. /marketing/2024.
    Mkdir { path: String },
    /// Upload files into a directory.
    Upload(UploadArgs),
    /// List a directory (or show one document).
    Ls {
        #[arg(default_value = "/")]
        path: String,
        /// Print JSON (the API's body) instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Write a document's content to a file or standard output.
    Get {
        path: String,
        /// Output file, or '-' for standard output.
        #[arg(short, long, default_value = "-")]
        output: String,
    },
    /// Delete a document, or a directory (only an empty one unless --recursive).
    Rm {
        path: String,
        #[arg(long, short)]
        recursive: bool,
    },
    /// Rename or move a document or directory.
    Mv { from: String, to: String },
    /// Find documents whose name contains TEXT (case-insensitive) under a directory.
    Find {
        text: String,
        #[arg(long = "in", default_value = "/")]
        under: String,
    },
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Files to upload.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Directory to upload into.
    #[arg(long)]
    pub to: String,
    /// Name of the document ("Import As"); only with one file.
    #[arg(long = "as")]
    pub name: Option<String>,
    /// Replace a document of the same name.
    #[arg(long, conflicts_with = "keep_both")]
    pub replace: bool,
    /// Keep both: the new document gets " (2)" (or the next free number).
    #[arg(long)]
    pub keep_both: bool,
    /// Largest document, in bytes (0 = unlimited).
    #[arg(long, env = "USERBRIDGE_MAX_DOCUMENT_BYTES", default_value_t = 2 << 30)]
    pub max_document_bytes: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "USERBRIDGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL clients reach the server at (default: http://<listen address>).
    #[arg(long, env = "USERBRIDGE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Tenant name: export file names. (The token issuer is the public URL.)
    #[arg(long, env = "USERBRIDGE_TENANT", default_value = "userbridge")]
    pub tenant: String,
    /// Seed 10,000 demo users into an empty directory and print how to get a token.
    #[arg(long)]
    pub demo: bool,
    /// Lifetime of access tokens, in seconds. A key retired by `keys rotate` keeps verifying
    /// for this long.
    #[arg(long, env = "USERBRIDGE_TOKEN_LIFETIME", default_value_t = 86_400)]
    pub token_lifetime: u64,
    /// Failed token requests (wrong secret) allowed per client in a window; beyond it
    /// /oauth/token answers 429 (0 = no limit). Dashboard sign-ins get the same budget per
    /// username.
    #[arg(
        long,
        env = "USERBRIDGE_TOKEN_FAILURES_PER_CLIENT",
        default_value_t = 10
    )]
    pub token_failures_per_client: u32,
    /// Failed token requests (wrong secret or unknown client) allowed per remote address in a
    /// window; beyond it /oauth/token answers 429 (0 = no limit). Dashboard sign-ins get a
    /// budget of their own with the same limit.
    #[arg(
        long,
        env = "USERBRIDGE_TOKEN_FAILURES_PER_ADDRESS",
        default_value_t = 30
    )]
    pub token_failures_per_address: u32,
    /// A reverse proxy in front of the server (repeat, or comma-separated): its
    /// X-Forwarded-For names the client that the failure budgets and the audit log count.
    /// Without one the header is ignored: the address is the TCP peer.
    #[arg(
        long,
        env = "USERBRIDGE_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP"
    )]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Length of the window of those two limits, in seconds.
    #[arg(long, env = "USERBRIDGE_TOKEN_FAILURE_WINDOW", default_value_t = 60)]
    pub token_failure_window: u64,
    /// Lifetime of dashboard sign-ins (web sessions), in seconds.
    #[arg(long, env = "USERBRIDGE_SESSION_LIFETIME", default_value_t = 43_200)]
    pub session_lifetime: u64,
    /// Lifetime of export download links, in seconds.
    #[arg(long, env = "USERBRIDGE_DOWNLOAD_LINK_LIFETIME", default_value_t = 60)]
    pub download_link_lifetime: u64,
    /// How long a finished job's files are kept, in seconds.
    #[arg(long, env = "USERBRIDGE_JOB_RETENTION", default_value_t = 86_400)]
    pub job_retention: u64,
    /// How long a finished campaign import process, with its report and reject file, stays
    /// listed, in seconds (default 90 days).
    #[arg(long, env = "USERBRIDGE_PROCESS_RETENTION", default_value_t = 90 * 86_400)]
    pub process_retention: u64,
    /// Jobs that run at the same time.
    #[arg(long, env = "USERBRIDGE_JOB_WORKERS", default_value_t = 2)]
    pub job_workers: usize,
    /// Largest users file an import upload may send, in bytes (0 = unlimited).
    #[arg(long, env = "USERBRIDGE_MAX_UPLOAD_BYTES", default_value_t = 1 << 30)]
    pub max_upload_bytes: u64,
    /// Largest decompressed users file, in bytes (a gzip bomb stops here).
    #[arg(long, env = "USERBRIDGE_MAX_DECOMPRESSED_BYTES", default_value_t = 4 << 30)]
    pub max_decompressed_bytes: u64,
    /// Cap on pending + processing import jobs; beyond it uploads get 429 (0 = no cap).
    #[arg(long, env = "USERBRIDGE_MAX_ACTIVE_IMPORTS", default_value_t = 0)]
    pub max_active_imports: usize,
    /// Users per import transaction; each one is a durable checkpoint.
    #[arg(long, env = "USERBRIDGE_IMPORT_BATCH_SIZE", default_value_t = 25_000)]
    pub import_batch_size: usize,
    /// Largest document the Documents area accepts, in bytes (0 = unlimited).
    #[arg(long, env = "USERBRIDGE_MAX_DOCUMENT_BYTES", default_value_t = 2 << 30)]
    pub max_document_bytes: u64,
    /// Export and import jobs one client may have pending or processing; beyond it, 429
    /// (0 = no cap).
    #[arg(long, env = "USERBRIDGE_MAX_JOBS_PER_CLIENT", default_value_t = 10)]
    pub max_jobs_per_client: usize,
    /// Largest request body of the JSON and form routes, in bytes (uploads have their own caps).
    #[arg(long, env = "USERBRIDGE_MAX_BODY_BYTES", default_value_t = 2 << 20)]
    pub max_body_bytes: u64,
    /// Deepest nesting of arrays and objects in a JSON request body (at most 127).
    #[arg(long, env = "USERBRIDGE_MAX_JSON_DEPTH", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(1..=127))]
    pub max_json_depth: u16,
    /// Longest string in a JSON request body, in bytes of its JSON text.
    #[arg(long, env = "USERBRIDGE_MAX_JSON_STRING_BYTES", default_value_t = 1 << 20)]
    pub max_json_string_bytes: usize,
    /// Most fields an export job may ask for.
    #[arg(long, env = "USERBRIDGE_MAX_EXPORT_FIELDS", default_value_t = 1000)]
    pub max_export_fields: usize,
    /// Most fields in one row of a file a campaign run reads.
    #[arg(long, env = "USERBRIDGE_MAX_COLUMNS", default_value_t = 100_000)]
    pub max_columns: usize,
    /// Longest line (record) of a file an import job or a campaign run reads, in bytes.
    #[arg(long, env = "USERBRIDGE_MAX_LINE_BYTES", default_value_t = 64 << 20)]
    pub max_line_bytes: usize,
    /// Seconds an upload (any request body) may send nothing before it is answered 408 and
    /// what it sent is removed.
    #[arg(long, env = "USERBRIDGE_UPLOAD_IDLE_TIMEOUT", default_value_t = 30)]
    pub upload_idle_timeout: u64,
    /// Slowest upload accepted, in bytes per second, judged over each --upload-idle-timeout
    /// of waiting: a body that trickles slower is answered 408 (0: no minimum).
    #[arg(long, env = "USERBRIDGE_UPLOAD_MIN_RATE", default_value_t = 1024)]
    pub upload_min_rate: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The users file, or '-' for standard input.
    pub file: String,
    /// Connection to import into (by name).
    #[arg(long)]
    pub connection: String,
    /// Update users that already exist instead of failing them.
    #[arg(long)]
    pub upsert: bool,
    /// auto (detect from content), json (a JSON array), ndjson, csv or tsv.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// CSV/TSV column → profile field: 'COLUMN=PATH', e.g. 'Email Address=email'. Repeatable.
    #[arg(long = "field", value_name = "COLUMN=PATH")]
    pub fields: Vec<String>,
    /// Write each failed user with its errors to this file (NDJSON).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Check the whole file and report every error; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Largest decompressed input, in bytes (a gzip bomb stops here).
    #[arg(long, default_value_t = 4 << 30)]
    pub max_decompressed_bytes: u64,
    /// Users per transaction.
    #[arg(long, default_value_t = 25_000)]
    pub batch_size: usize,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// tsv, csv, json (a JSON array) or ndjson.
    #[arg(long, default_value = "tsv")]
    pub format: String,
    /// A field to export: 'PATH=COLUMN' (or just 'PATH'), e.g. 'email=Email Address'. Repeatable.
    #[arg(long = "field", value_name = "PATH=COLUMN")]
    pub fields: Vec<String>,
    /// Start with the extension's 11 default fields.
    #[arg(long)]
    pub default_fields: bool,
    /// Only users of this connection (by name).
    #[arg(long)]
    pub connection: Option<String>,
    /// At most this many users.
    #[arg(long)]
    pub limit: Option<u64>,
    /// strftime pattern for profile timestamps, e.g. '%Y%m%d' (Alterian's CCYYMMDD).
    #[arg(long)]
    pub date_format: Option<String>,
    /// Field delimiter for csv (one character, e.g. ';').
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Start the file with a UTF-8 byte-order mark (for spreadsheets).
    #[arg(long)]
    pub bom: bool,
    /// End lines with CRLF instead of LF.
    #[arg(long)]
    pub crlf: bool,
    /// Turn line breaks inside values into spaces (one physical line per user).
    #[arg(long)]
    pub flatten_newlines: bool,
    /// smart (default), auth0 or none.
    #[arg(long)]
    pub formula_escape: Option<String>,
    /// Gzip the output.
    #[arg(long)]
    pub gzip: bool,
    /// Also write each user's password hashes and MFA factors (json or ndjson whole profiles
    /// only): an offline backup that imports back with its passwords. Refused when the output
    /// is a terminal; the file is created readable by its owner only. Recorded in the audit log.
    #[arg(long)]
    pub include_secrets: bool,
    /// Output file, or '-' for standard output.
    #[arg(short, long, default_value = "-")]
    pub output: String,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add deterministic synthetic users (realistic and hostile).
    Seed {
        /// How many users to add.
        #[arg(long)]
        count: u64,
        /// Connection to add them to (by name).
        #[arg(long, default_value = "Username-Password-Authentication")]
        connection: String,
        /// Same seed, same users.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print how many users the directory holds.
    Count,
    /// Check a password (read from standard input) against a user's imported hash.
    VerifyPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Only look in this connection (by name).
        #[arg(long)]
        connection: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// List connections.
    Ls,
    /// Create a database connection.
    Create { name: String },
}
