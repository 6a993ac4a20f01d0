//! `userbridge campaign docs …`: the Documents area on the data directory's store (the
//! same one the server uses).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use userbridge_campaign::{DocPath, DocumentInfo, Documents, Entry, Name, OnConflict, audit};
use userbridge_store::{SqliteStore, Store};

use crate::cli::{CampaignCommand, DocsCommand, UploadArgs};
use crate::commands::campaign_imports;

/// Who the CLI records as the uploader (and as the actor in the audit log).
const UPLOADED_BY: &str = super::CLI_ACTOR;

pub fn run(
    store: Arc<SqliteStore>,
    data_dir: &Path,
    command: CampaignCommand,
) -> anyhow::Result<ExitCode> {
    let docs =
        |max: u64| Documents::new(store.clone() as Arc<dyn Store>, data_dir).with_max_size(max);
    let command = match command {
        CampaignCommand::Docs(command) => command,
        CampaignCommand::Imports(command) => {
            return campaign_imports::imports(store.clone(), &docs(0), command);
        }
        CampaignCommand::Tables(command) => return campaign_imports::tables(store, command),
    };
    match command {
        DocsCommand::Mkdir { path } => {
            let created = docs(0).mkdir(&DocPath::parse(&path)?)?;
            store.record_audit(&audit::directory_created(UPLOADED_BY, &created))?;
            println!("{}", created.path);
        }
        DocsCommand::Upload(args) => upload(store.as_ref(), &docs(args.max_document_bytes), args)?,
        DocsCommand::Ls { path, json } => {
            let entry = docs(0).entry(&DocPath::parse(&path)?)?;
            match (entry, json) {
                (Entry::Directory(listing), true) => {
                    println!("{}", serde_json::to_string_pretty(&listing)?)
                }
                (Entry::Document(document), true) => {
                    println!("{}", serde_json::to_string_pretty(&document)?)
                }
                (Entry::Directory(listing), false) => {
                    for d in &listing.directories {
                        println!("{}/", d.name);
                    }
                    for d in &listing.documents {
                        print_document(d);
                    }
                }
                (Entry::Document(document), false) => print_document(&document),
            }
        }
        DocsCommand::Get { path, output } => {
            let path = DocPath::parse(&path)?;
            let (_, mut file) = docs(0).open(&path)?;
            if output == "-" {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                std::io::copy(&mut file, &mut out)?;
                out.flush()?;
            } else {
                let mut out = std::fs::File::create(&output)
                    .with_context(|| format!("cannot create {output}"))?;
                std::io::copy(&mut file, &mut out)
                    .with_context(|| format!("cannot write {output}"))?;
                out.sync_all()?;
            }
        }
        DocsCommand::Rm { path, recursive } => {
            let path = DocPath::parse(&path)?;
            let deleted = docs(0).delete(&path, recursive)?;
            store.record_audit(&audit::deleted(UPLOADED_BY, &path.to_string(), &deleted))?;
            match deleted.directories {
                true => println!("deleted {path} ({} documents)", deleted.documents),
                false => println!("deleted {path}"),
            }
        }
        DocsCommand::Mv { from, to } => {
            let from = DocPath::parse(&from)?;
            let moved = docs(0).rename(&from, &DocPath::parse(&to)?)?;
            store.record_audit(&audit::moved(UPLOADED_BY, &from.to_string(), &moved))?;
            println!("{moved}");
        }
        DocsCommand::Find { text, under } => {
            for d in docs(0).search(&DocPath::parse(&under)?, &text)? {
                print_document(&d);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per document: path, size, uploaded at, SHA-256, kind, uploaded by (tabs).
fn print_document(d: &DocumentInfo) {
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        d.path, d.size, d.uploaded_at, d.sha256, d.kind, d.uploaded_by
    );
}

fn upload(store: &dyn Store, docs: &Documents, args: UploadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.name.is_none() || args.files.len() == 1,
        "--as names one document: give exactly one file"
    );
    let directory = DocPath::parse(&args.to)?;
    let on_conflict = match (args.replace, args.keep_both) {
        (true, _) => OnConflict::Replace,
        (_, true) => OnConflict::KeepBoth,
        _ => OnConflict::Fail,
    };
    for file in &args.files {
        let name = match &args.name {
            Some(name) => name.clone(),
            None => file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .with_context(|| format!("{} has no file name", file.display()))?,
        };
        let name = Name::parse(&name)?;
        let mut content =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let stored = docs.upload(&mut content, &directory, &name, on_conflict, UPLOADED_BY)?;
        store.record_audit(&audit::document_uploaded(UPLOADED_BY, &stored))?;
        print_document(&stored);
    }
    Ok(())
}
