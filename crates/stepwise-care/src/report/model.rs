//! The pre-visit report as data: what the JSON API returns, what the page, the charts, the CSV
//! and the FHIR exports are made from.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use stepwise_engine::{Decision, Said};

use crate::questionnaires::QuestionnaireSeries;
use crate::records::{BandDay, DeviceDay, FlareRecord, Id, PlanChange, WalkingPlan};

/// One patient's report over `[from, to]` (local dates, both included).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::Report))]
pub struct Report {
    /// Who.
    pub patient: ReportPatient,
    /// First local date of the window.
    pub from: NaiveDate,
    /// Last local date of the window.
    pub to: NaiveDate,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// A short plain-language summary.
    pub summary: String,
    /// What needs a look, most urgent first (see the `attention` module).
    pub attention: Vec<Attention>,
    /// Sessions done against prescribed, per week and overall.
    pub adherence: AdherenceReport,
    /// Walks confirmed by the band.
    pub verification: VerificationReport,
    /// Days with band data per 30-day period (remote-monitoring billing), oldest first.
    pub band_data_periods: Vec<DataPeriod>,
    /// Two-hour checks answered.
    pub two_hour_checks: ChecksReport,
    /// Every walk in the window, oldest first.
    pub walks: Vec<WalkRow>,
    /// Mean pain before and two hours after, per week.
    pub pain_weeks: Vec<PainWeek>,
    /// Flares in the window.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub flares: Vec<FlareRecord>,
    /// The interval over the window with every change and its reason.
    pub interval: IntervalReport,
    /// The plan in force now.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub plan: WalkingPlan,
    /// The pain limits of the rules in force now (the pain chart draws them).
    pub limits: PainLimits,
    /// Weekly decisions of weeks in the window, with reasons.
    pub decisions: Vec<DecisionRow>,
    /// Band data per local day (days with data only).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub daily: Vec<BandDay>,
    /// Moderate-to-vigorous activity per complete week inside the window (the logged walks),
    /// oldest first: what the exercise vital signs are made of.
    pub activity_weeks: Vec<ActivityWeek>,
    /// The devices whose data is in the window (bands paired over Bluetooth and devices found
    /// in imported exports), in pairing order.
    pub devices: Vec<ReportDevice>,
    /// Which device gave what to each day of [`daily`](Self::daily), by date then device.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub device_days: Vec<DeviceDay>,
    /// Daily steps: the window's first week against its last.
    pub steps_trend: Trend,
    /// Nightly sleep (minutes): the window's first week against its last.
    pub sleep_trend: Trend,
    /// Escalations not yet acknowledged.
    pub open_escalations: Vec<DecisionRow>,
    /// Outcome measures against their first value.
    pub outcomes: Vec<OutcomeTrend>,
    /// Questionnaires the patient filled in: each instrument's scores (with the answers) against
    /// the first, every response since the first one (not only the window's), so the baseline
    /// stays the first score.
    pub questionnaires: Vec<QuestionnaireSeries>,
}

/// The patient, as the report names them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::ReportPatient))]
pub struct ReportPatient {
    /// User id.
    pub id: Id,
    /// Name.
    pub display_name: String,
    /// IANA time zone the dates are in.
    pub timezone: String,
    /// Next visit, when set.
    pub next_visit: Option<NaiveDate>,
}

/// An attention item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::Attention))]
pub struct Attention {
    /// Stable code, most urgent first: `open_escalation`, `flares`, `pain_limit_breaches`,
    /// `missed_two_hour_checks`, `low_adherence`, `band_silence`, `rising_pain`,
    /// `falling_adherence`, `falling_sleep`, `falling_steps`, `acknowledged_escalation`
    /// (see `attention::ORDER`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: &'static str,
    /// How pressing: `urgent` (an open escalation: changes are paused), `soon` (the patient
    /// is hurting or not doing the programme as planned), `note` (a trend, or an escalation
    /// already acknowledged).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub level: &'static str,
    /// A short name in words, e.g. "Missed checks" (lists show it as a badge).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub title: &'static str,
    /// Plain-language text: what and why.
    pub message: String,
}

/// The pain limits of the rules (0–10): above them a walk is a breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::PainLimits))]
pub struct PainLimits {
    /// Highest pain during the walk.
    pub during_max: i64,
    /// Highest pain two hours after.
    pub after_2h_max: i64,
}

/// Adherence in the window.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::AdherenceReport))]
pub struct AdherenceReport {
    /// Per local week overlapping the window, oldest first.
    pub weeks: Vec<WeekAdherence>,
    /// Sessions with walked time in the window.
    pub done: u32,
    /// Sessions prescribed in the window.
    pub prescribed: u32,
    /// done ÷ prescribed.
    pub share: Option<f64>,
    /// At least 80%.
    pub adherent: bool,
}

/// One week's adherence.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::WeekAdherence))]
pub struct WeekAdherence {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// Days of the week inside the window on which the patient was in the programme (7 except
    /// at the edges and before they joined).
    pub days_in_window: u32,
    /// Sessions with walked time.
    pub done: u32,
    /// Sessions prescribed for those days.
    pub prescribed: u32,
    /// done ÷ prescribed.
    pub share: Option<f64>,
    /// At least 80%.
    pub adherent: bool,
    /// The week has ended: only complete weeks raise adherence attention items (the week in
    /// progress is shown "so far").
    pub complete: bool,
}

/// Band confirmation of walks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::VerificationReport))]
pub struct VerificationReport {
    /// Walks in the window.
    pub walks: u32,
    /// Confirmed by the band.
    pub verified: u32,
    /// Band data present but not enough walking.
    pub not_verified: u32,
    /// No band data in the walk's window.
    pub no_data: u32,
    /// verified ÷ walks.
    pub share: Option<f64>,
}

/// Days with band data in one 30-day period.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::DataPeriod))]
pub struct DataPeriod {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Distinct days with band data.
    pub days: u32,
}

/// Two-hour checks. A walk's check opens [`TWO_HOUR_CHECK_OPENS`](stepwise_engine::checks::TWO_HOUR_CHECK_OPENS)
/// after it ends and is listed for the patient [`CHECK_LISTED_FOR`](stepwise_engine::checks::CHECK_LISTED_FOR);
/// it is **missed** only when that has passed without an answer. Checks not open yet, or
/// open and still listed, are **waiting** and count neither way.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::ChecksReport))]
pub struct ChecksReport {
    /// Walks in the window.
    pub walks: u32,
    /// Walks whose check was answered.
    pub answered: u32,
    /// Checks whose time passed without an answer.
    pub missed: u32,
    /// Checks not open yet, or open and not answered yet.
    pub waiting: u32,
    /// answered ÷ (answered + missed).
    pub share: Option<f64>,
}

/// One walk.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::WalkRow))]
pub struct WalkRow {
    /// Session id.
    pub session_id: Id,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub ended_at: DateTime<Utc>,
    /// Local day.
    pub day: NaiveDate,
    /// Seconds walked.
    pub walked_s: i64,
    /// Bouts.
    pub bouts: i64,
    /// Pain before, 0–10.
    pub pain_before: Option<i64>,
    /// Highest pain during, 0–10.
    pub pain_during_max: Option<i64>,
    /// Pain two hours after, 0–10.
    pub pain_after_2h: Option<i64>,
    /// Pain the morning after, 0–10.
    pub pain_next_morning: Option<i64>,
    /// When the next-morning answer came.
    pub next_morning_answered_at: Option<DateTime<Utc>>,
    /// Effort, Borg CR10.
    pub effort: Option<i64>,
    /// Band confirmation (`None`: no band data).
    pub verified: Option<bool>,
}

/// Mean pain of one week's walks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::PainWeek))]
pub struct PainWeek {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// Mean pain before, over walks that reported it.
    pub mean_before: Option<f64>,
    /// Mean pain two hours after, over walks that reported it.
    pub mean_after_2h: Option<f64>,
}

/// The interval's course.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::IntervalReport))]
pub struct IntervalReport {
    /// Interval at the start of the window, seconds.
    pub start_s: i64,
    /// Interval at the end of the window, seconds.
    pub end_s: i64,
    /// Changes within the window, oldest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<PlanChange>,
}

/// One complete week's moderate-to-vigorous physical activity as Stepwise counts it: the walks
/// the patient logged with walked time, band-verified or not (see `build`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::ActivityWeek))]
pub struct ActivityWeek {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// Local days with at least one walk with walked time.
    pub active_days: u32,
    /// Seconds walked over the week.
    pub walked_s: i64,
    /// The walks counted, oldest first.
    pub sessions: Vec<Id>,
}

/// A device whose data is in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::ReportDevice))]
pub struct ReportDevice {
    /// Device id.
    pub id: Id,
    /// Kind, e.g. `mi-band-5`, `infinitime`, or the kind an export named.
    pub kind: String,
    /// Name shown in pages.
    pub name: String,
    /// The identifier Stepwise keeps it by: a Bluetooth address, or for a device from an export
    /// without one, a UUID derived from what the export names it by.
    pub address: String,
    /// Found in an imported export rather than paired over Bluetooth.
    pub imported: bool,
    /// When it was paired (or first imported).
    pub paired_at: DateTime<Utc>,
    /// When it was removed, if it was.
    pub removed_at: Option<DateTime<Utc>>,
}

/// A weekly decision.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::DecisionRow))]
pub struct DecisionRow {
    /// Review id.
    pub review_id: Id,
    /// Monday of the reviewed week.
    pub week_start: NaiveDate,
    /// When the review ran.
    pub decided_at: DateTime<Utc>,
    /// The version of the patient's rules the review used.
    pub rules_version: i64,
    /// The decision.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub decision: Decision,
    /// Interval before, seconds.
    pub previous_interval_s: i64,
    /// Interval decided, seconds.
    pub interval_s: i64,
    /// Whether it changed the plan.
    pub applied: bool,
    /// Why, in the care team's words.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub reasons: Vec<Said>,
    /// For an escalation: when a therapist acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// For an escalation: the therapist's note with the acknowledgement.
    pub acknowledgement_note: Option<String>,
    /// For an escalation: the user id of the therapist who acknowledged it.
    pub acknowledged_by: Option<Id>,
}

/// First week against last week of a daily measure.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::Trend))]
pub struct Trend {
    /// Unit of the values, e.g. `steps/day` or `min/night`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub unit: &'static str,
    /// Mean over the days with data in the window's first 7 days.
    pub first_week_mean: Option<f64>,
    /// Mean over the days with data in the window's last 7 days.
    pub last_week_mean: Option<f64>,
    /// last − first.
    pub change: Option<f64>,
    /// The change that counts as meaningful (700 steps/day, 30 min of sleep).
    pub meaningful: f64,
    /// |change| ≥ meaningful.
    pub flagged: bool,
}

/// An outcome measure against its first value.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::OutcomeTrend))]
pub struct OutcomeTrend {
    /// Kind, e.g. `oswestry`.
    pub kind: String,
    /// Unit (UCUM), e.g. `%`, `m`, `s`, `{score}`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub unit: &'static str,
    /// First value and its date.
    #[cfg_attr(feature = "openapi", schema(value_type = (String, f64)))]
    pub first: (NaiveDate, f64),
    /// Latest value and its date.
    #[cfg_attr(feature = "openapi", schema(value_type = (String, f64)))]
    pub latest: (NaiveDate, f64),
    /// latest − first.
    pub change: f64,
}

/// A share as a whole percentage, `–` when there is none.
pub fn percent(share: Option<f64>) -> String {
    share.map_or("–".to_string(), |s| format!("{:.0}%", s * 100.0))
}
