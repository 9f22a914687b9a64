//! Cumulative sums and products (`np.cumsum`, `np.cumprod`, `np.nancumsum`, `np.nancumprod`)
//! of the flattened array or along any axis, out of core, equal to NumPy's results bit for bit.
//!
//! NumPy accumulates sequentially, left to right, in the result dtype (int64/uint64 for
//! integers and bool, the input's float type for floats; float16 in float32, rounded after
//! every step). A float prefix sum cannot be split into independent chunk scans plus offsets
//! without changing the rounding, so the scan is a pipeline: chunks are read, byte-swapped and
//! converted in parallel, and each chunk's sequential scan starts from the carry handed on by
//! the chunk before it (one value per lane: `inner` values for an axis with `inner` elements
//! after it). Integer results are the same either way; the pipeline reads the input once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use outcore_engine::{
    cast_or_copy, swap_in_place, with_scalar_type, Array, ChunkIo, Context, DType, Element, Error,
    ErrorKind, Layout, Order, OutputFile, OutputOptions, Pattern, Result, ScalarKind,
};

use crate::copy::{convert, ConvertOptions};
use crate::num::Num;

/// A cumulative operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOp {
    /// `np.cumsum`.
    CumSum,
    /// `np.cumprod`.
    CumProd,
    /// `np.nancumsum`: NaNs count as zero.
    NanCumSum,
    /// `np.nancumprod`: NaNs count as one.
    NanCumProd,
}

impl ScanOp {
    /// Every scan, in the order of the command line's list.
    pub const ALL: [ScanOp; 4] = [
        ScanOp::CumSum,
        ScanOp::CumProd,
        ScanOp::NanCumSum,
        ScanOp::NanCumProd,
    ];

    /// The op's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            ScanOp::CumSum => "cumsum",
            ScanOp::CumProd => "cumprod",
            ScanOp::NanCumSum => "nancumsum",
            ScanOp::NanCumProd => "nancumprod",
        }
    }

    /// Parses `cumsum`, `cumprod`, `nancumsum` or `nancumprod`.
    pub fn parse(s: &str) -> Result<ScanOp> {
        ScanOp::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "unknown scan {s:?} (expected cumsum, cumprod, nancumsum or nancumprod)"
                    ),
                )
            })
    }

    fn is_product(self) -> bool {
        matches!(self, ScanOp::CumProd | ScanOp::NanCumProd)
    }

    fn skips_nan(self) -> bool {
        matches!(self, ScanOp::NanCumSum | ScanOp::NanCumProd)
    }
}

/// NumPy's result dtype of a scan of `kind`: int64 for bool and signed integers, uint64 for
/// unsigned ones, the float type itself for floats.
pub fn scan_result_kind(kind: ScalarKind) -> ScalarKind {
    if kind.is_float() {
        kind
    } else if kind.is_unsigned_int() {
        ScalarKind::U64
    } else {
        ScalarKind::I64
    }
}

/// A result element type and its arithmetic, as NumPy's accumulate loops do it.
trait Acc: Element + Send + Sync {
    const ZERO: Self;
    const ONE: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn is_nan(self) -> bool;
}

impl Acc for i64 {
    const ZERO: i64 = 0;
    const ONE: i64 = 1;
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn mul(self, o: i64) -> i64 {
        self.wrapping_mul(o)
    }
    fn is_nan(self) -> bool {
        false
    }
}

impl Acc for u64 {
    const ZERO: u64 = 0;
    const ONE: u64 = 1;
    fn add(self, o: u64) -> u64 {
        self.wrapping_add(o)
    }
    fn mul(self, o: u64) -> u64 {
        self.wrapping_mul(o)
    }
    fn is_nan(self) -> bool {
        false
    }
}

macro_rules! float_acc {
    ($t:ty) => {
        impl Acc for $t {
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            fn add(self, o: $t) -> $t {
                self + o
            }
            fn mul(self, o: $t) -> $t {
                self * o
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
float_acc!(f32);
float_acc!(f64);

/// Float16 as NumPy computes it: in float32, rounded back after every operation.
impl Acc for half::f16 {
    const ZERO: half::f16 = half::f16::ZERO;
    const ONE: half::f16 = half::f16::ONE;
    fn add(self, o: half::f16) -> half::f16 {
        half::f16::from_f32(self.to_f32() + o.to_f32())
    }
    fn mul(self, o: half::f16) -> half::f16 {
        half::f16::from_f32(self.to_f32() * o.to_f32())
    }
    fn is_nan(self) -> bool {
        half::f16::is_nan(self)
    }
}

/// The `(outer, n, inner)` view of a C-ordered array for a scan along an axis of length `n`.
#[derive(Debug, Clone, Copy)]
struct ScanView {
    n: usize,
    inner: usize,
}

/// The scan of `array` (along `axis`, or of the flattened array for `None`) written to a new
/// C-order `.npy` file `dest` of NumPy's result dtype (native byte order); returns its layout.
/// An F-ordered input is first copied to C order in the scratch directory (the flattened order
/// and the output are C order).
pub fn scan_to_file(
    ctx: &Context,
    array: &Array,
    op: ScanOp,
    axis: Option<i64>,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Layout> {
    let dest = dest.as_ref();
    let kind = array
        .dtype()
        .require_real(&format!("scan {}", op.name()))
        .map_err(|e| e.with_path(array.path()))?;
    // NumPy scans a 0-d array as a 1-d array of one element, along any axis.
    let one = [1usize];
    let shape = if array.shape().is_empty() {
        &one[..]
    } else {
        array.shape()
    };
    let ndim = shape.len();
    let (out_shape, view) = match axis {
        _ if ndim == 1 && axis.is_none_or(|a| a == 0 || a == -1) => (
            vec![array.len()],
            ScanView {
                n: array.len(),
                inner: 1,
            },
        ),
        None => (
            vec![array.len()],
            ScanView {
                n: array.len(),
                inner: 1,
            },
        ),
        Some(a) => {
            let k = if a < 0 { a + ndim as i64 } else { a };
            if k < 0 || k >= ndim as i64 {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("axis {a} is out of bounds for array of dimension {ndim}"),
                )
                .with_path(array.path()));
            }
            let k = k as usize;
            (
                shape.to_vec(),
                ScanView {
                    n: shape[k],
                    inner: shape[k + 1..].iter().product(),
                },
            )
        }
    };
    let out_kind = scan_result_kind(kind);
    let layout = Layout::new(DType::native(out_kind), out_shape, Order::C)?;
    // The carry: one value per lane.
    let _carry = ctx
        .budget()
        .reserve(
            view.inner.saturating_mul(out_kind.size()),
            "the scan's carry (one value per element of a slice across the axis)",
        )
        .map_err(|e| e.with_path(array.path()))?;
    let mut out = OutputFile::create_npy(dest, &layout, opts)?;
    if !array.is_empty() {
        if array.order() == Order::F && !array.layout().is_c_contiguous() {
            let tmp = ScratchNpy::new(ctx, dest);
            let c_order = convert(
                ctx,
                array,
                &ConvertOptions {
                    order: Order::C,
                    ..ConvertOptions::default()
                },
                &tmp.0,
                &OutputOptions::default().sync(false),
            )?;
            scan_into(ctx, &c_order, op, view, &mut out).map_err(|e| e.with_path(array.path()))?;
        } else {
            scan_into(ctx, array, op, view, &mut out).map_err(|e| e.with_path(array.path()))?;
        }
    }
    out.commit()?;
    Ok(layout)
}

/// A temporary `.npy` path in the scratch directory, removed when dropped.
struct ScratchNpy(PathBuf);

impl ScratchNpy {
    fn new(ctx: &Context, dest: &Path) -> ScratchNpy {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            ".outcore-scan-{}-{}.npy",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ScratchNpy(ctx.scratch_dir_for(dest).join(name))
    }
}

impl Drop for ScratchNpy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Dispatches on the input and result types.
fn scan_into(
    ctx: &Context,
    array: &Array,
    op: ScanOp,
    view: ScanView,
    out: &mut OutputFile,
) -> Result<()> {
    let kind = array
        .dtype()
        .scalar_kind()
        .ok_or_else(|| Error::new(ErrorKind::UnsupportedDType, "scan of a non-numeric dtype"))?;
    match kind {
        ScalarKind::F16 => pipeline::<half::f16, half::f16>(ctx, array, op, view, out, |x| x),
        ScalarKind::F32 => pipeline::<f32, f32>(ctx, array, op, view, out, |x| x),
        ScalarKind::F64 => pipeline::<f64, f64>(ctx, array, op, view, out, |x| x),
        k if k.is_unsigned_int() => with_scalar_type!(k, T => {
            pipeline::<T, u64>(ctx, array, op, view, out, |x: T| x.to_i128() as u64)
        }, complex => unreachable!("complex is refused before")),
        k => with_scalar_type!(k, T => {
            pipeline::<T, i64>(ctx, array, op, view, out, |x: T| x.to_i128() as i64)
        }, complex => unreachable!("complex is refused before")),
    }
}

/// The running state handed from chunk to chunk: whose turn it is, the carry, and whether a
/// chunk failed (then the chunks after it stop waiting).
struct Baton<R> {
    state: Mutex<(usize, Vec<R>, bool)>,
    turn_taken: Condvar,
}

fn pipeline<T: Num, R: Acc>(
    ctx: &Context,
    array: &Array,
    op: ScanOp,
    view: ScanView,
    out: &mut OutputFile,
    conv: impl Fn(T) -> R + Sync,
) -> Result<()> {
    let item = std::mem::size_of::<T>();
    let out_item = std::mem::size_of::<R>();
    let swap = array.dtype().needs_swap();
    let input = array.input();
    let chunks = ctx.plan(out.data_offset(), out_item, 0..array.len());
    let plan: Vec<ChunkIo> = chunks
        .iter()
        .map(|c| ChunkIo {
            bytes: (c.len() * (item + out_item)) as u64,
            // The input is checked and released by the work itself, so that a failure is
            // seen by the chunks waiting for this one.
            reads: Vec::new(),
            write: Some(c.start * out_item..c.end * out_item),
        })
        .collect();
    let baton = Baton {
        state: Mutex::new((0, vec![R::ZERO; view.inner], false)),
        turn_taken: Condvar::new(),
    };
    let identity = if op.is_product() { R::ONE } else { R::ZERO };
    let combine: fn(R, R) -> R = if op.is_product() { R::mul } else { R::add };
    let skip_nan = op.skips_nan();
    let poisoned = || Error::new(ErrorKind::Io, "a scan worker panicked");

    let scan_chunk = |i: usize, out_bytes: &mut [u8]| -> Result<()> {
        let c = chunks[i].clone();
        let bytes = c.start * item..c.end * item;
        input.check_backed(bytes.clone())?;
        let raw = cast_or_copy::<T>(&input.bytes[bytes.clone()]);
        let mut vals: Vec<R> = if swap {
            let mut owned = raw.into_owned();
            swap_in_place(&mut owned);
            owned.into_iter().map(&conv).collect()
        } else {
            raw.iter().map(|&x| conv(x)).collect()
        };
        if skip_nan {
            for v in vals.iter_mut().filter(|v| v.is_nan()) {
                *v = identity;
            }
        }
        let mut state = baton.state.lock().map_err(|_| poisoned())?;
        while state.0 != i && !state.2 {
            ctx.cancel_token().check()?;
            state = baton
                .turn_taken
                .wait_timeout(state, Duration::from_millis(50))
                .map_err(|_| poisoned())?
                .0;
        }
        if state.2 {
            return Err(Error::cancelled());
        }
        let carry = &mut state.1;
        let (n, inner) = (view.n, view.inner);
        let mut lane = c.start % inner;
        let mut j = (c.start / inner) % n;
        for v in vals.iter_mut() {
            if j != 0 {
                *v = combine(carry[lane], *v);
            }
            carry[lane] = *v;
            lane += 1;
            if lane == inner {
                lane = 0;
                j += 1;
                if j == n {
                    j = 0;
                }
            }
        }
        state.0 = i + 1;
        drop(state);
        baton.turn_taken.notify_all();
        out_bytes.copy_from_slice(bytemuck::cast_slice(&vals));
        input.release(bytes);
        Ok(())
    };
    ctx.run(
        "scan",
        Pattern::Sequential,
        &[input],
        Some(out.output()),
        &plan,
        |i, out_bytes| {
            let r = scan_chunk(i, out_bytes);
            if r.is_err() {
                if let Ok(mut state) = baton.state.lock() {
                    state.2 = true;
                }
                baton.turn_taken.notify_all();
            }
            r
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_kinds_follow_numpy() {
        assert_eq!(scan_result_kind(ScalarKind::Bool), ScalarKind::I64);
        assert_eq!(scan_result_kind(ScalarKind::I8), ScalarKind::I64);
        assert_eq!(scan_result_kind(ScalarKind::U16), ScalarKind::U64);
        assert_eq!(scan_result_kind(ScalarKind::F16), ScalarKind::F16);
        assert_eq!(scan_result_kind(ScalarKind::F32), ScalarKind::F32);
    }

    #[test]
    fn cumsum_along_axes_and_flattened() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::builder()
            .chunk_bytes(16)
            .threads(3)
            .build()
            .unwrap();
        let a = Array::from_vec((1..=12i32).collect::<Vec<_>>(), &[3, 4]).unwrap();
        let opts = OutputOptions::default();
        for (axis, want) in [
            (None, vec![1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 66, 78]),
            (Some(0), vec![1, 2, 3, 4, 6, 8, 10, 12, 15, 18, 21, 24]),
            (Some(1), vec![1, 3, 6, 10, 5, 11, 18, 26, 9, 19, 30, 42]),
        ] {
            let dest = dir.path().join(format!("{axis:?}.npy"));
            scan_to_file(&ctx, &a, ScanOp::CumSum, axis, &dest, &opts).unwrap();
            let got = Array::open(&dest).unwrap().to_vec::<i64>().unwrap();
            assert_eq!(got, want, "axis {axis:?}");
        }
    }
}
