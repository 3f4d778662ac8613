//! The care team's work with a patient as the API shows it: messages, notes, time entries.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store::{self as store, Id, LiveContact, Role};
use utoipa::ToSchema;

/// Who wrote a message or a note.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Author {
    /// Their user id.
    pub id: Id,
    /// Their name.
    pub name: String,
    /// `patient`, `therapist` or `clinic_admin`.
    #[schema(value_type = String)]
    pub role: Role,
}

/// A message in a patient's thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    /// The message's id; later messages have larger ids.
    pub id: Id,
    /// Whose thread.
    pub patient_id: Id,
    /// Who wrote it.
    pub author: Author,
    /// Whether the caller wrote it.
    pub mine: bool,
    /// What it says.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl Message {
    /// `message` as `reader` sees it.
    pub fn for_reader(message: store::Message, reader: Id) -> Message {
        Message {
            id: message.id,
            patient_id: message.patient_id,
            mine: message.author_id == reader,
            author: Author {
                id: message.author_id,
                name: message.author_name,
                role: message.author_role,
            },
            body: message.body,
            created_at: message.created_at,
        }
    }
}

/// A patient's thread as the caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Thread {
    /// The latest messages, oldest first.
    pub messages: Vec<Message>,
    /// Messages by others the caller has not read.
    pub unread: i64,
    /// The last message the caller has read (0: none).
    pub last_read_id: Id,
}

impl Thread {
    /// `thread` as `reader` sees it.
    pub fn for_reader(thread: store::Thread, reader: Id) -> Thread {
        Thread {
            messages: thread
                .messages
                .into_iter()
                .map(|m| Message::for_reader(m, reader))
                .collect(),
            unread: thread.unread,
            last_read_id: thread.last_read_id,
        }
    }
}

/// A message to post.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// The writer's id for it (1–64 letters, digits, `-`, `_`): the same id again is the same
    /// message, so a retry never posts twice.
    pub client_id: String,
    /// What it says (1–2000 characters).
    pub body: String,
}

/// How far the caller has read a thread.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadUpTo {
    /// The last message read (usually the newest shown).
    pub up_to: Id,
}

/// What is left unread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Unread {
    /// Messages by others the caller has not read.
    pub unread: i64,
}

/// A clinician note on a patient (never shown to the patient).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Note {
    /// The note's id.
    pub id: Id,
    /// About whom.
    pub patient_id: Id,
    /// Who wrote it.
    pub author: Author,
    /// What it says.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl From<store::Note> for Note {
    fn from(note: store::Note) -> Self {
        Note {
            id: note.id,
            patient_id: note.patient_id,
            author: Author {
                id: note.author_id,
                name: note.author_name,
                role: Role::Therapist,
            },
            body: note.body,
            created_at: note.created_at,
        }
    }
}

/// A note to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// The writer's id for it: the same id again is the same note.
    pub client_id: String,
    /// What it says (1–4000 characters).
    pub body: String,
}

/// Minutes of a clinician's work on a patient's care, or a timer still running.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeEntry {
    /// The entry's id.
    pub id: Id,
    /// Whose care.
    pub patient_id: Id,
    /// Who did the work: id and name.
    pub clinician_id: Id,
    /// The clinician's name.
    pub clinician_name: String,
    /// The patient's local date of the work (a timer's start date).
    pub performed_on: NaiveDate,
    /// How long; null while the timer runs.
    pub minutes: Option<i64>,
    /// What was done.
    pub activity: String,
    /// The live conversation with the patient it included: `call`, `video`, `in_person`, or
    /// null for none.
    pub live: Option<LiveContact>,
    /// Whether this is a timer still running.
    pub running: bool,
    /// When the timer was started (entries made with one).
    pub started_at: Option<DateTime<Utc>>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl From<store::TimeEntry> for TimeEntry {
    fn from(entry: store::TimeEntry) -> Self {
        TimeEntry {
            running: entry.is_running(),
            id: entry.id,
            patient_id: entry.patient_id,
            clinician_id: entry.clinician_id,
            clinician_name: entry.clinician_name,
            performed_on: entry.performed_on,
            minutes: entry.minutes,
            activity: entry.activity,
            live: entry.live,
            started_at: entry.started_at,
            created_at: entry.created_at,
        }
    }
}

/// Minutes entered by hand.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTimeEntry {
    /// The clinician's id for it: the same id again is the same entry.
    pub client_id: String,
    /// The patient's local date of the work (not in the future).
    pub performed_on: NaiveDate,
    /// How long, 1–600 minutes.
    pub minutes: i64,
    /// What was done (1–300 characters).
    pub activity: String,
    /// The live conversation with the patient it included, if any.
    pub live: Option<LiveContact>,
}

/// Stopping a timer: what was done, and the minutes when they differ from the timer's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopTimer {
    /// What was done (1–300 characters).
    pub activity: String,
    /// The live conversation with the patient it included, if any.
    pub live: Option<LiveContact>,
    /// The minutes to record instead of the timer's (e.g. it ran on after the work ended).
    pub minutes: Option<i64>,
}
