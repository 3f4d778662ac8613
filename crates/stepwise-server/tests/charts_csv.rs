//! The report's SVG charts and CSV tables, from a report built by hand.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use stepwise_care::report::{
    AdherenceReport, Attention, ChecksReport, DataPeriod, DecisionRow, IntervalReport,
    OutcomeTrend, PainLimits, PainWeek, Report, ReportPatient, Trend, VerificationReport, WalkRow,
    WeekAdherence,
};
use stepwise_engine::{Decision, ReasonCode, Said};
use stepwise_server::report::charts::{interval_chart, pain_chart, sleep_chart, steps_chart};
use stepwise_server::report::csv::{daily_csv, decisions_csv, sessions_csv};
use stepwise_store::BandDay;
use stepwise_store::{FlareRecord, NewFlare, PlanChange, PlanChangeSource, WalkingPlan};

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn utc(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap()
}

fn walk(
    id: i64,
    day: u32,
    hour: u32,
    before: Option<i64>,
    after: Option<i64>,
    verified: Option<bool>,
) -> WalkRow {
    WalkRow {
        session_id: id,
        started_at: utc(11, day, hour, 0),
        ended_at: utc(11, day, hour, 14),
        day: date(11, day),
        walked_s: 600,
        bouts: 2,
        pain_before: before,
        pain_during_max: before.map(|p| p + 1),
        pain_after_2h: after,
        pain_next_morning: None,
        next_morning_answered_at: None,
        effort: Some(4),
        verified,
    }
}

fn change(id: i64, at: DateTime<Utc>, from: i64, to: i64, source: PlanChangeSource) -> PlanChange {
    PlanChange {
        id,
        at,
        from_interval_s: from,
        to_interval_s: to,
        source,
        reason: "weekly review".into(),
        review_id: (source == PlanChangeSource::Review).then_some(id),
        by_user: None,
    }
}

fn band(day: u32, steps: i64, minutes: i64, sleep_min: i64) -> BandDay {
    BandDay {
        date: date(11, day),
        steps,
        minutes_with_data: minutes,
        sleep_min,
    }
}

fn reason(code: ReasonCode, text: &str) -> Said {
    Said {
        code,
        text: text.into(),
    }
}

fn trend(unit: &'static str, meaningful: f64) -> Trend {
    Trend {
        unit,
        first_week_mean: Some(5000.0),
        last_week_mean: Some(5400.0),
        change: Some(400.0),
        meaningful,
        flagged: false,
    }
}

/// Four weeks in Berlin, 2–29 Nov 2026, with three interval changes, six walks (one without
/// pain before, two without the two-hour answer), four days of steps and three nights of sleep.
fn report() -> Report {
    let decisions = vec![
        DecisionRow {
            review_id: 11,
            week_start: date(11, 2),
            decided_at: Utc.from_utc_datetime(
                &(date(11, 2) + chrono::Days::new(7))
                    .and_hms_opt(0, 5, 0)
                    .unwrap(),
            ),
            rules_version: 1,
            decision: Decision::Advance,
            previous_interval_s: 300,
            interval_s: 330,
            applied: true,
            reasons: vec![
                reason(
                    ReasonCode::WithinLimits,
                    "Pain two hours after stayed within 2 points, \"as hoped\", on every walk.",
                ),
                reason(ReasonCode::TooFewSessions, "5 of 5 sessions."),
            ],
            acknowledged_at: None,
            acknowledgement_note: None,
            acknowledged_by: None,
        },
        DecisionRow {
            review_id: 12,
            week_start: date(11, 16),
            decided_at: Utc.from_utc_datetime(
                &(date(11, 16) + chrono::Days::new(7))
                    .and_hms_opt(0, 5, 0)
                    .unwrap(),
            ),
            rules_version: 1,
            decision: Decision::Regress,
            previous_interval_s: 363,
            interval_s: 330,
            applied: true,
            reasons: vec![reason(
                ReasonCode::PainAfter2hOverMax,
                "=HYPERLINK(\"http://example.invalid\",\"click\")",
            )],
            acknowledged_at: None,
            acknowledgement_note: None,
            acknowledged_by: None,
        },
        DecisionRow {
            review_id: 13,
            week_start: date(11, 23),
            decided_at: Utc.from_utc_datetime(
                &(date(11, 23) + chrono::Days::new(7))
                    .and_hms_opt(0, 5, 0)
                    .unwrap(),
            ),
            rules_version: 1,
            decision: Decision::Hold,
            previous_interval_s: 330,
            interval_s: 330,
            applied: false,
            reasons: vec![],
            acknowledged_at: None,
            acknowledgement_note: None,
            acknowledged_by: None,
        },
    ];
    Report {
        patient: ReportPatient {
            id: 7,
            display_name: "Alex Example".into(),
            timezone: "Europe/Berlin".into(),
            next_visit: Some(date(12, 1)),
        },
        from: date(11, 2),
        to: date(11, 29),
        generated_at: utc(11, 30, 8, 0),
        summary: "Walking 5 times a week.".into(),
        attention: vec![Attention {
            code: "missed_two_hour_checks",
            level: "soon",
            title: "Missed checks",
            message: "2 two-hour checks were not answered.".into(),
        }],
        adherence: AdherenceReport {
            weeks: vec![WeekAdherence {
                week_start: date(11, 2),
                days_in_window: 7,
                done: 2,
                prescribed: 5,
                share: Some(0.4),
                adherent: false,
                complete: true,
            }],
            done: 6,
            prescribed: 20,
            share: Some(0.3),
            adherent: false,
        },
        verification: VerificationReport {
            walks: 6,
            verified: 4,
            not_verified: 1,
            no_data: 1,
            share: Some(4.0 / 6.0),
        },
        band_data_periods: vec![DataPeriod {
            from: date(11, 2),
            to: date(12, 1),
            days: 5,
        }],
        two_hour_checks: ChecksReport {
            walks: 6,
            answered: 4,
            missed: 2,
            waiting: 0,
            share: Some(4.0 / 6.0),
        },
        walks: vec![
            walk(101, 3, 9, Some(3), Some(4), Some(true)),
            walk(102, 5, 16, Some(2), None, Some(false)),
            walk(103, 10, 8, Some(4), Some(5), None),
            walk(104, 10, 17, None, Some(3), Some(true)),
            walk(105, 17, 10, Some(5), None, Some(true)),
            walk(106, 26, 11, Some(2), Some(2), Some(true)),
        ],
        pain_weeks: vec![PainWeek {
            week_start: date(11, 2),
            mean_before: Some(2.5),
            mean_after_2h: None,
        }],
        flares: vec![FlareRecord {
            id: 1,
            patient_id: 7,
            reported: NewFlare {
                client_id: "f-1".into(),
                started_at: utc(11, 18, 20, 0),
                pain: 7,
                notes: Some("after gardening".into()),
            },
            created_at: utc(11, 18, 20, 5),
        }],
        interval: IntervalReport {
            start_s: 300,
            end_s: 330,
            changes: vec![
                change(1, utc(11, 9, 6, 0), 300, 330, PlanChangeSource::Review),
                change(2, utc(11, 16, 6, 0), 330, 363, PlanChangeSource::Review),
                // 00:30 on 24 Nov in Berlin.
                change(3, utc(11, 23, 23, 30), 363, 330, PlanChangeSource::Override),
            ],
        },
        plan: WalkingPlan {
            interval_s: 330,
            bouts: 2,
            rest_s: 120,
            sessions_per_week: 5,
        },
        limits: PainLimits {
            during_max: 5,
            after_2h_max: 4,
        },
        decisions: decisions.clone(),
        daily: vec![
            band(3, 6200, 900, 410),
            band(4, 4800, 850, 0),
            band(10, 9100, 960, 455),
            band(11, 0, 0, 380), // sleep only: no step data that day
            band(20, 3050, 700, 0),
        ],
        steps_trend: trend("steps/day", 700.0),
        sleep_trend: trend("min/night", 30.0),
        activity_weeks: vec![],
        devices: vec![],
        device_days: vec![],
        open_escalations: vec![],
        outcomes: vec![OutcomeTrend {
            kind: "oswestry".into(),
            unit: "%",
            first: (date(11, 2), 40.0),
            latest: (date(11, 29), 34.0),
            change: -6.0,
        }],
        questionnaires: vec![],
    }
}

/// The same window with nothing in it.
fn empty_report() -> Report {
    let mut r = report();
    r.walks.clear();
    r.daily.clear();
    r.decisions.clear();
    r.interval.changes.clear();
    r.interval.end_s = r.interval.start_s;
    r
}

fn screenshots() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// What a chart contains, read back from its XML.
struct Svg {
    title: String,
    desc: String,
    texts: Vec<String>,
    circles: usize,
    polygons: usize,
    rects: usize,
    /// Polylines in a series colour (axes and ticks are polylines too, in ink).
    series_lines: usize,
}

/// The charts' series colours: dark blue (first series), burnt orange (second).
const SERIES_COLOURS: [&str; 2] = ["#1F4E79", "#B5500B"];

fn parse(svg: &str) -> Svg {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute("viewBox"), Some("0 0 640 320"));
    // An intrinsic size, so an <img> of it keeps its shape; no inline style (the CSP).
    assert_eq!(root.attribute("width"), Some("640"));
    assert_eq!(root.attribute("height"), Some("320"));
    assert_eq!(root.attribute("style"), None);
    // The title and the description come first and are what aria-labelledby names.
    let first: Vec<_> = root.children().filter(|n| n.is_element()).take(2).collect();
    assert_eq!(first[0].tag_name().name(), "title");
    assert_eq!(first[1].tag_name().name(), "desc");
    let ids = format!(
        "{} {}",
        first[0].attribute("id").unwrap(),
        first[1].attribute("id").unwrap()
    );
    assert_eq!(root.attribute("aria-labelledby"), Some(ids.as_str()));
    let count = |name: &str| {
        doc.descendants()
            .filter(|n| n.tag_name().name() == name)
            .count()
    };
    Svg {
        title: first[0].text().unwrap_or_default().to_string(),
        desc: first[1].text().unwrap_or_default().to_string(),
        texts: doc
            .descendants()
            .filter(|n| n.tag_name().name() == "text")
            .map(|n| n.text().unwrap_or_default().trim().to_string())
            .collect(),
        circles: count("circle"),
        polygons: count("polygon"),
        rects: count("rect"),
        series_lines: doc
            .descendants()
            .filter(|n| n.tag_name().name() == "polyline")
            .filter(|n| SERIES_COLOURS.contains(&n.attribute("stroke").unwrap_or_default()))
            .count(),
    }
}

fn has_text(svg: &Svg, text: &str) -> bool {
    svg.texts.iter().any(|t| t == text)
}

fn save(name: &str, svg: &str) {
    std::fs::write(screenshots().join(format!("report-{name}.svg")), svg).expect("write svg");
}

#[test]
fn interval_chart_steps_at_each_change_in_local_time() {
    let raw = interval_chart(&report());
    save("interval", &raw);
    let svg = parse(&raw);
    assert_eq!(svg.title, "Walking interval");
    assert!(
        svg.desc.starts_with(
            "Walking interval rose from 5 min 0 s to 5 min 30 s in 3 changes between 2 Nov 2026 and 29 Nov 2026."
        ),
        "{}",
        svg.desc
    );
    // The third change happened at 00:30 on 24 Nov in Berlin (23 Nov in UTC).
    assert!(
        svg.desc.contains("24 Nov to 5 min 30 s (changed by hand)"),
        "{}",
        svg.desc
    );
    assert!(
        svg.desc.contains("16 Nov to 6 min 3 s (weekly review)"),
        "{}",
        svg.desc
    );
    assert!(has_text(&svg, "Walking interval"));
    assert!(has_text(&svg, "Interval (min)"));
    assert!(has_text(&svg, "Date (2 Nov 2026 – 29 Nov 2026)"));
    assert!(has_text(&svg, "2 Nov") && has_text(&svg, "9 Nov") && has_text(&svg, "23 Nov"));
    // One marker per change, and the values labelled.
    assert_eq!(svg.circles, 3);
    assert!(has_text(&svg, "6:03") && has_text(&svg, "5:00") && has_text(&svg, "5:30"));
    assert_eq!(svg.series_lines, 1, "one step line");
    // Start, then a vertical step (two points) at each of the three changes, then the end.
    let doc = roxmltree::Document::parse(&raw).unwrap();
    let line = doc
        .descendants()
        .find(|n| n.tag_name().name() == "polyline" && n.attribute("stroke") == Some("#1F4E79"))
        .unwrap();
    let points: Vec<&str> = line
        .attribute("points")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(points.len(), 1 + 2 * 3 + 1, "{points:?}");
}

#[test]
fn pain_chart_has_three_series_with_own_markers_the_limits_and_skips_missing_values() {
    let raw = pain_chart(&report());
    save("pain", &raw);
    let svg = parse(&raw);
    assert!(has_text(&svg, "Pain (0–10 NRS)"));
    assert!(has_text(&svg, "Before") && has_text(&svg, "During") && has_text(&svg, "2 h after"));
    // The rules' limits, each a line labelled in words (they differ here: 5 and 4).
    assert!(has_text(&svg, "Limit during: 5"));
    assert!(has_text(&svg, "Limit 2 h after: 4"));
    // Every text of every chart at least 12 px where it is shown: the pages never draw a
    // chart narrower than 512 px of its 640 units, so 15 units at least.
    let r = report();
    for chart in [
        pain_chart(&r),
        interval_chart(&r),
        steps_chart(&r),
        sleep_chart(&r),
    ] {
        for size in chart.split("font-size=\"").skip(1) {
            let size: f64 = size.split('"').next().unwrap().parse().unwrap();
            assert!(size * 512.0 / 640.0 >= 12.0, "font-size {size}");
        }
    }
    for tick in ["0", "2", "4", "6", "8", "10"] {
        assert!(has_text(&svg, tick), "tick {tick}");
    }
    // 5 walks with pain before (circles), 4 with pain after (triangles), plus one of each in
    // the legend.
    assert_eq!(svg.circles, 5 + 1);
    assert_eq!(svg.polygons, 4 + 1);
    assert!(
        svg.desc
            .contains("before, during (the highest) and two hours after 6 walks"),
        "{}",
        svg.desc
    );
    assert!(
        svg.desc
            .contains("Before: reported for 5 of 6, mean 3.2, range 2 to 5.")
    );
    assert!(
        svg.desc
            .contains("Two hours after: reported for 4 of 6, mean 3.5, range 2 to 5.")
    );
    assert!(
        svg.desc
            .contains("During: reported for 5 of 6, mean 4.2, range 3 to 6."),
        "{}",
        svg.desc
    );
    assert!(
        svg.desc
            .contains("Limits of the rules: pain during up to 5, two hours after up to 4."),
        "{}",
        svg.desc
    );
    assert!(!has_text(&svg, "No data in this period"));
}

#[test]
fn steps_chart_has_a_bar_per_day_with_step_data() {
    let raw = steps_chart(&report());
    save("steps", &raw);
    let svg = parse(&raw);
    assert!(has_text(&svg, "Steps per day"));
    assert!(has_text(&svg, "10,000"));
    // The background and four bars; 11 Nov had sleep but no step data, so it is a gap.
    assert_eq!(svg.rects, 1 + 4);
    assert_eq!(
        svg.desc,
        "Daily steps on 4 of 28 days between 2 Nov 2026 and 29 Nov 2026: mean 5,788 steps, \
         lowest 3,050 on 20 Nov, highest 9,100 on 10 Nov."
    );
}

#[test]
fn sleep_chart_has_a_point_per_night() {
    let raw = sleep_chart(&report());
    save("sleep", &raw);
    let svg = parse(&raw);
    assert!(has_text(&svg, "Sleep (h)"));
    assert_eq!(svg.circles, 3);
    // 10 and 11 Nov are consecutive and joined; 3 Nov stands alone.
    assert_eq!(svg.series_lines, 1);
    assert!(svg.desc.contains("3 of 28 nights"), "{}", svg.desc);
    assert!(svg.desc.contains("mean 6.9 h"), "{}", svg.desc);
    assert!(
        svg.desc.contains("longest 7.6 h (night ending 10 Nov)"),
        "{}",
        svg.desc
    );
}

#[test]
fn empty_reports_render_with_a_note() {
    let r = empty_report();
    for (name, raw) in [
        ("pain", pain_chart(&r)),
        ("steps", steps_chart(&r)),
        ("sleep", sleep_chart(&r)),
    ] {
        save(&format!("{name}-empty"), &raw);
        let svg = parse(&raw);
        assert!(has_text(&svg, "No data in this period"), "{name}");
        assert!(
            svg.desc.contains("No data in this period"),
            "{name}: {}",
            svg.desc
        );
        assert!(
            svg.circles + svg.polygons <= 2,
            "{name}: only the legend markers"
        );
    }
    let svg = parse(&interval_chart(&r));
    assert_eq!(svg.circles, 0);
    assert!(
        svg.desc
            .starts_with("Walking interval stayed at 5 min 0 s between 2 Nov 2026 and 29 Nov 2026"),
        "{}",
        svg.desc
    );
}

#[test]
fn odd_windows_and_values_do_not_panic() {
    let mut r = report();
    // One day.
    r.from = date(11, 10);
    r.to = r.from;
    for svg in [
        interval_chart(&r),
        pain_chart(&r),
        steps_chart(&r),
        sleep_chart(&r),
    ] {
        parse(&svg);
    }
    let raw = steps_chart(&r);
    save("steps-one-day", &raw);
    assert_eq!(parse(&raw).rects, 1 + 1);
    // Backwards window, unknown zone, zero interval, out-of-range values.
    let mut r = report();
    std::mem::swap(&mut r.from, &mut r.to);
    r.patient.timezone = "Not/AZone".into();
    r.interval.start_s = 0;
    r.walks[0].pain_before = Some(42);
    r.daily[0].steps = -5;
    for svg in [
        interval_chart(&r),
        pain_chart(&r),
        steps_chart(&r),
        sleep_chart(&r),
    ] {
        parse(&svg);
    }
    // A long window.
    let mut r = report();
    r.from = date(1, 1);
    r.to = date(12, 31);
    for svg in [
        interval_chart(&r),
        pain_chart(&r),
        steps_chart(&r),
        sleep_chart(&r),
    ] {
        parse(&svg);
    }
    let raw = pain_chart(&r);
    save("pain-year", &raw);
    let svg = parse(&raw);
    assert!(has_text(&svg, "1 Jan") && has_text(&svg, "26 Feb") && !has_text(&svg, "29 Jan"));
}

fn read(csv_text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(csv_text.ends_with("\r\n"), "RFC 4180 line ends");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn sessions_csv_has_a_row_per_walk_and_empty_cells_for_nulls() {
    let (header, rows) = read(&sessions_csv(&report()));
    assert_eq!(
        header,
        [
            "session_id",
            "day",
            "started_at",
            "ended_at",
            "walked_s",
            "bouts",
            "pain_before_0_10",
            "pain_during_max_0_10",
            "pain_after_2h_0_10",
            "pain_next_morning_0_10",
            "effort_borg_cr10",
            "band_verified",
            "started_local",
        ]
    );
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[0],
        [
            "101",
            "2026-11-03",
            "2026-11-03T09:00:00Z",
            "2026-11-03T09:14:00Z",
            "600",
            "2",
            "3",
            "4",
            "4",
            "",
            "4",
            "true",
            // 09:00 UTC is 10:00 in Berlin.
            "2026-11-03 10:00",
        ]
    );
    assert_eq!(rows[1][8], "", "no two-hour answer");
    assert_eq!(rows[1][11], "false");
    assert_eq!(rows[2][11], "", "no band data");
    assert_eq!(rows[3][6], "", "no pain before");
    assert_eq!(rows[3][7], "");

    let (_, rows) = read(&sessions_csv(&empty_report()));
    assert!(rows.is_empty());
}

#[test]
fn daily_csv_lists_every_date_of_the_window() {
    let (header, rows) = read(&daily_csv(&report()));
    assert_eq!(header, ["date", "steps", "minutes_with_data", "sleep_min"]);
    assert_eq!(rows.len(), 28);
    assert_eq!(rows[0], ["2026-11-02", "", "", ""]);
    assert_eq!(rows[1], ["2026-11-03", "6200", "900", "410"]);
    assert_eq!(rows[2], ["2026-11-04", "4800", "850", ""]);
    assert_eq!(rows[9], ["2026-11-11", "", "", "380"]);
    assert_eq!(rows[27][0], "2026-11-29");

    let (_, rows) = read(&daily_csv(&empty_report()));
    assert_eq!(rows.len(), 28);
    assert!(rows.iter().all(|r| r[1..].iter().all(String::is_empty)));
}

#[test]
fn decisions_csv_quotes_reasons_and_neutralises_formulas() {
    let text = decisions_csv(&report());
    // RFC 4180 quoting of the comma and the quotes.
    assert!(
        text.contains(r#""Pain two hours after stayed within 2 points, ""as hoped"", on every walk. 5 of 5 sessions.""#),
        "{text}"
    );
    let (header, rows) = read(&text);
    assert_eq!(
        header,
        [
            "review_id",
            "week_start",
            "decision",
            "previous_interval_s",
            "interval_s",
            "change_pct",
            "applied",
            "reason_codes",
            "reasons",
            "decision_text",
            "acknowledged_local",
            "acknowledgement_note",
        ]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        [
            "11",
            "2026-11-02",
            "advance",
            "300",
            "330",
            "10.0",
            "true",
            "within_limits; too_few_sessions",
            "Pain two hours after stayed within 2 points, \"as hoped\", on every walk. 5 of 5 sessions.",
            "Advance — longer walks",
            "",
            "",
        ]
    );
    // A negative number is a number, left alone; a formula-looking message is neutralised.
    assert_eq!(rows[1][5], "-9.1");
    assert_eq!(rows[1][7], "pain_after_2h_over_max");
    assert_eq!(
        rows[1][8],
        "'=HYPERLINK(\"http://example.invalid\",\"click\")"
    );
    // No reasons: empty cells.
    assert_eq!(rows[2][5], "0.0");
    assert_eq!(rows[2][6], "false");
    assert_eq!(&rows[2][7..9], ["", ""]);
    assert_eq!(rows[2][9], "Hold — same walks");

    let (_, rows) = read(&decisions_csv(&empty_report()));
    assert!(rows.is_empty());
}
