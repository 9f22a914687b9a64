//! Compiled values ([`Typed`]: a tree of one element type, the type known at run time), the
//! moves between them and typed trees, and the macros that run generic code for a kind.

use half::f16;
use outcore_engine::{Bool, Error, ErrorKind, Result, ScalarKind};

use super::tree::*;
use crate::num::Num;

/// A compiled expression value of some element type.
pub enum Typed {
    /// A bool operand.
    Bool(Operand<Bool>),
    /// An int8 operand.
    I8(Operand<i8>),
    /// An int16 operand.
    I16(Operand<i16>),
    /// An int32 operand.
    I32(Operand<i32>),
    /// An int64 operand.
    I64(Operand<i64>),
    /// A uint8 operand.
    U8(Operand<u8>),
    /// A uint16 operand.
    U16(Operand<u16>),
    /// A uint32 operand.
    U32(Operand<u32>),
    /// A uint64 operand.
    U64(Operand<u64>),
    /// A float16 operand.
    F16(Operand<f16>),
    /// A float32 operand.
    F32(Operand<f32>),
    /// A float64 operand.
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
            /// The operand's scalar kind.
            pub fn kind(&self) -> ScalarKind {
                match self { $(Typed::$v(_) => ScalarKind::$v,)* }
            }
            /// A constant (a literal, or folded from literals) rather than per-element values.
            pub(super) fn is_const(&self) -> bool {
                match self { $(Typed::$v(o) => matches!(o, Operand::Const(_)),)* }
            }
            /// Computed per element (not a constant or an input), so it may raise.
            pub(super) fn is_computed(&self) -> bool {
                match self { $(Typed::$v(o) => matches!(o, Operand::Node(_)),)* }
            }
        }
    };
}
wrap!(Bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64, f16 => F16, f32 => F32, f64 => F64);

pub(super) fn internal(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("internal typing error: {what}"),
    )
}

pub(super) fn un_op<T: Num + Wrap, Op: UnOp<T>>(t: Typed) -> Result<Typed>
where
    Op::Out: Wrap,
{
    let a = T::unwrap(t).ok_or_else(|| internal("operand type"))?;
    Ok(<Op::Out as Wrap>::wrap(Un::<T, Op>::operand(a)))
}

pub(super) fn bin_op<T: Num + Wrap, Op: BinOp<T>>(a: Typed, b: Typed) -> Result<Typed>
where
    Op::Out: Wrap,
{
    let a = T::unwrap(a).ok_or_else(|| internal("left operand type"))?;
    let b = T::unwrap(b).ok_or_else(|| internal("right operand type"))?;
    Ok(<Op::Out as Wrap>::wrap(Bin::<T, Op>::operand(a, b)?))
}

/// Runs `$body` with `$T` bound to the element type of a real kind.
macro_rules! real {
    ($kind:expr, $T:ident => $body:expr) => {
        outcore_engine::with_scalar_type!($kind, $T => $body, complex => Err(internal("complex operand")))
    };
}

/// Like [`real!`] for float kinds only.
macro_rules! float {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            ScalarKind::F16 => {
                type $T = half::f16;
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
pub(super) fn cast(t: Typed, to: ScalarKind) -> Result<Typed> {
    let from = t.kind();
    if from == to {
        return Ok(t);
    }
    real!(from, S => {
        let a = S::unwrap(t).ok_or_else(|| internal("cast operand"))?;
        real!(to, T => Ok(T::wrap(Cast::<S, T>::operand(a))))
    })
}

/// Borrowing access to a [`Typed`]'s operand.
pub(super) trait UnwrapRef: Sized {
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
