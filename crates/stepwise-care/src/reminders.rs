//! Which reminders a patient is owed, and when: pure functions of the patient, their settings,
//! their zone and "now". Every local time is computed in the patient's IANA zone, so a 07:30
//! reminder is at 07:30 on both sides of a DST change; a time the clocks skip fires at the
//! first time after the gap, and a time they read twice fires at the first reading.

use crate::questionnaires::QuestionnaireRequest;
use crate::team::Message;

use crate::records::{
    BandSilence, FlareRecord, NewReminder, Patient, QuietHours, ReminderKind, ReminderMessage,
    ReminderSettings, ReviewRecord, SessionRecord,
};
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use stepwise_engine::{Decision, Reader, spoken_duration};

use stepwise_engine::checks::{
    NEXT_MORNING_DEFAULT, NEXT_MORNING_LIFE, NEXT_MORNING_OPENS, TWO_HOUR_CHECK,
};

use crate::calendar::{local_day, local_instant};
use crate::words::{in_words, reason_texts};

/// The follow-up comes this long after the first check, when still unanswered.
pub const FOLLOW_UP_DELAY: TimeDelta = TimeDelta::hours(1);
/// Session and medication reminders are scheduled this many local days ahead (today
/// included), so they exist well before they are due.
pub const PLAN_DAYS: u64 = 2;
/// A session reminder is not worth sending this long after its time.
pub const SESSION_REMINDER_LIFE: TimeDelta = TimeDelta::hours(2);
/// A band nudge goes out when no band data has been seen for this long.
pub const BAND_SILENCE: TimeDelta = TimeDelta::hours(48);
/// Messages that are not tied to a moment (plan changes, escalations, nudges) stay worth
/// sending this long.
pub const NEWS_LIFE: TimeDelta = TimeDelta::days(3);

/// The page of the patient's app that lists reminders and their settings.
pub const REMINDERS_PAGE: &str = "/app/reminders";

/// The first instant at or after `at` outside the patient's quiet hours.
pub fn after_quiet_hours(tz: Tz, at: DateTime<Utc>, quiet: Option<&QuietHours>) -> DateTime<Utc> {
    let Some(quiet) = quiet else { return at };
    let (start, end) = (quiet.start.0, quiet.end.0);
    if start == end {
        return at;
    }
    let local = at.with_timezone(&tz);
    let (date, time) = (local.date_naive(), local.time());
    let end_on = |date: NaiveDate| local_instant(tz, date, end);
    if start < end {
        // Quiet within one day, e.g. 13:00–15:00.
        if start <= time && time < end {
            return end_on(date);
        }
    } else if time >= start {
        // Overnight, e.g. 22:00–07:00: late evening waits for tomorrow morning...
        return end_on(date + Days::new(1));
    } else if time < end {
        // ...and early morning for this morning's end.
        return end_on(date);
    }
    at
}

/// The walk's local start, `HH:MM`.
fn clock(tz: Tz, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&tz);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// The two-hour check of a walk and its follow-up, each within the therapist's window
/// (a reminder pushed past the window by quiet hours is not scheduled).
pub fn two_hour_checks(
    tz: Tz,
    patient: &Patient,
    session: &SessionRecord,
    settings: &ReminderSettings,
) -> Vec<NewReminder> {
    let ended = session.logged.ended_at;
    let expires = ended + TimeDelta::minutes(settings.two_hour_window_min);
    let walk = format!(
        "your walk at {} ({} walked)",
        clock(tz, session.logged.started_at),
        spoken_duration(session.logged.walked_s)
    );
    let first = ended + TWO_HOUR_CHECK;
    [
        (
            ReminderKind::TwoHourCheck,
            first,
            "How is your pain now?".to_string(),
            format!("Two hours have passed since {walk}. Tap to tell us how your pain is now."),
        ),
        (
            ReminderKind::TwoHourFollowUp,
            first + FOLLOW_UP_DELAY,
            "A reminder: how is your pain now?".to_string(),
            format!(
                "We have not heard how your pain was after {walk}. Your answer decides \
                 whether next week's walks get longer."
            ),
        ),
    ]
    .into_iter()
    .filter_map(|(kind, due, title, body)| {
        let due = after_quiet_hours(tz, due, settings.quiet_hours.as_ref());
        (due < expires).then(|| NewReminder {
            kind,
            recipient_id: patient.id,
            patient_id: patient.id,
            session_id: Some(session.id),
            dedupe_key: format!("{}:{}", kind.as_str(), session.id),
            due_at: due,
            expires_at: Some(expires),
            message: ReminderMessage {
                title,
                body,
                url: format!("/app/checks/{}", session.id),
            },
        })
    })
    .collect()
}

/// Session reminders at the patient's chosen local times on their plan's days, and the
/// therapist's medication reminders before them, for the next [`PLAN_DAYS`] local days,
/// those not yet due at `now`.
pub fn planned(
    tz: Tz,
    patient: &Patient,
    settings: &ReminderSettings,
    now: DateTime<Utc>,
) -> Vec<NewReminder> {
    let mut out = Vec::new();
    if !settings.session_reminders {
        return out;
    }
    let today = local_day(tz, now);
    let plan = &patient.plan;
    let walk = if plan.bouts > 1 {
        format!(
            "{} walks of {} with {} rest between",
            plan.bouts,
            spoken_duration(plan.interval_s),
            spoken_duration(plan.rest_s)
        )
    } else {
        format!("one walk of {}", spoken_duration(plan.interval_s))
    };
    for date in (0..PLAN_DAYS).map(|d| today + Days::new(d)) {
        if !settings.session_days.contains(&date.weekday()) {
            continue;
        }
        for time in &settings.session_times {
            let at = local_instant(tz, date, time.0);
            let hhmm = time.0.format("%H:%M");
            let mut push = |kind: ReminderKind, due: DateTime<Utc>, title: &str, body: String| {
                let due = after_quiet_hours(tz, due, settings.quiet_hours.as_ref());
                let expires = at + SESSION_REMINDER_LIFE;
                if due > now && due < expires {
                    out.push(NewReminder {
                        kind,
                        recipient_id: patient.id,
                        patient_id: patient.id,
                        session_id: None,
                        dedupe_key: format!("{}:{}:{date}:{hhmm}", kind.as_str(), patient.id),
                        due_at: due,
                        expires_at: Some(expires),
                        message: ReminderMessage {
                            title: title.into(),
                            body,
                            url: REMINDERS_PAGE.into(),
                        },
                    });
                }
            };
            if let Some(lead) = settings.medication_lead_min {
                push(
                    ReminderKind::Medication,
                    at - TimeDelta::minutes(lead),
                    "Medication before your walk",
                    format!(
                        "Your therapist suggests taking your medication now, {lead} minutes \
                         before your {hhmm} walk."
                    ),
                );
            }
            push(
                ReminderKind::Session,
                at,
                "Time for your walk",
                format!("Today's plan: {walk}. Stop before your pain climbs."),
            );
        }
    }
    out
}

/// What a weekly review changed and why, for the patient.
pub fn plan_change(
    tz: Tz,
    patient: &Patient,
    review: &ReviewRecord,
    settings: &ReminderSettings,
) -> NewReminder {
    let output = &review.output;
    let (from, to) = (
        spoken_duration(output.previous_interval_s),
        spoken_duration(output.interval_s),
    );
    let title = match output.decision {
        Decision::Advance => "Your walks get a little longer",
        Decision::Hold => "Your walking plan stays the same",
        Decision::Regress => "Your walks step back a little",
        Decision::Escalate => "Your therapist will look at your week",
    };
    let change = if review.applied && output.interval_s != output.previous_interval_s {
        format!("Each walk goes from {from} to {to}.")
    } else {
        format!("Each walk stays at {from}.")
    };
    let why = in_words(&reason_texts(review, Reader::Patient));
    news(
        tz,
        settings,
        review.created_at,
        NewReminder {
            kind: ReminderKind::PlanChange,
            recipient_id: patient.id,
            patient_id: patient.id,
            session_id: None,
            dedupe_key: format!("plan_change:{}", review.id),
            due_at: review.created_at,
            expires_at: None,
            message: ReminderMessage {
                title: title.into(),
                body: format!("{change} {why}"),
                url: REMINDERS_PAGE.into(),
            },
        },
    )
}

/// To the therapist: the engine escalated this patient's week.
pub fn review_escalation(patient: &Patient, review: &ReviewRecord) -> NewReminder {
    let why = in_words(&reason_texts(review, Reader::Therapist));
    escalation(
        patient,
        format!("escalation:review:{}", review.id),
        review.created_at,
        format!("{} needs a look", patient.display_name),
        format!(
            "The weekly review of the week of {} escalated; the plan is frozen until you \
             acknowledge it. {why}",
            review.week_start.format("%-d %b")
        ),
    )
}

/// The local day after the walk ended: the morning the next-morning check is about.
pub fn next_morning_day(tz: Tz, session: &SessionRecord) -> NaiveDate {
    local_day(tz, session.logged.ended_at) + Days::new(1)
}

/// When the walk's next-morning check opens: [`NEXT_MORNING_OPENS`] the day after, local.
pub fn next_morning_opens(tz: Tz, session: &SessionRecord) -> DateTime<Utc> {
    local_instant(tz, next_morning_day(tz, session), NEXT_MORNING_OPENS)
}

/// The next-morning question: the morning after the walk, when the patient's quiet hours end
/// (else at [`NEXT_MORNING_DEFAULT`]), in their zone — unless they turned it off.
pub fn next_morning_check(
    tz: Tz,
    patient: &Patient,
    session: &SessionRecord,
    settings: &ReminderSettings,
) -> Option<NewReminder> {
    if !settings.next_morning_checks {
        return None;
    }
    let wake = match &settings.quiet_hours {
        Some(quiet) if quiet.start != quiet.end => quiet.end.0,
        _ => NEXT_MORNING_DEFAULT,
    };
    let due = local_instant(tz, next_morning_day(tz, session), wake);
    Some(NewReminder {
        kind: ReminderKind::NextMorningCheck,
        recipient_id: patient.id,
        patient_id: patient.id,
        session_id: Some(session.id),
        dedupe_key: format!("{}:{}", ReminderKind::NextMorningCheck.as_str(), session.id),
        due_at: due,
        expires_at: Some(due + NEXT_MORNING_LIFE),
        message: ReminderMessage {
            title: "How is your pain this morning?".to_string(),
            body: format!(
                "Yesterday you walked at {} ({} walked). Tap to tell us how your pain is this \
                 morning.",
                clock(tz, session.logged.started_at),
                spoken_duration(session.logged.walked_s)
            ),
            url: format!("/app/checks/{}?check=morning", session.id),
        },
    })
}

/// To the therapist, at once: a walk or its check carried red-flag pain; the week was
/// escalated and the plan is frozen. One alert per walk, however many of its reports do.
pub fn red_flag_alert(
    tz: Tz,
    patient: &Patient,
    session: &SessionRecord,
    pain: i64,
    at: DateTime<Utc>,
) -> NewReminder {
    let started = session.logged.started_at.with_timezone(&tz);
    escalation(
        patient,
        format!("escalation:red-flag:session:{}", session.id),
        at,
        format!("{} reported pain {pain}/10", patient.display_name),
        format!(
            "With the walk of {} (patient's time). The plan is frozen until you acknowledge the \
             escalation.",
            started.format("%a %-d %b %H:%M")
        ),
    )
}

/// To the therapist: the patient reported a flare.
pub fn flare_escalation(tz: Tz, patient: &Patient, flare: &FlareRecord) -> NewReminder {
    let started = flare.reported.started_at.with_timezone(&tz);
    escalation(
        patient,
        format!("escalation:flare:{}", flare.id),
        flare.created_at,
        format!("{} reported a flare", patient.display_name),
        format!(
            "Pain {}/10 since {} (patient's time).",
            flare.reported.pain,
            started.format("%a %-d %b %H:%M")
        ),
    )
}

fn escalation(
    patient: &Patient,
    dedupe_key: String,
    at: DateTime<Utc>,
    title: String,
    body: String,
) -> NewReminder {
    NewReminder {
        kind: ReminderKind::Escalation,
        recipient_id: patient.therapist_id,
        patient_id: patient.id,
        session_id: None,
        dedupe_key,
        due_at: at,
        expires_at: Some(at + NEWS_LIFE),
        message: ReminderMessage {
            title,
            body,
            url: format!("/clinic/patients/{}/report", patient.id),
        },
    }
}

/// A nudge to sync the band, once per silence of [`BAND_SILENCE`] or longer.
pub fn band_nudge(
    tz: Tz,
    patient: &Patient,
    silence: &BandSilence,
    settings: &ReminderSettings,
    now: DateTime<Utc>,
) -> Option<NewReminder> {
    if now - silence.last_seen < BAND_SILENCE {
        return None;
    }
    Some(news(
        tz,
        settings,
        now,
        NewReminder {
            kind: ReminderKind::BandNudge,
            recipient_id: patient.id,
            patient_id: patient.id,
            session_id: None,
            dedupe_key: format!(
                "band_nudge:{}:{}",
                patient.id,
                silence.last_seen.timestamp()
            ),
            due_at: now,
            expires_at: None,
            message: ReminderMessage {
                title: "Your band has not synced for two days".into(),
                body: "Bring your band near the Stepwise collector (or run `stepwise band \
                       sync`) so your walks can be verified."
                    .into(),
                url: REMINDERS_PAGE.into(),
            },
        },
    ))
}

/// The page where a patient reads and writes their thread.
pub const MESSAGES_PAGE: &str = "/app/messages";

/// A new message in a patient's thread, told to the other side: the patient when a member of
/// the care team wrote (after the patient's quiet hours), the patient's therapist when the
/// patient wrote (at once). The notification names the writer but not the text, which may be
/// read on a locked screen: the text is on the page it opens.
pub fn message_notice(
    tz: Tz,
    patient: &Patient,
    settings: &ReminderSettings,
    message: &Message,
) -> NewReminder {
    let from_patient = message.author_id == patient.id;
    let reminder = NewReminder {
        kind: ReminderKind::Message,
        recipient_id: if from_patient {
            patient.therapist_id
        } else {
            patient.id
        },
        patient_id: patient.id,
        session_id: None,
        dedupe_key: format!("message:{}", message.id),
        due_at: message.created_at,
        expires_at: Some(message.created_at + NEWS_LIFE),
        message: ReminderMessage {
            title: format!("New message from {}", message.author_name),
            body: "Open Stepwise to read it.".into(),
            url: if from_patient {
                format!("/app/patient/{}#messages", patient.id)
            } else {
                MESSAGES_PAGE.into()
            },
        },
    };
    if from_patient {
        reminder
    } else {
        news(tz, settings, message.created_at, reminder)
    }
}

/// The patient's questionnaires page; a notice opens it at the questionnaire asked.
pub const QUESTIONNAIRES_PAGE: &str = "/app/questionnaires";

/// A questionnaire is open for the patient: tell them, after their quiet hours, for as long as
/// it stays open ([`crate::questionnaires::OPEN_DAYS`]). The notice names the questionnaire and
/// opens its form.
pub fn questionnaire_notice(
    tz: Tz,
    settings: &ReminderSettings,
    request: &QuestionnaireRequest,
) -> NewReminder {
    let due = after_quiet_hours(tz, request.created_at, settings.quiet_hours.as_ref());
    let closes = request
        .due_on
        .checked_add_days(Days::new(crate::questionnaires::OPEN_DAYS + 1))
        .map_or(due + NEWS_LIFE, |day| crate::calendar::day_start(tz, day));
    NewReminder {
        kind: ReminderKind::Questionnaire,
        recipient_id: request.patient_id,
        patient_id: request.patient_id,
        session_id: None,
        dedupe_key: format!("questionnaire:{}", request.id),
        due_at: due,
        expires_at: Some(closes.max(due + TimeDelta::hours(1))),
        message: ReminderMessage {
            title: format!("Questionnaire: {}", request.instrument.title()),
            body: "Your therapist asks you to fill it in. It takes a few minutes.".into(),
            url: format!("{QUESTIONNAIRES_PAGE}#request-{}", request.id),
        },
    }
}

/// A patient-facing message due at `at`, moved out of quiet hours, worth sending for
/// [`NEWS_LIFE`].
fn news(
    tz: Tz,
    settings: &ReminderSettings,
    at: DateTime<Utc>,
    reminder: NewReminder,
) -> NewReminder {
    let due = after_quiet_hours(tz, at, settings.quiet_hours.as_ref());
    NewReminder {
        due_at: due,
        expires_at: Some(due + NEWS_LIFE),
        ..reminder
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{ClockTime, NewSession, WalkingPlan};
    use chrono::{NaiveTime, TimeZone, Weekday};

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> ClockTime {
        ClockTime(NaiveTime::from_hms_opt(h, m, 0).unwrap())
    }

    fn patient(tz: &str) -> Patient {
        Patient {
            id: 7,
            clinic_id: 1,
            therapist_id: 2,
            display_name: "Ada".into(),
            timezone: tz.into(),
            plan: WalkingPlan {
                interval_s: 300,
                bouts: 3,
                rest_s: 120,
                sessions_per_week: 5,
            },
            frozen: false,
            created_at: Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
            next_visit: None,
        }
    }

    fn walk(ended: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            id: 41,
            patient_id: 7,
            logged: NewSession {
                client_id: "w".into(),
                started_at: ended - TimeDelta::minutes(20),
                ended_at: ended,
                walked_s: 900,
                bouts: 3,
                pain_before: Some(3),
                pain_during_max: Some(4),
                effort: Some(5),
                rest_type: None,
                notes: None,
            },
            pain_after_2h: None,
            answered_at: None,
            pain_next_morning: None,
            next_morning_answered_at: None,
            created_at: ended,
            withdrawn_at: None,
        }
    }

    #[test]
    fn two_hour_check_and_follow_up_within_the_window() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let ended = at(tz, 2026, 6, 10, 10, 0);
        let settings = ReminderSettings::default();
        let got = two_hour_checks(tz, &patient("Europe/Berlin"), &walk(ended), &settings);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].due_at, at(tz, 2026, 6, 10, 12, 0));
        assert_eq!(got[1].due_at, at(tz, 2026, 6, 10, 13, 0));
        assert_eq!(got[0].expires_at, Some(at(tz, 2026, 6, 10, 14, 0)));
        assert!(
            got[0]
                .message
                .body
                .contains("your walk at 09:40 (15 minutes walked)")
        );
        assert_eq!(got[0].message.url, "/app/checks/41");
        // A window of 2½ hours leaves no room for the follow-up.
        let short = ReminderSettings {
            two_hour_window_min: 150,
            ..settings
        };
        let got = two_hour_checks(tz, &patient("Europe/Berlin"), &walk(ended), &short);
        assert_eq!(got.len(), 1);
    }

    /// The morning after a walk, when quiet hours end, in the patient's zone: across the
    /// autumn clock change in Berlin (25 October 2026, 03:00 CEST → 02:00 CET) 07:30 local is
    /// 06:30 UTC, where the morning before it was 05:30 UTC.
    #[test]
    fn next_morning_check_when_quiet_hours_end_across_dst() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let settings = ReminderSettings {
            quiet_hours: Some(QuietHours {
                start: hm(22, 0),
                end: hm(7, 30),
            }),
            ..ReminderSettings::default()
        };
        let p = patient("Europe/Berlin");
        let before = next_morning_check(tz, &p, &walk(at(tz, 2026, 10, 23, 18, 0)), &settings);
        let across = next_morning_check(tz, &p, &walk(at(tz, 2026, 10, 24, 18, 0)), &settings);
        let before = before.unwrap();
        let across = across.unwrap();
        assert_eq!(
            before.due_at,
            Utc.with_ymd_and_hms(2026, 10, 24, 5, 30, 0).unwrap()
        );
        assert_eq!(
            across.due_at,
            Utc.with_ymd_and_hms(2026, 10, 25, 6, 30, 0).unwrap()
        );
        assert_eq!(across.kind, ReminderKind::NextMorningCheck);
        assert_eq!(across.dedupe_key, "next_morning_check:41");
        assert_eq!(across.message.title, "How is your pain this morning?");
        assert_eq!(across.message.url, "/app/checks/41?check=morning");
        assert_eq!(across.expires_at, Some(across.due_at + NEXT_MORNING_LIFE));
        // It opens at 04:00 local that morning.
        assert_eq!(
            next_morning_opens(tz, &walk(at(tz, 2026, 10, 24, 18, 0))),
            Utc.with_ymd_and_hms(2026, 10, 25, 3, 0, 0).unwrap()
        );
        // Without quiet hours at 08:00; turned off, not at all.
        let plain = ReminderSettings::default();
        let walked = walk(at(tz, 2026, 6, 10, 19, 0));
        assert_eq!(
            next_morning_check(tz, &p, &walked, &plain).unwrap().due_at,
            at(tz, 2026, 6, 11, 8, 0)
        );
        let off = ReminderSettings {
            next_morning_checks: false,
            ..plain
        };
        assert!(next_morning_check(tz, &p, &walked, &off).is_none());
    }

    #[test]
    fn quiet_hours_defer_overnight_and_within_a_day() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let night = QuietHours {
            start: hm(22, 0),
            end: hm(7, 0),
        };
        let q = Some(&night);
        assert_eq!(
            after_quiet_hours(tz, at(tz, 2026, 3, 7, 23, 0), q),
            at(tz, 2026, 3, 8, 7, 0)
        );
        assert_eq!(
            after_quiet_hours(tz, at(tz, 2026, 3, 8, 5, 0), q),
            at(tz, 2026, 3, 8, 7, 0)
        );
        assert_eq!(
            after_quiet_hours(tz, at(tz, 2026, 3, 8, 12, 0), q),
            at(tz, 2026, 3, 8, 12, 0)
        );
        let nap = QuietHours {
            start: hm(13, 0),
            end: hm(15, 0),
        };
        assert_eq!(
            after_quiet_hours(tz, at(tz, 2026, 3, 8, 14, 0), Some(&nap)),
            at(tz, 2026, 3, 8, 15, 0)
        );
    }

    #[test]
    fn session_reminders_at_local_times_across_dst() {
        for (zone, change) in [
            (
                "Europe/Berlin",
                NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
            ),
            (
                "Europe/Berlin",
                NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
            ),
            (
                "America/New_York",
                NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            ),
            (
                "America/New_York",
                NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            ),
        ] {
            let tz: Tz = zone.parse().unwrap();
            let settings = ReminderSettings {
                session_times: vec![hm(7, 30)],
                medication_lead_min: Some(45),
                ..ReminderSettings::default()
            };
            let before = change - Days::new(1);
            let now = local_instant(tz, before, NaiveTime::MIN);
            let got = planned(tz, &patient(zone), &settings, now);
            let sessions: Vec<_> = got
                .iter()
                .filter(|r| r.kind == ReminderKind::Session)
                .collect();
            assert_eq!(sessions.len(), 2, "{zone}");
            for (r, date) in sessions.iter().zip([before, change]) {
                let local = r.due_at.with_timezone(&tz);
                assert_eq!(
                    (local.date_naive(), local.hour(), local.minute()),
                    (date, 7, 30)
                );
            }
            let meds = got
                .iter()
                .find(|r| r.kind == ReminderKind::Medication)
                .unwrap();
            assert_eq!(meds.due_at.with_timezone(&tz).time(), hm(6, 45).0);
        }
    }

    #[test]
    fn a_skipped_time_fires_after_the_gap() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let t = local_instant(tz, date, hm(2, 30).0);
        assert_eq!(t, at(tz, 2026, 3, 29, 3, 0));
    }

    #[test]
    fn session_reminders_only_on_plan_days_and_only_ahead() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let settings = ReminderSettings {
            session_times: vec![hm(7, 30), hm(18, 0)],
            session_days: vec![Weekday::Mon],
            ..ReminderSettings::default()
        };
        // Monday 2026-06-08 at 12:00: only 18:00 today is ahead; Tuesday is not a plan day.
        let got = planned(
            tz,
            &patient("Europe/Berlin"),
            &settings,
            at(tz, 2026, 6, 8, 12, 0),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].due_at, at(tz, 2026, 6, 8, 18, 0));
        assert_eq!(got[0].dedupe_key, "session:7:2026-06-08:18:00");
        let off = ReminderSettings {
            session_reminders: false,
            ..settings
        };
        assert!(
            planned(
                tz,
                &patient("Europe/Berlin"),
                &off,
                at(tz, 2026, 6, 8, 12, 0)
            )
            .is_empty()
        );
    }

    #[test]
    fn nudge_after_two_silent_days_once_per_silence() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let now = at(tz, 2026, 6, 10, 9, 0);
        let p = patient("Europe/Berlin");
        let s = ReminderSettings::default();
        let recent = BandSilence {
            patient_id: 7,
            last_seen: now - TimeDelta::hours(47),
        };
        assert!(band_nudge(tz, &p, &recent, &s, now).is_none());
        let silent = BandSilence {
            patient_id: 7,
            last_seen: now - TimeDelta::hours(49),
        };
        let a = band_nudge(tz, &p, &silent, &s, now).unwrap();
        let b = band_nudge(tz, &p, &silent, &s, now + TimeDelta::hours(5)).unwrap();
        assert_eq!(a.dedupe_key, b.dedupe_key);
    }
}
