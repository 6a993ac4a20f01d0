//! `userbridge admin …`: dashboard administrators.

use std::process::ExitCode;

use userbridge_server::web::admins;
use userbridge_store::Store;

use crate::cli::AdminCommand;

pub fn run(store: &dyn Store, command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            if password_stdin {
                let password = super::read_stdin_line("password")?;
                admins::set_password(store, &username, &password)?;
                println!("dashboard password of {username} changed; its sessions ended");
            } else {
                let password = admins::generate_password();
                admins::set_password(store, &username, &password)?;
                println!("dashboard login: {username} / {password} (shown once)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
