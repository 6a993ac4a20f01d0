//! Running an import: a pre-scan that checks the syntax of the whole file, then one pass
//! that validates records on one thread and applies them on another.
//!
//! ```text
//! pass 1 (pre-scan): reader (syntax only) ─► every record well-formed? how many?
//! pass 2:  reader ─► duplicates? ─► validate ══ bounded channel of chunks ══► match ─► insert/update
//!          └──────────── producer thread ─────┘                   └─ this thread: every
//!                                                                    batch_size records, one
//!                                                                    transaction = users +
//!                                                                    errors + checkpoint
//! ```
//!
//! A file that does not parse fails before anything is written. A run killed at any point
//! leaves whole batches only; resuming from the saved checkpoint skips exactly the records
//! already applied (their keys are still remembered, for the duplicate rule), so the result
//! equals an uninterrupted run.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::mpsc;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use userbridge_model::ids::{self, USER_ID_PREFIX};
use userbridge_model::user::gravatar_url;
use userbridge_model::{ErrorCode, RecordError, User, time};
use userbridge_store::{Conflict, Store, StoreError, WriteTx};

use crate::reader::{RawRecord, ReaderOptions, RecordReader};
use crate::spec::ImportSpec;
use crate::validate::{ValidRecord, linked_identities, mask_secrets, match_keys, validate};
use crate::{ImportError, Result};

/// Records per transaction, by default.
pub const BATCH_SIZE: usize = 25_000;
/// Records per chunk handed from the validating thread to the applying one.
const CHUNK: usize = 256;
/// Chunks in flight: memory stays a few thousand records, whatever the file size.
const CHANNEL_CHUNKS: usize = 8;

/// Auth0's import summary: `total = inserted + updated + failed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Summary {
    pub inserted: u64,
    pub updated: u64,
    pub failed: u64,
    pub total: u64,
}

/// Where a run starts: records already applied and what they gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub processed: u64,
    pub summary: Summary,
}

/// One failed record, as `GET /api/v2/jobs/{id}/errors` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRecord {
    /// The record as given in the file, secrets masked.
    pub user: Value,
    pub errors: Vec<RecordError>,
    /// 0-based position in the file.
    pub index: u64,
    /// 1-based line where the record starts.
    #[serde(skip)]
    pub line: u64,
}

/// What the caller does with each batch, inside its transaction: a job saves its errors and
/// checkpoint there; the CLI writes its errors file.
pub trait BatchSink {
    /// Called once per batch, within the batch's transaction (an error rolls it back).
    fn batch(
        &mut self,
        tx: &mut dyn WriteTx,
        checkpoint: &Checkpoint,
        failed: &[FailedRecord],
    ) -> Result<()>;

    /// Called after each committed batch with records done and in all; `false` stops the run.
    fn progress(&mut self, _done: u64, _total: u64) -> bool {
        true
    }
}

/// Pass 1: checks the syntax of the whole file and counts its records.
pub fn prescan(spec: &ImportSpec) -> Result<u64> {
    let options = ReaderOptions {
        syntax_only: true,
        ..spec.reader.clone()
    };
    let mut total = 0;
    for record in RecordReader::open(&spec.file, &options)? {
        record?;
        total += 1;
    }
    Ok(total)
}

/// The duplicate rule (user-schema.md §7.4): a record sharing its email, user_id or username
/// with an earlier one fails. Keys are kept as 64-bit fingerprints with the index of their
/// first record — a few dozen MB for millions of users; two different keys collide with a
/// probability below one in a million per ten million keys.
struct SeenKeys {
    hasher: RandomState,
    first: HashMap<u64, u32>,
}

impl SeenKeys {
    /// Sized once for `records` records (about two keys each), so the table never doubles
    /// while both its old and new halves are alive.
    fn new(records: u64) -> SeenKeys {
        let capacity = usize::try_from(records.saturating_mul(2)).unwrap_or(usize::MAX);
        SeenKeys {
            hasher: RandomState::new(),
            first: HashMap::with_capacity(capacity),
        }
    }

    /// Remembers the record's keys; returns the earlier record it duplicates, if any.
    fn check(&mut self, index: u64, value: &Value) -> Option<(u64, &'static str)> {
        let keys = match_keys(value);
        let mut duplicate = None;
        for (kind, name, key) in [
            (0u8, "email", &keys.email),
            (1, "user_id", &keys.user_id),
            (2, "username", &keys.username),
        ] {
            let Some(key) = key else { continue };
            match self.first.entry(self.hasher.hash_one((kind, key))) {
                Entry::Occupied(seen) => {
                    duplicate.get_or_insert((u64::from(*seen.get()), name));
                }
                Entry::Vacant(slot) => {
                    slot.insert(u32::try_from(index).unwrap_or(u32::MAX));
                }
            }
        }
        duplicate
    }
}

/// A record ready to apply: valid, or failed with its reasons.
enum Prepared {
    Valid {
        record: RawRecord,
        valid: Box<ValidRecord>,
    },
    Failed(FailedRecord),
}

/// The producer: reads, finds duplicates and validates, in chunks.
fn prepare(
    spec: &ImportSpec,
    skip: u64,
    total: u64,
    chunks: mpsc::SyncSender<Result<Vec<Prepared>>>,
) {
    let reader = match RecordReader::open(&spec.file, &spec.reader) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = chunks.send(Err(e.into()));
            return;
        }
    };
    let mut seen = SeenKeys::new(total);
    let mut chunk = Vec::with_capacity(CHUNK);
    for record in reader {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let _ = chunks.send(Err(e.into()));
                return;
            }
        };
        let duplicate = record
            .value
            .as_ref()
            .ok()
            .and_then(|v| seen.check(record.index, v));
        if record.index < skip {
            continue; // applied before a restart: only its keys matter now
        }
        let outcome = match &record.value {
            Err(e) => Err(vec![e.clone()]),
            Ok(value) => match validate(value, &spec.limits) {
                Err(errors) => Err(errors),
                // Duplicates are judged only for schema-valid records (user-schema.md §8).
                Ok(_) if duplicate.is_some() => {
                    let (first, key) = duplicate.unwrap_or((0, "email"));
                    Err(vec![RecordError::new(
                        ErrorCode::DuplicatedUser,
                        key,
                        format!("duplicate of the record at index {first} (same {key})"),
                    )])
                }
                Ok(valid) => Ok(Box::new(valid)),
            },
        };
        chunk.push(match outcome {
            Ok(valid) => Prepared::Valid { record, valid },
            Err(errors) => Prepared::Failed(failure(&record, errors)),
        });
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if chunks.send(Ok(full)).is_err() {
                return; // the applying side stopped
            }
        }
    }
    if !chunk.is_empty() {
        let _ = chunks.send(Ok(chunk));
    }
}

/// Runs an import from `from` (a fresh start or a saved checkpoint) to the end of the file.
pub fn run(
    store: &dyn Store,
    spec: &ImportSpec,
    from: Checkpoint,
    sink: &mut dyn BatchSink,
) -> Result<Summary> {
    let total = prescan(spec)?;
    let mut checkpoint = Checkpoint {
        processed: from.processed,
        summary: Summary {
            total,
            ..from.summary
        },
    };
    if !sink.progress(checkpoint.processed, total) {
        return Err(ImportError::Cancelled);
    }
    let connection_name: Arc<str> = Arc::from(spec.connection.name.as_str());
    let (sender, chunks) = mpsc::sync_channel::<Result<Vec<Prepared>>>(CHANNEL_CHUNKS);
    std::thread::scope(|scope| {
        scope.spawn(move || prepare(spec, from.processed, total, sender));
        // Owned by this closure: an early return drops it, which stops the producer instead
        // of leaving it blocked on a full channel while the scope waits for it.
        let chunks = chunks;
        let mut pending: std::collections::VecDeque<Prepared> = Default::default();
        let mut finished = false;
        while !finished || !pending.is_empty() {
            let mut next = checkpoint;
            let mut failure_cause: Option<ImportError> = None;
            // One clock reading per transaction: the time its records are applied.
            let now = time::now();
            let written = store.write_transaction(&mut |tx| {
                next = checkpoint;
                let mut failed = Vec::new();
                let mut in_batch = 0;
                while in_batch < spec.batch_size {
                    let Some(prepared) = pending.pop_front() else {
                        if finished {
                            break;
                        }
                        match chunks.recv() {
                            Ok(Ok(chunk)) => pending.extend(chunk),
                            Ok(Err(e)) => {
                                failure_cause = Some(e);
                                return Err(StoreError::Aborted(
                                    "the file could not be read".into(),
                                ));
                            }
                            Err(_) => finished = true,
                        }
                        continue;
                    };
                    in_batch += 1;
                    next.processed += 1;
                    let applied = match prepared {
                        Prepared::Failed(f) => Err(f),
                        Prepared::Valid { record, valid } => {
                            apply(tx, spec, &connection_name, &record, *valid, &now)
                                .map_err(|errors| failure(&record, errors))
                        }
                    };
                    match applied {
                        Ok(Applied::Inserted) => next.summary.inserted += 1,
                        Ok(Applied::Updated) => next.summary.updated += 1,
                        Err(f) => {
                            next.summary.failed += 1;
                            failed.push(f);
                        }
                    }
                }
                if in_batch == 0 && next.processed > from.processed {
                    return Ok(());
                }
                if let Err(e) = sink.batch(tx, &next, &failed) {
                    failure_cause = Some(e);
                    return Err(StoreError::Aborted("the batch could not be saved".into()));
                }
                if spec.dry_run {
                    // Roll back: a dry run checks against the directory but never changes it.
                    return Err(StoreError::Aborted(DRY_RUN.into()));
                }
                Ok(())
            });
            if let Some(cause) = failure_cause {
                return Err(cause);
            }
            match written {
                Ok(()) => {}
                Err(StoreError::Aborted(m)) if m == DRY_RUN => {}
                Err(e) => return Err(e.into()),
            }
            checkpoint = next;
            if !sink.progress(checkpoint.processed, total) {
                return Err(ImportError::Cancelled);
            }
        }
        Ok(checkpoint.summary)
    })
}

const DRY_RUN: &str = "dry run: rolled back";

enum Applied {
    Inserted,
    Updated,
}

fn failure(record: &RawRecord, errors: Vec<RecordError>) -> FailedRecord {
    FailedRecord {
        user: record
            .value
            .as_ref()
            .map(mask_secrets)
            .unwrap_or(Value::Null),
        errors,
        index: record.index,
        line: record.line,
    }
}

/// Applies one valid record; `Err` carries the reasons it could not be.
fn apply(
    tx: &mut dyn WriteTx,
    spec: &ImportSpec,
    connection_name: &Arc<str>,
    record: &RawRecord,
    valid: ValidRecord,
    now: &str,
) -> std::result::Result<Applied, Vec<RecordError>> {
    let linked = record.value.as_ref().ok().and_then(linked_identities);
    // The match keys outlive `valid`, which the new user takes over without copying.
    let email = valid.email.clone();
    let username = valid.username.clone();
    let store_error = |e: StoreError| {
        vec![RecordError::new(
            ErrorCode::Conflict,
            "",
            format!("could not be stored: {e}"),
        )]
    };
    let connection_id = spec.connection.id.as_str();
    let user_id = valid
        .user_id
        .as_ref()
        .map(|id| format!("{USER_ID_PREFIX}{id}"));

    if !spec.upsert {
        if !spec.dry_run {
            let user = new_user(valid, linked, connection_name, now);
            match tx.insert_user(connection_id, &user) {
                Ok(()) => return Ok(Applied::Inserted),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        // Which existing user it collides with, in Auth0's order: email, user_id, username.
        let existing = |code, path: &str| {
            Err(vec![RecordError::new(
                code,
                path,
                "The user already exist and upsert parameter is false",
            )])
        };
        if tx
            .user_by_email(connection_id, &email)
            .map_err(store_error)?
            .is_some()
        {
            return existing(ErrorCode::ConflictEmail, "email");
        }
        if let Some(id) = &user_id
            && tx.user_by_id(id).map_err(store_error)?.is_some()
        {
            return existing(ErrorCode::Conflict, "user_id");
        }
        if let Some(name) = &username
            && tx
                .user_by_username(connection_id, name)
                .map_err(store_error)?
                .is_some()
        {
            return existing(ErrorCode::ConflictUsername, "username");
        }
        return if spec.dry_run {
            Ok(Applied::Inserted)
        } else {
            Err(vec![RecordError::new(
                ErrorCode::Conflict,
                "",
                "the user collides with an existing user",
            )])
        };
    }

    // Upsert (user-schema.md §7.1).
    let by_email = tx
        .user_by_email(connection_id, &email)
        .map_err(store_error)?;
    // When the email's user already carries the record's user_id (or username), that key
    // can only name the same user: skip the lookup. Re-importing an export hits this on
    // every record.
    let by_id = match (&user_id, &by_email) {
        (Some(id), Some(found)) if found.user_id == *id => None,
        (Some(id), _) => tx.user_by_id(id).map_err(store_error)?.map(|(u, _)| u),
        (None, _) => None,
    };
    let by_name = match (&username, &by_email) {
        (Some(name), Some(found)) if found.username.as_deref() == Some(name.as_str()) => None,
        (Some(name), _) => tx
            .user_by_username(connection_id, name)
            .map_err(store_error)?,
        (None, _) => None,
    };
    match by_email {
        Some(mut existing) => {
            if by_id
                .as_ref()
                .is_some_and(|u| u.user_id != existing.user_id)
            {
                return Err(vec![RecordError::new(
                    ErrorCode::Conflict,
                    "user_id",
                    "user_id belongs to another user",
                )]);
            }
            if by_name
                .as_ref()
                .is_some_and(|u| u.user_id != existing.user_id)
            {
                return Err(vec![RecordError::new(
                    ErrorCode::ConflictUsername,
                    "username",
                    "already used by another user",
                )]);
            }
            update(&mut existing, valid, now)?;
            if !spec.dry_run {
                tx.update_user(&existing).map_err(store_error)?;
            }
            Ok(Applied::Updated)
        }
        None => {
            if by_id.is_some() {
                return Err(vec![RecordError::new(
                    ErrorCode::Conflict,
                    "user_id",
                    "email cannot be changed by an import",
                )]);
            }
            if by_name.is_some() {
                return Err(vec![RecordError::new(
                    ErrorCode::ConflictUsername,
                    "username",
                    "email cannot be changed by an import",
                )]);
            }
            if !spec.dry_run {
                let user = new_user(valid, linked, connection_name, now);
                match tx.insert_user(connection_id, &user) {
                    Ok(()) => {}
                    Err(StoreError::Conflict(Conflict::UserId)) => {
                        return Err(vec![RecordError::new(
                            ErrorCode::Conflict,
                            "user_id",
                            "user_id belongs to a user of another connection",
                        )]);
                    }
                    Err(e) => return Err(store_error(e)),
                }
            }
            Ok(Applied::Inserted)
        }
    }
}

/// A new user from a valid record, with the defaults Auth0 applies (`name` = the email,
/// `nickname` = its local part, a Gravatar-style `picture`, a generated id). Shared with
/// `POST /api/v2/users`.
pub fn new_user(
    valid: ValidRecord,
    linked: Option<Box<RawValue>>,
    connection: &Arc<str>,
    now: &str,
) -> User {
    let suffix = valid.user_id.unwrap_or_else(ids::new_user_id_suffix);
    let local_part = valid.email.split('@').next().unwrap_or_default();
    let nickname = valid.nickname.unwrap_or_else(|| local_part.to_string());
    let picture = valid.picture.unwrap_or_else(|| gravatar_url(&valid.email));
    let name = valid.name.unwrap_or_else(|| valid.email.clone());
    User {
        user_id: format!("{USER_ID_PREFIX}{suffix}"),
        connection: connection.clone(),
        email_verified: valid.email_verified.unwrap_or(false),
        username: valid.username,
        phone_verified: valid
            .phone_verified
            .or(valid.phone_number.as_ref().map(|_| false)),
        phone_number: valid.phone_number,
        given_name: valid.given_name,
        family_name: valid.family_name,
        name: Some(name),
        nickname: Some(nickname),
        picture: Some(picture),
        email: Some(valid.email),
        blocked: valid.blocked,
        created_at: now.to_string(),
        updated_at: now.to_string(),
        multifactor_last_modified: valid.mfa_factors.as_ref().map(|_| now.to_string()),
        user_metadata: valid.user_metadata.flatten(),
        app_metadata: valid.app_metadata.flatten(),
        password_hash: valid.password_hash,
        custom_password_hash: valid.custom_password_hash,
        mfa_factors: valid.mfa_factors,
        linked_identities: linked,
        ..User::default()
    }
}

/// Applies the upsertable properties of a record to an existing user (§7.2): metadata is
/// replaced, not merged; `password_hash` only when the user has no password yet.
fn update(
    user: &mut User,
    valid: ValidRecord,
    now: &str,
) -> std::result::Result<(), Vec<RecordError>> {
    if valid.password_hash.is_some() {
        if user.password_hash.is_some() || user.custom_password_hash.is_some() {
            return Err(vec![RecordError::new(
                ErrorCode::Conflict,
                "password_hash",
                "user already has password hash defined",
            )]);
        }
        user.password_hash = valid.password_hash;
    }
    if let Some(v) = valid.email_verified {
        user.email_verified = v;
    }
    for (value, slot) in [
        (valid.given_name, &mut user.given_name),
        (valid.family_name, &mut user.family_name),
        (valid.name, &mut user.name),
        (valid.nickname, &mut user.nickname),
        (valid.picture, &mut user.picture),
    ] {
        if value.is_some() {
            *slot = value;
        }
    }
    if let Some(metadata) = valid.user_metadata {
        user.user_metadata = metadata;
    }
    if let Some(metadata) = valid.app_metadata {
        user.app_metadata = metadata;
    }
    if valid.custom_password_hash.is_some() {
        user.custom_password_hash = valid.custom_password_hash;
        user.password_hash = None;
    }
    user.updated_at = now.to_string();
    Ok(())
}
