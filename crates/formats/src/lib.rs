//! Export file writers: CSV/TSV/JSON/NDJSON cells, quoting and formula protection.
