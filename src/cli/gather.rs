//! The gather, select and join commands:
//!
//! ```text
//! outcore take IN INDEX -o OUT [--axis K]
//! outcore mask IN MASK -o OUT
//! outcore concat IN1 IN2… -o OUT [--axis K] [--stack]
//! ```

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::Array;
use outcore_kernels::gather;

use super::common::{OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct TakeArgs {
    /// The .npy file to take from.
    pub input: PathBuf,
    /// An integer .npy file of indices (any size; negative entries count from the end).
    pub index: PathBuf,
    /// The output .npy file (C order, the input's dtype).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Take along this axis (negative counts from the end); default: from the flattened input.
    #[arg(long, value_name = "K", allow_hyphen_values = true)]
    pub axis: Option<isize>,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run_take(args: &TakeArgs, session: &Session) -> Result<()> {
    let input = Array::open(&args.input)?;
    let index = Array::open(&args.index)?;
    gather::take(
        &session.ctx,
        &input,
        &index,
        args.axis,
        &args.output,
        &session.output_options(&[&args.input, &args.index]),
    )?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct MaskArgs {
    /// The .npy file to select from.
    pub input: PathBuf,
    /// A bool .npy file whose shape is a leading part of the input's.
    pub mask: PathBuf,
    /// The output .npy file: the selected rows, (count,) + the input's remaining shape.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run_mask(args: &MaskArgs, session: &Session) -> Result<()> {
    let input = Array::open(&args.input)?;
    let mask = Array::open(&args.mask)?;
    gather::mask(
        &session.ctx,
        &input,
        &mask,
        &args.output,
        &session.output_options(&[&args.input, &args.mask]),
    )?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ConcatArgs {
    /// The .npy files to join, in order.
    #[arg(required = true, value_name = "IN")]
    pub inputs: Vec<PathBuf>,
    /// The output .npy file (C order, the inputs' common dtype as NumPy's result_type).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The axis to join along (with --stack: the new axis' position); negative counts from
    /// the end.
    #[arg(
        long,
        value_name = "K",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub axis: isize,
    /// Stack along a new axis (np.stack) instead of joining along an existing one
    /// (np.concatenate).
    #[arg(long)]
    pub stack: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run_concat(args: &ConcatArgs, session: &Session) -> Result<()> {
    let inputs = args
        .inputs
        .iter()
        .map(Array::open)
        .collect::<outcore_engine::Result<Vec<_>>>()?;
    let refs: Vec<&Array> = inputs.iter().collect();
    let paths: Vec<&std::path::Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    gather::concat(
        &session.ctx,
        &refs,
        args.axis,
        args.stack,
        &args.output,
        &session.output_options(&paths),
    )?;
    Ok(())
}
