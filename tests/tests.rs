//! Integration tests: one binary, one module per feature.

/// transpose / reshape / slice / convert against NumPy.
mod copy;
