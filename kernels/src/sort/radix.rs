//! Records (what runs hold) and the in-memory run sort: an LSD radix sort on the key bytes,
//! skipping bytes that are the same in every record, with a comparison sort where radix does
//! not pay (tiny slices, keys wider than 8 bytes).

use std::fmt::Debug;

use bytemuck::Pod;
use outcore_engine::{CancelToken, Result};

/// Which invertible keys a stable merge must treat as equal (floats: `-0.0` and `+0.0`, and
/// every NaN). Inactive for everything else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Canon {
    pub active: bool,
    /// Key of `-0.0`, compared as `zero_to` (the key of `+0.0`).
    pub zero_from: u64,
    pub zero_to: u64,
    /// Keys above this are NaNs, all compared as `nan_key`.
    pub nan_above: u64,
    pub nan_key: u64,
}

/// A fixed-size record of a sorted run: a plain key (`u8`…`u64`, value sorts) or
/// `[u64; W]` = `W - 1` canonical key words, most significant first, then the element index
/// (argsort and `--by`; the index makes every record distinct, so any sort is stable).
pub trait Record: Pod + Ord + Default + Debug + Send + Sync {
    /// Key bytes an LSD radix sort must look at (at most 8 for radix; more → comparison sort).
    const KEY_BYTES: usize;
    /// Byte `i` of the key, counting from the least significant.
    fn digit(&self, i: usize) -> u8;
    /// The record as the merge compares it.
    #[inline(always)]
    fn canon(self, _c: &Canon) -> Self {
        self
    }
    /// The element (or row) index carried by the record (0 for plain keys).
    fn index(&self) -> u64 {
        0
    }
    /// The key of a plain-key record as `u64` (0 for index records).
    fn plain(&self) -> u64 {
        0
    }
}

macro_rules! plain_record {
    ($($t:ty),*) => {$(
        impl Record for $t {
            const KEY_BYTES: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn digit(&self, i: usize) -> u8 {
                (*self as u64 >> (8 * i)) as u8
            }
            #[inline(always)]
            fn canon(self, c: &Canon) -> Self {
                if !c.active {
                    return self;
                }
                let v = self as u64;
                if v == c.zero_from {
                    c.zero_to as $t
                } else if v > c.nan_above {
                    c.nan_key as $t
                } else {
                    self
                }
            }
            #[inline(always)]
            fn plain(&self) -> u64 {
                *self as u64
            }
        }
    )*};
}
plain_record!(u8, u16, u32, u64);

macro_rules! index_record {
    ($($w:literal),*) => {$(
        impl Record for [u64; $w] {
            const KEY_BYTES: usize = 8 * ($w - 1);
            #[inline(always)]
            fn digit(&self, i: usize) -> u8 {
                (self[$w - 2 - i / 8] >> (8 * (i % 8))) as u8
            }
            #[inline(always)]
            fn index(&self) -> u64 {
                self[$w - 1]
            }
        }
    )*};
}
index_record!(2, 3, 4, 5, 6, 7, 8, 9);

/// Below this many records a comparison sort beats building histograms.
const SMALL: usize = 384;

/// Sorts `data` (stably with respect to the key bytes), using `scratch` (at least as long) as
/// the second buffer. Checks `cancel` between passes.
pub fn sort_records<R: Record>(
    data: &mut [R],
    scratch: &mut [R],
    cancel: &CancelToken,
) -> Result<()> {
    let n = data.len();
    if n < SMALL || R::KEY_BYTES > 8 {
        // Equal plain keys are identical values and index records are all distinct, so an
        // unstable sort gives the stable result.
        data.sort_unstable();
        return Ok(());
    }
    let scratch = &mut scratch[..n];
    let mut hist = [[0usize; 256]; 8];
    for r in data.iter() {
        for (i, h) in hist.iter_mut().enumerate().take(R::KEY_BYTES) {
            h[r.digit(i) as usize] += 1;
        }
    }
    let mut in_data = true;
    for (i, h) in hist.iter().enumerate().take(R::KEY_BYTES) {
        if h.iter().any(|&c| c == n) {
            continue; // every record has the same byte here
        }
        cancel.check()?;
        let mut offsets = [0usize; 256];
        let mut sum = 0;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let (src, dst): (&[R], &mut [R]) = if in_data {
            (&*data, &mut *scratch)
        } else {
            (&*scratch, &mut *data)
        };
        for r in src {
            let d = r.digit(i) as usize;
            dst[offsets[d]] = *r;
            offsets[d] += 1;
        }
        in_data = !in_data;
    }
    if !in_data {
        data.copy_from_slice(scratch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a small deterministic generator for test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    fn check<R: Record>(mut v: Vec<R>) {
        let mut expect = v.clone();
        expect.sort();
        let mut scratch = vec![R::default(); v.len()];
        sort_records(&mut v, &mut scratch, &CancelToken::new()).unwrap();
        assert_eq!(v, expect);
    }

    #[test]
    fn radix_sorts_every_record_kind() {
        let mut rng = Rng(7);
        for n in [0, 1, 10, 383, 384, 1000, 20_000] {
            check((0..n).map(|_| rng.next() as u8).collect());
            check((0..n).map(|_| rng.next() as u16).collect());
            check((0..n).map(|_| (rng.next() as u32) >> 7).collect());
            check((0..n).map(|_| rng.next()).collect());
            check((0..n).map(|_| rng.next() & 0xff00_0000_00ff).collect());
            check((0..n as u64).map(|i| [rng.next() % 50, i]).collect());
            check(
                (0..n as u64)
                    .map(|i| [rng.next() % 3, rng.next() % 5, i])
                    .collect(),
            );
        }
    }

    #[test]
    fn index_records_keep_input_order_on_ties() {
        let mut v: Vec<[u64; 2]> = (0..5000u64).map(|i| [i % 7, i]).collect();
        let mut s = vec![[0; 2]; v.len()];
        sort_records(&mut v, &mut s, &CancelToken::new()).unwrap();
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn canon_merges_zero_and_nan_keys() {
        let c = Canon {
            active: true,
            zero_from: 10,
            zero_to: 11,
            nan_above: 100,
            nan_key: 255,
        };
        assert_eq!(10u8.canon(&c), 11);
        assert_eq!(11u8.canon(&c), 11);
        assert_eq!(101u8.canon(&c), 255);
        assert_eq!(50u8.canon(&c), 50);
        assert_eq!(10u8.canon(&Canon::default()), 10);
    }
}
