//! `outcore demo [--size BYTES] [--dir DIR]`: the main job on an embedded default. Makes an
//! array larger than its memory budget in a temporary directory, runs the kernels on it with
//! progress, checks every result, prints a table of throughputs, and cleans up.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use outcore_engine::{format_bytes, Array, Context, DType, Layout, Order, ScalarKind};
use outcore_kernels::copy::transpose;
use outcore_kernels::expr::eval_to_file;
use outcore_kernels::gen::{generate, Fill};
use outcore_kernels::reduce::{reduce_all, stats, ReduceOp, Value};
use outcore_kernels::sort::{sort, SortOptions};

use super::common::{parse_size, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Size of the demo array (default 512M).
    #[arg(long, value_parser = parse_size, default_value = "512M")]
    pub size: usize,
    /// Where to make the temporary directory (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

struct Row {
    step: String,
    bytes: u64,
    seconds: f64,
    check: String,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let n = (args.size / 8).max(1024);
    let nbytes = (n * 8) as u64;
    // The demo's budget: an eighth of the array unless --mem says otherwise, so the array is
    // always larger than the memory the engine may use.
    let budget = session.global.mem.unwrap_or((args.size / 8).max(1 << 20));
    let mut builder = Context::builder()
        .memory(budget)
        .cancel_token(session.ctx.cancel_token().clone());
    if let Some(t) = session.global.threads {
        builder = builder.threads(t);
    }
    let ctx = builder.build()?;
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("outcore-demo-")
        .tempdir_in(&base)?;
    eprintln!(
        "outcore demo: {} float64 elements ({}) with a memory budget of {} on {} threads, in {}",
        n,
        format_bytes(nbytes),
        format_bytes(budget as u64),
        ctx.threads(),
        dir.path().display()
    );
    let mut rows = Vec::new();
    let opts = session.output_options(&[]);
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![n], Order::C)?;

    let arange = dir.path().join("arange.npy");
    let t = Instant::now();
    generate(&ctx, &arange, &layout, Fill::Arange, 0, &opts)?;
    rows.push(Row {
        step: "gen arange".into(),
        bytes: nbytes,
        seconds: t.elapsed().as_secs_f64(),
        check: "-".into(),
    });
    let a = Array::open(&arange)?;
    let expected_sum = (n as f64) * (n as f64 - 1.0) / 2.0;
    for (op, expected) in [
        (ReduceOp::Sum, expected_sum),
        (ReduceOp::Min, 0.0),
        (ReduceOp::Max, n as f64 - 1.0),
    ] {
        let t = Instant::now();
        let r = reduce_all(&ctx, &a, op)?;
        let seconds = t.elapsed().as_secs_f64();
        let Value::Float(got) = r.value else {
            bail!("{}: unexpected result type {:?}", op.name(), r.value)
        };
        if got != expected {
            bail!(
                "demo check failed: {} = {got}, expected {expected}",
                op.name()
            );
        }
        rows.push(Row {
            step: format!("reduce {}", op.name()),
            bytes: nbytes,
            seconds,
            check: format!("ok ({})", r.value_text()),
        });
    }
    let t = Instant::now();
    let st = stats(&ctx, &a)?;
    let seconds = t.elapsed().as_secs_f64();
    // The population std of 0..n is sqrt((n²-1)/12); float rounding allows a relative 1e-9.
    let expected_std = (((n as f64) * (n as f64) - 1.0) / 12.0).sqrt();
    let stats_ok = st.count == n as u64
        && st.sum == Value::Float(expected_sum)
        && (st.mean - (n as f64 - 1.0) / 2.0).abs() <= 1e-12 * n as f64
        && (st.std - expected_std).abs() <= 1e-9 * expected_std
        && st.min == Some(Value::Float(0.0))
        && st.max == Some(Value::Float(n as f64 - 1.0))
        && st.nan_count == 0;
    if !stats_ok {
        bail!("demo check failed: stats of 0..{n} gave {st:?}");
    }
    rows.push(Row {
        step: "stats".into(),
        bytes: nbytes,
        seconds,
        check: format!("ok (mean {}, std {:.6e})", st.mean, st.std),
    });
    drop(a);

    let random = dir.path().join("random.npy");
    let t = Instant::now();
    generate(&ctx, &random, &layout, Fill::Random, 1, &opts)?;
    rows.push(Row {
        step: "gen random".into(),
        bytes: nbytes,
        seconds: t.elapsed().as_secs_f64(),
        check: "-".into(),
    });
    let r = Array::open(&random)?;
    let t = Instant::now();
    let (lo, hi) = (
        reduce_all(&ctx, &r, ReduceOp::Min)?,
        reduce_all(&ctx, &r, ReduceOp::Max)?,
    );
    let seconds = t.elapsed().as_secs_f64();
    match (lo.value, hi.value) {
        (Value::Float(lo), Value::Float(hi))
            if (0.0..1.0).contains(&lo) && (0.0..1.0).contains(&hi) && lo < hi => {}
        other => bail!("demo check failed: random values outside [0, 1): {other:?}"),
    }
    rows.push(Row {
        step: "reduce min+max".into(),
        bytes: 2 * nbytes,
        seconds,
        check: "ok (in [0, 1))".into(),
    });

    // eval over the arange array: 2*x+1 must be exactly 2i+1.
    let a = Array::open(&arange)?;
    let evaluated = dir.path().join("eval.npy");
    let t = Instant::now();
    eval_to_file(&ctx, "2*x+1", &[("x", &a)], &evaluated, None, &opts)?;
    let seconds = t.elapsed().as_secs_f64();
    let e = Array::open(&evaluated)?;
    if !e
        .as_slice::<f64>()?
        .iter()
        .enumerate()
        .all(|(i, &v)| v == 2.0 * i as f64 + 1.0)
    {
        bail!("demo check failed: eval 2*x+1");
    }
    rows.push(Row {
        step: "eval 2*x+1".into(),
        bytes: 2 * nbytes,
        seconds,
        check: "ok (every element)".into(),
    });
    drop((a, e));

    // External sort of the random array: the budget is an eighth of the data, so runs are
    // spilled and merged. Checked: non-decreasing, same count, same extremes as the input.
    let sorted = dir.path().join("sorted.npy");
    let sort_opts = SortOptions::default();
    let t = Instant::now();
    let stats = sort(&ctx, &r, &sorted, &sort_opts)?;
    let seconds = t.elapsed().as_secs_f64();
    let s = Array::open(&sorted)?;
    let v = s.as_slice::<f64>()?;
    let (Value::Float(lo), Value::Float(hi)) = (lo.value, hi.value) else {
        bail!("min/max of the random array are not floats")
    };
    if v.len() != n || v[0] != lo || v[n - 1] != hi || !v.windows(2).all(|w| w[0] <= w[1]) {
        bail!("demo check failed: the sorted output is not the sorted input");
    }
    rows.push(Row {
        step: "sort".into(),
        bytes: nbytes,
        seconds,
        check: format!(
            "ok ({} runs, {} merge pass(es))",
            stats.runs, stats.merge_passes
        ),
    });
    drop(s);
    drop(r);

    // Transpose of a square matrix of arange values: element (i, j) must become j*side + i.
    let side = ((n as f64).sqrt() as usize).max(2);
    let square = Layout::new(DType::native(ScalarKind::F64), vec![side, side], Order::C)?;
    let m_path = dir.path().join("matrix.npy");
    generate(&ctx, &m_path, &square, Fill::Arange, 0, &opts)?;
    let m = Array::open(&m_path)?;
    let t = Instant::now();
    let tr = transpose(&ctx, &m, None, dir.path().join("transposed.npy"), &opts)?;
    let seconds = t.elapsed().as_secs_f64();
    let tv = tr.as_slice::<f64>()?;
    if !(0..side * side).all(|p| tv[p] == ((p % side) * side + p / side) as f64) {
        bail!("demo check failed: transpose");
    }
    rows.push(Row {
        step: format!("transpose {side}x{side}"),
        bytes: (side * side * 8) as u64,
        seconds,
        check: "ok (every element)".into(),
    });

    let width = rows.iter().map(|r| r.step.len()).max().unwrap_or(0).max(16);
    println!(
        "{:<width$} {:>12} {:>9} {:>10}  check",
        "step", "bytes", "seconds", "GB/s"
    );
    for row in &rows {
        println!(
            "{:<width$} {:>12} {:>9.3} {:>10.2}  {}",
            row.step,
            format_bytes(row.bytes),
            row.seconds,
            row.bytes as f64 / row.seconds.max(1e-9) / 1e9,
            row.check
        );
    }
    dir.close()?;
    println!("all checks passed; temporary files removed");
    Ok(())
}
