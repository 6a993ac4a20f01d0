//! From a request (CLI flags, an API body, a web form) to one validated [`ExportSpec`].

use std::collections::HashMap;

use userbridge_formats::{DateFormat, FormulaEscape, WriterOptions};
use userbridge_model::field_path::MAX_PATH_CHARS;
use userbridge_model::{Attribute, ExportFormat, FieldPath};
use userbridge_store::{ConnectionSelector, Store, UserScan};

use crate::{ExportError, Result};

/// The extension's "Add Default Fields" list (`user-schema.md` §9.4): path, column name.
pub const DEFAULT_FIELDS: [(&str, &str); 11] = [
    ("user_id", "Id"),
    ("given_name", "Given Name"),
    ("family_name", "Family Name"),
    ("nickname", "Nickname"),
    ("name", "Name"),
    ("email", "Email"),
    ("email_verified", "Email Verified"),
    ("picture", "Picture"),
    ("identities[0].connection", "Connection"),
    ("created_at", "Created At"),
    ("updated_at", "Updated At"),
];

/// One requested field: a path into the profile and the column it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequest {
    pub name: String,
    pub export_as: Option<String>,
}

/// Writer options as requested, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    pub delimiter: Option<String>,
    pub bom: bool,
    pub crlf: bool,
    pub flatten_newlines: bool,
    pub formula_escape: Option<String>,
    pub date_format: Option<String>,
}

/// An export as asked for by a person or a program: nothing checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub format: ExportFormat,
    pub fields: Vec<FieldRequest>,
    /// Put the 11 default fields first.
    pub default_fields: bool,
    pub connection: Option<ConnectionSelector>,
    pub limit: Option<u64>,
    pub options: ExportOptions,
    /// Gzip the output, with this original file name in the gzip header.
    pub gzip: Option<String>,
    /// Whole-profile JSON/NDJSON records also carry password hashes and MFA factors. Only
    /// `userbridge export --include-secrets` sets it; no API body can.
    pub include_secrets: bool,
}

impl ExportRequest {
    pub fn new(format: ExportFormat) -> ExportRequest {
        ExportRequest {
            format,
            fields: Vec::new(),
            default_fields: false,
            connection: None,
            limit: None,
            options: ExportOptions::default(),
            gzip: None,
            include_secrets: false,
        }
    }
}

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub path: FieldPath,
    pub header: String,
}

/// A validated export, ready to run.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// `None`: whole-profile JSON/NDJSON records.
    pub columns: Option<Vec<Column>>,
    pub connection_id: Option<String>,
    pub connection_name: Option<String>,
    pub limit: Option<u64>,
    pub writer: WriterOptions,
    pub gzip: Option<String>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ExportError {
    ExportError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl ExportSpec {
    /// Validates a request: every problem is reported with the entry it concerns, before
    /// any work starts.
    pub fn validate(request: &ExportRequest, store: &dyn Store) -> Result<ExportSpec> {
        let format = request.format;
        let mut fields: Vec<FieldRequest> = Vec::new();
        let defaults_apply =
            request.default_fields || (request.fields.is_empty() && format.is_delimited());
        if defaults_apply {
            fields.extend(DEFAULT_FIELDS.iter().map(|(name, column)| FieldRequest {
                name: name.to_string(),
                export_as: Some(column.to_string()),
            }));
        }
        let offset = fields.len();
        fields.extend(request.fields.iter().cloned());

        let columns = if fields.is_empty() {
            None
        } else {
            let mut columns = Vec::with_capacity(fields.len());
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (i, field) in fields.iter().enumerate() {
                // Numbered as the caller sent them; defaults are named as such.
                let label = if i < offset {
                    format!("default field {:?}", field.name)
                } else {
                    format!("fields[{}]", i - offset)
                };
                let path = FieldPath::parse(&field.name)
                    .map_err(|e| invalid(format!("{label}.name"), e.to_string()))?;
                let header = match &field.export_as {
                    Some(h) if h.is_empty() => {
                        return Err(invalid(format!("{label}.export_as"), "must not be empty"));
                    }
                    Some(h) if h.chars().count() > MAX_PATH_CHARS => {
                        return Err(invalid(
                            format!("{label}.export_as"),
                            "longer than 100 characters",
                        ));
                    }
                    Some(h) => h.clone(),
                    None => field.name.clone(),
                };
                if let Some(first) = seen.insert(header.clone(), i) {
                    let first_label = if first < offset {
                        format!("default field {:?}", fields[first].name)
                    } else {
                        format!("fields[{}]", first - offset)
                    };
                    return Err(invalid(
                        label,
                        format!("duplicate column name {header:?} (also used by {first_label})"),
                    ));
                }
                columns.push(Column { path, header });
            }
            Some(columns)
        };

        let options = &request.options;
        let delimiter = match (&options.delimiter, format) {
            (None, ExportFormat::Tsv) => '\t',
            (None, _) => ',',
            (Some(d), ExportFormat::Csv) => {
                let mut chars = d.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !matches!(c, '"' | '\r' | '\n') => c,
                    _ => {
                        return Err(invalid(
                            "delimiter",
                            format!(
                                "must be one character other than a quote or a line break, got {d:?}"
                            ),
                        ));
                    }
                }
            }
            (Some(_), _) => return Err(invalid("delimiter", "only applies to the csv format")),
        };
        let formula_escape = match &options.formula_escape {
            Some(mode) => mode
                .parse::<FormulaEscape>()
                .map_err(|e| invalid("formula_escape", e.to_string()))?,
            None => FormulaEscape::Smart,
        };
        let date_format = options
            .date_format
            .as_deref()
            .map(DateFormat::parse)
            .transpose()
            .map_err(|e| invalid("date_format", e.to_string()))?;
        if request.limit == Some(0) {
            return Err(invalid("limit", "must be at least 1"));
        }
        if request.include_secrets && (columns.is_some() || format.is_delimited()) {
            return Err(invalid(
                "include_secrets",
                "secrets are only written into whole-profile json or ndjson records \
                 (no fields, no default fields)",
            ));
        }

        let connection = match &request.connection {
            None => None,
            Some(selector) => Some(
                selector
                    .resolve(store)?
                    .ok_or_else(|| ExportError::UnknownConnection(selector.to_string()))?,
            ),
        };

        Ok(ExportSpec {
            columns,
            connection_id: connection.as_ref().map(|c| c.id.clone()),
            connection_name: connection.map(|c| c.name),
            limit: request.limit,
            writer: WriterOptions {
                format,
                delimiter,
                crlf: options.crlf,
                bom: options.bom,
                flatten_newlines: options.flatten_newlines,
                formula_escape,
                date_format,
                include_secrets: request.include_secrets,
            },
            gzip: request.gzip.clone(),
        })
    }

    /// The store scan this export reads: only the attributes its columns need.
    pub fn scan(&self) -> UserScan {
        let attributes: Option<Vec<Attribute>> = self
            .columns
            .as_ref()
            .map(|cols| cols.iter().map(|c| c.path.root()).collect());
        UserScan {
            connection_id: self.connection_id.clone(),
            limit: self.limit,
            attributes,
        }
    }
}
