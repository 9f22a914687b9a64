//! Where records come from and where sorted records go: the input read in logical (C) order
//! whatever its memory order and byte order, turned into records; and sorted records turned
//! into output bytes (values, indices or whole rows).

use std::marker::PhantomData;
use std::ops::Range;

use outcore_engine::{Element, Input, Layout, Result};

use super::keys::SortKey;
use super::record::Record;

/// Elements read per block: the unit of prefaulting and releasing the input.
const BLOCK_BYTES: usize = 1 << 20;

/// Reads elements of the input by logical (C-order) index.
pub struct Reader<'a> {
    input: Input<'a>,
    itemsize: usize,
    swap: bool,
    /// Memory order equals logical order.
    contiguous: bool,
    shape: Vec<usize>,
    /// Memory stride (in elements) of each axis.
    strides: Vec<usize>,
}

impl<'a> Reader<'a> {
    pub fn new(input: Input<'a>, layout: &Layout) -> Reader<'a> {
        Reader {
            input,
            itemsize: layout.itemsize(),
            swap: layout.dtype().needs_swap(),
            contiguous: layout.is_c_contiguous(),
            shape: layout.shape().to_vec(),
            strides: layout.strides(),
        }
    }

    pub fn input(&self) -> &Input<'a> {
        &self.input
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn is_contiguous(&self) -> bool {
        self.contiguous
    }

    /// Memory offset (elements) of logical index `i`.
    fn offset(&self, mut i: usize) -> usize {
        if self.contiguous {
            return i;
        }
        let mut off = 0;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            off += (i % d) * s;
            i /= d;
        }
        off
    }

    /// The raw bytes (file byte order) of the element at logical index `i`.
    pub fn element_bytes(&self, i: usize) -> &'a [u8] {
        let o = self.offset(i) * self.itemsize;
        &self.input.bytes[o..o + self.itemsize]
    }

    /// The native value of the element at logical index `i`.
    pub fn get<T: Element>(&self, i: usize) -> T {
        let v: T = bytemuck::pod_read_unaligned(self.element_bytes(i));
        if self.swap {
            v.swap_bytes()
        } else {
            v
        }
    }

    /// Calls `f(offset, values)` over the elements of logical `range`, in order, block by
    /// block, with native values. Contiguous inputs are checked block by block with
    /// `Input::check_backed` (a truncated file is an error here, not a crash; the runs that
    /// read them advise the input `Sequential`, so faults map cached pages 16 at a time and
    /// read ahead) and released behind.
    pub fn visit<T: Element>(
        &self,
        range: Range<usize>,
        mut f: impl FnMut(usize, &[T]),
    ) -> Result<()> {
        let block = (BLOCK_BYTES / self.itemsize).max(1);
        let mut buf: Vec<T> = Vec::new();
        let mut start = range.start;
        while start < range.end {
            let end = range.end.min(start + block);
            if self.contiguous {
                let bytes = start * self.itemsize..end * self.itemsize;
                self.input.check_backed(bytes.clone())?;
                let raw = &self.input.bytes[bytes.clone()];
                match (self.swap, bytemuck::try_cast_slice::<u8, T>(raw)) {
                    (false, Ok(values)) => f(start - range.start, values),
                    _ => {
                        buf.clear();
                        buf.extend(
                            raw.chunks_exact(self.itemsize)
                                .map(|b| bytemuck::pod_read_unaligned::<T>(b)),
                        );
                        if self.swap {
                            outcore_engine::swap_in_place(&mut buf);
                        }
                        f(start - range.start, &buf);
                    }
                }
                self.input.release(bytes);
            } else {
                buf.clear();
                buf.extend((start..end).map(|i| self.get::<T>(i)));
                f(start - range.start, &buf);
            }
            start = end;
        }
        Ok(())
    }

    /// Checks that the file backs logical range `range` when it is contiguous (rows of a
    /// C-order table; see `visit`); returns it so the caller can release it.
    fn check_backed(&self, range: Range<usize>) -> Result<Option<Range<usize>>> {
        if !self.contiguous {
            return Ok(None);
        }
        let bytes = range.start * self.itemsize..range.end * self.itemsize;
        self.input.check_backed(bytes.clone())?;
        Ok(Some(bytes))
    }
}

/// Makes the records of a logical range of records.
pub trait Source<R>: Sync {
    /// Fills `out` with the records `first..first + out.len()`, in input order.
    fn fill(&self, first: usize, out: &mut [R]) -> Result<()>;
}

/// Turns sorted records into output bytes.
pub trait Sink<R>: Sync {
    /// Bytes of output per record.
    fn item_bytes(&self) -> usize;
    /// Writes `recs` to `out` (`recs.len() * item_bytes()` bytes).
    fn emit(&self, recs: &[R], out: &mut [u8]) -> Result<()>;
    /// Whether [`Sink::emit_in_place`] works: the output item is the record, re-encoded.
    fn in_place(&self) -> bool {
        false
    }
    /// Turns `recs` into their output bytes where they lie (only when [`Sink::in_place`]).
    fn emit_in_place(&self, _recs: &mut [R]) -> Result<()> {
        Err(outcore_engine::err!(
            InvalidArgument,
            "internal error: this output cannot be written in place"
        ))
    }
}

/// Invertible keys of the values (value sorts).
pub struct ValueSource<'a, T> {
    pub reader: &'a Reader<'a>,
    pub descending: bool,
    pub element: PhantomData<T>,
}

impl<T: SortKey> Source<T::Key> for ValueSource<'_, T> {
    fn fill(&self, first: usize, out: &mut [T::Key]) -> Result<()> {
        let desc = self.descending;
        self.reader
            .visit::<T>(first..first + out.len(), |off, values| {
                // Prefetched: left to the hardware prefetcher, this loop waited on its loads
                // (the sort's count pass took 0.50-0.88 s per 2 GiB, depending on the build).
                let mut at = off;
                for block in crate::prefetched_blocks(values, PREFETCH_BLOCK, 4) {
                    for (o, v) in out[at..at + block.len()].iter_mut().zip(block) {
                        *o = v.encode(desc);
                    }
                    at += block.len();
                }
            })
    }
}

/// Values per prefetched block of the key-making loops (4 KiB of float64).
const PREFETCH_BLOCK: usize = 512;

/// `[canonical key, logical index]` records (argsort).
pub struct IndexSource<'a, T> {
    pub reader: &'a Reader<'a>,
    pub descending: bool,
    pub element: PhantomData<T>,
}

impl<T: SortKey> Source<[u64; 2]> for IndexSource<'_, T> {
    fn fill(&self, first: usize, out: &mut [[u64; 2]]) -> Result<()> {
        let desc = self.descending;
        self.reader
            .visit::<T>(first..first + out.len(), |off, values| {
                for (i, (o, v)) in out[off..off + values.len()]
                    .iter_mut()
                    .zip(values)
                    .enumerate()
                {
                    *o = [v.canon(desc), (first + off + i) as u64];
                }
            })
    }
}

/// `[key of column c1, key of c2, …, row]` records of a 2-d table (`--by`).
pub struct RowKeySource<'a, T> {
    pub reader: &'a Reader<'a>,
    pub descending: bool,
    pub columns: Vec<usize>,
    pub row_len: usize,
    pub element: PhantomData<T>,
}

impl<T: SortKey, const W: usize> Source<[u64; W]> for RowKeySource<'_, T> {
    fn fill(&self, first: usize, out: &mut [[u64; W]]) -> Result<()> {
        let s = self;
        let rows_per_block = (BLOCK_BYTES / (s.row_len * s.reader.itemsize).max(1)).max(1);
        for (b, block) in out.chunks_mut(rows_per_block).enumerate() {
            let row0 = first + b * rows_per_block;
            let mem = s
                .reader
                .check_backed(row0 * s.row_len..(row0 + block.len()) * s.row_len)?;
            for (i, rec) in block.iter_mut().enumerate() {
                let row = row0 + i;
                for (k, &c) in s.columns.iter().enumerate() {
                    rec[k] = s.reader.get::<T>(row * s.row_len + c).canon(s.descending);
                }
                // Padding words of a wide record (buffers are reused: clear them).
                rec[s.columns.len()..W - 1].fill(0);
                rec[W - 1] = row as u64;
            }
            if let Some(m) = mem {
                s.reader.input().release(m);
            }
        }
        Ok(())
    }
}

/// Decoded values in the input's dtype (value sorts).
pub struct ValueSink<T> {
    pub descending: bool,
    pub swap: bool,
    pub element: PhantomData<T>,
}

impl<T: SortKey> Sink<T::Key> for ValueSink<T> {
    fn item_bytes(&self) -> usize {
        std::mem::size_of::<T>()
    }
    fn in_place(&self) -> bool {
        std::mem::size_of::<T>() == std::mem::size_of::<T::Key>()
    }
    fn emit_in_place(&self, recs: &mut [T::Key]) -> Result<()> {
        let (desc, swap) = (self.descending, self.swap);
        for r in recs.iter_mut() {
            let v = T::decode(*r, desc);
            let v = if swap { v.swap_bytes() } else { v };
            bytemuck::bytes_of_mut(r).copy_from_slice(bytemuck::bytes_of(&v));
        }
        Ok(())
    }
    fn emit(&self, recs: &[T::Key], out: &mut [u8]) -> Result<()> {
        let (desc, swap) = (self.descending, self.swap);
        let value = |k: T::Key| {
            let v = T::decode(k, desc);
            if swap {
                v.swap_bytes()
            } else {
                v
            }
        };
        match bytemuck::try_cast_slice_mut::<u8, T>(out) {
            Ok(values) => {
                for (o, &k) in values.iter_mut().zip(recs) {
                    *o = value(k);
                }
            }
            Err(_) => {
                for (o, &k) in out.chunks_exact_mut(std::mem::size_of::<T>()).zip(recs) {
                    o.copy_from_slice(bytemuck::bytes_of(&value(k)));
                }
            }
        }
        Ok(())
    }
}

/// Native `int64` indices, relative to the start of their row (argsort).
pub struct IndexSink {
    pub row_len: u64,
}

impl<R: Record> Sink<R> for IndexSink {
    fn item_bytes(&self) -> usize {
        8
    }
    fn emit(&self, recs: &[R], out: &mut [u8]) -> Result<()> {
        let idx = |r: &R| (r.index() % self.row_len.max(1)) as i64;
        match bytemuck::try_cast_slice_mut::<u8, i64>(out) {
            Ok(values) => {
                for (o, r) in values.iter_mut().zip(recs) {
                    *o = idx(r);
                }
            }
            Err(_) => {
                for (o, r) in out.chunks_exact_mut(8).zip(recs) {
                    o.copy_from_slice(&idx(r).to_ne_bytes());
                }
            }
        }
        Ok(())
    }
}

/// Whole rows of the input, moved intact (`--by`).
pub struct RowSink<'a> {
    pub reader: &'a Reader<'a>,
    pub row_len: usize,
}

impl<R: Record> Sink<R> for RowSink<'_> {
    fn item_bytes(&self) -> usize {
        self.row_len * self.reader.itemsize
    }
    fn emit(&self, recs: &[R], out: &mut [u8]) -> Result<()> {
        let item = self.reader.itemsize;
        let row_bytes = self.row_len * item;
        for (o, r) in out.chunks_exact_mut(row_bytes.max(1)).zip(recs) {
            let row = r.index() as usize;
            if self.reader.contiguous {
                o.copy_from_slice(&self.reader.input.bytes[row * row_bytes..(row + 1) * row_bytes]);
            } else {
                for (j, e) in o.chunks_exact_mut(item).enumerate() {
                    e.copy_from_slice(self.reader.element_bytes(row * self.row_len + j));
                }
            }
        }
        Ok(())
    }
}
