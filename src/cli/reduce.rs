//! `outcore reduce OP FILE [--axis K1[,K2…]] [--keepdims] [--ddof D] [-o OUT] [--json]` and `outcore stats FILE [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{Array, Error, ErrorKind, ScalarKind};
use outcore_kernels::reduce::{
    float_text, reduce_all_with, reduce_axes_with_scratch, reduce_axis, reduce_axis_to_file, stats,
    AxisReduced, ReduceOp, Value,
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
    /// Reduce along this axis, or these axes K1,K2,… (negative counts from the end; argmin and
    /// argmax take one); default: the whole array.
    #[arg(long, value_name = "K1[,K2…]", value_parser = parse_axes, allow_hyphen_values = true)]
    pub axis: Option<Axes>,
    /// Keep the reduced axes as axes of length 1 (NumPy's keepdims).
    #[arg(long)]
    pub keepdims: bool,
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

/// The axes of `--axis` (a newtype so clap takes the list as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axes(pub Vec<i64>);

fn parse_axes(s: &str) -> std::result::Result<Axes, String> {
    let axes: std::result::Result<Vec<i64>, _> = s
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::parse::<i64>)
        .collect();
    match axes {
        Ok(a) if !a.is_empty() => Ok(Axes(a)),
        _ => Err(format!("expected an axis K or axes K1,K2,…, got {s:?}")),
    }
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
    let single = match &args.axis {
        Some(Axes(list)) if list.len() == 1 && !args.keepdims => Some(list[0]),
        _ => None,
    };
    if single.is_none() && (args.axis.is_some() || args.keepdims || args.output.is_some()) {
        return run_axes(args, session, op, &array);
    }
    let Some(axis) = single else {
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

/// A reduction over several axes, with --keepdims, or of the whole array into a file (0-d).
fn run_axes(args: &Args, session: &Session, op: ReduceOp, array: &Array) -> Result<()> {
    let axes = args.axis.as_ref().map(|a| a.0.as_slice());
    if let Some(out) = &args.output {
        let opts = session.output_options(&[args.file.as_path()]);
        // An existing output is refused before the work.
        outcore_engine::check_destination(out, &opts)?;
        let scratch = session.ctx.scratch_dir_for(out);
        let r = reduce_axes_with_scratch(
            &session.ctx,
            array,
            op,
            axes,
            args.keepdims,
            args.ddof,
            &scratch,
        )?;
        warn(&r.warnings);
        r.write_npy(out, &opts)?;
        if args.json {
            let shape: Vec<String> = r.layout.shape().iter().map(|d| d.to_string()).collect();
            println!(
                "{{\"op\":{},\"dtype\":{},\"shape\":[{}],\"output\":{}}}",
                json_str(r.op),
                json_str(&r.layout.dtype().str_code()),
                shape.join(","),
                json_str(&out.display().to_string())
            );
        }
        return Ok(());
    }
    if let Some(list) = axes {
        let ndim = array.shape().len() as i64;
        let kept: usize = (0..ndim)
            .filter(|k| !list.iter().any(|&a| a == *k || a + ndim == *k))
            .map(|k| array.shape()[k as usize])
            .product();
        if kept > PRINT_LIMIT {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "the result has {kept} elements, too many to print: write it to a file with -o OUT"
                ),
            )
            .into());
        }
    }
    let scratch = session
        .ctx
        .tmp_dir()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(std::env::temp_dir);
    let r: AxisReduced = reduce_axes_with_scratch(
        &session.ctx,
        array,
        op,
        axes,
        args.keepdims,
        args.ddof,
        &scratch,
    )?;
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
