//! Helpers for tests that run the real `userbridge` binary in a fresh temporary directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_userbridge");

/// The four fields of the Alterian page (`../shared/seed/`), as `userbridge export` flags.
pub const SEED_RECIPE_FIELDS: [&str; 8] = [
    "--field",
    "email=Email Address",
    "--field",
    "created_at=Created At",
    "--field",
    "given_name=First Name",
    "--field",
    "family_name=Last Name",
];

/// A temporary data directory and the commands to run against it.
pub struct Dir {
    pub tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(self.data())
            .args(args)
            .current_dir(self.path());
        cmd.env_remove("USERBRIDGE_DATA_DIR");
        cmd
    }

    /// Runs the binary; returns its output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs the binary and insists it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "userbridge {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The seed page's export: TSV with its four fields and column names, to `file`.
    pub fn export_seed_recipe(&self, file: &str) {
        let mut args = vec!["export", "--format", "tsv"];
        args.extend_from_slice(&SEED_RECIPE_FIELDS);
        args.extend_from_slice(&["-o", file]);
        self.ok(&args);
    }

    /// Sets the dashboard admin's password with `admin reset-password --password-stdin`
    /// (before a first start, so the server prints no generated one).
    pub fn set_admin_password(&self, password: &str) {
        use std::io::Write;
        let mut reset = self
            .command(&["admin", "reset-password", "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(reset.stdin.take().unwrap(), "{password}").unwrap();
        assert!(reset.wait().unwrap().success());
    }

    pub fn seed(&self, count: u64) {
        self.ok(&["users", "seed", "--count", &count.to_string()]);
    }

    /// Starts `userbridge serve` on a free loopback port.
    pub fn serve(&self, extra: &[&str]) -> Server {
        self.serve_with(extra, &[], Stdio::piped())
    }

    /// Starts `userbridge serve` with extra environment variables and its standard error
    /// sent to `stderr` (kept in [`Server::stderr`] when piped); everything it prints on
    /// standard output is kept in [`Server::stdout`].
    pub fn serve_with(&self, extra: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut command = self.command(&args);
        command.env_remove("USERBRIDGE_LOG");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let kept = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    kept.lock().unwrap().push_str(&format!("{line}\n"));
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let stdout = Arc::new(Mutex::new(String::new()));
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            stdout.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(url) = line.strip_prefix("userbridge listening on ") {
                break url.to_string();
            }
            banner.push(line);
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        let kept = stdout.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let credentials: Value = serde_json::from_str(
            &std::fs::read_to_string(self.data().join("management-client.json")).unwrap(),
        )
        .unwrap();
        Server {
            child,
            url,
            banner,
            credentials,
            http: reqwest::blocking::Client::new(),
            stdout,
            stderr,
        }
    }
}

pub struct Server {
    pub child: Child,
    pub url: String,
    /// What the server printed before its "listening" line (the dashboard lines).
    pub banner: Vec<String>,
    pub credentials: Value,
    pub http: reqwest::blocking::Client,
    /// Everything the server printed on standard output so far.
    pub stdout: Arc<Mutex<String>>,
    /// Its log (standard error), when [`Dir::serve_with`] was given `Stdio::piped()`.
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows what the server logged: a 500's cause is only in the log.
        if std::thread::panicking() {
            let log = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
            eprintln!("--- log of the server at {} ---\n{log}", self.url);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn token_response(&self, body: Value) -> reqwest::blocking::Response {
        self.http
            .post(format!("{}/oauth/token", self.url))
            .json(&body)
            .send()
            .unwrap()
    }

    /// A token with the given scopes (all of the client's when `None`).
    pub fn token(&self, scope: Option<&str>) -> String {
        let mut body = self.credentials.clone();
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        let response = self.token_response(body);
        assert_eq!(response.status(), 200);
        response.json::<Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `GET` with a bearer token.
    fn get_response(&self, path: &str, token: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .unwrap()
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self.get_response(path, token);
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Polls `path` until its `field` leaves the `busy` states (bounded by a generous
    /// deadline); returns the last answer.
    fn poll(&self, path: &str, token: &str, field: &str, busy: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, body) = self.get(path, token);
            assert_eq!(status, 200, "{body}");
            if !busy.contains(&body[field].as_str().unwrap()) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} never finished: {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls a job until it leaves pending/processing.
    pub fn wait_job(&self, id: &str, token: &str) -> Value {
        let path = format!("/api/v2/jobs/{id}");
        self.poll(&path, token, "status", &["pending", "processing"])
    }

    /// Creates an export job with `body` and waits for it; returns the finished job.
    pub fn export_job(&self, token: &str, body: Value) -> Value {
        let (status, job) = self.post("/api/v2/jobs/users-exports", token, body);
        assert_eq!(status, 201, "{job}");
        self.wait_job(job["id"].as_str().unwrap(), token)
    }

    /// A multipart `POST`; returns the status and the JSON body.
    pub fn post_multipart(
        &self,
        path: &str,
        token: &str,
        form: reqwest::blocking::multipart::Form,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn download(&self, location: &str) -> (u16, Vec<u8>) {
        let r = self.http.get(location).send().unwrap();
        (r.status().as_u16(), r.bytes().unwrap().to_vec())
    }
}

/// The dashboard password the first start printed for `admin`.
pub fn first_password(server: &Server) -> String {
    let prefix = "dashboard login: admin / ";
    let suffix = " (shown once; change it with: userbridge admin reset-password)";
    let line = server
        .banner
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no password line in {:?}", server.banner));
    line.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("unexpected password line {line:?}"))
        .to_string()
}

/// Gunzips a whole (small, test-sized) buffer.
pub fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Reads delimited text with an independent parser (the csv crate).
pub fn read_delimited(text: &str, delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

impl Server {
    /// The id of the default connection.
    pub fn default_connection(&self, token: &str) -> String {
        let (_, connections) = self.get(
            "/api/v2/connections?name=Username-Password-Authentication",
            token,
        );
        connections[0]["id"].as_str().unwrap().to_string()
    }

    /// `POST /api/v2/jobs/users-imports` with a users file.
    pub fn import(
        &self,
        token: &str,
        users: Vec<u8>,
        connection_id: &str,
        upsert: bool,
    ) -> (u16, Value) {
        let form = reqwest::blocking::multipart::Form::new()
            .part(
                "users",
                reqwest::blocking::multipart::Part::bytes(users).file_name("users.json"),
            )
            .text("connection_id", connection_id.to_string())
            .text("upsert", upsert.to_string());
        self.import_form(token, form)
    }

    /// `POST /api/v2/jobs/users-imports` with any multipart form.
    pub fn import_form(
        &self,
        token: &str,
        form: reqwest::blocking::multipart::Form,
    ) -> (u16, Value) {
        self.post_multipart("/api/v2/jobs/users-imports", token, form)
    }

    /// Every user of the directory (whole profiles, `user_id` order) without the attributes
    /// an import regenerates or never receives.
    pub fn comparable_users(dir: &Dir) -> Vec<Value> {
        comparable(&dir.ok(&["export", "--format", "ndjson"]))
    }
}

/// Whole profiles from NDJSON, without the attributes an import regenerates (timestamps)
/// or never receives (read-only login data; MFA factors, which are secrets and never exported).
pub fn comparable(ndjson: &str) -> Vec<Value> {
    ndjson
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut user: Value = serde_json::from_str(l).unwrap();
            let map = user.as_object_mut().unwrap();
            for key in [
                "created_at",
                "updated_at",
                "last_login",
                "last_ip",
                "logins_count",
                "last_password_reset",
                "multifactor",
                "multifactor_last_modified",
            ] {
                map.remove(key);
            }
            user
        })
        .collect()
}

/// `campaign imports create` flags: Email + Name into a table keyed on Email.
pub const EMAIL_NAME: [&str; 6] = [
    "--map",
    "Email=Email:email",
    "--map",
    "Name=Name:text",
    "--key",
    "Email",
];

/// `campaign imports create` of a definition into a new table; returns its id.
pub fn create_import(dir: &Dir, name: &str, document: &str, table: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "campaign",
        "imports",
        "create",
        "--name",
        name,
        "--document",
        document,
        "--table",
        table,
        "--create-table",
    ];
    args.extend_from_slice(extra);
    dir.ok(&args).trim().to_string()
}

/// Runs a command that prints a run report; returns the report and the exit code.
pub fn run_report(dir: &Dir, args: &[&str]) -> (Value, i32) {
    let out = dir.run(args);
    let code = out.status.code().expect("killed by a signal");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: no report ({e}): {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, code)
}

/// The campaign API's prefix.
pub const CAMPAIGN: &str = "/api/campaign/v1";

impl Server {
    /// Uploads one document (replacing one of the same name); returns the status and body.
    pub fn upload_document(
        &self,
        token: &str,
        directory: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let form = reqwest::blocking::multipart::Form::new().part(
            "file",
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        let path = format!("{CAMPAIGN}/documents/upload?path={directory}&on_conflict=replace");
        self.post_multipart(&path, token, form)
    }

    /// Polls a campaign process until it leaves queued/running.
    pub fn wait_process(&self, token: &str, id: &str) -> Value {
        let path = format!("{CAMPAIGN}/processes/{id}");
        self.poll(&path, token, "state", &["queued", "running"])
    }

    /// Saves an import definition and runs it (`run`: the run's body); returns the definition's
    /// id and the finished process.
    pub fn run_definition(&self, token: &str, definition: Value, run: Value) -> (String, Value) {
        let (status, saved) =
            self.post(&format!("{CAMPAIGN}/import-definitions"), token, definition);
        assert_eq!(status, 201, "{saved}");
        let id = saved["id"].as_str().unwrap().to_string();
        let (status, process) = self.post(
            &format!("{CAMPAIGN}/import-definitions/{id}/runs"),
            token,
            run,
        );
        assert_eq!(status, 201, "{process}");
        (
            id,
            self.wait_process(token, process["id"].as_str().unwrap()),
        )
    }

    /// Signs in to the dashboard; returns the `Cookie` header value and the CSRF token.
    pub fn sign_in(&self, username: &str, password: &str) -> (String, String) {
        let login = self
            .http
            .post(format!("{}/web/login", self.url))
            .json(&json!({"username": username, "password": password}))
            .send()
            .unwrap();
        assert_eq!(login.status(), 200);
        let set_cookie = login.headers()["set-cookie"].to_str().unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let body: Value = login.json().unwrap();
        (cookie, body["csrf_token"].as_str().unwrap().to_string())
    }

    /// `GET` returning the raw status and body text.
    pub fn get_text(&self, path: &str, token: &str) -> (u16, String) {
        let r = self.get_response(path, token);
        (r.status().as_u16(), r.text().unwrap())
    }
}
