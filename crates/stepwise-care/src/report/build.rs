//! Computing a report: [`build`] turns a patient's data for a window ([`Inputs`], which the
//! server loads from the store) into a [`Report`] with the engine's adherence maths — a pure
//! function, so the figures can be checked against a hand-computed fixture.
//!
//! Definitions (all dates are the patient's local dates):
//! - **Prescribed sessions** of a week are `sessions_per_week` of the current plan, pro-rated
//!   to the days of the week inside the window on which the patient was in the programme (from
//!   the day they joined, or their first walk logged from before that):
//!   `round(per_week × days / 7)`, halves up. A session is **done** when
//!   it has walked time.
//! - **Band-data days** count days with any minute or sleep data, per 30-day period ending on
//!   the window's last day (the remote-monitoring billing figure), the oldest period clipped to
//!   the window.
//! - **Trends** compare the mean of the window's first 7 days with its last 7 days (days with
//!   data only); a change of at least 700 steps/day or 30 min of sleep is flagged.
//! - **Rising pain**: the last week's mean pain two hours after is at least 1 point above the
//!   first week's. **Falling adherence**: the last complete week with sessions prescribed is at
//!   least 20 points below the first.
//! - **Two-hour checks** count as missed only once their time has passed unanswered (see
//!   [`ChecksReport`]); a week is **complete** once it has ended (local time) — only complete
//!   weeks raise adherence attention items.
//! - **Moderate-to-vigorous activity** of a week (the exercise vital signs of the FHIR
//!   export) is the walks logged with walked time, band-verified or not, over the complete
//!   weeks wholly inside the window: a walk counts as done for adherence on the patient's word,
//!   and the vital signs are the patient's own account of their activity too. Nothing else the
//!   patient does is known, so these are the prescribed walking only.
//! - **Attention** items and their order come from [`attention`].

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use stepwise_engine::adherence::{Adherence, Verification, answered_share, days_with_data};
use stepwise_engine::{Decision, Reader, Rules};

use super::attention;
use super::model::*;
use crate::calendar::{day_start, local_day, monday_of};
use crate::questionnaires::{self, ResponseRecord};
use crate::records::{
    BandDay, Device, DeviceDay, FlareRecord, OutcomeRecord, Patient, PlanChange, ReviewRecord,
    SessionRecord,
};
use crate::words::reason_texts;
use stepwise_engine::checks::{CHECK_LISTED_FOR, TWO_HOUR_CHECK_OPENS};
use stepwise_engine::exact_duration;

/// A meaningful change in daily steps (steps/day).
pub const STEPS_MEANINGFUL: f64 = 700.0;
/// A meaningful change in nightly sleep (minutes).
pub const SLEEP_MEANINGFUL: f64 = 30.0;
/// Length of a remote-monitoring period, days: the engine's data window.
pub const PERIOD_DAYS: u64 = stepwise_engine::adherence::DATA_WINDOW_DAYS;

/// Everything a report is computed from.
pub struct Inputs {
    /// The patient (plan and next visit included).
    pub patient: Patient,
    /// Their time zone.
    pub tz: Tz,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date.
    pub to: NaiveDate,
    /// When the report is made.
    pub now: DateTime<Utc>,
    /// Walks that started in the window, oldest first.
    pub sessions: Vec<SessionRecord>,
    /// Band verification of each walk, in the same order; `None` when not computed (the
    /// clinic view's headline figures skip it).
    pub verifications: Option<Vec<Verification>>,
    /// Flares in the window.
    pub flares: Vec<FlareRecord>,
    /// The whole plan history, oldest first.
    pub plan_history: Vec<PlanChange>,
    /// The weekly reviews of the report's weeks and every unacknowledged escalation, oldest
    /// first (`reviews_for_report`); others are ignored.
    pub reviews: Vec<ReviewRecord>,
    /// Band data per day in the window.
    pub band_days: Vec<BandDay>,
    /// When the patient's first band still paired was paired.
    pub band_paired_at: Option<DateTime<Utc>>,
    /// The patient's devices, in pairing order.
    pub devices: Vec<Device>,
    /// Which device gave what to each day in the window (`device_days`).
    pub device_days: Vec<DeviceDay>,
    /// Every outcome measure, by date.
    pub outcomes: Vec<OutcomeRecord>,
    /// The rules in force (their pain limits).
    pub rules: Rules,
    /// Every questionnaire response of the patient, in any order.
    pub questionnaire_responses: Vec<ResponseRecord>,
}

/// Computes the report (pure).
pub fn build(inputs: Inputs) -> Report {
    let Inputs {
        patient,
        tz,
        from,
        to,
        now,
        sessions,
        verifications,
        flares,
        plan_history,
        reviews,
        band_days,
        band_paired_at,
        devices,
        device_days,
        outcomes,
        rules,
        questionnaire_responses,
    } = inputs;
    let walks: Vec<WalkRow> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| WalkRow {
            session_id: s.id,
            started_at: s.logged.started_at,
            ended_at: s.logged.ended_at,
            day: local_day(tz, s.logged.started_at),
            walked_s: s.logged.walked_s,
            bouts: s.logged.bouts,
            pain_before: s.logged.pain_before,
            pain_during_max: s.logged.pain_during_max,
            pain_after_2h: s.pain_after_2h,
            pain_next_morning: s.pain_next_morning,
            next_morning_answered_at: s.next_morning_answered_at,
            effort: s.logged.effort,
            verified: verifications
                .as_ref()
                .and_then(|v| v.get(i))
                .and_then(|v| v.as_verified()),
        })
        .collect();
    let weeks = week_starts(from, to);
    // Walks may be logged up to two weeks late, even from before the account existed: the
    // programme starts with the first of either.
    let joined = local_day(tz, patient.created_at);
    let started = walks.iter().map(|w| w.day).fold(joined, NaiveDate::min);
    let adherence = adherence(
        &weeks,
        (from.max(started), to),
        local_day(tz, now),
        patient.plan.sessions_per_week,
        &walks,
    );
    let verification = verification(verifications.as_deref());
    let two_hour_checks = checks(&walks, now);
    let pain_weeks = pain_weeks(&weeks, &walks);
    let activity_weeks = activity_weeks(&weeks, (from, to), local_day(tz, now), &walks);
    let band_data_periods = data_periods(from, to, &band_days);
    let steps_trend = trend(&band_days, from, to, "steps/day", STEPS_MEANINGFUL, |d| {
        (d.minutes_with_data > 0).then_some(d.steps as f64)
    });
    let sleep_trend = trend(&band_days, from, to, "min/night", SLEEP_MEANINGFUL, |d| {
        (d.sleep_min > 0).then_some(d.sleep_min as f64)
    });
    let interval = interval(&plan_history, &patient, tz, from, to);
    let decisions: Vec<DecisionRow> = reviews
        .iter()
        .filter(|r| r.week_start >= monday_of(from) && r.week_start <= to)
        .map(decision_row)
        .collect();
    let open_escalations: Vec<DecisionRow> = reviews
        .iter()
        .filter(|r| r.output.decision == Decision::Escalate && r.acknowledged_at.is_none())
        .map(decision_row)
        .collect();
    let outcomes = outcome_trends(&outcomes, to);
    let devices = devices_used(&devices, &device_days);
    let limits = PainLimits {
        during_max: rules.pain_during_max,
        after_2h_max: rules.pain_after_2h_max,
    };
    let attention = attention::items(&attention::Facts {
        tz,
        to,
        open_escalations: &open_escalations,
        decisions: &decisions,
        flares: &flares,
        walks: &walks,
        limits,
        checks: &two_hour_checks,
        adherence: &adherence,
        pain: &pain_weeks,
        steps: &steps_trend,
        sleep: &sleep_trend,
        band_days: &band_days,
        band_paired_on: band_paired_at.map(|at| local_day(tz, at)),
        from,
    });
    let summary = summary(
        &patient.display_name,
        (from, to),
        &adherence,
        &verification,
        &two_hour_checks,
        &interval,
        attention.len(),
    );
    Report {
        patient: ReportPatient {
            id: patient.id,
            display_name: patient.display_name.clone(),
            timezone: patient.timezone.clone(),
            next_visit: patient.next_visit,
        },
        from,
        to,
        generated_at: now,
        summary,
        attention,
        adherence,
        verification,
        band_data_periods,
        two_hour_checks,
        walks,
        pain_weeks,
        flares,
        interval,
        plan: patient.plan,
        limits,
        decisions,
        daily: band_days,
        activity_weeks,
        devices,
        device_days,
        steps_trend,
        sleep_trend,
        open_escalations,
        outcomes,
        questionnaires: questionnaires::series(tz, &questionnaire_responses),
    }
}

/// Mondays of the weeks overlapping `[from, to]`.
fn week_starts(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut weeks = Vec::new();
    let mut week = monday_of(from);
    while week <= to {
        weeks.push(week);
        week = week + Days::new(7);
    }
    weeks
}

fn in_week(day: NaiveDate, week: NaiveDate) -> bool {
    day >= week && day < week + Days::new(7)
}

fn adherence(
    weeks: &[NaiveDate],
    (from, to): (NaiveDate, NaiveDate),
    today: NaiveDate,
    per_week: i64,
    walks: &[WalkRow],
) -> AdherenceReport {
    let per_week = u32::try_from(per_week).unwrap_or(0);
    let rows: Vec<WeekAdherence> = weeks
        .iter()
        .map(|&week| {
            let first = week.max(from);
            let last = (week + Days::new(6)).min(to);
            let days_in_window = u32::try_from((last - first).num_days() + 1).unwrap_or(0);
            // round(per_week * days / 7), halves up, in integers.
            let prescribed = (per_week * days_in_window * 2 + 7) / 14;
            let done = walks
                .iter()
                .filter(|w| w.walked_s > 0 && in_week(w.day, week))
                .count() as u32;
            let a = Adherence { done, prescribed };
            WeekAdherence {
                week_start: week,
                days_in_window,
                done,
                prescribed,
                share: a.share(),
                adherent: a.is_adherent(),
                complete: week + Days::new(7) <= today,
            }
        })
        .collect();
    let total = rows.iter().fold(
        Adherence {
            done: 0,
            prescribed: 0,
        },
        |sum, w| {
            sum + Adherence {
                done: w.done,
                prescribed: w.prescribed,
            }
        },
    );
    AdherenceReport {
        weeks: rows,
        done: total.done,
        prescribed: total.prescribed,
        share: total.share(),
        adherent: total.is_adherent(),
    }
}

fn verification(verifications: Option<&[Verification]>) -> VerificationReport {
    let all = verifications.unwrap_or(&[]);
    let count = |v: Verification| all.iter().filter(|x| **x == v).count() as u32;
    let walks = all.len() as u32;
    let verified = count(Verification::Verified);
    VerificationReport {
        walks,
        verified,
        not_verified: count(Verification::NotVerified),
        no_data: count(Verification::NoData),
        share: answered_share(verified, walks),
    }
}

fn checks(walks: &[WalkRow], now: DateTime<Utc>) -> ChecksReport {
    let count = walks.len() as u32;
    let answered = walks.iter().filter(|w| w.pain_after_2h.is_some()).count() as u32;
    let missed = walks
        .iter()
        .filter(|w| {
            w.pain_after_2h.is_none() && w.ended_at + TWO_HOUR_CHECK_OPENS + CHECK_LISTED_FOR <= now
        })
        .count() as u32;
    ChecksReport {
        walks: count,
        answered,
        missed,
        waiting: count - answered - missed,
        share: answered_share(answered, answered + missed),
    }
}

/// The complete weeks wholly inside `[from, to]` that ended by `today`, with their walks.
fn activity_weeks(
    weeks: &[NaiveDate],
    (from, to): (NaiveDate, NaiveDate),
    today: NaiveDate,
    walks: &[WalkRow],
) -> Vec<ActivityWeek> {
    weeks
        .iter()
        .filter(|&&week| week >= from && week + Days::new(6) <= to && week + Days::new(7) <= today)
        .map(|&week| {
            let walked: Vec<&WalkRow> = walks
                .iter()
                .filter(|w| w.walked_s > 0 && in_week(w.day, week))
                .collect();
            let mut days: Vec<NaiveDate> = walked.iter().map(|w| w.day).collect();
            days.sort();
            days.dedup();
            ActivityWeek {
                week_start: week,
                active_days: days.len() as u32,
                walked_s: walked.iter().map(|w| w.walked_s).sum(),
                sessions: walked.iter().map(|w| w.session_id).collect(),
            }
        })
        .collect()
}

fn mean(values: impl Iterator<Item = i64>) -> Option<f64> {
    let (sum, n) = values.fold((0i64, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum as f64 / f64::from(n))
}

fn pain_weeks(weeks: &[NaiveDate], walks: &[WalkRow]) -> Vec<PainWeek> {
    weeks
        .iter()
        .map(|&week| {
            let of_week = || walks.iter().filter(move |w| in_week(w.day, week));
            PainWeek {
                week_start: week,
                mean_before: mean(of_week().filter_map(|w| w.pain_before)),
                mean_after_2h: mean(of_week().filter_map(|w| w.pain_after_2h)),
            }
        })
        .collect()
}

fn data_periods(from: NaiveDate, to: NaiveDate, days: &[BandDay]) -> Vec<DataPeriod> {
    let with_data: Vec<NaiveDate> = days
        .iter()
        .filter(|d| d.has_data())
        .map(|d| d.date)
        .collect();
    let mut periods = Vec::new();
    let mut last = to;
    loop {
        let first = last
            .checked_sub_days(Days::new(PERIOD_DAYS - 1))
            .unwrap_or(NaiveDate::MIN);
        let in_window: Vec<NaiveDate> = with_data.iter().copied().filter(|d| *d >= from).collect();
        periods.push(DataPeriod {
            from: first.max(from),
            to: last,
            days: days_with_data(in_window, last),
        });
        if first <= from {
            break;
        }
        last = first - Days::new(1);
    }
    periods.reverse();
    periods
}

fn trend(
    days: &[BandDay],
    from: NaiveDate,
    to: NaiveDate,
    unit: &'static str,
    meaningful: f64,
    value: impl Fn(&BandDay) -> Option<f64>,
) -> Trend {
    let mean_of = |first: NaiveDate, last: NaiveDate| {
        let values: Vec<f64> = days
            .iter()
            .filter(|d| d.date >= first && d.date <= last)
            .filter_map(&value)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let first_week_mean = mean_of(from, from + Days::new(6));
    let last_week_mean = mean_of(to - Days::new(6), to);
    let change = first_week_mean
        .zip(last_week_mean)
        .map(|(first, last)| last - first);
    Trend {
        unit,
        first_week_mean,
        last_week_mean,
        change,
        meaningful,
        flagged: change.is_some_and(|c| c.abs() >= meaningful),
    }
}

fn interval(
    history: &[PlanChange],
    patient: &Patient,
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> IntervalReport {
    let (start, end) = (day_start(tz, from), day_start(tz, to + Days::new(1)));
    // The interval in force at an instant: the last change before it, or else the interval
    // the first change started from, or else the plan as it is now.
    let at = |instant: DateTime<Utc>| {
        history
            .iter()
            .rev()
            .find(|c| c.at < instant)
            .map(|c| c.to_interval_s)
            .or_else(|| history.first().map(|c| c.from_interval_s))
            .unwrap_or(patient.plan.interval_s)
    };
    IntervalReport {
        start_s: at(start),
        end_s: at(end),
        changes: history
            .iter()
            .filter(|c| c.at >= start && c.at < end)
            .cloned()
            .collect(),
    }
}

/// The devices that gave data to some day of the window.
fn devices_used(devices: &[Device], days: &[DeviceDay]) -> Vec<ReportDevice> {
    devices
        .iter()
        .filter(|d| days.iter().any(|day| day.device_id == d.id))
        .map(|d| ReportDevice {
            id: d.id,
            kind: d.kind.clone(),
            name: d.name.clone(),
            address: d.address.clone(),
            imported: d.imported,
            paired_at: d.paired_at,
            removed_at: d.revoked_at,
        })
        .collect()
}

fn decision_row(r: &ReviewRecord) -> DecisionRow {
    DecisionRow {
        review_id: r.id,
        week_start: r.week_start,
        decided_at: r.created_at,
        rules_version: r.rules_version,
        decision: r.output.decision,
        previous_interval_s: r.output.previous_interval_s,
        interval_s: r.output.interval_s,
        applied: r.applied,
        reasons: reason_texts(r, Reader::Therapist),
        acknowledged_at: r.acknowledged_at,
        acknowledgement_note: r.acknowledgement_note.clone(),
        acknowledged_by: r.acknowledged_by,
    }
}

fn outcome_trends(outcomes: &[OutcomeRecord], to: NaiveDate) -> Vec<OutcomeTrend> {
    let mut by_kind: BTreeMap<&'static str, Vec<&OutcomeRecord>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.measure.measured_on <= to) {
        by_kind.entry(o.measure.kind.as_str()).or_default().push(o);
    }
    by_kind
        .into_values()
        .filter_map(|list| {
            let first = list.first()?;
            let latest = list.last()?;
            Some(OutcomeTrend {
                kind: first.measure.kind.as_str().to_string(),
                unit: first.measure.kind.unit(),
                first: (first.measure.measured_on, first.measure.value),
                latest: (latest.measure.measured_on, latest.measure.value),
                change: latest.measure.value - first.measure.value,
            })
        })
        .collect()
}

fn summary(
    name: &str,
    (from, to): (NaiveDate, NaiveDate),
    adherence: &AdherenceReport,
    verification: &VerificationReport,
    checks: &ChecksReport,
    interval: &IntervalReport,
    attention: usize,
) -> String {
    let mut text = format!(
        "From {} to {}, {name} did {} of {} prescribed walks ({}).",
        from.format("%-d %b %Y"),
        to.format("%-d %b %Y"),
        adherence.done,
        adherence.prescribed,
        percent(adherence.share)
    );
    if verification.walks > 0 {
        text.push_str(&format!(
            " The band confirmed {} of {} walks.",
            verification.verified, verification.walks
        ));
    }
    let due = checks.answered + checks.missed;
    if due > 0 {
        text.push_str(&format!(
            " {} of {due} two-hour pain checks were answered.",
            checks.answered
        ));
    }
    if checks.waiting > 0 {
        text.push_str(&format!(
            " {} not due or still open.",
            match checks.waiting {
                1 => "1 more check is".to_string(),
                n => format!("{n} more checks are"),
            }
        ));
    }
    text.push_str(&if interval.start_s == interval.end_s {
        format!(
            " The walking interval stayed at {}.",
            exact_duration(interval.end_s)
        )
    } else {
        format!(
            " The walking interval went from {} to {}.",
            exact_duration(interval.start_s),
            exact_duration(interval.end_s)
        )
    });
    text.push_str(&match attention {
        0 => " Nothing needs attention.".to_string(),
        1 => " 1 item needs attention.".to_string(),
        n => format!(" {n} items need attention."),
    });
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Id;
    use chrono::TimeZone;

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn walk(session_id: Id, day: NaiveDate, walked_s: i64) -> WalkRow {
        let started_at = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap());
        WalkRow {
            session_id,
            started_at,
            ended_at: started_at + chrono::Duration::seconds(walked_s),
            day,
            walked_s,
            bouts: 2,
            pain_before: None,
            pain_during_max: None,
            pain_after_2h: None,
            pain_next_morning: None,
            next_morning_answered_at: None,
            effort: None,
            verified: None,
        }
    }

    #[test]
    fn activity_weeks_are_the_complete_weeks_inside_the_window() {
        let (from, to) = (date(10, 1), date(10, 18));
        let weeks = week_starts(from, to);
        let walks = [
            walk(1, date(9, 30), 600),  // the week of 28 Sep starts before the window
            walk(2, date(10, 5), 600),  // Monday
            walk(3, date(10, 5), 300),  // the same day again
            walk(4, date(10, 8), 0),    // started, nothing walked: not activity
            walk(5, date(10, 11), 900), // Sunday, unverified (no band): counts
            walk(6, date(10, 12), 600),
        ];
        let before_end = activity_weeks(&weeks, (from, to), date(10, 18), &walks);
        let after_end = activity_weeks(&weeks, (from, to), date(10, 19), &walks);
        let week_of_5th = ActivityWeek {
            week_start: date(10, 5),
            active_days: 2,
            walked_s: 1800,
            sessions: vec![2, 3, 5],
        };
        // The week of the 12th counts once it has ended.
        assert_eq!(before_end, std::slice::from_ref(&week_of_5th));
        assert_eq!(
            after_end,
            [
                week_of_5th,
                ActivityWeek {
                    week_start: date(10, 12),
                    active_days: 1,
                    walked_s: 600,
                    sessions: vec![6],
                }
            ]
        );
        // A window ending mid-week leaves that week out.
        assert!(activity_weeks(&weeks, (from, date(10, 10)), date(11, 1), &walks).is_empty());
    }
}
