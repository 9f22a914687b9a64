//! The sort job: runs formed in parallel inside the budget (kept in memory when everything
//! fits, spilled to an unnamed scratch file otherwise), merged k-way in as many passes as the
//! fan-in needs, every merge split into disjoint output chunks by splitter search.

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use outcore_engine::plan::plan_chunks;
use outcore_engine::{
    err, ChunkIo, Context, Input, OutputFile, OutputWriter, Pattern, ReadRange, Result, ScratchFile,
};
use outcore_engine::{large_buffer, page_size, Advice};
use rayon::prelude::*;

use super::merge::{split_points_sampled, Merger, Samples};
use super::radix::{sort_bucket, sort_records};
use super::record::{Canon, Record};
use super::sample::{free_partition_ids, Splitters};
use super::source::{Sink, Source};
use super::SortStats;

/// Bytes of run data each merge chunk should read from every run, at least (smaller reads
/// cost a syscall and a seek each): sets the fan-in from the chunk size.
const MIN_RUN_READ: usize = 16 << 10;
const MAX_FAN_IN: usize = 1024;
/// Records merged per block before they are handed to the sink.
const EMIT_BLOCK: usize = 4096;
/// In-memory sorts of fewer records run on one thread (the parallel phases cost more).
const PARALLEL_MIN: usize = 1 << 18;
/// Bytes of records per bucket the parallel in-memory sort aims at (a bucket sorts in L2).
const BUCKET_BYTES: usize = 8 << 20;
/// The most buckets of the parallel in-memory sort: more buckets make the classification
/// deeper and the scatter wider than the caches and TLB like.
const MAX_BUCKETS: usize = 4096;
/// Bytes of input per chunk of the counting and scatter passes.
const SCATTER_CHUNK: usize = 4 << 20;
/// Sample records per bucket, and records read at each sampled place.
const SAMPLE_PER_BUCKET: usize = 16;
const SAMPLE_BLOCK: usize = 16;

thread_local! {
    /// A worker's working space (a chunk of keys, a bucket's scratch), reused from task to
    /// task: fresh memory costs a page fault per page on first use.
    static WORK: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    /// A worker's buffer of output bytes on their way to `pwrite`, reused from task to task.
    static OUT_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bytes of output a worker collects before it writes them with one `pwrite`.
const OUT_BUF_BYTES: usize = 1 << 20;

/// Frees every pool thread's working space when dropped (at the end of a sort, also on
/// errors): a library user's threads must not keep a sort's buffers.
pub struct FreeWorkOnDrop<'c>(pub &'c Context);

impl Drop for FreeWorkOnDrop<'_> {
    fn drop(&mut self) {
        self.0.install(|| {
            rayon::broadcast(|_| {
                WORK.with(|w| {
                    if let Ok(mut w) = w.try_borrow_mut() {
                        *w = Vec::new();
                    }
                });
                OUT_BUF.with(|w| {
                    if let Ok(mut w) = w.try_borrow_mut() {
                        *w = Vec::new();
                    }
                });
                free_partition_ids();
            })
        });
    }
}

/// Runs `f` on `len` records of this thread's working space (zeroed only when it grows).
fn with_work<R: Record, T>(len: usize, f: impl FnOnce(&mut [R]) -> T) -> T {
    let words = (len * std::mem::size_of::<R>()).div_ceil(8);
    WORK.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < words {
                buf.resize(words, 0);
            }
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buf[..words]);
            f(bytemuck::cast_slice_mut(
                &mut bytes[..len * std::mem::size_of::<R>()],
            ))
        }
        Err(_) => f(&mut vec![R::zeroed(); len]),
    })
}

/// The `-0.0`/`+0.0` and NaN records of a bucket in input order (stable float value sorts:
/// NumPy's stable sort keeps values it compares equal in input order, the radix sort orders
/// them by bits).
struct CanonBlocks<R> {
    zeros: Vec<R>,
    nans: Vec<R>,
}

impl<R: Record> CanonBlocks<R> {
    fn collect(c: &Canon, bucket: &[R]) -> CanonBlocks<R> {
        let mut blocks = CanonBlocks {
            zeros: Vec::new(),
            nans: Vec::new(),
        };
        for r in bucket {
            let v = r.plain();
            if v == c.zero_from || v == c.zero_to {
                blocks.zeros.push(*r);
            } else if v > c.nan_above {
                blocks.nans.push(*r);
            }
        }
        blocks
    }

    /// Puts the blocks back, in input order, into the sorted bucket.
    fn restore(&self, c: &Canon, sorted: &mut [R]) {
        let zlo = c.zero_from.min(c.zero_to);
        let z0 = sorted.partition_point(|r| r.plain() < zlo);
        sorted[z0..z0 + self.zeros.len()].copy_from_slice(&self.zeros);
        let nan0 = sorted.partition_point(|r| r.plain() <= c.nan_above);
        sorted[nan0..nan0 + self.nans.len()].copy_from_slice(&self.nans);
    }
}

/// Cuts `s` into consecutive slices of the given lengths.
fn split_by_lens<'a, T>(mut s: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut parts = Vec::with_capacity(lens.len());
    for &len in lens {
        let (a, rest) = std::mem::take(&mut s).split_at_mut(len);
        parts.push(a);
        s = rest;
    }
    parts
}

/// Deletes consumed scratch files on background threads. Freeing gigabytes of temporary
/// blocks can take seconds (file systems mounted with `discard` trim them synchronously), time
/// the job can spend merging or syncing its output instead. Dropping the reaper waits for every
/// deletion, so no temporary file outlives the job, whether it succeeded or failed.
#[derive(Default)]
pub struct Reaper(Mutex<Vec<std::thread::JoinHandle<()>>>);

impl Reaper {
    pub fn dispose(&self, file: ScratchFile) {
        // Where no thread can be spawned, the file is dropped (deleted) with the failed spawn.
        if let Ok(handle) = std::thread::Builder::new()
            .name("outcore-reaper".into())
            .spawn(move || drop(file))
        {
            self.0.lock().expect("reaper lock").push(handle);
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let handles = std::mem::take(self.0.get_mut().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            let _ = h.join();
        }
    }
}

pub struct Job<'a, R: Record> {
    pub ctx: &'a Context,
    pub reaper: &'a Reaper,
    pub input: Input<'a>,
    pub pattern: Pattern,
    pub source: &'a dyn Source<R>,
    pub sink: &'a dyn Sink<R>,
    pub canon: Canon,
    pub tmp_dir: &'a Path,
    pub stats: Mutex<SortStats>,
}

/// Where a merge writes.
enum Dest<'o> {
    /// The next pass's runs, as records.
    Scratch(&'o mut ScratchFile),
    /// The job's output, through the sink; record 0 of the storage is output item `first`.
    Final {
        out: &'o mut OutputFile,
        first: usize,
    },
}

/// Bytes of run data a merge consumes between two rounds of freeing their disk blocks: 1/32
/// of the runs, between 1 and 64 MiB (few `fallocate` calls, little disk held back).
fn free_every(runs_bytes: usize) -> usize {
    (runs_bytes / 32).clamp(1 << 20, 64 << 20)
}

/// How far a merge has consumed its runs: chunks finish out of order, the runs are freed up
/// to the first chunk not finished yet.
struct Consumed {
    done: Vec<bool>,
    /// The first chunk not finished.
    next: usize,
    /// Per run, the byte offset its blocks are freed up to (page aligned), and consumed up to.
    freed: Vec<usize>,
    upto: Vec<usize>,
    /// Bytes consumed since the last round of freeing.
    pending: usize,
}

/// Runs after a merge pass (record ranges) and their in-memory samples.
type MergedRuns<R> = (Vec<Range<usize>>, Vec<Vec<R>>);

fn as_records<'b, R: Record>(bytes: &'b [u8], what: &Path) -> Result<&'b [R]> {
    bytemuck::try_cast_slice(bytes).map_err(|e| {
        err!(InvalidArgument, "temporary run data is misaligned ({e:?})").with_path(what)
    })
}

fn as_records_mut<R: Record>(bytes: &mut [u8]) -> Result<&mut [R]> {
    bytemuck::try_cast_slice_mut(bytes)
        .map_err(|e| err!(InvalidArgument, "run buffer is misaligned ({e:?})"))
}

impl<R: Record> Job<'_, R> {
    const REC: usize = std::mem::size_of::<R>();

    /// Bytes of records one worker sorts at a time: a quarter of the budget shared by the
    /// threads, as the records and the radix scratch buffer both take that much (the rest of
    /// the budget is the mapped window of input and output chunks).
    fn piece_bytes(&self) -> usize {
        let page = page_size();
        let b = self.ctx.worker_share(4);
        (b / page * page).max(page)
    }

    fn fan_in(&self) -> usize {
        (self.ctx.chunk_bytes() / MIN_RUN_READ).clamp(2, MAX_FAN_IN)
    }

    /// Writes `n` sorted records, produced block by block by `fill` (which returns how many it
    /// put in the block, 0 at the end), as output bytes at data offset `at` with `pwrite`,
    /// through this thread's output buffer. Returns the records written.
    fn emit_written(
        &self,
        n: usize,
        mut fill: impl FnMut(&mut [R]) -> usize,
        writer: &OutputWriter<'_>,
        at: usize,
    ) -> Result<usize> {
        let item = self.sink.item_bytes().max(1);
        let cap = (OUT_BUF_BYTES / item).clamp(1, n.max(1));
        let mut block = vec![R::zeroed(); EMIT_BLOCK.min(cap)];
        let mut write = |buf: &mut Vec<u8>| -> Result<usize> {
            buf.resize(buf.len().max(cap * item), 0);
            let (mut done, mut filled) = (0, 0);
            loop {
                let room = (cap - filled).min(block.len());
                let k = fill(&mut block[..room]);
                if k > 0 {
                    self.sink
                        .emit(&block[..k], &mut buf[filled * item..(filled + k) * item])?;
                    filled += k;
                }
                if filled > 0 && (filled == cap || k == 0) {
                    writer.write_at(at + done * item, &buf[..filled * item])?;
                    done += filled;
                    filled = 0;
                }
                if k == 0 {
                    return Ok(done);
                }
            }
        };
        OUT_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => write(&mut buf),
            Err(_) => write(&mut Vec::new()),
        })
    }

    /// Sorts records `seg` (output items `seg` too).
    pub fn sort_segment(&self, seg: Range<usize>, out: &mut OutputFile) -> Result<()> {
        let n = seg.len();
        if n == 0 {
            return Ok(());
        }
        // The records, plus a scatter buffer of as many unless they are scattered into the
        // output itself (value sorts, see `sort_in_memory`); and each thread's bucket scratch.
        let parallel = self.ctx.threads() > 1 && n >= PARALLEL_MIN;
        let copies = if parallel && self.sink.in_place() && self.sink.item_bytes() == Self::REC {
            1
        } else {
            2
        };
        // A thread's bucket scratch holds one bucket: about `BUCKET_BYTES`, or less when there
        // are at least 8 buckets per thread of a smaller segment (twice that for skew).
        let threads = self.ctx.threads();
        let scratch = BUCKET_BYTES.min((n * Self::REC).div_ceil(4 * threads));
        let need = copies * n * Self::REC + threads * 2 * scratch;
        if need <= self.ctx.budget().limit() / 4 * 3 {
            if let Ok(reservation) = self.ctx.budget().reserve(need, "in-memory sort buffers") {
                // The in-memory sort writes through the output's mapping.
                out.allocate()?;
                let r = self.sort_in_memory(seg, out);
                drop(reservation);
                return r;
            }
        }
        self.sort_external(seg, out)
    }

    fn form_run(&self, first: usize, recs: &mut [R], scratch: &mut [R]) -> Result<()> {
        self.source.fill(first, recs)?;
        sort_records(recs, scratch, self.ctx.cancel_token())?;
        if self.canon.active {
            self.fixup(first, recs, scratch)?;
        }
        Ok(())
    }

    /// Stable float value sorts: the radix sort ordered `-0.0` before `+0.0` and NaNs by
    /// payload; put the zeros and the NaNs back in input order within their blocks, which is
    /// the order NumPy's stable sort gives (they compare equal).
    fn fixup(&self, first: usize, recs: &mut [R], tmp: &mut [R]) -> Result<()> {
        let c = &self.canon;
        let (zlo, zhi) = (c.zero_from.min(c.zero_to), c.zero_from.max(c.zero_to));
        let z0 = recs.partition_point(|r| r.plain() < zlo);
        let z1 = recs.partition_point(|r| r.plain() <= zhi);
        let nan0 = recs.partition_point(|r| r.plain() <= c.nan_above);
        let n = recs.len();
        let mixed_zeros = z1 > z0 && recs[z0] != recs[z1 - 1];
        let mixed_nans = n - nan0 > 1 && recs[nan0] != recs[n - 1];
        if !(mixed_zeros || mixed_nans) {
            return Ok(());
        }
        let tmp = &mut tmp[..n];
        self.source.fill(first, tmp)?;
        let (mut zp, mut np) = (z0, nan0);
        for r in tmp.iter() {
            let v = r.plain();
            if v == c.zero_from || v == c.zero_to {
                recs[zp] = *r;
                zp += 1;
            } else if v > c.nan_above {
                recs[np] = *r;
                np += 1;
            }
        }
        Ok(())
    }

    /// Sorts records `seg` inside memory with all threads and without a merge: a parallel
    /// sample sort (see README.md). Splitters sampled from the input cut the key range into
    /// buckets of about equal size; a counting pass over the input gives every chunk its place
    /// in every bucket; a second pass scatters the records into one buffer of `n` records,
    /// each bucket in input order; then every bucket is sorted on its own (in cache) and
    /// written to its range of the output. Memory: `n` records plus a bucket and a chunk of
    /// working space per thread.
    fn sort_in_memory(&self, seg: Range<usize>, out: &mut OutputFile) -> Result<()> {
        let n = seg.len();
        let threads = self.ctx.threads();
        {
            let mut st = self.stats.lock().expect("stats lock");
            st.in_memory_segments += 1;
            st.runs += 1;
        }
        if threads == 1 || n < PARALLEL_MIN {
            // Keep in step with `sort_segment`'s reservation.
            return self.sort_in_memory_serial(seg, out);
        }
        let rec = Self::REC;
        // Buckets of about 8 MiB, at least 8 per thread.
        let k = Splitters::<R>::buckets_for(
            n * rec,
            BUCKET_BYTES,
            (8 * threads).next_power_of_two(),
            MAX_BUCKETS,
        );
        let splitters = self.sample_splitters(seg.clone(), k)?;
        // Chunks of the counting and scatter passes: small enough that a chunk's keys stay
        // in the cache between reading and scattering them.
        let per_chunk = (self.ctx.chunk_bytes().min(SCATTER_CHUNK) / rec).max(4096);
        let chunks: Vec<Range<usize>> = (0..n)
            .step_by(per_chunk)
            .map(|s| s..(s + per_chunk).min(n))
            .collect();
        let counts: Vec<Vec<usize>> = self.par_items(
            "sort: count",
            &[self.input],
            chunks.clone(),
            |_, c| c.len(),
            |_, c| {
                with_work::<R, _>(c.len(), |keys| {
                    self.source.fill(seg.start + c.start, keys)?;
                    let mut counts = vec![0usize; k];
                    splitters.count(keys, &mut counts);
                    Ok(counts)
                })
            },
        )?;
        let mut sizes = vec![0usize; k];
        for cnt in &counts {
            for (s, c) in sizes.iter_mut().zip(cnt) {
                *s += c;
            }
        }
        let item = self.sink.item_bytes();
        // Value sorts scatter straight into the output mapping and sort each bucket where it
        // lies: the output's pages are the only fresh memory the sort touches (a separate
        // scatter buffer of `n` records was half of the kernel's page zeroing).
        if self.sink.in_place() && item == rec {
            let bytes = &mut out.data_mut()[seg.start * item..seg.end * item];
            if let Ok(recs) = bytemuck::try_cast_slice_mut::<u8, R>(bytes) {
                self.scatter(seg.clone(), &chunks, &counts, &splitters, recs)?;
                return self.sort_buckets_in_place(seg, &sizes, out);
            }
        }
        let mut data: Vec<R> = large_buffer(n);
        self.scatter(seg.clone(), &chunks, &counts, &splitters, &mut data)?;
        // Buckets sorted and written to the output in groups of consecutive buckets of about
        // a chunk each, in key order: the scheduler's writeback then follows the file in
        // chunk-sized ranges.
        let groups = self.bucket_groups(n, &sizes);
        let mut bucket_slices = split_by_lens(&mut data, &sizes).into_iter();
        let group_slices: Vec<Mutex<Option<Vec<&mut [R]>>>> = groups
            .iter()
            .map(|g| Mutex::new(Some(bucket_slices.by_ref().take(g.len()).collect())))
            .collect();
        // Each sorted bucket goes out with `pwrite` through a small buffer: writing through
        // the output's mapping would make the kernel zero-fill every fresh page first.
        let plan = Self::group_plan(seg.start, &groups, &sizes, rec + item, item);
        let ranges: Vec<Range<usize>> = plan.iter().filter_map(|c| c.write.clone()).collect();
        let plan: Vec<ChunkIo> = plan
            .into_iter()
            .map(|c| ChunkIo { write: None, ..c })
            .collect();
        let writer = out.writer();
        let lag = 2 * threads;
        self.ctx.run(
            "sort: buckets",
            Pattern::Sequential,
            &[],
            None,
            &plan,
            |g, _| {
                let buckets = group_slices[g]
                    .lock()
                    .expect("group lock")
                    .take()
                    .expect("each group once");
                let mut at = ranges[g].start;
                for bucket in buckets {
                    self.sort_one_bucket(bucket)?;
                    let mut from = 0;
                    let written = self.emit_written(
                        bucket.len(),
                        |block| {
                            let k = block.len().min(bucket.len() - from);
                            block[..k].copy_from_slice(&bucket[from..from + k]);
                            from += k;
                            k
                        },
                        &writer,
                        at,
                    )?;
                    at += written * item;
                }
                writer.start_writeback(ranges[g].clone());
                if let Some(old) = g.checked_sub(lag) {
                    writer.release(ranges[old].clone());
                }
                Ok(())
            },
        )?;
        for r in &ranges[ranges.len().saturating_sub(lag)..] {
            writer.release(r.clone());
        }
        Ok(())
    }

    /// The count pass's second half: reads every chunk of the input again and moves each
    /// record to its place in `data` (`n` records), bucket after bucket, each chunk's share of
    /// a bucket after the previous chunk's, so that a bucket holds its records in input order.
    fn scatter(
        &self,
        seg: Range<usize>,
        chunks: &[Range<usize>],
        counts: &[Vec<usize>],
        splitters: &Splitters<R>,
        data: &mut [R],
    ) -> Result<()> {
        let k = counts.first().map_or(0, |c| c.len());
        // Bucket-major, chunk-minor: bucket b holds chunk 0's records of b, then chunk 1's…
        let lens: Vec<usize> = (0..k)
            .flat_map(|b| counts.iter().map(move |cnt| cnt[b]))
            .collect();
        let mut targets: Vec<Vec<&mut [R]>> =
            (0..chunks.len()).map(|_| Vec::with_capacity(k)).collect();
        for (i, part) in split_by_lens(data, &lens).into_iter().enumerate() {
            targets[i % chunks.len()].push(part);
        }
        let work: Vec<(Range<usize>, Vec<&mut [R]>)> =
            chunks.iter().cloned().zip(targets).collect();
        self.par_items(
            "sort: scatter",
            &[self.input],
            work,
            |_, (c, _)| c.len(),
            |_, (c, mut parts)| {
                with_work::<R, _>(c.len(), |keys| {
                    self.source.fill(seg.start + c.start, keys)?;
                    let mut at = vec![0usize; k];
                    splitters.classify_each(keys, |r, b| {
                        parts[b][at[b]] = *r;
                        at[b] += 1;
                    });
                    Ok(())
                })
            },
        )?;
        Ok(())
    }

    /// Groups of consecutive buckets of about a chunk each (at least four groups per thread),
    /// sorted and written in key order: the scheduler's writeback then follows the file in
    /// chunk-sized ranges, and starts while later groups still sort.
    fn bucket_groups(&self, n: usize, sizes: &[usize]) -> Vec<Range<usize>> {
        let item = self.sink.item_bytes();
        let group_bytes = self
            .ctx
            .chunk_bytes()
            .min(n * item / (4 * self.ctx.threads()))
            .max(1);
        let mut groups: Vec<Range<usize>> = Vec::new();
        let mut first = 0;
        let mut bytes_in_group = 0;
        for (b, &len) in sizes.iter().enumerate() {
            bytes_in_group += len * item;
            if bytes_in_group >= group_bytes || b + 1 == sizes.len() {
                groups.push(first..b + 1);
                first = b + 1;
                bytes_in_group = 0;
            }
        }
        groups
    }

    /// The scheduler's plan of the bucket groups: each writes its records' output range.
    fn group_plan(
        first: usize,
        groups: &[Range<usize>],
        sizes: &[usize],
        weight: usize,
        item: usize,
    ) -> Vec<ChunkIo> {
        let mut plan = Vec::with_capacity(groups.len());
        let mut at = first;
        for g in groups {
            let len: usize = sizes[g.clone()].iter().sum();
            plan.push(ChunkIo {
                write: Some(at * item..(at + len) * item),
                bytes: (len * weight) as u64,
                ..Default::default()
            });
            at += len;
        }
        plan
    }

    /// Sorts one bucket of the parallel in-memory sort where it lies (stable float value
    /// sorts: with its zeros and NaNs put back in input order).
    fn sort_one_bucket(&self, bucket: &mut [R]) -> Result<()> {
        let blocks = self
            .canon
            .active
            .then(|| CanonBlocks::collect(&self.canon, bucket));
        let cancel = self.ctx.cancel_token();
        with_work::<R, _>(bucket.len(), |scratch| sort_bucket(bucket, scratch, cancel))?;
        if let Some(blocks) = blocks {
            blocks.restore(&self.canon, bucket);
        }
        Ok(())
    }

    /// The buckets of a value sort, scattered into the output itself (records `seg`, each
    /// as wide as its output item): each group of buckets is sorted where it lies and its
    /// keys turned into values in place, and the scheduler writes the group back at once.
    fn sort_buckets_in_place(
        &self,
        seg: Range<usize>,
        sizes: &[usize],
        out: &mut OutputFile,
    ) -> Result<()> {
        let item = self.sink.item_bytes();
        let groups = self.bucket_groups(seg.len(), sizes);
        let plan = Self::group_plan(seg.start, &groups, sizes, item, item);
        self.ctx.run(
            "sort: buckets",
            Pattern::Sequential,
            &[],
            Some(out.output()),
            &plan,
            |g, bytes| {
                let recs = as_records_mut::<R>(bytes)?;
                let mut at = 0;
                for &len in &sizes[groups[g].clone()] {
                    let bucket = &mut recs[at..at + len];
                    self.sort_one_bucket(bucket)?;
                    self.sink.emit_in_place(bucket)?;
                    at += len;
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    /// The in-memory sort on one thread (or of few records): read, sort, write.
    fn sort_in_memory_serial(&self, seg: Range<usize>, out: &mut OutputFile) -> Result<()> {
        let n = seg.len();
        let mut data: Vec<R> = large_buffer(n);
        let mut scratch: Vec<R> = large_buffer(n);
        self.par_items(
            "sort: read",
            &[self.input],
            vec![&mut data[..]],
            |_, _| n,
            |_, d| self.source.fill(seg.start, d),
        )?;
        sort_records(&mut data, &mut scratch, self.ctx.cancel_token())?;
        if self.canon.active {
            self.fixup(seg.start, &mut data, &mut scratch)?;
        }
        drop(scratch);
        let item = self.sink.item_bytes();
        let chunks = plan_chunks(
            out.data_offset(),
            item.max(1),
            seg.clone(),
            self.ctx.chunk_bytes(),
            page_size(),
        );
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| ChunkIo {
                write: Some(c.start * item..c.end * item),
                bytes: (c.len() * item) as u64,
                ..Default::default()
            })
            .collect();
        self.ctx.run(
            "sort: write",
            Pattern::Sequential,
            &[],
            Some(out.output()),
            &plan,
            |i, bytes| {
                let c = &chunks[i];
                self.sink
                    .emit(&data[c.start - seg.start..c.end - seg.start], bytes)
            },
        )?;
        Ok(())
    }

    /// Splitters for `k` buckets from a sample of records `seg`: `SAMPLE_BLOCK` consecutive
    /// records at each of many evenly spread places (few reads of the input, and even an
    /// input sorted already is sampled all along its range).
    fn sample_splitters(&self, seg: Range<usize>, k: usize) -> Result<Splitters<R>> {
        let n = seg.len();
        let m = (k * SAMPLE_PER_BUCKET).min(n).max(1);
        let blocks = m.div_ceil(SAMPLE_BLOCK);
        let mut sample = vec![R::zeroed(); blocks * SAMPLE_BLOCK.min(n)];
        let per = SAMPLE_BLOCK.min(n);
        for (j, block) in sample.chunks_mut(per).enumerate() {
            let start = if blocks > 1 {
                (n - per) * j / (blocks - 1)
            } else {
                0
            };
            self.source.fill(seg.start + start, block)?;
        }
        Ok(Splitters::from_sample(sample, k, self.canon))
    }

    /// Runs `work(i, item)` for every item through the scheduler (progress, cancellation,
    /// first error wins), weighting item `i` by `weight(i, &item)` records.
    fn par_items<T: Send, U: Send>(
        &self,
        phase: &str,
        inputs: &[Input<'_>],
        items: Vec<T>,
        weight: impl Fn(usize, &T) -> usize,
        work: impl Fn(usize, T) -> Result<U> + Sync,
    ) -> Result<Vec<U>> {
        let plan: Vec<ChunkIo> = items
            .iter()
            .enumerate()
            .map(|(i, t)| ChunkIo {
                bytes: (weight(i, t) * Self::REC) as u64,
                ..Default::default()
            })
            .collect();
        let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
        self.ctx
            .run(phase, self.pattern, inputs, None, &plan, |i, _| {
                let item = slots[i]
                    .lock()
                    .expect("slot lock")
                    .take()
                    .expect("each item once");
                work(i, item)
            })
    }

    fn sort_external(&self, seg: Range<usize>, out: &mut OutputFile) -> Result<()> {
        let n = seg.len();
        let rec = Self::REC;
        let per_run = (self.piece_bytes() / rec).max(1);
        let mut runs: Vec<Range<usize>> = (0..n)
            .step_by(per_run)
            .map(|s| s..(s + per_run).min(n))
            .collect();
        let total = n
            .checked_mul(rec)
            .ok_or_else(|| err!(Overflow, "temporary run size overflows"))?;
        let mut file = ScratchFile::create(self.tmp_dir, total)?;
        self.check_output_room(n * self.sink.item_bytes(), &file, out)?;
        let every = self.sample_every(n);
        let mut samples: Vec<Vec<R>>;
        {
            // Each worker sorts a run in two buffers of its own (records and radix scratch),
            // reused from run to run, and writes it with `pwrite`: writing through a mapping
            // would make the kernel zero-fill every fresh page of the file first.
            let _reservation = self
                .ctx
                .budget()
                .reserve(2 * self.ctx.threads() * per_run * rec, "sort run buffers")?;
            type Buffers<R> = (Vec<R>, Vec<R>);
            let pool: Mutex<Vec<Buffers<R>>> = Mutex::new(Vec::new());
            let plan: Vec<ChunkIo> = runs
                .iter()
                .map(|r| ChunkIo {
                    bytes: (r.len() * rec) as u64,
                    ..Default::default()
                })
                .collect();
            // Dirty run pages stay bounded: a run's writeback starts when it is written and
            // is waited for `lag` runs later.
            let lag = 2 * self.ctx.threads();
            let bytes_of = |r: &Range<usize>| r.start * rec..r.end * rec;
            let spill = &file;
            samples = self.ctx.run(
                "sort: runs",
                self.pattern,
                &[self.input],
                None,
                &plan,
                |i, _| {
                    let (mut recs, mut scratch) =
                        pool.lock().expect("pool lock").pop().unwrap_or_default();
                    let len = runs[i].len();
                    recs.resize(len, R::zeroed());
                    scratch.resize(len, R::zeroed());
                    let result = self
                        .form_run(seg.start + runs[i].start, &mut recs, &mut scratch)
                        .and_then(|()| {
                            spill.write_at(runs[i].start * rec, bytemuck::cast_slice(&recs))
                        })
                        .map(|()| recs.iter().step_by(every).copied().collect());
                    pool.lock().expect("pool lock").push((recs, scratch));
                    spill.start_writeback(bytes_of(&runs[i]));
                    if let Some(old) = i.checked_sub(lag) {
                        spill.finish_writeback(bytes_of(&runs[old]));
                    }
                    result
                },
            )?;
        }
        {
            let mut st = self.stats.lock().expect("stats lock");
            st.runs += runs.len();
            st.spilled_bytes += total as u64;
        }
        let fan_in = self.fan_in();
        let mut pass = 1;
        while runs.len() > fan_in {
            let mut next = ScratchFile::create(self.tmp_dir, total)?;
            let phase = format!("sort: merge pass {pass}");
            (runs, samples) = self.merge(
                &phase,
                &file,
                &runs,
                (every, &samples),
                Dest::Scratch(&mut next),
            )?;
            // The consumed runs vanish with their unnamed file.
            self.reaper.dispose(std::mem::replace(&mut file, next));
            pass += 1;
            let mut st = self.stats.lock().expect("stats lock");
            st.merge_passes += 1;
            st.spilled_bytes += total as u64;
        }
        self.merge(
            "sort: merge",
            &file,
            &runs,
            (every, &samples),
            Dest::Final {
                out,
                first: seg.start,
            },
        )?;
        self.reaper.dispose(file);
        self.stats.lock().expect("stats lock").merge_passes += 1;
        Ok(())
    }

    /// Refuses, before any work, an external sort whose output will not fit on its disk. An
    /// output created unallocated is written by the final merge with `pwrite` while the runs
    /// it consumed are freed, so on the runs' file system it needs only the bytes the runs do
    /// not give back, plus what is written before its runs are freed. (Allocating it up front
    /// would make the sort's peak disk use input + runs + output: three times the data.)
    fn check_output_room(
        &self,
        out_bytes: usize,
        runs: &ScratchFile,
        out: &OutputFile,
    ) -> Result<()> {
        if out.is_allocated() {
            return Ok(());
        }
        let given_back = if out.shares_disk_with(runs) {
            runs.len()
        } else {
            0
        };
        // Written but not yet given back: a freeing round's worth, the chunks in flight and
        // as many finished ahead of the first unfinished one, and a partial page per run.
        let runs_count = runs.len().div_ceil(self.piece_bytes()).max(1);
        let in_flight = free_every(runs.len())
            + 2 * self.ctx.threads() * self.ctx.chunk_bytes()
            + runs_count * page_size();
        let need = (out_bytes.saturating_sub(given_back) + in_flight).min(out_bytes);
        let free = out.available_space()?;
        if free < need as u64 {
            return Err(err!(
                DiskFull,
                "no room for the sorted output (disk full): {need} bytes must be free besides \
                 what its consumed runs give back, {free} are"
            )
            .with_path(out.dest()));
        }
        Ok(())
    }

    /// Records between in-memory samples of spilled runs: one per page, or fewer so that
    /// the samples of all runs take at most 1/16 of the budget.
    fn sample_every(&self, n: usize) -> usize {
        let max_samples = (self.ctx.budget().limit() / 16 / Self::REC).max(1);
        (page_size() / Self::REC)
            .max(n.div_ceil(max_samples))
            .max(1)
    }

    /// Merges groups of `fan_in` consecutive runs of `records` into `dest`, in parallel chunks;
    /// returns the merged runs and, for a scratch destination, their samples. `input` (the
    /// mapped runs) gets the scheduler's read hints; `samples` (every `every`-th record of each
    /// run) keep the splitter search from reading much of it.
    #[allow(clippy::type_complexity)]
    fn merge(
        &self,
        phase: &str,
        runs_file: &ScratchFile,
        runs: &[Range<usize>],
        samples: (usize, &[Vec<R>]),
        dest: Dest<'_>,
    ) -> Result<MergedRuns<R>> {
        let rec = Self::REC;
        let records = as_records::<R>(runs_file.data(), self.tmp_dir)?;
        let input = runs_file.input();
        let to_scratch = matches!(dest, Dest::Scratch(_));
        // The final merge takes every run at once (earlier passes left at most `fan_in`).
        let fan_in = if to_scratch {
            self.fan_in()
        } else {
            runs.len().max(1)
        };
        let groups: Vec<&[Range<usize>]> = runs.chunks(fan_in).collect();
        let spans: Vec<Range<usize>> = groups
            .iter()
            .map(|g| g[0].start..g[g.len() - 1].end)
            .collect();
        let (item, data_offset, first) = match &dest {
            Dest::Scratch(_) => (rec, 0, 0),
            Dest::Final { out, first } => (self.sink.item_bytes(), out.data_offset(), *first),
        };
        // Output chunks, page aligned in the destination file, within each group.
        let mut chunks: Vec<(usize, Range<usize>)> = Vec::new();
        for (g, span) in spans.iter().enumerate() {
            for c in plan_chunks(
                data_offset,
                item.max(1),
                first + span.start..first + span.end,
                self.ctx.chunk_bytes(),
                page_size(),
            ) {
                chunks.push((g, c.start - first..c.end - first));
            }
        }
        // Cut every run of the group at the chunk's first rank (in parallel: each cut is a
        // handful of binary searches per run). Binary searches over mapped runs must not
        // trigger readahead: each probe would read (and, under memory pressure, evict) a whole
        // readahead window instead of one page.
        input.advise(0..input.bytes.len(), Advice::Random);
        let slices_of =
            |g: usize| -> Vec<&[R]> { groups[g].iter().map(|r| &records[r.clone()]).collect() };
        let (every, per_run) = samples;
        let group_samples: Vec<Samples<'_, R>> = (0..groups.len())
            .map(|g| {
                let first_run = g * fan_in;
                let mine = per_run[first_run..first_run + groups[g].len()]
                    .iter()
                    .map(|v| v.as_slice())
                    .collect();
                Samples::new(every, mine, &self.canon)
            })
            .collect();
        let cancel = self.ctx.cancel_token();
        let cuts: Vec<Vec<usize>> = self.ctx.install(|| {
            chunks
                .par_iter()
                .map(|(g, c)| {
                    cancel.check()?;
                    let rank = c.start - spans[*g].start;
                    Ok(split_points_sampled(
                        &slices_of(*g),
                        &group_samples[*g],
                        rank,
                        &self.canon,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        drop(group_samples);
        // The probed pages stay cached (clean), but not resident in this process.
        input.release(0..input.bytes.len());
        let cut_after = |i: usize| -> Vec<usize> {
            match chunks.get(i + 1) {
                Some((g, _)) if *g == chunks[i].0 => cuts[i + 1].clone(),
                _ => groups[chunks[i].0].iter().map(|r| r.len()).collect(),
            }
        };
        let ends: Vec<Vec<usize>> = (0..chunks.len()).map(cut_after).collect();
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .enumerate()
            .map(|(i, (g, c))| ChunkIo {
                reads: groups[*g]
                    .iter()
                    .zip(cuts[i].iter().zip(&ends[i]))
                    .filter(|(_, (a, b))| b > a)
                    .map(|(r, (a, b))| ReadRange {
                        input: 0,
                        range: (r.start + a) * rec..(r.start + b) * rec,
                        release: true,
                    })
                    .collect(),
                write: Some((first + c.start) * item..(first + c.end) * item),
                bytes: (c.len() * (rec + item)) as u64,
            })
            .collect();
        let inputs = [input];
        // The runs' disk space is given back as the merge consumes them (a sort of data
        // larger than the disk's spare room must not hold input + runs + output at once).
        let freer = Mutex::new(Consumed {
            done: vec![false; chunks.len()],
            next: 0,
            freed: runs.iter().map(|r| r.start * rec).collect(),
            upto: runs.iter().map(|r| r.start * rec).collect(),
            pending: 0,
        });
        let chunk_done = |i: usize| {
            let mut st = freer.lock().expect("freer lock");
            st.done[i] = true;
            while st.next < chunks.len() && st.done[st.next] {
                let c = st.next;
                let g = chunks[c].0;
                for (j, (r, &end)) in groups[g].iter().zip(&ends[c]).enumerate() {
                    st.upto[g * fan_in + j] = (r.start + end) * rec;
                }
                st.pending += chunks[c].1.len() * rec;
                st.next += 1;
            }
            if st.pending >= free_every(runs_file.len()) || st.next == chunks.len() {
                st.pending = 0;
                let page = page_size();
                for r in 0..runs.len() {
                    let (from, to) = (st.freed[r], st.upto[r]);
                    if to > from {
                        runs_file.free_consumed(from..to);
                        st.freed[r] = (to / page * page).max(from);
                    }
                }
            }
        };
        // `Prefetched`: the scheduler hints WILLNEED on exactly the run ranges of the chunks
        // ahead; beyond those, readahead on the mapped runs only hurts: a merge reads `fan_in`
        // streams, whose readahead windows together would outgrow a small budget and evict
        // each other.
        let work =
            |i: usize, bytes: &mut [u8], writer: Option<&OutputWriter<'_>>| -> Result<Vec<R>> {
                let (g, c) = &chunks[i];
                let parts: Vec<&[R]> = groups[*g]
                    .iter()
                    .zip(cuts[i].iter().zip(&ends[i]))
                    .map(|(r, (&a, &b))| &records[r.start + a..r.start + b])
                    .collect();
                let mut merger = Merger::new(parts, self.canon);
                let mut new_samples = Vec::new();
                let produced = if to_scratch {
                    let out = as_records_mut::<R>(bytes)?;
                    let n = merger.fill(out);
                    // Samples of the merged run: its records at multiples of `every`.
                    let offset = c.start - spans[*g].start;
                    let first_sample = offset.div_ceil(every) * every - offset;
                    new_samples.extend(out.iter().skip(first_sample).step_by(every).copied());
                    n
                } else if let Some(writer) = writer {
                    let at = (first + c.start) * item;
                    self.emit_written(c.len(), |block| merger.fill(block), writer, at)?
                } else {
                    let mut block = vec![R::zeroed(); EMIT_BLOCK.min(c.len())];
                    let mut done = 0;
                    loop {
                        let k = merger.fill(&mut block);
                        if k == 0 {
                            break;
                        }
                        self.sink
                            .emit(&block[..k], &mut bytes[done * item..(done + k) * item])?;
                        done += k;
                    }
                    done
                };
                if produced != c.len() {
                    return Err(err!(
                        InvalidArgument,
                        "internal error: merge chunk produced {produced} of {} records",
                        c.len()
                    ));
                }
                Ok(new_samples)
            };
        let per_chunk = match dest {
            Dest::Scratch(file) => self.ctx.run(
                phase,
                Pattern::Prefetched,
                &inputs,
                Some(file.output()),
                &plan,
                |i, bytes| {
                    let r = work(i, bytes, None)?;
                    chunk_done(i);
                    Ok(r)
                },
            )?,
            // The output is written with `pwrite` from a small per-thread buffer, not through
            // its mapping: every fresh page a mapping writes to is first zero-filled.
            Dest::Final { out, .. } => {
                let writer = out.writer();
                let plan: Vec<ChunkIo> = plan
                    .into_iter()
                    .map(|c| ChunkIo { write: None, ..c })
                    .collect();
                let range_of = |i: usize| {
                    let c = &chunks[i].1;
                    (first + c.start) * item..(first + c.end) * item
                };
                let lag = 2 * self.ctx.threads();
                let merged =
                    self.ctx
                        .run(phase, Pattern::Prefetched, &inputs, None, &plan, |i, _| {
                            let r = work(i, &mut [], Some(&writer))?;
                            chunk_done(i);
                            writer.start_writeback(range_of(i));
                            if let Some(old) = i.checked_sub(lag) {
                                writer.release(range_of(old));
                            }
                            Ok(r)
                        })?;
                for i in chunks.len().saturating_sub(lag)..chunks.len() {
                    writer.release(range_of(i));
                }
                merged
            }
        };
        let mut merged_samples: Vec<Vec<R>> =
            vec![Vec::new(); if to_scratch { spans.len() } else { 0 }];
        for ((g, _), smp) in chunks.iter().zip(per_chunk) {
            if let Some(v) = merged_samples.get_mut(*g) {
                v.extend(smp);
            }
        }
        Ok((spans, merged_samples))
    }

    /// Sorts each of `rows` rows of `row_len` records independently (the last axis of an N-d
    /// array). Rows that fit a worker's piece are sorted in batches straight into the output;
    /// longer rows are sorted one by one as segments (externally when they must be).
    pub fn sort_rows(&self, rows: usize, row_len: usize, out: &mut OutputFile) -> Result<()> {
        if rows == 0 || row_len == 0 {
            return Ok(());
        }
        let rec = Self::REC;
        let piece = self.piece_bytes();
        if row_len * rec > piece {
            for r in 0..rows {
                self.sort_segment(r * row_len..(r + 1) * row_len, out)?;
            }
            return Ok(());
        }
        // Short rows are sorted in memory and written through the output's mapping.
        out.allocate()?;
        let item = self.sink.item_bytes();
        // Page-aligned output chunks when the alignment period fits a piece, else plain ones.
        let rows_per_chunk = (piece / (row_len * rec)).max(1);
        let mut chunks = plan_chunks(
            out.data_offset(),
            row_len * item,
            0..rows,
            rows_per_chunk * row_len * item,
            page_size(),
        );
        if chunks.iter().any(|c| c.len() > rows_per_chunk) {
            chunks = (0..rows)
                .step_by(rows_per_chunk)
                .map(|s| s..(s + rows_per_chunk).min(rows))
                .collect();
        }
        let max_rows = chunks.iter().map(|c| c.len()).max().unwrap_or(0);
        let _reservation = self.ctx.budget().reserve(
            2 * self.ctx.threads() * max_rows * row_len * rec,
            "sort row buffers",
        )?;
        let pool: Mutex<Vec<(Vec<R>, Vec<R>)>> = Mutex::new(Vec::new());
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| ChunkIo {
                write: Some(c.start * row_len * item..c.end * row_len * item),
                bytes: (c.len() * row_len * (rec + item)) as u64,
                ..Default::default()
            })
            .collect();
        self.ctx.run(
            "sort: rows",
            self.pattern,
            &[self.input],
            Some(out.output()),
            &plan,
            |i, bytes| {
                let c = &chunks[i];
                let m = c.len() * row_len;
                let (mut buf, mut scratch) =
                    pool.lock().expect("pool lock").pop().unwrap_or_default();
                buf.resize(m, R::zeroed());
                scratch.resize(row_len, R::zeroed());
                let result = (|| {
                    self.source.fill(c.start * row_len, &mut buf)?;
                    for (j, row) in buf.chunks_mut(row_len).enumerate() {
                        sort_records(row, &mut scratch, self.ctx.cancel_token())?;
                        if self.canon.active {
                            self.fixup((c.start + j) * row_len, row, &mut scratch)?;
                        }
                    }
                    self.sink.emit(&buf, bytes)
                })();
                pool.lock().expect("pool lock").push((buf, scratch));
                result
            },
        )?;
        let mut st = self.stats.lock().expect("stats lock");
        st.in_memory_segments += rows;
        Ok(())
    }
}
