-- The Documents area (campaign-import.md §4): a tree of directories and the metadata of
-- uploaded documents. Document content lives on disk as <data-dir>/documents/<id>.
-- `name_key` is the name lower-cased (Unicode) by the backend: names are unique per parent
-- compared case-insensitively, across directories and documents alike (triggers below).

CREATE TABLE doc_directories (
    id         TEXT PRIMARY KEY,
    parent_id  TEXT REFERENCES doc_directories(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX doc_directories_name ON doc_directories (parent_id, name_key);

-- The root `/`: the only directory without a parent.
INSERT INTO doc_directories (id, parent_id, name, name_key, created_at)
VALUES ('dir_root', NULL, '', '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL REFERENCES doc_directories(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_at  TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    kind         TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX documents_name ON documents (directory_id, name_key);

-- A directory and a document of one parent never share a name either.
CREATE TRIGGER documents_name_free_insert BEFORE INSERT ON documents
WHEN EXISTS (SELECT 1 FROM doc_directories
             WHERE parent_id = NEW.directory_id AND name_key = NEW.name_key)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: documents.name_key');
END;

CREATE TRIGGER documents_name_free_update BEFORE UPDATE OF directory_id, name_key ON documents
WHEN EXISTS (SELECT 1 FROM doc_directories
             WHERE parent_id = NEW.directory_id AND name_key = NEW.name_key)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: documents.name_key');
END;

CREATE TRIGGER doc_directories_name_free_insert BEFORE INSERT ON doc_directories
WHEN EXISTS (SELECT 1 FROM documents
             WHERE directory_id = NEW.parent_id AND name_key = NEW.name_key)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: doc_directories.name_key');
END;

CREATE TRIGGER doc_directories_name_free_update BEFORE UPDATE OF parent_id, name_key ON doc_directories
WHEN EXISTS (SELECT 1 FROM documents
             WHERE directory_id = NEW.parent_id AND name_key = NEW.name_key)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: doc_directories.name_key');
END;
