//! The `q` search syntax of `GET /api/v2/users` (`management-api.md` §4.1).
