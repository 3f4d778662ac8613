//! The one error every reader returns: a single line naming the problem, for a patient's
//! screen and the command line alike.

/// Why an export could not be read. Nothing of it is kept.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is none of the exports Stepwise reads.
    #[error("this file is not an export Stepwise reads: {0}")]
    NotAnExport(String),
    /// A zip archive that is damaged, truncated or over a limit.
    #[error("the archive {0}")]
    Archive(String),
    /// A file of a known format that does not hold what the format promises.
    #[error("{file}: {detail}")]
    Malformed {
        /// Which file (or table, or entry) of the export.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Reading the file failed.
    #[error("cannot read {file}: {source}")]
    Io {
        /// Which file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
}

impl ImportError {
    /// Shorthand for [`ImportError::Malformed`].
    pub fn malformed(file: impl Into<String>, detail: impl Into<String>) -> Self {
        ImportError::Malformed {
            file: file.into(),
            detail: detail.into(),
        }
    }
}

/// A reader's result.
pub type ImportResult<T> = Result<T, ImportError>;
