//! The links a person is handed to get in — an invite (`/app/join`) or a password reset
//! (`/app/reset`) — and their QR codes. The one-time code rides in the link's fragment
//! (`#code=…`), which browsers never send to a server, so it stays out of every access log.

use axum::http::{HeaderMap, header};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::state::AppState;

/// The page that accepts an invite.
pub const JOIN_PAGE: &str = "/app/join";
/// The page that takes a password reset code.
pub const RESET_PAGE: &str = "/app/reset";

/// `page#code=CODE`, the path part of a link.
pub fn path_with_code(page: &str, code: &str) -> String {
    format!("{page}#code={code}")
}

/// Where this server is reached from outside: `--public-url` when set, else the scheme
/// (https when cookies are marked secure) and the request's `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// A QR code of `text` as an SVG document (dark modules on white, a quiet zone around).
pub fn qr_svg(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // Only for text longer than a QR code holds (about 2,900 bytes): links are far shorter.
        Err(err) => {
            tracing::warn!(%err, "no QR code for a link");
            String::new()
        }
    }
}

/// What staff hand over: the code, the whole link and its QR code.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Handover {
    /// The link with the code in its fragment.
    pub link: String,
    /// The link as a QR code (SVG).
    pub qr_svg: String,
}

impl Handover {
    /// The handover of `code` for `page`, reached at `base`.
    pub fn new(base: &str, page: &str, code: &str) -> Handover {
        let link = format!("{base}{}", path_with_code(page, code));
        Handover {
            qr_svg: qr_svg(&link),
            link,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_rides_in_the_fragment_and_the_qr_is_svg() {
        let h = Handover::new("https://clinic.example", JOIN_PAGE, "ABCD-EFGH-JKLM");
        assert_eq!(
            h.link,
            "https://clinic.example/app/join#code=ABCD-EFGH-JKLM"
        );
        assert!(h.qr_svg.contains("<svg"), "{}", h.qr_svg);
        assert!(h.qr_svg.contains("<path") || h.qr_svg.contains("<rect"));
    }
}
