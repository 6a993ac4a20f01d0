//! The campaign data manager of userbridge (`campaign-import.md`). For now: the Documents
//! area ([`documents`]), a tree of directories holding uploaded files.

pub mod audit;
pub mod delimited;
pub mod documents;
mod error;
pub mod imports;
pub mod names;
pub mod tables;
pub mod values;

pub use documents::{
    Deleted, DirectoryInfo, DocumentInfo, DocumentKind, Documents, Entry, Listing, OnConflict,
    Staged,
};
pub use error::{CampaignError, Result};
pub use names::{DocPath, Name};
