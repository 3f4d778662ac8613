//! A little-endian reader over a byte slice that reports short input as a [`DecodeError`]
//! instead of panicking: every decoder reads through it.

use crate::DecodeError;

/// Reads little-endian fields front to back; each read checks the remaining length.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`; `what` names the value in errors.
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            what,
            bytes,
            pos: 0,
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let truncated = |expected| DecodeError::Truncated {
            what: self.what,
            expected,
            got: self.bytes.len(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated(usize::MAX))?;
        let slice = self.bytes.get(self.pos..end).ok_or(truncated(end))?;
        self.pos = end;
        Ok(slice)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Fails with [`DecodeError::TooLong`] when bytes are left over.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TooLong {
                what: self.what,
                max: self.pos,
                got: self.bytes.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_fields_and_reports_short_input() {
        let mut r = Reader::new("test value", &[1, 2, 0, 3, 0, 0, 4, 0, 0, 0xff]);
        assert_eq!(r.array(), Ok([1]));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.array(), Ok([3, 0, 0]));
        assert_eq!(r.remaining(), 4);
        assert_eq!(
            r.finish(),
            Err(DecodeError::TooLong {
                what: "test value",
                max: 6,
                got: 10
            })
        );
        assert_eq!(r.take(3), Ok(&[4, 0, 0][..]));
        assert_eq!(
            r.u16(),
            Err(DecodeError::Truncated {
                what: "test value",
                expected: 11,
                got: 10
            })
        );
        assert_eq!(r.i8(), Ok(-1));
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(Reader::new("x", &[7, 0, 0, 0]).u32(), Ok(7));
    }
}
