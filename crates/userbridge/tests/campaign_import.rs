//! The Data Import run engine through the CLI: the seed recipe of issue 4 item 7, end to end,
//! and the run rules of `campaign-import.md` §6.7–§6.10 and §8.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::collections::BTreeMap;

use common::{Dir, read_delimited, run_report as run};
use serde_json::Value;

fn counts(report: &Value) -> (u64, u64, u64, u64, u64) {
    let c = &report["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    let read = n("read");
    assert_eq!(
        read,
        n("inserted") + n("updated") + n("unchanged") + n("rejected"),
        "invariant: {report}"
    );
    (
        read,
        n("inserted"),
        n("updated"),
        n("unchanged"),
        n("rejected"),
    )
}

/// The Data Import of the seed recipe's TSV: its four columns, keyed on the email.
const SEED_RECIPE_IMPORT: [&str; 12] = [
    "--delimiter",
    "tab",
    "--map",
    "Email Address=Email Address:email",
    "--map",
    "Created At=Created At:datetime:ISO 8601",
    "--map",
    "First Name=First Name:text",
    "--map",
    "Last Name=Last Name:text",
    "--key",
    "Email Address",
];

/// `tables rows` as (header, rows).
fn table_rows(dir: &Dir, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = dir.ok(&["campaign", "tables", "rows", table, "--limit", "100000"]);
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    (header, rows)
}

/// email → (first, last) from `tables rows contacts`.
fn contacts(dir: &Dir) -> BTreeMap<String, (String, String)> {
    let (header, rows) = table_rows(dir, "contacts");
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (e, f, l) = (col("Email Address"), col("First Name"), col("Last Name"));
    rows.iter()
        .map(|r| (r[e].clone(), (r[f].clone(), r[l].clone())))
        .collect()
}

/// What the table holds for the file's cells as written: text is trimmed (IMP-25) and
/// `tables rows` shows tabs and line breaks as spaces.
fn shown(cell: &str) -> String {
    cell.trim().replace(['\t', '\n', '\r'], " ")
}

fn expected(rows: &[Vec<String>], header: &[String]) -> BTreeMap<String, (String, String)> {
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (e, f, l) = (col("Email Address"), col("First Name"), col("Last Name"));
    rows.iter()
        .map(|r| (r[e].trim().to_lowercase(), (shown(&r[f]), shown(&r[l]))))
        .collect()
}

fn write_tsv(path: &std::path::Path, header: &[String], rows: &[Vec<String>]) {
    // The csv crate quotes cells holding tabs, quotes or line breaks, as the export does.
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_path(path)
        .unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn seed_recipe_end_to_end() {
    let dir = Dir::new();
    dir.seed(300);
    dir.export_seed_recipe("users.tsv");
    dir.ok(&["campaign", "docs", "mkdir", "/marketing"]);
    dir.ok(&[
        "campaign",
        "docs",
        "upload",
        "users.tsv",
        "--to",
        "/marketing",
    ]);
    let id = common::create_import(
        &dir,
        "seed users",
        "/marketing/users.tsv",
        "contacts",
        &SEED_RECIPE_IMPORT,
    );
    assert!(id.starts_with("def_") && id.len() == 20, "{id}");
    let shown: Value =
        serde_json::from_str(&dir.ok(&["campaign", "imports", "show", &id])).unwrap();
    assert_eq!(shown["definition"]["target"]["table"], "contacts");
    assert!(dir.ok(&["campaign", "imports", "ls"]).contains(&id));

    // A dry run first: nothing is created.
    let (report, code) = run(&dir, &["campaign", "imports", "run", &id, "--dry-run"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(counts(&report), (300, 300, 0, 0, 0));
    assert_eq!(dir.ok(&["campaign", "tables", "ls"]), "");

    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["state"], "completed");
    assert_eq!(counts(&report), (300, 300, 0, 0, 0));
    assert_eq!(report["source"]["document"], "/marketing/users.tsv");
    assert_eq!(report["target"]["key"][0], "Email Address");

    let text = std::fs::read_to_string(dir.path().join("users.tsv")).unwrap();
    let (header, mut rows) = read_delimited(&text, b'\t');
    assert_eq!(rows.len(), 300);
    assert_eq!(contacts(&dir), expected(&rows, &header));

    // Change 7 family names, add 5 users, keep the rest; replace the document; run again.
    let last = header.iter().position(|h| h == "Last Name").unwrap();
    for r in rows.iter_mut().step_by(40).take(7) {
        r[last] = format!("{} Changed", r[last]);
    }
    for i in 0..5 {
        rows.push(vec![
            format!("new{i}@example.com"),
            "2024-05-12T16:02:44.120Z".to_string(),
            format!("New{i}"),
            "Person".to_string(),
        ]);
    }
    // The new rows follow the header order of the export.
    assert_eq!(
        header,
        ["Email Address", "Created At", "First Name", "Last Name"]
    );
    write_tsv(&dir.path().join("users.tsv"), &header, &rows);
    dir.ok(&[
        "campaign",
        "docs",
        "upload",
        "users.tsv",
        "--to",
        "/marketing",
        "--replace",
    ]);

    // A dry run changes nothing but reports what would happen.
    let before = contacts(&dir);
    let (report, _) = run(&dir, &["campaign", "imports", "run", &id, "--dry-run"]);
    assert_eq!(counts(&report), (305, 5, 7, 293, 0));
    assert_eq!(contacts(&dir), before);

    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(counts(&report), (305, 5, 7, 293, 0));
    assert_eq!(contacts(&dir), expected(&rows, &header));

    // Export the table with the writer.
    dir.ok(&[
        "campaign",
        "tables",
        "export",
        "contacts",
        "-o",
        "contacts.csv",
    ]);
    let exported = std::fs::read_to_string(dir.path().join("contacts.csv")).unwrap();
    let (h, r) = read_delimited(&exported, b',');
    assert_eq!(h, header);
    assert_eq!(r.len(), 305);
}

/// Saves a definition named after its document (names are unique per instance, IMP-41).
fn create(dir: &Dir, document: &str, table: &str, extra: &[&str]) -> String {
    common::create_import(dir, document, document, table, extra)
}

#[test]
fn semicolon_day_month_case_keys_rejects_and_thresholds() {
    let dir = Dir::new();
    dir.ok(&["campaign", "docs", "mkdir", "/in"]);
    std::fs::write(
        dir.path().join("eu.csv"),
        "Email;Born;Name\n\
         a@example.com;31/12/1990;Anna\n\
         b@example.com;01/02/1985;Ben\n\
         c@example.com;32/01/2000;Bad\n",
    )
    .unwrap();
    dir.ok(&["campaign", "docs", "upload", "eu.csv", "--to", "/in"]);
    let map = [
        "--delimiter",
        ";",
        "--map",
        "Email=Email:email",
        "--map",
        "Born=Born:date:%d/%m/%Y",
        "--map",
        "Name=Name:text",
        "--key",
        "Email",
    ];
    let id = create(&dir, "/in/eu.csv", "people", &map);
    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["state"], "completed_with_rejects");
    assert_eq!(counts(&report), (3, 2, 0, 0, 1));
    assert_eq!(report["rejects_by_reason"]["invalid_date"], 1);
    let (_, rows) = table_rows(&dir, "people");
    assert_eq!(rows[0], ["a@example.com", "1990-12-31", "Anna"]);
    assert_eq!(rows[1], ["b@example.com", "1985-02-01", "Ben"]);

    // The reject file (§8.2): the source's columns as parsed, in the source's dialect, then
    // the line, the column and the reason, so it can be fixed and imported again.
    let reject_path = report["reject_file"].as_str().unwrap();
    assert!(reject_path.starts_with("/in/eu.csv.run_") && reject_path.ends_with(".rejects.csv"));
    let rejects = dir.ok(&["campaign", "docs", "get", reject_path]);
    let (h, r) = read_delimited(&rejects, b';');
    assert_eq!(
        h,
        [
            "Email",
            "Born",
            "Name",
            "_line",
            "_column",
            "_reason_code",
            "_reason"
        ]
    );
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0][..6],
        [
            "c@example.com",
            "32/01/2000",
            "Bad",
            "4",
            "Born",
            "invalid_date"
        ]
    );

    // An email key differing only in case and spaces matches the stored row.
    std::fs::write(
        dir.path().join("eu.csv"),
        "Email;Born;Name\n  A@Example.COM ;31/12/1990;Anna Maria\n",
    )
    .unwrap();
    dir.ok(&[
        "campaign",
        "docs",
        "upload",
        "eu.csv",
        "--to",
        "/in",
        "--replace",
    ]);
    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(counts(&report), (1, 0, 1, 0, 0));
    let (_, rows) = table_rows(&dir, "people");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][2], "Anna Maria");

    // A threshold that trips leaves the table unchanged.
    std::fs::write(
        dir.path().join("bad.csv"),
        "Email;Born;Name\n\
         a@example.com;31/12/1990;Changed\n\
         x@example.com;99/99/1990;X\n\
         y@example.com;99/99/1990;Y\n",
    )
    .unwrap();
    dir.ok(&["campaign", "docs", "upload", "bad.csv", "--to", "/in"]);
    let mut strict = map.to_vec();
    strict.extend_from_slice(&["--max-rejected-rows", "1"]);
    let id = create(&dir, "/in/bad.csv", "people", &strict);
    let before = table_rows(&dir, "people");
    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["state"], "aborted");
    assert_eq!(report["threshold"]["tripped"], true);
    assert_eq!(counts(&report), (3, 0, 1, 0, 2));
    assert_eq!(table_rows(&dir, "people"), before);
    assert!(report["reject_file"].is_string());

    // In-file duplicates: last wins by default, the earlier one is superseded.
    std::fs::write(
        dir.path().join("dup.csv"),
        "Email;Born;Name\nd@example.com;01/01/2000;One\nD@example.com;01/01/2000;Two\n",
    )
    .unwrap();
    dir.ok(&["campaign", "docs", "upload", "dup.csv", "--to", "/in"]);
    let id = create(&dir, "/in/dup.csv", "people", &map);
    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 2, "{report}");
    assert_eq!(counts(&report), (2, 1, 0, 0, 1));
    assert_eq!(report["rejects_by_reason"]["superseded_in_file"], 1);
    let rows = dir.ok(&[
        "campaign",
        "tables",
        "rows",
        "people",
        "--where",
        "Email=d@example.com",
    ]);
    assert!(rows.contains("\tTwo"), "{rows}");
}

/// IMP-15: Auth0's escaping puts a `'` before every string cell (export-formats.md §3.1), so
/// emails stop being emails and names gain a character. Exported that way and imported with
/// `--strip-apostrophe`, the table holds exactly what an unescaped export holds.
#[test]
fn auth0_escaped_export_loads_with_strip_apostrophe() {
    let dir = Dir::new();
    dir.seed(300);
    for (file, escape) in [("escaped.tsv", "auth0"), ("plain.tsv", "none")] {
        let mut args = vec!["export", "--format", "tsv", "--formula-escape", escape];
        args.extend_from_slice(&common::SEED_RECIPE_FIELDS);
        args.extend_from_slice(&["-o", file]);
        dir.ok(&args);
    }
    let escaped = std::fs::read_to_string(dir.path().join("escaped.tsv")).unwrap();
    assert!(
        escaped.lines().nth(1).unwrap().starts_with("\"'"),
        "{escaped:.200}"
    );
    dir.ok(&["campaign", "docs", "upload", "escaped.tsv", "--to", "/"]);
    let mut flags = SEED_RECIPE_IMPORT.to_vec();
    for column in ["Email Address", "First Name", "Last Name"] {
        flags.extend_from_slice(&["--strip-apostrophe", column]);
    }
    let id = create(&dir, "/escaped.tsv", "contacts", &flags);
    let (report, code) = run(&dir, &["campaign", "imports", "run", &id]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(counts(&report), (300, 300, 0, 0, 0));
    let plain = std::fs::read_to_string(dir.path().join("plain.tsv")).unwrap();
    let (header, rows) = read_delimited(&plain, b'\t');
    assert_eq!(contacts(&dir), expected(&rows, &header));

    // Naming a column that is not mapped is a one-line error.
    let out = dir.run(&[
        "campaign",
        "imports",
        "create",
        "--name",
        "bad",
        "--document",
        "/escaped.tsv",
        "--table",
        "t",
        "--create-table",
        "--map",
        "Email Address=Email Address:email",
        "--strip-apostrophe",
        "Nickname",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--strip-apostrophe \"Nickname\""),
        "{stderr}"
    );
}
