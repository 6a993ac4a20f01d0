//! The Documents area (`campaign-import.md` §4), through the CLI and the HTTP API of the
//! real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use common::{Dir, Server};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content files under `<data-dir>/documents/` (partials included).
fn stored_files(dir: &Dir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.data().join("documents"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn sample(rows: usize) -> Vec<u8> {
    let mut text = String::from("Email Address\tFirst Name\n");
    for i in 0..rows {
        text.push_str(&format!("user{i}@example.com\tÅsa {i}\n"));
    }
    text.into_bytes()
}

#[test]
fn cli_upload_ls_get_rm() {
    let dir = Dir::new();
    let content = sample(200);
    std::fs::write(dir.path().join("users.tsv"), &content).unwrap();
    assert_eq!(
        dir.ok(&["campaign", "docs", "mkdir", "/marketing"]),
        "/marketing\n"
    );
    dir.ok(&[
        "campaign",
        "docs",
        "upload",
        "users.tsv",
        "--to",
        "/marketing",
    ]);

    let listing: Value =
        serde_json::from_str(&dir.ok(&["campaign", "docs", "ls", "/marketing", "--json"])).unwrap();
    let doc = &listing["documents"][0];
    assert_eq!(doc["path"], "/marketing/users.tsv");
    assert_eq!(doc["size"], content.len() as u64);
    assert_eq!(doc["sha256"], sha256(&content));
    assert_eq!(doc["kind"], "delimited text");
    assert_eq!(doc["uploaded_by"], "cli");
    let lines = dir.ok(&["campaign", "docs", "ls", "/marketing"]);
    assert!(lines.contains(&format!("\t{}\t", content.len())), "{lines}");
    assert!(lines.contains(&sha256(&content)), "{lines}");
    assert_eq!(dir.ok(&["campaign", "docs", "ls"]), "marketing/\n");

    let out = dir.run(&["campaign", "docs", "get", "/marketing/users.tsv"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, content);
    dir.ok(&[
        "campaign",
        "docs",
        "get",
        "/MARKETING/USERS.TSV",
        "-o",
        "back.tsv",
    ]);
    assert_eq!(std::fs::read(dir.path().join("back.tsv")).unwrap(), content);

    // A taken name is an error unless --replace or --keep-both.
    let again = dir.run(&[
        "campaign",
        "docs",
        "upload",
        "users.tsv",
        "--to",
        "/marketing",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("a document named \"users.tsv\" already exists in /marketing"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    dir.ok(&[
        "campaign",
        "docs",
        "upload",
        "users.tsv",
        "--to",
        "/marketing",
        "--keep-both",
    ]);
    dir.ok(&[
        "campaign",
        "docs",
        "upload",
        "users.tsv",
        "--to",
        "/marketing",
        "--as",
        "x.tsv",
    ]);
    let lines = dir.ok(&["campaign", "docs", "ls", "/marketing"]);
    assert!(lines.contains("/marketing/users (2).tsv\t"), "{lines}");
    assert!(lines.contains("/marketing/x.tsv\t"), "{lines}");
    assert_eq!(stored_files(&dir).len(), 3);

    let rm = dir.run(&["campaign", "docs", "rm", "/marketing"]);
    assert_eq!(rm.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&rm.stderr).contains("not empty"));
    dir.ok(&["campaign", "docs", "rm", "/marketing/users.tsv"]);
    assert_eq!(stored_files(&dir).len(), 2);
    dir.ok(&["campaign", "docs", "rm", "/marketing", "--recursive"]);
    assert!(stored_files(&dir).is_empty());
    assert_eq!(dir.ok(&["campaign", "docs", "ls", "/"]), "");
    let bad = dir.run(&["campaign", "docs", "mkdir", "/a/../b"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"..\" is not allowed as a name"));
}

fn upload(
    server: &Server,
    token: &str,
    query: &str,
    files: Vec<(&str, Vec<u8>)>,
    import_as: &[&str],
) -> (u16, Value) {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part("file", Part::bytes(bytes).file_name(name.to_string()));
    }
    for name in import_as {
        form = form.text("import_as", name.to_string());
    }
    server.post_multipart(
        &format!("/api/campaign/v1/documents/upload{query}"),
        token,
        form,
    )
}

fn delete(server: &Server, token: &str, query: &str) -> (u16, Value) {
    let r = server
        .http
        .delete(format!("{}/api/campaign/v1/documents{query}", server.url))
        .bearer_auth(token)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn http_api_documents() {
    let dir = Dir::new();
    let server = dir.serve(&["--max-document-bytes", "100000"]);
    let token = server.token(None);
    let reader = server.token(Some("campaign:read"));

    // No token, then a token without campaign:write.
    let r = server
        .http
        .get(format!("{}/api/campaign/v1/documents?path=/", server.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, body) = upload(
        &server,
        &reader,
        "?path=/",
        vec![("a.csv", b"a,b".to_vec())],
        &[],
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errorCode"], "insufficient_scope");
    let (status, _) = server.post(
        "/api/campaign/v1/documents/directories",
        &reader,
        json!({"path": "/x"}),
    );
    assert_eq!(status, 403);

    let (status, body) = server.post(
        "/api/campaign/v1/documents/directories",
        &token,
        json!({"path": "/marketing/2024"}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["path"], "/marketing/2024");
    let (status, body) = server.post(
        "/api/campaign/v1/documents/directories",
        &token,
        json!({"path": "/Marketing"}),
    );
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (409, Some("directory_exists"))
    );

    // Two files in one request, the second renamed by its import_as part.
    let first = sample(1000);
    let second = b"\x1f\x8b\x08\x00 not really gzip".to_vec();
    let (status, body) = upload(
        &server,
        &token,
        "?path=/marketing",
        vec![("users.tsv", first.clone()), ("raw.bin", second.clone())],
        &["", "Contacts.gz"],
    );
    assert_eq!(status, 201, "{body}");
    let docs = body["documents"].as_array().unwrap();
    assert_eq!(docs[0]["path"], "/marketing/users.tsv");
    assert_eq!(docs[0]["sha256"], sha256(&first));
    assert_eq!(docs[0]["uploaded_by"], server.credentials["client_id"]);
    assert_eq!(docs[1]["path"], "/marketing/Contacts.gz");
    assert_eq!(docs[1]["kind"], "gzip");
    assert_eq!(docs[1]["size"], second.len() as u64);

    let (status, listing) = server.get("/api/campaign/v1/documents?path=/marketing", &reader);
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["directories"][0]["name"], "2024");
    let names: Vec<&str> = listing["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Contacts.gz", "users.tsv"]);
    let (_, found) = server.get("/api/campaign/v1/documents?path=/&q=USERS", &reader);
    assert_eq!(found["documents"][0]["path"], "/marketing/users.tsv");

    let r = server
        .http
        .get(format!(
            "{}/api/campaign/v1/documents/content?path=/marketing/users.tsv",
            server.url
        ))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"users.tsv\"; filename*=UTF-8''users.tsv"
    );
    assert_eq!(r.bytes().unwrap().to_vec(), first);

    // A taken name, then keep_both.
    let (status, body) = upload(
        &server,
        &token,
        "?path=/marketing",
        vec![("USERS.tsv", b"x".to_vec())],
        &[],
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["errorCode"], "document_exists");
    assert_eq!(
        body["message"],
        "a document named \"USERS.tsv\" already exists in /marketing"
    );
    let (status, body) = upload(
        &server,
        &token,
        "?path=/marketing&on_conflict=keep_both",
        vec![("users.tsv", b"x".to_vec())],
        &[],
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["documents"][0]["name"], "users (2).tsv");

    // Bad names are 400s that name the problem, and store nothing.
    let before = stored_files(&dir);
    for (name, problem) in [
        ("..", "\"..\" is not allowed as a name"),
        ("a/b", "a name cannot contain '/'"),
        ("bell\u{7}", "control characters"),
    ] {
        let (status, body) = upload(
            &server,
            &token,
            "?path=/marketing",
            vec![("ok.csv", b"a".to_vec())],
            &[name],
        );
        assert_eq!(status, 400, "{name:?}: {body}");
        assert_eq!(body["errorCode"], "invalid_name");
        assert!(
            body["message"].as_str().unwrap().contains(problem),
            "{body}"
        );
    }
    let (status, body) = server.get("/api/campaign/v1/documents?path=/marketing/../x", &reader);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("invalid_path")),
        "{body}"
    );
    assert_eq!(stored_files(&dir), before);

    // Over the cap: 413 and nothing left on disk.
    let (status, body) = upload(
        &server,
        &token,
        "?path=/marketing",
        vec![("big.csv", vec![b'x'; 100_001])],
        &[],
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["errorCode"], "payload_too_large");
    assert_eq!(stored_files(&dir), before);
    let (_, listing) = server.get("/api/campaign/v1/documents?path=/marketing", &reader);
    assert_eq!(listing["documents"].as_array().unwrap().len(), 3);

    // Deleting a non-empty directory needs recursive=true.
    let (status, body) = delete(&server, &token, "?path=/marketing");
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (409, Some("directory_not_empty"))
    );
    let (status, _) = delete(&server, &reader, "?path=/marketing&recursive=true");
    assert_eq!(status, 403);
    let (status, body) = delete(&server, &token, "?path=/marketing&recursive=true");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["documents"], 3);
    assert!(stored_files(&dir).is_empty());
    let (status, body) = server.get("/api/campaign/v1/documents?path=/marketing", &reader);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("inexistent_document"))
    );
}
