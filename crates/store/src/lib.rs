//! Storage interface of userbridge and its embedded SQLite backend.
