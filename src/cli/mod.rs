//! The command line: one module per command, shared plumbing in `common`.

use clap::{Parser, Subcommand};

mod bench;
pub mod common;
mod copy;
mod demo;
mod eval;
mod gen;
mod info;
mod reduce;
mod sort;

pub use common::Global;

/// outcore: chunked out-of-core compute on NumPy .npy files larger than RAM.
#[derive(Parser, Debug)]
#[command(name = "outcore", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the dtype, shape, order and layout of a .npy file.
    Info(info::Args),
    /// Generate a .npy file of any numeric dtype, shape and order.
    Gen(gen::Args),
    /// Reduce a whole array or along an axis: sum, prod, min, max, mean, var, std, argmin, argmax, …
    Reduce(reduce::Args),
    /// Sort an array (external merge sort): along the last axis, flattened, or rows by columns.
    Sort(sort::SortArgs),
    /// Write the int64 indices that sort an array (stable).
    Argsort(sort::ArgsortArgs),
    /// Transpose (any axis permutation; default reverses the axes) into a C-order .npy.
    Transpose(copy::TransposeArgs),
    /// Reshape (NumPy's reshape, -1 inferred, --order C|F) into a .npy.
    Reshape(copy::ReshapeArgs),
    /// Slice with NumPy basic indexing ('1:5, ::-2, ...') into a C-order .npy.
    Slice(copy::SliceArgs),
    /// Convert dtype, memory order, byte order, raw <-> .npy.
    Convert(copy::ConvertArgs),
    /// Count, sum, mean, std, min, max and NaN count of an array, in one pass.
    Stats(reduce::StatsArgs),
    /// Evaluate an elementwise expression over .npy files into a new .npy file.
    Eval(eval::Args),
    /// Run the main job on an array larger than its memory budget, check it, print throughputs.
    Demo(demo::Args),
    /// Measure the machine's floors and every kernel on the same bytes, verified.
    Bench(bench::Args),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let session = match common::Session::new(&cli.global) {
        Ok(s) => s,
        Err(e) => return common::report_error(&e, None),
    };
    let result = match &cli.command {
        Command::Info(a) => info::run(a, &session),
        Command::Gen(a) => gen::run(a, &session),
        Command::Reduce(a) => reduce::run(a, &session),
        Command::Sort(a) => sort::run_sort(a, &session),
        Command::Argsort(a) => sort::run_argsort(a, &session),
        Command::Transpose(a) => copy::run_transpose(a, &session),
        Command::Reshape(a) => copy::run_reshape(a, &session),
        Command::Slice(a) => copy::run_slice(a, &session),
        Command::Convert(a) => copy::run_convert(a, &session),
        Command::Stats(a) => reduce::run_stats(a, &session),
        Command::Eval(a) => eval::run(a, &session),
        Command::Demo(a) => demo::run(a, &session),
        Command::Bench(a) => bench::run(a, &session),
    };
    session.finish(result)
}
