//! Getting back in: a one-time password reset code made by the care team and handed over (as
//! a link and a QR code, like an invite), and the page's call that sets a new password with it.
//! A code works once, until it expires ([`crate::state::Config::reset_ttl`]); a newer code
//! voids the older ones; using it ends every login of that person. Failed attempts are limited
//! per client address.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store::StoreError;

use crate::access::staff_patient;
use crate::auth::{
    AuthUser, ClientAddr, check_new_password, hash_code, hash_password_blocking, new_code,
};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use crate::links::{self, Handover};
use crate::state::AppState;

/// A reset code to hand over.
#[derive(Serialize)]
pub struct ResetCode {
    code: String,
    expires_at: DateTime<Utc>,
    #[serde(flatten)]
    handover: Handover,
}

/// `POST /api/v1/patients/{id}/password-reset` — the care team makes a one-time code with
/// which the patient chooses a new password.
pub async fn create_for_patient(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<ResetCode>)> {
    let patient = staff_patient(&state, &user, id, "write patient.password-reset").await?;
    let code = new_code(3)?;
    let now = state.clock.now();
    let expires_at = now + state.config.reset_ttl;
    state
        .store
        .create_password_reset(
            &hash_code(&code),
            patient.id,
            Some(user.id),
            now,
            expires_at,
        )
        .await?;
    let handover = Handover::new(&links::base_url(&state, &headers), links::RESET_PAGE, &code);
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    code: String,
    password: String,
}

/// `POST /api/v1/auth/password-reset` — public: the code is the credential. Answers 204; the
/// person then signs in with the new password.
pub async fn reset(
    State(state): State<AppState>,
    client: ClientAddr,
    Body(req): Body<NewPassword>,
) -> ApiResult<StatusCode> {
    check_new_password(&req.password)?;
    let key = client.key("password-reset");
    let now = state.clock.now();
    if let Err(wait) = state.code_limiter.check(&key, now) {
        return Err(ApiError::TooManyRequests(wait));
    }
    let password_hash = hash_password_blocking(req.password).await?;
    match state
        .store
        .reset_password(&hash_code(&req.code), &password_hash, now)
        .await
    {
        Ok(user) => {
            tracing::info!(user = user.id, "password reset");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => {
            state.code_limiter.failed(&key, now);
            Err(ApiError::invalid(
                "code",
                "this reset code is not known",
                "the code your care team gave you",
            ))
        }
        Err(StoreError::Gone) => {
            state.code_limiter.failed(&key, now);
            Err(ApiError::Gone(
                "this reset code was already used, replaced by a newer one, or has expired: ask for a new one",
            ))
        }
        Err(other) => Err(other.into()),
    }
}
