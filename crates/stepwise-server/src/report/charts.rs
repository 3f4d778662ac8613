//! Server-rendered SVG charts of a report: the walking interval, pain before, during (the
//! highest) and two hours after each walk with the rules' pain limits drawn and labelled,
//! daily steps and nightly sleep, and each questionnaire's scores against the first score with
//! a shaded band of the first score ± the instrument's minimal important difference (MID).
//!
//! Each chart is a standalone SVG document (it can also be inlined into an HTML page) drawn
//! with `plotters`' SVG backend on a 640 × 320 canvas. The root element carries a `viewBox`
//! and `width="100%"` so the chart scales from phone width to print, `role="img"`, and
//! `aria-labelledby` pointing at a `<title>` and a `<desc>` that sum up the data in words.
//!
//! Text is measured with DejaVu Sans, embedded in the binary, so laying out labels never looks
//! for a system font at run time; the SVG itself names the generic `sans-serif` family and the
//! viewer draws the text. Colour is never the only signal: series also differ in marker shape
//! and line style. Empty data gives a chart with a "No data in this period" note; drawing
//! never panics (a failure of the drawing library gives a plain SVG with the text alternative).

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::OnceLock;

use chrono::{Days, NaiveDate, Timelike};
use chrono_tz::Tz;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use stepwise_care::calendar::local_day;
use stepwise_care::report::Report;
use stepwise_outcomes::{Change, Instrument};

/// Width of the drawing, in SVG user units.
const WIDTH: u32 = 640;
/// Height of the drawing, in SVG user units.
const HEIGHT: u32 = 320;
/// Width of the plotting area (the drawing less the y labels and margins), roughly.
const PLOT_WIDTH: f64 = 540.0;

/// The font family written into the SVG and registered for text metrics.
const FAMILY: &str = "sans-serif";
/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`): metrics only.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Text and axes.
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Grid lines.
const GRID: RGBColor = RGBColor(0xD0, 0xD0, 0xD0);
/// First series: a dark blue that stays dark in greyscale print.
const PRIMARY: RGBColor = RGBColor(0x1F, 0x4E, 0x79);
/// Second series: a burnt orange, lighter than [`PRIMARY`] in greyscale.
const SECONDARY: RGBColor = RGBColor(0xB5, 0x50, 0x0B);
/// Third series: a dark green (crosses, dotted line).
const TERTIARY: RGBColor = RGBColor(0x2E, 0x6B, 0x30);
/// Limit lines: a dark red, thin and dashed.
const LIMIT: RGBColor = RGBColor(0x9B, 0x1C, 0x1C);

/// Font sizes in SVG user units (plotters divides its sizes by 1.24 when it writes them).
/// Pages never show a chart narrower than 512 px (`min-width: 32rem`, scrolling sideways on a
/// narrower screen), so 15 units is the least: 15 × 512 ÷ 640 = 12 px.
const TITLE_PX: f64 = 20.0;
const AXIS_PX: f64 = 16.0;
const TICK_PX: f64 = 15.0;
const NOTE_PX: f64 = 15.0;

type Error = Box<dyn std::error::Error>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;
type Root<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

/// A linear axis with ticks exactly where we want them (dates, round values).
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// `0..top` with about five round ticks, `top` rounded up to the next tick.
    fn from_zero(max: f64) -> Axis {
        let max = if max.is_finite() && max > 0.0 {
            max
        } else {
            1.0
        };
        let step = nice_step(max / 5.0);
        let top = (max / step).ceil() * step;
        let count = (top / step).round() as usize;
        Axis {
            lo: 0.0,
            hi: top,
            ticks: (0..=count).map(|i| i as f64 * step).collect(),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let t = if span > 0.0 {
            (value - self.lo) / span
        } else {
            0.5
        };
        let px = f64::from(limit.0) + t * f64::from(limit.1 - limit.0);
        px.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The walking interval over the window as a step line, with a marker at every change.
pub fn interval_chart(report: &Report) -> String {
    let win = Window::of(report);
    let tz = zone(report);
    let mut steps: Vec<(f64, f64)> = Vec::new(); // (x, minutes) after each change
    for c in &report.interval.changes {
        let x = win.x_of(local_day(tz, c.at)).clamp(0.0, win.last_x());
        steps.push((x, c.to_interval_s as f64 / 60.0));
    }
    let start = report.interval.start_s as f64 / 60.0;
    let end = steps.last().map_or(start, |s| s.1);
    let top = steps
        .iter()
        .map(|s| s.1)
        .fold(start, f64::max)
        .max(end)
        .max(1.0);
    let y = Axis::from_zero(top * 1.15);

    let title = "Walking interval";
    let desc = interval_desc(report, tz);
    render(report, "interval", title, &desc, |root| {
        let mut chart = frame(
            root,
            &win,
            y,
            "Interval (min)",
            &win.date_axis_label(),
            |v| fmt_number(*v),
        )?;
        // The step line: from the start of the first day to the end of the last.
        let mut line = vec![(win.left(), start)];
        let mut current = start;
        for &(x, v) in &steps {
            line.push((x, current));
            line.push((x, v));
            current = v;
        }
        line.push((win.right(), current));
        chart.draw_series(LineSeries::new(line, PRIMARY.stroke_width(3)))?;
        chart.draw_series(
            steps
                .iter()
                .map(|&(x, v)| Circle::new((x, v), 5, PRIMARY.filled())),
        )?;
        if steps.len() <= 12 {
            // Values as m:ss above and beside each step (to the left near the right edge), the
            // starting value at the left edge.
            let labels = std::iter::once((win.left(), start))
                .chain(steps.iter().copied())
                .map(|(x, v)| {
                    let near_end = x > win.left() + 0.85 * (win.right() - win.left());
                    let (h, dx) = if near_end {
                        (HPos::Right, -7)
                    } else {
                        (HPos::Left, 7)
                    };
                    let style = font(NOTE_PX).pos(Pos::new(h, VPos::Bottom));
                    EmptyElement::at((x, v))
                        + Text::new(mmss((v * 60.0).round() as i64), (dx, -5), style)
                });
            chart.draw_series(labels)?;
        }
        Ok(())
    })
}

/// Pain before (solid line, circles), the highest during (dotted line, crosses) and two hours
/// after (dashed line, triangles) each walk, with the rules' limits for pain during and two
/// hours after as thin dashed lines labelled in text.
pub fn pain_chart(report: &Report) -> String {
    let win = Window::of(report);
    let tz = zone(report);
    let mut before = Vec::new();
    let mut during = Vec::new();
    let mut after = Vec::new();
    for w in &report.walks {
        let local = w.started_at.with_timezone(&tz);
        let x = win.x_of(local.date_naive()) - 0.5
            + f64::from(local.num_seconds_from_midnight()) / 86_400.0;
        if !(win.left()..=win.right()).contains(&x) {
            continue;
        }
        if let Some(p) = w.pain_before {
            before.push((x, p as f64));
        }
        if let Some(p) = w.pain_during_max {
            during.push((x, p as f64));
        }
        if let Some(p) = w.pain_after_2h {
            after.push((x, p as f64));
        }
    }
    let empty = before.is_empty() && during.is_empty() && after.is_empty();
    let limits = report.limits;
    // One line per distinct limit, each labelled with what it limits.
    let limit_lines: Vec<(f64, String)> = if limits.during_max == limits.after_2h_max {
        vec![(
            limits.during_max as f64,
            format!("Limit during and 2 h after: {}", limits.during_max),
        )]
    } else {
        vec![
            (
                limits.during_max as f64,
                format!("Limit during: {}", limits.during_max),
            ),
            (
                limits.after_2h_max as f64,
                format!("Limit 2 h after: {}", limits.after_2h_max),
            ),
        ]
    };

    let title = "Pain around walks";
    let desc = pain_desc(report);
    render(report, "pain", title, &desc, |root| {
        let y = Axis {
            lo: -0.5,
            hi: 10.5,
            ticks: vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0],
        };
        let mut chart = frame(
            root,
            &win,
            y,
            "Pain (0–10 NRS)",
            &win.date_axis_label(),
            |v| format!("{v:.0}"),
        )?;
        if empty {
            no_data(root)?;
        }
        let lowest = limit_lines
            .iter()
            .map(|l| l.0)
            .fold(f64::INFINITY, f64::min);
        for (value, label) in &limit_lines {
            chart.draw_series(DashedLineSeries::new(
                vec![(win.left(), *value), (win.right(), *value)],
                6,
                4,
                LIMIT.stroke_width(1),
            ))?;
            // The label sits at the right, inside the plot: above its line, or below it for
            // the lower of two limits, so two limits a point apart never share a line of text.
            let below = limit_lines.len() > 1 && *value == lowest;
            let (v, dy) = if below {
                (VPos::Top, 3)
            } else {
                (VPos::Bottom, -3)
            };
            let style = font(NOTE_PX).color(&LIMIT).pos(Pos::new(HPos::Right, v));
            chart.draw_series(std::iter::once(
                EmptyElement::at((win.right(), *value)) + Text::new(label.clone(), (-4, dy), style),
            ))?;
        }
        chart.draw_series(DashedLineSeries::new(
            during.clone(),
            2,
            4,
            TERTIARY.stroke_width(2),
        ))?;
        chart.draw_series(
            during
                .iter()
                .map(|&p| Cross::new(p, 5, TERTIARY.stroke_width(2))),
        )?;
        chart.draw_series(LineSeries::new(before.clone(), PRIMARY.stroke_width(2)))?;
        chart.draw_series(before.iter().map(|&p| Circle::new(p, 5, PRIMARY.filled())))?;
        chart.draw_series(DashedLineSeries::new(
            after.clone(),
            8,
            5,
            SECONDARY.stroke_width(2),
        ))?;
        chart.draw_series(
            after
                .iter()
                .map(|&p| TriangleMarker::new(p, 7, SECONDARY.filled())),
        )?;
        legend(root)?;
        Ok(())
    })
}

/// Daily steps as bars over every date of the window; days without band data are gaps.
pub fn steps_chart(report: &Report) -> String {
    let win = Window::of(report);
    let days: Vec<(f64, f64)> = report
        .daily
        .iter()
        .filter(|d| d.minutes_with_data > 0 && win.contains(d.date))
        .map(|d| (win.x_of(d.date), d.steps.max(0) as f64))
        .collect();
    let top = days.iter().map(|d| d.1).fold(0.0, f64::max);
    let y = Axis::from_zero((top * 1.08).max(1000.0));

    let title = "Daily steps";
    let desc = steps_desc(report, &win);
    render(report, "steps", title, &desc, |root| {
        let mut chart = frame(
            root,
            &win,
            y,
            "Steps per day",
            &win.date_axis_label(),
            |v| thousands(v.round() as i64),
        )?;
        if days.is_empty() {
            no_data(root)?;
        }
        let half = win.bar_half_width();
        chart
            .draw_series(days.iter().map(|&(x, s)| {
                Rectangle::new([(x - half, 0.0), (x + half, s)], PRIMARY.filled())
            }))?;
        Ok(())
    })
}

/// Nightly sleep in hours, each night on the date it ended; nights without data are gaps.
pub fn sleep_chart(report: &Report) -> String {
    let win = Window::of(report);
    let nights: Vec<(NaiveDate, f64)> = report
        .daily
        .iter()
        .filter(|d| d.sleep_min > 0 && win.contains(d.date))
        .map(|d| (d.date, d.sleep_min as f64 / 60.0))
        .collect();
    let top = nights.iter().map(|n| n.1).fold(0.0, f64::max);
    let y = Axis::from_zero((top + 0.5).max(10.0));

    let title = "Sleep per night (on the morning it ended)";
    let desc = sleep_desc(report, &win);
    render(report, "sleep", title, &desc, |root| {
        let mut chart = frame(root, &win, y, "Sleep (h)", &win.date_axis_label(), |v| {
            fmt_number(*v)
        })?;
        if nights.is_empty() {
            no_data(root)?;
        }
        // One line per run of consecutive nights, so a missing night breaks the line.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut prev: Option<NaiveDate> = None;
        for &(date, h) in &nights {
            let point = (win.x_of(date), h);
            match (prev, runs.last_mut()) {
                (Some(p), Some(run)) if p.succ_opt() == Some(date) => run.push(point),
                _ => runs.push(vec![point]),
            }
            prev = Some(date);
        }
        for run in runs.into_iter().filter(|r| r.len() > 1) {
            chart.draw_series(LineSeries::new(run, PRIMARY.stroke_width(2)))?;
        }
        chart.draw_series(
            nights
                .iter()
                .map(|&(d, h)| Circle::new((win.x_of(d), h), 5, PRIMARY.filled())),
        )?;
        Ok(())
    })
}

/// Band around the first score: the MID, lightly shaded so points and lines stay legible.
const BAND_OPACITY: f64 = 0.14;

/// One questionnaire's scores over time (solid line, circles) against the first score (a thin
/// dashed line), with the band first ± MID shaded and labelled; an instrument without a
/// verified MID gets no band, and the chart says so in its text. The x axis runs from the
/// first response (or the report's first day, if earlier) to the last (or the report's last
/// day), so the baseline is always drawn.
pub fn questionnaire_chart(report: &Report, instrument: Instrument) -> String {
    let series = report
        .questionnaires
        .iter()
        .find(|s| s.instrument == instrument);
    let title = format!("{} scores", short_title(instrument));
    let slug = format!("questionnaire-{}", instrument.as_str());
    let (mut from, mut to) = (report.from.min(report.to), report.to.max(report.from));
    if let Some(series) = series {
        for p in &series.points {
            from = from.min(p.day);
            to = to.max(p.day);
        }
    }
    let win = Window {
        from,
        to,
        span: (to - from).num_days(),
    };
    let range = instrument.range();
    let mid = instrument.mid().map(|m| m.value);
    let points: Vec<(f64, f64)> = series
        .map(|s| {
            s.points
                .iter()
                .map(|p| (win.x_of(p.day), p.value))
                .collect()
        })
        .unwrap_or_default();
    let first = points.first().map(|p| p.1);
    let desc = questionnaire_desc(report, instrument, &win);
    let step = (range.max - range.min) / 5.0;
    render(report, &slug, &title, &desc, |root| {
        let pad = step / 4.0;
        let y = Axis {
            lo: range.min - pad,
            hi: range.max + pad,
            ticks: (0..=5).map(|i| range.min + step * f64::from(i)).collect(),
        };
        let y_desc = format!(
            "Score ({}–{})",
            fmt_number(range.min),
            fmt_number(range.max)
        );
        let mut chart = frame(root, &win, y, &y_desc, &win.date_axis_label(), |v| {
            fmt_number(*v)
        })?;
        let Some(first) = first else {
            no_data(root)?;
            return Ok(());
        };
        // The note sits inside the plot at the right: above the band, or at the top without one.
        let note_style = font(NOTE_PX)
            .color(&INK)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        let (note, at) = match mid {
            Some(mid) => {
                let (lo, hi) = ((first - mid).max(range.min), (first + mid).min(range.max));
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(win.left(), lo), (win.right(), hi)],
                    PRIMARY.mix(BAND_OPACITY).filled(),
                )))?;
                let text = format!(
                    "Shaded: first score {} ± MID {}",
                    fmt_number(first),
                    fmt_number(mid)
                );
                // Above the band, or inside its top when the band reaches the scale's top.
                if hi + step * 0.6 <= range.max + step / 4.0 {
                    (text, (hi, -3))
                } else {
                    (text, (hi, 18))
                }
            }
            None => ("No MID band: no verified MID".to_string(), (range.max, 18)),
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at((win.right(), at.0)) + Text::new(note, (-4, at.1), note_style),
        ))?;
        chart.draw_series(DashedLineSeries::new(
            vec![(win.left(), first), (win.right(), first)],
            6,
            4,
            LIMIT.stroke_width(1),
        ))?;
        chart.draw_series(LineSeries::new(points.clone(), PRIMARY.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, PRIMARY.filled())))?;
        Ok(())
    })
}

/// An instrument's name short enough for a chart's title: the abbreviation its title ends
/// with in parentheses ("KOOS, JR."), else the whole title.
fn short_title(instrument: Instrument) -> &'static str {
    let title = instrument.title();
    title
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once('('))
        .map_or(title, |(_, short)| short)
}

/// The questionnaire chart in words: how many scores, first and latest, the change against the
/// MID, and what the band is (or that there is none).
fn questionnaire_desc(report: &Report, instrument: Instrument, win: &Window) -> String {
    let name = instrument.title();
    let Some(series) = report
        .questionnaires
        .iter()
        .find(|s| s.instrument == instrument)
    else {
        return format!("{name}: no responses yet.");
    };
    let (Some(first), Some(latest)) = (series.first(), series.latest()) else {
        return format!("{name}: no responses yet.");
    };
    let range = instrument.range();
    let mut desc = format!(
        "{name} ({}–{}, {}), {} from {} to {}. First score {} on {}; latest {} on {} ({:+}).",
        fmt_number(range.min),
        fmt_number(range.max),
        match instrument.direction() {
            stepwise_outcomes::Direction::HigherIsBetter => "higher is better",
            stepwise_outcomes::Direction::HigherIsWorse => "higher is worse",
        },
        plural(series.points.len(), "score", "scores"),
        long_date(win.from),
        long_date(win.to),
        fmt_number(first.value),
        long_date(first.day),
        fmt_number(latest.value),
        long_date(latest.day),
        (latest.change_from_first * 100.0).round() / 100.0,
    );
    match (instrument.mid(), latest.change) {
        (Some(mid), change) => {
            let verdict = match change {
                Some(Change::Better) => "better than the first by at least the MID",
                Some(Change::Worse) => "worse than the first by at least the MID",
                _ => "within the MID of the first",
            };
            let _ = write!(
                desc,
                " The latest is {verdict}. The shaded band is the first score ± the minimal \
                 important difference of {} ({}).",
                fmt_number(mid.value),
                mid.basis
            );
        }
        (None, _) => desc.push_str(
            " No band is drawn: this questionnaire has no verified minimal important difference.",
        ),
    }
    desc
}

/// The report's window as x coordinates: day `i` of the window is centred on `x = i`.
struct Window {
    from: NaiveDate,
    to: NaiveDate,
    /// Days after `from` of the last day (0 for a one-day window).
    span: i64,
}

impl Window {
    fn of(report: &Report) -> Window {
        let (from, to) = if report.to < report.from {
            (report.to, report.from)
        } else {
            (report.from, report.to)
        };
        Window {
            from,
            to,
            span: (to - from).num_days(),
        }
    }

    fn x_of(&self, date: NaiveDate) -> f64 {
        (date - self.from).num_days() as f64
    }

    fn contains(&self, date: NaiveDate) -> bool {
        (self.from..=self.to).contains(&date)
    }

    fn last_x(&self) -> f64 {
        self.span as f64
    }

    /// Start of the first day.
    fn left(&self) -> f64 {
        -0.5
    }

    /// End of the last day.
    fn right(&self) -> f64 {
        self.span as f64 + 0.5
    }

    fn days(&self) -> i64 {
        self.span + 1
    }

    /// Half a bar's width in days: 80% of a day, but at most about 40 units wide.
    fn bar_half_width(&self) -> f64 {
        let units_per_day = PLOT_WIDTH / self.days() as f64;
        (20.0 / units_per_day).min(0.4)
    }

    /// Tick positions from the first day on, every 1, 2, 3, 7, 14, 28… days: the smallest step
    /// that gives at most 8 date labels.
    fn x_range(&self) -> Axis {
        let step = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364]
            .into_iter()
            .find(|step| self.span / step < 8)
            .unwrap_or_else(|| (self.span / 7).max(1)) as usize;
        let keys = (0..=self.span)
            .step_by(step)
            .map(|i| i as f64)
            .collect::<Vec<_>>();
        Axis {
            lo: self.left(),
            hi: self.right(),
            ticks: keys,
        }
    }

    fn tick_label(&self, x: f64) -> String {
        let day = x.round();
        if (x - day).abs() > 1e-6 || day < 0.0 {
            return String::new();
        }
        self.from
            .checked_add_days(Days::new(day as u64))
            .map(short_date)
            .unwrap_or_default()
    }

    fn date_axis_label(&self) -> String {
        if self.span == 0 {
            format!("Date ({})", long_date(self.from))
        } else {
            format!("Date ({} – {})", long_date(self.from), long_date(self.to))
        }
    }
}

/// The patient's time zone; UTC if the stored name does not parse.
fn zone(report: &Report) -> Tz {
    report.patient.timezone.parse().unwrap_or(Tz::UTC)
}

fn font(px: f64) -> TextStyle<'static> {
    // plotters writes `font-size` as its size ÷ 1.24.
    (FAMILY, px * 1.24).into_font().color(&INK)
}

fn ensure_font() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok())
}

/// Axes, ticks and labels common to the charts with a date x axis and a linear y axis.
fn frame<'a, 'b>(
    root: &'a Root<'b>,
    win: &Window,
    y: Axis,
    y_desc: &str,
    x_desc: &str,
    y_fmt: impl Fn(&f64) -> String,
) -> Result<Chart<'a, 'b>, Error> {
    let mut chart = ChartBuilder::on(root)
        .margin_top(44)
        .margin_right(18)
        .margin_left(8)
        .margin_bottom(4)
        .x_label_area_size(52)
        .y_label_area_size(74)
        .build_cartesian_2d(win.x_range(), y)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID.stroke_width(1))
        .axis_style(INK.stroke_width(1))
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_PX))
        .x_label_formatter(&|x| win.tick_label(*x))
        .y_label_formatter(&y_fmt)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// The "No data in this period" note in the middle of the drawing.
fn no_data(root: &Root<'_>) -> Result<(), Error> {
    let style = font(AXIS_PX + 1.0).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(
        "No data in this period",
        (WIDTH as i32 / 2 + 30, HEIGHT as i32 / 2 - 10),
        style,
    ))?;
    Ok(())
}

/// The pain chart's legend, top right beside the title: line style and marker of each series.
fn legend(root: &Root<'_>) -> Result<(), Error> {
    let style = font(TICK_PX).pos(Pos::new(HPos::Left, VPos::Center));
    let y = 22;
    let x = 250;
    root.draw(&PathElement::new(
        vec![(x, y), (x + 28, y)],
        PRIMARY.stroke_width(2),
    ))?;
    root.draw(&Circle::new((x + 14, y), 5, PRIMARY.filled()))?;
    root.draw(&Text::new("Before", (x + 34, y), style.clone()))?;
    let x = x + 100;
    for dash in [
        (x, x + 3),
        (x + 8, x + 11),
        (x + 16, x + 19),
        (x + 24, x + 27),
    ] {
        root.draw(&PathElement::new(
            vec![(dash.0, y), (dash.1, y)],
            TERTIARY.stroke_width(2),
        ))?;
    }
    root.draw(&Cross::new((x + 14, y), 5, TERTIARY.stroke_width(2)))?;
    root.draw(&Text::new("During", (x + 34, y), style.clone()))?;
    let x = x + 100;
    for dash in [(x, x + 8), (x + 13, x + 21)] {
        root.draw(&PathElement::new(
            vec![(dash.0, y), (dash.1, y)],
            SECONDARY.stroke_width(2),
        ))?;
    }
    root.draw(&TriangleMarker::new((x + 25, y), 7, SECONDARY.filled()))?;
    root.draw(&Text::new("2 h after", (x + 36, y), style))?;
    Ok(())
}

/// Draws with plotters, then gives the root element its scaling and accessibility attributes
/// and puts the title and description first.
fn render(
    report: &Report,
    slug: &str,
    title: &str,
    desc: &str,
    draw: impl FnOnce(&Root<'_>) -> Result<(), Error>,
) -> String {
    let mut svg = String::new();
    let drawn = ensure_font() && {
        let result = (|| -> Result<(), Error> {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE)?;
            let title_style = (FAMILY, TITLE_PX * 1.24, FontStyle::Bold)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Top));
            root.draw(&Text::new(title.to_string(), (14, 10), title_style))?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        result.is_ok()
    };
    if !drawn {
        svg = fallback(title);
    }
    let id = format!("stepwise-{slug}-{}", report.patient.id);
    let open_end = match (svg.find("<svg"), svg.find('>')) {
        (Some(0), Some(end)) => end + 1,
        _ => {
            svg = fallback(title);
            svg.find('>').unwrap_or(0) + 1
        }
    };
    let svg = tidy_font_sizes(&svg);
    let mut out = String::with_capacity(svg.len() + desc.len() + 512);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" preserveAspectRatio=\"xMidYMid meet\" \
         font-family=\"{FAMILY}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\">\n\
         <title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(desc),
    );
    out.push_str(&svg[open_end..]);
    out
}

/// A plain SVG for when plotters reports an error: the title and a note.
fn fallback(title: &str) -> String {
    format!(
        "<svg width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#FFFFFF\"/>\n\
         <text x=\"14\" y=\"30\" font-size=\"19\" font-weight=\"bold\">{}</text>\n\
         <text x=\"{}\" y=\"{}\" font-size=\"16\" text-anchor=\"middle\">Chart could not be drawn</text>\n\
         </svg>\n",
        escape(title),
        WIDTH / 2,
        HEIGHT / 2,
    )
}

/// plotters writes font sizes as its size ÷ 1.24 (`15.000000000000002`): round to 0.01.
fn tidy_font_sizes(svg: &str) -> String {
    const KEY: &str = "font-size=\"";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        out.push_str(head);
        let end = tail.find('"').unwrap_or(tail.len());
        match tail[..end].parse::<f64>() {
            Ok(size) => {
                let rounded = format!("{size:.2}");
                out.push_str(rounded.trim_end_matches('0').trim_end_matches('.'));
            }
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn interval_desc(report: &Report, tz: Tz) -> String {
    let win = Window::of(report);
    let period = format!("between {} and {}", long_date(win.from), long_date(win.to));
    let start = report.interval.start_s;
    let changes = &report.interval.changes;
    let end = changes.last().map_or(start, |c| c.to_interval_s);
    let mut s = if changes.is_empty() {
        format!(
            "Walking interval stayed at {} {period}, with no changes.",
            duration(start)
        )
    } else {
        let verb = match end.cmp(&start) {
            std::cmp::Ordering::Greater => "rose",
            std::cmp::Ordering::Less => "fell",
            std::cmp::Ordering::Equal => "went",
        };
        format!(
            "Walking interval {verb} from {} to {} in {} {period}.",
            duration(start),
            duration(end),
            plural(changes.len(), "change", "changes"),
        )
    };
    if !changes.is_empty() {
        s.push_str(" Changes:");
        for (i, c) in changes.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            let _ = write!(
                s,
                "{sep}{} to {} ({})",
                short_date(local_day(tz, c.at)),
                duration(c.to_interval_s),
                match c.source {
                    stepwise_store::PlanChangeSource::Review => "weekly review",
                    stepwise_store::PlanChangeSource::Override => "changed by hand",
                    stepwise_store::PlanChangeSource::Baseline => "baseline",
                }
            );
        }
        s.push('.');
    }
    s
}

fn pain_desc(report: &Report) -> String {
    let win = Window::of(report);
    let period = format!("between {} and {}", long_date(win.from), long_date(win.to));
    let walks = &report.walks;
    if walks.is_empty() {
        return format!("No walks were logged {period}. No data in this period.");
    }
    let mut s = format!(
        "Pain on a 0 to 10 scale before, during (the highest) and two hours after {} {period}.",
        plural(walks.len(), "walk", "walks")
    );
    for (label, values) in [
        (
            "Before",
            walks
                .iter()
                .filter_map(|w| w.pain_before)
                .collect::<Vec<_>>(),
        ),
        (
            "During",
            walks.iter().filter_map(|w| w.pain_during_max).collect(),
        ),
        (
            "Two hours after",
            walks.iter().filter_map(|w| w.pain_after_2h).collect(),
        ),
    ] {
        if values.is_empty() {
            let _ = write!(s, " {label}: not reported.");
            continue;
        }
        let mean = values.iter().sum::<i64>() as f64 / values.len() as f64;
        let lo = values.iter().min().copied().unwrap_or(0);
        let hi = values.iter().max().copied().unwrap_or(0);
        let _ = write!(
            s,
            " {label}: reported for {} of {}, mean {mean:.1}, range {lo} to {hi}.",
            values.len(),
            walks.len()
        );
    }
    let _ = write!(
        s,
        " Limits of the rules: pain during up to {}, two hours after up to {}.",
        report.limits.during_max, report.limits.after_2h_max
    );
    s
}

fn steps_desc(report: &Report, win: &Window) -> String {
    let period = format!("between {} and {}", long_date(win.from), long_date(win.to));
    let days: Vec<_> = report
        .daily
        .iter()
        .filter(|d| d.minutes_with_data > 0 && win.contains(d.date))
        .collect();
    let (Some(lo), Some(hi)) = (
        days.iter().min_by_key(|d| d.steps),
        days.iter().max_by_key(|d| d.steps),
    ) else {
        return format!("No band step data {period}. No data in this period.");
    };
    let mean = days.iter().map(|d| d.steps).sum::<i64>() as f64 / days.len() as f64;
    format!(
        "Daily steps on {} of {} days {period}: mean {} steps, lowest {} on {}, highest {} on {}.",
        days.len(),
        win.days(),
        thousands(mean.round() as i64),
        thousands(lo.steps),
        short_date(lo.date),
        thousands(hi.steps),
        short_date(hi.date),
    )
}

fn sleep_desc(report: &Report, win: &Window) -> String {
    let period = format!("between {} and {}", long_date(win.from), long_date(win.to));
    let nights: Vec<_> = report
        .daily
        .iter()
        .filter(|d| d.sleep_min > 0 && win.contains(d.date))
        .collect();
    let (Some(lo), Some(hi)) = (
        nights.iter().min_by_key(|d| d.sleep_min),
        nights.iter().max_by_key(|d| d.sleep_min),
    ) else {
        return format!("No band sleep data {period}. No data in this period.");
    };
    let mean = nights.iter().map(|d| d.sleep_min).sum::<i64>() as f64 / nights.len() as f64;
    format!(
        "Nightly sleep recorded for {} of {} nights {period}, each shown on the morning it \
         ended: mean {:.1} h, shortest {:.1} h (night ending {}), longest {:.1} h (night ending {}).",
        nights.len(),
        win.days(),
        mean / 60.0,
        lo.sleep_min as f64 / 60.0,
        short_date(lo.date),
        hi.sleep_min as f64 / 60.0,
        short_date(hi.date),
    )
}

fn short_date(d: NaiveDate) -> String {
    d.format("%-d %b").to_string()
}

fn long_date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// `5 min 3 s`.
fn duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    format!("{sign}{} min {} s", s / 60, s % 60)
}

/// `5:03`.
fn mmss(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    format!("{sign}{}:{:02}", s / 60, s % 60)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `12,345`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A tick label: whole numbers plain, others with one decimal.
fn fmt_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A round tick step at or above `v`: 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

/// Escapes text for SVG/XML content and attribute values.
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

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
        assert_eq!(duration(363), "6 min 3 s");
        assert_eq!(mmss(363), "6:03");
        assert_eq!(nice_step(1.7), 2.0);
        assert_eq!(nice_step(2200.0), 2500.0);
        assert_eq!(nice_step(0.0), 1.0);
        let axis = Axis::from_zero(11_000.0);
        assert_eq!(axis.hi, 12_500.0);
        assert_eq!(axis.ticks.len(), 6);
        assert_eq!(
            tidy_font_sizes(r#"<text font-size="15.000000000000002">a</text font-size="12">"#),
            r#"<text font-size="15">a</text font-size="12">"#
        );
    }
}
