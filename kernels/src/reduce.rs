//! Whole-array reductions over a mapped array, chunk-parallel through the engine's scheduler.
//!
//! Each chunk is reduced to a partial result on a worker thread; partials are combined in
//! chunk order, so results do not depend on the thread count. Float sums are pairwise (the
//! same scheme as NumPy's, with wider accumulators for `f16`/`f32`), so they are at least as
//! accurate as NumPy's.

use std::fmt;

use outcore_engine::{
    cast_or_copy, with_scalar_type, Array, Context, DType, Element, Error, ErrorKind, Result,
    ScalarKind,
};

use crate::cast::CastSource;

/// A reduction the engine can run over a whole array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Min,
    Max,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 3] = [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
        }
    }

    pub fn parse(s: &str) -> Result<ReduceOp> {
        ReduceOp::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ReduceOp::ALL.iter().map(|o| o.name()).collect();
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown reduction {s:?} (known: {})", known.join(", ")),
                )
            })
    }
}

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

/// NumPy's result dtype of `op` over elements of `kind` (native byte order).
pub fn result_kind(op: ReduceOp, kind: ScalarKind) -> ScalarKind {
    match op {
        ReduceOp::Sum => match kind {
            ScalarKind::Bool
            | ScalarKind::I8
            | ScalarKind::I16
            | ScalarKind::I32
            | ScalarKind::I64 => ScalarKind::I64,
            ScalarKind::U8 | ScalarKind::U16 | ScalarKind::U32 | ScalarKind::U64 => ScalarKind::U64,
            other => other,
        },
        ReduceOp::Min | ReduceOp::Max => kind,
    }
}

/// Reduces the whole array with `op`.
pub fn reduce_all(ctx: &Context, array: &Array, op: ReduceOp) -> Result<Reduced> {
    let kind = array
        .dtype()
        .require_real(&format!("reduce {}", op.name()))
        .map_err(|e| e.with_path(array.path()))?;
    let swap = array.dtype().needs_swap();
    let value = with_scalar_type!(kind, T => reduce_typed::<T>(ctx, array, op, swap), complex => unreachable!("require_real refuses complex"))?;
    Ok(Reduced {
        op: op.name(),
        dtype: DType::native(result_kind(op, kind)),
        value,
    })
}

/// Per-chunk partial of a reduction.
#[derive(Debug, Clone, Copy)]
enum Partial {
    IntSum(i64),
    UIntSum(u64),
    FloatSum(f64),
    Extreme {
        value: f64,
        int: i128,
        nan: bool,
        any: bool,
    },
}

fn reduce_typed<T: CastSource + PartialOrd>(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    swap: bool,
) -> Result<Value> {
    let kind = T::KIND;
    let item = std::mem::size_of::<T>();
    if array.is_empty() && op != ReduceOp::Sum {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "zero-size array to reduction operation {} which has no identity",
                if op == ReduceOp::Min {
                    "minimum"
                } else {
                    "maximum"
                }
            ),
        )
        .with_path(array.path()));
    }
    let partials = ctx
        .for_each_chunk(
            op.name(),
            &array.input(),
            item,
            0..array.len(),
            |_, bytes| {
                let values = cast_or_copy::<T>(bytes);
                Ok(chunk_partial(&values, op, swap))
            },
        )
        .map_err(|e| e.with_path(array.path()))?;
    Ok(combine(kind, op, &partials))
}

#[inline(always)]
fn load<T: Element>(x: T, swap: bool) -> T {
    if swap {
        x.swap_bytes()
    } else {
        x
    }
}

fn chunk_partial<T: CastSource + PartialOrd>(values: &[T], op: ReduceOp, swap: bool) -> Partial {
    let kind = T::KIND;
    match op {
        ReduceOp::Sum if kind.is_float() => {
            Partial::FloatSum(pairwise_sum(values, &|x: T| load(x, swap).as_f64()))
        }
        ReduceOp::Sum if kind.is_unsigned_int() => Partial::UIntSum(
            values
                .iter()
                .fold(0u64, |a, &x| a.wrapping_add(load(x, swap).as_u64())),
        ),
        ReduceOp::Sum => Partial::IntSum(
            values
                .iter()
                .fold(0i64, |a, &x| a.wrapping_add(load(x, swap).as_i64())),
        ),
        ReduceOp::Min | ReduceOp::Max => {
            let want_min = op == ReduceOp::Min;
            let mut best: Option<T> = None;
            let mut nan = false;
            for &x in values {
                let x = load(x, swap);
                #[allow(clippy::eq_op)]
                if x != x {
                    nan = true;
                    continue;
                }
                best = Some(match best {
                    None => x,
                    Some(b) if (want_min && x < b) || (!want_min && x > b) => x,
                    Some(b) => b,
                });
            }
            let (value, int) = match best {
                Some(b) if kind.is_float() => (b.as_f64(), 0),
                Some(b) if kind.is_unsigned_int() => (0.0, b.as_u64() as i128),
                Some(b) => (0.0, b.as_i64() as i128),
                None => (0.0, 0),
            };
            Partial::Extreme {
                value,
                int,
                nan,
                any: best.is_some(),
            }
        }
    }
}

fn combine(kind: ScalarKind, op: ReduceOp, partials: &[Partial]) -> Value {
    match op {
        ReduceOp::Sum => {
            if kind.is_float() {
                let sums: Vec<f64> = partials
                    .iter()
                    .map(|p| match p {
                        Partial::FloatSum(s) => *s,
                        _ => 0.0,
                    })
                    .collect();
                let total = pairwise_sum(&sums, &|x| x);
                // Round once to the result dtype, as NumPy's result is of the input's dtype.
                Value::Float(match kind {
                    ScalarKind::F16 => half::f16::from_f64(total).to_f64(),
                    ScalarKind::F32 => total as f32 as f64,
                    _ => total,
                })
            } else if kind.is_unsigned_int() {
                Value::UInt(partials.iter().fold(0u64, |a, p| match p {
                    Partial::UIntSum(s) => a.wrapping_add(*s),
                    _ => a,
                }))
            } else {
                Value::Int(partials.iter().fold(0i64, |a, p| match p {
                    Partial::IntSum(s) => a.wrapping_add(*s),
                    _ => a,
                }))
            }
        }
        ReduceOp::Min | ReduceOp::Max => {
            let want_min = op == ReduceOp::Min;
            let mut nan = false;
            let mut best: Option<(f64, i128)> = None;
            for p in partials {
                if let Partial::Extreme {
                    value,
                    int,
                    nan: n,
                    any,
                } = *p
                {
                    nan |= n;
                    if !any {
                        continue;
                    }
                    best = Some(match best {
                        None => (value, int),
                        Some((bv, bi)) => {
                            let better = if kind.is_float() {
                                (want_min && value < bv) || (!want_min && value > bv)
                            } else {
                                (want_min && int < bi) || (!want_min && int > bi)
                            };
                            if better {
                                (value, int)
                            } else {
                                (bv, bi)
                            }
                        }
                    });
                }
            }
            let (v, i) = best.unwrap_or((f64::NAN, 0));
            if kind.is_float() {
                Value::Float(if nan { f64::NAN } else { v })
            } else if kind.is_bool() {
                Value::Bool(i != 0)
            } else if kind.is_unsigned_int() {
                Value::UInt(i as u64)
            } else {
                Value::Int(i as i64)
            }
        }
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
