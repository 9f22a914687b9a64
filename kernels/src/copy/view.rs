//! Strided views of a mapped array: NumPy's `(offset, shape, strides)` over the input bytes.
//!
//! Transposing, slicing and (where the layout allows) reshaping only change this triple; no
//! byte moves until the view is written out by the copy engine.

use std::fmt;

use outcore_engine::{err, strides_for, Array, DType, Input, Order, Result};

use super::index::{slice_positions, IndexItem};

/// A strided view of the bytes of one input (a mapped array).
///
/// Invariant (checked at every construction): every element the view addresses lies inside
/// the input's bytes, so the copy engine can index without further checks failing.
#[derive(Clone)]
pub struct View<'a> {
    input: Input<'a>,
    dtype: DType,
    /// Byte offset of the element at index `[0, 0, …]`.
    offset: usize,
    shape: Vec<usize>,
    /// Byte strides (negative after a reversing slice; zero for new axes).
    strides: Vec<isize>,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View")
            .field("path", &self.input.path())
            .field("dtype", &self.dtype.str_code())
            .field("offset", &self.offset)
            .field("shape", &self.shape)
            .field("strides", &self.strides)
            .finish()
    }
}

impl<'a> View<'a> {
    /// The whole array, in its own memory order (C or F).
    pub fn of(array: &'a Array) -> View<'a> {
        View::of_input(
            array.input(),
            array.dtype().clone(),
            array.shape(),
            array.order(),
        )
        .expect("an opened array's layout fits its mapping")
    }

    /// A view of a contiguous array of `shape` in `order` at the start of `input`'s bytes.
    pub fn of_input(
        input: Input<'a>,
        dtype: DType,
        shape: &[usize],
        order: Order,
    ) -> Result<View<'a>> {
        let item = dtype.itemsize();
        let strides = strides_for(shape, order)
            .into_iter()
            .map(|s| {
                s.checked_mul(item)
                    .and_then(|b| isize::try_from(b).ok())
                    .ok_or_else(|| err!(Overflow, "strides of shape {shape:?} overflow"))
            })
            .collect::<Result<Vec<_>>>()?;
        View::new(input, dtype, 0, shape.to_vec(), strides)
    }

    /// A view with explicit geometry; fails unless every addressed element is inside `input`.
    pub fn new(
        input: Input<'a>,
        dtype: DType,
        offset: usize,
        shape: Vec<usize>,
        strides: Vec<isize>,
    ) -> Result<View<'a>> {
        if shape.len() != strides.len() {
            return Err(err!(
                InvalidArgument,
                "view has {} axes but {} strides",
                shape.len(),
                strides.len()
            ));
        }
        let view = View {
            input,
            dtype,
            offset,
            shape,
            strides,
        };
        view.check_bounds()?;
        Ok(view)
    }

    fn check_bounds(&self) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let (lo, hi) = self.extent().ok_or_else(|| {
            err!(
                Overflow,
                "view of shape {:?} with strides {:?} overflows",
                self.shape,
                self.strides
            )
        })?;
        if lo < 0 || hi > self.input.bytes.len() as i128 {
            return Err(err!(
                InvalidArgument,
                "view of shape {:?} with strides {:?} at offset {} reaches bytes {lo}..{hi} outside the data (0..{})",
                self.shape,
                self.strides,
                self.offset,
                self.input.bytes.len()
            )
            .with_path(self.input.path()));
        }
        Ok(())
    }

    /// First and one-past-last byte the view touches (non-empty views).
    fn extent(&self) -> Option<(i128, i128)> {
        let mut lo = self.offset as i128;
        let mut hi = self.offset as i128 + self.dtype.itemsize() as i128;
        for (&d, &s) in self.shape.iter().zip(&self.strides) {
            let span = (d as i128 - 1).checked_mul(s as i128)?;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        Some((lo, hi))
    }

    /// The viewed array's data as the scheduler reads it.
    pub fn input(&self) -> Input<'a> {
        self.input
    }
    /// The element type.
    pub fn dtype(&self) -> &DType {
        &self.dtype
    }
    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        self.dtype.itemsize()
    }
    /// Byte offset of the view's first element in the data.
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// Elements per axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Byte strides per axis.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }
    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// Whether the view has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the view's elements, taken in `order`, are the consecutive bytes starting
    /// at its offset (so writing it out is one straight copy).
    pub fn is_contiguous(&self, order: Order) -> bool {
        if self.is_empty() {
            return true;
        }
        let want = strides_for(&self.shape, order);
        let item = self.itemsize() as isize;
        self.shape
            .iter()
            .zip(self.strides.iter().zip(want))
            .all(|(&d, (&s, w))| d == 1 || s == w as isize * item)
    }

    /// NumPy's `a.transpose(axes)`: `None` reverses the axes; negative axes count from the end.
    pub fn transpose(&self, axes: Option<&[isize]>) -> Result<View<'a>> {
        let n = self.ndim();
        let perm: Vec<usize> = match axes {
            None => (0..n).rev().collect(),
            Some(axes) => normalize_axes(axes, n)?,
        };
        let mut out = self.clone();
        out.shape = perm.iter().map(|&p| self.shape[p]).collect();
        out.strides = perm.iter().map(|&p| self.strides[p]).collect();
        Ok(out)
    }

    /// NumPy basic indexing `a[items]`.
    pub fn slice(&self, items: &[IndexItem]) -> Result<View<'a>> {
        let n = self.ndim();
        let indexed = items
            .iter()
            .filter(|i| !matches!(i, IndexItem::Ellipsis | IndexItem::NewAxis))
            .count();
        if indexed > n {
            return Err(err!(
                InvalidArgument,
                "too many indices for array: array is {n}-dimensional, but {indexed} were indexed"
            ));
        }
        let mut expanded: Vec<IndexItem> = Vec::with_capacity(items.len() + n);
        let mut saw_ellipsis = false;
        for item in items {
            if *item == IndexItem::Ellipsis {
                if saw_ellipsis {
                    return Err(err!(
                        InvalidArgument,
                        "an index can only have a single ellipsis ('...')"
                    ));
                }
                saw_ellipsis = true;
                expanded.extend(std::iter::repeat_n(IndexItem::FULL, n - indexed));
            } else {
                expanded.push(*item);
            }
        }
        if !saw_ellipsis {
            expanded.extend(std::iter::repeat_n(IndexItem::FULL, n - indexed));
        }

        let mut offset = self.offset as isize;
        let mut shape = Vec::with_capacity(expanded.len());
        let mut strides = Vec::with_capacity(expanded.len());
        let mut axis = 0usize;
        let mut empty = false;
        for item in expanded {
            match item {
                IndexItem::NewAxis => {
                    shape.push(1);
                    strides.push(0);
                }
                IndexItem::Int(i) => {
                    let d = self.shape[axis];
                    let pos = if i < 0 {
                        i.checked_add(d as i64)
                    } else {
                        Some(i)
                    };
                    let pos = pos
                        .filter(|&p| p >= 0 && (p as u64) < d as u64)
                        .ok_or_else(|| {
                            err!(
                                InvalidArgument,
                                "index {i} is out of bounds for axis {axis} with size {d}"
                            )
                        })?;
                    offset += pos as isize * self.strides[axis];
                    axis += 1;
                }
                IndexItem::Slice { start, stop, step } => {
                    let d = self.shape[axis];
                    let (first, step, len) = slice_positions(start, stop, step, d)?;
                    let stride = self.strides[axis];
                    if len == 0 {
                        empty = true;
                    } else {
                        offset += first as isize * stride;
                    }
                    shape.push(len);
                    // With fewer than two positions the stride is never used; keep it small.
                    strides.push(if len > 1 {
                        stride * step as isize
                    } else {
                        stride
                    });
                    axis += 1;
                }
                IndexItem::Ellipsis => unreachable!("expanded above"),
            }
        }
        let offset = if empty { 0 } else { offset as usize };
        View::new(self.input, self.dtype.clone(), offset, shape, strides)
    }

    /// `np.reshape(a, shape, order)` without copying, when the layout allows it (NumPy's
    /// `_attempt_nocopy_reshape`); `Ok(None)` when a copy is needed. Sizes that do not match
    /// are an error.
    pub fn reshape(&self, shape: &[isize], order: Order) -> Result<Option<View<'a>>> {
        let new_shape = resolve_shape(self.len(), shape)?;
        let item = self.itemsize() as isize;
        if self.is_empty() {
            let strides = strides_for(&new_shape, order)
                .iter()
                .map(|&s| s as isize * item)
                .collect();
            return View::new(self.input, self.dtype.clone(), 0, new_shape, strides).map(Some);
        }
        match nocopy_strides(&self.shape, &self.strides, &new_shape, order, item) {
            Some(strides) => View::new(
                self.input,
                self.dtype.clone(),
                self.offset,
                new_shape,
                strides,
            )
            .map(Some),
            None => Ok(None),
        }
    }
}

/// Normalizes a permutation of `n` axes (negative counts from the end), NumPy's checks.
pub fn normalize_axes(axes: &[isize], n: usize) -> Result<Vec<usize>> {
    if axes.len() != n {
        return Err(err!(
            InvalidArgument,
            "axes don't match array: {} axes given for an array of dimension {n}",
            axes.len()
        ));
    }
    let mut seen = vec![false; n];
    let mut perm = Vec::with_capacity(n);
    for &a in axes {
        let p = if a < 0 { a + n as isize } else { a };
        if p < 0 || p as usize >= n {
            return Err(err!(
                InvalidArgument,
                "axis {a} is out of bounds for array of dimension {n}"
            ));
        }
        let p = p as usize;
        if seen[p] {
            return Err(err!(
                InvalidArgument,
                "repeated axis in transpose: {axes:?}"
            ));
        }
        seen[p] = true;
        perm.push(p);
    }
    Ok(perm)
}

/// NumPy's reshape shape resolution: one negative entry (`-1`; NumPy takes any negative
/// value the same way) is inferred; the product must equal `len`.
pub fn resolve_shape(len: usize, shape: &[isize]) -> Result<Vec<usize>> {
    let shown = || {
        let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        if parts.len() == 1 {
            format!("({},)", parts[0])
        } else {
            format!("({})", parts.join(", "))
        }
    };
    let mut unknown = None;
    let mut known = 1usize;
    for (i, &d) in shape.iter().enumerate() {
        if d < 0 {
            if unknown.is_some() {
                return Err(err!(
                    Shape,
                    "can only specify one unknown dimension (-1) in shape {}",
                    shown()
                ));
            }
            unknown = Some(i);
        } else {
            known = known.checked_mul(d as usize).ok_or_else(|| {
                err!(
                    Shape,
                    "cannot reshape array of size {len} into shape {}",
                    shown()
                )
            })?;
        }
    }
    let mismatch = || {
        err!(
            Shape,
            "cannot reshape array of size {len} into shape {}",
            shown()
        )
    };
    let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    match unknown {
        Some(i) => {
            if known == 0 || !len.is_multiple_of(known) {
                return Err(mismatch());
            }
            out[i] = len / known;
        }
        None => {
            if known != len {
                return Err(mismatch());
            }
        }
    }
    Ok(out)
}

/// NumPy's `_attempt_nocopy_reshape`: strides for `new_shape` that address the same elements
/// in `order`, or `None` when the old strides cannot express it. Sizes are equal and non-zero.
fn nocopy_strides(
    old_shape: &[usize],
    old_strides: &[isize],
    new_shape: &[usize],
    order: Order,
    item: isize,
) -> Option<Vec<isize>> {
    let (od, os): (Vec<usize>, Vec<isize>) = old_shape
        .iter()
        .zip(old_strides)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &s)| (d, s))
        .unzip();
    let nd = new_shape;
    let mut ns = vec![0isize; nd.len()];
    let (mut oi, mut oj, mut ni, mut nj) = (0usize, 1usize, 0usize, 1usize);
    let f = order == Order::F;
    while ni < nd.len() && oi < od.len() {
        let mut np = nd[ni];
        let mut op = od[oi];
        while np != op {
            if np < op {
                np *= *nd.get(nj)?;
                nj += 1;
            } else {
                op *= *od.get(oj)?;
                oj += 1;
            }
        }
        for ok in oi..oj - 1 {
            let ok_contig = if f {
                os[ok + 1] == od[ok] as isize * os[ok]
            } else {
                os[ok] == od[ok + 1] as isize * os[ok + 1]
            };
            if !ok_contig {
                return None;
            }
        }
        if f {
            ns[ni] = os[oi];
            for nk in ni + 1..nj {
                ns[nk] = ns[nk - 1] * nd[nk - 1] as isize;
            }
        } else {
            ns[nj - 1] = os[oj - 1];
            for nk in (ni + 1..nj).rev() {
                ns[nk - 1] = ns[nk] * nd[nk] as isize;
            }
        }
        ni = nj;
        nj += 1;
        oi = oj;
        oj += 1;
    }
    let last = if ni >= 1 {
        if f {
            ns[ni - 1] * nd[ni - 1] as isize
        } else {
            ns[ni - 1]
        }
    } else {
        item
    };
    for s in ns.iter_mut().skip(ni) {
        *s = last;
    }
    Some(ns)
}

/// The geometry of a copy, reduced: axes of length 1 dropped and neighbours merged where the
/// source steps through them as one axis. The destination is C-ordered over these axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reduced {
    pub dims: Vec<usize>,
    /// Source byte strides.
    pub strides: Vec<isize>,
}

/// Reduces `(shape, strides)` walked in C order (see [`Reduced`]). Empty shapes stay empty
/// (a single element); callers handle zero-length views before.
pub(crate) fn reduce(shape: &[usize], strides: &[isize]) -> Reduced {
    let mut dims: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out: Vec<isize> = Vec::with_capacity(shape.len());
    for (&d, &s) in shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        if let (Some(pd), Some(ps)) = (dims.last_mut(), out.last_mut()) {
            // The previous (outer) axis steps exactly over one full run of this axis.
            if *ps == s * d as isize {
                *pd *= d;
                *ps = s;
                continue;
            }
        }
        dims.push(d);
        out.push(s);
    }
    Reduced { dims, strides: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_merges_contiguous_axes() {
        // C-contiguous (2,3,4) of f8 → one axis.
        let r = reduce(&[2, 3, 4], &[96, 32, 8]);
        assert_eq!(
            r,
            Reduced {
                dims: vec![24],
                strides: vec![8]
            }
        );
        // Transpose of (3,4) C → (4,3) with strides (8, 32): nothing merges.
        let r = reduce(&[4, 3], &[8, 32]);
        assert_eq!(r.dims, vec![4, 3]);
        // Size-1 axes vanish, new axes (stride 0) too.
        let r = reduce(&[1, 5, 1], &[0, 8, 40]);
        assert_eq!(
            r,
            Reduced {
                dims: vec![5],
                strides: vec![8]
            }
        );
        // Batched transpose (2,0,1) of (A,B,C): (C, A, B) strides (8, 8BC, 8C) → (C, AB).
        let r = reduce(&[4, 2, 3], &[8, 96, 32]);
        assert_eq!(
            r,
            Reduced {
                dims: vec![4, 6],
                strides: vec![8, 32]
            }
        );
    }

    #[test]
    fn resolve_shape_like_numpy() {
        assert_eq!(resolve_shape(12, &[3, -1]).unwrap(), vec![3, 4]);
        assert_eq!(resolve_shape(0, &[0, 5]).unwrap(), vec![0, 5]);
        assert_eq!(resolve_shape(1, &[]).unwrap(), Vec::<usize>::new());
        assert!(resolve_shape(0, &[0, -1]).is_err()); // NumPy: ambiguous
        assert!(resolve_shape(12, &[5, -1]).is_err());
        assert!(resolve_shape(12, &[-1, -1]).is_err());
        assert!(resolve_shape(12, &[-2, -6]).is_err());
        // NumPy takes any negative entry as the unknown one: arange(6).reshape(-2, 3) is (2, 3).
        assert_eq!(resolve_shape(6, &[-2, 3]).unwrap(), vec![2, 3]);
        assert_eq!(resolve_shape(1, &[-7]).unwrap(), vec![1]);
        let e = resolve_shape(6, &[4]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot reshape array of size 6 into shape (4,)"
        );
    }

    #[test]
    fn nocopy_reshape_cases() {
        // C-contiguous (2,3) f8 reshaped C → view; F → copy.
        assert_eq!(
            nocopy_strides(&[2, 3], &[24, 8], &[3, 2], Order::C, 8),
            Some(vec![16, 8])
        );
        assert_eq!(
            nocopy_strides(&[2, 3], &[24, 8], &[3, 2], Order::F, 8),
            None
        );
        // 1-d: any order works.
        assert_eq!(
            nocopy_strides(&[6], &[8], &[2, 3], Order::F, 8),
            Some(vec![8, 16])
        );
        // Sliced rows (every other row of a (4,3)): split/merge within groups only.
        assert_eq!(
            nocopy_strides(&[2, 3], &[48, 8], &[2, 3, 1], Order::C, 8),
            Some(vec![48, 8, 8])
        );
        assert_eq!(nocopy_strides(&[2, 3], &[48, 8], &[6], Order::C, 8), None);
    }
}
