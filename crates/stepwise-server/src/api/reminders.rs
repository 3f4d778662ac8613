//! Reminders, browsers subscribed to them, and a patient's reminder settings as the API shows
//! them. Names and ranges come from their one home: the kinds and states from
//! `stepwise_store::ReminderKind::ALL` and `ReminderState::ALL`, the therapist's limits from
//! [`MEDICATION_LEAD_MIN`] and [`TWO_HOUR_WINDOW_MIN`].

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::json;
use stepwise_store::{self as store, ClockTime, ReminderKind, ReminderState};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::fields::{names_schema, schema_of};

/// Minutes before each walk time a medication reminder may come (therapist's setting).
pub const MEDICATION_LEAD_MIN: RangeInclusive<i64> = 15..=120;
/// Minutes after a walk ends its two-hour check may stay open for reminders.
pub const TWO_HOUR_WINDOW_MIN: RangeInclusive<i64> = 150..=720;

/// One message to one user, due at an instant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reminder {
    /// The reminder's id.
    pub id: i64,
    /// What it is for.
    #[schema(value_type = ReminderKindName)]
    pub kind: ReminderKind,
    /// Who receives it (the patient, or for escalations their therapist).
    pub recipient_id: i64,
    /// The patient it concerns.
    pub patient_id: i64,
    /// The walk it asks about (two-hour and next-morning checks).
    pub session_id: Option<i64>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it is no longer worth sending.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the notification says and which page it opens.
    pub message: ReminderMessage,
    /// Where it is in its life.
    #[schema(value_type = ReminderStateName)]
    pub state: ReminderState,
    /// How many times it was claimed for sending.
    #[schema(minimum = 0)]
    pub attempts: i64,
    /// When it may be claimed next.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt did not deliver it.
    pub last_error: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<store::Reminder> for Reminder {
    fn from(reminder: store::Reminder) -> Self {
        Reminder {
            id: reminder.id,
            kind: reminder.kind,
            recipient_id: reminder.recipient_id,
            patient_id: reminder.patient_id,
            session_id: reminder.session_id,
            due_at: reminder.due_at,
            expires_at: reminder.expires_at,
            message: ReminderMessage {
                title: reminder.message.title,
                body: reminder.message.body,
                url: reminder.message.url,
            },
            state: reminder.state,
            attempts: reminder.attempts,
            next_attempt_at: reminder.next_attempt_at,
            last_error: reminder.last_error,
            created_at: reminder.created_at,
            finished_at: reminder.finished_at,
        }
    }
}

/// What a notification says and which page it opens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReminderMessage {
    /// The notification's title.
    pub title: String,
    /// Its text, in plain words.
    pub body: String,
    /// The page (a path on this server) that answers it.
    pub url: String,
}

/// A patient's reminder settings: the patient sets the session reminders, their times and
/// days, quiet hours and the next-morning check; the therapist the medication lead and the
/// two-hour window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReminderSettings {
    /// Session reminders on or off (checks after walks are planned either way).
    pub session_reminders: bool,
    /// Local times of day to remind the patient to walk.
    #[schema(value_type = Vec<ClockTimeText>)]
    pub session_times: Vec<ClockTime>,
    /// The days of the week the plan's walks fall on.
    #[schema(value_type = Vec<WeekdayName>)]
    pub session_days: Vec<Weekday>,
    /// No reminders in these local hours (start after end spans midnight); null for none.
    pub quiet_hours: Option<QuietHours>,
    /// Remind to take medication this many minutes before each walk time; null for none.
    #[schema(schema_with = medication_lead_schema)]
    pub medication_lead_min: Option<i64>,
    /// Minutes after a walk ends that its two-hour check stays open for reminders.
    #[schema(schema_with = two_hour_window_schema)]
    pub two_hour_window_min: i64,
    /// The next-morning check ("how is your pain this morning?") after each walk.
    pub next_morning_checks: bool,
}

impl From<store::ReminderSettings> for ReminderSettings {
    fn from(settings: store::ReminderSettings) -> Self {
        ReminderSettings {
            session_reminders: settings.session_reminders,
            session_times: settings.session_times,
            session_days: settings.session_days,
            quiet_hours: settings.quiet_hours.map(|quiet| QuietHours {
                start: quiet.start,
                end: quiet.end,
            }),
            medication_lead_min: settings.medication_lead_min,
            two_hour_window_min: settings.two_hour_window_min,
            next_morning_checks: settings.next_morning_checks,
        }
    }
}

/// Hours in which no reminder reaches the patient; `start` after `end` spans midnight.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// When quiet starts, local.
    #[schema(value_type = ClockTimeText)]
    pub start: ClockTime,
    /// When it ends, local.
    #[schema(value_type = ClockTimeText)]
    pub end: ClockTime,
}

impl From<QuietHours> for store::QuietHours {
    fn from(quiet: QuietHours) -> Self {
        store::QuietHours {
            start: quiet.start,
            end: quiet.end,
        }
    }
}

/// A local time of day, `HH:MM`.
pub struct ClockTimeText;

impl PartialSchema for ClockTimeText {
    fn schema() -> RefOr<Schema> {
        schema_of(json!({
            "type": "string",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
            "description": "a local time of day, HH:MM",
        }))
    }
}
impl ToSchema for ClockTimeText {}

/// A day of the week as the API writes it (`Mon` … `Sun`).
pub struct WeekdayName;

impl PartialSchema for WeekdayName {
    fn schema() -> RefOr<Schema> {
        names_schema((0..7u8).filter_map(|n| Weekday::try_from(n).ok()))
    }
}
impl ToSchema for WeekdayName {}

/// The name of a reminder's kind.
pub struct ReminderKindName;

impl PartialSchema for ReminderKindName {
    fn schema() -> RefOr<Schema> {
        names_schema(ReminderKind::ALL.iter().map(|k| k.as_str()))
    }
}
impl ToSchema for ReminderKindName {}

/// The name of a reminder's state.
pub struct ReminderStateName;

impl PartialSchema for ReminderStateName {
    fn schema() -> RefOr<Schema> {
        names_schema(ReminderState::ALL.iter().map(|s| s.as_str()))
    }
}
impl ToSchema for ReminderStateName {}

/// An integer in `range`, or null when `nullable`.
fn minutes_in(range: RangeInclusive<i64>, nullable: bool) -> RefOr<Schema> {
    let kind = if nullable {
        json!(["integer", "null"])
    } else {
        json!("integer")
    };
    schema_of(json!({
        "type": kind,
        "minimum": range.start(),
        "maximum": range.end(),
    }))
}

/// The schema of [`ReminderSettings::medication_lead_min`].
pub fn medication_lead_schema() -> RefOr<Schema> {
    minutes_in(MEDICATION_LEAD_MIN, true)
}

/// The schema of [`ReminderSettings::two_hour_window_min`].
pub fn two_hour_window_schema() -> RefOr<Schema> {
    minutes_in(TWO_HOUR_WINDOW_MIN, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in the schemas are the ones the API writes.
    #[test]
    fn names_are_the_serialized_ones() {
        let days = serde_json::to_value(WeekdayName::schema()).unwrap();
        assert_eq!(days["enum"][0], "Mon");
        assert_eq!(days["enum"][6], "Sun");
        let kinds = serde_json::to_value(ReminderKindName::schema()).unwrap();
        for kind in ReminderKind::ALL {
            assert!(
                kinds["enum"]
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::to_value(kind).unwrap())
            );
        }
        let states = serde_json::to_value(ReminderStateName::schema()).unwrap();
        for state in ReminderState::ALL {
            assert!(
                states["enum"]
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::to_value(state).unwrap())
            );
        }
    }
}
