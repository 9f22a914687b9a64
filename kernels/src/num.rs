//! Element arithmetic with NumPy's semantics, per native type: integer arithmetic wraps,
//! integer division and modulo by zero give 0, float floor division and remainder follow
//! `npy_divmod`, float16 computes in float32 and rounds each result.

use half::f16;
use outcore_engine::{Bool, Element};

/// A bool, integer or float element type as the expression evaluator and the reductions
/// compute with it.
pub trait Num: Element + PartialOrd {
    /// Smallest and largest value for integer types (unused for floats).
    const MIN_I128: i128;
    /// Largest value for integer types (unused for floats).
    const MAX_I128: i128;

    /// From an integer (wrapping for integers, nearest for floats, `!= 0` for bool).
    fn from_i128(v: i128) -> Self;
    /// From a float (`as` semantics; only used for exact or float-to-float conversions).
    fn from_f64(v: f64) -> Self;
    /// The value as a float (bool: 0/1; integers may round beyond 2^53).
    fn to_f64(self) -> f64;
    /// Integer value (bool: 0/1; floats truncate: unused in promotions).
    fn to_i128(self) -> i128;
    /// NumPy truthiness: non-zero (NaN is true).
    fn is_true(self) -> bool;

    /// A value-preserving conversion for the safe casts of type promotion.
    #[inline(always)]
    fn cast<U: Num>(self) -> U {
        if Self::KIND.is_float() {
            U::from_f64(self.to_f64())
        } else {
            U::from_i128(self.to_i128())
        }
    }

    /// `self + o` (integers wrap).
    fn add(self, o: Self) -> Self;
    /// `self - o` (integers wrap).
    fn sub(self, o: Self) -> Self;
    /// `self * o` (integers wrap).
    fn mul(self, o: Self) -> Self;
    /// `self // o` (NumPy's floor division; integer division by zero gives 0).
    fn floordiv(self, o: Self) -> Self;
    /// `self % o` with the sign of `o` (NumPy's remainder; integer modulo by zero gives 0).
    fn rem(self, o: Self) -> Self;
    /// `self ** o`; for integers the exponent is known to be non-negative.
    fn pow(self, o: Self) -> Self;
    /// True when `self` is not a valid integer exponent (negative).
    fn bad_exponent(self) -> bool {
        false
    }
    /// `-self` (integers wrap).
    fn neg(self) -> Self;
    /// `|self|` (integers wrap at the minimum).
    fn abs(self) -> Self;
    /// `np.minimum`: NaN propagates.
    fn minimum(self, o: Self) -> Self;
    /// `np.maximum`: NaN propagates.
    fn maximum(self, o: Self) -> Self;
    /// Whether this is a NaN (never for integers).
    fn is_nan(self) -> bool;
    /// Whether this is finite (always for integers).
    fn is_finite(self) -> bool;
    /// `np.floor` (integers unchanged).
    fn floor(self) -> Self;
    /// `np.ceil` (integers unchanged).
    fn ceil(self) -> Self;
    /// `np.round`: half to even (integers unchanged).
    fn round(self) -> Self;
    /// `self & o` (bitwise; logical for bool).
    fn bitand(self, o: Self) -> Self;
    /// `self | o` (bitwise; logical for bool).
    fn bitor(self, o: Self) -> Self;
    /// `self ^ o` (bitwise; logical for bool).
    fn bitxor(self, o: Self) -> Self;
    /// `~self` (bitwise; logical not for bool).
    fn not(self) -> Self;
}

macro_rules! int_num {
    ($($t:ty, $signed:expr);*) => {$(
        impl Num for $t {
            const MIN_I128: i128 = <$t>::MIN as i128;
            const MAX_I128: i128 = <$t>::MAX as i128;
            #[inline(always)] fn from_i128(v: i128) -> Self { v as $t }
            #[inline(always)] fn from_f64(v: f64) -> Self { v as $t }
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn to_i128(self) -> i128 { self as i128 }
            #[inline(always)] fn is_true(self) -> bool { self != 0 }
            #[inline(always)] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)]
            fn floordiv(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                #[allow(unused_comparisons)]
                if $signed && self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline(always)]
            fn rem(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                #[allow(unused_comparisons)]
                if $signed && r != 0 && ((r < 0) != (o < 0)) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                let (mut base, mut exp, mut acc) = (self, o as u64, 1 as $t);
                while exp > 0 {
                    if exp & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    exp >>= 1;
                }
                acc
            }
            #[allow(unused_comparisons)]
            #[inline(always)] fn bad_exponent(self) -> bool { self < 0 }
            #[inline(always)] fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[allow(unused_comparisons)]
            #[inline(always)] fn abs(self) -> Self { if self < 0 { self.neg() } else { self } }
            #[inline(always)] fn minimum(self, o: Self) -> Self { if self < o { self } else { o } }
            #[inline(always)] fn maximum(self, o: Self) -> Self { if self > o { self } else { o } }
            #[inline(always)] fn is_nan(self) -> bool { false }
            #[inline(always)] fn is_finite(self) -> bool { true }
            #[inline(always)] fn floor(self) -> Self { self }
            #[inline(always)] fn ceil(self) -> Self { self }
            #[inline(always)] fn round(self) -> Self { self }
            #[inline(always)] fn bitand(self, o: Self) -> Self { self & o }
            #[inline(always)] fn bitor(self, o: Self) -> Self { self | o }
            #[inline(always)] fn bitxor(self, o: Self) -> Self { self ^ o }
            #[inline(always)] fn not(self) -> Self { !self }
        }
    )*};
}
int_num!(i8, true; i16, true; i32, true; i64, true; u8, false; u16, false; u32, false; u64, false);

impl Num for Bool {
    const MIN_I128: i128 = 0;
    const MAX_I128: i128 = 1;
    #[inline(always)]
    fn from_i128(v: i128) -> Self {
        Bool((v != 0) as u8)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        Bool((v != 0.0) as u8)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.get() as u8 as f64
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self.get() as i128
    }
    #[inline(always)]
    fn is_true(self) -> bool {
        self.get()
    }
    // NumPy's bool loops: add is logical or, multiply logical and, power `a or not b`.
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Bool((self.get() | o.get()) as u8)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Bool((self.get() ^ o.get()) as u8)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Bool((self.get() & o.get()) as u8)
    }
    #[inline(always)]
    fn floordiv(self, o: Self) -> Self {
        Bool((self.get() & o.get()) as u8)
    }
    #[inline(always)]
    fn rem(self, _o: Self) -> Self {
        Bool(0)
    }
    #[inline(always)]
    fn pow(self, o: Self) -> Self {
        Bool((self.get() | !o.get()) as u8)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        self
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Bool(self.get() as u8)
    }
    #[inline(always)]
    fn minimum(self, o: Self) -> Self {
        self.mul(o)
    }
    #[inline(always)]
    fn maximum(self, o: Self) -> Self {
        self.add(o)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        true
    }
    #[inline(always)]
    fn floor(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn ceil(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn round(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn bitand(self, o: Self) -> Self {
        self.mul(o)
    }
    #[inline(always)]
    fn bitor(self, o: Self) -> Self {
        self.add(o)
    }
    #[inline(always)]
    fn bitxor(self, o: Self) -> Self {
        self.sub(o)
    }
    #[inline(always)]
    fn not(self) -> Self {
        Bool(!self.get() as u8)
    }
}

/// NumPy's `npy_divmod`: floor quotient and remainder with the divisor's sign.
macro_rules! divmod {
    ($t:ty) => {
        |a: $t, b: $t| -> ($t, $t) {
            let m = a % b;
            if b == 0.0 {
                return (a / b, m);
            }
            let mut div = (a - m) / b;
            let mut m = m;
            if m != 0.0 {
                if (b < 0.0) != (m < 0.0) {
                    m += b;
                    div -= 1.0;
                }
            } else {
                m = (0.0 as $t).copysign(b);
            }
            let q = if div != 0.0 {
                let f = div.floor();
                if div - f > 0.5 {
                    f + 1.0
                } else {
                    f
                }
            } else {
                (0.0 as $t).copysign(a / b)
            };
            (q, m)
        }
    };
}

/// Float element types: transcendental functions and true division. `Calc` is the type the
/// arithmetic happens in (float32 for float16, as NumPy's half loops do).
pub trait Float: Num {
    /// The type the arithmetic happens in.
    type Calc: CalcFloat;
    /// Widens to the calculation type.
    fn up(self) -> Self::Calc;
    /// Rounds back from the calculation type.
    fn down(v: Self::Calc) -> Self;
}

/// f32/f64 arithmetic used by [`Float`].
pub trait CalcFloat: Copy {
    /// True division.
    fn div(self, o: Self) -> Self;
    /// NumPy's float floor division (`npy_divmod`).
    fn floordiv(self, o: Self) -> Self;
    /// NumPy's float remainder (`npy_divmod`): the sign of the divisor.
    fn rem(self, o: Self) -> Self;
    /// `self ** o`.
    fn pow(self, o: Self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `e ** self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Base-10 logarithm.
    fn log10(self) -> Self;
    /// `ln(1 + self)`, accurate near 0.
    fn ln_1p(self) -> Self;
    /// `e ** self - 1`, accurate near 0.
    fn exp_m1(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Arc sine.
    fn asin(self) -> Self;
    /// Arc cosine.
    fn acos(self) -> Self;
    /// Arc tangent.
    fn atan(self) -> Self;
    /// Arc tangent of `self / o` in the right quadrant.
    fn atan2(self, o: Self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
}

macro_rules! calc_float {
    ($t:ty) => {
        impl CalcFloat for $t {
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                self / o
            }
            #[inline(always)]
            fn floordiv(self, o: Self) -> Self {
                if o == 0.0 {
                    return self / o;
                }
                (divmod!($t))(self, o).0
            }
            #[inline(always)]
            fn rem(self, o: Self) -> Self {
                if o == 0.0 {
                    return self % o;
                }
                (divmod!($t))(self, o).1
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn log10(self) -> Self {
                <$t>::log10(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            #[inline(always)]
            fn asin(self) -> Self {
                <$t>::asin(self)
            }
            #[inline(always)]
            fn acos(self) -> Self {
                <$t>::acos(self)
            }
            #[inline(always)]
            fn atan(self) -> Self {
                <$t>::atan(self)
            }
            #[inline(always)]
            fn atan2(self, o: Self) -> Self {
                <$t>::atan2(self, o)
            }
            #[inline(always)]
            fn sinh(self) -> Self {
                <$t>::sinh(self)
            }
            #[inline(always)]
            fn cosh(self) -> Self {
                <$t>::cosh(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
        }
    };
}
calc_float!(f32);
calc_float!(f64);

/// `$tie_first`: on equal operands `minimum`/`maximum` return the first one (NumPy's float16
/// loops) rather than the second (its float32/float64 SIMD loops); it shows with signed zeros.
macro_rules! float_num {
    ($t:ty, $calc:ty, $up:expr, $down:expr, $from_f64:expr, $tie_first:expr) => {
        impl Float for $t {
            type Calc = $calc;
            #[inline(always)]
            fn up(self) -> $calc {
                ($up)(self)
            }
            #[inline(always)]
            fn down(v: $calc) -> Self {
                ($down)(v)
            }
        }
        impl Num for $t {
            const MIN_I128: i128 = 0;
            const MAX_I128: i128 = 0;
            #[inline(always)]
            fn from_i128(v: i128) -> Self {
                Self::down(v as $calc)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                ($from_f64)(v)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self.up() as f64
            }
            #[inline(always)]
            fn to_i128(self) -> i128 {
                self.up() as i128
            }
            #[inline(always)]
            fn is_true(self) -> bool {
                self.up() != 0.0
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                Self::down(self.up() + o.up())
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                Self::down(self.up() - o.up())
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                Self::down(self.up() * o.up())
            }
            #[inline(always)]
            fn floordiv(self, o: Self) -> Self {
                Self::down(CalcFloat::floordiv(self.up(), o.up()))
            }
            #[inline(always)]
            fn rem(self, o: Self) -> Self {
                Self::down(CalcFloat::rem(self.up(), o.up()))
            }
            #[inline(always)]
            fn pow(self, o: Self) -> Self {
                Self::down(CalcFloat::pow(self.up(), o.up()))
            }
            #[inline(always)]
            fn neg(self) -> Self {
                Self::down(-self.up())
            }
            #[inline(always)]
            fn abs(self) -> Self {
                Self::down(self.up().abs())
            }
            #[inline(always)]
            fn minimum(self, o: Self) -> Self {
                let (a, b) = (self.up(), o.up());
                if a.is_nan() || a < b || ($tie_first && a == b) {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn maximum(self, o: Self) -> Self {
                let (a, b) = (self.up(), o.up());
                if a.is_nan() || a > b || ($tie_first && a == b) {
                    self
                } else {
                    o
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.up().is_nan()
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                self.up().is_finite()
            }
            #[inline(always)]
            fn floor(self) -> Self {
                Self::down(self.up().floor())
            }
            #[inline(always)]
            fn ceil(self) -> Self {
                Self::down(self.up().ceil())
            }
            #[inline(always)]
            fn round(self) -> Self {
                Self::down(self.up().round_ties_even())
            }
            fn bitand(self, _o: Self) -> Self {
                self
            }
            fn bitor(self, _o: Self) -> Self {
                self
            }
            fn bitxor(self, _o: Self) -> Self {
                self
            }
            fn not(self) -> Self {
                self
            }
        }
    };
}
float_num!(f32, f32, |v| v, |v| v, |v: f64| v as f32, false);
float_num!(f64, f64, |v| v, |v| v, |v: f64| v, false);
// A float64 (a literal) becomes float16 in one rounding, as NumPy's `npy_double_to_half`.
float_num!(
    f16,
    f32,
    |v: f16| v.to_f32(),
    f16::from_f32,
    crate::cast::f16_from_f64,
    true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_is_floor_division_and_by_zero_is_zero() {
        assert_eq!((-7i32).floordiv(2), -4);
        assert_eq!((7i32).floordiv(-2), -4);
        assert_eq!((-7i32).rem(2), 1);
        assert_eq!((7i32).rem(-2), -1);
        assert_eq!((5i8).floordiv(0), 0);
        assert_eq!((5u8).rem(0), 0);
        assert_eq!(i8::MIN.floordiv(-1), i8::MIN);
        assert_eq!(i8::MIN.rem(-1), 0);
        assert_eq!(200u8.add(100), 44);
        assert_eq!(Num::pow(3i64, 40), 3i64.wrapping_pow(40));
    }

    #[test]
    fn float_divmod_matches_numpy() {
        assert_eq!(Num::floordiv(-5.0f64, f64::INFINITY), -1.0);
        assert_eq!(Num::floordiv(5.0f64, -3.0), -2.0);
        assert_eq!(Num::rem(5.0f64, -3.0), -1.0);
        assert_eq!(Num::rem(-3.0f64, f64::INFINITY), f64::INFINITY);
        assert!(Num::rem(1.0f64, 0.0).is_nan());
        assert_eq!(Num::floordiv(3.0f32, 0.0), f32::INFINITY);
        assert_eq!(Num::minimum(0.0f64, -0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(Num::maximum(-0.0f32, 0.0).to_bits(), 0.0f32.to_bits());
        let (pz, nz) = (f16::from_f32(0.0), f16::from_f32(-0.0));
        assert_eq!(Num::maximum(nz, pz).to_bits(), nz.to_bits());
        assert_eq!(Num::minimum(pz, nz).to_bits(), pz.to_bits());
        assert!(Num::maximum(1.0f64, f64::NAN).is_nan());
        assert_eq!(Num::round(2.5f64), 2.0);
        assert_eq!(Num::round(f16::from_f32(3.5)), f16::from_f32(4.0));
    }
}
