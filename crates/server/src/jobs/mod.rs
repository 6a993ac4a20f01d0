//! Background jobs: the `/api/v2/jobs` routes, the runner that executes queued jobs,
//! and the signed download links of finished exports.

pub mod download;
pub mod export;
pub mod import;
pub mod routes;
pub mod runner;
