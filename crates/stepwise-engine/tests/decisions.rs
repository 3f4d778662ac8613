//! One test per decision and per reason code, on small hand-made weeks.

use chrono::NaiveDate;
use serde_json::Value;
use stepwise_engine::{
    Decision, FlareReport, Plan, ReasonCode, Review, Rules, SessionReport, WeekEvidence, review,
};

const PLAN: Plan = Plan {
    interval_s: 600,
    bouts: 1,
    rest_s: 0,
    sessions_per_week: 5,
};

/// A comfortable session: pain 2 before, 3 during, 2 two hours after, band-verified.
fn easy(day: u32) -> SessionReport {
    SessionReport {
        day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        walked_s: 1200,
        pain_before: Some(2),
        pain_during_max: Some(3),
        pain_after_2h: Some(2),
        pain_next_morning: None,
        effort: Some(4),
        verified: Some(true),
    }
}

fn week(sessions: Vec<SessionReport>) -> WeekEvidence {
    WeekEvidence {
        sessions,
        flares: Vec::new(),
    }
}

fn run(rules: &Rules, sessions: Vec<SessionReport>, history: &[Decision]) -> Review {
    review(rules, &PLAN, &week(sessions), history).unwrap()
}

fn codes(review: &Review) -> Vec<ReasonCode> {
    review.reasons.iter().map(|r| r.code).collect()
}

fn three_easy() -> Vec<SessionReport> {
    vec![easy(16), easy(18), easy(20)]
}

#[test]
fn clean_week_advances_by_increase_pct() {
    let r = run(&Rules::default(), three_easy(), &[]);
    assert_eq!(r.decision, Decision::Advance);
    assert_eq!(r.interval_s, 660);
    assert_eq!(r.previous_interval_s, 600);
    assert_eq!(r.change_pct, 10.0);
    assert_eq!(codes(&r), [ReasonCode::WithinLimits]);
    assert_eq!(
        r.reasons[0].message,
        "3 of 3 sessions reported pain two hours after within limits"
    );
}

#[test]
fn advance_uses_the_therapists_increase() {
    let rules = Rules {
        increase_pct: 20,
        ..Rules::default()
    };
    let r = run(&rules, three_easy(), &[]);
    assert_eq!(
        (r.decision, r.interval_s, r.change_pct),
        (Decision::Advance, 720, 20.0)
    );
}

#[test]
fn advance_is_capped_at_the_ceiling() {
    let rules = Rules {
        max_interval_s: 630,
        ..Rules::default()
    };
    let r = run(&rules, three_easy(), &[]);
    assert_eq!(
        (r.decision, r.interval_s, r.change_pct),
        (Decision::Advance, 630, 5.0)
    );
}

#[test]
fn one_breach_holds() {
    let mut sessions = three_easy();
    sessions[1].pain_after_2h = Some(6);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(r.interval_s, 600);
    assert_eq!(r.change_pct, 0.0);
    assert_eq!(
        codes(&r),
        [
            ReasonCode::PainAfter2hOverMax,
            ReasonCode::PainAfter2hRiseOverMax
        ]
    );
    assert_eq!(
        r.reasons[0].message,
        "Pain two hours after the walk was above 5/10 on Wed 18 Nov"
    );
}

#[test]
fn two_breaches_regress() {
    let mut sessions = three_easy();
    sessions[0].pain_during_max = Some(6);
    sessions[2].pain_during_max = Some(7);
    let r = run(&Rules::default(), sessions, &[Decision::Advance]);
    assert_eq!(r.decision, Decision::Regress);
    assert_eq!(r.interval_s, 480);
    assert_eq!(r.change_pct, -20.0);
    assert_eq!(
        codes(&r),
        [ReasonCode::RepeatedBreaches, ReasonCode::PainDuringOverMax]
    );
    assert_eq!(
        r.reasons[1].message,
        "Pain during the walk went above 5/10 on Mon 16 Nov and Fri 20 Nov"
    );
}

#[test]
fn regress_never_goes_below_the_floor() {
    let rules = Rules {
        min_interval_s: 550,
        ..Rules::default()
    };
    let mut sessions = three_easy();
    sessions[0].pain_after_2h = Some(6);
    sessions[1].pain_after_2h = Some(6);
    let r = run(&rules, sessions, &[]);
    assert_eq!((r.decision, r.interval_s), (Decision::Regress, 550));
}

#[test]
fn two_breaches_in_one_session_count_once() {
    let mut sessions = three_easy();
    sessions[0].pain_during_max = Some(6);
    sessions[0].pain_after_2h = Some(6);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
}

#[test]
fn missing_two_hour_answer_holds() {
    let mut sessions = three_easy();
    sessions.push(easy(22));
    sessions[3].pain_after_2h = None;
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(r.interval_s, 600);
    assert_eq!(codes(&r), [ReasonCode::MissingPainAfter2h]);
    assert!(r.reasons[0].message.contains("Sun 22 Nov"));
}

#[test]
fn rise_rule_breaches_under_the_absolute_limit() {
    // Pain before 1, two hours after 4: under the maximum of 5, but a rise of 3 > 2.
    let mut sessions = three_easy();
    sessions[0].pain_before = Some(1);
    sessions[0].pain_after_2h = Some(4);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::PainAfter2hRiseOverMax]);
    assert_eq!(
        r.reasons[0].message,
        "Pain two hours after the walk was more than 2 points above your pain before it on Mon 16 Nov"
    );
}

#[test]
fn rise_rule_needs_both_scores() {
    let mut sessions = three_easy();
    sessions[0].pain_before = None;
    sessions[0].pain_after_2h = Some(5);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Advance);
}

#[test]
fn strict_two_hour_rule_with_zero_rise() {
    let rules = Rules {
        pain_after_2h_rise_max: 0,
        ..Rules::default()
    };
    let mut sessions = three_easy();
    sessions[0].pain_after_2h = Some(3); // before 2
    let r = run(&rules, sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::PainAfter2hRiseOverMax]);
}

#[test]
fn red_flag_pain_escalates_and_regresses_protectively() {
    let mut sessions = three_easy();
    sessions[2].pain_during_max = Some(8);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Escalate);
    assert_eq!(r.interval_s, 480);
    assert!(r.needs_therapist());
    assert_eq!(
        codes(&r),
        [ReasonCode::RedFlagPain, ReasonCode::PainDuringOverMax]
    );
    assert!(
        r.reasons[0]
            .message
            .starts_with("Pain of 8/10 was reported on Fri 20 Nov")
    );
}

#[test]
fn red_flag_from_pain_before_alone_escalates() {
    let mut sessions = three_easy();
    sessions[0].pain_before = Some(9);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Escalate);
    assert_eq!(
        codes(&r),
        [ReasonCode::RedFlagPain, ReasonCode::WithinLimits]
    );
}

#[test]
fn effort_is_not_pain() {
    let mut sessions = three_easy();
    sessions[0].effort = Some(10);
    assert_eq!(
        run(&Rules::default(), sessions, &[]).decision,
        Decision::Advance
    );
}

#[test]
fn regress_after_regress_escalates() {
    let mut sessions = three_easy();
    sessions[0].pain_after_2h = Some(6);
    sessions[1].pain_after_2h = Some(6);
    let r = run(
        &Rules::default(),
        sessions,
        &[Decision::Hold, Decision::Regress],
    );
    assert_eq!(r.decision, Decision::Escalate);
    assert_eq!(r.interval_s, 480);
    assert_eq!(
        codes(&r),
        [
            ReasonCode::RepeatedRegress,
            ReasonCode::RepeatedBreaches,
            ReasonCode::PainAfter2hOverMax,
            ReasonCode::PainAfter2hRiseOverMax,
        ]
    );
}

#[test]
fn regress_after_an_older_regress_is_only_a_regress() {
    let mut sessions = three_easy();
    sessions[0].pain_after_2h = Some(6);
    sessions[1].pain_after_2h = Some(6);
    let r = run(
        &Rules::default(),
        sessions,
        &[Decision::Regress, Decision::Hold],
    );
    assert_eq!(r.decision, Decision::Regress);
}

#[test]
fn at_the_ceiling_holds() {
    let rules = Rules {
        max_interval_s: 600,
        ..Rules::default()
    };
    let r = run(&rules, three_easy(), &[]);
    assert_eq!((r.decision, r.interval_s), (Decision::Hold, 600));
    assert_eq!(
        codes(&r),
        [ReasonCode::AtMaxInterval, ReasonCode::WithinLimits]
    );
}

#[test]
fn too_few_sessions_hold() {
    let r = run(&Rules::default(), vec![easy(16), easy(18)], &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(
        codes(&r),
        [ReasonCode::TooFewSessions, ReasonCode::WithinLimits]
    );
    assert_eq!(
        r.reasons[0].message,
        "2 of the 3 sessions needed for a longer walk were done"
    );
}

#[test]
fn sessions_without_walking_do_not_count() {
    let mut sessions = three_easy();
    sessions[2].walked_s = 0;
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r)[0], ReasonCode::TooFewSessions);
}

#[test]
fn empty_week_holds_with_too_few_sessions_only() {
    let r = run(&Rules::default(), vec![], &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::TooFewSessions]);
}

#[test]
fn unverified_sessions_do_not_count_when_required() {
    let rules = Rules {
        require_verified: true,
        ..Rules::default()
    };
    let mut sessions = three_easy();
    sessions[1].verified = None;
    sessions[2].verified = Some(false);
    let r = run(&rules, sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(
        codes(&r),
        [
            ReasonCode::TooFewSessions,
            ReasonCode::UnverifiedSessions,
            ReasonCode::WithinLimits
        ]
    );
    assert_eq!(
        r.reasons[0].message,
        "1 of the 3 band-confirmed sessions needed for a longer walk were done"
    );
    assert_eq!(
        r.reasons[1].message,
        "The band did not confirm the walk on Wed 18 Nov and Fri 20 Nov, so they do not count this week"
    );
}

#[test]
fn unverified_sessions_count_when_not_required() {
    let mut sessions = three_easy();
    sessions[1].verified = None;
    sessions[2].verified = Some(false);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Advance);
    assert_eq!(codes(&r), [ReasonCode::WithinLimits]);
}

#[test]
fn every_applicable_reason_is_listed() {
    let rules = Rules {
        require_verified: true,
        max_interval_s: 600,
        ..Rules::default()
    };
    let mut sessions = vec![easy(16), easy(17), easy(18)];
    sessions[0].pain_after_2h = Some(9); // over max, rise, red flag
    sessions[1].pain_during_max = Some(6);
    sessions[2].pain_after_2h = None;
    sessions[2].verified = Some(false);
    let r = run(&rules, sessions, &[Decision::Regress]);
    assert_eq!(r.decision, Decision::Escalate);
    assert_eq!(
        codes(&r),
        [
            ReasonCode::RedFlagPain,
            ReasonCode::RepeatedRegress,
            ReasonCode::RepeatedBreaches,
            ReasonCode::PainAfter2hOverMax,
            ReasonCode::PainAfter2hRiseOverMax,
            ReasonCode::PainDuringOverMax,
            ReasonCode::MissingPainAfter2h,
            ReasonCode::TooFewSessions,
            ReasonCode::UnverifiedSessions,
            ReasonCode::AtMaxInterval,
        ]
    );
}

#[test]
fn invalid_rules_are_refused_with_the_field() {
    let rules = Rules {
        regress_pct: 60,
        ..Rules::default()
    };
    let err = review(&rules, &PLAN, &week(three_easy()), &[]).unwrap_err();
    assert_eq!(err.to_string(), "rules.regress_pct = 60 is outside 5..=50");
}

#[test]
fn invalid_session_is_refused_with_its_index() {
    let mut sessions = three_easy();
    sessions[2].walked_s = -5;
    let err = review(&Rules::default(), &PLAN, &week(sessions), &[]).unwrap_err();
    assert_eq!(err.field, "week.sessions[2].walked_s");
}

#[test]
fn reason_codes_serialise_as_the_contract_names_them() {
    let names: Vec<String> = [
        ReasonCode::WithinLimits,
        ReasonCode::PainAfter2hOverMax,
        ReasonCode::PainAfter2hRiseOverMax,
        ReasonCode::PainDuringOverMax,
        ReasonCode::MissingPainAfter2h,
        ReasonCode::TooFewSessions,
        ReasonCode::UnverifiedSessions,
        ReasonCode::AtMaxInterval,
        ReasonCode::RepeatedBreaches,
        ReasonCode::RedFlagPain,
        ReasonCode::RepeatedRegress,
    ]
    .iter()
    .map(|c| {
        serde_json::to_value(c)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    })
    .collect();
    assert_eq!(
        names,
        [
            "within_limits",
            "pain_after_2h_over_max",
            "pain_after_2h_rise_over_max",
            "pain_during_over_max",
            "missing_pain_after_2h",
            "too_few_sessions",
            "unverified_sessions",
            "at_max_interval",
            "repeated_breaches",
            "red_flag_pain",
            "repeated_regress",
        ]
    );
}

// --- contract version 2: the next morning, flares and effort ---

fn run_with_flares(rules: &Rules, sessions: Vec<SessionReport>, flares: &[(u32, i64)]) -> Review {
    let week = WeekEvidence {
        sessions,
        flares: flares
            .iter()
            .map(|&(day, pain)| FlareReport {
                day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
                pain,
            })
            .collect(),
    };
    review(rules, &PLAN, &week, &[]).unwrap()
}

#[test]
fn a_flare_holds_a_week_of_clean_walks() {
    let r = run_with_flares(&Rules::default(), three_easy(), &[(17, 6)]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(r.interval_s, 600);
    // within_limits appears only when nothing held the week back.
    assert_eq!(codes(&r), [ReasonCode::FlareReported]);
    assert_eq!(
        r.reasons[0].message,
        "You reported a flare on Tue 17 Nov (pain up to 6/10): after a flare the walk does not \
         get longer that week"
    );
}

#[test]
fn a_flare_counts_as_a_breach_toward_a_regress() {
    let mut sessions = three_easy();
    sessions[0].pain_during_max = Some(6);
    let r = run_with_flares(&Rules::default(), sessions, &[(19, 5)]);
    assert_eq!(r.decision, Decision::Regress);
    assert_eq!(r.interval_s, 480);
    assert_eq!(
        codes(&r),
        [
            ReasonCode::RepeatedBreaches,
            ReasonCode::PainDuringOverMax,
            ReasonCode::FlareReported
        ]
    );
    assert!(
        r.reasons[0]
            .message
            .starts_with("1 session and 1 flare went over the pain limits this week"),
        "{}",
        r.reasons[0].message
    );
}

#[test]
fn flares_alone_can_regress() {
    let r = run_with_flares(&Rules::default(), three_easy(), &[(17, 5), (20, 6)]);
    assert_eq!(r.decision, Decision::Regress);
    assert!(r.reasons[0].message.starts_with("2 flares went over"));
    assert!(
        r.reasons[1]
            .message
            .starts_with("You reported flares on Tue 17 Nov and Fri 20 Nov")
    );
}

#[test]
fn a_flare_at_the_alert_level_escalates_and_names_its_day() {
    let r = run_with_flares(&Rules::default(), three_easy(), &[(21, 9)]);
    assert_eq!(r.decision, Decision::Escalate);
    assert_eq!(
        codes(&r),
        [ReasonCode::RedFlagPain, ReasonCode::FlareReported]
    );
    assert!(
        r.reasons[0]
            .message
            .starts_with("Pain of 9/10 was reported on Sat 21 Nov")
    );
}

#[test]
fn pain_rising_by_the_next_morning_breaches() {
    let mut sessions = three_easy();
    sessions[1].pain_next_morning = Some(5); // 2 before: a rise of 3 > 2
    sessions[2].pain_next_morning = Some(4); // a rise of 2: allowed
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::PainNextMorningRiseOverMax]);
    assert_eq!(
        r.reasons[0].message,
        "Pain the morning after the walk was more than 2 points above your pain before it on Wed \
         18 Nov"
    );
}

#[test]
fn next_morning_pain_over_its_maximum_breaches_only_when_the_therapist_sets_one() {
    let mut sessions = three_easy();
    sessions[1].pain_next_morning = Some(4); // a rise of 2 from 2 before: allowed
    // The default maximum (10) never breaches: the week advances as under version 1.
    assert_eq!(
        run(&Rules::default(), sessions.clone(), &[]).decision,
        Decision::Advance
    );
    let rules = Rules {
        pain_next_morning_max: 3,
        ..Rules::default()
    };
    let r = run(&rules, sessions.clone(), &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::PainNextMorningOverMax]);
    assert_eq!(
        r.reasons[0].message,
        "Pain the morning after the walk went above 3/10 on Wed 18 Nov"
    );
    // Two such mornings are two breaches: the walk steps back.
    sessions[2].pain_next_morning = Some(4);
    assert_eq!(run(&rules, sessions, &[]).decision, Decision::Regress);
    assert_eq!(
        serde_json::to_value(ReasonCode::PainNextMorningOverMax).unwrap(),
        "pain_next_morning_over_max"
    );
}

#[test]
fn next_morning_pain_at_the_alert_level_escalates() {
    let mut sessions = three_easy();
    sessions[0].pain_next_morning = Some(8);
    let r = run(&Rules::default(), sessions, &[]);
    assert_eq!(r.decision, Decision::Escalate);
    assert_eq!(r.reasons[0].code, ReasonCode::RedFlagPain);
}

#[test]
fn a_required_next_morning_answer_that_is_missing_holds() {
    let rules = Rules {
        require_next_morning: true,
        ..Rules::default()
    };
    let mut sessions = three_easy();
    for s in &mut sessions {
        s.pain_next_morning = Some(2);
    }
    assert_eq!(
        run(&rules, sessions.clone(), &[]).decision,
        Decision::Advance
    );
    sessions[2].pain_next_morning = None;
    let r = run(&rules, sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::MissingPainNextMorning]);
    assert!(r.reasons[0].message.contains("Fri 20 Nov"));
}

#[test]
fn effort_over_the_limit_holds_and_names_the_day() {
    let rules = Rules {
        effort_max: 5,
        ..Rules::default()
    };
    let mut sessions = three_easy();
    sessions[1].effort = Some(7);
    let r = run(&rules, sessions, &[]);
    assert_eq!(r.decision, Decision::Hold);
    assert_eq!(codes(&r), [ReasonCode::EffortOverMax]);
    assert_eq!(
        r.reasons[0].message,
        "The walk felt harder than 5/10 on Wed 18 Nov: it gets longer once walks feel easier"
    );
}

#[test]
fn version_2_fields_are_validated_with_their_paths() {
    let err = Rules {
        effort_max: 11,
        ..Rules::default()
    }
    .validate()
    .unwrap_err();
    assert_eq!(err.to_string(), "rules.effort_max = 11 is outside 0..=10");
    let err = Rules {
        pain_next_morning_rise_max: -1,
        ..Rules::default()
    }
    .validate()
    .unwrap_err();
    assert_eq!(err.field, "rules.pain_next_morning_rise_max");
    let mut sessions = three_easy();
    sessions[1].pain_next_morning = Some(12);
    let err = review(&Rules::default(), &PLAN, &week(sessions), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "week.sessions[1].pain_next_morning = 12 is outside 0..=10"
    );
    let week = WeekEvidence {
        sessions: three_easy(),
        flares: vec![FlareReport {
            day: NaiveDate::from_ymd_opt(2026, 11, 17).unwrap(),
            pain: 11,
        }],
    };
    let err = review(&Rules::default(), &PLAN, &week, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "week.flares[0].pain = 11 is outside 0..=10"
    );
}

#[test]
fn version_2_reason_codes_serialise_as_the_contract_names_them() {
    let names: Vec<Value> = [
        ReasonCode::PainNextMorningRiseOverMax,
        ReasonCode::MissingPainNextMorning,
        ReasonCode::FlareReported,
        ReasonCode::EffortOverMax,
    ]
    .iter()
    .map(|c| serde_json::to_value(c).unwrap())
    .collect();
    assert_eq!(
        names,
        [
            "pain_next_morning_rise_over_max",
            "missing_pain_next_morning",
            "flare_reported",
            "effort_over_max"
        ]
    );
}

#[test]
fn the_red_flag_test_is_one_function() {
    let rules = Rules::default();
    assert_eq!(rules.red_flag([3, 7]), None);
    assert_eq!(rules.red_flag([3, 8, 9]), Some(9));
    assert_eq!(rules.red_flag([]), None);
}
