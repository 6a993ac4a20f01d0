//! Saved definitions (§9): create, replace, duplicate and delete them, and their JSON, the
//! same for the CLI and the API. IMP-41: names are unique per instance (the store enforces
//! it) and every change adds one to the version. IMP-42: the JSON a definition is shown or
//! exported as can be given back to create or replace one.

use serde_json::{Value, json};
use userbridge_store::{Conflict, DefinitionDeletion, ImportDefinitionRecord, Store, StoreError};

use super::definition::ImportDefinition;
use super::headers::VerifyHeaders;
use super::run::new_definition_id;
use crate::{CampaignError, Documents, Result};

/// Properties of a saved definition's JSON that the instance owns: accepted in a body and
/// ignored, so a definition shown by one instance can be given to another.
pub const READ_ONLY: [&str; 4] = ["id", "version", "created_at", "updated_at"];

/// A saved definition: its record and the definition it holds.
#[derive(Debug, Clone)]
pub struct Saved {
    pub record: ImportDefinitionRecord,
    pub definition: ImportDefinition,
}

/// Reads a definition body: the bare definition (`{"name", "document", …}`), or a saved
/// definition as shown (`{"id", "name", "version", …, "definition": {…}}`). Read-only
/// properties are ignored. In the second form a top-level `name` must equal the inner one,
/// so an edit of either is never silently dropped. The error is the problem, for the
/// caller to place (an API body, a file).
pub fn parse_definition(value: Value) -> std::result::Result<ImportDefinition, String> {
    let Value::Object(mut map) = value else {
        return Err("expected a JSON object".to_string());
    };
    for key in READ_ONLY {
        map.remove(key);
    }
    let outer_name = match map.get("definition") {
        Some(Value::Object(_)) => map.remove("name"),
        _ => None,
    };
    let body = match map.remove("definition") {
        Some(Value::Object(inner)) => inner,
        Some(other) => {
            map.insert("definition".to_string(), other);
            map
        }
        None => map,
    };
    let definition: ImportDefinition =
        serde_json::from_value(Value::Object(body)).map_err(|e| e.to_string())?;
    match outer_name {
        Some(Value::String(name)) if name != definition.name => Err(format!(
            "name {name:?} differs from definition.name {:?}; give one name",
            definition.name
        )),
        Some(Value::String(_)) | None => Ok(definition),
        Some(_) => Err("name: expected a string".to_string()),
    }
}

/// The JSON of a saved definition, as the API answers and `campaign imports show` prints.
pub fn saved_json(record: &ImportDefinitionRecord) -> Result<Value> {
    let definition: Value = serde_json::from_str(&record.definition).map_err(|e| {
        CampaignError::Internal(format!("definition {} is unreadable: {e}", record.id))
    })?;
    Ok(json!({
        "id": record.id,
        "name": record.name,
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "definition": definition,
    }))
}

/// The definition alone, without what belongs to this instance (`campaign imports export`):
/// `create --from` on any instance makes it again.
pub fn export_json(saved: &Saved) -> Result<Value> {
    serde_json::to_value(&saved.definition).map_err(|e| CampaignError::Internal(e.to_string()))
}

pub fn load(store: &dyn Store, id: &str) -> Result<Saved> {
    let record = store
        .import_definition(id)?
        .ok_or_else(|| CampaignError::ImportNotFound { id: id.to_string() })?;
    let definition = serde_json::from_str(&record.definition).map_err(|e| {
        CampaignError::Internal(format!("definition {} is unreadable: {e}", record.id))
    })?;
    Ok(Saved { record, definition })
}

fn record(id: String, definition: &ImportDefinition) -> Result<ImportDefinitionRecord> {
    Ok(ImportDefinitionRecord {
        id,
        name: definition.name.clone(),
        definition: serde_json::to_string(definition)
            .map_err(|e| CampaignError::Internal(e.to_string()))?,
        version: 0,
        created_at: String::new(),
        updated_at: String::new(),
    })
}

/// The store's name clash, with the name.
fn name_taken(name: &str) -> impl FnOnce(StoreError) -> CampaignError + '_ {
    move |e| match e {
        StoreError::Conflict(Conflict::ImportDefinitionName) => CampaignError::ImportExists {
            name: name.to_string(),
        },
        other => other.into(),
    }
}

/// Validates and saves a new definition (version 1).
pub fn create(
    store: &dyn Store,
    docs: &Documents,
    definition: &ImportDefinition,
) -> Result<ImportDefinitionRecord> {
    let definition = validated(store, docs, definition)?;
    save_new(store, &definition)
}

/// Validates a definition to be saved and remembers the header row of its document (RUN-8),
/// unless it already names one or verification is off.
fn validated(
    store: &dyn Store,
    docs: &Documents,
    definition: &ImportDefinition,
) -> Result<ImportDefinition> {
    let valid = definition.validate(store, docs)?;
    let mut definition = definition.clone();
    if definition.expected_headers.is_none() && definition.verify_headers != VerifyHeaders::Off {
        // A document that cannot be read is saved against all the same: its run reports why,
        // and a replacement uploaded under the same path may be fine. Nothing is remembered.
        definition.expected_headers = super::headers::read_headers(docs, &valid).unwrap_or(None);
    }
    Ok(definition)
}

fn save_new(store: &dyn Store, definition: &ImportDefinition) -> Result<ImportDefinitionRecord> {
    let id = new_definition_id();
    store
        .save_import_definition(&record(id.clone(), definition)?)
        .map_err(name_taken(&definition.name))?;
    Ok(load(store, &id)?.record)
}

/// Validates a definition and puts it in the place of saved definition `id` (same id and
/// `created_at`, version + 1).
pub fn replace(
    store: &dyn Store,
    docs: &Documents,
    id: &str,
    definition: &ImportDefinition,
) -> Result<ImportDefinitionRecord> {
    // An unknown id is answered as such before the body is judged.
    load(store, id)?;
    let definition = &validated(store, docs, definition)?;
    store
        .update_import_definition(&record(id.to_string(), definition)?)
        .map_err(name_taken(&definition.name))?
        .ok_or_else(|| CampaignError::ImportNotFound { id: id.to_string() })?;
    Ok(load(store, id)?.record)
}

/// Saves a copy of definition `id` as a new definition (version 1) named `name`, by default
/// `"<name> (copy)"`. The copy is not validated again: it is what was saved, and a copy is
/// how one fixes a definition whose document has gone while keeping the original.
pub fn duplicate(
    store: &dyn Store,
    id: &str,
    name: Option<&str>,
) -> Result<ImportDefinitionRecord> {
    let mut definition = load(store, id)?.definition;
    definition.name = match name {
        Some(name) => name.to_string(),
        None => format!("{} (copy)", definition.name),
    };
    if definition.name.trim().is_empty() {
        return Err(CampaignError::InvalidImport {
            entry: "name".to_string(),
            reason: "must not be empty".to_string(),
        });
    }
    save_new(store, &definition)
}

/// Deletes definition `id` unless one of its runs is in one of `busy_states`; its past runs
/// stay readable.
pub fn delete(store: &dyn Store, id: &str, busy_states: &[&str]) -> Result<()> {
    match store.delete_import_definition(id, busy_states)? {
        DefinitionDeletion::Deleted => Ok(()),
        DefinitionDeletion::NotFound => Err(CampaignError::ImportNotFound { id: id.to_string() }),
        DefinitionDeletion::Busy(run) => Err(CampaignError::ImportInUse {
            id: id.to_string(),
            process: run.id,
            state: run.state,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::parse_definition;

    fn bare() -> serde_json::Value {
        json!({
            "name": "people",
            "document": "/people.csv",
            "target": { "table": "people", "create": true },
            "mapping": [{ "source": "Email", "column": { "name": "Email", "type": "email" } }],
            "key": ["Email"],
        })
    }

    #[test]
    fn bare_and_saved_forms_read_the_same() {
        let plain = parse_definition(bare()).unwrap();
        let mut with_read_only = bare();
        with_read_only["id"] = json!("def_x");
        with_read_only["version"] = json!(4);
        assert_eq!(parse_definition(with_read_only).unwrap(), plain);
        let shown = json!({
            "id": "def_x", "name": "people", "version": 4,
            "created_at": "t", "updated_at": "t", "definition": bare(),
        });
        assert_eq!(parse_definition(shown).unwrap(), plain);
        // Without the outer name, the inner one is the name.
        let shown = json!({ "id": "def_x", "definition": bare() });
        assert_eq!(parse_definition(shown).unwrap(), plain);
    }

    #[test]
    fn two_different_names_and_non_definitions_are_refused() {
        let shown = json!({ "name": "other", "definition": bare() });
        let e = parse_definition(shown).unwrap_err();
        assert!(e.contains("\"other\"") && e.contains("\"people\""), "{e}");
        assert!(parse_definition(json!([1])).is_err());
        assert!(parse_definition(json!({ "name": "x" })).is_err());
        assert!(parse_definition(json!({ "name": "x", "definition": 3 })).is_err());
    }
}
