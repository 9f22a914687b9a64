//! Native element types tied to their runtime [`ScalarKind`], and the one dispatch point from a
//! runtime kind to monomorphised code ([`with_scalar_type!`](crate::with_scalar_type)).

use std::fmt::Debug;

use bytemuck::{Pod, Zeroable};
use half::f16;

use crate::dtype::{ByteOrder, DType, ScalarKind};

/// NumPy's `bool`: one byte, 0 or 1 (any non-zero byte reads as true).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Pod, Zeroable)]
#[repr(transparent)]
pub struct Bool(pub u8);

impl Bool {
    /// The value as a Rust `bool` (any non-zero byte is true, as in NumPy).
    pub fn get(self) -> bool {
        self.0 != 0
    }
}

impl From<bool> for Bool {
    fn from(b: bool) -> Bool {
        Bool(b as u8)
    }
}

impl Debug for Bool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A native element type outcore computes with. Sealed: the set is the dtype table of the spec.
pub trait Element:
    Pod + Copy + Send + Sync + PartialEq + Debug + Default + sealed::Sealed + 'static
{
    /// The scalar kind this type reads and writes.
    const KIND: ScalarKind;

    /// The value with its bytes reversed (reading an element stored in the other byte order).
    fn swap_bytes(self) -> Self;

    /// The native dtype of this element type.
    fn dtype() -> DType {
        DType::scalar(Self::KIND, ByteOrder::NATIVE)
    }
}

macro_rules! int_element {
    ($($t:ty => $kind:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const KIND: ScalarKind = ScalarKind::$kind;
            #[inline(always)]
            fn swap_bytes(self) -> Self { <$t>::swap_bytes(self) }
        }
    )*};
}
int_element!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64);

impl sealed::Sealed for Bool {}
impl Element for Bool {
    const KIND: ScalarKind = ScalarKind::Bool;
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        self
    }
}

impl sealed::Sealed for f16 {}
impl Element for f16 {
    const KIND: ScalarKind = ScalarKind::F16;
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        f16::from_bits(self.to_bits().swap_bytes())
    }
}

impl sealed::Sealed for f32 {}
impl Element for f32 {
    const KIND: ScalarKind = ScalarKind::F32;
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        f32::from_bits(self.to_bits().swap_bytes())
    }
}

impl sealed::Sealed for f64 {}
impl Element for f64 {
    const KIND: ScalarKind = ScalarKind::F64;
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        f64::from_bits(self.to_bits().swap_bytes())
    }
}

macro_rules! complex_element {
    ($name:ident, $t:ty, $kind:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Debug, Default, Pod, Zeroable)]
        #[repr(C)]
        pub struct $name {
            /// The real part.
            pub re: $t,
            /// The imaginary part.
            pub im: $t,
        }

        impl sealed::Sealed for $name {}
        impl Element for $name {
            const KIND: ScalarKind = ScalarKind::$kind;
            fn swap_bytes(self) -> Self {
                $name {
                    re: Element::swap_bytes(self.re),
                    im: Element::swap_bytes(self.im),
                }
            }
        }
    };
}
complex_element!(
    Complex64,
    f32,
    C64,
    "NumPy's `complex64`: real part, then imaginary part, as `f32`."
);
complex_element!(
    Complex128,
    f64,
    C128,
    "NumPy's `complex128`: real part, then imaginary part, as `f64`."
);

/// Swaps every element of a slice in place (no-op for one-byte types).
pub fn swap_in_place<T: Element>(values: &mut [T]) {
    if std::mem::size_of::<T>() > 1 {
        for v in values {
            *v = v.swap_bytes();
        }
    }
}

/// The one dispatch point from a runtime [`ScalarKind`] to monomorphised code.
///
/// `with_scalar_type!(kind, T => expr)` evaluates `expr` with `T` bound to the native type of
/// `kind` (`Bool`, `i8`…`u64`, `half::f16`, `f32`, `f64`, `Complex64`, `Complex128`).
/// The `real` form skips complex kinds and evaluates the `complex` arm for them instead.
#[macro_export]
macro_rules! with_scalar_type {
    ($kind:expr, $t:ident => $body:expr) => {
        $crate::with_scalar_type!($kind, $t => $body, complex => {
            match $kind {
                $crate::ScalarKind::C64 => { type $t = $crate::Complex64; $body }
                _ => { type $t = $crate::Complex128; $body }
            }
        })
    };
    ($kind:expr, $t:ident => $body:expr, complex => $complex:expr) => {
        match $kind {
            $crate::ScalarKind::Bool => { type $t = $crate::Bool; $body }
            $crate::ScalarKind::I8 => { type $t = i8; $body }
            $crate::ScalarKind::I16 => { type $t = i16; $body }
            $crate::ScalarKind::I32 => { type $t = i32; $body }
            $crate::ScalarKind::I64 => { type $t = i64; $body }
            $crate::ScalarKind::U8 => { type $t = u8; $body }
            $crate::ScalarKind::U16 => { type $t = u16; $body }
            $crate::ScalarKind::U32 => { type $t = u32; $body }
            $crate::ScalarKind::U64 => { type $t = u64; $body }
            $crate::ScalarKind::F16 => { type $t = $crate::f16; $body }
            $crate::ScalarKind::F32 => { type $t = f32; $body }
            $crate::ScalarKind::F64 => { type $t = f64; $body }
            $crate::ScalarKind::C64 | $crate::ScalarKind::C128 => $complex,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of<T: Element>() -> ScalarKind {
        T::KIND
    }

    #[test]
    fn dispatch_binds_the_matching_type() {
        for kind in ScalarKind::ALL {
            let got = with_scalar_type!(kind, T => (kind_of::<T>(), std::mem::size_of::<T>()));
            assert_eq!(got, (kind, kind.size()));
        }
    }

    #[test]
    fn swapping_reverses_bytes() {
        assert_eq!(
            Element::swap_bytes(1.0f64).to_bits(),
            1.0f64.to_bits().swap_bytes()
        );
        assert_eq!(Element::swap_bytes(0x0102i16), 0x0201);
        let mut v = [f16::from_f32(1.0)];
        swap_in_place(&mut v);
        assert_eq!(v[0].to_bits(), f16::from_f32(1.0).to_bits().swap_bytes());
    }
}
