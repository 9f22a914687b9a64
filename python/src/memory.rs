//! An in-memory NumPy array's buffer lent to the engine without a copy.

use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use outcore_engine::Order;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The bytes of a contiguous `numpy.ndarray`, read in place.
///
/// Holds a reference to the array, so its buffer lives as long as this value. The Python half
/// marks the array non-writeable for the duration of the job (and restores the flag after), so
/// Python code cannot change the bytes through that array while the engine reads them; other
/// views of the same memory are the caller's to leave alone (documented in `outcore.reduce`).
pub struct MemoryBytes {
    /// Keeps the buffer alive; never used otherwise.
    _owner: Py<PyAny>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: the pointer refers to a buffer owned by `_owner`, a Python object whose reference
// counting is thread-safe through `Py` (a drop without the GIL is deferred by PyO3); the bytes
// are only read, never written, so sharing them between threads is sound.
unsafe impl Send for MemoryBytes {}
// SAFETY: see `Send`: `MemoryBytes` only gives out shared, read-only access to the bytes.
unsafe impl Sync for MemoryBytes {}

impl MemoryBytes {
    /// Lends the buffer of `array`, which must be contiguous in `order`.
    pub fn new(array: &Bound<'_, PyUntypedArray>, order: Order) -> PyResult<MemoryBytes> {
        let contiguous = match order {
            Order::C => array.is_c_contiguous(),
            Order::F => array.is_fortran_contiguous(),
        };
        if !contiguous {
            return Err(PyValueError::new_err(format!(
                "internal error: the array is not {}-contiguous",
                order.as_str()
            )));
        }
        let len = array
            .len()
            .checked_mul(array.dtype().itemsize())
            .ok_or_else(|| PyValueError::new_err("array size overflows"))?;
        // SAFETY: `as_array_ptr` is a valid `PyArrayObject` for as long as `array` is alive
        // (we hold a reference), and reading its `data` field does not mutate anything.
        let data = unsafe { (*array.as_array_ptr()).fields.data } as *const u8;
        Ok(MemoryBytes {
            _owner: array.clone().into_any().unbind(),
            ptr: data,
            len,
        })
    }
}

impl AsRef<[u8]> for MemoryBytes {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 || self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr` is the data of a contiguous array of `len` bytes (checked in `new`),
        // kept alive by `_owner` as long as `self`; the array is not written while a job reads
        // it (non-writeable for the job's duration, see the type's documentation).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}
