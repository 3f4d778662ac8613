//! Remote therapeutic monitoring (RTM) evidence for one patient and one calendar month, under
//! the Medicare rules in force from 1 January 2026: the 30-day device periods with their days
//! of band data, and the month's clinician minutes with the live conversations in them.
//!
//! This is **evidence, not billing advice**: it says which thresholds of [`RULES`] the
//! recorded data reaches and why, in plain words. Whether and what to bill is the clinic's
//! billing staff's decision, and payers other than Medicare have their own rules.
//!
//! Everything derives from the one table [`RULES`] (code, what it counts, its bounds, whether
//! it needs a live conversation, the codes it excludes, its source); the length of a device
//! period is the engine's [`DATA_WINDOW_DAYS`], counted with the engine's [`days_with_data`].
//! [`month_evidence`] is pure: the server hands in the monitoring start, the days with data
//! ([`data_days`] of the patient's band days), the time log and the patient's local "today".
//! `docs/rtm.md` describes the rules and their sources.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use stepwise_engine::adherence::{DATA_WINDOW_DAYS, days_with_data};
use stepwise_engine::rules::{InvalidField, check};

use crate::records::{BandDay, Id};
use crate::team::{self, ENTRY_MINUTES, LiveContact};

/// What every page and export of this evidence says first.
pub const NOT_BILLING_ADVICE: &str = "Stepwise records evidence for remote therapeutic \
     monitoring (days with band data, clinicians' minutes, live conversations) and shows which \
     CY 2026 Medicare thresholds it reaches. It is not billing advice: what to bill is for the \
     clinic's billing staff, and other payers have rules of their own.";

/// What a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Counts))]
pub enum Counts {
    /// The monitoring episode's start (set-up and patient education), once per episode.
    EpisodeStart,
    /// Distinct days with device data in one 30-day period counted from the monitoring start.
    DaysWithData,
    /// Clinician minutes of treatment management in one calendar month.
    ManagementMinutes,
}

/// The counts a rule is met for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Bounds))]
pub enum Bounds {
    /// Once per monitoring episode.
    Once,
    /// From `from` to `to`, both included.
    Between {
        /// Lowest count that meets the rule.
        from: u32,
        /// Highest count that meets the rule.
        to: u32,
    },
    /// `from` or more.
    AtLeast {
        /// Lowest count that meets the rule.
        from: u32,
    },
    /// An add-on: once for each further full `step` above the lowest count of `after`.
    EachFurther {
        /// The size of one further unit.
        step: u32,
        /// The code this one is added to.
        after: &'static str,
    },
}

/// Where a rule is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Source))]
pub struct Source {
    /// The document's title.
    pub title: &'static str,
    /// Its address.
    pub url: &'static str,
}

/// One RTM code's threshold: a row of [`RULES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Rule))]
pub struct Rule {
    /// The CPT code.
    pub code: &'static str,
    /// Its short description, in plain words.
    pub label: &'static str,
    /// What it counts.
    pub counts: Counts,
    /// The counts it is met for.
    pub bounds: Bounds,
    /// Whether the month needs at least one live conversation with the patient
    /// ([`is_interactive`]).
    pub needs_live_conversation: bool,
    /// Codes not reported with this one for the same period or month.
    pub excludes: &'static [&'static str],
    /// Where the threshold is written down.
    pub sources: &'static [Source],
}

/// The CY 2026 Medicare Physician Fee Schedule final rule (CMS-1832-F).
pub const FINAL_RULE_2026: Source = Source {
    title: "Medicare and Medicaid Programs; CY 2026 Payment Policies Under the Physician Fee \
            Schedule (CMS-1832-F), Federal Register 90 FR 49266, 5 November 2025",
    url: "https://www.federalregister.gov/documents/2025/11/05/2025-19787/medicare-and-medicaid-programs-cy-2026-payment-policies-under-the-physician-fee-schedule-and-other",
};
/// Nixon Law Group's summary of the final rule's remote-monitoring changes.
pub const NIXON_2026: Source = Source {
    title: "Nixon Law Group, CMS Finalizes 2026 Remote Monitoring Reimbursement Updates: What \
            Changed for RPM and RTM",
    url: "https://www.nixonlawgroup.com/resources/cms-finalizes-2026-remote-monitoring-reimbursement-updates-what-changed-for-rpm-and-rtm",
};
/// Force Therapeutics' summary, quoting the new codes' descriptors.
pub const FORCE_2026: Source = Source {
    title: "Force Therapeutics, CMS Updates Remote Therapeutic Monitoring (RTM) Codes in the \
            2026 Physician Fee Schedule",
    url: "https://www.forcetherapeutics.com/blog/cms-updates-remote-therapeutic-monitoring-rtm-codes-in-the-2026-physician-fee-schedule",
};
/// The 2022 RTM FAQ (Nixon Gwilt Law), quoting the original codes' descriptors.
pub const RTM_FAQ_2022: Source = Source {
    title: "Mondaq (Nixon Gwilt Law), 2022 Medicare Remote Therapeutic Monitoring FAQs: CMS \
            Final Rule",
    url: "https://webiis08.mondaq.com/unitedstates/healthcare/1131388/2022-medicare-remote-therapeutic-monitoring-faqs-cms-final-rule",
};
/// Orva's code pages: 98980 for 20 minutes or more, plus 98981 per further 20 minutes.
pub const ORVA_98979: Source = Source {
    title: "Orva, CPT 98979 in 2026: RTM treatment management 10 to 19 minutes",
    url: "https://www.getorva.com/cptcodes/98979",
};
/// Prompt Health's note that 98979 and 98980/98981 are not reported in the same month.
pub const PROMPT_98979: Source = Source {
    title: "Prompt Health help center, 98979 Code: First 10-min RTM Services Overview",
    url: "https://prompt-engage.helpscoutdocs.com/article/2480-98979-code-first-10-min-rtm-services-overview",
};
/// Bone Arc's note that 98985 and 98977 are one per 30-day period, never both.
pub const BONEARC_DATA_DAYS: Source = Source {
    title: "Bone Arc, RTM Data-Days: The 16-Day Threshold, Demystified",
    url: "https://bonearc.com/blog/rtm-data-days/",
};
/// Bone Arc's note on what a live (synchronous) conversation is.
pub const BONEARC_INTERACTIVE: Source = Source {
    title: "Bone Arc, The RTM Interactive Call Requirement, Explained",
    url: "https://bonearc.com/blog/rtm-interactive-call/",
};

/// The RTM thresholds, from the CY 2026 final rule and the CPT descriptors it adopts. Every
/// other figure in this module derives from this table; `docs/rtm.md` prints it.
pub const RULES: &[Rule] = &[
    Rule {
        code: "98975",
        label: "initial set-up and patient education on use of the equipment",
        counts: Counts::EpisodeStart,
        bounds: Bounds::Once,
        needs_live_conversation: false,
        excludes: &[],
        sources: &[RTM_FAQ_2022],
    },
    Rule {
        code: "98985",
        label: "device supply, musculoskeletal, 2–15 days of data in a 30-day period",
        counts: Counts::DaysWithData,
        bounds: Bounds::Between { from: 2, to: 15 },
        needs_live_conversation: false,
        excludes: &["98977"],
        sources: &[FINAL_RULE_2026, NIXON_2026, FORCE_2026, BONEARC_DATA_DAYS],
    },
    Rule {
        code: "98977",
        label: "device supply, musculoskeletal, 16–30 days of data in a 30-day period",
        counts: Counts::DaysWithData,
        bounds: Bounds::Between {
            from: 16,
            to: DATA_WINDOW_DAYS as u32,
        },
        needs_live_conversation: false,
        excludes: &["98985"],
        sources: &[RTM_FAQ_2022, FORCE_2026, BONEARC_DATA_DAYS],
    },
    Rule {
        code: "98979",
        label: "treatment management, first 10 minutes in a calendar month (10–19 minutes)",
        counts: Counts::ManagementMinutes,
        bounds: Bounds::Between { from: 10, to: 19 },
        needs_live_conversation: true,
        excludes: &["98980", "98981"],
        sources: &[FINAL_RULE_2026, NIXON_2026, FORCE_2026, PROMPT_98979],
    },
    Rule {
        code: "98980",
        label: "treatment management, first 20 minutes in a calendar month",
        counts: Counts::ManagementMinutes,
        bounds: Bounds::AtLeast { from: 20 },
        needs_live_conversation: true,
        excludes: &["98979"],
        sources: &[RTM_FAQ_2022, ORVA_98979, PROMPT_98979],
    },
    Rule {
        code: "98981",
        label: "treatment management, each additional 20 minutes in the calendar month",
        counts: Counts::ManagementMinutes,
        bounds: Bounds::EachFurther {
            step: 20,
            after: "98980",
        },
        needs_live_conversation: true,
        excludes: &["98979"],
        sources: &[RTM_FAQ_2022, ORVA_98979, PROMPT_98979],
    },
];

/// The rule of `code`, if [`RULES`] has it.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

/// The lowest count that meets a rule: its first unit for an add-on.
fn lowest(rule: &Rule) -> u32 {
    match rule.bounds {
        Bounds::Once => 1,
        Bounds::Between { from, .. } | Bounds::AtLeast { from } => from,
        Bounds::EachFurther { step, after } => rule_lowest(after).saturating_add(step),
    }
}

fn rule_lowest(code: &str) -> u32 {
    // An add-on names a code of the table (a unit test checks it); a missing one never meets.
    rule(code).map_or(u32::MAX, lowest)
}

/// How often a rule is met by `count`: 0 or 1, or the number of further units of an add-on.
fn units(rule: &Rule, count: u32) -> u32 {
    match rule.bounds {
        Bounds::Once => u32::from(count > 0),
        Bounds::Between { from, to } => u32::from((from..=to).contains(&count)),
        Bounds::AtLeast { from } => u32::from(count >= from),
        Bounds::EachFurther { step, after } => {
            let base = rule_lowest(after);
            if count < base || step == 0 {
                0
            } else {
                (count - base) / step
            }
        }
    }
}

/// The ways of talking with the patient that count as the live (real-time, synchronous,
/// interactive) conversation the management codes need: a call or a video call. An
/// in-person conversation is recorded and shown but not counted: the sources found describe
/// the requirement as real-time audio, with or without video, and none of the primary ones
/// read says whether a conversation in person meets it (see `docs/rtm.md`).
pub const INTERACTIVE_CONTACTS: &[LiveContact] = &[LiveContact::Call, LiveContact::Video];

/// Whether `contact` counts as the live conversation the management codes need
/// ([`INTERACTIVE_CONTACTS`]).
pub fn is_interactive(contact: LiveContact) -> bool {
    INTERACTIVE_CONTACTS.contains(&contact)
}

/// One entry of the clinicians' time log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::TimeEntry))]
pub struct TimeEntry {
    /// The patient's local date the time was spent on.
    pub date: NaiveDate,
    /// Minutes of treatment management, within [`ENTRY_MINUTES`].
    pub minutes: u32,
    /// The clinician's account.
    pub clinician_id: Id,
    /// The clinician's name as shown.
    pub clinician_name: String,
    /// The live conversation with the patient it included, if any.
    pub live: Option<LiveContact>,
    /// What was done, in the clinician's words.
    pub activity: String,
}

impl TimeEntry {
    /// An entry of the care team's time log as evidence; `None` for a timer still running.
    pub fn logged(entry: &team::TimeEntry) -> Option<TimeEntry> {
        Some(TimeEntry {
            date: entry.performed_on,
            minutes: u32::try_from(entry.minutes?).unwrap_or(0),
            clinician_id: entry.clinician_id,
            clinician_name: entry.clinician_name.clone(),
            live: entry.live,
            activity: entry.activity.clone(),
        })
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::CalendarMonth))]
pub struct CalendarMonth {
    /// The year, 1 to 9999.
    pub year: i32,
    /// The month, 1 (January) to 12.
    pub month: u32,
}

impl CalendarMonth {
    /// The month's first and last day, or the field that is out of range.
    pub fn days(self) -> Result<(NaiveDate, NaiveDate), InvalidField> {
        check("month.year", i64::from(self.year), 1..=9999)?;
        check("month.month", i64::from(self.month), 1..=12)?;
        let first = NaiveDate::from_ymd_opt(self.year, self.month, 1);
        let next = if self.month == 12 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, self.month + 1, 1)
        };
        match (first, next.and_then(|n| n.pred_opt())) {
            (Some(first), Some(last)) => Ok((first, last)),
            // Unreachable within the checked ranges; answered rather than panicking.
            _ => Err(InvalidField {
                field: "month.year".into(),
                value: i64::from(self.year),
                allowed: 1..=9999,
            }),
        }
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> CalendarMonth {
        CalendarMonth {
            year: date.year(),
            month: date.month(),
        }
    }
}

/// Everything the month's evidence is computed from.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The first day of monitoring (the patient's local date): device periods count from it.
    pub monitoring_start: NaiveDate,
    /// The patient's local dates with device data (any order, duplicates allowed); see
    /// [`data_days`].
    pub data_days: Vec<NaiveDate>,
    /// The time log (any order; entries outside the month are ignored).
    pub entries: Vec<TimeEntry>,
    /// The month.
    pub month: CalendarMonth,
    /// The patient's local date today: a period or month not over yet is in progress.
    pub today: NaiveDate,
}

/// The dates with device data among a patient's band days: days with any minute the band
/// reported or any sleep, synced or imported ([`BandDay::has_data`], the report's rule).
pub fn data_days(band_days: &[BandDay]) -> Vec<NaiveDate> {
    band_days
        .iter()
        .filter(|d| d.has_data())
        .map(|d| d.date)
        .collect()
}

/// Where a period or month stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Progress))]
pub enum Progress {
    /// Its last day has passed.
    Complete,
    /// Today is one of its days: its counts may still grow.
    InProgress,
    /// Its first day is after today.
    NotStarted,
}

impl Progress {
    fn of(first: NaiveDate, last: NaiveDate, today: NaiveDate) -> Progress {
        if today > last {
            Progress::Complete
        } else if today >= first {
            Progress::InProgress
        } else {
            Progress::NotStarted
        }
    }
}

/// One 30-day device period that overlaps the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::DevicePeriod))]
pub struct DevicePeriod {
    /// Which period since the monitoring start, from 1.
    pub number: u32,
    /// First day.
    pub first_day: NaiveDate,
    /// Last day ([`DATA_WINDOW_DAYS`] days in all).
    pub last_day: NaiveDate,
    /// Where it stands today.
    pub progress: Progress,
    /// Distinct days with data in it.
    pub days_with_data: u32,
    /// Those days, oldest first.
    pub data_days: Vec<NaiveDate>,
    /// The device-supply code its days meet (so far, while in progress), if any.
    pub code_met: Option<String>,
    /// Why, in plain words.
    pub why: String,
}

/// One clinician's minutes in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::ClinicianTime))]
pub struct ClinicianTime {
    /// The clinician's account.
    pub clinician_id: Id,
    /// Their name as last logged in the month.
    pub clinician_name: String,
    /// Their minutes in the month.
    pub minutes: u32,
    /// Their entries in the month, by date.
    pub entries: Vec<TimeEntry>,
}

/// A conversation with the patient in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Conversation))]
pub struct Conversation {
    /// When.
    pub date: NaiveDate,
    /// How.
    pub contact: LiveContact,
    /// With whom.
    pub clinician_id: Id,
    /// Their name.
    pub clinician_name: String,
    /// Whether it counts as the live conversation the management codes need
    /// ([`is_interactive`]).
    pub counts_as_live: bool,
}

/// Whether the recorded data reaches one code's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::CodeEvidence))]
pub struct CodeEvidence {
    /// The CPT code.
    pub code: String,
    /// Whether the threshold is reached.
    pub met: bool,
    /// How many times (1 for a base code, the further units for an add-on, 0 when not met).
    pub units: u32,
    /// Why, in plain words.
    pub why: String,
}

/// The month's treatment management time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::Management))]
pub struct Management {
    /// Minutes in the month, all clinicians.
    pub total_minutes: u32,
    /// Per clinician, most minutes first.
    pub clinicians: Vec<ClinicianTime>,
    /// Conversations with the patient, by date.
    pub conversations: Vec<Conversation>,
    /// Each management code of [`RULES`], in the table's order.
    pub codes: Vec<CodeEvidence>,
}

/// The monitoring episode's start, for the set-up code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::EpisodeStart))]
pub struct EpisodeStart {
    /// The set-up code.
    pub code: String,
    /// The first day of monitoring.
    pub monitoring_start: NaiveDate,
    /// Whether it falls in the month.
    pub in_month: bool,
    /// In plain words.
    pub why: String,
}

/// One patient's RTM evidence for one calendar month. Evidence, not billing advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = rtm::MonthEvidence))]
pub struct MonthEvidence {
    /// First day of the month.
    pub first_day: NaiveDate,
    /// Last day of the month.
    pub last_day: NaiveDate,
    /// Where the month stands today.
    pub progress: Progress,
    /// The first day of monitoring.
    pub monitoring_start: NaiveDate,
    /// The set-up code's evidence, when [`RULES`] has one.
    pub episode_start: Option<EpisodeStart>,
    /// The 30-day periods from the monitoring start that overlap the month, oldest first
    /// (none when monitoring starts after the month).
    pub periods: Vec<DevicePeriod>,
    /// The month's management minutes and conversations.
    pub management: Management,
}

/// Computes one patient's RTM evidence for a calendar month (pure). Errors name the field
/// that is out of range: the month, or an entry's minutes (`entries[2].minutes = 0 is
/// outside 1..=600`).
pub fn month_evidence(inputs: &Inputs) -> Result<MonthEvidence, InvalidField> {
    let (first_day, last_day) = inputs.month.days()?;
    for (i, entry) in inputs.entries.iter().enumerate() {
        check(
            format!("entries[{i}].minutes"),
            i64::from(entry.minutes),
            ENTRY_MINUTES,
        )?;
    }
    let start = inputs.monitoring_start;
    let episode_start = RULES
        .iter()
        .find(|r| r.counts == Counts::EpisodeStart)
        .map(|r| episode(r, start, first_day, last_day));
    Ok(MonthEvidence {
        first_day,
        last_day,
        progress: Progress::of(first_day, last_day, inputs.today),
        monitoring_start: start,
        episode_start,
        periods: periods(inputs, first_day, last_day),
        management: management(inputs, first_day, last_day),
    })
}

fn episode(rule: &Rule, start: NaiveDate, first: NaiveDate, last: NaiveDate) -> EpisodeStart {
    let in_month = (first..=last).contains(&start);
    let when = if in_month {
        "in this month"
    } else if start < first {
        "before this month"
    } else {
        "after this month"
    };
    EpisodeStart {
        code: rule.code.into(),
        monitoring_start: start,
        in_month,
        why: format!(
            "monitoring started on {start}, {when}; {} ({}) is once per episode, and \
             Stepwise records the start date, not the education given",
            rule.code, rule.label
        ),
    }
}

/// The `n`-th period's first day (from 0), or `None` past the calendar's end.
fn period_first(start: NaiveDate, n: u64) -> Option<NaiveDate> {
    start.checked_add_days(Days::new(n.checked_mul(DATA_WINDOW_DAYS)?))
}

fn periods(inputs: &Inputs, first: NaiveDate, last: NaiveDate) -> Vec<DevicePeriod> {
    let start = inputs.monitoring_start;
    if start > last {
        return Vec::new();
    }
    let days: BTreeSet<NaiveDate> = inputs.data_days.iter().copied().collect();
    // The first period that can overlap the month: the one holding the month's first day.
    let skip = u64::try_from((first - start).num_days()).unwrap_or(0) / DATA_WINDOW_DAYS;
    let mut out = Vec::new();
    let mut n = skip;
    while let Some(p_first) = period_first(start, n) {
        if p_first > last {
            break;
        }
        let Some(p_last) = p_first.checked_add_days(Days::new(DATA_WINDOW_DAYS - 1)) else {
            break;
        };
        let in_period: Vec<NaiveDate> = days.range(p_first..=p_last).copied().collect();
        let count = days_with_data(in_period.iter().copied(), p_last);
        let progress = Progress::of(p_first, p_last, inputs.today);
        let (code_met, why) = device_code(count, progress, p_last);
        out.push(DevicePeriod {
            number: u32::try_from(n + 1).unwrap_or(u32::MAX),
            first_day: p_first,
            last_day: p_last,
            progress,
            days_with_data: count,
            data_days: in_period,
            code_met,
            why,
        });
        n += 1;
    }
    out
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn device_code(days: u32, progress: Progress, last: NaiveDate) -> (Option<String>, String) {
    let rules: Vec<&Rule> = RULES
        .iter()
        .filter(|r| r.counts == Counts::DaysWithData)
        .collect();
    let met = rules.iter().find(|r| units(r, days) > 0);
    let so_far = match progress {
        Progress::Complete => String::new(),
        Progress::InProgress | Progress::NotStarted => format!(" so far (the period ends {last})"),
    };
    let counted = format!(
        "{}{so_far}",
        plural(days, "day with data", "days with data")
    );
    let mut why = match met {
        Some(r) => format!("{counted}: {} ({})", r.code, range_words(r, "days")),
        None => format!("{counted}: no device-supply code"),
    };
    // The next threshold up, so "15 days: 1 short of 16 for 98977" is said.
    if let Some(next) = rules
        .iter()
        .filter(|r| lowest(r) > days)
        .min_by_key(|r| lowest(r))
    {
        why.push_str("; ");
        why.push_str(&shortfall(days, lowest(next), next.code));
    }
    (met.map(|r| r.code.to_string()), why)
}

/// `1 short of 16 for 98977`, or `98985 needs 2` from nothing.
fn shortfall(count: u32, needed: u32, code: &str) -> String {
    if count == 0 {
        format!("{code} needs {needed}")
    } else {
        format!(
            "{} short of {needed} for {code}",
            needed.saturating_sub(count)
        )
    }
}

fn range_words(rule: &Rule, unit: &str) -> String {
    match rule.bounds {
        Bounds::Once => "once per episode".into(),
        Bounds::Between { from, to } => format!("{from}–{to} {unit}"),
        Bounds::AtLeast { from } => format!("{from} {unit} or more"),
        Bounds::EachFurther { step, after } => format!("each further {step} {unit} after {after}"),
    }
}

fn management(inputs: &Inputs, first: NaiveDate, last: NaiveDate) -> Management {
    let mut in_month: Vec<&TimeEntry> = inputs
        .entries
        .iter()
        .filter(|e| (first..=last).contains(&e.date))
        .collect();
    in_month.sort_by_key(|e| (e.date, e.clinician_id));
    let total = in_month
        .iter()
        .fold(0u32, |sum, e| sum.saturating_add(e.minutes));

    let mut clinicians: Vec<ClinicianTime> = Vec::new();
    for entry in &in_month {
        match clinicians
            .iter_mut()
            .find(|c| c.clinician_id == entry.clinician_id)
        {
            Some(c) => {
                c.minutes = c.minutes.saturating_add(entry.minutes);
                c.clinician_name.clone_from(&entry.clinician_name);
                c.entries.push((*entry).clone());
            }
            None => clinicians.push(ClinicianTime {
                clinician_id: entry.clinician_id,
                clinician_name: entry.clinician_name.clone(),
                minutes: entry.minutes,
                entries: vec![(*entry).clone()],
            }),
        }
    }
    clinicians.sort_by(|a, b| {
        b.minutes
            .cmp(&a.minutes)
            .then(a.clinician_id.cmp(&b.clinician_id))
    });

    let conversations: Vec<Conversation> = in_month
        .iter()
        .filter_map(|e| {
            e.live.map(|contact| Conversation {
                date: e.date,
                contact,
                clinician_id: e.clinician_id,
                clinician_name: e.clinician_name.clone(),
                counts_as_live: is_interactive(contact),
            })
        })
        .collect();

    let codes = RULES
        .iter()
        .filter(|r| r.counts == Counts::ManagementMinutes)
        .map(|r| management_code(r, total, &conversations, inputs.monitoring_start, last))
        .collect();
    Management {
        total_minutes: total,
        clinicians,
        conversations,
        codes,
    }
}

fn management_code(
    rule: &Rule,
    total: u32,
    conversations: &[Conversation],
    monitoring_start: NaiveDate,
    month_last: NaiveDate,
) -> CodeEvidence {
    let minutes = plural(total, "minute", "minutes");
    let not_met = |why: String| CodeEvidence {
        code: rule.code.into(),
        met: false,
        units: 0,
        why,
    };
    if monitoring_start > month_last {
        return not_met(format!(
            "{minutes}: monitoring starts on {monitoring_start}, after this month"
        ));
    }
    let units = units(rule, total);
    if units == 0 {
        let low = lowest(rule);
        if total < low {
            return not_met(format!("{minutes}: {}", shortfall(total, low, rule.code)));
        }
        // Above a bounded range: name the codes whose minutes these are (whether those are
        // met also depends on the live conversation, which their own lines say).
        let instead: Vec<&str> = rule
            .excludes
            .iter()
            .copied()
            .filter(|code| rule_units(code, total) > 0)
            .collect();
        return not_met(if instead.is_empty() {
            format!("{minutes}: outside {}", range_words(rule, "minutes"))
        } else {
            format!(
                "{minutes}: more than {} ({}); these minutes fall under {}",
                range_top(rule),
                range_words(rule, "minutes"),
                instead.join(" and ")
            )
        });
    }
    if rule.needs_live_conversation {
        match conversations.iter().find(|c| c.counts_as_live) {
            Some(live) => {
                let times = if matches!(rule.bounds, Bounds::EachFurther { .. }) {
                    format!(" × {units}")
                } else {
                    String::new()
                };
                CodeEvidence {
                    code: rule.code.into(),
                    met: true,
                    units,
                    why: format!(
                        "{minutes} ({}) and a live conversation ({}, {}, {}): {}{times}",
                        range_words(rule, "minutes"),
                        live.contact.words(),
                        live.date,
                        live.clinician_name,
                        rule.code
                    ),
                }
            }
            None => {
                let in_person = conversations
                    .iter()
                    .find(|c| c.contact == LiveContact::InPerson);
                not_met(match in_person {
                    Some(c) => format!(
                        "{minutes}, but no live conversation by call or video this month (an \
                         in-person conversation on {} is recorded; whether it counts is for \
                         the billing staff)",
                        c.date
                    ),
                    None => format!("{minutes}, but no live conversation this month"),
                })
            }
        }
    } else {
        CodeEvidence {
            code: rule.code.into(),
            met: true,
            units,
            why: format!("{minutes} ({})", range_words(rule, "minutes")),
        }
    }
}

fn rule_units(code: &str, count: u32) -> u32 {
    rule(code).map_or(0, |r| units(r, count))
}

fn range_top(rule: &Rule) -> u32 {
    match rule.bounds {
        Bounds::Between { to, .. } => to,
        _ => lowest(rule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_every_named_code_is_in_the_table() {
        let codes: BTreeSet<&str> = RULES.iter().map(|r| r.code).collect();
        assert_eq!(codes.len(), RULES.len());
        for r in RULES {
            for code in r.excludes {
                assert!(codes.contains(code), "{} excludes unknown {code}", r.code);
            }
            if let Bounds::EachFurther { after, .. } = r.bounds {
                assert!(codes.contains(after), "{} adds to unknown {after}", r.code);
            }
            assert!(!r.sources.is_empty(), "{} has no source", r.code);
        }
    }

    #[test]
    fn exclusions_go_both_ways() {
        for r in RULES {
            for code in r.excludes {
                let other = rule(code).unwrap();
                assert!(
                    other.excludes.contains(&r.code),
                    "{} excludes {code} but not the other way",
                    r.code
                );
            }
        }
    }

    #[test]
    fn device_ranges_meet_end_to_end_and_fill_the_period() {
        // 98985 is 2–15 and 98977 16–30: no day count between them is left out, and the top
        // is the period's length.
        let mut ranges: Vec<(u32, u32)> = RULES
            .iter()
            .filter(|r| r.counts == Counts::DaysWithData)
            .map(|r| match r.bounds {
                Bounds::Between { from, to } => (from, to),
                other => panic!("{}: {other:?}", r.code),
            })
            .collect();
        ranges.sort();
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1 + 1, pair[1].0);
        }
        assert_eq!(ranges.last().unwrap().1 as u64, DATA_WINDOW_DAYS);
    }

    #[test]
    fn the_short_management_range_ends_where_the_twenty_minute_code_begins() {
        let short = rule("98979").unwrap();
        let first20 = rule("98980").unwrap();
        assert_eq!(range_top(short) + 1, lowest(first20));
        assert_eq!(lowest(rule("98981").unwrap()), 40);
    }

    #[test]
    fn in_person_is_recorded_but_not_counted_as_live() {
        assert!(is_interactive(LiveContact::Call));
        assert!(is_interactive(LiveContact::Video));
        assert!(!is_interactive(LiveContact::InPerson));
    }

    #[test]
    fn a_bad_month_names_the_field() {
        let err = CalendarMonth {
            year: 2026,
            month: 13,
        }
        .days()
        .unwrap_err();
        assert_eq!(err.to_string(), "month.month = 13 is outside 1..=12");
        let (first, last) = CalendarMonth {
            year: 2028,
            month: 2,
        }
        .days()
        .unwrap();
        assert_eq!((first.day(), last.day()), (1, 29));
    }
}
