//! `outcore bench [--size BYTES] [--dir DIR] [--json]`: measures the machine's own floors and
//! every kernel family on the same bytes, in one process and one run, and reports each kernel
//! as a ratio to its floor. Every result is verified after timing: a wrong answer fails the
//! bench instead of making it fast.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Result};
use outcore_engine::{cached_pages, fadvise, FileAdvice};
use outcore_engine::{
    format_bytes, Array, ChunkIo, Context, DType, Layout, Order, OutputFile, Pattern, ScalarKind,
};
use outcore_kernels::copy::{convert, transpose, ConvertOptions};
use outcore_kernels::expr::eval_to_file;
use outcore_kernels::gather::take;
use outcore_kernels::gen::{generate, Fill};
use outcore_kernels::histogram::histogram;
use outcore_kernels::quantile::{quantile, QuantileOptions};
use outcore_kernels::reduce::{reduce_all, stats, ReduceOp, Value};
use outcore_kernels::scan::{scan_to_file, ScanOp};
use outcore_kernels::sort::{argsort, sort, SortOptions};
use outcore_kernels::unique::{unique, UniqueOptions};

use super::common::{json_str, parse_size, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bytes of the float64 test array (default 256M).
    #[arg(long, value_parser = parse_size, default_value = "256M")]
    pub size: usize,
    /// Directory for the test files (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also draw throughput per kernel against its floor into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// What a kernel is compared with: the machine's own time to move the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// Cached sequential `pread` of the bytes into a reused buffer.
    Read,
    /// Writing that many new bytes to a file through the engine's output path, synced.
    Write,
    /// In-memory copy of the bytes.
    Copy,
    /// Reading some bytes and writing some new bytes (the two floors' times added).
    ReadWrite,
}

impl Floor {
    fn name(self) -> &'static str {
        match self {
            Floor::Read => "read",
            Floor::Write => "write",
            Floor::Copy => "copy",
            Floor::ReadWrite => "read+write",
        }
    }
}

/// One measured line of the report.
pub struct Measure {
    pub name: String,
    pub bytes: u64,
    pub seconds: f64,
    pub floor: Option<Floor>,
    pub floor_seconds: f64,
    pub peak_anon: u64,
    pub verified: bool,
}

/// Samples this process's resident anonymous memory while a closure runs.
fn with_peak_anon<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_anon()));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_anon(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let r = f();
    peak.fetch_max(rss_anon(), Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    (r, peak.load(Ordering::Relaxed))
}

/// `RssAnon` of this process in bytes (0 where /proc is not available).
pub fn rss_anon() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn time<R>(f: impl FnOnce() -> Result<R>) -> Result<(R, f64, u64)> {
    let t = Instant::now();
    let (r, peak) = with_peak_anon(f);
    Ok((r?, t.elapsed().as_secs_f64(), peak))
}

/// Read-only kernels and the `pread` floor are timed in rounds, one run of each per round in
/// turn, and each reports its best run: they leave nothing behind, so repeating them is cheap,
/// and their ratios (sum against the floor, stats against sum) are of times taken under the
/// same conditions. Short runs move a lot from one to the next on a shared machine, and the
/// page cache's state drifts within minutes.
const READ_ROUNDS: usize = 5;

/// The best time of repeated runs of one kernel; every run must give the first one's result.
struct Best<R> {
    result: Option<R>,
    seconds: f64,
    peak: u64,
}

impl<R: PartialEq + std::fmt::Debug> Best<R> {
    fn new() -> Best<R> {
        Best {
            result: None,
            seconds: f64::INFINITY,
            peak: 0,
        }
    }

    fn run(&mut self, f: impl FnOnce() -> Result<R>) -> Result<()> {
        let (r, secs, peak) = time(f)?;
        match &self.result {
            Some(first) => ensure!(
                r == *first,
                "repeated run gave {r:?}, the first gave {first:?}"
            ),
            None => self.result = Some(r),
        }
        self.seconds = self.seconds.min(secs);
        self.peak = self.peak.max(peak);
        Ok(())
    }

    fn into_parts(self) -> (R, f64, u64) {
        let result = self.result.expect("at least one round ran");
        (result, self.seconds, self.peak)
    }
}

/// Rounds of a writing kernel against the write floor (see [`time_writer`]).
const WRITE_ROUNDS: usize = 3;

/// Times a kernel that reads `input` and writes `out` against the write floor:
/// `WRITE_ROUNDS` rounds of the floor and then the kernel, each reporting its best. This
/// disk's synced write speed moves by 2x within minutes, and one floor and one kernel run can
/// fall on either side of such a move. The input is read (untimed) right before each kernel
/// run, so that it is in the page cache as the floors assume, as a file read from disk in one
/// pass (see [`cache_as_read`]): this VM pages out file pages left idle for about a minute
/// (see the README). Returns the last round's result (its output is kept for checking), the
/// kernel's best seconds and peak anonymous memory, and the floor's best seconds.
fn time_writer<R>(
    write_floor: impl Fn() -> Result<f64>,
    input: Option<&Path>,
    out: &Path,
    mut kernel: impl FnMut() -> Result<R>,
) -> Result<(R, f64, u64, f64)> {
    let (mut best, mut peak, mut floor) = (f64::INFINITY, 0, f64::INFINITY);
    let mut last = None;
    for _ in 0..WRITE_ROUNDS {
        if last.take().is_some() {
            std::fs::remove_file(out)?;
        }
        floor = floor.min(write_floor()?);
        if let Some(input) = input {
            cache_as_read(input, false)?;
        }
        let (r, secs, p) = time(&mut kernel)?;
        best = best.min(secs);
        peak = peak.max(p);
        last = Some(r);
    }
    let last = last.expect("at least one round ran");
    Ok((last, best, peak, floor))
}

/// The floors, measured on `path` (already cached) and on new files in `dir`.
struct Floors {
    read: f64,
    write: f64,
    copy: f64,
}

/// Puts `path` in the page cache as a file read from disk in one sequential pass: dropped from
/// the cache and read back whole when `always` or when any page of it is not cached, else
/// only read once more (which also marks it recently used). How a file's pages came into the
/// cache decides how fast every mapping scans it (NumPy's too): read in whole, they sit in
/// large folios (up to 2 MiB) that a scan maps with few page-table entries; written through a
/// mapping (as `generate` writes the inputs) or filled in piecemeal after part of the file was
/// paged out, they sit in 4 KiB folios, and the mapping's faults cost system time: a cached
/// sum is measurably slower in the second state, NumPy's too (docs/design.md).
fn cache_as_read(path: &Path, always: bool) -> Result<()> {
    let f = File::open(path)?;
    let (cached, pages) = cached_pages(&f)?;
    if always || cached < pages {
        fadvise(&f, 0..0, FileAdvice::DontNeed);
    }
    scan_file(&f)?;
    Ok(())
}

/// The read floor: reads the whole file with `pread` into a reused 1 MiB buffer.
fn pread_scan(path: &Path) -> Result<u64> {
    scan_file(&File::open(path)?)
}

fn scan_file(f: &File) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = f.read_at(&mut buf, off)?;
        if n == 0 {
            break;
        }
        std::hint::black_box(&buf[..n]);
        off += n as u64;
    }
    Ok(off)
}

/// Seconds to write `bytes` new bytes to a file through the engine's own output path
/// (allocate, map, fill, sync). This disk's synced write speed moves by 2x within minutes, so
/// every writing kernel is compared with write floors measured alternately with it.
fn write_floor(ctx: &Context, dir: &Path, bytes: usize) -> Result<f64> {
    let t = Instant::now();
    let layout = Layout::new(DType::native(ScalarKind::U8), vec![bytes], Order::C)?;
    let mut out =
        OutputFile::create_npy(dir.join("floor-write.npy"), &layout, &Default::default())?;
    let output = out.output();
    let chunks = ctx.plan(output.data_offset(), 1, 0..bytes);
    let plan: Vec<ChunkIo> = chunks
        .iter()
        .map(|c| ChunkIo {
            reads: vec![],
            write: Some(c.clone()),
            bytes: c.len() as u64,
        })
        .collect();
    ctx.run(
        "floor",
        Pattern::Sequential,
        &[],
        Some(output),
        &plan,
        |_, o| {
            o.fill(1);
            Ok(())
        },
    )?;
    out.commit()?;
    let write = t.elapsed().as_secs_f64();
    std::fs::remove_file(dir.join("floor-write.npy"))?;
    Ok(write)
}

/// The write floor (best of `WRITE_ROUNDS`) and the copy floor; the read floor is timed with
/// the read-only kernels.
fn measure_floors(ctx: &Context, read: f64, dir: &Path, bytes: usize) -> Result<Floors> {
    let mut write = f64::INFINITY;
    for _ in 0..WRITE_ROUNDS {
        write = write.min(write_floor(ctx, dir, bytes)?);
    }
    // In-memory copy between two buffers (at most 256 MiB, scaled).
    let n = bytes.min(256 << 20);
    let src = vec![3u8; n];
    let mut dst = vec![0u8; n];
    dst.copy_from_slice(&src); // fault the pages in first
    let t = Instant::now();
    dst.copy_from_slice(std::hint::black_box(&src));
    let copy = t.elapsed().as_secs_f64() * bytes as f64 / n as f64;
    ensure!(dst[n - 1] == 3, "copy floor produced wrong bytes");
    Ok(Floors { read, write, copy })
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let ctx = &session.ctx;
    let n = (args.size / 8).max(4096);
    let bytes = n * 8;
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("outcore-bench-")
        .tempdir_in(&base)?;
    let opts = session.output_options(&[]);
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![n], Order::C)?;
    let input = dir.path().join("x.npy");
    generate(ctx, &input, &layout, Fill::Arange, 0, &opts)?;
    // The read-only kernels and the read floor, in rounds (see `READ_ROUNDS`).
    cache_as_read(&input, true)?;
    let a = Array::open(&input)?;
    let (mut read, mut sum, mut max, mut st) = (Best::new(), Best::new(), Best::new(), Best::new());
    for _ in 0..READ_ROUNDS {
        read.run(|| pread_scan(&input))?;
        sum.run(|| Ok(reduce_all(ctx, &a, ReduceOp::Sum)?))?;
        max.run(|| Ok(reduce_all(ctx, &a, ReduceOp::Max)?))?;
        // stats: count, sum, mean, std, min, max and NaNs in one pass (judged against one sum).
        st.run(|| Ok(stats(ctx, &a)?))?;
    }
    let (read_bytes, read_secs, _) = read.into_parts();
    ensure!(
        read_bytes == (a.data_offset() + bytes) as u64,
        "the pread floor read {read_bytes} bytes"
    );
    let floors = measure_floors(ctx, read_secs, dir.path(), bytes)?;
    // Seconds the machine needs to read `r` cached bytes and write `w` new bytes, with the
    // write floor `write` (seconds for `bytes` bytes) measured alongside the kernel.
    let floor_io =
        |r: usize, w: usize, write: f64| (r as f64 * floors.read + w as f64 * write) / bytes as f64;
    let write_floor_now = || write_floor(ctx, dir.path(), bytes);
    let floor_seconds = |f: Floor| match f {
        Floor::Read => floors.read,
        Floor::Write => floors.write,
        Floor::Copy => floors.copy,
        Floor::ReadWrite => floors.read + floors.write,
    };
    let mut rows: Vec<Measure> = Vec::new();
    for (name, floor, secs) in [
        ("floor: pread scan", Floor::Read, floors.read),
        ("floor: write new file", Floor::Write, floors.write),
        ("floor: memory copy", Floor::Copy, floors.copy),
    ] {
        rows.push(Measure {
            name: name.into(),
            bytes: bytes as u64,
            seconds: secs,
            floor: Some(floor),
            floor_seconds: secs,
            peak_anon: 0,
            verified: true,
        });
    }

    let expected_sum = (n as f64) * (n as f64 - 1.0) / 2.0;
    let (r, secs, peak) = sum.into_parts();
    rows.push(Measure {
        name: "reduce sum".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        verified: r.value == Value::Float(expected_sum),
    });
    let (r, secs, peak) = max.into_parts();
    rows.push(Measure {
        name: "reduce max".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        verified: r.value == Value::Float(n as f64 - 1.0),
    });
    let (st, secs, peak) = st.into_parts();
    let mean = (n as f64 - 1.0) / 2.0;
    let std = ((n as f64 * n as f64 - 1.0) / 12.0).sqrt();
    rows.push(Measure {
        name: "stats".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        verified: st.count == n as u64
            && st.sum == Value::Float(expected_sum)
            && st.min == Some(Value::Float(0.0))
            && st.max == Some(Value::Float(n as f64 - 1.0))
            && st.nan_count == 0
            && (st.mean - mean).abs() <= 1e-12 * mean
            && (st.std - std).abs() <= 1e-9 * std,
    });
    let gen_out = dir.path().join("gen.npy");
    let (_, secs, peak, write) = time_writer(write_floor_now, None, &gen_out, || {
        Ok(generate(ctx, &gen_out, &layout, Fill::Random, 7, &opts)?)
    })?;
    let g = Array::open(&gen_out)?;
    let (lo, hi) = (
        reduce_all(ctx, &g, ReduceOp::Min)?,
        reduce_all(ctx, &g, ReduceOp::Max)?,
    );
    rows.push(Measure {
        name: "gen random".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Write),
        floor_seconds: write,
        peak_anon: peak,
        verified: matches!((lo.value, hi.value), (Value::Float(l), Value::Float(h)) if l >= 0.0 && h < 1.0 && l < h),
    });
    drop(g);
    std::fs::remove_file(&gen_out)?;

    // eval 2*x+1 into a new file: read N bytes, write N new bytes.
    let ev = dir.path().join("eval.npy");
    let (_, secs, peak, write) = time_writer(write_floor_now, Some(&input), &ev, || {
        Ok(eval_to_file(ctx, "2*x+1", &[("x", &a)], &ev, None, &opts)?)
    })?;
    let e = Array::open(&ev)?;
    let verified = e
        .as_slice::<f64>()?
        .iter()
        .enumerate()
        .all(|(i, &v)| v == 2.0 * i as f64 + 1.0);
    rows.push(Measure {
        name: "eval 2*x+1".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::ReadWrite),
        floor_seconds: floor_io(bytes, bytes, write),
        peak_anon: peak,
        verified,
    });
    drop(e);
    std::fs::remove_file(&ev)?;

    // Sorts of the random array: in the budget (no spill) and with a budget of 1/8 of the
    // data (runs spilled and merged). An external sort must read the input, write and read
    // the runs, and write the output.
    let random = dir.path().join("random.npy");
    generate(ctx, &random, &layout, Fill::Random, 11, &opts)?;
    cache_as_read(&random, true)?;
    let r = Array::open(&random)?;
    let sorted = dir.path().join("sorted.npy");
    let sort_opts = SortOptions {
        output: outcore_engine::OutputOptions::default().force(true),
        ..Default::default()
    };
    let small = Context::builder()
        .threads(ctx.threads())
        .memory((bytes / 8).max(1 << 20))
        .build()?;
    // The spilling sort reads and writes every byte twice.
    for (name, c, passes) in [
        ("sort (fits budget)", ctx, 1),
        ("sort (8x budget)", &small, 2),
    ] {
        let write = write_floor_now()?;
        cache_as_read(&random, false)?;
        let (_, secs, peak) = time(|| Ok(sort(c, &r, &sorted, &sort_opts)?))?;
        let verified = is_sorted_permutation(ctx, &r, &sorted)?;
        rows.push(Measure {
            name: name.into(),
            bytes: bytes as u64,
            seconds: secs,
            floor: Some(Floor::ReadWrite),
            floor_seconds: floor_io(passes * bytes, passes * bytes, write),
            peak_anon: peak,
            verified,
        });
        std::fs::remove_file(&sorted)?;
    }
    let order = dir.path().join("argsort.npy");
    let write = write_floor_now()?;
    cache_as_read(&random, false)?;
    let (_, secs, peak) = time(|| Ok(argsort(ctx, &r, &order, &sort_opts)?))?;
    let verified = argsort_is_valid(&r, &order)?;
    rows.push(Measure {
        name: "argsort".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::ReadWrite),
        floor_seconds: floor_io(bytes, bytes, write),
        peak_anon: peak,
        verified,
    });
    // Take by the argsort order (a random gather whose result is the sorted array): read the
    // data and the index, write the data; under 8x budget it goes through the bucketed gather.
    let index = Array::open(&order)?;
    let taken = dir.path().join("taken.npy");
    for (name, c) in [("take (fits budget)", ctx), ("take (8x budget)", &small)] {
        let write = write_floor_now()?;
        cache_as_read(&random, false)?;
        let (_, secs, peak) = time(|| Ok(take(c, &r, &index, None, &taken, &opts)?))?;
        let verified = is_sorted_permutation(ctx, &r, &taken)?;
        rows.push(Measure {
            name: name.into(),
            bytes: bytes as u64,
            seconds: secs,
            floor: Some(Floor::ReadWrite),
            floor_seconds: floor_io(2 * bytes, bytes, write),
            peak_anon: peak,
            verified,
        });
        std::fs::remove_file(&taken)?;
    }
    drop(index);
    std::fs::remove_file(&order)?;

    // Convert float64 -> float32: read N bytes, write N/2.
    let conv = dir.path().join("f4.npy");
    let conv_opts = ConvertOptions {
        dtype: Some(DType::native(ScalarKind::F32)),
        ..Default::default()
    };
    let (c, secs, peak, write) = time_writer(write_floor_now, Some(&input), &conv, || {
        Ok(convert(ctx, &a, &conv_opts, &conv, &opts)?)
    })?;
    let verified = c
        .as_slice::<f32>()?
        .iter()
        .enumerate()
        .all(|(i, &v)| v == i as f32);
    rows.push(Measure {
        name: "convert f8->f4".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::ReadWrite),
        floor_seconds: floor_io(bytes, bytes / 2, write),
        peak_anon: peak,
        verified,
    });
    drop(c);
    std::fs::remove_file(&conv)?;

    // Transpose of a square matrix of arange values.
    let side = ((n as f64).sqrt() as usize).max(2);
    let square = Layout::new(DType::native(ScalarKind::F64), vec![side, side], Order::C)?;
    let m_path = dir.path().join("matrix.npy");
    generate(ctx, &m_path, &square, Fill::Arange, 0, &opts)?;
    cache_as_read(&m_path, true)?;
    let m = Array::open(&m_path)?;
    let t_path = dir.path().join("transposed.npy");
    let (t, secs, peak, write) = time_writer(write_floor_now, Some(&m_path), &t_path, || {
        Ok(transpose(ctx, &m, None, &t_path, &opts)?)
    })?;
    let tv = t.as_slice::<f64>()?;
    let verified = (0..side * side).all(|p| tv[p] == ((p % side) * side + p / side) as f64);
    rows.push(Measure {
        name: "transpose".into(),
        bytes: (side * side * 8) as u64,
        seconds: secs,
        floor: Some(Floor::ReadWrite),
        floor_seconds: floor_io(side * side * 8, side * side * 8, write),
        peak_anon: peak,
        verified,
    });

    // Exact analytics on the same arange input: histogram and quantiles read it (judged
    // against the read floor), scan and unique also write a file.
    cache_as_read(&input, true)?;
    let (mut hist, mut quant) = (Best::new(), Best::new());
    for _ in 0..READ_ROUNDS {
        hist.run(|| Ok(histogram(ctx, &a, 100, None)?))?;
        quant.run(|| {
            Ok(quantile(
                ctx,
                &a,
                &[0.01, 0.5, 0.99],
                &QuantileOptions::default(),
            )?)
        })?;
    }
    let (h, secs, peak) = hist.into_parts();
    rows.push(Measure {
        name: "histogram 100 bins".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        // arange(n): equal bins of n/100 values, give or take one at each edge.
        verified: h.counts.iter().sum::<i64>() == n as i64
            && h.counts.iter().all(|&c| (c - (n / 100) as i64).abs() <= 2),
    });
    let (qr, secs, peak) = quant.into_parts();
    rows.push(Measure {
        name: "quantile 3 q".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        // arange(n): the linear quantile q is (n - 1) * q.
        verified: qr.values.iter().zip([0.01, 0.5, 0.99]).all(
            |(v, q)| matches!(*v, Value::Float(x) if (x - (n as f64 - 1.0) * q).abs() <= 1e-6),
        ),
    });
    let sc = dir.path().join("scan.npy");
    let (_, secs, peak, write) = time_writer(write_floor_now, Some(&input), &sc, || {
        Ok(scan_to_file(ctx, &a, ScanOp::CumSum, None, &sc, &opts)?)
    })?;
    let c = Array::open(&sc)?;
    let cv = c.as_slice::<f64>()?;
    // NumPy's cumsum, bit for bit: a sequential float64 sum (past 2^53 it rounds, so the
    // exact i(i+1)/2 is not the reference at large sizes).
    let mut acc = 0.0f64;
    let verified = cv.iter().enumerate().all(|(i, &v)| {
        acc += i as f64;
        v == acc
    });
    drop(cv);
    drop(c);
    std::fs::remove_file(&sc)?;
    rows.push(Measure {
        name: "scan cumsum".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::ReadWrite),
        floor_seconds: floor_io(bytes, bytes, write),
        peak_anon: peak,
        verified,
    });
    let un = dir.path().join("unique.npy");
    let uc = dir.path().join("unique-counts.npy");
    let (_, secs, peak, write) = time_writer(write_floor_now, Some(&input), &un, || {
        let _ = std::fs::remove_file(&uc);
        let uo = UniqueOptions {
            counts: Some(uc.clone()),
            output: opts.clone(),
            ..UniqueOptions::default()
        };
        Ok(unique(ctx, &a, Some(&un), &uo)?)
    })?;
    let (u, k) = (Array::open(&un)?, Array::open(&uc)?);
    // arange(n): every value once.
    let verified = u.len() == n
        && u.as_slice::<f64>()?
            .iter()
            .enumerate()
            .all(|(i, &v)| v == i as f64)
        && k.as_slice::<i64>()?.iter().all(|&c| c == 1);
    drop((u, k));
    std::fs::remove_file(&un)?;
    std::fs::remove_file(&uc)?;
    rows.push(Measure {
        name: "unique (all distinct)".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::ReadWrite),
        floor_seconds: floor_io(bytes, 2 * bytes, write),
        peak_anon: peak,
        verified,
    });

    report(args.json, ctx, &rows)?;
    if let Some(plot) = &args.plot {
        std::fs::write(plot, svg(&rows, ctx))
            .map_err(|e| outcore_engine::Error::io("cannot write the plot", e).with_path(plot))?;
    }
    if let Some(bad) = rows.iter().find(|r| !r.verified) {
        bail!("bench result of {} is wrong", bad.name);
    }
    Ok(())
}

/// True when `sorted` is non-decreasing and holds the same multiset as `input` (checked by
/// count, sum and extremes, which a sort that lost or duplicated values would not keep).
fn is_sorted_permutation(ctx: &Context, input: &Array, sorted: &Path) -> Result<bool> {
    let s = Array::open(sorted)?;
    let v = s.as_slice::<f64>()?;
    if v.len() != input.len() || !v.windows(2).all(|w| w[0] <= w[1]) {
        return Ok(false);
    }
    let (a, b) = (
        reduce_all(ctx, input, ReduceOp::Sum)?,
        reduce_all(ctx, &s, ReduceOp::Sum)?,
    );
    let (Value::Float(a), Value::Float(b)) = (a.value, b.value) else {
        return Ok(false);
    };
    Ok((a - b).abs() <= 1e-9 * a.abs().max(1.0))
}

/// True when `order` is a permutation that sorts `input`.
fn argsort_is_valid(input: &Array, order: &Path) -> Result<bool> {
    let o = Array::open(order)?;
    let idx = o.as_slice::<i64>()?;
    let v = input.as_slice::<f64>()?;
    let mut seen = vec![false; v.len()];
    let mut prev = f64::NEG_INFINITY;
    for &i in idx.iter() {
        let Some(slot) = usize::try_from(i).ok().filter(|&i| i < v.len()) else {
            return Ok(false);
        };
        if seen[slot] || v[slot] < prev {
            return Ok(false);
        }
        seen[slot] = true;
        prev = v[slot];
    }
    Ok(idx.len() == v.len())
}

fn report(json: bool, ctx: &Context, rows: &[Measure]) -> Result<()> {
    let budget = ctx.budget().limit() as u64;
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{{\"name\":{},\"bytes\":{},\"seconds\":{:.6},\"gb_per_s\":{:.4},\"floor\":{},\"ratio_to_floor\":{:.4},\"peak_anon_bytes\":{},\"verified\":{}}}",
                    json_str(&r.name),
                    r.bytes,
                    r.seconds,
                    r.bytes as f64 / r.seconds / 1e9,
                    r.floor.map_or("null".to_string(), |f| json_str(f.name())),
                    r.floor_seconds / r.seconds,
                    r.peak_anon,
                    r.verified
                )
            })
            .collect();
        println!(
            "{{\"threads\":{},\"budget_bytes\":{},\"results\":[{}]}}",
            ctx.threads(),
            budget,
            items.join(",")
        );
    } else {
        println!(
            "{:<24} {:>10} {:>9} {:>8} {:>11} {:>8} {:>12}  verified",
            "kernel", "bytes", "seconds", "GB/s", "floor", "x floor", "peak anon"
        );
        for r in rows {
            println!(
                "{:<24} {:>10} {:>9.3} {:>8.2} {:>11} {:>8.2} {:>12}  {}",
                r.name,
                format_bytes(r.bytes),
                r.seconds,
                r.bytes as f64 / r.seconds / 1e9,
                r.floor.map_or("-", |f| f.name()),
                r.floor_seconds / r.seconds,
                format_bytes(r.peak_anon),
                if r.verified { "yes" } else { "NO" }
            );
        }
        println!(
            "threads: {}, memory budget: {}; 'x floor' = floor time / kernel time (1.0 = at the machine's limit)",
            ctx.threads(),
            format_bytes(budget)
        );
        println!(
            "read-only kernels: best of {READ_ROUNDS} rounds with the read floor; gen, eval, convert, transpose: best of {WRITE_ROUNDS} rounds alternating with the write floor; inputs cached as read from disk in one pass and re-read (untimed) before each writing kernel"
        );
    }
    Ok(())
}

/// A horizontal bar chart: each kernel's GB/s, with a tick at the GB/s its floor would reach on
/// the same bytes, so the distance to the machine's limit is visible at a glance.
fn svg(rows: &[Measure], ctx: &Context) -> String {
    let (left, bar_h, gap, width) = (190.0, 18.0, 8.0, 560.0);
    let rate = |bytes: u64, secs: f64| bytes as f64 / secs.max(1e-12) / 1e9;
    let max = rows
        .iter()
        .map(|r| rate(r.bytes, r.seconds).max(rate(r.bytes, r.floor_seconds)))
        .fold(0.1f64, f64::max);
    let height = 60.0 + rows.len() as f64 * (bar_h + gap) + 40.0;
    let mut out = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{height}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='10' y='20' font-size='14'>outcore bench: GB/s per kernel (bar) vs its floor (black tick); {t} threads, budget {b}</text>\n",
        w = left + width + 80.0,
        t = ctx.threads(),
        b = format_bytes(ctx.budget().limit() as u64),
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 40.0 + i as f64 * (bar_h + gap);
        let v = rate(r.bytes, r.seconds);
        let w = v / max * width;
        let colour = if r.name.starts_with("floor") {
            "#999999"
        } else if r.verified {
            "#3b7dd8"
        } else {
            "#d83b3b"
        };
        out += &format!(
            "<text x='{tx}' y='{ty}' text-anchor='end'>{name}</text>\n\
             <rect x='{left}' y='{y}' width='{w:.1}' height='{bar_h}' fill='{colour}'/>\n\
             <text x='{vx:.1}' y='{ty}'>{v:.2}</text>\n",
            tx = left - 6.0,
            ty = y + bar_h - 4.0,
            name = r.name,
            vx = left + w + 4.0,
        );
        if r.floor.is_some() && !r.name.starts_with("floor") {
            let fx = left + rate(r.bytes, r.floor_seconds) / max * width;
            out += &format!(
                "<line x1='{fx:.1}' y1='{y0:.1}' x2='{fx:.1}' y2='{y1:.1}' stroke='black' stroke-width='2'/>\n",
                y0 = y - 2.0,
                y1 = y + bar_h + 2.0
            );
        }
    }
    let axis_y = 40.0 + rows.len() as f64 * (bar_h + gap) + 10.0;
    out += &format!(
        "<line x1='{left}' y1='{axis_y}' x2='{x2}' y2='{axis_y}' stroke='black'/>\n\
         <text x='{left}' y='{ly}'>0</text><text x='{x2}' y='{ly}' text-anchor='end'>{max:.1} GB/s</text>\n</svg>\n",
        x2 = left + width,
        ly = axis_y + 16.0,
    );
    out
}
