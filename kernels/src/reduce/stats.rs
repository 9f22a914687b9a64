//! `stats`: count, sum, mean, std, min, max and NaN count in one pass.
//!
//! Every value is what NumPy's plain function gives on the whole array (`a.size`, `a.sum()`,
//! `a.mean()`, `a.std()`, `a.min()`, `a.max()`, `np.isnan(a).sum()`): NaNs propagate into sum,
//! mean, std, min and max, and `nan_count` says how many there were.
//!
//! How one pass stays near the speed of a memory-bound `sum` (design notes):
//! - Each chunk is read once, as the sum reads it: four interleaved streams per run, in blocks
//!   of 128 values (NumPy's pairwise leaf). One loop ([`BlockLanes`]) takes each block's
//!   shifted sums `Σ(x-k)`, `Σ(x-k)²` in 8 lanes and keeps the extremes in the same 8 lanes
//!   for the whole run (folded once at its end).
//! - Everything else per block — folding the lanes, the block's sum, mean and squared
//!   deviations, the check for overflow and NaN — is done for the four streams' blocks side
//!   by side, one vector lane per stream ([`Summaries`]), and so are the merges of the
//!   per-stream trees of blocks ([`BlockTree`]: pairwise sums, Chan's merge of equal halves,
//!   no division). Done block by block, this overhead made `stats` run well below the speed
//!   of its loop alone.
//! - Blocks that overflow or hold NaN or infinity are redone as NumPy computes them (rare,
//!   cold), and only there are NaNs counted (a NaN makes its block's sum NaN).

use super::folds::{result_float, round_to, CompSum, Finish, Moments, Warnings};
use super::*;
use super::{interleaved_part, PairwiseStreams, STREAMS};

/// The one-pass summary of an array.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Elements (NaNs included).
    pub count: u64,
    /// `a.sum()` (dtype as NumPy's sum).
    pub sum: Value,
    /// `a.mean()` and `a.std()` (float64 for integer inputs, else the input's float type).
    pub mean: f64,
    /// `a.std()` (ddof 0).
    pub std: f64,
    /// `a.min()`/`a.max()` in the input's dtype; `None` for an empty array (NumPy raises).
    pub min: Option<Value>,
    /// `a.max()` in the input's dtype; `None` for an empty array.
    pub max: Option<Value>,
    /// How many elements are NaN.
    pub nan_count: u64,
    /// dtypes of `sum`, of `mean`/`std`, and of `min`/`max`.
    pub sum_dtype: DType,
    /// The dtype of `mean` and `std`.
    pub mean_dtype: DType,
    /// The dtype of `min` and `max` (the input's).
    pub dtype: DType,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Acc<T> {
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

/// Values per block: NumPy's pairwise leaf, and the error bound of the shifted moments (see
/// [`Summaries::of_blocks`]).
const BLOCK: usize = 128;

/// One value per interleaved stream.
type PerStream = [f64; STREAMS];

/// The extremes of the values seen so far in 8 lanes, and the block kernel that updates them:
/// the one loop of `stats` over the data. Two versions: [`ScalarLanes`] (any dtype) and, for
/// float64 on CPUs with AVX2, [`Avx2Lanes`] (the same arithmetic in the same order in 4-lane
/// vectors, so the same bits).
trait BlockLanes<T: Num> {
    /// `(Σx, Σd, Σd²)` with `d = x - k` over `values` (a multiple of 8 of them), each taken in
    /// 8 lanes and folded as [`lane_tree`] (`Σx` is then `leaf_sum`'s, the pairwise sum's
    /// leaf); the lanes' extremes take the values in.
    fn block(&mut self, values: &[T], k: f64) -> (f64, f64, f64);
    /// [`block`](Self::block) of one full block per stream, in stream order.
    #[inline(always)]
    fn blocks(
        &mut self,
        blocks: [&[T]; STREAMS],
        k: PerStream,
    ) -> (PerStream, PerStream, PerStream) {
        let (mut s0, mut s1, mut s2) = ([0.0; STREAMS], [0.0; STREAMS], [0.0; STREAMS]);
        for j in 0..STREAMS {
            (s0[j], s1[j], s2[j]) = self.block(blocks[j], k[j]);
        }
        (s0, s1, s2)
    }
    /// The extremes of the lanes, folded in lane order.
    fn extremes(&self) -> (T, T);
}

/// Folds 8 lanes as `((0+1)+(2+3))+((4+5)+(6+7))`.
#[inline(always)]
fn lane_tree(a: &[f64; 8]) -> f64 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

struct ScalarLanes<T> {
    lo: [T; 8],
    hi: [T; 8],
}

impl<T: Num> BlockLanes<T> for ScalarLanes<T> {
    #[inline(always)]
    fn block(&mut self, values: &[T], k: f64) -> (f64, f64, f64) {
        let mut s0 = [0.0f64; 8];
        let mut s1 = [0.0f64; 8];
        let mut s2 = [0.0f64; 8];
        let (mut lo, mut hi) = (self.lo, self.hi);
        for c in values.chunks_exact(8) {
            for l in 0..8 {
                let x = c[l];
                s0[l] += x.to_f64();
                let d = x.to_f64() - k;
                s1[l] += d;
                // Fused, as the vector lanes' FMA (the same bits).
                s2[l] = d.mul_add(d, s2[l]);
                lo[l] = min_rule(lo[l], x);
                hi[l] = max_rule(hi[l], x);
            }
        }
        (self.lo, self.hi) = (lo, hi);
        (lane_tree(&s0), lane_tree(&s1), lane_tree(&s2))
    }

    fn extremes(&self) -> (T, T) {
        fold_lanes(&self.lo, &self.hi)
    }
}

fn fold_lanes<T: Num>(lo: &[T; 8], hi: &[T; 8]) -> (T, T) {
    let (mut min, mut max) = (lo[0], hi[0]);
    for (&l, &h) in lo.iter().zip(hi).skip(1) {
        min = min_rule(min, l);
        max = max_rule(max, h);
    }
    (min, max)
}

/// [`ScalarLanes`] for float64 in explicit 4-lane vectors (`pulp`), two per statistic: lanes
/// 0-3 and 4-7. The compiler's own vectorisation of the scalar loop pairs each lane's `Σd`
/// with its `Σd²` and shuffles more than it adds.
#[cfg(target_arch = "x86_64")]
struct Avx2Lanes {
    simd: pulp::x86::V3,
    lo: [pulp::f64x4; 2],
    hi: [pulp::f64x4; 2],
}

#[cfg(target_arch = "x86_64")]
impl Avx2Lanes {
    /// The 8 lanes of `Σx`, `Σd` and `Σd²` over `values`, as two vectors each.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn sums(
        &mut self,
        values: &[f64],
        k: f64,
    ) -> ([pulp::f64x4; 2], [pulp::f64x4; 2], [pulp::f64x4; 2]) {
        use pulp::f64x4;
        let simd = self.simd;
        // An opaque length keeps the compiler from unrolling a full block's 16 steps, which
        // made it spill the loaded values to the stack (measured slower unrolled).
        let values = &values[..std::hint::black_box(values.len())];
        let kv = simd.splat_f64x4(k);
        let mut s0 = [simd.splat_f64x4(0.0); 2];
        let mut s1 = s0;
        let mut s2 = s0;
        let (mut lo, mut hi) = (self.lo, self.hi);
        for c in values.chunks_exact(8) {
            for h in 0..2 {
                let x: f64x4 = bytemuck::cast([c[4 * h], c[4 * h + 1], c[4 * h + 2], c[4 * h + 3]]);
                s0[h] = simd.add_f64x4(s0[h], x);
                let d = simd.sub_f64x4(x, kv);
                s1[h] = simd.add_f64x4(s1[h], d);
                s2[h] = simd.mul_add_f64x4(d, d, s2[h]);
                // MINPD(lo, x) is `if lo < x { lo } else { x }`, the scalar version's rule.
                lo[h] = simd.min_f64x4(lo[h], x);
                hi[h] = simd.max_f64x4(hi[h], x);
            }
        }
        (self.lo, self.hi) = (lo, hi);
        (s0, s1, s2)
    }

    /// [`lane_tree`] of four blocks' lanes at once: `pairs[j]` is block `j`'s
    /// `[l0+l1, l4+l5, l2+l3, l6+l7]` (HADDPD of its two vectors); the result is the four
    /// trees, in block order.
    #[inline(always)]
    fn trees(&self, pairs: [pulp::f64x4; STREAMS]) -> PerStream {
        const _: () = assert!(STREAMS == 4, "one stream per vector lane");
        use std::arch::x86_64::__m256d;
        let avx = self.simd.avx;
        let p: [__m256d; 4] = bytemuck::cast(pairs);
        // [a01+a23, a45+a67, b01+b23, b45+b67] for blocks (0, 1) and (2, 3).
        let quads = |a: __m256d, b: __m256d| {
            avx._mm256_add_pd(
                avx._mm256_permute2f128_pd::<0x20>(a, b),
                avx._mm256_permute2f128_pd::<0x31>(a, b),
            )
        };
        // [t0, t2, t1, t3], then in block order.
        let t = avx._mm256_hadd_pd(quads(p[0], p[1]), quads(p[2], p[3]));
        bytemuck::cast(self.simd.avx2._mm256_permute4x64_pd::<0b11_01_10_00>(t))
    }
}

/// Implemented for every `T` so that the generic run driver can use it; only ever built
/// where `T` is float64 (a bytewise view of it).
#[cfg(target_arch = "x86_64")]
impl<T: Num> BlockLanes<T> for Avx2Lanes {
    #[inline(always)]
    fn block(&mut self, values: &[T], k: f64) -> (f64, f64, f64) {
        let (s0, s1, s2) = self.sums(bytemuck::cast_slice(values), k);
        let lanes8 = |v: [pulp::f64x4; 2]| -> [f64; 8] { bytemuck::cast(v) };
        (
            lane_tree(&lanes8(s0)),
            lane_tree(&lanes8(s1)),
            lane_tree(&lanes8(s2)),
        )
    }

    #[inline(always)]
    fn blocks(
        &mut self,
        blocks: [&[T]; STREAMS],
        k: PerStream,
    ) -> (PerStream, PerStream, PerStream) {
        use std::arch::x86_64::__m256d;
        let avx = self.simd.avx;
        let hadd = |v: [pulp::f64x4; 2]| -> pulp::f64x4 {
            let [a, b]: [__m256d; 2] = bytemuck::cast(v);
            bytemuck::cast(avx._mm256_hadd_pd(a, b))
        };
        let zero = self.simd.splat_f64x4(0.0);
        let (mut p0, mut p1, mut p2) = ([zero; 4], [zero; 4], [zero; 4]);
        for j in 0..STREAMS {
            let (s0, s1, s2) = self.sums(bytemuck::cast_slice(blocks[j]), k[j]);
            (p0[j], p1[j], p2[j]) = (hadd(s0), hadd(s1), hadd(s2));
        }
        (self.trees(p0), self.trees(p1), self.trees(p2))
    }

    fn extremes(&self) -> (T, T) {
        let lanes8 = |v: [pulp::f64x4; 2]| -> [f64; 8] { bytemuck::cast(v) };
        let (min, max) = fold_lanes(&lanes8(self.lo), &lanes8(self.hi));
        let [min, max]: [T; 2] = bytemuck::cast_slice(&[min, max]).try_into().unwrap();
        (min, max)
    }
}

/// Sum, mean (less the run's reference value) and squared deviations of `N` blocks or groups
/// of blocks side by side (one per stream, or `N = 1`): the per-block arithmetic is written
/// lane by lane, which the compiler turns into one vector instruction per line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summaries<const N: usize> {
    sum: [f64; N],
    /// `(k - reference) + Σ(x-k)/n`: accurate to the size of the deviations where the values
    /// share a large offset (the merge of blocks needs accurate differences of means).
    mean: [f64; N],
    m2: [f64; N],
}

impl<const N: usize> Default for Summaries<N> {
    fn default() -> Self {
        Summaries {
            sum: [0.0; N],
            mean: [0.0; N],
            m2: [0.0; N],
        }
    }
}

impl<const N: usize> Summaries<N> {
    /// The summaries of `N` non-empty blocks of `len <= BLOCK` values each, with shifts `k`,
    /// from their shifted sums `s1 = Σ(x-k)`, `s2 = Σ(x-k)²` (taken by the lanes, in one pass:
    /// a second pass, even over cached data, made `stats` cost 1.5x a memory-bound `sum`):
    /// `m2 = S2 - S1²/n`. As `k` is the block's first value, `n·(mean-k)² <= m2`, so
    /// `S2 <= (n+1)·m2` and the cancellation costs at most `(n+1)` ulps of `m2` (129 for
    /// `BLOCK = 128`: ~1e-14 relative). The sum is `n·k + S1` (8 accumulators over 128
    /// values, NumPy's leaf scheme). Deviations from the first value can overflow where the
    /// values themselves do not (1e308 and -1e308): such a block, and one with infinities or
    /// NaNs, is redone as NumPy computes it (`plain(j)` gives block `j`), and its NaNs are
    /// added to `nans` (a NaN makes a block's sum NaN, so no other block holds one).
    #[inline(always)]
    fn of_blocks<'a, T: Num + 'a>(
        len: usize,
        k: [f64; N],
        s1: [f64; N],
        s2: [f64; N],
        reference: f64,
        nans: &mut u64,
        plain: impl Fn(usize) -> std::borrow::Cow<'a, [T]>,
    ) -> Self {
        // A full block divides by the constant 128: a multiplication, with the same bits.
        let n = if len == BLOCK {
            BLOCK as f64
        } else {
            len as f64
        };
        let mut out = Summaries::default();
        let mut finite = true;
        for j in 0..N {
            // Σx = n·k + Σ(x-k): one rounding more than a plain sum of the lanes, whose error
            // it shares in size (both bounded by ~16 ulps of Σ|x| per block).
            out.sum[j] = n * k[j] + s1[j];
            let m2 = s2[j] - s1[j] * s1[j] / n;
            // Rounding can leave a tiny negative where the values are all equal.
            out.m2[j] = if m2 < 0.0 { 0.0 } else { m2 };
            out.mean[j] = (k[j] - reference) + s1[j] / n;
            finite &= out.sum[j].is_finite() & m2.is_finite();
        }
        if !finite {
            for j in 0..N {
                if !(out.sum[j].is_finite() && out.m2[j].is_finite()) {
                    let (sum, mean, m2, block_nans) = summary_plain(&plain(j), reference);
                    (out.sum[j], out.mean[j], out.m2[j]) = (sum, mean, m2);
                    *nans += block_nans;
                }
            }
        }
        out
    }

    /// Merges groups `b` into the groups `a` before them, each of `2^level` full blocks:
    /// Chan's merge with `n_a = n_b = m`, `mean = a + d/2`, `m2 = m2a + m2b + d²·m/2` (no
    /// division).
    #[inline(always)]
    fn merge_equal(a: &Self, b: &Self, level: usize) -> Self {
        let half = (BLOCK << level) as f64 * 0.5;
        let mut out = Summaries::default();
        for j in 0..N {
            let d = b.mean[j] - a.mean[j];
            out.sum[j] = a.sum[j] + b.sum[j];
            out.mean[j] = a.mean[j] + d * 0.5;
            out.m2[j] = a.m2[j] + b.m2[j] + d * d * half;
        }
        out
    }
}

/// A block's `(sum, mean - reference, m2, NaN count)` computed as NumPy does (pairwise sum,
/// mean, then squared deviations from it): for the rare blocks whose shifted sums are not
/// finite.
#[cold]
#[inline(never)]
fn summary_plain<T: Num>(block: &[T], reference: f64) -> (f64, f64, f64, u64) {
    let sum = pairwise_sum(block, &|x: T| x.to_f64());
    let mean = sum / block.len() as f64;
    let m2 = pairwise_sum(block, &|x: T| {
        let d = x.to_f64() - mean;
        d * d
    });
    let nans = block.iter().filter(|x| x.is_nan()).count() as u64;
    (sum, mean - reference, m2, nans)
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

/// Full blocks' summaries (`N` sequences side by side) merged as balanced binary trees, built
/// bottom-up like a binary counter (level `j` holds the latest complete group of `2^j` blocks
/// while bit `j` of `blocks` is set): sums pairwise as NumPy's, moments by Chan's merge of two
/// groups of equal size ([`Summaries::merge_equal`], no division).
#[derive(Clone, Copy)]
struct BlockTree<const N: usize> {
    levels: [Summaries<N>; 64],
    blocks: u64,
}

impl<const N: usize> Default for BlockTree<N> {
    fn default() -> Self {
        BlockTree {
            levels: [Summaries::default(); 64],
            blocks: 0,
        }
    }
}

impl<const N: usize> BlockTree<N> {
    /// Pushes a group of `2^level` blocks (the tree holds a multiple of that many).
    #[inline(always)]
    fn push(&mut self, mut s: Summaries<N>, level: usize) {
        self.blocks += 1 << level;
        let mut level = level;
        while self.blocks >> level & 1 == 0 {
            s = Summaries::merge_equal(&self.levels[level], &s, level);
            level += 1;
        }
        self.levels[level] = s;
    }

    /// Sequence `j`'s sum and moments (about the run's reference): its live groups, the
    /// smallest first.
    fn total(&self, j: usize) -> (f64, Moments) {
        let (mut sum, mut moments) = (0.0, Moments::default());
        for (level, s) in self.levels.iter().enumerate() {
            if self.blocks >> level & 1 == 1 {
                sum += s.sum[j];
                moments.merge(&Moments {
                    n: (BLOCK << level) as f64,
                    mean: s.mean[j],
                    m2: s.m2[j],
                });
            }
        }
        (sum, moments)
    }
}

/// Folds a run into `acc` in one pass with the block kernel `lanes` (whose lanes start at the
/// run's first value). Long runs are read as interleaved streams (see `interleaved_blocks`),
/// one block of each in turn, whose summaries go through the arithmetic side by side into one
/// tree per stream; the blocks after them go into one more tree; the trees are combined in the
/// order of their values.
#[inline(always)]
fn fold_run_with<T: Num>(acc: &mut Acc<T>, run: &[T], lanes: &mut impl BlockLanes<T>) {
    let Some(&first) = run.first() else {
        return;
    };
    // The blocks' moments are merged about a reference value of the run (its first finite
    // value): merging many block means of the size of a large common offset would round each
    // difference of means to the offset's ulp, and the errors add up.
    let reference = Some(first.to_f64())
        .filter(|r| r.is_finite())
        .unwrap_or(0.0);
    let mut isum = acc.isum;
    let mut nans = 0;
    let mut add_ints = |block: &[T]| {
        if !T::KIND.is_float() {
            for &x in block {
                isum = isum.wrapping_add(x.to_i128() as i64);
            }
        }
    };
    let mut streams = BlockTree::<STREAMS>::default();
    // The sum as `reduce sum` takes it (`pairwise_sum`, whose leaves are these blocks), so that
    // the two agree bit for bit; the shifted sums above serve the moments.
    let mut sums = PairwiseStreams::default();
    // The order of `interleaved_blocks`, in plain loops: a closure would not inherit the
    // vector kernel's target features.
    let part = interleaved_part(run.len(), BLOCK);
    let mut start = 0;
    // Four rounds at a time, each stream's four blocks are merged before they go into the
    // tree (the same merges the tree would make): a push's loop over the levels costs a
    // mispredicted branch or two.
    let mut quad = [Summaries::<STREAMS>::default(); 4];
    let mut quad_sums = [[0.0; STREAMS]; 4];
    while start < part {
        // Later rounds' blocks are prefetched: the lanes do too much per value for the
        // hardware prefetcher alone to keep four streams fed.
        let ahead = start + 4 * BLOCK;
        if ahead < part {
            for j in 0..STREAMS {
                outcore_engine::prefetch_slice(&run[j * part + ahead..j * part + ahead + BLOCK]);
            }
        }
        let blocks: [&[T]; STREAMS] =
            std::array::from_fn(|j| &run[j * part + start..j * part + start + BLOCK]);
        let k = blocks.map(|b| shift(b[0].to_f64()));
        let (s0, s1, s2) = lanes.blocks(blocks, k);
        let r = start / BLOCK % 4;
        quad[r] =
            Summaries::of_blocks(BLOCK, k, s1, s2, reference, &mut nans, |j| blocks[j].into());
        quad_sums[r] = s0;
        for b in blocks {
            add_ints(b);
        }
        start += BLOCK;
        if r == 3 {
            let pairs = [
                Summaries::merge_equal(&quad[0], &quad[1], 0),
                Summaries::merge_equal(&quad[2], &quad[3], 0),
            ];
            streams.push(Summaries::merge_equal(&pairs[0], &pairs[1], 1), 2);
            // The tree's own order: each later group plus the earlier one.
            let q = &quad_sums;
            sums.push_rounds(
                std::array::from_fn(|j| (q[3][j] + q[2][j]) + (q[1][j] + q[0][j])),
                2,
            );
        } else if start == part {
            for (q, s) in quad[..=r].iter().zip(&quad_sums) {
                streams.push(*q, 0);
                sums.push_rounds(*s, 0);
            }
        }
    }
    let mut after = BlockTree::<1>::default();
    let mut blocks = run[STREAMS * part..].chunks_exact(BLOCK);
    for block in &mut blocks {
        let k = shift(block[0].to_f64());
        let (s0, s1, s2) = lanes.block(block, k);
        let s = Summaries::of_blocks(BLOCK, [k], [s1], [s2], reference, &mut nans, |_| {
            block.into()
        });
        after.push(s, 0);
        add_ints(block);
        sums.push_after(s0);
    }
    let last = blocks.remainder();
    add_ints(last);
    let (values, rest) = last.split_at(last.len() / 8 * 8);
    let mut local = Moments::default();
    for (_, m) in (0..STREAMS)
        .map(|j| streams.total(j))
        .chain([after.total(0)])
    {
        local.merge(&m);
    }
    let mut last_sum = 0.0;
    if let Some(&x0) = last.first() {
        // The run's last `< BLOCK` values: its first 8-multiple through the lanes, the
        // rest one by one.
        let k = shift(x0.to_f64());
        let (mut s0, mut s1, mut s2) = lanes.block(values, k);
        for &x in rest {
            s0 += x.to_f64();
            let d = x.to_f64() - k;
            s1 += d;
            s2 += d * d;
        }
        last_sum = s0;
        let s = Summaries::of_blocks(last.len(), [k], [s1], [s2], reference, &mut nans, |_| {
            last.into()
        });
        local.merge(&Moments {
            n: last.len() as f64,
            mean: s.mean[0],
            m2: s.m2[0],
        });
    }
    let sum = sums.total(last_sum);
    // The rest's extremes come after the lanes' (the later of equal ones wins).
    let (mut min, mut max) = lanes.extremes();
    for &x in rest {
        min = min_rule(min, x);
        max = max_rule(max, x);
    }
    local.mean += reference;
    acc.count += run.len() as u64;
    acc.nans += nans;
    acc.fsum.add(sum);
    acc.isum = isum;
    acc.moments.merge(&local);
    acc.extremes(min, max);
}

/// [`fold_run_with`] with the scalar lanes, compiled for AVX2 too (picked at run time).
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+avx2"))]
fn fold_run_scalar<T: Num>(acc: &mut Acc<T>, run: &[T]) {
    let Some(&first) = run.first() else {
        return;
    };
    let mut lanes = ScalarLanes {
        lo: [first; 8],
        hi: [first; 8],
    };
    fold_run_with(acc, run, &mut lanes)
}

/// [`fold_run_with`] for float64 (`T` is f64), the common case: with [`Avx2Lanes`] where the
/// CPU has AVX2.
fn fold_run_f64<T: Num>(acc: &mut Acc<T>, run: &[T]) {
    debug_assert_eq!(T::KIND, ScalarKind::F64);
    #[cfg(target_arch = "x86_64")]
    if let (Some(simd), Some(&first)) = (pulp::x86::V3::try_new(), run.first()) {
        struct Run<'a, T> {
            simd: pulp::x86::V3,
            acc: &'a mut Acc<T>,
            run: &'a [T],
            first: f64,
        }
        impl<T: Num> pulp::NullaryFnOnce for Run<'_, T> {
            type Output = ();
            #[inline(always)]
            fn call(self) {
                let start = self.simd.splat_f64x4(self.first);
                let mut lanes = Avx2Lanes {
                    simd: self.simd,
                    lo: [start; 2],
                    hi: [start; 2],
                };
                fold_run_with(self.acc, self.run, &mut lanes)
            }
        }
        return simd.vectorize(Run {
            simd,
            acc,
            run,
            first: first.to_f64(),
        });
    }
    fold_run_scalar(acc, run)
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
        if T::KIND == ScalarKind::F64 {
            fold_run_f64(acc, run);
        } else {
            fold_run_scalar(acc, run);
        }
    }
    fn combine(&self, a: &mut Acc<T>, b: &Acc<T>) {
        a.count += b.count;
        a.nans += b.nans;
        a.fsum.merge(&b.fsum);
        a.isum = a.isum.wrapping_add(b.isum);
        a.moments.merge(&b.moments);
        if b.has {
            a.extremes(b.min, b.max);
        }
    }
}

impl<T: Num> Acc<T> {
    /// The sum of squared deviations as NumPy's `a.var()` ends up with: NaN for NaN data or
    /// none; NaN for an infinite value (x - mean = inf - inf) or a sum that overflowed both
    /// ways (the mean is NaN); else inf where the sum or a squared deviation overflows. NumPy's
    /// float16 `a.var()` takes both sums in float16 (rounded once): beyond 65504 either is inf.
    fn numpy_m2(&self) -> f64 {
        let kind = T::KIND;
        if self.count == 0 || self.nans > 0 {
            return f64::NAN;
        }
        let sum = self.fsum.value();
        let infinite_input = kind.is_float()
            && (self.min.to_f64() == f64::NEG_INFINITY || self.max.to_f64() == f64::INFINITY);
        let overflows = |v: f64| {
            if kind == ScalarKind::F16 {
                !round_to(v, kind).is_finite()
            } else {
                !v.is_finite()
            }
        };
        if infinite_input || sum.is_nan() {
            f64::NAN
        } else if overflows(sum) || overflows(self.moments.m2) {
            f64::INFINITY
        } else {
            self.moments.m2
        }
    }
}

/// `reduce var` and `reduce std` of a whole array (NaNs not skipped), folded as `stats` folds
/// it, so that `stats`' std is `reduce std`'s bit for bit (spec §9).
pub(super) struct StatsVar {
    pub(super) ddof: f64,
    pub(super) std: bool,
}

impl<T: Num> Fold<T> for StatsVar {
    type Acc = Acc<T>;
    fn identity(&self) -> Acc<T> {
        <StatsFold as Fold<T>>::identity(&StatsFold)
    }
    fn fold_one(&self, acc: &mut Acc<T>, x: T, index: u64) {
        StatsFold.fold_one(acc, x, index)
    }
    fn fold_run(&self, acc: &mut Acc<T>, run: &[T], first: u64) {
        StatsFold.fold_run(acc, run, first)
    }
    fn combine(&self, a: &mut Acc<T>, b: &Acc<T>) {
        StatsFold.combine(a, b)
    }
}

impl<T: Num> Finish<T> for StatsVar {
    fn finish(&self, acc: &Acc<T>, warn: &mut Warnings) -> Result<Value> {
        let dof = (acc.count as f64 - self.ddof).max(0.0);
        if dof <= 0.0 {
            warn.add("Degrees of freedom <= 0 for slice");
        }
        // np.var divides by max(n - ddof, 0), so x/0 = inf.
        let var = acc.numpy_m2() / dof;
        let v = if self.std { var.sqrt() } else { var };
        Ok(Value::Float(round_to(v, result_float(T::KIND))))
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
        (
            round_to(acc.fsum.value() / n, mean_kind),
            round_to((acc.numpy_m2() / n).sqrt(), mean_kind),
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

    /// The float64 vector kernel gives the scalar kernel's bits, extremes included (on CPUs
    /// without AVX2 both are the scalar kernel), on runs short and long enough for the
    /// interleaved streams, with signed zeros, infinities and NaNs.
    #[test]
    fn float64_kernel_is_the_scalar_kernel() {
        let mut next = crate::testing::xorshift();
        for len in [1, 7, 8, 9, 64, 127, 128, 129, 1000, 8192, 9001, 20_000] {
            for case in 0..30 {
                let run: Vec<f64> = (0..len)
                    .map(|_| match (case, next() % 8) {
                        (0..=9, 0) => 0.0,
                        (0..=9, 1) => -0.0,
                        (10..=14, 0) if next().is_multiple_of(64) => f64::INFINITY,
                        (15..=19, 1) if next().is_multiple_of(64) => f64::NAN,
                        _ => 1e4 + (next() % 1_000_000) as f64 * 1e-3,
                    })
                    .collect();
                let (mut a, mut b) = (StatsFold.identity(), StatsFold.identity());
                fold_run_scalar(&mut a, &run);
                fold_run_f64(&mut b, &run);
                let bits = |s: &Acc<f64>| {
                    (
                        s.count,
                        s.nans,
                        [
                            s.fsum.value(),
                            s.moments.n,
                            s.moments.mean,
                            s.moments.m2,
                            s.min,
                            s.max,
                        ]
                        .map(|v| v.to_bits()),
                    )
                };
                assert_eq!(bits(&a), bits(&b), "len {len} case {case}");
            }
        }
    }

    /// The tree of blocks gives the moments of its values as a two-pass computation does.
    #[test]
    fn block_tree_moments_are_accurate() {
        let mut next = crate::testing::xorshift();
        for len in [128, 256, 128 * 7, 128 * 64 + 5, 100_000] {
            let run: Vec<f64> = (0..len)
                .map(|_| 1e9 + (next() % 1_000_000) as f64 * 1e-6)
                .collect();
            let mut acc = StatsFold.identity();
            fold_run_scalar(&mut acc, &run);
            let n = len as f64;
            // x - 1e9 is exact, so the reference mean is accurate to the offsets' size.
            let mean = 1e9 + run.iter().map(|&x| x - 1e9).sum::<f64>() / n;
            let m2: f64 = run.iter().map(|&x| (x - mean) * (x - mean)).sum();
            assert_eq!(acc.count, len as u64);
            assert!((acc.moments.mean - mean).abs() <= 1e-15 * mean, "{len}");
            assert!(
                (acc.moments.m2 - m2).abs() <= 1e-9 * m2,
                "{len}: {} vs {m2}",
                acc.moments.m2
            );
        }
    }
}
