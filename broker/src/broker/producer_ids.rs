//! The durable producer-id allocator behind InitProducerId.
//!
//! Ids are reserved in blocks: the file `<data>/producer-ids` holds the end of the reserved block
//! and is rewritten (atomically, fsync'd) before any id of a new block is handed out. After a
//! restart allocation resumes at the end of the last reserved block, so an id is never reused
//! even if the broker crashed mid-block (a few ids are skipped instead).

use std::path::{Path, PathBuf};

use crate::error::{BrokerError, Result};
use crate::log::write_file_atomically;

/// Ids reserved per durable write.
const BLOCK: i64 = 1000;

/// Hands out producer ids that are unique across restarts.
#[derive(Debug)]
pub struct ProducerIdAllocator {
    path: PathBuf,
    next: i64,
    reserved_end: i64,
}

impl ProducerIdAllocator {
    /// Loads the allocator state from `path` (starting at 0 when the file does not exist).
    pub fn open(path: &Path) -> Result<ProducerIdAllocator> {
        let end = match std::fs::read_to_string(path) {
            Ok(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|e| BrokerError::CorruptMetadata {
                    path: path.to_path_buf(),
                    reason: format!("not a producer id: {e}"),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                return Err(BrokerError::Io {
                    context: "reading producer ids",
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        Ok(ProducerIdAllocator {
            path: path.to_path_buf(),
            next: end,
            reserved_end: end,
        })
    }

    /// The next id, reserving a new block on disk first when the current one is used up.
    pub fn allocate(&mut self) -> Result<i64> {
        if self.next >= self.reserved_end {
            let end = self.next + BLOCK;
            write_file_atomically(&self.path, end.to_string().as_bytes())
                .map_err(BrokerError::io("reserving producer ids", &self.path))?;
            self.reserved_end = end;
        }
        let id = self.next;
        self.next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("producer-ids");
        let mut a = ProducerIdAllocator::open(&path).unwrap();
        let first: Vec<i64> = (0..3).map(|_| a.allocate().unwrap()).collect();
        assert_eq!(first, vec![0, 1, 2]);
        drop(a);
        let mut b = ProducerIdAllocator::open(&path).unwrap();
        let next = b.allocate().unwrap();
        assert!(next > 2, "reopened allocator handed out {next}");
    }
}
