//! `userbridge import` and `POST /api/v2/jobs/users-imports`, run as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::io::Write;

use common::{Dir, Server, comparable};
use serde_json::{Value, json};

const CONNECTION: &str = "Username-Password-Authentication";

fn import(dir: &Dir, file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", file, "--connection", CONNECTION];
    args.extend_from_slice(extra);
    dir.run(&args)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn json_and_ndjson_exports_import_back_with_nothing_lost() {
    let source = Dir::new();
    source.seed(2000);
    for format in ["json", "ndjson"] {
        source.ok(&[
            "export",
            "--format",
            format,
            "-o",
            &format!("users.{format}"),
        ]);
        let target = Dir::new();
        let file = source.path().join(format!("users.{format}"));
        let out = import(&target, file.to_str().unwrap(), &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout(&out),
            "inserted 2000, updated 0, failed 0, total 2000\n"
        );
        assert_eq!(
            Server::comparable_users(&target),
            Server::comparable_users(&source),
            "{format}"
        );
    }
}

#[test]
fn csv_with_default_fields_imports_back_through_the_reverse_mapping() {
    let source = Dir::new();
    source.seed(500);
    source.ok(&["export", "--format", "csv", "-o", "users.csv"]);
    let target = Dir::new();
    let file = source.path().join("users.csv");
    let mapping = [
        "Id=user_id",
        "Given Name=given_name",
        "Family Name=family_name",
        "Nickname=nickname",
        "Name=name",
        "Email=email",
        "Email Verified=email_verified",
        "Picture=picture",
        "Connection=identities[0].connection",
        "Created At=created_at",
        "Updated At=updated_at",
    ];
    let mut args = vec![];
    for m in &mapping {
        args.extend(["--field", m]);
    }
    let out = import(&target, file.to_str().unwrap(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The nine columns an import keeps come back byte for byte (timestamps are regenerated).
    let fields: Vec<&str> = [
        "--field",
        "user_id",
        "--field",
        "given_name",
        "--field",
        "family_name",
        "--field",
        "nickname",
        "--field",
        "name",
        "--field",
        "email",
        "--field",
        "email_verified",
        "--field",
        "picture",
        "--field",
        "identities[0].connection",
    ]
    .to_vec();
    let mut export = vec!["export", "--format", "csv"];
    export.extend(fields);
    assert_eq!(target.ok(&export), source.ok(&export));
}

#[test]
fn failed_users_are_reported_by_line_and_exit_code_two() {
    let dir = Dir::new();
    let records = [
        json!({"email": "ok@example.org", "given_name": "Ok"}),
        json!({"email": "bad", "blocked": "yes", "Given Name": "x"}),
        json!({"email": "OK@example.org"}),
        json!({"email": "forbidden@example.org", "app_metadata": {"clientID": 1}}),
        json!({"email": "hash@example.org", "password_hash": "$2b$10$abc", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "zz", "encoding": "hex"}}}),
    ];
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.path().join("users.ndjson"), &text).unwrap();
    let out = import(&dir, "users.ndjson", &["--errors", "errors.ndjson"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "inserted 1, updated 0, failed 4, total 5\n");
    let errors: Vec<Value> = std::fs::read_to_string(dir.path().join("errors.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let codes: Vec<(u64, Vec<&str>)> = errors
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x["code"].as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(codes[0], (1, vec!["NOT_PASSED", "FORMAT", "INVALID_TYPE"]));
    assert_eq!(codes[1], (2, vec!["DUPLICATED_USER"]));
    assert_eq!(codes[2], (3, vec!["NOT_PASSED"]));
    assert_eq!(
        errors[2]["errors"][0]["message"],
        "app_metadata: forbidden attribute \"clientID\""
    );
    assert_eq!(codes[3].0, 4);
    assert!(
        errors[0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Given Name")
    );
    assert_eq!(
        errors[3]["user"]["password_hash"], "*****",
        "secrets are masked"
    );
    assert_eq!(
        errors[3]["user"]["custom_password_hash"]["hash"]["value"],
        "*****"
    );
    assert_eq!(dir.ok(&["users", "count"]).trim(), "1");
}

#[test]
fn a_file_that_does_not_parse_imports_nothing_and_names_the_place() {
    let dir = Dir::new();
    std::fs::write(
        dir.path().join("users.json"),
        "[{\"email\":\"a@example.org\"},\n {\"email\": \"b@example.org\",}\n]",
    )
    .unwrap();
    let out = import(&dir, "users.json", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("userbridge: error: users.json: line 2, column "),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
    assert_eq!(dir.ok(&["users", "count"]).trim(), "0");
}

#[test]
fn dry_run_reports_every_error_and_writes_nothing() {
    let dir = Dir::new();
    dir.seed(10);
    dir.ok(&["export", "--format", "ndjson", "-o", "users.ndjson"]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("users.ndjson"))
        .unwrap();
    writeln!(file, "{}", json!({"email": "new@example.org"})).unwrap();
    writeln!(file, "{}", json!({"email": 7})).unwrap();
    let before = dir.ok(&["export", "--format", "ndjson"]);
    let out = import(&dir, "users.ndjson", &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stdout(&out),
        "would be: inserted 1, updated 0, failed 11, total 12\n"
    );
    assert_eq!(dir.ok(&["export", "--format", "ndjson"]), before);
    let out = import(&dir, "users.ndjson", &["--dry-run", "--upsert"]);
    assert_eq!(
        stdout(&out),
        "would be: inserted 1, updated 10, failed 1, total 12\n"
    );
    assert_eq!(dir.ok(&["export", "--format", "ndjson"]), before);
}

#[test]
fn upsert_replaces_metadata_keeps_absent_fields_and_refuses_a_second_password() {
    let dir = Dir::new();
    let first = json!([{"email": "a@example.org", "given_name": "Ann", "email_verified": true,
        "user_metadata": {"theme": "dark", "consent": {"given": true}},
        "password_hash": "$2b$10$C9qVQ1L0Y8mwUmsjr2NXdOq1j5tJpLeQnxz0Jz7K0m9m8l0k1j2h3"}]);
    std::fs::write(dir.path().join("first.json"), first.to_string()).unwrap();
    assert_eq!(import(&dir, "first.json", &[]).status.code(), Some(0));
    let second = json!([{"email": "A@example.org", "family_name": "Berg", "user_metadata": {"theme": "light"}}]);
    std::fs::write(dir.path().join("second.json"), second.to_string()).unwrap();
    let out = import(&dir, "second.json", &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "without --upsert an existing user is a conflict"
    );
    let out = import(&dir, "second.json", &["--upsert"]);
    assert_eq!(stdout(&out), "inserted 0, updated 1, failed 0, total 1\n");
    let user: Value =
        serde_json::from_str(dir.ok(&["export", "--format", "ndjson"]).trim()).unwrap();
    assert_eq!(
        user["user_metadata"],
        json!({"theme": "light"}),
        "replaced, not merged"
    );
    assert_eq!(user["given_name"], "Ann");
    assert_eq!(user["family_name"], "Berg");
    assert_eq!(
        user["email_verified"], true,
        "unchanged when the file does not set it"
    );
    let third = json!([{"email": "a@example.org", "password_hash": "$2b$10$C9qVQ1L0Y8mwUmsjr2NXdOq1j5tJpLeQnxz0Jz7K0m9m8l0k1j2h3"}]);
    std::fs::write(dir.path().join("third.json"), third.to_string()).unwrap();
    let out = import(&dir, "third.json", &["--upsert", "--errors", "e.ndjson"]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_str(
        std::fs::read_to_string(dir.path().join("e.ndjson"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(
        error["errors"][0]["message"],
        "password_hash: user already has password hash defined"
    );
}

#[test]
fn imported_hashes_verify_against_their_plaintexts() {
    let dir = Dir::new();
    // The three examples of user-schema.md §5.4, with the plaintexts the spec gives.
    let users = json!([
        {"email": "ola.nordmann@example.org", "custom_password_hash": {"algorithm": "scrypt",
            "hash": {"value": "6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5", "encoding": "hex"},
            "salt": {"value": "s4lt", "encoding": "utf8"}, "keylen": 32, "cost": 4096}},
        {"email": "kari.nordmann@example.org", "custom_password_hash": {"algorithm": "hmac",
            "hash": {"value": "qZTOrD58qwQtPN/IgddfTV0NAvM=", "encoding": "base64", "digest": "sha1",
                     "key": {"value": "6b6579", "encoding": "hex"}}}},
        {"email": "per.hansen@example.org", "custom_password_hash": {"algorithm": "sha256",
            "hash": {"value": "9f2792e92746a08c7955dae87ecb8d62f2eac2e478b81891d347c303cc902ab0", "encoding": "hex"},
            "salt": {"value": "abc", "position": "prefix"}}},
    ]);
    std::fs::write(dir.path().join("users.json"), users.to_string()).unwrap();
    assert_eq!(import(&dir, "users.json", &[]).status.code(), Some(0));
    for (email, password) in [
        ("ola.nordmann@example.org", "correct horse"),
        ("kari.nordmann@example.org", "hunter2"),
        ("per.hansen@example.org", "hunter2"),
    ] {
        for (typed, expected) in [(password, 0), ("wrong", 2)] {
            let mut child = dir
                .command(&["users", "verify-password", "--email", email])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            writeln!(child.stdin.take().unwrap(), "{typed}").unwrap();
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(expected), "{email} with {typed:?}");
        }
    }
}

/// What a corpus case ends in: per-record codes, or a job failure naming this.
type Expected = Result<Vec<&'static str>, &'static str>;

/// A bad-input corpus through the jobs API: every case ends in a clear error — the job fails
/// with `status_details`, or the record fails with a reason — and the server keeps answering a
/// well-behaved client correctly.
#[test]
fn hostile_uploads_get_clear_errors_and_the_server_keeps_serving() {
    let dir = Dir::new();
    dir.seed(25);
    let server = dir.serve(&["--max-decompressed-bytes", "16777216"]);
    let token = server.token(None);
    let connection = server.default_connection(&token);
    let mut gzip_bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip_bomb.write_all(b"[").unwrap();
    for _ in 0..(40 << 20) / 4096 {
        gzip_bomb.write_all(&[b' '; 4096]).unwrap();
    }
    let gzip_bomb = gzip_bomb.finish().unwrap();
    assert!(
        gzip_bomb.len() < 128 * 1024,
        "a small file that inflates past the cap"
    );
    let deep = format!("{}1{}", "{\"a\":".repeat(1000), "}".repeat(1000));
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "[{\"email\":\"u@example.org\"}]".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let huge = "x".repeat(10 << 20);

    // (file, what the job says: Err(status_details fragment) or Ok(per-record codes))
    let cases: Vec<(Vec<u8>, Expected)> = vec![
        (b"this is not json".to_vec(), Err("must contain a JSON array or NDJSON objects (or be named .csv or .tsv)")),
        (b"{\n  \"email\": \"a@example.org\"\n}".to_vec(), Err("line 1")),
        (b"[{\"email\":\"a@example.org\"},{\"email\":\"b@exa".to_vec(), Err("line 1")),
        (b"[{\"email\":\"a\xff@example.org\"}]".to_vec(), Err("UTF-8")),
        (utf16, Err("UTF-16")),
        (gzip_bomb, Err("limit")),
        (json!([{"email": 1, "email_verified": "yes", "given_name": 3, "blocked": 1, "user_metadata": [], "app_metadata": "x", "username": false, "phone_number": 5, "picture": {}, "nickname": [], "name": null, "family_name": true, "user_id": 1}]).to_string().into_bytes(),
            Ok(vec!["INVALID_TYPE"])),
        (json!([{"email": "a@example.org", "given_name": huge}]).to_string().into_bytes(), Ok(vec!["MAX_LENGTH"])),
        (format!("[{{\"email\":\"a@example.org\",\"user_metadata\":{deep}}}]").into_bytes(), Ok(vec!["FORMAT"])),
        (json!([{"email": "a@example.org", "Id": 7}]).to_string().into_bytes(), Ok(vec!["NOT_PASSED"])),
        (json!([{"email": "a@example.org", "app_metadata": {"user_id": 1}}]).to_string().into_bytes(), Ok(vec!["NOT_PASSED"])),
        (json!([{"email": "case@example.org"}, {"email": "CASE@Example.org"}]).to_string().into_bytes(), Ok(vec!["DUPLICATED_USER"])),
    ];
    let (_, before) = server.get("/api/v2/users?per_page=100&include_totals=true", &token);
    for (i, (file, expected)) in cases.into_iter().enumerate() {
        let (status, job) = server.import(&token, file, &connection, false);
        assert_eq!(status, 201, "case {i}: {job}");
        let done = server.wait_job(job["id"].as_str().unwrap(), &token);
        match expected {
            Err(fragment) => {
                assert_eq!(done["status"], "failed", "case {i}: {done}");
                let details = done["status_details"].as_str().unwrap();
                assert!(details.contains(fragment), "case {i}: {details}");
            }
            Ok(codes) => {
                assert_eq!(done["status"], "completed", "case {i}: {done}");
                let (status, errors) = server.get(
                    &format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap()),
                    &token,
                );
                assert_eq!(status, 200);
                let found: Vec<&str> = errors
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|e| {
                        e["errors"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x["code"].as_str().unwrap())
                    })
                    .collect();
                for code in codes {
                    assert!(found.contains(&code), "case {i}: {errors}");
                }
                for e in errors
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|e| e["errors"].as_array().unwrap())
                {
                    assert!(!e["message"].as_str().unwrap().is_empty());
                }
            }
        }
        // A well-behaved client still gets correct answers.
        let (status, page) = server.get("/api/v2/users?per_page=1&include_totals=true", &token);
        assert_eq!(status, 200);
        assert!(page["total"].as_u64().unwrap() >= 25);
    }
    // Only the one valid user of the duplicate case was added (and none of the failed files).
    let (_, after) = server.get("/api/v2/users?per_page=100&include_totals=true", &token);
    assert_eq!(
        after["total"].as_u64().unwrap(),
        before["total"].as_u64().unwrap() + 1
    );
}

#[test]
fn upload_errors_are_synchronous_and_in_auth0_shape() {
    let dir = Dir::new();
    let server = dir.serve(&["--max-upload-bytes", "1000"]);
    let token = server.token(None);
    let connection = server.default_connection(&token);
    let (status, body) = server.import(&token, vec![b' '; 5000], &connection, false);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let (status, body) = server.import(&token, b"[]".to_vec(), "con_AAAAAAAAAAAAAAAA", false);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("inexistent_connection"))
    );
    let (status, body) = server.import(&token, b"[]".to_vec(), "nope", false);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("invalid_body"))
    );
    let r = server
        .http
        .post(format!("{}/api/v2/jobs/users-imports", server.url))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\ngarbage")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let (status, job) = server.import(&token, b"[]".to_vec(), &connection, false);
    assert_eq!(status, 201);
    let done = server.wait_job(job["id"].as_str().unwrap(), &token);
    assert_eq!(
        done["summary"],
        json!({"inserted": 0, "updated": 0, "failed": 0, "total": 0})
    );
    let (status, errors) = server.get(
        &format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap()),
        &token,
    );
    assert_eq!((status, errors), (200, json!([])), "never 204");
}

/// Kill the server (SIGKILL) at several points of a 50,000-user import, restart it each time;
/// the job resumes and the directory, summary and errors equal those of a clean run.
#[test]
fn an_import_killed_at_several_points_ends_like_a_clean_run() {
    let source = Dir::new();
    source.seed(50_000);
    source.ok(&["export", "--format", "ndjson", "-o", "users.ndjson"]);
    let mut file = std::fs::read(source.path().join("users.ndjson")).unwrap();
    // Some failures too, so errors are compared as well.
    for extra in [
        json!({"email": "broken"}),
        json!({"email": "taylor.aoife0@corp.example.org"}),
    ] {
        file.extend(format!("{extra}\n").into_bytes());
    }

    let run = |kills: &[u64]| -> (Vec<Value>, Value, Value) {
        let dir = Dir::new();
        let mut server = dir.serve(&["--import-batch-size", "500"]);
        let mut token = server.token(None);
        let (status, job) = server.import(
            &token,
            file.clone(),
            &server.default_connection(&token),
            false,
        );
        assert_eq!(status, 201, "{job}");
        let id = job["id"].as_str().unwrap().to_string();
        let mut killed_mid_run = 0;
        for &percent in kills {
            // Wait until the job is at least this far, then kill the server outright.
            loop {
                let (_, job) = server.get(&format!("/api/v2/jobs/{id}"), &token);
                let done = job["percentage_done"].as_u64().unwrap_or(0);
                if job["status"] == "completed" {
                    break;
                }
                if done >= percent {
                    killed_mid_run += 1;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            drop(server);
            server = dir.serve(&["--import-batch-size", "500"]);
            // A new port is a new public URL, so a new audience: the old token is refused.
            token = server.token(None);
        }
        assert!(
            kills.is_empty() || killed_mid_run > 0,
            "no kill landed while the job was running"
        );
        let done = server.wait_job(&id, &token);
        assert_eq!(done["status"], "completed", "{done}");
        let (_, errors) = server.get(&format!("/api/v2/jobs/{id}/errors"), &token);
        drop(server);
        (
            comparable(&dir.ok(&["export", "--format", "ndjson"])),
            done["summary"].clone(),
            errors,
        )
    };
    let clean = run(&[]);
    assert_eq!(
        clean.1,
        json!({"inserted": 50_000, "updated": 0, "failed": 2, "total": 50_002})
    );
    assert_eq!(clean.0.len(), 50_000);
    let killed = run(&[5, 35, 70]);
    assert_eq!(killed.1, clean.1);
    assert_eq!(killed.2, clean.2);
    assert!(
        killed.0 == clean.0,
        "the directories differ after a killed and resumed import"
    );
}

/// user-schema.md §7.1 with upsert: a record whose email names one user and whose user_id or
/// username names another fails; one naming nobody by email but someone by id fails too.
#[test]
fn upsert_refuses_records_that_point_at_two_users() {
    let dir = Dir::new();
    let first = json!([
        {"email": "a@example.org", "user_id": "a-1", "username": "alpha"},
        {"email": "b@example.org", "user_id": "b-1", "username": "bravo"},
    ]);
    std::fs::write(dir.path().join("first.json"), first.to_string()).unwrap();
    assert_eq!(import(&dir, "first.json", &[]).status.code(), Some(0));
    let second = json!([
        {"email": "a@example.org", "user_id": "auth0|a-1", "username": "alpha", "given_name": "Same"},
        {"email": "a@example.org", "user_id": "b-1"},
        {"email": "b@example.org", "username": "alpha"},
        {"email": "c@example.org", "user_id": "a-1"},
    ]);
    // Each record on its own, so it is judged against the directory, not against the others.
    let lines: Vec<String> = second
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    let expected = [
        (0, ""),
        (2, "CONFLICT user_id: user_id belongs to another user"),
        (
            2,
            "CONFLICT_USERNAME username: already used by another user",
        ),
        (2, "CONFLICT user_id: email cannot be changed by an import"),
    ];
    for (line, (code, error)) in lines.iter().zip(expected) {
        std::fs::write(dir.path().join("one.ndjson"), format!("{line}\n")).unwrap();
        let out = import(&dir, "one.ndjson", &["--upsert", "--errors", "e.ndjson"]);
        assert_eq!(out.status.code(), Some(code), "{line}");
        if code == 2 {
            let e: Value = serde_json::from_str(
                std::fs::read_to_string(dir.path().join("e.ndjson"))
                    .unwrap()
                    .trim(),
            )
            .unwrap();
            let got = format!(
                "{} {}",
                e["errors"][0]["code"].as_str().unwrap(),
                e["errors"][0]["message"].as_str().unwrap()
            );
            assert_eq!(got, error, "{line}");
        }
    }
    let users = dir.ok(&[
        "export",
        "--format",
        "csv",
        "--field",
        "email",
        "--field",
        "given_name",
    ]);
    assert_eq!(
        users,
        "email,given_name\na@example.org,Same\nb@example.org,\n"
    );
}

/// The web page's Import tab sends CSV/TSV files through the jobs API: a file named `.tsv`
/// (or `.csv`, either gzipped) is read as one, with `field` parts mapping its columns as the
/// CLI's `--field` does; each bad row is reported with its reason.
#[test]
fn delimited_files_named_so_import_through_the_api() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let connection = server.default_connection(&token);
    let tsv = "Email Address\tFirst Name\tplan\n\
               ann@example.org\tAnn\tgold\n\
               not-an-email\tBob\tsilver\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(tsv.as_bytes()).unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .part(
            "users",
            reqwest::blocking::multipart::Part::bytes(gz.finish().unwrap())
                .file_name("people.TSV.gz"),
        )
        .text("connection_id", connection.clone())
        .text("field", "Email Address=email")
        .text("field", "First Name=given_name")
        .text("field", "plan=user_metadata.plan");
    let (status, job) = server.import_form(&token, form);
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap();
    let done = server.wait_job(id, &token);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["summary"],
        json!({"inserted": 1, "updated": 0, "failed": 1, "total": 2})
    );
    let (_, errors) = server.get(&format!("/api/v2/jobs/{id}/errors"), &token);
    assert_eq!(errors[0]["user"]["email"], "not-an-email", "{errors}");
    assert_eq!(errors[0]["errors"][0]["code"], "FORMAT", "{errors}");
    let (_, users) = server.get("/api/v2/users-by-email?email=ann@example.org", &token);
    assert_eq!(users[0]["given_name"], "Ann");
    assert_eq!(users[0]["user_metadata"], json!({"plan": "gold"}));

    // A malformed mapping part is refused before anything is stored.
    let form = reqwest::blocking::multipart::Form::new()
        .part(
            "users",
            reqwest::blocking::multipart::Part::bytes(tsv.as_bytes().to_vec()).file_name("p.tsv"),
        )
        .text("connection_id", connection)
        .text("field", "no equals sign");
    let (status, body) = server.import_form(&token, form);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("COLUMN=PATH"),
        "{body}"
    );
}
