//! The logs of a full recipe run hold no secret (issue 6): the real server runs with
//! `USERBRIDGE_LOG=debug`, its standard output and standard error captured, while a client
//! takes tokens, exports and downloads, imports users carrying password hashes, creates and
//! changes users with passwords, signs in to the dashboard and runs a campaign import — with
//! a few mistakes on the way (a wrong secret, an unknown token, a failing record). Then every
//! secret, token, hash, password and link signature it used is looked for in the captured
//! output and in the audit log, and none is found.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::process::Stdio;

use common::{CAMPAIGN, Dir, gunzip};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Dashboard-Passw0rd-For-Logs";
const USER_PASSWORD: &str = "User-Plaintext-Passw0rd";
const NEW_USER_PASSWORD: &str = "Changed-Plaintext-Passw0rd";
const WRONG_SECRET: &str = "WrongSecretWrongSecretWrongSecretWrongSecret";
const UNKNOWN_TOKEN: &str = "UnknownTokenUnknownTokenUnknownToken0123456789";

/// The hashes and MFA secrets the seeded users hold (read offline, before the server runs).
fn seeded_secrets(dir: &Dir) -> Vec<String> {
    let backup = dir.path().join("seed-secrets.ndjson");
    dir.ok(&[
        "export",
        "--format",
        "ndjson",
        "--include-secrets",
        "-o",
        backup.to_str().unwrap(),
    ]);
    let mut secrets = Vec::new();
    for line in std::fs::read_to_string(&backup).unwrap().lines() {
        let user: Value = serde_json::from_str(line).unwrap();
        if let Some(hash) = user["password_hash"].as_str() {
            secrets.push(hash.to_string());
        }
        if let Some(factors) = user["mfa_factors"].as_array() {
            for factor in factors {
                for (_, detail) in factor.as_object().unwrap() {
                    if let Some(secret) = detail["secret"].as_str() {
                        secrets.push(secret.to_string());
                    }
                }
            }
        }
    }
    std::fs::remove_file(&backup).unwrap();
    secrets
}

#[test]
fn a_full_recipe_leaves_no_secret_in_the_logs() {
    let dir = Dir::new();
    dir.seed(40);
    let mut secrets: Vec<String> = seeded_secrets(&dir);
    assert!(secrets.len() > 10, "the seed has hashes: {secrets:?}");
    // The dashboard password is set beforehand: the first start then prints none.
    dir.set_admin_password(ADMIN_PASSWORD);

    let stderr_path = dir.path().join("server.stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let server = dir.serve_with(
        &["--download-link-lifetime", "600"],
        &[("USERBRIDGE_LOG", "debug")],
        Stdio::from(stderr),
    );
    secrets.push(
        server.credentials["client_secret"]
            .as_str()
            .unwrap()
            .to_string(),
    );

    // Tokens, and two mistakes.
    let token = server.token(None);
    let reader = server.token(Some("read:users read:logs"));
    secrets.extend([token.clone(), reader.clone()]);
    let mut wrong = server.credentials.clone();
    wrong["client_secret"] = json!(WRONG_SECRET);
    assert_eq!(server.token_response(wrong).status(), 401);
    assert_eq!(server.get("/api/v2/users", UNKNOWN_TOKEN).0, 401);
    secrets.extend([WRONG_SECRET.to_string(), UNKNOWN_TOKEN.to_string()]);

    // Users with passwords over the API.
    let (status, created) = server.post(
        "/api/v2/users",
        &token,
        json!({"email": "api.user@example.org", "password": USER_PASSWORD,
               "connection": "Username-Password-Authentication"}),
    );
    assert_eq!(status, 201, "{created}");
    let r = server
        .http
        .patch(format!(
            "{}/api/v2/users/{}",
            server.url,
            created["user_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .json(&json!({"password": NEW_USER_PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    secrets.extend([USER_PASSWORD.to_string(), NEW_USER_PASSWORD.to_string()]);

    // An import job of users carrying hashes, one of them failing.
    let bcrypt_a = bcrypt::hash("first plaintext", 4).unwrap();
    let bcrypt_b = bcrypt::hash("second plaintext", 4).unwrap();
    let scrypt_hash = "6edb33ef1b83c6812af35cce9fbfd29b336ab02702c00a4978b3ae97197ea6e5";
    let users = json!([
        {"email": "hash.a@example.org", "password_hash": bcrypt_a},
        {"email": "hash.b@example.org",
         "custom_password_hash": {"algorithm": "bcrypt", "hash": {"value": bcrypt_b}}},
        {"email": "hash.c@example.org", "custom_password_hash": {"algorithm": "scrypt",
            "hash": {"value": scrypt_hash, "encoding": "hex"},
            "salt": {"value": "logsalt9", "encoding": "utf8"}, "keylen": 32, "cost": 4096}},
        {"email": "not an email", "password_hash": bcrypt_a},
    ]);
    secrets.extend([
        bcrypt_a.clone(),
        bcrypt_b.clone(),
        scrypt_hash.into(),
        "logsalt9".into(),
    ]);
    let connection = server.default_connection(&token);
    let (status, job) = server.import(&token, users.to_string().into_bytes(), &connection, false);
    assert_eq!(status, 201, "{job}");
    let done = server.wait_job(job["id"].as_str().unwrap(), &token);
    assert_eq!(done["summary"]["inserted"], 3, "{done}");
    assert_eq!(done["summary"]["failed"], 1, "{done}");
    let (status, _) = server.get(
        &format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap()),
        &token,
    );
    assert_eq!(status, 200);

    // Export jobs and their downloads.
    for format in ["csv", "json"] {
        let done = server.export_job(&token, json!({"format": format}));
        let location = done["location"].as_str().unwrap();
        let signature = location.split("signature=").nth(1).unwrap().to_string();
        let (status, bytes) = server.download(location);
        assert_eq!(status, 200);
        assert!(gunzip(&bytes).contains("hash.a@example.org"));
        // A tampered link, refused.
        assert_eq!(
            server
                .download(&location.replace("expires=", "expires=1"))
                .0,
            403
        );
        secrets.push(signature);
    }

    // The dashboard: sign in, use the session.
    let (cookie, csrf) = server.sign_in("admin", ADMIN_PASSWORD);
    let session_id = cookie.split_once('=').unwrap().1.to_string();
    secrets.extend([ADMIN_PASSWORD.to_string(), session_id, csrf.clone()]);
    let wrong_login = server
        .http
        .post(format!("{}/web/login", server.url))
        .json(&json!({"username": "admin", "password": WRONG_SECRET}))
        .send()
        .unwrap();
    assert_eq!(wrong_login.status(), 401);

    // A campaign import: a document (uploaded from the dashboard), a definition, a run.
    let (status, _) = server.post(
        &format!("{CAMPAIGN}/documents/directories"),
        &token,
        json!({"path": "/recipe"}),
    );
    assert_eq!(status, 201);
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(
            b"Email,Name\nc1@example.org,One\nc2@example.org,Two\nbad,Three\n".to_vec(),
        )
        .file_name("contacts.csv"),
    );
    let uploaded = server
        .http
        .post(format!(
            "{}{CAMPAIGN}/documents/upload?path=/recipe",
            server.url
        ))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let (_, done) = server.run_definition(
        &token,
        json!({"name": "contacts", "document": "/recipe/contacts.csv",
               "target": {"table": "contacts", "create": true},
               "mapping": [{"source": "Email", "column": {"name": "Email", "type": "email"}},
                           {"source": "Name", "column": {"name": "Name", "type": "text"}}],
               "key": ["Email"]}),
        json!({}),
    );
    assert_eq!(done["state"], "completed_with_rejects", "{done}");

    // The audit log, as the API serves it.
    let (status, audit) = server.get("/api/v2/audit-log?per_page=100", &reader);
    assert_eq!(status, 200, "{audit}");
    let audit = audit.to_string();
    assert!(audit.contains("users_import.created") && audit.contains("campaign_import.finished"));

    // Stop the server so everything it wrote is on disk.
    let stdout = server.stdout.lock().unwrap().clone();
    drop(server);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    // The capture is real: debug logging was on and the jobs were logged.
    assert!(
        stderr.contains("job started") && stderr.contains("import process finished"),
        "{stderr}"
    );
    assert!(stdout.contains("userbridge listening on"), "{stdout}");

    let cli_audit = dir.ok(&["audit", "ls", "--limit", "1000"]);
    for secret in &secrets {
        assert!(secret.len() >= 8, "too short to look for: {secret:?}");
        for (what, text) in [
            ("standard error", &stderr),
            ("standard output", &stdout),
            ("the audit log (API)", &audit),
            ("the audit log (CLI)", &cli_audit),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{what} holds the secret {secret:?}:\n{text}"
            );
        }
    }
    // No user record either: none of the imported users' addresses is logged.
    for email in [
        "hash.a@example.org",
        "hash.b@example.org",
        "api.user@example.org",
        "c1@example.org",
    ] {
        assert!(
            !stderr.contains(email) && !stdout.contains(email),
            "{email} in the logs"
        );
    }
}
