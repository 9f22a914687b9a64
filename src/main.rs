//! The `outcore` command line. See `outcore --help` and the README.

fn main() {
    std::process::exit(outcore::cli::main());
}
