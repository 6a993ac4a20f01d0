//! The bad-input corpus of issue 4, one whole run through the CLI per case
//! (`campaign-import.md` §6.2–§6.3, §6.8, §8): every record ends up as a row or as a reject
//! with a reason code and its line, never silently skipped; whole-file problems are one clear
//! error line and leave nothing half-imported.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use common::{Dir, EMAIL_NAME, create_import as create};
use serde_json::Value;

/// Where every case's document is uploaded.
const FOLDER: &str = "/in";

fn new_dir() -> Dir {
    let dir = Dir::new();
    dir.ok(&["campaign", "docs", "mkdir", FOLDER]);
    dir
}

/// Uploads `bytes` as `/in/<name>`; returns the document path.
fn upload(dir: &Dir, name: &str, bytes: impl AsRef<[u8]>) -> String {
    std::fs::write(dir.path().join(name), bytes).unwrap();
    dir.ok(&["campaign", "docs", "upload", name, "--to", FOLDER]);
    format!("{FOLDER}/{name}")
}

/// Runs a definition that must produce a report; returns it and the exit code.
fn run(dir: &Dir, id: &str) -> (Value, i32) {
    common::run_report(dir, &["campaign", "imports", "run", id])
}

/// Runs a definition that must fail as a whole: exit 1, no report, one error line (returned).
fn run_fails(dir: &Dir, id: &str) -> String {
    let out = dir.run(&["campaign", "imports", "run", id]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "run {id}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line expected: {stderr:?}");
    assert!(lines[0].starts_with("userbridge: error: "), "{stderr}");
    lines[0].to_string()
}

/// [read, inserted, updated, unchanged, rejected], after checking the §8.1 invariant.
fn counts(report: &Value) -> [u64; 5] {
    let n = |k: &str| report["counts"][k].as_u64().unwrap();
    let c = [
        n("read"),
        n("inserted"),
        n("updated"),
        n("unchanged"),
        n("rejected"),
    ];
    assert_eq!(c[0], c[1] + c[2] + c[3] + c[4], "invariant: {report}");
    c
}

/// Reads delimited text with an independent parser; rows may be ragged (the reject file keeps
/// long rows' extra fields).
fn parse(text: &str, delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The table's header and rows, sorted, exactly as stored: the CSV export keeps line breaks
/// and tabs that `tables rows` shows as spaces.
fn table(dir: &Dir, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = dir.ok(&["campaign", "tables", "export", table]);
    let (header, mut rows) = parse(&text, b',');
    rows.sort();
    (header, rows)
}

fn table_names(dir: &Dir) -> Vec<String> {
    dir.ok(&["campaign", "tables", "ls"])
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// The columns the reject file adds after the source's (§8.2).
const MARKERS: [&str; 4] = ["_line", "_column", "_reason_code", "_reason"];

/// One line of the reject file (§8.2).
#[derive(Debug)]
struct Reject {
    fields: Vec<String>,
    line: u64,
    column: String,
    code: String,
    reason: String,
}

/// The run's reject file: its header and rows, read with the source's delimiter.
fn rejects(dir: &Dir, report: &Value, delimiter: u8) -> (Vec<String>, Vec<Reject>) {
    let path = report["reject_file"]
        .as_str()
        .unwrap_or_else(|| panic!("no reject file: {report}"));
    let (header, rows) = parse(&dir.ok(&["campaign", "docs", "get", path]), delimiter);
    let rows = rows
        .into_iter()
        .map(|mut r| {
            let markers = r.split_off(r.len() - 4);
            Reject {
                fields: r,
                line: markers[0].parse().unwrap(),
                column: markers[1].clone(),
                code: markers[2].clone(),
                reason: markers[3].clone(),
            }
        })
        .collect();
    (header, rows)
}

/// An expected reject: line, first offending column, code; optionally the source fields and
/// a part of the reason.
struct Rej {
    line: u64,
    column: &'static str,
    code: &'static str,
    fields: Option<Vec<String>>,
    reason: Option<&'static str>,
}

fn rej(line: u64, column: &'static str, code: &'static str) -> Rej {
    Rej {
        line,
        column,
        code,
        fields: None,
        reason: None,
    }
}

impl Rej {
    fn fields(mut self, fields: &[&str]) -> Rej {
        self.fields = Some(fields.iter().map(|f| f.to_string()).collect());
        self
    }
    fn reason(mut self, part: &'static str) -> Rej {
        self.reason = Some(part);
        self
    }
}

struct Case {
    /// Document name; the table and definition are named after it.
    name: &'static str,
    bytes: Vec<u8>,
    /// Dialect, mapping and key flags of `imports create`.
    args: Vec<&'static str>,
    /// For reading the reject file.
    delimiter: u8,
    /// The source's column names (the reject file's header before the markers).
    header: Vec<&'static str>,
    /// What the report says of the source: encoding label and BOM.
    encoding: &'static str,
    bom: bool,
    counts: [u64; 5],
    /// Target column names, then the rows in sorted order.
    columns: Vec<&'static str>,
    rows: Vec<Vec<&'static str>>,
    /// In file order.
    rejects: Vec<Rej>,
}

fn base(name: &'static str, bytes: impl Into<Vec<u8>>) -> Case {
    Case {
        name,
        bytes: bytes.into(),
        args: EMAIL_NAME.to_vec(),
        delimiter: b',',
        header: vec!["Email", "Name"],
        encoding: "UTF-8",
        bom: false,
        counts: [0; 5],
        columns: vec!["Email", "Name"],
        rows: Vec::new(),
        rejects: Vec::new(),
    }
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // 1. A European spreadsheet: `;` between fields, decimal commas kept as text.
    cases.push(Case {
        args: vec![
            "--delimiter",
            ";",
            "--map",
            "Email=Email:email",
            "--map",
            "Amount=Amount:text",
            "--map",
            "City=City:text",
            "--key",
            "Email",
        ],
        delimiter: b';',
        header: vec!["Email", "Amount", "City"],
        counts: [4, 3, 0, 0, 1],
        columns: vec!["Email", "Amount", "City"],
        rows: vec![
            vec!["a@example.com", "1,50", "Paris"],
            vec!["b@example.com", "1.234,56", "Köln"],
            vec!["c@example.com", "7,5", "Saint-Denis; Nord"],
        ],
        rejects: vec![rej(5, "", "column_count_mismatch").fields(&[
            "d@example.com",
            "2",
            "x",
            "y",
        ])],
        ..base(
            "eu.csv",
            "Email;Amount;City\n\
             a@example.com;1,50;Paris\n\
             b@example.com;1.234,56;Köln\n\
             c@example.com;\"7,5\";\"Saint-Denis; Nord\"\n\
             d@example.com;2;x;y\n",
        )
    });

    // 2. UTF-8 with BOM: the mapping finds `Email` by its exact name (a BOM left in the first
    // header would make the run fail), and the reject file's header has no BOM either.
    cases.push(Case {
        bom: true,
        counts: [2, 1, 0, 0, 1],
        rows: vec![vec!["a@example.com", "Ann"]],
        rejects: vec![rej(3, "Email", "invalid_email").fields(&["not-an-email", "Bob"])],
        ..base(
            "bom.csv",
            b"\xEF\xBB\xBFEmail,Name\na@example.com,Ann\nnot-an-email,Bob\n".to_vec(),
        )
    });

    // 3. Windows-1252 accents, read as windows-1252: proper UTF-8 in the table.
    let cp1252 = b"Email,Name\na@example.com,Ren\xe9e\nb@example.com,Fran\xe7ois \x80 \x9c\n";
    let mut args = EMAIL_NAME.to_vec();
    args.extend(["--encoding", "windows-1252"]);
    cases.push(Case {
        args,
        encoding: "windows-1252",
        counts: [2, 2, 0, 0, 0],
        rows: vec![
            vec!["a@example.com", "Renée"],
            vec!["b@example.com", "François € œ"],
        ],
        ..base("cp1252.csv", cp1252.to_vec())
    });
    // 3b. The same bytes read as UTF-8: rejected `encoding_error`, no U+FFFD stored (IMP-9).
    cases.push(Case {
        counts: [2, 0, 0, 0, 2],
        rejects: vec![rej(2, "", "encoding_error"), rej(3, "", "encoding_error")],
        ..base("cp1252-as-utf8.csv", cp1252.to_vec())
    });

    // 4. UTF-16LE with BOM: the BOM wins over the definition's UTF-8 (IMP-6).
    cases.push(Case {
        encoding: "UTF-16LE",
        bom: true,
        counts: [3, 2, 0, 0, 1],
        rows: vec![
            vec!["a@example.com", "Zoë"],
            vec!["b@example.com", "日本語"],
        ],
        rejects: vec![rej(4, "", "column_count_mismatch").fields(&["c@example.com", "x", "y"])],
        ..base(
            "utf16.csv",
            utf16le_with_bom(
                "Email,Name\r\na@example.com,Zoë\r\nb@example.com,日本語\r\nc@example.com,x,y\r\n",
            ),
        )
    });

    // 5. Line endings: CRLF, lone CR (old Mac) and a mix without a final terminator. The bad
    // row on line 3 checks that every kind counts as one line and leaves no CR in a value.
    for (name, text) in [
        (
            "crlf.csv",
            "Email,Name\r\na@example.com,Ann\r\nnope,Bad\r\nb@example.com,Ben\r\n",
        ),
        (
            "cr.csv",
            "Email,Name\ra@example.com,Ann\rnope,Bad\rb@example.com,Ben\r",
        ),
        (
            "mixed.csv",
            "Email,Name\r\na@example.com,Ann\rnope,Bad\nb@example.com,Ben",
        ),
    ] {
        cases.push(Case {
            counts: [3, 2, 0, 0, 1],
            rows: vec![vec!["a@example.com", "Ann"], vec!["b@example.com", "Ben"]],
            rejects: vec![rej(3, "Email", "invalid_email").fields(&["nope", "Bad"])],
            ..base(name, text)
        });
    }

    // 6. Qualified fields holding the delimiter, doubled quotes and line breaks, stored exactly;
    // the record after the three-line one starts on line 7.
    cases.push(Case {
        args: vec![
            "--map",
            "Email=Email:email",
            "--map",
            "Note=Note:text",
            "--key",
            "Email",
        ],
        header: vec!["Email", "Note"],
        counts: [5, 4, 0, 0, 1],
        columns: vec!["Email", "Note"],
        rows: vec![
            vec!["a@example.com", "one, two"],
            vec!["b@example.com", "say \"hi\", then go"],
            vec!["c@example.com", "line 1\nline 2\r\nline 3"],
            vec!["e@example.com", "plain"],
        ],
        rejects: vec![rej(7, "", "column_count_mismatch").fields(&["d@example.com", "", "extra"])],
        ..base(
            "quoted.csv",
            "Email,Note\n\
             a@example.com,\"one, two\"\n\
             b@example.com,\"say \"\"hi\"\", then go\"\n\
             c@example.com,\"line 1\nline 2\r\nline 3\"\n\
             d@example.com,\"\",extra\n\
             e@example.com,plain\n",
        )
    });

    // 7. Ragged rows: never padded or truncated (IMP-19); the reject file pads short rows so
    // the markers stay aligned and keeps long rows' extra fields.
    cases.push(Case {
        args: vec![
            "--map",
            "Email=Email:email",
            "--map",
            "Name=Name:text",
            "--map",
            "City=City:text",
            "--key",
            "Email",
        ],
        header: vec!["Email", "Name", "City"],
        counts: [4, 2, 0, 0, 2],
        columns: vec!["Email", "Name", "City"],
        rows: vec![
            vec!["a@example.com", "Ann", "Paris"],
            vec!["d@example.com", "Dan", "Oslo"],
        ],
        rejects: vec![
            rej(3, "", "column_count_mismatch")
                .fields(&["b@example.com", "Ben", ""])
                .reason("2 fields, expected 3"),
            rej(4, "", "column_count_mismatch")
                .fields(&["c@example.com", "Cat", "Rome", "Extra"])
                .reason("4 fields, expected 3"),
        ],
        ..base(
            "ragged.csv",
            "Email,Name,City\n\
             a@example.com,Ann,Paris\n\
             b@example.com,Ben\n\
             c@example.com,Cat,Rome,Extra\n\
             d@example.com,Dan,Oslo\n",
        )
    });

    // 8. Two columns called the same: mapping by position reaches both, nothing is lost.
    // Mapping by the ambiguous name fails instead: `duplicate_header_name_mapping_is_explicit`.
    cases.push(Case {
        args: vec![
            "--map",
            "#1=Email:email",
            "--map",
            "#2=Home:text",
            "--map",
            "#3=Mobile:text",
            "--key",
            "Email",
        ],
        header: vec!["Email", "Phone", "Phone"],
        counts: [2, 2, 0, 0, 0],
        columns: vec!["Email", "Home", "Mobile"],
        rows: vec![
            vec!["a@example.com", "111", "222"],
            vec!["b@example.com", "333", ""],
        ],
        ..base(
            "dupheader.csv",
            "Email,Phone,Phone\na@example.com,111,222\nb@example.com,333,\n",
        )
    });

    // 10. Header only: read 0, a clean run, the table created empty.
    cases.push(Case {
        ..base("headeronly.csv", "Email,Name\n")
    });

    // 11. Binary garbage after a valid header: every line rejected `encoding_error`, nothing
    // imported. (A file that is garbage from its first byte: `binary_document_is_one_clear_error`.)
    let mut garbage = b"Email,Name\n".to_vec();
    garbage.extend_from_slice(b"\x89PNG\x00\x1a\x00\x00\n");
    garbage.extend_from_slice(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\n");
    garbage.extend_from_slice(b"a,\xc3(\x00\n");
    cases.push(Case {
        counts: [3, 0, 0, 0, 3],
        rejects: vec![
            rej(2, "", "encoding_error"),
            rej(3, "", "encoding_error"),
            rej(4, "", "encoding_error"),
        ],
        ..base("garbage.csv", garbage)
    });

    // 12. One line of 100,000 columns between normal ones: rejected, kept whole in the
    // reject file, the run completes.
    let mut wide = "Email,Name\na@example.com,Ann\n".to_string();
    wide.push_str(&vec!["x"; 100_000].join(","));
    wide.push_str("\nc@example.com,Cat\n");
    let mut wide_reject = rej(3, "", "column_count_mismatch").reason("100000 fields, expected 2");
    wide_reject.fields = Some(vec!["x".to_string(); 100_000]);
    cases.push(Case {
        counts: [3, 2, 0, 0, 1],
        rows: vec![vec!["a@example.com", "Ann"], vec!["c@example.com", "Cat"]],
        rejects: vec![wide_reject],
        ..base("wide.csv", wide)
    });

    // 13. Day/month dates: stored as calendar dates; a month-first value is rejected, never
    // swapped.
    cases.push(Case {
        args: vec![
            "--map",
            "Email=Email:email",
            "--map",
            "Born=Born:date:%d/%m/%Y",
            "--key",
            "Email",
        ],
        header: vec!["Email", "Born"],
        counts: [3, 2, 0, 0, 1],
        columns: vec!["Email", "Born"],
        rows: vec![
            vec!["a@example.com", "1990-12-31"],
            vec!["c@example.com", "1985-02-01"],
        ],
        rejects: vec![
            rej(3, "Born", "invalid_date")
                .fields(&["b@example.com", "12/31/1990"])
                .reason("12/31/1990"),
        ],
        ..base(
            "dates.csv",
            "Email,Born\na@example.com,31/12/1990\nb@example.com,12/31/1990\nc@example.com,01/02/1985\n",
        )
    });

    // 14. Emails differing only in case and surrounding spaces are one key (IMP-26); each
    // duplicates policy (IMP-31) names what it rejected and the kept line.
    let dups = "Email,Name\n\
                jane@example.com,One\n  \
                Jane@Example.COM ,Two\n\
                JANE@EXAMPLE.COM,Three\n\
                other@example.com,Other\n";
    let with = |policy: &'static str| {
        let mut args = EMAIL_NAME.to_vec();
        args.extend(["--duplicates", policy]);
        args
    };
    cases.push(Case {
        counts: [4, 2, 0, 0, 2],
        rows: vec![
            vec!["jane@example.com", "Three"],
            vec!["other@example.com", "Other"],
        ],
        rejects: vec![
            rej(2, "", "superseded_in_file")
                .fields(&["jane@example.com", "One"])
                .reason("line 4"),
            rej(3, "", "superseded_in_file")
                .fields(&["  Jane@Example.COM ", "Two"])
                .reason("line 4"),
        ],
        ..base("dups-last.csv", dups)
    });
    cases.push(Case {
        args: with("first"),
        counts: [4, 2, 0, 0, 2],
        rows: vec![
            vec!["jane@example.com", "One"],
            vec!["other@example.com", "Other"],
        ],
        rejects: vec![
            rej(3, "", "duplicate_in_file").reason("line 2"),
            rej(4, "", "duplicate_in_file").reason("line 2"),
        ],
        ..base("dups-first.csv", dups)
    });
    cases.push(Case {
        args: with("reject"),
        counts: [4, 1, 0, 0, 3],
        rows: vec![vec!["other@example.com", "Other"]],
        rejects: vec![
            rej(2, "", "duplicate_in_file").reason("3, 4"),
            rej(3, "", "duplicate_in_file").reason("2, 4"),
            rej(4, "", "duplicate_in_file").reason("2, 3"),
        ],
        ..base("dups-reject.csv", dups)
    });

    cases
}

fn table_name(document: &str) -> String {
    let stem = document.split('.').next().unwrap().replace('-', "_");
    format!("t_{stem}")
}

#[test]
fn corpus_cases_give_rows_or_reasons() {
    let dir = new_dir();
    for case in cases() {
        let name = case.name;
        let table_name = table_name(name);
        let document = upload(&dir, name, &case.bytes);
        let id = create(&dir, name, &document, &table_name, &case.args);
        let (report, code) = run(&dir, &id);
        let what = format!("case {name}: {report}");

        assert_eq!(counts(&report), case.counts, "{what}");
        let expected_code = if case.rejects.is_empty() { 0 } else { 2 };
        assert_eq!(code, expected_code, "{what}");
        assert_eq!(report["source"]["encoding"], case.encoding, "{what}");
        assert_eq!(report["source"]["bom"], case.bom, "{what}");

        let (columns, rows) = table(&dir, &table_name);
        assert_eq!(columns, case.columns, "{what}");
        assert_eq!(rows, case.rows, "{what}");

        // Every reject is in the reject file with its line and reason, in file order; the
        // report's tally agrees with it.
        if case.rejects.is_empty() {
            assert!(report["reject_file"].is_null(), "{what}");
            continue;
        }
        let (header, found) = rejects(&dir, &report, case.delimiter);
        let mut expected_header = case.header.clone();
        expected_header.extend(MARKERS);
        assert_eq!(header, expected_header, "{what}");
        let got: Vec<(u64, &str, &str)> = found
            .iter()
            .map(|r| (r.line, r.column.as_str(), r.code.as_str()))
            .collect();
        let want: Vec<(u64, &str, &str)> = case
            .rejects
            .iter()
            .map(|r| (r.line, r.column, r.code))
            .collect();
        assert_eq!(got, want, "{what}");
        for (r, e) in found.iter().zip(&case.rejects) {
            if let Some(fields) = &e.fields {
                assert!(r.fields == *fields, "{what}: line {} fields", r.line);
            }
            if let Some(part) = e.reason {
                assert!(r.reason.contains(part), "{what}: {:?}", r.reason);
            }
            assert!(!r.reason.is_empty(), "{what}");
        }
        let mut tally = std::collections::BTreeMap::<&str, u64>::new();
        for e in &case.rejects {
            *tally.entry(e.code).or_default() += 1;
        }
        let by_reason: std::collections::BTreeMap<&str, u64> = report["rejects_by_reason"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(by_reason, tally, "{what}");
    }
}

#[test]
fn empty_document_is_a_clear_error_or_an_empty_run() {
    let dir = new_dir();
    let document = upload(&dir, "empty.csv", b"");

    // Mapped by header name: there is no header to find the column in, so the run stops with
    // one line saying so, before anything is created.
    let id = create(&dir, "empty by name", &document, "t_empty", &EMAIL_NAME);
    let error = run_fails(&dir, &id);
    assert!(error.contains("empty"), "{error}");
    assert!(error.contains("Email"), "{error}");
    assert!(table_names(&dir).is_empty());

    // Headerless, mapped by position: a clean run of nothing.
    let id = create(
        &dir,
        "empty by position",
        &document,
        "t_empty_pos",
        &[
            "--no-header",
            "--map",
            "#1=Email:email",
            "--map",
            "#2=Name:text",
            "--key",
            "Email",
        ],
    );
    let (report, code) = run(&dir, &id);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["state"], "completed");
    assert_eq!(counts(&report), [0; 5]);
    assert!(report["reject_file"].is_null());
    assert_eq!(table(&dir, "t_empty_pos").1, Vec::<Vec<String>>::new());
}

#[test]
fn binary_document_is_one_clear_error() {
    let dir = new_dir();
    // A whole 1×1 PNG: garbage from the first byte, NULs included.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\
        \x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\
        \x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82";
    let document = upload(&dir, "logo.png", png);
    let id = create(&dir, "logo", &document, "t_logo", &EMAIL_NAME);
    let error = run_fails(&dir, &id);
    assert!(error.contains("/in/logo.png"), "{error}");
    assert!(error.contains("header"), "{error}");
    // Nothing half-imported: no table, no run output.
    assert!(table_names(&dir).is_empty());
}

/// IMP-39 and §6.7: `update_only` into a table without the keys rejects every row
/// `not_found` (never a silent no-op), and the reject file is written though every row failed.
#[test]
fn update_only_without_matches_rejects_every_row_and_writes_the_reject_file() {
    let dir = new_dir();
    let document = upload(
        &dir,
        "updates.csv",
        "Email,Name\na@example.com,Ann\nb@example.com,Ben\n",
    );
    let mut args = EMAIL_NAME.to_vec();
    args.extend(["--mode", "update_only"]);
    let id = create(&dir, "updates", &document, "t_updates", &args);

    // First run: the table is new; second run: it exists and is empty.
    for attempt in ["new table", "empty table"] {
        let (report, code) = run(&dir, &id);
        let what = format!("{attempt}: {report}");
        assert_eq!(code, 2, "{what}");
        assert_eq!(report["state"], "completed_with_rejects", "{what}");
        assert_eq!(counts(&report), [2, 0, 0, 0, 2], "{what}");
        assert_eq!(report["rejects_by_reason"]["not_found"], 2, "{what}");
        let (header, found) = rejects(&dir, &report, b',');
        assert_eq!(header[..2], ["Email", "Name"], "{what}");
        assert_eq!(header[2..], MARKERS, "{what}");
        let got: Vec<(u64, &str, String)> = found
            .iter()
            .map(|r| (r.line, r.code.as_str(), r.fields.join(",")))
            .collect();
        let want = [
            (2, "not_found", "a@example.com,Ann".to_string()),
            (3, "not_found", "b@example.com,Ben".to_string()),
        ];
        assert_eq!(got, want, "{what}");
        assert_eq!(table(&dir, "t_updates").1, Vec::<Vec<String>>::new());
    }
}

/// Case 8, by name: a mapping naming a header that two columns share must not silently take
/// one of them (the other's values would be lost without a word); the run should fail with one
/// line naming the column, before anything is imported.
#[test]
fn duplicate_header_name_mapping_is_explicit() {
    let dir = new_dir();
    let document = upload(
        &dir,
        "dupname.csv",
        "Email,Phone,Phone\na@example.com,111,222\n",
    );
    let id = create(
        &dir,
        "dupname",
        &document,
        "t_dupname",
        &[
            "--map",
            "Email=Email:email",
            "--map",
            "Phone=Phone:text",
            "--key",
            "Email",
        ],
    );
    // Ambiguous: columns 2 and 3; the message names the column and how to map it.
    let error = run_fails(&dir, &id);
    assert!(
        error.contains("Phone") && error.contains("#2, #3"),
        "{error}"
    );
    assert!(table_names(&dir).is_empty());
}

/// A `truncate` column cuts long text to its `max_length` and the report counts each cut cell
/// (nothing is rejected, nothing is cut silently).
#[test]
fn truncated_cells_are_counted() {
    let dir = new_dir();
    let document = upload(
        &dir,
        "long.csv",
        "Email,Name\na@example.com,Alexandra\nb@example.com,Bo\n",
    );
    let definition = serde_json::json!({
        "name": "truncate",
        "document": document,
        "target": { "table": "t_truncate", "create": true },
        "mapping": [
            { "source": "Email", "column": { "name": "Email", "type": "email" } },
            { "source": "Name", "column": { "name": "Name", "type": "text", "max_length": 4, "truncate": true } },
        ],
        "key": ["Email"],
    });
    std::fs::write(dir.path().join("def.json"), definition.to_string()).unwrap();
    let id = dir
        .ok(&["campaign", "imports", "create", "--from", "def.json"])
        .trim()
        .to_string();
    let (report, code) = run(&dir, &id);
    assert_eq!(code, 0, "{report}");
    assert_eq!(counts(&report), [2, 2, 0, 0, 0]);
    assert_eq!(report["truncated_cells"], 1, "{report}");
    assert_eq!(
        table(&dir, "t_truncate").1,
        [["a@example.com", "Alex"], ["b@example.com", "Bo"]]
    );
}

/// RUN-8: a definition remembers its document's header; a re-run on a document whose header
/// changed fails before any row is read, naming what is missing and what is unexpected.
#[test]
fn rerun_with_another_header_fails_before_reading() {
    let dir = new_dir();
    let replace = |text: &str| {
        std::fs::write(dir.path().join("people.csv"), text).unwrap();
        dir.ok(&[
            "campaign",
            "docs",
            "upload",
            "people.csv",
            "--to",
            FOLDER,
            "--replace",
        ]);
    };
    let document = upload(&dir, "people.csv", "Email,Name\na@example.com,Ann\n");
    let map = EMAIL_NAME;
    let names = create(&dir, "by names", &document, "t_names", &map);
    let mut exact_flags = map.to_vec();
    exact_flags.extend_from_slice(&["--verify-headers", "exact"]);
    let exact = create(&dir, "exact", &document, "t_exact", &exact_flags);
    let mut off_flags = map.to_vec();
    off_flags.extend_from_slice(&["--verify-headers", "off"]);
    let off = create(&dir, "off", &document, "t_off", &off_flags);
    let shown: serde_json::Value =
        serde_json::from_str(&dir.ok(&["campaign", "imports", "show", &names])).unwrap();
    assert_eq!(
        shown["definition"]["expected_headers"],
        serde_json::json!(["Email", "Name"])
    );

    // The same names in another order: fine by names, not exactly.
    replace("Name,Email\nBen,b@example.com\n");
    assert_eq!(run(&dir, &names).1, 0);
    let error = run_fails(&dir, &exact);
    assert!(error.contains("verify_headers exact"), "{error}");

    // A renamed column and an extra one: named, and nothing read or created.
    replace("Email,Full name,Extra\nc@example.com,Cy,x\n");
    let error = run_fails(&dir, &names);
    assert!(
        error.contains("missing: \"Name\"")
            && error.contains("unexpected: \"Full name\", \"Extra\""),
        "{error}"
    );
    assert_eq!(table(&dir, "t_names").1, [["b@example.com", "Ben"]]);
    assert!(!table_names(&dir).contains(&"t_exact".to_string()));

    // With verification off, an extra column is just not mapped.
    replace("Email,Name,Extra\nd@example.com,Di,x\n");
    let (report, code) = run(&dir, &off);
    assert_eq!(code, 0, "{report}");
    assert_eq!(table(&dir, "t_off").1, [["d@example.com", "Di"]]);
}
