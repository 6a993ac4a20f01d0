//! The import engine.

pub mod reader;
pub mod validate;
