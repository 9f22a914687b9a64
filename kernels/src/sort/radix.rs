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
/// Large inputs of records of 4 bytes or more are first partitioned by sampled splitters into
/// buckets of about `BUCKET_TARGET` records (one classification pass and one scatter), each
/// then sorted in cache. Smaller inputs and buckets go to an MSD radix sort on the key bytes:
/// one histogram and one stable scatter per byte for as long as buckets are larger than the
/// cut, then a comparison sort of each small bucket; bytes equal in every record cost a read,
/// not a scatter. Keys wider than 8 bytes (several `--by` columns) use the comparison sort.
/// Memory traffic is what limits a sort of data larger than the caches, and this touches it
/// about twice, where an LSD sort makes one full pass per key byte.
pub fn sort_records<R: Record>(
    data: &mut [R],
    scratch: &mut [R],
    cancel: &CancelToken,
) -> Result<()> {
    let n = data.len();
    let scratch = &mut scratch[..n];
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
/// it is all one key is recognised in one read.
pub fn sort_bucket<R: Record>(
    data: &mut [R],
    scratch: &mut [R],
    cancel: &CancelToken,
) -> Result<()> {
    if data.iter().all(|r| *r == data[0]) {
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
    fn index_records_keep_input_order_on_ties() {
        let mut v: Vec<[u64; 2]> = (0..5000u64).map(|i| [i % 7, i]).collect();
        let mut s = vec![[0; 2]; v.len()];
        sort_records(&mut v, &mut s, &CancelToken::new()).unwrap();
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
}
