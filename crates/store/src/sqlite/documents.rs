//! SQL of the Documents area: directories and document metadata (migration 0003).

use rusqlite::{Connection as Db, OptionalExtension, params};

use super::conflict;
use crate::{DocDirectory, Document, Result};

/// The key names are compared by: Unicode lower case (SQLite's `lower` is ASCII only).
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn directory_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocDirectory> {
    Ok(DocDirectory {
        id: r.get(0)?,
        parent_id: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
    })
}

const DOCUMENT_COLUMNS: &str =
    "d.id, d.directory_id, d.name, d.size, d.uploaded_at, d.uploaded_by, d.sha256, d.kind";

fn document_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Document> {
    Ok(Document {
        id: r.get(0)?,
        directory_id: r.get(1)?,
        name: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        uploaded_at: r.get(4)?,
        uploaded_by: r.get(5)?,
        sha256: r.get(6)?,
        kind: r.get(7)?,
    })
}

pub(crate) fn directory(db: &Db, parent_id: &str, name: &str) -> Result<Option<DocDirectory>> {
    Ok(db
        .prepare_cached(
            "SELECT id, parent_id, name, created_at FROM doc_directories
             WHERE parent_id = ?1 AND name_key = ?2",
        )?
        .query_row([parent_id, &name_key(name)], directory_from_row)
        .optional()?)
}

pub(crate) fn directories(db: &Db, parent_id: &str) -> Result<Vec<DocDirectory>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, parent_id, name, created_at FROM doc_directories
         WHERE parent_id = ?1 ORDER BY name_key, name",
    )?;
    let rows = stmt.query_map([parent_id], directory_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn create_directory(db: &Db, d: &DocDirectory) -> Result<()> {
    db.prepare_cached(
        "INSERT INTO doc_directories (id, parent_id, name, name_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        d.id,
        d.parent_id,
        d.name,
        name_key(&d.name),
        d.created_at
    ])
    .map_err(conflict)?;
    Ok(())
}

/// The ids of every document in the tree under `id` (itself included).
fn tree_documents(db: &Db, id: &str) -> Result<Vec<String>> {
    let mut stmt = db.prepare_cached(
        "WITH RECURSIVE tree(id) AS (
             SELECT ?1
             UNION ALL
             SELECT c.id FROM doc_directories c JOIN tree t ON c.parent_id = t.id
         )
         SELECT d.id FROM documents d JOIN tree t ON d.directory_id = t.id ORDER BY d.id",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn delete_directory(
    db: &mut Db,
    id: &str,
    recursive: bool,
) -> Result<Option<Vec<String>>> {
    let tx = db.transaction()?;
    if !recursive {
        let children: i64 = tx.query_row(
            "SELECT (SELECT count(*) FROM doc_directories WHERE parent_id = ?1)
                  + (SELECT count(*) FROM documents WHERE directory_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if children > 0 {
            return Ok(None);
        }
    }
    let documents = tree_documents(&tx, id)?;
    // ON DELETE CASCADE removes the subdirectories and their documents.
    tx.execute(
        "DELETE FROM doc_directories WHERE id = ?1 AND parent_id IS NOT NULL",
        [id],
    )?;
    tx.commit()?;
    Ok(Some(documents))
}

pub(crate) fn move_directory(db: &Db, id: &str, parent_id: &str, name: &str) -> Result<()> {
    db.execute(
        "UPDATE doc_directories SET parent_id = ?2, name = ?3, name_key = ?4
         WHERE id = ?1 AND parent_id IS NOT NULL",
        params![id, parent_id, name, name_key(name)],
    )
    .map_err(conflict)?;
    Ok(())
}

pub(crate) fn document(db: &Db, directory_id: &str, name: &str) -> Result<Option<Document>> {
    Ok(db
        .prepare_cached(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d
             WHERE d.directory_id = ?1 AND d.name_key = ?2"
        ))?
        .query_row([directory_id, &name_key(name)], document_from_row)
        .optional()?)
}

pub(crate) fn documents(db: &Db, directory_id: &str) -> Result<Vec<Document>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents d
         WHERE d.directory_id = ?1 ORDER BY d.name_key, d.name"
    ))?;
    let rows = stmt.query_map([directory_id], document_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn insert_document(db: &mut Db, d: &Document, replacing: Option<&str>) -> Result<()> {
    let tx = db.transaction()?;
    if let Some(old) = replacing {
        tx.execute("DELETE FROM documents WHERE id = ?1", [old])?;
    }
    tx.execute(
        "INSERT INTO documents (id, directory_id, name, name_key, size, uploaded_at,
                                uploaded_by, sha256, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            d.id,
            d.directory_id,
            d.name,
            name_key(&d.name),
            d.size as i64,
            d.uploaded_at,
            d.uploaded_by,
            d.sha256,
            d.kind
        ],
    )
    .map_err(conflict)?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn delete_document(db: &Db, id: &str) -> Result<bool> {
    Ok(db.execute("DELETE FROM documents WHERE id = ?1", [id])? > 0)
}

pub(crate) fn move_document(db: &Db, id: &str, directory_id: &str, name: &str) -> Result<()> {
    db.execute(
        "UPDATE documents SET directory_id = ?2, name = ?3, name_key = ?4 WHERE id = ?1",
        params![id, directory_id, name, name_key(name)],
    )
    .map_err(conflict)?;
    Ok(())
}

pub(crate) fn search(db: &Db, directory_id: &str, needle: &str) -> Result<Vec<(String, Document)>> {
    let mut stmt = db.prepare_cached(&format!(
        "WITH RECURSIVE tree(id, path) AS (
             SELECT ?1, ''
             UNION ALL
             SELECT c.id, CASE t.path WHEN '' THEN c.name ELSE t.path || '/' || c.name END
             FROM doc_directories c JOIN tree t ON c.parent_id = t.id
         )
         SELECT t.path, {DOCUMENT_COLUMNS} FROM documents d JOIN tree t ON d.directory_id = t.id
         WHERE instr(d.name_key, ?2) > 0
         ORDER BY t.path, d.name_key, d.name"
    ))?;
    let rows = stmt.query_map([directory_id, &name_key(needle)], |r| {
        let path: String = r.get(0)?;
        let document = Document {
            id: r.get(1)?,
            directory_id: r.get(2)?,
            name: r.get(3)?,
            size: r.get::<_, i64>(4)? as u64,
            uploaded_at: r.get(5)?,
            uploaded_by: r.get(6)?,
            sha256: r.get(7)?,
            kind: r.get(8)?,
        };
        Ok((path, document))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::{Conflict, DocDirectory, Document, ROOT_DIRECTORY, SqliteStore, Store, StoreError};

    fn dir(id: &str, parent: &str, name: &str) -> DocDirectory {
        DocDirectory {
            id: id.into(),
            parent_id: Some(parent.into()),
            name: name.into(),
            created_at: "2024-01-01T00:00:00.000Z".into(),
        }
    }

    fn doc(id: &str, directory: &str, name: &str) -> Document {
        Document {
            id: id.into(),
            directory_id: directory.into(),
            name: name.into(),
            size: 3,
            uploaded_at: "2024-01-01T00:00:00.000Z".into(),
            uploaded_by: "cli".into(),
            sha256: "00".into(),
            kind: "other".into(),
        }
    }

    fn is_name_conflict(result: crate::Result<()>) -> bool {
        matches!(result, Err(StoreError::Conflict(Conflict::DocumentName)))
    }

    #[test]
    fn names_are_unique_per_parent_case_insensitively_across_directories_and_documents() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store
            .create_doc_directory(&dir("dir_a", ROOT_DIRECTORY, "Marketing"))
            .unwrap();
        assert!(is_name_conflict(store.create_doc_directory(&dir(
            "dir_b",
            ROOT_DIRECTORY,
            "MARKETING"
        ))));
        assert!(is_name_conflict(store.insert_document(
            &doc("doc_1", ROOT_DIRECTORY, "marketing"),
            None
        )));
        store
            .insert_document(&doc("doc_1", "dir_a", "Ünïcode.csv"), None)
            .unwrap();
        assert!(is_name_conflict(
            store.insert_document(&doc("doc_2", "dir_a", "üNÏCODE.CSV"), None)
        ));
        assert!(is_name_conflict(store.create_doc_directory(&dir(
            "dir_c",
            "dir_a",
            "ünïcode.csv"
        ))));
        // Replacing in one transaction frees the name first.
        store
            .insert_document(&doc("doc_2", "dir_a", "ÜNÏCODE.csv"), Some("doc_1"))
            .unwrap();
        assert_eq!(store.documents("dir_a").unwrap()[0].id, "doc_2");
        assert_eq!(
            store.document("dir_a", "ünïcode.CSV").unwrap().unwrap().id,
            "doc_2"
        );
    }

    #[test]
    fn deleting_a_tree_returns_its_documents_and_search_finds_by_substring() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path()).unwrap();
        store
            .create_doc_directory(&dir("dir_a", ROOT_DIRECTORY, "a"))
            .unwrap();
        store
            .create_doc_directory(&dir("dir_b", "dir_a", "b"))
            .unwrap();
        store
            .insert_document(&doc("doc_1", "dir_b", "Users.csv"), None)
            .unwrap();
        store
            .insert_document(&doc("doc_2", "dir_a", "other.txt"), None)
            .unwrap();
        let found = store.search_documents(ROOT_DIRECTORY, "USERS").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "a/b");
        assert_eq!(store.delete_doc_directory("dir_a", false).unwrap(), None);
        let gone = store.delete_doc_directory("dir_a", true).unwrap().unwrap();
        assert_eq!(gone, vec!["doc_1".to_string(), "doc_2".to_string()]);
        assert!(store.doc_directories(ROOT_DIRECTORY).unwrap().is_empty());
        assert!(
            store
                .search_documents(ROOT_DIRECTORY, "")
                .unwrap()
                .is_empty()
        );
        // The root itself is never deleted.
        assert_eq!(
            store.delete_doc_directory(ROOT_DIRECTORY, true).unwrap(),
            Some(vec![])
        );
        assert!(store.doc_directory(ROOT_DIRECTORY, "a").unwrap().is_none());
    }
}
