//! Reshape via copy: `transpose`, `reshape`, `slice` and `convert`, all built on one tiled
//! N-d copy engine that writes any strided [`View`] of a mapped input into a C- or F-ordered
//! destination. See `README.md` beside this file for the design.
//!
//! Which operations copy and which are views:
//! - [`View::transpose`], [`View::slice`] and [`View::reshape`] (when it returns `Some`) only
//!   change the view's offset, shape and strides — nothing is read;
//! - [`reshape_view`] is `np.reshape` without a copy where the layout allows it (ndarray's
//!   `to_shape`): `Some(view)` when the input's memory order already is the reshape order,
//!   `None` otherwise;
//! - [`transpose`], [`reshape`], [`slice()`], [`convert`] and [`write_view`] always write the
//!   destination file (a straight sequential copy when the view is contiguous, the tiled copy
//!   otherwise) and return it opened read-only.
//!
//! ```no_run
//! use outcore_engine::{Array, Context, Order, OutputOptions};
//! use outcore_kernels::copy::{self, parse_index, View};
//!
//! let ctx = Context::builder().memory(256 << 20).build()?;
//! let a = Array::open("m.npy")?;
//! let opts = OutputOptions::default();
//! let t = copy::transpose(&ctx, &a, None, "mt.npy", &opts)?; // np.ascontiguousarray(a.T)
//! copy::slice(&ctx, &a, &parse_index("1:5, ::-2")?, "s.npy", &opts)?;
//! copy::reshape(&ctx, &a, &[-1], Order::F, "flat.npy", &opts)?; // a.ravel('F')
//! // Views compose without copying; write_view writes any of them.
//! let v = View::of(&t).slice(&parse_index("::2")?)?.transpose(None)?;
//! copy::write_view(&ctx, &v, "v.npy", &Default::default(), &opts)?;
//! # Ok::<(), outcore_engine::Error>(())
//! ```

mod index;
mod plan;
mod swap;
mod text;
mod tile;
mod view;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use outcore_engine::{
    err, Array, ByteOrder, Context, DType, Layout, Order, Output, OutputFile, OutputOptions,
    Pattern, RawSpec, Result, ResultExt, ScratchFile,
};

pub use index::{parse_index, slice_positions, IndexItem};
pub use view::{normalize_axes, resolve_shape, View};

use plan::CopyPlan;

/// How the destination of [`write_view`] is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSpec {
    /// The order in which the view's elements are taken and laid out: `C` writes
    /// `np.ascontiguousarray(view)`, `F` writes `np.asfortranarray(view)`.
    pub order: Order,
    /// The shape written in the header (default: the view's). It must have as many elements
    /// as the view: the elements, taken in `order`, fill it in `order` (NumPy's reshape).
    pub shape: Option<Vec<usize>>,
    /// Cast the elements to this dtype (NumPy `astype`); default: the view's dtype.
    pub dtype: Option<DType>,
    /// Write raw bytes (`ndarray.tofile`) instead of a `.npy` file.
    pub raw: bool,
}

impl Default for WriteSpec {
    fn default() -> Self {
        WriteSpec {
            order: Order::C,
            shape: None,
            dtype: None,
            raw: false,
        }
    }
}

/// Options of [`convert`]: the `outcore convert` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Target dtype (`--dtype`), cast as NumPy's `astype`; default: the input's.
    pub dtype: Option<DType>,
    /// Memory order of the output (`--order`).
    pub order: Order,
    /// Byte order of the output (`--byteorder`), applied after `dtype`.
    pub byteorder: Option<ByteOrder>,
    /// Write raw bytes instead of `.npy` (`--to-raw`).
    pub to_raw: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            dtype: None,
            order: Order::C,
            byteorder: None,
            to_raw: false,
        }
    }
}

/// `np.ascontiguousarray(a.transpose(axes))` into `dest` (`axes = None` reverses the axes).
pub fn transpose(
    ctx: &Context,
    input: &Array,
    axes: Option<&[isize]>,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let view = View::of(input).transpose(axes).at(input.path())?;
    write_view_phase(
        ctx,
        "transpose",
        &view,
        dest.as_ref(),
        &WriteSpec::default(),
        &with_input(opts, input),
    )
}

/// `np.reshape(a, shape, order)` into `dest`, written in `order` (so the output's bytes are
/// the input's elements taken in `order`; `-1` in `shape` is inferred). Never two passes:
/// reshaping in the order the input is stored is a straight copy, in the other order one
/// tiled copy.
pub fn reshape(
    ctx: &Context,
    input: &Array,
    shape: &[isize],
    order: Order,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let new_shape = resolve_shape(input.len(), shape).at(input.path())?;
    let spec = WriteSpec {
        order,
        shape: Some(new_shape),
        ..WriteSpec::default()
    };
    write_view_phase(
        ctx,
        "reshape",
        &View::of(input),
        dest.as_ref(),
        &spec,
        &with_input(opts, input),
    )
}

/// `np.reshape(a, shape, order)` as a view of `input` when no copy is needed (see
/// [`View::reshape`]); `Ok(None)` when the layout needs a copy ([`reshape`] does it).
pub fn reshape_view<'a>(
    input: &'a Array,
    shape: &[isize],
    order: Order,
) -> Result<Option<View<'a>>> {
    View::of(input).reshape(shape, order).at(input.path())
}

/// `a[index]` (NumPy basic indexing) into `dest`, C-ordered.
pub fn slice(
    ctx: &Context,
    input: &Array,
    index: &[IndexItem],
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let view = View::of(input).slice(index).at(input.path())?;
    write_view_phase(
        ctx,
        "slice",
        &view,
        dest.as_ref(),
        &WriteSpec::default(),
        &with_input(opts, input),
    )
}

/// `a.astype(dtype)` with the given memory order, byte order and file format, into `dest`.
pub fn convert(
    ctx: &Context,
    input: &Array,
    options: &ConvertOptions,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let mut dtype = options
        .dtype
        .clone()
        .unwrap_or_else(|| input.dtype().clone());
    if let Some(bo) = options.byteorder {
        dtype = dtype.with_byte_order(bo);
    }
    let spec = WriteSpec {
        order: options.order,
        shape: None,
        dtype: Some(dtype),
        raw: options.to_raw,
    };
    write_view_phase(
        ctx,
        "convert",
        &View::of(input),
        dest.as_ref(),
        &spec,
        &with_input(opts, input),
    )
}

/// Writes `view` to `dest` as `spec` says and returns the destination opened read-only. The
/// destination appears only when complete: on any error or cancellation it is untouched.
pub fn write_view(
    ctx: &Context,
    view: &View<'_>,
    dest: impl AsRef<Path>,
    spec: &WriteSpec,
    opts: &OutputOptions,
) -> Result<Array> {
    write_view_phase(ctx, "copy", view, dest.as_ref(), spec, opts)
}

fn with_input(opts: &OutputOptions, input: &Array) -> OutputOptions {
    let mut o = opts.clone();
    o.inputs.push(input.path().to_path_buf());
    o
}

/// The elements of `view` in C order, cast to `dtype`, in a new scratch file in `dir`: for the
/// kernels that need a C-contiguous operand (the gathers of [`crate::gather`]).
pub(crate) fn c_order_scratch(
    ctx: &Context,
    view: &View<'_>,
    dtype: &DType,
    dir: &Path,
) -> Result<ScratchFile> {
    let in_path = view.input().path().to_path_buf();
    let convert = plan_convert(view.dtype(), dtype).at(&in_path)?;
    let mut scratch = ScratchFile::create(dir, view.len() * dtype.itemsize())?;
    copy_into(
        ctx,
        "copy",
        view,
        scratch.output(),
        &convert,
        dtype.itemsize(),
    )?;
    Ok(scratch)
}

/// What happens to the copied bytes on their way to the destination.
enum Convert {
    /// Bytes as they are.
    None,
    /// Byte order changes: runs to reverse in each item.
    Swap(Vec<swap::Segment>),
    /// A numeric cast between two scalar dtypes, or between string dtypes.
    Cast { from: DType, to: DType },
}

fn plan_convert(from: &DType, to: &DType) -> Result<Convert> {
    if from == to {
        return Ok(Convert::None);
    }
    if let Some(segments) = swap::swap_segments(from, to) {
        return Ok(if segments.is_empty() {
            Convert::None
        } else {
            Convert::Swap(segments)
        });
    }
    match (from, to) {
        (DType::Scalar { .. }, DType::Scalar { .. }) if crate::cast::check_cast(from, to).is_ok() => Ok(Convert::Cast {
            from: from.clone(),
            to: to.clone(),
        }),
        _ if text::is_text(from) && text::is_text(to) => Ok(Convert::Cast {
            from: from.clone(),
            to: to.clone(),
        }),
        _ => Err(err!(
            UnsupportedDType,
            "cannot convert dtype {} ({}) to {} ({}): only numeric casts, string width/kind changes and byte-order changes are supported",
            from.str_code(),
            from.name(),
            to.str_code(),
            to.name()
        )),
    }
}

fn write_view_phase(
    ctx: &Context,
    phase: &str,
    view: &View<'_>,
    dest: &Path,
    spec: &WriteSpec,
    opts: &OutputOptions,
) -> Result<Array> {
    let in_path = view.input().path().to_path_buf();
    let out_dtype = spec.dtype.clone().unwrap_or_else(|| view.dtype().clone());
    let convert = plan_convert(view.dtype(), &out_dtype).at(&in_path)?;
    let shape = match &spec.shape {
        Some(s) => {
            if s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(view.len()) {
                return Err(
                    err!(Shape, "cannot write {} elements as shape {s:?}", view.len())
                        .with_path(dest),
                );
            }
            s.clone()
        }
        None => view.shape().to_vec(),
    };
    let mut layout = Layout::new(out_dtype.clone(), shape.clone(), spec.order).at(dest)?;
    // Like `np.save`, an array that is both C- and F-contiguous is recorded as C order.
    let order = if layout.is_c_contiguous() {
        Order::C
    } else {
        spec.order
    };
    if order != spec.order {
        layout = Layout::new(out_dtype.clone(), shape.clone(), order).at(dest)?;
    }
    let mut out = if spec.raw {
        OutputFile::create_raw(dest, layout.nbytes(), opts)?
    } else {
        OutputFile::create_npy(dest, &layout, opts)?
    };
    // Walking the view in F order is walking its reversed axes in C order.
    // (The walk follows the requested order even where the header records C: a reshape's
    // output shape may be 1-d while its input is not.)
    let walk = match spec.order {
        Order::C => view.clone(),
        Order::F => view.transpose(None)?,
    };
    copy_into(
        ctx,
        phase,
        &walk,
        out.output(),
        &convert,
        out_dtype.itemsize(),
    )?;
    out.commit()?;
    if spec.raw {
        Array::open_raw(
            dest,
            RawSpec {
                dtype: out_dtype,
                shape,
                offset: 0,
                order,
            },
            outcore_engine::Mode::Read,
        )
    } else {
        Array::open(dest)
    }
}

/// The copy engine proper: the elements of `view` in C order, converted, into `out`.
fn copy_into(
    ctx: &Context,
    phase: &str,
    view: &View<'_>,
    out: Output<'_>,
    convert: &Convert,
    out_item: usize,
) -> Result<()> {
    let in_item = view.itemsize();
    // Plan in destination bytes of the *input* item size; casts scale the ranges.
    let target = ctx.chunk_bytes() / out_item.max(1) * in_item.max(1);
    let plan = CopyPlan::new(
        view.offset(),
        view.shape(),
        view.strides(),
        in_item,
        target.max(in_item),
    );
    if plan.chunks() == 0 {
        return Ok(());
    }
    let scale =
        |r: std::ops::Range<usize>| r.start / in_item * out_item..r.end / in_item * out_item;
    let ios: Vec<_> = (0..plan.chunks())
        .map(|c| {
            let mut io = plan.chunk_io(c);
            if in_item != out_item {
                io.write = io.write.map(scale);
                io.bytes = io.bytes / in_item as u64 * out_item as u64;
            }
            io
        })
        .collect();
    let input = view.input();
    let src = input.bytes;
    let pattern = if plan.is_dense() {
        Pattern::Sequential
    } else {
        Pattern::Random
    };
    // Strided reads fault their pages in as they go; drop them from the resident set every
    // half budget of pages touched so that the mapped window stays bounded.
    let release_every = (ctx.budget().limit() as u64 / 2).max(16 << 20);
    let touched = AtomicU64::new(0);
    ctx.run(phase, pattern, &[input], Some(out), &ios, |c, dst| {
        let b = plan.chunk(c);
        match convert {
            Convert::None | Convert::Swap(_) => {
                tile::copy_box(
                    src,
                    b.src_off,
                    dst,
                    0,
                    &b.dims,
                    &b.src_strides,
                    &b.dst_strides,
                    in_item,
                );
                if let Convert::Swap(segments) = convert {
                    swap::apply(dst, in_item, segments);
                }
            }
            Convert::Cast { from, to } => {
                if plan.is_contiguous() {
                    cast_items(from, to, &src[b.hull.clone()], dst)?;
                } else {
                    let cap = STAGING_BYTES
                        .min(ctx.chunk_bytes())
                        .min(ctx.worker_share(2))
                        .max(in_item);
                    let n = b.write.len().min(cap);
                    let _held = ctx.budget().reserve(n, "the copy's cast buffer")?;
                    let mut staged = Staged {
                        src,
                        buf: vec![0u8; n],
                        in_item,
                        out_item,
                        from,
                        to,
                    };
                    staged.cast_box(b.src_off, &b.dims, &b.src_strides, &b.dst_strides, dst)?;
                }
            }
        }
        if !plan.is_dense() {
            let t = plan.touched_bytes(&b) as u64;
            let before = touched.fetch_add(t, Ordering::Relaxed);
            if (before + t) / release_every > before / release_every {
                input.release(0..src.len());
            }
        }
        Ok(())
    })?;
    if !plan.is_dense() {
        input.release(0..src.len());
    }
    Ok(())
}

/// Most bytes of a strided cast's staging buffer (per worker; at most one chunk and half the
/// budget's share of a worker, so small budgets get small buffers). Staging a whole chunk
/// needed the chunk times the itemsize ratio of a narrowing cast (16x for complex128 →
/// uint8) and failed under a small `--mem`; 1 MiB holds enough rows of a transposing copy to
/// use whole source cache lines and stays near the cache; it measured faster than 64 KiB and
/// than whole chunks for a transposing float64 → float32 `convert`.
const STAGING_BYTES: usize = 1 << 20;

/// A strided cast through a small staging buffer: the source box is gathered into `buf` in
/// pieces (slabs along its outer axes), each piece cast into its part of the destination.
struct Staged<'a> {
    src: &'a [u8],
    buf: Vec<u8>,
    in_item: usize,
    out_item: usize,
    from: &'a DType,
    to: &'a DType,
}

impl Staged<'_> {
    /// Casts the box (`dims`, source offset and strides; `dst_strides` dense C order of the
    /// box in input-item bytes) into `dst`, which holds the box's items in C order.
    fn cast_box(
        &mut self,
        src_off: usize,
        dims: &[usize],
        src_strides: &[isize],
        dst_strides: &[usize],
        dst: &mut [u8],
    ) -> Result<()> {
        let items: usize = dims.iter().product();
        let bytes = items * self.in_item;
        if bytes <= self.buf.len() || dims.is_empty() {
            let piece = &mut self.buf[..bytes];
            tile::copy_box(
                self.src,
                src_off,
                piece,
                0,
                dims,
                src_strides,
                dst_strides,
                self.in_item,
            );
            return cast_items(self.from, self.to, piece, &mut dst[..items * self.out_item]);
        }
        // Too large: cut along the first axis with more than one index into slabs that fit
        // (a single index too large is cut again along the next axes).
        let Some(axis) = dims.iter().position(|&d| d > 1) else {
            unreachable!("a box of one item fits the staging buffer")
        };
        let row_items = dst_strides[axis] / self.in_item;
        let per_slab = (self.buf.len() / dst_strides[axis]).max(1);
        let mut sub = dims.to_vec();
        for first in (0..dims[axis]).step_by(per_slab) {
            sub[axis] = per_slab.min(dims[axis] - first);
            let off = src_off as isize + first as isize * src_strides[axis];
            let start = first * row_items * self.out_item;
            let end = start + sub[axis] * row_items * self.out_item;
            self.cast_box(
                off as usize,
                &sub,
                src_strides,
                dst_strides,
                &mut dst[start..end],
            )?;
        }
        Ok(())
    }
}

/// Casts whole items of `from` in `src` to items of `to` in `dst` (NumPy `astype`, see
/// [`crate::cast`]).
pub(crate) fn cast_items(from: &DType, to: &DType, src: &[u8], dst: &mut [u8]) -> Result<()> {
    if text::is_text(from) {
        text::convert(from, to, src, dst)
    } else {
        crate::cast::cast_bytes(src, from, dst, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outcore_engine::ScalarKind;

    /// A strided cast through staging buffers of any size gives the cast of the whole box.
    #[test]
    fn staged_cast_matches_a_whole_box_cast() {
        let (from, to) = (
            DType::scalar(ScalarKind::F64, ByteOrder::NATIVE),
            DType::scalar(ScalarKind::I16, ByteOrder::NATIVE),
        );
        // A (5, 7, 3) C-order float64 source with distinct values.
        let src: Vec<u8> = (0..105)
            .flat_map(|i| (i as f64 * 1.5 - 40.0).to_ne_bytes())
            .collect();
        // Its transpose (3, 7, 5), and the same with the middle axis reversed.
        let boxes: [(usize, [isize; 3]); 2] = [(0, [8, 24, 168]), (6 * 24, [8, -24, 168])];
        let dims = [3usize, 7, 5];
        let dst_strides = [7 * 5 * 8, 5 * 8, 8];
        for (src_off, src_strides) in boxes {
            let mut whole = vec![0u8; 105 * 8];
            tile::copy_box(
                &src,
                src_off,
                &mut whole,
                0,
                &dims,
                &src_strides,
                &dst_strides,
                8,
            );
            let mut expect = vec![0u8; 105 * 2];
            cast_items(&from, &to, &whole, &mut expect).unwrap();
            for buf in [8, 16, 24, 40, 48, 296, 800, 105 * 8, 4096] {
                let mut got = vec![0xAAu8; 105 * 2];
                Staged {
                    src: &src,
                    buf: vec![0u8; buf],
                    in_item: 8,
                    out_item: 2,
                    from: &from,
                    to: &to,
                }
                .cast_box(src_off, &dims, &src_strides, &dst_strides, &mut got)
                .unwrap();
                assert_eq!(got, expect, "staging buffer of {buf} bytes");
            }
        }
    }
}
