//! `outcore sort IN -o OUT [--descending] [--stable] [--flatten] [--by C1,C2…]` and
//! `outcore argsort IN -o OUT [--descending] [--stable] [--flatten]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::Array;
use outcore_kernels::sort::{argsort, sort, SortOptions};

use super::common::{OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct SortArgs {
    /// The .npy file to sort.
    pub input: PathBuf,
    /// The sorted .npy file to write (C order, the input's dtype).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Largest first; NaNs still last, equal keys in input order with --stable.
    #[arg(long)]
    pub descending: bool,
    /// Keep equal keys in input order (NumPy's kind='stable').
    #[arg(long)]
    pub stable: bool,
    /// Sort all elements as one 1-d array (axis=None) instead of each row of the last axis.
    #[arg(long)]
    pub flatten: bool,
    /// Sort the rows of a 2-d table by these columns (lexicographic, whole rows moved).
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        value_name = "C1,C2…"
    )]
    pub by: Vec<isize>,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

#[derive(clap::Args, Debug)]
pub struct ArgsortArgs {
    /// The .npy file to sort.
    pub input: PathBuf,
    /// The int64 indices to write (.npy, C order).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Largest first; NaNs still last, equal keys in input order.
    #[arg(long)]
    pub descending: bool,
    /// Equal keys in input order (NumPy's kind='stable'; argsort always is).
    #[arg(long)]
    pub stable: bool,
    /// Indices into the flattened array (axis=None) instead of along the last axis.
    #[arg(long)]
    pub flatten: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

fn options(
    session: &Session,
    descending: bool,
    stable: bool,
    flatten: bool,
    by: &[isize],
) -> SortOptions {
    SortOptions {
        descending,
        stable,
        flatten,
        by: by.to_vec(),
        output: session.output_options(&[]),
    }
}

pub fn run_sort(args: &SortArgs, session: &Session) -> Result<()> {
    let input = Array::open(&args.input)?;
    let opts = options(
        session,
        args.descending,
        args.stable,
        args.flatten,
        &args.by,
    );
    sort(&session.ctx, &input, &args.output, &opts)?;
    Ok(())
}

pub fn run_argsort(args: &ArgsortArgs, session: &Session) -> Result<()> {
    let input = Array::open(&args.input)?;
    let opts = options(session, args.descending, args.stable, args.flatten, &[]);
    argsort(&session.ctx, &input, &args.output, &opts)?;
    Ok(())
}
