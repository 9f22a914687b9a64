//! `np.take(a, idx, axis)` out of core: the index is checked in one pass before any output
//! exists, then output rows are gathered from the source in a cache-friendly order whatever
//! the index order (see `README.md`).

use std::ops::Range;
use std::path::Path;

use outcore_engine::{
    err, prefetch_read, Array, ByteOrder, ChunkIo, Context, Input, Layout, Order, Output,
    OutputFile, OutputOptions, Pattern, ReadRange, Result, ResultExt, ScalarKind, ScratchFile,
};

use super::{c_contiguous, normalize_axis, with_inputs};

/// Rows of at least this many bytes are copied straight from the source in index order: each
/// row is a run of whole pages, so a random order costs no page fault per element.
const LONG_ROW: usize = 64 << 10;

/// Index entries decoded per step (a small reused buffer).
const DECODE_BLOCK: usize = 4096;

/// How many rows ahead a random gather prefetches its source: enough misses in flight to
/// cover the memory latency, few enough that the lines are still cached when copied.
const PREFETCH_AHEAD: usize = 16;

/// Output rows the resident gather groups at a time (a batch): each row's place in its batch
/// takes the low `PLACE_BITS` of a (source row, place) pair.
const PLACE_BITS: u32 = 19;
const BATCH_ROWS: usize = 1 << PLACE_BITS;

/// Bytes of source per block of the resident gather: a batch's rows are gathered block by
/// block, so that consecutive reads share pages (and page-table lines) instead of each one
/// walking the page table of a random page.
const SOURCE_BLOCK: usize = 2 << 20;

thread_local! {
    /// A worker's batch buffers (source rows in output order, then the pairs grouped by
    /// block), reused from chunk to chunk: fresh memory costs a page fault per page.
    static BATCH: std::cell::RefCell<(Vec<u64>, Vec<u64>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// `np.take(input, index, axis)` into `dest` (C order, the input's dtype) and returns it opened
/// read-only. `axis = None` takes from the flattened input (C order); with an axis the output
/// shape is `a.shape[:K] + idx.shape + a.shape[K+1:]`. `index` is an integer (or bool) array of
/// any size, either byte order and memory order; negative entries count from the end. An entry
/// out of range is an error naming its flat position in `index`, raised before the output is
/// created.
pub fn take(
    ctx: &Context,
    input: &Array,
    index: &Array,
    axis: Option<isize>,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let dest = dest.as_ref();
    let kind = index_kind(index)?;
    let shape = input.shape();
    let (axis_no, out_shape, outer, n, inner) = match axis {
        None => (0, index.shape().to_vec(), 1, input.len(), 1),
        Some(a) => {
            let k = normalize_axis(a, shape.len()).at(input.path())?;
            let mut s = shape[..k].to_vec();
            s.extend_from_slice(index.shape());
            s.extend_from_slice(&shape[k + 1..]);
            let outer: usize = shape[..k].iter().product();
            let inner: usize = shape[k + 1..].iter().product();
            (k, s, outer, shape[k], inner)
        }
    };
    let layout = Layout::new(input.dtype().clone(), out_shape, Order::C).at(dest)?;
    let dir = ctx.scratch_dir_for(dest);
    let index_c = c_contiguous(ctx, index, index.dtype(), &dir)?;
    let idx = Index {
        input: index_c.input(),
        kind,
        big: index.dtype().byte_order() == ByteOrder::Big && kind.size() > 1,
        m: index.len(),
        n,
    };
    check_index(ctx, &idx, axis_no, index.path())?;
    let source = c_contiguous(ctx, input, input.dtype(), &dir)?;
    let mut out = OutputFile::create_npy(dest, &layout, &with_inputs(opts, &[input, index]))?;
    let g = Gather {
        src: source.input(),
        idx,
        rows: outer * idx.m,
        row: inner * input.dtype().itemsize(),
    };
    if out.nbytes() > 0 {
        gather(ctx, &g, out.output(), &dir)?;
    }
    out.commit()?;
    Array::open(dest)
}

/// The index dtype's scalar kind: integers of any size, or bool (as 0 and 1, as NumPy).
fn index_kind(index: &Array) -> Result<ScalarKind> {
    match index.dtype().scalar_kind() {
        Some(k) if k.is_int() || k.is_bool() => Ok(k),
        _ => Err(err!(
            UnsupportedDType,
            "the index must be an integer array, not {} ({})",
            index.dtype().str_code(),
            index.dtype().name()
        )
        .with_path(index.path())),
    }
}

/// A C-ordered index array of `m` entries into an axis of length `n`.
#[derive(Clone, Copy)]
struct Index<'a> {
    input: Input<'a>,
    kind: ScalarKind,
    big: bool,
    m: usize,
    n: usize,
}

impl Index<'_> {
    /// The raw values of entries `range`; unsigned values past `i64::MAX` saturate (they are
    /// out of range of any axis anyway).
    fn decode(&self, range: Range<usize>, out: &mut Vec<i64>) {
        use ScalarKind::*;
        out.clear();
        let size = self.kind.size();
        let bytes = &self.input.bytes[range.start * size..range.end * size];
        macro_rules! ints {
            ($t:ty) => {
                out.extend(bytes.chunks_exact(size).map(|c| {
                    let a = <[u8; std::mem::size_of::<$t>()]>::try_from(c).expect("whole items");
                    let v = if self.big {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    };
                    i64::try_from(v).unwrap_or(i64::MAX)
                }))
            };
        }
        match self.kind {
            Bool => out.extend(bytes.iter().map(|&b| i64::from(b != 0))),
            U8 => out.extend(bytes.iter().map(|&b| i64::from(b))),
            I8 => out.extend(bytes.iter().map(|&b| i64::from(b as i8))),
            I16 => ints!(i16),
            I32 => ints!(i32),
            I64 => ints!(i64),
            U16 => ints!(u16),
            U32 => ints!(u32),
            U64 => ints!(u64),
            F16 | F32 | F64 | C64 | C128 => unreachable!("index_kind refuses non-integer indices"),
        }
    }
}

/// Fails with the first entry (in C order) outside `-n..n`, naming its flat position.
fn check_index(ctx: &Context, idx: &Index<'_>, axis: usize, path: &Path) -> Result<()> {
    let n = idx.n as i64;
    let bad = ctx.for_each_chunk(
        "check index",
        &idx.input,
        idx.kind.size(),
        0..idx.m,
        |items, _| {
            let mut values = Vec::with_capacity(DECODE_BLOCK);
            for start in items.clone().step_by(DECODE_BLOCK) {
                idx.decode(start..(start + DECODE_BLOCK).min(items.end), &mut values);
                if let Some(k) = values.iter().position(|&v| v < -n || v >= n) {
                    return Ok(Some((start + k, values[k])));
                }
            }
            Ok(None)
        },
    )?;
    match bad.into_iter().flatten().next() {
        None => Ok(()),
        Some((position, value)) => Err(err!(
            InvalidArgument,
            "index {value} at position {position} is out of bounds for axis {axis} with size {}",
            idx.n
        )
        .with_path(path)),
    }
}

/// What the gather moves: output row `q = o * m + j` is source row `o * n + idx[j]`, rows of
/// `row` bytes.
struct Gather<'a> {
    src: Input<'a>,
    idx: Index<'a>,
    rows: usize,
    row: usize,
}

impl Gather<'_> {
    /// Calls `f(k, r)` for the `k`-th output row of `range` and its source row `r`, in order.
    /// The index has been checked.
    fn for_each_source(&self, range: Range<usize>, mut f: impl FnMut(usize, usize)) {
        self.for_each_block(range, |k0, rows| {
            for (i, &r) in rows.iter().enumerate() {
                f(k0 + i, r);
            }
        });
    }

    /// Calls `f(k0, rows)` for blocks of output rows `range`: `rows[i]` is the source row of
    /// its `k0 + i`-th output row. The index has been checked.
    fn for_each_block(&self, range: Range<usize>, mut f: impl FnMut(usize, &[usize])) {
        let (m, n) = (self.idx.m, self.idx.n);
        let mut values = Vec::with_capacity(DECODE_BLOCK.min(range.len()));
        let mut rows = Vec::with_capacity(DECODE_BLOCK.min(range.len()));
        let mut q = range.start;
        while q < range.end {
            let (o, j) = (q / m, q % m);
            let j_end = (j + (range.end - q)).min(m).min(j + DECODE_BLOCK);
            self.idx.decode(j..j_end, &mut values);
            rows.clear();
            rows.extend(values.iter().map(|&v| {
                let r = if v < 0 { v + n as i64 } else { v } as usize;
                o * n + r
            }));
            f(q - range.start, &rows);
            q += j_end - j;
        }
    }

    /// The index bytes that output rows `range` read: their entries, or the whole index when
    /// the range wraps around it (an axis with outer rows).
    fn index_read(&self, range: &Range<usize>) -> ReadRange {
        let (m, size) = (self.idx.m, self.idx.kind.size());
        let j0 = range.start % m;
        let wraps = range.start / m != (range.end - 1) / m;
        ReadRange {
            input: 0,
            range: if wraps {
                0..m * size
            } else {
                j0 * size..(j0 + range.len()) * size
            },
            release: !wraps,
        }
    }

    /// Output rows cut into ranges of about `bytes`.
    fn row_ranges(&self, bytes: usize) -> Vec<Range<usize>> {
        self.ranges_of((bytes / self.row).max(1))
    }

    /// Output rows cut into ranges of `per` rows.
    fn ranges_of(&self, per: usize) -> Vec<Range<usize>> {
        (0..self.rows)
            .step_by(per)
            .map(|s| s..(s + per).min(self.rows))
            .collect()
    }
}

/// Picks the gather: in place when the source fits three quarters of the budget (as a sort
/// keeps its records in memory up to there), row by row when rows are long, bucketed
/// otherwise.
fn gather(ctx: &Context, g: &Gather<'_>, out: Output<'_>, dir: &Path) -> Result<()> {
    let budget = ctx.budget().limit();
    let window = budget / 4;
    // A resident source's row numbers fit the high bits of a batch pair (it is in memory).
    let src_rows = g.src.bytes.len() / g.row;
    if g.src.bytes.len() <= budget / 4 * 3 && src_rows < 1 << (64 - PLACE_BITS) {
        resident(ctx, g, out)
    } else if g.row >= LONG_ROW.min(window / 2) {
        long_rows(ctx, g, out)
    } else {
        bucketed(ctx, g, out, dir, window / g.row)
    }
}

/// Copies row `r` of `src` to row `k` of `dst`, rows of `W` bytes (a constant, so that the
/// copy is a few moves rather than a call), or of `row` bytes when `W` is 0.
#[inline(always)]
fn copy_row<const W: usize>(src: &[u8], r: usize, dst: &mut [u8], k: usize, row: usize) {
    let row = if W == 0 { row } else { W };
    dst[k * row..(k + 1) * row].copy_from_slice(&src[r * row..(r + 1) * row]);
}

/// Calls `$f::<W>($args)` with `W` the row width when it is a common small one, else 0.
macro_rules! by_row_width {
    ($row:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $row {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            4 => $f::<4>($($arg),*),
            8 => $f::<8>($($arg),*),
            16 => $f::<16>($($arg),*),
            _ => $f::<0>($($arg),*),
        }
    };
}

/// The whole source is read in once (in order); each output chunk is gathered in batches of
/// at most [`BATCH_ROWS`] rows grouped by source block ([`gather_batch`]).
fn resident(ctx: &Context, g: &Gather<'_>, out: Output<'_>) -> Result<()> {
    let len = g.src.bytes.len();
    let _held = ctx.budget().reserve(len, "take's source")?;
    let ranges = g.row_ranges(ctx.chunk_bytes());
    // Batches fit an eighth of the budget (the source leaves at least a quarter free).
    let batch = BATCH_ROWS
        .min(ranges.first().map_or(1, |r| r.len()))
        .min(ctx.budget().limit() / 8 / (16 * ctx.threads()))
        .max(1);
    let _buffers = ctx
        .budget()
        .reserve(ctx.threads() * batch * 16, "take's batch buffers")?;
    let _free = FreeBatchOnDrop(ctx);
    let block_rows = (SOURCE_BLOCK / g.row).max(1);
    g.src.populate(0..len)?;
    let plan: Vec<ChunkIo> = ranges
        .iter()
        .map(|r| ChunkIo {
            reads: vec![g.index_read(r)],
            write: Some(r.start * g.row..r.end * g.row),
            bytes: (r.len() * g.row) as u64,
        })
        .collect();
    let result = ctx.run(
        "take",
        Pattern::Sequential,
        &[g.idx.input],
        Some(out),
        &plan,
        |c, dst| {
            let range = ranges[c].clone();
            BATCH.with(|buffers| {
                let (rows, pairs) = &mut *buffers.borrow_mut();
                for start in range.clone().step_by(batch) {
                    let end = (start + batch).min(range.end);
                    rows.clear();
                    g.for_each_block(start..end, |_, r| rows.extend(r.iter().map(|&r| r as u64)));
                    let dst = &mut dst[(start - range.start) * g.row..(end - range.start) * g.row];
                    gather_batch(g.src.bytes, rows, pairs, block_rows, dst, g.row);
                }
            });
            Ok(())
        },
    );
    g.src.release(0..len);
    result.map(drop)
}

/// Frees every pool thread's batch buffers when dropped (at the end of a take, also on
/// errors): a library user's threads must not keep them.
struct FreeBatchOnDrop<'c>(&'c Context);

impl Drop for FreeBatchOnDrop<'_> {
    fn drop(&mut self) {
        self.0.install(|| {
            rayon::broadcast(|_| {
                BATCH.with(|b| {
                    if let Ok(mut b) = b.try_borrow_mut() {
                        *b = (Vec::new(), Vec::new());
                    }
                })
            })
        });
    }
}

/// Copies the source rows `rows` (at most [`BATCH_ROWS`]) into consecutive rows of `dst`,
/// block by block of `block_rows` source rows: the pairs `source row << PLACE_BITS | place`
/// are first grouped by block (a counting sort into `pairs`), then copied in that order, each
/// source row prefetched a few pairs ahead. A random index otherwise makes every read a
/// page-table walk as well as a cache miss; grouped, the reads of a block share its pages
/// (2 GiB float64 by a random permutation, `/dev/shm`, `--no-sync`: the whole take 5.9 s →
/// 4.9 s).
fn gather_batch(
    src: &[u8],
    rows: &[u64],
    pairs: &mut Vec<u64>,
    block_rows: usize,
    dst: &mut [u8],
    row: usize,
) {
    debug_assert!(rows.len() <= BATCH_ROWS);
    let blocks = (src.len() / row).div_ceil(block_rows).max(1);
    let mut starts = vec![0usize; blocks + 1];
    for &r in rows {
        starts[r as usize / block_rows + 1] += 1;
    }
    for b in 1..=blocks {
        starts[b] += starts[b - 1];
    }
    pairs.clear();
    pairs.resize(rows.len(), 0);
    for (place, &r) in rows.iter().enumerate() {
        let at = &mut starts[r as usize / block_rows];
        pairs[*at] = r << PLACE_BITS | place as u64;
        *at += 1;
    }
    by_row_width!(row, copy_pairs(src, pairs, dst, row));
}

/// Copies each pair's source row to its place in `dst`, prefetching the source a few pairs
/// ahead.
fn copy_pairs<const W: usize>(src: &[u8], pairs: &[u64], dst: &mut [u8], row: usize) {
    let width = if W == 0 { row } else { W };
    let place_mask = (1u64 << PLACE_BITS) - 1;
    for (i, &p) in pairs.iter().enumerate() {
        if let Some(&ahead) = pairs.get(i + PREFETCH_AHEAD) {
            prefetch_read(
                src.as_ptr()
                    .wrapping_add((ahead >> PLACE_BITS) as usize * width),
            );
        }
        copy_row::<W>(
            src,
            (p >> PLACE_BITS) as usize,
            dst,
            (p & place_mask) as usize,
            row,
        );
    }
}

/// Long rows in output order, each cut into chunk-sized pieces read as whole page runs.
fn long_rows(ctx: &Context, g: &Gather<'_>, out: Output<'_>) -> Result<()> {
    let row = g.row;
    let _held = ctx.budget().reserve(g.rows * 8, "take's row list")?;
    // The index is read again through the scheduler, which checks that its file still backs
    // every range: an index truncated since the check pass is an error, not a SIGBUS.
    let ranges = g.ranges_of((ctx.chunk_bytes() / g.idx.kind.size()).max(1));
    let plan: Vec<ChunkIo> = ranges
        .iter()
        .map(|r| ChunkIo {
            reads: vec![g.index_read(r)],
            write: None,
            bytes: (r.len() * g.idx.kind.size()) as u64,
        })
        .collect();
    let lists: Vec<Vec<usize>> = ctx.run(
        "list rows",
        Pattern::Sequential,
        &[g.idx.input],
        None,
        &plan,
        |c, _| {
            let mut rows = Vec::with_capacity(ranges[c].len());
            g.for_each_source(ranges[c].clone(), |_, r| rows.push(r));
            Ok(rows)
        },
    )?;
    let sources = lists.into_iter().flatten();
    let piece = ctx.chunk_bytes().max(1);
    let mut pieces = Vec::new();
    for (q, r) in sources.enumerate() {
        for b in (0..row).step_by(piece) {
            let len = piece.min(row - b);
            pieces.push(ChunkIo {
                reads: vec![ReadRange {
                    input: 0,
                    range: r * row + b..r * row + b + len,
                    release: true,
                }],
                write: Some(q * row + b..q * row + b + len),
                bytes: len as u64,
            });
        }
    }
    ctx.run(
        "take",
        Pattern::Random,
        &[g.src],
        Some(out),
        &pieces,
        |c, dst| {
            dst.copy_from_slice(&g.src.bytes[pieces[c].reads[0].range.clone()]);
            Ok(())
        },
    )
    .map(drop)
}

/// The out-of-core gather: output rows are bucketed by source window (a window is a quarter
/// of the budget), each window is read in once while its bucket's rows are copied out in
/// order, and the gathered rows are scattered back into the output range by range.
fn bucketed(
    ctx: &Context,
    g: &Gather<'_>,
    out: Output<'_>,
    dir: &Path,
    window_rows: usize,
) -> Result<()> {
    let row = g.row;
    let src_rows = g.src.bytes.len() / row;
    let buckets = src_rows.div_ceil(window_rows);
    // Output ranges of a chunk, or larger where the `ranges × windows` tables (16 bytes an
    // entry) would not fit an eighth of the budget: the tables grow with the square of the
    // data-to-budget ratio, not with the data.
    let budget = ctx.budget().limit();
    let table_rows = (g.rows as u128 * buckets as u128 * 16).div_ceil((budget / 8).max(1) as u128);
    let per_range = (ctx.chunk_bytes() / row)
        .max(budget / (8 * ctx.threads()) / (row + 8))
        .max(usize::try_from(table_rows).unwrap_or(usize::MAX))
        .max(1);
    let ranges = g.ranges_of(per_range);
    let _tables = ctx
        .budget()
        .reserve(ranges.len() * buckets * 16, "take's bucket tables")?;
    let index_plan = |write: bool| -> Vec<ChunkIo> {
        ranges
            .iter()
            .map(|r| ChunkIo {
                reads: vec![g.index_read(r)],
                write: write.then(|| r.start * 4..r.end * 4),
                bytes: (r.len() * g.idx.kind.size()) as u64,
            })
            .collect()
    };

    // 1. How many rows of each output range come from each window.
    let counts: Vec<Vec<u64>> = ctx.run(
        "count",
        Pattern::Sequential,
        &[g.idx.input],
        None,
        &index_plan(false),
        |d, _| {
            let mut c = vec![0u64; buckets];
            g.for_each_source(ranges[d].clone(), |_, r| c[r / window_rows] += 1);
            Ok(c)
        },
    )?;
    // Where (range d, bucket s) starts in the bucket-major list: bucket by bucket, and in a
    // bucket range by range, each range's rows in output order.
    let mut starts = vec![vec![0u64; buckets]; ranges.len()];
    let mut bucket_start = vec![0usize; buckets + 1];
    let mut pos = 0u64;
    for s in 0..buckets {
        bucket_start[s] = pos as usize;
        for d in 0..ranges.len() {
            starts[d][s] = pos;
            pos += counts[d][s];
        }
    }
    bucket_start[buckets] = pos as usize;

    // 2. Partition: each output row's source row into the list at its bucket's place, and
    // its bucket number in output order (for the scatter).
    let list = ScratchFile::create(dir, g.rows * 8)?;
    let mut which = ScratchFile::create(dir, g.rows * 4)?;
    ctx.run(
        "partition",
        Pattern::Sequential,
        &[g.idx.input],
        Some(which.output()),
        &index_plan(true),
        |d, dst| {
            let range = ranges[d].clone();
            let _held = ctx
                .budget()
                .reserve(range.len() * 8, "take's partition buffer")?;
            let mut local = vec![0u64; range.len()];
            let mut cursor = Vec::with_capacity(buckets);
            let mut at = 0usize;
            for &c in &counts[d] {
                cursor.push(at);
                at += c as usize;
            }
            g.for_each_source(range, |k, r| {
                let s = r / window_rows;
                dst[k * 4..k * 4 + 4].copy_from_slice(&(s as u32).to_ne_bytes());
                local[cursor[s]] = r as u64;
                cursor[s] += 1;
            });
            let mut from = 0usize;
            for s in 0..buckets {
                let c = counts[d][s] as usize;
                if c > 0 {
                    let bytes: &[u8] = bytemuck::cast_slice(&local[from..from + c]);
                    list.write_at(starts[d][s] as usize * 8, bytes)?;
                }
                from += c;
            }
            Ok(())
        },
    )?;

    // 3. Gather window by window: the list of a bucket in order, its rows copied out of the
    // resident window into the records file, in list order.
    let mut records = ScratchFile::create(dir, g.rows * row)?;
    let list_in = list.input();
    let _window = ctx
        .budget()
        .reserve(window_rows * row, "take's source window")?;
    let per_chunk = (ctx.chunk_bytes() / row).max(1);
    for s in 0..buckets {
        let (l0, l1) = (bucket_start[s], bucket_start[s + 1]);
        if l0 == l1 {
            continue;
        }
        let window = s * window_rows * row..((s + 1) * window_rows).min(src_rows) * row;
        g.src.populate(window.clone())?;
        let chunks: Vec<Range<usize>> = (l0..l1)
            .step_by(per_chunk)
            .map(|a| a..(a + per_chunk).min(l1))
            .collect();
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| ChunkIo {
                reads: vec![ReadRange {
                    input: 0,
                    range: c.start * 8..c.end * 8,
                    release: true,
                }],
                write: Some(c.start * row..c.end * row),
                bytes: (c.len() * row) as u64,
            })
            .collect();
        let result = ctx.run(
            "gather",
            Pattern::Sequential,
            &[list_in],
            Some(records.output()),
            &plan,
            |i, dst| {
                let c = &chunks[i];
                let list = &list_in.bytes[c.start * 8..c.end * 8];
                by_row_width!(row, gather_listed(g.src.bytes, list, dst, row));
                Ok(())
            },
        );
        g.src.release(window);
        result?;
    }

    // 4. Scatter: each output range takes its rows from its part of every bucket, in order.
    let (which_in, records_in) = (which.input(), records.input());
    let plan: Vec<ChunkIo> = ranges
        .iter()
        .enumerate()
        .map(|(d, r)| {
            let mut reads = vec![ReadRange {
                input: 0,
                range: r.start * 4..r.end * 4,
                release: true,
            }];
            for s in 0..buckets {
                let (at, c) = (starts[d][s] as usize, counts[d][s] as usize);
                if c > 0 {
                    reads.push(ReadRange {
                        input: 1,
                        range: at * row..(at + c) * row,
                        release: true,
                    });
                }
            }
            ChunkIo {
                reads,
                write: Some(r.start * row..r.end * row),
                bytes: (r.len() * row) as u64,
            }
        })
        .collect();
    ctx.run(
        "scatter",
        Pattern::Prefetched,
        &[which_in, records_in],
        Some(out),
        &plan,
        |d, dst| {
            let r = &ranges[d];
            let mut cursor: Vec<usize> = starts[d].iter().map(|&a| a as usize).collect();
            let which = &which_in.bytes[r.start * 4..r.end * 4];
            by_row_width!(
                row,
                scatter_rows(records_in.bytes, which, &mut cursor, dst, row)
            );
            Ok(())
        },
    )
    .map(drop)
}

/// The gather of one chunk of a bucket's list (source row numbers, native `u64`): those rows
/// of `src` copied into `dst` in list order, prefetched a few entries ahead.
fn gather_listed<const W: usize>(src: &[u8], list: &[u8], dst: &mut [u8], row: usize) {
    let width = if W == 0 { row } else { W };
    let entry =
        |i: usize| u64::from_ne_bytes(list[i * 8..i * 8 + 8].try_into().expect("8 bytes")) as usize;
    let n = list.len() / 8;
    for i in 0..n {
        if i + PREFETCH_AHEAD < n {
            prefetch_read(src.as_ptr().wrapping_add(entry(i + PREFETCH_AHEAD) * width));
        }
        copy_row::<W>(src, entry(i), dst, i, row);
    }
}

/// The scatter of one output range: its `k`-th row is the next record of the bucket
/// `which[k]` (native `u32`), whose next position is `cursor[bucket]`.
fn scatter_rows<const W: usize>(
    records: &[u8],
    which: &[u8],
    cursor: &mut [usize],
    dst: &mut [u8],
    row: usize,
) {
    for (k, id) in which.chunks_exact(4).enumerate() {
        let s = u32::from_ne_bytes(id.try_into().expect("4 bytes")) as usize;
        copy_row::<W>(records, cursor[s], dst, k, row);
        cursor[s] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    /// A batch grouped into many small blocks gathers the same rows as copying them in index
    /// order, for every row width (the constant ones and the general one).
    #[test]
    fn a_batch_grouped_by_block_is_the_plain_gather() {
        let mut rand = xorshift();
        for row in [1usize, 2, 4, 8, 16, 12] {
            let src_rows = 1000;
            let src: Vec<u8> = (0..src_rows * row).map(|_| rand() as u8).collect();
            let rows: Vec<u64> = (0..3000).map(|_| rand() % src_rows as u64).collect();
            let want: Vec<u8> = rows
                .iter()
                .flat_map(|&r| src[r as usize * row..(r as usize + 1) * row].to_vec())
                .collect();
            for block_rows in [1, 7, 64, src_rows, 10 * src_rows] {
                let mut pairs = Vec::new();
                let mut dst = vec![0u8; rows.len() * row];
                gather_batch(&src, &rows, &mut pairs, block_rows, &mut dst, row);
                assert_eq!(dst, want, "row {row}, block {block_rows}");
                // Grouped by block, and every place once.
                let blocks: Vec<u64> = pairs
                    .iter()
                    .map(|p| (p >> PLACE_BITS) / block_rows as u64)
                    .collect();
                assert!(blocks.windows(2).all(|w| w[0] <= w[1]));
                let mut places: Vec<u64> =
                    pairs.iter().map(|p| p & ((1 << PLACE_BITS) - 1)).collect();
                places.sort_unstable();
                assert!(places.iter().enumerate().all(|(i, &p)| p == i as u64));
            }
        }
    }
}
