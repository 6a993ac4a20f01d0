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
    }
    Ok(ExitCode::SUCCESS)
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
