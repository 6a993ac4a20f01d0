//! Data protection against the real binary (issue 6): password hashes and MFA secrets never
//! leave through the API or an ordinary export; `export --include-secrets` is offline only
//! and never writes to a terminal; download links are bound to their job and expire; the
//! audit log records who did what.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{CAMPAIGN, Dir, Server, gunzip};
use serde_json::{Value, json};

const PASSWORD: &str = "S3cret-Passw0rd!";

/// The scrypt example of `user-schema.md` §5.4 (plaintext "correct horse").
fn scrypt_user(email: &str) -> Value {
    json!({"email": email, "custom_password_hash": {"algorithm": "scrypt",
        "hash": {"value": "6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5", "encoding": "hex"},
        "salt": {"value": "s4lt", "encoding": "utf8"}, "keylen": 32, "cost": 4096}})
}

fn verify_password(dir: &Dir, email: &str, password: &str) -> i32 {
    let mut child = dir
        .command(&["users", "verify-password", "--email", email])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap().status.code().unwrap()
}

/// Users with every kind of secret, imported through the jobs API.
fn import_users_with_secrets(server: &Server, token: &str, bcrypt_hash: &str) -> Value {
    let users = json!([
        {"email": "bcrypt@example.org", "password_hash": bcrypt_hash},
        scrypt_user("scrypt@example.org"),
        {"email": "mfa@example.org", "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}]},
        // Fails (bad email): its error element must mask the hash.
        {"email": "not an email", "password_hash": bcrypt_hash},
    ]);
    let connection = server.default_connection(token);
    let (status, job) = server.import(token, users.to_string().into_bytes(), &connection, false);
    assert_eq!(status, 201, "{job}");
    let done = server.wait_job(job["id"].as_str().unwrap(), token);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["summary"]["inserted"], 3, "{done}");
    done
}

#[test]
fn no_api_answer_and_no_ordinary_export_carries_a_secret() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let done = import_users_with_secrets(&server, &token, &hash);
    let secrets = [
        hash.as_str(),
        "6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5",
        "s4lt",
        "JBSWY3DPEHPK3PXP",
        "password_hash",
        "custom_password_hash",
        "mfa_factors",
    ];
    let clean = |what: &str, text: &str| {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} carries {secret:?}: {text}");
        }
    };

    // A user created with a password over the API.
    let (status, created) = server.post(
        "/api/v2/users",
        &token,
        json!({"email": "api@example.org", "password": PASSWORD,
               "connection": "Username-Password-Authentication"}),
    );
    assert_eq!(status, 201, "{created}");
    clean("POST /users", &created.to_string());
    assert!(!created.to_string().contains(PASSWORD));

    let job_id = done["id"].as_str().unwrap();
    for path in [
        "/api/v2/users?include_totals=true".to_string(),
        "/api/v2/users?fields=password_hash,custom_password_hash,mfa_factors,email".to_string(),
        "/api/v2/users?q=email:bcrypt@example.org".to_string(),
        "/api/v2/users-by-email?email=bcrypt@example.org".to_string(),
        "/api/v2/users-by-email?email=mfa@example.org".to_string(),
        format!("/api/v2/jobs/{job_id}"),
        format!("/api/v2/jobs/{job_id}/errors"),
        "/api/v2/jobs".to_string(),
    ] {
        let (status, text) = server.get_text(&path, &token);
        assert_eq!(status, 200, "{path}: {text}");
        clean(&path, &text.replace("\"password_hash\":\"*****\"", ""));
    }
    let (_, errors) = server.get(&format!("/api/v2/jobs/{job_id}/errors"), &token);
    assert_eq!(errors[0]["user"]["password_hash"], "*****", "{errors}");
    let (_, mfa) = server.get("/api/v2/users-by-email?email=mfa@example.org", &token);
    assert_eq!(
        mfa[0]["multifactor"],
        json!(["guardian"]),
        "only the fact is shown"
    );

    // Whole-profile export jobs: every profile, no secret.
    for format in ["json", "json_array"] {
        let done = server.export_job(&token, json!({"format": format}));
        let (status, bytes) = server.download(done["location"].as_str().unwrap());
        assert_eq!(status, 200);
        let text = gunzip(&bytes);
        assert!(text.contains("bcrypt@example.org"), "{text}");
        clean(format, &text);
    }
    // Asking for a secret as a field is refused, not answered with an empty column.
    for (i, field) in [
        "password_hash",
        "custom_password_hash.hash.value",
        "mfa_factors[0]",
    ]
    .iter()
    .enumerate()
    {
        let (status, body) = server.post(
            "/api/v2/jobs/users-exports",
            &token,
            json!({"format": "csv", "fields": [{"name": "email"}, {"name": field}]}),
        );
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["errorCode"], "invalid_body", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("fields[1].name"),
            "{i}: {body}"
        );
    }
    // No API body can ask for them.
    let (status, body) = server.post(
        "/api/v2/jobs/users-exports",
        &token,
        json!({"format": "json", "include_secrets": true}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("include_secrets")
    );

    // The CLI without the flag: the same.
    drop(server);
    for format in ["ndjson", "json", "csv", "tsv"] {
        clean(format, &dir.ok(&["export", "--format", format]));
    }
    let out = dir.run(&["export", "--field", "password_hash"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("\"password_hash\" is not an exportable user attribute"),
        "{stderr}"
    );
}

#[test]
fn include_secrets_is_offline_private_and_never_written_to_a_terminal() {
    let dir = Dir::new();
    {
        let server = dir.serve(&[]);
        let token = server.token(None);
        let hash = bcrypt::hash(PASSWORD, 4).unwrap();
        import_users_with_secrets(&server, &token, &hash);
    }
    // The backup: whole profiles with their secrets, readable by its owner only.
    let backup = dir.path().join("backup.ndjson");
    let out = dir.run(&[
        "export",
        "--format",
        "ndjson",
        "--include-secrets",
        "-o",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&backup).unwrap();
    assert!(text.contains("\"password_hash\":\"$2b$04$"), "{text}");
    assert!(text.contains("6edb33ef1b83c6812af35cce9fbfd29b"), "{text}");
    assert!(text.contains("JBSWY3DPEHPK3PXP"), "{text}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // It imports elsewhere with its passwords.
    let other = Dir::new();
    let out = other.run(&[
        "import",
        backup.to_str().unwrap(),
        "--connection",
        "Username-Password-Authentication",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verify_password(&other, "bcrypt@example.org", PASSWORD), 0);
    assert_eq!(verify_password(&other, "bcrypt@example.org", "wrong"), 2);
    assert_eq!(
        verify_password(&other, "scrypt@example.org", "correct horse"),
        0
    );

    // Only whole profiles in JSON carry them.
    for args in [
        &[
            "export",
            "--format",
            "csv",
            "--include-secrets",
            "-o",
            "x.csv",
        ][..],
        &[
            "export",
            "--format",
            "ndjson",
            "--field",
            "email",
            "--include-secrets",
            "-o",
            "x.json",
        ],
        &[
            "export",
            "--format",
            "json",
            "--default-fields",
            "--include-secrets",
            "-o",
            "x.json",
        ],
    ] {
        let out = dir.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("userbridge: error: include_secrets:"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }

    // A terminal, as standard output or as -o: refused, nothing written. (`script` gives the
    // command a pseudo-terminal.)
    let bin = common::BIN;
    let data = dir.data();
    for tail in ["", " -o /dev/tty"] {
        let command = format!(
            "{bin} --data-dir {} export --format ndjson --include-secrets{tail}",
            data.display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("the `script` command (util-linux) runs the export on a terminal");
        let shown = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{tail:?}: {shown}");
        assert!(
            shown.contains("refusing to write them to a terminal"),
            "{shown}"
        );
        assert!(
            !shown.contains("$2b$04$") && !shown.contains("JBSWY3DP"),
            "{shown}"
        );
    }
    // Through a pipe it is the caller's choice.
    let piped = dir.ok(&["export", "--format", "ndjson", "--include-secrets"]);
    assert!(piped.contains("$2b$04$"));

    // Every secret export is in the audit log, without the secrets.
    let log = dir.ok(&["audit", "ls"]);
    let secret_exports = log
        .lines()
        .filter(|l| l.contains("users_export.run") && l.contains("\"include_secrets\":true"))
        .count();
    assert_eq!(secret_exports, 2, "{log}");
    assert!(!log.contains("$2b$") && !log.contains("JBSWY3DP"), "{log}");
}

#[test]
fn download_links_are_bound_to_their_job_and_expire() {
    let dir = Dir::new();
    dir.seed(5);
    let server = dir.serve(&["--download-link-lifetime", "2"]);
    let token = server.token(None);
    let export = || server.export_job(&token, json!({"format": "csv"}));
    let (a, b) = (export(), export());
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let link = a["location"].as_str().unwrap().to_string();
    assert_eq!(server.download(&link).0, 200);

    // A's signature does not open B (same file name), nor another file of A.
    let forged = link.replace(a_id, b_id);
    let (status, body) = server.download(&forged);
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["errorCode"],
        "invalid_signature"
    );
    assert_eq!(server.download(&link.replace(".csv.gz", ".json.gz")).0, 403);
    let unsigned = link.split('?').next().unwrap();
    assert_eq!(server.download(unsigned).0, 403);

    // The link dies when it expires; a fresh read of the job gives a working one.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.download(&link).0 == 200 {
        assert!(Instant::now() < deadline, "the link never expired");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = server.download(&link);
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["message"],
        "Signature expired or invalid"
    );
    let fresh = server.wait_job(a_id, &token)["location"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(server.download(&fresh).0, 200);

    // The job's file purged (what retention does): the still-valid link answers 404.
    std::fs::remove_dir_all(dir.data().join("jobs").join(a_id)).unwrap();
    let fresh = server.wait_job(a_id, &token)["location"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = server.download(&fresh);
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["errorCode"],
        "inexistent_job"
    );
    // A file planted where the export was is not served either (a symbolic link).
    let job_dir = dir.data().join("jobs").join(a_id);
    std::fs::create_dir_all(&job_dir).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", job_dir.join("userbridge.csv.gz")).unwrap();
    let (status, body) = server.download(&fresh);
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("root:"));
}

#[test]
fn the_audit_log_records_who_did_what_and_when() {
    let dir = Dir::new();
    dir.seed(3);
    // The dashboard admin's password is set beforehand, so the server prints none.
    dir.set_admin_password(PASSWORD);

    let server = dir.serve(&[]);
    let token = server.token(None);
    let client_id = server.credentials["client_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A client's export and import jobs, document changes, a definition and a run.
    let export = server.export_job(&token, json!({"format": "csv"}));
    let export_id = export["id"].as_str().unwrap().to_string();
    let connection = server.default_connection(&token);
    let (_, import) = server.import(
        &token,
        br#"[{"email":"new@example.org"}]"#.to_vec(),
        &connection,
        false,
    );
    let import_id = import["id"].as_str().unwrap().to_string();
    server.wait_job(&import_id, &token);
    server.post(
        &format!("{CAMPAIGN}/documents/directories"),
        &token,
        json!({"path": "/d"}),
    );
    let (status, _) =
        server.upload_document(&token, "/d", "c.csv", b"Email\nz@example.org\n".to_vec());
    assert_eq!(status, 201);
    let (definition_id, run) = server.run_definition(
        &token,
        json!({"name": "c", "document": "/d/c.csv", "target": {"table": "c", "create": true},
               "mapping": [{"source": "Email", "column": {"name": "Email", "type": "email"}}],
               "key": ["Email"]}),
        json!({}),
    );
    let process_id = run["id"].as_str().unwrap().to_string();

    // The dashboard admin deletes the document.
    let (cookie, csrf) = server.sign_in("admin", PASSWORD);
    let deleted = server
        .http
        .delete(format!("{}{CAMPAIGN}/documents?path=/d/c.csv", server.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 200);

    // Reading it needs read:logs (Auth0's scope for logs).
    let (status, body) = server.get("/api/v2/audit-log", &server.token(Some("read:users")));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errorCode"], "insufficient_scope");
    let reader = server.token(Some("read:logs"));
    let (status, page) = server.get(
        "/api/v2/audit-log?per_page=100&include_totals=true",
        &reader,
    );
    assert_eq!(status, 200, "{page}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(page["total"], events.len(), "{page}");
    let find = |action: &str, target: &str| -> &Value {
        events
            .iter()
            .find(|e| e["action"] == action && e["target"] == target)
            .unwrap_or_else(|| panic!("no {action} on {target} in {page}"))
    };
    let e = find("admin.password_reset", "admin");
    assert_eq!(e["actor"], "cli");
    assert!(e["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        find("users_export.created", &export_id)["actor"],
        client_id.as_str()
    );
    assert_eq!(
        find("users_export.created", &export_id)["detail"]["format"],
        "csv"
    );
    assert_eq!(
        find("users_export.finished", &export_id)["detail"]["status"],
        "completed"
    );
    assert_eq!(
        find("users_import.created", &import_id)["actor"],
        client_id.as_str()
    );
    let finished = find("users_import.finished", &import_id);
    assert_eq!(finished["detail"]["summary"]["inserted"], 1, "{finished}");
    assert_eq!(
        find("document.uploaded", "/d/c.csv")["actor"],
        client_id.as_str()
    );
    assert_eq!(
        find("import_definition.created", &definition_id)["actor"],
        client_id.as_str()
    );
    assert_eq!(
        find("campaign_import.started", &process_id)["detail"]["definition"],
        definition_id.as_str()
    );
    let run = find("campaign_import.finished", &process_id);
    assert_eq!(run["detail"]["inserted"], 1, "{run}");
    assert_eq!(run["actor"], client_id.as_str());
    assert_eq!(
        find("document.deleted", "/d/c.csv")["actor"],
        "dashboard:admin"
    );
    // Newest first.
    assert_eq!(events[0]["action"], "document.deleted");
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // The CLI reads the same log.
    let log = dir.ok(&["audit", "ls", "--limit", "2"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(
        log.lines()
            .next()
            .unwrap()
            .contains("\tdashboard:admin\tdocument.deleted\t/d/c.csv\t")
    );
    // Nothing secret in any of it.
    let all = page.to_string();
    assert!(
        !all.contains(PASSWORD) && !all.contains(&token) && !all.contains("secret"),
        "{all}"
    );
}
