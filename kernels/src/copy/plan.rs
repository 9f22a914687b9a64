//! Splitting a copy into chunks of the destination: boxes that are contiguous ranges of the
//! C-ordered output, sized from the engine's chunk size, shaped so that the tile kernel sees
//! enough of the source's fastest axis to read whole cache lines.

use std::ops::Range;

use outcore_engine::page_size;
use outcore_engine::{ChunkIo, ReadRange};

use super::view::reduce;

/// The copy of a strided source (walked in C order) into a C-ordered destination, in chunks.
///
/// Chunk `c` is the box "fixed indices on the axes before `axis`, a block of `block` indices
/// on `axis`, everything on the axes after": a contiguous range of the destination.
#[derive(Debug, Clone)]
pub(crate) struct CopyPlan {
    item: usize,
    /// Source byte offset of element `[0, …]`.
    offset: usize,
    /// Reduced axes (see [`reduce`]); never empty unless the copy is empty.
    dims: Vec<usize>,
    /// Source byte strides.
    src: Vec<isize>,
    /// Destination byte strides (C order over `dims`).
    dst: Vec<usize>,
    axis: usize,
    block: usize,
    blocks: usize,
    chunks: usize,
    /// Each chunk's source bytes lie close together (its hull is at most about twice what it
    /// reads): the chunk's source range can be prefaulted and released as one.
    dense: bool,
}

/// One chunk: where its source starts, what of the destination it writes, and its box.
#[derive(Debug, Clone)]
pub(crate) struct ChunkBox {
    pub src_off: usize,
    pub write: Range<usize>,
    pub dims: Vec<usize>,
    pub src_strides: Vec<isize>,
    pub dst_strides: Vec<usize>,
    /// First and one-past-last source byte the chunk reads.
    pub hull: Range<usize>,
}

impl CopyPlan {
    /// Plans the copy of the view `(offset, shape, strides)` of `item`-byte elements with
    /// chunks of about `target` destination bytes.
    pub(crate) fn new(
        offset: usize,
        shape: &[usize],
        strides: &[isize],
        item: usize,
        target: usize,
    ) -> CopyPlan {
        let len: usize = shape.iter().product();
        let reduced = reduce(shape, strides);
        let (mut dims, mut src) = (reduced.dims, reduced.strides);
        if len == 0 || item == 0 {
            return CopyPlan {
                item,
                offset,
                dims: Vec::new(),
                src: Vec::new(),
                dst: Vec::new(),
                axis: 0,
                block: 0,
                blocks: 0,
                chunks: 0,
                dense: true,
            };
        }
        if dims.is_empty() {
            dims.push(1);
            src.push(item as isize);
        }
        let n = dims.len();
        let mut dst = vec![0usize; n];
        let mut acc = item;
        for (s, &d) in dst.iter_mut().zip(&dims).rev() {
            *s = acc;
            acc *= d;
        }
        let total = acc;
        let target = target.max(item);
        let (mut axis, mut block) = if total <= target {
            (0, dims[0])
        } else {
            let j = (0..n).find(|&j| dst[j] <= target).unwrap_or(n - 1);
            (j, (target / dst[j]).clamp(1, dims[j]))
        };
        // A transpose-like copy reads the source's fastest axis in runs as long as the chunk
        // is deep along it: keep at least a cache line's worth of it per chunk when the chunk
        // would otherwise cut it to single items (and that stays near the chunk size).
        let fastest = (0..n)
            .min_by_key(|&a| src[a].unsigned_abs())
            .unwrap_or(n - 1);
        let tiled = fastest != n - 1 && src[fastest].unsigned_abs() < src[n - 1].unsigned_abs();
        if tiled && (axis > fastest || (axis == fastest && block < dims[fastest])) {
            let rows = (64 / item).max(8).min(dims[fastest]);
            let have = if axis == fastest { block } else { 1 };
            if have < rows && rows * dst[fastest] <= 4 * target {
                axis = fastest;
                block = rows;
            }
        }
        let blocks = dims[axis].div_ceil(block);
        let prefix: usize = dims[..axis].iter().product();
        let mut plan = CopyPlan {
            item,
            offset,
            dims,
            src,
            dst,
            axis,
            block,
            blocks,
            chunks: prefix * blocks,
            dense: true,
        };
        let first = plan.chunk(0);
        let bytes = first.write.len();
        plan.dense = first.hull.len() <= 2 * bytes + 2 * page_size();
        plan
    }

    pub(crate) fn chunks(&self) -> usize {
        self.chunks
    }

    /// Whether chunks read compact source ranges (sequential-ish) rather than strips.
    pub(crate) fn is_dense(&self) -> bool {
        self.dense
    }

    /// The whole copy is one straight run of source bytes.
    pub(crate) fn is_contiguous(&self) -> bool {
        self.dims.len() == 1 && self.src[0] == self.item as isize
    }

    pub(crate) fn chunk(&self, c: usize) -> ChunkBox {
        let (p, b) = (c / self.blocks, c % self.blocks);
        let start = b * self.block;
        let h = self.block.min(self.dims[self.axis] - start);
        let mut s = self.offset as isize;
        let mut rem = p;
        for ax in (0..self.axis).rev() {
            s += (rem % self.dims[ax]) as isize * self.src[ax];
            rem /= self.dims[ax];
        }
        s += start as isize * self.src[self.axis];
        let slab = self.dst[self.axis];
        let dst_start = (p * self.dims[self.axis] + start) * slab;
        let mut dims = Vec::with_capacity(self.dims.len() - self.axis);
        dims.push(h);
        dims.extend_from_slice(&self.dims[self.axis + 1..]);
        let src_strides = self.src[self.axis..].to_vec();
        let (mut lo, mut hi) = (s, s + self.item as isize);
        for (&d, &st) in dims.iter().zip(&src_strides) {
            let span = (d as isize - 1) * st;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        ChunkBox {
            src_off: s as usize,
            write: dst_start..dst_start + h * slab,
            dims,
            src_strides,
            dst_strides: self.dst[self.axis..].to_vec(),
            hull: lo as usize..hi as usize,
        }
    }

    /// What chunk `c` reads and writes, for the scheduler. Dense chunks name their source
    /// range (prefaulted, then released); strided ones name none: they touch a few bytes of
    /// many pages, and a hint per page would cost more than the faults it saves.
    pub(crate) fn chunk_io(&self, c: usize) -> ChunkIo {
        let b = self.chunk(c);
        ChunkIo {
            reads: if self.dense {
                vec![ReadRange {
                    input: 0,
                    range: b.hull.clone(),
                    release: true,
                }]
            } else {
                Vec::new()
            },
            bytes: b.write.len() as u64,
            write: Some(b.write),
        }
    }

    /// An estimate of the source pages chunk `c` maps (strided chunks): each run along the
    /// source's fastest axis costs at least a page.
    pub(crate) fn touched_bytes(&self, b: &ChunkBox) -> usize {
        let page = page_size();
        let bytes = b.write.len();
        let run = b
            .dims
            .iter()
            .zip(&b.src_strides)
            .filter(|(&d, _)| d > 1)
            .min_by_key(|(_, s)| s.unsigned_abs())
            .map(|(&d, &s)| {
                if s.unsigned_abs() == self.item {
                    d * self.item
                } else {
                    self.item
                }
            })
            .unwrap_or(self.item)
            .max(1);
        (bytes.div_ceil(run) * run.next_multiple_of(page)).min(b.hull.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Chunks cover the destination exactly once, in order.
    fn check_cover(plan: &CopyPlan, total: usize) {
        let mut pos = 0;
        for c in 0..plan.chunks() {
            let b = plan.chunk(c);
            assert_eq!(b.write.start, pos, "chunk {c}");
            assert!(b.write.end > b.write.start);
            assert_eq!(b.write.len(), b.dims.iter().product::<usize>() * plan.item);
            pos = b.write.end;
        }
        assert_eq!(pos, total);
    }

    #[test]
    fn transpose_chunks_are_row_bands() {
        // (1024, 1024) f8 transposed: strides (8, 8192); 1 MiB chunks → 128 rows each.
        let plan = CopyPlan::new(0, &[1024, 1024], &[8, 8192], 8, 1 << 20);
        assert!(!plan.is_dense());
        assert_eq!(plan.chunks(), 8);
        let b = plan.chunk(1);
        assert_eq!(b.dims, vec![128, 1024]);
        assert_eq!(b.src_off, 128 * 8);
        check_cover(&plan, 8 << 20);
        // Tiny chunks still keep 8 rows of the source's fastest axis.
        let plan = CopyPlan::new(0, &[1024, 1024], &[8, 8192], 8, 16 << 10);
        assert_eq!(plan.chunk(0).dims, vec![8, 1024]);
        check_cover(&plan, 8 << 20);
    }

    #[test]
    fn contiguous_copies_are_dense() {
        let plan = CopyPlan::new(64, &[10, 20, 30], &[4800, 240, 8], 8, 4096);
        assert!(plan.is_dense() && plan.is_contiguous());
        check_cover(&plan, 48_000);
        let empty = CopyPlan::new(0, &[3, 0], &[0, 8], 8, 4096);
        assert_eq!(empty.chunks(), 0);
        let scalar = CopyPlan::new(16, &[], &[], 8, 4096);
        assert_eq!(scalar.chunks(), 1);
        assert_eq!(scalar.chunk(0).hull, 16..24);
    }

    proptest! {
        #[test]
        fn chunks_cover_the_destination(
            dims in proptest::collection::vec(1usize..40, 1..5),
            target in 1usize..20_000,
            item in 1usize..20,
            reverse in any::<bool>(),
        ) {
            // C strides, optionally reversed axes (a transpose).
            let mut st = vec![0isize; dims.len()];
            let mut acc = item as isize;
            for (s, &d) in st.iter_mut().zip(&dims).rev() { *s = acc; acc *= d as isize; }
            let (mut d2, mut s2) = (dims.clone(), st.clone());
            if reverse { d2.reverse(); s2.reverse(); }
            let plan = CopyPlan::new(0, &d2, &s2, item, target);
            check_cover(&plan, acc as usize);
            for c in 0..plan.chunks() {
                let b = plan.chunk(c);
                prop_assert!(b.hull.end <= acc as usize);
            }
        }
    }
}
