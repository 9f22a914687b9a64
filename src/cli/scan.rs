//! `outcore scan cumsum|cumprod|nancumsum|nancumprod IN -o OUT [--axis K]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::Array;
use outcore_kernels::scan::{scan_to_file, ScanOp};

use super::common::{OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scan: cumsum, cumprod, nancumsum or nancumprod.
    #[arg(value_parser = ["cumsum", "cumprod", "nancumsum", "nancumprod"])]
    pub op: String,
    /// A .npy file.
    pub file: PathBuf,
    /// Write the result (NumPy's dtype: int64/uint64 for integers and bool) to this .npy file.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Scan along this axis (negative counts from the end); default: the flattened array
    /// (C order), giving a 1-d result.
    #[arg(long, allow_hyphen_values = true)]
    pub axis: Option<i64>,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let op = ScanOp::parse(&args.op)?;
    let array = Array::open(&args.file)?;
    let opts = session.output_options(&[args.file.as_path()]);
    scan_to_file(&session.ctx, &array, op, args.axis, &args.output, &opts)?;
    Ok(())
}
