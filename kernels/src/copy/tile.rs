//! The inner loops of the copy engine: one box of a strided source copied into C-ordered
//! destination bytes, cache-blocked when the source's fastest axis is not the destination's.
//!
//! Items are moved as `k` units of `[u8; G]` where `G` is the largest of 16, 8, 4, 2, 1 that
//! divides the item size and every offset and stride: 1/2/4/8/16-byte items (all numeric
//! dtypes, complex included) move as one unit per item with a single load and store, any other
//! item (records, strings) as a short run of units. Only bytes move, so every dtype works.

/// Copies the box `dims` (C order) whose element `[0,…]` is at byte `src_off` of `src` (byte
/// strides `src_strides`) to byte `dst_off` of `dst` (byte strides `dst_strides`, the last one
/// equal to `item`). Every addressed byte must be in range (a view invariant); out-of-range
/// indexing panics rather than reading or writing anything else.
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_box(
    src: &[u8],
    src_off: usize,
    dst: &mut [u8],
    dst_off: usize,
    dims: &[usize],
    src_strides: &[isize],
    dst_strides: &[usize],
    item: usize,
) {
    if dims.contains(&0) || item == 0 {
        return;
    }
    // The largest unit dividing the item and every offset and stride.
    let mut common = item | src_off | dst_off;
    for (&s, &d) in src_strides.iter().zip(dst_strides) {
        common |= s.unsigned_abs() | d;
    }
    let unit = [16usize, 8, 4, 2, 1]
        .into_iter()
        .find(|&u| common.is_multiple_of(u))
        .unwrap_or(1);
    let src_units: Vec<isize> = src_strides.iter().map(|&s| s / unit as isize).collect();
    let dst_units: Vec<usize> = dst_strides.iter().map(|&d| d / unit).collect();
    let geo = Geometry {
        src_off: (src_off / unit) as isize,
        dst_off: dst_off / unit,
        dims,
        src_strides: &src_units,
        dst_strides: &dst_units,
        k: item / unit,
        tile: tile_side(item),
    };
    // Micro-blocks of one 64-byte cache line per side for single-unit items.
    match unit {
        16 => geo.run::<[u8; 16], 4>(src, dst),
        8 => geo.run::<[u8; 8], 8>(src, dst),
        4 => geo.run::<[u8; 4], 16>(src, dst),
        2 => geo.run::<[u8; 2], 32>(src, dst),
        _ => geo.run::<[u8; 1], 64>(src, dst),
    }
}

/// Side of a square cache tile in items: about 16 KiB of items, so that the tile's source
/// and destination lines both stay in L1 while it is moved.
pub(crate) fn tile_side(item: usize) -> usize {
    let items = (16usize << 10) / item.max(1);
    let mut side = 8usize;
    while (side * 2) * (side * 2) <= items && side < 256 {
        side *= 2;
    }
    side
}

/// A box in units of `[u8; G]`.
struct Geometry<'g> {
    src_off: isize,
    dst_off: usize,
    dims: &'g [usize],
    src_strides: &'g [isize],
    dst_strides: &'g [usize],
    /// Units per item.
    k: usize,
    tile: usize,
}

impl Geometry<'_> {
    fn run<T: bytemuck::Pod, const B: usize>(&self, src: &[u8], dst: &mut [u8]) {
        let g = std::mem::size_of::<T>();
        let src: &[T] = bytemuck::cast_slice(&src[..src.len() / g * g]);
        let dst_len = dst.len() / g * g;
        let dst: &mut [T] = bytemuck::cast_slice_mut(&mut dst[..dst_len]);
        if self.k == 1 {
            self.copy::<T, true, B>(src, dst);
        } else {
            self.copy::<T, false, B>(src, dst);
        }
    }

    fn copy<T: bytemuck::Pod, const ONE: bool, const B: usize>(&self, src: &[T], dst: &mut [T]) {
        // Axes of length 1 never move the cursor.
        let mut dims = Vec::with_capacity(self.dims.len());
        let mut ss = Vec::with_capacity(self.dims.len());
        let mut ds = Vec::with_capacity(self.dims.len());
        for ((&d, &s), &t) in self.dims.iter().zip(self.src_strides).zip(self.dst_strides) {
            if d > 1 {
                dims.push(d);
                ss.push(s);
                ds.push(t);
            }
        }
        let k = self.k;
        let Some(inner) = dims.len().checked_sub(1) else {
            put::<T, ONE>(dst, self.dst_off, src, self.src_off, k);
            return;
        };
        let si = ss[inner];
        // The source's fastest axis: walking it touches the fewest cache lines.
        let fastest = (0..dims.len())
            .min_by_key(|&a| ss[a].unsigned_abs())
            .unwrap_or(inner);
        let n = dims[inner];
        if fastest == inner || ss[fastest].unsigned_abs() >= si.unsigned_abs() {
            // Row mode: the destination's rows come from source rows (contiguous or strided).
            for_each_index(
                &dims[..inner],
                &ss[..inner],
                &ds[..inner],
                self.src_off,
                self.dst_off,
                |s, d| {
                    copy_row::<T, ONE>(src, s, si, dst, d, n, k);
                },
            );
            return;
        }
        // Tile mode: a 2-d blocked transpose between the source's fastest axis and the
        // destination's, for every index of the remaining axes.
        let (ma, sa, da) = (dims[fastest], ss[fastest], ds[fastest]);
        let others: Vec<usize> = (0..inner).filter(|&a| a != fastest).collect();
        let od: Vec<usize> = others.iter().map(|&a| dims[a]).collect();
        let os: Vec<isize> = others.iter().map(|&a| ss[a]).collect();
        let odst: Vec<usize> = others.iter().map(|&a| ds[a]).collect();
        let tile = self.tile;
        if ONE {
            // Bands of `band` destination rows, swept across in B×B micro-blocks: each
            // block reads B whole source lines and writes B whole destination lines.
            let band = (2048 / std::mem::size_of::<T>()).max(B);
            for_each_index(&od, &os, &odst, self.src_off, self.dst_off, |s, d| {
                transpose_blocked::<T, B>(src, s, dst, d, ma, sa, da, n, si, band);
            });
        } else {
            for_each_index(&od, &os, &odst, self.src_off, self.dst_off, |s, d| {
                transpose_plane::<T, ONE>(src, s, dst, d, ma, sa, da, n, si, k, tile);
            });
        }
    }
}

/// Moves one item of `k` units.
#[inline(always)]
fn put<T: Copy, const ONE: bool>(dst: &mut [T], d: usize, src: &[T], s: isize, k: usize) {
    let s = s as usize;
    if ONE {
        dst[d] = src[s];
    } else {
        dst[d..d + k].copy_from_slice(&src[s..s + k]);
    }
}

/// One destination row of `n` items from a source row with stride `si` (units).
#[inline(always)]
fn copy_row<T: Copy, const ONE: bool>(
    src: &[T],
    s: isize,
    si: isize,
    dst: &mut [T],
    d: usize,
    n: usize,
    k: usize,
) {
    if si == k as isize {
        let s = s as usize;
        dst[d..d + n * k].copy_from_slice(&src[s..s + n * k]);
    } else if ONE {
        for (j, out) in dst[d..d + n].iter_mut().enumerate() {
            *out = src[(s + j as isize * si) as usize];
        }
    } else {
        for j in 0..n {
            put::<T, false>(dst, d + j * k, src, s + j as isize * si, k);
        }
    }
}

/// The blocked 2-d copy of an `ma × n` plane: source stride `sa` along the first axis (its
/// fastest), `si` along the second; destination stride `da` along the first, `k` along the
/// second (contiguous). Tiles of `tile × tile` items keep both sides' lines in cache.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn transpose_plane<T: Copy, const ONE: bool>(
    src: &[T],
    s: isize,
    dst: &mut [T],
    d: usize,
    ma: usize,
    sa: isize,
    da: usize,
    n: usize,
    si: isize,
    k: usize,
    tile: usize,
) {
    let mut a0 = 0;
    while a0 < ma {
        let a1 = (a0 + tile).min(ma);
        let mut i0 = 0;
        while i0 < n {
            let i1 = (i0 + tile).min(n);
            for i in i0..i1 {
                // One source run along the fastest axis…
                let sc = s + i as isize * si;
                let dc = d + i * k;
                // …scattered down one destination column.
                for a in a0..a1 {
                    put::<T, ONE>(dst, dc + a * da, src, sc + a as isize * sa, k);
                }
            }
            i0 = i1;
        }
        a0 = a1;
    }
}

/// The blocked 2-d copy of an `ma × n` plane of single-unit items (see [`transpose_plane`]
/// for the strides): bands of `band` rows along `a`, each swept along `i` in `B × B` blocks
/// staged through a small local array, so that every source and destination cache line is
/// touched once, whole, however the rows' power-of-two strides collide in the cache sets.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn transpose_blocked<T: bytemuck::Pod, const B: usize>(
    src: &[T],
    s: isize,
    dst: &mut [T],
    d: usize,
    ma: usize,
    sa: isize,
    da: usize,
    n: usize,
    si: isize,
    band: usize,
) {
    let scalar = |dst: &mut [T], a: usize, i: usize| {
        dst[d + a * da + i] = src[(s + i as isize * si + a as isize * sa) as usize];
    };
    let mut a0 = 0;
    while a0 < ma {
        let a1 = (a0 + band).min(ma);
        let a_full = a0 + (a1 - a0) / B * B;
        let mut i0 = 0;
        while i0 + B <= n {
            let mut a = a0;
            while a < a_full {
                micro_block::<T, B>(
                    src,
                    s + i0 as isize * si + a as isize * sa,
                    si,
                    sa,
                    dst,
                    d + a * da + i0,
                    da,
                );
                a += B;
            }
            for a in a_full..a1 {
                for i in i0..i0 + B {
                    scalar(dst, a, i);
                }
            }
            i0 += B;
        }
        for a in a0..a1 {
            for i in i0..n {
                scalar(dst, a, i);
            }
        }
        a0 = a1;
    }
}

/// One `B × B` block: `dst[a][i] = src[i][a]`, through a local array.
#[inline(always)]
fn micro_block<T: bytemuck::Pod, const B: usize>(
    src: &[T],
    s: isize,
    si: isize,
    sa: isize,
    dst: &mut [T],
    d: usize,
    da: usize,
) {
    let mut buf = [[T::zeroed(); B]; B];
    for (i, row) in buf.iter_mut().enumerate() {
        let base = s + i as isize * si;
        if sa == 1 {
            let b = base as usize;
            row.copy_from_slice(&src[b..b + B]);
        } else {
            for (a, v) in row.iter_mut().enumerate() {
                *v = src[(base + a as isize * sa) as usize];
            }
        }
    }
    for a in 0..B {
        let out = &mut dst[d + a * da..d + a * da + B];
        for (i, o) in out.iter_mut().enumerate() {
            *o = buf[i][a];
        }
    }
}

/// Calls `f(src_offset, dst_offset)` for every index of `dims` in C order (once for no axes).
#[inline(always)]
fn for_each_index(
    dims: &[usize],
    ss: &[isize],
    ds: &[usize],
    s0: isize,
    d0: usize,
    mut f: impl FnMut(isize, usize),
) {
    if dims.is_empty() {
        f(s0, d0);
        return;
    }
    let last = dims.len() - 1;
    let mut idx = vec![0usize; dims.len()];
    let (mut s, mut d) = (s0, d0);
    loop {
        // Walk the last axis directly; carry into the others.
        for j in 0..dims[last] {
            f(s + j as isize * ss[last], d + j * ds[last]);
        }
        let mut axis = last;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            idx[axis] += 1;
            s += ss[axis];
            d += ds[axis];
            if idx[axis] < dims[axis] {
                break;
            }
            s -= ss[axis] * dims[axis] as isize;
            d -= ds[axis] * dims[axis];
            idx[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: one item at a time, offsets computed from scratch.
    fn naive(src: &[u8], off: usize, dims: &[usize], ss: &[isize], item: usize) -> Vec<u8> {
        let n: usize = dims.iter().product();
        let mut out = Vec::with_capacity(n * item);
        for flat in 0..n {
            let mut rem = flat;
            let mut o = off as isize;
            for ax in (0..dims.len()).rev() {
                o += (rem % dims[ax]) as isize * ss[ax];
                rem /= dims[ax];
            }
            out.extend_from_slice(&src[o as usize..o as usize + item]);
        }
        out
    }

    fn c_strides(dims: &[usize], item: usize) -> Vec<usize> {
        let mut st = vec![0; dims.len()];
        let mut acc = item;
        for (s, d) in st.iter_mut().zip(dims).rev() {
            *s = acc;
            acc *= d;
        }
        st
    }

    fn check(dims: &[usize], perm: &[usize], flips: &[bool], item: usize) {
        // A C-contiguous source of `dims`, permuted and with some axes reversed.
        let n: usize = dims.iter().product();
        let src: Vec<u8> = (0..n * item + 3).map(|i| (i * 7 + i / 251) as u8).collect();
        let base = c_strides(dims, item);
        let vd: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        let mut vs: Vec<isize> = perm.iter().map(|&p| base[p] as isize).collect();
        let mut off = 0isize;
        for (ax, &f) in flips.iter().enumerate() {
            if f && vd[ax] > 0 {
                off += (vd[ax] as isize - 1) * vs[ax];
                vs[ax] = -vs[ax];
            }
        }
        let want = naive(&src, off as usize, &vd, &vs, item);
        let mut got = vec![0xAAu8; want.len()];
        copy_box(
            &src,
            off as usize,
            &mut got,
            0,
            &vd,
            &vs,
            &c_strides(&vd, item),
            item,
        );
        assert_eq!(
            got, want,
            "dims {dims:?} perm {perm:?} flips {flips:?} item {item}"
        );
    }

    #[test]
    fn transposes_every_item_size() {
        for item in [1, 2, 3, 4, 8, 12, 16, 20, 24, 40] {
            check(&[37, 53], &[1, 0], &[false, false], item);
            check(&[300, 70], &[1, 0], &[false, true], item);
            check(&[5, 6, 7], &[2, 0, 1], &[true, false, false], item);
            check(&[1, 9, 1], &[2, 1, 0], &[false, false, false], item);
            check(&[4, 0, 3], &[1, 2, 0], &[false, false, false], item);
        }
    }

    #[test]
    fn tile_side_fits_l1() {
        assert_eq!(tile_side(8), 32);
        assert_eq!(tile_side(1), 128);
        assert!(tile_side(1 << 20) >= 8);
    }

    proptest! {
        #[test]
        fn matches_the_naive_copy(
            dims in proptest::collection::vec(0usize..9, 0..5),
            seed in any::<u64>(),
            item in prop::sample::select(vec![1usize, 2, 4, 6, 8, 16, 24]),
        ) {
            let n = dims.len();
            let mut perm: Vec<usize> = (0..n).collect();
            // A seeded shuffle and flip pattern.
            let mut x = seed | 1;
            for i in (1..n).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let flips: Vec<bool> = (0..n).map(|i| (seed >> i) & 1 == 1).collect();
            check(&dims, &perm, &flips, item);
        }
    }
}
