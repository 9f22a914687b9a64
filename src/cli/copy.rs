//! The reshape-via-copy commands:
//!
//! ```text
//! outcore transpose IN -o OUT [--axes P1,P2…]
//! outcore reshape IN -o OUT --shape S1,S2… [--order C|F]
//! outcore slice IN -o OUT --index 'EXPR'
//! outcore convert IN -o OUT [--dtype DT] [--order C|F] [--byteorder little|big|native]
//!                           [--raw-dtype DT --raw-shape S [--raw-offset B] [--raw-order C|F]] [--to-raw]
//! ```

use std::path::{Path, PathBuf};

use anyhow::Result;
use outcore_engine::{err, Array, ByteOrder, DType, Mode, Order, RawSpec};
use outcore_kernels::copy::{self, parse_index, ConvertOptions};

use super::common::{listed, order_parser, parse_dtype, parse_size, OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct TransposeArgs {
    /// The input .npy file.
    pub input: PathBuf,
    /// The output .npy file (C order).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Axis permutation, e.g. 1,0,2 (negative axes count from the end); default: reversed.
    #[arg(long, value_name = "P1,P2…", allow_hyphen_values = true, value_parser = parse_ints)]
    pub axes: Option<Ints>,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

#[derive(clap::Args, Debug)]
pub struct ReshapeArgs {
    /// The input .npy file.
    pub input: PathBuf,
    /// The output .npy file (written in --order).
    #[arg(short, long)]
    pub output: PathBuf,
    /// New shape, e.g. 1000,-1 (one -1 is inferred; '' for 0-d).
    #[arg(long, value_name = "S1,S2…", allow_hyphen_values = true, value_parser = parse_ints)]
    pub shape: Ints,
    /// Index order as NumPy's reshape: C reads and fills row-major, F column-major. The output
    /// is written in this order, so either way the elements are copied once.
    #[arg(long, default_value = "C", value_parser = order_parser())]
    pub order: Order,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

#[derive(clap::Args, Debug)]
pub struct SliceArgs {
    /// The input .npy file.
    pub input: PathBuf,
    /// The output .npy file (C order).
    #[arg(short, long)]
    pub output: PathBuf,
    /// NumPy basic index, e.g. '1:5, ::-2, ...', '3', ':, 0', 'None, -1'.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub index: String,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// The input: a .npy file, or a raw file with --raw-dtype.
    pub input: PathBuf,
    /// The output file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Target dtype (NumPy astype casting), e.g. float32, <i8, >u2.
    #[arg(long, value_parser = parse_dtype)]
    pub dtype: Option<DType>,
    /// Memory order of the output.
    #[arg(long, default_value = "C", value_parser = order_parser())]
    pub order: Order,
    /// Byte order of the output (also '<', '>', '='; default: the input's, or --dtype's when it
    /// names one).
    #[arg(long, value_parser = listed(&["little", "big", "native"], parse_byteorder))]
    pub byteorder: Option<ByteOrder>,
    /// Read the input as a raw file (np.memmap / ndarray.tofile) of this dtype.
    #[arg(long, value_parser = parse_dtype)]
    pub raw_dtype: Option<DType>,
    /// Shape of the raw input (default: 1-d, from the file size).
    #[arg(long, requires = "raw_dtype", value_parser = parse_ints, allow_hyphen_values = true)]
    pub raw_shape: Option<Ints>,
    /// Byte offset of the data in the raw input.
    #[arg(long, requires = "raw_dtype", value_parser = parse_size, default_value = "0")]
    pub raw_offset: usize,
    /// Memory order of the raw input.
    #[arg(long, requires = "raw_dtype", default_value = "C", value_parser = order_parser())]
    pub raw_order: Order,
    /// Write raw bytes (as ndarray.tofile) instead of a .npy file.
    #[arg(long)]
    pub to_raw: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

/// A comma-separated list of integers (a newtype so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ints(pub Vec<isize>);

/// Parses `1,0,2`, `-1,4`, `(3, 4)`; an empty string or `()` is the empty list.
pub fn parse_ints(s: &str) -> std::result::Result<Ints, String> {
    let t = s.trim();
    let t = t
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return Ok(Ints(Vec::new()));
    }
    let parts: Vec<&str> = t.split(',').map(str::trim).collect();
    // One trailing comma, as in a Python tuple `(3,)`.
    let parts = match parts.split_last() {
        Some((last, rest)) if last.is_empty() && !rest.is_empty() => rest,
        _ => &parts[..],
    };
    parts
        .iter()
        .map(|p| {
            p.parse::<isize>()
                .map_err(|_| format!("invalid integer {p:?} in {s:?} (expected e.g. 1,0,2)"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Ints)
}

fn parse_byteorder(s: &str) -> std::result::Result<ByteOrder, String> {
    ByteOrder::parse(s).map_err(|e| e.message().to_string())
}

pub fn run_transpose(args: &TransposeArgs, session: &Session) -> Result<()> {
    let input = Array::open(&args.input)?;
    let axes = args.axes.as_ref().map(|a| a.0.as_slice());
    copy::transpose(
        &session.ctx,
        &input,
        axes,
        &args.output,
        &session.output_options(&[&args.input]),
    )?;
    Ok(())
}

pub fn run_reshape(args: &ReshapeArgs, session: &Session) -> Result<()> {
    let input = Array::open(&args.input)?;
    copy::reshape(
        &session.ctx,
        &input,
        &args.shape.0,
        args.order,
        &args.output,
        &session.output_options(&[&args.input]),
    )?;
    Ok(())
}

pub fn run_slice(args: &SliceArgs, session: &Session) -> Result<()> {
    let index = parse_index(&args.index)?;
    let input = Array::open(&args.input)?;
    copy::slice(
        &session.ctx,
        &input,
        &index,
        &args.output,
        &session.output_options(&[&args.input]),
    )?;
    Ok(())
}

pub fn run_convert(args: &ConvertArgs, session: &Session) -> Result<()> {
    let input = match &args.raw_dtype {
        Some(dtype) => open_raw(&args.input, dtype, args)?,
        None => Array::open(&args.input)?,
    };
    let options = ConvertOptions {
        dtype: args.dtype.clone(),
        order: args.order,
        byteorder: args.byteorder,
        to_raw: args.to_raw,
    };
    copy::convert(
        &session.ctx,
        &input,
        &options,
        &args.output,
        &session.output_options(&[&args.input]),
    )?;
    Ok(())
}

/// Opens a raw input as `np.memmap(path, dtype, 'r', offset, shape, order)` would; without a
/// shape, a 1-d array of all the bytes after the offset (which must be whole items).
fn open_raw(path: &Path, dtype: &DType, args: &ConvertArgs) -> Result<Array> {
    let shape = match &args.raw_shape {
        Some(s) => {
            s.0.iter()
                .map(|&d| {
                    usize::try_from(d)
                        .map_err(|_| err!(InvalidArgument, "negative dimension {d} in --raw-shape"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?
        }
        None => {
            let len = std::fs::metadata(path)
                .map_err(|e| outcore_engine::Error::io("cannot open", e).with_path(path))?
                .len() as usize;
            let bytes = len.checked_sub(args.raw_offset).ok_or_else(|| {
                err!(
                    Shape,
                    "raw file is {len} bytes, shorter than --raw-offset {}",
                    args.raw_offset
                )
                .with_path(path)
            })?;
            let item = dtype.itemsize().max(1);
            if bytes % item != 0 {
                return Err(err!(
                    Shape,
                    "raw file has {bytes} bytes after offset {}, not a multiple of the {}-byte dtype {} (give --raw-shape)",
                    args.raw_offset,
                    item,
                    dtype.str_code()
                )
                .with_path(path)
                .into());
            }
            vec![bytes / item]
        }
    };
    let spec = RawSpec {
        dtype: dtype.clone(),
        shape,
        offset: args.raw_offset as u64,
        order: args.raw_order,
    };
    Ok(Array::open_raw(path, spec, Mode::Read)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_int_lists() {
        assert_eq!(parse_ints("1,0,2").unwrap(), Ints(vec![1, 0, 2]));
        assert_eq!(parse_ints(" -1 , 4 ").unwrap(), Ints(vec![-1, 4]));
        assert_eq!(parse_ints("(3,)").unwrap(), Ints(vec![3]));
        assert_eq!(parse_ints("()").unwrap(), Ints(vec![]));
        assert!(parse_ints("1,,2").is_err());
        assert!(parse_ints("a").is_err());
    }
}
