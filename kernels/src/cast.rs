//! Element casts with NumPy's `astype` semantics, between every numeric dtype and byte order.
//!
//! - integer → integer wraps (two's complement truncation), as NumPy;
//! - float → integer truncates toward zero; out-of-range values and NaN *saturate* (NaN → 0).
//!   NumPy's result there is platform-defined (it is undefined behaviour in C), so outcore
//!   picks the well-defined saturating cast and documents it;
//! - anything → bool is `!= 0` (NaN → true); bool → number is 0 or 1;
//! - complex → real keeps the real part (NumPy warns `ComplexWarning`); real → complex has a
//!   zero imaginary part.

use outcore_engine::{
    with_scalar_type, Bool, Complex128, Complex64, DType, Element, Error, ErrorKind, Result,
};

use half::f16;

/// What every source element can be read as.
pub trait CastSource: Element {
    /// Whether the source is a float (casts to integers truncate then).
    const IS_FLOAT: bool;
    /// The value as an int64 (NumPy's `astype`).
    fn as_i64(self) -> i64;
    /// The value as a uint64 (NumPy's `astype`).
    fn as_u64(self) -> u64;
    /// The value as a float32.
    fn as_f32(self) -> f32;
    /// The value as a float64 (the real part of a complex).
    fn as_f64(self) -> f64;
    /// The imaginary part as a float64 (0 for real types).
    fn imag_f64(self) -> f64 {
        0.0
    }
    /// Whether the value is non-zero (NaN is).
    fn nonzero(self) -> bool;
    /// The nearest float16 (NumPy's rounding and NaN bits, see `f16_from_f64`).
    #[inline(always)]
    fn to_f16(self) -> f16 {
        f16_from_f64(self.as_f64())
    }
}

// NumPy converts to and from float16 in software (`npy_floatbits_to_halfbits` and friends):
// a NaN keeps its sign and the top bits of its payload and is *not* quieted (a payload that
// would vanish becomes 1). The `half` crate sets the quiet bit instead, and a float32 → float64
// `as` cast quiets too; these keep NumPy's bits.

/// float32 → float16 as NumPy.
#[inline(always)]
fn f16_from_f32(x: f32) -> f16 {
    if x.is_nan() {
        let b = x.to_bits();
        let payload = (((b & 0x007f_ffff) >> 13) as u16).max(1);
        return f16::from_bits((b >> 16) as u16 & 0x8000 | 0x7c00 | payload);
    }
    f16::from_f32(x)
}

/// float64 → float16 as NumPy (`npy_doublebits_to_halfbits`): rounded once, to nearest with
/// ties to even. (`half::f16::from_f64` goes through float32 where the CPU has F16C, and its
/// fallback ignores the low 32 mantissa bits: both round some values twice, e.g.
/// 1 + 2^-11 + 2^-40 to 1.0 instead of 1.000977.)
#[inline(always)]
pub(crate) fn f16_from_f64(x: f64) -> f16 {
    let b = x.to_bits();
    let sign = (b >> 48) as u16 & 0x8000;
    let exp = ((b >> 52) & 0x7ff) as i32;
    let man = b & 0x000f_ffff_ffff_ffff;
    if exp == 0x7ff {
        let payload = if man == 0 {
            0
        } else {
            ((man >> 42) as u16).max(1)
        };
        return f16::from_bits(sign | 0x7c00 | payload);
    }
    let e = exp - 1023;
    if e >= 16 {
        return f16::from_bits(sign | 0x7c00);
    }
    if e < -25 {
        return f16::from_bits(sign);
    }
    // The value is sig * 2^(e - 52); keep 11 significant bits for a normal float16 (its
    // exponent field is e + 15), fewer for a subnormal (units of 2^-24).
    let sig = man | 1 << 52;
    let (shift, high) = if e >= -14 {
        (42, ((e + 15) as u16) << 10)
    } else {
        ((28 - e) as u32, 0)
    };
    let q = sig >> shift;
    let rem = sig & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let bits = high | (q as u16 & 0x3ff);
    // Round to nearest, ties to even; a carry moves into the exponent (up to infinity).
    let up = rem > half || (rem == half && q & 1 == 1);
    f16::from_bits(sign | (bits + up as u16))
}

/// float16 → float32 as NumPy.
#[inline(always)]
fn f16_to_f32(h: f16) -> f32 {
    if h.is_nan() {
        let b = h.to_bits() as u32;
        return f32::from_bits((b & 0x8000) << 16 | 0x7f80_0000 | (b & 0x03ff) << 13);
    }
    h.to_f32()
}

/// float16 → float64 as NumPy.
#[inline(always)]
fn f16_to_f64(h: f16) -> f64 {
    if h.is_nan() {
        let b = h.to_bits() as u64;
        return f64::from_bits((b & 0x8000) << 48 | 0x7ff0_0000_0000_0000 | (b & 0x03ff) << 42);
    }
    h.to_f64()
}

/// What every destination element can be built from.
pub trait CastDest: Element {
    /// The element NumPy's `astype` makes of `s`.
    fn cast_from<S: CastSource>(s: S) -> Self;
}

macro_rules! int_source {
    ($($t:ty),*) => {$(
        impl CastSource for $t {
            const IS_FLOAT: bool = false;
            #[inline(always)] fn as_i64(self) -> i64 { self as i64 }
            #[inline(always)] fn as_u64(self) -> u64 { self as u64 }
            #[inline(always)] fn as_f32(self) -> f32 { self as f32 }
            #[inline(always)] fn as_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn nonzero(self) -> bool { self != 0 }
        }
        impl CastDest for $t {
            #[inline(always)]
            fn cast_from<S: CastSource>(s: S) -> Self {
                if S::IS_FLOAT {
                    // `as` from float truncates toward zero and saturates; NaN becomes 0.
                    let v = s.as_f64();
                    if <$t>::MIN == 0 { v as u64 as $t } else { v as i64 as $t }
                } else if <$t>::MIN == 0 {
                    s.as_u64() as $t
                } else {
                    s.as_i64() as $t
                }
            }
        }
    )*};
}
int_source!(i8, i16, i32, i64, u8, u16, u32, u64);

impl CastSource for Bool {
    const IS_FLOAT: bool = false;
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self.get() as i64
    }
    #[inline(always)]
    fn as_u64(self) -> u64 {
        self.get() as u64
    }
    #[inline(always)]
    fn as_f32(self) -> f32 {
        self.get() as u8 as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self.get() as u8 as f64
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.get()
    }
}

impl CastDest for Bool {
    #[inline(always)]
    fn cast_from<S: CastSource>(s: S) -> Self {
        Bool(s.nonzero() as u8)
    }
}

macro_rules! float_source {
    ($t:ty, $to32:expr, $to64:expr, $to16:expr) => {
        impl CastSource for $t {
            const IS_FLOAT: bool = true;
            #[inline(always)]
            fn as_i64(self) -> i64 {
                $to64(self) as i64
            }
            #[inline(always)]
            fn as_u64(self) -> u64 {
                $to64(self) as u64
            }
            #[inline(always)]
            fn as_f32(self) -> f32 {
                $to32(self)
            }
            #[inline(always)]
            fn as_f64(self) -> f64 {
                $to64(self)
            }
            #[inline(always)]
            fn nonzero(self) -> bool {
                $to64(self) != 0.0
            }
            #[inline(always)]
            fn to_f16(self) -> f16 {
                $to16(self)
            }
        }
    };
}
float_source!(f16, f16_to_f32, f16_to_f64, |x: f16| x);
float_source!(f32, |x: f32| x, |x: f32| x as f64, f16_from_f32);
float_source!(f64, |x: f64| x as f32, |x: f64| x, f16_from_f64);

impl CastDest for f16 {
    #[inline(always)]
    fn cast_from<S: CastSource>(s: S) -> Self {
        s.to_f16()
    }
}
impl CastDest for f32 {
    #[inline(always)]
    fn cast_from<S: CastSource>(s: S) -> Self {
        s.as_f32()
    }
}
impl CastDest for f64 {
    #[inline(always)]
    fn cast_from<S: CastSource>(s: S) -> Self {
        s.as_f64()
    }
}

macro_rules! complex_cast {
    ($c:ty, $f:ty, $as_f:ident) => {
        impl CastSource for $c {
            const IS_FLOAT: bool = true;
            #[inline(always)]
            fn as_i64(self) -> i64 {
                self.re as i64
            }
            #[inline(always)]
            fn as_u64(self) -> u64 {
                self.re as u64
            }
            #[inline(always)]
            fn as_f32(self) -> f32 {
                self.re as f32
            }
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self.re as f64
            }
            #[inline(always)]
            fn imag_f64(self) -> f64 {
                self.im as f64
            }
            #[inline(always)]
            fn nonzero(self) -> bool {
                self.re != 0.0 || self.im != 0.0
            }
            #[inline(always)]
            fn to_f16(self) -> f16 {
                self.re.to_f16()
            }
        }
        impl CastDest for $c {
            #[inline(always)]
            fn cast_from<S: CastSource>(s: S) -> Self {
                Self {
                    re: s.$as_f(),
                    im: s.imag_f64() as $f,
                }
            }
        }
    };
}
complex_cast!(Complex64, f32, as_f32);
complex_cast!(Complex128, f64, as_f64);

/// Casts `src` into `dst` element by element (both native byte order).
#[inline]
pub fn cast_slice<S: CastSource, D: CastDest>(src: &[S], dst: &mut [D]) {
    debug_assert_eq!(src.len(), dst.len());
    for (d, s) in dst.iter_mut().zip(src) {
        *d = D::cast_from(*s);
    }
}

fn numeric_kind(dt: &DType, role: &str) -> Result<outcore_engine::ScalarKind> {
    dt.scalar_kind().ok_or_else(|| {
        Error::new(
            ErrorKind::UnsupportedDType,
            format!(
                "cannot cast {role} dtype {} ({}): only bool, integer, float and complex dtypes convert",
                dt.str_code(),
                dt.name()
            ),
        )
    })
}

/// Checks that a cast between two dtypes is possible (both numeric).
pub fn check_cast(from: &DType, to: &DType) -> Result<()> {
    numeric_kind(from, "source")?;
    numeric_kind(to, "target")?;
    Ok(())
}

/// Casts a chunk of raw bytes of dtype `from` into raw bytes of dtype `to`, handling byte order
/// on both sides. `src.len() / from.itemsize()` must equal `dst.len() / to.itemsize()`.
pub fn cast_bytes(src: &[u8], from: &DType, dst: &mut [u8], to: &DType) -> Result<()> {
    let (fk, tk) = (numeric_kind(from, "source")?, numeric_kind(to, "target")?);
    let n = src.len() / fk.size();
    if dst.len() != n * tk.size() || src.len() != n * fk.size() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "cast: source and destination lengths do not match",
        ));
    }
    let (swap_in, swap_out) = (from.needs_swap(), to.needs_swap());
    if fk == tk && swap_in == swap_out {
        dst.copy_from_slice(src);
        return Ok(());
    }
    with_scalar_type!(fk, S => {
        with_scalar_type!(tk, D => {
            cast_typed::<S, D>(src, swap_in, dst, swap_out);
        })
    });
    Ok(())
}

/// Typed inner loop: cast through aligned blocks so unaligned or swapped data costs one copy.
fn cast_typed<S: CastSource, D: CastDest>(
    src: &[u8],
    swap_in: bool,
    dst: &mut [u8],
    swap_out: bool,
) {
    const BLOCK: usize = 4096;
    let mut sbuf: Vec<S> = Vec::new();
    let mut dbuf: Vec<D> = Vec::new();
    let (ss, ds) = (std::mem::size_of::<S>(), std::mem::size_of::<D>());
    let n = src.len() / ss;
    let mut i = 0;
    while i < n {
        let m = BLOCK.min(n - i);
        let s_bytes = &src[i * ss..(i + m) * ss];
        let d_bytes = &mut dst[i * ds..(i + m) * ds];
        let s_typed: &[S] = match (swap_in, bytemuck::try_cast_slice::<u8, S>(s_bytes)) {
            (false, Ok(s)) => s,
            _ => {
                sbuf.clear();
                sbuf.extend_from_slice(&bytemuck::pod_collect_to_vec::<u8, S>(s_bytes));
                if swap_in {
                    outcore_engine::swap_in_place(&mut sbuf);
                }
                &sbuf
            }
        };
        match (swap_out, bytemuck::try_cast_slice_mut::<u8, D>(d_bytes)) {
            (false, Ok(d)) => cast_slice(s_typed, d),
            _ => {
                dbuf.clear();
                dbuf.resize(m, D::default());
                cast_slice(s_typed, &mut dbuf);
                if swap_out {
                    outcore_engine::swap_in_place(&mut dbuf);
                }
                dst[i * ds..(i + m) * ds].copy_from_slice(bytemuck::cast_slice(&dbuf));
            }
        }
        i += m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DType {
        DType::parse(s).unwrap()
    }

    fn cast<S: Element, D: Element>(src: &[S], from: &str, to: &str) -> Vec<D> {
        let mut out = vec![D::default(); src.len()];
        cast_bytes(
            bytemuck::cast_slice(src),
            &dt(from),
            bytemuck::cast_slice_mut(&mut out),
            &dt(to),
        )
        .unwrap();
        out
    }

    #[test]
    fn numpy_astype_examples() {
        // np.array([300, -1, 127], 'i4').astype('i1') -> [44, -1, 127]
        assert_eq!(
            cast::<i32, i8>(&[300, -1, 127], "i4", "i1"),
            vec![44, -1, 127]
        );
        // np.array([-1], 'i8').astype('u2') -> [65535]
        assert_eq!(cast::<i64, u16>(&[-1], "i8", "u2"), vec![65535]);
        // float -> int truncates toward zero.
        assert_eq!(
            cast::<f64, i32>(&[2.7, -2.7, 0.5], "f8", "i4"),
            vec![2, -2, 0]
        );
        // anything -> bool is != 0.
        assert_eq!(
            cast::<f32, Bool>(&[0.0, -0.0, 0.1, f32::NAN], "f4", "?"),
            vec![Bool(0), Bool(0), Bool(1), Bool(1)]
        );
        assert_eq!(
            cast::<Bool, f64>(&[Bool(1), Bool(0)], "?", "f8"),
            vec![1.0, 0.0]
        );
        assert_eq!(
            cast::<f64, f16>(&[1.5, 65520.0], "f8", "f2")[0],
            f16::from_f32(1.5)
        );
        assert!(cast::<f64, f16>(&[65520.0], "f8", "f2")[0].is_infinite());
        let c = cast::<f64, Complex64>(&[2.5], "f8", "c8");
        assert_eq!((c[0].re, c[0].im), (2.5, 0.0));
        let r = cast::<Complex128, f32>(&[Complex128 { re: 1.5, im: 9.0 }], "c16", "f4");
        assert_eq!(r, vec![1.5]);
        assert_eq!(
            cast::<u64, f64>(&[u64::MAX], "u8", "f8"),
            vec![1.8446744073709552e19]
        );
    }

    #[test]
    fn float64_to_float16_rounds_once() {
        // NumPy 2.4: np.array([...]).astype(np.float16).view(np.uint16)
        let x = [
            1.0 + 2f64.powi(-11) + 2f64.powi(-40), // 0x3c01 (through float32: 0x3c00)
            1.0 + 2f64.powi(-11),                  // tie, to even: 0x3c00
            1.0 + 3.0 * 2f64.powi(-11),            // tie, to even: 0x3c02
            65504.0,
            65519.99,                       // 0x7bff
            65520.0,                        // inf
            2f64.powi(-24),                 // smallest subnormal 0x0001
            2f64.powi(-25),                 // tie with 0: 0x0000
            2f64.powi(-25) * (1.0 + 1e-15), // 0x0001
            -3.0 * 2f64.powi(-25),          // tie, to even: 0x8002
            6.097555160522461e-05,          // largest subnormal 0x03ff
            6.103515625e-05,                // smallest normal 0x0400
            -0.0,
            f64::NEG_INFINITY,
            1e-300,
        ];
        let got: Vec<u16> = cast::<f64, f16>(&x, "f8", "f2")
            .iter()
            .map(|h| h.to_bits())
            .collect();
        assert_eq!(
            got,
            [
                0x3c01, 0x3c00, 0x3c02, 0x7bff, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0001, 0x8002,
                0x03ff, 0x0400, 0x8000, 0xfc00, 0x0000
            ]
        );
    }

    proptest::proptest! {
        /// The float16 chosen for a float64 is a nearest one (ties: the even one).
        #[test]
        fn float64_to_float16_is_nearest(
            bits in 0u64..u64::MAX,
            y in -65520.0f64..65520.0,
            scale in 0i32..40,
            tie in 0u16..0x7bff,
            nudge in -3i64..=3,
            pick in 0u8..3,
        ) {
            // Any float64; one in float16's range scaled down into its subnormals; or one
            // within a few float64 ulps of the midpoint of two float16 neighbours.
            let x = match pick {
                0 => f64::from_bits(bits),
                1 => y * 2f64.powi(-scale),
                _ => {
                    let lo = f16::from_bits(tie).to_f64();
                    let mid = (lo + f16::from_bits(tie + 1).to_f64()) / 2.0;
                    f64::from_bits((mid.to_bits() as i64 + nudge) as u64)
                }
            };
            proptest::prop_assume!(x.is_finite() && x.abs() < 65520.0);
            let r = cast::<f64, f16>(&[x], "f8", "f2")[0];
            let rb = r.to_bits();
            let d = (x - r.to_f64()).abs();
            for nb in [rb.wrapping_sub(1), rb + 1] {
                let n = f16::from_bits(nb);
                if n.is_finite() && (nb & 0x7fff) != 0x7fff && (nb ^ rb) & 0x8000 == 0 {
                    let dn = (x - n.to_f64()).abs();
                    proptest::prop_assert!(d < dn || (d == dn && rb & 1 == 0), "{x} -> {r}, {n} closer");
                }
            }
        }
    }

    #[test]
    fn float16_nan_bits_as_numpy() {
        // NumPy 2.4: np.array([...], np.uint32).view(np.float32).astype(np.float16) etc.
        let f = [0x7f80_0001u32, 0x7fa0_0000, 0xffc0_0000].map(f32::from_bits);
        let h: Vec<u16> = cast::<f32, f16>(&f, "f4", "f2")
            .iter()
            .map(|h| h.to_bits())
            .collect();
        assert_eq!(h, [0x7c01, 0x7d00, 0xfe00]);
        let d = [0xfff0_0000_0000_0001u64, 0x7ff4_0000_0000_0000].map(f64::from_bits);
        let h: Vec<u16> = cast::<f64, f16>(&d, "f8", "f2")
            .iter()
            .map(|h| h.to_bits())
            .collect();
        assert_eq!(h, [0xfc01, 0x7d00]);
        let c = [Complex128 { re: d[0], im: 1.0 }];
        assert_eq!(
            cast::<Complex128, f16>(&c, "c16", "f2")[0].to_bits(),
            0xfc01
        );
        let h = [0x7c01u16, 0xfd00].map(f16::from_bits);
        let f: Vec<u32> = cast::<f16, f32>(&h, "f2", "f4")
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(f, [0x7f80_2000, 0xffa0_0000]);
        let d: Vec<u64> = cast::<f16, f64>(&h, "f2", "f8")
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(d, [0x7ff0_0400_0000_0000, 0xfff4_0000_0000_0000]);
    }

    #[test]
    fn byte_orders_on_both_sides() {
        let src: Vec<i32> = vec![1i32.swap_bytes(), (-5i32).swap_bytes()];
        let out = cast::<i32, f64>(&src, ">i4", "<f8");
        assert_eq!(out, vec![1.0, -5.0]);
        let back = cast::<f64, i16>(&out, "<f8", ">i2");
        assert_eq!(back, vec![1i16.swap_bytes(), (-5i16).swap_bytes()]);
        // Same kind, different order: a pure byte swap.
        let sw = cast::<u16, u16>(&[0x0102], "<u2", ">u2");
        assert_eq!(sw, vec![0x0201]);
    }

    #[test]
    fn non_numeric_dtypes_are_refused() {
        let e = cast_bytes(&[0; 4], &dt("S4"), &mut [0; 8], &dt("f8")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDType);
        assert!(e.to_string().contains("|S4"));
    }
}
