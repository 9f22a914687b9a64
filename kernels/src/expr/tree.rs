//! The compiled form of an expression: a tree of typed block kernels. Each node fills a block
//! of up to [`BLOCK`](crate::map::BLOCK) output values from its operands' blocks, so the work
//! is a handful of tight loops per block rather than an interpretation per element.

use std::marker::PhantomData;

use outcore_engine::{Bool, Error, ErrorKind, Result};

use crate::map::{Source, Values, BLOCK};
use crate::num::{CalcFloat, Float, Num};

/// The positions a block covers, and the inputs.
pub struct Env<'e> {
    pub sources: &'e [Source<'e>],
    pub start: usize,
    pub n: usize,
}

/// Reusable block buffers (8-byte aligned, so any element type can be viewed in them).
#[derive(Default)]
pub struct Scratch {
    free: Vec<Vec<u64>>,
}

impl Scratch {
    fn take(&mut self) -> Vec<u64> {
        self.free.pop().unwrap_or_else(|| vec![0u64; BLOCK])
    }
    fn give(&mut self, buf: Vec<u64>) {
        self.free.push(buf);
    }
}

fn typed_mut<T: Num>(buf: &mut [u64]) -> &mut [T] {
    bytemuck::cast_slice_mut(buf)
}

/// A block kernel producing values of type `T`.
pub trait Node<T>: Send + Sync {
    fn eval(&self, env: &Env<'_>, out: &mut [T], scratch: &mut Scratch) -> Result<()>;
}

/// An operand of a node: a constant, an input, or another node.
pub enum Operand<T> {
    Const(T),
    Input(usize),
    Node(Box<dyn Node<T>>),
}

impl<T: Num> Operand<T> {
    fn values<'b>(
        &'b self,
        env: &'b Env<'_>,
        buf: &'b mut [u64],
        scratch: &mut Scratch,
    ) -> Result<Values<'b, T>> {
        match self {
            Operand::Const(c) => Ok(Values::Scalar(*c)),
            Operand::Input(i) => env.sources[*i].values::<T>(env.start, env.n, typed_mut(buf)),
            Operand::Node(node) => {
                let out = &mut typed_mut::<T>(buf)[..env.n];
                node.eval(env, out, scratch)?;
                Ok(Values::Slice(out))
            }
        }
    }

    /// Evaluates into `out` (the root of a tree writes straight into the destination).
    pub fn eval_into(&self, env: &Env<'_>, out: &mut [T], scratch: &mut Scratch) -> Result<()> {
        match self {
            Operand::Const(c) => {
                out.fill(*c);
                Ok(())
            }
            Operand::Node(node) => node.eval(env, out, scratch),
            Operand::Input(_) => {
                let mut buf = scratch.take();
                let v = self.values(env, &mut buf, &mut Scratch::default())?;
                copy_values(v, out);
                scratch.give(buf);
                Ok(())
            }
        }
    }
}

fn copy_values<T: Copy>(v: Values<'_, T>, out: &mut [T]) {
    match v {
        Values::Slice(s) => out.copy_from_slice(&s[..out.len()]),
        Values::Scalar(c) => out.fill(c),
    }
}

/// An elementwise function of one value.
pub trait UnOp<T>: Send + Sync + 'static {
    type Out: Num;
    fn apply(a: T) -> Self::Out;
}

/// An elementwise function of two values.
pub trait BinOp<T>: Send + Sync + 'static {
    type Out: Num;
    fn apply(a: T, b: T) -> Self::Out;
    /// Refuses a right operand the operation has no value for (negative integer powers).
    fn check(_b: T) -> Result<()> {
        Ok(())
    }
}

pub struct Un<T, Op> {
    pub a: Operand<T>,
    _op: PhantomData<fn() -> Op>,
}

impl<T: Num, Op: UnOp<T>> Un<T, Op> {
    pub fn operand(a: Operand<T>) -> Operand<Op::Out> {
        if let Operand::Const(c) = a {
            return Operand::Const(Op::apply(c));
        }
        Operand::Node(Box::new(Un::<T, Op> {
            a,
            _op: PhantomData,
        }))
    }
}

impl<T: Num, Op: UnOp<T>> Node<Op::Out> for Un<T, Op> {
    fn eval(&self, env: &Env<'_>, out: &mut [Op::Out], scratch: &mut Scratch) -> Result<()> {
        let mut buf = scratch.take();
        match self.a.values(env, &mut buf, scratch)? {
            Values::Slice(a) => {
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = Op::apply(x);
                }
            }
            Values::Scalar(x) => out.fill(Op::apply(x)),
        }
        scratch.give(buf);
        Ok(())
    }
}

pub struct Bin<T, Op> {
    pub a: Operand<T>,
    pub b: Operand<T>,
    _op: PhantomData<fn() -> Op>,
}

impl<T: Num, Op: BinOp<T>> Bin<T, Op> {
    pub fn operand(a: Operand<T>, b: Operand<T>) -> Result<Operand<Op::Out>> {
        if let (Operand::Const(x), Operand::Const(y)) = (&a, &b) {
            Op::check(*y)?;
            return Ok(Operand::Const(Op::apply(*x, *y)));
        }
        Ok(Operand::Node(Box::new(Bin::<T, Op> {
            a,
            b,
            _op: PhantomData,
        })))
    }
}

impl<T: Num, Op: BinOp<T>> Node<Op::Out> for Bin<T, Op> {
    fn eval(&self, env: &Env<'_>, out: &mut [Op::Out], scratch: &mut Scratch) -> Result<()> {
        let (mut ba, mut bb) = (scratch.take(), scratch.take());
        {
            let a = self.a.values(env, &mut ba, scratch)?;
            let b = self.b.values(env, &mut bb, scratch)?;
            match b {
                Values::Slice(s) => s.iter().try_for_each(|&y| Op::check(y))?,
                Values::Scalar(y) => Op::check(y)?,
            }
            match (a, b) {
                (Values::Slice(a), Values::Slice(b)) => {
                    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = Op::apply(x, y);
                    }
                }
                (Values::Slice(a), Values::Scalar(y)) => {
                    for (o, &x) in out.iter_mut().zip(a) {
                        *o = Op::apply(x, y);
                    }
                }
                (Values::Scalar(x), Values::Slice(b)) => {
                    for (o, &y) in out.iter_mut().zip(b) {
                        *o = Op::apply(x, y);
                    }
                }
                (Values::Scalar(x), Values::Scalar(y)) => out.fill(Op::apply(x, y)),
            }
        }
        scratch.give(ba);
        scratch.give(bb);
        Ok(())
    }
}

/// A type conversion node.
pub struct Cast<S, T> {
    a: Operand<S>,
    _t: PhantomData<fn() -> T>,
}

impl<S: Num, T: Num> Cast<S, T> {
    pub fn operand(a: Operand<S>) -> Operand<T> {
        if let Operand::Const(c) = a {
            return Operand::Const(c.cast::<T>());
        }
        Operand::Node(Box::new(Cast::<S, T> { a, _t: PhantomData }))
    }
}

impl<S: Num, T: Num> Node<T> for Cast<S, T> {
    fn eval(&self, env: &Env<'_>, out: &mut [T], scratch: &mut Scratch) -> Result<()> {
        let mut buf = scratch.take();
        match self.a.values(env, &mut buf, scratch)? {
            Values::Slice(a) => {
                for (o, &x) in out.iter_mut().zip(a) {
                    *o = x.cast::<T>();
                }
            }
            Values::Scalar(x) => out.fill(x.cast::<T>()),
        }
        scratch.give(buf);
        Ok(())
    }
}

/// `where(c, a, b)`.
pub struct Where<T> {
    c: Operand<Bool>,
    a: Operand<T>,
    b: Operand<T>,
}

impl<T: Num> Where<T> {
    pub fn operand(c: Operand<Bool>, a: Operand<T>, b: Operand<T>) -> Operand<T> {
        if let Operand::Const(k) = c {
            // A constant condition picks a branch; the other is still computed when it is a
            // computation, since NumPy evaluates both (and raises for errors in either).
            let dropped = if k.get() { &b } else { &a };
            if !matches!(dropped, Operand::Node(_)) {
                return if k.get() { a } else { b };
            }
        }
        Operand::Node(Box::new(Where { c, a, b }))
    }
}

impl<T: Num> Node<T> for Where<T> {
    fn eval(&self, env: &Env<'_>, out: &mut [T], scratch: &mut Scratch) -> Result<()> {
        let (mut bc, mut ba, mut bb) = (scratch.take(), scratch.take(), scratch.take());
        {
            let c = self.c.values(env, &mut bc, scratch)?;
            let a = self.a.values(env, &mut ba, scratch)?;
            let b = self.b.values(env, &mut bb, scratch)?;
            for (i, o) in out.iter_mut().enumerate() {
                *o = if c.get(i).get() { a.get(i) } else { b.get(i) };
            }
        }
        scratch.give(bc);
        scratch.give(ba);
        scratch.give(bb);
        Ok(())
    }
}

/// A comparison between an int64 and a uint64 operand, exact as in NumPy 2 (no float
/// promotion).
pub struct MixedCmp<Op> {
    a: Operand<i64>,
    b: Operand<u64>,
    _op: PhantomData<fn() -> Op>,
}

impl<Op: BinOp<i128, Out = Bool>> MixedCmp<Op> {
    pub fn operand(a: Operand<i64>, b: Operand<u64>) -> Operand<Bool> {
        if let (Operand::Const(x), Operand::Const(y)) = (&a, &b) {
            return Operand::Const(Op::apply(*x as i128, *y as i128));
        }
        Operand::Node(Box::new(MixedCmp::<Op> {
            a,
            b,
            _op: PhantomData,
        }))
    }
}

impl<Op: BinOp<i128, Out = Bool>> Node<Bool> for MixedCmp<Op> {
    fn eval(&self, env: &Env<'_>, out: &mut [Bool], scratch: &mut Scratch) -> Result<()> {
        let (mut ba, mut bb) = (scratch.take(), scratch.take());
        {
            let a = self.a.values(env, &mut ba, scratch)?;
            let b = self.b.values(env, &mut bb, scratch)?;
            for (i, o) in out.iter_mut().enumerate() {
                *o = Op::apply(a.get(i) as i128, b.get(i) as i128);
            }
        }
        scratch.give(ba);
        scratch.give(bb);
        Ok(())
    }
}

macro_rules! bin_ops {
    ($($name:ident: |$a:ident, $b:ident| $body:expr;)*) => {$(
        pub struct $name;
        impl<T: Num> BinOp<T> for $name {
            type Out = T;
            #[inline(always)]
            fn apply($a: T, $b: T) -> T { $body }
        }
    )*};
}
bin_ops! {
    Add: |a, b| a.add(b);
    Sub: |a, b| a.sub(b);
    Mul: |a, b| a.mul(b);
    FloorDiv: |a, b| a.floordiv(b);
    Rem: |a, b| a.rem(b);
    Minimum: |a, b| a.minimum(b);
    Maximum: |a, b| a.maximum(b);
    // clip's two halves: a value equal to a bound is kept (so is the sign of a zero), a NaN
    // value or bound gives NaN, as NumPy's clip.
    ClipLo: |x, lo| if x.is_nan() || !(lo.is_nan() || x < lo) { x } else { lo };
    ClipHi: |x, hi| if x.is_nan() || !(hi.is_nan() || x > hi) { x } else { hi };
    // The same where NumPy's float clip loop runs over array bounds: a tie takes the bound.
    ClipLoBound: |x, lo| if x.is_nan() || (!lo.is_nan() && x > lo) { x } else { lo };
    ClipHiBound: |x, hi| if x.is_nan() || (!hi.is_nan() && x < hi) { x } else { hi };
    BitAnd: |a, b| a.bitand(b);
    BitOr: |a, b| a.bitor(b);
    BitXor: |a, b| a.bitxor(b);
}

pub struct Pow;
impl<T: Num> BinOp<T> for Pow {
    type Out = T;
    #[inline(always)]
    fn apply(a: T, b: T) -> T {
        a.pow(b)
    }
    fn check(b: T) -> Result<()> {
        if b.bad_exponent() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "integers to negative integer powers are not allowed (as in NumPy; use a float base)",
            ));
        }
        Ok(())
    }
}

pub struct Div;
impl<T: Float> BinOp<T> for Div {
    type Out = T;
    #[inline(always)]
    fn apply(a: T, b: T) -> T {
        T::down(a.up().div(b.up()))
    }
}

pub struct Atan2;
impl<T: Float> BinOp<T> for Atan2 {
    type Out = T;
    #[inline(always)]
    fn apply(a: T, b: T) -> T {
        T::down(a.up().atan2(b.up()))
    }
}

macro_rules! cmp_ops {
    ($($name:ident: $op:tt;)*) => {$(
        pub struct $name;
        impl<T: PartialOrd + Copy + Send + Sync + 'static> BinOp<T> for $name {
            type Out = Bool;
            #[inline(always)]
            fn apply(a: T, b: T) -> Bool { Bool((a $op b) as u8) }
        }
    )*};
}
cmp_ops! { Lt: <; Le: <=; Gt: >; Ge: >=; Eq: ==; Ne: !=; }

macro_rules! un_ops {
    ($($name:ident: |$a:ident| $body:expr;)*) => {$(
        pub struct $name;
        impl<T: Num> UnOp<T> for $name {
            type Out = T;
            #[inline(always)]
            fn apply($a: T) -> T { $body }
        }
    )*};
}
un_ops! {
    Neg: |a| a.neg();
    Abs: |a| a.abs();
    Not: |a| a.not();
    Floor: |a| a.floor();
    Ceil: |a| a.ceil();
    Round: |a| a.round();
    // NumPy's `square`, which `x ** 2` runs for float arrays: one rounding, where `pow` may be
    // an ulp off.
    Square: |a| a.mul(a);
}

/// NumPy's `reciprocal`, which `x ** -1` runs for float arrays.
pub struct Reciprocal;
impl<T: Float> UnOp<T> for Reciprocal {
    type Out = T;
    #[inline(always)]
    fn apply(a: T) -> T {
        T::down(CalcFloat::div(T::from_f64(1.0).up(), a.up()))
    }
}

pub struct IsNan;
impl<T: Num> UnOp<T> for IsNan {
    type Out = Bool;
    #[inline(always)]
    fn apply(a: T) -> Bool {
        Bool(a.is_nan() as u8)
    }
}
pub struct IsFinite;
impl<T: Num> UnOp<T> for IsFinite {
    type Out = Bool;
    #[inline(always)]
    fn apply(a: T) -> Bool {
        Bool(a.is_finite() as u8)
    }
}
pub struct Truth;
impl<T: Num> UnOp<T> for Truth {
    type Out = Bool;
    #[inline(always)]
    fn apply(a: T) -> Bool {
        Bool(a.is_true() as u8)
    }
}

macro_rules! float_fns {
    ($($name:ident: $f:ident;)*) => {$(
        pub struct $name;
        impl<T: Float> UnOp<T> for $name {
            type Out = T;
            #[inline(always)]
            fn apply(a: T) -> T { T::down(CalcFloat::$f(a.up())) }
        }
    )*};
}
float_fns! {
    Sqrt: sqrt; Exp: exp; Log: ln; Log10: log10; Log1p: ln_1p; Expm1: exp_m1;
    Sin: sin; Cos: cos; Tan: tan; Arcsin: asin; Arccos: acos; Arctan: atan;
    Sinh: sinh; Cosh: cosh; Tanh: tanh;
}
