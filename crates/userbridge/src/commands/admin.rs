//! `userbridge admin …`: dashboard administrators.

use std::process::ExitCode;

use userbridge_server::web::admins;
use userbridge_store::{AuditEvent, Store};

use crate::cli::AdminCommand;

pub fn run(store: &dyn Store, command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let record = |how: &str| {
                store.record_audit(&AuditEvent::new(
                    super::CLI_ACTOR,
                    "admin.password_reset",
                    &username,
                    serde_json::json!({ "password": how }),
                ))
            };
            if password_stdin {
                let password = super::read_stdin_line("password")?;
                admins::set_password(store, &username, &password)?;
                record("from standard input")?;
                println!("dashboard password of {username} changed; its sessions ended");
            } else {
                let password = admins::generate_password();
                admins::set_password(store, &username, &password)?;
                record("generated")?;
                println!("dashboard login: {username} / {password} (shown once)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
