//! The campaign data manager's HTTP API under `/api/campaign/v1/` (`campaign-import.md`
//! §4): the Documents area. Bearer tokens need `campaign:read` to read and
//! `campaign:write` to change anything; errors use the Management API body.

use std::io::Read;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;
use userbridge_campaign::delimited::ReadLimits;
use userbridge_campaign::{
    CampaignError, DocPath, Documents, Entry, Name, OnConflict, Staged, audit,
};

use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::query_string::QueryString;
use crate::state::{AppState, SharedState, blocking};

pub const READ: &[&str] = &["campaign:read"];
pub const WRITE: &[&str] = &["campaign:write"];

/// The Documents area of the server's data directory, with its size cap and the caps runs
/// read documents under.
pub fn documents(state: &AppState) -> Documents {
    let config = &state.config;
    Documents::new(state.store.clone(), &config.data_dir)
        .with_max_size(config.max_document_bytes)
        .with_read_limits(ReadLimits {
            max_decompressed_bytes: config.max_decompressed_bytes,
            max_record_bytes: config.max_line_bytes,
            max_fields: config.max_columns,
        })
}

/// A campaign error in the Management API's shape: 400 for a bad name or path, 404 when
/// nothing is there, 409 for a taken name or a non-empty directory, 413 for a document
/// over the cap; anything else is a logged 500.
pub fn api_error(err: CampaignError) -> ApiError {
    let message = err.to_string();
    let (status, code) = match &err {
        CampaignError::InvalidName { .. } => (StatusCode::BAD_REQUEST, "invalid_name"),
        CampaignError::InvalidPath { .. }
        | CampaignError::Root { .. }
        | CampaignError::IntoItself { .. } => (StatusCode::BAD_REQUEST, "invalid_path"),
        CampaignError::NotADirectory { .. } => (StatusCode::BAD_REQUEST, "not_a_directory"),
        CampaignError::NotADocument { .. } => (StatusCode::BAD_REQUEST, "not_a_document"),
        CampaignError::NotFound { .. } => (StatusCode::NOT_FOUND, "inexistent_document"),
        CampaignError::DirectoryNotFound { .. } => (StatusCode::NOT_FOUND, "inexistent_directory"),
        CampaignError::Exists {
            what: "directory", ..
        } => (StatusCode::CONFLICT, "directory_exists"),
        CampaignError::Exists { .. } => (StatusCode::CONFLICT, "document_exists"),
        CampaignError::NotEmpty { .. } => (StatusCode::CONFLICT, "directory_not_empty"),
        CampaignError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        CampaignError::InvalidImport { .. } => (StatusCode::BAD_REQUEST, "invalid_import"),
        CampaignError::ImportNotFound { .. } => (StatusCode::NOT_FOUND, "inexistent_import"),
        CampaignError::ImportExists { .. } => (StatusCode::CONFLICT, "import_exists"),
        CampaignError::ImportInUse { .. } => (StatusCode::CONFLICT, "import_in_use"),
        CampaignError::Read { .. } => (StatusCode::BAD_REQUEST, "unreadable_document"),
        CampaignError::HeaderMismatch { .. } => (StatusCode::CONFLICT, "header_mismatch"),
        CampaignError::Cancelled => (StatusCode::CONFLICT, "cancelled"),
        CampaignError::UnsafeContent { .. } => {
            // Someone changed the data directory by hand: the operator must look.
            tracing::error!(error = %err, "refused to follow stored document content");
            (StatusCode::INTERNAL_SERVER_ERROR, "unsafe_content")
        }
        CampaignError::Io { .. } | CampaignError::Store(_) | CampaignError::Internal(_) => {
            return ApiError::from(err);
        }
    };
    ApiError::new(status, code, message)
}

fn path_param(query: &mut QueryString, required: bool) -> ApiResult<DocPath> {
    match query.take("path") {
        Some(text) => DocPath::parse(&text).map_err(api_error),
        None if required => Err(ApiError::invalid_query(
            "path",
            "Missing required property: path",
        )),
        None => Ok(DocPath::root()),
    }
}

/// `GET /api/campaign/v1/documents?path=/dir[&q=text]`: a directory's listing, a
/// document's metadata, or with `q` the documents under `path` whose name contains it.
pub async fn get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let path = path_param(&mut query, false)?;
    let q = query.take("q");
    query.finish()?;
    let docs = documents(&state);
    let body = blocking(move || match q {
        Some(q) => {
            let found = docs.search(&path, &q).map_err(api_error)?;
            Ok(json!({ "path": path.to_string(), "q": q, "documents": found }))
        }
        None => match docs.entry(&path).map_err(api_error)? {
            Entry::Directory(listing) => Ok(json!(listing)),
            Entry::Document(document) => Ok(json!(document)),
        },
    })
    .await?;
    Ok(Json(body).into_response())
}

fn json_body(body: &Bytes) -> ApiResult<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::invalid_body("", "Expected a JSON object")),
    }
}

fn text_property(map: &serde_json::Map<String, Value>, key: &str) -> ApiResult<String> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ApiError::invalid_body(key, "Expected type string")),
        None => Err(ApiError::invalid_body(
            key,
            &format!("Missing required property: {key}"),
        )),
    }
}

fn only_properties(map: &serde_json::Map<String, Value>, allowed: &[&str]) -> ApiResult<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(other) => Err(ApiError::invalid_body(
            other,
            "Additional properties not allowed",
        )),
        None => Ok(()),
    }
}

/// `POST /api/campaign/v1/documents/directories` `{"path": "/dir/sub"}`: creates the
/// directory and any missing parent; 409 `directory_exists` when it is already there.
pub async fn mkdir(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let map = json_body(&body)?;
    only_properties(&map, &["path"])?;
    let path = DocPath::parse(&text_property(&map, "path")?).map_err(api_error)?;
    let docs = documents(&state);
    let store = state.store.clone();
    let created = blocking(move || {
        let created = docs.mkdir(&path).map_err(api_error)?;
        let event = audit::directory_created(&caller.client_id, &created);
        crate::audit::record(store.as_ref(), event);
        Ok(created)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `POST /api/campaign/v1/documents/move` `{"from": "/a/x.csv", "to": "/b/y.csv"}`.
pub async fn rename(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let map = json_body(&body)?;
    only_properties(&map, &["from", "to"])?;
    let from = DocPath::parse(&text_property(&map, "from")?).map_err(api_error)?;
    let to = DocPath::parse(&text_property(&map, "to")?).map_err(api_error)?;
    let docs = documents(&state);
    let store = state.store.clone();
    let path = blocking(move || {
        let path = docs.rename(&from, &to).map_err(api_error)?;
        let event = audit::moved(&caller.client_id, &from.to_string(), &path);
        crate::audit::record(store.as_ref(), event);
        Ok(path)
    })
    .await?;
    Ok(Json(json!({ "path": path })).into_response())
}

/// `DELETE /api/campaign/v1/documents?path=…[&recursive=true]`.
pub async fn delete(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let caller = authorize(&state, &headers, WRITE).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let path = path_param(&mut query, true)?;
    let recursive = query.bool("recursive")?.unwrap_or(false);
    query.finish()?;
    let docs = documents(&state);
    let shown = path.to_string();
    let store = state.store.clone();
    let deleted = blocking(move || {
        let deleted = docs.delete(&path, recursive).map_err(api_error)?;
        let event = audit::deleted(&caller.client_id, &path.to_string(), &deleted);
        crate::audit::record(store.as_ref(), event);
        Ok(deleted)
    })
    .await?;
    Ok(Json(json!({
        "path": shown,
        "directory": deleted.directories,
        "documents": deleted.documents,
    }))
    .into_response())
}

/// `GET /api/campaign/v1/documents/content?path=/dir/file.csv`: the bytes, streamed.
pub async fn content(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    authorize(&state, &headers, READ).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let path = path_param(&mut query, true)?;
    query.finish()?;
    document_download(&state, path, "application/octet-stream").await
}

/// Streams a stored document as an attachment: the document content route and a process's
/// reject file both answer with it. The ETag is the document's SHA-256.
pub(crate) async fn document_download(
    state: &SharedState,
    path: DocPath,
    content_type: &'static str,
) -> ApiResult<Response> {
    let docs = documents(state);
    let (info, file) = blocking(move || docs.open(&path).map_err(api_error)).await?;
    let file = tokio::fs::File::from_std(file);
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&info.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", info.sha256)) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266).
pub(crate) fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Feeds multipart chunks from the async handler to the blocking stager.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

fn malformed(limit: u64) -> impl Fn(MultipartError) -> ApiError {
    move |e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("Payload too large: the request exceeds {limit} bytes"),
            )
        } else {
            ApiError::invalid_body("", &format!("Malformed multipart body: {}", e.body_text()))
        }
    }
}

/// Streams one `file` part to a staged file on a blocking thread (never buffered whole).
async fn stage(docs: &Documents, mut field: Field<'_>, hint: String) -> ApiResult<Staged> {
    let (tx, rx) = mpsc::channel(8);
    let stager = docs.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader {
            rx,
            current: Bytes::new(),
        };
        stager.stage(&mut reader, &hint)
    });
    let mut failed = None;
    loop {
        match field.chunk().await {
            // A closed channel means the stager stopped (too large, disk error): its
            // result says why.
            Ok(Some(chunk)) => {
                // Once the stager has stopped, the rest of the part is read and dropped.
                if !tx.is_closed() {
                    let _ = tx.send(Ok(chunk)).await;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(malformed(docs.max_size())(e));
                let _ = tx
                    .send(Err(std::io::Error::other("the upload was interrupted")))
                    .await;
                break;
            }
        }
    }
    drop(tx);
    let staged = task.await.map_err(ApiError::from)?;
    match (failed, staged) {
        (Some(err), _) => Err(err),
        (None, staged) => staged.map_err(api_error),
    }
}

/// `POST /api/campaign/v1/documents/upload?path=/dir[&on_conflict=fail|replace|keep_both]`:
/// multipart `file` parts, each named by its filename or by the `import_as` part of the
/// same position. Every file is staged first; then all names are checked, then all are
/// committed, so a refused request (bad name, taken name) stores nothing.
pub async fn upload(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    mut multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let caller = crate::upload::authorize_upload(&state, &headers, WRITE, &mut multipart).await?;
    let mut query = QueryString::parse(raw.as_deref())?;
    let directory = path_param(&mut query, false)?;
    let on_conflict = match query.take("on_conflict").as_deref() {
        None | Some("fail") => OnConflict::Fail,
        Some("replace") => OnConflict::Replace,
        Some("keep_both") => OnConflict::KeepBoth,
        Some(_) => {
            return Err(ApiError::invalid_query(
                "on_conflict",
                "Expected one of fail, replace, keep_both",
            ));
        }
    };
    query.finish()?;
    let mut multipart = multipart
        .map_err(|e| ApiError::invalid_body("", &format!("Expected multipart/form-data: {e}")))?;
    let docs = documents(&state);
    {
        // Refuse a missing directory before reading any content.
        let (docs, directory) = (docs.clone(), directory.clone());
        blocking(move || docs.list(&directory).map(|_| ()).map_err(api_error)).await?;
    }
    let mut files: Vec<(Staged, Option<String>)> = Vec::new();
    let mut import_as: Vec<String> = Vec::new();
    let limit = docs.max_size();
    let received: ApiResult<()> = async {
        while let Some(field) = multipart.next_field().await.map_err(malformed(limit))? {
            match field.name().unwrap_or_default() {
                "file" => {
                    let file_name = field.file_name().map(str::to_string);
                    let hint = file_name.clone().unwrap_or_else(|| "file".to_string());
                    files.push((stage(&docs, field, hint).await?, file_name));
                }
                "import_as" => import_as.push(field.text().await.map_err(malformed(limit))?),
                other => {
                    return Err(ApiError::invalid_body(
                        other,
                        "Additional properties not allowed",
                    ));
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = received {
        crate::upload::drain(&mut multipart).await;
        return Err(e);
    }
    if files.is_empty() {
        return Err(ApiError::invalid_body(
            "file",
            "Missing required property: file",
        ));
    }
    if import_as.len() > files.len() {
        return Err(ApiError::invalid_body(
            "import_as",
            "More import_as parts than file parts",
        ));
    }
    let mut planned = Vec::with_capacity(files.len());
    for (i, (staged, file_name)) in files.into_iter().enumerate() {
        let text = match (import_as.get(i), file_name) {
            (Some(name), _) if !name.is_empty() => name.clone(),
            (_, Some(name)) => name,
            _ => {
                return Err(ApiError::invalid_body(
                    "file",
                    "A file part has neither a filename nor an import_as name",
                ));
            }
        };
        planned.push((staged, Name::parse(&text).map_err(api_error)?));
    }
    if on_conflict != OnConflict::KeepBoth {
        for (i, (_, name)) in planned.iter().enumerate() {
            let key = name.as_str().to_lowercase();
            if planned[..i]
                .iter()
                .any(|(_, n)| n.as_str().to_lowercase() == key)
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "document_exists",
                    format!("the upload names {:?} twice", name.as_str()),
                ));
            }
        }
    }
    let uploaded_by = caller.client_id;
    let store = state.store.clone();
    let stored = blocking(move || {
        for (_, name) in &planned {
            docs.check_upload(&directory, name, on_conflict)
                .map_err(api_error)?;
        }
        let mut stored = Vec::with_capacity(planned.len());
        for (staged, name) in planned {
            let document = docs
                .commit(staged, &directory, &name, on_conflict, &uploaded_by)
                .map_err(api_error)?;
            crate::audit::record(
                store.as_ref(),
                audit::document_uploaded(&uploaded_by, &document),
            );
            stored.push(document);
        }
        Ok(stored)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "documents": stored }))).into_response())
}
