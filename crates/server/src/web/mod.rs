//! The web page (the dashboard): its embedded files, the admins who sign in to it, their
//! cookie sessions with the CSRF rule, and the security headers of every response.
//!
//! The page calls the same `/api/v2` and `/api/campaign/v1` routes as any client: a valid
//! session cookie authorizes like a token holding every management scope (`auth::authorize`).

pub mod admins;
pub mod assets;
pub mod headers;
pub mod session;
