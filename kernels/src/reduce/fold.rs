//! The parallel fold driver behind every reduction, built-in or user-supplied.
//!
//! The array is read in memory order, in page-aligned chunks, as `(outer, n, inner)`: `n` is
//! the length of the reduced axis and `inner` the number of elements between two of its
//! steps (1 when the axis is the fastest-varying one in memory; the whole array is the case
//! `outer = inner = 1`). Result `r = o * inner + i` is in the input's memory order.
//!
//! - `inner == 1`: every result folds contiguous runs (`Fold::fold_run`, pairwise sums).
//!   Each chunk returns the accumulators of the results it touched; they are combined in
//!   chunk order, so results do not depend on the thread count.
//! - `inner > 1`: a chunk is cut into pieces whose results form one interval; each piece is
//!   folded into a local window of accumulators (never larger than the piece), which is then
//!   combined into the shared accumulators under striped locks.
//!
//! Accumulators for every result live in memory at once, reserved from the budget.

use std::any::Any;
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

/// Folds `array` (elements of type `T`, either byte order) along the view, returning one
/// accumulator per result in the input's memory order.
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
            "the reduction's accumulators",
        )
        .map_err(|e| e.with_path(array.path()))?;
    if view.n == 0 || array.is_empty() {
        return Ok(vec![fold.identity(); results]);
    }
    let swap = array.dtype().needs_swap();
    let item = std::mem::size_of::<T>();

    let (n, inner) = (view.n, view.inner);
    if inner == 1 {
        let partials = chunks_dyn(ctx, array, item, &|items, bytes| {
            let vals = load_values::<T>(bytes, swap);
            let mut out = Vec::new();
            let first = items.start / n;
            let mut p = items.start;
            while p < items.end {
                let o = p / n;
                let end = items.end.min((o + 1) * n);
                let mut acc = fold.identity();
                fold.fold_run(
                    &mut acc,
                    &vals[p - items.start..end - items.start],
                    (p - o * n) as u64,
                );
                out.push(acc);
                p = end;
            }
            Ok(Box::new((first, out)))
        })?;
        let partials = partials
            .into_iter()
            .map(|b| b.downcast::<(usize, Vec<F::Acc>)>().map(|b| *b))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| {
                Error::new(
                    ErrorKind::Io,
                    "internal: reduction partial of the wrong type",
                )
            })?;
        let mut accs: Vec<F::Acc> = Vec::with_capacity(results);
        for (first, part) in partials {
            for (k, acc) in part.into_iter().enumerate() {
                let o = first + k;
                if o < accs.len() {
                    fold.combine(&mut accs[o], &acc);
                } else {
                    accs.push(acc);
                }
            }
        }
        accs.resize(results, fold.identity());
        return Ok(accs);
    }
    const STRIPE: usize = 1 << 14;
    let stripes: Vec<Mutex<Vec<F::Acc>>> = (0..results.div_ceil(STRIPE))
        .map(|s| Mutex::new(vec![fold.identity(); STRIPE.min(results - s * STRIPE)]))
        .collect();
    let merge = |r0: usize, local: &[F::Acc]| -> Result<()> {
        let mut r = r0;
        let mut rest = local;
        while !rest.is_empty() {
            let (s, off) = (r / STRIPE, r % STRIPE);
            let take = (STRIPE - off).min(rest.len());
            let mut guard = stripes[s]
                .lock()
                .map_err(|_| Error::new(ErrorKind::Io, "a reduction worker panicked"))?;
            for (a, b) in guard[off..off + take].iter_mut().zip(&rest[..take]) {
                fold.combine(a, b);
            }
            r += take;
            rest = &rest[take..];
        }
        Ok(())
    };
    chunks_dyn(ctx, array, item, &|items, bytes| {
        let vals = load_values::<T>(bytes, swap);
        for piece in interval_pieces(items.clone(), n, inner) {
            let (o, q0) = (piece.start / (n * inner), piece.start % (n * inner));
            let q1 = q0 + piece.len();
            let (lo, hi) = if q1 - q0 >= inner {
                (0, inner)
            } else {
                (q0 % inner, (q1 - 1) % inner + 1)
            };
            let mut local = vec![fold.identity(); hi - lo];
            let mut q = q0;
            while q < q1 {
                let (j, i) = (q / inner, q % inner);
                let end = q1.min((j + 1) * inner);
                let row = &vals
                    [piece.start - items.start + (q - q0)..piece.start - items.start + (end - q0)];
                for (a, &x) in local[i - lo..i - lo + row.len()].iter_mut().zip(row) {
                    fold.fold_one(a, x, j as u64);
                }
                q = end;
            }
            merge(o * inner + lo, &local)?;
        }
        Ok(Box::new(()))
    })?;
    let mut accs = Vec::with_capacity(results);
    for s in stripes {
        accs.extend(
            s.into_inner()
                .map_err(|_| Error::new(ErrorKind::Io, "a reduction worker panicked"))?,
        );
    }
    Ok(accs)
}

/// A type-erased chunk task: one instantiation of the scheduler serves every fold.
type ChunkTask<'a> = dyn Fn(Range<usize>, &[u8]) -> Result<Box<dyn Any + Send>> + Sync + 'a;

fn chunks_dyn(
    ctx: &Context,
    array: &Array,
    item: usize,
    task: &ChunkTask<'_>,
) -> Result<Vec<Box<dyn Any + Send>>> {
    ctx.for_each_chunk("reduce", &array.input(), item, 0..array.len(), task)
        .map_err(|e| e.with_path(array.path()))
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

/// Splits a range of memory positions into pieces within one slab (`n * inner` positions)
/// whose results (`position % inner`) form one interval.
fn interval_pieces(range: Range<usize>, n: usize, inner: usize) -> Vec<Range<usize>> {
    let slab = n * inner;
    let mut pieces = Vec::new();
    let mut p = range.start;
    while p < range.end {
        let slab_end = (p / slab + 1) * slab;
        let end = range.end.min(slab_end);
        let (q0, q1) = (p % slab, p % slab + (end - p));
        if q1 - q0 >= inner || q0 % inner == 0 || (q0 / inner) == ((q1 - 1) / inner) {
            pieces.push(p..end);
        } else {
            // Shorter than a row but crossing a row boundary: two intervals.
            let cut = p + (inner - q0 % inner);
            pieces.push(p..cut);
            pieces.push(cut..end);
        }
        p = end;
    }
    pieces
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

    #[test]
    fn pieces_have_interval_results() {
        for (n, inner) in [(3, 5), (1, 7), (4, 2), (10, 3)] {
            for s in 0..n * inner * 2 {
                for e in s + 1..=n * inner * 2 {
                    let pieces = interval_pieces(s..e, n, inner);
                    let mut pos = s;
                    for p in &pieces {
                        assert_eq!(p.start, pos);
                        pos = p.end;
                        assert_eq!(p.start / (n * inner), (p.end - 1) / (n * inner));
                        let mut rs: Vec<usize> = p.clone().map(|q| q % inner).collect();
                        rs.sort_unstable();
                        rs.dedup();
                        assert_eq!(
                            rs.last().unwrap() - rs[0] + 1,
                            rs.len(),
                            "{p:?} n {n} inner {inner}"
                        );
                    }
                    assert_eq!(pos, e);
                }
            }
        }
    }
}
