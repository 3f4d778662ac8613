//! Which export a file is, and reading it with the right reader.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::archive::{Archive, Limits};
use crate::error::{ImportError, ImportResult};
use crate::model::Export;
use crate::{apple_health, fitbit, gadgetbridge};

/// How to read an export.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// What a zip may hold.
    pub limits: Limits,
    /// Where a database packed in a zip is unpacked to be opened (a directory only this
    /// import uses; the caller removes it).
    pub scratch: &'a Path,
}

/// How far reading has come: `done` of `total` bytes of the file (or of the entry that holds
/// the data, for an archive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes read.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Reads the export at `path`, whichever of the formats it is, reporting progress.
pub fn read_export(
    path: &Path,
    options: &Options<'_>,
    progress: &mut dyn FnMut(Progress),
) -> ImportResult<Export> {
    let io = |source| ImportError::Io {
        file: path.display().to_string(),
        source,
    };
    let mut head = [0u8; 64];
    let mut file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let n = read_head(&mut file, &mut head).map_err(io)?;
    let head = &head[..n];
    if head.starts_with(SQLITE_MAGIC) {
        return gadgetbridge::read(path);
    }
    if head.starts_with(ZIP_MAGIC) {
        return read_archive(path, options, progress);
    }
    if looks_like_xml(head) {
        let file = File::open(path).map_err(io)?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        return apple_health::read(&mut reader, &mut |done| progress(Progress { done, total }));
    }
    Err(ImportError::NotAnExport(
        "expected a Gadgetbridge database, Apple Health's export.zip or export.xml, or a \
         Google Takeout zip with Fitbit data"
            .into(),
    ))
}

/// Reads as much of the start of `file` as there is, up to `head`'s length.
fn read_head(file: &mut File, head: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            got => n += got,
        }
    }
    Ok(n)
}

/// True for text that starts (after a byte-order mark and blanks) with `<`.
fn looks_like_xml(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    text.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

/// A zip: Apple Health's `export.zip`, Gadgetbridge's zipped export, or a Takeout archive.
fn read_archive(
    path: &Path,
    options: &Options<'_>,
    progress: &mut dyn FnMut(Progress),
) -> ImportResult<Export> {
    let mut archive = Archive::open(path, options.limits)?;
    let entries = archive.entries();
    if let Some(xml) = entries
        .iter()
        .find(|e| apple_health::is_export_xml(&e.name))
    {
        let total = xml.size;
        let name = xml.name.clone();
        return archive.read_entry(&name, |reader| {
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            apple_health::read(&mut reader, &mut |done| progress(Progress { done, total }))
        });
    }
    if let Some(db) = entries
        .iter()
        .find(|e| gadgetbridge::is_database_entry(&e.name))
    {
        let name = db.name.clone();
        let unpacked = options.scratch.join("gadgetbridge.sqlite");
        archive.read_entry(&name, |reader| {
            let mut out = File::create(&unpacked).map_err(|source| ImportError::Io {
                file: unpacked.display().to_string(),
                source,
            })?;
            std::io::copy(reader, &mut out)
                .map_err(|err| ImportError::Archive(format!("{name}: {err}")))?;
            Ok(())
        })?;
        return gadgetbridge::read(&unpacked);
    }
    if entries.iter().any(|e| fitbit::is_takeout_entry(&e.name)) {
        return fitbit::read(&mut archive, &mut |done, total| {
            progress(Progress { done, total })
        });
    }
    Err(ImportError::NotAnExport(
        "the zip holds no Apple Health export.xml, no Gadgetbridge database and no Fitbit \
         data from Google Takeout"
            .into(),
    ))
}
