//! Hostile input against the real server (issue 6): document names and paths that try to
//! leave the documents root, symbolic links planted in the data directory, campaign table and
//! column names and filters carrying SQL, oversize and malformed bodies, stalled uploads and
//! a gzip bomb. Each attack is refused with the right status and body; after each one a
//! well-behaved client still gets correct answers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::{CAMPAIGN, Dir, Server};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use userbridge_model::{Job, JobKind, JobStatus};
use userbridge_store::{SqliteStore, Store};

/// A well-behaved client: the directory answers as it should, and a known document reads back
/// byte for byte.
fn still_serving(server: &Server, token: &str, users: u64) {
    let (status, list) = server.get("/api/v2/users?per_page=1&include_totals=true", token);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], users, "{list}");
    let (status, body) = server.get_text(
        &format!("{CAMPAIGN}/documents/content?path=/ok/good.csv"),
        token,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, GOOD_CSV);
}

const GOOD_CSV: &str = "Email,Name\na@example.com,Ann\nb@example.com,Bob\n";

/// A server on a fresh directory of `users` seeded users, with `/ok/good.csv` uploaded.
fn server_with(dir: &Dir, users: u64, extra: &[&str]) -> (Server, String) {
    if users > 0 {
        dir.seed(users);
    }
    let server = dir.serve(extra);
    let token = server.token(None);
    let (status, _) = server.post(
        &format!("{CAMPAIGN}/documents/directories"),
        &token,
        json!({"path": "/ok"}),
    );
    assert_eq!(status, 201);
    let (status, body) = server.upload_document(&token, "/ok", "good.csv", GOOD_CSV.into());
    assert_eq!(status, 201, "{body}");
    (server, token)
}

/// The Auth0 error body: status, errorCode, and a message containing `needle`.
fn assert_error(status: u16, body: &Value, want_status: u16, code: &str, needle: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["statusCode"], want_status, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {body}");
}

fn upload_as(
    server: &Server,
    token: &str,
    file_name: &str,
    import_as: Option<&str>,
) -> (u16, Value) {
    let mut form = Form::new().part(
        "file",
        Part::bytes(b"x,y\n".to_vec()).file_name(file_name.to_string()),
    );
    if let Some(name) = import_as {
        form = form.text("import_as", name.to_string());
    }
    server.post_multipart(
        &format!("{CAMPAIGN}/documents/upload?path=/ok"),
        token,
        form,
    )
}

/// Nothing is left of a refused upload in the jobs directory.
fn no_job_files(dir: &Dir) {
    let jobs = dir.data().join("jobs");
    let left: Vec<_> = match std::fs::read_dir(&jobs) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name()).collect(),
        Err(_) => Vec::new(),
    };
    assert!(left.is_empty(), "left in {}: {left:?}", jobs.display());
}

/// Files in the documents directory other than the known ones.
fn content_files(dir: &Dir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.data().join("documents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn document_names_and_paths_cannot_leave_the_documents_root() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 3, &[]);
    let before = content_files(&dir);

    // Names: through the upload's filename and its import_as part.
    for (file_name, import_as, needle) in [
        ("../../etc/passwd", None, "cannot contain '/'"),
        ("/etc/passwd", None, "cannot contain '/'"),
        ("..", None, "\"..\" is not allowed"),
        ("x.csv", Some(".."), "\"..\" is not allowed"),
        ("x.csv", Some("../escape.csv"), "cannot contain '/'"),
        ("x.csv", Some("a\u{0}b"), "control characters"),
    ] {
        let (status, body) = upload_as(&server, &token, file_name, import_as);
        assert_error(status, &body, 400, "invalid_name", needle);
        still_serving(&server, &token, 3);
    }
    assert_eq!(
        content_files(&dir),
        before,
        "a refused upload leaves nothing"
    );

    // Paths: in queries and JSON bodies.
    for (path, needle) in [
        ("/ok/../ok/good.csv", "\"..\" is not allowed"),
        ("/../etc/passwd", "\"..\" is not allowed"),
        ("/ok//good.csv", "empty component"),
        ("/ok/./good.csv", "\".\" is not allowed"),
    ] {
        let query = path.replace('/', "%2F");
        let (status, body) = server.get(
            &format!("{CAMPAIGN}/documents/content?path={query}"),
            &token,
        );
        assert_error(status, &body, 400, "invalid_path", needle);
        let (status, body) = server.post(
            &format!("{CAMPAIGN}/documents/move"),
            &token,
            json!({"from": "/ok/good.csv", "to": path}),
        );
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errorCode"], "invalid_path", "{body}");
        still_serving(&server, &token, 3);
    }
    // An absolute filesystem path is only a Documents path: nothing is there.
    let (status, body) = server.get(
        &format!("{CAMPAIGN}/documents/content?path=%2Fetc%2Fpasswd"),
        &token,
    );
    assert_error(status, &body, 404, "inexistent_directory", "/etc");
    let (status, body) = server.post(
        &format!("{CAMPAIGN}/documents/directories"),
        &token,
        json!({"path": "/a/../../b"}),
    );
    assert_error(status, &body, 400, "invalid_path", "\"..\"");
    still_serving(&server, &token, 3);
}

#[test]
fn symbolic_links_in_the_data_directory_are_never_followed() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 2, &[]);
    let outside = dir.path().join("outside-secret.txt");
    std::fs::write(&outside, "OUTSIDE-SECRET-BYTES\n").unwrap();

    // A document whose content file is replaced by a link to a file outside the data directory
    // (a private file of ours, and /etc/passwd).
    let (status, victim) = server.upload_document(
        &token,
        "/ok",
        "victim.csv",
        b"Email\nv@example.com\n".to_vec(),
    );
    assert_eq!(status, 201, "{victim}");
    let id = victim["documents"][0]["id"].as_str().unwrap();
    let content = dir.data().join("documents").join(id);
    for target in [outside.as_path(), Path::new("/etc/passwd")] {
        std::fs::remove_file(&content).unwrap();
        std::os::unix::fs::symlink(target, &content).unwrap();
        let (status, body) = server.get_text(
            &format!("{CAMPAIGN}/documents/content?path=/ok/victim.csv"),
            &token,
        );
        assert_eq!(status, 500, "{body}");
        assert!(
            !body.contains("OUTSIDE-SECRET") && !body.contains("root:"),
            "{body}"
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_error(status, &body, 500, "unsafe_content", "symbolic link");
        // The sniffer reads through the same door.
        let (status, body) = server.post(
            &format!("{CAMPAIGN}/imports/sniff"),
            &token,
            json!({"document": "/ok/victim.csv"}),
        );
        assert_error(status, &body, 500, "unsafe_content", "symbolic link");
        assert!(!body.to_string().contains("OUTSIDE-SECRET"));
        still_serving(&server, &token, 2);
    }

    // The whole documents directory replaced by a link to another directory.
    let documents = dir.data().join("documents");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(&documents, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &documents).unwrap();
    let (status, body) = server.get(
        &format!("{CAMPAIGN}/documents/content?path=/ok/good.csv"),
        &token,
    );
    assert_error(
        status,
        &body,
        500,
        "unsafe_content",
        "documents directory is a symbolic link",
    );
    let before: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().collect();
    let (status, body) = server.upload_document(&token, "/ok", "new.csv", b"a\n1\n".to_vec());
    assert_error(
        status,
        &body,
        500,
        "unsafe_content",
        "documents directory is a symbolic link",
    );
    let after: Vec<_> = std::fs::read_dir(&elsewhere).unwrap().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "nothing was written through the link"
    );
    // Put it back: the same documents answer again.
    std::fs::remove_file(&documents).unwrap();
    std::fs::rename(&elsewhere, &documents).unwrap();
    still_serving(&server, &token, 2);
}

/// A definition of `table` with one column per (header, column name) pair, keyed on the first.
fn definition(document: &str, table: &str, columns: &[(&str, &str)]) -> Value {
    let mapping: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, (source, name))| {
            let kind = if i == 0 { "email" } else { "text" };
            json!({ "source": source, "column": { "name": name, "type": kind } })
        })
        .collect();
    json!({
        "name": format!("load {table}"),
        "document": document,
        "dialect": { "delimiter": "," },
        "target": { "table": table, "create": true },
        "mapping": mapping,
        "key": [columns[0].1],
    })
}

#[test]
fn sql_in_table_names_column_names_and_filters_is_refused_or_quoted() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 5, &[]);

    // Table names: a strict pattern; anything else is a 400 naming the entry.
    for table in [
        "\"; DROP TABLE users; --",
        "a\"b",
        "x;y",
        "contacts--",
        "users; DELETE FROM users",
        "sqlite_master",
        "",
        "1abc",
    ] {
        let (status, body) = server.post(
            &format!("{CAMPAIGN}/import-definitions"),
            &token,
            definition(
                "/ok/good.csv",
                table,
                &[("Email", "Email"), ("Name", "Name")],
            ),
        );
        assert_error(status, &body, 400, "invalid_import", "target.table");
        still_serving(&server, &token, 5);
    }

    // Column names are free text (IMP-1) — quotes, semicolons, SQL keywords — and always
    // quoted: they come back exactly, and the users table is untouched. A table named after
    // an SQL keyword fits the pattern and is quoted too.
    let hostile = [
        ("Email", "Email"),
        ("a\"b", "a\"b"),
        ("drop", "\"; DROP TABLE users; --"),
        ("select", "select"),
        ("from", "from"),
    ];
    let csv = "Email,\"a\"\"b\",drop,select,from\n\
               a@example.com,q\"uote,'; DELETE FROM users; --,x,y\n";
    let (status, body) = server.upload_document(&token, "/ok", "hostile.csv", csv.into());
    assert_eq!(status, 201, "{body}");
    let (_, done) = server.run_definition(
        &token,
        definition("/ok/hostile.csv", "select", &hostile),
        json!({}),
    );
    assert_eq!(done["state"], "completed", "{done}");
    let (status, rows) = server.get(&format!("{CAMPAIGN}/tables/select/rows"), &token);
    assert_eq!(status, 200, "{rows}");
    let names: Vec<&str> = hostile.iter().map(|(_, name)| *name).collect();
    assert_eq!(rows["columns"], json!(names), "{rows}");
    assert_eq!(
        rows["rows"],
        json!([[
            "a@example.com",
            "q\"uote",
            "'; DELETE FROM users; --",
            "x",
            "y"
        ]])
    );
    still_serving(&server, &token, 5);

    // Reserved hidden column names are refused, not shadowed.
    let (status, body) = server.post(
        &format!("{CAMPAIGN}/import-definitions"),
        &token,
        definition(
            "/ok/good.csv",
            "reserved",
            &[("Email", "Email"), ("Name", "_row")],
        ),
    );
    assert_error(status, &body, 400, "invalid_import", "\"_row\" is reserved");

    // Filters and table names in URLs are values, never SQL.
    for filter in [
        "Email=x' OR '1'='1",
        "Email=a@example.com' --",
        "from~%'; DROP TABLE users; --",
    ] {
        let query = filter
            .replace('%', "%25")
            .replace(' ', "%20")
            .replace('\'', "%27")
            .replace(';', "%3B")
            .replace('=', "%3D")
            .replace('~', "%7E");
        let (status, rows) = server.get(
            &format!("{CAMPAIGN}/tables/select/rows?where={query}"),
            &token,
        );
        assert_eq!(status, 200, "{rows}");
        assert_eq!(rows["rows"], json!([]), "{filter}: {rows}");
    }
    let (status, body) = server.get(
        &format!("{CAMPAIGN}/tables/select/rows?where=%22%3B%20DROP%20TABLE%20users%3B%20--%3D'x'"),
        &token,
    );
    assert_eq!(status, 200, "the column exists: {body}");
    for table in [
        "users",
        "sqlite_master",
        "select%22%3B%20DROP%20TABLE%20users%3B--",
    ] {
        let (status, body) = server.get(&format!("{CAMPAIGN}/tables/{table}/rows"), &token);
        assert_error(status, &body, 404, "inexistent_table", "no campaign table");
    }
    still_serving(&server, &token, 5);
}

#[test]
fn every_csv_the_server_writes_is_formula_protected() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 0, &[]);
    let csv = "Email,Note\n\
               a@example.com,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"\n\
               b@example.com,+1\n\
               c@example.com,-1+2\n\
               d@example.com,@SUM(A1:A9)\n\
               e@example.com,-12.5\n\
               =cmd|' /C calc'!A0,rejected\n";
    let (status, body) = server.upload_document(&token, "/ok", "formulas.csv", csv.into());
    assert_eq!(status, 201, "{body}");
    let (_, done) = server.run_definition(
        &token,
        definition(
            "/ok/formulas.csv",
            "notes",
            &[("Email", "Email"), ("Note", "Note")],
        ),
        json!({}),
    );
    let id = done["id"].as_str().unwrap();
    assert_eq!(done["state"], "completed_with_rejects", "{done}");

    // The table export: values as stored, each formula starter behind a quote; plain numbers
    // (`+1`, `-12.5`) stay numbers.
    for (format, delimiter) in [("csv", b','), ("tsv", b'\t')] {
        let (status, text) = server.get_text(
            &format!("{CAMPAIGN}/tables/notes/export?format={format}"),
            &token,
        );
        assert_eq!(status, 200, "{text}");
        let (_, rows) = common::read_delimited(&text, delimiter);
        let notes: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(
            notes,
            [
                "'=HYPERLINK(\"http://evil.example\",\"click\")",
                "+1",
                "'-1+2",
                "'@SUM(A1:A9)",
                "-12.5"
            ],
            "{format}"
        );
    }
    // The reject file: the rejected row's cells are protected too (the header is not: a
    // re-import matches it by name).
    let (status, text) = server.get_text(&format!("{CAMPAIGN}/processes/{id}/rejects"), &token);
    assert_eq!(status, 200, "{text}");
    let (header, rows) = common::read_delimited(&text, b',');
    assert_eq!(&header[..2], ["Email", "Note"]);
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(rows[0][0], "'=cmd|' /C calc'!A0", "{text}");
    assert!(!text.contains("\n=") && !text.contains(",="), "{text}");
}

#[test]
fn oversize_and_hostile_bodies_are_refused_before_any_handler_parses_them() {
    let dir = Dir::new();
    let (server, token) = server_with(
        &dir,
        4,
        &[
            "--max-body-bytes",
            "65536",
            "--max-json-depth",
            "16",
            "--max-json-string-bytes",
            "4096",
            "--max-export-fields",
            "5",
            "--max-upload-bytes",
            "1000",
            "--max-document-bytes",
            "1000",
        ],
    );
    let post_raw = |path: &str, content_type: &str, body: Vec<u8>| {
        let r = server
            .http
            .post(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };

    // Bodies over --max-body-bytes: 413 in Auth0's shape, on every JSON route.
    let big = format!(
        "{{\"email\":\"a@example.com\",\"name\":\"{}\"}}",
        "x".repeat(70_000)
    );
    for path in [
        "/api/v2/users",
        "/api/v2/jobs/users-exports",
        "/api/campaign/v1/import-definitions",
    ] {
        let (status, body) = post_raw(path, "application/json", big.clone().into_bytes());
        assert_error(status, &body, 413, "payload_too_large", "65536 bytes");
        still_serving(&server, &token, 4);
    }
    // Not JSON, still capped: a form body on the token route answers in OAuth's shape.
    let (status, body) = post_raw(
        "/oauth/token",
        "application/x-www-form-urlencoded",
        format!("grant_type=client_credentials&x={}", "y".repeat(70_000)).into_bytes(),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "payload_too_large", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("65536")
    );

    // Nesting deeper than --max-json-depth, a string longer than --max-json-string-bytes.
    let deep = format!(
        "{{\"email\":\"d@example.com\",\"connection\":\"Username-Password-Authentication\",\"user_metadata\":{{\"a\":{}{}}}}}",
        "[".repeat(40),
        "]".repeat(40)
    );
    let (status, body) = post_raw("/api/v2/users", "application/json", deep.into_bytes());
    assert_error(
        status,
        &body,
        400,
        "invalid_body",
        "nested deeper than 16 levels",
    );
    let long = json!({
        "email": "l@example.com",
        "connection": "Username-Password-Authentication",
        "user_metadata": { "note": "n".repeat(5000) },
    });
    let (status, body) = server.post("/api/v2/users", &token, long);
    assert_error(status, &body, 400, "invalid_body", "longer than 4096 bytes");
    // JSON sent as text/plain is checked all the same.
    let (status, body) = post_raw(
        "/api/campaign/v1/imports/sniff",
        "text/plain",
        "[".repeat(100).into_bytes(),
    );
    assert_error(status, &body, 400, "invalid_body", "nested deeper");
    still_serving(&server, &token, 4);

    // Fields per export.
    let fields: Vec<Value> = [
        "email",
        "name",
        "nickname",
        "picture",
        "user_id",
        "created_at",
    ]
    .iter()
    .map(|f| json!({ "name": f }))
    .collect();
    let (status, body) = server.post(
        "/api/v2/jobs/users-exports",
        &token,
        json!({"format": "csv", "fields": fields}),
    );
    assert_error(status, &body, 400, "invalid_body", "6 items, 5 max");

    // Upload caps (their own, above the body cap's route layer).
    let (status, body) = server.import(
        &token,
        vec![b' '; 2000],
        &server.default_connection(&token),
        false,
    );
    assert_error(status, &body, 413, "payload_too_large", "1000 bytes");
    let (status, body) = server.upload_document(&token, "/ok", "big.csv", vec![b'x'; 2000]);
    assert_error(status, &body, 413, "payload_too_large", "1000 bytes");
    assert!(content_files(&dir).iter().all(|f| !f.ends_with(".partial")));
    no_job_files(&dir);
    still_serving(&server, &token, 4);
}

#[test]
fn malformed_multipart_is_a_400_and_leaves_nothing() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 2, &[]);
    let connection = server.default_connection(&token);
    let before = content_files(&dir);
    let send = |path: &str, content_type: &str, body: &str| {
        let r = server
            .http
            .post(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let truncated = "--XyZ\r\nContent-Disposition: form-data; name=\"users\"; filename=\"u.json\"\r\n\r\n[{\"email\":\"t@example.com\"}";
    let no_headers = "--XyZ\r\n\r\nhello\r\n--XyZ--\r\n";
    let cases = [
        ("multipart/form-data", "whatever"),
        ("multipart/form-data; boundary=XyZ", truncated),
        ("multipart/form-data; boundary=XyZ", no_headers),
        (
            "multipart/form-data; boundary=Other",
            "--XyZ\r\n\r\n--XyZ--\r\n",
        ),
        ("application/json", "{}"),
    ];
    for path in [
        "/api/v2/jobs/users-imports",
        "/api/campaign/v1/documents/upload?path=/ok",
    ] {
        for (content_type, body) in cases {
            let (status, answer) = send(path, content_type, body);
            assert_eq!(status, 400, "{path} {content_type}: {answer}");
            assert_eq!(answer["errorCode"], "invalid_body", "{answer}");
            still_serving(&server, &token, 2);
        }
    }
    assert_eq!(content_files(&dir), before);
    no_job_files(&dir);
    // A well-formed import still works.
    let (status, job) = server.import(
        &token,
        br#"[{"email":"ok@example.com"}]"#.to_vec(),
        &connection,
        false,
    );
    assert_eq!(status, 201, "{job}");
    let done = server.wait_job(job["id"].as_str().unwrap(), &token);
    assert_eq!(done["status"], "completed", "{done}");
    still_serving(&server, &token, 3);
}

/// A gzip stream of `size` zero bytes (a few KiB on the wire).
fn gzip_of_zeros(prefix: &[u8], size: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(prefix).unwrap();
    let zeros = vec![0u8; 1 << 16];
    for _ in 0..size / zeros.len() {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap()
}

#[test]
fn a_gzip_bomb_stops_at_the_decompressed_cap() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 2, &["--max-decompressed-bytes", "1048576"]);
    let bomb = gzip_of_zeros(b"", 64 << 20);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());

    // A users import job: the job fails, naming the cap; nothing is imported.
    let connection = server.default_connection(&token);
    let (status, job) = server.import(&token, bomb.clone(), &connection, false);
    assert_eq!(status, 201, "{job}");
    let done = server.wait_job(job["id"].as_str().unwrap(), &token);
    assert_eq!(done["status"], "failed", "{done}");
    let details = done["status_details"].as_str().unwrap();
    assert!(details.contains("max_decompressed_bytes"), "{details}");
    still_serving(&server, &token, 2);

    // A campaign run over a gzip document: the process fails, naming the cap; the table is
    // not created.
    let campaign_bomb = gzip_of_zeros(b"Email,Name\n", 64 << 20);
    let (status, body) = server.upload_document(&token, "/ok", "bomb.csv.gz", campaign_bomb);
    assert_eq!(status, 201, "{body}");
    let (_, done) = server.run_definition(
        &token,
        definition(
            "/ok/good.csv",
            "bombed",
            &[("Email", "Email"), ("Name", "Name")],
        ),
        json!({"document": "/ok/bomb.csv.gz"}),
    );
    assert_eq!(done["state"], "failed", "{done}");
    let message = done["message"].as_str().unwrap();
    assert!(
        message.contains("exceeds the limit of 1048576 bytes"),
        "{message}"
    );
    let (status, _) = server.get(&format!("{CAMPAIGN}/tables/bombed"), &token);
    assert_eq!(status, 404);
    still_serving(&server, &token, 2);
}

/// Sends `head` and part of a body, then stalls; returns the server's answer.
fn stall(server: &Server, head: String, partial: &[u8]) -> (u16, Value) {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(partial).unwrap();
    stream.flush().unwrap();
    // Nothing more is sent: the server must give up on its own.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if let Some(end) = find(&answer, b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&answer[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if answer.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            Err(e) => panic!("no answer from a stalled upload: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn stalled_uploads_time_out_and_leave_nothing() {
    let dir = Dir::new();
    let (server, token) = server_with(&dir, 2, &["--upload-idle-timeout", "1"]);
    let connection = server.default_connection(&token);
    let boundary = "StallStall";
    let part = |name: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f.json\"\r\n\r\n"
        )
    };
    let head = |path: &str, length: usize| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
        )
    };

    // An import upload: half a users file, then silence.
    let mut partial = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"connection_id\"\r\n\r\n{connection}\r\n"
    )
    .into_bytes();
    partial.extend_from_slice(part("users").as_bytes());
    partial.extend_from_slice(&vec![b' '; 100_000]);
    let (status, body) = stall(
        &server,
        head("/api/v2/jobs/users-imports", 1_000_000),
        &partial,
    );
    assert_error(
        status,
        &body,
        408,
        "request_timeout",
        "sent nothing for 1 seconds",
    );
    no_job_files(&dir);
    still_serving(&server, &token, 2);

    // A document upload: the partial content file is removed.
    let before = content_files(&dir);
    let mut partial = part("file").into_bytes();
    partial.extend_from_slice(&vec![b'x'; 100_000]);
    let (status, body) = stall(
        &server,
        head("/api/campaign/v1/documents/upload?path=/ok", 1_000_000),
        &partial,
    );
    assert_error(status, &body, 408, "request_timeout", "sent nothing");
    assert_eq!(content_files(&dir), before, "no partial file is left");

    // A JSON body that never ends.
    let head = format!(
        "POST /api/v2/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let (status, body) = stall(&server, head, b"{\"email\":");
    assert_error(status, &body, 408, "request_timeout", "sent nothing");
    still_serving(&server, &token, 2);
}

/// A body that never stops but trickles (a byte every 200 ms, under the 1 s idle timeout)
/// is cut off by the minimum rate, not held open for ever.
#[test]
fn trickled_uploads_are_cut_off_by_the_minimum_rate() {
    let dir = Dir::new();
    let (server, token) = server_with(
        &dir,
        2,
        &["--upload-idle-timeout", "1", "--upload-min-rate", "1000"],
    );
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let head = format!(
        "POST /api/v2/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"email\":\""
    );
    stream.write_all(head.as_bytes()).unwrap();
    // Trickle until the server answers (each read waits at most 200 ms between bytes).
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..300 {
        if stream.write_all(b"a").is_err() {
            break; // the server has closed: its answer is waiting
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if find(&answer, b"\r\n\r\n").is_some() && answer.ends_with(b"}") {
                    break;
                }
            }
            Err(_) => {} // nothing yet: send the next byte
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    assert!(
        text.contains("slower than the minimum upload rate"),
        "{text}"
    );
    still_serving(&server, &token, 2);
}

/// A job held `processing` by `created_by`, written straight into the store the server uses:
/// a real job is active only for a moment, too short to test against reliably (the runner
/// only picks `pending` jobs, so this one stays as it is until the test ends it).
fn busy_job(dir: &Dir, id: &str, created_by: &str, status: JobStatus) {
    let store = SqliteStore::open(&dir.data()).unwrap();
    let job = Job {
        id: id.into(),
        kind: JobKind::UsersExport,
        status,
        created_at: "2024-01-01T00:00:00.000Z".into(),
        connection_id: None,
        connection: None,
        spec: json!({"format": "csv"}),
        processed: 0,
        total: 0,
        status_details: None,
        result: None,
        finished_at: None,
        created_by: Some(created_by.into()),
    };
    match store.job(id).unwrap() {
        Some(_) => store.update_job(&job).unwrap(),
        None => store.create_job(&job).unwrap(),
    }
}

#[test]
fn jobs_are_capped_per_client() {
    let dir = Dir::new();
    // The dashboard admin's password is set beforehand (the server prints none then).
    dir.set_admin_password("admin-password-1");
    let (server, token) = server_with(&dir, 3, &["--max-jobs-per-client", "2"]);
    let client_id = server.credentials["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    busy_job(
        &dir,
        "job_busyBusyBusy0001",
        &client_id,
        JobStatus::Processing,
    );
    busy_job(
        &dir,
        "job_busyBusyBusy0002",
        &client_id,
        JobStatus::Processing,
    );

    // At the cap: both kinds of job are refused, in Auth0's 429 shape, before any upload is read.
    let (status, body) = server.post(
        "/api/v2/jobs/users-exports",
        &token,
        json!({"format": "csv"}),
    );
    assert_error(status, &body, 429, "too_many_requests", "at most 2");
    let connection = server.default_connection(&token);
    let (status, body) = server.import(
        &token,
        br#"[{"email":"x@example.org"}]"#.to_vec(),
        &connection,
        false,
    );
    assert_error(status, &body, 429, "too_many_requests", "2 active jobs");
    no_job_files(&dir);

    // Another client (the dashboard's admin) is not held up by this one.
    let (cookie, csrf) = server.sign_in("admin", "admin-password-1");
    let r = server
        .http
        .post(format!("{}/api/v2/jobs/users-exports", server.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"format": "csv"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let job: Value = r.json().unwrap();
    assert_eq!(
        server.wait_job(job["id"].as_str().unwrap(), &token)["status"],
        "completed"
    );

    // One of the client's jobs ends: it may start another.
    busy_job(
        &dir,
        "job_busyBusyBusy0001",
        &client_id,
        JobStatus::Completed,
    );
    let job = server.export_job(&token, json!({"format": "csv"}));
    assert_eq!(job["status"], "completed", "{job}");
    still_serving(&server, &token, 3);
}
