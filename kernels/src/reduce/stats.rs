//! `stats`: count, sum, mean, std, min, max and NaN count in one pass.
//!
//! Every value is what NumPy's plain function gives on the whole array (`a.size`, `a.sum()`,
//! `a.mean()`, `a.std()`, `a.min()`, `a.max()`, `np.isnan(a).sum()`): NaNs propagate into sum,
//! mean, std, min and max, and `nan_count` says how many there were. Each chunk is read once,
//! in cache-sized blocks, each in one pass (`block_stats`: shifted moments, sum, extremes).

use super::ops::{CompSum, Moments};
use super::*;
use super::{interleaved_blocks, STREAMS};

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

struct BlockStats<T> {
    sum: f64,
    /// The mean less the caller's reference value, as `(k - reference) + S1/n`: accurate to
    /// the size of the deviations where the values share a large offset (the Chan merge of
    /// blocks needs accurate differences of means).
    mean: f64,
    m2: f64,
    min: T,
    max: T,
}

/// Sum, squared deviations from the mean, and extremes of a non-empty block of at most
/// `BLOCK` values, in ONE pass (a second pass, even over cached data, made `stats` cost 1.5x a
/// `sum`, which is memory-bound). The deviations are taken from the block's first value `k`:
/// `m2 = S2 - S1²/n` with `S1 = Σ(x-k)`, `S2 = Σ(x-k)²`. As `k` is one of the values,
/// `n·(mean-k)² <= m2`, so `S2 <= (n+1)·m2` and the cancellation costs at most `(n+1)` ulps of
/// `m2` (129 for `BLOCK = 128`: ~1e-14 relative). The sum is `n·k + S1` (8 accumulators over 128
/// values, NumPy's leaf scheme); blocks are then added with compensation. Independent lanes
/// keep min/max off one dependency chain; NaNs need no care in the extremes (a block with a
/// NaN makes min and max NaN whatever the lanes found). Compiled for AVX2 too, picked at run
/// time; no FMA contraction, so both versions give the same bits.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn block_stats<T: Num>(block: &[T], reference: f64) -> BlockStats<T> {
    const LANES: usize = 8;
    // An infinite first value would make every deviation infinite (and its own NaN); then
    // the block holds an infinity, its std is NaN anyway, and plain sums (k = 0) give NumPy's
    // sum and mean.
    let k = match block[0].to_f64() {
        k if k.is_finite() => k,
        _ => 0.0,
    };
    let mut s1 = [0.0f64; LANES];
    let mut s2 = [0.0f64; LANES];
    let mut lo = [block[0]; LANES];
    let mut hi = [block[0]; LANES];
    let mut lanes = block.chunks_exact(LANES);
    for c in &mut lanes {
        for l in 0..LANES {
            let x = c[l];
            let v = x.to_f64();
            let d = v - k;
            s1[l] += d;
            s2[l] += d * d;
            lo[l] = if x < lo[l] { x } else { lo[l] };
            hi[l] = if x > hi[l] { x } else { hi[l] };
        }
    }
    let tree = |a: &[f64; LANES]| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    let (mut sd, mut sdd) = (tree(&s1), tree(&s2));
    let (mut min, mut max) = (lo[0], hi[0]);
    for (&l, &h) in lo.iter().zip(&hi).skip(1) {
        min = if l < min { l } else { min };
        max = if h > max { h } else { max };
    }
    for &x in lanes.remainder() {
        let v = x.to_f64();
        let d = v - k;
        sd += d;
        sdd += d * d;
        min = if x < min { x } else { min };
        max = if x > max { x } else { max };
    }
    block_summary(block.len(), k, reference, sd, sdd, min, max)
}

/// [`block_stats`] for float64, the common case, in explicit 4-lane vectors (`wide`): the
/// compiler's own vectorisation of the generic loop pairs each lane's `Σd` with its `Σd²`
/// and shuffles more than it adds, which made `stats` compute-bound (1.3-1.5x a `sum`).
/// The sums are the generic version's arithmetic in the same order per lane (the same bits);
/// the extremes use MINPD/MAXPD, which differ only in which of two equal values (0.0 and
/// -0.0) is kept.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn block_stats_f64(block: &[f64], reference: f64) -> BlockStats<f64> {
    use wide::f64x4;
    let k = match block[0] {
        k if k.is_finite() => k,
        _ => 0.0,
    };
    let kv = f64x4::splat(k);
    // Two vectors per statistic: lanes 0-3 and 4-7 of the generic version's 8 lanes.
    let mut s1 = [f64x4::ZERO; 2];
    let mut s2 = [f64x4::ZERO; 2];
    let mut lo = [f64x4::splat(block[0]); 2];
    let mut hi = lo;
    let mut lanes = block.chunks_exact(8);
    for c in &mut lanes {
        for h in 0..2 {
            let x = f64x4::from([c[4 * h], c[4 * h + 1], c[4 * h + 2], c[4 * h + 3]]);
            let d = x - kv;
            s1[h] += d;
            s2[h] += d * d;
            // MINPD/MAXPD: of equal values (0.0 and -0.0) the later one wins, as in NumPy's
            // own SIMD loops; NaNs need no care (see `block_stats`).
            lo[h] = lo[h].fast_min(x);
            hi[h] = hi[h].fast_max(x);
        }
    }
    let lanes8 = |v: &[f64x4; 2]| -> [f64; 8] {
        let (a, b) = (v[0].to_array(), v[1].to_array());
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
    };
    let tree = |a: [f64; 8]| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    let (mut sd, mut sdd) = (tree(lanes8(&s1)), tree(lanes8(&s2)));
    let (lo, hi) = (lanes8(&lo), lanes8(&hi));
    let (mut min, mut max) = (lo[0], hi[0]);
    for (&l, &h) in lo.iter().zip(&hi).skip(1) {
        min = if l < min { l } else { min };
        max = if h > max { h } else { max };
    }
    for &x in lanes.remainder() {
        let d = x - k;
        sd += d;
        sdd += d * d;
        min = if x < min { x } else { min };
        max = if x > max { x } else { max };
    }
    block_summary(block.len(), k, reference, sd, sdd, min, max)
}

/// Sum, mean about `reference` and `m2` of a block from its sums shifted by `k` (see
/// [`block_stats`]).
fn block_summary<T>(
    len: usize,
    k: f64,
    reference: f64,
    sd: f64,
    sdd: f64,
    min: T,
    max: T,
) -> BlockStats<T> {
    let n = len as f64;
    // Σx = n·k + Σ(x-k): one rounding more than a plain sum of the lanes, whose error it
    // shares in size (both bounded by ~16 ulps of Σ|x| per block).
    let sum = n * k + sd;
    let m2 = sdd - sd * sd / n;
    // Rounding can leave a tiny negative where the values are all equal.
    let m2 = if m2 < 0.0 { 0.0 } else { m2 };
    BlockStats {
        sum,
        mean: (k - reference) + sd / n,
        m2,
        min,
        max,
    }
}

/// Values per [`block_stats`] call: NumPy's pairwise leaf, and the error bound of the
/// shifted moments (see there).
const BLOCK: usize = 128;

/// Folds one block into `acc` (count, sum, NaNs, extremes) and `local` (its moments, about
/// `reference`).
#[inline(always)]
fn fold_block<T: Num>(acc: &mut Acc<T>, local: &mut Moments, block: &[T], reference: f64) {
    acc.count += block.len() as u64;
    let BlockStats {
        sum,
        mean,
        m2,
        min,
        max,
    } = if T::KIND == ScalarKind::F64 {
        let b = block_stats_f64(bytemuck::cast_slice(block), reference);
        let [min, max]: [T; 2] = bytemuck::cast([b.min, b.max]);
        BlockStats {
            sum: b.sum,
            mean: b.mean,
            m2: b.m2,
            min,
            max,
        }
    } else {
        block_stats(block, reference)
    };
    let n = block.len() as f64;
    // A NaN anywhere makes the block's sum NaN, so only such blocks need counting.
    let nan_count = if sum.is_nan() {
        block.iter().filter(|x| x.is_nan()).count() as u64
    } else {
        0
    };
    local.merge(&Moments { n, mean, m2 });
    acc.fsum.add(sum);
    if !T::KIND.is_float() {
        acc.isum = block
            .iter()
            .fold(acc.isum, |a, &x| a.wrapping_add(x.to_i128() as i64));
    }
    acc.nans += nan_count;
    if nan_count == 0 {
        if !acc.has || min < acc.min {
            acc.min = min;
        }
        if !acc.has || max > acc.max {
            acc.max = max;
        }
        acc.has = true;
    }
}

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
        // The blocks' moments are merged about a reference value of the run (its first
        // finite value): merging many block means of the size of a large common offset would
        // round each difference of means to the offset's ulp, and the errors add up.
        let reference = run
            .first()
            .map(|x| x.to_f64())
            .filter(|r| r.is_finite())
            .unwrap_or(0.0);
        // Long runs are read as interleaved streams (see `interleaved_blocks`), each folded
        // into its own accumulator; the short tail after them in order.
        let mut streams = [(self.identity(), Moments::default()); STREAMS];
        let tail = interleaved_blocks(run.len(), BLOCK, |stream, block| {
            let (acc, local) = &mut streams[stream];
            fold_block(acc, local, &run[block], reference);
        });
        let mut local = Moments::default();
        for block in run[tail..].chunks(BLOCK) {
            fold_block(acc, &mut local, block, reference);
        }
        local.mean += reference;
        acc.moments.merge(&local);
        for (stream, mut local) in streams {
            local.mean += reference;
            let mut stream = stream;
            stream.moments.merge(&local);
            self.combine(acc, &stream);
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
