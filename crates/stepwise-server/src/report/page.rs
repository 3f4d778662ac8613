//! The printable HTML report page: the summary and attention items first, then the figures,
//! the four charts inline (each with its text alternative), and the tables. Server-rendered,
//! no scripts; every value from the data is HTML-escaped.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use stepwise_engine::Decision;

use super::build::{duration_text, percent};
use super::charts;
use super::model::{Report, Trend};

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

/// Escapes text for HTML and SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
    let mut html = String::new();
    let tz: Tz = r.patient.timezone.parse().unwrap_or(Tz::UTC);
    let name = escape(&r.patient.display_name);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Pre-visit report: {name}</title><link rel=\"icon\" href=\"/icons/icon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/report.css\"></head><body><main>\
         <h1>Pre-visit report: {name}</h1><p>{} to {} (dates and times in {}){}</p>",
        r.from.format("%-d %B %Y"),
        r.to.format("%-d %B %Y"),
        escape(&r.patient.timezone),
        r.patient
            .next_visit
            .map(|v| format!(" · next visit {}", v.format("%-d %B %Y")))
            .unwrap_or_default()
    );
    let base = format!(
        "/api/v1/patients/{}/report?from={}&amp;to={}",
        r.patient.id, r.from, r.to
    );
    let export = |path: &str| {
        format!(
            "/api/v1/patients/{}/report/{path}?from={}&amp;to={}",
            r.patient.id, r.from, r.to
        )
    };
    let _ = write!(
        html,
        "<p class=\"links\">Download: <a href=\"{}\">sessions (CSV)</a><a href=\"{}\">daily band data (CSV)</a>\
         <a href=\"{}\">decisions (CSV)</a><a href=\"{}\">FHIR R4 bundle</a><a href=\"{base}\">JSON</a></p>",
        export("sessions.csv"),
        export("daily.csv"),
        export("decisions.csv"),
        export("fhir")
    );
    let _ = write!(html, "<p class=\"summary\">{}</p>", escape(&r.summary));
    if r.attention.is_empty() {
        html.push_str("<p>Nothing needs attention.</p>");
    } else {
        html.push_str("<section class=\"attention\" aria-labelledby=\"attention\"><h2 id=\"attention\">Needs attention</h2><ul>");
        for item in &r.attention {
            let _ = write!(
                html,
                "<li class=\"{}\"><strong>{}:</strong> {}</li>",
                item.level,
                escape(item.title),
                escape(&item.message)
            );
        }
        html.push_str("</ul></section>");
    }
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
    let _ = write!(
        html,
        "<h2>At a glance</h2><div class=\"figures\">\
         <div class=\"figure\">Sessions done<b>{} of {} ({})</b>{}</div>\
         <div class=\"figure\">Confirmed by the band<b>{} of {} ({})</b></div>\
         <div class=\"figure\">Two-hour checks answered (of those due)<b>{} of {} ({})</b></div>\
         <div class=\"figure\">Days with band data<b>{}</b></div>\
         <div class=\"figure\">Walking interval<b>{} → {}</b></div>\
         <div class=\"figure\">Steps<b>{}</b></div>\
         <div class=\"figure\">Sleep<b>{}</b></div></div>",
        a.done,
        a.prescribed,
        percent(a.share),
        if a.adherent {
            "adherent (≥ 80%)"
        } else {
            "below 80%"
        },
        v.verified,
        v.walks,
        percent(v.share),
        c.answered,
        c.answered + c.missed,
        percent(c.share),
        escape(&data_days),
        duration_text(r.interval.start_s),
        duration_text(r.interval.end_s),
        escape(&trend_text(&r.steps_trend)),
        escape(&trend_text(&r.sleep_trend)),
    );
    html.push_str("<h2>Charts</h2>");
    for svg in [
        charts::interval_chart(r),
        charts::pain_chart(r),
        charts::steps_chart(r),
        charts::sleep_chart(r),
    ] {
        // Focusable: on a narrow screen the chart scrolls sideways (see report.css).
        let _ = write!(
            html,
            "<figure class=\"chart\" tabindex=\"0\">{svg}</figure>"
        );
    }
    html.push_str("<h2>Weekly adherence</h2><table><thead><tr><th scope=\"col\">Week of</th><th scope=\"col\">Done</th><th scope=\"col\">Prescribed</th><th scope=\"col\">Share</th><th scope=\"col\">Mean pain before</th><th scope=\"col\">Mean pain 2 h after</th></tr></thead><tbody>");
    for (w, p) in r.adherence.weeks.iter().zip(&r.pain_weeks) {
        let mean = |m: Option<f64>| m.map_or("–".to_string(), |m| format!("{m:.1}"));
        let _ = write!(
            html,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            w.week_start.format("%-d %b"),
            if w.complete { "" } else { " (so far)" },
            w.done,
            w.prescribed,
            percent(w.share),
            mean(p.mean_before),
            mean(p.mean_after_2h)
        );
    }
    html.push_str("</tbody></table>");
    html.push_str("<h2>Decisions</h2>");
    if r.decisions.is_empty() {
        html.push_str("<p>No weekly decisions in this period.</p>");
    } else {
        html.push_str("<table><thead><tr><th scope=\"col\">Week of</th><th scope=\"col\">Decision</th><th scope=\"col\">Interval</th><th scope=\"col\">Why</th></tr></thead><tbody>");
        for d in &r.decisions {
            let reasons: Vec<String> = d.reasons.iter().map(|r| escape(&r.text)).collect();
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}{}{}</td><td>{} → {}</td><td>{}</td></tr>",
                d.week_start.format("%-d %b"),
                decision_words(d.decision),
                if d.applied {
                    ""
                } else {
                    " (not applied: paused)"
                },
                match (d.decision, d.acknowledged_at) {
                    (Decision::Escalate, Some(at)) => format!(
                        "<br>Acknowledged {}{}",
                        local_time(tz, at),
                        d.acknowledgement_note
                            .as_deref()
                            .map(|n| format!(": “{}”", escape(n)))
                            .unwrap_or_default()
                    ),
                    (Decision::Escalate, None) => "<br>Waiting for acknowledgement".to_string(),
                    _ => String::new(),
                },
                duration_text(d.previous_interval_s),
                duration_text(d.interval_s),
                reasons.join("<br>")
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("<h2>Walks</h2><table><thead><tr><th scope=\"col\">Day</th><th scope=\"col\">Walked</th><th scope=\"col\">Pain before</th><th scope=\"col\">Highest during</th><th scope=\"col\">2 h after</th><th scope=\"col\">Next morning</th><th scope=\"col\">Effort</th><th scope=\"col\">Band</th></tr></thead><tbody>");
    for w in &r.walks {
        let band = match w.verified {
            Some(true) => "confirmed",
            Some(false) => "not confirmed",
            None => "no data",
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{band}</td></tr>",
            w.day.format("%a %-d %b"),
            duration_text(w.walked_s),
            score(w.pain_before),
            score(w.pain_during_max),
            score(w.pain_after_2h),
            score(w.pain_next_morning),
            score(w.effort)
        );
    }
    html.push_str("</tbody></table>");
    if !r.flares.is_empty() {
        html.push_str("<h2>Flares</h2><ul>");
        for f in &r.flares {
            let _ = write!(
                html,
                "<li>{}: pain {}/10{}</li>",
                local_time(tz, f.reported.started_at),
                f.reported.pain,
                f.reported
                    .notes
                    .as_deref()
                    .map(|n| format!(" — {}", escape(n)))
                    .unwrap_or_default()
            );
        }
        html.push_str("</ul>");
    }
    if !r.outcomes.is_empty() {
        html.push_str("<h2>Outcome measures</h2><table><thead><tr><th scope=\"col\">Measure</th><th scope=\"col\">First</th><th scope=\"col\">Latest</th><th scope=\"col\">Change</th></tr></thead><tbody>");
        for o in &r.outcomes {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{} {} ({})</td><td>{} {} ({})</td><td>{:+}</td></tr>",
                escape(&outcome_words(&o.kind)),
                o.first.1,
                escape(o.unit),
                o.first.0.format("%-d %b %Y"),
                o.latest.1,
                escape(o.unit),
                o.latest.0.format("%-d %b %Y"),
                o.change
            );
        }
        html.push_str("</tbody></table>");
    }
    let _ = write!(
        html,
        "<p><small>Made {} ({}) by Stepwise.</small></p></main></body></html>",
        r.generated_at.with_timezone(&tz).format("%-d %B %Y %H:%M"),
        escape(&r.patient.timezone)
    );
    html
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
