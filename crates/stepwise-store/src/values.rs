//! Values as stored, and typed access to a row's columns.
//!
//! Instants are unix seconds, dates `YYYY-MM-DD` text, JSON text; booleans arrive as
//! PostgreSQL `BOOLEAN` or SQLite `INTEGER` 0/1.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Row, ValueRef as _};

use crate::{StoreError, StoreResult};

/// A row that cannot be read back: `what` says which value.
pub(crate) fn corrupt(what: impl Display) -> StoreError {
    StoreError::other(format!("corrupt row: {what}"))
}

/// As [`corrupt`], keeping the error that refused the value.
pub(crate) fn corrupt_with(
    what: impl Display,
    source: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::with_source(format!("corrupt row: {what}"), source)
}

/// An instant as stored: unix seconds.
pub(crate) fn secs(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// A stored instant back.
pub(crate) fn instant(secs: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| corrupt(format!("instant {secs}")))
}

/// A date as stored: `YYYY-MM-DD`.
pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|err| corrupt_with(format!("date {text:?}"), err))
}

/// A value as stored JSON text.
pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|err| StoreError::with_source("encoding JSON", err))
}

pub(crate) fn parse_name<T>(
    kind: &str,
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<T> {
    parse(text).ok_or_else(|| corrupt(format!("{kind} {text:?}")))
}

/// Typed access to a row's columns by name.
pub(crate) trait Cells {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    fn float(&self, column: &str) -> StoreResult<f64>;
    fn opt_float(&self, column: &str) -> StoreResult<Option<f64>>;

    fn instant(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        instant(self.int(column)?)
    }

    fn opt_instant(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.opt_int(column)?.map(instant).transpose()
    }

    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T>;
    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<Option<T>>;
}

impl Cells for AnyRow {
    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }

    /// PostgreSQL's `BOOLEAN` arrives as a boolean, SQLite's `INTEGER` 0/1 as an integer.
    fn flag(&self, column: &str) -> StoreResult<bool> {
        let value = self.try_get_raw(column)?;
        if value.type_info().kind().is_integer() {
            Ok(self.int(column)? != 0)
        } else {
            Ok(self.try_get(column)?)
        }
    }

    fn float(&self, column: &str) -> StoreResult<f64> {
        Ok(self.try_get(column)?)
    }

    fn opt_float(&self, column: &str) -> StoreResult<Option<f64>> {
        Ok(self.try_get(column)?)
    }

    // JSON is parsed from the text where the row holds it, without a copy.
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let text: &str = self.try_get(column)?;
        serde_json::from_str(text).map_err(|err| corrupt_with(column, err))
    }

    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<Option<T>> {
        let text: Option<&str> = self.try_get(column)?;
        text.map(|text| serde_json::from_str(text).map_err(|err| corrupt_with(column, err)))
            .transpose()
    }
}
