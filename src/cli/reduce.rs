//! `outcore reduce OP FILE [--axis K] [--ddof D] [-o OUT] [--json]` and `outcore stats FILE [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{Array, Error, ErrorKind, ScalarKind};
use outcore_kernels::reduce::{
    float_text, reduce_all_with, reduce_axis, reduce_axis_to_file, stats, ReduceOp, Value,
};

use super::common::{json_str, OutputFlags, Session};

/// Axis results with more elements than this need `-o OUT`.
const PRINT_LIMIT: usize = 1000;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The reduction: sum prod min max mean var std argmin argmax count-nonzero any all,
    /// nansum nanmin nanmax nanmean nanvar nanstd nanargmin nanargmax.
    pub op: String,
    /// A .npy file.
    pub file: PathBuf,
    /// Reduce along this axis (negative counts from the end); default: the whole array.
    #[arg(long, allow_hyphen_values = true)]
    pub axis: Option<i64>,
    /// Delta degrees of freedom for var/std (NumPy's ddof).
    #[arg(long, default_value_t = 0.0)]
    pub ddof: f64,
    /// Write an axis result to this .npy file.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Print one JSON object: op, dtype, value.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    /// A .npy file.
    pub file: PathBuf,
    /// Print one JSON object: count, sum, mean, std, min, max, nan_count.
    #[arg(long)]
    pub json: bool,
}

/// A value as JSON: round-trip floats, non-finite floats as "nan"/"inf"/"-inf".
pub fn json_value(v: Value, kind: ScalarKind) -> String {
    match v {
        Value::Float(f) if !f.is_finite() => json_str(&float_text(f, kind)),
        Value::Float(f) => float_text(f, kind),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
    }
}

/// A value for people: like NumPy prints scalars.
fn text_value(v: Value, kind: ScalarKind) -> String {
    match v {
        Value::Float(f) => float_text(f, kind),
        Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
    }
}

/// Nested lists of C-ordered values over `shape`.
fn nested(values: &[Value], shape: &[usize], fmt: &dyn Fn(Value) -> String) -> String {
    match shape.split_first() {
        None => values.first().map(|&v| fmt(v)).unwrap_or_default(),
        Some((&d, rest)) => {
            let step: usize = rest.iter().product();
            let parts: Vec<String> = (0..d)
                .map(|i| nested(&values[i * step..(i + 1) * step], rest, fmt))
                .collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("outcore: warning: {w} (RuntimeWarning in NumPy)");
    }
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let op = ReduceOp::parse(&args.op)?;
    let array = Array::open(&args.file)?;
    let Some(axis) = args.axis else {
        if args.output.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "-o needs --axis (a whole-array result is printed)",
            )
            .into());
        }
        let r = reduce_all_with(&session.ctx, &array, op, args.ddof)?;
        warn(&r.warnings);
        let kind = r.dtype.scalar_kind().unwrap_or(ScalarKind::F64);
        if args.json {
            println!(
                "{{\"op\":{},\"dtype\":{},\"value\":{}}}",
                json_str(r.op),
                json_str(&r.dtype.str_code()),
                json_value(r.value, kind)
            );
        } else {
            println!("{}", text_value(r.value, kind));
        }
        return Ok(());
    };
    if let Some(out) = &args.output {
        let opts = session.output_options(&[args.file.as_path()]);
        let r = reduce_axis_to_file(&session.ctx, &array, op, axis, args.ddof, out, &opts)?;
        warn(&r.warnings);
        let dtype = r.layout.dtype().clone();
        if args.json {
            let shape: Vec<String> = r.layout.shape().iter().map(|d| d.to_string()).collect();
            println!(
                "{{\"op\":{},\"dtype\":{},\"shape\":[{}],\"output\":{}}}",
                json_str(r.op),
                json_str(&dtype.str_code()),
                shape.join(","),
                json_str(&out.display().to_string())
            );
        }
        return Ok(());
    }
    // Refused before any work: a result too large to print would be computed for nothing.
    if let Some(shape) = axis_result_shape(array.shape(), axis) {
        let len: usize = shape.iter().product();
        if len > PRINT_LIMIT {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "the result has {len} elements (shape {shape:?}), too many to print: \
                     write it to a file with -o OUT"
                ),
            )
            .into());
        }
    }
    let r = reduce_axis(&session.ctx, &array, op, axis, args.ddof)?;
    warn(&r.warnings);
    let dtype = r.layout.dtype().clone();
    let kind = dtype.scalar_kind().unwrap_or(ScalarKind::F64);
    let values = r.values_c_order();
    if args.json {
        let v = nested(&values, r.layout.shape(), &|v| json_value(v, kind));
        println!(
            "{{\"op\":{},\"dtype\":{},\"value\":{}}}",
            json_str(r.op),
            json_str(&dtype.str_code()),
            v
        );
    } else {
        println!(
            "{}",
            nested(&values, r.layout.shape(), &|v| text_value(v, kind))
        );
    }
    Ok(())
}

/// The shape of a reduction of `shape` along `axis`; `None` for an axis out of range (which
/// the reduction itself reports).
fn axis_result_shape(shape: &[usize], axis: i64) -> Option<Vec<usize>> {
    let ndim = shape.len() as i64;
    let k = if axis < 0 { axis + ndim } else { axis };
    if !(0..ndim).contains(&k) {
        return None;
    }
    let mut out = shape.to_vec();
    out.remove(k as usize);
    Some(out)
}

pub fn run_stats(args: &StatsArgs, session: &Session) -> Result<()> {
    let array = Array::open(&args.file)?;
    let s = stats(&session.ctx, &array)?;
    let kind = |d: &outcore_engine::DType| d.scalar_kind().unwrap_or(ScalarKind::F64);
    let (sk, mk, k) = (kind(&s.sum_dtype), kind(&s.mean_dtype), kind(&s.dtype));
    // An extreme is NaN-propagating, so it may be a float even for the dtype's kind.
    let ext = |v: Option<Value>, json: bool| match v {
        None => {
            if json {
                "null".to_string()
            } else {
                "-".to_string()
            }
        }
        Some(v) if json => json_value(
            v,
            if matches!(v, Value::Float(_)) && !k.is_float() {
                ScalarKind::F64
            } else {
                k
            },
        ),
        Some(v) => text_value(v, k),
    };
    if args.json {
        println!(
            "{{\"count\":{},\"sum\":{},\"mean\":{},\"std\":{},\"min\":{},\"max\":{},\"nan_count\":{}}}",
            s.count,
            json_value(s.sum, sk),
            json_value(Value::Float(s.mean), mk),
            json_value(Value::Float(s.std), mk),
            ext(s.min, true),
            ext(s.max, true),
            s.nan_count
        );
    } else {
        println!("count      {}", s.count);
        println!("sum        {}", text_value(s.sum, sk));
        println!("mean       {}", text_value(Value::Float(s.mean), mk));
        println!("std        {}", text_value(Value::Float(s.std), mk));
        println!("min        {}", ext(s.min, false));
        println!("max        {}", ext(s.max, false));
        println!("nan_count  {}", s.nan_count);
    }
    Ok(())
}
