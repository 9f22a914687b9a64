//! Gather, select and join out of core: [`take`] (`np.take`), [`mask`] (`a[m]` for a boolean
//! `m`) and [`concat()`] (`np.concatenate` / `np.stack`). They move whole items, so every dtype
//! works (complex, structured and string dtypes included); only `concat` converts, when its
//! inputs' dtypes differ ([`result_type`]). Outputs are C-order `.npy` files that appear only
//! when complete. See `README.md` beside this file for the design.
//!
//! ```no_run
//! use outcore_engine::{Array, Context, OutputOptions};
//! use outcore_kernels::gather;
//!
//! let ctx = Context::builder().memory(256 << 20).build()?;
//! let opts = OutputOptions::default();
//! let (a, order) = (Array::open("col.npy")?, Array::open("order.npy")?);
//! gather::take(&ctx, &a, &order, None, "sorted_col.npy", &opts)?; // np.take(a, order)
//! let keep = Array::open("keep.npy")?;
//! gather::mask(&ctx, &a, &keep, "kept.npy", &opts)?; // a[keep]
//! gather::concat(&ctx, &[&a, &a], 0, false, "twice.npy", &opts)?; // np.concatenate((a, a))
//! # Ok::<(), outcore_engine::Error>(())
//! ```

mod concat;
mod mask;
mod take;
mod text;

use std::path::Path;

use outcore_engine::{
    err, Array, ByteOrder, Context, DType, Input, OutputOptions, Result, ScalarKind, ScratchFile,
};

use crate::copy::{c_order_scratch, View};

pub use concat::concat;
pub use mask::mask;
pub use take::take;

/// NumPy's `np.result_type` of the dtypes of arrays being joined, in native byte order (as
/// NumPy gives it, even for identical big-endian inputs): bool, integer, float and complex
/// kinds promote as NumPy does; strings with strings or numbers give a string (unicode when
/// any is unicode, else bytes) as wide as the widest of them, a number counting as the width
/// NumPy gives any value of its dtype (`i8`: 21 characters, floats 32, complex 64). Any other
/// mix (void or structured dtypes with anything but themselves) is refused.
pub fn result_type(dtypes: &[&DType]) -> Result<DType> {
    let Some((first, rest)) = dtypes.split_first() else {
        return Err(err!(InvalidArgument, "no dtypes to promote"));
    };
    if rest.iter().all(|d| d == first) {
        return Ok(match first {
            DType::Scalar { .. } | DType::Unicode { .. } => {
                first.with_byte_order(ByteOrder::NATIVE)
            }
            _ => (*first).clone(),
        });
    }
    // With a string among them, NumPy casts each dtype to the string class and takes the
    // widest (so the numbers are not promoted among themselves first).
    if dtypes.iter().any(|d| text::is_text(d))
        && dtypes
            .iter()
            .all(|d| text::is_text(d) || d.scalar_kind().is_some())
    {
        let chars = dtypes.iter().map(|d| text_chars(d)).max().unwrap_or(0);
        return Ok(
            if dtypes.iter().any(|d| matches!(d, DType::Unicode { .. })) {
                DType::Unicode {
                    chars,
                    order: ByteOrder::NATIVE,
                }
            } else {
                DType::Bytes(chars)
            },
        );
    }
    let refuse = |a: &DType, b: &DType| {
        err!(
            UnsupportedDType,
            "cannot join dtypes {} ({}) and {} ({}): they have no common dtype",
            a.str_code(),
            a.name(),
            b.str_code(),
            b.name()
        )
    };
    let mut acc = (*first).clone();
    for d in rest {
        acc = match (&acc, *d) {
            (DType::Scalar { kind: a, .. }, DType::Scalar { kind: b, .. }) => {
                DType::native(promote_kind(*a, *b))
            }
            (a, b) if a == b => a.clone(),
            (a, b) => return Err(refuse(a, b)),
        };
    }
    Ok(acc)
}

/// Characters of a string dtype, or of a number written as text.
fn text_chars(dt: &DType) -> usize {
    match dt {
        DType::Bytes(n) => *n,
        DType::Unicode { chars, .. } => *chars,
        DType::Scalar { kind, .. } => text::text_width(*kind),
        _ => 0,
    }
}

/// `np.result_type` of two scalar kinds, complex included.
fn promote_kind(a: ScalarKind, b: ScalarKind) -> ScalarKind {
    use ScalarKind::*;
    let real_part = |k: ScalarKind| match k {
        C64 => Some(F32),
        C128 => Some(F64),
        _ => None,
    };
    match (real_part(a), real_part(b)) {
        (None, None) => crate::expr::promote(a, b),
        (ra, rb) => {
            let real = crate::expr::promote(ra.unwrap_or(a), rb.unwrap_or(b));
            if real.size() <= 4 {
                C64
            } else {
                C128
            }
        }
    }
}

/// NumPy's axis normalisation: `-ndim <= axis < ndim`, negatives from the end.
fn normalize_axis(axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        return Err(err!(
            InvalidArgument,
            "axis {axis} is out of bounds for array of dimension {ndim}"
        ));
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

/// An operand's items in C order: the array's own mapping when it already is C-contiguous in
/// the wanted dtype, otherwise a scratch copy (made once by the copy engine).
enum Contiguous<'a> {
    Mapped(&'a Array),
    Scratch(ScratchFile),
}

impl Contiguous<'_> {
    fn input(&self) -> Input<'_> {
        match self {
            Contiguous::Mapped(a) => a.input(),
            Contiguous::Scratch(s) => s.input(),
        }
    }
}

/// `array` as C-ordered items of `dtype`, copied into a scratch file in `dir` only when its
/// memory order or dtype differs.
fn c_contiguous<'a>(
    ctx: &Context,
    array: &'a Array,
    dtype: &DType,
    dir: &Path,
) -> Result<Contiguous<'a>> {
    let same = array.layout().is_c_contiguous() && array.dtype() == dtype;
    if same || array.is_empty() || dtype.itemsize() == 0 {
        return Ok(Contiguous::Mapped(array));
    }
    c_order_scratch(ctx, &View::of(array), dtype, dir).map(Contiguous::Scratch)
}

/// `opts` with the job's input files added (the destination must be none of them).
fn with_inputs(opts: &OutputOptions, inputs: &[&Array]) -> OutputOptions {
    let mut o = opts.clone();
    o.inputs
        .extend(inputs.iter().map(|a| a.path().to_path_buf()));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarKind::*;

    fn native(k: ScalarKind) -> DType {
        DType::native(k)
    }

    /// Promotion matches `np.result_type` (values taken from NumPy 2).
    #[test]
    fn promotes_as_numpy() {
        let cases = [
            (Bool, I8, I8),
            (U8, I8, I16),
            (U64, I64, F64),
            (I16, F16, F32),
            (I8, F16, F16),
            (C64, F64, C128),
            (C64, I16, C64),
            (C64, I32, C128),
            (C64, F16, C64),
            (C128, C64, C128),
            (U32, F32, F64),
        ];
        for (a, b, want) in cases {
            let got = result_type(&[&native(a), &native(b)]).unwrap();
            assert_eq!(got, native(want), "{a:?} + {b:?}");
        }
        let big = DType::scalar(I32, ByteOrder::Big);
        assert_eq!(result_type(&[&big, &big]).unwrap(), native(I32));
        assert_eq!(result_type(&[&big, &native(I32)]).unwrap(), native(I32));
        assert_eq!(
            result_type(&[&DType::Bytes(3), &DType::Bytes(5)]).unwrap(),
            DType::Bytes(5)
        );
        assert_eq!(
            result_type(&[
                &DType::Bytes(7),
                &DType::Unicode {
                    chars: 2,
                    order: ByteOrder::Big
                }
            ])
            .unwrap(),
            DType::Unicode {
                chars: 7,
                order: ByteOrder::NATIVE
            }
        );
        // Strings with numbers (NumPy 2): each as its string width, the widest wins, in any
        // order (`np.result_type('u8', 'i8', 'S1')` is S21, not the S32 of float64).
        assert_eq!(
            result_type(&[&DType::Bytes(3), &native(I32)]).unwrap(),
            DType::Bytes(11)
        );
        assert_eq!(
            result_type(&[&native(U64), &native(I64), &DType::Bytes(1)]).unwrap(),
            DType::Bytes(21)
        );
        assert_eq!(
            result_type(&[&DType::Bytes(40), &native(C64), &native(Bool)]).unwrap(),
            DType::Bytes(64)
        );
        assert_eq!(
            result_type(&[
                &native(Bool),
                &DType::Unicode {
                    chars: 1,
                    order: ByteOrder::Big
                }
            ])
            .unwrap(),
            DType::Unicode {
                chars: 5,
                order: ByteOrder::NATIVE
            }
        );
        assert!(result_type(&[&DType::Void(3), &DType::Void(4)]).is_err());
        assert!(result_type(&[&DType::Void(3), &DType::Bytes(3)]).is_err());
        assert!(result_type(&[&DType::Void(8), &native(F64)]).is_err());
    }

    #[test]
    fn normalizes_axes() {
        assert_eq!(normalize_axis(-1, 3).unwrap(), 2);
        assert_eq!(normalize_axis(0, 1).unwrap(), 0);
        assert!(normalize_axis(3, 3).is_err());
        assert!(normalize_axis(-4, 3).is_err());
        assert!(normalize_axis(0, 0).is_err());
    }
}
