//! `np.concatenate` / `np.stack` out of core: the C-order output is, row after row of its
//! leading axes, one contiguous segment of every input in turn, so each chunk of the output
//! reads one contiguous range of each input and converts it to the common dtype on the way.

use std::ops::Range;
use std::path::Path;

use outcore_engine::{
    err, Array, ChunkIo, Context, DType, Input, Layout, Order, OutputFile, OutputOptions, Pattern,
    ReadRange, Result, ResultExt,
};

use super::{c_contiguous, normalize_axis, result_type, with_inputs, Contiguous};

/// `np.concatenate(inputs, axis)` (or `np.stack(inputs, axis)` with `stack`) into `dest`, C
/// order, in the inputs' common dtype ([`super::result_type`]); returns it opened read-only.
/// Inputs may differ in memory order, byte order and dtype.
pub fn concat(
    ctx: &Context,
    inputs: &[&Array],
    axis: isize,
    stack: bool,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let dest = dest.as_ref();
    let Some(first) = inputs.first() else {
        return Err(err!(
            InvalidArgument,
            "need at least one array to {}",
            if stack { "stack" } else { "concatenate" }
        ));
    };
    let dtype = common_dtype(inputs)?;
    let shape = first.shape();
    let nd = shape.len();
    let (out_shape, k, segments): (Vec<usize>, usize, Vec<usize>) = if stack {
        for a in &inputs[1..] {
            if a.shape() != shape {
                return Err(err!(
                    Shape,
                    "all input arrays must have the same shape to be stacked, but {} has shape {:?} and {} has shape {:?}",
                    first.path().display(),
                    shape,
                    a.path().display(),
                    a.shape()
                )
                .with_path(a.path()));
            }
        }
        let k = normalize_axis(axis, nd + 1).at(first.path())?;
        let mut s = shape[..k].to_vec();
        s.push(inputs.len());
        s.extend_from_slice(&shape[k..]);
        let seg = shape[k..].iter().product();
        (s, k, vec![seg; inputs.len()])
    } else {
        if nd == 0 {
            return Err(
                err!(Shape, "zero-dimensional arrays cannot be concatenated")
                    .with_path(first.path()),
            );
        }
        let k = normalize_axis(axis, nd).at(first.path())?;
        let mut s = shape.to_vec();
        for a in &inputs[1..] {
            if a.shape().len() != nd {
                return Err(err!(
                    Shape,
                    "all the input arrays must have the same number of dimensions, but {} has {} dimension(s) and {} has {}",
                    first.path().display(),
                    nd,
                    a.path().display(),
                    a.shape().len()
                )
                .with_path(a.path()));
            }
            if let Some(d) = (0..nd).find(|&d| d != k && a.shape()[d] != shape[d]) {
                return Err(err!(
                    Shape,
                    "all the input array dimensions except for the concatenation axis must match exactly, but along dimension {d}, {} has size {} and {} has size {}",
                    first.path().display(),
                    shape[d],
                    a.path().display(),
                    a.shape()[d]
                )
                .with_path(a.path()));
            }
            s[k] += a.shape()[k];
        }
        let segs = inputs
            .iter()
            .map(|a| a.shape()[k..].iter().product())
            .collect();
        (s, k, segs)
    };
    let layout = Layout::new(dtype.clone(), out_shape.clone(), Order::C).at(dest)?;
    let mut out = OutputFile::create_npy(dest, &layout, &with_inputs(opts, inputs))?;
    if out.nbytes() > 0 {
        let dir = ctx.scratch_dir_for(dest);
        // C-ordered inputs are read in place and converted on the way; the others are copied
        // once, already in the output's dtype.
        let mut operands = Vec::with_capacity(inputs.len());
        for a in inputs {
            let (data, from) = if a.layout().is_c_contiguous() {
                (Contiguous::Mapped(a), a.dtype().clone())
            } else if numbers_as_text(a.dtype(), &dtype) {
                // The copy engine does not write numbers as text: copied as they are, they
                // are written as text on the way like C-ordered ones.
                (c_contiguous(ctx, a, a.dtype(), &dir)?, a.dtype().clone())
            } else {
                (c_contiguous(ctx, a, &dtype, &dir)?, dtype.clone())
            };
            operands.push((data, from));
        }
        let sources: Vec<Input<'_>> = operands.iter().map(|(d, _)| d.input()).collect();
        let outer: usize = out_shape[..k].iter().product();
        let joined = Joined {
            sources: &sources,
            dtypes: operands.iter().map(|(_, d)| d.clone()).collect(),
            starts: std::iter::once(0)
                .chain(segments.iter().scan(0, |acc, &s| {
                    *acc += s;
                    Some(*acc)
                }))
                .collect(),
            segments,
            dtype,
        };
        joined.write(ctx, outer, out.output())?;
    }
    out.commit()?;
    Array::open(dest)
}

/// The inputs' common dtype; an error names the first input that has none with those before.
fn common_dtype(inputs: &[&Array]) -> Result<DType> {
    let dtypes: Vec<&DType> = inputs.iter().map(|a| a.dtype()).collect();
    for i in 1..dtypes.len() {
        result_type(&dtypes[..=i]).at(inputs[i].path())?;
    }
    result_type(&dtypes)
}

/// Whether items of `from` are numbers to be written as text (NumPy's `str()` of each).
fn numbers_as_text(from: &DType, to: &DType) -> bool {
    from.scalar_kind().is_some() && super::text::is_text(to)
}

/// The output's rows: `segments[i]` items of input `i` after `starts[i]` items of the row.
struct Joined<'a> {
    sources: &'a [Input<'a>],
    dtypes: Vec<DType>,
    segments: Vec<usize>,
    starts: Vec<usize>,
    dtype: DType,
}

impl Joined<'_> {
    fn row(&self) -> usize {
        self.starts[self.segments.len()]
    }

    /// How many items of input `i` come before output item `e`.
    fn consumed(&self, i: usize, e: usize) -> usize {
        let (o, t) = (e / self.row(), e % self.row());
        o * self.segments[i] + t.saturating_sub(self.starts[i]).min(self.segments[i])
    }

    fn write(&self, ctx: &Context, outer: usize, out: outcore_engine::Output<'_>) -> Result<()> {
        let total = outer * self.row();
        let osz = self.dtype.itemsize();
        let per = (ctx.chunk_bytes() / osz).max(1);
        let chunks: Vec<Range<usize>> = (0..total)
            .step_by(per)
            .map(|s| s..(s + per).min(total))
            .collect();
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| ChunkIo {
                reads: (0..self.sources.len())
                    .filter_map(|i| {
                        let isz = self.dtypes[i].itemsize();
                        let r = self.consumed(i, c.start) * isz..self.consumed(i, c.end) * isz;
                        (!r.is_empty()).then_some(ReadRange {
                            input: i,
                            range: r,
                            release: true,
                        })
                    })
                    .collect(),
                write: Some(c.start * osz..c.end * osz),
                bytes: (c.len() * osz) as u64,
            })
            .collect();
        ctx.run(
            "concat",
            Pattern::Sequential,
            self.sources,
            Some(out),
            &plan,
            |c, dst| {
                let Range { start: e0, end: e1 } = chunks[c].clone();
                let mut e = e0;
                while e < e1 {
                    let (o, t) = (e / self.row(), e % self.row());
                    let i = self.starts.partition_point(|&p| p <= t) - 1;
                    let len = (self.starts[i + 1] - t).min(e1 - e);
                    let s = o * self.segments[i] + (t - self.starts[i]);
                    let (from, isz) = (&self.dtypes[i], self.dtypes[i].itemsize());
                    let src = &self.sources[i].bytes[s * isz..(s + len) * isz];
                    let to = &mut dst[(e - e0) * osz..(e - e0 + len) * osz];
                    if *from == self.dtype {
                        to.copy_from_slice(src);
                    } else if numbers_as_text(from, &self.dtype) {
                        super::text::numbers_to_text(from, &self.dtype, src, to)
                            .at(self.sources[i].path())?;
                    } else {
                        crate::copy::cast_items(from, &self.dtype, src, to)
                            .at(self.sources[i].path())?;
                    }
                    e += len;
                }
                Ok(())
            },
        )
        .map(drop)
    }
}
