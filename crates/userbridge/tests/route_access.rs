//! The access table of `docs/security.md` against the real binary over loopback: it lists
//! every method of every route the server registers, and nothing else; and every row answers
//! 401 without credentials, 403 `insufficient_scope` to a token holding every scope but the
//! route's, and the route's own answer to a well-formed request with each of its scopes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{Dir, Server, first_password};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use userbridge_server::auth::MANAGEMENT_SCOPES;

const API: &str = "/api/campaign/v1";
const PEOPLE: &str = "Email,Name\na@example.com,Ann\nnot-an-email,Bob\n";

/// The rows of the access table: (method, route, access).
fn access_table() -> Vec<(String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/security.md");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
            let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
            let [method, route, access] = cells.as_slice() else {
                return None;
            };
            let method = method.strip_prefix('`')?.strip_suffix('`')?;
            method.bytes().all(|b| b.is_ascii_uppercase()).then(|| {
                (
                    method.to_string(),
                    route.trim_matches('`').to_string(),
                    access.to_string(),
                )
            })
        })
        .collect()
}

/// A new route cannot slip in unlisted: every path the server registers is probed over HTTP
/// with every method (405 = not registered), and the answered pairs must be the table's rows.
#[test]
fn the_access_table_lists_every_route_and_method_the_server_answers() {
    let dir = Dir::new();
    let server = dir.serve(&[]);
    let mut registered = BTreeSet::new();
    for route in userbridge_server::route_paths() {
        // An asset that exists: an unknown one is the handler's own 404.
        let path = route
            .replace("/assets/{file}", "/assets/app.css")
            .replace(['{', '}'], "");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let r = server
                .http
                .request(method.parse().unwrap(), format!("{}{path}", server.url))
                .send()
                .unwrap();
            match r.status().as_u16() {
                405 => {}
                404 if r.json::<Value>().unwrap()["errorCode"] == "not_found" => {
                    panic!("{method} {route}: the router's fallback answered {path}")
                }
                _ => {
                    registered.insert((method.to_string(), route.to_string()));
                }
            }
        }
    }
    let table = access_table();
    let documented: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, route, _)| (method.clone(), route.clone()))
        .collect();
    assert_eq!(documented.len(), table.len(), "a row is listed twice");
    assert_eq!(registered, documented);
}

/// What a request carries besides its credentials.
#[derive(Clone)]
enum Body {
    Empty,
    Json(Value),
    /// One file part, plus text parts.
    Multipart {
        field: &'static str,
        file_name: &'static str,
        bytes: Vec<u8>,
        texts: Vec<(&'static str, String)>,
    },
}

/// A well-formed request for a route and the status it answers when allowed.
struct Call {
    path: String,
    body: Body,
    success: u16,
}

/// Objects the calls work on, made with an all-scope token before the walk.
struct Fixtures {
    user_id: String,
    user_to_delete: String,
    connection_id: String,
    export_job: String,
    import_job: String,
    /// Path and query of a freshly signed download link.
    download: String,
    definition: String,
    definition_to_delete: String,
    process: String,
    admin_password: String,
}

fn encoded(user_id: &str) -> String {
    user_id.replace('|', "%7C")
}

fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "document": "/walk/people.csv",
        "dialect": { "delimiter": "," },
        "target": { "table": "walk_people", "create": true },
        "mapping": [
            { "source": "Email", "column": { "name": "Email", "type": "email" } },
            { "source": "Name", "column": { "name": "Name", "type": "text" } },
        ],
        "key": ["Email"],
    })
}

fn users_file() -> Vec<u8> {
    json!([{ "email": "imported@example.com", "email_verified": false }])
        .to_string()
        .into_bytes()
}

fn send(server: &Server, method: &str, call: &Call, authorization: Option<&str>) -> (u16, Value) {
    let url = format!("{}{}", server.url, call.path);
    let mut request = server.http.request(method.parse().unwrap(), url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request = match call.body.clone() {
        Body::Empty => request,
        Body::Json(body) => request.json(&body),
        Body::Multipart {
            field,
            file_name,
            bytes,
            texts,
        } => {
            let mut form = Form::new().part(field, Part::bytes(bytes).file_name(file_name));
            for (name, value) in texts {
                form = form.text(name, value);
            }
            request.multipart(form)
        }
    };
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn upload(server: &Server, token: &str, name: &'static str) {
    let call = Call {
        path: format!("{API}/documents/upload?path=/walk"),
        body: Body::Multipart {
            field: "file",
            file_name: name,
            bytes: PEOPLE.as_bytes().to_vec(),
            texts: vec![],
        },
        success: 201,
    };
    let (status, body) = send(server, "POST", &call, Some(&format!("Bearer {token}")));
    assert_eq!(status, 201, "{body}");
}

fn setup(server: &Server, token: &str) -> Fixtures {
    let (_, users) = server.get("/api/v2/users?sort=email:1", token);
    let user_id = |n: usize| users[n]["user_id"].as_str().unwrap().to_string();
    let connection_id = server.default_connection(token);

    let (status, job) = server.post(
        "/api/v2/jobs/users-exports",
        token,
        json!({"connection_id": connection_id, "format": "csv", "fields": [{"name": "email"}]}),
    );
    assert_eq!(status, 201, "{job}");
    let export_job = job["id"].as_str().unwrap().to_string();
    let job = server.wait_job(&export_job, token);
    let location = job["location"].as_str().unwrap();
    let download = location.strip_prefix(&server.url).unwrap().to_string();

    let (status, job) = server.import(token, users_file(), &connection_id, false);
    assert_eq!(status, 201, "{job}");
    let import_job = job["id"].as_str().unwrap().to_string();
    server.wait_job(&import_job, token);

    let (status, _) = server.post(
        &format!("{API}/documents/directories"),
        token,
        json!({"path": "/walk"}),
    );
    assert_eq!(status, 201);
    for name in ["people.csv", "delete-me.csv", "move-me.csv"] {
        upload(server, token, name);
    }
    let defs = format!("{API}/import-definitions");
    let (status, created) = server.post(&defs, token, definition("walk"));
    assert_eq!(status, 201, "{created}");
    let definition_id = created["id"].as_str().unwrap().to_string();
    let (status, created) = server.post(&defs, token, definition("walk, to delete"));
    assert_eq!(status, 201, "{created}");
    let definition_to_delete = created["id"].as_str().unwrap().to_string();
    let (status, process) = server.post(&format!("{defs}/{definition_id}/runs"), token, json!({}));
    assert_eq!(status, 201, "{process}");
    let process = process["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, state) = server.get(&format!("{API}/processes/{process}"), token);
        if !matches!(state["state"].as_str(), Some("queued" | "running")) {
            assert_eq!(state["state"], "completed_with_rejects", "{state}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{state}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    Fixtures {
        user_id: user_id(0),
        user_to_delete: user_id(1),
        connection_id,
        export_job,
        import_job,
        download,
        definition: definition_id,
        definition_to_delete,
        process,
        admin_password: first_password(server),
    }
}

/// The well-formed request of every route. A route added to the table without one here
/// fails the walk.
fn call_for(method: &str, route: &str, f: &Fixtures) -> Call {
    let call = |path: String, body: Body, success: u16| Call {
        path,
        body,
        success,
    };
    let get = |path: String| call(path, Body::Empty, 200);
    let json = |path: String, body: Value, success: u16| call(path, Body::Json(body), success);
    let def = &f.definition;
    let process = &f.process;
    match (method, route) {
        ("GET", "/") => get("/".into()),
        ("GET", "/assets/{file}") => get("/assets/app.js".into()),
        ("POST", "/web/login") => json(
            "/web/login".into(),
            json!({"username": "admin", "password": f.admin_password}),
            200,
        ),
        ("GET", "/web/session") => get("/web/session".into()),
        ("POST", "/web/logout") => call("/web/logout".into(), Body::Empty, 204),
        ("GET", "/web/export-defaults") => get(route.into()),
        ("POST", "/oauth/token") => unreachable!("called with the client's credentials"),
        ("GET", "/.well-known/jwks.json") => get(route.into()),
        ("GET", "/api/v2/users") => get("/api/v2/users".into()),
        ("POST", "/api/v2/users") => json(
            route.into(),
            json!({"connection": "Username-Password-Authentication",
                   "email": "walker@example.com", "password": "Walk-every-route-1"}),
            201,
        ),
        ("GET", "/api/v2/users/{id}") => get(format!("/api/v2/users/{}", encoded(&f.user_id))),
        ("PATCH", "/api/v2/users/{id}") => json(
            format!("/api/v2/users/{}", encoded(&f.user_id)),
            json!({"user_metadata": {"walked": true}}),
            200,
        ),
        ("DELETE", "/api/v2/users/{id}") => call(
            format!("/api/v2/users/{}", encoded(&f.user_to_delete)),
            Body::Empty,
            204,
        ),
        ("GET", "/api/v2/users-by-email") => {
            get("/api/v2/users-by-email?email=imported@example.com".into())
        }
        ("GET", "/api/v2/connections") => get(route.into()),
        ("GET", "/api/v2/connections/{id}") => {
            get(format!("/api/v2/connections/{}", f.connection_id))
        }
        ("GET", "/api/v2/audit-log") => get(route.into()),
        ("GET", "/api/v2/jobs") => get(route.into()),
        ("POST", "/api/v2/jobs/users-exports") => json(
            route.into(),
            json!({"connection_id": f.connection_id, "format": "json"}),
            201,
        ),
        ("POST", "/api/v2/jobs/users-imports") => call(
            route.into(),
            Body::Multipart {
                field: "users",
                file_name: "users.json",
                bytes: users_file(),
                texts: vec![
                    ("connection_id", f.connection_id.clone()),
                    ("upsert", "true".into()),
                ],
            },
            201,
        ),
        ("GET", "/api/v2/jobs/{id}") => get(format!("/api/v2/jobs/{}", f.export_job)),
        ("GET", "/api/v2/jobs/{id}/errors") => get(format!("/api/v2/jobs/{}/errors", f.import_job)),
        ("GET", "/exports/{id}/{file}") => get(f.download.clone()),
        ("GET", "/api/campaign/v1/documents") => get(format!("{API}/documents?path=/walk")),
        ("DELETE", "/api/campaign/v1/documents") => call(
            format!("{API}/documents?path=/walk/delete-me.csv"),
            Body::Empty,
            200,
        ),
        ("POST", "/api/campaign/v1/documents/directories") => {
            json(route.into(), json!({"path": "/walk/made"}), 201)
        }
        ("POST", "/api/campaign/v1/documents/upload") => call(
            format!("{API}/documents/upload?path=/walk"),
            Body::Multipart {
                field: "file",
                file_name: "uploaded.csv",
                bytes: PEOPLE.as_bytes().to_vec(),
                texts: vec![],
            },
            201,
        ),
        ("GET", "/api/campaign/v1/documents/content") => {
            get(format!("{API}/documents/content?path=/walk/people.csv"))
        }
        ("POST", "/api/campaign/v1/documents/move") => json(
            route.into(),
            json!({"from": "/walk/move-me.csv", "to": "/walk/moved.csv"}),
            200,
        ),
        ("POST", "/api/campaign/v1/imports/sniff") => {
            json(route.into(), json!({"document": "/walk/people.csv"}), 200)
        }
        ("GET", "/api/campaign/v1/import-definitions") => get(route.into()),
        ("POST", "/api/campaign/v1/import-definitions") => {
            json(route.into(), definition("walk, created"), 201)
        }
        ("GET", "/api/campaign/v1/import-definitions/{id}") => {
            get(format!("{API}/import-definitions/{def}"))
        }
        ("PUT", "/api/campaign/v1/import-definitions/{id}") => json(
            format!("{API}/import-definitions/{def}"),
            definition("walk"),
            200,
        ),
        ("DELETE", "/api/campaign/v1/import-definitions/{id}") => call(
            format!("{API}/import-definitions/{}", f.definition_to_delete),
            Body::Empty,
            204,
        ),
        ("POST", "/api/campaign/v1/import-definitions/{id}/duplicate") => json(
            format!("{API}/import-definitions/{def}/duplicate"),
            json!({}),
            201,
        ),
        ("POST", "/api/campaign/v1/import-definitions/{id}/runs") => json(
            format!("{API}/import-definitions/{def}/runs"),
            json!({"dry_run": true}),
            201,
        ),
        ("GET", "/api/campaign/v1/processes") => get(format!("{API}/processes?definition={def}")),
        ("GET", "/api/campaign/v1/processes/{id}") => get(format!("{API}/processes/{process}")),
        // The process is finished, so the allowed answer is 409 `process_finished`: a queued
        // or running one would race with the walk.
        ("POST", "/api/campaign/v1/processes/{id}/cancel") => call(
            format!("{API}/processes/{process}/cancel"),
            Body::Empty,
            409,
        ),
        ("GET", "/api/campaign/v1/processes/{id}/report") => {
            get(format!("{API}/processes/{process}/report"))
        }
        ("GET", "/api/campaign/v1/processes/{id}/rejects") => {
            get(format!("{API}/processes/{process}/rejects"))
        }
        ("GET", "/api/campaign/v1/tables") => get(route.into()),
        ("GET", "/api/campaign/v1/tables/{name}") => get(format!("{API}/tables/walk_people")),
        ("GET", "/api/campaign/v1/tables/{name}/rows") => {
            get(format!("{API}/tables/walk_people/rows?limit=5"))
        }
        ("GET", "/api/campaign/v1/tables/{name}/export") => {
            get(format!("{API}/tables/walk_people/export?format=csv"))
        }
        ("GET", "/api/campaign/v1/openapi.json") => get(route.into()),
        _ => panic!("no call for {method} {route}: add one to call_for"),
    }
}

/// A token of the management client holding exactly these scopes.
fn token_with(
    server: &Server,
    cache: &mut HashMap<Vec<String>, String>,
    scopes: &[&str],
) -> String {
    let key: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    cache
        .entry(key)
        .or_insert_with(|| server.token(Some(&scopes.join(" "))))
        .clone()
}

fn unauthorized(message: &str) -> Value {
    json!({"statusCode": 401, "error": "Unauthorized", "message": message,
           "attributes": {"error": message}})
}

#[test]
fn every_route_answers_by_its_access_rule() {
    let dir = Dir::new();
    dir.seed(3);
    let server = dir.serve(&[]);
    let all = server.token(None);
    let fixtures = setup(&server, &all);
    let mut tokens = HashMap::new();
    let table = access_table();
    assert!(table.len() >= 45, "the table has {} rows", table.len());

    for (method, route, access) in &table {
        let what = format!("{method} {route}");
        if route == "/oauth/token" {
            // Public: the client's credentials are the request itself.
            assert_eq!(access, "public");
            assert_eq!(
                server.token_response(server.credentials.clone()).status(),
                200
            );
            continue;
        }
        let call = call_for(method, route, &fixtures);
        match access.as_str() {
            "public" => {
                let (status, body) = send(&server, method, &call, None);
                assert_eq!(status, call.success, "{what}: {body}");
            }
            "session" => {
                let (status, body) = send(&server, method, &call, None);
                assert_eq!(
                    (status, &body),
                    (401, &unauthorized("Missing authentication")),
                    "{what}"
                );
                // A bearer token is not a session.
                let (status, _) = send(&server, method, &call, Some(&format!("Bearer {all}")));
                assert_eq!(status, 401, "{what}");
                let login = call_for("POST", "/web/login", &fixtures);
                let r = server
                    .http
                    .post(format!("{}/web/login", server.url))
                    .json(&match login.body {
                        Body::Json(body) => body,
                        _ => unreachable!(),
                    })
                    .send()
                    .unwrap();
                let cookie = r.headers()["set-cookie"].to_str().unwrap();
                let cookie = cookie.split(';').next().unwrap().to_string();
                let r = server
                    .http
                    .request(
                        method.parse().unwrap(),
                        format!("{}{}", server.url, call.path),
                    )
                    .header("cookie", cookie)
                    .send()
                    .unwrap();
                assert_eq!(r.status().as_u16(), call.success, "{what}");
            }
            "signed link" => {
                let unsigned = Call {
                    path: call.path.split('?').next().unwrap().to_string(),
                    body: Body::Empty,
                    success: 0,
                };
                let refused = json!({"statusCode": 403, "error": "Forbidden",
                    "message": "Signature expired or invalid", "errorCode": "invalid_signature"});
                let (status, body) = send(&server, method, &unsigned, None);
                assert_eq!((status, &body), (403, &refused), "{what}");
                let bearer = format!("Bearer {all}");
                let (status, body) = send(&server, method, &unsigned, Some(&bearer));
                assert_eq!(
                    (status, &body),
                    (403, &refused),
                    "{what}: a token is no signature"
                );
                let (status, _) = send(&server, method, &call, None);
                assert_eq!(status, call.success, "{what}");
            }
            scopes => {
                let scopes: Vec<&str> = scopes.split(", ").map(|s| s.trim_matches('`')).collect();
                let (status, body) = send(&server, method, &call, None);
                assert_eq!(
                    (status, &body),
                    (401, &unauthorized("Missing authentication")),
                    "{what}"
                );
                let (status, body) = send(&server, method, &call, Some("Basic YTpi"));
                assert_eq!(status, 400, "{what}: {body}");
                let others: Vec<&str> = MANAGEMENT_SCOPES
                    .iter()
                    .copied()
                    .filter(|s| !scopes.contains(s))
                    .collect();
                let lacking = token_with(&server, &mut tokens, &others);
                let (status, body) =
                    send(&server, method, &call, Some(&format!("Bearer {lacking}")));
                assert_eq!(
                    (status, &body),
                    (
                        403,
                        &json!({"statusCode": 403, "error": "Forbidden",
                                "errorCode": "insufficient_scope",
                                "message": format!("Insufficient scope, expected any of: {}",
                                                   scopes.join(","))})
                    ),
                    "{what}"
                );
                for scope in &scopes {
                    let token = token_with(&server, &mut tokens, &[scope]);
                    let (status, body) =
                        send(&server, method, &call, Some(&format!("Bearer {token}")));
                    assert_eq!(status, call.success, "{what} with {scope}: {body}");
                }
            }
        }
    }
}
