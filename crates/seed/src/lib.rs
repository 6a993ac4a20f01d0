//! Deterministic synthetic users, realistic and hostile.
