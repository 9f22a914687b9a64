//! The expression language of `outcore eval` (numexpr is the model).
//!
//! An expression is parsed ([`parse`]) with Python's precedence, type-checked with NumPy 2's
//! promotion rules (literals are weak, NEP 50), and compiled into a tree of typed block
//! kernels ([`tree`]) that the map driver runs over chunk-sized blocks of the broadcast inputs.
//!
//! Typing, in short (NumPy is the reference):
//! - array ⊕ array: `np.result_type` of the two dtypes; `/` gives float64 for integer and bool
//!   operands; `//` and `%` of bools give int8; `-` of bools is refused, as in NumPy.
//! - array ⊕ literal: an int literal takes the array's dtype (int64 for bool arrays) and must
//!   fit in it; a float literal takes the array's float dtype, float64 for ints and bools.
//! - comparisons give bool, exactly (int64 vs uint64 and out-of-range literals included).
//! - float functions of integers give the smallest float that holds them (int8 → float16,
//!   int16 → float32, wider → float64), as NumPy's loops do.

mod num;
mod parse;
mod tree;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use half::f16;
use outcore_engine::{
    with_scalar_type, Array, Bool, Context, DType, Error, ErrorKind, Layout, OutputFile,
    OutputOptions, Result, ScalarKind,
};

use crate::map::{Broadcast, Dest};
pub use num::{Float, Num};
pub use parse::{parse, Ast, BinKind, Lit, UnKind, MAX_DEPTH, MAX_NESTING};
use tree::*;

/// A compiled expression value of some element type.
pub enum Typed {
    Bool(Operand<Bool>),
    I8(Operand<i8>),
    I16(Operand<i16>),
    I32(Operand<i32>),
    I64(Operand<i64>),
    U8(Operand<u8>),
    U16(Operand<u16>),
    U32(Operand<u32>),
    U64(Operand<u64>),
    F16(Operand<f16>),
    F32(Operand<f32>),
    F64(Operand<f64>),
}

/// Moving typed operands in and out of [`Typed`].
pub trait Wrap: Sized {
    fn wrap(o: Operand<Self>) -> Typed;
    fn unwrap(t: Typed) -> Option<Operand<Self>>;
}

macro_rules! wrap {
    ($($t:ty => $v:ident),*) => {
        $(impl Wrap for $t {
            fn wrap(o: Operand<Self>) -> Typed { Typed::$v(o) }
            fn unwrap(t: Typed) -> Option<Operand<Self>> {
                match t { Typed::$v(o) => Some(o), _ => None }
            }
        })*
        impl Typed {
            pub fn kind(&self) -> ScalarKind {
                match self { $(Typed::$v(_) => ScalarKind::$v,)* }
            }
            /// A constant (a literal, or folded from literals) rather than per-element values.
            fn is_const(&self) -> bool {
                match self { $(Typed::$v(o) => matches!(o, Operand::Const(_)),)* }
            }
            /// Computed per element (not a constant or an input), so it may raise.
            fn is_computed(&self) -> bool {
                match self { $(Typed::$v(o) => matches!(o, Operand::Node(_)),)* }
            }
        }
    };
}
wrap!(Bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64, f16 => F16, f32 => F32, f64 => F64);

fn internal(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("internal typing error: {what}"),
    )
}

fn un_op<T: Num, Op: UnOp<T>>(t: Typed) -> Result<Typed> {
    let a = T::unwrap(t).ok_or_else(|| internal("operand type"))?;
    Ok(<Op::Out as Wrap>::wrap(Un::<T, Op>::operand(a)))
}

fn bin_op<T: Num, Op: BinOp<T>>(a: Typed, b: Typed) -> Result<Typed> {
    let a = T::unwrap(a).ok_or_else(|| internal("left operand type"))?;
    let b = T::unwrap(b).ok_or_else(|| internal("right operand type"))?;
    Ok(<Op::Out as Wrap>::wrap(Bin::<T, Op>::operand(a, b)?))
}

/// Runs `$body` with `$T` bound to the element type of a real kind.
macro_rules! real {
    ($kind:expr, $T:ident => $body:expr) => {
        with_scalar_type!($kind, $T => $body, complex => Err(internal("complex operand")))
    };
}

/// Like [`real!`] for float kinds only.
macro_rules! float {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            ScalarKind::F16 => {
                type $T = f16;
                $body
            }
            ScalarKind::F32 => {
                type $T = f32;
                $body
            }
            ScalarKind::F64 => {
                type $T = f64;
                $body
            }
            _ => Err(internal("float operand expected")),
        }
    };
}

/// Converts a compiled value to another element type (safe casts of promotion, or the
/// `as`-like cast of `--dtype`).
fn cast(t: Typed, to: ScalarKind) -> Result<Typed> {
    let from = t.kind();
    if from == to {
        return Ok(t);
    }
    real!(from, S => {
        let a = S::unwrap(t).ok_or_else(|| internal("cast operand"))?;
        real!(to, T => Ok(T::wrap(Cast::<S, T>::operand(a))))
    })
}

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

fn larger_float(a: ScalarKind, b: ScalarKind) -> ScalarKind {
    if a.size() >= b.size() {
        a
    } else {
        b
    }
}

/// The smallest float kind NumPy's float loops accept a bool or integer kind in.
fn float_for_int(k: ScalarKind) -> ScalarKind {
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
fn promote_weak(k: ScalarKind, lit: Lit) -> ScalarKind {
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
fn default_kind(lit: Lit) -> ScalarKind {
    match lit {
        Lit::Bool(_) => ScalarKind::Bool,
        Lit::Int(_) => ScalarKind::I64,
        Lit::Float(_) => ScalarKind::F64,
    }
}

/// A value during compilation: a typed tree, or a literal that is still weakly typed.
enum Val {
    Strong(Typed),
    Weak(Lit),
}

/// A compiled expression, ready to run over the broadcast inputs it was compiled for.
pub struct Program {
    root: Typed,
}

impl Program {
    /// The element kind of the result.
    pub fn kind(&self) -> ScalarKind {
        self.root.kind()
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    ast: Ast,
}

impl Expr {
    pub fn parse(source: &str) -> Result<Expr> {
        Ok(Expr {
            source: source.to_string(),
            ast: parse(source)?,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn ast(&self) -> &Ast {
        &self.ast
    }

    /// The input names the expression uses, in order of first use.
    pub fn names(&self) -> Vec<String> {
        self.ast.names()
    }

    /// Type-checks and compiles the expression; `inputs[i]` is the name and kind of source
    /// `i`. `dtype` (the `--dtype` option) converts the result.
    pub fn compile(
        &self,
        inputs: &[(&str, ScalarKind)],
        dtype: Option<ScalarKind>,
    ) -> Result<Program> {
        let bound: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
        self.compile_bound(inputs, &bound, dtype)
    }

    /// [`Expr::compile`] where `bound` names every input the caller has (`inputs` may hold
    /// only those the expression uses): an unknown name's error lists them all.
    pub(crate) fn compile_bound(
        &self,
        inputs: &[(&str, ScalarKind)],
        bound: &[&str],
        dtype: Option<ScalarKind>,
    ) -> Result<Program> {
        let names: HashMap<&str, (usize, ScalarKind)> = inputs
            .iter()
            .enumerate()
            .map(|(i, (n, k))| (*n, (i, *k)))
            .collect();
        let mut bound = bound.to_vec();
        bound.sort_unstable();
        bound.dedup();
        let c = Compiler {
            src: &self.source,
            names,
            bound,
        };
        let root = c.materialize(c.build(&self.ast)?)?;
        let root = match dtype {
            Some(k) => cast(root, k)?,
            None => root,
        };
        Ok(Program { root })
    }
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

struct Compiler<'s> {
    src: &'s str,
    names: HashMap<&'s str, (usize, ScalarKind)>,
    /// Every bound input name, sorted, for the unknown-name error.
    bound: Vec<&'s str>,
}

impl<'s> Compiler<'s> {
    fn err(&self, pos: usize, msg: impl AsRef<str>) -> Error {
        parse::error_at(self.src, pos, msg)
    }

    fn materialize(&self, v: Val) -> Result<Typed> {
        match v {
            Val::Strong(t) => Ok(t),
            Val::Weak(lit) => self.lit_as(lit, default_kind(lit), 0),
        }
    }

    /// A literal as a constant of `kind`; an int literal must fit (NumPy 2 raises too).
    fn lit_as(&self, lit: Lit, kind: ScalarKind, pos: usize) -> Result<Typed> {
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

    fn val_kind(v: &Val) -> Option<ScalarKind> {
        match v {
            Val::Strong(t) => Some(t.kind()),
            Val::Weak(_) => None,
        }
    }

    /// The kind two values combine to (NEP 50).
    fn common_kind(&self, a: &Val, b: &Val) -> ScalarKind {
        match (a, b) {
            (Val::Strong(x), Val::Strong(y)) => promote(x.kind(), y.kind()),
            (Val::Strong(x), Val::Weak(l)) | (Val::Weak(l), Val::Strong(x)) => {
                promote_weak(x.kind(), *l)
            }
            (Val::Weak(x), Val::Weak(y)) => promote(default_kind(*x), default_kind(*y)),
        }
    }

    /// The kind two values combine to, and both converted to it.
    fn unify(&self, a: Val, b: Val, pos: (usize, usize)) -> Result<(Typed, Typed)> {
        let kind = self.common_kind(&a, &b);
        Ok((self.to_kind(a, kind, pos.0)?, self.to_kind(b, kind, pos.1)?))
    }

    fn to_kind(&self, v: Val, kind: ScalarKind, pos: usize) -> Result<Typed> {
        match v {
            Val::Strong(t) => cast(t, kind),
            Val::Weak(l) => self.lit_as(l, kind, pos),
        }
    }

    fn build(&self, ast: &Ast) -> Result<Val> {
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

    fn call(&self, func: &str, args: &[Ast], pos: usize) -> Result<Val> {
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

    /// Types a call of `func` on its built arguments (at positions `p`). Kept out of
    /// [`Compiler::call`] (`inline(never)`): its frame is large in unoptimized builds (tens of
    /// KiB, from the per-dtype expansions) and must not sit on the stack once per nesting level.
    #[inline(never)]
    fn apply_call(&self, func: &str, vals: Vec<Val>, p: &[usize]) -> Result<Val> {
        let arity = vals.len();
        let mut vals = vals.into_iter();
        let mut next = || vals.next().ok_or_else(|| internal("argument count"));
        if arity == 1 {
            let t = self.materialize(next()?)?;
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
            return Ok(Val::Strong(out));
        }
        match func {
            "arctan2" => {
                let (a, b) = (next()?, next()?);
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
            "minimum" | "maximum" => {
                let (a, b) = (next()?, next()?);
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
            "where" => {
                let c = self.materialize(next()?)?;
                let ck = c.kind();
                let c = if ck == ScalarKind::Bool {
                    c
                } else {
                    real!(ck, T => un_op::<T, Truth>(c))?
                };
                let c = Bool::unwrap(c).ok_or_else(|| internal("condition"))?;
                let (a, b) = (next()?, next()?);
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
            _ => {
                // clip(x, lo, hi): raised to lo, then lowered to hi (so hi wins when lo > hi),
                // in the kind all three promote to.
                let (x, lo, hi) = (next()?, next()?, next()?);
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
        }
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

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Program {
    /// Evaluates positions `start..start + n` of the walk into `out` (the bytes of `n`
    /// native elements of [`Program::kind`]).
    pub fn eval_block(
        &self,
        sources: &[crate::map::Source<'_>],
        start: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let kind = self.kind();
        let n = out.len() / kind.size();
        let env = Env { sources, start, n };
        SCRATCH.with(|s| {
            let mut scratch = s.borrow_mut();
            real!(kind, T => {
                let op = T::unwrap_ref(&self.root).ok_or_else(|| internal("root type"))?;
                match bytemuck::try_cast_slice_mut::<u8, T>(out) {
                    Ok(typed) => op.eval_into(&env, typed, &mut scratch),
                    Err(_) => {
                        let mut tmp = vec![T::default(); n];
                        op.eval_into(&env, &mut tmp, &mut scratch)?;
                        out.copy_from_slice(bytemuck::cast_slice(&tmp));
                        Ok(())
                    }
                }
            })
        })
    }
}

/// Borrowing access to a [`Typed`]'s operand.
trait UnwrapRef: Sized {
    fn unwrap_ref(t: &Typed) -> Option<&Operand<Self>>;
}
macro_rules! unwrap_ref {
    ($($t:ty => $v:ident),*) => {$(
        impl UnwrapRef for $t {
            fn unwrap_ref(t: &Typed) -> Option<&Operand<Self>> {
                match t { Typed::$v(o) => Some(o), _ => None }
            }
        }
    )*};
}
unwrap_ref!(Bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64, f16 => F16, f32 => F32, f64 => F64);

/// What `outcore eval` made.
#[derive(Debug, Clone)]
pub struct EvalSummary {
    pub layout: Layout,
}

/// Evaluates `expr` over the named inputs into a new `.npy` file at `dest` (written
/// atomically). `dtype` converts the result (NumPy `astype`); without it the result has the
/// promoted dtype in native byte order. Inputs broadcast as in NumPy; the result is C order
/// whatever the inputs' orders (spec §5: outputs are C order).
pub fn eval_to_file(
    ctx: &Context,
    expr: &str,
    inputs: &[(&str, &Array)],
    dest: impl AsRef<Path>,
    dtype: Option<&DType>,
    opts: &OutputOptions,
) -> Result<EvalSummary> {
    let expr = Expr::parse(expr)?;
    let mut seen = HashMap::new();
    for (name, a) in inputs {
        if parse::RESERVED.contains(name) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("'{name}' is a literal and cannot name an input"),
            ));
        }
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("'{name}' is not a valid input name"),
            ));
        }
        if seen.insert(*name, a.path()).is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("input name '{name}' is bound twice"),
            ));
        }
    }
    let used = expr.names();
    let mut arrays = Vec::new();
    let mut kinds = Vec::new();
    for name in &used {
        if let Some((_, a)) = inputs.iter().find(|(n, _)| n == name) {
            let kind = a
                .dtype()
                .require_real("eval")
                .map_err(|e| e.with_path(a.path()))?;
            arrays.push(*a);
            kinds.push((name.as_str(), kind));
        }
    }
    if let Some(d) = dtype {
        d.require_real("eval --dtype")?;
    }
    // Type-check before broadcasting so that unknown names are reported first.
    let bound: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    let program = expr.compile_bound(&kinds, &bound, None)?;
    let b = Broadcast::new(&arrays).map_err(|e| {
        let shapes: Vec<String> = used
            .iter()
            .zip(&arrays)
            .map(|(n, a)| format!("{n}: {:?}", a.shape()))
            .collect();
        Error::new(
            ErrorKind::Shape,
            format!(
                "inputs cannot be broadcast together ({}): {}",
                shapes.join(", "),
                e.message()
            ),
        )
    })?;
    if b.is_empty() {
        check_powers_of_empty_result(ctx, &expr, inputs)?;
    }
    let native = DType::native(program.kind());
    let out_dtype = dtype.cloned().unwrap_or_else(|| native.clone());
    let layout = b.layout(out_dtype.clone())?;
    let mut opts = opts.clone();
    opts.inputs
        .extend(arrays.iter().map(|a| a.path().to_path_buf()));
    let mut out = OutputFile::create_npy(dest, &layout, &opts)?;
    let item = out_dtype.itemsize();
    let direct = out_dtype == native;
    b.run_blocks(ctx, "eval", Dest::File(&mut out), item, |start, bytes| {
        if direct {
            return program.eval_block(b.sources(), start, bytes);
        }
        // `--dtype`: evaluate in the promoted dtype, then NumPy's astype into the output's.
        let n = bytes.len() / item;
        let mut tmp = vec![0u8; n * native.itemsize()];
        program.eval_block(b.sources(), start, &mut tmp)?;
        crate::cast::cast_bytes(&tmp, &native, bytes, &out_dtype)
    })?;
    out.commit()?;
    Ok(EvalSummary { layout })
}

/// NumPy evaluates every subexpression eagerly, over its own broadcast shape, so an integer
/// power with a negative exponent raises even when the whole result is empty (`e + x ** -1`
/// with `e` empty and `x` not). An empty result evaluates nothing here; so each power whose
/// own operands are not empty is evaluated alone (its values discarded), for that error.
fn check_powers_of_empty_result(
    ctx: &Context,
    expr: &Expr,
    inputs: &[(&str, &Array)],
) -> Result<()> {
    fn powers<'a>(ast: &'a Ast, out: &mut Vec<&'a Ast>) {
        match ast {
            Ast::Lit { .. } | Ast::Name { .. } => {}
            Ast::Unary { arg, .. } => powers(arg, out),
            Ast::Binary { op, a, b, .. } => {
                if *op == BinKind::Pow {
                    out.push(ast);
                }
                powers(a, out);
                powers(b, out);
            }
            Ast::Call { args, .. } => args.iter().for_each(|a| powers(a, out)),
        }
    }
    let mut found = Vec::new();
    powers(&expr.ast, &mut found);
    for pow in found {
        let sub = Expr {
            source: expr.source.clone(),
            ast: pow.clone(),
        };
        let mut arrays = Vec::new();
        let mut kinds = Vec::new();
        for name in sub.names() {
            if let Some((n, a)) = inputs.iter().find(|(n, _)| *n == name) {
                arrays.push(*a);
                kinds.push((*n, a.dtype().require_real("eval")?));
            }
        }
        let program = sub.compile(&kinds, None)?;
        if program.kind().is_float() {
            continue; // float powers never raise
        }
        let b = Broadcast::new(&arrays)?;
        if b.is_empty() {
            continue;
        }
        let item = program.kind().size();
        b.run_blocks(ctx, "eval", Dest::Discard, item, |start, bytes| {
            program.eval_block(b.sources(), start, bytes)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarKind::{Bool as B, F16, F32, F64, I16, I32, I64, I8, U16, U32, U64, U8};

    #[test]
    fn promotion_table_matches_numpy() {
        assert_eq!(promote(I8, U8), I16);
        assert_eq!(promote(I64, U64), F64);
        assert_eq!(promote(U32, I32), I64);
        assert_eq!(promote(I32, U16), I32);
        assert_eq!(promote(F16, I16), F32);
        assert_eq!(promote(F16, U8), F16);
        assert_eq!(promote(F32, I32), F64);
        assert_eq!(promote(B, F16), F16);
        assert_eq!(promote(F32, F64), F64);
        assert_eq!(float_result(I8), F16);
        assert_eq!(float_result(U16), F32);
        assert_eq!(float_result(I32), F64);
    }

    fn kind_of(src: &str, inputs: &[(&str, ScalarKind)]) -> Result<ScalarKind> {
        Expr::parse(src)?.compile(inputs, None).map(|p| p.kind())
    }

    #[test]
    fn literals_are_weak() {
        assert_eq!(kind_of("2*x", &[("x", F32)]).unwrap(), F32);
        assert_eq!(kind_of("x + 1.5", &[("x", I32)]).unwrap(), F64);
        assert_eq!(kind_of("x + 1", &[("x", B)]).unwrap(), I64);
        assert_eq!(kind_of("x / 2", &[("x", I8)]).unwrap(), F64);
        assert_eq!(kind_of("x // y", &[("x", B), ("y", B)]).unwrap(), I8);
        assert_eq!(kind_of("sqrt(x)", &[("x", U8)]).unwrap(), F16);
        assert_eq!(kind_of("sqrt(2) * x", &[("x", F32)]).unwrap(), F64);
        assert_eq!(kind_of("x < 300", &[("x", U8)]).unwrap(), B);
        assert_eq!(kind_of("1 + 2", &[]).unwrap(), I64);
        assert_eq!(kind_of("where(x > 0, x, 2.5)", &[("x", U8)]).unwrap(), F64);
        assert_eq!(kind_of("clip(x, 0, 300)", &[("x", U8)]).unwrap(), U8);
        let e = kind_of("clip(x, 300, 400)", &[("x", U8)]).unwrap_err();
        assert!(e.message().contains("300 out of bounds for uint8"), "{e}");
        let e = kind_of("clip(x, 0, -5)", &[("x", U8)]).unwrap_err();
        assert!(e.message().contains("-5 out of bounds for uint8"), "{e}");
        // A float bound makes the clip a float one: an int bound outside uint64 is fine then.
        assert_eq!(kind_of("clip(x, 3.25, -2)", &[("x", U64)]).unwrap(), F64);
        assert_eq!(
            kind_of("clip(x, y, -2)", &[("x", U8), ("y", I16)]).unwrap(),
            I16
        );
        assert_eq!(kind_of("round(x)", &[("x", B)]).unwrap(), F16);
        let e = kind_of("x + 300", &[("x", U8)]).unwrap_err();
        assert!(e.message().contains("out of bounds for uint8"), "{e}");
        let e = kind_of("x - x", &[("x", B)]).unwrap_err();
        assert!(e.message().contains("boolean subtract"), "{e}");
        let e = kind_of("x & 1.5", &[("x", I32)]).unwrap_err();
        assert!(e.message().contains("column"), "{e}");
        let e = kind_of("foo(x)", &[("x", I32)]).unwrap_err();
        assert!(e.message().contains("unknown function 'foo'"), "{e}");
        let e = kind_of("x + z", &[("x", I32)]).unwrap_err();
        assert!(
            e.message().contains("unknown name 'z'") && e.message().contains("column 5"),
            "{e}"
        );
    }
}
