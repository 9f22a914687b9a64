//! Result values to and from native element bytes of their result dtype.

use super::*;

/// A value of the input's own kind as a [`Value`].
pub(super) fn scalar_value<T: Num>(x: T) -> Value {
    let k = T::KIND;
    if k.is_float() {
        Value::Float(x.to_f64())
    } else if k.is_bool() {
        Value::Bool(x.is_true())
    } else if k.is_unsigned_int() {
        Value::UInt(x.to_i128() as u64)
    } else {
        Value::Int(x.to_i128() as i64)
    }
}

/// Writes `v` as one native element of `kind`.
pub fn encode(v: Value, kind: ScalarKind, out: &mut [u8]) {
    use ScalarKind::*;
    let (i, u, x) = match v {
        Value::Bool(b) => (b as i64, b as u64, b as u8 as f64),
        Value::Int(i) => (i, i as u64, i as f64),
        Value::UInt(u) => (u as i64, u, u as f64),
        Value::Float(f) => (f as i64, f as u64, f),
    };
    match kind {
        Bool => out[0] = (x != 0.0) as u8,
        I8 => out.copy_from_slice(&(i as i8).to_ne_bytes()),
        I16 => out.copy_from_slice(&(i as i16).to_ne_bytes()),
        I32 => out.copy_from_slice(&(i as i32).to_ne_bytes()),
        I64 => out.copy_from_slice(&i.to_ne_bytes()),
        U8 => out.copy_from_slice(&(u as u8).to_ne_bytes()),
        U16 => out.copy_from_slice(&(u as u16).to_ne_bytes()),
        U32 => out.copy_from_slice(&(u as u32).to_ne_bytes()),
        U64 => out.copy_from_slice(&u.to_ne_bytes()),
        F16 => out.copy_from_slice(&half::f16::from_f64(x).to_ne_bytes()),
        F32 => out.copy_from_slice(&(x as f32).to_ne_bytes()),
        F64 | C64 | C128 => out.copy_from_slice(&x.to_ne_bytes()),
    }
}

/// Reads one native element of `kind` as a [`Value`].
pub fn decode(bytes: &[u8], kind: ScalarKind) -> Value {
    with_scalar_type!(kind, T => {
        let x: T = bytemuck::pod_read_unaligned(&bytes[..kind.size()]);
        scalar_value(x)
    }, complex => Value::Float(f64::NAN))
}
