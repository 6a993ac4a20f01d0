//! Dashboard admins and their web sessions (migration 0008).

use rusqlite::{Connection as Db, OptionalExtension, params};
use userbridge_model::time;

use crate::{Admin, Result, WebSession};

pub(crate) fn set_password(db: &mut Db, username: &str, password_hash: &str) -> Result<()> {
    let tx = db.transaction()?;
    tx.execute(
        "INSERT INTO admins (username, password_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        params![username, password_hash, time::now()],
    )?;
    tx.execute("DELETE FROM web_sessions WHERE username = ?1", [username])?;
    tx.commit()?;
    Ok(())
}

fn admin_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Admin> {
    Ok(Admin {
        username: r.get(0)?,
        password_hash: r.get(1)?,
        created_at: r.get(2)?,
    })
}

pub(crate) fn admin(db: &Db, username: &str) -> Result<Option<Admin>> {
    Ok(db
        .query_row(
            "SELECT username, password_hash, created_at FROM admins WHERE username = ?1",
            [username],
            admin_from_row,
        )
        .optional()?)
}

pub(crate) fn admins(db: &Db) -> Result<Vec<Admin>> {
    let mut stmt = db.prepare_cached(
        "SELECT username, password_hash, created_at FROM admins ORDER BY username",
    )?;
    let rows = stmt.query_map([], admin_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn create_session(db: &Db, digest: &str, session: &WebSession) -> Result<()> {
    db.execute(
        "INSERT INTO web_sessions (digest, username, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            digest,
            session.username,
            session.created_at,
            session.expires_at
        ],
    )?;
    Ok(())
}

pub(crate) fn session(db: &Db, digest: &str) -> Result<Option<WebSession>> {
    Ok(db
        .query_row(
            "SELECT username, created_at, expires_at FROM web_sessions WHERE digest = ?1",
            [digest],
            |r| {
                Ok(WebSession {
                    username: r.get(0)?,
                    created_at: r.get(1)?,
                    expires_at: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(crate) fn delete_session(db: &Db, digest: &str) -> Result<bool> {
    Ok(db.execute("DELETE FROM web_sessions WHERE digest = ?1", [digest])? > 0)
}

pub(crate) fn delete_expired(db: &Db, now: i64) -> Result<u64> {
    Ok(db.execute("DELETE FROM web_sessions WHERE expires_at < ?1", [now])? as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::{SqliteStore, Store, WebSession};

    fn session(username: &str, expires_at: i64) -> WebSession {
        WebSession {
            username: username.into(),
            created_at: "2024-01-01T00:00:00.000Z".into(),
            expires_at,
        }
    }

    #[test]
    fn setting_a_password_creates_then_replaces_the_admin() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        assert!(store.admins().unwrap().is_empty());
        assert_eq!(store.admin("admin").unwrap(), None);

        store.set_admin_password("admin", "hash-1").unwrap();
        let first = store.admin("admin").unwrap().unwrap();
        assert_eq!(first.password_hash, "hash-1");

        store.set_admin_password("admin", "hash-2").unwrap();
        let second = store.admin("admin").unwrap().unwrap();
        assert_eq!(second.password_hash, "hash-2");
        assert_eq!(second.created_at, first.created_at);

        store.set_admin_password("bob", "hash-3").unwrap();
        let names: Vec<String> = store
            .admins()
            .unwrap()
            .into_iter()
            .map(|a| a.username)
            .collect();
        assert_eq!(names, ["admin", "bob"]);
    }

    #[test]
    fn sessions_are_found_by_digest_and_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store.set_admin_password("admin", "hash").unwrap();
        store
            .create_web_session("digest-a", &session("admin", 100))
            .unwrap();
        assert_eq!(
            store.web_session("digest-a").unwrap(),
            Some(session("admin", 100))
        );
        assert_eq!(store.web_session("digest-b").unwrap(), None);
        assert!(store.delete_web_session("digest-a").unwrap());
        assert!(!store.delete_web_session("digest-a").unwrap());
        assert_eq!(store.web_session("digest-a").unwrap(), None);
    }

    #[test]
    fn a_session_needs_an_existing_admin() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        assert!(
            store
                .create_web_session("digest", &session("nobody", 100))
                .is_err()
        );
    }

    #[test]
    fn expired_sessions_are_deleted_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store.set_admin_password("admin", "hash").unwrap();
        store
            .create_web_session("old", &session("admin", 99))
            .unwrap();
        store
            .create_web_session("now", &session("admin", 100))
            .unwrap();
        store
            .create_web_session("new", &session("admin", 101))
            .unwrap();
        assert_eq!(store.delete_expired_web_sessions(100).unwrap(), 1);
        assert_eq!(store.web_session("old").unwrap(), None);
        assert!(store.web_session("now").unwrap().is_some());
        assert!(store.web_session("new").unwrap().is_some());
    }

    #[test]
    fn a_new_password_ends_only_that_admins_sessions() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store.set_admin_password("admin", "hash").unwrap();
        store.set_admin_password("bob", "hash").unwrap();
        store
            .create_web_session("a", &session("admin", i64::MAX))
            .unwrap();
        store
            .create_web_session("b", &session("bob", i64::MAX))
            .unwrap();
        store.set_admin_password("admin", "new-hash").unwrap();
        assert_eq!(store.web_session("a").unwrap(), None);
        assert!(store.web_session("b").unwrap().is_some());
    }
}
