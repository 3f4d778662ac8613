//! A zip archive read with limits, so an upload cannot make the server unpack more than it
//! allows: at most [`Limits::max_entries`] entries, none larger than
//! [`Limits::max_entry_bytes`], together at most [`Limits::max_total_bytes`], and no entry
//! expanding more than [`Limits::max_ratio`] times its compressed size. The sizes are checked
//! against the bytes actually produced while reading, not only the sizes the archive claims.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

use crate::error::{ImportError, ImportResult};

/// What an archive may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries (a Google Takeout archive holds a few thousand files).
    pub max_entries: usize,
    /// Most bytes one entry may expand to (an `export.xml` of many years is several GB).
    pub max_entry_bytes: u64,
    /// Most bytes all entries read may expand to together.
    pub max_total_bytes: u64,
    /// Most an entry may expand relative to its compressed size (XML compresses about 20
    /// times; a zip bomb a million times).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 50_000,
            max_entry_bytes: 8 << 30,
            max_total_bytes: 16 << 30,
            max_ratio: 200,
        }
    }
}

/// An open zip archive.
pub struct Archive<R: Read + Seek = BufReader<File>> {
    zip: zip::ZipArchive<R>,
    limits: Limits,
    expanded: u64,
}

/// One entry's name and sizes, as the archive's directory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its path inside the archive, `/`-separated.
    pub name: String,
    /// Its size once expanded, as claimed.
    pub size: u64,
    /// Its compressed size.
    pub compressed: u64,
}

impl Archive {
    /// Opens the zip at `path`.
    pub fn open(path: &Path, limits: Limits) -> ImportResult<Self> {
        let file = File::open(path).map_err(|source| ImportError::Io {
            file: path.display().to_string(),
            source,
        })?;
        Archive::new(BufReader::new(file), limits)
    }
}

impl<R: Read + Seek> Archive<R> {
    /// Reads the archive's directory from `reader`.
    pub fn new(reader: R, limits: Limits) -> ImportResult<Self> {
        let zip = zip::ZipArchive::new(reader).map_err(|err| {
            ImportError::Archive(format!("is damaged or truncated: {}", zip_reason(&err)))
        })?;
        if zip.len() > limits.max_entries {
            return Err(ImportError::Archive(format!(
                "holds {} files, more than the {} allowed",
                zip.len(),
                limits.max_entries
            )));
        }
        Ok(Archive {
            zip,
            limits,
            expanded: 0,
        })
    }

    /// Every entry that is a file, in the archive's order.
    pub fn entries(&mut self) -> Vec<Entry> {
        (0..self.zip.len())
            .filter_map(|i| {
                let file = self.zip.by_index_raw(i).ok()?;
                if file.is_dir() {
                    return None;
                }
                Some(Entry {
                    name: file.name().ok()?.to_string(),
                    size: file.size(),
                    compressed: file.compressed_size(),
                })
            })
            .collect()
    }

    /// Reads the entry called `name` through `read`, which gets a reader that fails with a
    /// clear message as soon as the entry expands past a limit.
    pub fn read_entry<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(&mut dyn Read) -> ImportResult<T>,
    ) -> ImportResult<T> {
        let limits = self.limits;
        let total_left = limits.max_total_bytes.saturating_sub(self.expanded);
        let file = self.zip.by_name(name).map_err(|err| {
            ImportError::Archive(format!("cannot open {name}: {}", zip_reason(&err)))
        })?;
        if file.encrypted() {
            return Err(ImportError::Archive(format!(
                "holds {name} encrypted: export it without a password"
            )));
        }
        let cap = limits.max_entry_bytes.min(total_left).min(
            file.compressed_size()
                .max(1)
                .saturating_mul(limits.max_ratio),
        );
        let mut capped = Capped {
            inner: file,
            name: name.to_string(),
            cap,
            read: 0,
        };
        let result = read(&mut capped);
        self.expanded += capped.read;
        result
    }
}

/// A reader that stops with an error past `cap` bytes.
struct Capped<R> {
    inner: R,
    name: String,
    cap: u64,
    read: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} expands past {} bytes: a damaged archive or a zip bomb",
                    self.name, self.cap
                ),
            ));
        }
        Ok(n)
    }
}

/// A zip error as a short reason.
fn zip_reason(err: &zip::result::ZipError) -> String {
    err.to_string()
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in files {
                zip.start_file(*name, options).unwrap();
                zip.write_all(data).unwrap();
            }
            zip.finish().unwrap();
        }
        out.into_inner()
    }

    fn read_all(archive: &mut Archive<Cursor<Vec<u8>>>, name: &str) -> ImportResult<Vec<u8>> {
        archive.read_entry(name, |r| {
            let mut out = Vec::new();
            r.read_to_end(&mut out)
                .map_err(|e| ImportError::Archive(e.to_string()))?;
            Ok(out)
        })
    }

    #[test]
    fn reads_an_entry() {
        let bytes = zip_of(&[("a/b.txt", b"hello".to_vec())]);
        let mut archive = Archive::new(Cursor::new(bytes), Limits::default()).unwrap();
        assert_eq!(archive.entries()[0].name, "a/b.txt");
        assert_eq!(read_all(&mut archive, "a/b.txt").unwrap(), b"hello");
    }

    #[test]
    fn a_bomb_stops_at_the_ratio() {
        let bytes = zip_of(&[("zeros", vec![0; 10 << 20])]);
        let mut archive = Archive::new(Cursor::new(bytes), Limits::default()).unwrap();
        let err = read_all(&mut archive, "zeros").unwrap_err().to_string();
        assert!(err.contains("zip bomb"), "{err}");
    }

    #[test]
    fn too_many_entries_are_refused() {
        let files: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("f{i}"), vec![1])).collect();
        let files: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
        let limits = Limits {
            max_entries: 4,
            ..Limits::default()
        };
        let err = Archive::new(Cursor::new(zip_of(&files)), limits)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("5 files, more than the 4 allowed"), "{err}");
    }

    #[test]
    fn a_truncated_archive_is_named() {
        let mut bytes = zip_of(&[("a", vec![7; 1000])]);
        bytes.truncate(bytes.len() / 2);
        let err = Archive::new(Cursor::new(bytes), Limits::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("the archive is damaged or truncated"),
            "{err}"
        );
    }
}
