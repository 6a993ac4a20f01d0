//! The run report (campaign-import.md §8.1): what a run read, did and rejected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionRef {
    pub id: Option<String>,
    pub name: String,
    /// The definition's version when the run started (IMP-41).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceReport {
    pub document: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub encoding: String,
    pub bom: bool,
    pub delimiter: String,
    pub qualifier: Option<String>,
    pub header: bool,
    pub skip_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    pub table: String,
    pub mode: String,
    pub key: Vec<String>,
    pub duplicates: String,
    /// The table was created by this run.
    pub created: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub physical_lines: u64,
    pub skipped_lines: u64,
    pub blank_lines: u64,
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rejected_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rejected_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_if_first_rows_rejected: Option<u64>,
    /// Rejected rows that count toward thresholds (duplicate-policy rejects do not).
    pub counted_rejects: u64,
    pub tripped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The run report (§8.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub process_id: String,
    pub definition: DefinitionRef,
    pub dry_run: bool,
    /// `completed`, `completed_with_rejects` or `aborted`.
    pub state: String,
    pub source: SourceReport,
    pub target: TargetReport,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub rows_per_second: f64,
    pub counts: Counts,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub truncated_cells: u64,
    pub threshold: ThresholdReport,
    pub reject_file: Option<String>,
    pub warnings: Vec<String>,
}
