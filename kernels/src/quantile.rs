//! `np.quantile` out of core, exact, for the five classic methods (`linear`, `lower`, `higher`,
//! `nearest`, `midpoint`), of the flattened array or along one axis.
//!
//! Whole-array quantiles never sort the file. Every element maps to the sort's order-preserving
//! key ([`SortKey`]); the wanted order statistics (ranks) are then located by successive key
//! histograms:
//!
//! 1. pass 1 counts the keys into 2^16 buckets spanning the key range of a small sample of the
//!    data (with one bucket below and one above it, so the counts stay exact), and counts NaNs;
//!    the cumulative counts tell which bucket holds each wanted rank;
//! 2. while the buckets holding the ranks are too large for the memory budget, a further pass
//!    counts the keys of those buckets only, into 2^16 finer buckets (the key's next bits);
//!    a bucket of a single key resolves its ranks at once (heavily repeated values);
//! 3. the last pass keeps only the values of those buckets and selects the ranks in them.
//!
//! Usually two passes over the data (one histogram, one collection). The interpolation then
//! reproduces NumPy's arithmetic exactly (its `_lerp`, in the dtypes NumPy computes in, integer
//! differences wrapping as NumPy's do), and NaN anywhere gives NaN, as NumPy's quantile.
//!
//! Along an axis, lanes (the values along the axis for one position of the others) are
//! selected in memory when a lane fits the budget: directly when lanes are contiguous, else
//! after moving the axis last into a temporary file; lanes larger than the budget go through
//! the histogram selection above, all lanes in the same passes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use outcore_engine::{
    cast_or_copy, swap_in_place, with_scalar_type, Array, ByteOrder, Context, DType, Error,
    ErrorKind, Order, OutputOptions, Result, ScalarKind,
};

use crate::copy::transpose;
use crate::num::Num;
use crate::reduce::{float_text, Value};
use crate::sort::{Record, SortKey};

/// How a quantile between two order statistics is chosen (NumPy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuantileMethod {
    /// Linear interpolation between the neighbours (NumPy's default).
    #[default]
    Linear,
    /// The lower neighbour.
    Lower,
    /// The higher neighbour.
    Higher,
    /// The nearest neighbour (ties to the even index, as `np.around`).
    Nearest,
    /// The mean of the neighbours.
    Midpoint,
}

impl QuantileMethod {
    /// Every method, in the order of the command line's list.
    pub const ALL: [QuantileMethod; 5] = [
        QuantileMethod::Linear,
        QuantileMethod::Lower,
        QuantileMethod::Higher,
        QuantileMethod::Nearest,
        QuantileMethod::Midpoint,
    ];

    /// The method's name as NumPy spells it.
    pub fn name(self) -> &'static str {
        match self {
            QuantileMethod::Linear => "linear",
            QuantileMethod::Lower => "lower",
            QuantileMethod::Higher => "higher",
            QuantileMethod::Nearest => "nearest",
            QuantileMethod::Midpoint => "midpoint",
        }
    }

    /// Parses a method name.
    pub fn parse(s: &str) -> Result<QuantileMethod> {
        QuantileMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "unknown quantile method {s:?} (expected linear, lower, higher, nearest or midpoint)"
                    ),
                )
            })
    }

    fn interpolates(self) -> bool {
        matches!(self, QuantileMethod::Linear | QuantileMethod::Midpoint)
    }
}

/// How to compute quantiles.
#[derive(Debug, Clone, Default)]
pub struct QuantileOptions {
    /// NumPy's `method`.
    pub method: QuantileMethod,
    /// The axis to compute along (negative counts from the end); `None`: the flattened array.
    pub axis: Option<isize>,
    /// `q` is one Python float (`np.quantile(a, 0.5)`), not a list or array: the result has
    /// no q axis, and NumPy's weak promotion keeps float16/float32 data in its own type when
    /// interpolating (a list of q gives float64 for them).
    pub scalar_q: bool,
}

/// Quantiles and NumPy's result dtype and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    /// The quantiles asked for.
    pub q: Vec<f64>,
    /// NumPy's result dtype (native byte order).
    pub dtype: DType,
    /// NumPy's result shape: `(len(q),)` (absent for a scalar q) then the shape without the axis.
    pub shape: Vec<usize>,
    /// The values in C order of `shape`.
    pub values: Vec<Value>,
}

impl Quantiles {
    /// The values in native byte order, as a `.npy` of `dtype` stores them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let kind = self.dtype.scalar_kind().unwrap_or(ScalarKind::F64);
        let mut out = Vec::with_capacity(self.values.len() * kind.size());
        for v in &self.values {
            match (kind, *v) {
                (ScalarKind::Bool, Value::Bool(b)) => out.push(b as u8),
                (ScalarKind::F16, Value::Float(f)) => {
                    out.extend_from_slice(&crate::cast::f16_from_f64(f).to_ne_bytes())
                }
                (ScalarKind::F32, Value::Float(f)) => {
                    out.extend_from_slice(&(f as f32).to_ne_bytes())
                }
                (ScalarKind::F64, Value::Float(f)) => out.extend_from_slice(&f.to_ne_bytes()),
                (_, Value::Int(i)) => out.extend_from_slice(&i.to_ne_bytes()[..kind.size()]),
                (_, Value::UInt(u)) => out.extend_from_slice(&u.to_ne_bytes()[..kind.size()]),
                // Unreachable combinations keep the byte count right.
                _ => out.extend(std::iter::repeat_n(0u8, kind.size())),
            }
        }
        if cfg!(target_endian = "big") {
            // Int values were cut from the low end above only on little-endian machines.
            let mut fixed = Vec::with_capacity(out.len());
            for v in &self.values {
                match *v {
                    Value::Int(i) => fixed.extend_from_slice(&i.to_ne_bytes()[8 - kind.size()..]),
                    Value::UInt(u) => fixed.extend_from_slice(&u.to_ne_bytes()[8 - kind.size()..]),
                    _ => return out,
                }
            }
            return fixed;
        }
        out
    }

    /// A value as text that reads back to the same value of the result dtype.
    pub fn value_text(&self, v: &Value) -> String {
        match *v {
            Value::Bool(b) => if b { "true" } else { "false" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => float_text(f, self.dtype.scalar_kind().unwrap_or(ScalarKind::F64)),
        }
    }
}

/// `np.quantile(a, q, method=…, axis=…)`: exact quantiles of `array`, inside the budget.
///
/// ```
/// use outcore_engine::{Array, Context};
/// use outcore_kernels::quantile::{quantile, QuantileOptions};
/// use outcore_kernels::reduce::Value;
/// let ctx = Context::new()?;
/// let a = Array::from_vec((1..=9).map(f64::from).collect::<Vec<_>>(), &[9])?;
/// // np.quantile(np.arange(1.0, 10.0), [0.25, 0.5])
/// let q = quantile(&ctx, &a, &[0.25, 0.5], &QuantileOptions::default())?;
/// assert_eq!(q.values, vec![Value::Float(3.0), Value::Float(5.0)]);
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn quantile(
    ctx: &Context,
    array: &Array,
    q: &[f64],
    opts: &QuantileOptions,
) -> Result<Quantiles> {
    quantile_inner(ctx, array, q, opts).map_err(|e| {
        if e.path().is_none() {
            e.with_path(array.path())
        } else {
            e
        }
    })
}

fn quantile_inner(
    ctx: &Context,
    array: &Array,
    q: &[f64],
    opts: &QuantileOptions,
) -> Result<Quantiles> {
    let kind = array.dtype().require_real("quantile")?;
    if opts.scalar_q && q.len() != 1 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "a scalar q is one value",
        ));
    }
    if q.iter().any(|&x| !(0.0..=1.0).contains(&x)) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "Quantiles must be in the range [0, 1]",
        ));
    }
    if kind == ScalarKind::Bool && opts.method.interpolates() {
        return Err(Error::new(
            ErrorKind::UnsupportedDType,
            format!(
                "quantile method {} is not supported for bool data (NumPy cannot subtract booleans; use lower, higher or nearest)",
                opts.method.name()
            ),
        ));
    }
    let shape = array.shape();
    let (axis, rest): (Option<usize>, Vec<usize>) = match opts.axis {
        None => (None, Vec::new()),
        Some(ax) => {
            let nd = shape.len() as isize;
            let a = if ax < 0 { ax + nd } else { ax };
            if a < 0 || a >= nd {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "axis {ax} is out of bounds for array of dimension {}",
                        shape.len()
                    ),
                ));
            }
            let a = a as usize;
            let rest = shape
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != a)
                .map(|(_, &d)| d)
                .collect();
            (Some(a), rest)
        }
    };
    let len_k = match axis {
        None => array.len(),
        Some(a) => shape[a],
    };
    let lanes: usize = rest.iter().product();
    if len_k == 0 && lanes > 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "cannot compute quantiles of an empty array (NumPy: index -1 is out of bounds for axis 0 with size 0)",
        ));
    }
    let result_kind = result_kind(kind, opts.method, opts.scalar_q);
    let plans: Vec<QPlan> = q
        .iter()
        .map(|&x| QPlan::new(opts.method, len_k, x))
        .collect();
    let mut ranks: Vec<usize> = plans.iter().flat_map(|p| [p.prev, p.next]).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let values = if lanes == 0 {
        Vec::new()
    } else {
        with_scalar_type!(kind, T => {
            let picked = select_lanes::<T>(ctx, array, axis, len_k, &ranks)?;
            finish::<T>(&picked, &ranks, &plans, result_kind, lanes)
        }, complex => unreachable!("complex refused above"))
    };
    let mut out_shape = Vec::new();
    if !opts.scalar_q {
        out_shape.push(q.len());
    }
    out_shape.extend_from_slice(&rest);
    Ok(Quantiles {
        q: q.to_vec(),
        dtype: DType::scalar(result_kind, ByteOrder::NATIVE),
        shape: out_shape,
        values,
    })
}

/// NumPy's result dtype: the data's own for the discrete methods; for the interpolating ones
/// float64, or the data's float16/float32 when q is a Python float (weak promotion).
pub fn result_kind(kind: ScalarKind, method: QuantileMethod, scalar_q: bool) -> ScalarKind {
    if !method.interpolates() || (scalar_q && kind.is_float()) {
        kind
    } else {
        ScalarKind::F64
    }
}

/// The order statistics one q needs and its interpolation weight, as NumPy computes them.
#[derive(Debug, Clone, Copy)]
struct QPlan {
    prev: usize,
    next: usize,
    /// NumPy's gamma (`None`: no interpolation, the value at `prev`).
    gamma: Option<f64>,
}

impl QPlan {
    fn new(method: QuantileMethod, n: usize, q: f64) -> QPlan {
        let last = n.saturating_sub(1);
        let nm1 = last as f64;
        let at = |i: f64| QPlan {
            prev: (i as usize).min(last),
            next: (i as usize).min(last),
            gamma: None,
        };
        // NumPy's `_get_indexes`: at or past the last index both neighbours are the last
        // element (index -1, which also enters gamma as -1).
        let between = |vi: f64, gamma: Option<f64>| {
            if vi >= nm1 {
                QPlan {
                    prev: last,
                    next: last,
                    gamma: Some(gamma.unwrap_or(vi + 1.0)),
                }
            } else {
                let p = vi.floor();
                QPlan {
                    prev: p as usize,
                    next: p as usize + 1,
                    gamma: Some(gamma.unwrap_or(vi - p)),
                }
            }
        };
        match method {
            QuantileMethod::Lower => at((nm1 * q).floor()),
            QuantileMethod::Higher => at((nm1 * q).ceil()),
            QuantileMethod::Nearest => at((nm1 * q).round_ties_even()),
            QuantileMethod::Linear => between(nm1 * q, None),
            QuantileMethod::Midpoint => {
                let f = nm1 * q;
                let vi = 0.5 * (f.floor() + f.ceil());
                between(vi, Some(if vi % 1.0 == 0.0 { 0.0 } else { 0.5 }))
            }
        }
    }
}

/// The selected order statistics of every lane (`None`: the lane has a NaN).
type Picked<T> = Vec<Option<Vec<T>>>;

/// Results in C order: q major, then lanes.
fn finish<T: QKey>(
    picked: &Picked<T>,
    ranks: &[usize],
    plans: &[QPlan],
    result_kind: ScalarKind,
    lanes: usize,
) -> Vec<Value> {
    let at = |vals: &[T], r: usize| vals[ranks.binary_search(&r).unwrap_or(0)];
    let mut out = Vec::with_capacity(plans.len() * lanes);
    for plan in plans {
        for lane in picked {
            let v = match lane {
                None => Value::Float(f64::NAN),
                Some(vals) => {
                    let a = at(vals, plan.prev);
                    match plan.gamma {
                        None => value_of(a),
                        Some(t) => Value::Float(lerp(a, at(vals, plan.next), t, result_kind)),
                    }
                }
            };
            out.push(v);
        }
    }
    out
}

/// `x` as the `Value` of its dtype (shared with `unique`).
pub(crate) fn value_of<T: QKey>(x: T) -> Value {
    let kind = T::KIND;
    if kind == ScalarKind::Bool {
        Value::Bool(x.is_true())
    } else if kind.is_float() {
        Value::Float(x.to_f64())
    } else if kind.is_unsigned_int() {
        Value::UInt(x.to_i128() as u64)
    } else {
        Value::Int(x.to_i128() as i64)
    }
}

/// NumPy's `_lerp(a, b, t)` in its dtypes: `b - a` in the data's type (integers wrap), then
/// `a + d*t`, or `b - d*(1-t)` where `t >= 0.5`, in the result type (float16 via float32,
/// rounded after every operation; a Python-float t is first rounded to the result type).
fn lerp<T: QKey>(a: T, b: T, t: f64, result_kind: ScalarKind) -> f64 {
    let d = b.sub(a);
    match result_kind {
        ScalarKind::F32 => {
            let (a, b, d) = (a.to_f64() as f32, b.to_f64() as f32, d.to_f64() as f32);
            if t >= 0.5 {
                (b - d * ((1.0 - t) as f32)) as f64
            } else {
                (a + d * (t as f32)) as f64
            }
        }
        ScalarKind::F16 => {
            use half::f16;
            let r = |x: f32| f16::from_f32(x).to_f32();
            let (a, b, d) = (a.to_f64() as f32, b.to_f64() as f32, d.to_f64() as f32);
            let v = if t >= 0.5 {
                r(b - r(d * crate::cast::f16_from_f64(1.0 - t).to_f32()))
            } else {
                r(a + r(d * crate::cast::f16_from_f64(t).to_f32()))
            };
            v as f64
        }
        _ => {
            let (a, b, d) = (a.to_f64(), b.to_f64(), d.to_f64());
            if t >= 0.5 {
                b - d * (1.0 - t)
            } else {
                a + d * t
            }
        }
    }
}

/// An element with the sort's order-preserving key as a `u64`.
pub trait QKey: SortKey + Num {
    /// The ascending key, NaNs above [`SortKey::MAX_FINITE`].
    fn key(self) -> u64;
    /// The value of a key.
    fn from_key(key: u64) -> Self;
}

impl<T: SortKey + Num> QKey for T
where
    T::Key: TryFrom<u64>,
{
    #[inline(always)]
    fn key(self) -> u64 {
        self.encode(false).plain()
    }
    #[inline(always)]
    fn from_key(key: u64) -> T {
        match T::Key::try_from(key) {
            Ok(k) => T::decode(k, false),
            Err(_) => unreachable!("keys come from values of the same type"),
        }
    }
}

/// A chunk's elements in native byte order.
fn load<T: outcore_engine::Element>(bytes: &[u8], swap: bool) -> std::borrow::Cow<'_, [T]> {
    let v = cast_or_copy::<T>(bytes);
    if swap {
        let mut owned = v.into_owned();
        swap_in_place(&mut owned);
        std::borrow::Cow::Owned(owned)
    } else {
        v
    }
}

/// The values at `ranks` of every lane, lanes in C order of the shape without the axis.
fn select_lanes<T: QKey>(
    ctx: &Context,
    array: &Array,
    axis: Option<usize>,
    len_k: usize,
    ranks: &[usize],
) -> Result<Picked<T>> {
    let item = std::mem::size_of::<T>();
    let Some(axis) = axis else {
        let lanes = Lanes {
            block: array.len(),
            inner: 1,
            count: 1,
        };
        let mut sample = sample_keys::<T>(array);
        return match select_by_sample::<T>(ctx, array, ranks, &mut sample)? {
            SampleOutcome::Keys(keys) => {
                Ok(vec![Some(keys.into_iter().map(T::from_key).collect())])
            }
            SampleOutcome::Nan => Ok(vec![None]),
            SampleOutcome::Missed => select_by_histograms::<T>(ctx, array, lanes, ranks),
        };
    };
    let shape = array.shape();
    let nd = shape.len();
    // The array as (outer, len_k, inner) in memory order.
    let (dims, k) = match array.order() {
        Order::C => (shape.to_vec(), axis),
        Order::F => (shape.iter().rev().copied().collect(), nd - 1 - axis),
    };
    let inner: usize = dims[k + 1..].iter().product();
    let outer: usize = dims[..k].iter().product();
    let lane_fits = len_k.saturating_mul(item).saturating_mul(3) <= ctx.worker_share(2);
    let memory_order = if inner == 1 && lane_fits {
        select_rows::<T>(ctx, array, len_k, ranks)?
    } else if lane_fits {
        // Move the axis last (C order) so that lanes are rows; they come out in C order.
        let mut axes: Vec<isize> = (0..nd).filter(|&i| i != axis).map(|i| i as isize).collect();
        axes.push(axis as isize);
        let tmp = TempFile::new(ctx, array.path(), "quantile")?;
        let moved = transpose(
            ctx,
            array,
            Some(&axes),
            &tmp.path,
            &OutputOptions {
                sync: false,
                ..OutputOptions::default()
            },
        )?;
        let picked = select_rows::<T>(ctx, &moved, len_k, ranks)?;
        drop(moved);
        return Ok(picked);
    } else {
        let lanes = Lanes {
            block: len_k * inner,
            inner,
            count: outer * inner,
        };
        select_by_histograms::<T>(ctx, array, lanes, ranks)?
    };
    Ok(match array.order() {
        Order::C => memory_order,
        Order::F => f_to_c_lanes(memory_order, shape, axis),
    })
}

/// Runs of contiguous elements in the sample, and their length.
const SAMPLE_RUNS: usize = 4096;
const SAMPLE_RUN: usize = 512;
/// Most brackets one sampled pass tracks (more: the histogram method).
const MAX_BRACKETS: usize = 16;
const _: () = assert!(MAX_BRACKETS < 32, "a bit of an i32 per bracket in the pass");
/// Keys converted at a time in the sampled pass (they stay in L1 while every bracket scans them).
const KEY_BLOCK: usize = 1024;

/// What the sampled pass found.
#[derive(Debug, PartialEq)]
enum SampleOutcome {
    /// The keys at the wanted ranks, exact.
    Keys(Vec<u64>),
    /// The data has a NaN.
    Nan,
    /// A rank fell outside the brackets, or their values did not fit the budget.
    Missed,
}

/// The finite keys of a sample of the array (unsorted): runs of [`SAMPLE_RUN`] elements (a
/// page of float64: the runs cost as many reads as single values) at fixed pseudo-random
/// offsets, one run per stratum, so that it depends on the data only.
fn sample_keys<T: QKey>(array: &Array) -> Vec<u64> {
    let n = array.len();
    let runs = SAMPLE_RUNS.min(n / (2 * SAMPLE_RUN));
    if runs == 0 {
        return Vec::new();
    }
    let item = std::mem::size_of::<T>();
    let data = array.data();
    let swap = array.dtype().needs_swap();
    let stride = n / runs;
    let mut keys = Vec::with_capacity(runs * SAMPLE_RUN);
    for r in 0..runs {
        // splitmix64 of the run's number: a fixed jitter inside the stratum.
        let mut z = (r as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let start = r * stride + (z % (stride - SAMPLE_RUN + 1) as u64) as usize;
        let Some(bytes) = data.get(start * item..(start + SAMPLE_RUN) * item) else {
            break;
        };
        keys.extend(
            load::<T>(bytes, swap)
                .iter()
                .map(|x| x.key())
                .filter(|&k| k <= T::MAX_FINITE),
        );
    }
    keys
}

/// The keys at sorted, distinct `positions` of `keys` (as if sorted; `keys` is reordered),
/// by selecting the middle position and recursing into the two sides: `O(m log k)` instead
/// of sorting the whole sample.
fn select_positions(
    keys: &mut [u64],
    positions: &[usize],
    offset: usize,
    out: &mut Vec<(usize, u64)>,
) {
    if positions.is_empty() {
        return;
    }
    let mid = positions.len() / 2;
    let p = positions[mid] - offset;
    let (left, &mut key, right) = keys.select_nth_unstable(p);
    out.push((positions[mid], key));
    select_positions(left, &positions[..mid], offset, out);
    select_positions(right, &positions[mid + 1..], offset + p + 1, out);
}

/// Whole-array ranks in one pass: the sample gives every rank a key bracket with a wide
/// margin; the pass counts the keys below each bracket and keeps those inside it. Exact
/// whatever the sample: a rank outside its bracket's kept keys is `Missed`.
fn select_by_sample<T: QKey>(
    ctx: &Context,
    array: &Array,
    ranks: &[usize],
    sample: &mut [u64],
) -> Result<SampleOutcome> {
    let n = array.len();
    let m = sample.len();
    if m == 0 || n < 2 {
        return Ok(SampleOutcome::Missed);
    }
    let max_finite = T::MAX_FINITE;
    // Brackets as sample positions: 4.5 standard deviations of the sampled rank (a miss
    // about once in 10^5 ranks on random data, and it costs a fallback, not exactness), plus
    // runs' worth for data ordered in the file.
    let mut spans: Vec<(usize, usize)> = ranks
        .iter()
        .map(|&r| {
            let p = r as f64 / (n - 1) as f64;
            let j = p * (m - 1) as f64;
            let margin = 4.5 * (m as f64 * p * (1.0 - p)).sqrt() + (2 * SAMPLE_RUN + 8) as f64;
            let lo = (j - margin).floor().max(0.0) as usize;
            let hi = ((j + margin).ceil() as usize).min(m - 1);
            (lo, hi)
        })
        .collect();
    spans.sort_unstable();
    let mut positions: Vec<usize> = spans.iter().flat_map(|&(lo, hi)| [lo, hi]).collect();
    positions.sort_unstable();
    positions.dedup();
    let mut at = Vec::with_capacity(positions.len());
    select_positions(sample, &positions, 0, &mut at);
    at.sort_unstable();
    let key_at = |p: usize| at[at.partition_point(|a| a.0 < p)].1;
    let mut brackets: Vec<(u64, u64)> = Vec::new();
    let mut last_hi = 0usize;
    for (lo, hi) in spans {
        let lo_key = if lo == 0 { 0 } else { key_at(lo) };
        let hi_key = if hi == m - 1 { max_finite } else { key_at(hi) };
        match brackets.last_mut() {
            Some(b) if lo <= last_hi || lo_key <= b.1 => {
                b.1 = b.1.max(hi_key);
                last_hi = last_hi.max(hi);
            }
            _ => {
                brackets.push((lo_key, hi_key));
                last_hi = hi;
            }
        }
    }
    select_in_brackets::<T>(ctx, array, ranks, &brackets)
}

/// The pass of [`select_by_sample`] over disjoint sorted key brackets.
fn select_in_brackets<T: QKey>(
    ctx: &Context,
    array: &Array,
    ranks: &[usize],
    brackets: &[(u64, u64)],
) -> Result<SampleOutcome> {
    if brackets.is_empty() || brackets.len() > MAX_BRACKETS {
        return Ok(SampleOutcome::Missed);
    }
    let n = array.len();
    let cap = kept_cap(ctx, n);
    let Ok(_kept) = ctx.budget().reserve(cap * 16, "the quantile candidates") else {
        return Ok(SampleOutcome::Missed);
    };
    let kept_so_far = std::sync::atomic::AtomicUsize::new(0);
    let overflow = std::sync::atomic::AtomicBool::new(false);
    let item = std::mem::size_of::<T>();
    let swap = array.dtype().needs_swap();
    let nb = brackets.len();
    let los: Vec<u64> = brackets.iter().map(|b| b.0).collect();
    let his: Vec<u64> = brackets.iter().map(|b| b.1).collect();
    let shift = (8 * item).saturating_sub(32) as u32;
    let lo_tops: Vec<i32> = los.iter().map(|&k| top_bits(k, shift)).collect();
    let hi_tops: Vec<i32> = his.iter().map(|&k| top_bits(k, shift)).collect();
    let parts = ctx.for_each_chunk("quantile", &array.input(), item, 0..n, |_, bytes| {
        use std::sync::atomic::Ordering::Relaxed;
        let mut nans = 0u64;
        let mut below = vec![0u64; nb];
        let mut kept: Vec<Vec<u64>> = vec![Vec::new(); nb];
        if overflow.load(Relaxed) {
            return Ok((nans, below, kept));
        }
        let vals = load::<T>(bytes, swap);
        let brackets = Brackets {
            los: &los,
            his: &his,
            lo_tops: &lo_tops,
            hi_tops: &hi_tops,
            shift,
        };
        scan_brackets(&vals, &brackets, &mut below, &mut kept, &mut nans);
        let mine: usize = kept.iter().map(Vec::len).sum();
        if kept_so_far.fetch_add(mine, Relaxed) + mine > cap {
            overflow.store(true, Relaxed);
            kept.iter_mut().for_each(|k| *k = Vec::new());
        }
        Ok((nans, below, kept))
    })?;
    if overflow.into_inner() {
        return Ok(SampleOutcome::Missed);
    }
    let mut nans = 0u64;
    let mut below = vec![0u64; nb];
    let mut kept: Vec<Vec<u64>> = (0..nb).map(|_| Vec::new()).collect();
    let sizes: Vec<usize> = (0..nb)
        .map(|b| parts.iter().map(|p| p.2[b].len()).sum())
        .collect();
    for (k, &s) in kept.iter_mut().zip(&sizes) {
        k.reserve_exact(s);
    }
    for (pn, pb, mut pk) in parts {
        nans += pn;
        for b in 0..nb {
            below[b] += pb[b];
            kept[b].append(&mut pk[b]);
        }
    }
    if nans > 0 {
        return Ok(SampleOutcome::Nan);
    }
    // Every rank must fall among the kept keys of one bracket.
    let mut wanted: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for &r in ranks {
        let r = r as u64;
        let Some(b) = (0..nb).find(|&b| below[b] <= r && r < below[b] + kept[b].len() as u64)
        else {
            return Ok(SampleOutcome::Missed);
        };
        wanted[b].push((r - below[b]) as usize);
    }
    // The brackets' selections run in parallel: they are most of what is left after the pass.
    let selected: Vec<Option<Vec<(usize, u64)>>> = ctx.install(|| {
        use rayon::prelude::*;
        kept.par_iter_mut()
            .zip(wanted.par_iter())
            .zip(below.par_iter())
            .map(|((keys, w), &below)| {
                let mut w = w.clone();
                w.sort_unstable();
                w.dedup();
                let found = select_in(keys, &w, u64::MAX)?;
                Some(w.iter().map(|&i| i + below as usize).zip(found).collect())
            })
            .collect()
    });
    let mut found: Vec<(usize, u64)> = Vec::with_capacity(ranks.len());
    for s in selected {
        let Some(s) = s else {
            return Ok(SampleOutcome::Missed);
        };
        found.extend(s);
    }
    found.sort_unstable();
    Ok(SampleOutcome::Keys(
        ranks
            .iter()
            .map(|r| found[found.partition_point(|f| f.0 < *r)].1)
            .collect(),
    ))
}

/// The sampled pass's key brackets, and their keys' top bits (see [`top_bits`]).
struct Brackets<'a> {
    los: &'a [u64],
    his: &'a [u64],
    lo_tops: &'a [i32],
    hi_tops: &'a [i32],
    shift: u32,
}

/// Adds `values`' keys below each bracket to `below`, the keys inside one to `kept`, and the
/// NaNs to `nans`. Compiled for AVX2 too (picked at run time): the block loops below are
/// written to vectorize, 32-bit compares of the keys' top bits (8 a vector), so that the
/// pass runs near memory speed; the few keys whose top bits fall in or tie with a bracket are
/// settled one by one after. Blocks are prefetched ahead (the loops have too many
/// instructions per value for the hardware prefetcher alone to keep them fed).
#[multiversion::multiversion(targets(
    "x86_64+avx2+avx512f+avx512dq+avx512vl+avx512bw",
    "x86_64+avx2"
))]
fn scan_brackets<T: QKey>(
    values: &[T],
    brackets: &Brackets,
    below: &mut [u64],
    kept: &mut [Vec<u64>],
    nans: &mut u64,
) {
    let Brackets {
        los,
        his,
        lo_tops,
        hi_tops,
        shift,
    } = *brackets;
    let max_finite = T::MAX_FINITE;
    // Keys whose top bits reach the largest finite key's may be NaNs (or infinities).
    let nan_top = top_bits(max_finite, shift);
    let mut tops = [0i32; KEY_BLOCK];
    let mut hits = [0i32; KEY_BLOCK];
    for block in crate::prefetched_blocks(values, KEY_BLOCK, 4) {
        let tops = &mut tops[..block.len()];
        let hits = &mut hits[..block.len()];
        let mut suspects = 0u32;
        // Only the top bits are kept: the few keys needed later are taken again.
        for (t, &x) in tops.iter_mut().zip(block) {
            *t = top_bits(x.key(), shift);
            suspects += (*t >= nan_top) as u32;
        }
        if suspects > 0 {
            *nans += block.iter().filter(|&&x| x.key() > max_finite).count() as u64;
        }
        hits.fill(0);
        for b in 0..lo_tops.len() {
            let lo = lo_tops[b];
            // In the bracket's top bits: `t - lo <= hi - lo` as unsigned.
            let span = hi_tops[b].wrapping_sub(lo) as u32;
            let bit = 1 << b;
            let mut c = 0u32;
            for (h, &t) in hits.iter_mut().zip(tops.iter()) {
                c += (t < lo) as u32;
                *h |= -((t.wrapping_sub(lo) as u32 <= span) as i32) & bit;
            }
            below[b] += c as u64;
        }
        // Whole groups without a hit are skipped with one test.
        for (hits, values) in hits.chunks(8).zip(block.chunks(8)) {
            if hits.iter().all(|&h| h == 0) {
                continue;
            }
            for (&h, &x) in hits.iter().zip(values) {
                if h == 0 {
                    continue;
                }
                let k = x.key();
                // The brackets whose top bits hold `k`'s (one, but for ties at their edges).
                let mut mask = h as u32;
                while mask != 0 {
                    let b = mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    if k < los[b] {
                        // Not counted above: its top bits tie with lo's.
                        below[b] += 1;
                    } else if k <= his[b] {
                        kept[b].push(k);
                    }
                }
            }
        }
    }
}

/// A key's top 32 bits as an `i32` in the same order (keys of 4 bytes or less whole).
#[inline(always)]
fn top_bits(key: u64, shift: u32) -> i32 {
    ((key >> shift) as u32 ^ 0x8000_0000) as i32
}

/// Most keys the sampled pass may keep (more: the histogram method): a quarter of the
/// elements, within a quarter of the free budget (16 bytes a key: a chunk's copy and the
/// merged one).
fn kept_cap(ctx: &Context, n: usize) -> usize {
    (n / 4 + 1024).min(ctx.budget().available() / 4 / 16)
}

/// Reorders lanes from F order of the shape without `axis` to C order.
fn f_to_c_lanes<X: Clone>(lanes: Vec<X>, shape: &[usize], axis: usize) -> Vec<X> {
    let rest: Vec<usize> = shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != axis)
        .map(|(_, &d)| d)
        .collect();
    let n = lanes.len();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rest.len()];
    for _ in 0..n {
        // F-order flat index of the C-order multi-index `idx`.
        let mut f = 0;
        for d in (0..rest.len()).rev() {
            f = f * rest[d] + idx[d];
        }
        out.push(lanes[f].clone());
        for d in (0..rest.len()).rev() {
            idx[d] += 1;
            if idx[d] < rest[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// A scratch file removed when dropped (also on the way out of a failed job).
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(ctx: &Context, input: &Path, what: &str) -> Result<TempFile> {
        let dir = match ctx.tmp_dir() {
            Some(d) => d.to_path_buf(),
            None => std::env::temp_dir(),
        };
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = dir.join(format!(
            ".outcore-{what}-{}-{stem}-{}.npy",
            std::process::id(),
            unique_suffix()
        ));
        Ok(TempFile { path })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Lanes that are contiguous rows of `len_k` elements: each row selected in memory.
fn select_rows<T: QKey>(
    ctx: &Context,
    array: &Array,
    len_k: usize,
    ranks: &[usize],
) -> Result<Picked<T>> {
    let item = std::mem::size_of::<T>();
    let swap = array.dtype().needs_swap();
    let rows = array.len() / len_k;
    let parts = ctx.for_each_chunk(
        "quantile",
        &array.input(),
        len_k * item,
        0..rows,
        |_, bytes| {
            let vals = load::<T>(bytes, swap);
            let mut keys = Vec::with_capacity(len_k);
            Ok(vals
                .chunks_exact(len_k)
                .map(|row| {
                    keys.clear();
                    keys.extend(row.iter().map(|&x| x.key()));
                    select_in(&mut keys, ranks, T::MAX_FINITE)
                        .map(|ks| ks.into_iter().map(T::from_key).collect())
                })
                .collect::<Vec<_>>())
        },
    )?;
    Ok(parts.into_iter().flatten().collect())
}

/// The keys at `ranks` (sorted) of `keys`, or `None` when one is a NaN (above `max_finite`).
fn select_in(keys: &mut [u64], ranks: &[usize], max_finite: u64) -> Option<Vec<u64>> {
    if keys.iter().any(|&k| k > max_finite) {
        return None;
    }
    let mut out = Vec::with_capacity(ranks.len());
    let mut from = 0;
    for &r in ranks {
        let (_, &mut v, _) = keys[from..].select_nth_unstable(r - from);
        out.push(v);
        from = r + 1;
        if from > keys.len() {
            break;
        }
    }
    Some(out)
}

/// Lanes of the array in memory order: element `p` belongs to lane
/// `(p / block) * inner + p % inner`.
#[derive(Debug, Clone, Copy)]
struct Lanes {
    block: usize,
    inner: usize,
    count: usize,
}

/// Where a wanted rank of a lane is known to be: among the keys `lo..=hi`, with `below`
/// keys of the lane smaller than `lo`.
#[derive(Debug, Clone, Copy)]
struct Target {
    rank: u64,
    lo: u64,
    hi: u64,
    below: u64,
    key: Option<u64>,
}

/// What a pass does with the keys of one interval.
#[derive(Debug, Clone)]
enum Work {
    /// Counts keys into buckets: one below `a`, `m` of `1 << shift` keys from `a` to `b`,
    /// one above `b`.
    Count {
        a: u64,
        b: u64,
        shift: u32,
        m: usize,
    },
    /// Keeps the keys.
    Collect,
}

#[derive(Debug, Clone)]
struct Interval {
    lo: u64,
    hi: u64,
    work: Work,
}

impl Interval {
    fn buckets(&self) -> usize {
        match self.work {
            Work::Count { m, .. } => m + 2,
            Work::Collect => 0,
        }
    }

    /// The key range of bucket `j` (empty ranges have `lo > hi`).
    fn bucket_range(&self, j: usize) -> (u64, u64) {
        let Work::Count { a, b, shift, m } = self.work else {
            return (self.lo, self.hi);
        };
        if j == 0 {
            (self.lo, a.saturating_sub(1))
        } else if j == m + 1 {
            (b.saturating_add(1), self.hi)
        } else {
            let start = a as u128 + (((j - 1) as u128) << shift);
            let end = (start + (1u128 << shift) - 1).min(b as u128);
            (start as u64, end as u64)
        }
    }

    fn counting(lo: u64, hi: u64, a: u64, b: u64, nb: usize) -> Interval {
        let width = b - a;
        let mut shift = 0u32;
        while shift < 64 && (width >> shift) >= nb as u64 {
            shift += 1;
        }
        let m = (width >> shift) as usize + 1;
        Interval {
            lo,
            hi,
            work: Work::Count { a, b, shift, m },
        }
    }

    #[inline(always)]
    fn bucket(&self, k: u64, a: u64, b: u64, shift: u32) -> usize {
        if k < a {
            0
        } else if k > b {
            match self.work {
                Work::Count { m, .. } => m + 1,
                Work::Collect => 0,
            }
        } else {
            ((k - a) >> shift) as usize + 1
        }
    }
}

/// One lane's results of a pass: counts or kept keys per interval.
#[derive(Debug, Clone, Default)]
struct LaneAcc {
    nans: u64,
    counts: Vec<Vec<u64>>,
    kept: Vec<Vec<u64>>,
}

impl LaneAcc {
    fn new(intervals: &[Interval]) -> LaneAcc {
        LaneAcc {
            nans: 0,
            counts: intervals.iter().map(|iv| vec![0; iv.buckets()]).collect(),
            kept: intervals.iter().map(|_| Vec::new()).collect(),
        }
    }

    fn add(&mut self, o: &mut LaneAcc) {
        self.nans += o.nans;
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.kept.iter_mut().zip(o.kept.iter_mut()) {
            a.append(b);
        }
    }

    #[inline(always)]
    fn visit(&mut self, intervals: &[Interval], k: u64) {
        let i = if intervals.len() == 1 {
            0
        } else {
            intervals.partition_point(|iv| iv.hi < k)
        };
        let Some(iv) = intervals.get(i) else { return };
        if k < iv.lo || k > iv.hi {
            return;
        }
        match iv.work {
            Work::Count { a, b, shift, .. } => self.counts[i][iv.bucket(k, a, b, shift)] += 1,
            Work::Collect => self.kept[i].push(k),
        }
    }
}

/// Buckets of a counting interval.
const MAX_BUCKETS: usize = 1 << 16;

/// Locates `ranks` of every lane by successive key histograms (see the module's notes).
fn select_by_histograms<T: QKey>(
    ctx: &Context,
    array: &Array,
    lanes: Lanes,
    ranks: &[usize],
) -> Result<Picked<T>> {
    let max_finite = T::MAX_FINITE;
    let (a, b) = sample_range::<T>(array, max_finite);
    let mut targets: Vec<Vec<Target>> = (0..lanes.count)
        .map(|_| {
            ranks
                .iter()
                .map(|&r| Target {
                    rank: r as u64,
                    lo: 0,
                    hi: max_finite,
                    below: 0,
                    key: None,
                })
                .collect()
        })
        .collect();
    let mut nan_lane = vec![false; lanes.count];
    let mut first = true;
    // The first pass's single interval uses the sample's range; later ones refine.
    let mut counts_of: Vec<Vec<(u64, u64, u64)>> = vec![Vec::new(); lanes.count];
    loop {
        // Plan the pass: intervals per lane, collecting those that fit.
        let mut plan: Vec<Vec<Interval>> = vec![Vec::new(); lanes.count];
        let mut pending = 0usize;
        let mut to_decide: Vec<(u64, usize, u64, u64)> = Vec::new(); // (count, lane, lo, hi)
        for (lane, ts) in targets.iter().enumerate() {
            if nan_lane[lane] {
                continue;
            }
            let mut ivs: Vec<(u64, u64)> = ts
                .iter()
                .filter(|t| t.key.is_none())
                .map(|t| (t.lo, t.hi))
                .collect();
            ivs.sort_unstable();
            ivs.dedup();
            for (lo, hi) in ivs {
                let count = counts_of[lane]
                    .iter()
                    .find(|c| c.0 == lo && c.1 == hi)
                    .map(|c| c.2)
                    .unwrap_or(u64::MAX);
                to_decide.push((count, lane, lo, hi));
            }
        }
        if to_decide.is_empty() {
            break;
        }
        let avail = ctx.budget().available();
        // Kept keys live twice at most (a chunk's own and the merged list).
        let mut keep_room = (avail / 4 / 16) as u64;
        to_decide.sort_unstable();
        let mut counting = 0usize;
        let mut decided: Vec<(usize, u64, u64, bool)> = Vec::new();
        for &(count, lane, lo, hi) in &to_decide {
            let keep = !first && count <= keep_room;
            if keep {
                keep_room -= count;
            } else {
                counting += 1;
            }
            decided.push((lane, lo, hi, keep));
        }
        let nb = bucket_count(avail, counting, ctx.threads());
        let mut kept_total = 0u64;
        for &(lane, lo, hi, keep) in &decided {
            let iv = if keep {
                kept_total += counts_of[lane]
                    .iter()
                    .find(|c| c.0 == lo && c.1 == hi)
                    .map_or(0, |c| c.2);
                Interval {
                    lo,
                    hi,
                    work: Work::Collect,
                }
            } else if first {
                let (a, b) = if a <= b { (a, b) } else { (lo, hi) };
                Interval::counting(lo, hi, a, b, nb)
            } else {
                Interval::counting(lo, hi, lo, hi, nb)
            };
            plan[lane].push(iv);
            pending += 1;
        }
        for p in &mut plan {
            p.sort_by_key(|iv| iv.lo);
        }
        let _tables = ctx.budget().reserve(
            counting * (nb + 2) * 8 * (ctx.threads() + 1),
            "the quantile histograms",
        )?;
        let _kept = ctx
            .budget()
            .reserve(kept_total as usize * 16, "the quantile candidates")?;
        debug_assert!(pending > 0);
        let accs = run_pass::<T>(ctx, array, lanes, &plan, first)?;
        first = false;
        // Narrow every target.
        for (lane, acc) in accs.into_iter().enumerate() {
            let Some(mut acc) = acc else { continue };
            if acc.nans > 0 {
                nan_lane[lane] = true;
                continue;
            }
            let ivs = &plan[lane];
            counts_of[lane].clear();
            for kept in &mut acc.kept {
                kept.sort_unstable();
            }
            for t in targets[lane].iter_mut().filter(|t| t.key.is_none()) {
                let Some(i) = ivs.iter().position(|iv| iv.lo == t.lo && iv.hi == t.hi) else {
                    continue;
                };
                match ivs[i].work {
                    Work::Collect => {
                        // The interval's count covers the rank, so the key is there.
                        let at = (t.rank - t.below) as usize;
                        t.key = acc.kept[i].get(at).copied().or(Some(t.lo));
                    }
                    Work::Count { .. } => {
                        let counts = &acc.counts[i];
                        let mut below = t.below;
                        for (j, &c) in counts.iter().enumerate() {
                            if c > 0 && t.rank < below + c {
                                let (lo, hi) = ivs[i].bucket_range(j);
                                t.lo = lo;
                                t.hi = hi;
                                t.below = below;
                                if lo == hi {
                                    t.key = Some(lo);
                                } else {
                                    counts_of[lane].push((lo, hi, c));
                                }
                                break;
                            }
                            below += c;
                        }
                    }
                }
            }
        }
        ctx.cancel_token().check()?;
    }
    Ok(targets
        .into_iter()
        .zip(nan_lane)
        .map(|(ts, nan)| {
            if nan {
                None
            } else {
                Some(
                    ts.into_iter()
                        .map(|t| T::from_key(t.key.unwrap_or(0)))
                        .collect(),
                )
            }
        })
        .collect())
}

/// Buckets per counting interval: as many as fit a quarter of the free budget, at most 2^16.
fn bucket_count(avail: usize, intervals: usize, threads: usize) -> usize {
    let per = avail / 4 / (intervals.max(1) * 8 * (threads + 1));
    let mut nb = MAX_BUCKETS;
    while nb > 16 && nb + 2 > per {
        nb /= 2;
    }
    nb
}

/// The range of the keys of up to 4096 elements spread over the array (NaNs left out), or
/// an empty range when there are none.
fn sample_range<T: QKey>(array: &Array, max_finite: u64) -> (u64, u64) {
    let n = array.len();
    let item = std::mem::size_of::<T>();
    let data = array.data();
    let swap = array.dtype().needs_swap();
    let samples = n.min(4096);
    let (mut a, mut b) = (u64::MAX, 0u64);
    for s in 0..samples {
        let i = (s as u128 * n as u128 / samples as u128) as usize;
        let Some(bytes) = data.get(i * item..(i + 1) * item) else {
            break;
        };
        let x = load::<T>(bytes, swap)[0];
        let k = x.key();
        if k <= max_finite {
            a = a.min(k);
            b = b.max(k);
        }
    }
    (a, b)
}

/// One pass over the data: every lane's intervals counted or kept (`None` for lanes with no
/// interval this pass). NaNs are counted on the first pass.
fn run_pass<T: QKey>(
    ctx: &Context,
    array: &Array,
    lanes: Lanes,
    plan: &[Vec<Interval>],
    count_nans: bool,
) -> Result<Vec<Option<LaneAcc>>> {
    let item = std::mem::size_of::<T>();
    let swap = array.dtype().needs_swap();
    let max_finite = T::MAX_FINITE;
    let total: Mutex<Vec<Option<LaneAcc>>> = Mutex::new(
        plan.iter()
            .map(|ivs| (!ivs.is_empty()).then(|| LaneAcc::new(ivs)))
            .collect(),
    );
    let poisoned = || Error::new(ErrorKind::Io, "a quantile worker panicked");
    ctx.for_each_chunk(
        "quantile",
        &array.input(),
        item,
        0..array.len(),
        |range, bytes| {
            let vals = load::<T>(bytes, swap);
            let mut local: Vec<Option<LaneAcc>> = vec![None; lanes.count];
            if lanes.count == 1 {
                let ivs = &plan[0];
                if ivs.is_empty() {
                    return Ok(());
                }
                let mut acc = LaneAcc::new(ivs);
                // The common first pass: one interval counted, a tight loop.
                if let [iv] = ivs.as_slice() {
                    if let Work::Count { a, b, shift, .. } = iv.work {
                        let counts = &mut acc.counts[0];
                        let mut nans = 0u64;
                        for &x in vals.iter() {
                            let k = x.key();
                            if k > max_finite {
                                nans += 1;
                            } else if k >= iv.lo && k <= iv.hi {
                                counts[iv.bucket(k, a, b, shift)] += 1;
                            }
                        }
                        acc.nans = if count_nans { nans } else { 0 };
                    } else {
                        for &x in vals.iter() {
                            let k = x.key();
                            if k <= max_finite {
                                acc.visit(ivs, k);
                            }
                        }
                    }
                } else {
                    for &x in vals.iter() {
                        let k = x.key();
                        if k <= max_finite {
                            acc.visit(ivs, k);
                        }
                    }
                }
                local[0] = Some(acc);
            } else {
                let mut visit = |lane: usize, x: T| {
                    let ivs = &plan[lane];
                    if ivs.is_empty() {
                        return;
                    }
                    let acc = local[lane].get_or_insert_with(|| LaneAcc::new(ivs));
                    let k = x.key();
                    if k > max_finite {
                        acc.nans += count_nans as u64;
                    } else {
                        acc.visit(ivs, k);
                    }
                };
                let start = range.start;
                let mut o = start / lanes.block;
                let mut j = start % lanes.inner;
                let mut pos_in_block = start % lanes.block;
                for &x in vals.iter() {
                    visit(o * lanes.inner + j, x);
                    j += 1;
                    if j == lanes.inner {
                        j = 0;
                    }
                    pos_in_block += 1;
                    if pos_in_block == lanes.block {
                        pos_in_block = 0;
                        o += 1;
                    }
                }
            }
            let mut t = total.lock().map_err(|_| poisoned())?;
            for (dst, src) in t.iter_mut().zip(local.iter_mut()) {
                if let (Some(d), Some(s)) = (dst.as_mut(), src.as_mut()) {
                    d.add(s);
                }
            }
            Ok(())
        },
    )?;
    total.into_inner().map_err(|_| poisoned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    fn exact(mut v: Vec<f64>, q: f64, method: QuantileMethod) -> f64 {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let plan = QPlan::new(method, v.len(), q);
        match plan.gamma {
            None => v[plan.prev],
            Some(t) => lerp(v[plan.prev], v[plan.next], t, ScalarKind::F64),
        }
    }

    #[test]
    fn histogram_selection_equals_a_full_sort() {
        let mut rng = xorshift();
        // Clustered data (many equal top bits) and a few outliers: several refinements.
        let v: Vec<f64> = (0..50_000)
            .map(|i| {
                let r = rng();
                if i % 997 == 0 {
                    (r as f64) * 1e300
                } else {
                    1.0 + (r >> 40) as f64 * 1e-12
                }
            })
            .collect();
        let a = Array::from_vec(v.clone(), &[v.len()]).unwrap();
        let qs = [0.0, 1e-6, 0.25, 0.5, 0.75, 0.999, 1.0];
        for mem in [256 << 10, 64 << 20] {
            let ctx = two_threads_small_chunks(Some(mem));
            for m in QuantileMethod::ALL {
                let r = quantile(
                    &ctx,
                    &a,
                    &qs,
                    &QuantileOptions {
                        method: m,
                        ..Default::default()
                    },
                )
                .unwrap();
                for (i, &q) in qs.iter().enumerate() {
                    // The outliers overflow to inf, so interpolating between two of them is
                    // NaN on both sides (and NaN != NaN).
                    let want = exact(v.clone(), q, m);
                    match r.values[i] {
                        Value::Float(got) => assert!(
                            got == want || (got.is_nan() && want.is_nan()),
                            "{m:?} {q}: {got} != {want}"
                        ),
                        ref other => panic!("{m:?} {q}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn nan_and_errors() {
        let ctx = Context::new().unwrap();
        let a = Array::from_vec(vec![1.0f32, f32::NAN, 3.0], &[3]).unwrap();
        let r = quantile(&ctx, &a, &[0.5], &QuantileOptions::default()).unwrap();
        assert!(matches!(r.values[0], Value::Float(f) if f.is_nan()));
        assert_eq!(r.dtype.scalar_kind(), Some(ScalarKind::F64));
        let e = quantile(&ctx, &a, &[1.5], &QuantileOptions::default()).unwrap_err();
        assert!(e.message().contains("range [0, 1]"));
        let empty = Array::from_vec(Vec::<f64>::new(), &[0]).unwrap();
        assert!(quantile(&ctx, &empty, &[0.5], &QuantileOptions::default()).is_err());
    }

    #[test]
    fn int8_differences_wrap_as_numpy() {
        let ctx = Context::new().unwrap();
        let a = Array::from_vec(vec![-100i8, 100], &[2]).unwrap();
        let r = quantile(&ctx, &a, &[0.5, 0.25], &QuantileOptions::default()).unwrap();
        assert_eq!(r.values, vec![Value::Float(128.0), Value::Float(-114.0)]);
    }

    /// Two threads and 64 KiB chunks (many chunks per test array), with `mem` as the budget.
    fn two_threads_small_chunks(mem: Option<usize>) -> Context {
        let mut b = Context::builder().threads(2).chunk_bytes(64 << 10);
        if let Some(m) = mem {
            b = b.memory(m);
        }
        b.build().unwrap()
    }

    fn keys_by_sort(v: &[f64], ranks: &[usize]) -> Vec<u64> {
        let mut k: Vec<u64> = v.iter().map(|x| x.key()).collect();
        k.sort_unstable();
        ranks.iter().map(|&r| k[r]).collect()
    }

    #[test]
    fn sampled_pass_is_exact_or_misses() {
        let mut rng = xorshift();
        // Heavy duplicates and infinities at the brackets' edges.
        let v: Vec<f64> = (0..200_000)
            .map(|i| match i % 40 {
                0 => f64::INFINITY,
                1 => f64::NEG_INFINITY,
                2..=5 => 0.5,
                _ => (rng() >> 40) as f64,
            })
            .collect();
        let a = Array::from_vec(v.clone(), &[v.len()]).unwrap();
        let ctx = two_threads_small_chunks(None);
        // Two brackets (about ±1% of the ranks each, from a 100 000-key sample of 195 runs):
        // the kept values stay under the pass's limit of n/4; rank 20 000 is a duplicated 0.5.
        let ranks = [0, 1, 19_999, 20_000, 199_998, 199_999];
        let want = keys_by_sort(&v, &ranks);
        let sample = sample_keys::<f64>(&a);
        assert!(sample.len() >= 4096);
        assert_eq!(
            select_by_sample::<f64>(&ctx, &a, &ranks, &mut sample.clone()).unwrap(),
            SampleOutcome::Keys(want.clone())
        );
        // Brackets exactly at duplicated and infinite keys.
        let (half, inf) = (0.5f64.key(), f64::INFINITY.key());
        let brackets = [(f64::NEG_INFINITY.key(), half), (inf, inf)];
        let r = select_in_brackets::<f64>(&ctx, &a, &[0, 20_000, 199_999], &brackets).unwrap();
        assert_eq!(
            r,
            SampleOutcome::Keys(keys_by_sort(&v, &[0, 20_000, 199_999]))
        );
        // A sample that misses (all from one end): the pass says so, quantile stays exact.
        let bad: Vec<u64> = vec![f64::NEG_INFINITY.key(); 4096];
        assert_eq!(
            select_by_sample::<f64>(&ctx, &a, &ranks, &mut bad.clone()).unwrap(),
            SampleOutcome::Missed
        );
        let miss = [(1.0f64.key(), 2.0f64.key())];
        assert_eq!(
            select_in_brackets::<f64>(&ctx, &a, &[100_000], &miss).unwrap(),
            SampleOutcome::Missed
        );
        // Too small a budget for the kept keys: missed, not an error.
        let tight = two_threads_small_chunks(Some(256 << 10));
        assert_eq!(
            select_by_sample::<f64>(&tight, &a, &ranks, &mut sample.clone()).unwrap(),
            SampleOutcome::Missed
        );
        for q in [0.0, 0.1, 0.3, 0.5, 0.9, 1.0] {
            let r = quantile(&tight, &a, &[q], &QuantileOptions::default()).unwrap();
            let want = exact(v.clone(), q, QuantileMethod::Linear);
            match r.values[0] {
                Value::Float(got) => assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "{q}: {got} != {want}"
                ),
                ref other => panic!("{other:?}"),
            }
        }
        // A NaN anywhere.
        let mut with_nan = v.clone();
        with_nan[123_457] = f64::NAN;
        let b = Array::from_vec(with_nan, &[v.len()]).unwrap();
        assert_eq!(
            select_by_sample::<f64>(&ctx, &b, &ranks, &mut sample.clone()).unwrap(),
            SampleOutcome::Nan
        );
    }

    #[test]
    fn sampled_pass_on_eight_byte_integers_with_equal_top_bits() {
        // Every key shares its top 32 bits: all ties settled one by one.
        let v: Vec<i64> = (0..100_000i64).map(|i| (i * 7919) % 100_003).collect();
        let a = Array::from_vec(v.clone(), &[v.len()]).unwrap();
        let ctx = two_threads_small_chunks(None);
        let ranks = [0, 500, 50_000, 99_999];
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let want: Vec<u64> = ranks.iter().map(|&r| sorted[r].key()).collect();
        let sample = sample_keys::<i64>(&a);
        assert_eq!(
            select_by_sample::<i64>(&ctx, &a, &ranks, &mut sample.clone()).unwrap(),
            SampleOutcome::Keys(want)
        );
    }
}
