//! The page's files, embedded in the binary: nothing is read from disk or fetched from
//! anywhere at build or run time.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
// Images: unused until the page has some.
#[allow(dead_code)]
const SVG: &str = "image/svg+xml";
#[allow(dead_code)]
const PNG: &str = "image/png";
#[allow(dead_code)]
const ICO: &str = "image/x-icon";

/// Every file of `crates/server/web/`: name (as in `/assets/{name}`), content type, bytes.
/// Adding a file to the page is one line here.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("index.html", HTML, include_bytes!("../../web/index.html")),
    ("app.css", CSS, include_bytes!("../../web/app.css")),
    ("app.js", JS, include_bytes!("../../web/app.js")),
    ("users.js", JS, include_bytes!("../../web/users.js")),
    ("campaign.js", JS, include_bytes!("../../web/campaign.js")),
];

/// The embedded file of this name, with its content type.
fn find(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}

fn serve(name: &str) -> Response {
    let Some((content_type, bytes)) = find(name) else {
        return ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "Not Found")
            .into_response();
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidate every time: a new binary may serve a new page under the same names.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`: the page.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    serve(&file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_list_starts_with_the_page_and_names_are_unique() {
        assert_eq!(ASSETS[0].0, "index.html");
        let mut names: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
    }

    #[test]
    fn content_types_follow_the_extension() {
        for (name, content_type, _) in ASSETS {
            let expected = match name.rsplit_once('.').unwrap().1 {
                "html" => HTML,
                "js" => JS,
                "css" => CSS,
                "svg" => SVG,
                "png" => PNG,
                "ico" => ICO,
                other => panic!("{name}: no content type for .{other}"),
            };
            assert_eq!(*content_type, expected, "{name}");
        }
    }
}
