//! "Import from your phone": a patient, or a member of their care team, uploads an export
//! (Gadgetbridge, Apple Health, Fitbit in Google Takeout); the server writes it to disk as it
//! arrives, answers at once, and reads it in the background ([`crate::imports`]). The page
//! polls the import for its progress and then its summary or its error.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use stepwise_store::{NewImport, Patient, User};
use utoipa::IntoParams;

use crate::access::{own_patient, staff_patient};
use crate::api::Import;
use crate::auth::AuthUser;
use crate::error::{ApiResult, ErrorBody, answers};
use crate::imports;
use crate::json::{Path, Query};
use crate::state::AppState;
use crate::validate::{self, parse_zone};

/// Longest file name kept.
pub const MAX_FILE_NAME: usize = 200;

/// How many of a patient's imports a list shows (newest first).
pub const LISTED: i64 = 20;

/// The uploaded file's name.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Upload {
    /// The file's name on the phone or computer (shown in the list of imports).
    file_name: String,
}

/// Takes the upload and starts reading it.
async fn start(
    state: &AppState,
    user: &User,
    patient: Patient,
    upload: Upload,
    body: Body,
) -> ApiResult<(StatusCode, Json<Import>)> {
    validate::required_text("file_name", &upload.file_name, MAX_FILE_NAME)?;
    let zone = parse_zone("timezone", &patient.timezone)?;
    let (path, size) = imports::receive(state, body).await?;
    let now = state.clock.now();
    let record = state
        .store
        .create_import(
            NewImport {
                patient_id: patient.id,
                uploaded_by: user.id,
                file_name: upload.file_name.trim().to_string(),
                size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            },
            now,
        )
        .await;
    let record = match record {
        Ok(record) => record,
        Err(err) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(err.into());
        }
    };
    imports::start(state.clone(), record.clone(), path, zone);
    Ok((StatusCode::ACCEPTED, Json(Import::at(record, now))))
}

/// `POST /api/v1/me/imports?file_name=…` — the body is the export file itself.
#[utoipa::path(
    post,
    path = "/me/imports",
    tag = "patient",
    summary = "Upload an export from the patient's phone (Gadgetbridge, Apple Health, Fitbit in Google Takeout)",
    description = "The body is the file as it is (any content type). The answer comes once the file is received; reading goes on in the background: ask for the import until its state is done or failed. Only the last 89 days are kept; the summary says what was left out. Importing the same export again stores nothing new.",
    params(Upload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The export: a Gadgetbridge database or its zip, Apple Health's export.zip or export.xml, or a Google Takeout zip with Fitbit data"),
    responses(
        (status = 202, description = "Received; being read", body = Import),
        (status = 413, description = "Larger than this server takes (--import-max-bytes)", body = ErrorBody),
        answers::LoggedIn,
        answers::Invalid,
    ),
)]
pub async fn upload_mine(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(upload): Query<Upload>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Import>)> {
    let patient = own_patient(&state, &user).await?;
    start(&state, &user, patient, upload, body).await
}

/// `GET /api/v1/me/imports`
#[utoipa::path(
    get,
    path = "/me/imports",
    tag = "patient",
    summary = "The patient's latest imports, newest first",
    responses(
        (status = 200, description = "At most 20 imports", body = Vec<Import>),
        answers::LoggedIn,
    ),
)]
pub async fn my_imports(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<Import>>> {
    let patient = own_patient(&state, &user).await?;
    list(&state, patient.id).await
}

/// `GET /api/v1/me/imports/{import_id}`
#[utoipa::path(
    get,
    path = "/me/imports/{import_id}",
    tag = "patient",
    summary = "One of the patient's imports: its progress, then its summary or error",
    params(("import_id" = i64, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The import", body = Import),
        answers::Common,
    ),
)]
pub async fn my_import(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(import_id): Path<i64>,
) -> ApiResult<Json<Import>> {
    let patient = own_patient(&state, &user).await?;
    one(&state, patient.id, import_id).await
}

/// `POST /api/v1/patients/{id}/imports?file_name=…` — a member of the care team uploads a
/// patient's export (brought to a visit on a phone or a stick).
#[utoipa::path(
    post,
    path = "/patients/{id}/imports",
    tag = "staff",
    summary = "Upload a patient's export for them",
    description = "As POST /me/imports, for the care team: the body is the file as it is.",
    params(("id" = i64, Path, description = "The patient's id"), Upload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The export file"),
    responses(
        (status = 202, description = "Received; being read", body = Import),
        (status = 413, description = "Larger than this server takes (--import-max-bytes)", body = ErrorBody),
        answers::Common,
    ),
)]
pub async fn upload_for_patient(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(upload): Query<Upload>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Import>)> {
    let patient = staff_patient(&state, &user, id, "write patient.imports").await?;
    start(&state, &user, patient, upload, body).await
}

/// `GET /api/v1/patients/{id}/imports`
#[utoipa::path(
    get,
    path = "/patients/{id}/imports",
    tag = "staff",
    summary = "A patient's latest imports, for their care team",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "At most 20 imports, newest first", body = Vec<Import>),
        answers::Common,
    ),
)]
pub async fn patient_imports(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<Import>>> {
    let patient = staff_patient(&state, &user, id, "read patient.imports").await?;
    list(&state, patient.id).await
}

/// `GET /api/v1/patients/{id}/imports/{import_id}`
#[utoipa::path(
    get,
    path = "/patients/{id}/imports/{import_id}",
    tag = "staff",
    summary = "One of a patient's imports, for their care team",
    params(
        ("id" = i64, Path, description = "The patient's id"),
        ("import_id" = i64, Path, description = "The import's id"),
    ),
    responses(
        (status = 200, description = "The import", body = Import),
        answers::Common,
    ),
)]
pub async fn patient_import(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, import_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Import>> {
    let patient = staff_patient(&state, &user, id, "read patient.imports").await?;
    one(&state, patient.id, import_id).await
}

async fn list(state: &AppState, patient_id: i64) -> ApiResult<Json<Vec<Import>>> {
    let now = state.clock.now();
    let imports = state.store.imports(patient_id, LISTED).await?;
    Ok(Json(
        imports.into_iter().map(|i| Import::at(i, now)).collect(),
    ))
}

async fn one(state: &AppState, patient_id: i64, import_id: i64) -> ApiResult<Json<Import>> {
    let import = state.store.import(patient_id, import_id).await?;
    Ok(Json(Import::at(import, state.clock.now())))
}
