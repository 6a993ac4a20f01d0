//! The Data Import tool (campaign-import.md §6–§9): saved definitions, validation and the run
//! engine. One engine for the CLI, the API and the web page.
//!
//! Current limits (documented, to be lifted): in-file duplicate detection and the staged rows
//! are kept in memory (a `HashMap` of key → row; IMP-32 asks for temporary storage); the
//! percentage threshold is evaluated once at the end (nothing is committed before then, so the
//! outcome is the same, only later); the reject file has the columns `line, reason, column,
//! message, raw` rather than §8.2's source columns + `_line, _column, _reason_code, _reason`.

mod definition;
mod run;
pub mod saved;

pub use definition::{
    DialectSpec, Duplicates, ImportDefinition, Mapping, Mode, SourceColumn, TargetSpec, Thresholds,
    ValidImport,
};
pub use run::{
    Counts, DefinitionRef, Report, SourceReport, TargetReport, ThresholdReport, new_definition_id,
    new_run_id, run, run_as,
};
