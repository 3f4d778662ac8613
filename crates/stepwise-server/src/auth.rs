//! Who is asking: password hashing (Argon2id), random tokens and codes, the login-session
//! extractor with its CSRF check, the collector-token extractor, and the failed-login limiter.
//!
//! Browsers and API clients log in with a password and get an HttpOnly, SameSite=Strict
//! session cookie. Every cookie-authenticated write must also send the session's CSRF token in
//! `X-CSRF-Token` (returned by the login), which a cross-site form cannot know. Collectors send
//! `Authorization: Bearer <token>`; that token can only upload samples for its one device.
//! Tokens and codes are stored as SHA-256 hashes, never in clear.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use sha2::{Digest, Sha256};
use stepwise_store::{AuthSession, Device, StoreError, User};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Name of the login-session cookie.
pub const SESSION_COOKIE: &str = "stepwise_session";
/// Header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password accepted (Argon2 work grows with length).
pub const MAX_PASSWORD_LEN: usize = 256;

/// Hashes a password with Argon2id and a fresh salt (PHC string). CPU-heavy: call through
/// [`hash_password_blocking`] from async code.
pub fn hash_password(password: &str) -> ApiResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
}

/// Checks a password against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// [`hash_password`] off the async threads.
pub async fn hash_password_blocking(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// [`verify_password`] off the async threads.
pub async fn verify_password_blocking(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> ApiResult<()> {
    let allowed = format!(
        "{MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters, at least {MIN_PASSWORD_LEN} of \
         them not spaces, no control characters"
    );
    let len = password.chars().count();
    // Spaces make a passphrase readable, not strong: they do not count toward the minimum.
    let solid = password.chars().filter(|c| !c.is_whitespace()).count();
    let problem = if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        Some(format!("password has {len} characters"))
    } else if solid < MIN_PASSWORD_LEN {
        Some(format!(
            "password has {solid} characters that are not spaces"
        ))
    } else if password.chars().any(char::is_control) {
        Some("password has a control character".to_string())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(message) => Err(ApiError::invalid("password", message, allowed)),
    }
}

fn random_bytes<const N: usize>() -> ApiResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("getrandom: {e}")))?;
    Ok(bytes)
}

/// A 256-bit random token, URL-safe base64.
pub fn new_token() -> ApiResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A code a person can type: `groups` groups of four characters from an alphabet without
/// look-alikes (no 0/O, 1/I/L), e.g. `K7QX-M2PA`: about 4.9 bits a character, so two groups
/// carry 39 bits — ample for a code that works once and expires.
pub fn new_code(groups: usize) -> ApiResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<16>()?;
    let chars: Vec<char> = bytes
        .iter()
        .take(groups.min(4) * 4)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// How a code is stored: SHA-256 of its canonical form (upper-case, no dashes or spaces), so
/// `k7qx m2pa` and `K7QX-M2PA` match.
pub fn hash_code(code: &str) -> String {
    let canonical: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hash_token(&canonical)
}

/// How a token is stored: hex SHA-256.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The `Set-Cookie` value that logs a browser in.
pub fn session_cookie(token: &str, ttl: TimeDelta, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        ttl.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that logs a browser out.
pub fn clear_session_cookie(secure: bool) -> String {
    session_cookie("", TimeDelta::zero(), secure)
}

/// The session token from the request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The live login session named by the request's cookie; 401 without one.
pub async fn live_session(headers: &HeaderMap, state: &AppState) -> Result<AuthSession, ApiError> {
    let token = session_token(headers).ok_or(ApiError::Unauthorized)?;
    match state
        .store
        .auth_session(&hash_token(token), state.clock.now())
        .await
    {
        Ok(session) => Ok(session),
        Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
        Err(other) => Err(other.into()),
    }
}

/// A logged-in user. Rejects with 401 without a live session, and with 403 when a write
/// lacks the session's CSRF token.
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = live_session(&parts.headers, state).await?;
        crate::audit::note_caller(&session.user);
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(session.csrf_token.as_str()) {
                return Err(ApiError::Forbidden(
                    "missing or wrong X-CSRF-Token header (it comes with the login response)",
                ));
            }
        }
        Ok(AuthUser(session.user))
    }
}

/// A paired collector, by its bearer token: 401 without one, for an unknown one, and with
/// the reason for a band that was removed or whose token expired.
pub struct DeviceAuth {
    /// The band.
    pub device: Device,
    /// The hash of the token it presented (a renewal names it).
    pub token_hash: String,
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let token_hash = hash_token(token.trim());
        let now = state.clock.now();
        let device = match state.store.authenticate_device(&token_hash, now).await {
            Ok(device) => device,
            Err(StoreError::NotFound) => return Err(ApiError::Unauthorized),
            Err(other) => return Err(other.into()),
        };
        let pair_again = "pair the band again (`stepwise band pair`)";
        if let Some(at) = device.revoked_at {
            return Err(ApiError::TokenRefused(format!(
                "this band was removed from the patient's account on {}: {pair_again}",
                at.format("%Y-%m-%d")
            )));
        }
        if device.token_expires_at <= now {
            return Err(ApiError::TokenRefused(format!(
                "this band's upload token expired on {} (it was not renewed in time): {pair_again}",
                device.token_expires_at.format("%Y-%m-%d")
            )));
        }
        Ok(DeviceAuth { device, token_hash })
    }
}

/// The client's address, when the server runs with connection info (as [`crate::serve`]
/// does); `None` in tests that call the router directly.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl ClientAddr {
    /// A limiter key for `what` from this client.
    pub fn key(&self, what: &str) -> String {
        match self.0 {
            Some(ip) => format!("{what}:{ip}"),
            None => format!("{what}:unknown"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|c| c.0.ip())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_need_ten_characters_that_are_not_spaces() {
        assert!(check_new_password("correct horse battery").is_ok());
        for weak in [
            " ".repeat(10),
            "a b c d e f g".to_string(),
            "password\0xy".to_string(),
        ] {
            let err = check_new_password(&weak).unwrap_err();
            assert!(
                matches!(&err, ApiError::Invalid { field, .. } if field == "password"),
                "{weak:?}: {err:?}"
            );
        }
        assert!(check_new_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong horse battery", &phc));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn codes_are_grouped_and_hash_canonically() {
        let code = new_code(2).unwrap();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert_eq!(
            hash_code(&code),
            hash_code(&code.to_lowercase().replace('-', " "))
        );
    }

    #[test]
    fn session_cookie_is_http_only_and_strict() {
        let c = session_cookie("abc", TimeDelta::hours(1), true);
        assert_eq!(
            c,
            "stepwise_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600; Secure"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; stepwise_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(session_token(&headers), Some("tok"));
    }
}
