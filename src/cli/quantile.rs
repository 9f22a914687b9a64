//! `outcore quantile IN --q Q1[,Q2…] [--method …] [--axis K] [-o OUT] [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{Array, Layout, Order, OutputFile};
use outcore_kernels::quantile::{quantile, QuantileMethod, QuantileOptions, Quantiles};

use super::common::{OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .npy file (flattened unless --axis is given).
    pub file: PathBuf,
    /// The quantiles, in [0, 1], comma-separated. One value is NumPy's scalar q
    /// (`np.quantile(a, 0.5)`: no q axis in -o's shape, float16/float32 data interpolated in
    /// its own type); several are a list (`np.quantile(a, [0.25, 0.75])`).
    #[arg(
        long,
        value_name = "Q1[,Q2…]",
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    pub q: Vec<f64>,
    /// linear (default), lower, higher, nearest or midpoint, as NumPy's `method`.
    #[arg(long, default_value = "linear", value_parser = ["linear", "lower", "higher", "nearest", "midpoint"])]
    pub method: String,
    /// Compute along this axis (negative counts from the end); default: the flattened array.
    #[arg(long, allow_hyphen_values = true)]
    pub axis: Option<isize>,
    /// Write the result to this .npy file (NumPy's dtype and shape).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Print one JSON object: {"q":[…],"dtype","value":[…]} (one value per q; with --axis one
    /// nested list per q).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let method = QuantileMethod::parse(&args.method)?;
    let array = Array::open(&args.file)?;
    let opts = QuantileOptions {
        method,
        axis: args.axis,
        scalar_q: args.q.len() == 1,
    };
    // The result's dtype and shape are known before the work: the output is created first,
    // so that an existing file is refused up front.
    let mut out = None;
    if let Some(dest) = &args.output {
        let probe = probe_layout(&array, &args.q, &opts)?;
        let file_opts = session.output_options(&[args.file.as_path()]);
        out = Some(OutputFile::create_npy(dest, &probe, &file_opts)?);
    }
    let r = quantile(&session.ctx, &array, &args.q, &opts)?;
    if let Some(mut out) = out {
        out.data_mut().copy_from_slice(&r.to_bytes());
        out.commit()?;
    }
    if args.json {
        println!(
            "{{\"q\":[{}],\"dtype\":\"{}\",\"value\":{}}}",
            args.q
                .iter()
                .map(|q| format!("{q:?}"))
                .collect::<Vec<_>>()
                .join(","),
            r.dtype.str_code(),
            json_value(&r, opts.scalar_q)
        );
    } else if args.output.is_none() {
        for (i, q) in args.q.iter().enumerate() {
            let lane = r.values.len() / args.q.len().max(1);
            let vals: Vec<String> = r.values[i * lane..(i + 1) * lane]
                .iter()
                .map(|v| r.value_text(v))
                .collect();
            if args.axis.is_some() {
                println!("q={q}  [{}]", vals.join(", "));
            } else {
                println!("q={q}  {}", vals.join(", "));
            }
        }
    }
    Ok(())
}

/// The output's layout: NumPy's result dtype and shape.
fn probe_layout(array: &Array, q: &[f64], opts: &QuantileOptions) -> Result<Layout> {
    use outcore_engine::{ByteOrder, DType};
    let kind = array
        .dtype()
        .require_real("quantile")
        .map_err(|e| e.with_path(array.path()))?;
    let result = outcore_kernels::quantile::result_kind(kind, opts.method, opts.scalar_q);
    let mut shape = Vec::new();
    if !opts.scalar_q {
        shape.push(q.len());
    }
    if let Some(ax) = opts.axis {
        let nd = array.shape().len() as isize;
        let a = if ax < 0 { ax + nd } else { ax };
        if a < 0 || a >= nd {
            return Err(outcore_engine::Error::new(
                outcore_engine::ErrorKind::InvalidArgument,
                format!("axis {ax} is out of bounds for array of dimension {nd}"),
            )
            .with_path(array.path())
            .into());
        }
        shape.extend(
            array
                .shape()
                .iter()
                .enumerate()
                .filter(|&(i, _)| i as isize != a)
                .map(|(_, &d)| d),
        );
    }
    Ok(Layout::new(
        DType::scalar(result, ByteOrder::NATIVE),
        shape,
        Order::C,
    )?)
}

/// One JSON value per q: a number, or nested lists in the shape without the axis.
fn json_value(r: &Quantiles, scalar_q: bool) -> String {
    let text = |v: &outcore_kernels::reduce::Value| {
        let t = r.value_text(v);
        match t.as_str() {
            "nan" | "inf" | "-inf" => format!("\"{t}\""),
            _ => t,
        }
    };
    let nq = r.q.len();
    // The shape without the q axis (a scalar q has none).
    let lane_shape: &[usize] = if scalar_q { &r.shape } else { &r.shape[1..] };
    let per_q = lane_shape.iter().product::<usize>().max(1);
    let mut items = Vec::with_capacity(nq);
    for i in 0..nq {
        let vals = &r.values[i * per_q..((i + 1) * per_q).min(r.values.len())];
        if lane_shape.is_empty() {
            items.push(vals.first().map(text).unwrap_or_default());
        } else {
            items.push(nested(vals, lane_shape, &text));
        }
    }
    format!("[{}]", items.join(","))
}

fn nested<V>(vals: &[V], shape: &[usize], text: &impl Fn(&V) -> String) -> String {
    match shape {
        [] => vals.first().map(text).unwrap_or_default(),
        [_] => format!("[{}]", vals.iter().map(text).collect::<Vec<_>>().join(",")),
        [n, tail @ ..] => {
            let step = tail.iter().product::<usize>();
            let parts: Vec<String> = (0..*n)
                .map(|i| nested(&vals[i * step..(i + 1) * step], tail, text))
                .collect();
            format!("[{}]", parts.join(","))
        }
    }
}
