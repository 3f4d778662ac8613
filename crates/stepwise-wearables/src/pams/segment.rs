//! PAMS segmentation: records split over indications, each with a 1-byte header (layout in
//! the [module docs](super)).

use crate::DecodeError;

/// Header bit: first segment of a record.
const FIRST: u8 = 0x80;
/// Header bit: last segment of a record.
const LAST: u8 = 0x40;
/// Header bits: the rolling segment number.
const NUMBER: u8 = 0x3f;

/// Longest record accepted (reassembled, without headers).
pub const MAX_RECORD_BYTES: usize = 512;

/// Puts records back together from segments.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// The record being collected and the next segment number due.
    partial: Option<(Vec<u8>, u8)>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Reassembler {
        Reassembler::default()
    }

    /// Takes one segment (header byte + payload). Returns the record when this segment was its
    /// last. Errors — a segment without a first segment before it, one out of order, a new
    /// record starting before the last ended, a record over [`MAX_RECORD_BYTES`] — drop the
    /// partial record, so the next first segment starts cleanly.
    pub fn push(&mut self, segment: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        let result = self.accept(segment);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    /// True while a record is partly received.
    pub fn is_partial(&self) -> bool {
        self.partial.is_some()
    }

    fn accept(&mut self, segment: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        const WHAT: &str = "PAMS segment";
        let (&header, payload) = segment.split_first().ok_or(DecodeError::Truncated {
            what: WHAT,
            expected: 1,
            got: 0,
        })?;
        let number = header & NUMBER;
        let (mut record, expected) = match (header & FIRST != 0, self.partial.take()) {
            (true, None) => (Vec::new(), 0),
            (true, Some(_)) => {
                return Err(DecodeError::invalid(
                    WHAT,
                    "a new record began before the previous one ended",
                ));
            }
            (false, None) => {
                return Err(DecodeError::invalid(
                    WHAT,
                    format!("segment {number} arrived without the record's first segment"),
                ));
            }
            (false, Some(partial)) => partial,
        };
        if number != expected {
            return Err(DecodeError::invalid(
                WHAT,
                format!("segment {number} arrived where segment {expected} was due"),
            ));
        }
        if record.len().saturating_add(payload.len()) > MAX_RECORD_BYTES {
            return Err(DecodeError::TooLong {
                what: "PAMS record",
                max: MAX_RECORD_BYTES,
                got: record.len().saturating_add(payload.len()),
            });
        }
        record.extend_from_slice(payload);
        if header & LAST != 0 {
            Ok(Some(record))
        } else {
            self.partial = Some((record, (expected + 1) & NUMBER));
            Ok(None)
        }
    }
}

/// Splits `record` into segments of at most `max_payload` bytes after the header (at least
/// 1 byte each; an empty record is one segment `C0`). The inverse of [`Reassembler`], for
/// simulators and tests.
pub fn segment(record: &[u8], max_payload: usize) -> Vec<Vec<u8>> {
    let max_payload = max_payload.max(1);
    let chunks: Vec<&[u8]> = if record.is_empty() {
        vec![&[][..]]
    } else {
        record.chunks(max_payload).collect()
    };
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut header = u8::try_from(i % 64).unwrap_or(0);
            if i == 0 {
                header |= FIRST;
            }
            if i + 1 == count {
                header |= LAST;
            }
            let mut out = Vec::with_capacity(chunk.len() + 1);
            out.push(header);
            out.extend_from_slice(chunk);
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_segment_records() {
        let mut r = Reassembler::new();
        assert_eq!(r.push(&[0xc0, 1, 2, 3]), Ok(Some(vec![1, 2, 3])));
        assert_eq!(r.push(&[0xc0]), Ok(Some(vec![])));
        assert!(!r.is_partial());
    }

    #[test]
    fn records_split_over_segments_round_trip() {
        let record: Vec<u8> = (0..=200).collect();
        let segments = segment(&record, 19);
        assert_eq!(segments.len(), 11);
        assert_eq!(segments[0][0], 0x80);
        assert_eq!(segments[1][0], 0x01);
        assert_eq!(segments[10][0], 0x40 | 10);
        let mut r = Reassembler::new();
        for s in &segments[..10] {
            assert_eq!(r.push(s), Ok(None));
            assert!(r.is_partial());
        }
        assert_eq!(r.push(&segments[10]), Ok(Some(record)));
        // The segment number rolls over after 63.
        let long = vec![7u8; 500];
        let segments = segment(&long, 5);
        assert_eq!(segments[64][0], 0);
        let mut r = Reassembler::new();
        let mut out = None;
        for s in &segments {
            out = r.push(s).unwrap();
        }
        assert_eq!(out, Some(long));
    }

    #[test]
    fn segments_out_of_order_are_an_error() {
        let segments = segment(&[1, 2, 3, 4, 5, 6], 2);
        let mut r = Reassembler::new();
        r.push(&segments[0]).unwrap();
        let err = r.push(&segments[2]).unwrap_err().to_string();
        assert!(
            err.contains("segment 2 arrived where segment 1 was due"),
            "{err}"
        );
        assert!(!r.is_partial());
        // After the error the next record starts cleanly.
        assert_eq!(r.push(&[0xc0, 9]), Ok(Some(vec![9])));
    }

    #[test]
    fn a_missing_first_segment_is_an_error() {
        let segments = segment(&[1, 2, 3, 4], 2);
        let mut r = Reassembler::new();
        let err = r.push(&segments[1]).unwrap_err().to_string();
        assert!(err.contains("without the record's first segment"), "{err}");
        // A first segment while a record is open.
        r.push(&segments[0]).unwrap();
        assert!(r.push(&segments[0]).is_err());
        assert!(matches!(r.push(&[]), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn records_over_the_limit_are_refused() {
        let mut r = Reassembler::new();
        let mut segments = segment(&vec![0u8; MAX_RECORD_BYTES + 1], 100).into_iter();
        let mut result = Ok(None);
        for s in segments.by_ref() {
            result = r.push(&s);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(DecodeError::TooLong { .. })));
    }
}
