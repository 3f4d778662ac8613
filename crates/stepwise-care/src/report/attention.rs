//! The care team's one attention ranking: what about a patient needs a look, in words, most
//! urgent first — and which patients come first. The patient list (`GET /api/v1/patients`),
//! the pre-visit list (`GET /api/v1/clinic/visits`) and the report all use these two pure
//! functions: [`items`] (a patient's items over a window, from data handed in) and
//! [`compare`] (two patients' items).
//!
//! Each item has its code, a level, a short name ([`title`]) and a message in words. Items, most
//! urgent first ([`ORDER`]):
//! 1. `open_escalation` (*urgent*): a weekly review asked for a therapist (red-flag pain or
//!    repeated steps back); the plan's automatic changes are paused until acknowledged.
//! 2. `flares` (*soon*): flares the patient reported.
//! 3. `pain_limit_breaches` (*soon*): walks with pain during above the rules' limit, or two
//!    hours after above its limit.
//! 4. `missed_two_hour_checks` (*soon*): checks whose time passed without an answer (checks
//!    not yet due, or still open, are not missed).
//! 5. `low_adherence` (*soon*): under 80% of prescribed sessions done, over the complete
//!    weeks only (the week in progress is not judged).
//! 6. `band_silence` (*soon*): no band data for [`BAND_SILENCE_DAYS`] days or more up to the
//!    window's last day — after some data in the window, or, for a paired band that sent
//!    nothing at all in the window, since it was paired or the window began.
//! 7. `rising_pain`, `falling_adherence` (complete weeks, shares above 100% counted as 100%),
//!    `falling_sleep`, `falling_steps` (*note*): trends between the window's first and last
//!    weeks.
//! 8. `acknowledged_escalation` (*note*): an escalation of a week in the window that a
//!    therapist acknowledged, with their note — kept in view, marked acknowledged.
//!
//! Patients are ordered by their items' ranks, most urgent first: the patient whose most
//! urgent item comes earlier in [`ORDER`] comes first; when equal, the next item decides, and
//! a patient with one more item (all else equal) comes before one without. Patients with
//! nothing come last; ties keep the caller's order (by name, or by visit date then name).

use std::cmp::Ordering;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use stepwise_engine::Decision;

use super::model::*;
use crate::records::{BandDay, FlareRecord};

/// A rise in weekly mean pain two hours after that needs a look (NRS points).
pub const PAIN_RISE: f64 = 1.0;
/// A fall in weekly adherence that needs a look (share, 0–1).
pub const ADHERENCE_FALL: f64 = 0.2;

/// Attention codes, most urgent first.
pub const ORDER: [&str; 11] = [
    "open_escalation",
    "flares",
    "pain_limit_breaches",
    "missed_two_hour_checks",
    "low_adherence",
    "band_silence",
    "rising_pain",
    "falling_adherence",
    "falling_sleep",
    "falling_steps",
    "acknowledged_escalation",
];

/// Days without band data (after some) that raise `band_silence`.
pub const BAND_SILENCE_DAYS: i64 = 3;

/// A code's place in [`ORDER`] (unknown codes last).
pub fn rank(code: &str) -> usize {
    ORDER.iter().position(|c| *c == code).unwrap_or(ORDER.len())
}

/// A code's short name in words: the badge the lists and the report show before the message.
pub fn title(code: &str) -> &'static str {
    match code {
        "open_escalation" => "Escalation open",
        "flares" => "Flare",
        "pain_limit_breaches" => "Over the pain limits",
        "missed_two_hour_checks" => "Missed checks",
        "low_adherence" => "Few sessions",
        "band_silence" => "Band silent",
        "rising_pain" => "Pain rising",
        "falling_adherence" => "Fewer sessions",
        "falling_sleep" => "Less sleep",
        "falling_steps" => "Fewer steps",
        "acknowledged_escalation" => "Escalation acknowledged",
        _ => "Needs a look",
    }
}

fn level(code: &str) -> &'static str {
    match rank(code) {
        0 => "urgent",
        1..=5 => "soon",
        _ => "note",
    }
}

/// Everything the items are made from: one patient's report window.
pub struct Facts<'a> {
    /// The patient's time zone (dates and times in words).
    pub tz: Tz,
    /// The window's last local date.
    pub to: NaiveDate,
    /// Escalations not yet acknowledged (any week).
    pub open_escalations: &'a [DecisionRow],
    /// Weekly decisions of the window's weeks.
    pub decisions: &'a [DecisionRow],
    /// Flares in the window.
    pub flares: &'a [FlareRecord],
    /// Walks in the window.
    pub walks: &'a [WalkRow],
    /// The rules' pain limits.
    pub limits: PainLimits,
    /// Two-hour checks.
    pub checks: &'a ChecksReport,
    /// Adherence per week.
    pub adherence: &'a AdherenceReport,
    /// Weekly mean pain.
    pub pain: &'a [PainWeek],
    /// Daily steps trend.
    pub steps: &'a Trend,
    /// Nightly sleep trend.
    pub sleep: &'a Trend,
    /// Band data per local day in the window.
    pub band_days: &'a [BandDay],
    /// The local day the patient's first band still paired was paired, if any: a band that
    /// sent nothing at all in the window is silent too.
    pub band_paired_on: Option<NaiveDate>,
    /// The window's first local date.
    pub from: NaiveDate,
}

fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

fn when(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A patient's attention items, most urgent first (pure).
pub fn items(f: &Facts) -> Vec<Attention> {
    let mut items = Vec::new();
    let mut add = |code: &'static str, message: String| {
        items.push(Attention {
            code,
            level: level(code),
            title: title(code),
            message,
        })
    };
    if !f.open_escalations.is_empty() {
        let weeks: Vec<String> = f
            .open_escalations
            .iter()
            .map(|e| e.week_start.format("%-d %b").to_string())
            .collect();
        add(
            "open_escalation",
            format!(
                "Escalation waiting for acknowledgement (week of {}): automatic changes are paused",
                weeks.join(", ")
            ),
        );
    }
    if let Some(latest) = f.flares.iter().max_by_key(|fl| fl.reported.started_at) {
        add(
            "flares",
            format!(
                "{} reported, the latest {} (pain {}/10)",
                plural(f.flares.len(), "flare", "flares"),
                when(f.tz, latest.reported.started_at),
                latest.reported.pain
            ),
        );
    }
    let over = |w: &&WalkRow| {
        w.pain_during_max.is_some_and(|p| p > f.limits.during_max)
            || w.pain_after_2h.is_some_and(|p| p > f.limits.after_2h_max)
    };
    let breaches: Vec<&WalkRow> = f.walks.iter().filter(over).collect();
    if let Some(latest) = breaches.iter().map(|w| w.day).max() {
        add(
            "pain_limit_breaches",
            format!(
                "{} over the pain limits (during above {}, or two hours after above {}), the latest on {}",
                plural(breaches.len(), "walk", "walks"),
                f.limits.during_max,
                f.limits.after_2h_max,
                day(latest)
            ),
        );
    }
    let checks = f.checks;
    if checks.missed > 0 {
        add(
            "missed_two_hour_checks",
            format!(
                "{} of {} two-hour pain checks {} not answered",
                checks.missed,
                checks.answered + checks.missed,
                if checks.missed == 1 { "was" } else { "were" }
            ),
        );
    }
    let complete: Vec<&WeekAdherence> = f
        .adherence
        .weeks
        .iter()
        .filter(|w| w.complete && w.prescribed > 0)
        .collect();
    let (done, prescribed) = complete
        .iter()
        .fold((0, 0), |(d, p), w| (d + w.done, p + w.prescribed));
    let share = stepwise_engine::adherence::Adherence { done, prescribed };
    if prescribed > 0 && !share.is_adherent() {
        add(
            "low_adherence",
            format!(
                "{done} of {prescribed} prescribed sessions done in the complete weeks ({}), below 80%",
                percent(share.share())
            ),
        );
    }
    let last_band = f
        .band_days
        .iter()
        .filter(|d| d.has_data())
        .map(|d| d.date)
        .max();
    if let Some(last) = last_band {
        let silent = (f.to - last).num_days();
        if silent >= BAND_SILENCE_DAYS {
            add(
                "band_silence",
                format!("No band data for {silent} days (the last on {})", day(last)),
            );
        }
    } else if let Some(paired) = f.band_paired_on {
        // Paired, and nothing at all in the window: silent since the later of the two.
        let since = paired.max(f.from);
        let silent = (f.to - since).num_days() + 1;
        if silent >= BAND_SILENCE_DAYS {
            add(
                "band_silence",
                format!(
                    "No band data for {silent} days (a band is paired since {}, nothing in this \
                     window)",
                    day(paired)
                ),
            );
        }
    }
    let reported: Vec<f64> = f.pain.iter().filter_map(|w| w.mean_after_2h).collect();
    if let (Some(first), Some(last)) = (reported.first(), reported.last())
        && last - first >= PAIN_RISE
    {
        add(
            "rising_pain",
            format!(
                "Pain two hours after walks rose from {first:.1} to {last:.1} (weekly mean, 0–10)"
            ),
        );
    }
    // Shares above 100% (more walks than prescribed, e.g. a first week cut short by the day
    // the programme started) count as 100%: going from more than enough to enough is no fall.
    if let (Some(first), Some(last)) = (complete.first(), complete.last())
        && let (Some(a), Some(b)) = (
            first.share.map(|a| a.min(1.0)),
            last.share.map(|b| b.min(1.0)),
        )
        && a - b >= ADHERENCE_FALL
    {
        add(
            "falling_adherence",
            format!(
                "Adherence fell from {} (week of {}) to {} (week of {})",
                percent(Some(a)),
                first.week_start.format("%-d %b"),
                percent(Some(b)),
                last.week_start.format("%-d %b")
            ),
        );
    }
    if let Some(change) = f.sleep.change
        && change <= -f.sleep.meaningful
    {
        add(
            "falling_sleep",
            format!("Sleep fell by {:.0} min a night", -change),
        );
    }
    if let Some(change) = f.steps.change
        && change <= -f.steps.meaningful
    {
        add(
            "falling_steps",
            format!("Daily steps fell by {:.0}", -change),
        );
    }
    for d in f.decisions {
        if let (Decision::Escalate, Some(at)) = (d.decision, d.acknowledged_at) {
            let note = d
                .acknowledgement_note
                .as_deref()
                .map(|n| format!(": “{n}”"))
                .unwrap_or_default();
            add(
                "acknowledged_escalation",
                format!(
                    "Escalation in the week of {} — acknowledged {}{note}",
                    d.week_start.format("%-d %b"),
                    when(f.tz, at)
                ),
            );
        }
    }
    items.sort_by_key(|a| rank(a.code));
    items
}

/// A patient's ranks, most urgent first, ending with a rank after every code.
fn key(items: &[Attention]) -> Vec<usize> {
    let mut ranks: Vec<usize> = items.iter().map(|a| rank(a.code)).collect();
    ranks.sort_unstable();
    ranks.push(usize::MAX);
    ranks
}

/// Which of two patients comes first: `Less` when `a`'s items are more urgent (see the module
/// documentation); `Equal` leaves the order to the caller's tie-break.
pub fn compare(a: &[Attention], b: &[Attention]) -> Ordering {
    key(a).cmp(&key(b))
}

/// Days before `to` that a window of `days` days starts on (the patient list's window).
pub fn window_from(to: NaiveDate, days: u64) -> NaiveDate {
    to.checked_sub_days(Days::new(days.saturating_sub(1)))
        .unwrap_or(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::NewFlare;
    use chrono::TimeZone;

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn utc(m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap()
    }

    fn item(code: &'static str) -> Attention {
        Attention {
            code,
            level: level(code),
            title: title(code),
            message: String::new(),
        }
    }

    fn walk(day: u32, during: Option<i64>, after: Option<i64>) -> WalkRow {
        WalkRow {
            session_id: i64::from(day),
            started_at: utc(11, day, 9),
            ended_at: utc(11, day, 9),
            day: date(11, day),
            walked_s: 600,
            bouts: 1,
            pain_before: Some(2),
            pain_during_max: during,
            pain_after_2h: after,
            pain_next_morning: None,
            next_morning_answered_at: None,
            effort: None,
            verified: None,
        }
    }

    fn week(start: u32, done: u32, prescribed: u32, complete: bool) -> WeekAdherence {
        let a = stepwise_engine::adherence::Adherence { done, prescribed };
        WeekAdherence {
            week_start: date(11, start),
            days_in_window: 7,
            done,
            prescribed,
            share: a.share(),
            adherent: a.is_adherent(),
            complete,
        }
    }

    fn trend() -> Trend {
        Trend {
            unit: "steps/day",
            first_week_mean: None,
            last_week_mean: None,
            change: None,
            meaningful: 700.0,
            flagged: false,
        }
    }

    fn decision(start: u32, decision: Decision, ack: Option<DateTime<Utc>>) -> DecisionRow {
        DecisionRow {
            review_id: i64::from(start),
            week_start: date(11, start),
            decided_at: Utc.with_ymd_and_hms(2026, 11, start + 7, 0, 5, 0).unwrap(),
            rules_version: 1,
            decision,
            previous_interval_s: 300,
            interval_s: 240,
            applied: true,
            reasons: vec![],
            acknowledged_at: ack,
            acknowledgement_note: ack.map(|_| "Phoned: settled with rest".to_string()),
            acknowledged_by: ack.map(|_| 3),
        }
    }

    struct Data {
        open: Vec<DecisionRow>,
        decisions: Vec<DecisionRow>,
        flares: Vec<FlareRecord>,
        walks: Vec<WalkRow>,
        checks: ChecksReport,
        adherence: AdherenceReport,
        band_days: Vec<BandDay>,
        band_paired_on: Option<NaiveDate>,
    }

    fn calm() -> Data {
        Data {
            open: vec![],
            decisions: vec![],
            flares: vec![],
            walks: vec![walk(2, Some(3), Some(3))],
            checks: ChecksReport {
                walks: 1,
                answered: 1,
                missed: 0,
                waiting: 0,
                share: Some(1.0),
            },
            adherence: AdherenceReport {
                weeks: vec![week(2, 5, 5, true), week(9, 1, 5, false)],
                done: 6,
                prescribed: 10,
                share: Some(0.6),
                adherent: false,
            },
            band_days: vec![],
            band_paired_on: None,
        }
    }

    fn run(d: &Data) -> Vec<Attention> {
        let (steps, sleep) = (trend(), trend());
        items(&Facts {
            tz: chrono_tz::Europe::Berlin,
            to: date(11, 10),
            open_escalations: &d.open,
            decisions: &d.decisions,
            flares: &d.flares,
            walks: &d.walks,
            limits: PainLimits {
                during_max: 5,
                after_2h_max: 5,
            },
            checks: &d.checks,
            adherence: &d.adherence,
            pain: &[],
            steps: &steps,
            sleep: &sleep,
            band_days: &d.band_days,
            band_paired_on: d.band_paired_on,
            from: date(10, 12),
        })
    }

    fn codes(items: &[Attention]) -> Vec<&'static str> {
        items.iter().map(|a| a.code).collect()
    }

    #[test]
    fn a_calm_patient_with_a_short_week_in_progress_needs_nothing() {
        // 1 of 5 this week so far: the week is not over, so it is not judged.
        assert_eq!(run(&calm()), vec![]);
    }

    #[test]
    fn every_kind_of_item_in_words_most_urgent_first() {
        let mut d = calm();
        d.open = vec![decision(2, Decision::Escalate, None)];
        d.decisions = vec![decision(2, Decision::Escalate, Some(utc(11, 3, 13)))];
        d.flares = vec![FlareRecord {
            id: 1,
            patient_id: 1,
            reported: NewFlare {
                client_id: "f".into(),
                started_at: utc(11, 4, 17),
                pain: 7,
                notes: None,
            },
            created_at: utc(11, 4, 17),
        }];
        d.walks.push(walk(3, Some(6), Some(2)));
        d.walks.push(walk(5, Some(2), Some(7)));
        d.walks.push(walk(6, Some(5), Some(5))); // at the limits: not over
        d.checks.missed = 2;
        d.checks.answered = 3;
        d.adherence.weeks = vec![week(2, 3, 5, true), week(9, 0, 5, false)];
        d.band_days = vec![BandDay {
            date: date(11, 6),
            steps: 4000,
            minutes_with_data: 600,
            sleep_min: 0,
        }];
        let got = run(&d);
        assert_eq!(
            codes(&got),
            [
                "open_escalation",
                "flares",
                "pain_limit_breaches",
                "missed_two_hour_checks",
                "low_adherence",
                "band_silence",
                "acknowledged_escalation",
            ]
        );
        let messages: Vec<&str> = got.iter().map(|a| a.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Escalation waiting for acknowledgement (week of 2 Nov): automatic changes are paused",
                // 17:00 UTC is 18:00 in Berlin.
                "1 flare reported, the latest Wed 4 Nov 18:00 (pain 7/10)",
                "2 walks over the pain limits (during above 5, or two hours after above 5), the latest on Thu 5 Nov",
                "2 of 5 two-hour pain checks were not answered",
                "3 of 5 prescribed sessions done in the complete weeks (60%), below 80%",
                "No band data for 4 days (the last on Fri 6 Nov)",
                "Escalation in the week of 2 Nov — acknowledged Tue 3 Nov 14:00: “Phoned: settled with rest”",
            ]
        );
        let levels: Vec<&str> = got.iter().map(|a| a.level).collect();
        assert_eq!(
            levels,
            ["urgent", "soon", "soon", "soon", "soon", "soon", "note"]
        );
    }

    #[test]
    fn more_than_prescribed_then_enough_is_no_fall_in_adherence() {
        let mut d = calm();
        // A first week cut short by the start of the programme: 5 walks of 3 prescribed.
        d.adherence.weeks = vec![
            week(2, 5, 3, true),
            week(9, 5, 5, true),
            week(16, 0, 1, false),
        ];
        assert_eq!(run(&d), vec![]);
        // Then 2 of 5 (40%): a fall from 100%; over both weeks 7 of 8, not low.
        d.adherence.weeks[1] = week(9, 2, 5, true);
        assert_eq!(codes(&run(&d)), ["falling_adherence"]);
    }

    #[test]
    fn band_silence_needs_three_days_without_data_after_some() {
        let mut d = calm();
        d.band_days = vec![BandDay {
            date: date(11, 8),
            steps: 0,
            minutes_with_data: 0,
            sleep_min: 420,
        }];
        assert_eq!(run(&d), vec![]); // 2 days: not yet
        d.band_days[0].date = date(11, 7);
        assert_eq!(codes(&run(&d)), ["band_silence"]);
    }

    #[test]
    fn a_paired_band_that_sent_nothing_in_the_window_is_silent() {
        let mut d = calm();
        d.band_paired_on = Some(date(11, 9)); // paired yesterday: not yet
        assert_eq!(run(&d), vec![]);
        d.band_paired_on = Some(date(11, 8)); // three days (8, 9, 10 Nov) without data
        let got = run(&d);
        assert_eq!(codes(&got), ["band_silence"]);
        assert_eq!(
            got[0].message,
            "No band data for 3 days (a band is paired since Sun 8 Nov, nothing in this window)"
        );
        d.band_paired_on = Some(date(9, 1)); // paired long ago: silent since the window began
        assert!(run(&d)[0].message.starts_with("No band data for 30 days"));
    }

    #[test]
    fn patients_are_ordered_by_their_most_urgent_item_then_the_next() {
        let escalated = vec![item("open_escalation")];
        let flare_and_missed = vec![item("missed_two_hour_checks"), item("flares")];
        let flare = vec![item("flares")];
        let missed = vec![item("missed_two_hour_checks")];
        let trend = vec![item("falling_steps"), item("acknowledged_escalation")];
        let nothing: Vec<Attention> = vec![];
        let mut patients = [
            ("Ann", &nothing),
            ("Bob", &trend),
            ("Cy", &missed),
            ("Di", &flare),
            ("Ed", &flare_and_missed),
            ("Flo", &escalated),
        ];
        patients.sort_by(|a, b| compare(a.1, b.1).then(a.0.cmp(b.0)));
        let names: Vec<&str> = patients.iter().map(|p| p.0).collect();
        assert_eq!(names, ["Flo", "Ed", "Di", "Cy", "Bob", "Ann"]);
        assert_eq!(compare(&flare, &flare.clone()), Ordering::Equal);
    }
}
