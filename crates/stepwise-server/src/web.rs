//! The browser app: every file under `web/`, embedded in the binary at build time (see
//! `build.rs`) and served as it is — there is no front-end build step.
//!
//! - `web/app/NAME.html` is a page, served at `/app/NAME` and at any path below it
//!   (`/app/checks/34`: the page reads the rest of its address itself); `web/app/index.html`
//!   is `/app`, and `/` leads there.
//! - Every other file is served at its path: `web/sw.js` at `/sw.js` (the service worker, with
//!   scope `/`), `web/app.css` at `/app.css`, `web/icons/icon.svg` at `/icons/icon.svg`.
//! - What pages share (the head, the site header, the sign-in form) lives once, in
//!   `web/app/_NAME.html` partials (not served): a page line `<!--#include NAME -->` is
//!   replaced by the partial, which may include others.
//!
//! Pages load their scripts and styles from files of their own, because the CSP
//! (`default-src 'self'`) refuses inline ones. File names are not fingerprinted, so every file
//! is sent with `Cache-Control: no-cache` (revalidated, so a deploy shows on the next load).

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

use crate::state::AppState;

include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// The media type of a file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map_or("", |(_, ext)| ext) {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Where a file under `web/` is served: a page's route (and whether it takes a path below
/// it), or the file's own path; `None` for a partial.
fn route_of(path: &str) -> Option<(String, bool)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.starts_with('_') {
        return None;
    }
    Some(
        match path
            .strip_prefix("app/")
            .and_then(|p| p.strip_suffix(".html"))
        {
            Some("index") => ("/app".to_string(), false),
            Some(page) if !page.contains('/') => (format!("/app/{page}"), true),
            _ => (format!("/{path}"), false),
        },
    )
}

/// The embedded file at `path` (relative to `web/`).
fn file(path: &str) -> Option<&'static [u8]> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|&(_, body)| body)
}

/// A page with every `<!--#include NAME -->` line replaced by `web/app/_NAME.html`, itself
/// expanded (at most a few levels deep). An unknown partial is an error naming it.
fn expand(page: &str, depth: usize) -> Result<String, String> {
    let mut out = String::with_capacity(page.len() * 2);
    for line in page.split_inclusive('\n') {
        let include = line
            .trim()
            .strip_prefix("<!--#include ")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim);
        match include {
            Some(name) if depth < 4 => {
                let partial = file(&format!("app/_{name}.html"))
                    .ok_or_else(|| format!("no partial web/app/_{name}.html"))?;
                let text = std::str::from_utf8(partial)
                    .map_err(|_| format!("web/app/_{name}.html is not UTF-8"))?;
                out.push_str(&expand(text, depth + 1)?);
            }
            Some(name) => return Err(format!("partials nest too deep at {name}")),
            None => out.push_str(line),
        }
    }
    Ok(out)
}

/// One served file.
struct Served {
    /// Its route.
    route: String,
    /// Whether the route also answers any path below it (pages).
    with_subpaths: bool,
    /// Its media type.
    kind: &'static str,
    /// What is sent: the file, or the page with its partials included.
    body: Vec<u8>,
    /// Its path under `web/`.
    path: &'static str,
}

/// Every served file, pages expanded (once per process).
fn served() -> &'static [Served] {
    static SERVED: OnceLock<Vec<Served>> = OnceLock::new();
    SERVED.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|&(path, body)| {
                let (route, with_subpaths) = route_of(path)?;
                let body = match std::str::from_utf8(body) {
                    Ok(text) if path.ends_with(".html") => expand(text, 0)
                        .unwrap_or_else(|why| panic!("web/{path}: {why}"))
                        .into_bytes(),
                    Ok(text) if path == "sw.js" => text.replace("{{build}}", &build()).into_bytes(),
                    _ => body.to_vec(),
                };
                Some(Served {
                    route,
                    with_subpaths,
                    kind: content_type(path),
                    body,
                    path,
                })
            })
            .collect()
    })
}

/// Routes of the browser app.
pub fn routes() -> Router<AppState> {
    router()
}

/// [`routes`] for any state (the handlers use none), so tests need no database.
fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route("/", get(|| async { Redirect::to("/app") }));
    for served in served() {
        let (kind, body, path) = (served.kind, served.body.as_slice(), served.path);
        let service_worker = path == "sw.js";
        let tag = etag(body);
        let handler = move |headers: HeaderMap| {
            let tag = tag.clone();
            async move {
                let fresh = headers
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
                let mut response = if fresh {
                    StatusCode::NOT_MODIFIED.into_response()
                } else {
                    ([(header::CONTENT_TYPE, kind)], body).into_response()
                };
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                if let Ok(value) = HeaderValue::from_str(&tag) {
                    headers.insert(header::ETAG, value);
                }
                if service_worker {
                    // Lets the worker control `/` whatever path it is served from later.
                    headers.insert(
                        HeaderName::from_static("service-worker-allowed"),
                        HeaderValue::from_static("/"),
                    );
                }
                response
            }
        };
        let route = &served.route;
        if served.with_subpaths {
            router = router.route(&format!("{route}/{{*rest}}"), get(handler.clone()));
        }
        router = router.route(route, get(handler));
    }
    router
}

/// A fingerprint of every embedded file: the service worker's cache name, so a change to any
/// of them makes browsers install a new worker and drop the old shell.
fn build() -> String {
    let mut hasher = Sha256::new();
    for (path, body) in FILES {
        hasher.update(path.as_bytes());
        hasher.update((body.len() as u64).to_le_bytes());
        hasher.update(body);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// A strong validator for an embedded file: revalidating an unchanged file (every load asks,
/// `no-cache`) costs a 304, not the file.
fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const HTML: &str = "text/html; charset=utf-8";

    /// One embedded file as the tests see it.
    struct Asset {
        route: String,
        content_type: &'static str,
        body: &'static str,
    }

    /// Every served text file, pages expanded.
    fn all() -> Vec<Asset> {
        served()
            .iter()
            .filter_map(|served| {
                Some(Asset {
                    route: served.route.clone(),
                    content_type: served.kind,
                    body: std::str::from_utf8(&served.body).ok()?,
                })
            })
            .collect()
    }

    /// An HTML start tag: its lower-cased name and attributes, and where it ends.
    struct Tag {
        name: String,
        attrs: Vec<(String, String)>,
        end: usize,
    }

    /// The start tags of `html` (enough HTML for our own pages: no `<` in text).
    fn start_tags(html: &str) -> Vec<Tag> {
        let bytes = html.as_bytes();
        let stop = |b: u8| b.is_ascii_whitespace() || b == b'>' || b == b'/' || b == b'=';
        let mut tags = Vec::new();
        let mut i = 0;
        while let Some(offset) = html[i..].find('<') {
            let start = i + offset + 1;
            let rest = &html[start..];
            if rest.starts_with("!--") {
                i = start + rest.find("-->").expect("comment is closed") + 3;
                continue;
            }
            if rest.starts_with('!') || rest.starts_with('/') {
                i = start + rest.find('>').expect("tag is closed") + 1;
                continue;
            }
            let mut j = start;
            while !stop(bytes[j]) {
                j += 1;
            }
            let name = html[start..j].to_ascii_lowercase();
            let mut attrs = Vec::new();
            loop {
                while bytes[j].is_ascii_whitespace() || bytes[j] == b'/' {
                    j += 1;
                }
                if bytes[j] == b'>' {
                    j += 1;
                    break;
                }
                let name_start = j;
                while !stop(bytes[j]) {
                    j += 1;
                }
                let attr = html[name_start..j].to_ascii_lowercase();
                assert!(!attr.is_empty(), "unparsable tag <{name} at byte {start}");
                while bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                let mut value = String::new();
                if bytes[j] == b'=' {
                    j += 1;
                    while bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if bytes[j] == b'"' || bytes[j] == b'\'' {
                        let quote = bytes[j] as char;
                        let len = html[j + 1..].find(quote).expect("attribute is closed");
                        value = html[j + 1..j + 1 + len].to_string();
                        j += len + 2;
                    } else {
                        let value_start = j;
                        while !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                            j += 1;
                        }
                        value = html[value_start..j].to_string();
                    }
                }
                attrs.push((attr, value));
            }
            tags.push(Tag {
                name,
                attrs,
                end: j,
            });
            i = j;
        }
        tags
    }

    #[test]
    fn scripts_and_styles_are_not_empty() {
        for asset in all().iter().filter(|a| a.content_type != HTML) {
            assert!(!asset.body.trim().is_empty(), "{} is empty", asset.route);
        }
    }

    #[test]
    fn scripts_are_modules_importing_served_files_and_setting_no_globals() {
        let all = all();
        let routes: Vec<&str> = all.iter().map(|a| a.route.as_str()).collect();
        // The service worker is a worker script, not a page's module.
        for script in all
            .iter()
            .filter(|a| a.route.ends_with(".js") && a.route != "/sw.js")
        {
            let route = &script.route;
            for line in script.body.lines() {
                let code = line.trim_start();
                assert!(
                    !(code.starts_with("window.") && code.contains(" = ")),
                    "{route} sets a window global: {code}"
                );
                if let Some(from) = code
                    .strip_prefix("import ")
                    .and_then(|rest| rest.split(" from '").nth(1))
                {
                    let module = from.trim_end_matches("';");
                    assert!(
                        routes.contains(&module),
                        "{route} imports {module}, which is not served"
                    );
                }
            }
        }
    }

    #[test]
    fn pages_load_only_local_files_and_nothing_inline() {
        let all = all();
        let routes: Vec<&str> = all.iter().map(|a| a.route.as_str()).collect();
        for page in all.iter().filter(|a| a.content_type == HTML) {
            let html = page.body;
            let route = &page.route;
            assert!(!html.contains("http://"), "{route} has an http:// URL");
            assert!(!html.contains("https://"), "{route} has an https:// URL");
            let tags = start_tags(html);
            assert!(
                tags.iter().any(|t| t.name == "script"),
                "{route} loads no script"
            );
            for tag in &tags {
                assert_ne!(tag.name, "style", "{route} has an inline <style>");
                for (attr, value) in &tag.attrs {
                    assert!(!attr.starts_with("on"), "{route}: inline handler {attr}");
                    assert_ne!(attr, "style", "{route}: inline style on <{}>", tag.name);
                    assert!(
                        !value
                            .trim_start()
                            .to_ascii_lowercase()
                            .starts_with("javascript:"),
                        "{route}: javascript: URL"
                    );
                    // A local path, or (links only) a place on the same page (`#main`).
                    let on_page = attr == "href" && value.starts_with('#');
                    if attr == "src" || attr == "href" {
                        assert!(
                            on_page || (value.starts_with('/') && !value.starts_with("//")),
                            "{route}: {attr}={value} is not a local path"
                        );
                    }
                }
                let attr = |name: &str| {
                    tag.attrs
                        .iter()
                        .find(|(a, _)| a == name)
                        .map(|(_, v)| v.as_str())
                };
                match tag.name.as_str() {
                    "script" => {
                        let src = attr("src").expect("every <script> has a src");
                        assert!(routes.contains(&src), "{route}: {src} is not served here");
                        // Native ES modules: each page imports what it uses, no globals.
                        assert_eq!(
                            attr("type"),
                            Some("module"),
                            "{route}: <script src={src}> is not a module"
                        );
                        assert!(
                            html[tag.end..].starts_with("</script>"),
                            "{route}: <script src={src}> has an inline body"
                        );
                    }
                    "link" => {
                        let href = attr("href").expect("every <link> has an href");
                        assert!(routes.contains(&href), "{route}: {href} is not served here");
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn the_tag_reader_sees_inline_things() {
        let tags = start_tags(r#"<p style="x" onclick='y'>t</p><script>alert(1)</script>"#);
        let names: Vec<&str> = tags[0].attrs.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(names, ["style", "onclick"]);
        assert_eq!(tags[1].name, "script");
        assert!(tags[1].attrs.is_empty());
    }

    async fn get_path(path: &str) -> axum::response::Response {
        router::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_file_is_served_with_its_type() {
        for asset in all() {
            let path = asset.route;
            let response = get_path(&path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], asset.content_type, "{path}");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, asset.body.as_bytes(), "{path}");
        }
    }

    #[tokio::test]
    async fn the_service_worker_may_control_the_whole_site() {
        let response = get_path("/sw.js").await;
        assert_eq!(response.headers()["service-worker-allowed"], "/");
    }

    #[tokio::test]
    async fn an_unchanged_file_is_not_sent_again() {
        let first = get_path("/app.css").await;
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_string();
        let again = router::<()>()
            .oneshot(
                Request::get("/app.css")
                    .header(header::IF_NONE_MATCH, &tag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], tag.as_str());
        let body = again.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());
        let other = router::<()>()
            .oneshot(
                Request::get("/app.css")
                    .header(header::IF_NONE_MATCH, "\"something-else\"")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[test]
    fn partials_are_included_and_not_served() {
        for asset in all().iter().filter(|a| a.content_type == HTML) {
            assert!(
                !asset.body.contains("#include"),
                "{} keeps an include",
                asset.route
            );
            assert!(
                asset.body.contains("<title>"),
                "{} has no title",
                asset.route
            );
        }
        assert!(all().iter().all(|a| !a.route.contains("/_")));
        let page = "<p>a</p>\n  <!--#include header -->\n<p>b</p>\n";
        let expanded = expand(page, 0).unwrap();
        assert!(expanded.contains("<nav id=\"nav\""), "{expanded}");
        assert_eq!(
            expand("<!--#include nothing-here -->\n", 0).unwrap_err(),
            "no partial web/app/_nothing-here.html"
        );
    }

    #[test]
    fn the_service_worker_names_its_cache_after_the_build() {
        let sw = all().into_iter().find(|a| a.route == "/sw.js").unwrap();
        assert!(!sw.body.contains("{{build}}"));
        assert!(sw.body.contains(&format!("stepwise-shell-{}", build())));
    }

    #[tokio::test]
    async fn the_root_leads_to_the_app() {
        let response = get_path("/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/app");
    }

    #[tokio::test]
    async fn the_check_page_answers_for_any_walk() {
        for path in ["/app/checks/1", "/app/checks/987654321"] {
            let response = get_path(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
        // Unknown pages are not served.
        assert_eq!(
            get_path("/app/no-such-page").await.status(),
            StatusCode::NOT_FOUND
        );
    }
}
