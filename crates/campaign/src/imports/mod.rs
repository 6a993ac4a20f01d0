//! The Data Import tool (campaign-import.md §6–§9): saved definitions, validation and the run
//! engine. One engine for the CLI, the API and the web page.
//!
//! A run stages every record in a scratch file before applying anything (RUN-2), so files of
//! any size are de-duplicated and accounted for in flat memory; see [`run`]'s module.

mod control;
mod definition;
mod headers;
mod report;
mod run;
pub mod saved;

pub use control::{Phase, Progress, RunControl};
pub use definition::{
    DialectSpec, Duplicates, ImportDefinition, Mapping, Mode, SourceColumn, TargetSpec, Thresholds,
    ValidImport,
};
pub use headers::VerifyHeaders;
pub use report::{Counts, DefinitionRef, Report, SourceReport, TargetReport, ThresholdReport};
pub use run::{new_definition_id, new_run_id, run, run_with};
