//! `stats`: count, sum, mean, std, min, max and NaN count in one pass.
//!
//! Every value is what NumPy's plain function gives on the whole array (`a.size`, `a.sum()`,
//! `a.mean()`, `a.std()`, `a.min()`, `a.max()`, `np.isnan(a).sum()`): NaNs propagate into sum,
//! mean, std, min and max, and `nan_count` says how many there were. Each chunk is read once,
//! in cache-sized blocks, each in one pass (`block_stats`: shifted moments, sum, extremes).

use super::ops::{round_to, CompSum, Moments};
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
    let k = shift(block[0].to_f64());
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
            lo[l] = min_rule(lo[l], x);
            hi[l] = max_rule(hi[l], x);
        }
    }
    block_finish(
        block.len(),
        &s1,
        &s2,
        &lo,
        &hi,
        lanes.remainder(),
        k,
        reference,
    )
}

/// A block's summary computed as NumPy does (pairwise sum, mean, then squared deviations from
/// it; extremes in order, the later of equal ones winning): for the rare blocks whose shifted
/// sums are not finite (see `fold_block`).
fn block_stats_plain<T: Num>(block: &[T], reference: f64) -> BlockStats<T> {
    let sum = pairwise_sum(block, &|x: T| x.to_f64());
    let mean = sum / block.len() as f64;
    let m2 = pairwise_sum(block, &|x: T| {
        let d = x.to_f64() - mean;
        d * d
    });
    let (mut min, mut max) = (block[0], block[0]);
    for &x in block {
        min = min_rule(min, x);
        max = max_rule(max, x);
    }
    BlockStats {
        sum,
        mean: mean - reference,
        m2,
        min,
        max,
    }
}

/// The shift `k` of a block whose first value is `first`. An infinite first value would make
/// every deviation infinite (and its own NaN); then the block holds an infinity, its std is
/// NaN anyway, and plain sums (k = 0) give NumPy's sum and mean.
#[inline(always)]
fn shift(first: f64) -> f64 {
    if first.is_finite() {
        first
    } else {
        0.0
    }
}

/// The extremes' rule, MINPD's and MAXPD's (so the vector kernel gives the same bits): of two
/// equal values (0.0 and -0.0) the later one wins, as in NumPy's own SIMD loops.
#[inline(always)]
fn min_rule<T: PartialOrd>(acc: T, x: T) -> T {
    if acc < x {
        acc
    } else {
        x
    }
}

#[inline(always)]
fn max_rule<T: PartialOrd>(acc: T, x: T) -> T {
    if acc > x {
        acc
    } else {
        x
    }
}

/// Folds the 8 lanes of a block of `len` values and its last `< 8` values (`rest`) into its
/// summary.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_finish<T: Num>(
    len: usize,
    s1: &[f64; 8],
    s2: &[f64; 8],
    lo: &[T; 8],
    hi: &[T; 8],
    rest: &[T],
    k: f64,
    reference: f64,
) -> BlockStats<T> {
    let tree = |a: &[f64; 8]| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    let (mut sd, mut sdd) = (tree(s1), tree(s2));
    let (mut min, mut max) = (lo[0], hi[0]);
    for (&l, &h) in lo.iter().zip(hi).skip(1) {
        min = min_rule(min, l);
        max = max_rule(max, h);
    }
    for &x in rest {
        let d = x.to_f64() - k;
        sd += d;
        sdd += d * d;
        min = min_rule(min, x);
        max = max_rule(max, x);
    }
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

/// [`block_stats`] for float64, the common case: on CPUs with AVX2 in explicit 4-lane vectors
/// (`pulp`), two per statistic, i.e. the generic version's 8 lanes with the same arithmetic in
/// the same order, so the same bits. The compiler's own vectorisation of the generic loop
/// pairs each lane's `Σd` with its `Σd²` and shuffles more than it adds, which left `stats`
/// partly compute-bound (1.3-1.5x a memory-bound `sum`).
fn block_stats_f64(block: &[f64], reference: f64) -> BlockStats<f64> {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return simd.vectorize(BlockStatsAvx2 {
            simd,
            block,
            reference,
        });
    }
    block_stats(block, reference)
}

#[cfg(target_arch = "x86_64")]
struct BlockStatsAvx2<'a> {
    simd: pulp::x86::V3,
    block: &'a [f64],
    reference: f64,
}

#[cfg(target_arch = "x86_64")]
impl pulp::NullaryFnOnce for BlockStatsAvx2<'_> {
    type Output = BlockStats<f64>;

    #[inline(always)]
    fn call(self) -> BlockStats<f64> {
        use pulp::f64x4;
        let BlockStatsAvx2 {
            simd,
            block,
            reference,
        } = self;
        let k = shift(block[0]);
        let kv = simd.splat_f64x4(k);
        // Lanes 0-3 and 4-7 of the generic version's 8.
        let mut s1 = [simd.splat_f64x4(0.0); 2];
        let mut s2 = s1;
        let mut lo = [simd.splat_f64x4(block[0]); 2];
        let mut hi = lo;
        let mut lanes = block.chunks_exact(8);
        for c in &mut lanes {
            for h in 0..2 {
                let x: f64x4 = bytemuck::cast([c[4 * h], c[4 * h + 1], c[4 * h + 2], c[4 * h + 3]]);
                let d = simd.sub_f64x4(x, kv);
                s1[h] = simd.add_f64x4(s1[h], d);
                s2[h] = simd.add_f64x4(s2[h], simd.mul_f64x4(d, d));
                // MINPD(lo, x) is `if lo < x { lo } else { x }`, the generic version's rule.
                lo[h] = simd.min_f64x4(lo[h], x);
                hi[h] = simd.max_f64x4(hi[h], x);
            }
        }
        let lanes8 = |v: [f64x4; 2]| -> [f64; 8] { bytemuck::cast(v) };
        let (s1, s2, lo, hi) = (lanes8(s1), lanes8(s2), lanes8(lo), lanes8(hi));
        block_finish(
            block.len(),
            &s1,
            &s2,
            &lo,
            &hi,
            lanes.remainder(),
            k,
            reference,
        )
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
    // Deviations from the block's first value can overflow where the values themselves do
    // not (1e308 and -1e308): such a block (and one with infinities or NaNs) is redone as
    // NumPy computes it, sum first, then deviations from the mean.
    let (sum, mean, m2, min, max) = if sum.is_finite() && m2.is_finite() {
        (sum, mean, m2, min, max)
    } else {
        let b = block_stats_plain(block, reference);
        (b.sum, b.mean, b.m2, b.min, b.max)
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
        acc.extremes(min, max);
    }
}

impl<T: Num> Acc<T> {
    /// Takes in the extremes of values that come after the ones already folded.
    fn extremes(&mut self, min: T, max: T) {
        (self.min, self.max) = if self.has {
            (min_rule(self.min, min), max_rule(self.max, max))
        } else {
            (min, max)
        };
        self.has = true;
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
        // into its own accumulator, and the short tail after them into one more; they are
        // combined in the order of their values (the later of equal extremes wins).
        let mut parts = [(self.identity(), Moments::default()); STREAMS + 1];
        let tail = interleaved_blocks(run.len(), BLOCK, |stream, block| {
            let (acc, local) = &mut parts[stream];
            fold_block(acc, local, &run[block], reference);
        });
        let (tail_acc, tail_local) = &mut parts[STREAMS];
        for block in run[tail..].chunks(BLOCK) {
            fold_block(tail_acc, tail_local, block, reference);
        }
        for (mut part, mut local) in parts {
            local.mean += reference;
            part.moments.merge(&local);
            self.combine(acc, &part);
        }
    }
    fn combine(&self, a: &mut Acc<T>, b: &Acc<T>) {
        a.count += b.count;
        a.nans += b.nans;
        a.fsum.add(b.fsum.value());
        a.isum = a.isum.wrapping_add(b.isum);
        a.moments.merge(&b.moments);
        if b.has {
            a.extremes(b.min, b.max);
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
    let sum = if kind.is_float() {
        Value::Float(round_to(acc.fsum.value(), kind))
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
        let sum = acc.fsum.value();
        let infinite_input = kind.is_float()
            && (acc.min.to_f64() == f64::NEG_INFINITY || acc.max.to_f64() == f64::INFINITY);
        // As NumPy's a.std(): an infinite value makes it NaN (x - mean = inf - inf), so does a
        // sum that overflowed both ways (the mean is NaN); else a sum or a squared deviation
        // that overflows makes it inf. NumPy's a.std() of float16 takes both sums in float16
        // (rounded once): beyond 65504 either makes it inf, as `reduce std` does.
        let overflows = |v: f64| {
            if kind == ScalarKind::F16 {
                !round_to(v, kind).is_finite()
            } else {
                !v.is_finite()
            }
        };
        let m2 = if infinite_input || sum.is_nan() {
            f64::NAN
        } else if overflows(sum) || overflows(acc.moments.m2) {
            f64::INFINITY
        } else {
            acc.moments.m2
        };
        (
            round_to(sum / n, mean_kind),
            round_to((m2 / n).sqrt(), mean_kind),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The float64 vector kernel gives the generic kernel's bits, extremes included (on CPUs
    /// without AVX2 both are the generic kernel).
    #[test]
    fn float64_kernel_is_the_generic_kernel() {
        let mut next = crate::testing::xorshift();
        for len in [1, 7, 8, 9, 64, 127, 128] {
            for case in 0..50 {
                let block: Vec<f64> = (0..len)
                    .map(|_| match (case, next() % 8) {
                        (0..=9, 0) => 0.0,
                        (0..=9, 1) => -0.0,
                        (10..=19, 0) => f64::INFINITY,
                        (10..=19, 1) => f64::NAN,
                        _ => 1e4 + (next() % 1_000_000) as f64 * 1e-3,
                    })
                    .collect();
                let a = block_stats(&block, 1e4);
                let b = block_stats_f64(&block, 1e4);
                let bits =
                    |s: &BlockStats<f64>| [s.sum, s.mean, s.m2, s.min, s.max].map(|v| v.to_bits());
                assert_eq!(bits(&a), bits(&b), "len {len} case {case}: {block:?}");
            }
        }
    }
}
