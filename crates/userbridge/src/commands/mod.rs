//! One module per command; each turns its flags into a typed spec and calls a library.

mod admin;
mod campaign;
mod campaign_imports;
mod clients;
mod export;
mod import;
mod keys;
mod serve;
mod users;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use userbridge_store::SqliteStore;

use crate::cli::{AuditCommand, Cli, Command, ConnectionsCommand};

/// Who the audit log names for what the CLI does.
pub const CLI_ACTOR: &str = "cli";

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.data_dir, args),
        Command::Export(args) => export::run(&*open(&cli.data_dir)?, args),
        Command::Import(args) => import::run(&*open(&cli.data_dir)?, &cli.data_dir, args),
        Command::Users(command) => users::run(&*open(&cli.data_dir)?, command),
        Command::Connections(command) => connections(&*open(&cli.data_dir)?, command),
        Command::Campaign(command) => campaign::run(open(&cli.data_dir)?, &cli.data_dir, command),
        Command::Admin(command) => admin::run(&*open(&cli.data_dir)?, command),
        Command::Audit(command) => audit(&*open(&cli.data_dir)?, command),
        Command::Clients(command) => clients::run(&*open(&cli.data_dir)?, &cli.data_dir, command),
        Command::Keys(command) => keys::run(&*open(&cli.data_dir)?, &cli.data_dir, command),
    }
}

fn audit(store: &SqliteStore, command: AuditCommand) -> anyhow::Result<ExitCode> {
    use userbridge_store::Store;
    match command {
        AuditCommand::Ls { limit } => {
            for e in store.audit_events(0, limit)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.at, e.actor, e.action, e.target, e.detail
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the store in the data directory (creating it on first use).
pub fn open(data_dir: &std::path::Path) -> anyhow::Result<Arc<SqliteStore>> {
    let store = SqliteStore::open(data_dir)
        .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?;
    Ok(Arc::new(store))
}

/// The first line of standard input, without its line ending (a secret typed or piped in).
pub fn read_stdin_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {what} from standard input"))?;
    for ending in ['\n', '\r'] {
        if line.ends_with(ending) {
            line.pop();
        }
    }
    Ok(line)
}

fn connections(store: &SqliteStore, command: ConnectionsCommand) -> anyhow::Result<ExitCode> {
    use userbridge_store::Store;
    match command {
        ConnectionsCommand::Ls => {
            for c in store.connections()? {
                println!("{}\t{}", c.id, c.name);
            }
        }
        ConnectionsCommand::Create { name } => {
            anyhow::ensure!(
                userbridge_model::ids::is_connection_name(&name),
                "invalid connection name {name:?}: letters, digits and single dashes, 1-128 characters"
            );
            let c = store.create_connection(&name)?;
            println!("{}\t{}", c.id, c.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
