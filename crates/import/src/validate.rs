//! Validation of one users-file record against Auth0's bulk-import schema.
