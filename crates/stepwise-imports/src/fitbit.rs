//! Fitbit's data in Google Takeout.

use std::io::{Read, Seek};

use crate::archive::Archive;
use crate::error::{ImportError, ImportResult};
use crate::model::Export;

/// True for an entry of a Takeout archive that holds Fitbit data.
pub fn is_takeout_entry(name: &str) -> bool {
    name.contains("Fitbit/")
}

/// Reads the Fitbit minute steps and sleep of a Takeout archive, calling `progress` with the
/// bytes read so far and the bytes to read.
pub fn read<R: Read + Seek>(
    archive: &mut Archive<R>,
    progress: &mut dyn FnMut(u64, u64),
) -> ImportResult<Export> {
    let _ = (archive, progress);
    Err(ImportError::NotAnExport(
        "Fitbit Takeout archives are not read yet".into(),
    ))
}
