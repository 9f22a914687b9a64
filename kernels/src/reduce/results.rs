//! Plain values out of reduction results, for programs that embed outcore.

use outcore_engine::{Element, Error, ErrorKind, Result};

use super::{AxisReduced, Reduced, Value};

impl Value {
    /// The value as a float: integers converted (rounded beyond 2^53), `true` as 1.
    pub fn to_f64(self) -> f64 {
        match self {
            Value::Bool(b) => f64::from(u8::from(b)),
            Value::Int(i) => i as f64,
            Value::UInt(u) => u as f64,
            Value::Float(f) => f,
        }
    }

    /// The value as a signed integer: `None` for floats and for unsigned values above
    /// `i64::MAX`.
    pub fn to_i64(self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(b)),
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::Float(_) => None,
        }
    }

    /// The value as an unsigned integer: `None` for floats and negative values.
    pub fn to_u64(self) -> Option<u64> {
        match self {
            Value::Bool(b) => Some(u64::from(b)),
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            Value::Float(_) => None,
        }
    }

    /// The value of a boolean result (`any`, `all`); `None` for numbers.
    pub fn to_bool(self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl Reduced {
    /// The result as a float (see [`Value::to_f64`]): a sum, a mean, a flat index…
    ///
    /// ```
    /// use outcore_engine::{Array, Context};
    /// use outcore_kernels::reduce::{reduce_all, ReduceOp};
    /// let ctx = Context::builder().threads(2).build()?;
    /// let a = Array::from_vec(vec![1.5f64, 2.5, 4.0], &[3])?;
    /// assert_eq!(reduce_all(&ctx, &a, ReduceOp::Mean)?.to_f64(), 8.0 / 3.0);
    /// assert_eq!(reduce_all(&ctx, &a, ReduceOp::Argmax)?.to_i64(), Some(2));
    /// # Ok::<(), outcore_engine::Error>(())
    /// ```
    pub fn to_f64(&self) -> f64 {
        self.value.to_f64()
    }
    /// The result as a signed integer (see [`Value::to_i64`]).
    pub fn to_i64(&self) -> Option<i64> {
        self.value.to_i64()
    }
    /// The result as an unsigned integer (see [`Value::to_u64`]).
    pub fn to_u64(&self) -> Option<u64> {
        self.value.to_u64()
    }
    /// The result of `any`/`all` (see [`Value::to_bool`]).
    pub fn to_bool(&self) -> Option<bool> {
        self.value.to_bool()
    }
}

impl AxisReduced {
    /// The result's shape (the input's without the reduced axis).
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    /// The results in C (logical) order as values of `T`, which must be the result dtype
    /// (NumPy's: `f64` for the mean of integers, `i64` for their sum, …).
    ///
    /// ```
    /// use outcore_engine::{Array, Context};
    /// use outcore_kernels::reduce::{reduce_axis, ReduceOp};
    /// let ctx = Context::builder().threads(2).build()?;
    /// let a = Array::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3])?;
    /// let r = reduce_axis(&ctx, &a, ReduceOp::Sum, 0, 0.0)?;
    /// assert_eq!(r.shape(), [3]);
    /// assert_eq!(r.to_vec::<i64>()?, [5, 7, 9]);
    /// # Ok::<(), outcore_engine::Error>(())
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if *self.layout.dtype() != T::dtype() {
            return Err(Error::new(
                ErrorKind::UnsupportedDType,
                format!(
                    "the {} result is {}, not {}",
                    self.op,
                    self.layout.dtype().str_code(),
                    T::dtype().str_code()
                ),
            ));
        }
        let c = self.clone().into_c_order()?;
        Ok(bytemuck::pod_collect_to_vec(&c.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reduce::{reduce_all, reduce_axis, ReduceOp};
    use outcore_engine::{Array, Context, DType, Layout, Order, ScalarKind};

    #[test]
    fn results_come_out_as_plain_values_in_c_order() {
        let ctx = Context::builder().threads(2).build().unwrap();
        let v: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let bytes: Vec<u8> = bytemuck::cast_slice(&v).to_vec();
        // The same memory read as a (3, 4) Fortran array: element (i, j) is v[i + 3j].
        let layout = Layout::new(DType::native(ScalarKind::F32), vec![3, 4], Order::F).unwrap();
        let a = Array::from_memory(bytes, layout).unwrap();
        let r = reduce_axis(&ctx, &a, ReduceOp::Max, 1, 0.0).unwrap();
        assert_eq!(r.to_vec::<f32>().unwrap(), [9.0, 10.0, 11.0]);
        assert_eq!(
            r.to_vec::<f64>().unwrap_err().kind(),
            ErrorKind::UnsupportedDType
        );
        let r = reduce_axis(&ctx, &a, ReduceOp::Argmax, 0, 0.0).unwrap();
        assert_eq!(r.shape(), [4]);
        assert_eq!(r.to_vec::<i64>().unwrap(), [2, 2, 2, 2]);
        let any = reduce_all(&ctx, &a, ReduceOp::Any).unwrap();
        assert_eq!(any.to_bool(), Some(true));
        assert_eq!(any.to_f64(), 1.0);
        let sum = reduce_all(&ctx, &a, ReduceOp::Sum).unwrap();
        assert_eq!((sum.to_f64(), sum.to_i64()), (66.0, None));
        assert_eq!(Value::UInt(u64::MAX).to_i64(), None);
        assert_eq!(Value::Int(-1).to_u64(), None);
    }
}
