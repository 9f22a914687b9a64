//! Typing of function calls (`sqrt(x)`, `where(c, a, b)`, `clip(x, lo, hi)`, …): each
//! function family has its own small method; every one is `inline(never)`, as their frames
//! are large in unoptimized builds (tens of KiB, from the per-dtype expansions) and must not
//! sit on the stack once per nesting level.

use outcore_engine::{Bool, Result, ScalarKind};

use super::compile::{Compiler, Val};
use super::promote::{default_kind, float_result, larger_float, promote, promote_weak};
use super::tree::*;
use super::typed::{bin_op, cast, internal, un_op, Typed, Wrap};
use super::{Ast, Lit};
use crate::num::Num;

impl Compiler<'_> {
    pub(super) fn call(&self, func: &str, args: &[Ast], pos: usize) -> Result<Val> {
        let arity = match func {
            "abs" | "sqrt" | "exp" | "log" | "log10" | "log1p" | "expm1" | "sin" | "cos" | "tan" | "arcsin"
            | "arccos" | "arctan" | "sinh" | "cosh" | "tanh" | "floor" | "ceil" | "round" | "isnan" | "isfinite" => 1,
            "arctan2" | "minimum" | "maximum" => 2,
            "where" | "clip" => 3,
            _ => {
                return Err(self.err(
                    pos,
                    format!(
                        "unknown function '{func}' (known: abs sqrt exp log log10 log1p expm1 sin cos tan arcsin arccos \
                         arctan arctan2 sinh cosh tanh floor ceil round minimum maximum where clip isnan isfinite)"
                    ),
                ))
            }
        };
        if args.len() != arity {
            return Err(self.err(
                pos,
                format!(
                    "{func}() takes {arity} argument{} ({} given)",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let vals = args
            .iter()
            .map(|a| self.build(a))
            .collect::<Result<Vec<Val>>>()?;
        let p: Vec<usize> = args.iter().map(|a| a.pos()).collect();
        self.apply_call(func, vals, &p)
    }

    /// Types a call of `func` on its built arguments (at positions `p`).
    #[inline(never)]
    fn apply_call(&self, func: &str, vals: Vec<Val>, p: &[usize]) -> Result<Val> {
        let mut vals = vals.into_iter();
        let mut next = || vals.next().ok_or_else(|| internal("argument count"));
        match func {
            "arctan2" => self.call_arctan2(next()?, next()?, p),
            "minimum" | "maximum" => self.call_min_max(func, next()?, next()?, p),
            "where" => self.call_where(next()?, next()?, next()?, p),
            "clip" => self.call_clip(next()?, next()?, next()?, p),
            _ => self.call_unary(func, next()?).map(Val::Strong),
        }
    }

    /// `abs`, `floor`, …, `isfinite` and the float functions (`sqrt`, `exp`, …), these in
    /// the smallest float kind that holds the argument.
    #[inline(never)]
    fn call_unary(&self, func: &str, arg: Val) -> Result<Typed> {
        let t = self.materialize(arg)?;
        let k = t.kind();
        let fk = float_result(k);
        let out = match func {
            "abs" => real!(k, T => un_op::<T, Abs>(t))?,
            "floor" => real!(k, T => un_op::<T, Floor>(t))?,
            "ceil" => real!(k, T => un_op::<T, Ceil>(t))?,
            "round" => {
                let rk = if k == ScalarKind::Bool {
                    ScalarKind::F16
                } else {
                    k
                };
                let t = cast(t, rk)?;
                real!(rk, T => un_op::<T, Round>(t))?
            }
            "isnan" => real!(k, T => un_op::<T, IsNan>(t))?,
            "isfinite" => real!(k, T => un_op::<T, IsFinite>(t))?,
            _ => {
                let t = cast(t, fk)?;
                float!(fk, T => match func {
                    "sqrt" => un_op::<T, Sqrt>(t),
                    "exp" => un_op::<T, Exp>(t),
                    "log" => un_op::<T, Log>(t),
                    "log10" => un_op::<T, Log10>(t),
                    "log1p" => un_op::<T, Log1p>(t),
                    "expm1" => un_op::<T, Expm1>(t),
                    "sin" => un_op::<T, Sin>(t),
                    "cos" => un_op::<T, Cos>(t),
                    "tan" => un_op::<T, Tan>(t),
                    "arcsin" => un_op::<T, Arcsin>(t),
                    "arccos" => un_op::<T, Arccos>(t),
                    "arctan" => un_op::<T, Arctan>(t),
                    "sinh" => un_op::<T, Sinh>(t),
                    "cosh" => un_op::<T, Cosh>(t),
                    _ => un_op::<T, Tanh>(t),
                })?
            }
        };
        Ok(out)
    }

    #[inline(never)]
    fn call_arctan2(&self, a: Val, b: Val, p: &[usize]) -> Result<Val> {
        let (a, b) = self.both_strong(a, b);
        // NumPy picks the first float loop both inputs cast to safely, not the float
        // of their common type (int8 with uint8: float16, not int16's float32).
        let fk = match (&a, &b) {
            (Val::Strong(x), Val::Strong(y)) => {
                larger_float(float_result(x.kind()), float_result(y.kind()))
            }
            _ => float_result(self.common_kind(&a, &b)),
        };
        let (ta, tb) = (self.to_kind(a, fk, p[0])?, self.to_kind(b, fk, p[1])?);
        float!(fk, T => bin_op::<T, Atan2>(ta, tb)).map(Val::Strong)
    }

    #[inline(never)]
    fn call_min_max(&self, func: &str, a: Val, b: Val, p: &[usize]) -> Result<Val> {
        let (a, b) = self.both_strong(a, b);
        let (ta, tb) = self.unify(a, b, (p[0], p[1]))?;
        let k = ta.kind();
        let out = match func {
            "minimum" => real!(k, T => bin_op::<T, Minimum>(ta, tb))?,
            "maximum" => real!(k, T => bin_op::<T, Maximum>(ta, tb))?,
            _ => {
                let fk = float_result(k);
                let (ta, tb) = (cast(ta, fk)?, cast(tb, fk)?);
                float!(fk, T => bin_op::<T, Atan2>(ta, tb))?
            }
        };
        Ok(Val::Strong(out))
    }

    #[inline(never)]
    fn call_where(&self, cond: Val, a: Val, b: Val, p: &[usize]) -> Result<Val> {
        let c = self.materialize(cond)?;
        let ck = c.kind();
        let c = if ck == ScalarKind::Bool {
            c
        } else {
            real!(ck, T => un_op::<T, Truth>(c))?
        };
        let c = Bool::unwrap(c).ok_or_else(|| internal("condition"))?;
        let (a, b) = self.both_strong(a, b);
        // NumPy's where casts its operands unsafely: an int literal out of the
        // kind's range wraps instead of raising.
        let k = self.common_kind(&a, &b);
        let wrap = |v: Val| match v {
            Val::Weak(Lit::Int(i)) if k.is_int() => {
                let w = real!(k, T => Ok(T::from_i128(i).to_i128())).unwrap_or(i);
                Val::Weak(Lit::Int(w))
            }
            v => v,
        };
        let (ta, tb) = (
            self.to_kind(wrap(a), k, p[1])?,
            self.to_kind(wrap(b), k, p[2])?,
        );
        real!(k, T => {
            let a = T::unwrap(ta).ok_or_else(|| internal("where"))?;
            let b = T::unwrap(tb).ok_or_else(|| internal("where"))?;
            Ok(T::wrap(Where::operand(c, a, b)))
        })
        .map(Val::Strong)
    }

    /// clip(x, lo, hi): raised to lo, then lowered to hi (so hi wins when lo > hi), in the
    /// kind all three promote to.
    #[inline(never)]
    fn call_clip(&self, x: Val, lo: Val, hi: Val, p: &[usize]) -> Result<Val> {
        // clip(x, lo, hi): raised to lo, then lowered to hi (so hi wins when lo > hi),
        // in the kind all three promote to.
        let x = Val::Strong(self.materialize(x)?);
        let kind = [&lo, &hi].iter().fold(
            Self::val_kind(&x).unwrap_or(ScalarKind::Bool),
            |k, v| match v {
                Val::Strong(t) => promote(k, t.kind()),
                Val::Weak(l) => promote_weak(k, *l),
            },
        );
        // NumPy 2 (`_clip`) drops a Python int bound the values of an integer array
        // cannot pass (lo at or below its kind's minimum, hi at or above its maximum);
        // any other Python int bound must fit the kind the clip computes in, or it is
        // an OverflowError (a float bound makes that kind a float: no error).
        let xk = Self::val_kind(&x).unwrap_or(ScalarKind::Bool);
        let bound = |v: Val, is_lo: bool, pos: usize| -> Result<Val> {
            let Val::Weak(Lit::Int(i)) = v else {
                return Ok(v);
            };
            if !xk.is_int() {
                return Ok(v);
            }
            let (min, max) = real!(xk, T => Ok((T::MIN_I128, T::MAX_I128)))?;
            let dropped = if is_lo { i <= min } else { i >= max };
            if !dropped {
                if kind.is_int() {
                    let (kmin, kmax) = real!(kind, T => Ok((T::MIN_I128, T::MAX_I128)))?;
                    if i < kmin || i > kmax {
                        return Err(self.err(
                            pos,
                            format!("Python integer {i} out of bounds for {}", kind.name()),
                        ));
                    }
                }
                return Ok(v);
            }
            Ok(if kind.is_int() {
                let (kmin, kmax) = real!(kind, T => Ok((T::MIN_I128, T::MAX_I128)))?;
                Val::Weak(Lit::Int(if is_lo { kmin } else { kmax }))
            } else {
                Val::Weak(Lit::Float(if is_lo {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }))
            })
        };
        let tx = self.to_kind(x, kind, p[0])?;
        let tlo = self.to_kind(bound(lo, true, p[1])?, kind, p[1])?;
        let thi = self.to_kind(bound(hi, false, p[2])?, kind, p[2])?;
        // NumPy's float32/64 clip has two loops that differ on ties (signed zeros):
        // with both bounds scalars a value equal to a bound is kept, with array bounds
        // the bound is taken. (A 0-d or size-1 input used as a bound counts as an
        // array here; NumPy's stride test counts it as a scalar when it broadcasts.)
        let scalar_bounds = tlo.is_const() && thi.is_const();
        if matches!(kind, ScalarKind::F32 | ScalarKind::F64) && !scalar_bounds {
            let m = float!(kind, T => bin_op::<T, ClipLoBound>(tx, tlo))?;
            return float!(kind, T => bin_op::<T, ClipHiBound>(m, thi)).map(Val::Strong);
        }
        let m = real!(kind, T => bin_op::<T, ClipLo>(tx, tlo))?;
        real!(kind, T => bin_op::<T, ClipHi>(m, thi)).map(Val::Strong)
    }

    /// Function arguments that are both literals are NumPy scalars of their default dtypes.
    fn both_strong(&self, a: Val, b: Val) -> (Val, Val) {
        match (a, b) {
            (Val::Weak(x), Val::Weak(y)) => {
                let k = promote(default_kind(x), default_kind(y));
                match (self.lit_as(x, k, 0), self.lit_as(y, k, 0)) {
                    (Ok(tx), Ok(ty)) => (Val::Strong(tx), Val::Strong(ty)),
                    _ => (Val::Weak(x), Val::Weak(y)),
                }
            }
            other => other,
        }
    }
}
