//! The parallel fold driver behind every reduction, built-in or user-supplied.
//!
//! The array is read in memory order, in page-aligned chunks, as `(outer, n, inner)`: `n` is
//! the length of the reduced axis and `inner` the number of elements between two of its
//! steps (1 when the axis is the fastest-varying one in memory; the whole array is the case
//! `outer = inner = 1`). Result `r = o * inner + i` is in the input's memory order.
//!
//! Results do not depend on the chunks, the budget or the thread count (spec §9): every
//! result's values are cut into row blocks fixed by the view alone, each folded on its own,
//! and the blocks are combined in a fixed balanced tree, in file order (`Tree`; design notes
//! in docs/design.md, "A fixed reduction tree").
//!
//! Accumulators for every result live in memory at once, reserved from the budget.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Mutex;

use outcore_engine::{
    cast_or_copy, swap_in_place, Array, Context, Element, Error, ErrorKind, Order, Result,
};

/// A fold: an identity, a way to fold elements in, and an associative way to combine two
/// partial results. Run in parallel by [`fold_array`].
pub trait Fold<T: Copy>: Sync {
    /// The accumulator.
    type Acc: Clone + Send + Sync + 'static;
    /// An empty accumulator.
    fn identity(&self) -> Self::Acc;
    /// Folds one element; `index` is its position along the reduction.
    fn fold_one(&self, acc: &mut Self::Acc, x: T, index: u64);
    /// Folds consecutive elements starting at position `first` (override for speed or
    /// accuracy, e.g. pairwise summation).
    fn fold_run(&self, acc: &mut Self::Acc, run: &[T], first: u64) {
        for (k, &x) in run.iter().enumerate() {
            self.fold_one(acc, x, first + k as u64);
        }
    }
    /// Combines `b` into `a`; `b` may cover positions before or after `a`'s.
    fn combine(&self, a: &mut Self::Acc, b: &Self::Acc);
}

/// A [`Fold`] made of three closures: `identity()`, `fold(acc, x) -> acc`, `combine(a, b) -> a`.
pub struct FnFold<I, F, C> {
    /// Makes an empty accumulator.
    pub identity: I,
    /// Folds one element into an accumulator.
    pub fold: F,
    /// Joins two accumulators.
    pub combine: C,
}

impl<T: Copy, A, I, F, C> Fold<T> for FnFold<I, F, C>
where
    A: Clone + Send + Sync + 'static,
    I: Fn() -> A + Sync,
    F: Fn(A, T) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    type Acc = A;
    fn identity(&self) -> A {
        (self.identity)()
    }
    fn fold_one(&self, acc: &mut A, x: T, _index: u64) {
        let a = std::mem::replace(acc, (self.identity)());
        *acc = (self.fold)(a, x);
    }
    fn combine(&self, a: &mut A, b: &A) {
        let x = std::mem::replace(a, (self.identity)());
        *a = (self.combine)(x, b.clone());
    }
}

/// The `(outer, n, inner)` memory-order view of a reduction of `shape` along `axis`.
#[derive(Debug, Clone, Copy)]
pub struct AxisView {
    /// Results before the reduced axis in memory (slowest varying).
    pub outer: usize,
    /// The reduced axis' length.
    pub n: usize,
    /// Elements between two steps of the reduced axis (1 when it varies fastest).
    pub inner: usize,
}

impl AxisView {
    /// The whole array as one reduction of `len` elements.
    pub fn whole(len: usize) -> AxisView {
        AxisView {
            outer: 1,
            n: len,
            inner: 1,
        }
    }

    /// The reduction of `shape` in `order` along `axis` (an error when `axis` is out of range).
    pub fn along(shape: &[usize], order: Order, axis: usize) -> Result<AxisView> {
        if axis >= shape.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "axis {axis} is out of range for an array of {} dimensions",
                    shape.len()
                ),
            ));
        }
        let before: usize = shape[..axis].iter().product();
        let after: usize = shape[axis + 1..].iter().product();
        let (outer, inner) = match order {
            Order::C => (before, after),
            Order::F => (after, before),
        };
        Ok(AxisView {
            outer,
            n: shape[axis],
            inner,
        })
    }

    /// The number of results.
    pub fn results(&self) -> usize {
        self.outer * self.inner
    }
}

/// Elements per block of a run, the leaves of the fixed reduction tree (a constant: the
/// order of operations may depend on the data's shape, dtype and memory order only). Large
/// enough that a block's pairwise sum reads long interleaved streams (at 8192 elements, 16 KiB
/// streams, `reduce sum` of 2 GiB took 20% longer), small enough for a cache (512 KiB of
/// float64) and to keep chunks near the planner's sizes.
pub const BLOCK: usize = 1 << 16;

/// Folds `array` (elements of type `T`, either byte order) along the view, returning one
/// accumulator per result in the input's memory order.
///
/// Every result is folded in the same order whatever the chunks, the budget and the thread
/// count (module docs): its values are cut into blocks of rows fixed by the view alone, each
/// block is folded on its own, and the blocks are combined in a fixed balanced tree.
pub fn fold_array<T: Element, F: Fold<T>>(
    ctx: &Context,
    array: &Array,
    view: AxisView,
    fold: &F,
) -> Result<Vec<F::Acc>> {
    if array.dtype().scalar_kind() != Some(T::KIND) {
        return Err(Error::new(
            ErrorKind::UnsupportedDType,
            format!(
                "fold over {} elements but the dtype is {}",
                T::KIND.name(),
                array.dtype().str_code()
            ),
        )
        .with_path(array.path()));
    }
    let results = view.results();
    let _reserved = ctx
        .budget()
        .reserve(
            results.saturating_mul(std::mem::size_of::<F::Acc>()),
            "the reduction's accumulator memory",
        )
        .map_err(|e| e.with_path(array.path()))?;
    if view.n == 0 || array.is_empty() {
        return Ok(vec![fold.identity(); results]);
    }
    let swap = array.dtype().needs_swap();
    let item = std::mem::size_of::<T>();
    let tree = Tree::new(view);
    let input = array.input();
    let planned = ctx.plan(input.data_offset(), item, 0..array.len());
    let chunks = tree.cut(&planned, array.len());
    let merger = Mutex::new(Merger::new(&tree, fold, results));
    ctx.for_each_of("reduce", &input, item, &chunks, |i, c, bytes| {
        let vals = load_values::<T>(bytes, swap);
        let out = tree.fold_chunk(fold, c, &vals);
        merger
            .lock()
            .map_err(|_| Error::new(ErrorKind::Io, "a reduction worker panicked"))?
            .deliver(&tree, fold, i, out);
        Ok(())
    })
    .map_err(|e| e.with_path(array.path()))?;
    let mut merger = merger
        .into_inner()
        .map_err(|_| Error::new(ErrorKind::Io, "a reduction worker panicked"))?;
    debug_assert!(merger.pending.is_empty());
    merger.finish_slab(&tree, fold);
    Ok(merger.results)
}

/// The fixed shape of every result's reduction tree. The view is `outer` slabs of `n` rows of
/// `inner` elements; result `o * inner + i` folds element `i` of every row of slab `o`. Rows
/// are grouped into row blocks of `rows` rows (`rows * inner >= BLOCK` elements; one row when
/// rows are long): a row block is folded on its own (`fold_run` when `inner == 1`, the
/// pairwise sums; else row by row with `fold_one`), and the row blocks of a slab are combined
/// as a balanced binary tree (aligned groups of `2^k` blocks, the live groups last, from the
/// earliest). Chunks are cut at row-block boundaries (anywhere when `rows == 1`), so each row
/// block is folded by one chunk; a chunk hands over the tree's complete aligned groups it
/// holds, and the groups are merged in chunk order.
struct Tree {
    view: AxisView,
    /// Rows per row block.
    rows: usize,
    /// Elements per slab.
    slab: usize,
    /// Row blocks per slab.
    blocks: usize,
}

/// What a chunk hands over: its pieces in order, their accumulators side by side.
struct ChunkOut<A> {
    pieces: Vec<Piece>,
    accs: Vec<A>,
}

/// A window of accumulators of one slab's results: an aligned group of `2^level` row blocks
/// (all `inner` results), or part of one row (`partial`, only when `rows == 1`) for results
/// `first..first + len`.
struct Piece {
    slab: usize,
    level: u32,
    partial: bool,
    first: usize,
    len: usize,
}

impl Tree {
    fn new(view: AxisView) -> Tree {
        let rows = BLOCK.div_ceil(view.inner);
        Tree {
            view,
            rows,
            slab: view.n * view.inner,
            blocks: view.n.div_ceil(rows),
        }
    }

    /// Elements per row block.
    fn block_len(&self) -> usize {
        self.rows * self.view.inner
    }

    /// The planned chunks moved back to row-block boundaries (row blocks are at most
    /// `BLOCK + inner` elements, so chunks grow by less than that), empty ones dropped.
    fn cut(&self, planned: &[Range<usize>], len: usize) -> Vec<Range<usize>> {
        let mut cuts = vec![0];
        for c in planned.iter().skip(1) {
            let p = c.start;
            let at = if self.rows == 1 {
                p
            } else {
                let o = p / self.slab;
                o * self.slab + (p - o * self.slab) / self.block_len() * self.block_len()
            };
            if at > *cuts.last().unwrap_or(&0) && at < len {
                cuts.push(at);
            }
        }
        cuts.push(len);
        cuts.windows(2).map(|w| w[0]..w[1]).collect()
    }

    /// Folds a chunk (memory positions `range`, values `vals`) into its pieces.
    fn fold_chunk<T: Copy, F: Fold<T>>(
        &self,
        fold: &F,
        range: Range<usize>,
        vals: &[T],
    ) -> ChunkOut<F::Acc> {
        let inner = self.view.inner;
        let e = self.block_len();
        let mut out = ChunkOut {
            pieces: Vec::new(),
            accs: Vec::new(),
        };
        let mut p = range.start;
        while p < range.end {
            let o = p / self.slab;
            let base = o * self.slab;
            let (q0, q1) = (p - base, range.end.min(base + self.slab) - base);
            // The chunk's values from slab position `q0` on.
            let from = &vals[p - range.start..];
            let mut q = q0;
            if q % e != 0 {
                // Only when rows == 1: the end of a row begun in the chunk before.
                let end = q1.min((q / inner + 1) * inner);
                self.partial_row(fold, &mut out, o, q, &from[..end - q0]);
                q = end;
            }
            let a = q.div_ceil(e);
            let b = if q1 == self.slab { self.blocks } else { q1 / e };
            let mut m = a;
            while m < b {
                // The largest aligned group starting at `m` within `m..b`.
                let fit = usize::BITS - 1 - (b - m).leading_zeros();
                let level = if m == 0 {
                    fit
                } else {
                    fit.min(m.trailing_zeros())
                };
                self.group(fold, (from, q0), m, level, &mut out.accs);
                out.pieces.push(Piece {
                    slab: o,
                    level,
                    partial: false,
                    first: 0,
                    len: inner,
                });
                m += 1 << level;
            }
            q = q.max((b * e).min(self.slab));
            if q < q1 {
                // Only when rows == 1: the start of a row that the next chunk ends.
                debug_assert_eq!(self.rows, 1);
                self.partial_row(fold, &mut out, o, q, &from[q - q0..q1 - q0]);
            }
            p = base + q1;
        }
        out
    }

    /// Part of one row (rows == 1): one value for each of its results.
    fn partial_row<T: Copy, F: Fold<T>>(
        &self,
        fold: &F,
        out: &mut ChunkOut<F::Acc>,
        slab: usize,
        q: usize,
        row: &[T],
    ) {
        let j = (q / self.view.inner) as u64;
        for &x in row {
            let mut acc = fold.identity();
            fold.fold_one(&mut acc, x, j);
            out.accs.push(acc);
        }
        out.pieces.push(Piece {
            slab,
            level: 0,
            partial: true,
            first: q % self.view.inner,
            len: row.len(),
        });
    }

    /// Appends the window of the aligned group of `2^level` row blocks from block `m` of a
    /// slab (`vals.0[q - vals.1]` is its value at slab position `q`).
    fn group<T: Copy, F: Fold<T>>(
        &self,
        fold: &F,
        slab_vals: (&[T], usize),
        m: usize,
        level: u32,
        accs: &mut Vec<F::Acc>,
    ) {
        if level == 0 {
            return self.leaf(fold, slab_vals, m, accs);
        }
        let half = 1 << (level - 1);
        let start = accs.len();
        self.group(fold, slab_vals, m, level - 1, accs);
        if m + half < self.blocks {
            let mid = accs.len();
            self.group(fold, slab_vals, m + half, level - 1, accs);
            let (left, right) = accs.split_at_mut(mid);
            for (a, b) in left[start..].iter_mut().zip(right.iter()) {
                fold.combine(a, b);
            }
            accs.truncate(mid);
        }
    }

    /// Appends the window of row block `m`.
    fn leaf<T: Copy, F: Fold<T>>(
        &self,
        fold: &F,
        (from, origin): (&[T], usize),
        m: usize,
        accs: &mut Vec<F::Acc>,
    ) {
        let inner = self.view.inner;
        let rows = m * self.rows..self.view.n.min((m + 1) * self.rows);
        let vals = &from[rows.start * inner - origin..rows.end * inner - origin];
        if inner == 1 {
            let mut acc = fold.identity();
            fold.fold_run(&mut acc, vals, rows.start as u64);
            accs.push(acc);
            return;
        }
        let start = accs.len();
        accs.resize(start + inner, fold.identity());
        let window = &mut accs[start..];
        for (row, j) in vals.chunks_exact(inner).zip(rows) {
            for (a, &x) in window.iter_mut().zip(row) {
                fold.fold_one(a, x, j as u64);
            }
        }
    }
}

/// A chunk's elements in native byte order (borrowed when aligned and native).
fn load_values<T: Element>(bytes: &[u8], swap: bool) -> Cow<'_, [T]> {
    let v = cast_or_copy::<T>(bytes);
    if swap {
        let mut owned = v.into_owned();
        swap_in_place(&mut owned);
        Cow::Owned(owned)
    } else {
        v
    }
}

/// Takes the chunks' pieces in chunk order (whichever worker finishes a chunk merges every
/// chunk that is then next in line) and builds each slab's tree like a binary counter: level
/// `k` holds the latest complete aligned group of `2^k` row blocks while bit `k` of `count` is
/// set.
struct Merger<A> {
    next: usize,
    pending: std::collections::BTreeMap<usize, ChunkOut<A>>,
    slab: Option<usize>,
    levels: Vec<Option<Vec<A>>>,
    count: u64,
    /// The row being assembled from partial pieces (rows == 1).
    row: Vec<A>,
    results: Vec<A>,
}

impl<A: Clone> Merger<A> {
    fn new<T: Copy, F: Fold<T, Acc = A>>(_: &Tree, fold: &F, results: usize) -> Merger<A> {
        Merger {
            next: 0,
            pending: Default::default(),
            slab: None,
            levels: vec![None; 64],
            count: 0,
            row: Vec::new(),
            results: vec![fold.identity(); results],
        }
    }

    fn deliver<T: Copy, F: Fold<T, Acc = A>>(
        &mut self,
        tree: &Tree,
        fold: &F,
        chunk: usize,
        out: ChunkOut<A>,
    ) {
        self.pending.insert(chunk, out);
        while let Some(out) = self.pending.remove(&self.next) {
            self.next += 1;
            let mut at = 0;
            for piece in out.pieces {
                self.take(tree, fold, &piece, &out.accs[at..at + piece.len]);
                at += piece.len;
            }
        }
    }

    fn take<T: Copy, F: Fold<T, Acc = A>>(
        &mut self,
        tree: &Tree,
        fold: &F,
        piece: &Piece,
        window: &[A],
    ) {
        if self.slab != Some(piece.slab) {
            self.finish_slab(tree, fold);
            if !piece.partial && 1usize << piece.level >= tree.blocks {
                // A whole slab in one group (short rows of an axis reduction): its results.
                let inner = tree.view.inner;
                self.results[piece.slab * inner..(piece.slab + 1) * inner].clone_from_slice(window);
                return;
            }
            self.slab = Some(piece.slab);
        }
        if piece.partial {
            debug_assert_eq!(piece.first, self.row.len());
            self.row.extend_from_slice(window);
            if self.row.len() == tree.view.inner {
                let row = std::mem::take(&mut self.row);
                self.push(fold, row, 0);
            }
        } else {
            self.push(fold, window.to_vec(), piece.level);
        }
    }

    fn push<T: Copy, F: Fold<T, Acc = A>>(&mut self, fold: &F, mut group: Vec<A>, level: u32) {
        self.count += 1 << level;
        let mut level = level as usize;
        while self.count >> level & 1 == 0 {
            let mut earlier = self.levels[level].take().unwrap_or_default();
            for (a, b) in earlier.iter_mut().zip(&group) {
                fold.combine(a, b);
            }
            group = earlier;
            level += 1;
        }
        self.levels[level] = Some(group);
    }

    /// Combines the current slab's live groups, the earliest (largest) first, into its results.
    fn finish_slab<T: Copy, F: Fold<T, Acc = A>>(&mut self, tree: &Tree, fold: &F) {
        let Some(o) = self.slab.take() else {
            return;
        };
        debug_assert!(self.row.is_empty());
        let mut total: Option<Vec<A>> = None;
        for level in (0..64).rev() {
            if let Some(group) = self.levels[level].take() {
                match &mut total {
                    None => total = Some(group),
                    Some(t) => {
                        for (a, b) in t.iter_mut().zip(&group) {
                            fold.combine(a, b);
                        }
                    }
                }
            }
        }
        self.count = 0;
        if let Some(t) = total {
            let inner = tree.view.inner;
            self.results[o * inner..(o + 1) * inner].clone_from_slice(&t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An axis past the last one is an error, not an index panic.
    #[test]
    fn along_an_out_of_range_axis_is_an_error() {
        let err = AxisView::along(&[3, 4], Order::C, 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.message()
                .contains("axis 2 is out of range for an array of 2 dimensions"),
            "{err}"
        );
        let v = AxisView::along(&[3, 4, 5], Order::F, 1).unwrap();
        assert_eq!((v.outer, v.n, v.inner), (5, 4, 3));
    }
}
