//! The one error type every decoder in this crate returns.

/// A value from a device could not be decoded: it was too short, too long or malformed.
///
/// Every message names what was being decoded, so a log line is enough to tell which
/// characteristic or record was at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the layout needs.
    #[error("{what}: too short, expected {expected} bytes, got {got}")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Bytes the layout needs (at least).
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// More bytes than the layout allows.
    #[error("{what}: too long, at most {max} bytes allowed, got {got}")]
    TooLong {
        /// What was being decoded.
        what: &'static str,
        /// Most bytes allowed.
        max: usize,
        /// Bytes received.
        got: usize,
    },
    /// The length is right but a value is not.
    #[error("{what}: {detail}")]
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl DecodeError {
    /// Shorthand for [`DecodeError::Invalid`].
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            what,
            detail: detail.into(),
        }
    }

    /// Checks that `value` is exactly `len` bytes long.
    pub(crate) fn check_len(
        what: &'static str,
        value: &[u8],
        len: usize,
    ) -> Result<(), DecodeError> {
        if value.len() < len {
            Err(DecodeError::Truncated {
                what,
                expected: len,
                got: value.len(),
            })
        } else if value.len() > len {
            Err(DecodeError::TooLong {
                what,
                max: len,
                got: value.len(),
            })
        } else {
            Ok(())
        }
    }
}
