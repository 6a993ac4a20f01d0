//! The export engine: one validated ExportSpec, store cursor to file writer.
