//! `outcore gen OUT --dtype DT --shape N[,M…] [--fill …] [--seed S] [--order C|F]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{DType, Layout, Order};
use outcore_kernels::gen::{generate, Fill};

use super::common::{parse_dtype, parse_shape, Session, Shape};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .npy file to create.
    pub out: PathBuf,
    /// Element dtype: float64, f4, <i8, >u2, bool, complex64…
    #[arg(long, value_parser = parse_dtype)]
    pub dtype: DType,
    /// Shape, e.g. 1000000 or 4096,4096 ('' for a 0-d array).
    #[arg(long, value_parser = parse_shape)]
    pub shape: Shape,
    /// random | normal | arange | zeros | ones | randint:LO:HI
    #[arg(long, default_value = "random")]
    pub fill: String,
    /// Seed of the random fills (same seed, same file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Memory order of the file.
    #[arg(long, default_value = "C")]
    pub order: String,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let fill = Fill::parse(&args.fill)?;
    let order = Order::parse(&args.order)?;
    let layout = Layout::new(args.dtype.clone(), args.shape.0.clone(), order)?;
    generate(
        &session.ctx,
        &args.out,
        &layout,
        fill,
        args.seed,
        &session.output_options(&[]),
    )?;
    Ok(())
}
