//! `userbridge clients …`: the machine-to-machine clients of the API.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use userbridge_server::auth::clients;
use userbridge_store::{AuditEvent, Store};

use super::serve::{CLIENT_FILE, management_client_id, update_management_secret};
use crate::cli::ClientsCommand;

pub fn run(
    store: &dyn Store,
    data_dir: &Path,
    command: ClientsCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        ClientsCommand::Create { name, scopes } => {
            let scopes = clients::parse_scopes(&scopes)?;
            let (client, secret) = clients::create_client(store, &name, &scopes)?;
            audit(
                store,
                "client.created",
                &client.client_id,
                json!({ "name": client.name, "scopes": client.scopes }),
            )?;
            print_json(&json!({
                "client_id": client.client_id,
                "client_secret": secret,
                "name": client.name,
                "scopes": client.scopes,
            }))?;
            eprintln!(
                "the secret is shown only now (a new one: userbridge clients rotate-secret {})",
                client.client_id
            );
        }
        ClientsCommand::Ls => {
            for client in store.clients()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    client.client_id,
                    client.created_at,
                    client.name,
                    client.scopes.join(" ")
                );
            }
        }
        ClientsCommand::RotateSecret { client_id } => {
            let secret = clients::rotate_secret(store, &client_id)?;
            audit(store, "client.secret_rotated", &client_id, json!({}))?;
            print_json(&json!({ "client_id": client_id, "client_secret": secret }))?;
            if update_management_secret(data_dir, &client_id, &secret)? {
                eprintln!("the management client: {CLIENT_FILE} holds the new secret");
            } else {
                eprintln!("the secret is shown only now; the old one no longer works");
            }
        }
        ClientsCommand::Rm { client_id } => {
            clients::delete_client(store, &client_id)?;
            audit(store, "client.removed", &client_id, json!({}))?;
            println!("client {client_id} removed; its tokens are refused from now on");
            if management_client_id(data_dir).as_deref() == Some(client_id.as_str()) {
                eprintln!(
                    "it was the management client: the next `userbridge serve` creates a new one"
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Client administration is an admin action: the audit log says who did it and when (never
/// the secret).
fn audit(
    store: &dyn Store,
    action: &str,
    client_id: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store.record_audit(&AuditEvent::new(
        super::CLI_ACTOR,
        action,
        client_id,
        detail,
    ))?;
    Ok(())
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
