//! The audit log (migration 0010): appended to, read newest first.

use rusqlite::{Connection as Db, params};
use userbridge_model::time;

use crate::{AuditEvent, Result, StoreError};

pub(crate) fn record(db: &Db, event: &AuditEvent) -> Result<()> {
    let at = if event.at.is_empty() {
        time::now()
    } else {
        event.at.clone()
    };
    db.prepare_cached(
        "INSERT INTO audit_events (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        at,
        event.actor,
        event.action,
        event.target,
        event.detail.to_string()
    ])?;
    Ok(())
}

pub(crate) fn page(db: &Db, offset: u64, limit: u64) -> Result<Vec<AuditEvent>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, at, actor, action, target, detail FROM audit_events
         ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![limit, offset], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (id, at, actor, action, target, detail) = row?;
        let detail = serde_json::from_str(&detail)
            .map_err(|_| StoreError::Corrupt(format!("audit event {id}: detail is not JSON")))?;
        events.push(AuditEvent {
            id: id as u64,
            at,
            actor,
            action,
            target,
            detail,
        });
    }
    Ok(events)
}

pub(crate) fn count(db: &Db) -> Result<u64> {
    let n: i64 = db.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))?;
    Ok(n as u64)
}
