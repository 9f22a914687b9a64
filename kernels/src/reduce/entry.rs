//! The entry points: whole-array and axis reductions (to values, or to a `.npy` file),
//! and user folds over a whole array.

use super::folds::*;
use super::stats::StatsVar;
use super::*;

/// Folds with `fold` and finishes every result into native bytes of `out_kind`.
pub(super) fn run<T: Num, F: Finish<T>>(
    ctx: &Context,
    array: &Array,
    view: AxisView,
    fold: &F,
    out_kind: ScalarKind,
) -> Result<(Vec<u8>, Vec<String>)> {
    let accs = fold_array::<T, F>(ctx, array, view, fold)?;
    let size = out_kind.size();
    let mut bytes = vec![0u8; accs.len() * size];
    let mut warn = Warnings::default();
    for (acc, out) in accs.iter().zip(bytes.chunks_mut(size)) {
        let v = fold
            .finish(acc, &mut warn)
            .map_err(|e| e.with_path(array.path()))?;
        encode(v, out_kind, out);
    }
    Ok((bytes, warn.0))
}

/// Runs `op` over the view; returns the result kind, the results (native bytes, input memory
/// order) and NumPy's warnings.
pub(super) fn reduce_view(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    view: AxisView,
    ddof: f64,
    map: IndexMap,
) -> Result<(ScalarKind, Vec<u8>, Vec<String>)> {
    use ReduceOp::*;
    let kind = array
        .dtype()
        .require_real(&format!("reduce {}", op.name()))
        .map_err(|e| e.with_path(array.path()))?;
    // As NumPy: an empty reduced axis is an error even when the result has no elements.
    if view.n == 0 && op.needs_elements() {
        return Err(
            Error::new(ErrorKind::InvalidArgument, op.empty_error()).with_path(array.path())
        );
    }
    let out = result_kind(op, kind);
    // NumPy's nan-functions hand integer and bool arrays to the plain ones (nanvar with
    // ddof >= n is then x/0 = inf, not NaN).
    let skip = op.skips_nan() && kind.is_float();
    let (bytes, warnings) = with_scalar_type!(kind, T => {
        match op {
            Sum | NanSum if kind.is_float() => run::<T, _>(ctx, array, view, &SumFloat { skip_nan: skip }, out),
            Sum | NanSum => run::<T, _>(ctx, array, view, &SumInt, out),
            Prod if kind.is_float() => run::<T, _>(ctx, array, view, &ProdFloat, out),
            Prod => run::<T, _>(ctx, array, view, &ProdInt, out),
            Min | NanMin => run::<T, _>(ctx, array, view, &MinMax { min: true, skip_nan: skip }, out),
            Max | NanMax => run::<T, _>(ctx, array, view, &MinMax { min: false, skip_nan: skip }, out),
            Argmin | NanArgmin => run::<T, _>(ctx, array, view, &Arg { min: true, skip_nan: skip, map }, out),
            Argmax | NanArgmax => run::<T, _>(ctx, array, view, &Arg { min: false, skip_nan: skip, map }, out),
            Mean | NanMean => run::<T, _>(ctx, array, view, &MeanFold { skip_nan: skip }, out),
            // A whole array's var/std is folded as `stats` folds it (the same bits as its std).
            Var | NanVar if !skip && view.outer == 1 && view.inner == 1 => run::<T, _>(ctx, array, view, &StatsVar { ddof, std: false }, out),
            Std | NanStd if !skip && view.outer == 1 && view.inner == 1 => run::<T, _>(ctx, array, view, &StatsVar { ddof, std: true }, out),
            Var | NanVar => run::<T, _>(ctx, array, view, &VarFold { skip_nan: skip, ddof, std: false }, out),
            Std | NanStd => run::<T, _>(ctx, array, view, &VarFold { skip_nan: skip, ddof, std: true }, out),
            CountNonzero => run::<T, _>(ctx, array, view, &CountFold, out),
            Any => run::<T, _>(ctx, array, view, &AnyAll { any: true }, out),
            All => run::<T, _>(ctx, array, view, &AnyAll { any: false }, out),
        }
    }, complex => Err(Error::new(ErrorKind::UnsupportedDType, "complex")))?;
    Ok((out, bytes, warnings))
}

/// Reduces the whole array with `op` (`ddof` 0).
pub fn reduce_all(ctx: &Context, array: &Array, op: ReduceOp) -> Result<Reduced> {
    reduce_all_with(ctx, array, op, 0.0)
}

/// Reduces the whole array with `op`; `ddof` is the delta degrees of freedom of var/std.
pub fn reduce_all_with(ctx: &Context, array: &Array, op: ReduceOp, ddof: f64) -> Result<Reduced> {
    let map = if array.order() == Order::F && !array.layout().is_c_contiguous() {
        IndexMap::fortran(array.shape())
    } else {
        IndexMap::Identity
    };
    let (kind, bytes, warnings) =
        reduce_view(ctx, array, op, AxisView::whole(array.len()), ddof, map)?;
    Ok(Reduced {
        op: op.name(),
        dtype: DType::native(kind),
        value: decode(&bytes, kind),
        warnings,
    })
}

/// The result of a reduction along one axis.
#[derive(Debug, Clone)]
pub struct AxisReduced {
    /// The op's name.
    pub op: &'static str,
    /// Result dtype (native), shape (the input's without the axis) and memory order (the
    /// input's, as NumPy's reductions keep it).
    pub layout: Layout,
    /// The results as native bytes in `layout`'s memory order.
    pub data: Vec<u8>,
    /// NumPy's RuntimeWarnings for these results.
    pub warnings: Vec<String>,
}

impl AxisReduced {
    /// Memory index (in the result's order) of every element, in C (logical) order.
    fn memory_indices_c_order(&self) -> impl Iterator<Item = usize> + '_ {
        let strides = self.layout.strides();
        let shape = self.layout.shape();
        (0..self.layout.len()).map(move |c| {
            let mut rest = c;
            let mut m = 0;
            for k in (0..shape.len()).rev() {
                m += (rest % shape[k]) * strides[k];
                rest /= shape[k];
            }
            m
        })
    }

    /// The results in C (logical) order.
    pub fn values_c_order(&self) -> Vec<Value> {
        let kind = self.layout.dtype().scalar_kind().unwrap_or(ScalarKind::F64);
        let size = kind.size();
        self.memory_indices_c_order()
            .map(|m| decode(&self.data[m * size..(m + 1) * size], kind))
            .collect()
    }

    /// The C-order layout and bytes of the result (borrowed when it is C order already).
    fn c_order(&self) -> Result<(Layout, std::borrow::Cow<'_, [u8]>)> {
        let layout = Layout::new(
            self.layout.dtype().clone(),
            self.layout.shape().to_vec(),
            Order::C,
        )?;
        if self.layout.order() == Order::C || self.layout.shape().len() < 2 {
            return Ok((layout, std::borrow::Cow::Borrowed(&self.data)));
        }
        let size = self.layout.itemsize();
        let mut data = Vec::with_capacity(self.data.len());
        for m in self.memory_indices_c_order() {
            data.extend_from_slice(&self.data[m * size..(m + 1) * size]);
        }
        Ok((layout, std::borrow::Cow::Owned(data)))
    }

    /// The same result laid out in C order (outputs are C order, spec §5).
    pub fn into_c_order(self) -> Result<AxisReduced> {
        let (layout, data) = self.c_order()?;
        let data = data.into_owned();
        Ok(AxisReduced {
            layout,
            data,
            ..self
        })
    }

    /// Writes the result as a new `.npy` file (atomically).
    /// The file is C order whatever the result's memory order (spec §5).
    pub fn write_npy(&self, dest: impl AsRef<std::path::Path>, opts: &OutputOptions) -> Result<()> {
        let (layout, data) = self.c_order()?;
        let mut out = OutputFile::create_npy(dest, &layout, opts)?;
        out.data_mut().copy_from_slice(&data);
        out.commit()
    }
}

/// Reduces `array` along `axis` (negative counts from the end, as in NumPy).
pub fn reduce_axis(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    axis: i64,
    ddof: f64,
) -> Result<AxisReduced> {
    let ndim = array.shape().len();
    let k = if axis < 0 { axis + ndim as i64 } else { axis };
    if k < 0 || k >= ndim as i64 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("axis {axis} is out of bounds for array of dimension {ndim}"),
        )
        .with_path(array.path()));
    }
    let k = k as usize;
    let view = AxisView::along(array.shape(), array.order(), k)?;
    let (kind, data, warnings) = reduce_view(ctx, array, op, view, ddof, IndexMap::Identity)?;
    let mut shape = array.shape().to_vec();
    shape.remove(k);
    let layout = Layout::new(DType::native(kind), shape, array.order())?;
    Ok(AxisReduced {
        op: op.name(),
        layout,
        data,
        warnings,
    })
}

/// [`reduce_axis`] written to a new C-order `.npy` file `dest` (returned in C order). The
/// output is created (and its space allocated) before any work, so a full disk or an existing
/// destination is an error up front rather than after the whole reduction.
pub fn reduce_axis_to_file(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    axis: i64,
    ddof: f64,
    dest: impl AsRef<std::path::Path>,
    opts: &OutputOptions,
) -> Result<AxisReduced> {
    let ndim = array.shape().len() as i64;
    let k = if axis < 0 { axis + ndim } else { axis };
    let predicted = match array.dtype().scalar_kind() {
        Some(kind) if (0..ndim).contains(&k) => {
            let mut shape = array.shape().to_vec();
            shape.remove(k as usize);
            Some(Layout::new(
                DType::native(result_kind(op, kind)),
                shape,
                Order::C,
            )?)
        }
        _ => None,
    };
    let Some(layout) = predicted else {
        // Refused by reduce_axis with its own message (bad axis, unsupported dtype).
        let r = reduce_axis(ctx, array, op, axis, ddof)?.into_c_order()?;
        r.write_npy(dest, opts)?;
        return Ok(r);
    };
    let mut out = OutputFile::create_npy(dest, &layout, opts)?;
    let r = reduce_axis(ctx, array, op, axis, ddof)?.into_c_order()?;
    if r.layout.dtype() != layout.dtype() || r.layout.shape() != layout.shape() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "internal error: {} result predicted as {:?} {:?}, got {:?} {:?}",
                r.op,
                layout.dtype(),
                layout.shape(),
                r.layout.dtype(),
                r.layout.shape()
            ),
        ));
    }
    out.data_mut().copy_from_slice(&r.data);
    out.commit()?;
    Ok(r)
}

/// Folds the whole array (elements of type `T`, either byte order) with a user fold:
/// `identity()`, `fold(acc, x) -> acc`, `combine(a, b) -> a`, run in parallel over chunks.
/// The element type comes from the fold's argument (`x: f64`); a dtype other than `T`'s is an
/// `UnsupportedDType` error. ([`crate::map::fold`] folds several broadcast inputs.)
///
/// ```
/// use outcore_engine::{Array, Context};
/// use outcore_kernels::reduce::fold_all;
/// let ctx = Context::builder().threads(2).build()?;
/// let a = Array::from_vec(vec![-1.5f64, 2.0, 0.0, 3.5], &[4])?;
/// let positives = fold_all(&ctx, &a, || 0u64, |n, x: f64| n + (x > 0.0) as u64, |a, b| a + b)?;
/// assert_eq!(positives, 2);
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn fold_all<T, A, I, F, C>(
    ctx: &Context,
    array: &Array,
    identity: I,
    fold: F,
    combine: C,
) -> Result<A>
where
    T: outcore_engine::Element,
    A: Clone + Send + Sync + 'static,
    I: Fn() -> A + Sync,
    F: Fn(A, T) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    let f = FnFold {
        identity,
        fold,
        combine,
    };
    let mut accs = fold_array::<T, _>(ctx, array, AxisView::whole(array.len()), &f)?;
    Ok(accs.pop().unwrap_or_else(|| (f.identity)()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Few distinct values for test runs: many ties, zeros of both signs, NaNs, infinities.
    const POOL: [f64; 8] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
    ];

    /// The one-chain scan `run_extreme` replaced: the later of equal values wins, NaNs skipped.
    fn sequential<T: Num>(run: &[T], min: bool) -> (Option<T>, bool) {
        let rule = MinMax {
            min,
            skip_nan: true,
        };
        let mut best: Option<T> = None;
        for &x in run {
            if !x.is_nan() && best.is_none_or(|b| rule.replaces(x, b)) {
                best = Some(x);
            }
        }
        (best, run.iter().any(|x| x.is_nan()))
    }

    fn folded<T: Num>(run: &[T], min: bool) -> (Option<T>, bool) {
        let rule = MinMax {
            min,
            skip_nan: true,
        };
        let mut acc = Fold::<T>::identity(&rule);
        rule.fold_run(&mut acc, run, 0);
        (acc.has.then_some(acc.best), acc.nan)
    }

    /// Checks the block-wise `fold_run` of every argmin/argmax form against folding `run`
    /// element by element.
    fn assert_arg_fold_is_elementwise(run: &[f64]) {
        for (min, skip_nan) in [(true, false), (false, false), (true, true), (false, true)] {
            let arg = Arg {
                min,
                skip_nan,
                map: IndexMap::Identity,
            };
            let mut want = Fold::<f64>::identity(&arg);
            for (k, &x) in run.iter().enumerate() {
                arg.fold_one(&mut want, x, 10 + k as u64);
            }
            let mut got = Fold::<f64>::identity(&arg);
            arg.fold_run(&mut got, run, 10);
            let mut warn = Warnings::default();
            let (want, got) = (arg.finish(&want, &mut warn), arg.finish(&got, &mut warn));
            let shown = if run.len() <= 100 {
                format!("{run:?}")
            } else {
                format!("{} values", run.len())
            };
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{shown} min={min} skip_nan={skip_nan}"
            );
        }
    }

    #[test]
    fn blockwise_arg_extremes_equal_the_element_by_element_fold() {
        let mut next = crate::testing::xorshift();
        for len in [1, 7, 100, 2047, 2048, 2049, 5000] {
            for trial in 0..40 {
                let distinct = 2 + trial % 7;
                let nan_free = trial % 3 == 0;
                let run: Vec<f64> = (0..len)
                    .map(|_| POOL[(next() % distinct as u64) as usize])
                    .map(|x: f64| if nan_free && x.is_nan() { 2.0 } else { x })
                    .collect();
                assert_arg_fold_is_elementwise(&run);
            }
        }
    }

    #[test]
    fn long_arg_extremes_equal_the_element_by_element_fold() {
        // Runs of many blocks with ties across them (few distinct values) and a few extremes,
        // infinities and NaNs at random positions, so that the answer lies in any block.
        let mut next = crate::testing::xorshift();
        let len = 67 * Arg::BLOCK + 5;
        for trial in 0..27u64 {
            let mut run: Vec<f64> = (0..len).map(|_| (next() % 4) as f64).collect();
            let specials = [9.0, -9.0, f64::INFINITY, f64::NEG_INFINITY];
            for k in 0..trial % 3 {
                run[next() as usize % len] = specials[(k + trial) as usize % 4];
            }
            for _ in 0..(trial / 3) % 3 {
                run[next() as usize % len] = f64::NAN;
            }
            if trial / 9 == 1 {
                // The last, short block holds extremes and a NaN too.
                run[len - 3] = 9.0;
                run[len - 2] = -9.0;
                run[len - 1] = f64::NAN;
            }
            assert_arg_fold_is_elementwise(&run);
        }
        // Rising and falling runs with plateaus across block boundaries, where
        // nearly every block beats the ones before it.
        let rising: Vec<f64> = (0..len).map(|i| (i / 3000) as f64).collect();
        let falling: Vec<f64> = rising.iter().rev().copied().collect();
        assert_arg_fold_is_elementwise(&rising);
        assert_arg_fold_is_elementwise(&falling);
    }

    #[test]
    fn lane_extremes_equal_the_sequential_scan_bit_for_bit() {
        let mut next = crate::testing::xorshift();
        for len in (1..40).chain([63, 64, 65, 200, 1001, 8191, 8192, 8200, 20_000]) {
            for trial in 0..60 {
                // Few distinct values: many ties, zeros of both signs, NaN runs.
                let run: Vec<f64> = (0..len)
                    .map(|_| POOL[(next() % (2 + trial % 7) as u64) as usize])
                    .collect();
                for min in [true, false] {
                    let (want, want_nan) = sequential(&run, min);
                    let (got, got_nan) = folded(&run, min);
                    assert_eq!(got_nan, want_nan, "{run:?}");
                    assert_eq!(
                        got.map(f64::to_bits),
                        want.map(f64::to_bits),
                        "{run:?} min={min}"
                    );
                    let run32: Vec<f32> = run.iter().map(|&x| x as f32).collect();
                    let (want, _) = sequential(&run32, min);
                    let (got, _) = folded(&run32, min);
                    assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "{run32:?}");
                }
                let ints: Vec<i16> = (0..len).map(|_| (next() % 7) as i16 - 3).collect();
                for min in [true, false] {
                    assert_eq!(folded(&ints, min), sequential(&ints, min));
                }
            }
        }
    }
}
