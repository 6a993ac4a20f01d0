//! Campaign table and column names (IMP-1) and SQL identifier quoting (issue 6, injection).
//!
//! Table names are strict — 1–63 characters matching `^[A-Za-z][A-Za-z0-9_]*$`, and not
//! starting with `sqlite_` (reserved by SQLite) — so quotes, semicolons, spaces and comment
//! markers can never appear in them. Column names are free text (1–128 printable
//! characters, unique case-insensitively), so quotes, semicolons and SQL keywords are
//! allowed; every identifier is always emitted through [`quote_identifier`].

/// The longest table name, in characters.
pub const MAX_TABLE_NAME_CHARS: usize = 63;
/// The longest column name, in characters.
pub const MAX_COLUMN_NAME_CHARS: usize = 128;

/// Checks a campaign table name.
pub fn check_table_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err("a table name cannot be empty".into());
    }
    if chars > MAX_TABLE_NAME_CHARS {
        return Err(format!(
            "a table name is at most {MAX_TABLE_NAME_CHARS} characters, this one has {chars}"
        ));
    }
    let mut it = name.chars();
    let starts_with_letter = it.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !it.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "table name {name:?} must start with a letter and hold only letters A–Z, digits \
             and '_'"
        ));
    }
    if name.len() >= 7 && name[..7].eq_ignore_ascii_case("sqlite_") {
        return Err(format!("table name {name:?} is reserved (sqlite_ prefix)"));
    }
    Ok(())
}

/// The hidden columns of every table's storage; a campaign column cannot take their names.
pub const RESERVED_COLUMN_NAMES: [&str; 2] = ["_row", "_key"];

/// Checks one column name: 1–128 characters, no control characters, not a reserved name.
pub fn check_column_name(name: &str) -> Result<(), String> {
    if RESERVED_COLUMN_NAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
    {
        return Err(format!("column name {name:?} is reserved"));
    }
    let chars = name.chars().count();
    if chars == 0 {
        return Err("a column name cannot be empty".into());
    }
    if chars > MAX_COLUMN_NAME_CHARS {
        return Err(format!(
            "a column name is at most {MAX_COLUMN_NAME_CHARS} characters, this one has {chars}"
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "column name {name:?} contains a control character (U+{:04X})",
            c as u32
        ));
    }
    Ok(())
}

/// Checks the ordered column names of a table: each valid, and unique case-insensitively.
pub fn check_column_names(names: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        check_column_name(name)?;
        if let Some(j) = seen.insert(name.to_lowercase(), i) {
            return Err(format!(
                "column names must be unique ignoring case: {:?} (column {}) and {:?} (column {})",
                names[j],
                j + 1,
                name,
                i + 1
            ));
        }
    }
    Ok(())
}

/// Quotes an SQL identifier: wrapped in `"` with every `"` doubled.
pub fn quote_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}
