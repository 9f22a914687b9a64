//! Array generation (`outcore gen`): fills an output of any numeric dtype, shape and order in
//! bounded memory, chunk-parallel.
//!
//! Random fills use a counter-based generator: element `p` (its position in the file) gets
//! `splitmix64(key(seed, stream) + p·φ)`. Every element depends only on the seed and its
//! position, so the output is reproducible for a seed whatever the thread count or chunk size,
//! and chunks can be generated independently.

use std::ops::Range;
use std::path::Path;

use outcore_engine::{
    strides_for, ChunkIo, Complex128, Context, DType, Error, ErrorKind, Layout, Order, OutputFile,
    OutputOptions, Pattern, Result, ScalarKind,
};

use crate::cast::cast_bytes;

/// How to fill a generated array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// Floats uniform in [0, 1); integers uniform over the dtype's whole range; bools 50/50.
    Random,
    /// Standard normal (cast to the dtype).
    Normal,
    /// The element's flat C-order (logical) index, cast to the dtype.
    Arange,
    /// `np.zeros`.
    Zeros,
    /// `np.ones`.
    Ones,
    /// Integers uniform in [lo, hi), cast to the dtype.
    RandInt(i64, i64),
}

impl Fill {
    /// Parses `random|normal|arange|zeros|ones|randint:LO:HI`.
    pub fn parse(s: &str) -> Result<Fill> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("invalid fill {s:?}: {why} (expected random, normal, arange, zeros, ones or randint:LO:HI)"),
            )
        };
        Ok(match s {
            "random" => Fill::Random,
            "normal" => Fill::Normal,
            "arange" => Fill::Arange,
            "zeros" => Fill::Zeros,
            "ones" => Fill::Ones,
            _ => {
                let rest = s
                    .strip_prefix("randint:")
                    .ok_or_else(|| bad("unknown fill"))?;
                let (lo, hi) = rest.split_once(':').ok_or_else(|| bad("missing HI"))?;
                let lo: i64 = lo.trim().parse().map_err(|_| bad("LO is not an integer"))?;
                let hi: i64 = hi.trim().parse().map_err(|_| bad("HI is not an integer"))?;
                if hi <= lo {
                    return Err(bad("HI must be greater than LO"));
                }
                Fill::RandInt(lo, hi)
            }
        })
    }
}

#[inline(always)]
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Independent random streams keyed by the seed.
#[derive(Clone, Copy)]
struct Stream(u64);

impl Stream {
    fn new(seed: u64, stream: u64) -> Stream {
        Stream(splitmix(
            splitmix(seed) ^ stream.wrapping_mul(GOLDEN).wrapping_add(1),
        ))
    }
    #[inline(always)]
    fn bits(self, pos: u64) -> u64 {
        splitmix(self.0.wrapping_add(pos.wrapping_mul(GOLDEN)))
    }
    #[inline(always)]
    fn uniform(self, pos: u64) -> f64 {
        (self.bits(pos) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Generates an array into a new `.npy` file at `dest`.
pub fn generate(
    ctx: &Context,
    dest: &Path,
    layout: &Layout,
    fill: Fill,
    seed: u64,
    opts: &OutputOptions,
) -> Result<()> {
    let kind = layout.dtype().scalar_kind().ok_or_else(|| {
        Error::new(
            ErrorKind::UnsupportedDType,
            format!(
                "gen needs a numeric dtype, not {} ({})",
                layout.dtype().str_code(),
                layout.dtype().name()
            ),
        )
    })?;
    let mut out = OutputFile::create_npy(dest, layout, opts)?;
    if fill != Fill::Zeros && !layout.is_empty() {
        let item = layout.itemsize();
        let output = out.output();
        let chunks = ctx.plan(output.data_offset(), item, 0..layout.len());
        let plan: Vec<ChunkIo> = chunks
            .iter()
            .map(|c| ChunkIo {
                reads: Vec::new(),
                write: Some(c.start * item..c.end * item),
                bytes: (c.len() * item) as u64,
            })
            .collect();
        let logical = LogicalIndex::new(layout);
        ctx.run(
            "gen",
            Pattern::Sequential,
            &[],
            Some(output),
            &plan,
            |i, bytes| {
                fill_chunk(
                    bytes,
                    chunks[i].clone(),
                    layout.dtype(),
                    kind,
                    fill,
                    seed,
                    &logical,
                )
            },
        )
        .map_err(|e| e.with_path(dest))?;
    }
    out.commit()
}

/// Source values of one block, before the cast to the output dtype.
enum Block {
    Bits(Vec<u64>),
    Ints(Vec<i64>),
    Floats(Vec<f64>),
    Complex(Vec<Complex128>),
}

const BLOCK: usize = 8192;

fn fill_chunk(
    out: &mut [u8],
    positions: Range<usize>,
    dtype: &DType,
    kind: ScalarKind,
    fill: Fill,
    seed: u64,
    logical: &LogicalIndex,
) -> Result<()> {
    let item = dtype.itemsize();
    let (s0, s1) = (Stream::new(seed, 0), Stream::new(seed, 1));
    let mut start = positions.start;
    while start < positions.end {
        let end = positions.end.min(start + BLOCK);
        let range = start as u64..end as u64;
        let block = match fill {
            Fill::Zeros => Block::Ints(vec![0; end - start]),
            Fill::Ones => Block::Ints(vec![1; end - start]),
            Fill::Arange => Block::Ints(range.map(|p| logical.of(p as usize) as i64).collect()),
            Fill::RandInt(lo, hi) => {
                let span = hi.wrapping_sub(lo) as u64 as u128;
                Block::Ints(
                    range
                        .map(|p| lo.wrapping_add(((s0.bits(p) as u128 * span) >> 64) as i64))
                        .collect(),
                )
            }
            Fill::Random if kind.is_complex() => Block::Complex(
                range
                    .map(|p| Complex128 {
                        re: s0.uniform(p),
                        im: s1.uniform(p),
                    })
                    .collect(),
            ),
            Fill::Random if kind.is_float() => {
                Block::Floats(range.map(|p| s0.uniform(p)).collect())
            }
            Fill::Random if kind.is_bool() => {
                Block::Bits(range.map(|p| s0.bits(p) >> 63).collect())
            }
            Fill::Random => Block::Bits(range.map(|p| s0.bits(p)).collect()),
            Fill::Normal => Block::Floats(
                range
                    .map(|p| {
                        let r = (-2.0 * (1.0 - s0.uniform(p)).ln()).sqrt();
                        r * (std::f64::consts::TAU * s1.uniform(p)).cos()
                    })
                    .collect(),
            ),
        };
        let dst = &mut out[(start - positions.start) * item..(end - positions.start) * item];
        match &block {
            Block::Bits(v) => cast_bytes(
                bytemuck::cast_slice(v),
                &DType::native(ScalarKind::U64),
                dst,
                dtype,
            )?,
            Block::Ints(v) => cast_bytes(
                bytemuck::cast_slice(v),
                &DType::native(ScalarKind::I64),
                dst,
                dtype,
            )?,
            Block::Floats(v) => cast_bytes(
                bytemuck::cast_slice(v),
                &DType::native(ScalarKind::F64),
                dst,
                dtype,
            )?,
            Block::Complex(v) => cast_bytes(
                bytemuck::cast_slice(v),
                &DType::native(ScalarKind::C128),
                dst,
                dtype,
            )?,
        }
        start = end;
    }
    Ok(())
}

/// Maps a position in memory order to the element's flat C-order (logical) index.
struct LogicalIndex {
    /// Shape and C strides listed in memory order (fastest axis first), for F layouts.
    axes: Option<Vec<(usize, usize)>>,
}

impl LogicalIndex {
    fn new(layout: &Layout) -> LogicalIndex {
        if layout.is_c_contiguous() {
            return LogicalIndex { axes: None };
        }
        let c = strides_for(layout.shape(), Order::C);
        LogicalIndex {
            axes: Some(layout.shape().iter().copied().zip(c).collect()),
        }
    }

    fn of(&self, mut pos: usize) -> usize {
        match &self.axes {
            None => pos,
            Some(axes) => {
                let mut idx = 0;
                for &(dim, cstride) in axes {
                    idx += (pos % dim) * cstride;
                    pos /= dim;
                }
                idx
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fills() {
        assert_eq!(Fill::parse("randint:-3:7").unwrap(), Fill::RandInt(-3, 7));
        assert!(Fill::parse("randint:3:3").is_err());
        assert!(Fill::parse("uniform").is_err());
    }

    #[test]
    fn fortran_positions_map_to_c_indices() {
        let l = Layout::new(DType::native(ScalarKind::F64), vec![2, 3], Order::F).unwrap();
        let li = LogicalIndex::new(&l);
        // F memory order of a 2x3: (0,0) (1,0) (0,1) (1,1) (0,2) (1,2)
        let got: Vec<usize> = (0..6).map(|p| li.of(p)).collect();
        assert_eq!(got, vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = Stream::new(42, 0);
        assert_eq!(a.bits(7), Stream::new(42, 0).bits(7));
        assert_ne!(a.bits(7), Stream::new(43, 0).bits(7));
        assert_ne!(a.bits(7), Stream::new(42, 1).bits(7));
        let mean: f64 = (0..100_000).map(|p| a.uniform(p)).sum::<f64>() / 100_000.0;
        assert!((mean - 0.5).abs() < 0.01);
    }
}
