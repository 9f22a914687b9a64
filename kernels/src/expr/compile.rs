//! Type-checking an expression and building its tree of block kernels: names, literals,
//! operators and comparisons (calls are in `call.rs`).

use std::collections::HashMap;

use outcore_engine::{Bool, Error, Result, ScalarKind};

use super::promote::*;
use super::tree::*;
use super::typed::*;
use super::{parse, tree};
use super::{Ast, BinKind, Lit, UnKind};
use crate::num::Num;

/// A value during compilation: a typed tree, or a literal that is still weakly typed.
pub(super) enum Val {
    Strong(Typed),
    Weak(Lit),
}

/// NumPy's fast paths of `array ** scalar` (`fast_scalar_power` and the power loops): for a
/// float array these exponents run `square`, `sqrt`, `reciprocal` or a copy, whose results can
/// differ from `pow`'s by an ulp; `x ** 2` of a bool array is `square` in int8.
#[derive(Clone, Copy)]
enum ScalarPower {
    Square(ScalarKind),
    Sqrt(ScalarKind),
    Reciprocal(ScalarKind),
    Identity,
}

impl ScalarPower {
    fn of(base: ScalarKind, exponent: Lit) -> Option<ScalarPower> {
        let e = match exponent {
            Lit::Int(i) if (-1..=2).contains(&i) => i as f64,
            Lit::Float(f) => f,
            _ => return None,
        };
        if base.is_float() {
            // Exponent 0 is left to `pow`, which gives exactly 1 as NumPy's `ones_like`.
            return if e == 2.0 {
                Some(ScalarPower::Square(base))
            } else if e == 0.5 {
                Some(ScalarPower::Sqrt(base))
            } else if e == -1.0 {
                Some(ScalarPower::Reciprocal(base))
            } else if e == 1.0 {
                Some(ScalarPower::Identity)
            } else {
                None
            };
        }
        // Integer powers are exact, so only the bool promotion needs a path of its own.
        match exponent {
            Lit::Int(2) => Some(ScalarPower::Square(if base == ScalarKind::Bool {
                ScalarKind::I8
            } else {
                base
            })),
            _ => None,
        }
    }

    fn apply(self, t: Typed) -> Result<Typed> {
        match self {
            ScalarPower::Square(k) => real!(k, T => un_op::<T, Square>(cast(t, k)?)),
            ScalarPower::Sqrt(k) => float!(k, T => un_op::<T, Sqrt>(t)),
            ScalarPower::Reciprocal(k) => float!(k, T => un_op::<T, Reciprocal>(t)),
            ScalarPower::Identity => Ok(t),
        }
    }
}

pub(super) struct Compiler<'s> {
    pub(super) src: &'s str,
    pub(super) names: HashMap<&'s str, (usize, ScalarKind)>,
    /// Every bound input name, sorted, for the unknown-name error.
    pub(super) bound: Vec<&'s str>,
}

impl<'s> Compiler<'s> {
    pub(super) fn err(&self, pos: usize, msg: impl AsRef<str>) -> Error {
        parse::error_at(self.src, pos, msg)
    }

    pub(super) fn materialize(&self, v: Val) -> Result<Typed> {
        match v {
            Val::Strong(t) => Ok(t),
            Val::Weak(lit) => self.lit_as(lit, default_kind(lit), 0),
        }
    }

    /// A literal as a constant of `kind`; an int literal must fit (NumPy 2 raises too).
    pub(super) fn lit_as(&self, lit: Lit, kind: ScalarKind, pos: usize) -> Result<Typed> {
        if let Lit::Int(v) = lit {
            if kind.is_int() {
                let fits = real!(kind, T => Ok((T::MIN_I128..=T::MAX_I128).contains(&v)))?;
                if !fits {
                    return Err(self.err(
                        pos,
                        format!("Python integer {v} out of bounds for {}", kind.name()),
                    ));
                }
            }
        }
        real!(kind, T => Ok(T::wrap(Operand::Const(match lit {
            Lit::Int(v) => T::from_i128(v),
            Lit::Float(f) => <T as Num>::from_f64(f),
            Lit::Bool(b) => T::from_i128(b as i128),
        }))))
    }

    pub(super) fn val_kind(v: &Val) -> Option<ScalarKind> {
        match v {
            Val::Strong(t) => Some(t.kind()),
            Val::Weak(_) => None,
        }
    }

    /// The kind two values combine to (NEP 50).
    pub(super) fn common_kind(&self, a: &Val, b: &Val) -> ScalarKind {
        match (a, b) {
            (Val::Strong(x), Val::Strong(y)) => promote(x.kind(), y.kind()),
            (Val::Strong(x), Val::Weak(l)) | (Val::Weak(l), Val::Strong(x)) => {
                promote_weak(x.kind(), *l)
            }
            (Val::Weak(x), Val::Weak(y)) => promote(default_kind(*x), default_kind(*y)),
        }
    }

    /// The kind two values combine to, and both converted to it.
    pub(super) fn unify(&self, a: Val, b: Val, pos: (usize, usize)) -> Result<(Typed, Typed)> {
        let kind = self.common_kind(&a, &b);
        Ok((self.to_kind(a, kind, pos.0)?, self.to_kind(b, kind, pos.1)?))
    }

    pub(super) fn to_kind(&self, v: Val, kind: ScalarKind, pos: usize) -> Result<Typed> {
        match v {
            Val::Strong(t) => cast(t, kind),
            Val::Weak(l) => self.lit_as(l, kind, pos),
        }
    }

    pub(super) fn build(&self, ast: &Ast) -> Result<Val> {
        match ast {
            Ast::Lit { value, .. } => Ok(Val::Weak(*value)),
            Ast::Name { name, pos } => match self.names.get(name.as_str()) {
                Some(&(i, kind)) => {
                    real!(kind, T => Ok(T::wrap(Operand::<T>::Input(i)))).map(Val::Strong)
                }
                None => Err(self.err(
                    *pos,
                    format!(
                        "unknown name '{name}' (bind it to a file with {name}=FILE; bound: {})",
                        if self.bound.is_empty() {
                            "none".to_string()
                        } else {
                            self.bound.join(", ")
                        }
                    ),
                )),
            },
            Ast::Unary { op, arg, pos } => {
                let v = self.build(arg)?;
                self.unary(*op, v, *pos)
            }
            Ast::Binary { op, a, b, pos } => {
                let (pa, pb) = (a.pos(), b.pos());
                let (va, vb) = (self.build(a)?, self.build(b)?);
                self.binary(*op, va, vb, *pos, (pa, pb))
            }
            Ast::Call { func, args, pos } => self.call(func, args, *pos),
        }
    }

    fn unary(&self, op: UnKind, v: Val, pos: usize) -> Result<Val> {
        let t = match v {
            Val::Weak(lit) => return self.fold_unary(op, lit, pos).map(Val::Weak),
            Val::Strong(t) => t,
        };
        let k = t.kind();
        let out = match op {
            UnKind::Plus => t,
            UnKind::Neg => {
                if k == ScalarKind::Bool {
                    return Err(self.err(
                        pos,
                        "the numpy boolean negative, the `-` operator, is not supported, use the `~` operator instead",
                    ));
                }
                real!(k, T => un_op::<T, Neg>(t))?
            }
            UnKind::Not => {
                if k.is_float() {
                    return Err(self.err(
                        pos,
                        format!("~ needs a bool or integer operand, not {}", k.name()),
                    ));
                }
                real!(k, T => un_op::<T, Not>(t))?
            }
        };
        Ok(Val::Strong(out))
    }

    fn fold_unary(&self, op: UnKind, lit: Lit, pos: usize) -> Result<Lit> {
        Ok(match (op, lit) {
            (UnKind::Plus, Lit::Bool(b)) => Lit::Int(b as i128),
            (UnKind::Plus, l) => l,
            (UnKind::Neg, Lit::Bool(b)) => Lit::Int(-(b as i128)),
            (UnKind::Neg, Lit::Int(v)) => Lit::Int(-v),
            (UnKind::Neg, Lit::Float(f)) => Lit::Float(-f),
            (UnKind::Not, Lit::Bool(b)) => Lit::Bool(!b),
            (UnKind::Not, Lit::Int(v)) => Lit::Int(!v),
            (UnKind::Not, Lit::Float(_)) => {
                return Err(self.err(pos, "~ needs a bool or integer operand, not a float"))
            }
        })
    }

    fn binary(
        &self,
        op: BinKind,
        a: Val,
        b: Val,
        pos: usize,
        arg_pos: (usize, usize),
    ) -> Result<Val> {
        use BinKind::*;
        if let (Val::Weak(x), Val::Weak(y)) = (&a, &b) {
            return self.fold_binary(op, *x, *y, pos).map(Val::Weak);
        }
        if op.is_comparison() {
            return self.compare(op, a, b, arg_pos).map(Val::Strong);
        }
        if op == Div {
            // True division runs in a float loop: literals convert straight to it.
            let k = self.common_kind(&a, &b);
            let fk = if k.is_float() { k } else { ScalarKind::F64 };
            let (ta, tb) = (
                self.to_kind(a, fk, arg_pos.0)?,
                self.to_kind(b, fk, arg_pos.1)?,
            );
            return float!(fk, T => bin_op::<T, tree::Div>(ta, tb)).map(Val::Strong);
        }
        if op == Pow {
            if let (Val::Strong(t), Val::Weak(exponent)) = (&a, &b) {
                if let Some(fast) = ScalarPower::of(t.kind(), *exponent) {
                    let Val::Strong(t) = a else {
                        return Err(internal("power base"));
                    };
                    return fast.apply(t).map(Val::Strong);
                }
            }
        }
        let (ka, kb) = (Self::val_kind(&a), Self::val_kind(&b));
        let (ta, tb) = self.unify(a, b, arg_pos)?;
        let k = ta.kind();
        let out = match op {
            Add => real!(k, T => bin_op::<T, tree::Add>(ta, tb))?,
            Mul => real!(k, T => bin_op::<T, tree::Mul>(ta, tb))?,
            Sub => {
                if k == ScalarKind::Bool {
                    return Err(self.err(
                        pos,
                        "numpy boolean subtract, the `-` operator, is not supported, use the `^` operator instead",
                    ));
                }
                real!(k, T => bin_op::<T, tree::Sub>(ta, tb))?
            }
            Div => return Err(internal("division")),
            FloorDiv | Rem => {
                let k2 = if k == ScalarKind::Bool {
                    ScalarKind::I8
                } else {
                    k
                };
                let (ta, tb) = (cast(ta, k2)?, cast(tb, k2)?);
                if op == FloorDiv {
                    real!(k2, T => bin_op::<T, tree::FloorDiv>(ta, tb))?
                } else {
                    real!(k2, T => bin_op::<T, tree::Rem>(ta, tb))?
                }
            }
            Pow => {
                // NumPy's power has no bool loop: bools are raised in int8.
                let k2 = if k == ScalarKind::Bool {
                    ScalarKind::I8
                } else {
                    k
                };
                let (ta, tb) = (cast(ta, k2)?, cast(tb, k2)?);
                real!(k2, T => bin_op::<T, tree::Pow>(ta, tb))
                    .map_err(|e| self.err(pos, e.message()))?
            }
            And | Or | Xor => {
                if k.is_float() {
                    let which = if ka.is_some_and(|k| k.is_float()) || kb.is_none() {
                        arg_pos.0
                    } else {
                        arg_pos.1
                    };
                    return Err(self.err(
                        which,
                        format!(
                            "{} needs bool or integer operands, not {}",
                            op.symbol(),
                            k.name()
                        ),
                    ));
                }
                with_int_or_bool(k, ta, tb, op)?
            }
            Lt | Le | Gt | Ge | Eq | Ne => unreachable_comparison()?,
        };
        Ok(Val::Strong(out))
    }

    /// Comparisons: exact for every pair of kinds, like NumPy 2.
    fn compare(&self, op: BinKind, a: Val, b: Val, arg_pos: (usize, usize)) -> Result<Typed> {
        // An int literal outside an integer array's range decides the comparison by itself.
        let (strong_kind, lit, lit_left) = match (&a, &b) {
            (Val::Strong(t), Val::Weak(l)) => (Some(t.kind()), Some(*l), false),
            (Val::Weak(l), Val::Strong(t)) => (Some(t.kind()), Some(*l), true),
            _ => (None, None, false),
        };
        if let (Some(k), Some(Lit::Int(v))) = (strong_kind, lit) {
            if k.is_int() {
                let (lo, hi) = real!(k, T => Ok((T::MIN_I128, T::MAX_I128)))?;
                if v < lo || v > hi {
                    // Compare a representative in-range value with the literal: any array value
                    // relates to it the same way.
                    let rep = if v > hi { hi } else { lo };
                    let (x, y) = if lit_left { (v, rep) } else { (rep, v) };
                    let r = Bool(cmp_i128(op, x, y) as u8);
                    // The array side is still computed if it is a computation (NumPy would,
                    // and it may raise): `where(True, r, side)` keeps it.
                    let array = if lit_left { b } else { a };
                    if let Val::Strong(t) = array {
                        if t.is_computed() {
                            let side = Bool::unwrap(cast(t, ScalarKind::Bool)?)
                                .ok_or_else(|| internal("bool"))?;
                            return Ok(Typed::Bool(Where::operand(
                                Operand::Const(Bool(1)),
                                Operand::Const(r),
                                side,
                            )));
                        }
                    }
                    return Ok(Typed::Bool(Operand::Const(r)));
                }
            }
        }
        if let (Some(ka), Some(kb)) = (Self::val_kind(&a), Self::val_kind(&b)) {
            if ka.is_int() && kb.is_int() && promote(ka, kb) == ScalarKind::F64 {
                // A signed and a 64-bit unsigned integer: compare exactly.
                let swap = ka.is_unsigned_int();
                let (s, u) = if swap { (b, a) } else { (a, b) };
                let (Val::Strong(s), Val::Strong(u)) = (s, u) else {
                    return Err(internal("mixed comparison"));
                };
                let s = i64::unwrap(cast(s, ScalarKind::I64)?).ok_or_else(|| internal("i64"))?;
                let u = u64::unwrap(cast(u, ScalarKind::U64)?).ok_or_else(|| internal("u64"))?;
                let op = if swap { mirror(op) } else { op };
                return Ok(Typed::Bool(match op {
                    BinKind::Lt => MixedCmp::<Lt>::operand(s, u),
                    BinKind::Le => MixedCmp::<Le>::operand(s, u),
                    BinKind::Gt => MixedCmp::<Gt>::operand(s, u),
                    BinKind::Ge => MixedCmp::<Ge>::operand(s, u),
                    BinKind::Eq => MixedCmp::<Eq>::operand(s, u),
                    _ => MixedCmp::<Ne>::operand(s, u),
                }));
            }
        }
        let (ta, tb) = self.unify(a, b, arg_pos)?;
        let k = ta.kind();
        real!(k, T => match op {
            BinKind::Lt => bin_op::<T, Lt>(ta, tb),
            BinKind::Le => bin_op::<T, Le>(ta, tb),
            BinKind::Gt => bin_op::<T, Gt>(ta, tb),
            BinKind::Ge => bin_op::<T, Ge>(ta, tb),
            BinKind::Eq => bin_op::<T, Eq>(ta, tb),
            _ => bin_op::<T, Ne>(ta, tb),
        })
    }

    /// Python arithmetic on two literals.
    fn fold_binary(&self, op: BinKind, x: Lit, y: Lit, pos: usize) -> Result<Lit> {
        use BinKind::*;
        let overflow = || self.err(pos, "literal arithmetic overflows");
        let zero = || self.err(pos, "division by zero in a literal expression");
        if let (Lit::Bool(p), Lit::Bool(q)) = (x, y) {
            match op {
                And => return Ok(Lit::Bool(p & q)),
                Or => return Ok(Lit::Bool(p | q)),
                Xor => return Ok(Lit::Bool(p ^ q)),
                _ => {}
            }
        }
        let as_int = |l: Lit| match l {
            Lit::Bool(b) => Some(b as i128),
            Lit::Int(v) => Some(v),
            Lit::Float(_) => None,
        };
        let as_f = |l: Lit| match l {
            Lit::Bool(b) => b as u8 as f64,
            Lit::Int(v) => v as f64,
            Lit::Float(f) => f,
        };
        if op.is_comparison() {
            let r = match (as_int(x), as_int(y)) {
                (Some(p), Some(q)) => cmp_i128(op, p, q),
                _ => cmp_f64(op, as_f(x), as_f(y)),
            };
            return Ok(Lit::Bool(r));
        }
        if let (Some(p), Some(q)) = (as_int(x), as_int(y)) {
            return Ok(match op {
                Add => Lit::Int(p.checked_add(q).ok_or_else(overflow)?),
                Sub => Lit::Int(p.checked_sub(q).ok_or_else(overflow)?),
                Mul => Lit::Int(p.checked_mul(q).ok_or_else(overflow)?),
                Div => {
                    if q == 0 {
                        return Err(zero());
                    }
                    Lit::Float(p as f64 / q as f64)
                }
                FloorDiv | Rem => {
                    if q == 0 {
                        return Err(zero());
                    }
                    let (d, m) = (p.div_euclid(q), p.rem_euclid(q));
                    // Python floors toward -inf with the divisor's sign on the remainder.
                    let (d, m) = if q < 0 && m != 0 {
                        (d + 1, m + q)
                    } else {
                        (d, m)
                    };
                    if op == FloorDiv {
                        Lit::Int(d)
                    } else {
                        Lit::Int(m)
                    }
                }
                Pow => {
                    if q >= 0 {
                        let e = u32::try_from(q).map_err(|_| overflow())?;
                        Lit::Int(p.checked_pow(e).ok_or_else(overflow)?)
                    } else {
                        if p == 0 {
                            return Err(zero());
                        }
                        Lit::Float((p as f64).powf(q as f64))
                    }
                }
                And => Lit::Int(p & q),
                Or => Lit::Int(p | q),
                Xor => Lit::Int(p ^ q),
                Lt | Le | Gt | Ge | Eq | Ne => unreachable_comparison()?,
            });
        }
        let (p, q) = (as_f(x), as_f(y));
        Ok(Lit::Float(match op {
            Add => p + q,
            Sub => p - q,
            Mul => p * q,
            Div => {
                if q == 0.0 {
                    return Err(zero());
                }
                p / q
            }
            FloorDiv => {
                if q == 0.0 {
                    return Err(zero());
                }
                p.floordiv(q)
            }
            Rem => {
                if q == 0.0 {
                    return Err(zero());
                }
                Num::rem(p, q)
            }
            Pow => {
                if p < 0.0 && q.fract() != 0.0 {
                    return Err(self.err(
                        pos,
                        "negative number to a fractional power gives a complex number",
                    ));
                }
                p.powf(q)
            }
            And | Or | Xor => {
                return Err(self.err(
                    pos,
                    format!("{} needs bool or integer operands", op.symbol()),
                ))
            }
            Lt | Le | Gt | Ge | Eq | Ne => unreachable_comparison()?,
        }))
    }
}

fn unreachable_comparison<T>() -> Result<T> {
    Err(internal("comparison in arithmetic"))
}

fn with_int_or_bool(k: ScalarKind, ta: Typed, tb: Typed, op: BinKind) -> Result<Typed> {
    macro_rules! go {
        ($T:ty) => {
            match op {
                BinKind::And => bin_op::<$T, BitAnd>(ta, tb),
                BinKind::Or => bin_op::<$T, BitOr>(ta, tb),
                _ => bin_op::<$T, BitXor>(ta, tb),
            }
        };
    }
    match k {
        ScalarKind::Bool => go!(Bool),
        ScalarKind::I8 => go!(i8),
        ScalarKind::I16 => go!(i16),
        ScalarKind::I32 => go!(i32),
        ScalarKind::I64 => go!(i64),
        ScalarKind::U8 => go!(u8),
        ScalarKind::U16 => go!(u16),
        ScalarKind::U32 => go!(u32),
        ScalarKind::U64 => go!(u64),
        _ => Err(internal("bitwise on float")),
    }
}

fn mirror(op: BinKind) -> BinKind {
    match op {
        BinKind::Lt => BinKind::Gt,
        BinKind::Le => BinKind::Ge,
        BinKind::Gt => BinKind::Lt,
        BinKind::Ge => BinKind::Le,
        other => other,
    }
}

fn cmp_i128(op: BinKind, x: i128, y: i128) -> bool {
    match op {
        BinKind::Lt => x < y,
        BinKind::Le => x <= y,
        BinKind::Gt => x > y,
        BinKind::Ge => x >= y,
        BinKind::Eq => x == y,
        _ => x != y,
    }
}

fn cmp_f64(op: BinKind, x: f64, y: f64) -> bool {
    match op {
        BinKind::Lt => x < y,
        BinKind::Le => x <= y,
        BinKind::Gt => x > y,
        BinKind::Ge => x >= y,
        BinKind::Eq => x == y,
        _ => x != y,
    }
}
