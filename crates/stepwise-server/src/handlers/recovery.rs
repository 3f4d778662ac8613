//! Getting back in: a one-time password reset code made by the care team and handed over (as
//! a link and a QR code, like an invite) or e-mailed at the person's own request (when the
//! server has `--smtp-url`), and the page's call that sets a new password with it.
//! A code works once, until it expires ([`crate::state::Config::reset_ttl`]); a newer code
//! voids the older ones; using it ends every login of that person. Failed attempts are limited
//! per client address.

use crate::json::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store::{Role, StoreError, User};
use utoipa::ToSchema;

use crate::access::{require_role, staff_patient};
use crate::auth::{
    AuthUser, ClientAddr, check_new_password, hash_code, hash_password_blocking, new_code,
};
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::json::Body;
use crate::links::{self, Handover};
use crate::state::AppState;
use crate::{mail, validate};

/// One use of a one-time code (an invite, a password reset) by a client, under the code
/// limiter: refused with `429` while that client has too many recent failures; an unknown,
/// used or expired code counts as a failure.
pub struct CodeAttempt<'a> {
    state: &'a AppState,
    key: String,
    now: DateTime<Utc>,
}

impl<'a> CodeAttempt<'a> {
    /// Starts an attempt at `what` (`invite`, `password-reset`): `429` when limited.
    pub fn start(state: &'a AppState, client: &ClientAddr, what: &str) -> ApiResult<Self> {
        let attempt = CodeAttempt {
            state,
            key: client.key(what),
            now: state.clock.now(),
        };
        match state.code_limiter.check(&attempt.key, attempt.now) {
            Ok(()) => Ok(attempt),
            Err(wait) => Err(ApiError::TooManyRequests(wait)),
        }
    }

    /// When the attempt is made.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The store's answer as the API's: an unknown code is `unknown` (a field error), a used or
    /// expired one `410` saying `gone`; both count as failures.
    pub fn outcome<T>(
        &self,
        result: Result<T, StoreError>,
        unknown: ApiError,
        gone: &'static str,
    ) -> ApiResult<T> {
        match result {
            Ok(value) => Ok(value),
            Err(StoreError::NotFound) => {
                self.state.code_limiter.failed(&self.key, self.now);
                Err(unknown)
            }
            Err(StoreError::Gone) => {
                self.state.code_limiter.failed(&self.key, self.now);
                Err(ApiError::Gone(gone))
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// A reset code to hand over.
#[derive(Serialize, ToSchema)]
pub struct ResetCode {
    code: String,
    expires_at: DateTime<Utc>,
    #[serde(flatten)]
    handover: Handover,
}

/// `POST /api/v1/patients/{id}/password-reset` — the care team makes a one-time code with
/// which the patient chooses a new password.
#[utoipa::path(
    post,
    path = "/patients/{id}/password-reset",
    tag = "care team",
    summary = "Create a one-time password reset code for the patient (care team); earlier codes stop working",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    responses(
        (status = 201, description = "The code, its link and QR code", body = ResetCode),
        answers::Common,
    ),
)]
pub async fn create_for_patient(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<ResetCode>)> {
    let patient = staff_patient(&state, &user, id, "write patient.password-reset").await?;
    hand_over(&state, &user, patient.id, &headers).await
}

/// `POST /api/v1/clinic/therapists/{id}/password-reset` — a clinic admin makes a one-time
/// code with which a therapist of the clinic chooses a new password.
#[utoipa::path(
    post,
    path = "/clinic/therapists/{id}/password-reset",
    tag = "account",
    summary = "Create a one-time password reset code for a therapist of the clinic (clinic admins); earlier codes stop working",
    params(
        ("id" = i64, Path, description = "therapist (user) id"),
    ),
    responses(
        (status = 201, description = "The code, its link and QR code", body = ResetCode),
        answers::Common,
    ),
)]
pub async fn create_for_therapist(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<ResetCode>)> {
    require_role(
        &user,
        &[Role::ClinicAdmin],
        "only a clinic admin makes reset codes for therapists",
    )?;
    match state.store.user(id).await {
        Ok(t) if t.role == Role::Therapist && t.clinic_id == user.clinic_id => {}
        // Another clinic's people, or not a therapist: as if they did not exist.
        Ok(_) | Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(other) => return Err(other.into()),
    }
    state
        .audit(&user, "write therapist.password-reset", None)
        .await?;
    hand_over(&state, &user, id, &headers).await
}

/// Makes a reset code for `user_id`, by `staff`, with its link and QR code.
async fn hand_over(
    state: &AppState,
    staff: &User,
    user_id: i64,
    headers: &HeaderMap,
) -> ApiResult<(StatusCode, Json<ResetCode>)> {
    let code = new_code(3)?;
    let now = state.clock.now();
    let expires_at = now + state.config.reset_ttl;
    state
        .store
        .create_password_reset(&hash_code(&code), user_id, Some(staff.id), now, expires_at)
        .await?;
    let handover = Handover::new(&links::base_url(state, headers), links::RESET_PAGE, &code);
    Ok((
        StatusCode::CREATED,
        Json(ResetCode {
            code,
            expires_at,
            handover,
        }),
    ))
}

/// Setting a new password with a code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    code: String,
    password: String,
}

/// `POST /api/v1/auth/password-reset` — public: the code is the credential. Answers 204; the
/// person then signs in with the new password.
#[utoipa::path(
    post,
    path = "/auth/password-reset",
    tag = "account",
    summary = "Choose a new password with a one-time reset code from the care team; ends every login of that person",
    request_body(content = NewPassword, example = json!({"code": "K7QM-2XRD-9WTF", "password": "a-longer-new-passphrase"})),
    responses(
        (status = 204, description = "Password changed: sign in with it"),
        (status = 410, description = "The code was used or has expired", body = ErrorBody),
        (status = 429, description = "Too many attempts: try again later (Retry-After)", body = ErrorBody),
        answers::Invalid,
        answers::Body,
    ),
    security(),
)]
pub async fn reset(
    State(state): State<AppState>,
    client: ClientAddr,
    Body(req): Body<NewPassword>,
) -> ApiResult<StatusCode> {
    check_new_password(&req.password)?;
    crate::validate::code("code", &req.code)?;
    let attempt = CodeAttempt::start(&state, &client, "password-reset")?;
    let password_hash = hash_password_blocking(req.password).await?;
    let result = state
        .store
        .reset_password(&hash_code(&req.code), &password_hash, attempt.now())
        .await;
    let user = attempt.outcome(
        result,
        ApiError::invalid(
            "code",
            "this reset code is not known",
            "the code your care team gave you",
        ),
        "this reset code was already used, replaced by a newer one, or has expired: ask for a new one",
    )?;
    tracing::info!(user = user.id, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

/// How a person who forgot their password can get back in on this server.
#[derive(Serialize, ToSchema)]
pub struct Recovery {
    /// A reset link can be e-mailed (the server has `--smtp-url`); otherwise only the care
    /// team's reset code works.
    by_email: bool,
}

/// `GET /api/v1/auth/recovery` — public: what the reset page offers.
#[utoipa::path(
    get,
    path = "/auth/recovery",
    tag = "account",
    summary = "How a person who forgot their password gets back in here: by_email is true when the server sends e-mail (--smtp-url)",
    responses(
        (status = 200, description = "The options", body = Recovery),
    ),
    security(),
)]
pub async fn options(State(state): State<AppState>) -> Json<Recovery> {
    Json(Recovery {
        by_email: state.config.mailer.is_some(),
    })
}

/// Asking for a reset link by e-mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetByEmail {
    email: String,
}

/// `POST /api/v1/auth/password-reset/email` — public. When the address belongs to an account,
/// a reset link (and its code) goes to it; the answer is `202` either way and comes before the
/// e-mail is sent, so it tells nobody whether the address has an account. Limited per client
/// and per address; `503` when the server sends no e-mail.
#[utoipa::path(
    post,
    path = "/auth/password-reset/email",
    tag = "account",
    summary = "E-mail a password reset link to this address if it has an account; 202 either way, before sending, so nothing tells whether it has one",
    request_body(content = ResetByEmail, example = json!({"email": "pat@example.org"})),
    responses(
        (status = 202, description = "Accepted: a link goes out if the address has an account"),
        (status = 429, description = "Too many attempts: try again later (Retry-After)", body = ErrorBody),
        (status = 503, description = "This server is not set up for it", body = ErrorBody),
        answers::Invalid,
        answers::Body,
    ),
    security(),
)]
pub async fn reset_by_email(
    State(state): State<AppState>,
    client: ClientAddr,
    Body(req): Body<ResetByEmail>,
) -> ApiResult<StatusCode> {
    let email = validate::email("email", &req.email)?;
    let Some(mailer) = state.config.mailer.clone() else {
        return Err(ApiError::Unavailable(
            "this server sends no e-mail: ask your care team for a reset code",
        ));
    };
    let now = state.clock.now();
    for key in [client.key("reset-email"), format!("reset-email:{email}")] {
        if let Err(wait) = state.mail_limiter.check(&key, now) {
            return Err(ApiError::TooManyRequests(wait));
        }
        state.mail_limiter.failed(&key, now);
    }
    let user = match state.store.credentials(&email).await {
        Ok(credentials) => credentials.user,
        Err(StoreError::NotFound) => {
            tracing::info!("a reset e-mail was asked for an address with no account");
            return Ok(StatusCode::ACCEPTED);
        }
        Err(other) => return Err(other.into()),
    };
    let code = new_code(3)?;
    let expires_at = now + state.config.reset_ttl;
    state
        .store
        .create_password_reset(&hash_code(&code), user.id, None, now, expires_at)
        .await?;
    // E-mailed links start at --public-url only (serve requires it with --smtp-url): the
    // Host header of a public request is the asker's to choose.
    let base = state.config.public_url.clone().unwrap_or_default();
    let link = format!("{base}{}", links::path_with_code(links::RESET_PAGE, &code));
    let mail = mail::reset_mail(
        &user.email,
        &user.display_name,
        &link,
        &code,
        state.config.reset_ttl.num_hours(),
    );
    tokio::spawn(async move {
        if let Err(err) = mailer.send(mail).await {
            tracing::error!(user = user.id, %err, "a reset e-mail was not sent");
        }
    });
    Ok(StatusCode::ACCEPTED)
}
