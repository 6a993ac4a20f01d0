//! The HTTP server: Auth0-compatible Management API, tokens, jobs.
