//! Saved Data Import definitions as things to manage (campaign-import.md §9, IMP-41/42):
//! versions, replace, delete, duplicate, export/import as JSON — over HTTP against the real
//! server and through the CLI on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{Dir, Server};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use userbridge_store::{ImportRunRecord, SqliteStore, Store};

const API: &str = "/api/campaign/v1";
const DEFS: &str = "/api/campaign/v1/import-definitions";

const PEOPLE: &str = "Email Address\tFirst Name\n\
                      a@example.com\tAnn\n\
                      b@example.com\tBob\n";

fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "document": "/people.tsv",
        "dialect": { "delimiter": "\t" },
        "target": { "table": "people", "create": true },
        "mapping": [
            { "source": "Email Address", "column": { "name": "Email Address", "type": "email" } },
            { "source": "First Name", "column": { "name": "First Name", "type": "text" } },
        ],
        "key": ["Email Address"],
    })
}

fn upload(server: &Server, token: &str) {
    let form = Form::new().part(
        "file",
        Part::bytes(PEOPLE.as_bytes().to_vec()).file_name("people.tsv"),
    );
    let r = server
        .http
        .post(format!("{}{API}/documents/upload?path=/", server.url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
}

/// Any method with an optional token and JSON body: (status, body or null).
fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.http.request(method, format!("{}{path}", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn put(server: &Server, token: &str, id: &str, body: Value) -> (u16, Value) {
    call(
        server,
        reqwest::Method::PUT,
        &format!("{DEFS}/{id}"),
        Some(token),
        Some(body),
    )
}

fn delete(server: &Server, token: &str, id: &str) -> (u16, Value) {
    call(
        server,
        reqwest::Method::DELETE,
        &format!("{DEFS}/{id}"),
        Some(token),
        None,
    )
}

/// A run record in a busy state, written straight into the store the server uses: a real
/// process is queued or running only for a moment, too short to test against reliably.
fn busy_run(dir: &Dir, id: &str, definition_id: &str, state: &str) {
    let store = SqliteStore::open(&dir.data()).unwrap();
    store
        .save_import_run(&ImportRunRecord {
            id: id.into(),
            definition_id: definition_id.into(),
            definition_version: 1,
            state: state.into(),
            started_at: String::new(),
            report: String::new(),
            dry_run: false,
            document: None,
            message: None,
        })
        .unwrap();
}

fn assert_error(body: &Value, status: u16, code: &str) {
    assert_eq!(body["statusCode"], status, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(
        body["message"].is_string() && body["error"].is_string(),
        "{body}"
    );
}

#[test]
fn versions_put_delete_and_their_errors() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let reader = server.token(Some("campaign:read"));
    upload(&server, &token);

    let (status, created) = server.post(DEFS, &token, definition("people"));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().unwrap().to_string();

    // PUT replaces, keeps id and created_at, adds one to the version.
    let mut changed = definition("people");
    changed["mode"] = json!("add_only");
    let (status, replaced) = put(&server, &token, &id, changed);
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["id"], id.as_str());
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert!(replaced["updated_at"].as_str() >= created["updated_at"].as_str());
    assert_eq!(replaced["definition"]["mode"], "add_only");
    // A body as GET answers it is a definition too; its read-only properties are ignored.
    let (status, shown) = server.get(&format!("{DEFS}/{id}"), &reader);
    assert_eq!(status, 200);
    assert_eq!(shown, replaced);
    let mut edited = shown.clone();
    edited["version"] = json!(99);
    edited["id"] = json!("def_somethingelse00");
    edited["definition"]["mode"] = json!("add_and_update");
    let (status, replaced) = put(&server, &token, &id, edited);
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["version"], 3);
    assert_eq!(replaced["id"], id.as_str());
    assert_eq!(replaced["definition"], created["definition"]);
    let (_, listed) = server.get(DEFS, &reader);
    assert_eq!(listed["definitions"][0]["version"], 3);

    // A process records the version it used, as does its record after the run.
    let (status, process) = server.post(
        &format!("{DEFS}/{id}/runs"),
        &token,
        json!({"dry_run": false}),
    );
    assert_eq!(status, 201, "{process}");
    assert_eq!(process["definition_version"], 3);
    let pid = process["id"].as_str().unwrap().to_string();
    let process = server.wait_process(&token, &pid);
    assert_eq!(process["state"], "completed", "{process}");
    assert_eq!(process["definition_version"], 3);

    // PUT errors: the bodies of create, 404, 409 for a name taken (ignoring case), 401, 403.
    let (status, body) = put(&server, &token, "def_nothing", definition("x"));
    assert_eq!(status, 404);
    assert_error(&body, 404, "inexistent_import");
    let (status, body) = put(&server, &token, &id, json!({"name": "x"}));
    assert_eq!(status, 400);
    assert_error(&body, 400, "invalid_body");
    let (status, body) = put(&server, &token, &id, json!([1]));
    assert_error(&body, 400, "invalid_body");
    assert_eq!(status, 400);
    let mut bad_key = definition("people");
    bad_key["key"] = json!(["Email"]);
    let (status, body) = put(&server, &token, &id, bad_key);
    assert_eq!(status, 400);
    assert_error(&body, 400, "invalid_import");
    assert!(
        body["message"].as_str().unwrap().contains("key[0]"),
        "{body}"
    );
    let mut two_names = shown.clone();
    two_names["name"] = json!("renamed");
    let (status, body) = put(&server, &token, &id, two_names);
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("\"renamed\""),
        "{body}"
    );
    let (status, other) = server.post(DEFS, &token, definition("other"));
    assert_eq!(status, 201, "{other}");
    let other_id = other["id"].as_str().unwrap().to_string();
    let (status, body) = put(&server, &token, &other_id, definition("PEOPLE"));
    assert_eq!(status, 409);
    assert_error(&body, 409, "import_exists");
    let (status, body) = server.post(DEFS, &token, definition("People"));
    assert_eq!(status, 409);
    assert_error(&body, 409, "import_exists");
    let (status, body) = put(&server, &reader, &id, definition("people"));
    assert_eq!(status, 403);
    assert_eq!(body["errorCode"], "insufficient_scope");
    let (status, _) = call(
        &server,
        reqwest::Method::PUT,
        &format!("{DEFS}/{id}"),
        None,
        Some(definition("people")),
    );
    assert_eq!(status, 401);
    // Nothing of that changed the definition.
    let (_, now) = server.get(&format!("{DEFS}/{id}"), &reader);
    assert_eq!(now["version"], 3);

    // DELETE: 403 read-only, 409 while a process is queued or running, 204, then 404.
    let (status, body) = delete(&server, &reader, &id);
    assert_eq!(status, 403, "{body}");
    for state in ["queued", "running"] {
        busy_run(&dir, "run_busy000000000000", &id, state);
        let (status, body) = delete(&server, &token, &id);
        assert_eq!(status, 409, "{state}: {body}");
        assert_error(&body, 409, "import_in_use");
        assert!(
            body["message"].as_str().unwrap().contains("run_busy"),
            "{body}"
        );
    }
    busy_run(&dir, "run_busy000000000000", &id, "failed");
    let (status, body) = delete(&server, &token, &id);
    assert_eq!(status, 204, "{body}");
    let (status, body) = delete(&server, &token, &id);
    assert_eq!(status, 404);
    assert_error(&body, 404, "inexistent_import");
    let (status, _) = server.get(&format!("{DEFS}/{id}"), &reader);
    assert_eq!(status, 404);
    // Past processes stay readable and still name the definition.
    let (status, process) = server.get(&format!("{API}/processes/{pid}"), &reader);
    assert_eq!(status, 200);
    assert_eq!(process["definition"], id.as_str());
    assert_eq!(process["definition_version"], 3);
    let (status, _) = server.get(&format!("{API}/processes/{pid}/report"), &reader);
    assert_eq!(status, 200);
    let (_, listed) = server.get(&format!("{API}/processes?definition={id}"), &reader);
    assert_eq!(listed["processes"].as_array().unwrap().len(), 2);
    // The name is free again.
    let (status, _) = server.post(DEFS, &token, definition("people"));
    assert_eq!(status, 201);
}

#[test]
fn duplicate_and_json_round_trip() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let reader = server.token(Some("campaign:read"));
    upload(&server, &token);
    let (_, created) = server.post(DEFS, &token, definition("people"));
    let id = created["id"].as_str().unwrap().to_string();
    let mut changed = definition("people");
    changed["duplicates"] = json!("first");
    let (status, original) = put(&server, &token, &id, changed);
    assert_eq!(status, 200);
    assert_eq!(original["version"], 2);
    let duplicate = format!("{DEFS}/{id}/duplicate");
    let same_but_name = |copy: &Value, name: &str| {
        let mut expected = original["definition"].clone();
        expected["name"] = json!(name);
        assert_eq!(copy["definition"], expected);
        assert_eq!(copy["name"], name);
        assert_eq!(copy["version"], 1);
        assert_ne!(copy["id"], original["id"]);
    };

    // Duplicate: default name, then 409 for that name again, then a given name.
    let (status, copy) = server.post(&duplicate, &token, json!({}));
    assert_eq!(status, 201, "{copy}");
    same_but_name(&copy, "people (copy)");
    let r = server
        .http
        .post(format!("{}{duplicate}", server.url))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "an empty body is the default name, taken now"
    );
    let (status, copy) = server.post(&duplicate, &token, json!({"name": "people 2"}));
    assert_eq!(status, 201, "{copy}");
    same_but_name(&copy, "people 2");
    for bad in [
        json!({"name": 3}),
        json!({"title": "x"}),
        json!({"name": " "}),
    ] {
        let (status, body) = server.post(&duplicate, &token, bad.clone());
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = server.post(&format!("{DEFS}/def_nothing/duplicate"), &token, json!({}));
    assert_eq!(status, 404);
    assert_error(&body, 404, "inexistent_import");
    let (status, _) = server.post(&duplicate, &reader, json!({}));
    assert_eq!(status, 403);

    // GET → POST: on this instance with another name (in both places it appears)…
    let (_, mut shown) = server.get(&format!("{DEFS}/{id}"), &reader);
    let (status, body) = server.post(DEFS, &token, shown.clone());
    assert_eq!(status, 409, "same name: {body}");
    shown["name"] = json!("people again");
    shown["definition"]["name"] = json!("people again");
    let (status, again) = server.post(DEFS, &token, shown.clone());
    assert_eq!(status, 201, "{again}");
    same_but_name(&again, "people again");

    // …and on another instance, as it is.
    let (_, shown) = server.get(&format!("{DEFS}/{id}"), &reader);
    let elsewhere = Dir::new();
    let second = elsewhere.serve(&[]);
    let token2 = second.token(None);
    upload(&second, &token2);
    let (status, moved) = second.post(DEFS, &token2, shown.clone());
    assert_eq!(status, 201, "{moved}");
    assert_eq!(moved["definition"], shown["definition"]);
    assert_eq!(moved["name"], "people");
    assert_eq!(moved["version"], 1);
    assert_ne!(moved["id"], shown["id"]);
}

/// Runs the binary expecting failure: exit 1 and one `userbridge: error:` line naming `what`.
fn fails(dir: &Dir, args: &[&str], what: &str) {
    let out = dir.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("userbridge: error: ") && stderr.contains(what),
        "{args:?}: expected {what:?} in {stderr}"
    );
}

fn show(dir: &Dir, id: &str) -> Value {
    serde_json::from_str(&dir.ok(&["campaign", "imports", "show", id])).unwrap()
}

#[test]
fn cli_update_rm_duplicate_export_report() {
    let dir = Dir::new();
    std::fs::write(dir.path().join("people.tsv"), PEOPLE).unwrap();
    dir.ok(&["campaign", "docs", "upload", "people.tsv", "--to", "/"]);
    let id = dir
        .ok(&[
            "campaign",
            "imports",
            "create",
            "--name",
            "people",
            "--document",
            "/people.tsv",
            "--table",
            "people",
            "--create-table",
            "--delimiter",
            "tab",
            "--map",
            "Email Address=Email Address:email",
            "--map",
            "First Name=First Name:text",
            "--key",
            "Email Address",
        ])
        .trim()
        .to_string();
    let shown = show(&dir, &id);
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["id"], id.as_str());

    // export prints the definition alone; update --from FILE puts an edited one back.
    let exported: Value =
        serde_json::from_str(&dir.ok(&["campaign", "imports", "export", &id])).unwrap();
    assert_eq!(exported, shown["definition"]);
    assert!(exported.get("id").is_none() && exported.get("version").is_none());
    let mut edited = exported.clone();
    edited["mode"] = json!("add_only");
    std::fs::write(dir.path().join("edited.json"), edited.to_string()).unwrap();
    let out = dir.ok(&[
        "campaign",
        "imports",
        "update",
        &id,
        "--from",
        "edited.json",
    ]);
    assert_eq!(out.trim(), format!("{id} version 2"));
    let shown = show(&dir, &id);
    assert_eq!(shown["definition"]["mode"], "add_only");
    assert_eq!(shown["version"], 2);
    // From stdin, as `show` prints it.
    let mut child = dir
        .command(&["campaign", "imports", "update", &id, "--from", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut back = shown.clone();
    back["definition"]["mode"] = json!("add_and_update");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(back.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(show(&dir, &id)["version"], 3);
    let listed = dir.ok(&["campaign", "imports", "ls"]);
    assert!(listed.starts_with(&format!("{id}\tpeople\t3\t/people.tsv\tpeople\t")));

    // create --from: the export again, under a new name (the old one is taken).
    fails(
        &dir,
        &["campaign", "imports", "create", "--from", "edited.json"],
        "\"people\" already exists",
    );
    let mut copy = exported.clone();
    copy["name"] = json!("people imported");
    std::fs::write(dir.path().join("copy.json"), copy.to_string()).unwrap();
    let imported = dir
        .ok(&["campaign", "imports", "create", "--from", "copy.json"])
        .trim()
        .to_string();
    assert_ne!(imported, id);
    let shown_copy = show(&dir, &imported);
    assert_eq!(shown_copy["definition"], copy);
    assert_eq!(shown_copy["version"], 1);

    // duplicate.
    let dup = dir
        .ok(&["campaign", "imports", "duplicate", &id])
        .trim()
        .to_string();
    assert_eq!(show(&dir, &dup)["name"], "people (copy)");
    fails(
        &dir,
        &["campaign", "imports", "duplicate", &id],
        "\"people (copy)\" already exists",
    );
    let named = dir
        .ok(&["campaign", "imports", "duplicate", &id, "--name", "third"])
        .trim()
        .to_string();
    assert_eq!(show(&dir, &named)["definition"]["name"], "third");

    // run records the version; report prints the stored report.
    let out = dir.run(&["campaign", "imports", "run", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = report["process_id"].as_str().unwrap().to_string();
    let stored: Value =
        serde_json::from_str(&dir.ok(&["campaign", "imports", "report", &run_id])).unwrap();
    assert_eq!(stored, report);
    let record = SqliteStore::open(&dir.data())
        .unwrap()
        .import_run(&run_id)
        .unwrap()
        .unwrap();
    assert_eq!(record.definition_version, 3);

    // rm: refused while a process is busy, then done; the run's report stays.
    busy_run(&dir, "run_queued0000000000", &id, "queued");
    fails(
        &dir,
        &["campaign", "imports", "rm", &id],
        "queued process run_queued0000000000",
    );
    fails(
        &dir,
        &["campaign", "imports", "report", "run_queued0000000000"],
        "run run_queued0000000000 has no report (queued)",
    );
    busy_run(&dir, "run_queued0000000000", &id, "failed");
    assert_eq!(
        dir.ok(&["campaign", "imports", "rm", &id]).trim(),
        format!("deleted {id}")
    );
    fails(
        &dir,
        &["campaign", "imports", "show", &id],
        "no import definition",
    );
    assert_eq!(
        serde_json::from_str::<Value>(&dir.ok(&["campaign", "imports", "report", &run_id]))
            .unwrap(),
        report
    );

    // Bad input: one line naming what and where.
    std::fs::write(dir.path().join("bad.json"), "{ not json").unwrap();
    std::fs::write(dir.path().join("list.json"), "[1, 2]").unwrap();
    let mut bad_key = exported.clone();
    bad_key["key"] = json!(["Email"]);
    std::fs::write(dir.path().join("bad-key.json"), bad_key.to_string()).unwrap();
    let update = |file: &str| {
        vec![
            "campaign".to_string(),
            "imports".into(),
            "update".into(),
            dup.clone(),
            "--from".into(),
            file.into(),
        ]
    };
    for (file, what) in [
        ("nothere.json", "cannot read nothere.json"),
        ("bad.json", "bad.json is not JSON"),
        ("list.json", "list.json: not an import definition"),
        (
            "bad-key.json",
            "key[0] (\"Email\"): the key column is not mapped",
        ),
    ] {
        let args = update(file);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&dir, &args, what);
    }
    assert_eq!(
        show(&dir, &dup)["version"],
        1,
        "failed updates change nothing"
    );
    fails(
        &dir,
        &[
            "campaign",
            "imports",
            "update",
            "def_nothing",
            "--from",
            "copy.json",
        ],
        "no import definition def_nothing",
    );
    for command in ["rm", "duplicate", "export"] {
        fails(
            &dir,
            &["campaign", "imports", command, "def_nothing"],
            "no import definition def_nothing",
        );
    }
    fails(
        &dir,
        &["campaign", "imports", "report", "run_nothing"],
        "no run or process run_nothing",
    );
    fails(
        &dir,
        &["campaign", "imports", "duplicate", &dup, "--name", ""],
        "name: must not be empty",
    );
}
