//! The Documents area (`campaign-import.md` §4): a tree of directories holding uploaded
//! documents. Metadata lives in the store; content lives on disk as
//! `<data-dir>/documents/<document id>`, so a document's name never reaches the filesystem.
//!
//! An upload streams into `<id>.partial` beside its final place while counting bytes and
//! hashing (SHA-256), stops at the size cap, then is renamed to `<id>` and recorded. A
//! failed upload leaves no file and no row behind.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use userbridge_model::{ids, time};
use userbridge_store::{Conflict, DocDirectory, Document, ROOT_DIRECTORY, Store, StoreError};

use crate::delimited::ReadLimits;
use crate::error::{CampaignError, Result};
use crate::names::{DocPath, Name};

/// The directory of document content inside the data directory.
pub const DOCUMENTS_DIR: &str = "documents";
/// Directory of the data dir holding runs' scratch files.
pub const SCRATCH_DIR: &str = "staging";

/// Default largest document: 2 GiB (DOC-3, userbridge choice).
pub const DEFAULT_MAX_SIZE: u64 = 2 << 30;

/// Bytes kept from the start of an upload to detect its kind.
const SNIFF_BYTES: usize = 8192;

/// Highest ` (n)` tried when keeping both documents.
const MAX_NUMBERED: u32 = 10_000;

/// What a document looks like from its first bytes (DOC-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DocumentKind {
    #[serde(rename = "delimited text")]
    DelimitedText,
    #[serde(rename = "gzip")]
    Gzip,
    #[serde(rename = "other")]
    Other,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::DelimitedText => "delimited text",
            DocumentKind::Gzip => "gzip",
            DocumentKind::Other => "other",
        }
    }

    /// `gzip` by its magic bytes; `delimited text` when the start has a UTF-8 or UTF-16
    /// byte-order mark, or is UTF-8 without NUL bytes holding a comma, semicolon, tab or
    /// pipe; `other` otherwise (an empty document included).
    pub fn detect(head: &[u8]) -> DocumentKind {
        if head.starts_with(&[0x1f, 0x8b]) {
            return DocumentKind::Gzip;
        }
        if head.starts_with(&[0xef, 0xbb, 0xbf])
            || head.starts_with(&[0xff, 0xfe])
            || head.starts_with(&[0xfe, 0xff])
        {
            return DocumentKind::DelimitedText;
        }
        let text = match std::str::from_utf8(head) {
            Ok(text) => text.as_bytes(),
            // The sniffed window may cut a multi-byte character at its end.
            Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
            Err(_) => return DocumentKind::Other,
        };
        if !text.contains(&0) && text.iter().any(|b| matches!(b, b',' | b';' | b'\t' | b'|')) {
            DocumentKind::DelimitedText
        } else {
            DocumentKind::Other
        }
    }
}

/// A directory as the API and CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryInfo {
    pub name: String,
    pub path: String,
    pub created_at: String,
}

/// A document's metadata as the API and CLI show it (DOC-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentInfo {
    pub id: String,
    pub name: String,
    /// The directory's path, e.g. `/marketing`.
    pub directory: String,
    /// The document's path, e.g. `/marketing/users.csv`.
    pub path: String,
    pub size: u64,
    pub uploaded_at: String,
    pub uploaded_by: String,
    pub sha256: String,
    pub kind: String,
}

impl DocumentInfo {
    fn new(directory: &DocPath, document: Document) -> DocumentInfo {
        let path = match directory.is_root() {
            true => format!("/{}", document.name),
            false => format!("{directory}/{}", document.name),
        };
        DocumentInfo {
            id: document.id,
            name: document.name,
            directory: directory.to_string(),
            path,
            size: document.size,
            uploaded_at: document.uploaded_at,
            uploaded_by: document.uploaded_by,
            sha256: document.sha256,
            kind: document.kind,
        }
    }
}

/// The content of a directory: subdirectories, then documents, each by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub path: String,
    pub directories: Vec<DirectoryInfo>,
    pub documents: Vec<DocumentInfo>,
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Directory(Listing),
    Document(DocumentInfo),
}

/// What an upload does when the directory already has the name (DOC-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Refuse: [`CampaignError::Exists`] (the default: nothing is ever replaced silently).
    #[default]
    Fail,
    /// Replace the existing document (never a directory).
    Replace,
    /// Keep both: the new document gets the first free ` (n)` name, n ≥ 2.
    KeepBoth,
}

/// What a delete removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deleted {
    pub directories: bool,
    pub documents: u64,
}

/// Uploaded content on disk, not yet a document. Dropping it removes the file.
#[derive(Debug)]
pub struct Staged {
    id: String,
    partial: PathBuf,
    size: u64,
    sha256: String,
    kind: DocumentKind,
    done: bool,
}

impl Staged {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// A directory found by walking a path: its row and its path with the stored names.
struct Found {
    directory: DocDirectory,
    path: DocPath,
}

/// The Documents area over a store and a data directory.
#[derive(Clone)]
pub struct Documents {
    store: Arc<dyn Store>,
    root: PathBuf,
    /// Scratch files of runs (staging, reject files being written): `<data-dir>/staging/`.
    scratch: PathBuf,
    max_size: u64,
    /// Caps of reading a document as delimited text (runs, header checks).
    read_limits: ReadLimits,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("root", &self.root)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

fn root_directory() -> DocDirectory {
    DocDirectory {
        id: ROOT_DIRECTORY.to_string(),
        parent_id: None,
        name: String::new(),
        created_at: String::new(),
    }
}

impl Documents {
    /// The Documents area of `data_dir` (content under `<data_dir>/documents/`), with the
    /// default size cap.
    pub fn new(store: Arc<dyn Store>, data_dir: &Path) -> Documents {
        Documents {
            store,
            root: data_dir.join(DOCUMENTS_DIR),
            scratch: data_dir.join(SCRATCH_DIR),
            max_size: DEFAULT_MAX_SIZE,
            read_limits: ReadLimits::default(),
        }
    }

    /// Sets the caps under which runs and previews read documents.
    pub fn with_read_limits(mut self, limits: ReadLimits) -> Documents {
        self.read_limits = limits;
        self
    }

    pub fn read_limits(&self) -> &ReadLimits {
        &self.read_limits
    }

    /// Sets the largest document accepted, in bytes (0 = unlimited).
    pub fn with_max_size(mut self, max_size: u64) -> Documents {
        self.max_size = max_size;
        self
    }

    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Where runs keep their scratch files (created on first use).
    pub fn scratch_dir(&self) -> &Path {
        &self.scratch
    }

    /// Where document content is stored.
    pub fn content_dir(&self) -> &Path {
        &self.root
    }

    /// The documents directory, refused when it is a symbolic link or not a directory: content
    /// is only ever read from and written to the data directory itself.
    fn checked_root(&self, what: &str) -> Result<&Path> {
        let unsafe_root = |reason: String| CampaignError::UnsafeContent {
            what: what.to_string(),
            reason,
        };
        match std::fs::symlink_metadata(&self.root) {
            Ok(m) if m.file_type().is_symlink() => Err(unsafe_root(
                "the documents directory is a symbolic link".into(),
            )),
            Ok(m) if !m.is_dir() => Err(unsafe_root(
                "the documents directory is not a directory".into(),
            )),
            _ => Ok(&self.root),
        }
    }

    /// Opens a document's content for reading without following a symbolic link: the
    /// documents directory and the file are checked, and the file opened must be the one
    /// checked (same device and inode), so a link swapped in meanwhile is refused too.
    fn open_content(&self, path: &DocPath, id: &str) -> Result<File> {
        let shown = path.to_string();
        self.checked_root(&shown)?;
        let file = self.content_file(id)?;
        let refuse = |reason: &str| CampaignError::UnsafeContent {
            what: shown.clone(),
            reason: reason.to_string(),
        };
        let checked = std::fs::symlink_metadata(&file).map_err(CampaignError::io(format!(
            "cannot open the content of {path} ({})",
            file.display()
        )))?;
        if checked.file_type().is_symlink() {
            return Err(refuse("it is a symbolic link"));
        }
        if !checked.is_file() {
            return Err(refuse("it is not a regular file"));
        }
        let handle = File::open(&file).map_err(CampaignError::io(format!(
            "cannot open the content of {path} ({})",
            file.display()
        )))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let opened = handle.metadata().map_err(CampaignError::io(format!(
                "cannot open the content of {path} ({})",
                file.display()
            )))?;
            if (opened.dev(), opened.ino()) != (checked.dev(), checked.ino()) {
                return Err(refuse("it changed while it was opened"));
            }
        }
        Ok(handle)
    }

    fn content_file(&self, id: &str) -> Result<PathBuf> {
        // Ids are generated here; anything else in the store is refused, not opened.
        if !ids::is_document_id(id) {
            return Err(CampaignError::Store(StoreError::Corrupt(format!(
                "invalid document id {id:?}"
            ))));
        }
        Ok(self.root.join(id))
    }

    /// Walks `path` from the root; every component must be a directory.
    fn directory(&self, path: &DocPath) -> Result<Found> {
        let mut found = Found {
            directory: root_directory(),
            path: DocPath::root(),
        };
        for name in path.names() {
            let here = found.path.join(name);
            match self
                .store
                .doc_directory(&found.directory.id, name.as_str())?
            {
                Some(directory) => {
                    found.path = found.path.join(&Name::parse(&directory.name)?);
                    found.directory = directory;
                }
                None => {
                    return Err(
                        match self.store.document(&found.directory.id, name.as_str())? {
                            Some(_) => CampaignError::NotADirectory {
                                path: here.to_string(),
                            },
                            None => CampaignError::DirectoryNotFound {
                                path: here.to_string(),
                            },
                        },
                    );
                }
            }
        }
        Ok(found)
    }

    /// The document at `path`, with its directory.
    fn document(&self, path: &DocPath) -> Result<(Found, Document)> {
        let (Some(parent), Some(name)) = (path.parent(), path.name()) else {
            return Err(CampaignError::NotADocument {
                path: "/".to_string(),
            });
        };
        let parent = self.directory(&parent)?;
        match self.store.document(&parent.directory.id, name.as_str())? {
            Some(document) => Ok((parent, document)),
            None => Err(
                match self
                    .store
                    .doc_directory(&parent.directory.id, name.as_str())?
                {
                    Some(_) => CampaignError::NotADocument {
                        path: path.to_string(),
                    },
                    None => CampaignError::NotFound {
                        path: path.to_string(),
                    },
                },
            ),
        }
    }

    fn directory_info(parent: &DocPath, directory: DocDirectory) -> Result<DirectoryInfo> {
        let path = parent.join(&Name::parse(&directory.name)?);
        Ok(DirectoryInfo {
            name: directory.name,
            path: path.to_string(),
            created_at: directory.created_at,
        })
    }

    /// Creates a directory, and its missing parents (like `mkdir -p`). The last component
    /// must not exist yet: an existing directory or document there is
    /// [`CampaignError::Exists`].
    pub fn mkdir(&self, path: &DocPath) -> Result<DirectoryInfo> {
        let Some(last) = path.name() else {
            return Err(CampaignError::Root { action: "created" });
        };
        let mut parent = Found {
            directory: root_directory(),
            path: DocPath::root(),
        };
        for (i, name) in path.names().iter().enumerate() {
            let is_last = i + 1 == path.names().len();
            let existing = self
                .store
                .doc_directory(&parent.directory.id, name.as_str())?;
            let directory = match existing {
                Some(_) if is_last => {
                    return Err(CampaignError::Exists {
                        what: "directory",
                        name: last.to_string(),
                        directory: parent.path.to_string(),
                    });
                }
                Some(directory) => directory,
                None => {
                    if self
                        .store
                        .document(&parent.directory.id, name.as_str())?
                        .is_some()
                    {
                        return Err(match is_last {
                            true => CampaignError::Exists {
                                what: "document",
                                name: name.to_string(),
                                directory: parent.path.to_string(),
                            },
                            false => CampaignError::NotADirectory {
                                path: parent.path.join(name).to_string(),
                            },
                        });
                    }
                    let directory = DocDirectory {
                        id: ids::new_directory_id(),
                        parent_id: Some(parent.directory.id.clone()),
                        name: name.to_string(),
                        created_at: time::now(),
                    };
                    self.store
                        .create_doc_directory(&directory)
                        .map_err(|e| exists_or(e, "directory", name, &parent.path))?;
                    directory
                }
            };
            if is_last {
                return Self::directory_info(&parent.path, directory);
            }
            parent.path = parent.path.join(&Name::parse(&directory.name)?);
            parent.directory = directory;
        }
        Err(CampaignError::Root { action: "created" })
    }

    /// What `path` names: a directory's listing or a document's metadata.
    pub fn entry(&self, path: &DocPath) -> Result<Entry> {
        if let (Some(parent), Some(name)) = (path.parent(), path.name()) {
            let parent = self.directory(&parent)?;
            if let Some(document) = self.store.document(&parent.directory.id, name.as_str())? {
                return Ok(Entry::Document(DocumentInfo::new(&parent.path, document)));
            }
        }
        match self.directory(path) {
            Ok(_) => self.list(path).map(Entry::Directory),
            Err(CampaignError::DirectoryNotFound { .. }) => Err(CampaignError::NotFound {
                path: path.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The subdirectories and documents of a directory.
    pub fn list(&self, path: &DocPath) -> Result<Listing> {
        let found = self.directory(path)?;
        let directories = self
            .store
            .doc_directories(&found.directory.id)?
            .into_iter()
            .map(|d| Self::directory_info(&found.path, d))
            .collect::<Result<_>>()?;
        let documents = self
            .store
            .documents(&found.directory.id)?
            .into_iter()
            .map(|d| DocumentInfo::new(&found.path, d))
            .collect();
        Ok(Listing {
            path: found.path.to_string(),
            directories,
            documents,
        })
    }

    /// The name a new document will get in `directory`, and the document it replaces.
    fn plan(
        &self,
        directory: &Found,
        name: &Name,
        on_conflict: OnConflict,
    ) -> Result<(Name, Option<String>)> {
        let id = &directory.directory.id;
        let taken = |n: &Name| -> Result<(Option<Document>, bool)> {
            Ok((
                self.store.document(id, n.as_str())?,
                self.store.doc_directory(id, n.as_str())?.is_some(),
            ))
        };
        let exists = |what, n: &Name| CampaignError::Exists {
            what,
            name: n.to_string(),
            directory: directory.path.to_string(),
        };
        match (taken(name)?, on_conflict) {
            ((None, false), _) => Ok((name.clone(), None)),
            ((_, true), OnConflict::Fail | OnConflict::Replace) => Err(exists("directory", name)),
            ((Some(_), _), OnConflict::Fail) => Err(exists("document", name)),
            ((Some(old), _), OnConflict::Replace) => Ok((name.clone(), Some(old.id))),
            (_, OnConflict::KeepBoth) => {
                for n in 2..=MAX_NUMBERED {
                    let candidate = name.numbered(n)?;
                    if let (None, false) = taken(&candidate)? {
                        return Ok((candidate, None));
                    }
                }
                Err(exists("document", name))
            }
        }
    }

    /// Checks that an upload of `name` into `directory` could be committed now.
    pub fn check_upload(
        &self,
        directory: &DocPath,
        name: &Name,
        on_conflict: OnConflict,
    ) -> Result<()> {
        let found = self.directory(directory)?;
        self.plan(&found, name, on_conflict).map(|_| ())
    }

    /// Streams `content` to a staged file (size cap, SHA-256, kind). `name` is only used
    /// in the error when the content is too large.
    pub fn stage(&self, content: &mut dyn Read, name: &str) -> Result<Staged> {
        std::fs::create_dir_all(&self.root).map_err(CampaignError::io(format!(
            "cannot create {}",
            self.root.display()
        )))?;
        self.checked_root(&format!("{name:?}"))?;
        let id = ids::new_document_id();
        let partial = self.root.join(format!("{id}.partial"));
        let mut file = File::create_new(&partial).map_err(CampaignError::io(format!(
            "cannot create {}",
            partial.display()
        )))?;
        let mut staged = Staged {
            id,
            partial,
            size: 0,
            sha256: String::new(),
            kind: DocumentKind::Other,
            done: false,
        };
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match content.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CampaignError::io(format!("cannot read {name:?}"))(e)),
            };
            staged.size += n as u64;
            if self.max_size > 0 && staged.size > self.max_size {
                return Err(CampaignError::TooLarge {
                    name: name.to_string(),
                    limit: self.max_size,
                });
            }
            let chunk = &buffer[..n];
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(n);
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(chunk);
            file.write_all(chunk).map_err(CampaignError::io(format!(
                "cannot write {}",
                staged.partial.display()
            )))?;
        }
        file.sync_all().map_err(CampaignError::io(format!(
            "cannot write {}",
            staged.partial.display()
        )))?;
        staged.sha256 = hex::encode(hasher.finalize());
        staged.kind = DocumentKind::detect(&head);
        Ok(staged)
    }

    /// Makes staged content a document named `name` in `directory`.
    pub fn commit(
        &self,
        mut staged: Staged,
        directory: &DocPath,
        name: &Name,
        on_conflict: OnConflict,
        uploaded_by: &str,
    ) -> Result<DocumentInfo> {
        let found = self.directory(directory)?;
        let (name, replacing) = self.plan(&found, name, on_conflict)?;
        let document = Document {
            id: staged.id.clone(),
            directory_id: found.directory.id.clone(),
            name: name.to_string(),
            size: staged.size,
            uploaded_at: time::now(),
            uploaded_by: uploaded_by.to_string(),
            sha256: staged.sha256.clone(),
            kind: staged.kind.as_str().to_string(),
        };
        let target = self.content_file(&document.id)?;
        std::fs::rename(&staged.partial, &target).map_err(CampaignError::io(format!(
            "cannot rename {} to {}",
            staged.partial.display(),
            target.display()
        )))?;
        staged.done = true;
        if let Err(e) = self.store.insert_document(&document, replacing.as_deref()) {
            let _ = std::fs::remove_file(&target);
            return Err(exists_or(e, "document", &name, &found.path));
        }
        if let Some(old) = replacing {
            self.remove_content(&old);
        }
        Ok(DocumentInfo::new(&found.path, document))
    }

    /// Uploads one document: checks the name first, streams, then commits.
    pub fn upload(
        &self,
        content: &mut dyn Read,
        directory: &DocPath,
        name: &Name,
        on_conflict: OnConflict,
        uploaded_by: &str,
    ) -> Result<DocumentInfo> {
        self.check_upload(directory, name, on_conflict)?;
        let staged = self.stage(content, name.as_str())?;
        self.commit(staged, directory, name, on_conflict, uploaded_by)
    }

    /// Opens a document's content for reading.
    pub fn open(&self, path: &DocPath) -> Result<(DocumentInfo, File)> {
        let (parent, document) = self.document(path)?;
        let handle = self.open_content(path, &document.id)?;
        Ok((DocumentInfo::new(&parent.path, document), handle))
    }

    fn remove_content(&self, id: &str) {
        if let Ok(file) = self.content_file(id) {
            // Already gone is fine: the row was the document.
            let _ = std::fs::remove_file(file);
        }
    }

    /// Deletes a document, or a directory: an empty one, or with everything in it when
    /// `recursive`.
    pub fn delete(&self, path: &DocPath, recursive: bool) -> Result<Deleted> {
        if path.is_root() {
            return Err(CampaignError::Root { action: "deleted" });
        }
        match self.entry_kind(path)? {
            Kind::Document(document) => {
                self.store.delete_document(&document.id)?;
                self.remove_content(&document.id);
                Ok(Deleted {
                    directories: false,
                    documents: 1,
                })
            }
            Kind::Directory(found) => {
                match self
                    .store
                    .delete_doc_directory(&found.directory.id, recursive)?
                {
                    None => Err(CampaignError::NotEmpty {
                        path: found.path.to_string(),
                    }),
                    Some(documents) => {
                        for id in &documents {
                            self.remove_content(id);
                        }
                        Ok(Deleted {
                            directories: true,
                            documents: documents.len() as u64,
                        })
                    }
                }
            }
        }
    }

    fn entry_kind(&self, path: &DocPath) -> Result<Kind> {
        match self.document(path) {
            Ok((_, document)) => Ok(Kind::Document(document)),
            Err(CampaignError::NotADocument { .. }) => self.directory(path).map(Kind::Directory),
            Err(e) => Err(e),
        }
    }

    /// Renames and/or moves a document or directory to `to` (DOC-1). `to`'s parent must
    /// exist and `to` must be free, except for a change of case of the same entry.
    pub fn rename(&self, from: &DocPath, to: &DocPath) -> Result<String> {
        let (Some(to_parent), Some(to_name)) = (to.parent(), to.name()) else {
            return Err(CampaignError::Root { action: "moved" });
        };
        if from.is_root() {
            return Err(CampaignError::Root { action: "moved" });
        }
        let kind = self.entry_kind(from)?;
        let same_entry = to.starts_with(from) && from.starts_with(to);
        if let Kind::Directory(_) = kind
            && to.starts_with(from)
            && !same_entry
        {
            return Err(CampaignError::IntoItself {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        let parent = self.directory(&to_parent)?;
        if !same_entry {
            let (document, directory) = (
                self.store
                    .document(&parent.directory.id, to_name.as_str())?,
                self.store
                    .doc_directory(&parent.directory.id, to_name.as_str())?,
            );
            if document.is_some() || directory.is_some() {
                return Err(CampaignError::Exists {
                    what: if document.is_some() {
                        "document"
                    } else {
                        "directory"
                    },
                    name: to_name.to_string(),
                    directory: parent.path.to_string(),
                });
            }
        }
        match &kind {
            Kind::Document(document) => self
                .store
                .move_document(&document.id, &parent.directory.id, to_name.as_str())
                .map_err(|e| exists_or(e, "document", to_name, &parent.path))?,
            Kind::Directory(found) => self
                .store
                .move_doc_directory(&found.directory.id, &parent.directory.id, to_name.as_str())
                .map_err(|e| exists_or(e, "directory", to_name, &parent.path))?,
        }
        Ok(parent.path.join(to_name).to_string())
    }

    /// Documents under `directory` (at any depth) whose name contains `needle`,
    /// case-insensitively (DOC-8).
    pub fn search(&self, directory: &DocPath, needle: &str) -> Result<Vec<DocumentInfo>> {
        let found = self.directory(directory)?;
        self.store
            .search_documents(&found.directory.id, needle)?
            .into_iter()
            .map(|(relative, document)| {
                let mut path = found.path.clone();
                for part in relative.split('/').filter(|p| !p.is_empty()) {
                    path = path.join(&Name::parse(part)?);
                }
                Ok(DocumentInfo::new(&path, document))
            })
            .collect()
    }
}

enum Kind {
    Document(Document),
    Directory(Found),
}

/// A store name collision as [`CampaignError::Exists`]; other errors pass through.
fn exists_or(
    err: StoreError,
    what: &'static str,
    name: &Name,
    directory: &DocPath,
) -> CampaignError {
    match err {
        StoreError::Conflict(Conflict::DocumentName) => CampaignError::Exists {
            what,
            name: name.to_string(),
            directory: directory.to_string(),
        },
        other => CampaignError::Store(other),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use userbridge_store::SqliteStore;

    use super::*;

    fn area(max: u64) -> (tempfile::TempDir, Documents) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(tmp.path()).unwrap());
        let docs = Documents::new(store, tmp.path()).with_max_size(max);
        (tmp, docs)
    }

    fn p(text: &str) -> DocPath {
        DocPath::parse(text).unwrap()
    }

    fn n(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn files(docs: &Documents) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(docs.content_dir())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn upload_list_open_and_delete() {
        let (_tmp, docs) = area(0);
        docs.mkdir(&p("/marketing/sub")).unwrap();
        let info = docs
            .upload(
                &mut &b"a,b\n1,2\n"[..],
                &p("/Marketing"),
                &n("users.csv"),
                OnConflict::Fail,
                "cli",
            )
            .unwrap();
        assert_eq!(info.path, "/marketing/users.csv");
        assert_eq!(info.size, 8);
        assert_eq!(info.kind, "delimited text");
        assert_eq!(info.sha256, hex::encode(Sha256::digest(b"a,b\n1,2\n")));
        assert_eq!(files(&docs), vec![info.id.clone()]);
        let listing = docs.list(&p("/marketing")).unwrap();
        assert_eq!(listing.directories[0].path, "/marketing/sub");
        assert_eq!(listing.documents, vec![info.clone()]);
        let (_, mut file) = docs.open(&p("/MARKETING/USERS.CSV")).unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"a,b\n1,2\n");
        let err = docs
            .upload(
                &mut &b"x"[..],
                &p("/marketing"),
                &n("USERS.csv"),
                OnConflict::Fail,
                "cli",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a document named \"USERS.csv\" already exists in /marketing"
        );
        let both = docs
            .upload(
                &mut &b"x"[..],
                &p("/marketing"),
                &n("users.csv"),
                OnConflict::KeepBoth,
                "cli",
            )
            .unwrap();
        assert_eq!(both.name, "users (2).csv");
        assert_eq!(both.kind, "other");
        let replaced = docs
            .upload(
                &mut &b"\x1f\x8b"[..],
                &p("/marketing"),
                &n("users.csv"),
                OnConflict::Replace,
                "cli",
            )
            .unwrap();
        assert_eq!(replaced.kind, "gzip");
        assert_eq!(files(&docs).len(), 2);
        assert!(matches!(
            docs.delete(&p("/marketing"), false),
            Err(CampaignError::NotEmpty { .. })
        ));
        let deleted = docs.delete(&p("/marketing"), true).unwrap();
        assert_eq!(deleted.documents, 2);
        assert!(files(&docs).is_empty());
        assert!(matches!(
            docs.delete(&p("/"), true),
            Err(CampaignError::Root { .. })
        ));
    }

    #[test]
    fn an_oversize_upload_leaves_nothing_behind() {
        let (_tmp, docs) = area(10);
        docs.upload(
            &mut &[b'x'; 10][..],
            &p("/"),
            &n("ten"),
            OnConflict::Fail,
            "cli",
        )
        .unwrap();
        let err = docs
            .upload(
                &mut &[b'x'; 11][..],
                &p("/"),
                &n("eleven"),
                OnConflict::Fail,
                "cli",
            )
            .unwrap_err();
        assert!(
            matches!(err, CampaignError::TooLarge { limit: 10, .. }),
            "{err}"
        );
        assert_eq!(files(&docs).len(), 1);
        assert_eq!(docs.list(&p("/")).unwrap().documents.len(), 1);
    }

    #[test]
    fn mkdir_rename_move_and_search() {
        let (_tmp, docs) = area(0);
        docs.mkdir(&p("/a/b")).unwrap();
        assert!(matches!(
            docs.mkdir(&p("/A/B")),
            Err(CampaignError::Exists {
                what: "directory",
                ..
            })
        ));
        docs.upload(
            &mut &b"x"[..],
            &p("/a/b"),
            &n("Users 2024.csv"),
            OnConflict::Fail,
            "cli",
        )
        .unwrap();
        assert!(matches!(
            docs.mkdir(&p("/a/b/Users 2024.csv/c")),
            Err(CampaignError::NotADirectory { .. })
        ));
        assert!(matches!(
            docs.rename(&p("/a"), &p("/a/b/c")),
            Err(CampaignError::IntoItself { .. })
        ));
        assert_eq!(docs.rename(&p("/a"), &p("/A")).unwrap(), "/A");
        assert_eq!(docs.rename(&p("/a/b"), &p("/moved")).unwrap(), "/moved");
        assert_eq!(
            docs.rename(&p("/moved/users 2024.csv"), &p("/A/u.csv"))
                .unwrap(),
            "/A/u.csv"
        );
        docs.upload(
            &mut &b"y"[..],
            &p("/moved"),
            &n("u.csv"),
            OnConflict::Fail,
            "cli",
        )
        .unwrap();
        assert!(matches!(
            docs.rename(&p("/moved/u.csv"), &p("/a/U.CSV")),
            Err(CampaignError::Exists { .. })
        ));
        let found: Vec<String> = docs
            .search(&p("/"), "U.C")
            .unwrap()
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert_eq!(found, vec!["/A/u.csv", "/moved/u.csv"]);
        assert_eq!(docs.search(&p("/moved"), "u").unwrap().len(), 1);
        assert!(matches!(
            docs.entry(&p("/nope")),
            Err(CampaignError::NotFound { .. })
        ));
        assert!(matches!(docs.entry(&p("/A/u.csv")), Ok(Entry::Document(_))));
    }

    #[test]
    fn kinds_are_detected_from_the_first_bytes() {
        assert_eq!(DocumentKind::detect(b"\x1f\x8b\x08"), DocumentKind::Gzip);
        assert_eq!(
            DocumentKind::detect(b"\xef\xbb\xbfa"),
            DocumentKind::DelimitedText
        );
        assert_eq!(
            DocumentKind::detect(b"\xff\xfea\0"),
            DocumentKind::DelimitedText
        );
        assert_eq!(
            DocumentKind::detect(b"a;b\r\n"),
            DocumentKind::DelimitedText
        );
        assert_eq!(
            DocumentKind::detect("é\tx".as_bytes()),
            DocumentKind::DelimitedText
        );
        assert_eq!(DocumentKind::detect(b"a,\xc3"), DocumentKind::DelimitedText);
        assert_eq!(DocumentKind::detect(b"plain words"), DocumentKind::Other);
        assert_eq!(DocumentKind::detect(b"a,\0b"), DocumentKind::Other);
        assert_eq!(DocumentKind::detect(b"\xff,\xfe"), DocumentKind::Other);
        assert_eq!(DocumentKind::detect(b""), DocumentKind::Other);
    }
}
