//! The in-memory run sort: an MSD radix sort on the key bytes
//! down to cache-sized buckets, finished by a comparison sort (which is also the whole sort
//! for keys wider than 8 bytes).

use outcore_engine::{CancelToken, Result};

use super::record::Record;
use super::sample::{partition, Splitters};

/// Buckets at most this long are finished by a comparison sort (they sit in cache by then).
const SMALL: usize = 1024;
/// From this many records on, a sort first partitions by sampled splitters (see
/// `sample.rs`): one pass that leaves cache-sized buckets whatever the key distribution.
const SAMPLE_MIN: usize = 1 << 16;
/// Records per bucket the sample partition aims at (64 KiB of u64 keys: the L2 cache; the
/// best of the sizes measured, which differed little).
const BUCKET_TARGET: usize = 8192;

/// Sorts `data` by its records' order, using `scratch` (at least as long) as the second
/// buffer. Checks `cancel` between the big passes.
///
/// Plain keys (value sorts) go to `spread`: buckets by the key's offset from the smallest
/// key, recursively, finished by insertion sorts. Records with an index (argsort, `--by`) of
/// 64K records and more are first partitioned by sampled splitters into buckets of about
/// `BUCKET_TARGET` records (one classification pass and one scatter), each then sorted in
/// cache; smaller inputs and buckets go to an MSD radix sort on the key bytes: one histogram
/// and one stable scatter per byte for as long as buckets are larger than the cut, then a
/// comparison sort of each small bucket; bytes equal in every record cost a read, not a
/// scatter. Keys wider than 8 bytes (several `--by` columns) use the comparison sort.
/// Memory traffic is what limits a sort of data larger than the caches, and this touches it
/// about twice, where an LSD sort makes one full pass per key byte.
pub fn sort_records<R: Record>(
    data: &mut [R],
    scratch: &mut [R],
    cancel: &CancelToken,
) -> Result<()> {
    let n = data.len();
    let scratch = &mut scratch[..n];
    if R::PLAIN {
        if !spread(data, scratch, cancel)? {
            data.copy_from_slice(scratch);
        }
        return Ok(());
    }
    if n >= SAMPLE_MIN && std::mem::size_of::<R>() >= 4 {
        let k = (n / BUCKET_TARGET).next_power_of_two().clamp(2, 1024);
        let splitters = Splitters::sample(data, k, n as u64);
        let sizes = partition(&splitters, data, scratch);
        cancel.check()?;
        let mut start = 0;
        for len in sizes {
            let range = start..start + len;
            sort_bucket_into(&mut scratch[range.clone()], &mut data[range], cancel)?;
            start += len;
        }
        return Ok(());
    }
    sort_in_place(data, scratch, cancel)
}

/// Buckets of at most this many plain keys are finished by an insertion sort.
const SPREAD_LEAF: usize = 32;
/// A spread pass makes at most `2^SPREAD_BITS` buckets (16 KiB of counts: L1-resident).
const SPREAD_BITS: u32 = 11;
/// Bytes of keys a spread finishes with one insertion sort over its whole range (it sits in
/// the L2 cache). Larger ranges finish each bucket as it is sorted, while it is in cache.
const SPREAD_CACHED_BYTES: usize = 256 << 10;

/// Sorts the plain keys of `x` with `y` (as long) as scratch; returns where the result is:
/// `true` in `x`, `false` in `y` (always `x` for ranges larger than the cache).
///
/// One pass finds the smallest and largest key; the key's offset from the smallest, shifted
/// right so that it spans about as many buckets as there are keys (at most
/// `2^SPREAD_BITS`), is its bucket; a count and a scatter put the keys in bucket order.
/// Buckets larger than `SPREAD_LEAF` are spread again (each level narrows a bucket's key
/// range by 2^10 or more, so at most 7 levels for 64-bit keys; an all-equal bucket stops at
/// once), and insertion sorts finish the small ones: every key is already in its bucket, so
/// they only move keys within a bucket. Against the sampled partition plus byte-wise MSD
/// radix sort that index records use, this took 13 instead of 24 ns a key for buckets of
/// 2^20 float64 keys (one core; uniform, skewed, clustered and duplicate-heavy keys were
/// all faster).
fn spread<R: Record>(x: &mut [R], y: &mut [R], cancel: &CancelToken) -> Result<bool> {
    let n = x.len();
    if n <= SPREAD_LEAF {
        insertion_sort(x);
        return Ok(true);
    }
    let cached = std::mem::size_of_val(x) <= SPREAD_CACHED_BYTES;
    if n > (1 << 20) {
        cancel.check()?;
    }
    // Four lanes of min/max (the compiler keeps them in vector registers), reading ahead of
    // the loop: this is the first pass over a range that is not in cache.
    let (mut lo, mut hi) = ([u64::MAX; 4], [0u64; 4]);
    for block in crate::prefetched_blocks(x, 512, 4) {
        let mut quads = block.chunks_exact(4);
        for q in &mut quads {
            for i in 0..4 {
                let k = q[i].plain();
                lo[i] = if k < lo[i] { k } else { lo[i] };
                hi[i] = if k > hi[i] { k } else { hi[i] };
            }
        }
        for r in quads.remainder() {
            lo[0] = lo[0].min(r.plain());
            hi[0] = hi[0].max(r.plain());
        }
    }
    let lo = lo.into_iter().min().unwrap_or(0);
    let hi = hi.into_iter().max().unwrap_or(0);
    if lo == hi {
        return Ok(true);
    }
    // range < 2^bits; buckets of 2^shift key values, at most 2^want of them, at least 2 (the
    // smallest and the largest key always land in different ones).
    let range = hi - lo;
    let bits = u64::BITS - range.leading_zeros();
    let want = (usize::BITS - n.leading_zeros()).clamp(1, SPREAD_BITS);
    let shift = bits.saturating_sub(want);
    let buckets = (range >> shift) as usize + 1;
    let bucket = |r: &R| ((r.plain() - lo) >> shift) as usize;
    let mut ends = vec![0usize; buckets];
    for r in x.iter() {
        ends[bucket(r)] += 1;
    }
    let mut sum = 0;
    for e in ends.iter_mut() {
        (*e, sum) = (sum, sum + *e);
    }
    for r in x.iter() {
        let slot = &mut ends[bucket(r)];
        y[*slot] = *r;
        *slot += 1;
    }
    // `ends[b]` is now where bucket b ends. A range in cache is finished in `y` by one
    // insertion sort at the end; a larger one moves each bucket back to `x` as soon as it is
    // sorted, while it is still in cache (no pass over the whole range afterwards).
    let mut start = 0;
    for &end in &ends {
        let (yb, xb) = (&mut y[start..end], &mut x[start..end]);
        if end - start > SPREAD_LEAF {
            let in_y = spread(yb, xb, cancel)?;
            if cached && !in_y {
                yb.copy_from_slice(xb);
            } else if !cached && in_y {
                xb.copy_from_slice(yb);
            }
        } else if !cached {
            insertion_sort(yb);
            xb.copy_from_slice(yb);
        }
        start = end;
    }
    if cached {
        insertion_sort(y);
        return Ok(false);
    }
    Ok(true)
}

/// Sorts `v` by moving each record left past the larger ones before it: linear on data whose
/// records are all near their place.
fn insertion_sort<R: Record>(v: &mut [R]) {
    for i in 1..v.len() {
        let r = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > r {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = r;
    }
}

/// Sorts `x` with `y` (as long) as scratch; the result is in `x`.
fn sort_in_place<R: Record>(x: &mut [R], y: &mut [R], cancel: &CancelToken) -> Result<()> {
    if x.len() <= SMALL || R::KEY_BYTES > 8 {
        // Equal plain keys are identical values and index records are all distinct, so an
        // unstable sort gives the one sorted order.
        x.sort_unstable();
        return Ok(());
    }
    if !msd(x, y, R::KEY_BYTES, cancel)? {
        x.copy_from_slice(y);
    }
    Ok(())
}

/// Sorts the records of `x` into `y` (as long), using `x` as scratch.
fn sort_bucket_into<R: Record>(x: &mut [R], y: &mut [R], cancel: &CancelToken) -> Result<()> {
    if x.len() <= SMALL || R::KEY_BYTES > 8 || x.iter().all(|r| *r == x[0]) {
        x.sort_unstable();
        y.copy_from_slice(x);
        return Ok(());
    }
    if msd(x, y, R::KEY_BYTES, cancel)? {
        y.copy_from_slice(x);
    }
    Ok(())
}

/// Sorts a bucket of a larger sort in place (with `scratch` as long): the whole bucket when
/// it is all one key is recognised in one read (the spread of plain keys does that itself).
pub fn sort_bucket<R: Record>(
    data: &mut [R],
    scratch: &mut [R],
    cancel: &CancelToken,
) -> Result<()> {
    // (A spread sort of plain keys finds that in its first pass.)
    if !R::PLAIN && data.iter().all(|r| *r == data[0]) {
        return Ok(());
    }
    sort_records(data, scratch, cancel)
}

/// Sorts `x` on key bytes `byte - 1` down to 0 (and then full record order), with `y` as the
/// second buffer. Returns where the result is: `true` in `x`, `false` in `y`.
fn msd<R: Record>(x: &mut [R], y: &mut [R], mut byte: usize, cancel: &CancelToken) -> Result<bool> {
    let n = x.len();
    loop {
        if n <= SMALL || byte == 0 {
            x.sort_unstable();
            return Ok(true);
        }
        byte -= 1;
        let mut hist = [0usize; 256];
        for r in x.iter() {
            hist[r.digit(byte) as usize] += 1;
        }
        if hist.contains(&n) {
            continue; // the same byte everywhere: next byte, no scatter
        }
        if n > (1 << 20) {
            cancel.check()?;
        }
        let mut starts = [0usize; 256];
        let mut sum = 0;
        for (s, &c) in starts.iter_mut().zip(hist.iter()) {
            *s = sum;
            sum += c;
        }
        let mut next = starts;
        for r in x.iter() {
            let d = r.digit(byte) as usize;
            y[next[d]] = *r;
            next[d] += 1;
        }
        // Each bucket now lives in `y`; sort it there (with `x` as its scratch) and bring back
        // to `y` the few that ended in `x`, so the whole result is in `y`.
        for (d, &start) in starts.iter().enumerate() {
            let range = start..start + hist[d];
            if range.len() <= 1 {
                continue;
            }
            let (yb, xb) = (&mut y[range.clone()], &mut x[range]);
            if !msd(yb, xb, byte, cancel)? {
                yb.copy_from_slice(xb);
            }
        }
        return Ok(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<R: Record>(mut v: Vec<R>) {
        let mut expect = v.clone();
        expect.sort();
        let mut scratch = vec![R::zeroed(); v.len()];
        sort_records(&mut v, &mut scratch, &CancelToken::new()).unwrap();
        assert_eq!(v, expect);
    }

    #[test]
    fn radix_sorts_every_record_kind() {
        let mut next = crate::testing::xorshift();
        for n in [0, 1, 10, 1024, 1025, 5000, 200_000] {
            check((0..n).map(|_| next() as u8).collect());
            check((0..n).map(|_| next() as u16).collect());
            check((0..n).map(|_| (next() as u32) >> 7).collect());
            check((0..n).map(|_| next()).collect());
            check((0..n).map(|_| next() & 0xff00_0000_00ff).collect());
            check((0..n as u64).map(|i| [next() % 50, i]).collect());
            check((0..n as u64).map(|i| [next() % 3, next() % 5, i]).collect());
        }
    }

    #[test]
    fn spread_sorts_skewed_and_ordered_keys() {
        let mut next = crate::testing::xorshift();
        for n in [31, 32, 33, 2047, 70_000] {
            // Powers of two: each spread level separates only the largest keys.
            check((0..n).map(|_| 1u64 << (next() % 64)).collect());
            // A few extreme keys stretch the range over a dense middle.
            check(
                (0..n)
                    .map(|i| {
                        if i % 997 == 0 {
                            u64::MAX - i as u64
                        } else {
                            next() >> 40
                        }
                    })
                    .collect(),
            );
            // Two tight clusters at the ends of the key space, and many duplicates.
            check(
                (0..n)
                    .map(|_| {
                        if next().is_multiple_of(2) {
                            next() % 100
                        } else {
                            u64::MAX - next() % 100
                        }
                    })
                    .collect(),
            );
            check((0..n).map(|_| next() % 3).collect());
            check((0..n as u32).collect());
            check((0..n as u32).rev().collect());
            // float64 keys of uniform [0, 1) values: half share one exponent.
            check(
                (0..n)
                    .map(|_| ((next() >> 11) as f64 / (1u64 << 53) as f64).to_bits() | (1 << 63))
                    .collect(),
            );
        }
        // Beyond one spread level's cancel check, and a cancelled token stops it.
        let big: Vec<u64> = (0..(1 << 21) + 5).map(|_| next() >> 1).collect();
        check(big.clone());
        let cancel = CancelToken::new();
        cancel.cancel();
        let mut v = big;
        let mut scratch = vec![0; v.len()];
        assert!(sort_records(&mut v, &mut scratch, &cancel).is_err());
    }

    #[test]
    fn index_records_keep_input_order_on_ties() {
        let mut v: Vec<[u64; 2]> = (0..5000u64).map(|i| [i % 7, i]).collect();
        let mut s = vec![[0; 2]; v.len()];
        sort_records(&mut v, &mut s, &CancelToken::new()).unwrap();
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
}
