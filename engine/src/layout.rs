//! The logical description of an array: dtype, shape and memory order, with every size
//! computation checked once, at construction.

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};

/// Memory order of an N-d array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Row-major: the last axis varies fastest.
    C,
    /// Column-major: the first axis varies fastest.
    F,
}

impl Order {
    /// Parses `C` or `F`.
    pub fn parse(s: &str) -> Result<Order> {
        match s {
            "C" | "c" => Ok(Order::C),
            "F" | "f" => Ok(Order::F),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown order {s:?} (expected C or F)"),
            )),
        }
    }

    /// `"C"` or `"F"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::C => "C",
            Order::F => "F",
        }
    }
}

/// dtype + shape + order, with `len` and `nbytes` known not to overflow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Layout {
    dtype: DType,
    shape: Vec<usize>,
    order: Order,
    len: usize,
    nbytes: usize,
}

/// The largest array outcore accepts (bytes); keeps every offset inside `i64`/`off_t`.
const MAX_NBYTES: usize = i64::MAX as usize;

impl Layout {
    /// A layout, checking that the size in bytes does not overflow.
    pub fn new(dtype: DType, shape: Vec<usize>, order: Order) -> Result<Layout> {
        let overflow = || {
            Error::new(
                ErrorKind::Overflow,
                format!(
                    "shape {shape:?} × itemsize {} overflows: array too large",
                    dtype.itemsize()
                ),
            )
        };
        let len = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(overflow)?;
        let nbytes = len
            .checked_mul(dtype.itemsize())
            .filter(|&n| n <= MAX_NBYTES)
            .ok_or_else(overflow)?;
        // Also guard every partial product (strides) against overflow.
        shape
            .iter()
            .try_fold(dtype.itemsize(), |acc, &d| acc.checked_mul(d.max(1)))
            .filter(|&n| n <= MAX_NBYTES)
            .ok_or_else(overflow)?;
        Ok(Layout {
            dtype,
            shape,
            order,
            len,
            nbytes,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> &DType {
        &self.dtype
    }
    /// Elements per axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The memory order.
    pub fn order(&self) -> Order {
        self.order
    }
    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The size in bytes.
    pub fn nbytes(&self) -> usize {
        self.nbytes
    }
    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        self.dtype.itemsize()
    }

    /// Element strides (in elements, not bytes) of each axis for this layout's order.
    pub fn strides(&self) -> Vec<usize> {
        strides_for(&self.shape, self.order)
    }

    /// True when memory order equals C (logical) order: C order, or at most one axis longer
    /// than 1.
    pub fn is_c_contiguous(&self) -> bool {
        self.order == Order::C || self.shape.iter().filter(|&&d| d > 1).count() <= 1
    }

    /// The same shape and order with another dtype.
    pub fn with_dtype(&self, dtype: DType) -> Result<Layout> {
        Layout::new(dtype, self.shape.clone(), self.order)
    }
}

/// Element strides of a shape in the given order.
pub fn strides_for(shape: &[usize], order: Order) -> Vec<usize> {
    let mut strides = vec![0usize; shape.len()];
    let mut acc = 1usize;
    match order {
        Order::C => {
            for (s, d) in strides.iter_mut().zip(shape).rev() {
                *s = acc;
                acc = acc.saturating_mul(*d);
            }
        }
        Order::F => {
            for (s, d) in strides.iter_mut().zip(shape) {
                *s = acc;
                acc = acc.saturating_mul(*d);
            }
        }
    }
    strides
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::ScalarKind;

    #[test]
    fn sizes_and_strides() {
        let l = Layout::new(DType::native(ScalarKind::F64), vec![2, 3, 4], Order::C).unwrap();
        assert_eq!((l.len(), l.nbytes()), (24, 192));
        assert_eq!(l.strides(), vec![12, 4, 1]);
        assert_eq!(strides_for(&[2, 3, 4], Order::F), vec![1, 2, 6]);
        let scalar = Layout::new(DType::native(ScalarKind::I8), vec![], Order::C).unwrap();
        assert_eq!(scalar.len(), 1);
    }

    #[test]
    fn overflow_is_an_error() {
        let e = Layout::new(
            DType::native(ScalarKind::F64),
            vec![1 << 40, 1 << 40],
            Order::C,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Overflow);
        let e = Layout::new(DType::native(ScalarKind::F64), vec![1 << 61], Order::C).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Overflow);
        // Zero-size arrays with huge other axes are fine in NumPy only if the product fits.
        assert!(Layout::new(DType::native(ScalarKind::F64), vec![0, 1 << 20], Order::C).is_ok());
    }
}
