//! The command line: one module per command, shared plumbing in `common`.

use clap::{Parser, Subcommand};

pub mod common;
mod demo;
mod eval;
mod gen;
mod info;
mod reduce;

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
    /// Count, sum, mean, std, min, max and NaN count of an array, in one pass.
    Stats(reduce::StatsArgs),
    /// Evaluate an elementwise expression over .npy files into a new .npy file.
    Eval(eval::Args),
    /// Run the main job on an array larger than its memory budget, check it, print throughputs.
    Demo(demo::Args),
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
        Command::Stats(a) => reduce::run_stats(a, &session),
        Command::Eval(a) => eval::run(a, &session),
        Command::Demo(a) => demo::run(a, &session),
    };
    session.finish(result)
}
