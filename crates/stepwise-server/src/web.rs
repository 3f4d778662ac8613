//! The browser side of Stepwise reminders: the service worker that shows Web Push reminders,
//! the script that subscribes a browser to them, and two small pages: reminder settings
//! (`/app/reminders`) and the two-hour pain check a reminder opens (`/app/checks/{session_id}`).
//!
//! There is no build step: the files under `web/` are embedded with `include_str!` and served
//! as they are. Pages load their scripts and stylesheet from files of their own, because the
//! CSP (`default-src 'self'`) refuses inline ones. File names are not fingerprinted, so every
//! file is sent with `Cache-Control: no-cache` and a deploy shows on the next load.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// The service worker, served at `/sw.js` with scope `/`.
const SERVICE_WORKER: &str = include_str!("../../../web/sw.js");

/// One embedded file and the route that serves it.
#[derive(Clone, Copy)]
struct Asset {
    route: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Every embedded file but the service worker (which needs a header of its own).
const ASSETS: &[Asset] = &[
    Asset {
        route: "/push.js",
        content_type: JS,
        body: include_str!("../../../web/push.js"),
    },
    Asset {
        route: "/common.js",
        content_type: JS,
        body: include_str!("../../../web/common.js"),
    },
    Asset {
        route: "/reminders.js",
        content_type: JS,
        body: include_str!("../../../web/reminders.js"),
    },
    Asset {
        route: "/check.js",
        content_type: JS,
        body: include_str!("../../../web/check.js"),
    },
    Asset {
        route: "/app.css",
        content_type: CSS,
        body: include_str!("../../../web/app.css"),
    },
    Asset {
        route: "/app/reminders",
        content_type: HTML,
        body: include_str!("../../../web/reminders.html"),
    },
    // Any session id: the page reads it from its own address.
    Asset {
        route: "/app/checks/{session_id}",
        content_type: HTML,
        body: include_str!("../../../web/check.html"),
    },
];

/// Routes of the browser app's static files and minimal pages.
pub fn routes() -> Router<AppState> {
    router()
}

/// [`routes`] for any state (the handlers use none), so tests need no database.
fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new().route(
        "/sw.js",
        get(|| async {
            (
                // Lets the worker control `/` whatever path it is served from later.
                [(
                    HeaderName::from_static("service-worker-allowed"),
                    HeaderValue::from_static("/"),
                )],
                asset(JS, SERVICE_WORKER),
            )
        }),
    );
    for &Asset {
        route,
        content_type,
        body,
    } in ASSETS
    {
        router = router.route(route, get(move || async move { asset(content_type, body) }));
    }
    router
}

/// One embedded file as a response.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Every embedded file, the service worker included.
    fn all() -> Vec<Asset> {
        let mut all = vec![Asset {
            route: "/sw.js",
            content_type: JS,
            body: SERVICE_WORKER,
        }];
        all.extend_from_slice(ASSETS);
        all
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
    fn pages_load_only_local_files_and_nothing_inline() {
        let routes: Vec<&str> = all().iter().map(|a| a.route).collect();
        for page in all().iter().filter(|a| a.content_type == HTML) {
            let html = page.body;
            let route = page.route;
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
                    if attr == "src" || attr == "href" {
                        assert!(
                            value.starts_with('/') && !value.starts_with("//"),
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
            let path = asset.route.replace("{session_id}", "34");
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
    async fn the_check_page_answers_for_any_walk() {
        for path in ["/app/checks/1", "/app/checks/987654321"] {
            let response = get_path(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
        assert_eq!(
            get_path("/app/checks").await.status(),
            StatusCode::NOT_FOUND
        );
    }
}
