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
            store.record_audit(&AuditEvent::new(
                super::CLI_ACTOR,
                "signing_key.rotated",
                &kid,
                serde_json::json!({}),
            ))?;
            println!("{kid}");
            if had_one {
                eprintln!(
                    "new signing key {kid}; the previous one verifies its tokens until they \
                     expire (one --token-lifetime), then the server deletes it"
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
