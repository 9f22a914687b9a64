//! Reductions over a tuple of axes, with NumPy's `keepdims`.
//!
//! When the reduced axes are adjacent in memory (ignoring axes of length 1) they are one
//! axis of the fold driver's `(outer, n, inner)` view, and the reduction is one pass over the
//! input. Otherwise the input is first transposed into a C-ordered scratch file with the kept
//! axes first and the reduced ones last, which makes them adjacent. Either way every element
//! of a result is folded by the same code as a single-axis reduction, so integer results,
//! min/max, any/all and count-nonzero equal NumPy's exactly; float sums, means and variances
//! agree with NumPy's to the last bits (NumPy's own summation order over several axes is not
//! pairwise along them all, so the two may differ in the final ulp). The `argmin`/`argmax`
//! family takes one axis, as in NumPy.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::entry::reduce_view;
use super::*;
use crate::copy::transpose;

/// Reduces `array` over `axes` (`None`: all of them; negative counts from the end), keeping
/// the reduced axes as length 1 with `keepdims`. Scratch files, when the axes are not adjacent
/// in memory, go to the context's temporary directory (or the system's).
pub fn reduce_axes(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    axes: Option<&[i64]>,
    keepdims: bool,
    ddof: f64,
) -> Result<AxisReduced> {
    let scratch = ctx
        .tmp_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    reduce_axes_with_scratch(ctx, array, op, axes, keepdims, ddof, &scratch)
}

/// [`reduce_axes`] with its scratch files in `scratch_dir`.
pub fn reduce_axes_with_scratch(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    axes: Option<&[i64]>,
    keepdims: bool,
    ddof: f64,
    scratch_dir: &Path,
) -> Result<AxisReduced> {
    let shape = array.shape().to_vec();
    let ndim = shape.len();
    let is_arg = matches!(
        op,
        ReduceOp::Argmin | ReduceOp::Argmax | ReduceOp::NanArgmin | ReduceOp::NanArgmax
    );
    let reduced = match axes {
        None => None,
        Some(list) => Some(normalize(list, ndim).map_err(|e| e.with_path(array.path()))?),
    };
    let keep_shape = |reduced: &[usize]| -> Vec<usize> {
        (0..ndim)
            .filter_map(|k| match (reduced.contains(&k), keepdims) {
                (false, _) => Some(shape[k]),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect()
    };
    let all: Vec<usize> = (0..ndim).collect();
    let Some(reduced) = reduced else {
        // The whole array (for argmin/argmax: the flat index), as a 0-d or all-ones result.
        let r = reduce_all_with(ctx, array, op, ddof)?;
        let kind = r.dtype.scalar_kind().unwrap_or(ScalarKind::F64);
        let mut data = vec![0u8; kind.size()];
        encode(r.value, kind, &mut data);
        return Ok(AxisReduced {
            op: r.op,
            layout: Layout::new(r.dtype, keep_shape(&all), Order::C)?,
            data,
            warnings: r.warnings,
        });
    };
    if is_arg && reduced.len() != 1 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "{} takes a single axis (as NumPy), got {}",
                op.name(),
                reduced.len()
            ),
        ));
    }
    let out_shape = keep_shape(&reduced);
    if reduced.len() == 1 {
        let r = reduce_axis(ctx, array, op, reduced[0] as i64, ddof)?;
        let layout = Layout::new(r.layout.dtype().clone(), out_shape, r.layout.order())?;
        return Ok(AxisReduced { layout, ..r });
    }
    if let Some(view) = adjacent_view(&shape, array.order(), &reduced) {
        let (kind, data, warnings) = reduce_view(ctx, array, op, view, ddof, IndexMap::Identity)?;
        // Results are in the input's memory order over the kept axes: the input's order.
        let layout = Layout::new(DType::native(kind), out_shape, array.order())?;
        return Ok(AxisReduced {
            op: op.name(),
            layout,
            data,
            warnings,
        });
    }
    // Kept axes first, reduced ones last, in C order: the reduced axes become one run.
    let perm: Vec<isize> = (0..ndim)
        .filter(|k| !reduced.contains(k))
        .chain(reduced.iter().copied())
        .map(|k| k as isize)
        .collect();
    let tmp = ScratchNpy::new(scratch_dir);
    let moved = transpose(
        ctx,
        array,
        Some(&perm[..]),
        &tmp.0,
        &OutputOptions::default().sync(false),
    )?;
    let n: usize = reduced.iter().map(|&k| shape[k]).product();
    let view = AxisView {
        outer: out_shape.iter().product(),
        n,
        inner: 1,
    };
    let (kind, data, warnings) = reduce_view(ctx, &moved, op, view, ddof, IndexMap::Identity)
        .map_err(|e| e.with_path(array.path()))?;
    let layout = Layout::new(DType::native(kind), out_shape, Order::C)?;
    Ok(AxisReduced {
        op: op.name(),
        layout,
        data,
        warnings,
    })
}

/// Sorted axes in `0..ndim`, with NumPy's errors for an axis out of range or repeated.
fn normalize(axes: &[i64], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let k = if a < 0 { a + ndim as i64 } else { a };
        if k < 0 || k >= ndim as i64 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("axis {a} is out of bounds for array of dimension {ndim}"),
            ));
        }
        if out.contains(&(k as usize)) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "duplicate value in 'axis'",
            ));
        }
        out.push(k as usize);
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "no axis given (expected K1[,K2…])",
        ));
    }
    out.sort_unstable();
    Ok(out)
}

/// The `(outer, n, inner)` view when the reduced axes are adjacent in memory once axes of
/// length 1 are set aside; `None` otherwise.
fn adjacent_view(shape: &[usize], order: Order, reduced: &[usize]) -> Option<AxisView> {
    let mut memory: Vec<usize> = (0..shape.len()).filter(|&k| shape[k] != 1).collect();
    if order == Order::F {
        memory.reverse();
    }
    let flags: Vec<bool> = memory.iter().map(|k| reduced.contains(k)).collect();
    let first = flags.iter().position(|&r| r);
    let last = flags.iter().rposition(|&r| r);
    let (outer, n, inner) = match (first, last) {
        // Every reduced axis has length 1: nothing is folded together.
        (None, _) | (_, None) => (shape.iter().product(), 1, 1),
        (Some(f), Some(l)) => {
            if flags[f..=l].iter().any(|&r| !r) {
                return None;
            }
            let size = |ks: &[usize]| ks.iter().map(|&k| shape[k]).product::<usize>();
            (
                size(&memory[..f]),
                size(&memory[f..=l]),
                size(&memory[l + 1..]),
            )
        }
    };
    Some(AxisView { outer, n, inner })
}

/// A temporary `.npy` path, removed when dropped.
struct ScratchNpy(PathBuf);

impl ScratchNpy {
    fn new(dir: &Path) -> ScratchNpy {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            ".outcore-reduce-{}-{}.npy",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ScratchNpy(dir.join(name))
    }
}

impl Drop for ScratchNpy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacent_axes_are_one_view() {
        let v = adjacent_view(&[2, 3, 4, 5], Order::C, &[1, 2]).unwrap();
        assert_eq!((v.outer, v.n, v.inner), (2, 12, 5));
        let v = adjacent_view(&[2, 3, 4, 5], Order::F, &[2, 3]).unwrap();
        assert_eq!((v.outer, v.n, v.inner), (1, 20, 6));
        assert!(adjacent_view(&[2, 3, 4], Order::C, &[0, 2]).is_none());
        // A length-1 axis in between does not separate them.
        let v = adjacent_view(&[2, 1, 4], Order::C, &[0, 2]).unwrap();
        assert_eq!((v.outer, v.n, v.inner), (1, 8, 1));
    }

    #[test]
    fn sums_over_axis_pairs() {
        let ctx = Context::new().unwrap();
        let a = Array::from_vec((0..24i32).collect::<Vec<_>>(), &[2, 3, 4]).unwrap();
        let r = reduce_axes(&ctx, &a, ReduceOp::Sum, Some(&[0, 2]), false, 0.0).unwrap();
        assert_eq!(r.shape(), &[3]);
        assert_eq!(r.to_vec::<i64>().unwrap(), vec![60, 92, 124]);
        let r = reduce_axes(&ctx, &a, ReduceOp::Max, Some(&[-1, 1]), true, 0.0).unwrap();
        assert_eq!(r.shape(), &[2, 1, 1]);
        assert_eq!(r.to_vec::<i32>().unwrap(), vec![11, 23]);
        let e = reduce_axes(&ctx, &a, ReduceOp::Argmin, Some(&[0, 1]), false, 0.0).unwrap_err();
        assert!(e.message().contains("single axis"));
        let e = reduce_axes(&ctx, &a, ReduceOp::Sum, Some(&[1, -2]), false, 0.0).unwrap_err();
        assert!(e.message().contains("duplicate"));
    }
}
