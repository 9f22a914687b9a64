//! Order-preserving key transforms: every sortable element type maps to an unsigned integer
//! key whose natural order is NumPy's sort order (NaNs last), so runs can be radix sorted and
//! merged by plain integer comparison.
//!
//! Two families of keys:
//! - the **invertible** key ([`SortKey::encode`]/[`SortKey::decode`]) keeps every bit of the
//!   value, so a value sort only moves keys and decodes them at the end. For floats it orders
//!   `-0.0` just before `+0.0` and NaNs by payload (all after `+inf`, whatever their sign): a
//!   valid NumPy order, and [`Canon`] tells the merge which keys NumPy considers equal when a
//!   stable order is asked for;
//! - the **canonical** key ([`SortKey::canon`], a `u64`) merges `-0.0` with `+0.0` and every
//!   NaN into `u64::MAX`: it is what argsort and `--by` records compare, with the element index
//!   breaking ties, which makes them stable by construction.
//!
//! Descending order is the reverse of ascending order among non-NaN values with NaNs still
//! last; equal keys keep their input order in stable sorts.

use outcore_engine::{f16, Bool, Element};

use super::record::{Canon, Record};

/// An element type outcore can sort.
pub trait SortKey: Element {
    /// The invertible key: an unsigned integer of the element's width.
    type Key: Record;
    /// The largest key of a non-NaN value (ascending or descending).
    const MAX_FINITE: u64;

    /// The invertible key of `self` in ascending or descending order.
    fn encode(self, descending: bool) -> Self::Key;
    /// The value of an invertible key.
    fn decode(key: Self::Key, descending: bool) -> Self;
    /// The canonical key: equal for values NumPy compares equal, NaN = `u64::MAX`.
    fn canon(self, descending: bool) -> u64;
    /// What the merge of invertible keys must treat as equal for a stable sort.
    fn stable_canon(descending: bool) -> Canon;
}

macro_rules! float_key {
    ($t:ty, $k:ty, $mant:expr, $to_bits:expr, $from_bits:expr) => {
        impl SortKey for $t {
            type Key = $k;
            const MAX_FINITE: u64 = {
                const SIGN: $k = 1 << (<$k>::BITS - 1);
                const NEG_NANS: $k = (1 << $mant) - 1;
                const INF: $k = !SIGN & !NEG_NANS; // exponent all ones, mantissa zero
                ((INF | SIGN) - NEG_NANS) as u64
            };

            #[inline(always)]
            fn encode(self, descending: bool) -> $k {
                const SIGN: $k = 1 << (<$k>::BITS - 1);
                const NEG_NANS: $k = (1 << $mant) - 1;
                let b: $k = $to_bits(self);
                // Flip to unsigned order, then rotate the negative NaNs (which land at the
                // bottom) to the very top, above the positive NaNs.
                let k = (if b & SIGN != 0 { !b } else { b | SIGN }).wrapping_sub(NEG_NANS);
                let max = Self::MAX_FINITE as $k;
                if descending && k <= max {
                    max - k
                } else {
                    k
                }
            }

            #[inline(always)]
            fn decode(key: $k, descending: bool) -> $t {
                const SIGN: $k = 1 << (<$k>::BITS - 1);
                const NEG_NANS: $k = (1 << $mant) - 1;
                let max = Self::MAX_FINITE as $k;
                let k = if descending && key <= max {
                    max - key
                } else {
                    key
                };
                let k = k.wrapping_add(NEG_NANS);
                let b = if k & SIGN != 0 { k & !SIGN } else { !k };
                $from_bits(b)
            }

            #[inline(always)]
            fn canon(self, descending: bool) -> u64 {
                const SIGN: $k = 1 << (<$k>::BITS - 1);
                const NEG_NANS: $k = (1 << $mant) - 1;
                const INF: $k = !SIGN & !NEG_NANS;
                let b: $k = $to_bits(self);
                if b & !SIGN > INF {
                    return u64::MAX;
                }
                let b = if b & !SIGN == 0 { 0 } else { b };
                let value: $t = $from_bits(b);
                value.encode(descending) as u64
            }

            fn stable_canon(descending: bool) -> Canon {
                let neg: $t = $from_bits(1 << (<$k>::BITS - 1));
                let pos: $t = $from_bits(0);
                Canon {
                    active: true,
                    zero_from: neg.encode(descending) as u64,
                    zero_to: pos.encode(descending) as u64,
                    nan_above: Self::MAX_FINITE,
                    nan_key: <$k>::MAX as u64,
                }
            }
        }
    };
}

float_key!(f16, u16, 10, |v: f16| v.to_bits(), f16::from_bits);
float_key!(f32, u32, 23, |v: f32| v.to_bits(), f32::from_bits);
float_key!(f64, u64, 52, |v: f64| v.to_bits(), f64::from_bits);

macro_rules! int_key {
    ($($t:ty => $k:ty, $flip:expr);*) => {$(
        impl SortKey for $t {
            type Key = $k;
            const MAX_FINITE: u64 = <$k>::MAX as u64;

            #[inline(always)]
            fn encode(self, descending: bool) -> $k {
                let k = (self as $k) ^ $flip;
                if descending { !k } else { k }
            }

            #[inline(always)]
            fn decode(key: $k, descending: bool) -> $t {
                let k = if descending { !key } else { key };
                (k ^ $flip) as $t
            }

            #[inline(always)]
            fn canon(self, descending: bool) -> u64 {
                self.encode(descending) as u64
            }

            fn stable_canon(_descending: bool) -> Canon {
                Canon::default()
            }
        }
    )*};
}

int_key!(
    i8 => u8, 1u8 << 7;
    i16 => u16, 1u16 << 15;
    i32 => u32, 1u32 << 31;
    i64 => u64, 1u64 << 63;
    u8 => u8, 0;
    u16 => u16, 0;
    u32 => u32, 0;
    u64 => u64, 0
);

impl SortKey for Bool {
    type Key = u8;
    const MAX_FINITE: u64 = u8::MAX as u64;

    #[inline(always)]
    fn encode(self, descending: bool) -> u8 {
        // NumPy compares bools as their bytes.
        if descending {
            !self.0
        } else {
            self.0
        }
    }

    #[inline(always)]
    fn decode(key: u8, descending: bool) -> Bool {
        Bool(if descending { !key } else { key })
    }

    #[inline(always)]
    fn canon(self, descending: bool) -> u64 {
        self.encode(descending) as u64
    }

    fn stable_canon(_descending: bool) -> Canon {
        Canon::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NumPy's order: a < b, or b is NaN and a is not.
    fn numpy_less(a: f64, b: f64) -> bool {
        a < b || (b.is_nan() && !a.is_nan())
    }

    fn specials() -> Vec<f64> {
        vec![
            f64::NEG_INFINITY,
            -1e308,
            -1.5,
            -f64::MIN_POSITIVE,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1e308,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff0_0000_0000_0001),
            f64::from_bits(0xffff_ffff_ffff_ffff),
        ]
    }

    #[test]
    fn float_keys_round_trip_and_follow_numpy_order() {
        let v = specials();
        for &a in &v {
            for desc in [false, true] {
                assert_eq!(f64::decode(a.encode(desc), desc).to_bits(), a.to_bits());
            }
            for &b in &v {
                let (ka, kb) = (a.encode(false), b.encode(false));
                if numpy_less(a, b) {
                    assert!(ka < kb, "{a} < {b}");
                    assert!(a.canon(false) < b.canon(false));
                }
                // Descending: reversed among non-NaN, NaN still last.
                if !a.is_nan() && !b.is_nan() && a > b {
                    assert!(a.encode(true) < b.encode(true));
                    assert!(a.canon(true) < b.canon(true));
                }
                if !a.is_nan() && b.is_nan() {
                    assert!(a.encode(true) < b.encode(true));
                    assert!(a.canon(true) < b.canon(true));
                }
                if a == b || (a.is_nan() && b.is_nan()) {
                    assert_eq!(a.canon(false), b.canon(false));
                    assert_eq!(a.canon(true), b.canon(true));
                }
            }
        }
    }

    #[test]
    fn narrow_floats_and_ints() {
        for &x in &specials() {
            let h = f16::from_f64(x);
            for desc in [false, true] {
                assert_eq!(f16::decode(h.encode(desc), desc).to_bits(), h.to_bits());
                let s = x as f32;
                assert_eq!(f32::decode(s.encode(desc), desc).to_bits(), s.to_bits());
            }
        }
        let ints = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for w in ints.windows(2) {
            assert!(w[0].encode(false) < w[1].encode(false));
            assert!(w[0].encode(true) > w[1].encode(true));
            assert_eq!(i64::decode(w[0].encode(true), true), w[0]);
        }
        assert!(0u8.encode(false) < 255u8.encode(false));
        assert_eq!(i8::decode((-128i8).encode(false), false), -128);
    }

    #[test]
    fn stable_canon_merges_zeros_and_nans() {
        for desc in [false, true] {
            let c = f32::stable_canon(desc);
            assert_eq!(c.zero_from, (-0.0f32).encode(desc) as u64);
            assert_eq!(
                (c.zero_from as i64 - c.zero_to as i64).abs(),
                1,
                "adjacent zero keys"
            );
            assert!(f32::NAN.encode(desc) as u64 > c.nan_above);
            assert!(f32::INFINITY.encode(desc) as u64 <= c.nan_above);
            assert!(f32::NEG_INFINITY.encode(desc) as u64 <= c.nan_above);
        }
    }
}
