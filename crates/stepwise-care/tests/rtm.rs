//! Remote therapeutic monitoring evidence against hand-computed months.
//!
//! Unless a test says otherwise, monitoring starts on Monday 5 January 2026, so the 30-day
//! device periods are:
//!   P1  5 Jan – 3 Feb    (5 Jan + 29 days)
//!   P2  4 Feb – 5 Mar    (February has 28 days in 2026: 4 Feb + 29 = 5 Mar)
//!   P3  6 Mar – 4 Apr
//!   P4  5 Apr – 4 May

use chrono::NaiveDate;
use stepwise_care::records::BandDay;
use stepwise_care::rtm::{
    Bounds, CalendarMonth, Inputs, MonthEvidence, Progress, RULES, TimeEntry, data_days,
    month_evidence,
};
use stepwise_care::team::LiveContact;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn start() -> NaiveDate {
    d(2026, 1, 5)
}

/// Every day from `from` to `to`, both included.
fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|x| *x <= to).collect()
}

fn entry(date: NaiveDate, minutes: u32, clinician: i64, live: Option<LiveContact>) -> TimeEntry {
    let name = if clinician == 1 {
        "Dana Reyes"
    } else {
        "Sam Okafor"
    };
    TimeEntry {
        date,
        minutes,
        clinician_id: clinician,
        clinician_name: name.into(),
        live,
        activity: "reviewed the band's week and the walking plan".into(),
    }
}

fn evidence(
    monitoring_start: NaiveDate,
    data: Vec<NaiveDate>,
    entries: Vec<TimeEntry>,
    year: i32,
    month: u32,
    today: NaiveDate,
) -> MonthEvidence {
    month_evidence(&Inputs {
        monitoring_start,
        data_days: data,
        entries,
        month: CalendarMonth { year, month },
        today,
    })
    .unwrap()
}

/// The management codes as (code, met, units, why).
fn codes(e: &MonthEvidence) -> Vec<(&str, bool, u32, &str)> {
    e.management
        .codes
        .iter()
        .map(|c| (c.code.as_str(), c.met, c.units, c.why.as_str()))
        .collect()
}

/// April 2026 with these entries, every period complete.
fn april(entries: Vec<TimeEntry>) -> MonthEvidence {
    evidence(start(), Vec::new(), entries, 2026, 4, d(2026, 5, 10))
}

#[test]
fn fifteen_and_sixteen_days_in_the_two_periods_that_overlap_february() {
    // February (1–28) overlaps P1 (5 Jan – 3 Feb) and P2 (4 Feb – 5 Mar).
    // P1: data 5–19 Jan = 15 days (4 Jan is before monitoring began and is not in P1)
    //     → 15 is within 2–15 → 98985, 1 short of 16 for 98977.
    // P2: data 4–19 Feb = 16 days → within 16–30 → 98977.
    // Today 10 Mar: both periods are over.
    let mut data = days(d(2026, 1, 4), d(2026, 1, 19));
    data.extend(days(d(2026, 2, 4), d(2026, 2, 19)));
    data.push(d(2026, 2, 10)); // a duplicate counts once
    let e = evidence(start(), data, Vec::new(), 2026, 2, d(2026, 3, 10));

    assert_eq!((e.first_day, e.last_day), (d(2026, 2, 1), d(2026, 2, 28)));
    assert_eq!(e.progress, Progress::Complete);
    assert_eq!(e.periods.len(), 2);

    let p1 = &e.periods[0];
    assert_eq!(p1.number, 1);
    assert_eq!((p1.first_day, p1.last_day), (d(2026, 1, 5), d(2026, 2, 3)));
    assert_eq!(p1.progress, Progress::Complete);
    assert_eq!(p1.days_with_data, 15);
    assert_eq!(p1.data_days, days(d(2026, 1, 5), d(2026, 1, 19)));
    assert_eq!(p1.code_met.as_deref(), Some("98985"));
    assert_eq!(
        p1.why,
        "15 days with data: 98985 (2–15 days); 1 short of 16 for 98977"
    );

    let p2 = &e.periods[1];
    assert_eq!(p2.number, 2);
    assert_eq!((p2.first_day, p2.last_day), (d(2026, 2, 4), d(2026, 3, 5)));
    assert_eq!(p2.days_with_data, 16);
    assert_eq!(p2.code_met.as_deref(), Some("98977"));
    assert_eq!(p2.why, "16 days with data: 98977 (16–30 days)");
}

#[test]
fn a_period_that_straddles_two_months_is_the_same_period_in_both() {
    // P1 runs 5 Jan – 3 Feb: January's evidence and February's both show it, with the same
    // days — including 1–3 Feb, which belong to P1, not to a February period.
    // Data: 20–31 Jan (12 days) and 1–3 Feb (3 days) = 15 days → 98985.
    let mut data = days(d(2026, 1, 20), d(2026, 1, 31));
    data.extend(days(d(2026, 2, 1), d(2026, 2, 3)));
    let jan = evidence(start(), data.clone(), Vec::new(), 2026, 1, d(2026, 3, 10));
    let feb = evidence(start(), data, Vec::new(), 2026, 2, d(2026, 3, 10));

    // January overlaps only P1 (P2 starts 4 Feb).
    assert_eq!(jan.periods.len(), 1);
    assert_eq!(jan.periods[0], feb.periods[0]);
    assert_eq!(jan.periods[0].days_with_data, 15);
    assert_eq!(jan.periods[0].code_met.as_deref(), Some("98985"));
    // P2 (over by 10 Mar) has no days: nothing met; the lowest threshold is 98985's 2.
    assert_eq!(feb.periods[1].days_with_data, 0);
    assert_eq!(feb.periods[1].code_met, None);
    assert_eq!(
        feb.periods[1].why,
        "0 days with data: no device-supply code; 98985 needs 2"
    );
}

#[test]
fn one_day_is_below_two_and_a_period_in_progress_says_so() {
    // March (1–31) overlaps P2 (4 Feb – 5 Mar) and P3 (6 Mar – 4 Apr).
    // Data: 10 Mar only → P3 has 1 day: below 2 → no code, 1 short of 2 for 98985.
    // Today is 20 Mar: P2 is over, P3 and the month are in progress.
    let e = evidence(
        start(),
        vec![d(2026, 3, 10)],
        Vec::new(),
        2026,
        3,
        d(2026, 3, 20),
    );
    assert_eq!(e.progress, Progress::InProgress);
    assert_eq!(e.periods.len(), 2);
    assert_eq!(e.periods[0].progress, Progress::Complete);
    let p3 = &e.periods[1];
    assert_eq!(p3.number, 3);
    assert_eq!((p3.first_day, p3.last_day), (d(2026, 3, 6), d(2026, 4, 4)));
    assert_eq!(p3.progress, Progress::InProgress);
    assert_eq!(p3.days_with_data, 1);
    assert_eq!(p3.code_met, None);
    assert_eq!(
        p3.why,
        "1 day with data so far (the period ends 2026-04-04): no device-supply code; \
         1 short of 2 for 98985"
    );
}

#[test]
fn a_period_that_begins_after_today_is_not_started() {
    // April (1–30) overlaps P3 (6 Mar – 4 Apr) and P4 (5 Apr – 4 May). Today 2 Apr: P3 is in
    // progress, P4 has not started.
    let e = evidence(start(), Vec::new(), Vec::new(), 2026, 4, d(2026, 4, 2));
    let progress: Vec<Progress> = e.periods.iter().map(|p| p.progress).collect();
    assert_eq!(progress, [Progress::InProgress, Progress::NotStarted]);
    assert_eq!(e.periods[1].first_day, d(2026, 4, 5));
}

#[test]
fn monitoring_that_starts_after_the_month_gives_no_period_and_no_code() {
    // Monitoring starts 10 Mar; February's evidence: no period, and the 25 minutes logged
    // in February (with a call) meet nothing because monitoring had not started.
    let e = evidence(
        d(2026, 3, 10),
        vec![d(2026, 2, 20)],
        vec![entry(d(2026, 2, 20), 25, 1, Some(LiveContact::Call))],
        2026,
        2,
        d(2026, 4, 1),
    );
    assert!(e.periods.is_empty());
    assert_eq!(e.management.total_minutes, 25);
    assert!(e.management.codes.iter().all(|c| !c.met));
    assert_eq!(
        e.management.codes[1].why,
        "25 minutes: monitoring starts on 2026-03-10, after this month"
    );
    let setup = e.episode_start.unwrap();
    assert_eq!(setup.code, "98975");
    assert!(!setup.in_month);
    assert!(
        setup
            .why
            .starts_with("monitoring started on 2026-03-10, after this month")
    );
}

#[test]
fn the_set_up_code_shows_the_month_monitoring_began() {
    let e = evidence(start(), Vec::new(), Vec::new(), 2026, 1, d(2026, 2, 1));
    let setup = e.episode_start.unwrap();
    assert!(setup.in_month);
    assert_eq!(setup.monitoring_start, start());
}

#[test]
fn nineteen_minutes_with_a_call_is_the_ten_minute_code_and_one_short_of_twenty() {
    // 12 + 7 = 19 minutes, a call on 10 Apr.
    // 98979: 10 ≤ 19 ≤ 19 → met. 98980: 20 − 19 = 1 short. 98981: needs 20 + 20 = 40; 21 short.
    let e = april(vec![
        entry(d(2026, 4, 10), 12, 1, Some(LiveContact::Call)),
        entry(d(2026, 4, 20), 7, 1, None),
    ]);
    assert_eq!(e.management.total_minutes, 19);
    assert_eq!(
        codes(&e),
        [
            (
                "98979",
                true,
                1,
                "19 minutes (10–19 minutes) and a live conversation (phone call, 2026-04-10, Dana \
                 Reyes): 98979"
            ),
            ("98980", false, 0, "19 minutes: 1 short of 20 for 98980"),
            ("98981", false, 0, "19 minutes: 21 short of 40 for 98981"),
        ]
    );
}

#[test]
fn a_month_with_no_minutes_says_what_the_lowest_code_needs() {
    let e = april(Vec::new());
    assert_eq!(e.management.total_minutes, 0);
    assert_eq!(
        codes(&e)[0],
        ("98979", false, 0, "0 minutes: 98979 needs 10")
    );
}

#[test]
fn nine_minutes_is_one_short_of_ten() {
    let e = april(vec![entry(d(2026, 4, 10), 9, 1, Some(LiveContact::Call))]);
    assert_eq!(
        codes(&e)[0],
        ("98979", false, 0, "9 minutes: 1 short of 10 for 98979")
    );
}

#[test]
fn twenty_minutes_with_a_video_call_is_the_twenty_minute_code_not_the_ten() {
    // 20 minutes, video on 3 Apr. 98979: 20 > 19 → not met, 98980 instead (they exclude
    // each other). 98980: 20 ≥ 20 → met. 98981: 40 − 20 = 20 short.
    let e = april(vec![entry(d(2026, 4, 3), 20, 2, Some(LiveContact::Video))]);
    assert_eq!(
        codes(&e),
        [
            (
                "98979",
                false,
                0,
                "20 minutes: more than 19 (10–19 minutes); these minutes fall under 98980"
            ),
            (
                "98980",
                true,
                1,
                "20 minutes (20 minutes or more) and a live conversation (video call, \
                 2026-04-03, Sam Okafor): 98980"
            ),
            ("98981", false, 0, "20 minutes: 20 short of 40 for 98981"),
        ]
    );
}

#[test]
fn forty_fifty_nine_and_sixty_minutes_add_one_one_and_two_further_units() {
    // 98981 counts each further full 20 minutes after the first 20:
    //   40 → (40 − 20) / 20 = 1;  59 → 39 / 20 = 1;  60 → 40 / 20 = 2.
    for (minutes, further) in [(40, 1), (59, 1), (60, 2)] {
        let e = april(vec![
            entry(d(2026, 4, 2), 5, 1, Some(LiveContact::Call)),
            entry(d(2026, 4, 15), minutes - 5, 2, None),
        ]);
        let c = codes(&e);
        assert_eq!(e.management.total_minutes, minutes);
        assert_eq!((c[0].1, c[1].1, c[1].2), (false, true, 1), "{minutes}");
        assert_eq!(
            (c[2].0, c[2].1, c[2].2),
            ("98981", true, further),
            "{minutes}"
        );
        assert_eq!(
            c[2].3,
            format!(
                "{minutes} minutes (each further 20 minutes after 98980) and a live \
                 conversation (phone call, 2026-04-02, Dana Reyes): 98981 × {further}"
            )
        );
        // 98979 names both codes that take over above 19 minutes.
        assert_eq!(
            c[0].3,
            format!(
                "{minutes} minutes: more than 19 (10–19 minutes); these minutes fall under 98980 and 98981"
            )
        );
    }
}

#[test]
fn thirty_minutes_without_a_live_conversation_meets_no_management_code() {
    // 10 + 20 = 30 minutes of data review, no call or video: 98980's minutes are reached but
    // the month has no live conversation, so nothing is met; 98979 is above its range anyway.
    let e = april(vec![
        entry(d(2026, 4, 6), 10, 1, None),
        entry(d(2026, 4, 13), 20, 1, None),
    ]);
    assert_eq!(e.management.total_minutes, 30);
    assert!(e.management.conversations.is_empty());
    assert_eq!(
        codes(&e),
        [
            (
                "98979",
                false,
                0,
                "30 minutes: more than 19 (10–19 minutes); these minutes fall under 98980"
            ),
            (
                "98980",
                false,
                0,
                "30 minutes, but no live conversation this month"
            ),
            ("98981", false, 0, "30 minutes: 10 short of 40 for 98981"),
        ]
    );
}

#[test]
fn an_in_person_conversation_is_shown_but_not_counted_as_the_live_one() {
    // 30 minutes, the only conversation in person on 8 Apr.
    let e = april(vec![entry(
        d(2026, 4, 8),
        30,
        1,
        Some(LiveContact::InPerson),
    )]);
    assert_eq!(e.management.conversations.len(), 1);
    assert!(!e.management.conversations[0].counts_as_live);
    let c = codes(&e);
    assert!(!c[1].1);
    assert_eq!(
        c[1].3,
        "30 minutes, but no live conversation by call or video this month (an in-person \
         conversation on 2026-04-08 is recorded; whether it counts is for the billing staff)"
    );
}

#[test]
fn entries_on_the_first_and_last_day_count_and_those_just_outside_do_not() {
    // 31 Mar (50 min, call) and 1 May (50 min, call) are outside April.
    // 1 Apr: 4 min with a call; 30 Apr: 6 min → 4 + 6 = 10 → 98979 (10–19), live on 1 Apr.
    let e = april(vec![
        entry(d(2026, 3, 31), 50, 1, Some(LiveContact::Call)),
        entry(d(2026, 4, 30), 6, 2, None),
        entry(d(2026, 4, 1), 4, 1, Some(LiveContact::Call)),
        entry(d(2026, 5, 1), 50, 2, Some(LiveContact::Call)),
    ]);
    assert_eq!(e.management.total_minutes, 10);
    let c = codes(&e);
    assert_eq!((c[0].0, c[0].1), ("98979", true));
    assert!(c[0].3.contains("call, 2026-04-01, Dana Reyes"));
    assert_eq!(e.management.conversations.len(), 1);
    assert_eq!(e.management.conversations[0].date, d(2026, 4, 1));
}

#[test]
fn minutes_per_clinician_with_their_dated_entries() {
    // Dana: 5 (2 Apr, call) + 15 (20 Apr) = 20; Sam: 8 (9 Apr, video). Total 28.
    // Most minutes first: Dana (20), then Sam (8). Conversations by date: 2 Apr call, 9 Apr video.
    let e = april(vec![
        entry(d(2026, 4, 20), 15, 1, None),
        entry(d(2026, 4, 9), 8, 2, Some(LiveContact::Video)),
        entry(d(2026, 4, 2), 5, 1, Some(LiveContact::Call)),
    ]);
    let m = &e.management;
    assert_eq!(m.total_minutes, 28);
    let per: Vec<(i64, &str, u32, Vec<NaiveDate>)> = m
        .clinicians
        .iter()
        .map(|c| {
            (
                c.clinician_id,
                c.clinician_name.as_str(),
                c.minutes,
                c.entries.iter().map(|x| x.date).collect(),
            )
        })
        .collect();
    assert_eq!(
        per,
        [
            (1, "Dana Reyes", 20, vec![d(2026, 4, 2), d(2026, 4, 20)]),
            (2, "Sam Okafor", 8, vec![d(2026, 4, 9)]),
        ]
    );
    let talks: Vec<(NaiveDate, LiveContact, &str)> = m
        .conversations
        .iter()
        .map(|c| (c.date, c.contact, c.clinician_name.as_str()))
        .collect();
    assert_eq!(
        talks,
        [
            (d(2026, 4, 2), LiveContact::Call, "Dana Reyes"),
            (d(2026, 4, 9), LiveContact::Video, "Sam Okafor"),
        ]
    );
}

#[test]
fn bad_input_names_the_field() {
    let bad_minutes = month_evidence(&Inputs {
        monitoring_start: start(),
        data_days: Vec::new(),
        entries: vec![
            entry(d(2026, 4, 1), 5, 1, Some(LiveContact::Call)),
            entry(d(2026, 4, 2), 0, 1, None),
        ],
        month: CalendarMonth {
            year: 2026,
            month: 4,
        },
        today: d(2026, 5, 1),
    })
    .unwrap_err();
    assert_eq!(
        bad_minutes.to_string(),
        "entries[1].minutes = 0 is outside 1..=600"
    );
    let bad_month = month_evidence(&Inputs {
        monitoring_start: start(),
        data_days: Vec::new(),
        entries: Vec::new(),
        month: CalendarMonth {
            year: 2026,
            month: 0,
        },
        today: d(2026, 5, 1),
    })
    .unwrap_err();
    assert_eq!(bad_month.field, "month.month");
}

#[test]
fn a_day_with_data_is_a_day_with_any_band_minute_or_sleep() {
    // 1 Apr: minutes; 2 Apr: sleep only; 3 Apr: neither (a row with zeros) → 1 and 2 Apr.
    let band = [
        BandDay {
            date: d(2026, 4, 1),
            steps: 3000,
            minutes_with_data: 600,
            sleep_min: 0,
        },
        BandDay {
            date: d(2026, 4, 2),
            steps: 0,
            minutes_with_data: 0,
            sleep_min: 410,
        },
        BandDay {
            date: d(2026, 4, 3),
            ..BandDay::default()
        },
    ];
    assert_eq!(data_days(&band), [d(2026, 4, 1), d(2026, 4, 2)]);
}

#[test]
fn the_evidence_serializes_with_snake_case_names() {
    let e = april(vec![entry(
        d(2026, 4, 8),
        30,
        1,
        Some(LiveContact::InPerson),
    )]);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["progress"], "complete");
    assert_eq!(
        json["management"]["conversations"][0]["contact"],
        "in_person"
    );
    assert_eq!(json["management"]["codes"][1]["code"], "98980");
    assert_eq!(json["periods"][0]["first_day"], "2026-03-06");
    let rules = serde_json::to_value(stepwise_care::rtm::RULES).unwrap();
    assert_eq!(
        rules[5]["bounds"],
        serde_json::json!({"kind": "each_further", "step": 20, "after": "98980"})
    );
}

#[test]
fn the_rules_table_in_the_docs_matches_the_code() {
    // docs/rtm.md prints RULES: one row per code, with its bounds and its exclusions.
    let doc = include_str!("../../../docs/rtm.md");
    for rule in RULES {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", rule.code)))
            .unwrap_or_else(|| panic!("docs/rtm.md has no row for {}", rule.code));
        let unit = match rule.counts {
            stepwise_care::rtm::Counts::DaysWithData => "days",
            _ => "minutes",
        };
        let bounds = match rule.bounds {
            Bounds::Once => "once per monitoring episode".to_string(),
            Bounds::Between { from, to } => format!("{from}–{to} {unit}"),
            Bounds::AtLeast { from } => format!("{from} {unit} or more"),
            Bounds::EachFurther { step, after } => {
                format!("each further full {step} {unit} after {after}")
            }
        };
        assert!(row.contains(&bounds), "{}: {row} lacks {bounds}", rule.code);
        let live = if rule.needs_live_conversation {
            "| yes |"
        } else {
            "| no |"
        };
        assert!(row.contains(live), "{}: {row}", rule.code);
        for code in rule.excludes {
            assert!(row.contains(code), "{}: {row} lacks {code}", rule.code);
        }
    }
}
