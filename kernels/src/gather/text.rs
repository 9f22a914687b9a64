//! Numbers as NumPy writes them into string dtypes, for `concat` of numbers with strings:
//! NumPy 2 promotes `S`/`U` with a number to a string wide enough for any value of the
//! number's dtype (`np.result_type('S1', 'i8')` is `S21`) and converts each value as the
//! `str()` of its scalar (`np.float32(1e6)` → `1e+06`, `np.complex128(2j)` → `2j`).

use std::fmt::Write;

use half::f16;
use outcore_engine::{err, ByteOrder, DType, Result, ScalarKind};

/// True for the string dtypes `S<n>` and `U<n>`.
pub(super) fn is_text(dt: &DType) -> bool {
    matches!(dt, DType::Bytes(_) | DType::Unicode { .. })
}

/// Characters NumPy gives a number of `kind` in a string dtype (`np.result_type('S1', kind)`).
pub(super) fn text_width(kind: ScalarKind) -> usize {
    use ScalarKind::*;
    match kind {
        Bool => 5,
        I8 => 4,
        U8 => 3,
        I16 => 6,
        U16 => 5,
        I32 => 11,
        U32 => 10,
        I64 => 21,
        U64 => 20,
        F16 | F32 | F64 => 32,
        C64 | C128 => 64,
    }
}

/// Writes each item of the numeric dtype `from` in `src` into the string dtype `to` in `dst`
/// as NumPy's `str()` of it, NUL padded (cut at the width, as NumPy's cast).
pub(super) fn numbers_to_text(from: &DType, to: &DType, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let DType::Scalar { kind, order } = from else {
        return Err(err!(
            UnsupportedDType,
            "cannot write {} ({}) as text",
            from.str_code(),
            from.name()
        ));
    };
    let (fi, ti) = (kind.size(), to.itemsize());
    if ti == 0 {
        return Ok(());
    }
    let mut text = String::with_capacity(64);
    for (s, d) in src.chunks_exact(fi).zip(dst.chunks_exact_mut(ti)) {
        text.clear();
        number_str(*kind, *order, s, &mut text);
        d.fill(0);
        match to {
            DType::Bytes(_) => {
                for (o, b) in d.iter_mut().zip(text.bytes()) {
                    *o = b;
                }
            }
            DType::Unicode { order, .. } => {
                for (o, c) in d.chunks_exact_mut(4).zip(text.chars()) {
                    o.copy_from_slice(&match order {
                        ByteOrder::Little => (c as u32).to_le_bytes(),
                        ByteOrder::Big => (c as u32).to_be_bytes(),
                    });
                }
            }
            _ => {
                return Err(err!(
                    UnsupportedDType,
                    "{} is not a string dtype",
                    to.str_code()
                ))
            }
        }
    }
    Ok(())
}

/// Reads `N` bytes in the given byte order.
fn bytes_of<const N: usize>(item: &[u8], order: ByteOrder) -> [u8; N] {
    let mut a: [u8; N] = item[..N].try_into().expect("N bytes");
    if order == ByteOrder::Big {
        a.reverse();
    }
    a
}

/// `str(scalar)` of one item of `kind` in byte order `order`.
fn number_str(kind: ScalarKind, order: ByteOrder, item: &[u8], out: &mut String) {
    use ScalarKind::*;
    let r = match kind {
        Bool => {
            out.push_str(if item[0] != 0 { "True" } else { "False" });
            Ok(())
        }
        I8 => write!(out, "{}", item[0] as i8),
        U8 => write!(out, "{}", item[0]),
        I16 => write!(out, "{}", i16::from_le_bytes(bytes_of(item, order))),
        U16 => write!(out, "{}", u16::from_le_bytes(bytes_of(item, order))),
        I32 => write!(out, "{}", i32::from_le_bytes(bytes_of(item, order))),
        U32 => write!(out, "{}", u32::from_le_bytes(bytes_of(item, order))),
        I64 => write!(out, "{}", i64::from_le_bytes(bytes_of(item, order))),
        U64 => write!(out, "{}", u64::from_le_bytes(bytes_of(item, order))),
        F16 => {
            let v = Real::Half(f16::from_bits(u16::from_le_bytes(bytes_of(item, order))));
            float_str(v, Trim::LeaveOneZero, false, out);
            Ok(())
        }
        F32 => {
            let v = Real::Single(f32::from_le_bytes(bytes_of(item, order)));
            float_str(v, Trim::LeaveOneZero, false, out);
            Ok(())
        }
        F64 => {
            let v = Real::Double(f64::from_le_bytes(bytes_of(item, order)));
            float_str(v, Trim::LeaveOneZero, false, out);
            Ok(())
        }
        C64 => {
            let re = f32::from_le_bytes(bytes_of(item, order));
            let im = f32::from_le_bytes(bytes_of(&item[4..], order));
            complex_str(Real::Single(re), Real::Single(im), out);
            Ok(())
        }
        C128 => {
            let re = f64::from_le_bytes(bytes_of(item, order));
            let im = f64::from_le_bytes(bytes_of(&item[8..], order));
            complex_str(Real::Double(re), Real::Double(im), out);
            Ok(())
        }
    };
    r.expect("writing to a String cannot fail");
}

/// A float of one of NumPy's three float kinds.
#[derive(Clone, Copy)]
enum Real {
    Half(f16),
    Single(f32),
    Double(f64),
}

/// What Dragon4 trims after the shortest digits: `1.0` keeps one zero (a float's `str`),
/// `1` drops the point too (the parts of a complex number, and exponents everywhere).
#[derive(Clone, Copy, PartialEq)]
enum Trim {
    LeaveOneZero,
    DotAndZeros,
}

impl Real {
    fn value(self) -> f64 {
        match self {
            Real::Half(h) => h.to_f64(),
            Real::Single(x) => x as f64,
            Real::Double(x) => x,
        }
    }

    /// NumPy's cut-off above which `str` turns to scientific notation (`max_positional` in
    /// NumPy's scalartypes.c.src, by float size).
    fn max_positional(self) -> f64 {
        match self {
            Real::Half(_) => 1e3,
            Real::Single(_) => 1e6,
            Real::Double(_) => 1e16,
        }
    }

    /// Whether the decimal `text` reads back (one rounding, as NumPy's parser) to this value's
    /// magnitude in its own precision.
    fn reads_back(self, text: &str) -> bool {
        match self {
            Real::Double(x) => text.parse::<f64>() == Ok(x.abs()),
            Real::Single(x) => text.parse::<f32>() == Ok(x.abs()),
            Real::Half(h) => text.parse::<f64>().is_ok_and(|v| {
                crate::cast::f16_from_f64(v) == f16::from_bits(h.to_bits() & 0x7fff)
            }),
        }
    }

    /// The shortest digits that read back to this value in its own precision, and the decimal
    /// exponent of the first (`|v| = d1.d2… × 10^e`), as NumPy's Dragon4 picks them: of the
    /// two decimals of that length around the value, the nearer one that reads back; on an
    /// exact tie the one with an even last digit (`2696132.25f32` → `2.6961322e+06`, where
    /// Rust's own shortest form rounds the tie up).
    fn shortest_digits(self) -> (String, i32) {
        let a = self.value().abs();
        if a == 0.0 {
            return ("0".to_string(), 0);
        }
        // Rust's shortest form has the shortest length; only its last digit may differ.
        let from = match self {
            Real::Double(x) => digit_count(&format!("{:e}", x.abs())),
            Real::Single(x) => digit_count(&format!("{:e}", x.abs())),
            Real::Half(_) => 1,
        };
        for n in from..=17 {
            if let Some(found) = self.nearest_of_length(a, n) {
                return found;
            }
        }
        // Unreachable for finite floats (17 digits tell any two float64 values apart).
        let text = format!("{a:.16e}");
        let (m, e) = text.split_once('e').expect("exponent notation");
        (m.replace('.', ""), e.parse().expect("an integer exponent"))
    }

    /// Of the `n`-digit decimals just below and just above `a`, the one NumPy prints, if
    /// either reads back to the value.
    fn nearest_of_length(self, a: f64, n: usize) -> Option<(String, i32)> {
        // Twenty digits past the n-th decide a tie: a float64 has under 17 significant
        // digits of precision, so anything past them that is not zero shows up there.
        let text = format!("{a:.prec$e}", prec = n + 20);
        let (mantissa, exp) = text.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let digits: Vec<u8> = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        let down: u128 = digits[..n]
            .iter()
            .fold(0, |acc, &d| acc * 10 + u128::from(d));
        let next = digits[n];
        let rest_zero = digits[n + 1..].iter().all(|&d| d == 0);
        let tie = next == 5 && rest_zero;
        let up_nearer = next > 5 || (next == 5 && !rest_zero);
        let candidate = |m: u128| -> (String, i32) {
            // m has n digits, or n + 1 when rounding up carried (999 → 1000).
            let text = m.to_string();
            let e = exp + (text.len() as i32 - n as i32);
            let mut d = text;
            while d.len() > 1 && d.ends_with('0') {
                d.pop();
            }
            (d, e)
        };
        let down_c = candidate(down);
        let up_c = candidate(down + 1);
        let ok = |c: &(String, i32)| {
            let text = format!("{}e{}", c.0, c.1 - (c.0.len() as i32 - 1));
            self.reads_back(&text)
        };
        let first_down = if tie {
            down.is_multiple_of(2)
        } else {
            !up_nearer
        };
        let (first, second) = if first_down {
            (down_c, up_c)
        } else {
            (up_c, down_c)
        };
        if ok(&first) {
            Some(first)
        } else if ok(&second) {
            Some(second)
        } else {
            None
        }
    }
}

/// Significant digits of Rust's `{:e}` text of a float.
fn digit_count(text: &str) -> usize {
    let mantissa = text.split('e').next().unwrap_or(text);
    mantissa.bytes().filter(u8::is_ascii_digit).count().max(1)
}

/// NumPy's `str` of a float (`floattype_str_either`): positional when zero, NaN or
/// `1e-4 <= |v| < max_positional`, scientific otherwise; shortest round-trip digits.
fn float_str(x: Real, trim: Trim, sign: bool, out: &mut String) {
    let v = x.value();
    if v.is_nan() {
        out.push_str(if sign { "+nan" } else { "nan" });
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    } else if sign {
        out.push('+');
    }
    if v.is_infinite() {
        out.push_str("inf");
        return;
    }
    let a = v.abs();
    let (digits, exp) = x.shortest_digits();
    if a == 0.0 || (1e-4..x.max_positional()).contains(&a) {
        let n = digits.len() as i32;
        let (int, frac) = if exp >= 0 {
            let whole = (exp + 1) as usize;
            if n <= exp + 1 {
                (
                    digits.clone() + &"0".repeat(whole - n as usize),
                    String::new(),
                )
            } else {
                (digits[..whole].to_string(), digits[whole..].to_string())
            }
        } else {
            ("0".to_string(), "0".repeat((-exp - 1) as usize) + &digits)
        };
        out.push_str(&int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        } else if trim == Trim::LeaveOneZero {
            out.push_str(".0");
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
}

/// NumPy's `str` of a complex number: `2j` when the real part is +0, else `(re±imj)`, both
/// parts without a trailing `.0`.
fn complex_str(re: Real, im: Real, out: &mut String) {
    let r = re.value();
    if r == 0.0 && !r.is_sign_negative() {
        float_str(im, Trim::DotAndZeros, false, out);
        out.push('j');
    } else {
        out.push('(');
        float_str(re, Trim::DotAndZeros, false, out);
        float_str(im, Trim::DotAndZeros, true, out);
        out.push_str("j)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_of(kind: ScalarKind, bytes: &[u8]) -> String {
        let mut s = String::new();
        number_str(kind, ByteOrder::Little, bytes, &mut s);
        s
    }

    /// Values and texts taken from NumPy 2.4 (`str(np.float32(v))` and friends).
    #[test]
    fn numbers_read_as_numpy_writes_them() {
        let f64s = [
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-4, "0.0001"),
            (9.9e-5, "9.9e-05"),
            (-0.0, "-0.0"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
            (1.5e300, "1.5e+300"),
            (123456789.123, "123456789.123"),
        ];
        for (v, want) in f64s {
            assert_eq!(str_of(ScalarKind::F64, &f64::to_le_bytes(v)), want, "{v}");
        }
        let f32s = [
            (16777216.0, "1.6777216e+07"),
            (1e-4, "1e-04"),
            (123456.0, "123456.0"),
            (1234567.0, "1.234567e+06"),
            (0.1, "0.1"),
            (3e38, "3e+38"),
        ];
        for (v, want) in f32s {
            assert_eq!(str_of(ScalarKind::F32, &f32::to_le_bytes(v)), want, "{v}");
        }
        let f16s = [
            (0.1, "0.1"),
            (1e4, "1e+04"),
            (65504.0, "6.55e+04"),
            (990.0, "990.0"),
            (6e-8, "6e-08"),
        ];
        for (v, want) in f16s {
            let h = f16::from_f64(v).to_bits().to_le_bytes();
            assert_eq!(str_of(ScalarKind::F16, &h), want, "{v}");
        }
        let c128 = |re: f64, im: f64| [re.to_le_bytes(), im.to_le_bytes()].concat();
        let complexes = [
            ((1.0, 2.0), "(1+2j)"),
            ((0.0, 2.0), "2j"),
            ((-0.0, -2.0), "(-0-2j)"),
            ((0.0, 0.0), "0j"),
            ((f64::NAN, 1.0), "(nan+1j)"),
            ((1.0, f64::INFINITY), "(1+infj)"),
            ((0.0, f64::NEG_INFINITY), "-infj"),
            ((1e20, 1e-5), "(1e+20+1e-05j)"),
            ((0.1, -0.0), "(0.1-0j)"),
            ((f64::NAN, f64::NAN), "(nan+nanj)"),
        ];
        for ((re, im), want) in complexes {
            assert_eq!(str_of(ScalarKind::C128, &c128(re, im)), want);
        }
        assert_eq!(str_of(ScalarKind::Bool, &[1]), "True");
        assert_eq!(str_of(ScalarKind::I8, &[0x80]), "-128");
        let mut s = String::new();
        number_str(
            ScalarKind::I32,
            ByteOrder::Big,
            &[0xff, 0xff, 0xff, 0xfe],
            &mut s,
        );
        assert_eq!(s, "-2");
    }

    #[test]
    fn texts_are_padded_and_cut_at_the_width() {
        let src: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut dst = vec![0xAA; 8];
        numbers_to_text(
            &DType::native(ScalarKind::F64),
            &DType::Bytes(4),
            &src,
            &mut dst,
        )
        .unwrap();
        assert_eq!(&dst, b"1.5\0-2.0");
        let to = DType::Unicode {
            chars: 2,
            order: ByteOrder::Big,
        };
        let mut dst = vec![0; 16];
        numbers_to_text(&DType::native(ScalarKind::F64), &to, &src, &mut dst).unwrap();
        assert_eq!(&dst[..8], &[0, 0, 0, b'1', 0, 0, 0, b'.']);
    }
}
