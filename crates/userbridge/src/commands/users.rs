//! `userbridge users …`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use userbridge_store::{SqliteStore, Store, UserScan};

use crate::cli::UsersCommand;
use crate::progress;

/// Users written per transaction while seeding.
const SEED_BATCH: usize = 50_000;

pub fn run(store: &SqliteStore, command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Seed {
            count,
            connection,
            seed,
        } => {
            let added = seed_users(store, &connection, seed, count)?;
            eprintln!("added {added} users to {connection}");
        }
        UsersCommand::Count => {
            println!("{}", store.count_scan(&UserScan::default())?);
        }
        UsersCommand::VerifyPassword { email, connection } => {
            return verify_password(store, &email, connection.as_deref());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks a password from standard input against the user's stored hash: exit 0 when it
/// matches, 2 when it does not, 1 when it cannot be checked.
fn verify_password(
    store: &SqliteStore,
    email: &str,
    connection: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let password = super::read_stdin_line("password")?;
    let password = password.as_str();
    let users: Vec<_> = store
        .users_by_email(&email.trim().to_lowercase())?
        .into_iter()
        .filter(|u| connection.is_none_or(|c| *u.connection == *c))
        .collect();
    let user = match users.as_slice() {
        [] => anyhow::bail!("no user with email {email}"),
        [one] => one,
        _ => anyhow::bail!("{email} is in several connections: name one with --connection"),
    };
    let matches = if let Some(hash) = &user.password_hash {
        userbridge_passwords::verify_bcrypt(hash, password)?
    } else if let Some(raw) = &user.custom_password_hash {
        let value: serde_json::Value = serde_json::from_str(raw.get())?;
        let hash = userbridge_passwords::CustomHash::parse(&value).map_err(|errors| {
            anyhow::anyhow!(
                "the stored hash is invalid: {}",
                errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        hash.verify(password)?
    } else {
        anyhow::bail!("{email} has no password hash");
    };
    if matches {
        println!("password matches ({})", user.user_id);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("password does not match ({})", user.user_id);
        Ok(ExitCode::from(2))
    }
}

/// Adds `count` seeded users to a connection. The sequence continues after the users the
/// connection already holds, so seeding twice adds new users instead of colliding.
pub fn seed_users(
    store: &SqliteStore,
    connection: &str,
    seed: u64,
    count: u64,
) -> anyhow::Result<u64> {
    let target = store
        .connection_by_name(connection)?
        .with_context(|| format!("the connection does not exist: {connection}"))?;
    let start = store.count_scan(&UserScan {
        connection_id: Some(target.id.clone()),
        ..UserScan::default()
    })?;
    let name: Arc<str> = Arc::from(target.name.as_str());
    let bar = progress::bar("seeding");
    if let Some(bar) = &bar {
        bar.set_length(count);
    }
    let mut batch = Vec::with_capacity(SEED_BATCH);
    let mut added = 0;
    for index in start..start + count {
        batch.push(userbridge_seed::user(seed, index, &name));
        if batch.len() == SEED_BATCH {
            store
                .insert_users(&target.id, &batch)
                .context("cannot store seeded users")?;
            added += batch.len() as u64;
            batch.clear();
            if let Some(bar) = &bar {
                bar.set_position(added);
            }
        }
    }
    store
        .insert_users(&target.id, &batch)
        .context("cannot store seeded users")?;
    added += batch.len() as u64;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(added)
}
