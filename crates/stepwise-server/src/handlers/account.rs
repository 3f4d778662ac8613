//! Logging in and out, who am I, and invites (single-use codes from a clinic admin or a
//! therapist that let a new therapist or patient create their account).

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, http::HeaderMap};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api;
use stepwise_store::{
    NewInvite, NewUser, PatientInvite, Role, SafetyContact, StoreError, WalkingPlan,
};

use crate::access::require_role;
use crate::auth::{
    self, AuthUser, ClientAddr, check_new_password, hash_code, hash_password_blocking, hash_token,
    new_code, new_token, session_cookie, verify_password_blocking,
};
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::handlers::recovery::CodeAttempt;
use crate::handlers::staff::merge_rules;
use crate::json::Body;
use crate::links::{self, Handover};
use crate::state::AppState;
use crate::validate;
use crate::validate::parse_zone;

/// Login request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

/// Login answer: the user and the CSRF token for cookie-authenticated writes.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    user: api::User,
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

/// A real Argon2id hash to verify against when the e-mail is unknown, so that an unknown
/// address and a wrong password take equally long.
fn dummy_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY
        .get_or_init(|| auth::hash_password("stepwise-dummy-password").unwrap_or_default())
        .clone()
}

/// `POST /api/v1/auth/login`
///
/// Failed logins are limited per client and account, and per client: someone trying another
/// person's address slows down only themselves, never the owner signing in from their own
/// device; one client trying many addresses is slowed too.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "account",
    summary = "Log in; sets the HttpOnly session cookie and returns the CSRF token",
    request_body(content = Login, example = json!({"email": "pat@example.org", "password": "walk-a-little-further"})),
    responses(
        (status = 200, description = "Logged in", body = LoggedIn),
        (status = 401, description = "Not logged in, or the login has expired", body = ErrorBody),
        (status = 429, description = "Too many attempts: try again later (Retry-After)", body = ErrorBody),
        answers::Invalid,
        answers::Body,
    ),
    security(),
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    Body(req): Body<Login>,
) -> ApiResult<Response> {
    // No stored e-mail or password holds a control character (sign-up refuses them), and one
    // must not reach the database's text comparison or the password hasher.
    validate::text("email", &req.email, 254)?;
    validate::text("password", &req.password, crate::auth::MAX_PASSWORD_LEN)?;
    let email = req.email.trim().to_lowercase();
    let now = state.clock.now();
    let account_key = client.key(&format!("login:{email}"));
    let client_key = client.key("login");
    for (limiter, key) in [
        (&state.login_limiter, &account_key),
        (&state.login_client_limiter, &client_key),
    ] {
        if let Err(wait) = limiter.check(key, now) {
            return Err(ApiError::TooManyRequests(wait));
        }
    }
    let (user, phc) = match state.store.credentials(&email).await {
        Ok(c) => (Some(c.user), c.password_hash),
        Err(StoreError::NotFound) => (None, dummy_hash()),
        Err(other) => return Err(other.into()),
    };
    let ok = verify_password_blocking(req.password, phc).await;
    let Some(user) = user.filter(|_| ok) else {
        state.login_limiter.failed(&account_key, now);
        state.login_client_limiter.failed(&client_key, now);
        return Err(ApiError::Unauthorized);
    };
    state.login_limiter.succeeded(&account_key);
    let token = new_token()?;
    let csrf_token = new_token()?;
    let expires_at = now + state.config.session_ttl;
    state
        .store
        .create_auth_session(&hash_token(&token), user.id, &csrf_token, now, expires_at)
        .await?;
    let cookie = session_cookie(
        &token,
        state.config.session_ttl,
        state.config.secure_cookies,
    );
    let body = LoggedIn {
        user: user.into(),
        csrf_token,
        expires_at,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/v1/auth/logout`
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "account",
    summary = "Log out",
    responses(
        (status = 204, description = "Logged out"),
        answers::Common,
    ),
)]
pub async fn logout(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = auth::session_token(&headers) {
        state.store.delete_auth_session(&hash_token(token)).await?;
    }
    let cookie = auth::clear_session_cookie(state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// Who is logged in, and for patients their patient record.
#[derive(Serialize, ToSchema)]
pub struct Me {
    user: api::User,
    #[serde(skip_serializing_if = "Option::is_none")]
    patient: Option<api::Patient>,
}

/// `GET /api/v1/me`
#[utoipa::path(
    get,
    path = "/me",
    tag = "account",
    summary = "The logged-in user (and their patient record)",
    responses(
        (status = 200, description = "Me", body = Me),
        answers::Common,
    ),
)]
pub async fn me(State(state): State<AppState>, AuthUser(user): AuthUser) -> ApiResult<Json<Me>> {
    let patient = match user.role {
        Role::Patient => Some(state.store.patient(user.id).await?),
        _ => None,
    };
    Ok(Json(Me {
        user: user.into(),
        patient: patient.map(api::Patient::from),
    }))
}

/// Invite request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    #[schema(value_type = api::Role)]
    role: Role,
    /// For patients: their therapist (defaults to the inviting therapist).
    therapist_id: Option<i64>,
    /// For patients: their IANA time zone.
    timezone: Option<String>,
    /// Also e-mail the invite to this address (needs `--smtp-url`).
    email: Option<String>,
}

/// The invite code, shown once.
#[derive(Serialize, ToSchema)]
pub struct Invite {
    code: String,
    role: api::Role,
    expires_at: DateTime<Utc>,
    /// The join link (the code in its fragment) and its QR code, to hand over.
    #[serde(flatten)]
    handover: Handover,
    /// Where the invite was e-mailed, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    emailed_to: Option<String>,
    /// Why the e-mail asked for was not sent (the invite works all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    email_error: Option<String>,
}

/// `POST /api/v1/invites` — clinic admins invite therapists and patients; therapists invite
/// patients of their own.
#[utoipa::path(
    post,
    path = "/invites",
    tag = "account",
    summary = "Invite a therapist (clinic admin) or a patient (clinic admin, therapist)",
    request_body(content = InviteRequest, example = json!({"role": "patient", "therapist_id": 2, "timezone": "Europe/London"})),
    responses(
        (status = 201, description = "The single-use code, shown once", body = Invite),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn create_invite(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    Body(req): Body<InviteRequest>,
) -> ApiResult<(StatusCode, Json<Invite>)> {
    require_role(
        &user,
        &[Role::ClinicAdmin, Role::Therapist],
        "only the care team can invite",
    )?;
    let patient = match req.role {
        Role::ClinicAdmin => {
            return Err(ApiError::invalid(
                "role",
                "clinic admins are created with `stepwise admin create-clinic`",
                "therapist or patient",
            ));
        }
        Role::Therapist => {
            require_role(
                &user,
                &[Role::ClinicAdmin],
                "only a clinic admin can invite therapists",
            )?;
            None
        }
        Role::Patient => {
            let therapist_id = match (user.role, req.therapist_id) {
                (Role::Therapist, None) => user.id,
                (Role::Therapist, Some(id)) if id != user.id => {
                    return Err(ApiError::Forbidden(
                        "a therapist invites patients for themself",
                    ));
                }
                (_, Some(id)) => id,
                (_, None) => {
                    return Err(ApiError::invalid(
                        "therapist_id",
                        "therapist_id is required",
                        "the id of a therapist of this clinic",
                    ));
                }
            };
            let therapist = match state.store.user(therapist_id).await {
                Ok(t) if t.role == Role::Therapist && t.clinic_id == user.clinic_id => t,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(ApiError::invalid(
                        "therapist_id",
                        format!("{therapist_id} is not a therapist of this clinic"),
                        "the id of a therapist of this clinic",
                    ));
                }
                Err(other) => return Err(other.into()),
            };
            let timezone = req.timezone.ok_or_else(|| {
                ApiError::invalid(
                    "timezone",
                    "timezone is required",
                    "an IANA time zone name such as Europe/Berlin",
                )
            })?;
            parse_zone("timezone", &timezone)?;
            Some(PatientInvite {
                therapist_id: therapist.id,
                timezone,
            })
        }
    };
    let email_to = match &req.email {
        None => None,
        Some(address) => {
            let address = validate::email("email", address)?;
            match &state.config.mailer {
                Some(mailer) => Some((address, mailer.clone())),
                None => {
                    return Err(ApiError::invalid(
                        "email",
                        "this server sends no e-mail (it has no --smtp-url)",
                        "no e-mail: hand the link, QR code or code over yourself",
                    ));
                }
            }
        }
    };
    let code = new_code(3)?;
    let now = state.clock.now();
    let expires_at = now + state.config.invite_ttl;
    state
        .store
        .create_invite(
            NewInvite {
                code_hash: hash_code(&code),
                clinic_id: user.clinic_id,
                role: req.role,
                created_by: user.id,
                expires_at,
                patient,
            },
            now,
        )
        .await?;
    let handover = Handover::new(&links::base_url(&state, &headers), links::JOIN_PAGE, &code);
    let (mut emailed_to, mut email_error) = (None, None);
    if let Some((address, mailer)) = email_to {
        let clinic = state.store.clinic(user.clinic_id).await?;
        let mail = crate::mail::invite_mail(
            &address,
            &clinic.name,
            &handover.link,
            &code,
            state.config.invite_ttl.num_days(),
        );
        match mailer.send(mail).await {
            Ok(()) => emailed_to = Some(address),
            Err(err) => {
                tracing::warn!(%err, "an invite e-mail was not sent");
                email_error = Some(err.to_string());
            }
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(Invite {
            code,
            role: req.role.into(),
            expires_at,
            handover,
            emailed_to,
            email_error,
        }),
    ))
}

/// Accepting an invite.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    code: String,
    email: String,
    display_name: String,
    password: String,
}

/// `POST /api/v1/invites/accept` — public: the code is the credential.
#[utoipa::path(
    post,
    path = "/invites/accept",
    tag = "account",
    summary = "Create an account with an invite code",
    request_body(content = AcceptInvite, example = json!({"code": "Q4TN-8HVB-3KLP", "email": "sam@example.org", "display_name": "Sam Okafor", "password": "walk-a-little-further"})),
    responses(
        (status = 201, description = "The new user", body = api::User),
        (status = 409, description = "Conflicts with what is stored", body = ErrorBody),
        (status = 410, description = "The code was used or has expired", body = ErrorBody),
        (status = 429, description = "Too many attempts: try again later (Retry-After)", body = ErrorBody),
        answers::Invalid,
        answers::Body,
    ),
    security(),
)]
pub async fn accept_invite(
    State(state): State<AppState>,
    client: ClientAddr,
    Body(req): Body<AcceptInvite>,
) -> ApiResult<(StatusCode, Json<api::User>)> {
    let email = validate::email("email", &req.email)?;
    validate::required_text("display_name", &req.display_name, 100)?;
    check_new_password(&req.password)?;
    validate::code("code", &req.code)?;
    let attempt = CodeAttempt::start(&state, &client, "invite")?;
    let password_hash = hash_password_blocking(req.password).await?;
    let user = NewUser {
        email,
        display_name: req.display_name.trim().to_string(),
        password_hash,
    };
    let result = state
        .store
        .accept_invite(&hash_code(&req.code), user, attempt.now())
        .await;
    // Codes carry about 58 random bits: guessing one is not practical, and failed attempts
    // are limited per client besides.
    let user = attempt.outcome(
        result,
        ApiError::invalid(
            "code",
            "this invite code is not known",
            "the code from your invitation",
        ),
        "this invite code was already used or has expired: ask your care team for a new one",
    )?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// `GET /api/v1/clinic/therapists` — the clinic's therapists (for assigning patients).
#[utoipa::path(
    get,
    path = "/clinic/therapists",
    tag = "account",
    summary = "The clinic's therapists",
    responses(
        (status = 200, description = "Therapists", body = Vec<api::User>),
        answers::Common,
    ),
)]
pub async fn therapists(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<api::User>>> {
    require_role(
        &user,
        &[Role::ClinicAdmin, Role::Therapist],
        "this is for the care team",
    )?;
    Ok(Json(
        state
            .store
            .clinic_users(user.clinic_id, Role::Therapist)
            .await?
            .into_iter()
            .map(api::User::from)
            .collect(),
    ))
}

/// `GET /api/v1/clinic` — the caller's clinic with the rules and plan new patients start
/// with (care team).
#[utoipa::path(
    get,
    path = "/clinic",
    tag = "care team",
    summary = "The caller's clinic with the rules and plan new patients start with",
    responses(
        (status = 200, description = "The clinic", body = api::Clinic),
        answers::LoggedIn,
    ),
)]
pub async fn clinic(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<api::Clinic>> {
    require_role(
        &user,
        &[Role::ClinicAdmin, Role::Therapist],
        "this is for the care team",
    )?;
    Ok(Json(state.store.clinic(user.clinic_id).await?.into()))
}

/// New clinic defaults: any subset of the rules' fields, and the starting plan.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicDefaults {
    #[serde(default)]
    #[schema(value_type = api::RulesPatch)]
    rules: serde_json::Map<String, serde_json::Value>,
    #[schema(value_type = Option<api::Plan>)]
    plan: Option<DefaultPlan>,
}

/// The plan new patients start with until a baseline is set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultPlan {
    interval_s: i64,
    bouts: i64,
    rest_s: i64,
    sessions_per_week: i64,
}

/// `PUT /api/v1/clinic/defaults` (clinic admin) — the rules and plan new patients start with;
/// patients already in care keep theirs.
#[utoipa::path(
    put,
    path = "/clinic/defaults",
    tag = "care team",
    summary = "Set the rules (any subset of fields) and plan new patients start with (clinic admin)",
    request_body(content = ClinicDefaults, example = json!({"rules": api::rules_example(), "plan": api::plan_example()})),
    responses(
        (status = 200, description = "The clinic with its new defaults", body = api::Clinic),
        answers::LoggedIn,
        answers::Invalid,
        answers::Body,
    ),
)]
pub async fn set_clinic_defaults(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<ClinicDefaults>,
) -> ApiResult<Json<api::Clinic>> {
    require_role(&user, &[Role::ClinicAdmin], "this is for clinic admins")?;
    let clinic = state.store.clinic(user.clinic_id).await?;
    let rules = merge_rules(&clinic.default_rules, req.rules, "rules.")?;
    let plan = match req.plan {
        Some(p) => WalkingPlan {
            interval_s: p.interval_s,
            bouts: p.bouts,
            rest_s: p.rest_s,
            sessions_per_week: p.sessions_per_week,
        },
        None => clinic.default_plan,
    };
    plan.validate_as("plan.", &rules)?;
    state
        .store
        .set_clinic_defaults(user.clinic_id, &rules, &plan)
        .await?;
    Ok(Json(state.store.clinic(user.clinic_id).await?.into()))
}

/// The clinic's contact in the safety advice; empty or missing fields take the default.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SafetyContactBody {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// Longest safety phone number, characters.
pub const SAFETY_PHONE_MAX: usize = 40;
/// Longest safety contact text, characters.
pub const SAFETY_TEXT_MAX: usize = 600;

/// `PUT /api/v1/clinic/safety-contact` (clinic admin) — who a patient reporting red-flag pain
/// is told to contact, shown with the safety advice at once.
#[utoipa::path(
    put,
    path = "/clinic/safety-contact",
    tag = "care team",
    summary = "Set the clinic's contact in the safety advice a patient reads at once after red-flag pain (clinic admin); empty fields take the default wording",
    request_body(content = SafetyContactBody, example = json!({"phone": "+44 20 7946 0958", "text": "If pain spreads down both legs or you lose bladder control, call 999."})),
    responses(
        (status = 200, description = "The clinic with its safety contact", body = api::Clinic),
        answers::LoggedIn,
        answers::Invalid,
        answers::Body,
    ),
)]
pub async fn set_safety_contact(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<SafetyContactBody>,
) -> ApiResult<Json<api::Clinic>> {
    require_role(&user, &[Role::ClinicAdmin], "this is for clinic admins")?;
    let trimmed = |value: Option<String>| {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let contact = SafetyContact {
        phone: trimmed(req.phone),
        text: trimmed(req.text),
    };
    if let Some(phone) = &contact.phone {
        validate::text("phone", phone, SAFETY_PHONE_MAX)?;
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
        {
            return Err(ApiError::invalid(
                "phone",
                "characters other than digits, spaces and + - ( ) . /",
                "a phone number as people dial it, e.g. +44 20 7946 0000",
            ));
        }
    }
    if let Some(text) = &contact.text {
        validate::text("text", text, SAFETY_TEXT_MAX)?;
    }
    state
        .store
        .set_safety_contact(user.clinic_id, &contact)
        .await?;
    Ok(Json(state.store.clinic(user.clinic_id).await?.into()))
}

/// The session's CSRF token.
#[derive(Serialize, ToSchema)]
pub struct CsrfToken {
    csrf_token: String,
}

/// `GET /api/v1/auth/csrf` — the CSRF token of the caller's login session, for a page opened
/// again after the login (an installed app's new window). Only same-origin pages can read it.
#[utoipa::path(
    get,
    path = "/auth/csrf",
    tag = "account",
    summary = "The CSRF token of the caller's login session (for a page opened again after the login)",
    responses(
        (status = 200, description = "The token", body = CsrfToken),
        (status = 401, description = "Not logged in, or the login has expired", body = ErrorBody),
        (status = 403, description = "Logged in but not allowed, or a write without the CSRF token", body = ErrorBody),
    ),
)]
pub async fn csrf(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<CsrfToken>> {
    let session = crate::auth::live_session(&headers, &state).await?;
    Ok(Json(CsrfToken {
        csrf_token: session.csrf_token,
    }))
}
