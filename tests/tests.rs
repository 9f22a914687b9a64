//! All integration tests, built as one binary. Each module is one feature.

/// Shared helpers: paths, running the CLI, running NumPy.
mod util;

/// Every .npy/raw fixture written by real NumPy is read back with the right layout and values,
/// our header writer matches NumPy's bytes, and every hostile file is refused.
mod npy_fixtures;

/// The foundation commands (info, gen, reduce sum/min/max) against NumPy, with exit codes.
mod cli_foundation;

/// Out-of-core proofs under a memory cgroup (ignored by default: needs root and time).
mod cgroup;

/// Disk full, kill -9, SIGTERM, cancellation tokens, truncated inputs, concurrent jobs,
/// unwritable directories, special files: clean failures and nothing left behind.
mod reliability;

/// transpose / reshape / slice / convert against NumPy (library and command line).
mod copy;
/// `outcore eval` against NumPy: dtypes, byte orders, orders, broadcasting, promotion, errors.
mod eval;
/// Sort and argsort against NumPy: every dtype, NaN/duplicate-heavy data, N-d, --by,
/// external multi-pass merges under tiny budgets, clean failures.
mod sort;

/// Spec §9: the same bytes from reduce, stats, scan, histogram and eval whatever --threads,
/// --mem and --chunk are.
mod determinism;

/// Reductions and stats against NumPy: every op, dtype, order, axis; NaN rules; JSON; user folds.
mod reduce;

/// Help texts, where flags go, and the errors of a first try (flag names, sizes to print).
mod usage;

/// take / mask / concat / stack against NumPy: every dtype, orders, byte orders, index dtypes,
/// axes, empty results, tight budgets (bucketed gathers), errors naming positions and files.
mod gather;

/// The closure map API: broadcasting, orders, byte orders, mappings, errors.
mod map;

/// Every ```sh example of the README runs as written (scripts/readme-examples.sh).
mod readme;

/// histogram, scan (cumulative sums and products) against NumPy.
mod analytics;
