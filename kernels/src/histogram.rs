//! `np.histogram` with equal-width bins, out of core: one parallel counting pass (plus a
//! min/max pass when no range is given).
//!
//! NumPy's results are reproduced bit for bit, which means reproducing its arithmetic: the
//! edges are `np.linspace` in the dtype NumPy picks (the data's float dtype for float data,
//! float64 otherwise), and a value's bin is `(x - first) / (last - first) * bins` computed in
//! the edges' dtype, truncated, then corrected against the edges themselves (a value equal to
//! the last edge goes in the last bin). Float16 arithmetic is done as NumPy does it: in float32,
//! rounded to float16 after every operation.

use std::sync::Mutex;

use outcore_engine::{
    cast_or_copy, swap_in_place, with_scalar_type, Array, Context, Error, ErrorKind, Result,
    ScalarKind,
};

use crate::num::Num;
use crate::reduce::float_text;

/// The float type NumPy computes edges and bin positions in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// float16 data: edges in float16.
    F16,
    /// float32 data: edges in float32.
    F32,
    /// Any other data: edges in float64.
    F64,
}

impl EdgeKind {
    /// NumPy's `bin_type` for data of `kind`: the data's float type, float64 for the others.
    pub fn of(kind: ScalarKind) -> EdgeKind {
        match kind {
            ScalarKind::F16 => EdgeKind::F16,
            ScalarKind::F32 => EdgeKind::F32,
            _ => EdgeKind::F64,
        }
    }

    /// The scalar kind of the edges.
    pub fn scalar_kind(self) -> ScalarKind {
        match self {
            EdgeKind::F16 => ScalarKind::F16,
            EdgeKind::F32 => ScalarKind::F32,
            EdgeKind::F64 => ScalarKind::F64,
        }
    }

    /// `v` rounded to this type (once, as NumPy's casts do).
    #[inline]
    fn round(self, v: f64) -> f64 {
        match self {
            EdgeKind::F16 => half::f16::from_f64(v).to_f64(),
            EdgeKind::F32 => v as f32 as f64,
            EdgeKind::F64 => v,
        }
    }

    /// `op(a, b)` for two values of this type, as NumPy's loops compute it (float16 in float32).
    #[inline]
    fn op(self, a: f64, b: f64, op: fn(f64, f64) -> f64, op32: fn(f32, f32) -> f32) -> f64 {
        match self {
            EdgeKind::F16 => half::f16::from_f32(op32(a as f32, b as f32)).to_f64(),
            EdgeKind::F32 => op32(a as f32, b as f32) as f64,
            EdgeKind::F64 => op(a, b),
        }
    }

    #[inline]
    fn sub(self, a: f64, b: f64) -> f64 {
        self.op(a, b, |x, y| x - y, |x, y| x - y)
    }
    #[inline]
    fn add(self, a: f64, b: f64) -> f64 {
        self.op(a, b, |x, y| x + y, |x, y| x + y)
    }
    #[inline]
    fn mul(self, a: f64, b: f64) -> f64 {
        self.op(a, b, |x, y| x * y, |x, y| x * y)
    }
    #[inline]
    fn div(self, a: f64, b: f64) -> f64 {
        self.op(a, b, |x, y| x / y, |x, y| x / y)
    }
}

/// A histogram: `counts[k]` values fell in `[edges[k], edges[k+1])` (the last bin closed).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Values per bin (int64, as NumPy's counts).
    pub counts: Vec<i64>,
    /// The edges as f64 (exactly: they are values of `edge_kind`).
    pub edges: Vec<f64>,
    /// NumPy's dtype of the edges: the data's float type, float64 otherwise.
    pub edge_kind: EdgeKind,
}

impl Histogram {
    /// The edges as text that reads back to the same value of their dtype.
    pub fn edge_texts(&self) -> Vec<String> {
        let kind = self.edge_kind.scalar_kind();
        self.edges.iter().map(|&e| float_text(e, kind)).collect()
    }
}

/// One end of the range, with the type NumPy gives it: this decides how it is rounded.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// A min/max of float data (a NumPy scalar of the data's float type).
    Data(f64),
    /// A min/max of integer data (an exact integer).
    Int(i128),
    /// A Python float (a given range, or an integer bound moved by 0.5).
    Float(f64),
}

impl Bound {
    fn f64(self) -> f64 {
        match self {
            Bound::Data(v) | Bound::Float(v) => v,
            Bound::Int(i) => i as f64,
        }
    }
}

/// `np.histogram(a, bins, range)` of the flattened array: `range` is `(lo, hi)` or `None` for
/// the data's min and max. Bool data is counted as uint8, as NumPy converts it.
pub fn histogram(
    ctx: &Context,
    array: &Array,
    bins: usize,
    range: Option<(f64, f64)>,
) -> Result<Histogram> {
    let kind = array
        .dtype()
        .require_real("histogram")
        .map_err(|e| e.with_path(array.path()))?;
    if bins == 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "`bins` must be positive, when an integer",
        ));
    }
    let _reserved = ctx
        .budget()
        .reserve(
            bins.saturating_mul(8).saturating_mul(ctx.threads() + 2),
            "the histogram's counts",
        )
        .map_err(|e| e.with_path(array.path()))?;
    let edge_kind = EdgeKind::of(kind);
    let (mut first, mut last) = match range {
        Some((lo, hi)) => {
            if lo > hi {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "max must be larger than min in range parameter.",
                ));
            }
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "supplied range of [{}, {}] is not finite",
                        float_text(lo, ScalarKind::F64),
                        float_text(hi, ScalarKind::F64)
                    ),
                ));
            }
            (Bound::Float(lo), Bound::Float(hi))
        }
        // NumPy's range for no data: the Python ints 0 and 1.
        None if array.is_empty() => (Bound::Int(0), Bound::Int(1)),
        None => {
            let (lo, hi) = with_scalar_type!(kind, T => min_max::<T>(ctx, array)?,
                complex => unreachable!("complex refused above"));
            if kind.is_float() {
                if !(lo.is_finite() && hi.is_finite()) {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "autodetected range of [{}, {}] is not finite",
                            float_text(lo, kind),
                            float_text(hi, kind)
                        ),
                    )
                    .with_path(array.path()));
                }
                (Bound::Data(lo), Bound::Data(hi))
            } else {
                (Bound::Int(lo as i128), Bound::Int(hi as i128))
            }
        }
    };
    // NumPy widens an empty range by 0.5 on each side, in the bound's own type.
    if first.f64() == last.f64() {
        (first, last) = match (first, last) {
            (Bound::Data(a), Bound::Data(b)) => (
                Bound::Data(edge_kind.sub(a, 0.5)),
                Bound::Data(edge_kind.add(b, 0.5)),
            ),
            (a, b) => (Bound::Float(a.f64() - 0.5), Bound::Float(b.f64() + 0.5)),
        };
    }
    let edges = linspace_edges(first, last, bins, edge_kind);
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("Too many bins for data range. Cannot create {bins} finite-sized bins."),
        ));
    }
    let plan = BinPlan::new(first, last, bins, edge_kind, kind.is_float(), &edges);
    let counts = with_scalar_type!(kind, T => count::<T>(ctx, array, &plan)?,
        complex => unreachable!("complex refused above"));
    Ok(Histogram {
        counts,
        edges,
        edge_kind,
    })
}

/// `np.linspace(first, last, bins + 1)` computed in NumPy's type, cast to the edges' type.
fn linspace_edges(first: Bound, last: Bound, bins: usize, edge_kind: EdgeKind) -> Vec<f64> {
    // linspace computes in the bounds' type: the data's float type for a float min/max,
    // float64 for integers and Python floats.
    let dt = match first {
        Bound::Data(_) => edge_kind,
        _ => EdgeKind::F64,
    };
    let start = dt.round(first.f64());
    let stop = dt.round(last.f64());
    let delta = dt.sub(stop, start);
    let div = dt.round(bins as f64);
    let step = dt.div(delta, div);
    let mut edges: Vec<f64> = (0..=bins)
        .map(|k| {
            let mut y = dt.round(k as f64);
            if step == 0.0 {
                y = dt.mul(dt.div(y, div), delta);
            } else {
                y = dt.mul(y, step);
            }
            edge_kind.round(dt.add(y, start))
        })
        .collect();
    edges[bins] = edge_kind.round(stop);
    edges
}

/// Everything the counting pass needs, precomputed as NumPy does.
struct BinPlan<'a> {
    /// The range tests, in the types NumPy compares in.
    keep_lo: f64,
    keep_hi: f64,
    first: f64,
    denom: f64,
    numerator: f64,
    /// `numerator / denom` for float64 edges (a finite, nonzero range): a multiplication
    /// instead of a division per value. The index it gives is within one of NumPy's, and
    /// NumPy's own step of correction against the edges (below) then gives the same bin.
    scale: Option<f64>,
    bins: usize,
    kind: EdgeKind,
    edges: &'a [f64],
}

impl<'a> BinPlan<'a> {
    fn new(
        first: Bound,
        last: Bound,
        bins: usize,
        kind: EdgeKind,
        float_data: bool,
        edges: &'a [f64],
    ) -> BinPlan<'a> {
        // Float data is compared with a Python float bound rounded to the data's type; integer
        // data is compared in float64.
        let cmp = |b: Bound| {
            if float_data {
                kind.round(b.f64())
            } else {
                b.f64()
            }
        };
        let denom = match (first, last) {
            (Bound::Data(a), Bound::Data(b)) => kind.sub(b, a),
            // `_unsigned_subtract`: the exact difference, then converted.
            (Bound::Int(a), Bound::Int(b)) => kind.round((b - a) as f64),
            (a, b) => kind.round(b.f64() - a.f64()),
        };
        BinPlan {
            keep_lo: cmp(first),
            keep_hi: cmp(last),
            first: kind.round(first.f64()),
            denom,
            numerator: kind.round(bins as f64),
            scale: Some(bins as f64 / denom)
                .filter(|s| kind == EdgeKind::F64 && denom.is_normal() && s.is_normal()),
            bins,
            kind,
            edges,
        }
    }

    /// The bin of `x` (a value of the data), or `None` outside the range (NaN included).
    #[inline(always)]
    fn bin(&self, x: f64) -> Option<usize> {
        if !(x >= self.keep_lo && x <= self.keep_hi) {
            return None;
        }
        let k = self.kind;
        let a = k.round(x);
        let f = match self.scale {
            Some(scale) => (a - self.first) * scale,
            None => k.mul(k.div(k.sub(a, self.first), self.denom), self.numerator),
        };
        // `astype(intp)`; a NaN or overflow (float16 extremes) would make NumPy index out of
        // bounds, here it is clamped into the range instead of panicking.
        let mut i = if f.is_finite() && f >= 0.0 {
            (f as usize).min(self.bins)
        } else {
            0
        };
        if i == self.bins {
            i -= 1;
        }
        if a < self.edges[i] && i > 0 {
            i -= 1;
        } else if a >= self.edges[i + 1] && i != self.bins - 1 {
            i += 1;
        }
        Some(i)
    }
}

/// Float64 bins whose edges are linspace's `k·step + start` (checked against every edge) and
/// `stop`: [`count_linear`] computes each value's bin and both its edges arithmetically, a
/// vector of values at a time, with no lookups (the same bins as [`BinPlan::bin`]).
#[derive(Debug, Clone, Copy)]
struct LinearBins {
    keep_lo: f64,
    keep_hi: f64,
    first: f64,
    scale: f64,
    start: f64,
    step: f64,
    /// The last bin, as f64 and as i32.
    last: f64,
    last_i: i32,
    bins: usize,
}

impl BinPlan<'_> {
    /// Most bins [`count_linear`] takes (its four interleaved counts per chunk stay small).
    const LINEAR_MAX_BINS: usize = 1 << 16;

    fn linear(&self) -> Option<LinearBins> {
        let scale = self.scale?;
        let bins = self.bins;
        if bins > Self::LINEAR_MAX_BINS {
            return None;
        }
        let (start, stop) = (self.edges[0], self.edges[bins]);
        let step = (stop - start) / bins as f64;
        let linear = step != 0.0
            && self.edges[..bins]
                .iter()
                .enumerate()
                .all(|(k, &e)| k as f64 * step + start == e);
        linear.then_some(LinearBins {
            keep_lo: self.keep_lo,
            keep_hi: self.keep_hi,
            first: self.first,
            scale,
            start,
            step,
            last: (bins - 1) as f64,
            last_i: (bins - 1) as i32,
            bins,
        })
    }
}

/// Adds the bins of `values` to `counts`: four interleaved counts (`counts[4·bin + j % 4]`,
/// so that runs of one bin do not wait on each other's increments) of `bins + 1` slots, the
/// last for values outside the range.
///
/// The bins of a block are computed first, a vector at a time, with no conversion
/// instructions: `floor` and the `1.5·2^52` trick give the integer (`as i32` compiled to a
/// scalar `cvttsd2si` per value and made the loop 1.6-1.7x slower). Kept values have `f >= 0` (`a >= first`), so only the top needs a
/// clamp; NumPy's one step down or up against the edges is taken on the integer, then clamped
/// to the last bin (its upper edge is `stop`, which only a value on `stop` reaches, and it
/// stays in the last bin). Blocks are prefetched ahead: this loop has too many instructions
/// per value for the hardware prefetcher to keep it fed. Compiled for AVX-512 and AVX2 too
/// (picked at run time).
#[multiversion::multiversion(targets(
    "x86_64+avx2+avx512f+avx512dq+avx512vl+avx512bw",
    "x86_64+avx2"
))]
fn count_linear<T: Num>(values: &[T], lb: &LinearBins, counts: &mut [i64]) {
    const BLOCK: usize = 1024;
    // Adding 1.5·2^52 to an integer-valued f64 below 2^51 leaves the integer in the low bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let magic_bits = MAGIC.to_bits() as i64;
    let last = lb.last_i as i64;
    let outside = lb.bins as i64;
    let mut bins = [0i64; BLOCK];
    for block in crate::prefetched_blocks(values, BLOCK, 4) {
        let bins = &mut bins[..block.len()];
        for (o, &x) in bins.iter_mut().zip(block) {
            let a = x.to_f64();
            let keep = (a >= lb.keep_lo) & (a <= lb.keep_hi);
            let f = (a - lb.first) * lb.scale;
            let fi = (if f < lb.last { f } else { lb.last }).floor();
            let lo_edge = fi * lb.step + lb.start;
            let hi_edge = (fi + 1.0) * lb.step + lb.start;
            let i = (fi + MAGIC).to_bits() as i64 - magic_bits - (a < lo_edge) as i64
                + (a >= hi_edge) as i64;
            let i = if i < last { i } else { last };
            let i = if i > 0 { i } else { 0 };
            *o = if keep { i } else { outside };
        }
        for (j, &b) in bins.iter().enumerate() {
            counts[b as usize * 4 + (j & 3)] += 1;
        }
    }
}

/// A chunk's elements in native byte order.
fn load<T: outcore_engine::Element>(bytes: &[u8], swap: bool) -> std::borrow::Cow<'_, [T]> {
    let v = cast_or_copy::<T>(bytes);
    if swap {
        let mut owned = v.into_owned();
        swap_in_place(&mut owned);
        std::borrow::Cow::Owned(owned)
    } else {
        v
    }
}

/// The min and max of the data as f64 (NaN when there is a NaN, as NumPy's min/max).
fn min_max<T: Num>(ctx: &Context, array: &Array) -> Result<(f64, f64)> {
    let swap = array.dtype().needs_swap();
    let item = std::mem::size_of::<T>();
    let parts = ctx
        .for_each_chunk(
            "histogram range",
            &array.input(),
            item,
            0..array.len(),
            |_, bytes| Ok(min_max_of(&load::<T>(bytes, swap))),
        )
        .map_err(|e| e.with_path(array.path()))?;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (a, b) in parts {
        if a.is_nan() {
            return Ok((f64::NAN, f64::NAN));
        }
        lo = lo.min(a);
        hi = hi.max(b);
    }
    Ok((lo, hi))
}

/// The min and max of `values` as f64 (NaN, NaN where one is NaN), in 8 lanes with NaNs
/// counted apart: `if lo < x { lo } else { x }` is one MINPD, while a NaN-aware min or an
/// early exit made this loop 2-4x slower than a memory-bound `sum` (compiled for AVX2 too,
/// picked at run time; blocks prefetched ahead).
#[multiversion::multiversion(targets(
    "x86_64+avx2+avx512f+avx512dq+avx512vl+avx512bw",
    "x86_64+avx2"
))]
fn min_max_of<T: Num>(values: &[T]) -> (f64, f64) {
    let (mut lo, mut hi) = ([f64::INFINITY; 8], [f64::NEG_INFINITY; 8]);
    let mut nans = [0u64; 8];
    let whole = values.len() / 8 * 8;
    for block in crate::prefetched_blocks(&values[..whole], 1024, 4) {
        for c in block.chunks_exact(8) {
            for l in 0..8 {
                let v = c[l].to_f64();
                nans[l] += v.is_nan() as u64;
                lo[l] = if lo[l] < v { lo[l] } else { v };
                hi[l] = if hi[l] > v { hi[l] } else { v };
            }
        }
    }
    for &x in &values[whole..] {
        let v = x.to_f64();
        nans[0] += v.is_nan() as u64;
        lo[0] = if lo[0] < v { lo[0] } else { v };
        hi[0] = if hi[0] > v { hi[0] } else { v };
    }
    if nans.iter().any(|&n| n > 0) {
        return (f64::NAN, f64::NAN);
    }
    (
        lo.iter().fold(f64::INFINITY, |a, &b| a.min(b)),
        hi.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
    )
}

/// Adds the bins of `values` to `counts` (compiled for AVX2 too).
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn count_into<T: Num>(values: &[T], plan: &BinPlan<'_>, counts: &mut [i64]) {
    for &x in values {
        if let Some(b) = plan.bin(x.to_f64()) {
            counts[b] += 1;
        }
    }
}

/// The counting pass: every chunk counts into its own bins, added into the total under a lock
/// (integer sums, so the order does not matter).
fn count<T: Num>(ctx: &Context, array: &Array, plan: &BinPlan<'_>) -> Result<Vec<i64>> {
    let swap = array.dtype().needs_swap();
    let item = std::mem::size_of::<T>();
    let total = Mutex::new(vec![0i64; plan.bins]);
    let linear = plan.linear();
    ctx.for_each_chunk(
        "histogram",
        &array.input(),
        item,
        0..array.len(),
        |_, bytes| {
            let vals = load::<T>(bytes, swap);
            let mut local = vec![0i64; plan.bins];
            if let Some(lb) = &linear {
                let mut four = vec![0i64; 4 * (plan.bins + 1)];
                count_linear(&vals, lb, &mut four);
                for (l, f) in local.iter_mut().zip(four.chunks_exact(4)) {
                    *l = f.iter().sum();
                }
            } else {
                count_into(&vals, plan, &mut local);
            }
            let mut t = total
                .lock()
                .map_err(|_| Error::new(ErrorKind::Io, "a histogram worker panicked"))?;
            for (a, b) in t.iter_mut().zip(&local) {
                *a += b;
            }
            Ok(())
        },
    )
    .map_err(|e| e.with_path(array.path()))?;
    total
        .into_inner()
        .map_err(|_| Error::new(ErrorKind::Io, "a histogram worker panicked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplied_and_linear_bins_are_numpys_divided_bins() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for (lo, hi, bins) in [
            (-6.0, 6.0, 100),
            (0.0, 1.0, 7),
            (-1e-3, 3.0, 1000),
            (1e6, 1e6 + 1.0, 3),
            (-0.3, 0.1, 1),
        ] {
            let (first, last) = (Bound::Float(lo), Bound::Float(hi));
            let edges = linspace_edges(first, last, bins, EdgeKind::F64);
            let plan = BinPlan::new(first, last, bins, EdgeKind::F64, true, &edges);
            let lb = plan.linear().expect("linspace's float64 edges are linear");
            // The reference divides as NumPy does (`((a - first) / denom) * bins`).
            let numpy = BinPlan {
                scale: None,
                ..plan
            };
            // Every edge and its neighbours, outside values, NaN, infinities, random values.
            let mut values = vec![
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                lo - 1.0,
                hi + 1.0,
            ];
            for &e in &edges {
                values.extend([e, e.next_down(), e.next_up()]);
            }
            values.extend((0..10_000).map(|_| lo + (hi - lo) * uniform()));
            for &v in &values {
                let mut four = vec![0i64; 4 * (bins + 1)];
                count_linear(&[v], &lb, &mut four);
                let got = four.iter().position(|&c| c == 1).map(|slot| slot / 4);
                let want = numpy.bin(v).or(Some(bins));
                assert_eq!(plan.bin(v), numpy.bin(v), "{v:e}: multiplied vs divided");
                assert_eq!(got, want, "{v:e} in {bins} bins of [{lo}, {hi}]");
            }
        }
    }

    #[test]
    fn numpy_examples() {
        let ctx = Context::new().unwrap();
        let a = Array::from_vec(vec![1.0f64, 0.0, 1.0, 1.0], &[4]).unwrap();
        let h = histogram(&ctx, &a, 3, None).unwrap();
        assert_eq!(h.counts, vec![1, 0, 3]);
        assert_eq!(h.edges, vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        let a = Array::from_vec(vec![3.0f64, 3.0], &[2]).unwrap();
        let h = histogram(&ctx, &a, 4, None).unwrap();
        assert_eq!(h.counts, vec![0, 0, 2, 0]);
        assert_eq!(h.edges, vec![2.5, 2.75, 3.0, 3.25, 3.5]);
        let a = Array::from_vec(vec![1.0f64, f64::NAN], &[2]).unwrap();
        let e = histogram(&ctx, &a, 2, None).unwrap_err();
        assert!(e
            .message()
            .contains("autodetected range of [nan, nan] is not finite"));
        let h = histogram(&ctx, &a, 2, Some((0.0, 2.0))).unwrap();
        assert_eq!(h.counts, vec![0, 1]);
    }
}
