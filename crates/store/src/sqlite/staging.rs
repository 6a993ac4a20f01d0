//! Staging of a campaign run (campaign-import.md RUN-2, IMP-32): the records of a run,
//! converted and keyed, kept in a scratch SQLite file instead of memory, so a file of any
//! size is read, de-duplicated over its whole length and accounted for in flat memory.
//!
//! One table, `records`, one row per data record in file order (`seq`):
//!
//! | column | meaning |
//! |---|---|
//! | `line` | 1-based physical line where the record starts |
//! | `key` | normalised key; NULL for keyless rows and rejected records |
//! | `fields` | the record's fields as parsed (length-prefixed), for the reject file |
//! | `code`, `col`, `message`, `counted` | why it is rejected (NULL: it is applied) |
//! | `v0`…`vN` | the converted values, in target column order; a zero-length BLOB is a blank |
//!
//! A blank cell must differ from a cleared one (NULL) all the way into the set-based apply
//! (`campaign_tables::apply_staged`); campaign values are only ever INTEGER, TEXT or NULL, so
//! an empty BLOB cannot be mistaken for a value. The file is scratch: no journal, no fsync,
//! removed when the staging is dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection as Db, OpenFlags};

use super::key_filter::KeyFilter;
use crate::{Result, StoreError, StoredValue};

/// Records written per staging transaction.
const ROWS_PER_TRANSACTION: u64 = 50_000;
/// Page cache of the staging connection (KiB, negative for SQLite).
const STAGING_CACHE_KIB: i64 = -16_384;

/// A staged cell: a value, a cleared cell (NULL) or a blank (an empty BLOB).
struct StagedCell<'a>(&'a Option<StoredValue>);

impl rusqlite::ToSql for StagedCell<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            None => ToSqlOutput::Borrowed(ValueRef::Blob(&[])),
            Some(StoredValue::Null) => ToSqlOutput::Borrowed(ValueRef::Null),
            Some(StoredValue::Integer(i)) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Some(StoredValue::Text(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

/// One member of a group of records sharing a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagedRecordRef {
    pub seq: i64,
    pub line: u64,
}

/// Why a staged record is rejected after staging (a duplicate-policy decision, `not_found`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub seq: i64,
    pub code: String,
    pub message: String,
    /// Counts toward the error thresholds.
    pub counted: bool,
}

/// A rejected record, as the reject file shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedReject {
    pub line: u64,
    pub fields: Vec<String>,
    pub column: String,
    pub code: String,
    pub message: String,
}

/// Rejections of one reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectTally {
    pub code: String,
    pub rows: u64,
    /// Of those, how many count toward thresholds.
    pub counted: u64,
}

/// The scratch file of one run; see the module documentation.
pub struct CampaignStaging {
    db: Db,
    path: PathBuf,
    columns: usize,
    next_seq: i64,
    /// Records staged and not rejected: what an apply starts from.
    rows_to_apply: u64,
    in_transaction: u64,
    insert_sql: String,
    keys: KeyFilter,
    /// Rejected records by reason code: (rows, of which count toward thresholds). Kept as
    /// records are marked, so the report never scans the staging file for them.
    tallies: BTreeMap<String, (u64, u64)>,
    /// The key index exists (built by `finish_reading` when duplicates are possible).
    indexed: bool,
}

impl std::fmt::Debug for CampaignStaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CampaignStaging")
            .field("path", &self.path)
            .field("columns", &self.columns)
            .finish()
    }
}

/// Fields as one BLOB, the form [`CampaignStaging::add_row`] takes them in: each a
/// little-endian `u32` length and its UTF-8 bytes. `out` is cleared first.
pub fn encode_fields<'a>(fields: impl IntoIterator<Item = &'a str>, out: &mut Vec<u8>) {
    out.clear();
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&field.as_bytes()[..len as usize]);
    }
}

fn decode_fields(mut bytes: &[u8]) -> Result<Vec<String>> {
    let corrupt = || StoreError::Corrupt("a staged record's fields".into());
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let len = u32::from_le_bytes(*len) as usize;
        let text = rest.get(..len).ok_or_else(corrupt)?;
        fields.push(String::from_utf8_lossy(text).into_owned());
        bytes = &rest[len..];
    }
    Ok(fields)
}

impl CampaignStaging {
    /// Creates `<dir>/<name>.staging` for records of `columns` converted values.
    pub fn create(dir: &Path, name: &str, columns: usize) -> Result<CampaignStaging> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(format!("{name}.staging"));
        // A leftover of a killed run under the same name is scratch too.
        let _ = std::fs::remove_file(&path);
        let db = Db::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        db.pragma_update(None, "journal_mode", "OFF")?;
        db.pragma_update(None, "synchronous", "OFF")?;
        db.pragma_update(None, "cache_size", STAGING_CACHE_KIB)?;
        db.pragma_update(None, "temp_store", "FILE")?;
        let values: String = (0..columns).map(|i| format!(", v{i}")).collect();
        db.execute_batch(&format!(
            "CREATE TABLE records (seq INTEGER PRIMARY KEY, line INTEGER NOT NULL, key TEXT,
                 fields BLOB NOT NULL, code TEXT, col TEXT, message TEXT, counted INTEGER{values});
             CREATE TABLE marks (seq INTEGER PRIMARY KEY, code TEXT NOT NULL,
                 message TEXT NOT NULL, counted INTEGER NOT NULL);"
        ))?;
        let placeholders: String = (0..columns).map(|i| format!(", ?{}", i + 5)).collect();
        let insert_sql = format!(
            "INSERT INTO records (seq, line, key, fields{values}) VALUES (?1, ?2, ?3, ?4{placeholders})"
        );
        Ok(CampaignStaging {
            db,
            path,
            columns,
            next_seq: 1,
            rows_to_apply: 0,
            in_transaction: 0,
            insert_sql,
            keys: KeyFilter::new(),
            tallies: BTreeMap::new(),
            indexed: false,
        })
    }

    /// The scratch file (the store's apply attaches it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of converted values per record.
    pub fn columns(&self) -> usize {
        self.columns
    }

    fn begin_if_needed(&mut self) -> Result<()> {
        if self.in_transaction == 0 {
            self.db.execute_batch("BEGIN")?;
        }
        self.in_transaction += 1;
        if self.in_transaction >= ROWS_PER_TRANSACTION {
            self.db.execute_batch("COMMIT; BEGIN")?;
            self.in_transaction = 1;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.in_transaction > 0 {
            self.db.execute_batch("COMMIT")?;
            self.in_transaction = 0;
        }
        Ok(())
    }

    fn tally(&mut self, code: &str, counted: bool) {
        let (rows, counts) = self.tallies.entry(code.to_string()).or_default();
        *rows += 1;
        *counts += u64::from(counted);
    }

    /// Stages a record to apply; `fields` as [`encode_fields`] gives them.
    pub fn add_row(
        &mut self,
        line: u64,
        key: Option<&str>,
        fields: &[u8],
        values: &[Option<StoredValue>],
    ) -> Result<i64> {
        if values.len() != self.columns {
            return Err(StoreError::Invalid(format!(
                "line {line}: {} values for {} columns",
                values.len(),
                self.columns
            )));
        }
        self.begin_if_needed()?;
        if let Some(key) = key {
            self.keys.insert(key);
        }
        let seq = self.next_seq;
        let mut stmt = self.db.prepare_cached(&self.insert_sql)?;
        stmt.raw_bind_parameter(1, seq)?;
        stmt.raw_bind_parameter(2, line as i64)?;
        stmt.raw_bind_parameter(3, key)?;
        stmt.raw_bind_parameter(4, fields)?;
        for (i, value) in values.iter().enumerate() {
            stmt.raw_bind_parameter(i + 5, StagedCell(value))?;
        }
        stmt.raw_execute()?;
        self.next_seq += 1;
        self.rows_to_apply += 1;
        Ok(seq)
    }

    /// Stages a record rejected while reading (conversion, key, column count, …); `fields`
    /// as [`encode_fields`] gives them.
    pub fn add_reject(
        &mut self,
        line: u64,
        fields: &[u8],
        column: &str,
        code: &str,
        message: &str,
    ) -> Result<i64> {
        self.begin_if_needed()?;
        let seq = self.next_seq;
        self.db
            .prepare_cached(
                "INSERT INTO records (seq, line, fields, code, col, message, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
            )?
            .execute(rusqlite::params![
                seq,
                line as i64,
                fields,
                code,
                column,
                message
            ])?;
        self.next_seq += 1;
        self.tally(code, true);
        Ok(seq)
    }

    /// Ends the reading phase: commits and, unless the key filter proved every key unique,
    /// indexes the keys of the records to apply.
    pub fn finish_reading(&mut self) -> Result<()> {
        self.commit()?;
        if self.keys.release() {
            self.db.execute_batch(
                "CREATE INDEX records_key ON records (key, seq)
                 WHERE key IS NOT NULL AND code IS NULL",
            )?;
            self.indexed = true;
        }
        Ok(())
    }

    /// Visits every group of records to apply that share a key, members in file order, and
    /// applies the marks `decide` pushes (the duplicate policy is the caller's). Returns the
    /// number of records marked.
    pub fn resolve_duplicates(
        &mut self,
        decide: &mut dyn FnMut(&[StagedRecordRef], &mut Vec<Mark>),
    ) -> Result<u64> {
        self.commit()?;
        if !self.indexed {
            return Ok(0); // no key was seen twice
        }
        let mut tallied: Vec<(String, bool)> = Vec::new();
        let tx = self.db.transaction()?;
        {
            let mut groups = tx.prepare(
                "SELECT key, seq, line FROM records
                 WHERE key IN (SELECT key FROM records WHERE key IS NOT NULL AND code IS NULL
                               GROUP BY key HAVING count(*) > 1)
                   AND code IS NULL
                 ORDER BY key, seq",
            )?;
            // Marks go to their own table while the scan runs, then onto the records.
            let mut save = tx.prepare(
                "INSERT INTO marks (seq, code, message, counted) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut rows = groups.query([])?;
            let mut current: Option<String> = None;
            let mut members: Vec<StagedRecordRef> = Vec::new();
            let mut marks: Vec<Mark> = Vec::new();
            let mut flush = |members: &mut Vec<StagedRecordRef>| -> Result<()> {
                if members.len() > 1 {
                    marks.clear();
                    decide(members, &mut marks);
                    for mark in &marks {
                        save.execute(rusqlite::params![
                            mark.seq,
                            mark.code,
                            mark.message,
                            mark.counted
                        ])?;
                        tallied.push((mark.code.clone(), mark.counted));
                    }
                }
                members.clear();
                Ok(())
            };
            while let Some(row) = rows.next()? {
                let key: String = row.get(0)?;
                if current.as_deref() != Some(key.as_str()) {
                    flush(&mut members)?;
                    current = Some(key);
                }
                members.push(StagedRecordRef {
                    seq: row.get(1)?,
                    line: row.get::<_, i64>(2)? as u64,
                });
            }
            flush(&mut members)?;
        }
        let marked = tx.execute(
            "UPDATE records SET code = m.code, message = m.message, counted = m.counted, col = ''
             FROM marks m WHERE records.seq = m.seq",
            [],
        )?;
        tx.execute("DELETE FROM marks", [])?;
        tx.commit()?;
        self.rows_to_apply -= marked as u64;
        for (code, counted) in tallied {
            self.tally(&code, counted);
        }
        Ok(marked as u64)
    }

    /// Marks records rejected after staging (`not_found` after the apply).
    pub fn mark(&mut self, marks: &[Mark]) -> Result<()> {
        self.commit()?;
        let mut tallied: Vec<(&str, bool)> = Vec::new();
        let tx = self.db.transaction()?;
        {
            let mut update = tx.prepare(
                "UPDATE records SET code = ?2, message = ?3, counted = ?4, col = ''
                 WHERE seq = ?1 AND code IS NULL",
            )?;
            for mark in marks {
                let changed = update.execute(rusqlite::params![
                    mark.seq,
                    mark.code,
                    mark.message,
                    mark.counted
                ])?;
                if changed > 0 {
                    self.rows_to_apply -= 1;
                    tallied.push((&mark.code, mark.counted));
                }
            }
        }
        tx.commit()?;
        for (code, counted) in tallied {
            self.tally(code, counted);
        }
        Ok(())
    }

    /// Rejected records by reason code, in code order.
    pub fn reject_tallies(&self) -> Vec<RejectTally> {
        self.tallies
            .iter()
            .map(|(code, &(rows, counted))| RejectTally {
                code: code.clone(),
                rows,
                counted,
            })
            .collect()
    }

    /// Records to apply (staged and not rejected so far).
    pub fn rows_to_apply(&self) -> u64 {
        self.rows_to_apply
    }

    /// Streams the rejected records in file order.
    pub fn rejects(&self, visit: &mut dyn FnMut(StagedReject) -> Result<()>) -> Result<()> {
        let mut stmt = self.db.prepare(
            "SELECT line, fields, col, code, message FROM records WHERE code IS NOT NULL ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let fields = match row.get_ref(1)? {
                ValueRef::Blob(b) => decode_fields(b)?,
                _ => Vec::new(),
            };
            visit(StagedReject {
                line: row.get::<_, i64>(0)? as u64,
                fields,
                column: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                code: row.get(3)?,
                message: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
            })?;
        }
        Ok(())
    }

    /// Ensures no transaction of the staging connection is open, so another connection
    /// may read the file.
    pub(crate) fn settle(&mut self) -> Result<()> {
        self.commit()
    }
}

impl Drop for CampaignStaging {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fields_round_trip(fields in proptest::collection::vec(".*", 0..8)) {
            let mut buf = Vec::new();
            encode_fields(fields.iter().map(String::as_str), &mut buf);
            prop_assert_eq!(decode_fields(&buf).ok(), Some(fields));
        }
    }

    #[test]
    fn unique_keys_skip_the_index_and_duplicates_are_still_found() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let v = |s: &str| vec![Some(StoredValue::Text(s.into()))];
        let mut unique = CampaignStaging::create(dir.path(), "u", 1)?;
        unique.add_row(2, Some("a"), &[], &v("a"))?;
        unique.add_row(3, Some("b"), &[], &v("b"))?;
        unique.finish_reading()?;
        assert!(!unique.indexed);
        assert_eq!(unique.resolve_duplicates(&mut |_, _| unreachable!())?, 0);
        Ok(())
    }

    #[test]
    fn truncated_fields_are_corrupt_not_a_panic() {
        assert!(decode_fields(&[5, 0, 0, 0, b'a']).is_err());
        assert!(decode_fields(&[1, 0]).is_err());
    }

    #[test]
    fn staging_groups_marks_and_streams_rejects() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut s = CampaignStaging::create(dir.path(), "t", 1)?;
        let blob = |s: &str| {
            let mut buf = Vec::new();
            encode_fields([s], &mut buf);
            buf
        };
        let f = |s: &str| vec![s.to_string()];
        let v = |s: &str| vec![Some(StoredValue::Text(s.into()))];
        s.add_row(2, Some("a"), &blob("A"), &v("A"))?;
        s.add_reject(3, &blob("bad"), "c", "invalid_integer", "not a number")?;
        s.add_row(4, Some("b"), &blob("B"), &v("B"))?;
        s.add_row(5, Some("a"), &blob("a2"), &v("a2"))?;
        s.finish_reading()?;
        let mut groups = Vec::new();
        let marked = s.resolve_duplicates(&mut |members, marks| {
            groups.push(members.to_vec());
            marks.push(Mark {
                seq: members[0].seq,
                code: "superseded_in_file".into(),
                message: "later wins".into(),
                counted: false,
            });
        })?;
        assert_eq!(marked, 1);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].iter().map(|m| m.line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(s.rows_to_apply(), 2);
        let mut lines = Vec::new();
        s.rejects(&mut |r| {
            lines.push((r.line, r.code, r.fields));
            Ok(())
        })?;
        assert_eq!(
            lines,
            [
                (2, "superseded_in_file".to_string(), f("A")),
                (3, "invalid_integer".to_string(), f("bad"))
            ]
        );
        let tallies = s.reject_tallies();
        assert_eq!(tallies.iter().map(|t| t.counted).sum::<u64>(), 1);
        let path = s.path().to_path_buf();
        drop(s);
        assert!(!path.exists());
        Ok(())
    }
}
