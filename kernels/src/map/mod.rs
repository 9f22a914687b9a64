//! Elementwise maps of one or more mapped inputs into a destination, with NumPy broadcasting.
//!
//! The output is walked in its memory order, in page-aligned chunks planned by the engine;
//! each chunk is cut into blocks of [`BLOCK`] elements that stay in cache. For every block each
//! input yields the values at the block's positions ([`Source`]): a borrowed slice of the
//! mapping when the input is laid out like the output, in native byte order and aligned; a
//! copy swapped into native order when it is not; a gather through strides when the input is
//! broadcast or in the other memory order; a single value when it is a scalar.
//!
//! Library users map with plain closures ([`map`], [`try_map`], [`map_into`]); the expression
//! language of `outcore eval` ([`crate::expr`]) compiles to block kernels run by the same
//! driver ([`Broadcast::run_blocks`]). See `README.md` beside this file for the design.

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

mod fold;
mod indexed;

pub use fold::{fold, fold_indexed};
pub use indexed::{map_indexed, map_to_vec, try_map_indexed};

use outcore_engine::{
    strides_for, Array, Context, DType, Element, Error, ErrorKind, Layout, Order, OutputFile,
    OutputOptions, Pattern, Result, ScalarKind,
};

/// Elements per block: small enough that a handful of temporaries stay in L2.
pub const BLOCK: usize = 4096;

/// The shape NumPy broadcasts `shapes` to (trailing axes aligned; size-1 axes stretch).
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let ndim = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; ndim];
    for shape in shapes {
        let pad = ndim - shape.len();
        for (k, &d) in shape.iter().enumerate() {
            let o = &mut out[pad + k];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                let list: Vec<String> = shapes.iter().map(|s| format!("{s:?}")).collect();
                return Err(Error::new(
                    ErrorKind::Shape,
                    format!(
                        "shapes {} cannot be broadcast together (axis {} has sizes {} and {})",
                        list.join(", "),
                        pad + k,
                        *o,
                        d
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// How an input's values are found at a given position of the iteration (output memory order).
#[derive(Debug, Clone)]
enum Access {
    /// Position `p` of the iteration is element `p` of the input.
    Contiguous,
    /// One element, repeated.
    Scalar,
    /// Position `p`, unravelled over `shape` (C order), dotted with `strides` (elements).
    Strided {
        shape: Vec<usize>,
        strides: Vec<usize>,
    },
}

/// One input as seen by the block kernels.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    bytes: &'a [u8],
    kind: ScalarKind,
    swap: bool,
    access: Access,
}

/// Values of one input for one block: a slice or one repeated value.
#[derive(Debug, Clone, Copy)]
pub enum Values<'b, T> {
    /// The block's values, one per position.
    Slice(&'b [T]),
    /// One value for every position (a broadcast scalar).
    Scalar(T),
}

impl<'b, T: Copy> Values<'b, T> {
    #[inline]
    /// The value at position `i` of the block.
    pub fn get(&self, i: usize) -> T {
        match self {
            Values::Slice(s) => s[i],
            Values::Scalar(v) => *v,
        }
    }
}

impl<'a> Source<'a> {
    /// The input's scalar kind (its byte order is handled by the source).
    pub fn kind(&self) -> ScalarKind {
        self.kind
    }

    fn read<T: Element>(&self, index: usize) -> T {
        let size = std::mem::size_of::<T>();
        let v: T = bytemuck::pod_read_unaligned(&self.bytes[index * size..(index + 1) * size]);
        if self.swap {
            v.swap_bytes()
        } else {
            v
        }
    }

    /// The values at iteration positions `start..start + n`, borrowed from the mapping when
    /// possible, otherwise loaded into `buf` (which must hold at least `n` elements). `T`
    /// must be the source's element type: its bytes are reinterpreted.
    pub fn values<'b, T: Element>(
        &'b self,
        start: usize,
        n: usize,
        buf: &'b mut [T],
    ) -> Result<Values<'b, T>> {
        if T::KIND != self.kind {
            return Err(Error::new(
                ErrorKind::UnsupportedDType,
                format!("{} elements read as {}", self.kind.name(), T::KIND.name()),
            ));
        }
        let size = std::mem::size_of::<T>();
        Ok(match &self.access {
            Access::Scalar => Values::Scalar(self.read(0)),
            Access::Contiguous => {
                let bytes = &self.bytes[start * size..(start + n) * size];
                if !self.swap {
                    if let Ok(s) = bytemuck::try_cast_slice::<u8, T>(bytes) {
                        return Ok(Values::Slice(s));
                    }
                }
                let out = &mut buf[..n];
                bytemuck::cast_slice_mut::<T, u8>(out).copy_from_slice(bytes);
                if self.swap {
                    outcore_engine::swap_in_place(out);
                }
                Values::Slice(out)
            }
            Access::Strided { shape, strides } => {
                self.gather(shape, strides, start, &mut buf[..n]);
                Values::Slice(&buf[..n])
            }
        })
    }

    /// Gathers positions `start..start + out.len()` of a strided walk.
    fn gather<T: Element>(&self, shape: &[usize], strides: &[usize], start: usize, out: &mut [T]) {
        let nd = shape.len();
        let mut idx = vec![0usize; nd];
        let mut rest = start;
        for k in (0..nd).rev() {
            idx[k] = rest % shape[k];
            rest /= shape[k];
        }
        let mut offset: usize = idx.iter().zip(strides).map(|(i, s)| i * s).sum();
        let (inner_len, inner_stride) = (shape[nd - 1], strides[nd - 1]);
        let mut done = 0;
        while done < out.len() {
            let run = (inner_len - idx[nd - 1]).min(out.len() - done);
            let dst = &mut out[done..done + run];
            match inner_stride {
                0 => dst.fill(self.read(offset)),
                1 => {
                    let size = std::mem::size_of::<T>();
                    bytemuck::cast_slice_mut::<T, u8>(dst)
                        .copy_from_slice(&self.bytes[offset * size..(offset + run) * size]);
                    if self.swap {
                        outcore_engine::swap_in_place(dst);
                    }
                }
                s => {
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d = self.read(offset + j * s);
                    }
                }
            }
            done += run;
            // Advance the odometer by `run` positions (to the start of the next inner run).
            offset += run * inner_stride;
            idx[nd - 1] += run;
            let mut k = nd - 1;
            while idx[k] == shape[k] && k > 0 {
                offset -= shape[k] * strides[k];
                idx[k] = 0;
                k -= 1;
                idx[k] += 1;
                offset += strides[k];
            }
        }
    }

    /// True when this input is read in file order along with the output (for page hints).
    fn is_streamed(&self) -> bool {
        matches!(self.access, Access::Contiguous)
    }
}

/// Inputs broadcast to one result shape and walked in the result's memory order.
pub struct Broadcast<'a> {
    shape: Vec<usize>,
    order: Order,
    sources: Vec<Source<'a>>,
    arrays: Vec<&'a Array>,
}

impl<'a> Broadcast<'a> {
    /// Broadcasts `arrays` (NumPy rules) and walks the result in C order, whatever the inputs'
    /// orders: results are C-order files (spec §5). Inputs in another order are gathered
    /// through strides; [`Broadcast::with_order`] walks in Fortran order instead.
    pub fn new(arrays: &[&'a Array]) -> Result<Broadcast<'a>> {
        let shapes: Vec<&[usize]> = arrays.iter().map(|a| a.shape()).collect();
        let shape = broadcast_shapes(&shapes)?;
        Broadcast::with_order(arrays, shape, Order::C)
    }

    /// Broadcasts `arrays` to `shape` (which must be their broadcast shape or larger), walking
    /// it in `order`.
    pub fn with_order(
        arrays: &[&'a Array],
        shape: Vec<usize>,
        order: Order,
    ) -> Result<Broadcast<'a>> {
        let mut sources = Vec::with_capacity(arrays.len());
        for a in arrays {
            let kind = a
                .dtype()
                .require_real("arithmetic")
                .map_err(|e| e.with_path(a.path()))?;
            let check =
                broadcast_shapes(&[a.shape(), &shape]).map_err(|e| e.with_path(a.path()))?;
            if check != shape {
                return Err(Error::new(
                    ErrorKind::Shape,
                    format!("shape {:?} does not broadcast to {:?}", a.shape(), shape),
                )
                .with_path(a.path()));
            }
            sources.push(Source {
                bytes: a.data(),
                kind,
                swap: a.dtype().needs_swap(),
                access: access_for(a.layout(), &shape, order),
            });
        }
        Ok(Broadcast {
            shape,
            order,
            sources,
            arrays: arrays.to_vec(),
        })
    }

    /// The broadcast shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The order the result is walked in.
    pub fn order(&self) -> Order {
        self.order
    }
    /// The number of positions.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// Whether there are no positions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The inputs as the block kernels read them.
    pub fn sources(&self) -> &[Source<'a>] {
        &self.sources
    }

    /// The layout of a result of this walk with element type `dtype`.
    pub fn layout(&self, dtype: DType) -> Result<Layout> {
        Layout::new(dtype, self.shape.clone(), self.order)
    }

    /// Runs `block(start, out)` for consecutive blocks of at most [`BLOCK`] positions, where
    /// `out` is the destination bytes of those positions (`out_item` bytes each), in parallel
    /// over chunks of the destination. The destination is an [`OutputFile`] (with writeback
    /// hints) or a plain mutable byte slice.
    pub fn run_blocks<F>(
        &self,
        ctx: &Context,
        phase: &str,
        mut dest: Dest<'_>,
        out_item: usize,
        block: F,
    ) -> Result<()>
    where
        F: Fn(usize, &mut [u8]) -> Result<()> + Sync,
    {
        let len = self.len();
        let (data_offset, out_len, to_file) = match &mut dest {
            Dest::File(f) => (f.output().data_offset(), f.nbytes(), true),
            Dest::Bytes(b) => (0, b.len(), false),
            Dest::Discard => (0, len * out_item, false),
        };
        if out_len != len * out_item {
            return Err(Error::new(
                ErrorKind::Shape,
                format!(
                    "destination holds {out_len} bytes, the result needs {}",
                    len * out_item
                ),
            ));
        }
        if len == 0 {
            return Ok(());
        }
        let (chunks, plan) = self.read_plan(ctx, data_offset, out_item, to_file);
        let inputs: Vec<_> = self.arrays.iter().map(|a| a.input()).collect();
        let do_chunk = |range: &Range<usize>, out: &mut [u8]| -> Result<()> {
            let mut pos = range.start;
            for piece in out.chunks_mut(BLOCK * out_item) {
                block(pos, piece)?;
                pos += piece.len() / out_item;
            }
            Ok(())
        };
        match dest {
            Dest::File(file) => {
                ctx.run(
                    phase,
                    Pattern::Sequential,
                    &inputs,
                    Some(file.output()),
                    &plan,
                    |i, out| do_chunk(&chunks[i], out),
                )?;
            }
            Dest::Bytes(bytes) => {
                let slots = split_slots(bytes, &chunks, out_item);
                ctx.run(phase, Pattern::Sequential, &inputs, None, &plan, |i, _| {
                    let mut slot = slots[i]
                        .lock()
                        .map_err(|_| Error::new(ErrorKind::Io, "a worker panicked"))?;
                    let out = slot.take().unwrap_or_default();
                    do_chunk(&chunks[i], out)
                })?;
            }
            Dest::Discard => {
                ctx.run(phase, Pattern::Sequential, &inputs, None, &plan, |i, _| {
                    let range = &chunks[i];
                    let mut buf = vec![0u8; BLOCK.min(range.len()) * out_item];
                    let mut pos = range.start;
                    while pos < range.end {
                        let n = (range.end - pos).min(BLOCK);
                        block(pos, &mut buf[..n * out_item])?;
                        pos += n;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }
}

/// Where a map writes: an output file being made, or the bytes of a writable mapping.
pub enum Dest<'d> {
    /// An output file being made (with writeback hints).
    File(&'d mut OutputFile),
    /// The bytes of a writable mapping or of memory.
    Bytes(&'d mut [u8]),
    /// Nowhere: the blocks are computed (into a small buffer per worker) for their errors.
    Discard,
}

fn split_slots<'b>(
    mut rest: &'b mut [u8],
    chunks: &[Range<usize>],
    item: usize,
) -> Vec<Mutex<Option<&'b mut [u8]>>> {
    chunks
        .iter()
        .map(|c| {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(c.len() * item);
            rest = tail;
            Mutex::new(Some(mine))
        })
        .collect()
}

/// The access pattern of an input of layout `l` broadcast to `shape` and walked in `order`.
fn access_for(l: &Layout, shape: &[usize], order: Order) -> Access {
    if l.len() == 1 {
        return Access::Scalar;
    }
    let nd = shape.len();
    let pad = nd - l.ndim();
    let own = l.strides();
    // Strides over the result's axes; 0 where the input is broadcast.
    let mut strides = vec![0usize; nd];
    for k in 0..l.ndim() {
        if l.shape()[k] != 1 {
            strides[pad + k] = own[k];
        }
    }
    let mut walk_shape = shape.to_vec();
    if order == Order::F {
        walk_shape.reverse();
        strides.reverse();
    }
    // Contiguous when the strides match the walk's own C strides on every axis longer than 1.
    let natural = strides_for(&walk_shape, Order::C);
    let contiguous = walk_shape
        .iter()
        .zip(strides.iter().zip(&natural))
        .all(|(&d, (s, n))| d == 1 || s == n);
    if contiguous {
        return Access::Contiguous;
    }
    // Drop axes of length 1 (they never move) to keep the odometer short.
    let (mut ws, mut st) = (Vec::new(), Vec::new());
    for (d, s) in walk_shape.into_iter().zip(strides) {
        if d != 1 {
            ws.push(d);
            st.push(s);
        }
    }
    Access::Strided {
        shape: ws,
        strides: st,
    }
}

/// A typed scratch buffer of [`BLOCK`] elements.
pub(crate) fn block_buf<T: Element>() -> Vec<T> {
    vec![T::default(); BLOCK]
}

/// Input tuples a closure map takes: `(&a,)`, `(&a, &b)`, … up to four arrays. Each array's
/// dtype must be `T::KIND` of its element type (any byte order).
pub trait MapInputs<'a> {
    /// What the closure receives per element: `(A,)`, `(A, B)`, ….
    type Item;
    /// Scratch buffers, one per input.
    type Bufs: Send;
    /// The input arrays.
    fn arrays(&self) -> Vec<&'a Array>;
    /// The scalar kind each input must have.
    fn kinds() -> Vec<ScalarKind>;
    /// Fresh scratch buffers.
    fn bufs() -> Self::Bufs;
    /// Calls `f(i, item)` for every position `i` of the block.
    fn for_block(
        sources: &[Source<'_>],
        bufs: &mut Self::Bufs,
        start: usize,
        n: usize,
        f: impl FnMut(usize, Self::Item) -> Result<()>,
    ) -> Result<()>;
}

macro_rules! map_inputs {
    ($($t:ident $i:tt),+) => {
        impl<'a, $($t: Element),+> MapInputs<'a> for ($(&'a TypedArray<'a, $t>,)+) {
            type Item = ($($t,)+);
            type Bufs = ($(Vec<$t>,)+);
            fn arrays(&self) -> Vec<&'a Array> { vec![$(self.$i.array),+] }
            fn kinds() -> Vec<ScalarKind> { vec![$($t::KIND),+] }
            fn bufs() -> Self::Bufs { ($(block_buf::<$t>(),)+) }
            #[allow(non_snake_case)]
            fn for_block(
                sources: &[Source<'_>],
                bufs: &mut Self::Bufs,
                start: usize,
                n: usize,
                mut f: impl FnMut(usize, Self::Item) -> Result<()>,
            ) -> Result<()> {
                $(let $t = sources[$i].values::<$t>(start, n, &mut bufs.$i)?;)+
                for i in 0..n {
                    f(i, ($($t.get(i),)+))?;
                }
                Ok(())
            }
        }
    };
}
map_inputs!(A 0);
map_inputs!(A 0, B 1);
map_inputs!(A 0, B 1, C 2);
map_inputs!(A 0, B 1, C 2, D 3);

/// Checks that each input's kind is the element type the closure reads.
fn check_kinds<'a, I: MapInputs<'a>>(b: &Broadcast<'_>) -> Result<()> {
    for (s, (want, a)) in b.sources.iter().zip(I::kinds().into_iter().zip(&b.arrays)) {
        if s.kind != want {
            return Err(Error::new(
                ErrorKind::UnsupportedDType,
                format!("expected {} elements", want.name()),
            )
            .with_path(a.path()));
        }
    }
    Ok(())
}

/// An array whose elements are read as `T` (its dtype's kind must be `T::KIND`; either byte
/// order). Made by [`typed`].
pub struct TypedArray<'a, T> {
    array: &'a Array,
    _t: std::marker::PhantomData<T>,
}

/// Views `array` as elements of type `T`, checking its dtype.
pub fn typed<T: Element>(array: &Array) -> Result<TypedArray<'_, T>> {
    if array.dtype().scalar_kind() != Some(T::KIND) {
        return Err(Error::new(
            ErrorKind::UnsupportedDType,
            format!(
                "the map reads {} elements but the array's dtype is {} ({})",
                T::KIND.name(),
                array.dtype().str_code(),
                array.dtype().name()
            ),
        )
        .with_path(array.path()));
    }
    Ok(TypedArray {
        array,
        _t: std::marker::PhantomData,
    })
}

/// Maps `f` over the broadcast elements of `inputs` into a new `.npy` file at `dest` (dtype
/// `R`, native byte order, C order whatever the inputs' orders), created atomically. To get a
/// Fortran-ordered result, create it with [`Array::create`] and use [`map_into`].
///
/// ```no_run
/// # use outcore_engine::{Array, Context, OutputOptions};
/// # use outcore_kernels::map::{map, typed};
/// # fn main() -> outcore_engine::Result<()> {
/// let ctx = Context::new()?;
/// let (x, y) = (Array::open("x.npy")?, Array::open("y.npy")?);
/// map(&ctx, (&typed::<f64>(&x)?, &typed::<f64>(&y)?), "r.npy", &OutputOptions::default(),
///     |(a, b)| (a * a + b * b).sqrt())?;
/// # Ok(()) }
/// ```
pub fn map<'a, I, R, F>(
    ctx: &Context,
    inputs: I,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
    f: F,
) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(I::Item) -> R + Sync,
{
    try_map(ctx, inputs, dest, opts, |item| Ok::<R, Error>(f(item)))
}

/// [`map`] with a fallible closure: the first error stops the job and the destination is
/// left untouched.
pub fn try_map<'a, I, R, F, E>(
    ctx: &Context,
    inputs: I,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
    f: F,
) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(I::Item) -> std::result::Result<R, E> + Sync,
    E: Into<Error>,
{
    try_map_indexed(ctx, inputs, dest, opts, |_, item| f(item))
}

/// Maps `f` over the broadcast elements of `inputs` into an existing writable mapping (an
/// [`Array`] opened `r+`/`w+`/`c` whose dtype is `R` and whose shape is the broadcast shape;
/// either memory order).
pub fn map_into<'a, I, R, F>(ctx: &Context, inputs: I, dest: &mut Array, f: F) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(I::Item) -> R + Sync,
{
    try_map_into(ctx, inputs, dest, |item| Ok::<R, Error>(f(item)))
}

/// [`map_into`] with a fallible closure.
pub fn try_map_into<'a, I, R, F, E>(ctx: &Context, inputs: I, dest: &mut Array, f: F) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(I::Item) -> std::result::Result<R, E> + Sync,
    E: Into<Error>,
{
    let arrays = inputs.arrays();
    if *dest.dtype() != R::dtype() {
        return Err(Error::new(
            ErrorKind::UnsupportedDType,
            format!(
                "destination dtype is {} but the map produces {}",
                dest.dtype().str_code(),
                R::dtype().str_code()
            ),
        )
        .with_path(dest.path()));
    }
    let b = Broadcast::with_order(&arrays, dest.shape().to_vec(), dest.order())?;
    let path = dest.path().to_path_buf();
    run_closure::<I, R, F, E>(ctx, &b, Dest::Bytes(dest.data_mut()?), &f)
        .map_err(|e| e.with_path(path))
}

fn run_closure<'a, I, R, F, E>(
    ctx: &Context,
    b: &Broadcast<'_>,
    dest: Dest<'_>,
    f: &F,
) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(I::Item) -> std::result::Result<R, E> + Sync,
    E: Into<Error>,
{
    indexed::run_indexed::<I, R, _, E>(ctx, b, dest, &|_, item| f(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[&[3, 1], &[4]]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes(&[&[], &[2, 3]]).unwrap(), vec![2, 3]);
        assert_eq!(
            broadcast_shapes(&[&[5, 1, 4], &[3, 1], &[1]]).unwrap(),
            vec![5, 3, 4]
        );
        assert_eq!(broadcast_shapes(&[&[0], &[1]]).unwrap(), vec![0]);
        let e = broadcast_shapes(&[&[3], &[4]]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Shape);
        assert!(broadcast_shapes(&[&[2, 0], &[3, 1]]).is_err());
    }

    #[test]
    fn strided_gather_walks_like_numpy() {
        // A (2, 3) F-ordered input read in C order: memory [a00 a10 a01 a11 a02 a12].
        let l = Layout::new(DType::native(ScalarKind::I32), vec![2, 3], Order::F).unwrap();
        let data: Vec<i32> = vec![0, 3, 1, 4, 2, 5];
        let src = Source {
            bytes: bytemuck::cast_slice(&data),
            kind: ScalarKind::I32,
            swap: false,
            access: access_for(&l, &[2, 3], Order::C),
        };
        let mut buf = vec![0i32; 6];
        for start in 0..6 {
            for n in 0..=6 - start {
                let v = src.values::<i32>(start, n, &mut buf).unwrap();
                let got: Vec<i32> = (0..n).map(|i| v.get(i)).collect();
                let want: Vec<i32> = (start as i32..(start + n) as i32).collect();
                assert_eq!(got, want, "start {start} n {n}");
            }
        }
        // A (3, 1) column broadcast to (2, 3, 4).
        let l = Layout::new(DType::native(ScalarKind::I32), vec![3, 1], Order::C).unwrap();
        let data: Vec<i32> = vec![7, 8, 9];
        let src = Source {
            bytes: bytemuck::cast_slice(&data),
            kind: ScalarKind::I32,
            swap: false,
            access: access_for(&l, &[2, 3, 4], Order::C),
        };
        let mut buf = vec![0i32; 24];
        let v = src.values::<i32>(0, 24, &mut buf).unwrap();
        let got: Vec<i32> = (0..24).map(|i| v.get(i)).collect();
        let want: Vec<i32> = (0..24).map(|p| data[(p / 4) % 3]).collect();
        assert_eq!(got, want);
    }

    /// Reading a source as another element type is an error, not reinterpreted bytes (it was
    /// only a debug assertion).
    #[test]
    fn values_of_the_wrong_element_type_are_refused() {
        let l = Layout::new(DType::native(ScalarKind::I32), vec![4], Order::C).unwrap();
        let data: Vec<i32> = vec![1, 2, 3, 4];
        let src = Source {
            bytes: bytemuck::cast_slice(&data),
            kind: ScalarKind::I32,
            swap: false,
            access: access_for(&l, &[4], Order::C),
        };
        let mut floats = vec![0f32; 4];
        let err = src.values::<f32>(0, 4, &mut floats).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedDType);
        assert!(
            err.message().contains("int32 elements read as float32"),
            "{err}"
        );
        let mut unsigned = vec![0u32; 4];
        assert!(src.values::<u32>(0, 4, &mut unsigned).is_err());
    }
}
