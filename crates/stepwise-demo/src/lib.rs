//! The demo clinic behind `stepwise demo`: "Riverside Physio" with a clinic admin, a
//! therapist and five patients, each with up to eight weeks of made-up but plausible history
//! backdated from `now` — walks with their pain scores, two-hour answers (some missing), a
//! flare, minute steps and nightly sleep from a simulated band, and the weekly reviews made
//! week by week through [`review_week`], as the server would have made them.
//!
//! Everything goes through the [`Store`] and the server's own functions (invites, pairing,
//! reminder scheduling, weekly reviews), never through SQL. Randomness comes from a small
//! xorshift generator seeded by the caller, so a seed gives the same stories every run.
#![warn(missing_docs)]

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use stepwise_store::{
    ClockTime, NewDevice, NewFlare, NewInvite, NewOutcome, NewSession, NewUser, OutcomeKind,
    Patient, PatientInvite, QuietHours, ReminderSettings, RestType, Role, SampleBatch,
    SleepEpisode, SleepStage, StepSample, Store,
};

use stepwise_care::calendar::{
    days_touched, last_complete_week, local_day, local_instant, monday_of, week_bounds,
};
use stepwise_server::auth::{hash_code, hash_password, hash_token};
use stepwise_server::validate::parse_zone;
use stepwise_server::weekly::review_week;
use stepwise_server::{reminders, safety};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The seed `stepwise demo` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 2026;
/// The demo clinic's name.
pub const CLINIC_NAME: &str = "Riverside Physio";
/// Weeks of history the longest-standing patients have.
pub const HISTORY_WEEKS: i64 = 8;

/// One account of the demo and what it shows.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    /// What the account may do.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Login password.
    pub password: String,
    /// For patients: their zone and story, in a few words.
    pub about: String,
}

/// The accounts [`seed`] created.
#[derive(Debug, Clone)]
pub struct DemoLogins {
    /// The clinic's name.
    pub clinic: String,
    /// Admin, therapist, then the patients.
    pub logins: Vec<DemoLogin>,
}

/// Seeding failed: which step, and the store's or server's error.
#[derive(Debug, thiserror::Error)]
#[error("seeding the demo failed while {step}: {detail}")]
pub struct DemoError {
    step: String,
    detail: String,
}

trait During<T> {
    fn during(self, step: &str) -> Result<T, DemoError>;
}

impl<T, E: std::fmt::Debug> During<T> for Result<T, E> {
    fn during(self, step: &str) -> Result<T, DemoError> {
        self.map_err(|err| DemoError {
            step: step.to_string(),
            detail: format!("{err:?}"),
        })
    }
}

/// What happens to a patient over the weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    /// Walks five times a week within the limits: the interval grows every week.
    Steady,
    /// Progresses, reports a flare in week 5 (the interval steps back), then recovers.
    Flare,
    /// Often leaves the two-hour check unanswered: mostly holds.
    MissesChecks,
    /// Red-flag pain in the last complete week: escalated at once when the walk was logged,
    /// the therapist alerted, plan frozen, not yet acknowledged.
    Escalated,
    /// Joined ten days ago.
    Newcomer,
}

/// A demo patient.
struct Person {
    name: &'static str,
    email: &'static str,
    timezone: &'static str,
    story: Story,
    about: &'static str,
    joined_days_ago: i64,
    walks_per_week: usize,
    /// Local hour around which walks start.
    walk_hour: u32,
    rest: RestType,
    /// Steps a minute while walking.
    cadence: i64,
    /// Usual pain before a walk at the start of the programme.
    pain: i64,
    /// Band kind and name.
    band: (&'static str, &'static str),
    /// Days from today to the next clinic visit.
    visit_in_days: u64,
    /// Outcome measures: kind, value at intake, value about five weeks in (if measured).
    outcomes: &'static [(OutcomeKind, f64, Option<f64>)],
    /// Things written in the notes of an ordinary walk.
    notes: &'static [&'static str],
}

const PEOPLE: [Person; 5] = [
    Person {
        name: "Margaret Hughes",
        email: "margaret@demo.stepwise",
        timezone: "Europe/London",
        story: Story::Steady,
        about: "steady progress: the walk gets longer every week",
        joined_days_ago: HISTORY_WEEKS * 7,
        walks_per_week: 5,
        walk_hour: 10,
        rest: RestType::Sit,
        cadence: 88,
        pain: 4,
        band: ("mi-band-6", "Mi Band 6"),
        visit_in_days: 3,
        outcomes: &[
            (OutcomeKind::Oswestry, 44.0, Some(30.0)),
            (OutcomeKind::SixMinuteWalk, 320.0, Some(395.0)),
        ],
        notes: &[
            "Lovely walk along the river",
            "Windy, kept a gentle pace",
            "Knee stiff at the start, eased off after a few minutes",
            "Walked to the post office and back",
        ],
    },
    Person {
        name: "Jonas Weber",
        email: "jonas@demo.stepwise",
        timezone: "Europe/Berlin",
        story: Story::Flare,
        about: "flare in week 5, stepped back, recovering",
        joined_days_ago: HISTORY_WEEKS * 7,
        walks_per_week: 4,
        walk_hour: 17,
        rest: RestType::StandStill,
        cadence: 96,
        pain: 3,
        band: ("infinitime", "PineTime"),
        visit_in_days: 6,
        outcomes: &[(OutcomeKind::Oswestry, 36.0, Some(40.0))],
        notes: &[
            "After work, through the park",
            "Rain, but did it anyway",
            "Back a bit tight at the end of the second bout",
        ],
    },
    Person {
        name: "Priya Shah",
        email: "priya@demo.stepwise",
        timezone: "America/New_York",
        story: Story::MissesChecks,
        about: "often misses the two-hour check: mostly holds",
        joined_days_ago: HISTORY_WEEKS * 7,
        walks_per_week: 5,
        walk_hour: 7,
        rest: RestType::Sit,
        cadence: 92,
        pain: 3,
        band: ("mi-band-5", "Amazfit Band 5"),
        visit_in_days: 9,
        outcomes: &[(OutcomeKind::Ndi, 18.0, Some(15.0))],
        notes: &[
            "Before work, around the block",
            "Forgot the band charger, hope it counted",
            "Neck fine today",
        ],
    },
    Person {
        name: "Robert Miller",
        email: "robert@demo.stepwise",
        timezone: "America/New_York",
        story: Story::Escalated,
        about: "red-flag pain last week: escalated, waiting for the therapist",
        joined_days_ago: HISTORY_WEEKS * 7,
        walks_per_week: 4,
        walk_hour: 11,
        rest: RestType::BendForward,
        cadence: 78,
        pain: 4,
        band: ("mi-band-4", "Mi Band 4"),
        visit_in_days: 2,
        outcomes: &[
            (OutcomeKind::SixMinuteWalk, 260.0, Some(290.0)),
            (OutcomeKind::TimedUpAndGo, 13.5, None),
        ],
        notes: &[
            "Leaned on the shopping cart to rest",
            "Legs heavy after the first bout, bending forward helped",
            "Walked with my neighbour",
        ],
    },
    Person {
        name: "Aisha Okafor",
        email: "aisha@demo.stepwise",
        timezone: "Europe/London",
        story: Story::Newcomer,
        about: "new patient, joined ten days ago",
        joined_days_ago: 10,
        walks_per_week: 3,
        walk_hour: 13,
        rest: RestType::StandStill,
        cadence: 90,
        pain: 4,
        band: ("infinitime", "PineTime"),
        visit_in_days: 12,
        outcomes: &[
            (OutcomeKind::Oswestry, 48.0, None),
            (OutcomeKind::TimedUpAndGo, 12.4, None),
        ],
        notes: &["First walks, taking it slowly", "Lunch break walk"],
    },
];

/// The clinic admin.
const ADMIN: (&str, &str) = ("Helen Carter", "admin@demo.stepwise");
/// The therapist all demo patients are assigned to.
const THERAPIST: (&str, &str) = ("Sam Patel", "therapist@demo.stepwise");

/// Creates the demo clinic, its staff and patients, with their history up to `now`, in an
/// empty store. The same `seed` gives the same stories (the dates move with `now`).
pub async fn seed(
    store: &dyn Store,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<DemoLogins, DemoError> {
    // Argon2id is deliberately slow: one hash serves every account (they share the password).
    let password_hash = hash_password(DEMO_PASSWORD).during("hashing the demo password")?;
    let user = |(name, email): (&str, &str)| NewUser {
        email: email.to_string(),
        display_name: name.to_string(),
        password_hash: password_hash.clone(),
    };
    let opened = now - TimeDelta::weeks(HISTORY_WEEKS + 2);
    let (clinic, admin) = store
        .create_clinic(CLINIC_NAME, user(ADMIN), opened)
        .await
        .during("creating the clinic")?;
    let code = hash_code("demo-therapist");
    store
        .create_invite(
            NewInvite {
                code_hash: code.clone(),
                clinic_id: clinic.id,
                role: Role::Therapist,
                created_by: admin.id,
                expires_at: opened + TimeDelta::days(7),
                patient: None,
            },
            opened,
        )
        .await
        .during("inviting the therapist")?;
    let therapist = store
        .accept_invite(&code, user(THERAPIST), opened + TimeDelta::hours(3))
        .await
        .during("signing up the therapist")?;

    let login = |role, (name, email): (&str, &str), about: &str| DemoLogin {
        role,
        name: name.to_string(),
        email: email.to_string(),
        password: DEMO_PASSWORD.to_string(),
        about: about.to_string(),
    };
    let mut logins = vec![
        login(
            Role::ClinicAdmin,
            ADMIN,
            "runs the clinic, sees every patient",
        ),
        login(Role::Therapist, THERAPIST, "the patients' therapist"),
    ];
    for (n, person) in PEOPLE.iter().enumerate() {
        let world = World {
            store,
            clinic_id: clinic.id,
            therapist_id: therapist.id,
            now,
        };
        let mut rng = Rng::new(seed, n as u64 + 1);
        world
            .patient(person, user((person.name, person.email)), &mut rng)
            .await?;
        logins.push(login(
            Role::Patient,
            (person.name, person.email),
            &format!("{}: {}", person.timezone, person.about),
        ));
    }
    Ok(DemoLogins {
        clinic: clinic.name,
        logins,
    })
}

/// What every patient's history needs.
struct World<'a> {
    store: &'a dyn Store,
    clinic_id: i64,
    therapist_id: i64,
    now: DateTime<Utc>,
}

/// How a walk felt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feel {
    /// Within every limit.
    Settled,
    /// Pain two hours after rose three points: one breach.
    Niggle,
    /// After a flare: pain over the limits.
    Flare,
    /// Pain at the alert level.
    RedFlag,
}

/// One week of a story.
struct WeekPlan {
    walks: usize,
    /// Weekdays of the walks (0 = Monday) when the story fixes them.
    days: Option<&'static [u64]>,
    /// Weekday of a flare.
    flare_day: Option<u64>,
    /// Walks whose two-hour check goes unanswered.
    unanswered: usize,
}

impl Person {
    fn week(&self, k: i64, rng: &mut Rng) -> WeekPlan {
        let mut plan = WeekPlan {
            walks: self.walks_per_week,
            days: None,
            flare_day: None,
            unanswered: 0,
        };
        match (self.story, k) {
            (Story::Flare, 5) => {
                plan.days = Some(&[0, 2, 4, 6]);
                plan.flare_day = Some(1);
            }
            (Story::MissesChecks, 3 | 6) => {}
            (Story::MissesChecks, _) => plan.unanswered = rng.int(1, 2) as usize,
            (Story::Escalated, 2) => plan.walks = 2,
            _ => {}
        }
        plan
    }

    /// How the `i`th walk of week `k`, on weekday `day`, felt.
    fn feel(&self, k: i64, i: usize, day: u64, flare_day: Option<u64>) -> Feel {
        match (self.story, k) {
            (Story::Flare, 5) if flare_day.is_some_and(|f| day > f) && day < 6 => Feel::Flare,
            (Story::Flare, 6) | (Story::Escalated, 5) if i == 1 => Feel::Niggle,
            (Story::Escalated, 7) if i == 2 => Feel::RedFlag,
            _ => Feel::Settled,
        }
    }

    /// Usual pain before a walk in week `k`.
    fn pain_in_week(&self, k: i64) -> i64 {
        match self.story {
            Story::Steady => (self.pain - k / 3).max(1),
            Story::Flare if k == 5 || k == 6 => self.pain + 1,
            Story::Flare => (self.pain - k / 4).max(1),
            _ => self.pain,
        }
    }
}

/// A walk: its bouts, start to end.
struct Walk {
    bouts: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Walk {
    fn start(&self) -> DateTime<Utc> {
        self.bouts[0].0
    }
    fn end(&self) -> DateTime<Utc> {
        self.bouts[self.bouts.len() - 1].1
    }
    fn walked_s(&self) -> i64 {
        self.bouts
            .iter()
            .map(|(a, b)| (*b - *a).num_seconds())
            .sum()
    }
}

impl World<'_> {
    async fn patient(
        &self,
        person: &Person,
        user: NewUser,
        rng: &mut Rng,
    ) -> Result<(), DemoError> {
        let store = self.store;
        let now = self.now;
        let tz = parse_zone("timezone", person.timezone).during("reading a demo time zone")?;
        // Joined in the clinic, at a local working hour about `joined_days_ago` ago.
        let mut joined_day = local_day(tz, now) - Days::new(person.joined_days_ago as u64);
        // The intake visit is on a weekday (the Friday before a weekend).
        while joined_day.weekday().number_from_monday() > 5 {
            joined_day = joined_day - Days::new(1);
        }
        let joined = local_instant(tz, joined_day, hm(9 + rng.int(0, 6) as u32, 0)).min(now);
        let code = hash_code(&format!("demo-invite-{}", person.email));
        store
            .create_invite(
                NewInvite {
                    code_hash: code.clone(),
                    clinic_id: self.clinic_id,
                    role: Role::Patient,
                    created_by: self.therapist_id,
                    expires_at: joined + TimeDelta::days(7),
                    patient: Some(PatientInvite {
                        therapist_id: self.therapist_id,
                        timezone: person.timezone.to_string(),
                    }),
                },
                joined - TimeDelta::minutes(30),
            )
            .await
            .during("inviting a patient")?;
        let id = store
            .accept_invite(&code, user, joined)
            .await
            .during("signing up a patient")?
            .id;

        // The band, paired in the clinic.
        let pairing = hash_code(&format!("demo-pairing-{}", person.email));
        store
            .create_pairing_code(id, &pairing, joined + TimeDelta::hours(1))
            .await
            .during("creating a pairing code")?;
        let paired_at = joined + TimeDelta::minutes(10);
        let device = store
            .pair_device(
                &pairing,
                NewDevice {
                    kind: person.band.0.to_string(),
                    address: format!(
                        "C8:0F:10:D3:{:02X}:{:02X}",
                        rng.int(0, 255),
                        rng.int(0, 255)
                    ),
                    name: person.band.1.to_string(),
                },
                &hash_token(&format!("demo-band-{}-{}", person.email, rng.next())),
                paired_at,
            )
            .await
            .during("pairing a band")?;

        self.settings_and_outcomes(person, id, tz, joined).await?;

        let first_walk_day = joined_day + Days::new(1);
        let today = local_day(tz, now);
        let last_reviewed = last_complete_week(tz, now);
        let mut previous_bed: Option<DateTime<Utc>> = None;
        let mut monday = monday_of(joined_day);
        let mut k = 0;
        while monday <= today {
            let patient = store.patient(id).await.during("reading a patient")?;
            let plan = person.week(k, rng);
            let walk_days = choose_days(rng, &plan, monday, first_walk_day);
            let unanswered = rng.subset(walk_days.len(), plan.unanswered);
            let mut batch = SampleBatch::default();
            for offset in 0..7 {
                let day = monday + Days::new(offset);
                if day < joined_day || day > today {
                    continue;
                }
                let flare = plan.flare_day == Some(offset);
                let rough = flare || plan.flare_day.is_some_and(|f| offset > f && offset < 5);
                let walk = walk_days.iter().position(|d| *d == offset).map(|i| {
                    let feel = person.feel(k, i, offset, plan.flare_day);
                    (i, feel, walk_on(rng, tz, day, person, &patient, feel))
                });
                // Up a while before the walk, whatever the day.
                let mut wake = local_instant(tz, day, hm(6, 30) + minutes(rng.int(0, 75)));
                if let Some((_, _, walk)) = &walk {
                    wake = wake.min(walk.start() - minutes(rng.int(20, 40)));
                }
                let bed = local_instant(tz, day, hm(22, 0) + minutes(rng.int(0, 70)));
                if let Some(sleep_start) = previous_bed.filter(|t| *t >= paired_at) {
                    let restless = if rough { 30 } else { 8 };
                    batch.sleep.extend(night(rng, sleep_start, wake, restless));
                }
                previous_bed = Some(bed);
                if flare {
                    self.flare(&patient, tz, day, rng).await?;
                }
                let mut walks = Vec::new();
                if let Some((i, feel, walk)) = walk
                    && walk.end() + TimeDelta::minutes(5) <= now
                {
                    let pain = person.pain_in_week(k);
                    self.log_walk(&patient, person, &walk, feel, pain, unanswered[i], rng)
                        .await?;
                    walks.push(walk);
                }
                // Priya leaves her band on the charger now and then.
                let band_off = person.story == Story::MissesChecks && rng.chance(12);
                if !band_off {
                    let from = wake.max(paired_at);
                    batch
                        .steps
                        .extend(daytime(rng, from, bed.min(now), &walks, person.cadence));
                }
            }
            batch.sleep.retain(|e| e.end <= now);
            if !batch.steps.is_empty() || !batch.sleep.is_empty() {
                store
                    .ingest_samples(device.id, &batch, &days_touched(tz, &batch))
                    .await
                    .during("storing band data")?;
            }
            if monday <= last_reviewed {
                let (_, end) = week_bounds(tz, monday);
                let at = (end + minutes(rng.int(3, 25))).min(now);
                review_week(store, id, monday, at)
                    .await
                    .during("making a weekly review")?;
            }
            monday = monday + Days::new(7);
            k += 1;
        }
        Ok(())
    }

    /// Reminder settings for some, outcome measures and the next visit.
    async fn settings_and_outcomes(
        &self,
        person: &Person,
        id: i64,
        tz: Tz,
        joined: DateTime<Utc>,
    ) -> Result<(), DemoError> {
        let store = self.store;
        let settings = match person.story {
            Story::Steady => Some(ReminderSettings {
                session_times: vec![ClockTime(hm(10, 0))],
                // Monday to Friday.
                session_days: std::iter::successors(Some(Weekday::Mon), |d| Some(d.succ()))
                    .take(5)
                    .collect(),
                quiet_hours: Some(QuietHours {
                    start: ClockTime(hm(21, 30)),
                    end: ClockTime(hm(7, 30)),
                }),
                ..ReminderSettings::default()
            }),
            Story::MissesChecks => Some(ReminderSettings {
                session_times: vec![ClockTime(hm(7, 0)), ClockTime(hm(18, 0))],
                medication_lead_min: Some(30),
                two_hour_window_min: 360,
                ..ReminderSettings::default()
            }),
            _ => None,
        };
        if let Some(settings) = settings {
            store
                .save_reminder_settings(id, &settings, joined + TimeDelta::hours(2))
                .await
                .during("saving reminder settings")?;
        }
        let intake = local_day(tz, joined);
        let follow_up = intake + Days::new(35);
        for &(kind, first, later) in person.outcomes {
            let measures = [(intake, Some(first)), (follow_up, later)];
            for (day, value) in measures {
                let (Some(value), true) = (value, day <= local_day(tz, self.now)) else {
                    continue;
                };
                let at = local_instant(tz, day, hm(16, 0)).min(self.now);
                let outcome = NewOutcome {
                    kind,
                    value,
                    measured_on: day,
                };
                store
                    .add_outcome(id, outcome, self.therapist_id, at)
                    .await
                    .during("recording an outcome measure")?;
            }
        }
        let visit = local_day(tz, self.now) + Days::new(person.visit_in_days);
        store
            .set_next_visit(id, Some(visit))
            .await
            .during("setting the next visit")
    }

    /// A flare reported in the morning of `day`, as the app reports it.
    async fn flare(
        &self,
        patient: &Patient,
        tz: Tz,
        day: NaiveDate,
        rng: &mut Rng,
    ) -> Result<(), DemoError> {
        let started_at = local_instant(tz, day, hm(7, 40) + minutes(rng.int(0, 50)));
        let reported = started_at + minutes(rng.int(20, 90));
        if reported > self.now {
            return Ok(());
        }
        let flare = NewFlare {
            client_id: format!("demo-flare-{}-{day}", patient.id),
            started_at,
            pain: 7,
            notes: Some("Lifted a crate at work and my back seized up".into()),
        };
        let (record, _) = self
            .store
            .report_flare(patient.id, flare, reported)
            .await
            .during("reporting a flare")?;
        reminders::after_flare(self.store, patient, &record, reported)
            .await
            .during("scheduling a flare alert")
    }

    /// Logs a walk a few minutes after it ended, and answers its two-hour check unless it
    /// goes `unanswered` — through the same store calls and reminder scheduling as the API.
    #[allow(clippy::too_many_arguments)]
    async fn log_walk(
        &self,
        patient: &Patient,
        person: &Person,
        walk: &Walk,
        feel: Feel,
        usual_pain: i64,
        unanswered: bool,
        rng: &mut Rng,
    ) -> Result<(), DemoError> {
        let (before, during, after) = match feel {
            Feel::Settled => {
                let before = (usual_pain + rng.int(-1, 1)).clamp(0, 5);
                let during = (before + rng.int(0, 2)).min(5);
                (before, during, (before + rng.int(-1, 1)).clamp(0, 5))
            }
            Feel::Niggle => (usual_pain, (usual_pain + 2).min(5), (usual_pain + 3).min(7)),
            Feel::Flare => (rng.int(5, 6), rng.int(6, 7), rng.int(6, 7)),
            Feel::RedFlag => (4, 8, 7),
        };
        let effort = match feel {
            Feel::Settled => rng.int(2, 4),
            Feel::Niggle => rng.int(4, 5),
            Feel::Flare | Feel::RedFlag => rng.int(6, 7),
        };
        let notes = match feel {
            Feel::Settled if rng.chance(20) => Some(rng.pick(person.notes).to_string()),
            Feel::Settled => None,
            Feel::Niggle => Some("Felt fine during, but sore a couple of hours later".into()),
            Feel::Flare => Some("Still stiff from the flare, cut it short".into()),
            Feel::RedFlag => {
                Some("Sharp pain down my left leg after the first bout, had to stop".into())
            }
        };
        let logged = walk.end() + minutes(rng.int(1, 4));
        let session = NewSession {
            client_id: format!("demo-walk-{}-{}", patient.id, walk.start().timestamp()),
            started_at: walk.start(),
            ended_at: walk.end(),
            walked_s: walk.walked_s(),
            bouts: walk.bouts.len() as i64,
            pain_before: Some(before),
            pain_during_max: Some(during),
            effort: Some(effort),
            rest_type: (walk.bouts.len() > 1).then_some(person.rest),
            notes,
        };
        let (record, _) = self
            .store
            .record_session(patient.id, session, logged)
            .await
            .during("logging a walk")?;
        reminders::after_walk(self.store, patient, &record, logged)
            .await
            .during("scheduling a two-hour check")?;
        // A red flag is answered at once, as the API answers it: the week escalates now.
        let pains = [record.logged.pain_before, record.logged.pain_during_max];
        safety::after_walk(self.store, patient, &record, pains, logged)
            .await
            .during("escalating a red flag")?;
        let answered = walk.end() + TimeDelta::hours(2) + minutes(rng.int(0, 50));
        if unanswered || answered > self.now {
            return Ok(());
        }
        self.store
            .answer_two_hour_check(patient.id, record.id, after, answered)
            .await
            .during("answering a two-hour check")?;
        reminders::after_answer(self.store, record.id, reminders::Check::TwoHour, answered)
            .await
            .during("cancelling two-hour reminders")?;
        // The next morning (no draw from the generator, so the stories stay as they were): as
        // before the walk, but still sore after a niggle — a next-morning breach.
        let tz = parse_zone("timezone", &patient.timezone).during("reading a time zone")?;
        let morning = local_instant(tz, local_day(tz, walk.end()) + Days::new(1), hm(7, 45));
        if morning > self.now {
            return Ok(());
        }
        let morning_pain = match feel {
            Feel::Niggle => (before + 3).min(7),
            _ => before,
        };
        self.store
            .answer_next_morning_check(patient.id, record.id, morning_pain, morning)
            .await
            .during("answering a next-morning check")?;
        reminders::after_answer(
            self.store,
            record.id,
            reminders::Check::NextMorning,
            morning,
        )
        .await
        .during("cancelling the next-morning reminder")
    }
}

/// The weekdays (0 = Monday) of a week's walks, from the first day walks are possible.
fn choose_days(rng: &mut Rng, plan: &WeekPlan, monday: NaiveDate, first: NaiveDate) -> Vec<u64> {
    if let Some(days) = plan.days {
        return days.to_vec();
    }
    let open: Vec<u64> = (0..7).filter(|&d| monday + Days::new(d) >= first).collect();
    let mut days: Vec<u64> = rng
        .subset(open.len(), plan.walks)
        .iter()
        .zip(&open)
        .filter(|(chosen, _)| **chosen)
        .map(|(_, d)| *d)
        .collect();
    days.sort_unstable();
    days
}

/// A walk on `day` under the patient's current plan; after a flare or at red-flag pain it is
/// cut short.
fn walk_on(
    rng: &mut Rng,
    tz: Tz,
    day: NaiveDate,
    person: &Person,
    patient: &Patient,
    feel: Feel,
) -> Walk {
    let start = local_instant(tz, day, hm(person.walk_hour, 0) + minutes(rng.int(0, 120)))
        + TimeDelta::seconds(rng.int(0, 59));
    let plan = patient.plan;
    let (bouts, last_share) = match feel {
        Feel::Settled | Feel::Niggle => (plan.bouts, 100),
        Feel::Flare => (plan.bouts.min(2), rng.int(55, 80)),
        Feel::RedFlag => (1, 45),
    };
    let mut t = start;
    let mut out = Vec::new();
    for b in 0..bouts.max(1) {
        let length = if b == bouts - 1 {
            plan.interval_s * last_share / 100
        } else {
            plan.interval_s
        };
        let end = t + TimeDelta::seconds(length + rng.int(-5, 5));
        out.push((t, end));
        t = end + TimeDelta::seconds(plan.rest_s + rng.int(-10, 20));
    }
    Walk { bouts: out }
}

/// Minute steps from `from` to `to`: sitting and moving about the house, now and then an
/// errand, and the logged walks (which the band sees at the walker's cadence).
fn daytime(
    rng: &mut Rng,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    walks: &[Walk],
    cadence: i64,
) -> Vec<StepSample> {
    let from = whole_minute(from);
    let mut out = Vec::new();
    let mut t = from;
    while t + TimeDelta::minutes(1) <= to {
        // One segment of the day's script: sitting, pottering about, or an errand on foot.
        let (length, steps, heart) = match rng.int(0, 99) {
            0..=59 => (rng.int(15, 75), (0, 6), (60, 72)),
            60..=93 => (rng.int(3, 20), (10, 45), (72, 88)),
            _ => (rng.int(3, 9), (50, 85), (88, 104)),
        };
        for _ in 0..length {
            if t + TimeDelta::minutes(1) > to {
                break;
            }
            out.push(StepSample {
                minute: t,
                steps: rng.int(steps.0, steps.1),
                heart_rate: Some(rng.int(heart.0, heart.1)),
                estimated: false,
            });
            t += TimeDelta::minutes(1);
        }
    }
    for walk in walks {
        for sample in out
            .iter_mut()
            .filter(|s| s.minute + TimeDelta::minutes(1) > walk.start() && s.minute < walk.end())
        {
            let minute_end = sample.minute + TimeDelta::minutes(1);
            let walking: i64 = walk
                .bouts
                .iter()
                .map(|(a, b)| {
                    (minute_end.min(*b) - sample.minute.max(*a))
                        .num_seconds()
                        .max(0)
                })
                .sum();
            sample.steps = (cadence * walking / 60 + rng.int(-3, 3)).max(rng.int(0, 4));
            sample.heart_rate = Some(if walking > 30 {
                rng.int(98, 118)
            } else {
                rng.int(80, 94)
            });
        }
    }
    out
}

/// A night's sleep from `start` to `end` in roughly 90-minute cycles (light, deep, light,
/// REM), deep sleep early and REM late, with a short wake now and then (`restless` percent).
fn night(
    rng: &mut Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    restless: u64,
) -> Vec<SleepEpisode> {
    let mut out = Vec::new();
    let mut t = start;
    let mut push = |stage, from: DateTime<Utc>, length: i64| {
        let to = (from + TimeDelta::minutes(length)).min(end);
        if to > from {
            out.push(SleepEpisode {
                start: from,
                end: to,
                stage,
            });
        }
        to
    };
    t = push(SleepStage::Awake, t, rng.int(5, 20));
    let mut cycle = 0;
    while t < end {
        let early = cycle < 2;
        let steps = [
            (SleepStage::Light, rng.int(20, 35)),
            (
                SleepStage::Deep,
                if early {
                    rng.int(20, 40)
                } else {
                    rng.int(5, 15)
                },
            ),
            (SleepStage::Light, rng.int(10, 20)),
            (
                SleepStage::Rem,
                if early {
                    rng.int(8, 15)
                } else {
                    rng.int(15, 30)
                },
            ),
        ];
        for (stage, length) in steps {
            t = push(stage, t, length);
            if rng.chance(restless) {
                t = push(SleepStage::Awake, t, rng.int(2, 9));
            }
        }
        cycle += 1;
    }
    out
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn whole_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// A small deterministic generator (xorshift64*, seeded through splitmix64): the demo needs
/// repeatable variety, not cryptographic quality.
struct Rng(u64);

impl Rng {
    /// A generator for `stream` (one per patient) of `seed`.
    fn new(seed: u64, stream: u64) -> Rng {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A whole number in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// True `pct` percent of the time.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.int(0, items.len() as i64 - 1) as usize]
    }

    /// `len` flags of which `chosen` (at most `len`) are set, at random places.
    fn subset(&mut self, len: usize, chosen: usize) -> Vec<bool> {
        let mut flags = vec![false; len];
        let mut left = chosen.min(len);
        while left > 0 {
            let i = self.int(0, len as i64 - 1) as usize;
            if !flags[i] {
                flags[i] = true;
                left -= 1;
            }
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_repeats_for_a_seed_and_differs_between_seeds() {
        let draw = |seed| {
            let mut rng = Rng::new(seed, 1);
            (0..8).map(|_| rng.int(0, 1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let mut rng = Rng::new(1, 2);
        assert!((0..1000).all(|_| (3..=5).contains(&rng.int(3, 5))));
        assert_eq!(rng.subset(5, 3).iter().filter(|f| **f).count(), 3);
    }

    #[test]
    fn a_night_is_contiguous_and_covers_the_night() {
        let start = Utc::now();
        let end = start + TimeDelta::hours(8);
        let episodes = night(&mut Rng::new(3, 1), start, end, 10);
        assert_eq!(episodes[0].start, start);
        assert_eq!(episodes.last().unwrap().end, end);
        assert!(episodes.windows(2).all(|w| w[0].end == w[1].start));
    }

    /// The stories hold whatever the day and hour the demo starts: each weekday, at hours
    /// where some patients' local date differs from UTC's.
    #[tokio::test(flavor = "multi_thread")]
    async fn every_story_happens_on_any_day_of_the_week() {
        use chrono::TimeZone;
        use stepwise_engine::Decision;
        use stepwise_store::{PatientStore, ReminderStore, ReviewStore};

        let runs = (0..7).map(|d| async move {
            let hour = [0, 3, 4, 12, 22, 23, 6][d as usize];
            let now = Utc.with_ymd_and_hms(2026, 11, 16, hour, 17, 0).unwrap() + Days::new(d);
            let store = stepwise_store::SqliteStore::connect("sqlite::memory:")
                .await
                .unwrap();
            seed(&store, now, DEFAULT_SEED).await.unwrap();
            let mut by_name = std::collections::HashMap::new();
            for p in store.all_patients().await.unwrap() {
                let outcomes = store.review_outcomes(p.id).await.unwrap();
                let decisions: Vec<Decision> = outcomes.iter().map(|r| r.output.decision).collect();
                let codes: Vec<Vec<stepwise_engine::ReasonCode>> = outcomes
                    .iter()
                    .map(|r| r.output.reasons.iter().map(|x| x.code).collect())
                    .collect();
                by_name.insert(p.display_name.clone(), (p, decisions, codes));
            }
            (now, by_name, store)
        });
        for (now, by_name, store) in futures::future::join_all(runs).await {
            assert_eq!(by_name.len(), PEOPLE.len(), "{now}");
            let count =
                |name: &str, d: Decision| by_name[name].1.iter().filter(|x| **x == d).count();
            let (margaret, decisions, _) = &by_name["Margaret Hughes"];
            assert!(decisions.len() >= 8, "{now}: {decisions:?}");
            assert!(
                count("Margaret Hughes", Decision::Advance) >= 7,
                "{now}: {decisions:?}"
            );
            assert!(margaret.plan.interval_s > 500, "{now}");
            let (robert, decisions, _) = &by_name["Robert Miller"];
            assert!(robert.frozen, "{now}: {decisions:?}");
            assert_eq!(decisions.last(), Some(&Decision::Escalate), "{now}");
            // Escalated at once, when the red-flag walk was logged, not when the week ended;
            // the therapist was alerted then.
            let escalation = store.reviews(robert.id).await.unwrap().pop().unwrap();
            let tz: Tz = robert.timezone.parse().unwrap();
            let (week_start, week_end) = week_bounds(tz, escalation.week_start);
            assert!(escalation.created_at < week_end, "{now}: {escalation:?}");
            let alerts = store
                .patient_reminders(robert.id, week_start, now)
                .await
                .unwrap();
            assert!(
                alerts
                    .iter()
                    .any(|r| r.message.title == "Robert Miller reported pain 8/10"),
                "{now}: {alerts:?}"
            );
            // The next morning counts: a niggle that was still sore the next morning.
            let next_morning_breaches = PEOPLE.iter().any(|p| {
                by_name[p.name].2.iter().any(|codes| {
                    codes.contains(&stepwise_engine::ReasonCode::PainNextMorningRiseOverMax)
                })
            });
            assert!(next_morning_breaches, "{now}");
            let jonas = &by_name["Jonas Weber"].1;
            assert_eq!(
                count("Jonas Weber", Decision::Regress),
                1,
                "{now}: {jonas:?}"
            );
            assert_eq!(jonas.last(), Some(&Decision::Advance), "{now}: {jonas:?}");
            let priya = &by_name["Priya Shah"].1;
            assert!(count("Priya Shah", Decision::Hold) >= 4, "{now}: {priya:?}");
            let escalations: usize = PEOPLE
                .iter()
                .map(|p| count(p.name, Decision::Escalate))
                .sum();
            assert_eq!(escalations, 1, "{now}");
            assert!(!by_name["Aisha Okafor"].1.is_empty(), "{now}");
        }
    }
}
