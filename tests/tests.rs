//! Integration tests of outcore, one module per feature (one test binary).

/// Sort and argsort against NumPy: every dtype, NaN/duplicate-heavy data, N-d, --by,
/// external multi-pass merges under tiny budgets, clean failures.
mod sort;
