//! `np.unique(a, return_counts=True)` of the flattened array, out of core: the sorted distinct
//! values (NaNs collapsed into one, last, as NumPy 2's `equal_nan=True`; `-0.0` and `0.0` are
//! one value) and their int64 counts.
//!
//! Three strategies, chosen while running:
//! - **counting** (integers and bools whose range is small): a first pass finds the smallest
//!   and largest key, then every worker counts into an array with a slot per value of the
//!   range (no hashing: an increment per value), and the non-zero slots are the result. Used
//!   when the range is at most the number of values and the workers' arrays fit a quarter of
//!   the memory budget; otherwise the range pass is all it costs;
//! - **hashing** (few distinct values): one parallel pass counts every value's canonical sort
//!   key (`SortKey::canon`) in hash maps sharded by hash, so that each worker's inserts go to
//!   small, cache-resident tables; the distinct keys are then sorted and written. Used while
//!   the maps fit a quarter of the memory budget;
//! - **external sort** (many distinct values): when the maps outgrow that share, hashing stops
//!   and the public sort ([`crate::sort::sort`]) writes the flattened sorted array to a
//!   temporary file in the context's scratch directory; a counting pass over it sizes the
//!   outputs and a streaming pass writes each run of equal keys once, with its length.
//!
//! The temporary file is removed in every case, failures included.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use outcore_engine::{
    cast_or_copy, swap_in_place, with_scalar_type, Array, ByteOrder, Context, DType, Element,
    Error, ErrorKind, Layout, Order, OutputFile, OutputOptions, Result, ScalarKind,
};

use crate::quantile::{value_of, QKey};
use crate::reduce::{float_text, Value};
use crate::sort::{sort, SortOptions};

/// What `unique` found (and, at most `keep` of them, the values themselves).
#[derive(Debug, Clone, PartialEq)]
pub struct Unique {
    /// The values' dtype (the input's, native byte order).
    pub dtype: DType,
    /// How many distinct values there are.
    pub len: usize,
    /// The distinct values and counts when there are at most the `keep` asked for.
    pub small: Option<(Vec<Value>, Vec<i64>)>,
    /// Whether the external sort was used (else counting or hashing).
    pub sorted_externally: bool,
    /// Whether the values were counted in an array (integers of a small range).
    pub counted: bool,
}

impl Unique {
    /// A value as text that reads back to the same value of the dtype.
    pub fn value_text(&self, v: &Value) -> String {
        match *v {
            Value::Bool(b) => if b { "true" } else { "false" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => float_text(f, self.dtype.scalar_kind().unwrap_or(ScalarKind::F64)),
        }
    }
}

/// Where `unique` writes: the values (`dest`) and optionally the counts.
#[derive(Debug, Clone, Default)]
pub struct UniqueOptions {
    /// Write the int64 counts here too.
    pub counts: Option<std::path::PathBuf>,
    /// Return the values and counts in [`Unique::small`] when there are at most this many.
    pub keep: usize,
    /// How the outputs are made (replacing, sync…).
    pub output: OutputOptions,
    /// Hash at most this many distinct values before switching to the external sort
    /// (`None`: as many as fit a quarter of the budget). For tests of the sort path.
    pub max_hashed: Option<usize>,
    /// Count integers with an array of counts when their range (largest − smallest + 1) is at
    /// most this many values (`None`: at most the number of values, as far as a quarter of the
    /// budget holds the workers' arrays; `Some(0)`: never). For tests of the other paths.
    pub max_counted_range: Option<usize>,
}

/// `np.unique(array, return_counts=True)` into `.npy` files: `dest` gets the values (1-d, the
/// input's dtype), `opts.counts` the int64 counts.
///
/// ```
/// use outcore_engine::{Array, Context};
/// use outcore_kernels::reduce::Value;
/// use outcore_kernels::unique::{unique, UniqueOptions};
/// let ctx = Context::new()?;
/// let a = Array::from_vec(vec![3i64, 1, 3, 2, 1, 3], &[6])?;
/// // np.unique(a, return_counts=True), kept in memory (no output file)
/// let opts = UniqueOptions { keep: 10, ..Default::default() };
/// let (values, counts) = unique(&ctx, &a, None, &opts)?.small.expect("3 <= keep");
/// assert_eq!(values, vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
/// assert_eq!(counts, vec![2, 1, 3]);
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn unique(
    ctx: &Context,
    array: &Array,
    dest: Option<&Path>,
    opts: &UniqueOptions,
) -> Result<Unique> {
    let kind = array
        .dtype()
        .require_real("unique")
        .map_err(|e| e.with_path(array.path()))?;
    with_scalar_type!(kind, T => unique_typed::<T>(ctx, array, dest, opts),
        complex => unreachable!("complex refused above"))
    .map_err(|e| {
        if e.path().is_none() {
            e.with_path(array.path())
        } else {
            e
        }
    })
}

/// A multiplicative hash for integer keys (the std hasher is slow for them).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, k: u64) {
        let h = (k ^ (k >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 = h ^ (h >> 32);
    }
}

type KeyMap = HashMap<u64, u64, BuildHasherDefault<KeyHasher>>;

/// Shards of the hash maps: a shard is picked by the key's hash, so one worker's inserts stay
/// in one small table at a time.
const SHARDS: usize = 64;

/// Bytes one distinct value costs in the maps (entry, control byte, growth slack).
const BYTES_PER_ENTRY: usize = 48;

fn shard_of(k: u64) -> usize {
    (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % SHARDS
}

fn load<T: Element>(bytes: &[u8], swap: bool) -> std::borrow::Cow<'_, [T]> {
    let v = cast_or_copy::<T>(bytes);
    if swap {
        let mut owned = v.into_owned();
        swap_in_place(&mut owned);
        std::borrow::Cow::Owned(owned)
    } else {
        v
    }
}

/// The canonical key of `x` (`u64::MAX` for every NaN).
#[inline(always)]
fn canon<T: QKey>(x: T) -> u64 {
    x.canon(false)
}

/// The value of a canonical key.
fn from_canon<T: QKey>(k: u64) -> T {
    if k == u64::MAX && T::KIND.is_float() {
        T::from_f64(f64::NAN)
    } else {
        T::from_key(k)
    }
}

fn unique_typed<T: QKey>(
    ctx: &Context,
    array: &Array,
    dest: Option<&Path>,
    opts: &UniqueOptions,
) -> Result<Unique> {
    let dtype = DType::scalar(T::KIND, ByteOrder::NATIVE);
    let max_hashed = opts
        .max_hashed
        .unwrap_or(ctx.budget().available() / 4 / BYTES_PER_ENTRY);
    let by_range = count_by_range::<T>(ctx, array, opts.max_counted_range)?;
    let counted = by_range.is_some();
    let pairs = match by_range {
        Some(pairs) => Some(pairs),
        None => count_by_hashing::<T>(ctx, array, max_hashed)?,
    };
    if let Some(pairs) = pairs {
        let _held = ctx
            .budget()
            .reserve(pairs.len() * 16, "the distinct values")?;
        let len = pairs.len();
        if let Some(dest) = dest {
            let mut values = create_output(dest, dtype.clone(), len, array, opts)?;
            let mut counts = match &opts.counts {
                Some(p) => Some(create_output(
                    p,
                    DType::native(ScalarKind::I64),
                    len,
                    array,
                    opts,
                )?),
                None => None,
            };
            let item = std::mem::size_of::<T>();
            let vb = values.data_mut();
            for (i, &(k, _)) in pairs.iter().enumerate() {
                vb[i * item..(i + 1) * item]
                    .copy_from_slice(bytemuck::bytes_of(&from_canon::<T>(k)));
            }
            if let Some(c) = counts.as_mut() {
                let cb = c.data_mut();
                for (i, &(_, n)) in pairs.iter().enumerate() {
                    cb[i * 8..(i + 1) * 8].copy_from_slice(&(n as i64).to_ne_bytes());
                }
            }
            values.commit()?;
            if let Some(c) = counts {
                c.commit()?;
            }
        }
        let small = (len <= opts.keep).then(|| {
            (
                pairs
                    .iter()
                    .map(|&(k, _)| value_of(from_canon::<T>(k)))
                    .collect(),
                pairs.iter().map(|&(_, n)| n as i64).collect(),
            )
        });
        return Ok(Unique {
            dtype,
            len,
            small,
            sorted_externally: false,
            counted,
        });
    }
    by_external_sort::<T>(ctx, array, dest, opts, dtype)
}

fn create_output(
    dest: &Path,
    dtype: DType,
    len: usize,
    array: &Array,
    opts: &UniqueOptions,
) -> Result<OutputFile> {
    let layout = Layout::new(dtype, vec![len], Order::C)?;
    OutputFile::create_npy(
        dest,
        &layout,
        &OutputOptions {
            inputs: vec![array.path().to_path_buf()],
            ..opts.output.clone()
        },
    )
}

/// The (canonical key, count) pairs in key order for integer (and bool) data whose range of
/// keys is small enough to count in an array (see [`UniqueOptions::max_counted_range`]), or
/// `None` (other dtypes, an empty array, a wide range) after at most one pass for the range.
fn count_by_range<T: QKey>(
    ctx: &Context,
    array: &Array,
    max_range: Option<usize>,
) -> Result<Option<Vec<(u64, u64)>>> {
    let kind = T::KIND;
    if !(kind.is_int() || kind.is_bool()) || array.is_empty() || max_range == Some(0) {
        return Ok(None);
    }
    let swap = array.dtype().needs_swap();
    let item = std::mem::size_of::<T>();
    let ranges = ctx.for_each_chunk(
        "unique range",
        &array.input(),
        item,
        0..array.len(),
        |_, bytes| Ok(key_range(&load::<T>(bytes, swap))),
    )?;
    let (lo, hi) = ranges
        .into_iter()
        .fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
    // Slots for every key in lo..=hi; none when the range does not even fit a usize.
    let Some(slots) = usize::try_from(hi - lo).ok().and_then(|r| r.checked_add(1)) else {
        return Ok(None);
    };
    let arrays = ctx.threads().max(1);
    let fits = slots
        .checked_mul(8 * arrays)
        .is_some_and(|b| b <= ctx.budget().available() / 4);
    if slots > max_range.unwrap_or(array.len()) || !fits {
        return Ok(None);
    }
    let _held = ctx
        .budget()
        .reserve(slots * 8 * arrays, "unique's counts")?;
    // Arrays of counts, one per chunk in flight: a worker takes a free one (or makes one),
    // counts its chunk into it and gives it back.
    let free: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());
    let poisoned = || Error::new(ErrorKind::Io, "a unique worker panicked");
    ctx.for_each_chunk(
        "unique",
        &array.input(),
        item,
        0..array.len(),
        |_, bytes| {
            let taken = free.lock().map_err(|_| poisoned())?.pop();
            let mut counts = taken.unwrap_or_else(|| vec![0u64; slots]);
            count_keys(&load::<T>(bytes, swap), lo, &mut counts);
            free.lock().map_err(|_| poisoned())?.push(counts);
            Ok(())
        },
    )?;
    let mut arrays = free.into_inner().map_err(|_| poisoned())?.into_iter();
    let mut total = arrays.next().unwrap_or_default();
    for counts in arrays {
        for (t, c) in total.iter_mut().zip(&counts) {
            *t += c;
        }
    }
    Ok(Some(
        total
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| (lo + i as u64, n))
            .collect(),
    ))
}

/// The smallest and largest canonical key of `values` (`(u64::MAX, 0)` when empty).
#[multiversion::multiversion(targets(
    "x86_64+avx2+avx512f+avx512dq+avx512vl+avx512bw",
    "x86_64+avx2"
))]
fn key_range<T: QKey>(values: &[T]) -> (u64, u64) {
    let (mut lo, mut hi) = ([u64::MAX; 8], [0u64; 8]);
    let whole = values.len() / 8 * 8;
    for block in crate::prefetched_blocks(&values[..whole], 1024, 4) {
        for c in block.chunks_exact(8) {
            for l in 0..8 {
                let k = canon(c[l]);
                lo[l] = lo[l].min(k);
                hi[l] = hi[l].max(k);
            }
        }
    }
    for &x in &values[whole..] {
        let k = canon(x);
        lo[0] = lo[0].min(k);
        hi[0] = hi[0].max(k);
    }
    (
        lo.iter().copied().min().unwrap_or(u64::MAX),
        hi.iter().copied().max().unwrap_or(0),
    )
}

/// Adds one to `counts[key - lo]` for every value (every key lies in the counted range).
fn count_keys<T: QKey>(values: &[T], lo: u64, counts: &mut [u64]) {
    for block in crate::prefetched_blocks(values, 1024, 4) {
        for &x in block {
            counts[(canon(x) - lo) as usize] += 1;
        }
    }
}

/// The (canonical key, count) pairs in key order, or `None` when there are more than
/// `max_distinct` distinct values.
fn count_by_hashing<T: QKey>(
    ctx: &Context,
    array: &Array,
    max_distinct: usize,
) -> Result<Option<Vec<(u64, u64)>>> {
    let swap = array.dtype().needs_swap();
    let item = std::mem::size_of::<T>();
    let shards: Vec<Mutex<KeyMap>> = (0..SHARDS).map(|_| Mutex::new(KeyMap::default())).collect();
    let too_many = AtomicBool::new(false);
    let distinct = std::sync::atomic::AtomicUsize::new(0);
    let poisoned = || Error::new(ErrorKind::Io, "a unique worker panicked");
    ctx.for_each_chunk(
        "unique",
        &array.input(),
        item,
        0..array.len(),
        |_, bytes| {
            if too_many.load(Ordering::Relaxed) {
                return Ok(());
            }
            let vals = load::<T>(bytes, swap);
            // Group the chunk's keys by shard first, then insert shard by shard.
            let mut parts: Vec<Vec<u64>> = vec![Vec::new(); SHARDS];
            for &x in vals.iter() {
                let k = canon(x);
                parts[shard_of(k)].push(k);
            }
            for (s, keys) in parts.iter().enumerate() {
                if keys.is_empty() {
                    continue;
                }
                let mut map = shards[s].lock().map_err(|_| poisoned())?;
                let before = map.len();
                for &k in keys {
                    *map.entry(k).or_insert(0) += 1;
                }
                let added = map.len() - before;
                drop(map);
                if distinct.fetch_add(added, Ordering::Relaxed) + added > max_distinct {
                    too_many.store(true, Ordering::Relaxed);
                    return Ok(());
                }
            }
            Ok(())
        },
    )?;
    if too_many.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut pairs = Vec::with_capacity(distinct.load(Ordering::Relaxed));
    for s in shards {
        pairs.extend(s.into_inner().map_err(|_| poisoned())?);
    }
    pairs.sort_unstable();
    Ok(Some(pairs))
}

/// A scratch file removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn by_external_sort<T: QKey>(
    ctx: &Context,
    array: &Array,
    dest: Option<&Path>,
    opts: &UniqueOptions,
    dtype: DType,
) -> Result<Unique> {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = match (dest, ctx.tmp_dir()) {
        (Some(d), _) => ctx.scratch_dir_for(d),
        (None, Some(t)) => t.to_path_buf(),
        (None, None) => std::env::temp_dir(),
    };
    let scratch = Scratch(dir.join(format!(
        ".outcore-unique-{}-{}.npy",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )));
    sort(
        ctx,
        array,
        &scratch.0,
        &SortOptions {
            flatten: true,
            output: OutputOptions {
                sync: false,
                ..OutputOptions::default()
            },
            ..SortOptions::default()
        },
    )?;
    let sorted = Array::open(&scratch.0)?;
    let swap = sorted.dtype().needs_swap();
    let item = std::mem::size_of::<T>();
    let data = sorted.data();
    let key_at = |i: usize| canon(load::<T>(&data[i * item..(i + 1) * item], swap)[0]);
    // Pass 1: the number of runs (a run starts where the key differs from the one before).
    let per_chunk = ctx.for_each_chunk(
        "unique count",
        &sorted.input(),
        item,
        0..sorted.len(),
        |range, bytes| {
            let vals = load::<T>(bytes, swap);
            let mut prev = if range.start == 0 {
                None
            } else {
                Some(key_at(range.start - 1))
            };
            let mut runs = 0usize;
            for &x in vals.iter() {
                let k = canon(x);
                if prev != Some(k) {
                    runs += 1;
                }
                prev = Some(k);
            }
            Ok(runs)
        },
    )?;
    let len: usize = per_chunk.iter().sum();
    // Pass 2: each run's value and length, streamed into the outputs.
    let mut values = match dest {
        Some(d) => Some(create_output(d, dtype.clone(), len, array, opts)?),
        None => None,
    };
    let mut counts = match (&opts.counts, dest) {
        (Some(p), Some(_)) => Some(create_output(
            p,
            DType::native(ScalarKind::I64),
            len,
            array,
            opts,
        )?),
        _ => None,
    };
    let mut small = (len <= opts.keep).then(|| (Vec::new(), Vec::new()));
    {
        let mut vb = values.as_mut().map(|v| v.data_mut());
        let mut cb = counts.as_mut().map(|c| c.data_mut());
        let mut run = 0usize;
        let mut i = 0usize;
        let n = sorted.len();
        let block = (ctx.chunk_bytes() / item).max(1);
        let mut cur: Option<(u64, usize)> = None;
        let mut emit = |k: u64, c: usize, run: &mut usize| {
            let v = from_canon::<T>(k);
            if let Some(vb) = vb.as_deref_mut() {
                vb[*run * item..(*run + 1) * item].copy_from_slice(bytemuck::bytes_of(&v));
            }
            if let Some(cb) = cb.as_deref_mut() {
                cb[*run * 8..(*run + 1) * 8].copy_from_slice(&(c as i64).to_ne_bytes());
            }
            if let Some((vs, cs)) = small.as_mut() {
                vs.push(value_of(v));
                cs.push(c as i64);
            }
            *run += 1;
        };
        while i < n {
            ctx.cancel_token().check()?;
            let end = (i + block).min(n);
            let vals = load::<T>(&data[i * item..end * item], swap);
            for &x in vals.iter() {
                let k = canon(x);
                match cur {
                    Some((ck, c)) if ck == k => cur = Some((ck, c + 1)),
                    Some((ck, c)) => {
                        emit(ck, c, &mut run);
                        cur = Some((k, 1));
                    }
                    None => cur = Some((k, 1)),
                }
            }
            i = end;
        }
        if let Some((ck, c)) = cur {
            emit(ck, c, &mut run);
        }
    }
    drop(sorted);
    if let Some(v) = values {
        v.commit()?;
    }
    if let Some(c) = counts {
        c.commit()?;
    }
    drop(scratch);
    Ok(Unique {
        dtype,
        len,
        small,
        sorted_externally: true,
        counted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two threads, an 8 MiB budget and chunks of `chunk` bytes, spilling into `dir`.
    fn small_context(dir: &Path, chunk: usize) -> Context {
        Context::builder()
            .memory(8 << 20)
            .threads(2)
            .chunk_bytes(chunk)
            .tmp_dir(dir)
            .build()
            .unwrap()
    }

    /// Every way of counting integers (an array of counts, hashing, the external sort) gives
    /// the same values and counts, for ranges that are counted and ranges too wide for it.
    #[test]
    fn counting_hashing_and_sorting_agree_for_integers() {
        fn all_ways<T: QKey>(values: Vec<T>, counted: bool) {
            let dir = tempfile::tempdir().unwrap();
            let ctx = small_context(dir.path(), 4 << 10);
            let n = values.len();
            let a = Array::from_vec(values, &[n]).unwrap();
            let mut results = Vec::new();
            for (max_counted_range, max_hashed) in
                [(None, None), (Some(0), None), (Some(0), Some(3))]
            {
                let opts = UniqueOptions {
                    keep: n,
                    max_hashed,
                    max_counted_range,
                    ..Default::default()
                };
                let u = unique(&ctx, &a, None, &opts).unwrap();
                // Hashing takes up to 3 distinct values even when told to sort.
                assert_eq!(u.sorted_externally, max_hashed.is_some() && u.len > 3);
                assert_eq!(u.counted, counted && max_counted_range.is_none());
                results.push(u.small.unwrap());
            }
            let (vals, counts) = &results[0];
            assert_eq!(counts.iter().sum::<i64>(), n as i64);
            assert!(counts.iter().all(|&c| c > 0));
            assert!(vals
                .windows(2)
                .all(|w| format!("{:?}", w[0]) != format!("{:?}", w[1])));
            assert_eq!(results[0], results[1], "counting against hashing");
            assert_eq!(results[1], results[2], "hashing against sorting");
            // Nothing left behind in the scratch directory.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = 20_000;
        all_ways::<i8>((0..n).map(|_| next() as i8).collect(), true);
        all_ways::<u8>((0..n).map(|_| 200 + (next() % 50) as u8).collect(), true);
        all_ways::<i16>(
            (0..n).map(|_| (next() % 3000) as i16 - 1500).collect(),
            true,
        );
        all_ways::<i64>(
            (0..n).map(|_| (next() % 5000) as i64 - 2500).collect(),
            true,
        );
        all_ways::<u32>(
            (0..n).map(|_| 7 + (next() % 100) as u32 * 100).collect(),
            true,
        );
        // Ranges too wide to count: the whole of i64 and u64, and a range wider than n.
        all_ways::<i64>(
            (0..n)
                .map(|i| match i % 5 {
                    0 => i64::MIN,
                    1 => i64::MAX,
                    _ => (next() % 100) as i64,
                })
                .collect(),
            false,
        );
        all_ways::<u64>(
            (0..n)
                .map(|i| if i % 2 == 0 { u64::MAX } else { next() % 9 })
                .collect(),
            false,
        );
        all_ways::<u16>((0..1000).map(|_| next() as u16).collect(), false);
        // One value only.
        all_ways::<i32>(vec![-7; 5000], true);
    }

    #[test]
    fn hashing_and_sorting_agree() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = small_context(dir.path(), 64 << 10);
        let v: Vec<f64> = (0..100_000)
            .map(|i| match i % 7 {
                0 => f64::NAN,
                1 => -0.0,
                _ => ((i * 7919) % 1000) as f64,
            })
            .collect();
        let a = Array::from_vec(v, &[100_000]).unwrap();
        let mut results = Vec::new();
        for max_hashed in [None, Some(10)] {
            let opts = UniqueOptions {
                keep: 2000,
                max_hashed,
                ..Default::default()
            };
            let u = unique(&ctx, &a, None, &opts).unwrap();
            assert_eq!(u.sorted_externally, max_hashed.is_some());
            results.push(u.small.unwrap());
        }
        let (vals, counts) = &results[0];
        assert!(matches!(vals.last(), Some(Value::Float(f)) if f.is_nan()));
        assert_eq!(counts.iter().sum::<i64>(), 100_000);
        assert_eq!(format!("{:?}", results[0]), format!("{:?}", results[1]));
        // Nothing left behind in the scratch directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
