//! Sample-sort partitioning: splitters picked from a sample of the records classify every
//! record into one of `k` buckets of about equal size, whatever the key distribution. Float
//! keys cluster by exponent (uniform `[0, 1)` data puts half of all keys under one exponent),
//! which defeats a partition on fixed key bits; sampled splitters follow the data instead.

use std::cell::RefCell;

use super::record::{Canon, Record};

/// Sample records taken per bucket: more gives more even buckets.
const OVERSAMPLE: usize = 16;
/// Key bits that pick a cell of the classification table.
const CELL_BITS: u32 = 16;
const CELLS: usize = 1 << CELL_BITS;

/// Buckets of consecutive key ranges, chosen from a sample so that each holds about as many
/// records. A record's bucket is a table lookup: the 16 key bits below the prefix that the
/// sample's key range shares pick one of 65 536 cells, and every cell belongs to one bucket
/// (cells crowded in the sample get buckets of their own; keys outside the sampled range
/// go to the first or last cell). Two instructions and a load, where a search among
/// splitters costs a dependent comparison per level. Records are classified by their
/// canonical form (see [`Canon`]), so records a stable sort treats as equal share a bucket.
pub struct Splitters<R> {
    /// Cell → bucket; non-decreasing.
    table: Vec<u16>,
    /// Top key words at or below `lo` go to cell 0, at or above `hi` to the last cell.
    lo: u64,
    hi: u64,
    /// Bits shared by every key in `lo..=hi`.
    prefix: u32,
    buckets: usize,
    canon: Canon,
    _record: std::marker::PhantomData<R>,
}

impl<R: Record> Splitters<R> {
    /// Buckets (at most `k`, a power of two from 2 to 65 536) from a pseudo-random sample of
    /// `data` (deterministic for a given `seed`).
    pub fn sample(data: &[R], k: usize, seed: u64) -> Splitters<R> {
        debug_assert!(!data.is_empty());
        let n = data.len() as u64;
        let m = (k * OVERSAMPLE).min(data.len()).max(1);
        let mut state = seed | 1;
        let sample: Vec<R> = (0..m)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                data[(state % n) as usize]
            })
            .collect();
        Splitters::from_sample(sample, k, Canon::default())
    }

    /// Buckets (at most `k`, a power of two from 2 to 65 536) of about equal shares of a
    /// non-empty sample; records are classified by their form under `canon`.
    pub fn from_sample(sample: Vec<R>, k: usize, canon: Canon) -> Splitters<R> {
        assert!(k.is_power_of_two() && (2..=1 << 16).contains(&k) && !sample.is_empty());
        let mut tops: Vec<u64> = sample.iter().map(|r| r.canon(&canon).top()).collect();
        tops.sort_unstable();
        let m = tops.len();
        // The range the cells resolve: the sample without its outermost 1/1024 at each end
        // (a few outliers must not stretch the cells over empty key space).
        let trim = m / 1024;
        let (mut lo, mut hi) = (tops[trim], tops[m - 1 - trim]);
        if lo == hi {
            (lo, hi) = (tops[0], tops[m - 1]);
        }
        let prefix = (lo ^ hi).leading_zeros().min(63);
        let mut s = Splitters {
            table: vec![0; CELLS],
            lo,
            hi,
            prefix,
            buckets: k,
            canon,
            _record: std::marker::PhantomData,
        };
        let mut per_cell = vec![0usize; CELLS];
        for &t in &tops {
            per_cell[s.cell(t)] += 1;
        }
        // Each cell goes to the bucket of the sample rank at its middle: buckets of about
        // m / k sample records, a crowded cell alone in its bucket (skipping bucket numbers).
        let mut below = 0usize;
        for (cell, &c) in per_cell.iter().enumerate() {
            s.table[cell] = ((below + c / 2) * k / m).min(k - 1) as u16;
            below += c;
        }
        s
    }

    #[inline(always)]
    fn cell(&self, top: u64) -> usize {
        if top <= self.lo {
            0
        } else if top >= self.hi {
            CELLS - 1
        } else {
            ((top << self.prefix) >> (64 - CELL_BITS)) as usize
        }
    }

    /// Buckets for `n` records with about `target` records each, at least `min`, at most
    /// `max` (all powers of two).
    pub fn buckets_for(n: usize, target: usize, min: usize, max: usize) -> usize {
        (n / target.max(1)).next_power_of_two().clamp(min, max)
    }

    /// How many buckets there are (some may stay empty).
    pub fn buckets(&self) -> usize {
        self.buckets
    }

    /// The bucket of `r`; buckets are in key order.
    #[inline(always)]
    pub fn classify(&self, r: &R) -> usize {
        self.table[self.cell(r.canon(&self.canon).top())] as usize
    }

    /// Calls `f(record, bucket)` for every record of `data`, in order.
    #[inline(always)]
    pub fn classify_each(&self, data: &[R], mut f: impl FnMut(&R, usize)) {
        for r in data {
            f(r, self.classify(r));
        }
    }

    /// How many records of `data` fall in each bucket.
    pub fn count(&self, data: &[R], counts: &mut [usize]) {
        self.classify_each(data, |_, b| counts[b] += 1);
    }
}

thread_local! {
    /// Bucket ids of the records a thread partitions, reused from call to call (a fresh
    /// buffer each time would be a fresh mapping to fault in and zero).
    static IDS: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
}

/// Frees this thread's bucket-id buffer.
pub fn free_partition_ids() {
    IDS.with(|ids| {
        if let Ok(mut ids) = ids.try_borrow_mut() {
            *ids = Vec::new();
        }
    });
}

/// Moves `src` into `dst` (as long) grouped by bucket, in input order within a bucket, and
/// returns the bucket sizes.
pub fn partition<R: Record>(splitters: &Splitters<R>, src: &[R], dst: &mut [R]) -> Vec<usize> {
    IDS.with(|ids| partition_with(splitters, src, dst, &mut ids.borrow_mut()))
}

fn partition_with<R: Record>(
    splitters: &Splitters<R>,
    src: &[R],
    dst: &mut [R],
    ids: &mut Vec<u16>,
) -> Vec<usize> {
    assert!(splitters.buckets() <= 1 << 16 && src.len() == dst.len());
    ids.clear();
    ids.resize(src.len(), 0);
    let mut counts = vec![0usize; splitters.buckets()];
    let mut at = 0;
    splitters.classify_each(src, |_, b| {
        ids[at] = b as u16;
        at += 1;
    });
    for &b in ids.iter() {
        counts[b as usize] += 1;
    }
    let mut next = Vec::with_capacity(counts.len());
    let mut sum = 0;
    for &c in &counts {
        next.push(sum);
        sum += c;
    }
    for (r, &b) in src.iter().zip(ids.iter()) {
        let slot = &mut next[b as usize];
        dst[*slot] = *r;
        *slot += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    #[test]
    fn buckets_are_monotone_and_even_on_skewed_keys() {
        // Keys of uniform [0, 1) float64 values: half of them share one exponent.
        let mut next = xorshift(7);
        let data: Vec<u64> = (0..200_000)
            .map(|_| ((next() >> 11) as f64 / (1u64 << 53) as f64).to_bits() | (1 << 63))
            .collect();
        for k in [2, 64, 256, 2048] {
            let s = Splitters::sample(&data, k, 3);
            let mut sorted = data.clone();
            sorted.sort_unstable();
            let buckets: Vec<usize> = sorted.iter().map(|r| s.classify(r)).collect();
            assert!(
                buckets.windows(2).all(|w| w[0] <= w[1]),
                "k={k}: not monotone"
            );
            assert!(buckets.iter().all(|&b| b < k));
            let mut counts = vec![0usize; k];
            s.count(&data, &mut counts);
            let largest = *counts.iter().max().unwrap();
            assert!(
                largest <= 4 * data.len() / k + 64,
                "k={k}: a bucket of {largest} records"
            );
        }
    }

    #[test]
    fn outliers_and_narrow_ranges_stay_in_order() {
        let mut v: Vec<u64> = (0..10_000u64).map(|i| 1_000_000 + i % 100).collect();
        v.extend([0, u64::MAX, 5, u64::MAX - 3]);
        let s = Splitters::sample(&v, 16, 9);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let b: Vec<usize> = sorted.iter().map(|r| s.classify(r)).collect();
        assert!(b.windows(2).all(|w| w[0] <= w[1]));
        // Distinct values are told apart when the buckets allow.
        assert!(b.iter().collect::<std::collections::BTreeSet<_>>().len() >= 8);
    }

    #[test]
    fn partition_groups_buckets_in_order_and_keeps_every_record() {
        let mut next = xorshift(11);
        for n in [1usize, 7, 8, 9, 1000, 50_000] {
            let src: Vec<[u64; 2]> = (0..n as u64).map(|i| [next() % 97, i]).collect();
            let s = Splitters::sample(&src, 16, 5);
            let mut dst = vec![[0u64; 2]; n];
            let counts = partition(&s, &src, &mut dst);
            assert_eq!(counts.iter().sum::<usize>(), n);
            let mut start = 0;
            let mut prev_max: Option<[u64; 2]> = None;
            for &c in &counts {
                let bucket = &dst[start..start + c];
                // Input order within a bucket (indices increase), buckets in key order.
                assert!(bucket.windows(2).all(|w| w[0][1] < w[1][1]));
                if let (Some(p), Some(min)) = (prev_max, bucket.iter().min()) {
                    assert!(p < *min);
                }
                if let Some(m) = bucket.iter().max() {
                    prev_max = Some(*m);
                }
                start += c;
            }
            let mut a = src.clone();
            let mut b = dst.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn all_equal_records_land_in_one_bucket() {
        let src = vec![42u32; 5000];
        let s = Splitters::sample(&src, 64, 1);
        let mut dst = vec![0; 5000];
        let counts = partition(&s, &src, &mut dst);
        assert_eq!(counts.iter().filter(|&&c| c > 0).count(), 1);
        assert_eq!(dst, src);
    }
}
