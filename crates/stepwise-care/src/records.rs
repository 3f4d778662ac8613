//! The records the store keeps, as plain Rust types. No database type appears here: callers
//! never see which database is behind the store (`stepwise-store`).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};
use stepwise_engine::{Decision, Review, Rules, WeekEvidence};

/// Row id of any table.
pub type Id = i64;

/// A person's role. Every user belongs to exactly one clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Walks, logs, answers two-hour checks; sees only their own data.
    Patient,
    /// Sees and adjusts the patients of their clinic assigned to them.
    Therapist,
    /// Runs a clinic: invites staff and patients, sees every patient of the clinic.
    ClinicAdmin,
}

impl Role {
    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Therapist => "therapist",
            Role::ClinicAdmin => "clinic_admin",
        }
    }

    /// Parses [`Role::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "patient" => Some(Role::Patient),
            "therapist" => Some(Role::Therapist),
            "clinic_admin" => Some(Role::ClinicAdmin),
            _ => None,
        }
    }
}

/// A clinic and the defaults its new patients start from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clinic {
    /// Row id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Rules every new patient of the clinic starts with (version 1 of their rules).
    pub default_rules: Rules,
    /// Plan every new patient starts with, until a baseline is set.
    pub default_plan: WalkingPlan,
    /// Who a patient reporting red-flag pain is told to call.
    pub safety_contact: SafetyContact,
}

/// The clinic's contact in the safety advice a patient reads at once after red-flag pain.
/// `None` fields take the default wording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyContact {
    /// A phone number to call, as the clinic writes it.
    pub phone: Option<String>,
    /// What to do, in the clinic's words (e.g. opening hours, an out-of-hours line).
    pub text: Option<String>,
}

/// A user account. The password hash never leaves the store except through
/// the store's `credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Row id.
    pub id: Id,
    /// The clinic the user belongs to.
    pub clinic_id: Id,
    /// What the user may do.
    pub role: Role,
    /// Login name, stored lower-case.
    pub email: String,
    /// Name shown in pages.
    pub display_name: String,
}

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (lower-cased by the caller).
    pub email: String,
    /// Name shown in pages.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// The walking prescription in force: the engine's plan, whose fields and ranges it owns.
pub use stepwise_engine::Plan as WalkingPlan;

/// A patient: a user with a therapist, a time zone and a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    /// The patient's user id.
    pub id: Id,
    /// Their clinic.
    pub clinic_id: Id,
    /// The therapist they are assigned to.
    pub therapist_id: Id,
    /// Name shown in pages.
    pub display_name: String,
    /// IANA time zone, e.g. `Europe/Berlin`; weeks and reminders are computed in it.
    pub timezone: String,
    /// The plan in force.
    pub plan: WalkingPlan,
    /// An escalation is open: automatic changes are frozen until a therapist acknowledges.
    pub frozen: bool,
    /// When the patient joined.
    pub created_at: DateTime<Utc>,
    /// The next clinic visit, a local date, when one is planned.
    pub next_visit: Option<NaiveDate>,
}

/// Why the plan changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanChangeSource {
    /// A weekly review decided it.
    Review,
    /// A therapist overrode the plan.
    Override,
    /// A therapist set the baseline from tolerance walks.
    Baseline,
}

impl PlanChangeSource {
    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanChangeSource::Review => "review",
            PlanChangeSource::Override => "override",
            PlanChangeSource::Baseline => "baseline",
        }
    }

    /// Parses [`PlanChangeSource::as_str`]'s names.
    pub fn parse(name: &str) -> Option<PlanChangeSource> {
        match name {
            "review" => Some(PlanChangeSource::Review),
            "override" => Some(PlanChangeSource::Override),
            "baseline" => Some(PlanChangeSource::Baseline),
            _ => None,
        }
    }
}

/// One entry of a plan's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// Row id.
    pub id: Id,
    /// When it changed.
    pub at: DateTime<Utc>,
    /// Interval before, seconds.
    pub from_interval_s: i64,
    /// Interval after, seconds.
    pub to_interval_s: i64,
    /// What changed it.
    pub source: PlanChangeSource,
    /// Plain-language reason.
    pub reason: String,
    /// The review that decided it, for [`PlanChangeSource::Review`].
    pub review_id: Option<Id>,
    /// The therapist who changed it, for overrides and baselines.
    pub by_user: Option<Id>,
}

/// A therapist's change of the plan (override or baseline).
#[derive(Debug, Clone)]
pub struct PlanOverride {
    /// The new plan.
    pub plan: WalkingPlan,
    /// Override or baseline.
    pub source: PlanChangeSource,
    /// Why, in plain words.
    pub reason: String,
    /// Who.
    pub by_user: Id,
}

/// One version of a patient's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesVersion {
    /// 1 for the clinic defaults, then +1 per edit.
    pub version: i64,
    /// The rules.
    pub rules: Rules,
    /// When this version was saved.
    pub created_at: DateTime<Utc>,
    /// Who saved it (`None` for the clinic defaults copied at sign-up).
    pub created_by: Option<Id>,
}

/// What happened to a logged walk after it was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionChangeKind {
    /// Its figures were corrected.
    Corrected,
    /// It was withdrawn: it no longer counts anywhere.
    Withdrawn,
}

impl SessionChangeKind {
    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionChangeKind::Corrected => "corrected",
            SessionChangeKind::Withdrawn => "withdrawn",
        }
    }

    /// Parses [`SessionChangeKind::as_str`]'s names.
    pub fn parse(name: &str) -> Option<SessionChangeKind> {
        match name {
            "corrected" => Some(SessionChangeKind::Corrected),
            "withdrawn" => Some(SessionChangeKind::Withdrawn),
            _ => None,
        }
    }
}

/// One change to a logged walk, kept for the record: what it was, what it became, when and
/// by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionChange {
    /// Row id.
    pub id: Id,
    /// The walk.
    pub session_id: Id,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (the patient, or staff).
    pub by_user: Id,
    /// Corrected or withdrawn.
    pub action: SessionChangeKind,
    /// The walk as logged before the change.
    pub before: NewSession,
    /// The walk after a correction; `None` after a withdrawal.
    pub after: Option<NewSession>,
}

/// How the patient rested between bouts (separates neurogenic from vascular claudication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestType {
    /// Sat down.
    Sit,
    /// Bent forward (flexion), e.g. leaning on a trolley.
    BendForward,
    /// Stood still.
    StandStill,
}

impl RestType {
    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RestType::Sit => "sit",
            RestType::BendForward => "bend_forward",
            RestType::StandStill => "stand_still",
        }
    }

    /// Parses [`RestType::as_str`]'s names.
    pub fn parse(name: &str) -> Option<RestType> {
        match name {
            "sit" => Some(RestType::Sit),
            "bend_forward" => Some(RestType::BendForward),
            "stand_still" => Some(RestType::StandStill),
            _ => None,
        }
    }
}

/// A walk as the patient logs it. Validated by the server before it reaches the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// Client-generated id: logging the same walk twice stores it once.
    pub client_id: String,
    /// Start of the walk.
    pub started_at: DateTime<Utc>,
    /// End of the walk.
    pub ended_at: DateTime<Utc>,
    /// Time actually walked, seconds.
    pub walked_s: i64,
    /// Bouts walked.
    pub bouts: i64,
    /// Pain before, 0–10.
    pub pain_before: Option<i64>,
    /// Highest pain during, 0–10.
    pub pain_during_max: Option<i64>,
    /// Effort, Borg CR10.
    pub effort: Option<i64>,
    /// How they rested between bouts.
    pub rest_type: Option<RestType>,
    /// Free text.
    pub notes: Option<String>,
}

/// A stored walk, with its two-hour answer once given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Row id.
    pub id: Id,
    /// The patient.
    pub patient_id: Id,
    /// What was logged.
    #[serde(flatten)]
    pub logged: NewSession,
    /// Pain two hours after, 0–10, once answered.
    pub pain_after_2h: Option<i64>,
    /// When the two-hour answer came.
    pub answered_at: Option<DateTime<Utc>>,
    /// Pain on waking the morning after, 0–10, once answered.
    pub pain_next_morning: Option<i64>,
    /// When the next-morning answer came.
    pub next_morning_answered_at: Option<DateTime<Utc>>,
    /// When the walk was logged.
    pub created_at: DateTime<Utc>,
    /// When it was withdrawn (it then counts nowhere); only a retried upload sees it.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A flare reported by the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFlare {
    /// Client-generated id (idempotent retries).
    pub client_id: String,
    /// When the flare began.
    pub started_at: DateTime<Utc>,
    /// Pain, 0–10.
    pub pain: i64,
    /// Free text.
    pub notes: Option<String>,
}

/// A stored flare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlareRecord {
    /// Row id.
    pub id: Id,
    /// The patient.
    pub patient_id: Id,
    /// What was reported.
    #[serde(flatten)]
    pub reported: NewFlare,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A band paired to a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Row id.
    pub id: Id,
    /// The patient whose data it uploads.
    pub patient_id: Id,
    /// Device kind, e.g. `huami`, `infinitime`, `pams`.
    pub kind: String,
    /// Bluetooth address as the collector reports it.
    pub address: String,
    /// Name shown in pages.
    pub name: String,
    /// When it was paired.
    pub paired_at: DateTime<Utc>,
    /// When its upload token stops working unless the collector renews it first.
    pub token_expires_at: DateTime<Utc>,
    /// When the patient or their care team removed it; its token no longer works.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The last time its collector presented its token.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Found in an imported export (docs/imports.md), not paired: it has no upload token.
    pub imported: bool,
}

/// How long a band's upload token works after pairing or its last renewal. The collector
/// renews it on its own well before then ([`DEVICE_TOKEN_RENEW_BEFORE`]); a collector that
/// did not sync for this long pairs again.
pub const DEVICE_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(90);

/// A token with less than this left is renewed: the server tells the collector so with each
/// upload it accepts.
pub const DEVICE_TOKEN_RENEW_BEFORE: TimeDelta = TimeDelta::days(30);

/// What a collector says about the band it pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Device kind.
    pub kind: String,
    /// Bluetooth address.
    pub address: String,
    /// Name shown in pages.
    pub name: String,
}

/// Where an uploaded export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Being read.
    Reading,
    /// Read; its minutes and nights are being stored.
    Storing,
    /// Stored; the summary says what.
    Done,
    /// Nothing was stored; the error says why.
    Failed,
}

impl ImportState {
    /// Every state.
    pub const ALL: [ImportState; 4] = [
        ImportState::Reading,
        ImportState::Storing,
        ImportState::Done,
        ImportState::Failed,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Reading => "reading",
            ImportState::Storing => "storing",
            ImportState::Done => "done",
            ImportState::Failed => "failed",
        }
    }

    /// Parses [`ImportState::as_str`]'s names.
    pub fn parse(name: &str) -> Option<ImportState> {
        ImportState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Done or failed: it will not change again.
    pub fn is_finished(self) -> bool {
        matches!(self, ImportState::Done | ImportState::Failed)
    }
}

/// An export uploaded for a patient, as it is about to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImport {
    /// The patient whose data it is.
    pub patient_id: Id,
    /// Who uploaded it: the patient, or a member of their care team.
    pub uploaded_by: Id,
    /// The file's name as uploaded.
    pub file_name: String,
    /// Its size.
    pub size_bytes: i64,
}

/// An uploaded export and how its reading went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// Row id.
    pub id: Id,
    /// What was uploaded.
    pub upload: NewImport,
    /// Where it is.
    pub state: ImportState,
    /// How far reading has come, 0–100.
    pub progress: i64,
    /// Which export it was, once known (`gadgetbridge`, `apple-health`, `fitbit-takeout`).
    pub format: Option<String>,
    /// What was stored, as JSON text, when done.
    pub summary: Option<String>,
    /// Why nothing was stored, when failed.
    pub error: Option<String>,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When its state or progress last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was done or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Steps in one minute from one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSample {
    /// Start of the minute, UTC, on a whole minute.
    pub minute: DateTime<Utc>,
    /// Steps in that minute.
    pub steps: i64,
    /// Heart rate, beats per minute, when the band measured it.
    pub heart_rate: Option<i64>,
    /// The steps were spread over this minute by the collector (a count change over a longer
    /// span, as from an InfiniTime watch), not seen in it by the band: walk verification
    /// leaves such minutes out. Absent means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

/// Sleep stage of an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SleepStage {
    /// Light sleep.
    Light,
    /// Deep sleep.
    Deep,
    /// REM sleep.
    Rem,
    /// Awake during the night.
    Awake,
    /// Asleep, stage unknown.
    Asleep,
}

impl SleepStage {
    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SleepStage::Light => "light",
            SleepStage::Deep => "deep",
            SleepStage::Rem => "rem",
            SleepStage::Awake => "awake",
            SleepStage::Asleep => "asleep",
        }
    }

    /// Parses [`SleepStage::as_str`]'s names.
    pub fn parse(name: &str) -> Option<SleepStage> {
        match name {
            "light" => Some(SleepStage::Light),
            "deep" => Some(SleepStage::Deep),
            "rem" => Some(SleepStage::Rem),
            "awake" => Some(SleepStage::Awake),
            "asleep" => Some(SleepStage::Asleep),
            _ => None,
        }
    }
}

/// One sleep episode from one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepEpisode {
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// Stage.
    pub stage: SleepStage,
}

/// A collector's upload: stored all or nothing, idempotent on device + minute and device +
/// start (a repeated minute or episode replaces the earlier value).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SampleBatch {
    /// Minute step counts.
    #[serde(default)]
    pub steps: Vec<StepSample>,
    /// Sleep episodes.
    #[serde(default)]
    pub sleep: Vec<SleepEpisode>,
}

/// A local calendar day of a patient and the instants that bound it, `[start, end)`. The
/// server computes these in the patient's time zone; the store keeps per-day totals for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    /// The local date.
    pub date: NaiveDate,
    /// Its first instant.
    pub start: DateTime<Utc>,
    /// The first instant of the next day.
    pub end: DateTime<Utc>,
}

/// Band data of one patient and local day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandDay {
    /// Local date.
    pub date: NaiveDate,
    /// Steps counted that day (where two bands counted a minute, the higher count).
    pub steps: i64,
    /// Minutes the band reported that day.
    pub minutes_with_data: i64,
    /// Minutes asleep (light, deep, REM, unstaged) in episodes that ended that day: a night
    /// belongs to the morning after it.
    pub sleep_min: i64,
}

impl BandDay {
    /// Whether the day counts as a day with band data: any minute the band reported, or any
    /// sleep. The report's "days with band data" and the remote-monitoring evidence
    /// (`rtm`) both count days by this one rule.
    pub fn has_data(&self) -> bool {
        self.minutes_with_data > 0 || self.sleep_min > 0
    }
}

/// What one of a patient's devices contributed to a local day's [`BandDay`] totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceDay {
    /// Local date.
    pub date: NaiveDate,
    /// The device.
    pub device_id: Id,
    /// It reported minutes (step counts) that day.
    pub steps: bool,
    /// It reported sleep (not awake) in episodes that ended that day.
    pub sleep: bool,
}

/// What an ingest stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestSummary {
    /// Minute samples written (new or replaced).
    pub steps: u64,
    /// Sleep episodes written (new or replaced).
    pub sleep: u64,
}

/// A weekly review about to be stored, with the evidence it was made on.
#[derive(Debug, Clone)]
pub struct NewReview {
    /// Monday of the reviewed week, in the patient's zone.
    pub week_start: NaiveDate,
    /// Version of the rules used.
    pub rules_version: i64,
    /// The rules used.
    pub rules: Rules,
    /// The week's evidence as given to the engine.
    pub evidence: WeekEvidence,
    /// Earlier decisions given to the engine.
    pub history: Vec<Decision>,
    /// The engine's output.
    pub output: Review,
    /// Whether the decision changes the plan (false while frozen by an open escalation).
    pub applied: bool,
}

/// A stored weekly review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// Row id.
    pub id: Id,
    /// The patient.
    pub patient_id: Id,
    /// Monday of the reviewed week, in the patient's zone.
    pub week_start: NaiveDate,
    /// Version of the rules used.
    pub rules_version: i64,
    /// The rules used.
    pub rules: Rules,
    /// The evidence given to the engine.
    pub evidence: WeekEvidence,
    /// Earlier decisions given to the engine.
    pub history: Vec<Decision>,
    /// The engine's output, with reasons.
    pub output: Review,
    /// Whether the decision changed the plan.
    pub applied: bool,
    /// When the review ran.
    pub created_at: DateTime<Utc>,
    /// For escalations: when a therapist acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// For escalations: who acknowledged it.
    pub acknowledged_by: Option<Id>,
    /// For escalations: the therapist's note with the acknowledgement (what they did or
    /// decided); `None` before it is acknowledged, and for acknowledgements older than notes.
    pub acknowledgement_note: Option<String>,
}

/// A weekly review's outcome without its inputs (what reports and lists need).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    /// Row id.
    pub id: Id,
    /// Monday of the reviewed week.
    pub week_start: NaiveDate,
    /// The engine's output, with reasons.
    pub output: Review,
    /// Whether the decision changed the plan.
    pub applied: bool,
    /// For escalations: when a therapist acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// For escalations: the therapist's note with the acknowledgement.
    pub acknowledgement_note: Option<String>,
}

impl From<&ReviewRecord> for ReviewOutcome {
    fn from(r: &ReviewRecord) -> Self {
        ReviewOutcome {
            id: r.id,
            week_start: r.week_start,
            output: r.output.clone(),
            applied: r.applied,
            acknowledged_at: r.acknowledged_at,
            acknowledgement_note: r.acknowledgement_note.clone(),
        }
    }
}

/// An invite for a new therapist or patient.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// SHA-256 of the code; the code itself is shown once and never stored.
    pub code_hash: String,
    /// The clinic the invitee joins.
    pub clinic_id: Id,
    /// The invitee's role (therapist or patient).
    pub role: Role,
    /// Who invited.
    pub created_by: Id,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// For patients: their therapist and time zone.
    pub patient: Option<PatientInvite>,
}

/// What a patient invite fixes in advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientInvite {
    /// The therapist the patient is assigned to.
    pub therapist_id: Id,
    /// The patient's IANA time zone.
    pub timezone: String,
}

/// An entry of the audit log: who did what to whose data, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a user id).
    pub actor_id: Id,
    /// What, e.g. `read patient.timeline` or `write patient.rules`.
    pub action: String,
    /// Whose data.
    pub patient_id: Option<Id>,
    /// The clinic it happened in.
    pub clinic_id: Id,
    /// How the request ended (`None` for entries written before outcomes were recorded).
    pub outcome: Option<AuditOutcome>,
}

/// How an audited request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It did what was asked (2xx).
    Done,
    /// Not the caller's to see or change (401, 403, 404): nothing was shown or changed.
    Refused,
    /// Refused as malformed or out of range (another 4xx): nothing was changed.
    Invalid,
    /// It failed inside the server (5xx).
    Failed,
}

impl AuditOutcome {
    /// The outcome of a request that answered `status`.
    pub fn of_status(status: u16) -> AuditOutcome {
        match status {
            200..=399 => AuditOutcome::Done,
            401 | 403 | 404 => AuditOutcome::Refused,
            400..=499 => AuditOutcome::Invalid,
            _ => AuditOutcome::Failed,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Done => "done",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Invalid => "invalid",
            AuditOutcome::Failed => "failed",
        }
    }

    /// From the stored name.
    pub fn parse(text: &str) -> Option<AuditOutcome> {
        [
            AuditOutcome::Done,
            AuditOutcome::Refused,
            AuditOutcome::Invalid,
            AuditOutcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// An outcome measure a therapist records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Oswestry Disability Index, percent (0–100; meaningful change about 10 points).
    Oswestry,
    /// Neck Disability Index, score 0–50.
    Ndi,
    /// Six-minute walk distance, metres.
    SixMinuteWalk,
    /// Timed up-and-go, seconds.
    TimedUpAndGo,
}

impl OutcomeKind {
    /// Every kind.
    pub const ALL: [OutcomeKind; 4] = [
        OutcomeKind::Oswestry,
        OutcomeKind::Ndi,
        OutcomeKind::SixMinuteWalk,
        OutcomeKind::TimedUpAndGo,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Oswestry => "oswestry",
            OutcomeKind::Ndi => "ndi",
            OutcomeKind::SixMinuteWalk => "six_minute_walk",
            OutcomeKind::TimedUpAndGo => "timed_up_and_go",
        }
    }

    /// Parses [`OutcomeKind::as_str`]'s names.
    pub fn parse(name: &str) -> Option<OutcomeKind> {
        OutcomeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// UCUM unit of the value.
    pub fn unit(self) -> &'static str {
        match self {
            OutcomeKind::Oswestry => "%",
            OutcomeKind::Ndi => "{score}",
            OutcomeKind::SixMinuteWalk => "m",
            OutcomeKind::TimedUpAndGo => "s",
        }
    }

    /// The values that make sense, inclusive.
    pub fn range(self) -> (f64, f64) {
        match self {
            OutcomeKind::Oswestry => (0.0, 100.0),
            OutcomeKind::Ndi => (0.0, 50.0),
            OutcomeKind::SixMinuteWalk => (0.0, 1000.0),
            OutcomeKind::TimedUpAndGo => (1.0, 300.0),
        }
    }
}

/// An outcome measure as entered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOutcome {
    /// Which measure.
    pub kind: OutcomeKind,
    /// Its value, in [`OutcomeKind::unit`].
    pub value: f64,
    /// The day it was measured.
    pub measured_on: NaiveDate,
}

/// A stored outcome measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// Row id.
    pub id: Id,
    /// The patient.
    pub patient_id: Id,
    /// What was measured.
    #[serde(flatten)]
    pub measure: NewOutcome,
    /// Who entered it.
    pub entered_by: Id,
    /// When it was entered.
    pub created_at: DateTime<Utc>,
}

// Reminders and Web Push: the messages Stepwise owes its users, the browsers that receive
// them, and the log of every attempt to deliver one.

/// What a reminder is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// "How is your pain now?", two hours after a walk ends.
    TwoHourCheck,
    /// The same question an hour later, when the first went unanswered.
    TwoHourFollowUp,
    /// Time for a walk, at one of the patient's chosen local times.
    Session,
    /// Take the medication the therapist scheduled before the usual walk time.
    Medication,
    /// What the weekly review changed and why.
    PlanChange,
    /// To the therapist: the engine escalated or the patient reported a flare.
    Escalation,
    /// No band data has arrived for two days.
    BandNudge,
    /// "How is your pain this morning?", the morning after a walk, when quiet hours end.
    NextMorningCheck,
    /// A new message in the patient's thread: to the patient from their care team, or to the
    /// therapist from the patient.
    Message,
    /// A questionnaire the therapist scheduled is open for the patient to fill in.
    Questionnaire,
}

impl ReminderKind {
    /// Every kind.
    pub const ALL: [ReminderKind; 10] = [
        ReminderKind::TwoHourCheck,
        ReminderKind::TwoHourFollowUp,
        ReminderKind::Session,
        ReminderKind::Medication,
        ReminderKind::PlanChange,
        ReminderKind::Escalation,
        ReminderKind::BandNudge,
        ReminderKind::NextMorningCheck,
        ReminderKind::Message,
        ReminderKind::Questionnaire,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::TwoHourCheck => "two_hour_check",
            ReminderKind::TwoHourFollowUp => "two_hour_follow_up",
            ReminderKind::Session => "session",
            ReminderKind::Medication => "medication",
            ReminderKind::PlanChange => "plan_change",
            ReminderKind::Escalation => "escalation",
            ReminderKind::BandNudge => "band_nudge",
            ReminderKind::NextMorningCheck => "next_morning_check",
            ReminderKind::Message => "message",
            ReminderKind::Questionnaire => "questionnaire",
        }
    }

    /// Parses [`ReminderKind::as_str`]'s names.
    pub fn parse(name: &str) -> Option<ReminderKind> {
        ReminderKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this kind asks for the two-hour answer of a walk.
    pub fn is_two_hour(self) -> bool {
        matches!(
            self,
            ReminderKind::TwoHourCheck | ReminderKind::TwoHourFollowUp
        )
    }
}

/// Where a reminder is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderState {
    /// Waiting for its due instant (or its next attempt).
    Pending,
    /// Claimed by a server instance, which is sending it now.
    Sending,
    /// Handed to the push service of at least one of the recipient's browsers.
    Sent,
    /// No longer needed (the two-hour check was answered first).
    Cancelled,
    /// Its window closed before it could be sent.
    Expired,
    /// Every attempt failed; `last_error` says why.
    Failed,
    /// The recipient has no browser with reminders turned on.
    Undeliverable,
}

impl ReminderState {
    /// Every state.
    pub const ALL: [ReminderState; 7] = [
        ReminderState::Pending,
        ReminderState::Sending,
        ReminderState::Sent,
        ReminderState::Cancelled,
        ReminderState::Expired,
        ReminderState::Failed,
        ReminderState::Undeliverable,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderState::Pending => "pending",
            ReminderState::Sending => "sending",
            ReminderState::Sent => "sent",
            ReminderState::Cancelled => "cancelled",
            ReminderState::Expired => "expired",
            ReminderState::Failed => "failed",
            ReminderState::Undeliverable => "undeliverable",
        }
    }

    /// Parses [`ReminderState::as_str`]'s names.
    pub fn parse(name: &str) -> Option<ReminderState> {
        ReminderState::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// What the notification says and which page it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderMessage {
    /// The notification's title.
    pub title: String,
    /// Its text, in plain words.
    pub body: String,
    /// The page (path on this server) that answers it.
    pub url: String,
}

/// A reminder to schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReminder {
    /// What it is for.
    pub kind: ReminderKind,
    /// Who receives it (the patient, or for escalations their therapist).
    pub recipient_id: Id,
    /// The patient it concerns.
    pub patient_id: Id,
    /// The walk it asks about (two-hour checks).
    pub session_id: Option<Id>,
    /// Unique per reminder: scheduling the same key again does nothing.
    pub dedupe_key: String,
    /// When to send it.
    pub due_at: DateTime<Utc>,
    /// When it is no longer worth sending.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it says.
    pub message: ReminderMessage,
}

/// A stored reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// Row id.
    pub id: Id,
    /// What it is for.
    pub kind: ReminderKind,
    /// Who receives it.
    pub recipient_id: Id,
    /// The patient it concerns.
    pub patient_id: Id,
    /// The walk it asks about.
    pub session_id: Option<Id>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it stops being worth sending.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it says.
    pub message: ReminderMessage,
    /// Where it is in its life.
    pub state: ReminderState,
    /// How many times it was claimed for sending.
    pub attempts: i64,
    /// When it may be claimed next (the due instant, later after a retryable failure).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt did not deliver it.
    pub last_error: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How an attempt to send a claimed reminder ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderOutcome {
    /// Delivered to at least one browser.
    Sent,
    /// Try again at `at`.
    Retry {
        /// The next attempt.
        at: DateTime<Utc>,
        /// Why this one failed.
        error: String,
    },
    /// Given up: the reason.
    Failed(String),
    /// Not needed any more.
    Cancelled,
    /// Its window closed.
    Expired,
    /// Nowhere to send it: the reason.
    Undeliverable(String),
}

impl ReminderOutcome {
    /// The state the reminder ends up in.
    pub fn state(&self) -> ReminderState {
        match self {
            ReminderOutcome::Sent => ReminderState::Sent,
            ReminderOutcome::Retry { .. } => ReminderState::Pending,
            ReminderOutcome::Failed(_) => ReminderState::Failed,
            ReminderOutcome::Cancelled => ReminderState::Cancelled,
            ReminderOutcome::Expired => ReminderState::Expired,
            ReminderOutcome::Undeliverable(_) => ReminderState::Undeliverable,
        }
    }
}

/// How the attempt to send one claimed reminder ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The reminder.
    pub reminder_id: Id,
    /// Where it goes next.
    pub outcome: ReminderOutcome,
    /// Each browser tried in this attempt.
    pub deliveries: Vec<Delivery>,
}

/// A browser's push subscription as it arrives from `PushManager.subscribe()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPushSubscription {
    /// The browser's address at its push service.
    pub endpoint: String,
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The browser's auth secret, base64url.
    pub auth: String,
    /// A name the user recognises ("Phone", or the browser's).
    pub label: String,
}

/// A stored push subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    /// Row id.
    pub id: Id,
    /// Whose browser it is.
    pub user_id: Id,
    /// The subscription.
    #[serde(flatten)]
    pub subscription: NewPushSubscription,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When a reminder last reached it.
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// The server's VAPID key pair (application server keys), base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidKeys {
    /// The raw 32-byte P-256 private scalar, base64url. Never logged, never served.
    pub private_key: String,
    /// The uncompressed public point (65 bytes), base64url: what browsers subscribe with.
    pub public_key: String,
    /// When it was generated.
    pub created_at: DateTime<Utc>,
}

/// How one attempt to hand a reminder to one browser's push service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Accepted (2xx).
    Delivered,
    /// The subscription is gone (404 or 410); it was deleted.
    Gone,
    /// Worth another try (429, 5xx, timeout, connection failure).
    Retryable,
    /// Refused for good (other 4xx, an endpoint outside the allowed hosts, a bad key).
    Rejected,
}

impl DeliveryOutcome {
    /// Every outcome.
    pub const ALL: [DeliveryOutcome; 4] = [
        DeliveryOutcome::Delivered,
        DeliveryOutcome::Gone,
        DeliveryOutcome::Retryable,
        DeliveryOutcome::Rejected,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Gone => "gone",
            DeliveryOutcome::Retryable => "retryable",
            DeliveryOutcome::Rejected => "rejected",
        }
    }

    /// Parses [`DeliveryOutcome::as_str`]'s names.
    pub fn parse(name: &str) -> Option<DeliveryOutcome> {
        DeliveryOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == name)
    }
}

/// One entry of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The reminder.
    pub reminder_id: Id,
    /// The subscription it was sent to (kept after the subscription is deleted).
    pub subscription_id: Option<Id>,
    /// The push service's host (never the full endpoint: that is a capability).
    pub endpoint_host: String,
    /// When the attempt started.
    pub at: DateTime<Utc>,
    /// The push service's HTTP status, when it answered.
    pub status: Option<i64>,
    /// How it ended.
    pub outcome: DeliveryOutcome,
    /// What went wrong, in a sentence.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
    /// Which server instance made it.
    pub worker: String,
}

/// A local time of day, written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(pub NaiveTime);

impl Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map(ClockTime)
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a time HH:MM")))
    }
}

/// Hours in which no reminder reaches the patient; reminders due inside wait for the end.
/// `start` after `end` spans midnight (22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// When quiet starts, local.
    pub start: ClockTime,
    /// When it ends, local.
    pub end: ClockTime,
}

/// A patient's reminder settings. The patient sets the first four; the therapist the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Session reminders on or off (two-hour checks are always scheduled).
    pub session_reminders: bool,
    /// Local times of day to remind the patient to walk.
    pub session_times: Vec<ClockTime>,
    /// The days of the week the plan's walks fall on.
    pub session_days: Vec<Weekday>,
    /// No reminders in these hours.
    pub quiet_hours: Option<QuietHours>,
    /// Therapist: remind to take medication this many minutes before each walk time.
    pub medication_lead_min: Option<i64>,
    /// Therapist: the two-hour check expires this many minutes after the walk ends.
    pub two_hour_window_min: i64,
    /// Patient: the next-morning check ("how is your pain this morning?") after each walk.
    /// On unless turned off (settings stored before it existed read as on).
    #[serde(default = "next_morning_checks_default")]
    pub next_morning_checks: bool,
}

fn next_morning_checks_default() -> bool {
    true
}

impl ReminderSettings {
    /// The default two-hour window: four hours after the walk ends.
    pub const DEFAULT_TWO_HOUR_WINDOW_MIN: i64 = 240;
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            session_reminders: true,
            session_times: Vec::new(),
            session_days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
            quiet_hours: None,
            medication_lead_min: None,
            two_hour_window_min: Self::DEFAULT_TWO_HOUR_WINDOW_MIN,
            next_morning_checks: next_morning_checks_default(),
        }
    }
}

/// A patient with a paired band and when data last came from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandSilence {
    /// The patient.
    pub patient_id: Id,
    /// The newest minute of band data, or when the first band was paired if none came yet.
    pub last_seen: DateTime<Utc>,
}
