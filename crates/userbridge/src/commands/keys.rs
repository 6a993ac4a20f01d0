//! `userbridge keys …`: the key pairs that sign access tokens.

use std::path::Path;
use std::process::ExitCode;

use userbridge_model::time;
use userbridge_server::auth::keys;
use userbridge_store::{AuditEvent, Store};

use crate::cli::KeysCommand;

fn iso(unix_seconds: i64) -> String {
    time::format_millis(unix_seconds.saturating_mul(1000))
}

fn audit(store: &dyn Store, action: &str, kid: &str) -> anyhow::Result<()> {
    let event = AuditEvent::new(super::CLI_ACTOR, action, kid, serde_json::json!({}));
    Ok(store.record_audit(&event)?)
}

pub fn run(store: &dyn Store, data_dir: &Path, command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Ls => {
            for key in store.signing_keys()? {
                let status = match key.retired_at {
                    None => "current".to_string(),
                    Some(at) => format!("retired {}", iso(at)),
                };
                println!("{}\t{}\t{status}", key.kid, iso(key.created_at));
            }
        }
        KeysCommand::Rotate => {
            let had_one = store.current_signing_key()?.is_some();
            let kid = keys::rotate(store, data_dir)?;
            audit(store, "signing_key.rotated", &kid)?;
            println!("{kid}");
            if had_one {
                eprintln!(
                    "new signing key {kid}; the previous one verifies its tokens until they \
                     expire (one --token-lifetime), then the server deletes it"
                );
            }
        }
        KeysCommand::Revoke { kid } => {
            keys::revoke(store, data_dir, &kid)?;
            audit(store, "signing_key.revoked", &kid)?;
            eprintln!(
                "signing key {kid} revoked: its tokens are refused (by a running server \
                 within a minute)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
