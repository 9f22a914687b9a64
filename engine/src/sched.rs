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
//!    the output range and starts its writeback (see `OutputHints::start_writeback`), and waits for the writeback of its output from two
//!    chunks ago before dropping those pages too — so resident and dirty memory stay within
//!    a few chunks per thread whatever the size of the data.
//!
//! Cancellation is checked between chunks; the first error stops the other workers and is
//! returned.

use std::collections::VecDeque;
use std::ops::Range;
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
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
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
    pub phase: &'a str,
    pub done: u64,
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
}

/// Builds a [`Context`]; every setting has a sensible default.
#[derive(Default)]
pub struct ContextBuilder {
    threads: Option<usize>,
    memory: Option<usize>,
    chunk: Option<usize>,
    cancel: Option<CancelToken>,
    progress: Option<Arc<ProgressFn>>,
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
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }
    pub fn progress(mut self, f: impl Fn(Progress<'_>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    pub fn build(self) -> Result<Context> {
        let threads = match self.threads {
            Some(0) => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "--threads must be at least 1",
                ))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let budget = Budget::new(self.memory.unwrap_or_else(Budget::default_limit))?;
        if let Some(c) = self.chunk {
            if c == 0 {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "--chunk must be positive",
                ));
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("outcore-{i}"))
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start the thread pool: {e}")))?;
        Ok(Context {
            pool: Arc::new(pool),
            threads,
            budget,
            chunk_override: self.chunk,
            cancel: self.cancel.unwrap_or_default(),
            progress: self.progress,
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
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// A context with every default (all CPUs, a quarter of available memory).
    pub fn new() -> Result<Context> {
        ContextBuilder::default().build()
    }

    pub fn threads(&self) -> usize {
        self.threads
    }
    pub fn budget(&self) -> &Budget {
        &self.budget
    }
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
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

        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let done = AtomicU64::new(0);
        let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let workers = self.threads.min(n).max(1);

        let worker = || {
            let mut dirty: VecDeque<Range<usize>> = VecDeque::new();
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
                        if pattern == Pattern::Sequential {
                            input.check_backed(r.range.clone())?;
                        } else {
                            // MADV_RANDOM turns fault-around off: one prefault per range
                            // beats a fault per page.
                            input.populate(r.range.clone())?;
                        }
                    }
                    let slot = slots[i].lock().expect("slot lock").take();
                    if let (Some(w), Some(h)) = (&io.write, &hints) {
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
                for r in io.reads.iter().filter(|r| r.release) {
                    inputs[r.input].release(r.range.clone());
                }
                if let (Some(w), Some(h)) = (&io.write, &hints) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Array;
    use crate::dtype::{DType, ScalarKind};
    use crate::layout::{Layout, Order};
    use crate::output::{OutputFile, OutputOptions};

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
