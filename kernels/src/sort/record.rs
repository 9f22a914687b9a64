//! Records, what sorted runs hold: plain keys or key words plus an element index, and the
//! canonical forms a stable merge compares.

use std::fmt::Debug;

use bytemuck::Pod;

/// Which invertible keys a stable merge must treat as equal (floats: `-0.0` and `+0.0`, and
/// every NaN). Inactive for everything else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Canon {
    /// Whether any keys need canonicalising.
    pub active: bool,
    /// Key of `-0.0`, compared as `zero_to` (the key of `+0.0`).
    pub zero_from: u64,
    /// The key of `+0.0`, which `-0.0` compares as.
    pub zero_to: u64,
    /// Keys above this are NaNs, all compared as `nan_key`.
    pub nan_above: u64,
    /// The key every NaN compares as.
    pub nan_key: u64,
}

/// A fixed-size record of a sorted run: a plain key (`u8`…`u64`, value sorts) or
/// `[u64; W]` = `W - 1` canonical key words, most significant first, then the element index
/// (argsort and `--by`; the index makes every record distinct, so any sort is stable).
pub trait Record: Pod + Ord + Debug + Send + Sync {
    /// Key bytes an LSD radix sort must look at (at most 8 for radix; more → comparison sort).
    const KEY_BYTES: usize;
    /// Whether the record is its key alone (`plain` is the whole record, and equal keys are
    /// identical records).
    const PLAIN: bool = false;
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
    /// The most significant 64 bits of the key (left-aligned): its order is the records'
    /// order, up to ties.
    fn top(&self) -> u64;
}

macro_rules! plain_record {
    ($($t:ty),*) => {$(
        impl Record for $t {
            const KEY_BYTES: usize = std::mem::size_of::<$t>();
            const PLAIN: bool = true;
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
            #[inline(always)]
            fn top(&self) -> u64 {
                (*self as u64) << (64 - <$t>::BITS)
            }
        }
    )*};
}
plain_record!(u8, u16, u32, u64);

impl<const W: usize> Record for [u64; W] {
    const KEY_BYTES: usize = 8 * (W - 1);
    #[inline(always)]
    fn digit(&self, i: usize) -> u8 {
        (self[W - 2 - i / 8] >> (8 * (i % 8))) as u8
    }
    #[inline(always)]
    fn index(&self) -> u64 {
        self[W - 1]
    }
    #[inline(always)]
    fn top(&self) -> u64 {
        self[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
