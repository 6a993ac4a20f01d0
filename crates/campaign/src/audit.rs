//! The audit events of the campaign data manager, one shape whether the CLI or the server
//! records them: documents changed, definitions saved or deleted, runs started and finished.
//! Details are names and counts only, never a row's content.

use serde_json::json;
use userbridge_store::{AuditEvent, ImportDefinitionRecord};

use crate::imports::Report;
use crate::{Deleted, DirectoryInfo, DocumentInfo};

pub fn directory_created(actor: &str, directory: &DirectoryInfo) -> AuditEvent {
    AuditEvent::new(actor, "directory.created", &directory.path, json!({}))
}

pub fn document_uploaded(actor: &str, document: &DocumentInfo) -> AuditEvent {
    AuditEvent::new(
        actor,
        "document.uploaded",
        &document.path,
        json!({ "id": document.id, "size": document.size, "sha256": document.sha256 }),
    )
}

pub fn deleted(actor: &str, path: &str, deleted: &Deleted) -> AuditEvent {
    let action = match deleted.directories {
        true => "directory.deleted",
        false => "document.deleted",
    };
    AuditEvent::new(
        actor,
        action,
        path,
        json!({ "documents": deleted.documents }),
    )
}

pub fn moved(actor: &str, from: &str, to: &str) -> AuditEvent {
    AuditEvent::new(actor, "document.moved", from, json!({ "to": to }))
}

/// `verb`: `created`, `replaced` or `duplicated`.
pub fn definition_saved(actor: &str, verb: &str, saved: &ImportDefinitionRecord) -> AuditEvent {
    AuditEvent::new(
        actor,
        format!("import_definition.{verb}"),
        &saved.id,
        json!({ "name": saved.name, "version": saved.version }),
    )
}

pub fn definition_deleted(actor: &str, id: &str) -> AuditEvent {
    AuditEvent::new(actor, "import_definition.deleted", id, json!({}))
}

pub fn run_started(
    actor: &str,
    process_id: &str,
    definition_id: &str,
    dry_run: bool,
) -> AuditEvent {
    AuditEvent::new(
        actor,
        "campaign_import.started",
        process_id,
        json!({ "definition": definition_id, "dry_run": dry_run }),
    )
}

/// A run that ended with a report: its state, table and counts.
pub fn run_finished(actor: &str, report: &Report) -> AuditEvent {
    let c = &report.counts;
    AuditEvent::new(
        actor,
        "campaign_import.finished",
        &report.process_id,
        json!({
            "state": report.state,
            "table": report.target.table,
            "dry_run": report.dry_run,
            "read": c.read,
            "inserted": c.inserted,
            "updated": c.updated,
            "unchanged": c.unchanged,
            "rejected": c.rejected,
        }),
    )
}

/// A run that ended without a report (failed, cancelled): its state only; the message may
/// quote the document, so it stays in the process record.
pub fn run_ended(actor: &str, process_id: &str, state: &str) -> AuditEvent {
    AuditEvent::new(
        actor,
        "campaign_import.finished",
        process_id,
        json!({ "state": state }),
    )
}
