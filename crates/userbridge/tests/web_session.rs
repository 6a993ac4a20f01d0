//! The dashboard's server side over real HTTP on loopback, against the real binary: the first
//! admin, sign-in and the session cookie, cookie authorization of the API, the CSRF rule,
//! password resets, the embedded page with its security headers, and the jobs list.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{Dir, Server, first_password};
use reqwest::blocking::Response;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

fn login(server: &Server, username: &str, password: &str) -> Response {
    server
        .http
        .post(format!("{}/web/login", server.url))
        .json(&json!({"username": username, "password": password}))
        .send()
        .unwrap()
}

/// A signed-in browser: its cookie header and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

fn sign_in(server: &Server, password: &str) -> Session {
    let (cookie, csrf) = server.sign_in("admin", password);
    Session { cookie, csrf }
}

/// A session of `admin` with the first start's password.
fn admin_session(server: &Server) -> Session {
    sign_in(server, &first_password(server))
}

/// A request with a cookie and, optionally, an `X-CSRF-Token`.
fn send(
    server: &Server,
    method: &str,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server
        .http
        .request(method.parse().unwrap(), format!("{}{path}", server.url))
        .header("cookie", cookie);
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    (
        response.status().as_u16(),
        response.json().unwrap_or(Value::Null),
    )
}

fn unauthorized(message: &str) -> Value {
    json!({"statusCode": 401, "error": "Unauthorized", "message": message,
           "attributes": {"error": message}})
}

fn invalid_csrf() -> Value {
    json!({"statusCode": 403, "error": "Forbidden", "message": "Missing or invalid CSRF token",
           "errorCode": "invalid_csrf_token"})
}

#[test]
fn first_start_prints_the_dashboard_password_once() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let password = first_password(&server);
    assert!(password.len() >= 20, "{password}");
    assert!(password.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(
        server
            .banner
            .contains(&format!("dashboard: {}/", server.url))
    );
    assert_eq!(login(&server, "admin", &password).status(), 200);
    drop(server);

    let server = dir.serve(&[]);
    assert!(
        server
            .banner
            .contains(&format!("dashboard: {}/", server.url))
    );
    assert!(
        !server.banner.iter().any(|l| l.contains("dashboard login")),
        "{:?}",
        server.banner
    );
    assert_eq!(login(&server, "admin", &password).status(), 200);
    // Only the hash is stored.
    let db = std::fs::read(dir.data().join("userbridge.db")).unwrap();
    assert!(!db.windows(password.len()).any(|w| w == password.as_bytes()));
}

#[test]
fn login_refuses_wrong_credentials_alike_and_sets_a_strict_cookie() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let password = first_password(&server);

    let wrong = json!({"statusCode": 401, "error": "Unauthorized",
                       "message": "Wrong username or password"});
    for (username, attempt) in [("admin", "not the password"), ("nobody", password.as_str())] {
        let response = login(&server, username, attempt);
        assert_eq!(response.status(), 401, "{username}");
        assert!(response.headers().get("set-cookie").is_none());
        let body: Value = response.json().unwrap();
        for key in ["statusCode", "error", "message"] {
            assert_eq!(body[key], wrong[key], "{username}: {body}");
        }
    }

    for malformed in [
        "",
        "not json",
        r#"{"username": "admin"}"#,
        r#"{"username": 1, "password": "x"}"#,
    ] {
        let response = server
            .http
            .post(format!("{}/web/login", server.url))
            .body(malformed)
            .send()
            .unwrap();
        assert_eq!(response.status(), 400, "{malformed}");
    }

    // A page of another origin cannot sign a browser in; this origin can.
    let with_origin = |origin: &str| {
        server
            .http
            .post(format!("{}/web/login", server.url))
            .header("origin", origin)
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(with_origin("https://evil.example"), 403);
    assert_eq!(with_origin("null"), 403);
    assert_eq!(with_origin(&server.url), 200);

    let response = login(&server, "admin", &password);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let attributes: Vec<&str> = set_cookie.split("; ").collect();
    let session_id = attributes[0].strip_prefix("ub_session=").unwrap();
    assert_eq!(session_id.len(), 64, "{set_cookie}");
    assert!(session_id.bytes().all(|b| b.is_ascii_hexdigit()));
    for attribute in ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=43200"] {
        assert!(attributes.contains(&attribute), "{set_cookie}");
    }
    assert!(!attributes.contains(&"Secure"), "{set_cookie}");
    let body: Value = response.json().unwrap();
    assert_eq!(body["username"], "admin");
    let csrf = body["csrf_token"].as_str().unwrap();
    assert_eq!(csrf.len(), 64);

    let cookie = attributes[0];
    let (status, current) = send(&server, "GET", "/web/session", cookie, None, None);
    assert_eq!(status, 200);
    assert_eq!(current, json!({"username": "admin", "csrf_token": csrf}));
    let (status, _) = send(&server, "GET", "/web/session", "ub_session=00", None, None);
    assert_eq!(status, 401);
    let r = server
        .http
        .get(format!("{}/web/session", server.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// Guessing an admin's password runs into the failure budget: after the username's failures
/// even the right password is refused with 429 and `Retry-After`, without a cookie, until the
/// window ends; other usernames are not locked out by it.
#[test]
fn repeated_wrong_passwords_spend_the_sign_in_budget() {
    let dir = Dir::new();
    let server = dir.serve(&[
        "--token-failures-per-client",
        "3",
        "--token-failure-window",
        "3600",
    ]);
    let password = first_password(&server);
    for _ in 0..3 {
        assert_eq!(login(&server, "admin", "a guess").status(), 401);
    }
    let refused = login(&server, "admin", &password);
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("set-cookie").is_none());
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    let body: Value = refused.json().unwrap();
    assert_eq!(body["statusCode"], 429, "{body}");
    assert_eq!(body["errorCode"], "too_many_attempts", "{body}");
    // Another username still gets its own answer (its budget is untouched).
    assert_eq!(login(&server, "someone", "a guess").status(), 401);

    // The tries are in the audit log, with the address and never the password; the one
    // refused by the budget never reached the password check, so it is not.
    let out = dir.ok(&["audit", "ls"]);
    let failed: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("admin.sign_in_failed"))
        .collect();
    assert_eq!(failed.len(), 4, "{out}");
    assert!(failed.iter().all(|l| l.contains("127.0.0.1")), "{out}");
    assert!(
        !out.contains("a guess") && !out.contains(&password),
        "{out}"
    );
    assert!(!out.contains("admin.signed_in"), "{out}");
}

#[test]
fn the_cookie_authorizes_the_api_and_changes_need_the_csrf_token() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let session = admin_session(&server);
    let token = server.token(None);
    let cookie = session.cookie.as_str();

    let (status, users) = send(&server, "GET", "/api/v2/users", cookie, None, None);
    assert_eq!(status, 200, "{users}");
    assert!(users.is_array());
    let (status, body) = send(
        &server,
        "GET",
        "/api/v2/users",
        "ub_session=forged",
        None,
        None,
    );
    assert_eq!((status, body), (401, unauthorized("Invalid session")));

    let user = |email: &str| {
        json!({"connection": "Username-Password-Authentication", "email": email,
               "password": "Passw0rd!long"})
    };
    let exists = |email: &str| {
        let (status, found) = server.get(&format!("/api/v2/users-by-email?email={email}"), &token);
        assert_eq!(status, 200);
        !found.as_array().unwrap().is_empty()
    };

    // No token, a wrong one, another session's: refused before the handler runs.
    let other = admin_session(&server);
    for csrf in [None, Some("00"), Some("not hex"), Some(other.csrf.as_str())] {
        let body = Some(user("csrf@example.com"));
        let (status, answer) = send(&server, "POST", "/api/v2/users", cookie, csrf, body);
        assert_eq!((status, answer), (403, invalid_csrf()), "{csrf:?}");
    }
    assert!(!exists("csrf@example.com"));
    let mkdir = json!({"path": "/from-a-page"});
    let (status, answer) = send(
        &server,
        "POST",
        "/api/campaign/v1/documents/directories",
        cookie,
        None,
        Some(mkdir.clone()),
    );
    assert_eq!((status, answer), (403, invalid_csrf()));
    let (status, _) = server.get("/api/campaign/v1/documents?path=/from-a-page", &token);
    assert_eq!(status, 404);

    // With the session's token: done, and recorded as the dashboard admin.
    let csrf = Some(session.csrf.as_str());
    let (status, created) = send(
        &server,
        "POST",
        "/api/v2/users",
        cookie,
        csrf,
        Some(user("csrf@example.com")),
    );
    assert_eq!(status, 201, "{created}");
    assert!(exists("csrf@example.com"));
    let (status, _) = send(
        &server,
        "POST",
        "/api/campaign/v1/documents/directories",
        cookie,
        csrf,
        Some(mkdir),
    );
    assert_eq!(status, 201);
    let form = Form::new().part(
        "file",
        Part::bytes(b"a,b\n1,2\n".to_vec()).file_name("x.csv"),
    );
    let r = server
        .http
        .post(format!(
            "{}/api/campaign/v1/documents/upload?path=/from-a-page",
            server.url
        ))
        .header("cookie", cookie)
        .header("x-csrf-token", &session.csrf)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, document) = server.get("/api/campaign/v1/documents?path=/from-a-page/x.csv", &token);
    assert_eq!(document["uploaded_by"], "dashboard:admin", "{document}");

    // Bearer clients are not concerned, even when a cookie rides along.
    let (status, _) = server.post("/api/v2/users", &token, user("bearer@example.com"));
    assert_eq!(status, 201);
    let r = server
        .http
        .post(format!("{}/api/v2/users", server.url))
        .bearer_auth(&token)
        .header("cookie", cookie)
        .json(&user("both@example.com"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[test]
fn logout_ends_the_session() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let session = admin_session(&server);
    let cookie = session.cookie.as_str();

    let (status, body) = send(&server, "POST", "/web/logout", cookie, None, None);
    assert_eq!((status, body), (403, invalid_csrf()));
    let (status, _) = send(&server, "GET", "/api/v2/users", cookie, None, None);
    assert_eq!(status, 200);

    let r = server
        .http
        .post(format!("{}/web/logout", server.url))
        .header("cookie", cookie)
        .header("x-csrf-token", &session.csrf)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("ub_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let (status, body) = send(&server, "GET", "/api/v2/users", cookie, None, None);
    assert_eq!((status, body), (401, unauthorized("Invalid session")));
    let (status, _) = send(&server, "GET", "/web/session", cookie, None, None);
    assert_eq!(status, 401);
    // The sign-in is in the audit log, as the admin, with the address.
    let out = dir.ok(&["audit", "ls"]);
    let signed_in = out.lines().find(|l| l.contains("admin.signed_in"));
    assert!(
        signed_in.is_some_and(|l| l.contains("dashboard:admin") && l.contains("127.0.0.1")),
        "{out}"
    );
}

#[test]
fn sessions_expire_after_their_lifetime() {
    let dir = Dir::new();
    let server = dir.serve(&["--session-lifetime", "0"]);
    let response = login(&server, "admin", &first_password(&server));
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.contains("Max-Age=0"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap();
    let (status, body) = send(&server, "GET", "/api/v2/users", cookie, None, None);
    assert_eq!((status, body), (401, unauthorized("Invalid session")));
}

fn reset_password(dir: &Dir, stdin: &str) -> std::process::Output {
    let mut child = dir
        .command(&["admin", "reset-password", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn reset_password_ends_sessions_and_replaces_the_password() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let old = first_password(&server);
    let session = sign_in(&server, &old);

    for short in ["\n", "1234567\n"] {
        let out = reset_password(&dir, short);
        assert!(!out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("at least 8 characters"), "{stderr}");
    }
    assert_eq!(login(&server, "admin", &old).status(), 200);

    let out = reset_password(&dir, "correct horse battery\n");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("correct horse"), "{stdout}");
    assert_eq!(login(&server, "admin", &old).status(), 401);
    assert_eq!(
        login(&server, "admin", "correct horse battery").status(),
        200
    );
    let (status, body) = send(&server, "GET", "/api/v2/users", &session.cookie, None, None);
    assert_eq!((status, body), (401, unauthorized("Invalid session")));

    // Without --password-stdin: a generated password, printed once.
    let stdout = dir.ok(&["admin", "reset-password"]);
    let generated = stdout
        .trim()
        .strip_prefix("dashboard login: admin / ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(generated.len() >= 20);
    assert_eq!(
        login(&server, "admin", "correct horse battery").status(),
        401
    );
    assert_eq!(login(&server, "admin", generated).status(), 200);
}

#[test]
fn the_page_and_its_assets_carry_the_security_headers() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let get = |path: &str| {
        server
            .http
            .get(format!("{}{path}", server.url))
            .send()
            .unwrap()
    };
    let secured = |r: &Response| {
        assert_eq!(r.headers()["content-security-policy"], CSP);
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    };

    let page = get("/");
    assert_eq!(page.status(), 200);
    secured(&page);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(page.text().unwrap().contains("<html"));

    for (file, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("users.js", "text/javascript; charset=utf-8"),
        ("campaign.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ] {
        let asset = get(&format!("/assets/{file}"));
        assert_eq!(asset.status(), 200, "{file}");
        secured(&asset);
        assert_eq!(asset.headers()["content-type"], content_type, "{file}");
        assert_eq!(asset.headers()["cache-control"], "no-cache");
    }
    for missing in ["/assets/nope.js", "/assets/..%2FCargo.toml", "/nowhere"] {
        let r = get(missing);
        assert_eq!(r.status(), 404, "{missing}");
        secured(&r);
    }
    // The API's answers carry them too.
    let r = get("/api/v2/users");
    assert_eq!(r.status(), 401);
    secured(&r);
}

#[test]
fn jobs_list_newest_first() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let token = server.token(None);
    let mut created = Vec::new();
    for format in ["json", "csv", "json"] {
        let (status, job) = server.post(
            "/api/v2/jobs/users-exports",
            &token,
            json!({"format": format, "limit": 5}),
        );
        assert_eq!(status, 201, "{job}");
        created.push(job["id"].as_str().unwrap().to_string());
        // Distinct creation times (milliseconds), so "newest first" is one order.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for id in &created {
        server.wait_job(id, &token);
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let (status, jobs) = server.get("/api/v2/jobs", &token);
    assert_eq!(status, 200, "{jobs}");
    let ids: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, newest_first);
    // Each as GET /api/v2/jobs/{id} renders it (a download link, minted fresh).
    for job in jobs.as_array().unwrap() {
        let (_, single) = server.get(
            &format!("/api/v2/jobs/{}", job["id"].as_str().unwrap()),
            &token,
        );
        assert_eq!(job["status"], "completed");
        assert_eq!(job["format"], single["format"]);
        assert!(job["location"].as_str().unwrap().contains("/exports/"));
        let mut job = job.clone();
        let mut single = single;
        job.as_object_mut().unwrap().remove("location");
        single.as_object_mut().unwrap().remove("location");
        assert_eq!(job, single);
    }

    let (status, page) = server.get("/api/v2/jobs?page=1&per_page=2&include_totals=true", &token);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["start"], 2);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["total"], 3);
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(page["jobs"][0]["id"], created[0].as_str());

    for bad in ["per_page=0", "per_page=101", "page=-1", "sort=created_at"] {
        let (status, body) = server.get(&format!("/api/v2/jobs?{bad}"), &token);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = server.get("/api/v2/jobs", &server.token(Some("read:connections")));
    assert_eq!(status, 403);
    let (status, _) = server.get("/api/v2/jobs", &server.token(Some("create:users")));
    assert_eq!(status, 200);

    // The page reads it with its cookie.
    let session = admin_session(&server);
    let (status, jobs) = send(
        &server,
        "GET",
        "/api/v2/jobs?per_page=1",
        &session.cookie,
        None,
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(jobs[0]["id"], created[2].as_str());
}
