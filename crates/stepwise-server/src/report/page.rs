//! The printable HTML report page: the summary and attention items first, then the figures,
//! the four charts inline (each with its text alternative), and the tables. Server-rendered,
//! no scripts. The page is a `maud` template: every value from the data is HTML-escaped unless
//! marked `PreEscaped` (only the charts' SVG, which `charts` escapes as it writes it).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use stepwise_engine::Decision;

use stepwise_engine::exact_duration;

use super::charts;
use stepwise_care::report::{Report, Trend, percent};

/// A weekly decision in words, as the staff pages say it.
pub fn decision_words(decision: Decision) -> &'static str {
    match decision {
        Decision::Advance => "Advance — longer walks",
        Decision::Hold => "Hold — same walks",
        Decision::Regress => "Step back — shorter walks",
        Decision::Escalate => "Escalate — therapist to review",
    }
}

/// An outcome measure's name in words.
pub fn outcome_words(kind: &str) -> String {
    match kind {
        "oswestry" => "Oswestry Disability Index".to_string(),
        "ndi" => "Neck Disability Index".to_string(),
        "six_minute_walk" => "Six-minute walk".to_string(),
        "timed_up_and_go" => "Timed up-and-go".to_string(),
        other => other.replace('_', " "),
    }
}

/// An instant in the patient's local time, e.g. `Tue 3 Nov 14:05`.
pub fn local_time(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

fn score(value: Option<i64>) -> String {
    value.map_or("–".to_string(), |v| v.to_string())
}

fn trend_text(trend: &Trend) -> String {
    match (trend.first_week_mean, trend.last_week_mean, trend.change) {
        (Some(first), Some(last), Some(change)) => format!(
            "{first:.0} → {last:.0} {} ({change:+.0}{})",
            trend.unit,
            if trend.flagged {
                ", a meaningful change"
            } else {
                ""
            }
        ),
        _ => "not enough band data".to_string(),
    }
}

/// The page for a report.
pub fn render(r: &Report) -> String {
    let tz: Tz = r.patient.timezone.parse().unwrap_or(Tz::UTC);
    let name = &r.patient.display_name;
    let export = |path: &str| {
        format!(
            "/api/v1/patients/{}/report{path}?from={}&to={}",
            r.patient.id, r.from, r.to
        )
    };
    let a = &r.adherence;
    let v = &r.verification;
    let c = &r.two_hour_checks;
    let data_days = r
        .band_data_periods
        .iter()
        .map(|p| {
            format!(
                "{} of 30 days ({}–{})",
                p.days,
                p.from.format("%-d %b"),
                p.to.format("%-d %b")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let charts = [
        charts::interval_chart(r),
        charts::pain_chart(r),
        charts::steps_chart(r),
        charts::sleep_chart(r),
    ];
    let questionnaire_charts: Vec<(&stepwise_care::questionnaires::QuestionnaireSeries, String)> =
        r.questionnaires
            .iter()
            .map(|s| (s, charts::questionnaire_chart(r, s.instrument)))
            .collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Pre-visit report: " (name) }
                link rel="icon" href="/icons/icon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/report.css";
            }
            body { main {
                h1 { "Pre-visit report: " (name) }
                p {
                    (r.from.format("%-d %B %Y")) " to " (r.to.format("%-d %B %Y"))
                    " (dates and times in " (r.patient.timezone) ")"
                    @if let Some(visit) = r.patient.next_visit {
                        " · next visit " (visit.format("%-d %B %Y"))
                    }
                }
                p.links {
                    "Download: "
                    a href=(export("/sessions.csv")) { "sessions (CSV)" }
                    a href=(export("/daily.csv")) { "daily band data (CSV)" }
                    a href=(export("/decisions.csv")) { "decisions (CSV)" }
                    a href=(export("/fhir")) { "FHIR R4 bundle" }
                    a href=(export("")) { "JSON" }
                }
                p.summary { (r.summary) }
                @if r.attention.is_empty() {
                    p { "Nothing needs attention." }
                } @else {
                    section.attention aria-labelledby="attention" {
                        h2 #attention { "Needs attention" }
                        ul { @for item in &r.attention {
                            li class=(item.level) { strong { (item.title) ":" } " " (item.message) }
                        } }
                    }
                }
                h2 { "At a glance" }
                div.figures {
                    div.figure {
                        "Sessions done"
                        b { (a.done) " of " (a.prescribed) " (" (percent(a.share)) ")" }
                        (if a.adherent { "adherent (≥ 80%)" } else { "below 80%" })
                    }
                    div.figure {
                        "Confirmed by the band"
                        b { (v.verified) " of " (v.walks) " (" (percent(v.share)) ")" }
                    }
                    div.figure {
                        "Two-hour checks answered (of those due)"
                        b { (c.answered) " of " (c.answered + c.missed) " (" (percent(c.share)) ")" }
                    }
                    div.figure { "Days with band data" b { (data_days) } }
                    div.figure {
                        "Walking interval"
                        b { (exact_duration(r.interval.start_s)) " → " (exact_duration(r.interval.end_s)) }
                    }
                    div.figure { "Steps" b { (trend_text(&r.steps_trend)) } }
                    div.figure { "Sleep" b { (trend_text(&r.sleep_trend)) } }
                }
                h2 { "Charts" }
                @for svg in &charts {
                    // Focusable: on a narrow screen the chart scrolls sideways (see report.css).
                    // The SVG is built by `charts`, which escapes every value it writes.
                    figure.chart tabindex="0" { (PreEscaped(svg)) }
                }
                h2 { "Weekly adherence" }
                table {
                    thead { (header_row(&["Week of", "Done", "Prescribed", "Share", "Mean pain before", "Mean pain 2 h after"])) }
                    tbody { @for (w, p) in r.adherence.weeks.iter().zip(&r.pain_weeks) {
                        tr {
                            td { (w.week_start.format("%-d %b")) @if !w.complete { " (so far)" } }
                            td { (w.done) }
                            td { (w.prescribed) }
                            td { (percent(w.share)) }
                            td { (mean(p.mean_before)) }
                            td { (mean(p.mean_after_2h)) }
                        }
                    } }
                }
                h2 { "Decisions" }
                @if r.decisions.is_empty() {
                    p { "No weekly decisions in this period." }
                } @else {
                    table {
                        thead { (header_row(&["Week of", "Decision", "Interval", "Why"])) }
                        tbody { @for d in &r.decisions {
                            tr {
                                td { (d.week_start.format("%-d %b")) }
                                td {
                                    (decision_words(d.decision))
                                    @if !d.applied { " (not applied: paused)" }
                                    @match (d.decision, d.acknowledged_at) {
                                        (Decision::Escalate, Some(at)) => {
                                            br; "Acknowledged " (local_time(tz, at))
                                            @if let Some(note) = &d.acknowledgement_note {
                                                ": “" (note) "”"
                                            }
                                        }
                                        (Decision::Escalate, None) => { br; "Waiting for acknowledgement" }
                                        _ => {}
                                    }
                                }
                                td { (exact_duration(d.previous_interval_s)) " → " (exact_duration(d.interval_s)) }
                                td { @for (i, reason) in d.reasons.iter().enumerate() {
                                    @if i > 0 { br; }
                                    (reason.text)
                                } }
                            }
                        } }
                    }
                }
                h2 { "Walks" }
                table {
                    thead { (header_row(&["Day", "Walked", "Pain before", "Highest during", "2 h after", "Next morning", "Effort", "Band"])) }
                    tbody { @for w in &r.walks {
                        tr {
                            td { (w.day.format("%a %-d %b")) }
                            td { (exact_duration(w.walked_s)) }
                            td { (score(w.pain_before)) }
                            td { (score(w.pain_during_max)) }
                            td { (score(w.pain_after_2h)) }
                            td { (score(w.pain_next_morning)) }
                            td { (score(w.effort)) }
                            td { (match w.verified {
                                Some(true) => "confirmed",
                                Some(false) => "not confirmed",
                                None => "no data",
                            }) }
                        }
                    } }
                }
                @if !r.flares.is_empty() {
                    h2 { "Flares" }
                    ul { @for f in &r.flares {
                        li {
                            (local_time(tz, f.reported.started_at)) ": pain " (f.reported.pain) "/10"
                            @if let Some(notes) = &f.reported.notes { " — " (notes) }
                        }
                    } }
                }
                @if !r.outcomes.is_empty() {
                    h2 { "Outcome measures" }
                    table {
                        thead { (header_row(&["Measure", "First", "Latest", "Change"])) }
                        tbody { @for o in &r.outcomes {
                            tr {
                                td { (outcome_words(&o.kind)) }
                                td { (o.first.1) " " (o.unit) " (" (o.first.0.format("%-d %b %Y")) ")" }
                                td { (o.latest.1) " " (o.unit) " (" (o.latest.0.format("%-d %b %Y")) ")" }
                                td { (format!("{:+}", o.change)) }
                            }
                        } }
                    }
                }
                @if !questionnaire_charts.is_empty() {
                    h2 { "Questionnaires" }
                    @for (series, svg) in &questionnaire_charts {
                        h3 { (series.title) }
                        // The SVG is built by `charts`, which escapes every value it writes.
                        figure.chart tabindex="0" { (PreEscaped(svg)) }
                        table {
                            thead { (header_row(&["Date", "Score", "Change from first", "Against the MID"])) }
                            tbody { @for p in &series.points {
                                tr {
                                    td { (p.day.format("%-d %b %Y")) }
                                    td { (p.value) @if let Some(raw) = p.raw { " (raw " (raw) ")" } }
                                    td { (format!("{:+}", (p.change_from_first * 1000.0).round() / 1000.0)) }
                                    td { (match p.change {
                                        Some(stepwise_outcomes::Change::Better) => "better",
                                        Some(stepwise_outcomes::Change::Worse) => "worse",
                                        Some(stepwise_outcomes::Change::WithinMid) => "within the MID",
                                        None => "no MID",
                                    }) }
                                }
                            } }
                        }
                        p { small { (series.notice) } }
                    }
                }
                p { small {
                    "Made " (r.generated_at.with_timezone(&tz).format("%-d %B %Y %H:%M"))
                    " (" (r.patient.timezone) ") by Stepwise."
                } }
            } }
        }
    };
    page.into_string()
}

/// A weekly mean pain to one decimal, or a dash.
/// A table's header row: one column heading per name.
fn header_row(names: &[&str]) -> Markup {
    html! { tr { @for name in names { th scope="col" { (name) } } } }
}

fn mean(value: Option<f64>) -> String {
    value.map_or("–".to_string(), |m| format!("{m:.1}"))
}
