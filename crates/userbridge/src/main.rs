//! The `userbridge` binary: parses flags into the library crates' typed specs and runs them.

mod cli;
mod commands;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// Exports and imports hand batches of users from a reader thread to a writer thread;
/// glibc's allocator serialises those cross-thread frees, mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `userbridge export | head`: the reader left; that is not an error.
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("userbridge: error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<userbridge_export::ExportError>()
                .is_some_and(userbridge_export::ExportError::is_broken_pipe)
    })
}
