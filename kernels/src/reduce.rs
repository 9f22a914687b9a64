//! Reductions over a mapped array — whole-array or along any axis — chunk-parallel through
//! the engine's scheduler: `sum prod min max mean var std argmin argmax count-nonzero any all`,
//! the NaN-skipping forms, `stats`, and user folds ([`fold`]).
//!
//! Float sums are pairwise within blocks and compensated (Neumaier) across them, in float64
//! whatever the input float type, so they are at least as accurate as NumPy's. Variances
//! merge per-block two-pass moments with Chan's parallel formula. Every result is the same
//! bit for bit whatever the threads, the budget and the chunk size: the blocks and the tree
//! that combines them are fixed by the data's shape, dtype and memory order (see [`fold`]).
//! Result dtypes, NaN rules and empty-input behaviour follow NumPy.

use std::fmt;
use std::ops::Range;

use outcore_engine::{
    with_scalar_type, Array, Context, DType, Error, ErrorKind, Layout, Order, OutputFile,
    OutputOptions, Result, ScalarKind,
};

use crate::num::Num;

mod axes;
#[cfg(test)]
mod determinism;
mod encode;
mod entry;
pub mod fold;
mod folds;
mod lanes;
mod op;
mod results;
mod stats;
pub use axes::{reduce_axes, reduce_axes_with_scratch};
pub use encode::{decode, encode};
pub use entry::{
    fold_all, reduce_all, reduce_all_with, reduce_axis, reduce_axis_to_file, AxisReduced,
};
pub use fold::{fold_array, AxisView, FnFold, Fold};
pub use folds::{ArgAcc, CompSum, Extreme, IndexMap, MeanAcc, Moments, VarAcc};
pub use op::{result_kind, ReduceOp};
pub use stats::{stats, Stats};

/// A scalar result value. Its dtype travels beside it in [`Reduced`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A bool result (`any`, `all`).
    Bool(bool),
    /// A signed integer result (sums of signed integers, argmin…).
    Int(i64),
    /// An unsigned integer result (sums of unsigned integers).
    UInt(u64),
    /// Any float result, widened to f64 (exactly: f16/f32 values are representable).
    Float(f64),
}

/// The result of a whole-array reduction: a value and NumPy's result dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduced {
    /// The op's name.
    pub op: &'static str,
    /// NumPy's result dtype.
    pub dtype: DType,
    /// The value.
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
            // Shortest digits that read back (as NumPy reads them: one rounding) to the value.
            let target = crate::cast::f16_from_f64(v);
            (0..17)
                .map(|p| format!("{v:.p$e}"))
                .find(|s| s.parse::<f64>().map(crate::cast::f16_from_f64) == Ok(target))
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

/// Pairwise summation (NumPy's leaf: blocks of 128 summed with 8 accumulators; block sums
/// combined as a balanced binary tree). Error grows as O(log n) instead of O(n). Long slices
/// are read as interleaved streams (`interleaved_blocks`), each with its own tree.
pub fn pairwise_sum<T: Copy>(xs: &[T], f: &impl Fn(T) -> f64) -> f64 {
    // Short slices (rows of an axis reduction, cache blocks of var/std) skip the streams'
    // trees, and one leaf needs no tree at all.
    if xs.len() <= LEAF {
        return leaf_sum(xs, f);
    }
    if xs.len() < STREAMS * STREAM_BLOCKS * LEAF {
        return pairwise_sum_one(xs, f);
    }
    let mut trees = [PairwiseTree::default(); STREAMS];
    let tail = interleaved_blocks(xs.len(), LEAF, |stream, block| {
        trees[stream].push(leaf_sum(&xs[block], f))
    });
    let mut total = pairwise_sum_one(&xs[tail..], f);
    for tree in &trees {
        total += tree.total();
    }
    total
}

/// Sequential streams one core reads at once in [`interleaved_blocks`].
pub(crate) const STREAMS: usize = 4;

/// Fewest blocks per stream for which [`interleaved_blocks`] interleaves.
const STREAM_BLOCKS: usize = 16;

/// Visits the blocks of `0..len` as `STREAMS` interleaved streams: the range is cut into
/// `STREAMS` equal parts of whole blocks, and `visit(stream, block)` is called for one block of
/// each part in turn. Returns where the unvisited tail starts (`0` when `len` is too short
/// for interleaving to pay off: below 16 blocks per stream).
///
/// Why: the reductions are bound by memory bandwidth, not arithmetic, and a core with several
/// sequential streams in flight keeps more of the hardware prefetcher busy: measured faster
/// than one stream per core (docs/design.md).
pub(crate) fn interleaved_blocks(
    len: usize,
    block: usize,
    mut visit: impl FnMut(usize, Range<usize>),
) -> usize {
    let part = interleaved_part(len, block);
    for start in (0..part).step_by(block) {
        for stream in 0..STREAMS {
            let first = stream * part + start;
            visit(stream, first..first + block);
        }
    }
    STREAMS * part
}

/// The length of each of the `STREAMS` parts [`interleaved_blocks`] cuts `0..len` into (whole
/// blocks; 0 when `len` is too short to interleave), for loops that visit them in its order
/// themselves (a closure would not inherit a vector kernel's target features).
#[inline(always)]
pub(crate) fn interleaved_part(len: usize, block: usize) -> usize {
    if len < STREAMS * STREAM_BLOCKS * block {
        0
    } else {
        len / STREAMS / block * block
    }
}

/// Leaf blocks of pairwise summation, as NumPy's.
const LEAF: usize = 128;

/// Pairwise summation of one sequential stream.
fn pairwise_sum_one<T: Copy>(xs: &[T], f: &impl Fn(T) -> f64) -> f64 {
    let mut tree = PairwiseTree::default();
    let mut blocks = xs.chunks_exact(LEAF);
    for block in &mut blocks {
        tree.push(leaf_sum(block, f));
    }
    leaf_sum(blocks.remainder(), f) + tree.total()
}

/// Sums up to one leaf block with 8 accumulators.
#[inline(always)]
fn leaf_sum<T: Copy>(block: &[T], f: &impl Fn(T) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = block.chunks_exact(8);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x);
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for &x in chunks.remainder() {
        s += f(x);
    }
    s
}

/// [`pairwise_sum`] of a run, built by a caller that visits the run's leaf blocks in the same
/// order for its own pass (`stats`): one tree per interleaved stream (`interleaved_part` with
/// `LEAF`-sized blocks), one for the whole blocks after them; the total adds the same
/// partials in the same order as `pairwise_sum`, so the two give the same bits while the run
/// is read once.
#[derive(Clone, Copy, Default)]
pub(crate) struct PairwiseStreams {
    streams: StreamTrees,
    after: PairwiseTree,
}

impl PairwiseStreams {
    /// The sums of the next `2^level` blocks of every stream (a round is one block of each),
    /// summed as the tree would (the streams' trees hold a multiple of `2^level` blocks).
    #[inline(always)]
    pub(crate) fn push_rounds(&mut self, sums: [f64; STREAMS], level: usize) {
        self.streams.push(sums, level);
    }

    /// The leaf sum of the next whole block after the streams.
    #[inline(always)]
    pub(crate) fn push_after(&mut self, leaf: f64) {
        self.after.push(leaf);
    }

    /// The run's sum, given the leaf sum of its last `< LEAF` values.
    pub(crate) fn total(&self, remainder: f64) -> f64 {
        let mut total = remainder + self.after.total();
        for j in 0..STREAMS {
            total += self.streams.total(j);
        }
        total
    }
}

/// [`STREAMS`] [`PairwiseTree`]s that take their blocks in lockstep, so they share one
/// counter: a push walks the levels once for all of them (a tree per stream cost a
/// mispredicted loop exit per stream and block).
#[derive(Clone, Copy)]
struct StreamTrees {
    levels: [[f64; STREAMS]; 64],
    rounds: u64,
}

impl Default for StreamTrees {
    fn default() -> Self {
        StreamTrees {
            levels: [[0.0; STREAMS]; 64],
            rounds: 0,
        }
    }
}

impl StreamTrees {
    /// As [`PairwiseTree::push`], a group of `2^level` rounds at once.
    #[inline(always)]
    fn push(&mut self, mut sums: [f64; STREAMS], level: usize) {
        self.rounds += 1 << level;
        let mut level = level;
        while self.rounds >> level & 1 == 0 {
            for (s, &l) in sums.iter_mut().zip(&self.levels[level]) {
                *s += l;
            }
            level += 1;
        }
        self.levels[level] = sums;
    }

    /// Stream `j`'s total, as [`PairwiseTree::total`].
    fn total(&self, j: usize) -> f64 {
        let mut total = 0.0;
        for (level, s) in self.levels.iter().enumerate() {
            if self.rounds >> level & 1 == 1 {
                total += s[j];
            }
        }
        total
    }
}

/// A balanced binary tree of block sums built bottom-up, like a binary counter: level `k`
/// holds the sum of the latest complete group of `2^k` blocks while bit `k` of `blocks` is
/// set. 64 levels cover any count.
#[derive(Clone, Copy)]
struct PairwiseTree {
    levels: [f64; 64],
    blocks: u64,
}

impl Default for PairwiseTree {
    fn default() -> Self {
        PairwiseTree {
            levels: [0.0; 64],
            blocks: 0,
        }
    }
}

impl PairwiseTree {
    #[inline(always)]
    fn push(&mut self, mut sum: f64) {
        self.blocks += 1;
        let mut level = 0;
        while self.blocks >> level & 1 == 0 {
            sum += self.levels[level];
            level += 1;
        }
        self.levels[level] = sum;
    }

    /// The live groups, added from the smallest up.
    fn total(&self) -> f64 {
        let mut total = 0.0;
        for (level, &s) in self.levels.iter().enumerate() {
            if self.blocks >> level & 1 == 1 {
                total += s;
            }
        }
        total
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
    fn long_pairwise_sums_are_accurate() {
        // Long enough for the interleaved streams, with a tail; the exact sum of these
        // values is an integer, so the tolerance is tight.
        let xs: Vec<f64> = (0..1_000_003u64)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.25)
            .collect();
        let exact: u64 = (0..1_000_003u64).map(|i| (i * 7919) % 1000).sum();
        assert_eq!(pairwise_sum(&xs, &|x| x), exact as f64 * 0.25);
        assert_eq!(
            pairwise_sum(&xs[..8191], &|x| x),
            pairwise_sum_one(&xs[..8191], &|x| x)
        );
    }

    proptest::proptest! {
        #[test]
        fn interleaved_blocks_cover_each_block_once(len in 0usize..40_000, block in 1usize..300) {
            let mut seen = vec![0u8; len];
            let mut last = [None::<usize>; STREAMS];
            let tail = interleaved_blocks(len, block, |stream, r| {
                // Each stream reads its own part forward, one whole block at a time.
                assert_eq!(r.len(), block);
                if let Some(prev) = last[stream] {
                    assert_eq!(r.start, prev);
                }
                last[stream] = Some(r.end);
                for i in r {
                    seen[i] += 1;
                }
            });
            proptest::prop_assert!(tail <= len);
            proptest::prop_assert!(tail == 0 || tail > len - STREAMS * block);
            for (i, &n) in seen.iter().enumerate() {
                proptest::prop_assert_eq!(n, u8::from(i < tail), "value {}", i);
            }
        }
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
