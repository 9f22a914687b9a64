//! `outcore gen OUT --dtype DT --shape N[,M…] [--fill …] [--seed S] [--order C|F]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{DType, ErrorKind, Layout, Order};
use outcore_kernels::gen::{generate, Fill};

use super::common::{listed, order_parser, parse_shape, OutputFlags, Session, Shape};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .npy file to create.
    pub out: PathBuf,
    /// Element dtype: float64, f4, <i8, >u2, uint8, bool, complex64… (numeric or bool)
    #[arg(long, value_parser = parse_gen_dtype)]
    pub dtype: DType,
    /// Shape, e.g. 1000000 or 4096,4096 ('' for a 0-d array).
    #[arg(long, value_parser = parse_shape)]
    pub shape: Shape,
    /// random: floats uniform in [0, 1), integers over the dtype's range; normal: standard
    /// normal; arange: the flat index 0, 1, 2, …; randint:LO:HI: integers in [LO, HI).
    #[arg(long, default_value = "random", value_parser = listed(
        &["random", "normal", "arange", "zeros", "ones", "randint:LO:HI"],
        |s| Fill::parse(s).map_err(|e| e.message().to_string()),
    ))]
    pub fill: Fill,
    /// Seed of the random fills (same seed, same file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Memory order of the file.
    #[arg(long, default_value = "C", value_parser = order_parser())]
    pub order: Order,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

/// `--dtype` of gen: the numeric and bool dtypes only, and an unknown one answered with
/// examples gen can make (the general hint also names string dtypes).
fn parse_gen_dtype(text: &str) -> std::result::Result<DType, String> {
    const EXAMPLES: &str = "e.g. float64, f4, <i8, >u2, uint8, bool, complex64";
    let dtype = DType::parse(text).map_err(|e| match e.kind() {
        ErrorKind::UnknownDType if !e.message().starts_with("object") => {
            format!("unknown dtype {text:?} (gen makes numeric and bool arrays: {EXAMPLES})")
        }
        _ => e.message().to_string(),
    })?;
    let what = match &dtype {
        DType::Scalar { .. } => return Ok(dtype),
        DType::Bytes(_) => "a bytes",
        DType::Unicode { .. } => "a unicode string",
        DType::Void(_) => "a raw void",
        DType::Record(_) => "a structured",
    };
    Err(format!(
        "gen makes numeric and bool arrays; {text} is {what} dtype ({EXAMPLES})"
    ))
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let layout = Layout::new(args.dtype.clone(), args.shape.0.clone(), args.order)?;
    generate(
        &session.ctx,
        &args.out,
        &layout,
        args.fill,
        args.seed,
        &session.output_options(&[]),
    )?;
    Ok(())
}
