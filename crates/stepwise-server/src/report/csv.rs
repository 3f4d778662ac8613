//! CSV tables of a report: the walks, the band's days, the weekly decisions and the
//! questionnaire scores.
//!
//! RFC 4180 (comma separated, `\r\n` line ends, fields quoted where needed, quotes doubled),
//! one header row whose names carry the unit (`walked_s`, `pain_before_0_10`, `sleep_min`),
//! ISO 8601 dates and RFC 3339 UTC instants (with the patient's local time beside them, for
//! people), codes with their words beside them, an empty cell for a missing value. Free-text cells
//! that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
//! return) get a leading `'`; numbers are written as they are.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::page::decision_words;
use stepwise_care::report::Report;

/// One row per walk in the window, oldest first; the last column is the start in the
/// patient's local time.
pub fn sessions_csv(report: &Report) -> String {
    table(
        &[
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
        ],
        report.walks.iter().map(|w| {
            vec![
                w.session_id.to_string(),
                date(w.day),
                instant(w.started_at),
                instant(w.ended_at),
                w.walked_s.to_string(),
                w.bouts.to_string(),
                opt(w.pain_before),
                opt(w.pain_during_max),
                opt(w.pain_after_2h),
                opt(w.pain_next_morning),
                opt(w.effort),
                opt(w.verified),
                local(report, w.started_at),
            ]
        }),
    )
}

/// One row per date of the window, oldest first (plus any band day outside it), with empty
/// cells for days without band data. `steps` and `minutes_with_data` are empty on days the band
/// reported no minutes; `sleep_min` is empty when no sleep ended that day.
pub fn daily_csv(report: &Report) -> String {
    let mut dates: Vec<NaiveDate> = Vec::new();
    let (from, to) = if report.to < report.from {
        (report.to, report.from)
    } else {
        (report.from, report.to)
    };
    let mut d = from;
    while d <= to {
        dates.push(d);
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    dates.extend(report.daily.iter().map(|b| b.date));
    dates.sort_unstable();
    dates.dedup();

    table(
        &["date", "steps", "minutes_with_data", "sleep_min"],
        dates.into_iter().map(|date_| {
            let day = report.daily.iter().find(|b| b.date == date_);
            let band = day.filter(|b| b.minutes_with_data > 0);
            let sleep = day.filter(|b| b.sleep_min > 0);
            vec![
                date(date_),
                opt(band.map(|b| b.steps)),
                opt(band.map(|b| b.minutes_with_data)),
                opt(sleep.map(|b| b.sleep_min)),
            ]
        }),
    )
}

/// One row per weekly decision in the window, with every reason: codes and messages each
/// joined by `"; "` in the same order; then the decision in words, and for an escalation when
/// it was acknowledged (local time) and the therapist's note.
pub fn decisions_csv(report: &Report) -> String {
    table(
        &[
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
        ],
        report.decisions.iter().map(|d| {
            let change = (d.previous_interval_s != 0).then(|| {
                let pct = (d.interval_s - d.previous_interval_s) as f64 * 100.0
                    / d.previous_interval_s as f64;
                format!("{:.1}", (pct * 10.0).round() / 10.0)
            });
            let codes = d
                .reasons
                .iter()
                .map(|r| code_name(r.code))
                .collect::<Vec<_>>()
                .join("; ");
            let messages = stepwise_care::words::in_words(&d.reasons);
            vec![
                d.review_id.to_string(),
                date(d.week_start),
                d.decision.as_str().to_string(),
                d.previous_interval_s.to_string(),
                d.interval_s.to_string(),
                change.unwrap_or_default(),
                d.applied.to_string(),
                codes,
                text(&messages),
                decision_words(d.decision).to_string(),
                d.acknowledged_at
                    .map(|at| local(report, at))
                    .unwrap_or_default(),
                text(d.acknowledgement_note.as_deref().unwrap_or_default()),
            ]
        }),
    )
}

/// One row per questionnaire response, by instrument then date: the score, the raw score where
/// the instrument converts one, the change from the instrument's first score, the MID and how
/// the change compares with it (empty when the instrument has no MID), each subscore as
/// `name=value` separated by `;`, and the local date and time answered.
pub fn questionnaires_csv(report: &Report) -> String {
    table(
        &[
            "response_id",
            "instrument",
            "day",
            "answered_at",
            "score",
            "raw_score",
            "unit",
            "change_from_first",
            "mid",
            "change_vs_mid",
            "subscores",
            "answered_local",
        ],
        report.questionnaires.iter().flat_map(|series| {
            series.points.iter().map(move |p| {
                vec![
                    p.response_id.to_string(),
                    series.instrument.as_str().to_string(),
                    date(p.day),
                    instant(p.answered_at),
                    p.value.to_string(),
                    opt(p.raw),
                    text(series.unit),
                    p.change_from_first.to_string(),
                    opt(series.mid),
                    opt(p.change.map(|c| match c {
                        stepwise_outcomes::Change::Better => "better",
                        stepwise_outcomes::Change::Worse => "worse",
                        stepwise_outcomes::Change::WithinMid => "within_mid",
                    })),
                    text(
                        &p.subscores
                            .iter()
                            .map(|s| format!("{}={}", s.name, s.value))
                            .collect::<Vec<_>>()
                            .join(";"),
                    ),
                    local(report, p.answered_at),
                ]
            })
        }),
    )
}

/// Writes a header and rows with the `csv` crate (RFC 4180: CRLF, quote where needed).
pub(crate) fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail on I/O; a failed row would only lose that row.
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(&row);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// A free-text cell, neutralised against spreadsheet formula injection.
pub(crate) fn text(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An instant in the patient's zone, `2026-11-03 14:05`, for people reading the table.
fn local(report: &Report, t: DateTime<Utc>) -> String {
    let tz: chrono_tz::Tz = report
        .patient
        .timezone
        .parse()
        .unwrap_or(chrono_tz::Tz::UTC);
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// The reason code's stable snake_case name, as in the JSON API.
fn code_name(code: stepwise_engine::ReasonCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{code:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_are_neutralised() {
        assert_eq!(text("=1+1"), "'=1+1");
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("Pain rose"), "Pain rose");
        assert_eq!(text(""), "");
    }
}
