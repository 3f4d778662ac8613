//! Walk verification over band minutes handed in: the server loads the minutes of a set of
//! walks' windows in one query ([`window`] says which) and asks here whether the band confirms
//! each walk (the engine's [`verify_walk`]).

use chrono::{DateTime, TimeDelta, Utc};
use stepwise_engine::adherence::{MinuteSteps, Verification, verify_walk};

use crate::records::{SessionRecord, StepSample};

/// The band minutes that can confirm a walk: `[start − 1 min, end)`, so the minute the walk
/// began in is read even when the walk began part-way through it.
pub fn window(session: &SessionRecord) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        session.logged.started_at - TimeDelta::minutes(1),
        session.logged.ended_at,
    )
}

/// Verifies each walk against `minutes` (sorted by minute, as the store returns them; any
/// range — each walk reads only its [`window`]). Minutes the collector estimated (a count
/// spread over a span) are not walking the band saw: they never verify a walk.
pub fn verify(sessions: &[SessionRecord], minutes: &[StepSample]) -> Vec<Verification> {
    sessions
        .iter()
        .map(|session| {
            let (from, to) = window(session);
            let first = minutes.partition_point(|m| m.minute < from);
            let end = first + minutes[first..].partition_point(|m| m.minute < to);
            let seen: Vec<MinuteSteps> = minutes[first..end]
                .iter()
                .filter(|m| !m.estimated)
                .map(|m| MinuteSteps {
                    minute: m.minute,
                    steps: u32::try_from(m.steps).unwrap_or(0),
                })
                .collect();
            verify_walk(
                session.logged.started_at,
                session.logged.ended_at,
                session.logged.walked_s,
                &seen,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::NewSession;
    use chrono::TimeZone;
    use stepwise_engine::adherence::WALKING_CADENCE;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 16, h, m, s).unwrap()
    }

    fn walk(id: i64, start: DateTime<Utc>, minutes: i64) -> SessionRecord {
        SessionRecord {
            id,
            patient_id: 1,
            logged: NewSession {
                client_id: format!("w{id}"),
                started_at: start,
                ended_at: start + TimeDelta::minutes(minutes),
                walked_s: minutes * 60,
                bouts: 1,
                pain_before: None,
                pain_during_max: None,
                effort: None,
                rest_type: None,
                notes: None,
            },
            pain_after_2h: None,
            answered_at: None,
            pain_next_morning: None,
            next_morning_answered_at: None,
            created_at: start,
            withdrawn_at: None,
        }
    }

    fn minute(at: DateTime<Utc>, steps: i64, estimated: bool) -> StepSample {
        StepSample {
            minute: at,
            steps,
            heart_rate: None,
            estimated,
        }
    }

    const BRISK: i64 = WALKING_CADENCE as i64 + 40;

    #[test]
    fn the_window_starts_a_minute_early_so_a_walk_begun_mid_minute_reads_that_minute() {
        let w = walk(1, at(9, 0, 30), 4);
        assert_eq!(window(&w), (at(8, 59, 30), at(9, 4, 30)));
        // Walking in the minutes 9:00 and 9:01 only: half of the four minutes walked, enough
        // only when the minute 9:00 the walk began in is read.
        let minutes: Vec<_> = (0..2).map(|m| minute(at(9, m, 0), BRISK, false)).collect();
        assert_eq!(verify(&[w], &minutes), [Verification::Verified]);
    }

    #[test]
    fn each_walk_reads_only_its_own_minutes_from_one_list() {
        let morning = walk(1, at(9, 0, 0), 4);
        let evening = walk(2, at(18, 0, 0), 4);
        let unseen = walk(3, at(21, 0, 0), 4);
        let mut minutes: Vec<_> = (0..4).map(|m| minute(at(9, m, 0), BRISK, false)).collect();
        // Evening: the band saw the patient sitting (a few steps a minute).
        minutes.extend((0..4).map(|m| minute(at(18, m, 0), 3, false)));
        assert_eq!(
            verify(&[morning, evening, unseen], &minutes),
            [
                Verification::Verified,
                Verification::NotVerified,
                Verification::NoData
            ]
        );
    }

    #[test]
    fn estimated_minutes_never_verify_a_walk() {
        let w = walk(1, at(9, 0, 0), 4);
        let estimated: Vec<_> = (0..4).map(|m| minute(at(9, m, 0), BRISK, true)).collect();
        assert_eq!(verify(&[w], &estimated), [Verification::NoData]);
    }

    #[test]
    fn no_walks_no_answers() {
        assert!(verify(&[], &[minute(at(9, 0, 0), BRISK, false)]).is_empty());
    }
}
