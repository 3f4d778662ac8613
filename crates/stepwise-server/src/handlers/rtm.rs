//! Remote therapeutic monitoring evidence (`docs/rtm.md`): per patient and calendar month,
//! the 30-day device periods with their days of band data and the month's clinician minutes
//! with the live conversations, against the thresholds of `stepwise_care::rtm::RULES`. One
//! patient's month, the clinic's month for every patient the caller may see, and that as CSV.
//! Every answer carries [`NOT_BILLING_ADVICE`]; every patient read is audited.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use stepwise_care::calendar::local_day;
use stepwise_care::rtm::{
    self, CalendarMonth, Inputs, MonthEvidence, NOT_BILLING_ADVICE, Progress,
};
use stepwise_engine::adherence::DATA_WINDOW_DAYS;
use stepwise_store::{Patient, Role, Store};
use utoipa::ToSchema;

use crate::access::{check_staff_access, require_role, staff_patient};
use crate::auth::AuthUser;
use crate::error::{ApiResult, answers};
use crate::handlers::report::download;
use crate::handlers::team::MonthQuery;
use crate::json::{Path, Query};
use crate::report::csv::{table, text};
use crate::state::AppState;
use crate::validate::{self, parse_zone};

/// One patient's evidence for one calendar month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatientMonth {
    /// The patient.
    pub patient_id: i64,
    /// Their name.
    pub display_name: String,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The codes whose thresholds the month's evidence reaches, with their units
    /// (`98977`, `98980`, `98981 × 2`).
    pub codes_met: Vec<String>,
    /// The evidence; null when monitoring has not started by the month's end.
    pub evidence: Option<MonthEvidence>,
    /// Why there is no evidence, in words; null when there is.
    pub not_started: Option<String>,
}

/// The clinic's month: every patient the caller may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClinicMonth {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// What this is and is not (it is not billing advice).
    pub notice: String,
    /// The thresholds every line is checked against, with their sources.
    #[schema(value_type = Vec<Object>)]
    pub rules: &'static [rtm::Rule],
    /// One row per patient, by name.
    pub patients: Vec<PatientMonth>,
}

/// The month `query` names (`YYYY-MM`), or the current month of `today`.
fn month_of(query: &MonthQuery, today: NaiveDate) -> ApiResult<(NaiveDate, NaiveDate)> {
    validate::month_or_current("month", query.month.as_deref(), today)
}

/// A patient's evidence for the month starting `first` and ending `last`.
pub async fn patient_month(
    store: &dyn Store,
    patient: &Patient,
    (first, last): (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> ApiResult<PatientMonth> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    let today = local_day(tz, now);
    let month = CalendarMonth::of(first);
    // Periods that overlap the month run up to a period's length past its end.
    let through = last
        .checked_add_days(Days::new(DATA_WINDOW_DAYS))
        .unwrap_or(last);
    let band_days = store
        .band_days(patient.id, *validate::DATES.start(), through)
        .await?;
    let data_days = rtm::data_days(&band_days);
    let label = first.format("%Y-%m").to_string();
    let Some(&start) = data_days.iter().min().filter(|start| **start <= last) else {
        return Ok(PatientMonth {
            patient_id: patient.id,
            display_name: patient.display_name.clone(),
            month: label,
            codes_met: Vec::new(),
            evidence: None,
            not_started: Some(
                "monitoring has not started: no band data by the end of this month".into(),
            ),
        });
    };
    let entries = store
        .time_entries(patient.id, first, last)
        .await?
        .iter()
        .filter_map(rtm::TimeEntry::logged)
        .collect();
    let evidence = rtm::month_evidence(&Inputs {
        monitoring_start: start,
        data_days,
        entries,
        month,
        today,
    })?;
    Ok(PatientMonth {
        patient_id: patient.id,
        display_name: patient.display_name.clone(),
        month: label,
        codes_met: codes_met(&evidence),
        evidence: Some(evidence),
        not_started: None,
    })
}

/// The codes met, in the table's order: device periods' then management codes (an add-on with
/// its units).
fn codes_met(evidence: &MonthEvidence) -> Vec<String> {
    let mut met: Vec<String> = evidence
        .periods
        .iter()
        .filter_map(|p| {
            let code = p.code_met.as_ref()?;
            let so_far = if p.progress == Progress::Complete {
                ""
            } else {
                " (so far)"
            };
            Some(format!("{code}{so_far}"))
        })
        .collect();
    for code in evidence.management.codes.iter().filter(|c| c.met) {
        let add_on = rtm::rule(&code.code)
            .is_some_and(|r| matches!(r.bounds, rtm::Bounds::EachFurther { .. }));
        met.push(if add_on {
            format!("{} × {}", code.code, code.units)
        } else {
            code.code.clone()
        });
    }
    met
}

/// `GET /api/v1/patients/{id}/rtm?month=YYYY-MM`
#[utoipa::path(
    get,
    path = "/patients/{id}/rtm",
    tag = "reports",
    summary = "A patient's remote therapeutic monitoring evidence for one calendar month (evidence, not billing advice)",
    params(("id" = i64, Path, description = "The patient's id"), MonthQuery),
    responses(
        (status = 200, description = "The month's evidence", body = PatientMonth),
        answers::Common,
    ),
)]
pub async fn patient_rtm(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(query): Query<MonthQuery>,
) -> ApiResult<Json<PatientMonth>> {
    let patient = staff_patient(&state, &user, id, "read patient.rtm").await?;
    let now = state.clock.now();
    let today = local_day(parse_zone("timezone", &patient.timezone)?, now);
    let month = month_of(&query, today)?;
    Ok(Json(
        patient_month(state.store.as_ref(), &patient, month, now).await?,
    ))
}

/// Every patient the caller may see, for the month asked (or the current one in UTC).
async fn clinic_month(
    state: &AppState,
    user: &stepwise_store::User,
    query: &MonthQuery,
    action: &str,
) -> ApiResult<ClinicMonth> {
    require_role(
        user,
        &[Role::Therapist, Role::ClinicAdmin],
        "this is for the care team",
    )?;
    let now = state.clock.now();
    let month = month_of(query, now.date_naive())?;
    let mut patients = Vec::new();
    for patient in state.store.clinic_patients(user.clinic_id).await? {
        if check_staff_access(user, &patient).is_err() {
            continue;
        }
        state.audit(user, action, Some(patient.id)).await?;
        patients.push(patient_month(state.store.as_ref(), &patient, month, now).await?);
    }
    patients.sort_by(|a, b| (&a.display_name, a.patient_id).cmp(&(&b.display_name, b.patient_id)));
    Ok(ClinicMonth {
        month: month.0.format("%Y-%m").to_string(),
        notice: NOT_BILLING_ADVICE.into(),
        rules: rtm::RULES,
        patients,
    })
}

/// `GET /api/v1/clinic/rtm?month=YYYY-MM`
#[utoipa::path(
    get,
    path = "/clinic/rtm",
    tag = "reports",
    summary = "Remote therapeutic monitoring evidence of every patient the caller may see, for one calendar month (evidence, not billing advice)",
    params(MonthQuery),
    responses(
        (status = 200, description = "The clinic's month", body = ClinicMonth),
        answers::Common,
    ),
)]
pub async fn clinic_rtm(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<MonthQuery>,
) -> ApiResult<Json<ClinicMonth>> {
    Ok(Json(
        clinic_month(&state, &user, &query, "read clinic.rtm").await?,
    ))
}

/// `GET /api/v1/clinic/rtm.csv?month=YYYY-MM`
#[utoipa::path(
    get,
    path = "/clinic/rtm.csv",
    tag = "reports",
    summary = "The clinic's remote therapeutic monitoring month as CSV: one row per piece of evidence",
    params(MonthQuery),
    responses(
        (status = 200, description = "CSV", body = String, content_type = "text/csv"),
        answers::Common,
    ),
)]
pub async fn clinic_rtm_csv(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<MonthQuery>,
) -> ApiResult<Response> {
    let month = clinic_month(&state, &user, &query, "export clinic.rtm").await?;
    let filename = format!("stepwise-rtm-{}.csv", month.month);
    Ok(download(
        "text/csv; charset=utf-8",
        filename,
        rtm_csv(&month),
    ))
}

/// A period's line and the dates with data it counts.
fn with_days(why: &str, days: &[NaiveDate]) -> String {
    if days.is_empty() {
        return why.to_string();
    }
    let dates: Vec<String> = days.iter().map(NaiveDate::to_string).collect();
    format!("{why}. Days with data: {}", dates.join(" "))
}

/// The CSV columns: who and which month, what the row is, and its figures.
const RTM_COLUMNS: &[&str] = &[
    "patient_id",
    "patient",
    "month",
    "record",
    "code",
    "met",
    "units",
    "first_day",
    "last_day",
    "date",
    "days_with_data",
    "minutes",
    "clinician",
    "contact",
    "detail",
];

/// One row of [`RTM_COLUMNS`], the unnamed cells empty.
#[derive(Default)]
struct Row {
    record: &'static str,
    code: String,
    met: String,
    units: String,
    first_day: String,
    last_day: String,
    date: String,
    days_with_data: String,
    minutes: String,
    clinician: String,
    contact: String,
    detail: String,
}

/// The clinic's month as CSV (RFC 4180, as the report's tables): a first row with the notice,
/// then per patient its monitoring start, each device period, each management code, each time
/// entry and each conversation.
pub fn rtm_csv(month: &ClinicMonth) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut push = |patient: Option<&PatientMonth>, row: Row| {
        rows.push(vec![
            patient
                .map(|p| p.patient_id.to_string())
                .unwrap_or_default(),
            text(&patient.map(|p| p.display_name.clone()).unwrap_or_default()),
            month.month.clone(),
            row.record.into(),
            row.code,
            row.met,
            row.units,
            row.first_day,
            row.last_day,
            row.date,
            row.days_with_data,
            row.minutes,
            text(&row.clinician),
            row.contact,
            text(&row.detail),
        ]);
    };
    push(
        None,
        Row {
            record: "notice",
            detail: month.notice.clone(),
            ..Row::default()
        },
    );
    for patient in &month.patients {
        let Some(evidence) = &patient.evidence else {
            push(
                Some(patient),
                Row {
                    record: "not_started",
                    detail: patient.not_started.clone().unwrap_or_default(),
                    ..Row::default()
                },
            );
            continue;
        };
        push(
            Some(patient),
            Row {
                record: "monitoring_start",
                date: evidence.monitoring_start.to_string(),
                code: evidence
                    .episode_start
                    .as_ref()
                    .map(|e| e.code.clone())
                    .unwrap_or_default(),
                detail: evidence
                    .episode_start
                    .as_ref()
                    .map(|e| e.why.clone())
                    .unwrap_or_default(),
                ..Row::default()
            },
        );
        for period in &evidence.periods {
            push(
                Some(patient),
                Row {
                    record: "device_period",
                    code: period.code_met.clone().unwrap_or_default(),
                    met: period.code_met.is_some().to_string(),
                    first_day: period.first_day.to_string(),
                    last_day: period.last_day.to_string(),
                    days_with_data: period.days_with_data.to_string(),
                    detail: with_days(&period.why, &period.data_days),
                    ..Row::default()
                },
            );
        }
        for code in &evidence.management.codes {
            push(
                Some(patient),
                Row {
                    record: "management_code",
                    code: code.code.clone(),
                    met: code.met.to_string(),
                    units: code.units.to_string(),
                    minutes: evidence.management.total_minutes.to_string(),
                    detail: code.why.clone(),
                    ..Row::default()
                },
            );
        }
        for clinician in &evidence.management.clinicians {
            for entry in &clinician.entries {
                push(
                    Some(patient),
                    Row {
                        record: "time_entry",
                        date: entry.date.to_string(),
                        minutes: entry.minutes.to_string(),
                        clinician: entry.clinician_name.clone(),
                        contact: entry.live.map(|l| l.as_str()).unwrap_or_default().into(),
                        detail: entry.activity.clone(),
                        ..Row::default()
                    },
                );
            }
        }
        for talk in &evidence.management.conversations {
            push(
                Some(patient),
                Row {
                    record: "conversation",
                    date: talk.date.to_string(),
                    clinician: talk.clinician_name.clone(),
                    contact: talk.contact.as_str().into(),
                    met: talk.counts_as_live.to_string(),
                    detail: if talk.counts_as_live {
                        "counts as the live conversation".into()
                    } else {
                        "recorded; not counted as the live conversation (docs/rtm.md)".into()
                    },
                    ..Row::default()
                },
            );
        }
    }
    table(RTM_COLUMNS, rows.into_iter())
}
