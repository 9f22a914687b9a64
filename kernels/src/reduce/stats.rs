//! `stats`: count, sum, mean, std, min, max and NaN count in one pass.
//!
//! Every value is what NumPy's plain function gives on the whole array (`a.size`, `a.sum()`,
//! `a.mean()`, `a.std()`, `a.min()`, `a.max()`, `np.isnan(a).sum()`): NaNs propagate into sum,
//! mean, std, min and max, and `nan_count` says how many there were. Each chunk is read once,
//! in cache-sized blocks on which the sum, the extremes and the two-pass moments are computed.

use super::ops::{CompSum, Moments};
use super::*;

/// The one-pass summary of an array.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub count: u64,
    /// `a.sum()` (dtype as NumPy's sum).
    pub sum: Value,
    /// `a.mean()` and `a.std()` (float64 for integer inputs, else the input's float type).
    pub mean: f64,
    pub std: f64,
    /// `a.min()`/`a.max()` in the input's dtype; `None` for an empty array (NumPy raises).
    pub min: Option<Value>,
    pub max: Option<Value>,
    pub nan_count: u64,
    /// dtypes of `sum`, of `mean`/`std`, and of `min`/`max`.
    pub sum_dtype: DType,
    pub mean_dtype: DType,
    pub dtype: DType,
}

#[derive(Debug, Clone, Copy)]
struct Acc<T> {
    count: u64,
    nans: u64,
    fsum: CompSum,
    isum: i64,
    moments: Moments,
    has: bool,
    min: T,
    max: T,
}

struct StatsFold;

const BLOCK: usize = 2048;

impl<T: Num> Fold<T> for StatsFold {
    type Acc = Acc<T>;
    fn identity(&self) -> Acc<T> {
        Acc {
            count: 0,
            nans: 0,
            fsum: CompSum::default(),
            isum: 0,
            moments: Moments::default(),
            has: false,
            min: T::default(),
            max: T::default(),
        }
    }
    fn fold_one(&self, acc: &mut Acc<T>, x: T, index: u64) {
        self.fold_run(acc, &[x], index);
    }
    fn fold_run(&self, acc: &mut Acc<T>, run: &[T], _: u64) {
        let float = T::KIND.is_float();
        for block in run.chunks(BLOCK) {
            acc.count += block.len() as u64;
            let sum = pairwise_sum(block, &|x: T| x.to_f64());
            let n = block.len() as f64;
            let mean = sum / n;
            let m2 = pairwise_sum(block, &|x: T| {
                let d = x.to_f64() - mean;
                d * d
            });
            let m = Moments { n, mean, m2 };
            acc.fsum.add(sum);
            if !float {
                acc.isum = block
                    .iter()
                    .fold(acc.isum, |a, &x| a.wrapping_add(x.to_i128() as i64));
            }
            acc.moments.merge(&m);
            // Extremes and NaNs in one pass with independent lanes (no dependency chain
            // through one running min). NaNs need no care here: one NaN makes min and max
            // NaN whatever the lanes found.
            const LANES: usize = 8;
            let mut lo = [block[0]; LANES];
            let mut hi = [block[0]; LANES];
            let mut nans = [0u64; LANES];
            let mut lanes = block.chunks_exact(LANES);
            for c in &mut lanes {
                for l in 0..LANES {
                    let x = c[l];
                    nans[l] += x.is_nan() as u64;
                    lo[l] = if x < lo[l] { x } else { lo[l] };
                    hi[l] = if x > hi[l] { x } else { hi[l] };
                }
            }
            let mut nan_count: u64 = nans.iter().sum();
            let (mut min, mut max) = (lo[0], hi[0]);
            for (&l, &h) in lo.iter().zip(&hi).skip(1) {
                min = if l < min { l } else { min };
                max = if h > max { h } else { max };
            }
            for &x in lanes.remainder() {
                nan_count += x.is_nan() as u64;
                min = if x < min { x } else { min };
                max = if x > max { x } else { max };
            }
            let (lo, hi) = (min, max);
            acc.nans += nan_count;
            if nan_count == 0 {
                if !acc.has || lo < acc.min {
                    acc.min = lo;
                }
                if !acc.has || hi > acc.max {
                    acc.max = hi;
                }
                acc.has = true;
            }
        }
    }
    fn combine(&self, a: &mut Acc<T>, b: &Acc<T>) {
        a.count += b.count;
        a.nans += b.nans;
        a.fsum.add(b.fsum.value());
        a.isum = a.isum.wrapping_add(b.isum);
        a.moments.merge(&b.moments);
        if b.has {
            if !a.has || b.min < a.min {
                a.min = b.min;
            }
            if !a.has || b.max > a.max {
                a.max = b.max;
            }
            a.has = true;
        }
    }
}

/// Count, sum, mean, std, min, max and NaN count of the whole array, in one pass.
pub fn stats(ctx: &Context, array: &Array) -> Result<Stats> {
    let kind = array
        .dtype()
        .require_real("stats")
        .map_err(|e| e.with_path(array.path()))?;
    with_scalar_type!(kind, T => stats_typed::<T>(ctx, array), complex => Err(Error::new(ErrorKind::UnsupportedDType, "complex")))
}

fn stats_typed<T: Num>(ctx: &Context, array: &Array) -> Result<Stats> {
    let kind = T::KIND;
    let mut accs = fold_array::<T, _>(ctx, array, AxisView::whole(array.len()), &StatsFold)?;
    let acc = accs
        .pop()
        .unwrap_or_else(|| <StatsFold as Fold<T>>::identity(&StatsFold));
    let sum_kind = result_kind(ReduceOp::Sum, kind);
    let mean_kind = result_kind(ReduceOp::Mean, kind);
    let round = |v: f64, k: ScalarKind| match k {
        ScalarKind::F16 => half::f16::from_f64(v).to_f64(),
        ScalarKind::F32 => v as f32 as f64,
        _ => v,
    };
    let sum = if kind.is_float() {
        Value::Float(round(acc.fsum.value(), kind))
    } else if kind.is_unsigned_int() {
        Value::UInt(acc.isum as u64)
    } else {
        Value::Int(acc.isum)
    };
    let nan = acc.nans > 0;
    let (mean, std) = if acc.count == 0 || nan {
        (f64::NAN, f64::NAN)
    } else {
        let n = acc.count as f64;
        (
            round(acc.fsum.value() / n, mean_kind),
            round((acc.moments.m2 / n).sqrt(), mean_kind),
        )
    };
    let extreme = |x: T| -> Value {
        if nan {
            Value::Float(f64::NAN)
        } else if kind.is_float() {
            Value::Float(x.to_f64())
        } else if kind.is_bool() {
            Value::Bool(x.is_true())
        } else if kind.is_unsigned_int() {
            Value::UInt(x.to_i128() as u64)
        } else {
            Value::Int(x.to_i128() as i64)
        }
    };
    let has = acc.has || (nan && acc.count > 0);
    Ok(Stats {
        count: acc.count,
        sum,
        mean,
        std,
        min: has.then(|| extreme(acc.min)),
        max: has.then(|| extreme(acc.max)),
        nan_count: acc.nans,
        sum_dtype: DType::native(sum_kind),
        mean_dtype: DType::native(mean_kind),
        dtype: DType::native(kind),
    })
}
