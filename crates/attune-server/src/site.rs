//! The demo site (`--www DIR`) and the headers of every response. Static files come from one
//! folder through tower-http's `ServeDir` (paths resolved inside the folder, `HEAD` answered from
//! the file's metadata, ranges, `index.html` for folders), except dotfiles, which are never served.
//! Every response, API or file, carries `nosniff`, `Referrer-Policy: no-referrer` and a
//! Content-Security-Policy: the site's strict one for its files, `default-src 'none'` for the API.
//! Every error response, whoever made it (a handler, the router's 404 and 405, a path that does not
//! decode, a body over the limit), has the JSON error body `{"error": {"code", "message"}}`.

use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

/// The policy of every page of the site: scripts and styles from the site itself, WebAssembly
/// compilation allowed, nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of the API's responses (JSON, the QR code's SVG): nothing may load or run.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The static files of a folder.
#[derive(Debug, Clone)]
pub struct Site {
    files: ServeDir,
    csp: HeaderValue,
}

/// [`CSP`] with `connect-src` and `form-action` also allowing `origins` (`https://host[:port]`),
/// for pages that deliver to an endpoint elsewhere (`<attune-questionnaire action>`). An origin
/// that is not `http(s)://host[:port]` is refused, so nothing else can be slipped into the policy.
pub fn csp_with(origins: &[String]) -> Result<String, String> {
    let mut extra = String::new();
    for o in origins {
        let o = o.trim_end_matches('/');
        let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
        let ok = rest.is_some_and(|h| {
            !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
        if !ok {
            return Err(format!("{o:?} is not an origin like https://clinic.example or http://127.0.0.1:8788"));
        }
        extra.push(' ');
        extra.push_str(o);
    }
    Ok(CSP
        .replace("connect-src 'self'", &format!("connect-src 'self'{extra}"))
        .replace("form-action 'self'", &format!("form-action 'self'{extra}")))
}

/// Whether a request path names a dotfile or a dot-folder (`/.git/config`, `/a/.env`), also
/// percent-encoded.
fn hidden(path: &str) -> bool {
    path.split('/').any(|segment| {
        let lower = segment.to_ascii_lowercase();
        lower.starts_with('.') || lower.starts_with("%2e")
    })
}

impl Site {
    /// The files of `dir`.
    pub fn new(dir: &Path) -> Site {
        Site { files: ServeDir::new(dir).append_index_html_on_directories(true), csp: HeaderValue::from_static(CSP) }
    }

    /// The same site, its pages allowed to connect and post to `origins` too (see [`csp_with`]).
    pub fn connecting_to(mut self, origins: &[String]) -> Result<Site, String> {
        let csp = csp_with(origins)?;
        self.csp = HeaderValue::from_str(&csp).map_err(|e| e.to_string())?;
        Ok(self)
    }

    /// Serves a request from the folder: the file, or a 404 / 405 (given its JSON body by
    /// [`json_errors`]).
    pub async fn serve(&self, req: Request<Body>) -> Response {
        if hidden(req.uri().path()) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let mut files = self.files.clone();
        match files.try_call(req).await {
            Ok(res) => {
                let mut res = res.map(Body::new);
                // Errors get the API's policy and JSON body (see `json_errors`).
                if !(res.status().is_client_error() || res.status().is_server_error()) {
                    let h = res.headers_mut();
                    h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
                    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                }
                res
            }
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("the file could not be read: {e}")).into_response(),
        }
    }
}

/// The stable code of an error status made outside the handlers.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::RANGE_NOT_SATISFIABLE => "range_not_satisfiable",
        StatusCode::UPGRADE_REQUIRED => "not_websocket",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// Largest body of a non-JSON error response kept as its message.
const MESSAGE_LIMIT: usize = 1024;

/// Gives every error response without a JSON body one (`{"error": {"code", "message"}}`, the
/// message from its text or its status).
pub async fn json_errors(res: Response) -> Response {
    if needs_json(&res) {
        let (mut parts, body) = res.into_parts();
        let text = axum::body::to_bytes(body, MESSAGE_LIMIT).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let message = match text.trim() {
            "" => parts.status.canonical_reason().unwrap_or("error").to_lowercase(),
            t => t.to_string(),
        };
        let body = serde_json::json!({"error": {"code": code_of(parts.status), "message": message}}).to_string();
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(body))
    } else {
        res
    }
}

/// The security headers of every response, as tower-http layers: `nosniff` and
/// `Referrer-Policy: no-referrer` always, and the API's Content-Security-Policy where the site's
/// files did not set their own.
pub fn security_headers<S>(router: axum::Router<S>) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        ))
}

fn needs_json(res: &Response) -> bool {
    let status = res.status();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    (status.is_client_error() || status.is_server_error()) && !json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_origins_are_allowed_only_as_origins() {
        let csp = csp_with(&["http://127.0.0.1:8788/".into(), "https://clinic.example".into()]).expect("origins");
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:8788 https://clinic.example;"), "{csp}");
        assert!(csp.contains("form-action 'self' http://127.0.0.1:8788 https://clinic.example;"), "{csp}");
        assert_eq!(csp_with(&[]).expect("none"), CSP);
        for bad in
            ["clinic.example", "https://a.example; script-src *", "javascript:x", "https://", "https://a.example/path"]
        {
            assert!(csp_with(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn dotfiles_are_hidden() {
        for path in ["/.env", "/a/.git/config", "/%2egit/HEAD", "/a/%2Eenv", "/..", "/./x"] {
            assert!(hidden(path), "{path}");
        }
        for path in ["/", "/index.html", "/join/", "/node_modules/attune/poll.js", "/a.b/c"] {
            assert!(!hidden(path), "{path}");
        }
    }
}
