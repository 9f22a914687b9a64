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
use outcore_engine::{
    format_bytes, Array, ChunkIo, Context, DType, Layout, Order, OutputFile, Pattern, ScalarKind,
};
use outcore_kernels::gen::{generate, Fill};
use outcore_kernels::reduce::{reduce_all, ReduceOp, Value};

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
}

/// Which floor a kernel is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// Cached sequential `pread` of the bytes into a reused buffer.
    Read,
    /// Writing that many new bytes to a file through the engine's output path, synced.
    Write,
    /// In-memory copy of the bytes.
    Copy,
}

impl Floor {
    fn name(self) -> &'static str {
        match self {
            Floor::Read => "read",
            Floor::Write => "write",
            Floor::Copy => "copy",
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

/// The floors, measured on `path` (already cached) and on new files in `dir`.
struct Floors {
    read: f64,
    write: f64,
    copy: f64,
}

fn pread_scan(path: &Path) -> Result<u64> {
    let f = File::open(path)?;
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

fn measure_floors(ctx: &Context, input: &Path, dir: &Path, bytes: usize) -> Result<Floors> {
    pread_scan(input)?; // make sure it is cached
    let read = (0..3)
        .map(|_| {
            let t = Instant::now();
            pread_scan(input).map(|_| t.elapsed().as_secs_f64())
        })
        .collect::<Result<Vec<f64>>>()?
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    // Writing new bytes through the engine's own output path (allocate, map, fill, sync).
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
    let floors = measure_floors(ctx, &input, dir.path(), bytes)?;
    let floor_seconds = |f: Floor| match f {
        Floor::Read => floors.read,
        Floor::Write => floors.write,
        Floor::Copy => floors.copy,
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

    let a = Array::open(&input)?;
    let expected_sum = (n as f64) * (n as f64 - 1.0) / 2.0;
    let (r, secs, peak) = time(|| Ok(reduce_all(ctx, &a, ReduceOp::Sum)?))?;
    rows.push(Measure {
        name: "reduce sum".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        verified: r.value == Value::Float(expected_sum),
    });
    let (r, secs, peak) = time(|| Ok(reduce_all(ctx, &a, ReduceOp::Max)?))?;
    rows.push(Measure {
        name: "reduce max".into(),
        bytes: bytes as u64,
        seconds: secs,
        floor: Some(Floor::Read),
        floor_seconds: floor_seconds(Floor::Read),
        peak_anon: peak,
        verified: r.value == Value::Float(n as f64 - 1.0),
    });
    let gen_out = dir.path().join("gen.npy");
    let (_, secs, peak) = time(|| Ok(generate(ctx, &gen_out, &layout, Fill::Random, 7, &opts)?))?;
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
        floor_seconds: floor_seconds(Floor::Write),
        peak_anon: peak,
        verified: matches!((lo.value, hi.value), (Value::Float(l), Value::Float(h)) if l >= 0.0 && h < 1.0 && l < h),
    });
    drop(g);
    std::fs::remove_file(&gen_out)?;

    report(args.json, ctx, &rows)?;
    if let Some(bad) = rows.iter().find(|r| !r.verified) {
        bail!("bench result of {} is wrong", bad.name);
    }
    Ok(())
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
    }
    Ok(())
}
