//! Running an import: a pre-scan that checks the whole file and finds duplicates, then
//! batches of records applied in transactions with their checkpoint.
//!
//! ```text
//! pass 1 (pre-scan): reader ─► syntax of every record, match keys ─► duplicates, total
//! pass 2 (apply):    reader ─► validate ─► match (email, user_id, username) ─► insert/update
//!                    └─ every batch_size records: one transaction = users + errors + checkpoint
//! ```
//!
//! A file that does not parse fails before anything is written. A run killed at any point
//! leaves whole batches only; resuming from the saved checkpoint skips exactly the records
//! already applied, so the result equals an uninterrupted run.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use userbridge_model::ids::{self, USER_ID_PREFIX};
use userbridge_model::user::gravatar_url;
use userbridge_model::{ErrorCode, RecordError, User, time};
use userbridge_store::{Conflict, Store, StoreError, WriteTx};

use crate::reader::{RawRecord, RecordReader};
use crate::spec::ImportSpec;
use crate::validate::{ValidRecord, linked_identities, mask_secrets, match_keys, validate};
use crate::{ImportError, Result};

/// Records per transaction, by default.
pub const BATCH_SIZE: usize = 5_000;

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

/// The result of the pre-scan.
#[derive(Debug, Default)]
pub struct Prescan {
    pub total: u64,
    /// Later occurrences: index → (index of the first occurrence, shared key).
    pub duplicates: HashMap<u64, (u64, &'static str)>,
}

/// Pass 1: reads the whole file, checks its syntax, counts records and finds duplicates.
pub fn prescan(spec: &ImportSpec) -> Result<Prescan> {
    let hashers = (RandomState::new(), RandomState::new());
    // 128-bit fingerprints of the keys, not the keys: a million users fit in a few dozen MB.
    let fingerprint = |kind: u8, key: &str| -> u128 {
        let a = hashers.0.hash_one((kind, key));
        let b = hashers.1.hash_one((kind, key));
        (u128::from(a) << 64) | u128::from(b)
    };
    let mut first: HashMap<u128, u64> = HashMap::new();
    let mut result = Prescan::default();
    for record in RecordReader::open(&spec.file, &spec.reader)? {
        let record = record?;
        result.total += 1;
        let Ok(value) = &record.value else { continue };
        let keys = match_keys(value);
        let mut duplicate = None;
        for (kind, name, key) in [
            (0u8, "email", &keys.email),
            (1, "user_id", &keys.user_id),
            (2, "username", &keys.username),
        ] {
            let Some(key) = key else { continue };
            match first.entry(fingerprint(kind, key)) {
                std::collections::hash_map::Entry::Occupied(seen) => {
                    duplicate.get_or_insert((*seen.get(), name));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(record.index);
                }
            }
        }
        if let Some(duplicate) = duplicate {
            result.duplicates.insert(record.index, duplicate);
        }
    }
    Ok(result)
}

/// Runs an import from `from` (a fresh start or a saved checkpoint) to the end of the file.
pub fn run(
    store: &dyn Store,
    spec: &ImportSpec,
    from: Checkpoint,
    sink: &mut dyn BatchSink,
) -> Result<Summary> {
    let scan = prescan(spec)?;
    let mut checkpoint = Checkpoint {
        processed: from.processed,
        summary: Summary {
            total: scan.total,
            ..from.summary
        },
    };
    if !sink.progress(checkpoint.processed, scan.total) {
        return Err(ImportError::Cancelled);
    }
    let connection_name: Arc<str> = Arc::from(spec.connection.name.as_str());
    let mut records = RecordReader::open(&spec.file, &spec.reader)?.skip(from.processed as usize);
    loop {
        let mut batch = Vec::with_capacity(spec.batch_size);
        for record in records.by_ref().take(spec.batch_size) {
            batch.push(record?);
        }
        if batch.is_empty() && checkpoint.processed > from.processed {
            break;
        }
        let mut next = checkpoint;
        store
            .write_transaction(&mut |tx| {
                next = checkpoint;
                let mut failed = Vec::new();
                for record in &batch {
                    match apply(tx, spec, &connection_name, &scan, record) {
                        Ok(Applied::Inserted) => next.summary.inserted += 1,
                        Ok(Applied::Updated) => next.summary.updated += 1,
                        Err(errors) => {
                            next.summary.failed += 1;
                            failed.push(failure(record, errors));
                        }
                    }
                    next.processed += 1;
                }
                sink.batch(tx, &next, &failed)
                    .map_err(|e| StoreError::Aborted(e.to_string()))?;
                if spec.dry_run {
                    // Roll back: a dry run checks against the directory but never changes it.
                    return Err(StoreError::Aborted(DRY_RUN.into()));
                }
                Ok(())
            })
            .or_else(|e| match e {
                StoreError::Aborted(m) if m == DRY_RUN => Ok(()),
                e => Err(e),
            })?;
        checkpoint = next;
        if !sink.progress(checkpoint.processed, scan.total) {
            return Err(ImportError::Cancelled);
        }
        if batch.len() < spec.batch_size {
            break;
        }
    }
    Ok(checkpoint.summary)
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

/// Validates and applies one record; `Err` carries every reason it failed.
fn apply(
    tx: &mut dyn WriteTx,
    spec: &ImportSpec,
    connection_name: &Arc<str>,
    scan: &Prescan,
    record: &RawRecord,
) -> std::result::Result<Applied, Vec<RecordError>> {
    let value = record.value.as_ref().map_err(|e| vec![e.clone()])?;
    let valid = validate(value, &spec.limits)?;
    // Duplicates are judged only for schema-valid records (user-schema.md §8).
    if let Some((first, key)) = scan.duplicates.get(&record.index) {
        return Err(vec![RecordError::new(
            ErrorCode::DuplicatedUser,
            *key,
            format!("duplicate of the record at index {first} (same {key})"),
        )]);
    }
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
            let user = new_user(&valid, value, connection_name);
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
            .user_by_email(connection_id, &valid.email)
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
        if let Some(name) = &valid.username
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
        .user_by_email(connection_id, &valid.email)
        .map_err(store_error)?;
    let by_id = match &user_id {
        Some(id) => tx.user_by_id(id).map_err(store_error)?.map(|(u, _)| u),
        None => None,
    };
    let by_name = match &valid.username {
        Some(name) => tx
            .user_by_username(connection_id, name)
            .map_err(store_error)?,
        None => None,
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
            update(&mut existing, valid)?;
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
                let user = new_user(&valid, value, connection_name);
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

/// A new user from a valid record, with the defaults Auth0 applies.
fn new_user(valid: &ValidRecord, record: &Value, connection: &Arc<str>) -> User {
    let now = time::now();
    let suffix = valid
        .user_id
        .clone()
        .unwrap_or_else(ids::new_user_id_suffix);
    let local_part = valid.email.split('@').next().unwrap_or_default();
    User {
        user_id: format!("{USER_ID_PREFIX}{suffix}"),
        connection: connection.clone(),
        email: Some(valid.email.clone()),
        email_verified: valid.email_verified.unwrap_or(false),
        username: valid.username.clone(),
        phone_number: valid.phone_number.clone(),
        phone_verified: valid
            .phone_verified
            .or(valid.phone_number.as_ref().map(|_| false)),
        given_name: valid.given_name.clone(),
        family_name: valid.family_name.clone(),
        name: Some(valid.name.clone().unwrap_or_else(|| valid.email.clone())),
        nickname: Some(
            valid
                .nickname
                .clone()
                .unwrap_or_else(|| local_part.to_string()),
        ),
        picture: Some(
            valid
                .picture
                .clone()
                .unwrap_or_else(|| gravatar_url(&valid.email)),
        ),
        blocked: valid.blocked,
        created_at: now.clone(),
        updated_at: now.clone(),
        multifactor_last_modified: valid.mfa_factors.as_ref().map(|_| now.clone()),
        user_metadata: valid.user_metadata.clone().flatten(),
        app_metadata: valid.app_metadata.clone().flatten(),
        password_hash: valid.password_hash.clone(),
        custom_password_hash: valid.custom_password_hash.clone(),
        mfa_factors: valid.mfa_factors.clone(),
        linked_identities: linked_identities(record),
        ..User::default()
    }
}

/// Applies the upsertable properties of a record to an existing user (§7.2): metadata is
/// replaced, not merged; `password_hash` only when the user has no password yet.
fn update(user: &mut User, valid: ValidRecord) -> std::result::Result<(), Vec<RecordError>> {
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
    user.updated_at = time::now();
    Ok(())
}
