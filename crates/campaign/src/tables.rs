//! Campaign tables as the CLI and the API show them (campaign-import.md §5): JSON
//! descriptions, cell text, and the CSV/TSV export through the export writer (with its
//! formula protection).

use std::io::Write;

use serde_json::{Value, json};
use userbridge_formats::{ExportFormat, FieldValue, RecordWriter, WriterOptions};
use userbridge_store::{CampaignTable, Store, StoreError, StoredValue};

use crate::{CampaignError, Result};

/// A table's description: name, key, row count, creation time, columns with their specs.
pub fn describe(t: &CampaignTable) -> Value {
    let columns: Vec<_> = t
        .columns
        .iter()
        .map(|c| json!({ "name": c.name, "spec": c.spec }))
        .collect();
    json!({
        "name": t.name,
        "key": t.key,
        "rows": t.rows,
        "created_at": t.created_at,
        "columns": columns,
    })
}

/// A stored cell as text (NULL is empty).
pub fn text(value: &StoredValue) -> String {
    match value {
        StoredValue::Null => String::new(),
        StoredValue::Integer(i) => i.to_string(),
        StoredValue::Text(s) => s.clone(),
    }
}

/// A stored cell as JSON (NULL is null, integers are numbers).
pub fn json_cell(value: &StoredValue) -> Value {
    match value {
        StoredValue::Null => Value::Null,
        StoredValue::Integer(i) => json!(i),
        StoredValue::Text(s) => json!(s),
    }
}

/// `csv` or `tsv` (case-insensitive).
pub fn export_format(text: &str) -> std::result::Result<ExportFormat, String> {
    match text.to_ascii_lowercase().as_str() {
        "csv" => Ok(ExportFormat::Csv),
        "tsv" => Ok(ExportFormat::Tsv),
        other => Err(format!("format {other:?}: use csv or tsv")),
    }
}

/// Writes every row of `table` (header first) to `out` with the export writer; returns
/// `out`, flushed.
pub fn export<W: Write>(
    store: &dyn Store,
    table: &CampaignTable,
    format: ExportFormat,
    out: W,
) -> Result<W> {
    let options = WriterOptions::new(format);
    let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let failed = |e: userbridge_formats::FormatError| CampaignError::Io {
        context: format!("cannot export table {}", table.name),
        source: std::io::Error::other(e.to_string()),
    };
    let mut writer = RecordWriter::new(out, &options, Some(columns)).map_err(failed)?;
    let mut failure: Option<userbridge_formats::FormatError> = None;
    store.scan_campaign_rows(&table.name, &mut |row| {
        let result = (|| -> std::result::Result<(), userbridge_formats::FormatError> {
            for v in row {
                let s = text(v);
                writer.write_cell(&FieldValue::Str(&s))?;
            }
            writer.end_record()
        })();
        result.map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            StoreError::Aborted(message)
        })
    })?;
    if let Some(e) = failure {
        return Err(failed(e));
    }
    let mut out = writer.finish().map_err(failed)?;
    out.flush()
        .map_err(CampaignError::io("cannot export the table"))?;
    Ok(out)
}
