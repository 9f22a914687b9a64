//! Vectorizable scans of one run of values: the extreme of a run in independent lanes,
//! compiled for AVX2 too.

use super::*;

/// Which extreme [`run_extreme`] finds: `takes(x, b)` when `x`, coming after `b`, is not
/// worse (or `b` is a NaN, which any value replaces).
pub(super) trait Direction {
    fn takes<T: Num>(x: T, b: T) -> bool;
}
pub(super) struct Lower;
pub(super) struct Higher;
impl Direction for Lower {
    #[inline(always)]
    fn takes<T: Num>(x: T, b: T) -> bool {
        (x <= b) | b.is_nan()
    }
}
impl Direction for Higher {
    #[inline(always)]
    fn takes<T: Num>(x: T, b: T) -> bool {
        (x >= b) | b.is_nan()
    }
}

/// The extreme of a non-empty `run` ignoring NaNs (NaN only when all are; of equal values
/// not necessarily the last), and whether it holds a NaN. Eight independent lanes instead of
/// one compare-and-select chain, which ran at about half the speed of a sum; a long run is read as [`STREAMS`] interleaved streams with
/// lanes of their own, as the sums are, since the scan is bound by memory bandwidth (see
/// [`interleaved_blocks`]). Compiled for AVX2 too, picked at run time.
#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn run_extreme<T: Num, D: Direction>(run: &[T]) -> (T, bool) {
    const BLOCK: usize = 128;
    let mut lanes = [Lanes::new(run[0]); STREAMS];
    let part = interleaved_part(run.len(), BLOCK);
    for start in (0..part).step_by(BLOCK) {
        for (stream, lanes) in lanes.iter_mut().enumerate() {
            let first = stream * part + start;
            lanes.fold::<D>(&run[first..first + BLOCK]);
        }
    }
    let rest = lanes[0].fold::<D>(&run[STREAMS * part..]);
    let mut b = lanes[0].best[0];
    let mut any_nan = false;
    for x in lanes
        .iter()
        .flat_map(|l| l.best)
        .chain(rest.iter().copied())
    {
        if D::takes(x, b) {
            b = x;
        }
    }
    for l in lanes
        .iter()
        .flat_map(|l| l.nan)
        .chain(rest.iter().map(|x| x.is_nan()))
    {
        any_nan |= l;
    }
    (b, any_nan)
}

/// The eight lanes of [`run_extreme`]: lane `l` sees values `l`, `l + 8`, ...
#[derive(Clone, Copy)]
pub(super) struct Lanes<T> {
    best: [T; 8],
    nan: [bool; 8],
}

impl<T: Num> Lanes<T> {
    fn new(start: T) -> Self {
        Lanes {
            best: [start; 8],
            nan: [false; 8],
        }
    }

    /// Folds whole groups of 8 of `xs` into the lanes; returns the values left over. Inlined
    /// into the caller, so it is compiled with the caller's target features.
    #[inline(always)]
    fn fold<'a, D: Direction>(&mut self, xs: &'a [T]) -> &'a [T] {
        let mut groups = xs.chunks_exact(8);
        for c in &mut groups {
            for ((best, nan), &x) in self.best.iter_mut().zip(&mut self.nan).zip(c) {
                *best = if D::takes(x, *best) { x } else { *best };
                *nan |= x.is_nan();
            }
        }
        groups.remainder()
    }
}
