//! The demo site (`--www DIR`): static files from one folder, served with the same strict
//! Content-Security-Policy a clinic would use, so the site proves the widgets need no inline script,
//! no inline style and no eval. Only GET and HEAD; paths are resolved inside the folder or refused.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The policy of every page: scripts and styles from the site itself, WebAssembly compilation
/// allowed, nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file for a request path, if it names one inside `root`: no `..`, no absolute parts, no
/// percent escapes (the site has no file names that need them); a folder means its index.html.
fn resolve(root: &Path, uri_path: &str) -> Option<PathBuf> {
    if uri_path.contains(['%', '\\', '\0']) {
        return None;
    }
    let rel = Path::new(uri_path.trim_start_matches('/'));
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

/// Serves `uri_path` from `root`, or `None` when there is no such file.
pub async fn serve(root: &Path, method: &Method, uri_path: &str) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let mut file = resolve(root, uri_path)?;
    if tokio::fs::metadata(&file).await.ok()?.is_dir() {
        file = file.join("index.html");
    }
    let bytes = tokio::fs::read(&file).await.ok()?;
    let len = bytes.len();
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(bytes) };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let root = Path::new("/srv/www");
        assert_eq!(resolve(root, "/index.html"), Some(PathBuf::from("/srv/www/index.html")));
        assert_eq!(resolve(root, "/a/b.js"), Some(PathBuf::from("/srv/www/a/b.js")));
        for bad in ["/../etc/passwd", "/a/../../x", "/%2e%2e/x", "/a\\b", "//etc/passwd", "/./x"] {
            let got = resolve(root, bad);
            assert!(got.as_ref().is_none_or(|p| p.starts_with(root) && !bad.contains("..")), "{bad}: {got:?}");
        }
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/%2e%2e/x"), None);
    }
}
