//! Rows that arrive in any order, handed back in sort order with flat memory.
//!
//! Each row carries its position in the export. Rows are kept in buckets of consecutive positions;
//! a bucket's buffer that fills is appended to one unnamed temporary file as a block, so memory
//! holds one buffer per bucket, and putting one bucket in order holds only that bucket's rows.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

/// Positions per bucket at least: a bucket of CSV rows is a few MB (held twice while put in order).
const MIN_ROWS_PER_BUCKET: usize = 8_192;
/// Buckets at most, so that their buffers stay a bounded amount of memory however many rows.
const MAX_BUCKETS: usize = 512;
/// Bytes a bucket's buffer collects before it is written out.
const BLOCK_BYTES: usize = 16 * 1024;
/// Each row is stored after its position and length, both u32 little-endian.
const ROW_HEADER: usize = 8;

pub struct Reorder {
    rows: usize,
    rows_per_bucket: usize,
    block_bytes: usize,
    buckets: Vec<Bucket>,
    /// Created at the first full block: an export that fits in the buffers never touches the disk.
    file: Option<File>,
    file_len: u64,
}

#[derive(Default)]
struct Bucket {
    buffer: Vec<u8>,
    /// Offset and length of each block written out.
    blocks: Vec<(u64, usize)>,
}

/// One bucket's rows as collected, ready to be put in order (on a blocking thread).
pub struct BucketRows {
    first: usize,
    rows: usize,
    buffer: Vec<u8>,
    blocks: Vec<(u64, usize)>,
    file: Option<Arc<File>>,
}

impl Reorder {
    /// Room for positions `0..rows`.
    pub fn new(rows: usize) -> Reorder {
        Reorder::with_sizes(rows, MIN_ROWS_PER_BUCKET.max(rows.div_ceil(MAX_BUCKETS)), BLOCK_BYTES)
    }

    fn with_sizes(rows: usize, rows_per_bucket: usize, block_bytes: usize) -> Reorder {
        let rows_per_bucket = rows_per_bucket.max(1);
        let buckets = (0..rows.div_ceil(rows_per_bucket)).map(|_| Bucket::default()).collect();
        Reorder { rows, rows_per_bucket, block_bytes, buckets, file: None, file_len: 0 }
    }

    /// Keeps the row at `position`; a position out of range is a bug of the caller.
    pub fn add(&mut self, position: usize, row: &[u8]) -> std::io::Result<()> {
        if position >= self.rows {
            return Err(std::io::Error::other(format!("row position {position} out of range")));
        }
        let bucket = &mut self.buckets[position / self.rows_per_bucket];
        let length = u32::try_from(row.len()).map_err(std::io::Error::other)?;
        if bucket.buffer.capacity() == 0 {
            // Room for a block and a row, so the buffer is not doubled past it.
            bucket.buffer.reserve_exact(self.block_bytes + 1024);
        }
        bucket.buffer.extend_from_slice(&(position as u32).to_le_bytes());
        bucket.buffer.extend_from_slice(&length.to_le_bytes());
        bucket.buffer.extend_from_slice(row);
        if bucket.buffer.len() >= self.block_bytes {
            let file = match &mut self.file {
                Some(file) => file,
                None => self.file.insert(tempfile::tempfile()?),
            };
            file.write_all(&bucket.buffer)?;
            bucket.blocks.push((self.file_len, bucket.buffer.len()));
            self.file_len += bucket.buffer.len() as u64;
            bucket.buffer.clear();
        }
        Ok(())
    }

    /// The buckets, first positions first, each to be put in order with `BucketRows::in_order`.
    pub fn into_buckets(self) -> impl Iterator<Item = BucketRows> {
        let file = self.file.map(Arc::new);
        let (rows, per_bucket) = (self.rows, self.rows_per_bucket);
        self.buckets.into_iter().enumerate().map(move |(i, bucket)| {
            let first = i * per_bucket;
            BucketRows {
                first,
                rows: per_bucket.min(rows - first),
                buffer: bucket.buffer,
                blocks: bucket.blocks,
                file: file.clone(),
            }
        })
    }
}

impl BucketRows {
    /// The bucket's rows in position order, one after the other; a position never added is skipped.
    pub fn in_order(self) -> std::io::Result<Vec<u8>> {
        let spilled: usize = self.blocks.iter().map(|(_, length)| length).sum();
        let mut collected = Vec::with_capacity(spilled + self.buffer.len());
        if let Some(mut file) = self.file.as_deref() {
            for &(offset, length) in &self.blocks {
                file.seek(SeekFrom::Start(offset))?;
                let start = collected.len();
                collected.resize(start + length, 0);
                file.read_exact(&mut collected[start..])?;
            }
        }
        collected.extend_from_slice(&self.buffer);
        drop(self.buffer);

        let corrupt = || std::io::Error::other("reordered rows are corrupt");
        let mut starts = vec![usize::MAX; self.rows];
        let mut at = 0;
        while at < collected.len() {
            let header = collected.get(at..at + ROW_HEADER).ok_or_else(corrupt)?;
            let position = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
            let slot = position.checked_sub(self.first).and_then(|i| starts.get_mut(i)).ok_or_else(corrupt)?;
            *slot = at;
            at += ROW_HEADER + length;
        }
        if at != collected.len() {
            return Err(corrupt());
        }
        let mut ordered = Vec::with_capacity(collected.len());
        for start in starts.into_iter().filter(|&start| start != usize::MAX) {
            let header = &collected[start + 4..start + ROW_HEADER];
            let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            ordered.extend_from_slice(&collected[start + ROW_HEADER..start + ROW_HEADER + length]);
        }
        Ok(ordered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(position: usize) -> Vec<u8> {
        format!("row {position}{}\n", "x".repeat(position % 7)).into_bytes()
    }

    fn read_back(reorder: Reorder) -> Vec<u8> {
        reorder.into_buckets().flat_map(|bucket| bucket.in_order().expect("in order")).collect()
    }

    #[test]
    fn rows_added_in_any_order_come_back_in_position_order_across_spilled_blocks() {
        let rows = 1_000;
        // A fixed shuffle: 7 is coprime with 1000.
        let order: Vec<usize> = (0..rows).map(|i| (i * 7 + 3) % rows).collect();
        let mut reorder = Reorder::with_sizes(rows, 64, 100);
        for &position in &order {
            reorder.add(position, &row(position)).expect("add");
        }
        assert!(reorder.file.is_some(), "small blocks are written out");
        let expected: Vec<u8> = (0..rows).flat_map(row).collect();
        assert_eq!(read_back(reorder), expected);
    }

    #[test]
    fn rows_that_fit_in_memory_touch_no_file_and_missing_positions_are_skipped() {
        let mut reorder = Reorder::new(10);
        for position in [9, 0, 4] {
            reorder.add(position, &row(position)).expect("add");
        }
        assert!(reorder.file.is_none());
        assert_eq!(read_back(reorder), [row(0), row(4), row(9)].concat());
    }

    #[test]
    fn a_position_out_of_range_is_an_error() {
        let mut reorder = Reorder::new(3);
        assert!(reorder.add(3, b"x\n").is_err());
    }
}
