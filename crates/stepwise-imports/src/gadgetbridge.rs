//! Gadgetbridge's database export.

use std::path::Path;

use crate::error::{ImportError, ImportResult};
use crate::model::Export;

/// True for the entry of a zipped Gadgetbridge export that is its database.
pub fn is_database_entry(name: &str) -> bool {
    name.rsplit('/').next() == Some("Gadgetbridge")
}

/// Reads the Gadgetbridge database at `path`.
pub fn read(path: &Path) -> ImportResult<Export> {
    Err(ImportError::NotAnExport(format!(
        "{}: Gadgetbridge databases are not read yet",
        path.display()
    )))
}
