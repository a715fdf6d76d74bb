//! The sign-up page and its script and styles, compiled in and served with
//! a Content-Security-Policy: the page talks only to its own origin or to the
//! API base fixed when it is served (`API_BASE_URL`), never to one taken from
//! its address, and no other site may frame it.

use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use std::sync::OnceLock;

/// The variable naming an API on another origin for the page, e.g.
/// `https://api.example.com`; unset or empty: the page's own origin.
pub const API_BASE_URL: &str = "API_BASE_URL";

const INDEX: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/app.js");
const STYLES: &str = include_str!("../static/app.css");
/// A placeholder user agreement, linked from the sign-up form.
const AGREEMENT: &str = include_str!("../static/agreement.html");

/// The placeholder in `index.html` that the API base fills.
const API_BASE_META: &str = r#"<meta name="api-base" content="">"#;

/// The answer to `method path` when it asks for one of the page's files, else `None`.
pub(crate) fn serve(method: &str, path: &str) -> Option<http::Response<Vec<u8>>> {
    if method != "GET" {
        return None;
    }
    match path {
        "/" => Some(Page::configured().index()),
        "/app.js" => Some(asset(SCRIPT, "text/javascript; charset=utf-8")),
        "/app.css" => Some(asset(STYLES, "text/css; charset=utf-8")),
        "/agreement.html" => Some(Page::configured().document(AGREEMENT)),
        _ => None,
    }
}

/// The page as configured: its HTML and its Content-Security-Policy.
#[derive(Debug)]
struct Page {
    html: String,
    policy: HeaderValue,
}

impl Page {
    /// The page for `API_BASE_URL`, read once; an unusable value is logged and ignored.
    fn configured() -> &'static Page {
        static PAGE: OnceLock<Page> = OnceLock::new();
        PAGE.get_or_init(|| {
            let base = std::env::var(API_BASE_URL).unwrap_or_default();
            Page::new(&base).unwrap_or_else(|| {
                tracing::warn!(value = %base, "{API_BASE_URL} is not an http(s) URL; the page uses its own origin");
                Page::same_origin()
            })
        })
    }

    fn same_origin() -> Page {
        Page::new("").unwrap_or_else(|| unreachable!("the empty base is valid"))
    }

    /// The page talking to `base` (empty: its own origin), or `None` when
    /// `base` is not a plain http(s) URL.
    fn new(base: &str) -> Option<Page> {
        let base = base.trim().trim_end_matches('/');
        let origin = if base.is_empty() { None } else { Some(origin(base)?) };
        let html = INDEX.replacen(API_BASE_META, &format!(r#"<meta name="api-base" content="{base}">"#), 1);
        let api = origin.map(|origin| format!(" {origin}")).unwrap_or_default();
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'{api}; connect-src 'self'{api}; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        Some(Page { html, policy: HeaderValue::from_str(&policy).ok()? })
    }

    fn index(&self) -> http::Response<Vec<u8>> {
        self.document(&self.html)
    }

    /// An HTML document of the page's, under the page's policy.
    fn document(&self, html: &str) -> http::Response<Vec<u8>> {
        let mut response = asset(html, "text/html; charset=utf-8");
        let headers = response.headers_mut();
        headers.insert(CONTENT_SECURITY_POLICY, self.policy.clone());
        headers.insert(http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        response
    }
}

/// The origin (`scheme://host[:port]`) of an http(s) URL made only of
/// characters that are safe in an HTML attribute and a CSP header.
fn origin(url: &str) -> Option<&str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-._~:/%".contains(c);
    if !url.chars().all(safe) {
        return None;
    }
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return None;
    }
    Some(&url[..url.len() - rest.len() + authority.len()])
}

/// `body` with its content type and the headers every page file carries.
fn asset(body: &str, content_type: &'static str) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.as_bytes().to_vec());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(page: &Page) -> &str {
        page.policy.to_str().unwrap()
    }

    #[test]
    fn same_origin_by_default() {
        let page = Page::same_origin();
        assert!(page.html.contains(API_BASE_META), "the page keeps its empty api-base");
        assert!(policy(&page).contains("connect-src 'self';"));
        assert!(policy(&page).contains("frame-ancestors 'none'"));
        assert!(!policy(&page).contains("unsafe"));
    }

    #[test]
    fn a_configured_base_is_in_the_page_and_the_policy() {
        let page = Page::new("https://api.example.com:8443/prod/").unwrap();
        assert!(page.html.contains(r#"<meta name="api-base" content="https://api.example.com:8443/prod">"#));
        assert!(policy(&page).contains("connect-src 'self' https://api.example.com:8443;"));
        assert!(policy(&page).contains("img-src 'self' https://api.example.com:8443;"));
    }

    #[test]
    fn unusable_bases_are_refused() {
        for base in
            ["api.example.com", "javascript:alert(1)", "https://", "https://a.example\"><script>", "https://a; b"]
        {
            assert!(Page::new(base).is_none(), "{base}");
        }
    }

    #[test]
    fn the_script_and_styles_are_served_with_their_types() {
        let script = serve("GET", "/app.js").unwrap();
        assert_eq!(script.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(script.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(serve("GET", "/app.css").unwrap().headers()[CONTENT_TYPE], "text/css; charset=utf-8");
        let agreement = serve("GET", "/agreement.html").unwrap();
        assert_eq!(agreement.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(agreement.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert!(serve("GET", "/nothing").is_none());
        assert!(serve("POST", "/").is_none());
    }
}
