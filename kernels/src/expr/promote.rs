//! NumPy 2's type promotion (NEP 50): `result_type` of two kinds, weak literals, and the
//! float kinds float functions compute in.

use outcore_engine::ScalarKind;

use super::Lit;

/// NumPy's `result_type` for two bool/int/float kinds.
pub fn promote(a: ScalarKind, b: ScalarKind) -> ScalarKind {
    use ScalarKind::*;
    if a == b {
        return a;
    }
    if a == Bool {
        return b;
    }
    if b == Bool {
        return a;
    }
    match (a.is_float(), b.is_float()) {
        (true, true) => {
            if a.size() >= b.size() {
                a
            } else {
                b
            }
        }
        (true, false) => larger_float(a, float_for_int(b)),
        (false, true) => larger_float(b, float_for_int(a)),
        (false, false) => {
            if a.is_signed_int() == b.is_signed_int() {
                return if a.size() >= b.size() { a } else { b };
            }
            let (s, u) = if a.is_signed_int() { (a, b) } else { (b, a) };
            if s.size() > u.size() {
                return s;
            }
            match u.size() {
                1 => I16,
                2 => I32,
                4 => I64,
                _ => F64,
            }
        }
    }
}

pub(super) fn larger_float(a: ScalarKind, b: ScalarKind) -> ScalarKind {
    if a.size() >= b.size() {
        a
    } else {
        b
    }
}

/// The smallest float kind NumPy's float loops accept a bool or integer kind in.
pub(super) fn float_for_int(k: ScalarKind) -> ScalarKind {
    match k.size() {
        1 => ScalarKind::F16,
        2 => ScalarKind::F32,
        _ => ScalarKind::F64,
    }
}

/// The kind a float function of `k` computes in.
pub fn float_result(k: ScalarKind) -> ScalarKind {
    if k.is_float() {
        k
    } else {
        float_for_int(k)
    }
}

/// The kind an array of kind `k` and a weak literal combine to (NEP 50).
pub(super) fn promote_weak(k: ScalarKind, lit: Lit) -> ScalarKind {
    match lit {
        Lit::Bool(_) => k,
        Lit::Int(_) => {
            if k == ScalarKind::Bool {
                ScalarKind::I64
            } else {
                k
            }
        }
        Lit::Float(_) => {
            if k.is_float() {
                k
            } else {
                ScalarKind::F64
            }
        }
    }
}

/// The NumPy default dtype of a literal standing alone (`np.asarray(lit).dtype`).
pub(super) fn default_kind(lit: Lit) -> ScalarKind {
    match lit {
        Lit::Bool(_) => ScalarKind::Bool,
        Lit::Int(_) => ScalarKind::I64,
        Lit::Float(_) => ScalarKind::F64,
    }
}
