//! The command line: one module per command, shared plumbing in `common`.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod bench;
pub mod common;
mod copy;
mod demo;
mod eval;
mod gather;
mod gen;
mod histogram;
mod info;
mod quantile;
mod reduce;
mod scan;
mod sort;
mod unique;

pub use common::{Global, OutputFlags};

/// outcore: chunked out-of-core compute on NumPy .npy files larger than RAM.
#[derive(Parser, Debug)]
#[command(name = "outcore", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Output flags given before the command's name.
    #[command(flatten)]
    pub leading_output: OutputFlags,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the dtype, shape, order and layout of a .npy file.
    #[command(after_help = "Example:\n  outcore info big.npy --json")]
    Info(info::Args),
    /// Generate a .npy file of any numeric dtype, shape and order.
    #[command(
        after_help = "Example:\n  outcore gen big.npy --dtype f8 --shape 100000,1000 --fill normal --seed 1"
    )]
    Gen(gen::Args),
    /// Reduce a whole array or along an axis: sum, prod, min, max, mean, var, std, argmin, argmax, …
    #[command(
        after_help = "Example:\n  outcore reduce mean big.npy --axis 0 -o means.npy\n  outcore reduce sum cube.npy --axis 0,2 --keepdims --json"
    )]
    Reduce(reduce::Args),
    /// Histogram of the flattened array with equal-width bins, as np.histogram.
    #[command(after_help = "Example:\n  outcore histogram big.npy --bins 100 --range 0,1 --json")]
    Histogram(histogram::Args),
    /// Cumulative sum or product (cumsum cumprod nancumsum nancumprod), flattened or along an axis.
    #[command(after_help = "Example:\n  outcore scan cumsum big.npy -o totals.npy --axis 0")]
    Scan(scan::Args),
    /// Exact quantiles (np.quantile: linear lower higher nearest midpoint), flattened or along an axis.
    #[command(
        after_help = "Example:\n  outcore quantile big.npy --q 0.01,0.5,0.99 --json\n  outcore quantile big.npy --q 0.5 --axis 0 -o medians.npy"
    )]
    Quantile(quantile::Args),
    /// Sorted distinct values of the flattened array, with counts (np.unique; NaNs collapse to one, last).
    #[command(after_help = "Example:\n  outcore unique ids.npy -o values.npy --counts counts.npy")]
    Unique(unique::Args),
    /// Sort an array (external merge sort): along the last axis, flattened, or rows by columns.
    #[command(after_help = "Example:\n  outcore sort big.npy -o sorted.npy --flatten --mem 1G")]
    Sort(sort::SortArgs),
    /// Write the int64 indices that sort an array (stable).
    #[command(after_help = "Example:\n  outcore argsort keys.npy -o order.npy")]
    Argsort(sort::ArgsortArgs),
    /// Transpose (any axis permutation; default reverses the axes) into a C-order .npy.
    #[command(after_help = "Example:\n  outcore transpose big.npy -o t.npy --axes 1,0")]
    Transpose(copy::TransposeArgs),
    /// Reshape (NumPy's reshape, -1 inferred, --order C|F) into a .npy.
    #[command(after_help = "Example:\n  outcore reshape big.npy -o r.npy --shape 1000,-1")]
    Reshape(copy::ReshapeArgs),
    /// Slice with NumPy basic indexing ('1:5, ::-2, ...') into a C-order .npy.
    #[command(after_help = "Example:\n  outcore slice big.npy -o s.npy --index '::10, -1'")]
    Slice(copy::SliceArgs),
    /// Convert dtype, memory order, byte order, raw <-> .npy.
    #[command(
        after_help = "Example:\n  outcore convert data.bin -o data.npy --raw-dtype '>f4' --raw-shape 1000,1000 --dtype f8"
    )]
    Convert(copy::ConvertArgs),
    /// Take elements (np.take) by an integer index file of any size, along an axis or flattened.
    #[command(after_help = "Example:\n  outcore take col.npy order.npy -o sorted_col.npy")]
    Take(gather::TakeArgs),
    /// Select with a boolean mask (`a[mask]`) whose shape is a leading part of the input's.
    #[command(after_help = "Example:\n  outcore mask big.npy keep.npy -o kept.npy")]
    Mask(gather::MaskArgs),
    /// Join arrays along an axis (np.concatenate) or a new one (--stack), dtypes promoted.
    #[command(after_help = "Example:\n  outcore concat a.npy b.npy c.npy -o abc.npy --axis 0")]
    Concat(gather::ConcatArgs),
    /// Count, sum, mean, std, min, max and NaN count of an array, in one pass.
    #[command(after_help = "Example:\n  outcore stats big.npy --json")]
    Stats(reduce::StatsArgs),
    /// Evaluate an elementwise expression over .npy files into a new .npy file.
    #[command(after_help = "Example:\n  outcore eval 'sqrt(x*x + y*y)' -o r.npy x=x.npy y=y.npy")]
    Eval(eval::Args),
    /// Run the main job on an array larger than its memory budget, check it, print throughputs.
    #[command(after_help = "Example:\n  outcore demo --size 2G")]
    Demo(demo::Args),
    /// Measure the machine's floors and every kernel on the same bytes, verified.
    #[command(after_help = "Example:\n  outcore bench --size 1G --json")]
    Bench(bench::Args),
}

impl Command {
    /// The command's output flags; `None` for a command that writes no file.
    fn output_flags(&self) -> Option<&OutputFlags> {
        match self {
            Command::Info(_) | Command::Stats(_) | Command::Demo(_) | Command::Bench(_) => None,
            Command::Gen(a) => Some(&a.output_flags),
            Command::Reduce(a) => Some(&a.output_flags),
            Command::Histogram(a) => Some(&a.output_flags),
            Command::Scan(a) => Some(&a.output_flags),
            Command::Quantile(a) => Some(&a.output_flags),
            Command::Unique(a) => Some(&a.output_flags),
            Command::Sort(a) => Some(&a.output_flags),
            Command::Argsort(a) => Some(&a.output_flags),
            Command::Transpose(a) => Some(&a.output_flags),
            Command::Reshape(a) => Some(&a.output_flags),
            Command::Slice(a) => Some(&a.output_flags),
            Command::Convert(a) => Some(&a.output_flags),
            Command::Eval(a) => Some(&a.output_flags),
            Command::Take(a) => Some(&a.output_flags),
            Command::Mask(a) => Some(&a.output_flags),
            Command::Concat(a) => Some(&a.output_flags),
        }
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let command = matches.subcommand_name().unwrap_or_default();
    let output = match cli.command.output_flags() {
        Some(flags) => flags.merged(&cli.leading_output),
        None => {
            if let Some(flag) = cli.leading_output.first_given() {
                eprintln!("outcore: error: {flag}: {command} writes no file");
                return 2;
            }
            OutputFlags::default()
        }
    };
    let session = match common::Session::new(&cli.global, output) {
        Ok(s) => s,
        Err(e) => return common::report_error(&e, None),
    };
    let result = match &cli.command {
        Command::Info(a) => info::run(a, &session),
        Command::Gen(a) => gen::run(a, &session),
        Command::Reduce(a) => reduce::run(a, &session),
        Command::Histogram(a) => histogram::run(a, &session),
        Command::Scan(a) => scan::run(a, &session),
        Command::Quantile(a) => quantile::run(a, &session),
        Command::Unique(a) => unique::run(a, &session),
        Command::Sort(a) => sort::run_sort(a, &session),
        Command::Argsort(a) => sort::run_argsort(a, &session),
        Command::Transpose(a) => copy::run_transpose(a, &session),
        Command::Reshape(a) => copy::run_reshape(a, &session),
        Command::Slice(a) => copy::run_slice(a, &session),
        Command::Convert(a) => copy::run_convert(a, &session),
        Command::Stats(a) => reduce::run_stats(a, &session),
        Command::Eval(a) => eval::run(a, &session),
        Command::Take(a) => gather::run_take(a, &session),
        Command::Mask(a) => gather::run_mask(a, &session),
        Command::Concat(a) => gather::run_concat(a, &session),
        Command::Demo(a) => demo::run(a, &session),
        Command::Bench(a) => bench::run(a, &session),
    };
    session.finish(result)
}
