//! The Data Import HTTP API (`/api/campaign/v1/`) against the real server: the seed recipe
//! through HTTP, scopes, validation errors, processes and reject files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Dir, Server, read_delimited};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};

const API: &str = "/api/campaign/v1";

fn upload(server: &Server, token: &str, dir: &str, name: &str, bytes: Vec<u8>) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    let r = server
        .http
        .post(format!(
            "{}{API}/documents/upload?path={dir}&on_conflict=replace",
            server.url
        ))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
}

fn start(server: &Server, token: &str, definition: &str, body: Value) -> Value {
    let (status, process) = server.post(
        &format!("{API}/import-definitions/{definition}/runs"),
        token,
        body,
    );
    assert_eq!(status, 201, "{process}");
    assert_eq!(process["state"], "queued");
    assert_eq!(process["definition"], definition);
    assert!(process["created_at"].is_string());
    server.wait_process(token, process["id"].as_str().unwrap())
}

fn counts(report: &Value) -> (u64, u64, u64, u64, u64) {
    let n = |k: &str| report["counts"][k].as_u64().unwrap();
    assert_eq!(
        n("read"),
        n("inserted") + n("updated") + n("unchanged") + n("rejected"),
        "{report}"
    );
    (
        n("read"),
        n("inserted"),
        n("updated"),
        n("unchanged"),
        n("rejected"),
    )
}

fn definition(document: &str, key: &str) -> Value {
    json!({
        "name": "seed users",
        "document": document,
        "dialect": { "delimiter": "\t" },
        "target": { "table": "contacts", "create": true },
        "mapping": [
            { "source": "Email Address", "column": { "name": "Email Address", "type": "email" } },
            { "source": "Created At", "column": { "name": "Created At", "type": "datetime", "format": "ISO 8601" } },
            { "source": "First Name", "column": { "name": "First Name", "type": "text" } },
            { "source": "Last Name", "column": { "name": "Last Name", "type": "text" } },
        ],
        "key": [key],
    })
}

#[test]
fn seed_recipe_through_http() {
    let dir = Dir::new();
    dir.seed(300);
    dir.export_seed_recipe("users.tsv");
    let bytes = std::fs::read(dir.path().join("users.tsv")).unwrap();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let reader = server.token(Some("campaign:read"));

    let (status, _) = server.post(
        &format!("{API}/documents/directories"),
        &token,
        json!({"path": "/marketing"}),
    );
    assert_eq!(status, 201);
    upload(&server, &token, "/marketing", "users.tsv", bytes.clone());

    // Sniff: tab-delimited, header, the four columns, a 20-row preview.
    let (status, sniffed) = server.post(
        &format!("{API}/imports/sniff"),
        &token,
        json!({"document": "/marketing/users.tsv"}),
    );
    assert_eq!(status, 200, "{sniffed}");
    assert_eq!(sniffed["dialect"]["delimiter"], "\t");
    assert_eq!(sniffed["dialect"]["header"], true);
    assert_eq!(sniffed["encoding_confirmed"], true);
    assert_eq!(sniffed["rows"].as_array().unwrap().len(), 20);
    let names: Vec<&str> = sniffed["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Email Address", "Created At", "First Name", "Last Name"]
    );
    assert!(sniffed["summary"].is_string() && sniffed["explanation"].is_array());

    // The user overrides settings: they are taken as given and the preview follows them.
    let (status, chosen) = server.post(
        &format!("{API}/imports/sniff"),
        &token,
        json!({"document": "/marketing/users.tsv",
               "dialect": {"delimiter": "tab", "header": false, "skip_rows": 1}}),
    );
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(chosen["dialect"]["delimiter"], "\t");
    assert_eq!(chosen["dialect"]["header"], false);
    assert_eq!(chosen["columns"][0]["name"], "Column 1");
    // Row 1 (the header) skipped, no header row: the same first data row as before.
    assert_eq!(chosen["rows"][0], sniffed["rows"][0], "{chosen}");
    let explained = |text: &str| {
        chosen["explanation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == text)
    };
    assert!(explained("delimiter tab: chosen by you"), "{chosen}");
    assert!(explained("no header row: chosen by you"), "{chosen}");
    let (status, bad) = server.post(
        &format!("{API}/imports/sniff"),
        &token,
        json!({"document": "/marketing/users.tsv", "dialect": {"delimiter": "ab"}}),
    );
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("one character"),
        "{bad}"
    );

    // Create the definition; list and show it.
    let (status, saved) = server.post(
        &format!("{API}/import-definitions"),
        &token,
        definition("/marketing/users.tsv", "Email Address"),
    );
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("def_"));
    let (status, shown) = server.get(&format!("{API}/import-definitions/{id}"), &reader);
    assert_eq!(status, 200);
    assert_eq!(shown["definition"]["target"]["table"], "contacts");
    let (_, listed) = server.get(&format!("{API}/import-definitions"), &reader);
    assert_eq!(listed["definitions"][0]["id"], id.as_str());

    // Run: 300 inserted.
    let process = start(&server, &token, &id, json!({"dry_run": false}));
    assert_eq!(process["state"], "completed", "{process}");
    assert_eq!(counts(&process["report"]), (300, 300, 0, 0, 0));
    let pid = process["id"].as_str().unwrap();
    assert_eq!(process["report"]["process_id"], pid);
    let (status, report) = server.get(&format!("{API}/processes/{pid}/report"), &reader);
    assert_eq!(status, 200);
    assert_eq!(report, process["report"]);
    let (status, body) = server.get(&format!("{API}/processes/{pid}/rejects"), &reader);
    assert_eq!(status, 404, "{body}");

    // The table holds exactly the exported users.
    let (status, tables) = server.get(&format!("{API}/tables"), &reader);
    assert_eq!(status, 200);
    assert_eq!(tables["tables"][0]["name"], "contacts");
    assert_eq!(tables["tables"][0]["rows"], 300);
    assert_eq!(tables["tables"][0]["key"][0], "Email Address");
    let (status, page) = server.get(&format!("{API}/tables/contacts/rows?limit=1000"), &reader);
    assert_eq!(status, 200, "{page}");
    let columns: Vec<&str> = page["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let col = |n: &str| columns.iter().position(|c| *c == n).unwrap();
    let got: BTreeMap<String, (String, String)> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |i: usize| r[i].as_str().unwrap_or_default().to_string();
            (
                s(col("Email Address")),
                (s(col("First Name")), s(col("Last Name"))),
            )
        })
        .collect();
    let (header, rows) = read_delimited(std::str::from_utf8(&bytes).unwrap(), b'\t');
    let h = |n: &str| header.iter().position(|c| c == n).unwrap();
    let expected: BTreeMap<String, (String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[h("Email Address")].trim().to_lowercase(),
                (
                    r[h("First Name")].trim().to_string(),
                    r[h("Last Name")].trim().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(got.len(), 300);
    assert_eq!(got, expected);

    // A filter and a page.
    let first = rows[0][h("Email Address")].trim().to_lowercase();
    let (status, one) = server.get(
        &format!("{API}/tables/contacts/rows?where=Email%20Address={first}"),
        &reader,
    );
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    let (_, page) = server.get(
        &format!("{API}/tables/contacts/rows?limit=10&offset=295"),
        &reader,
    );
    assert_eq!(page["rows"].as_array().unwrap().len(), 5);

    // The export: header plus 300 rows.
    let r = server
        .http
        .get(format!(
            "{}{API}/tables/contacts/export?format=tsv",
            server.url
        ))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    let (export_header, export_rows) = read_delimited(&text, b'\t');
    assert_eq!(export_header, columns);
    assert_eq!(export_rows.len(), 300);

    // The same file again: nothing changes.
    let process = start(&server, &token, &id, json!({}));
    assert_eq!(process["state"], "completed", "{process}");
    assert_eq!(counts(&process["report"]), (300, 0, 0, 300, 0));
}

#[test]
fn scopes_errors_and_rejects() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let reader = server.token(Some("campaign:read"));
    let csv = "Email Address\tCreated At\tFirst Name\tLast Name\n\
               a@example.com\t2024-05-12T16:02:44.120Z\tAnn\tA\n\
               not-an-email\t2024-05-12T16:02:44.120Z\tBob\tB\n\
               c@example.com\t2024-05-12T16:02:44.120Z\tCid\tC\n";
    upload(&server, &token, "/", "people.tsv", csv.as_bytes().to_vec());

    // 401 without a token, 403 with campaign:read only, on every POST route.
    for path in [
        "/imports/sniff",
        "/import-definitions",
        "/import-definitions/def_x/runs",
    ] {
        let r = server
            .http
            .post(format!("{}{API}{path}", server.url))
            .json(&json!({}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let (status, body) = server.post(&format!("{API}{path}"), &reader, json!({}));
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["errorCode"], "insufficient_scope");
    }
    let r = server
        .http
        .get(format!("{}{API}/tables", server.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    // A bad definition names its entry.
    let (status, body) = server.post(
        &format!("{API}/import-definitions"),
        &token,
        definition("/people.tsv", "Email"),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorCode"], "invalid_import");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("key[0]") && message.contains("\"Email\""),
        "{message}"
    );
    let (status, body) = server.post(
        &format!("{API}/import-definitions"),
        &token,
        json!({"name": "x"}),
    );
    assert_eq!(status, 400, "{body}");

    // Unknown things are 404.
    let (status, body) = server.get(&format!("{API}/processes/run_nothing"), &reader);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errorCode"], "inexistent_process");
    let (status, _) = server.get(&format!("{API}/processes/run_nothing/report"), &reader);
    assert_eq!(status, 404);
    let (status, _) = server.get(&format!("{API}/import-definitions/def_nothing"), &reader);
    assert_eq!(status, 404);
    let (status, _) = server.post(
        &format!("{API}/import-definitions/def_nothing/runs"),
        &token,
        json!({}),
    );
    assert_eq!(status, 404);
    let (status, _) = server.get(&format!("{API}/tables/nothing/rows"), &reader);
    assert_eq!(status, 404);

    // A run with a bad row: completed_with_rejects and a downloadable reject file.
    let (status, saved) = server.post(
        &format!("{API}/import-definitions"),
        &token,
        definition("/people.tsv", "Email Address"),
    );
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_str().unwrap();
    let process = start(&server, &token, id, json!({"dry_run": false}));
    assert_eq!(process["state"], "completed_with_rejects", "{process}");
    assert_eq!(counts(&process["report"]), (3, 2, 0, 0, 1));
    let pid = process["id"].as_str().unwrap();
    let r = server
        .http
        .get(format!("{}{API}/processes/{pid}/rejects", server.url))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = r.text().unwrap();
    // §8.2: the source's columns and delimiter, then where and why.
    let (header, rows) = read_delimited(&text, b'\t');
    assert_eq!(
        header[header.len() - 4..],
        ["_line", "_column", "_reason_code", "_reason"]
    );
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(&"not-an-email".to_string()), "{text}");
    assert_eq!(rows[0][header.len() - 4], "3", "{text}");
    assert_eq!(rows[0][header.len() - 2], "invalid_email", "{text}");

    // Cancel (RUN-5): a finished process cannot be; an unknown one is 404; a read token may
    // not cancel anything.
    let cancel = format!("{API}/processes/{pid}/cancel");
    let (status, body) = server.post(&cancel, &token, json!({}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["errorCode"], "process_finished");
    let (status, _) = server.post(
        &format!("{API}/processes/run_nothing/cancel"),
        &token,
        json!({}),
    );
    assert_eq!(status, 404);
    let (status, _) = server.post(&cancel, &reader, json!({}));
    assert_eq!(status, 403);

    // A dry run with a document override changes nothing.
    let process = start(
        &server,
        &token,
        id,
        json!({"document": "/people.tsv", "dry_run": true}),
    );
    assert_eq!(process["dry_run"], true);
    assert_eq!(process["report"]["dry_run"], true);
    let (_, table) = server.get(&format!("{API}/tables/contacts"), &reader);
    assert_eq!(table["rows"], 2);

    // The OpenAPI document is served.
    let (status, doc) = server.get(&format!("{API}/openapi.json"), &reader);
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
}

/// Uploads `/generated.tsv` of `rows` distinct users and saves a definition of it into
/// `contacts`; returns the path that starts its runs.
fn generated_import(server: &Server, token: &str, rows: usize) -> String {
    generated_document(server, token, rows);
    let (status, saved) = server.post(
        &format!("{API}/import-definitions"),
        token,
        definition("/generated.tsv", "Email Address"),
    );
    assert_eq!(status, 201, "{saved}");
    format!(
        "{API}/import-definitions/{}/runs",
        saved["id"].as_str().unwrap()
    )
}

/// Uploads `/generated.tsv` of `rows` distinct users.
fn generated_document(server: &Server, token: &str, rows: usize) {
    use std::fmt::Write;
    let mut tsv = String::from("Email Address\tCreated At\tFirst Name\tLast Name\n");
    for i in 0..rows {
        let _ = writeln!(
            tsv,
            "user{i}@example.com\t2024-05-12T16:02:44.120Z\tFirst{i}\tLast{i}"
        );
    }
    upload(server, token, "/", "generated.tsv", tsv.into_bytes());
}

/// RUN-5 and RUN-4 over HTTP, with one import worker: a second process waits queued behind a
/// long first one and is cancelled before it starts; the first shows live progress, is
/// cancelled while it runs, rolls back, and leaves no table behind.
#[test]
fn cancel_queued_and_running_processes() {
    let dir = Dir::new();
    let server = dir.serve(&["--job-workers", "1"]);
    let token = server.token(None);
    // Long enough that the first run is still reading when it is cancelled: a load into an
    // empty table reads 200,000 rows in about a second even in a debug build.
    let runs = generated_import(&server, &token, 1_000_000);
    let (_, first) = server.post(&runs, &token, json!({}));
    let (_, second) = server.post(&runs, &token, json!({}));
    let (first, second) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );

    // The second waits for the only worker: cancelled at once, never run.
    let (status, body) = server.post(
        &format!("{API}/processes/{second}/cancel"),
        &token,
        json!({}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "cancelled");

    // The first runs: progress is visible, then a cancel interrupts it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let process = loop {
        let (_, process) = server.get(&format!("{API}/processes/{first}"), &token);
        if process["state"] == "running" && process["progress"]["rows_read"].as_u64() > Some(0) {
            break process;
        }
        assert!(
            process["state"] == "queued" || process["state"] == "running",
            "{process}"
        );
        assert!(Instant::now() < deadline, "{process}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(process["progress"]["phase"], "reading", "{process}");
    assert!(
        process["progress"]["percent"].as_f64().unwrap() < 100.0,
        "{process}"
    );
    let (status, body) = server.post(
        &format!("{API}/processes/{first}/cancel"),
        &token,
        json!({}),
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["cancel_requested"], true, "{body}");
    let done = server.wait_process(&token, first);
    assert_eq!(done["state"], "cancelled", "{done}");
    assert!(done["report"].is_null(), "{done}");
    let (status, _) = server.get(&format!("{API}/tables/contacts"), &token);
    assert_eq!(status, 404, "a cancelled run creates no table");
    let second = server.wait_process(&token, second);
    assert_eq!(second["state"], "cancelled", "{second}");
}

/// RUN-6 and IMP-28: an overwrite killed (SIGKILL) while it reads its file leaves the table
/// as it was; the restarted server marks the process failed, and the same run then loads
/// as a clean one would (what the killed load left behind is cleared first).
#[test]
fn a_killed_overwrite_leaves_the_table_as_it_was() {
    let dir = Dir::new();
    let mut server = dir.serve(&[]);
    let mut token = server.token(None);
    let small = "Email Address\tCreated At\tFirst Name\tLast Name\n\
                 kept@example.com\t2024-05-12T16:02:44.120Z\tKept\tRow\n";
    upload(&server, &token, "/", "small.tsv", small.as_bytes().to_vec());
    let mut first = definition("/small.tsv", "Email Address");
    first["name"] = json!("small");
    let (_, done) = server.run_definition(&token, first, json!({}));
    assert_eq!(done["state"], "completed", "{done}");
    let rows_path = format!("{API}/tables/contacts/rows?limit=10");
    let (_, before) = server.get(&rows_path, &token);
    assert_eq!(before["rows"].as_array().map(Vec::len), Some(1), "{before}");

    generated_document(&server, &token, 1_000_000);
    let mut big = definition("/generated.tsv", "Email Address");
    big["mode"] = json!("overwrite");
    let (status, saved) = server.post(&format!("{API}/import-definitions"), &token, big);
    assert_eq!(status, 201, "{saved}");
    let runs = format!(
        "{API}/import-definitions/{}/runs",
        saved["id"].as_str().unwrap()
    );
    let (_, process) = server.post(&runs, &token, json!({}));
    let id = process["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, process) = server.get(&format!("{API}/processes/{id}"), &token);
        if process["progress"]["rows_read"].as_u64() > Some(0) {
            break;
        }
        assert!(
            process["state"] == "queued" || process["state"] == "running",
            "{process}"
        );
        assert!(Instant::now() < deadline, "{process}");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server); // SIGKILL, mid-file
    server = dir.serve(&[]);
    token = server.token(None);
    let (_, process) = server.get(&format!("{API}/processes/{id}"), &token);
    assert_eq!(process["state"], "failed", "{process}");
    assert_eq!(process["message"], "interrupted by restart", "{process}");
    let (_, after) = server.get(&rows_path, &token);
    assert_eq!(after, before, "the killed overwrite changed the table");

    let (_, process) = server.post(&runs, &token, json!({}));
    let done = server.wait_process(&token, process["id"].as_str().unwrap());
    assert_eq!(
        counts(&done["report"]),
        (1_000_000, 1_000_000, 0, 0, 0),
        "{done}"
    );
    let (_, table) = server.get(&format!("{API}/tables/contacts"), &token);
    assert_eq!(table["rows"], 1_000_000, "{table}");
}

/// RUN-1: two processes on one table run one after the other, in the order they were
/// queued, though two workers are free.
#[test]
fn processes_on_one_table_take_turns() {
    let dir = Dir::new();
    let server = dir.serve(&["--job-workers", "2"]);
    let token = server.token(None);
    let runs = generated_import(&server, &token, 20_000);
    let (_, first) = server.post(&runs, &token, json!({}));
    let (_, second) = server.post(&runs, &token, json!({}));
    let first = server.wait_process(&token, first["id"].as_str().unwrap());
    let second = server.wait_process(&token, second["id"].as_str().unwrap());
    assert_eq!(
        counts(&first["report"]),
        (20_000, 20_000, 0, 0, 0),
        "{first}"
    );
    assert_eq!(
        counts(&second["report"]),
        (20_000, 0, 0, 20_000, 0),
        "{second}"
    );
    // Timestamps are ISO 8601 in UTC with milliseconds: they compare as text.
    let (first_end, second_start) = (
        first["report"]["finished_at"].as_str().unwrap(),
        second["report"]["started_at"].as_str().unwrap(),
    );
    assert!(second_start >= first_end, "{second_start} < {first_end}");
}

/// RUN-7: finished processes stay listed for the retention period, then go with their
/// reject files; a run of the CLI is a process like any other.
#[test]
fn old_processes_are_forgotten_with_their_reject_files() {
    let dir = Dir::new();
    std::fs::write(
        dir.path().join("people.csv"),
        "Email,Name\na@example.com,Ann\nnot-an-email,Bad\n",
    )
    .unwrap();
    dir.ok(&["campaign", "docs", "upload", "people.csv", "--to", "/"]);
    let id = common::create_import(&dir, "people", "/people.csv", "people", &common::EMAIL_NAME);
    let (report, code) = common::run_report(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 2, "{report}");
    let process = report["process_id"].as_str().unwrap().to_string();
    let rejects = report["reject_file"].as_str().unwrap().to_string();
    let content = |server: &Server, token: &str| {
        server
            .get(&format!("{API}/documents?path={rejects}"), token)
            .0
    };

    // Within the retention period (the default, 90 days) everything stays.
    {
        let server = dir.serve(&[]);
        let token = server.token(None);
        assert_eq!(
            server.get(&format!("{API}/processes/{process}"), &token).0,
            200
        );
        assert_eq!(content(&server, &token), 200);
    }
    // With no retention, the sweep at start-up forgets it and its reject file.
    let server = dir.serve(&["--process-retention", "0"]);
    let token = server.token(None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get(&format!("{API}/processes/{process}"), &token).0 != 404 {
        assert!(
            Instant::now() < deadline,
            "process {process} was never forgotten"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(content(&server, &token), 404);
    // The source document and the table are the user's: untouched.
    assert_eq!(
        server
            .get(&format!("{API}/documents?path=/people.csv"), &token)
            .0,
        200
    );
    let (_, table) = server.get(&format!("{API}/tables/people"), &token);
    assert_eq!(table["rows"], 1, "{table}");
}
