//! Apple Health's "Export All Health Data".

use std::io::BufRead;

use crate::error::{ImportError, ImportResult};
use crate::model::Export;

/// True for the entry of `export.zip` that holds the records.
pub fn is_export_xml(name: &str) -> bool {
    name == "apple_health_export/export.xml" || name == "export.xml"
}

/// Reads `export.xml` from `reader`, calling `progress` with the bytes read so far.
pub fn read(reader: &mut dyn BufRead, progress: &mut dyn FnMut(u64)) -> ImportResult<Export> {
    let _ = (reader, progress);
    Err(ImportError::NotAnExport(
        "Apple Health exports are not read yet".into(),
    ))
}
