//! The care team's work with a patient, as plain records: the message thread between the
//! patient and their care team, clinician notes, and the time log (minutes spent on the
//! patient's care, and whether they included a live conversation with the patient). The
//! remote-monitoring evidence (`docs/rtm.md`) counts the time log.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::records::{Id, Role};

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest clinician note, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;
/// Longest "what was done" of a time entry, in characters.
pub const MAX_ACTIVITY_CHARS: usize = 300;
/// The fewest and most minutes one time entry holds (a longer stretch is several entries).
pub const ENTRY_MINUTES: std::ops::RangeInclusive<i64> = 1..=600;

/// How a live conversation with the patient took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LiveContact {
    /// A telephone call.
    Call,
    /// A video call.
    Video,
    /// Face to face.
    InPerson,
}

impl LiveContact {
    /// Every way.
    pub const ALL: [LiveContact; 3] =
        [LiveContact::Call, LiveContact::Video, LiveContact::InPerson];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveContact::Call => "call",
            LiveContact::Video => "video",
            LiveContact::InPerson => "in_person",
        }
    }

    /// Parses [`LiveContact::as_str`]'s names.
    pub fn parse(name: &str) -> Option<LiveContact> {
        LiveContact::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// In words, for pages and exports ("phone call").
    pub fn words(self) -> &'static str {
        match self {
            LiveContact::Call => "phone call",
            LiveContact::Video => "video call",
            LiveContact::InPerson => "in person",
        }
    }
}

/// A message about to be stored in a patient's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Whose thread.
    pub patient_id: Id,
    /// Who wrote it: the patient or a member of their care team.
    pub author_id: Id,
    /// What it says.
    pub body: String,
    /// The writer's id for it: a retried post with the same id is the same message.
    pub client_id: String,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Row id; later messages have larger ids.
    pub id: Id,
    /// Whose thread.
    pub patient_id: Id,
    /// Who wrote it.
    pub author_id: Id,
    /// The writer's name as the thread shows it.
    pub author_name: String,
    /// The writer's role.
    pub author_role: Role,
    /// What it says.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A patient's thread as one reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// The latest messages, oldest first.
    pub messages: Vec<Message>,
    /// Messages others wrote that this reader has not read.
    pub unread: i64,
    /// The last message this reader has read (0: none).
    pub last_read_id: Id,
}

/// A clinician note about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    /// About whom.
    pub patient_id: Id,
    /// Who wrote it.
    pub author_id: Id,
    /// What it says.
    pub body: String,
    /// The writer's id for it: a retried post with the same id is the same note.
    pub client_id: String,
}

/// A stored clinician note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Row id.
    pub id: Id,
    /// About whom.
    pub patient_id: Id,
    /// Who wrote it.
    pub author_id: Id,
    /// The writer's name.
    pub author_name: String,
    /// What it says.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Minutes a clinician spent on a patient's care, about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTimeEntry {
    /// Whose care.
    pub patient_id: Id,
    /// Who did the work.
    pub clinician_id: Id,
    /// The patient's local date the work was done on.
    pub performed_on: NaiveDate,
    /// How long, within [`ENTRY_MINUTES`].
    pub minutes: i64,
    /// What was done.
    pub activity: String,
    /// The live conversation with the patient it included, if any.
    pub live: Option<LiveContact>,
    /// The clinician's id for it: a retried post with the same id is the same entry.
    pub client_id: String,
}

/// A stored time entry, or a timer still running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntry {
    /// Row id.
    pub id: Id,
    /// Whose care.
    pub patient_id: Id,
    /// Who did the work.
    pub clinician_id: Id,
    /// The clinician's name.
    pub clinician_name: String,
    /// The patient's local date the work was done on (a timer's start date).
    pub performed_on: NaiveDate,
    /// How long; `None` while the timer runs.
    pub minutes: Option<i64>,
    /// What was done.
    pub activity: String,
    /// The live conversation with the patient it included, if any.
    pub live: Option<LiveContact>,
    /// When the timer was started (entries made with one).
    pub started_at: Option<DateTime<Utc>>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl TimeEntry {
    /// Whether this is a timer still running.
    pub fn is_running(&self) -> bool {
        self.minutes.is_none()
    }
}
