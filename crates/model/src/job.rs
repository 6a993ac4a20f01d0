//! Background jobs (`management-api.md` §7).

use std::fmt;
use std::str::FromStr;

use crate::{ModelError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    UsersExport,
    UsersImport,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::UsersExport => "users_export",
            JobKind::UsersImport => "users_import",
        }
    }
}

impl FromStr for JobKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "users_export" => Ok(JobKind::UsersExport),
            "users_import" => Ok(JobKind::UsersImport),
            _ => Err(ModelError::Invalid {
                what: "job type",
                value: s.to_string(),
            }),
        }
    }
}

/// `pending → processing → completed | failed`, then `expired` when the job's data is purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Processing,
    Completed,
    Failed,
    Expired,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Expired => "expired",
        }
    }
}

impl FromStr for JobStatus {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => JobStatus::Pending,
            "processing" => JobStatus::Processing,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            "expired" => JobStatus::Expired,
            _ => {
                return Err(ModelError::Invalid {
                    what: "job status",
                    value: s.to_string(),
                });
            }
        })
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shape of an export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Tab-separated, header row first.
    Tsv,
    /// Comma-separated (or another single-character delimiter), header row first.
    Csv,
    /// A JSON array, one object per line.
    JsonArray,
    /// One JSON object per line.
    Ndjson,
}

impl ExportFormat {
    /// Parses a CLI format name: `tsv`, `csv`, `json` (an array), `ndjson`.
    pub fn from_cli(name: &str) -> Result<ExportFormat> {
        match name {
            "tsv" => Ok(ExportFormat::Tsv),
            "csv" => Ok(ExportFormat::Csv),
            "json" => Ok(ExportFormat::JsonArray),
            "ndjson" => Ok(ExportFormat::Ndjson),
            _ => Err(ModelError::Invalid {
                what: "format (expected tsv, csv, json or ndjson)",
                value: name.to_string(),
            }),
        }
    }

    /// Parses a jobs-API format name: Auth0's `csv` and `json` (= NDJSON), and
    /// userbridge's `tsv` and `json_array`.
    pub fn from_api(name: &str) -> Result<ExportFormat> {
        match name {
            "tsv" => Ok(ExportFormat::Tsv),
            "csv" => Ok(ExportFormat::Csv),
            "json" => Ok(ExportFormat::Ndjson),
            "json_array" => Ok(ExportFormat::JsonArray),
            _ => Err(ModelError::Invalid {
                what: "format",
                value: name.to_string(),
            }),
        }
    }

    pub fn is_delimited(self) -> bool {
        matches!(self, ExportFormat::Tsv | ExportFormat::Csv)
    }

    /// The file extension an API download carries before `.gz` (Auth0 names: `csv`, `json`).
    pub fn api_extension(self) -> &'static str {
        if self.is_delimited() { "csv" } else { "json" }
    }
}

/// A job as stored. `spec` is the job's validated request as JSON, echoed by the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub created_at: String,
    pub connection_id: Option<String>,
    pub connection: Option<String>,
    /// The request as the API echoes it (format, limit, fields, options…).
    pub spec: serde_json::Value,
    /// Records handled so far and records in all.
    pub processed: u64,
    pub total: u64,
    pub status_details: Option<String>,
    /// Result of a finished job (export: file name; import: summary), as JSON.
    pub result: Option<serde_json::Value>,
    pub finished_at: Option<String>,
    /// Who created it: a client id, `dashboard:<admin>`; `None` for jobs older than the record.
    pub created_by: Option<String>,
}
