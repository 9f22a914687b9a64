//! The scheduler: runs chunk tasks on a rayon pool with a bounded number of bytes in flight,
//! steering the page cache with hints as it goes.
//!
//! Chunks are handed out in order from one atomic counter, so at any moment the `threads`
//! chunks in flight are neighbours and the input is read nearly sequentially. For each chunk a
//! worker:
//! 1. for [`Pattern::Prefetched`] runs, hints `MADV_WILLNEED` on the exact ranges of the
//!    chunk `threads` places ahead (sequential runs leave readahead to the kernel's faults);
//! 2. checks that the file still backs the chunk's input, so that an input truncated
//!    underneath us becomes an error here instead of a SIGBUS: sequential runs prefault
//!    (`MADV_POPULATE_READ`) only the chunk's last page when it is cached (`mincore`) — if
//!    the file backs it, it backs the chunk — and the whole chunk when it is not (see
//!    `Input::check_backed`); other runs always prefault the whole range (one call instead
//!    of a fault per page, as `MADV_RANDOM` turns fault-around off). The output range is
//!    prefaulted with `MADV_POPULATE_WRITE`;
//! 3. runs the kernel on the chunk's bytes;
//! 4. drops the input pages from the resident set (`MADV_DONTNEED`, they stay cached), unmaps
//!    the output range and starts its writeback (see `OutputHints::start_writeback`), and
//!    waits for the writeback of its output from two chunks ago before dropping those pages
//!    too — so resident and dirty memory stay within a few chunks per thread whatever the size
//!    of the data.
//!
//! Hints go to whole pages, and chunks can be smaller than a page (copy plans with a tiny
//! `--chunk`, unaligned raw files). So that such chunks do not each make the calls for the
//! pages they share, every page of an input's or the output's ranges is given to one chunk,
//! the last that starts on or before it (`owned_pages`), which alone releases, prefaults and
//! writes it back; and a read within one page that the worker has already checked is not
//! checked again. With page-aligned chunks this changes nothing: each owns its own pages.
//!
//! Cancellation is checked between chunks; the first error stops the other workers and is
//! returned.

use std::collections::VecDeque;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::array::Input;
use crate::budget::Budget;
use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;
use crate::plan::plan_chunks;
use crate::sys::{page_size, Advice};

/// A cancellation token shared between a job and whoever may stop it (a signal handler, a UI).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    /// Asks every job holding this token to stop (within one chunk).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// `Err(Cancelled)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::cancelled())
        } else {
            Ok(())
        }
    }
    /// The underlying flag, for registering with signal handlers.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// Progress of a job: `done` of `total` bytes in the named phase.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The job's current phase (`"sort"`, `"merge"`, …).
    pub phase: &'a str,
    /// Bytes done in this phase.
    pub done: u64,
    /// Bytes the phase has in all.
    pub total: u64,
}

type ProgressFn = dyn Fn(Progress<'_>) + Send + Sync;

/// Everything a job runs with: thread pool, memory budget, chunk size, cancellation, progress.
#[derive(Clone)]
pub struct Context {
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    budget: Budget,
    chunk_override: Option<usize>,
    cancel: CancelToken,
    progress: Option<Arc<ProgressFn>>,
    tmp_dir: Option<PathBuf>,
}

/// Builds a [`Context`]; every setting has a sensible default.
#[derive(Default)]
pub struct ContextBuilder {
    threads: Option<usize>,
    memory: Option<usize>,
    chunk: Option<usize>,
    cancel: Option<CancelToken>,
    progress: Option<Arc<ProgressFn>>,
    tmp_dir: Option<PathBuf>,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl ContextBuilder {
    /// Worker threads (default: the number of CPUs).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }
    /// Memory budget in bytes (default: a quarter of the available memory).
    pub fn memory(mut self, bytes: usize) -> Self {
        self.memory = Some(bytes);
        self
    }
    /// Chunk size in bytes (default: derived from the budget and the thread count).
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk = Some(bytes);
        self
    }
    /// Cancels the context's jobs through this token (e.g. one set from a signal handler).
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }
    /// Calls `f` with the progress of every phase of every job.
    pub fn progress(mut self, f: impl Fn(Progress<'_>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
    /// Directory for the temporary files of every kernel that spills (a sort's runs…);
    /// default: beside the output.
    pub fn tmp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tmp_dir = Some(dir.into());
        self
    }
    /// Runs jobs on the caller's existing rayon pool instead of starting one; the thread
    /// count is the pool's.
    pub fn thread_pool(mut self, pool: Arc<rayon::ThreadPool>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The context, or an error for a setting no job can run with.
    pub fn build(self) -> Result<Context> {
        let threads = match (self.threads, &self.pool) {
            (Some(0), _) => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "threads must be at least 1",
                ))
            }
            (Some(n), Some(pool)) if n != pool.current_num_threads() => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "{n} threads asked for, but the given thread pool has {}",
                        pool.current_num_threads()
                    ),
                ))
            }
            (_, Some(pool)) => pool.current_num_threads(),
            (Some(n), None) => n,
            (None, None) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let budget = Budget::new(self.memory.unwrap_or_else(Budget::default_limit))?;
        if self.chunk == Some(0) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "chunk size must be positive",
            ));
        }
        let pool = match self.pool {
            Some(pool) => pool,
            None => Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("outcore-{i}"))
                    .build()
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, format!("cannot start the thread pool: {e}"))
                    })?,
            ),
        };
        Ok(Context {
            pool,
            threads,
            budget,
            chunk_override: self.chunk,
            cancel: self.cancel.unwrap_or_default(),
            progress: self.progress,
            tmp_dir: self.tmp_dir,
        })
    }
}

/// One input range a chunk reads.
#[derive(Debug, Clone)]
pub struct ReadRange {
    /// Index into the inputs given to [`Context::run`].
    pub input: usize,
    /// Byte range relative to the input's data.
    pub range: Range<usize>,
    /// Drop these pages from the resident set after the chunk (false for ranges that other
    /// chunks read again, e.g. a broadcast operand).
    pub release: bool,
}

/// What one chunk reads and writes.
#[derive(Debug, Clone, Default)]
pub struct ChunkIo {
    /// The input ranges the chunk reads.
    pub reads: Vec<ReadRange>,
    /// Byte range of the output this chunk writes; ranges of different chunks must be in
    /// increasing order and disjoint.
    pub write: Option<Range<usize>>,
    /// Weight of the chunk for progress reporting (bytes).
    pub bytes: u64,
}

/// How the inputs of a run are accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Chunk by chunk through the file: the kernel's fault-driven readahead (in 2 MiB
    /// folios, see [`Advice::Sequential`]) keeps ahead of the workers.
    Sequential,
    /// Strided or scattered: readahead would read pages no one needs.
    Random,
    /// Scattered ranges known in advance (a merge reads a slice of every run): no kernel
    /// readahead, but each chunk's exact read ranges are hinted `MADV_WILLNEED` one round
    /// before a worker takes it, so their reading overlaps the chunks in flight.
    Prefetched,
}

/// Output ranges each worker keeps dirty before waiting for their writeback.
const WRITEBACK_LAG: usize = 2;

impl Context {
    /// A builder with every setting at its default.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// A context with every default (all CPUs, a quarter of available memory).
    pub fn new() -> Result<Context> {
        ContextBuilder::default().build()
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// The memory budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// One worker's share of `1/parts` of the memory limit: the buffers a kernel gives each
    /// worker when the limit must also hold `parts - 1` more allocations of that size per
    /// worker (a scratch copy, the mapped window of input and output chunks), all workers at
    /// once. One rule for every kernel, so that their sizes scale alike with the limit and
    /// the thread count.
    pub fn worker_share(&self, parts: usize) -> usize {
        self.budget.limit() / (parts.max(1) * self.threads)
    }
    /// The token that cancels this context's jobs.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }
    /// The directory set for temporary files, if any.
    pub fn tmp_dir(&self) -> Option<&Path> {
        self.tmp_dir.as_deref()
    }
    /// Where a job writing `output` keeps its temporary files: the context's directory, or
    /// the output's own (so that they are on the same file system).
    pub fn scratch_dir_for(&self, output: &Path) -> PathBuf {
        match (&self.tmp_dir, output.parent()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(parent)) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            (None, _) => PathBuf::from("."),
        }
    }

    /// Runs `f` inside this context's thread pool (for kernels using rayon directly).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Reports progress to the callback, if any.
    pub fn report(&self, phase: &str, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p(Progress { phase, done, total });
        }
    }

    /// Chunk size in bytes: the `--chunk` override, or the budget shared by two chunks in
    /// flight per thread (one being processed, one read ahead) with room to spare, kept between
    /// 64 KiB (syscall overhead) and 32 MiB (cache and latency).
    pub fn chunk_bytes(&self) -> usize {
        let page = page_size();
        let raw = self.chunk_override.unwrap_or_else(|| {
            (self.budget.limit() / (4 * self.threads)).clamp(64 << 10, 32 << 20)
        });
        (raw / page * page).max(page).min(raw.max(1))
    }

    /// Plans chunks over `items` of a file whose data starts at `data_offset`.
    pub fn plan(
        &self,
        data_offset: usize,
        item_bytes: usize,
        items: Range<usize>,
    ) -> Vec<Range<usize>> {
        plan_chunks(
            data_offset,
            item_bytes,
            items,
            self.chunk_bytes(),
            page_size(),
        )
    }

    /// Runs `work(i, output_bytes)` for every chunk `i` of `plan` and returns the results in
    /// chunk order. `output_bytes` is the chunk's `write` range of `output` (empty when the
    /// chunk writes nothing).
    pub fn run<R, F>(
        &self,
        phase: &str,
        pattern: Pattern,
        inputs: &[Input<'_>],
        output: Option<Output<'_>>,
        plan: &[ChunkIo],
        work: F,
    ) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(usize, &mut [u8]) -> Result<R> + Sync,
    {
        self.cancel.check()?;
        let _timer = PhaseTimer::start(phase);
        let n = plan.len();
        let (out_bytes, hints) = match output {
            Some(o) => {
                let (b, h) = o.split();
                (b, Some(h))
            }
            None => (&mut [][..], None),
        };
        let slots = split_outputs(out_bytes, plan)?;
        let advice = match pattern {
            Pattern::Sequential => Advice::Sequential,
            Pattern::Random | Pattern::Prefetched => Advice::Random,
        };
        for input in inputs {
            input.advise(0..input.bytes.len(), advice);
        }
        let total: u64 = plan.iter().map(|c| c.bytes).sum();
        self.report(phase, 0, total);

        // The pages each chunk releases and writes back (see `owned_pages`): with chunks
        // smaller than a page, only one chunk per page makes those system calls. The write
        // ranges were checked increasing and disjoint by `split_outputs` above, so this error
        // cannot happen; it is kept instead of a panic.
        let page = page_size();
        let write_pages = owned_pages(
            plan.iter().map(|c| c.write.clone()),
            hints.as_ref().map_or(0, |h| h.data_offset()),
            page,
        )
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "output ranges overlap"))?;
        let release_pages: Vec<Option<Vec<Option<Range<usize>>>>> = inputs
            .iter()
            .enumerate()
            .map(|(k, input)| {
                let mut ranges = Vec::with_capacity(n);
                for c in plan {
                    let mut mine = c.reads.iter().filter(|r| r.input == k && r.release);
                    match (mine.next(), mine.next()) {
                        (first, None) => ranges.push(first.map(|r| r.range.clone())),
                        // Several ranges of one input in a chunk: each is released as is.
                        _ => return None,
                    }
                }
                owned_pages(ranges.into_iter(), input.data_offset(), page)
            })
            .collect();

        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let done = AtomicU64::new(0);
        let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let workers = self.threads.min(n).max(1);

        let worker = || {
            let mut dirty: VecDeque<Range<usize>> = VecDeque::new();
            // Per input, the one-page range this worker last checked (file page index).
            let mut checked: Vec<Option<usize>> = vec![None; inputs.len()];
            loop {
                if stop.load(Ordering::Relaxed) || self.cancel.is_cancelled() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if pattern == Pattern::Prefetched {
                    if let Some(ahead) = plan.get(i + workers) {
                        for r in &ahead.reads {
                            inputs[r.input].advise(r.range.clone(), Advice::WillNeed);
                        }
                    }
                }
                let io = &plan[i];
                let outcome = (|| -> Result<R> {
                    for r in &io.reads {
                        let input = &inputs[r.input];
                        // A range within one page that this worker has already checked needs
                        // no second check (tiny chunks share pages).
                        let one_page = single_page(&r.range, input.data_offset(), page);
                        if one_page.is_some() && checked[r.input] == one_page {
                            continue;
                        }
                        if pattern == Pattern::Sequential {
                            input.check_backed(r.range.clone())?;
                        } else {
                            // MADV_RANDOM turns fault-around off: one prefault per range
                            // beats a fault per page.
                            input.populate(r.range.clone())?;
                        }
                        checked[r.input] = one_page;
                    }
                    let slot = slots[i].lock().expect("slot lock").take();
                    if let (Some(w), Some(h)) = (&write_pages[i], &hints) {
                        h.prefault(w.clone());
                    }
                    let out: &mut [u8] = match slot {
                        Some(s) => s,
                        None => &mut [],
                    };
                    work(i, out)
                })();
                match outcome {
                    Ok(r) => *results[i].lock().expect("result lock") = Some(r),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        first_error.lock().expect("error lock").get_or_insert(e);
                        break;
                    }
                }
                for (k, input) in inputs.iter().enumerate() {
                    match &release_pages[k] {
                        Some(pages) => {
                            if let Some(r) = &pages[i] {
                                input.release(r.clone());
                            }
                        }
                        None => {
                            for r in io.reads.iter().filter(|r| r.input == k && r.release) {
                                input.release(r.range.clone());
                            }
                        }
                    }
                }
                if let (Some(w), Some(h)) = (&write_pages[i], &hints) {
                    h.start_writeback(w.clone());
                    dirty.push_back(w.clone());
                    if dirty.len() > WRITEBACK_LAG {
                        h.release(dirty.pop_front().expect("non-empty"));
                    }
                }
                let d = done.fetch_add(io.bytes, Ordering::Relaxed) + io.bytes;
                self.report(phase, d, total);
            }
            if let Some(h) = &hints {
                for w in dirty {
                    h.release(w);
                }
            }
        };
        if workers == 1 {
            self.pool.install(worker);
        } else {
            self.pool.scope(|s| {
                for _ in 0..workers {
                    s.spawn(|_| worker());
                }
            });
        }
        if let Some(e) = first_error.into_inner().expect("error lock") {
            return Err(e);
        }
        self.cancel.check()?;
        results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .expect("result lock")
                    .ok_or_else(Error::cancelled)
            })
            .collect()
    }

    /// Runs `f(items, bytes)` over chunks of one input (a reduction's shape of work) and
    /// returns the per-chunk results in order.
    pub fn for_each_chunk<R, F>(
        &self,
        phase: &str,
        input: &Input<'_>,
        item_bytes: usize,
        items: Range<usize>,
        f: F,
    ) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(Range<usize>, &[u8]) -> Result<R> + Sync,
    {
        let chunks = self.plan(input.data_offset(), item_bytes, items);
        self.for_each_of(phase, input, item_bytes, &chunks, |_, items, bytes| {
            f(items, bytes)
        })
    }

    /// [`for_each_chunk`](Self::for_each_chunk) over chunks the caller cut (ranges of items in
    /// order, e.g. the planner's moved to block boundaries); `f(i, items, bytes)` gets the
    /// chunk's index too.
    pub fn for_each_of<R, F>(
        &self,
        phase: &str,
        input: &Input<'_>,
        item_bytes: usize,
        chunks: &[Range<usize>],
        f: F,
    ) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(usize, Range<usize>, &[u8]) -> Result<R> + Sync,
    {
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| {
                let bytes = c.start * item_bytes..c.end * item_bytes;
                ChunkIo {
                    bytes: bytes.len() as u64,
                    reads: vec![ReadRange {
                        input: 0,
                        range: bytes,
                        release: true,
                    }],
                    write: None,
                }
            })
            .collect();
        self.run(
            phase,
            Pattern::Sequential,
            &[*input],
            None,
            &plan,
            |i, _| {
                let c = &chunks[i];
                f(
                    i,
                    c.clone(),
                    &input.bytes[c.start * item_bytes..c.end * item_bytes],
                )
            },
        )
    }

    /// Runs `f(items, input_bytes, output_bytes)` over matching chunks of an input and an
    /// output with the same number of items (elementwise work such as a cast). Chunks are
    /// page aligned in the output.
    #[allow(clippy::too_many_arguments)]
    pub fn map_chunks<F>(
        &self,
        phase: &str,
        input: &Input<'_>,
        in_item: usize,
        output: Output<'_>,
        out_item: usize,
        items: usize,
        f: F,
    ) -> Result<()>
    where
        F: Fn(Range<usize>, &[u8], &mut [u8]) -> Result<()> + Sync,
    {
        let chunks = self.plan(output.data_offset(), out_item, 0..items);
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| ChunkIo {
                bytes: (c.len() * (in_item + out_item)) as u64,
                reads: vec![ReadRange {
                    input: 0,
                    range: c.start * in_item..c.end * in_item,
                    release: true,
                }],
                write: Some(c.start * out_item..c.end * out_item),
            })
            .collect();
        self.run(
            phase,
            Pattern::Sequential,
            &[*input],
            Some(output),
            &plan,
            |i, out| {
                let c = &chunks[i];
                f(
                    c.clone(),
                    &input.bytes[c.start * in_item..c.end * in_item],
                    out,
                )
            },
        )?;
        Ok(())
    }
}

/// The pages each chunk hints (releases, prefaults, writes back) when the chunks' ranges on
/// one mapping form an increasing sequence: `ranges` has one entry per chunk (`None`: the
/// chunk has no range there), in data coordinates, the data starting `offset` bytes into the
/// file. Every file page touched by some range goes to exactly one chunk — the last whose
/// range starts on or before it — so once that chunk is done no later chunk touches the page
/// (only earlier ones still in flight, for which a hint is harmless), and chunks smaller than a
/// page make one set of calls per page instead of one each. With page-aligned boundaries each
/// chunk gets exactly its own pages. The ranges returned are rounded outward to whole pages by
/// the advisor. `None` when the ranges overlap or are out of order.
fn owned_pages(
    ranges: impl Iterator<Item = Option<Range<usize>>>,
    offset: usize,
    page: usize,
) -> Option<Vec<Option<Range<usize>>>> {
    let ranges: Vec<Option<Range<usize>>> = ranges.map(|r| r.filter(|r| !r.is_empty())).collect();
    // Start of the file page holding data byte `x`, in data coordinates (0 for the page the
    // data begins in).
    let page_start = |x: usize| ((x + offset) / page * page).saturating_sub(offset);
    let mut owned = vec![None; ranges.len()];
    let mut next_start: Option<usize> = None;
    for (i, r) in ranges.iter().enumerate().rev() {
        let Some(r) = r else { continue };
        if next_start.is_some_and(|s| s < r.end) {
            return None;
        }
        let start = page_start(r.start);
        let end = next_start.map_or(r.end, |s| page_start(s).min(r.end));
        if start < end {
            owned[i] = Some(start..end);
        }
        next_start = Some(r.start);
    }
    Some(owned)
}

/// The file page holding all of `range` (data coordinates, data at `offset` in the file), if
/// it is non-empty and lies within one page.
fn single_page(range: &Range<usize>, offset: usize, page: usize) -> Option<usize> {
    let first = (range.start + offset) / page;
    (!range.is_empty() && (range.end - 1 + offset) / page == first).then_some(first)
}

/// Splits the output into one disjoint mutable slice per chunk (in safe code: the plan's write
/// ranges must be increasing and disjoint, which is checked here).
fn split_outputs<'a>(
    mut rest: &'a mut [u8],
    plan: &[ChunkIo],
) -> Result<Vec<Mutex<Option<&'a mut [u8]>>>> {
    let mut slots = Vec::with_capacity(plan.len());
    let mut consumed = 0usize;
    for io in plan {
        match &io.write {
            Some(w) => {
                if w.start < consumed || w.end < w.start || w.end - consumed > rest.len() {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!("chunk plan writes {w:?} out of order or out of bounds"),
                    ));
                }
                let taken = std::mem::take(&mut rest);
                let (_, tail) = taken.split_at_mut(w.start - consumed);
                let (mine, tail) = tail.split_at_mut(w.len());
                rest = tail;
                consumed = w.end;
                slots.push(Mutex::new(Some(mine)));
            }
            None => slots.push(Mutex::new(None)),
        }
    }
    Ok(slots)
}

/// With `OUTCORE_TRACE` set in the environment, every phase prints its wall time to stderr
/// when it ends (for finding where a job's time goes; off by default).
struct PhaseTimer(Option<(String, std::time::Instant)>);

impl PhaseTimer {
    fn start(phase: &str) -> PhaseTimer {
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let on = *ON.get_or_init(|| std::env::var_os("OUTCORE_TRACE").is_some());
        PhaseTimer(on.then(|| (phase.to_string(), std::time::Instant::now())))
    }
}

impl Drop for PhaseTimer {
    fn drop(&mut self) {
        if let Some((phase, t0)) = &self.0 {
            eprintln!(
                "outcore trace: {phase}: {:.3} s",
                t0.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Array;
    use crate::dtype::{DType, ScalarKind};
    use crate::layout::{Layout, Order};
    use crate::output::{OutputFile, OutputOptions};

    #[test]
    fn settings_are_checked_and_described_without_flags() {
        let e = Context::builder().threads(0).build().err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.to_string(), "threads must be at least 1");
        let e = Context::builder().chunk_bytes(0).build().err().unwrap();
        assert_eq!(e.to_string(), "chunk size must be positive");
    }

    #[test]
    fn a_context_runs_on_the_callers_pool_and_keeps_its_tmp_dir() {
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap(),
        );
        let ctx = Context::builder()
            .thread_pool(pool.clone())
            .tmp_dir("/scratch")
            .build()
            .unwrap();
        assert_eq!(ctx.threads(), 3);
        assert_eq!(ctx.install(rayon::current_num_threads), 3);
        assert!(Arc::ptr_eq(&ctx.pool, &pool));
        assert_eq!(
            ctx.scratch_dir_for(Path::new("out/x.npy")),
            Path::new("/scratch")
        );
        let e = Context::builder()
            .thread_pool(pool)
            .threads(2)
            .build()
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let ctx = Context::builder().threads(1).build().unwrap();
        assert_eq!(
            ctx.scratch_dir_for(Path::new("out/x.npy")),
            Path::new("out")
        );
        assert_eq!(ctx.scratch_dir_for(Path::new("x.npy")), Path::new("."));
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let e = Array::open("/nonexistent/outcore/x.npy").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(
            e.to_string()
                .starts_with("/nonexistent/outcore/x.npy: cannot open"),
            "{e}"
        );
    }

    fn ctx(chunk: usize) -> Context {
        Context::builder()
            .threads(2)
            .memory(8 << 20)
            .chunk_bytes(chunk)
            .build()
            .unwrap()
    }

    fn make_input(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
        let p = dir.join("in.npy");
        let layout = Layout::new(DType::native(ScalarKind::U64), vec![n], Order::C).unwrap();
        let mut a = Array::create(&p, layout).unwrap();
        for (i, v) in a.as_mut_slice::<u64>().unwrap().iter_mut().enumerate() {
            *v = i as u64;
        }
        a.flush().unwrap();
        p
    }

    #[test]
    fn chunks_run_in_parallel_and_results_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = Array::open(make_input(dir.path(), 100_000)).unwrap();
        let c = ctx(16 << 10);
        let sums = c
            .for_each_chunk("sum", &a.input(), 8, 0..a.len(), |items, bytes| {
                let v: &[u64] = bytemuck::cast_slice(bytes);
                assert_eq!(v.len(), items.len());
                Ok((items.start, v.iter().sum::<u64>()))
            })
            .unwrap();
        assert!(sums.len() > 10);
        assert!(sums.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(sums.iter().map(|s| s.1).sum::<u64>(), 99_999 * 100_000 / 2);
    }

    #[test]
    fn map_writes_every_chunk_and_first_error_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = Array::open(make_input(dir.path(), 50_000)).unwrap();
        let c = ctx(8 << 10);
        let dest = dir.path().join("out.npy");
        let mut out = OutputFile::create_npy(&dest, a.layout(), &OutputOptions::default()).unwrap();
        c.map_chunks(
            "copy",
            &a.input(),
            8,
            out.output(),
            8,
            a.len(),
            |_, i, o| {
                o.copy_from_slice(i);
                Ok(())
            },
        )
        .unwrap();
        out.commit().unwrap();
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            std::fs::read(a.path()).unwrap()
        );

        let mut out = OutputFile::create_npy(
            dir.path().join("bad.npy"),
            a.layout(),
            &OutputOptions::default(),
        )
        .unwrap();
        let calls = AtomicUsize::new(0);
        let e = c
            .map_chunks(
                "fail",
                &a.input(),
                8,
                out.output(),
                8,
                a.len(),
                |items, _, _| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    if items.start > 0 {
                        Err(Error::new(ErrorKind::InvalidArgument, "boom"))
                    } else {
                        Ok(())
                    }
                },
            )
            .unwrap_err();
        assert_eq!(e.message(), "boom");
        assert!(
            calls.load(Ordering::Relaxed) < 10,
            "workers stop after the first error"
        );
    }

    #[test]
    fn cancellation_stops_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let a = Array::open(make_input(dir.path(), 50_000)).unwrap();
        let token = CancelToken::new();
        let c = Context::builder()
            .threads(2)
            .memory(8 << 20)
            .chunk_bytes(4096)
            .cancel_token(token.clone())
            .build()
            .unwrap();
        let seen = AtomicUsize::new(0);
        let e = c
            .for_each_chunk("sum", &a.input(), 8, 0..a.len(), |_, _| {
                if seen.fetch_add(1, Ordering::Relaxed) == 3 {
                    token.cancel();
                }
                Ok(())
            })
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        assert!(seen.load(Ordering::Relaxed) < 10);
    }

    /// File pages that data range `r` touches (data at `off` in the file).
    fn pages_of(r: &Range<usize>, off: usize, page: usize) -> Range<usize> {
        if r.is_empty() {
            return 0..0;
        }
        (r.start + off) / page..(r.end - 1 + off) / page + 1
    }

    proptest::proptest! {
        #[test]
        fn owned_pages_partition_the_touched_pages(
            off in 0usize..9000,
            parts in proptest::collection::vec((0usize..3, 0usize..9000, proptest::bool::ANY), 0..40),
        ) {
            const PAGE: usize = 4096;
            // An increasing sequence of ranges with gaps, empty ranges and chunks without one.
            let mut pos = 0;
            let ranges: Vec<Option<Range<usize>>> = parts
                .iter()
                .map(|&(gap, len, some)| {
                    pos += gap * 3;
                    let r = pos..pos + len % if len % 3 == 0 { 9000 } else { 40 };
                    pos = r.end;
                    some.then_some(r)
                })
                .collect();
            let owned = owned_pages(ranges.iter().cloned(), off, PAGE).unwrap();
            proptest::prop_assert_eq!(owned.len(), ranges.len());
            let mut owner = std::collections::BTreeMap::new();
            for (i, o) in owned.iter().enumerate() {
                let Some(o) = o else { continue };
                for p in pages_of(o, off, PAGE) {
                    // Each page has one owner, which touches it itself, after which no later
                    // chunk touches it.
                    proptest::prop_assert!(owner.insert(p, i).is_none(), "page {} twice", p);
                    let mine = ranges[i].as_ref().unwrap();
                    proptest::prop_assert!(pages_of(mine, off, PAGE).contains(&p));
                    for later in ranges[i + 1..].iter().flatten() {
                        proptest::prop_assert!(!pages_of(later, off, PAGE).contains(&p));
                    }
                }
            }
            for r in ranges.iter().flatten() {
                for p in pages_of(r, off, PAGE) {
                    proptest::prop_assert!(owner.contains_key(&p), "page {} unowned", p);
                }
            }
            // Page-aligned (in the file) boundaries: every chunk owns exactly its own pages.
            let aligned: Vec<Option<Range<usize>>> = (0..5)
                .map(|k| Some((k * PAGE).saturating_sub(off)..((k + 1) * PAGE).saturating_sub(off)))
                .filter(|r| r.as_ref().is_some_and(|r| !r.is_empty()))
                .collect();
            let owned = owned_pages(aligned.iter().cloned(), off, PAGE).unwrap();
            proptest::prop_assert_eq!(owned, aligned);
        }
    }

    #[test]
    fn owned_pages_refuse_overlaps_and_find_single_pages() {
        assert!(owned_pages([Some(0..10), Some(5..12)].into_iter(), 0, 4096).is_none());
        assert!(owned_pages([Some(10..20), Some(0..5)].into_iter(), 0, 4096).is_none());
        // Eight 8-byte chunks in one page, the page starting 128 bytes before the data.
        let tiny: Vec<_> = (0..8).map(|k| Some(k * 8..k * 8 + 8)).collect();
        let owned = owned_pages(tiny.into_iter(), 128, 4096).unwrap();
        assert_eq!(owned[..7], vec![None; 7]);
        assert_eq!(owned[7], Some(0..64));
        assert_eq!(single_page(&(0..8), 128, 4096), Some(0));
        assert_eq!(single_page(&(3968..3984), 128, 4096), Some(1));
        assert_eq!(single_page(&(3960..3976), 128, 4096), None);
        assert_eq!(single_page(&(5..5), 128, 4096), None);
    }

    #[test]
    fn chunks_smaller_than_a_page_are_read_and_written_correctly() {
        // One item per chunk (as copy plans make with a tiny `--chunk`): every chunk shares its
        // pages with neighbours that the other worker handles at the same time.
        let dir = tempfile::tempdir().unwrap();
        let n = 20_000;
        let a = Array::open(make_input(dir.path(), n)).unwrap();
        for pattern in [Pattern::Sequential, Pattern::Random, Pattern::Prefetched] {
            let plan: Vec<ChunkIo> = (0..n)
                .map(|i| ChunkIo {
                    reads: vec![ReadRange {
                        input: 0,
                        range: i * 8..i * 8 + 8,
                        release: true,
                    }],
                    write: Some(i * 8..i * 8 + 8),
                    bytes: 8,
                })
                .collect();
            let out_path = dir.path().join("out.npy");
            let layout = Layout::new(DType::native(ScalarKind::U64), vec![n], Order::C).unwrap();
            let opts = OutputOptions {
                force: true,
                ..Default::default()
            };
            let mut out = OutputFile::create_npy(&out_path, &layout, &opts).unwrap();
            let input = a.input();
            let seen = ctx(1)
                .run(
                    "x3",
                    pattern,
                    &[input],
                    Some(out.output()),
                    &plan,
                    |i, dst| {
                        let v =
                            u64::from_ne_bytes(input.bytes[i * 8..i * 8 + 8].try_into().unwrap());
                        dst.copy_from_slice(&(3 * v).to_ne_bytes());
                        Ok(v)
                    },
                )
                .unwrap();
            out.commit().unwrap();
            assert!(seen.iter().enumerate().all(|(i, &v)| v == i as u64));
            let got = Array::open(&out_path).unwrap();
            let got = got.as_slice::<u64>().unwrap();
            assert!(
                got.iter().enumerate().all(|(i, &v)| v == 3 * i as u64),
                "{pattern:?}"
            );
        }
    }

    #[test]
    fn overlapping_writes_are_refused() {
        let plan = vec![
            ChunkIo {
                write: Some(0..10),
                ..Default::default()
            },
            ChunkIo {
                write: Some(5..12),
                ..Default::default()
            },
        ];
        let mut buf = [0u8; 16];
        assert!(split_outputs(&mut buf, &plan).is_err());
    }
}
