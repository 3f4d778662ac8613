//! Field checks for request bodies. Each names the field and what it allows; out-of-range
//! scores use the engine's own ranges so the API and the engine never disagree.

use std::ops::RangeInclusive;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use stepwise_engine::rules::{SCORE, check};
use stepwise_wearables::records::YEARS;

use crate::error::{ApiError, ApiResult};

/// Every date the API takes or stores — a range asked for, a week to review, a visit, the day
/// an outcome was measured — lies in this window. Clinical dates are recent; the bound also
/// keeps every computation on dates and instants far from the calendar's limits. The years are
/// `stepwise_wearables::records::YEARS`, which band data and imports keep to as well.
pub const DATES: RangeInclusive<NaiveDate> = match (
    NaiveDate::from_ymd_opt(*YEARS.start(), 1, 1),
    NaiveDate::from_ymd_opt(*YEARS.end(), 12, 31),
) {
    (Some(first), Some(last)) => first..=last,
    _ => panic!("the date window's ends are dates"),
};

/// A date within [`DATES`].
pub fn date(field: &str, value: NaiveDate) -> ApiResult<NaiveDate> {
    if DATES.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} = {value} is outside the dates Stepwise keeps"),
            format!("{}..={}", DATES.start(), DATES.end()),
        ))
    }
}

/// Parses an IANA zone name such as `Europe/Berlin`.
pub fn parse_zone(field: &str, name: &str) -> Result<Tz, ApiError> {
    name.parse::<Tz>().map_err(|_| {
        ApiError::invalid(
            field,
            format!("{name:?} is not an IANA time zone"),
            "an IANA time zone name such as Europe/Berlin or America/New_York",
        )
    })
}

/// How far ahead of the server's clock a client's instant may be (clock skew).
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// An integer within `allowed`.
pub fn in_range(field: &str, value: i64, allowed: RangeInclusive<i64>) -> ApiResult<()> {
    Ok(check(field, value, allowed)?)
}

/// An optional NRS/Borg score, 0–10.
pub fn score(field: &str, value: Option<i64>) -> ApiResult<()> {
    match value {
        Some(v) => in_range(field, v, SCORE),
        None => Ok(()),
    }
}

/// A client-generated id: 1–64 characters of letters, digits, `-` and `_` (UUIDs fit).
pub fn client_id(field: &str, value: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} {value:?} is not a valid id"),
            "1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// Free text of at most `max` characters, with no control characters but line breaks and
/// tabs (a NUL or an escape code in a name would reach every page and export that shows it).
pub fn text(field: &str, value: &str, max: usize) -> ApiResult<()> {
    let len = value.chars().count();
    if len > max {
        return Err(ApiError::invalid(
            field,
            format!("{field} has {len} characters"),
            format!("at most {max} characters"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::invalid(
            field,
            format!(
                "{field} holds the control character U+{:04X}",
                u32::from(bad)
            ),
            format!("at most {max} characters, no control characters but line breaks and tabs"),
        ));
    }
    Ok(())
}

/// Non-empty text of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("{field} is empty"),
            format!("1 to {max} characters"),
        ));
    }
    text(field, value, max)
}

/// An instant that is not in the future beyond the allowed clock skew.
pub fn not_future(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> ApiResult<()> {
    if at <= now + MAX_CLOCK_SKEW {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "{field} {} is {} minutes ahead of the server clock ({}); check the device's clock",
                at.to_rfc3339(),
                (at - now).num_minutes(),
                now.to_rfc3339()
            ),
            format!(
                "an instant no later than {}",
                (now + MAX_CLOCK_SKEW).to_rfc3339()
            ),
        ))
    }
}

/// An instant no older than `max_age` before `now`.
pub fn not_older_than(
    field: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_age: TimeDelta,
) -> ApiResult<()> {
    if at >= now - max_age {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} {} is too far in the past", at.to_rfc3339()),
            format!("an instant after {}", (now - max_age).to_rfc3339()),
        ))
    }
}

/// A one-time code as handed over or typed: letters and digits, in groups separated by
/// dashes or spaces, at most 64 characters. (Codes are compared by their letters and digits
/// alone; anything else in one is a client's mistake, refused rather than dropped.)
pub fn code(field: &str, value: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} is not a code Stepwise gives out"),
            "letters and digits, in groups separated by '-' or spaces",
        ))
    }
}

/// A plausible e-mail address, returned lower-cased.
pub fn email(field: &str, value: &str) -> ApiResult<String> {
    let value = value.trim().to_lowercase();
    let ok = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            field,
            format!("{value:?} is not an e-mail address"),
            "an e-mail address such as name@example.org",
        ))
    }
}

/// The first and last day of calendar month `text` (`YYYY-MM`), within [`DATES`], or a precise
/// error naming `field`.
pub fn month(field: &str, text: &str) -> ApiResult<(NaiveDate, NaiveDate)> {
    let not_a_month = || {
        ApiError::invalid(
            field,
            format!("{field} {text:?} is not a month"),
            "a calendar month, YYYY-MM",
        )
    };
    if text.len() != 7 {
        return Err(not_a_month());
    }
    let first =
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").map_err(|_| not_a_month())?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .ok_or_else(not_a_month)?;
    date(field, first)?;
    date(field, last)?;
    Ok((first, last))
}

/// [`month`] of `text`, or else the month of `today`.
pub fn month_or_current(
    field: &str,
    text: Option<&str>,
    today: NaiveDate,
) -> ApiResult<(NaiveDate, NaiveDate)> {
    match text {
        Some(text) => month(field, text),
        None => month(field, &today.format("%Y-%m").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_refuses_control_characters_but_line_breaks_and_tabs() {
        assert!(text("notes", "two\nlines\tand a tab", 100).is_ok());
        for bad in ["Pat\0", "Pat\u{1b}[31m", "\u{7f}"] {
            let err = required_text("display_name", bad, 100).unwrap_err();
            assert!(
                matches!(&err, ApiError::Invalid { field, message, .. }
                    if field == "display_name" && message.contains("control character")),
                "{bad:?}: {err:?}"
            );
        }
        assert!(text("notes", &"x".repeat(101), 100).is_err());
    }

    #[test]
    fn codes_are_letters_and_digits_in_groups() {
        for good in ["K7QM-2XRD-9WTF", "k7qm 2xrd", "7KD2PXQ4"] {
            assert!(code("code", good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "K7QM\0-2XRD",
            "K7QM_2XRD",
            "K7QM\n2XRD",
            &"A".repeat(65),
        ] {
            assert!(code("code", bad).is_err(), "{bad:?}");
        }
        assert!(email("email", "pat\0@example.org").is_err());
    }

    #[test]
    fn dates_outside_the_window_are_refused() {
        assert!(date("to", *DATES.end()).is_ok());
        assert!(date("to", DATES.end().succ_opt().unwrap()).is_err());
        assert!(date("from", NaiveDate::MIN).is_err());
    }

    #[test]
    fn months_are_whole_and_named() {
        use chrono::NaiveDate;
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            super::month("month", "2028-02").unwrap(),
            (d(2028, 2, 1), d(2028, 2, 29))
        );
        assert_eq!(
            super::month("month", "2026-12").unwrap(),
            (d(2026, 12, 1), d(2026, 12, 31))
        );
        for bad in ["2026-13", "2026-1", "April", "2026-04-01", "1999-12", ""] {
            assert!(super::month("month", bad).is_err(), "{bad}");
        }
    }
}
