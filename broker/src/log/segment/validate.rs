//! Checking a segment's batches (header, offsets and CRC32C) at start-up and cutting it at the
//! first invalid one.
//!
//! Two ways in. [`Segment::open_recovering`] reads every batch of a segment written after the last
//! fsync (crash recovery). [`Segment::open_checking_tail`] is for the active segment after a
//! *clean* shutdown: the bytes were fsync'd, but they may still have been damaged while the server
//! was stopped (a bad disk, a tool writing into the file). Reading the whole segment would make
//! start-up cost grow with `segment.bytes`, so it starts at the last offset-index entry that points
//! at a valid batch (the index has one entry per `index.interval.bytes`, so that is a few KiB from
//! the end unless the damage reaches further back) and validates every batch from there to the
//! end. Damage before that entry, in the middle of a segment, is not looked for: segments before
//! the active one and the active segment's front stay trusted after a clean shutdown.

use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{ScannedBatch, Segment};
use crate::error::{BrokerError, Result};
use crate::log::batch::{BatchHeader, HEADER_SIZE, validate_batch};

/// What a validating (CRC-checking) scan of a segment found.
#[derive(Debug)]
pub struct ScanOutcome {
    /// The valid batches, in order.
    pub batches: Vec<ScannedBatch>,
    /// Where the valid prefix ends.
    pub valid_bytes: u64,
    /// Why the scan stopped before the end of the file, if it did.
    pub stopped_because: Option<String>,
}

/// What start-up cut from the end of a segment, for the log line and for the caller, which must
/// forget producer state and snapshots past the new end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailCut {
    /// Size of the segment after the cut (the end of its last valid batch).
    pub valid_bytes: u64,
    /// Bytes removed.
    pub cut_bytes: u64,
    /// One past the last offset kept.
    pub next_offset: i64,
    /// Why the first removed byte was not a valid batch.
    pub reason: String,
}

impl Segment {
    /// Opens a segment whose tail may be torn (written after the last fsync): every batch is read
    /// and CRC-checked, the file is cut at the first invalid batch (logged with what was cut) and
    /// the indexes are rebuilt. Returns the segment, the batches found and whether it was cut.
    pub fn open_recovering(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
    ) -> Result<(Segment, Vec<ScannedBatch>, bool)> {
        let (mut seg, _) = Self::open_files(dir, base_offset, false)?;
        let outcome = seg.scan_validating()?;
        if let Some(reason) = &outcome.stopped_because {
            tracing::warn!(
                segment = %seg.path.display(),
                valid_bytes = outcome.valid_bytes,
                cut_bytes = seg.size - outcome.valid_bytes,
                next_offset = outcome.batches.last().map(|b| b.header.last_offset() + 1).unwrap_or(base_offset),
                reason = %reason,
                "recovery truncated a torn or corrupt log tail"
            );
            seg.truncate_to(outcome.valid_bytes)?;
        }
        seg.rebuild_indexes(&outcome.batches, index_interval)?;
        let was_cut = outcome.stopped_because.is_some();
        Ok((seg, outcome.batches, was_cut))
    }

    /// Opens the active segment after a clean shutdown: validates every batch from the last
    /// offset-index entry that points at a valid batch to the end of the file, and cuts the file
    /// at the first invalid one (logged with what was cut). Returns the cut, if any.
    pub fn open_checking_tail(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
    ) -> Result<(Segment, Option<TailCut>)> {
        let (mut seg, whole) = Self::open_files(dir, base_offset, false)?;
        if !(whole && seg.indexes_consistent()) {
            tracing::info!(segment = %seg.path.display(), "rebuilding indexes from batch headers");
            let batches = seg.scan_headers(0)?;
            seg.rebuild_indexes(&batches, index_interval)?;
        }
        let (from, expected) = seg.last_good_index_entry()?;
        let outcome = seg.scan_validating_from(from, expected)?;
        let Some(reason) = outcome.stopped_because else {
            return Ok((seg.finish_trusted(true, index_interval)?, None));
        };
        let cut = TailCut {
            valid_bytes: outcome.valid_bytes,
            cut_bytes: seg.size - outcome.valid_bytes,
            next_offset: outcome
                .batches
                .last()
                .map_or(expected, |b| b.header.last_offset() + 1),
            reason,
        };
        tracing::warn!(
            segment = %seg.path.display(),
            valid_bytes = cut.valid_bytes,
            cut_bytes = cut.cut_bytes,
            next_offset = cut.next_offset,
            checked_from = from,
            reason = %cut.reason,
            "start-up after a clean shutdown found a damaged tail in the active segment and cut it"
        );
        seg.truncate_to(cut.valid_bytes)?;
        // Headers only, from the start: the part before `from` is trusted, and the indexes and
        // in-memory facts (end offset, timestamps) are rebuilt in one place.
        let batches = seg.scan_headers(0)?;
        seg.rebuild_indexes(&batches, index_interval)?;
        Ok((seg, Some(cut)))
    }

    /// Position and offset of the last offset-index entry whose batch is whole and valid, or the
    /// start of the segment when none is.
    fn last_good_index_entry(&self) -> Result<(u64, i64)> {
        for entry in self.offset_index.entries().iter().rev() {
            let position = entry.position as u64;
            let offset = self.base_offset + entry.relative_offset as i64;
            if self
                .valid_batch_at(position)?
                .is_some_and(|h| h.base_offset == offset)
            {
                return Ok((position, offset));
            }
            tracing::debug!(
                segment = %self.path.display(),
                position,
                offset,
                "offset index entry does not point at a valid batch"
            );
        }
        Ok((0, self.base_offset))
    }

    /// The header of the batch at `position` when it is whole and its CRC matches.
    fn valid_batch_at(&self, position: u64) -> Result<Option<BatchHeader>> {
        if position + HEADER_SIZE as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; HEADER_SIZE];
        self.file
            .read_exact_at(&mut buf, position)
            .map_err(BrokerError::io("reading batch header", &self.path))?;
        let Ok(header) = BatchHeader::parse(&buf) else {
            return Ok(None);
        };
        if position + header.size() as u64 > self.size {
            return Ok(None);
        }
        let mut batch = vec![0u8; header.size()];
        self.file
            .read_exact_at(&mut batch, position)
            .map_err(BrokerError::io("reading batch", &self.path))?;
        Ok(validate_batch(&batch).ok())
    }

    /// Reads and CRC-checks every batch; stops at the first one that is torn or corrupt, or whose
    /// offsets go backwards.
    pub fn scan_validating(&self) -> Result<ScanOutcome> {
        self.scan_validating_from(0, self.base_offset)
    }

    /// Reads and CRC-checks every batch from byte `from` (a batch boundary whose batch starts at
    /// offset `expected` or later) to the end of the file; stops at the first batch that is torn
    /// or corrupt, or whose offsets go backwards.
    pub fn scan_validating_from(&self, from: u64, expected: i64) -> Result<ScanOutcome> {
        let mut batches: Vec<ScannedBatch> = Vec::new();
        let mut pos = from;
        let mut header_buf = [0u8; HEADER_SIZE];
        let mut stopped_because = None;
        while pos < self.size {
            if pos + HEADER_SIZE as u64 > self.size {
                stopped_because = Some(format!(
                    "{} bytes at the end are a torn batch header",
                    self.size - pos
                ));
                break;
            }
            self.file
                .read_exact_at(&mut header_buf, pos)
                .map_err(BrokerError::io("reading batch header", &self.path))?;
            let header = match BatchHeader::parse(&header_buf) {
                Ok(h) => h,
                Err(e) => {
                    stopped_because = Some(format!("bad batch header at position {pos}: {e}"));
                    break;
                }
            };
            if pos + header.size() as u64 > self.size {
                stopped_because = Some(format!(
                    "batch at position {pos} needs {} bytes but only {} remain",
                    header.size(),
                    self.size - pos
                ));
                break;
            }
            let mut batch = vec![0u8; header.size()];
            self.file
                .read_exact_at(&mut batch, pos)
                .map_err(BrokerError::io("reading batch", &self.path))?;
            if let Err(e) = validate_batch(&batch) {
                stopped_because = Some(format!("batch at position {pos}: {e}"));
                break;
            }
            let expected = batches
                .last()
                .map_or(expected, |b| b.header.last_offset() + 1);
            if header.base_offset < expected {
                stopped_because = Some(format!(
                    "batch at position {pos} has base offset {} but offset {expected} was expected",
                    header.base_offset
                ));
                break;
            }
            batches.push(ScannedBatch {
                position: pos,
                header,
            });
            pos += header.size() as u64;
        }
        Ok(ScanOutcome {
            batches,
            valid_bytes: pos,
            stopped_because,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::*;
    use crate::log::batch::set_base_offset;
    use crate::log::records::{encode_records, new_record};

    /// A segment at base 0 holding `n` one-record batches, with an index entry per batch
    /// (interval 0); returns the directory and each batch's byte range.
    fn segment_of(n: i64) -> (tempfile::TempDir, Vec<(u64, u64)>) {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0).unwrap();
        let mut ranges = Vec::new();
        for o in 0..n {
            let mut b = encode_records(&[new_record(None, Some(b"value"), 100 + o)], 0)
                .unwrap()
                .to_vec();
            set_base_offset(&mut b, o);
            let h = validate_batch(&b).unwrap();
            let start = seg.size();
            seg.append(&b, &[(0, h)], 0).unwrap();
            ranges.push((start, seg.size()));
        }
        seg.sync_all().unwrap();
        (dir, ranges)
    }

    fn overwrite(dir: &Path, at: u64, bytes: &[u8]) {
        let f = OpenOptions::new()
            .write(true)
            .open(dir.join(super::super::log_file_name(0)))
            .unwrap();
        f.write_all_at(bytes, at).unwrap();
    }

    #[test]
    fn intact_segment_is_not_cut() {
        let (dir, ranges) = segment_of(5);
        let (seg, cut) = Segment::open_checking_tail(dir.path(), 0, 0).unwrap();
        assert_eq!(cut, None);
        assert_eq!(seg.next_offset(), 5);
        assert_eq!(seg.size(), ranges[4].1);
        assert_eq!(seg.max_timestamp(), 104);
    }

    #[test]
    fn garbage_over_the_last_bytes_cuts_the_last_batch() {
        let (dir, ranges) = segment_of(5);
        overwrite(dir.path(), ranges[4].1 - 8, &[0xAB; 8]);
        let (seg, cut) = Segment::open_checking_tail(dir.path(), 0, 0).unwrap();
        let cut = cut.unwrap();
        assert_eq!(cut.valid_bytes, ranges[3].1);
        assert_eq!(cut.cut_bytes, ranges[4].1 - ranges[3].1);
        assert_eq!(cut.next_offset, 4);
        assert_eq!(seg.next_offset(), 4);
        assert_eq!(seg.size(), ranges[3].1);
        assert_eq!(seg.max_timestamp(), 103);
        assert_eq!(
            seg.locate(3).unwrap().map(|b| b.position),
            Some(ranges[3].0)
        );
        assert!(seg.locate(4).unwrap().is_none());
    }

    #[test]
    fn garbage_reaching_back_over_index_entries_is_found() {
        // The damage covers the batches (and index entries) of offsets 2, 3 and 4: the check
        // walks back to the entry of offset 1, the last one pointing at a valid batch.
        let (dir, ranges) = segment_of(5);
        let from = ranges[2].0 + 3;
        let garbage: Vec<u8> = (0..ranges[4].1 - from)
            .map(|i| (i * 151 + 7) as u8)
            .collect();
        overwrite(dir.path(), from, &garbage);
        let (seg, cut) = Segment::open_checking_tail(dir.path(), 0, 0).unwrap();
        assert_eq!(cut.unwrap().next_offset, 2);
        assert_eq!(seg.next_offset(), 2);
        assert_eq!(seg.size(), ranges[1].1);
    }

    #[test]
    fn a_wholly_damaged_segment_is_emptied() {
        let (dir, ranges) = segment_of(2);
        overwrite(dir.path(), 0, &vec![0x5A; ranges[1].1 as usize]);
        let (seg, cut) = Segment::open_checking_tail(dir.path(), 0, 0).unwrap();
        assert_eq!(cut.unwrap().next_offset, 0);
        assert!(seg.is_empty());
        assert_eq!(seg.next_offset(), 0);
    }

    #[test]
    fn validating_scan_stops_at_offsets_going_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0).unwrap();
        let mut b = encode_records(&[new_record(None, Some(b"v"), 1)], 0)
            .unwrap()
            .to_vec();
        set_base_offset(&mut b, 0);
        let h = validate_batch(&b).unwrap();
        seg.append(&b, &[(0, h)], 4096).unwrap();
        seg.append(&b, &[(0, h)], 4096).unwrap(); // offset 0 again: not a valid continuation
        let outcome = seg.scan_validating().unwrap();
        assert_eq!(outcome.batches.len(), 1);
        assert_eq!(outcome.valid_bytes, b.len() as u64);
        assert!(outcome.stopped_because.is_some());
    }
}
