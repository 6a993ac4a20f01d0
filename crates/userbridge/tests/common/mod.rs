//! Helpers for tests that run the real `userbridge` binary in a fresh temporary directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

    pub fn seed(&self, count: u64) {
        self.ok(&["users", "seed", "--count", &count.to_string()]);
    }

    /// Starts `userbridge serve` on a free loopback port.
    pub fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("userbridge listening on ") {
                break url.to_string();
            }
            banner.push(line);
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
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
}

impl Drop for Server {
    fn drop(&mut self) {
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

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .unwrap();
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

    /// Polls a job until it leaves pending/processing (bounded by a generous deadline).
    pub fn wait_job(&self, id: &str, token: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, job) = self.get(&format!("/api/v2/jobs/{id}"), token);
            assert_eq!(status, 200, "{job}");
            match job["status"].as_str().unwrap() {
                "pending" | "processing" => {}
                _ => return job,
            }
            assert!(Instant::now() < deadline, "job {id} never finished: {job}");
            std::thread::sleep(Duration::from_millis(50));
        }
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
        let r = self
            .http
            .post(format!("{}/api/v2/jobs/users-imports", self.url))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
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
