//! Reading users files: JSON array, NDJSON, CSV/TSV, optionally gzip-compressed.
