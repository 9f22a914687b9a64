//! Reductions over a mapped array — whole-array or along any axis — chunk-parallel through
//! the engine's scheduler: `sum prod min max mean var std argmin argmax count-nonzero any all`,
//! the NaN-skipping forms, `stats`, and user folds ([`fold`]).
//!
//! Float sums are pairwise within runs and compensated (Neumaier) across them, in float64
//! whatever the input float type, so they are at least as accurate as NumPy's. Variances
//! merge per-block two-pass moments with Chan's parallel formula. Whole-array results and
//! reductions along the fastest axis combine partials in chunk order, so they do not depend
//! on the thread count. Result dtypes, NaN rules and empty-input behaviour follow NumPy.

use std::fmt;

use outcore_engine::{
    with_scalar_type, Array, Context, DType, Error, ErrorKind, Layout, Order, OutputFile,
    OutputOptions, Result, ScalarKind,
};

use crate::expr::Num;

pub mod fold;
mod ops;
mod stats;
pub use fold::{fold_array, AxisView, FnFold, Fold};
pub use ops::*;
pub use stats::{stats, Stats};

/// A scalar result value. Its dtype travels beside it in [`Reduced`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// Any float result, widened to f64 (exactly: f16/f32 values are representable).
    Float(f64),
}

/// The result of a whole-array reduction: a value and NumPy's result dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduced {
    pub op: &'static str,
    pub dtype: DType,
    pub value: Value,
    /// NumPy's RuntimeWarnings for this result ("All-NaN slice encountered", …).
    pub warnings: Vec<String>,
}

impl Reduced {
    /// The value as text that parses back to the same value of the result dtype: shortest
    /// round-trip digits, `nan`, `inf`, `-inf` for non-finite floats.
    pub fn value_text(&self) -> String {
        match self.value {
            Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => float_text(f, self.dtype.scalar_kind().unwrap_or(ScalarKind::F64)),
        }
    }
}

impl fmt::Display for Reduced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value_text())
    }
}

/// Shortest text of `v` that parses back to the same value of the float kind `kind`.
pub fn float_text(v: f64, kind: ScalarKind) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    match kind {
        ScalarKind::F32 => format!("{:?}", v as f32),
        ScalarKind::F16 => {
            let target = half::f16::from_f64(v);
            (0..17)
                .map(|p| format!("{v:.p$e}"))
                .find(|s| s.parse::<f64>().map(half::f16::from_f64) == Ok(target))
                .map(|s| normalise_exp(&s))
                .unwrap_or_else(|| format!("{v:?}"))
        }
        _ => format!("{v:?}"),
    }
}

/// `1.5e0` → `1.5`, `1e-5` stays: keeps small exponents as plain decimals.
fn normalise_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((mant, exp)) => match exp.parse::<i32>() {
            Ok(e) if (-4..16).contains(&e) => {
                let v: f64 = s.parse().unwrap_or(0.0);
                let text = format!("{v}");
                if text.contains('.') {
                    text
                } else {
                    format!("{text}.0")
                }
            }
            _ => format!("{mant}e{exp}"),
        },
        None => s.to_string(),
    }
}

/// Pairwise summation (NumPy's scheme: blocks of 128 summed with 8 accumulators, halves
/// summed recursively). Error grows as O(log n) instead of O(n).
pub fn pairwise_sum<T: Copy>(xs: &[T], f: &impl Fn(T) -> f64) -> f64 {
    const LEAF: usize = 128;
    if xs.len() <= LEAF {
        let mut acc = [0.0f64; 8];
        let mut chunks = xs.chunks_exact(8);
        for c in &mut chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += f(x);
            }
        }
        let mut s =
            ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for &x in chunks.remainder() {
            s += f(x);
        }
        s
    } else {
        let half = (xs.len() / 2) / 8 * 8;
        let half = if half == 0 { xs.len() / 2 } else { half };
        pairwise_sum(&xs[..half], f) + pairwise_sum(&xs[half..], f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_is_accurate() {
        let xs: Vec<f32> = (0..1_000_000)
            .map(|i| 0.1f32 + (i % 7) as f32 * 1e-3)
            .collect();
        let exact: f64 = xs.iter().map(|&x| x as f64).sum();
        let got = pairwise_sum(&xs, &|x| x as f64);
        assert!((got - exact).abs() / exact < 1e-12);
    }

    #[test]
    fn float_text_round_trips() {
        assert_eq!(float_text(0.1, ScalarKind::F64), "0.1");
        assert_eq!(float_text(0.1f32 as f64, ScalarKind::F32), "0.1");
        assert_eq!(
            float_text(half::f16::from_f32(0.1).to_f64(), ScalarKind::F16),
            "0.1"
        );
        assert_eq!(float_text(f64::NEG_INFINITY, ScalarKind::F64), "-inf");
        assert_eq!(float_text(1e300, ScalarKind::F64), "1e300");
        assert_eq!(float_text(3.0, ScalarKind::F16), "3.0");
    }

    #[test]
    fn result_dtypes_follow_numpy() {
        assert_eq!(
            result_kind(ReduceOp::Sum, ScalarKind::Bool),
            ScalarKind::I64
        );
        assert_eq!(result_kind(ReduceOp::Sum, ScalarKind::U8), ScalarKind::U64);
        assert_eq!(result_kind(ReduceOp::Sum, ScalarKind::F32), ScalarKind::F32);
        assert_eq!(result_kind(ReduceOp::Max, ScalarKind::I16), ScalarKind::I16);
    }
}
