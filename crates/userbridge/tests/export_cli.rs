//! `userbridge export`, run as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::process::Stdio;

use common::{Dir, gunzip, read_delimited};
use serde_json::Value;

fn export(dir: &Dir, extra: &[&str]) -> String {
    let mut args = vec!["export"];
    args.extend_from_slice(extra);
    dir.ok(&args)
}

/// Every user as the API shows it, from a whole-profile NDJSON export.
fn profiles(dir: &Dir) -> Vec<Value> {
    export(dir, &["--format", "ndjson"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_seed_recipe_writes_a_real_tsv_with_the_four_columns() {
    let dir = Dir::new();
    dir.seed(500);
    let mut args = vec!["--format", "tsv"];
    args.extend_from_slice(&common::SEED_RECIPE_FIELDS);
    args.extend_from_slice(&["-o", "users.csv"]);
    assert_eq!(
        export(&dir, &args),
        "",
        "nothing on stdout when -o is given"
    );
    let text = std::fs::read_to_string(dir.path().join("users.csv")).unwrap();

    let (headers, rows) = read_delimited(&text, b'\t');
    assert_eq!(
        headers,
        ["Email Address", "Created At", "First Name", "Last Name"]
    );
    let users = profiles(&dir);
    assert_eq!(rows.len(), 500);
    // Rows are in user_id order; each row carries that user's values, after the smart
    // formula rule (a leading = + - @ gains a quote unless the cell is a number).
    for (row, user) in rows.iter().zip(&users) {
        let expect = |key: &str| -> String {
            let v = user[key].as_str().unwrap_or("").to_string();
            let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
            if risky && v.parse::<f64>().is_err() {
                format!("'{v}")
            } else {
                v
            }
        };
        assert_eq!(row[0], expect("email"));
        assert_eq!(row[1], user["created_at"].as_str().unwrap());
        assert_eq!(row[2], expect("given_name"));
        assert_eq!(row[3], expect("family_name"));
    }
}

#[test]
fn hostile_values_survive_a_round_trip_through_csv() {
    let dir = Dir::new();
    dir.seed(2000);
    let text = export(
        &dir,
        &[
            "--format",
            "csv",
            "--delimiter",
            ";",
            "--formula-escape",
            "none",
            "--field",
            "given_name",
            "--field",
            "family_name",
            "--field",
            "nickname",
            "--field",
            "user_metadata",
        ],
    );
    let (headers, rows) = read_delimited(&text, b';');
    assert_eq!(
        headers,
        ["given_name", "family_name", "nickname", "user_metadata"]
    );
    let users = profiles(&dir);
    assert_eq!(rows.len(), users.len());
    let mut saw_newline = false;
    for (row, user) in rows.iter().zip(&users) {
        for (cell, key) in row.iter().zip(["given_name", "family_name", "nickname"]) {
            assert_eq!(
                cell,
                user[key].as_str().unwrap_or(""),
                "{key} of {}",
                user["user_id"]
            );
            saw_newline |= cell.contains('\n');
        }
        // Objects become compact JSON text, keys in stored order.
        let expected = match &user["user_metadata"] {
            Value::Null => String::new(),
            v => serde_json::to_string(v).unwrap(),
        };
        assert_eq!(row[3], expected);
    }
    assert!(saw_newline, "the seed data has line breaks inside names");
}

#[test]
fn flatten_newlines_gives_one_physical_line_per_user() {
    let dir = Dir::new();
    dir.seed(2000);
    let text = export(
        &dir,
        &[
            "--format",
            "tsv",
            "--default-fields",
            "--flatten-newlines",
            "--field",
            "user_metadata",
        ],
    );
    assert_eq!(text.lines().count(), 2001);
    assert!(!text.contains('\r'));
}

#[test]
fn default_fields_crlf_bom_and_date_format() {
    let dir = Dir::new();
    dir.seed(20);
    let text = export(
        &dir,
        &[
            "--format",
            "csv",
            "--bom",
            "--crlf",
            "--date-format",
            "%Y%m%d",
            "--limit",
            "3",
        ],
    );
    let body = text.strip_prefix('\u{feff}').expect("BOM first");
    let first = body.split("\r\n").next().unwrap();
    assert_eq!(
        first,
        "Id,Given Name,Family Name,Nickname,Name,Email,Email Verified,Picture,Connection,Created At,Updated At"
    );
    let (_, rows) = read_delimited(body, b',');
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert!(row[0].starts_with("auth0|"));
        assert!(matches!(row[6].as_str(), "true" | "false"));
        assert_eq!(row[8], "Username-Password-Authentication");
        assert_eq!(row[9].len(), 8, "CCYYMMDD: {}", row[9]);
        assert!(row[9].bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn json_export_is_one_valid_array_that_matches_ndjson() {
    let dir = Dir::new();
    dir.seed(300);
    let array: Value = serde_json::from_str(&export(&dir, &["--format", "json"])).unwrap();
    let array = array.as_array().unwrap();
    assert_eq!(array.len(), 300);
    assert_eq!(array, &profiles(&dir));
    let text = export(
        &dir,
        &[
            "--format",
            "json",
            "--field",
            "email=Email",
            "--field",
            "user_metadata.consent.given",
            "--limit",
            "5",
        ],
    );
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Email", "user_metadata.consent.given"]);
    }
    assert_eq!(
        export(
            &dir,
            &[
                "--format",
                "json",
                "--connection",
                "Username-Password-Authentication",
                "--limit",
                "1"
            ]
        )
        .lines()
        .count(),
        3
    );
}

#[test]
fn passwords_never_leave_in_an_export() {
    let dir = Dir::new();
    dir.seed(200);
    for format in ["json", "ndjson", "tsv", "csv"] {
        let text = export(
            &dir,
            &[
                "--format",
                format,
                "--field",
                "user_id",
                "--field",
                "identities",
                "--field",
                "app_metadata",
            ],
        );
        assert!(!text.contains("$2b$"), "{format}");
        let whole = export(&dir, &["--format", format]);
        assert!(
            !whole.contains("$2b$") && !whole.contains("password_hash"),
            "{format}"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_file() {
    let (a, b) = (Dir::new(), Dir::new());
    a.seed(300);
    b.seed(300);
    assert_eq!(
        export(&a, &["--format", "ndjson"]),
        export(&b, &["--format", "ndjson"])
    );
}

#[test]
fn gzip_output_names_the_inner_file() {
    let dir = Dir::new();
    dir.seed(50);
    export(&dir, &["--format", "csv", "--gzip", "-o", "users.csv.gz"]);
    let bytes = std::fs::read(dir.path().join("users.csv.gz")).unwrap();
    let decoder = flate2::read::GzDecoder::new(&bytes[..]);
    assert_eq!(
        decoder.header().unwrap().filename(),
        Some(&b"users.csv"[..])
    );
    assert_eq!(gunzip(&bytes).lines().count(), 51);
}

#[test]
fn a_closed_pipe_ends_the_export_quietly() {
    let dir = Dir::new();
    dir.seed(3000);
    let mut child = dir
        .command(&["export", "--format", "tsv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then hang up, as `userbridge export | head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Each bad request: a one-line error naming what is wrong, exit 1, and no file written.
#[test]
fn bad_requests_are_refused_before_anything_is_written() {
    let dir = Dir::new();
    dir.seed(10);
    let cases: [(&[&str], &str); 9] = [
        (
            &["--format", "xlsx"],
            "--format: invalid format (expected tsv, csv, json or ndjson): \"xlsx\"",
        ),
        (
            &["--field", "identities["],
            "fields[0].name: invalid field path \"identities[\"",
        ),
        (
            &["--field", "password_hash"],
            "fields[0].name: invalid field path \"password_hash\"",
        ),
        (
            &["--field", "email=E", "--field", "name=E"],
            "fields[1]: duplicate column name \"E\" (also used by fields[0])",
        ),
        (
            &["--default-fields", "--field", "email=Email"],
            "fields[0]: duplicate column name \"Email\" (also used by default field \"email\")",
        ),
        (
            &["--connection", "Nope"],
            "the connection does not exist: Nope",
        ),
        (
            &["--format", "tsv", "--delimiter", ";"],
            "delimiter: only applies to the csv format",
        ),
        (&["--formula-escape", "maybe"], "formula_escape"),
        (&["--date-format", "%Q"], "date_format"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["export", "-o", "out.tsv"];
        full.extend_from_slice(args);
        let out = dir.run(&full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("userbridge: error: "), "{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!dir.path().join("out.tsv").exists(), "{args:?} left a file");
    }
    // The directory is untouched: the same 10 users export as before.
    assert_eq!(dir.ok(&["users", "count"]).trim(), "10");
}
