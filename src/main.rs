//! The `outcore` command line. See `outcore --help` and the README.
//!
//! The command line is compiled into this binary only: the `outcore` library (engine, kernels
//! and facade) does not depend on clap and friends.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
