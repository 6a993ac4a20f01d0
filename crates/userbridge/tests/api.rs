//! The Management API over real HTTP on loopback, against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use common::{Dir, gunzip, read_delimited};
use serde_json::{Value, json};

// Who may call each route (401, 403, success) is walked in `route_access.rs`; forged and
// stale tokens are in `security_tokens.rs`.

#[test]
fn expired_tokens_are_refused() {
    let dir = Dir::new();
    let server = dir.serve(&["--token-lifetime", "0"]);
    let token = server.token(None);
    let r = server
        .http
        .get(format!("{}/api/v2/users", server.url))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let body: Value = r.json().unwrap();
    assert_eq!(
        body["message"],
        "Expired token received for JSON Web Token validation"
    );
}

#[test]
fn the_token_endpoint_speaks_oauth() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let creds = server.credentials.clone();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&audience={}",
        creds["client_id"].as_str().unwrap(),
        creds["client_secret"].as_str().unwrap(),
        creds["audience"]
            .as_str()
            .unwrap()
            .replace(':', "%3A")
            .replace('/', "%2F"),
    );
    let r = server
        .http
        .post(format!("{}/oauth/token", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);

    let cases = [
        (
            json!({"client_secret": "x"}),
            401,
            "access_denied",
            "Unauthorized",
        ),
        (
            json!({"audience": format!("{}/api/v2", server.url)}),
            403,
            "access_denied",
            "Service not found",
        ),
        (
            json!({"scope": "read:users delete:everything"}),
            403,
            "access_denied",
            "Client has not been granted scopes: delete:everything",
        ),
        (
            json!({"grant_type": "password"}),
            400,
            "unsupported_grant_type",
            "Unsupported grant type: password",
        ),
    ];
    for (patch, status, error, description) in cases {
        let mut body = creds.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = server.token_response(body);
        assert_eq!(r.status().as_u16(), status);
        let body: Value = r.json().unwrap();
        assert_eq!(body["error"], error);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(description),
            "{body}"
        );
    }
    let mut body = creds.clone();
    body.as_object_mut().unwrap().remove("audience");
    let r: Value = server.token_response(body).json().unwrap();
    assert_eq!(
        r["error_description"],
        "Missing required parameter: audience"
    );
}

#[test]
fn users_search_pages_and_sorts() {
    let dir = Dir::new();
    dir.seed(120);
    let server = dir.serve(&[]);
    let token = server.token(None);
    let (status, page) = server.get(
        "/api/v2/users?per_page=50&page=2&include_totals=true",
        &token,
    );
    assert_eq!(status, 200);
    assert_eq!(
        (
            page["start"].as_u64(),
            page["limit"].as_u64(),
            page["length"].as_u64(),
            page["total"].as_u64()
        ),
        (Some(100), Some(50), Some(20), Some(120))
    );
    let (_, all) = server.get(
        "/api/v2/users?per_page=100&sort=email:1&fields=email,user_id",
        &token,
    );
    let emails: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);
    assert_eq!(all[0].as_object().unwrap().len(), 2);
    let first = emails[0];
    let (_, found) = server.get(
        &format!("/api/v2/users?q=email:%22{}%22", first.to_uppercase()),
        &token,
    );
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let (_, count) = server.get(
        "/api/v2/users?per_page=1&page=0&include_totals=true&search_engine=v3&q=identities.connection:%22Username-Password-Authentication%22",
        &token,
    );
    assert_eq!(count["total"], 120);
    for (query, property) in [
        ("per_page=101", "per_page"),
        ("q=nosuchfield:x", "q"),
        ("q=email:(a", "q"),
        ("sort=picture:1", "sort"),
        ("bogus=1", "bogus"),
        ("include_totals=maybe", "include_totals"),
    ] {
        let (status, body) = server.get(&format!("/api/v2/users?{query}"), &token);
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["errorCode"], "invalid_query_string", "{query}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .ends_with(&format!("on property {property}")),
            "{body}"
        );
    }
}

#[test]
fn export_job_with_fields_downloads_a_gzipped_csv() {
    let dir = Dir::new();
    dir.seed(400);
    let server = dir.serve(&[]);
    let token = server.token(None);
    let (_, connections) = server.get("/api/v2/connections?strategy=auth0", &token);
    let connection_id = connections[0]["id"].as_str().unwrap().to_string();
    let fields = json!([
        {"name": "email", "export_as": "Email Address"},
        {"name": "created_at", "export_as": "Created At"},
        {"name": "given_name", "export_as": "First Name"},
        {"name": "family_name", "export_as": "Last Name"},
    ]);
    let (status, job) = server.post(
        "/api/v2/jobs/users-exports",
        &token,
        json!({"connection_id": connection_id, "format": "csv", "fields": fields}),
    );
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["type"], "users_export");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["connection"], "Username-Password-Authentication");
    assert_eq!(job["fields"], fields);
    let done = server.wait_job(job["id"].as_str().unwrap(), &token);
    assert_eq!(done["status"], "completed", "{done}");
    let location = done["location"].as_str().unwrap();
    assert!(location.starts_with(&format!(
        "{}/exports/{}/userbridge.csv.gz?expires=",
        server.url,
        job["id"].as_str().unwrap()
    )));

    let r = server.http.get(location).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/gzip");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"userbridge.csv.gz\""
    );
    assert!(r.headers().get("content-encoding").is_none());
    let text = gunzip(&r.bytes().unwrap());
    let (headers, rows) = read_delimited(&text, b',');
    assert_eq!(
        headers,
        ["Email Address", "Created At", "First Name", "Last Name"]
    );
    assert_eq!(rows.len(), 400);
    // The same engine as the CLI: the same bytes as `userbridge export`.
    let cli = dir.ok(&[
        "export",
        "--format",
        "csv",
        "--field",
        "email=Email Address",
        "--field",
        "created_at=Created At",
        "--field",
        "given_name=First Name",
        "--field",
        "family_name=Last Name",
    ]);
    assert_eq!(text, cli);

    // A tampered link is refused; a re-read mints a fresh, different, working link.
    let tampered = location.replace("expires=", "expires=9");
    let (status, body) = server.download(&tampered);
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["errorCode"],
        "invalid_signature"
    );
    let again = server.wait_job(job["id"].as_str().unwrap(), &token);
    assert_eq!(server.download(again["location"].as_str().unwrap()).0, 200);
}

#[test]
fn json_export_job_is_ndjson_and_json_array_is_an_array() {
    let dir = Dir::new();
    dir.seed(60);
    let server = dir.serve(&[]);
    let token = server.token(None);
    for (format, ndjson) in [("json", true), ("json_array", false)] {
        let (status, job) = server.post(
            "/api/v2/jobs/users-exports",
            &token,
            json!({"format": format, "limit": 25}),
        );
        assert_eq!(status, 201);
        let done = server.wait_job(job["id"].as_str().unwrap(), &token);
        assert!(
            done["location"]
                .as_str()
                .unwrap()
                .contains("/userbridge.json.gz?")
        );
        let text = gunzip(&server.download(done["location"].as_str().unwrap()).1);
        let users: Vec<Value> = if ndjson {
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        } else {
            serde_json::from_str(&text).unwrap()
        };
        assert_eq!(users.len(), 25, "{format}");
        assert!(
            users
                .iter()
                .all(|u| u["user_id"].as_str().unwrap().starts_with("auth0|"))
        );
    }
}

#[test]
fn bad_export_requests_get_auth0_errors_and_create_no_job() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let cases = [
        (json!({"format": "xml"}), 400, "invalid_body", "format"),
        (
            json!({"fields": [{"name": "identities["}]}),
            400,
            "invalid_body",
            "fields[0].name",
        ),
        (
            json!({"fields": [{"name": "email", "export_as": "E"}, {"name": "name", "export_as": "E"}]}),
            400,
            "invalid_body",
            "fields[1]",
        ),
        (
            json!({"fields": [{"name": "email", "other": 1}]}),
            400,
            "invalid_body",
            "fields[0].other",
        ),
        (
            json!({"connection_id": "nope"}),
            400,
            "invalid_body",
            "connection_id",
        ),
        (
            json!({"connection_id": "con_AAAAAAAAAAAAAAAA"}),
            404,
            "inexistent_connection",
            "",
        ),
        (json!({"limit": 0}), 400, "invalid_body", "limit"),
        (json!({"surprise": true}), 400, "invalid_body", "surprise"),
        (
            json!({"format": "csv", "options": {"formula_escape": "sometimes"}}),
            400,
            "invalid_body",
            "options.formula_escape",
        ),
    ];
    for (body, status, code, property) in cases {
        let (got, error) = server.post("/api/v2/jobs/users-exports", &token, body.clone());
        assert_eq!(got, status, "{body}: {error}");
        assert_eq!(error["errorCode"], code, "{body}");
        assert!(
            error["message"].as_str().unwrap().ends_with(property),
            "{body}: {error}"
        );
    }
    let (status, body) = server.get("/api/v2/jobs/job_AAAAAAAAAAAAAAAA", &token);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("inexistent_job"))
    );
    let (status, body) = server.get("/api/v2/jobs/nope", &token);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("invalid_uri"))
    );
}

#[test]
fn a_job_interrupted_by_a_restart_completes_on_the_next_start() {
    let dir = Dir::new();
    dir.seed(3000);
    let (job_id, token_body);
    {
        // Queue a job, then kill the server, wherever the job was.
        let server = dir.serve(&[]);
        let token = server.token(None);
        let (_, job) = server.post(
            "/api/v2/jobs/users-exports",
            &token,
            json!({"format": "csv"}),
        );
        job_id = job["id"].as_str().unwrap().to_string();
        token_body = server.credentials.clone();
        // Server dropped here: killed with SIGKILL, wherever the job was.
    }
    // Pretend the kill came mid-run: mark the job processing, as a crash would leave it.
    let db = dir.data().join("userbridge.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(format!(
            "UPDATE jobs SET status = 'processing', result = NULL WHERE id = '{job_id}'"
        ))
        .status();
    if let Ok(status) = status {
        assert!(status.success());
    }
    let server = dir.serve(&[]);
    assert_eq!(
        server.credentials["client_id"], token_body["client_id"],
        "credentials survive a restart"
    );
    let token = server.token(None);
    let done = server.wait_job(&job_id, &token);
    assert_eq!(done["status"], "completed", "{done}");
    let text = gunzip(&server.download(done["location"].as_str().unwrap()).1);
    assert_eq!(read_delimited(&text, b',').1.len(), 3000);
    assert_eq!(
        text,
        dir.ok(&["export", "--format", "csv"]),
        "equal to an uninterrupted export"
    );
}

#[test]
fn finished_jobs_expire_after_retention_and_their_links_stop_working() {
    let dir = Dir::new();
    dir.seed(10);
    let (job_id, location);
    {
        let server = dir.serve(&[]);
        let token = server.token(None);
        let (_, job) = server.post(
            "/api/v2/jobs/users-exports",
            &token,
            json!({"format": "csv"}),
        );
        job_id = job["id"].as_str().unwrap().to_string();
        location = server.wait_job(&job_id, &token)["location"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(server.download(&location).0, 200);
    }
    // Restart with no retention: the purge at start-up removes the file.
    let server = dir.serve(&["--job-retention", "0", "--download-link-lifetime", "3600"]);
    let token = server.token(None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let job = loop {
        let (_, job) = server.get(&format!("/api/v2/jobs/{job_id}"), &token);
        if job["status"] == "expired" || std::time::Instant::now() > deadline {
            break job;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(job["status"], "expired", "{job}");
    assert!(job.get("location").is_none());
    assert!(!dir.data().join("jobs").join(&job_id).exists());
    let port_old = location.split('/').nth(2).unwrap().to_string();
    let relinked = location.replace(&port_old, server.url.trim_start_matches("http://"));
    assert_eq!(server.download(&relinked).0, 404);
}

#[test]
fn creating_a_user_checks_the_same_schema_as_an_import() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let cases = [
        (
            json!({"email": "a@example.org", "app_metadata": {"clientID": 1}}),
            "app_metadata.clientID",
        ),
        (json!({"email": "not an email"}), "email"),
        (
            json!({"email": "a@example.org", "phone_number": "555"}),
            "phone_number",
        ),
        (
            json!({"email": "a@example.org", "given_name": ""}),
            "given_name",
        ),
        (
            json!({"email": "a@example.org", "user_metadata": {"a.b": 1}}),
            "user_metadata[\"a.b\"]",
        ),
        (
            json!({"email": "a@example.org", "password_hash": "$2b$10$x"}),
            "password_hash",
        ),
        (
            json!({"email": "a@example.org", "connection": "Nope"}),
            "connection",
        ),
    ];
    for (mut body, property) in cases {
        if body.get("connection").is_none() {
            body["connection"] = json!("Username-Password-Authentication");
        }
        let (status, error) = server.post("/api/v2/users", &token, body.clone());
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["errorCode"], "invalid_body");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .ends_with(&format!("on property {property}")),
            "{body}: {error}"
        );
    }
    let (status, user) = server.post(
        "/api/v2/users",
        &token,
        json!({"connection": "Username-Password-Authentication", "email": "New.User@Example.org", "user_id": "auth0|fixed-1"}),
    );
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "new.user@example.org");
    assert_eq!(user["name"], "new.user@example.org");
    assert_eq!(user["nickname"], "new.user");
    assert_eq!(
        user["user_id"], "auth0|fixed-1",
        "one auth0| prefix, never two"
    );
    let (status, _) = server.post(
        "/api/v2/users",
        &token,
        json!({"connection": "Username-Password-Authentication", "email": "new.user@example.org"}),
    );
    assert_eq!(status, 409);
}
