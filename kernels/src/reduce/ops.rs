//! The built-in reductions as [`Fold`]s, their NumPy result dtypes and finishing rules, and
//! the whole-array and axis entry points.

use super::*;

/// A reduction the engine can run over a whole array or along an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    Var,
    Std,
    Argmin,
    Argmax,
    CountNonzero,
    Any,
    All,
    NanSum,
    NanMin,
    NanMax,
    NanMean,
    NanVar,
    NanStd,
    NanArgmin,
    NanArgmax,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 20] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Mean,
        ReduceOp::Var,
        ReduceOp::Std,
        ReduceOp::Argmin,
        ReduceOp::Argmax,
        ReduceOp::CountNonzero,
        ReduceOp::Any,
        ReduceOp::All,
        ReduceOp::NanSum,
        ReduceOp::NanMin,
        ReduceOp::NanMax,
        ReduceOp::NanMean,
        ReduceOp::NanVar,
        ReduceOp::NanStd,
        ReduceOp::NanArgmin,
        ReduceOp::NanArgmax,
    ];

    pub fn name(self) -> &'static str {
        use ReduceOp::*;
        match self {
            Sum => "sum",
            Prod => "prod",
            Min => "min",
            Max => "max",
            Mean => "mean",
            Var => "var",
            Std => "std",
            Argmin => "argmin",
            Argmax => "argmax",
            CountNonzero => "count-nonzero",
            Any => "any",
            All => "all",
            NanSum => "nansum",
            NanMin => "nanmin",
            NanMax => "nanmax",
            NanMean => "nanmean",
            NanVar => "nanvar",
            NanStd => "nanstd",
            NanArgmin => "nanargmin",
            NanArgmax => "nanargmax",
        }
    }

    pub fn parse(s: &str) -> Result<ReduceOp> {
        let s = if s == "count_nonzero" {
            "count-nonzero"
        } else {
            s
        };
        ReduceOp::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ReduceOp::ALL.iter().map(|o| o.name()).collect();
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown reduction {s:?} (known: {})", known.join(", ")),
                )
            })
    }

    /// True for the forms that skip NaNs.
    pub fn skips_nan(self) -> bool {
        self.name().starts_with("nan")
    }

    /// True for ops with no identity (empty input is an error).
    fn needs_elements(self) -> bool {
        use ReduceOp::*;
        matches!(
            self,
            Min | Max | NanMin | NanMax | Argmin | Argmax | NanArgmin | NanArgmax
        )
    }

    /// NumPy's name for the error on empty input.
    fn empty_error(self) -> String {
        use ReduceOp::*;
        match self {
            Min | NanMin => {
                "zero-size array to reduction operation minimum which has no identity".into()
            }
            Max | NanMax => {
                "zero-size array to reduction operation maximum which has no identity".into()
            }
            _ => format!("attempt to get {} of an empty sequence", self.name()),
        }
    }
}

/// NumPy's result dtype of `op` over elements of `kind` (native byte order).
pub fn result_kind(op: ReduceOp, kind: ScalarKind) -> ScalarKind {
    use ReduceOp::*;
    match op {
        Sum | Prod | NanSum => {
            if kind.is_unsigned_int() {
                ScalarKind::U64
            } else if kind.is_float() {
                kind
            } else {
                ScalarKind::I64
            }
        }
        Min | Max | NanMin | NanMax => kind,
        Mean | Var | Std | NanMean | NanVar | NanStd => {
            if kind.is_float() {
                kind
            } else {
                ScalarKind::F64
            }
        }
        Argmin | Argmax | NanArgmin | NanArgmax | CountNonzero => ScalarKind::I64,
        Any | All => ScalarKind::Bool,
    }
}

/// RuntimeWarnings collected while finishing results (each message once).
#[derive(Default)]
struct Warnings(Vec<String>);

impl Warnings {
    fn add(&mut self, msg: &str) {
        if !self.0.iter().any(|m| m == msg) {
            self.0.push(msg.to_string());
        }
    }
}

/// A fold that also knows how to turn its accumulator into NumPy's result value.
trait Finish<T: Copy>: Fold<T> {
    fn finish(&self, acc: &Self::Acc, warn: &mut Warnings) -> Result<Value>;
}

/// A float64 sum with Neumaier compensation across runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompSum {
    s: f64,
    c: f64,
}

impl CompSum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.s + x;
        // Once the sum is infinite (or NaN) the compensation means nothing, and computing it
        // would give inf - inf = NaN, which a later `combine` would add to a finite partial.
        if t.is_finite() {
            if self.s.abs() >= x.abs() {
                self.c += (self.s - t) + x;
            } else {
                self.c += (x - t) + self.s;
            }
        }
        self.s = t;
    }
    pub fn value(&self) -> f64 {
        if self.s.is_finite() {
            self.s + self.c
        } else {
            self.s
        }
    }
}

#[inline]
fn f<T: Num>(x: T) -> f64 {
    x.to_f64()
}

struct SumFloat {
    skip_nan: bool,
}
impl<T: Num> Fold<T> for SumFloat {
    type Acc = CompSum;
    fn identity(&self) -> CompSum {
        CompSum::default()
    }
    fn fold_one(&self, acc: &mut CompSum, x: T, _: u64) {
        if !(self.skip_nan && x.is_nan()) {
            acc.add(f(x));
        }
    }
    fn fold_run(&self, acc: &mut CompSum, run: &[T], _: u64) {
        let s = if self.skip_nan {
            pairwise_sum(run, &|x: T| if x.is_nan() { 0.0 } else { f(x) })
        } else {
            pairwise_sum(run, &|x: T| f(x))
        };
        acc.add(s);
    }
    fn combine(&self, a: &mut CompSum, b: &CompSum) {
        a.add(b.s);
        a.add(b.c);
    }
}
impl<T: Num> Finish<T> for SumFloat {
    fn finish(&self, acc: &CompSum, _: &mut Warnings) -> Result<Value> {
        Ok(Value::Float(round_to(acc.value(), T::KIND)))
    }
}

/// `v` rounded to the float kind `kind` (and widened back, exactly).
pub(super) fn round_to(v: f64, kind: ScalarKind) -> f64 {
    match kind {
        ScalarKind::F16 => half::f16::from_f64(v).to_f64(),
        ScalarKind::F32 => v as f32 as f64,
        _ => v,
    }
}

/// An integer sum or product (`$op` is `wrapping_add` or `wrapping_mul`): NumPy accumulates in
/// int64 (uint64 for unsigned inputs, the same bits) and wraps on overflow.
macro_rules! wrapping_int_fold {
    ($name:ident, $identity:expr, $op:ident) => {
        struct $name;
        impl<T: Num> Fold<T> for $name {
            type Acc = i64;
            fn identity(&self) -> i64 {
                $identity
            }
            fn fold_one(&self, acc: &mut i64, x: T, _: u64) {
                *acc = acc.$op(x.to_i128() as i64);
            }
            fn fold_run(&self, acc: &mut i64, run: &[T], _: u64) {
                *acc = run.iter().fold(*acc, |a, &x| a.$op(x.to_i128() as i64));
            }
            fn combine(&self, a: &mut i64, b: &i64) {
                *a = a.$op(*b);
            }
        }
        impl<T: Num> Finish<T> for $name {
            fn finish(&self, acc: &i64, _: &mut Warnings) -> Result<Value> {
                Ok(if T::KIND.is_unsigned_int() {
                    Value::UInt(*acc as u64)
                } else {
                    Value::Int(*acc)
                })
            }
        }
    };
}
wrapping_int_fold!(SumInt, 0, wrapping_add);
wrapping_int_fold!(ProdInt, 1, wrapping_mul);

struct ProdFloat;
impl<T: Num> Fold<T> for ProdFloat {
    type Acc = f64;
    fn identity(&self) -> f64 {
        1.0
    }
    fn fold_one(&self, acc: &mut f64, x: T, _: u64) {
        *acc *= f(x);
    }
    fn combine(&self, a: &mut f64, b: &f64) {
        *a *= *b;
    }
}
impl<T: Num> Finish<T> for ProdFloat {
    fn finish(&self, acc: &f64, _: &mut Warnings) -> Result<Value> {
        Ok(Value::Float(round_to(*acc, T::KIND)))
    }
}

/// True when `x` beats `b`: smaller for a minimum, larger for a maximum (false for NaNs).
#[inline(always)]
fn better<T: Num>(min: bool, x: T, b: T) -> bool {
    if min {
        x < b
    } else {
        x > b
    }
}

/// The best value so far (min or max), and whether a NaN was seen.
#[derive(Debug, Clone, Copy)]
pub struct Extreme<T> {
    has: bool,
    nan: bool,
    best: T,
}

struct MinMax {
    min: bool,
    skip_nan: bool,
}
impl MinMax {
    /// True when `x`, coming after `b`, takes its place: not worse. Of two equal values the
    /// later one wins, as in NumPy (`np.min([0.0, -0.0])` is `-0.0`); a NaN never does.
    #[inline(always)]
    fn replaces<T: Num>(&self, x: T, b: T) -> bool {
        if self.min {
            x <= b
        } else {
            x >= b
        }
    }
}
impl<T: Num> Fold<T> for MinMax {
    type Acc = Extreme<T>;
    fn identity(&self) -> Extreme<T> {
        Extreme {
            has: false,
            nan: false,
            best: T::default(),
        }
    }
    fn fold_one(&self, acc: &mut Extreme<T>, x: T, _: u64) {
        if x.is_nan() {
            acc.nan = true;
        } else if !acc.has || self.replaces(x, acc.best) {
            acc.best = x;
            acc.has = true;
        }
    }
    fn fold_run(&self, acc: &mut Extreme<T>, run: &[T], _: u64) {
        if run.is_empty() {
            return;
        }
        let (mut best, nan) = if self.min {
            run_extreme::<T, Lower>(run)
        } else {
            run_extreme::<T, Higher>(run)
        };
        // The lanes keep no positions, so of equal extremes they may not have kept the last;
        // for floats only a zero's sign can tell (0.0 == -0.0), so look it up: the last zero.
        if T::KIND.is_float() && best.to_f64() == 0.0 {
            if let Some(&z) = run.iter().rev().find(|x| x.to_f64() == 0.0) {
                best = z;
            }
        }
        acc.nan |= nan;
        if !best.is_nan() {
            self.fold_one(acc, best, 0);
        }
    }
    fn combine(&self, a: &mut Extreme<T>, b: &Extreme<T>) {
        a.nan |= b.nan;
        if b.has && (!a.has || self.replaces(b.best, a.best)) {
            a.best = b.best;
            a.has = true;
        }
    }
}
/// Which extreme [`run_extreme`] finds: `takes(x, b)` when `x`, coming after `b`, is not
/// worse (or `b` is a NaN, which any value replaces).
trait Direction {
    fn takes<T: Num>(x: T, b: T) -> bool;
}
struct Lower;
struct Higher;
impl Direction for Lower {
    #[inline(always)]
    fn takes<T: Num>(x: T, b: T) -> bool {
        (x <= b) | b.is_nan()
    }
}
impl Direction for Higher {
    #[inline(always)]
    fn takes<T: Num>(x: T, b: T) -> bool {
        (x >= b) | b.is_nan()
    }
}

/// The extreme of a non-empty `run` ignoring NaNs (NaN only when all are; of equal values
/// not necessarily the last), and whether it holds a NaN. Eight independent lanes instead of
/// one compare-and-select chain, which ran at half the speed of a sum (`reduce max` 0.30 s vs
/// `sum` 0.16 s per cached 2 GiB); a long run is read as [`STREAMS`] interleaved streams with
/// lanes of their own, as the sums are, since the scan is bound by memory bandwidth (see
/// [`interleaved_blocks`]). Compiled for AVX2 too, picked at run time.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn run_extreme<T: Num, D: Direction>(run: &[T]) -> (T, bool) {
    const BLOCK: usize = 128;
    let mut lanes = [Lanes::new(run[0]); STREAMS];
    let part = interleaved_part(run.len(), BLOCK);
    for start in (0..part).step_by(BLOCK) {
        for (stream, lanes) in lanes.iter_mut().enumerate() {
            let first = stream * part + start;
            lanes.fold::<D>(&run[first..first + BLOCK]);
        }
    }
    let rest = lanes[0].fold::<D>(&run[STREAMS * part..]);
    let mut b = lanes[0].best[0];
    let mut any_nan = false;
    for x in lanes
        .iter()
        .flat_map(|l| l.best)
        .chain(rest.iter().copied())
    {
        if D::takes(x, b) {
            b = x;
        }
    }
    for l in lanes
        .iter()
        .flat_map(|l| l.nan)
        .chain(rest.iter().map(|x| x.is_nan()))
    {
        any_nan |= l;
    }
    (b, any_nan)
}

/// The eight lanes of [`run_extreme`]: lane `l` sees values `l`, `l + 8`, ...
#[derive(Clone, Copy)]
struct Lanes<T> {
    best: [T; 8],
    nan: [bool; 8],
}

impl<T: Num> Lanes<T> {
    fn new(start: T) -> Self {
        Lanes {
            best: [start; 8],
            nan: [false; 8],
        }
    }

    /// Folds whole groups of 8 of `xs` into the lanes; returns the values left over. Inlined
    /// into the caller, so it is compiled with the caller's target features.
    #[inline(always)]
    fn fold<'a, D: Direction>(&mut self, xs: &'a [T]) -> &'a [T] {
        let mut groups = xs.chunks_exact(8);
        for c in &mut groups {
            for ((best, nan), &x) in self.best.iter_mut().zip(&mut self.nan).zip(c) {
                *best = if D::takes(x, *best) { x } else { *best };
                *nan |= x.is_nan();
            }
        }
        groups.remainder()
    }
}

impl<T: Num> Finish<T> for MinMax {
    fn finish(&self, acc: &Extreme<T>, warn: &mut Warnings) -> Result<Value> {
        if acc.nan && !self.skip_nan {
            return Ok(Value::Float(f64::NAN));
        }
        if !acc.has {
            // Only reachable for all-NaN slices of the NaN-skipping forms.
            warn.add("All-NaN slice encountered");
            return Ok(Value::Float(f64::NAN));
        }
        Ok(scalar_value(acc.best))
    }
}

/// A value of the input's own kind as a [`Value`].
fn scalar_value<T: Num>(x: T) -> Value {
    let k = T::KIND;
    if k.is_float() {
        Value::Float(x.to_f64())
    } else if k.is_bool() {
        Value::Bool(x.is_true())
    } else if k.is_unsigned_int() {
        Value::UInt(x.to_i128() as u64)
    } else {
        Value::Int(x.to_i128() as i64)
    }
}

/// Maps a memory position of a whole-array walk to NumPy's flat C-order index.
#[derive(Debug, Clone)]
pub enum IndexMap {
    Identity,
    /// Position in Fortran order over `shape` → C-order index (`c_strides` of `shape`).
    FortranToC {
        shape: Vec<usize>,
        c_strides: Vec<usize>,
    },
}

impl IndexMap {
    fn fortran(shape: &[usize]) -> IndexMap {
        IndexMap::FortranToC {
            shape: shape.to_vec(),
            c_strides: outcore_engine::strides_for(shape, Order::C),
        }
    }

    #[inline]
    fn map(&self, p: u64) -> u64 {
        match self {
            IndexMap::Identity => p,
            IndexMap::FortranToC { shape, c_strides } => {
                let mut rest = p as usize;
                let mut c = 0usize;
                for (&d, &s) in shape.iter().zip(c_strides) {
                    c += (rest % d) * s;
                    rest /= d;
                }
                c as u64
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ArgAcc<T> {
    has: bool,
    /// A value that is not NaN was seen (the NaN-skipping forms fail without one).
    real: bool,
    best: T,
    idx: u64,
    /// Index of the first NaN (u64::MAX when none).
    nan_idx: u64,
}

struct Arg {
    min: bool,
    skip_nan: bool,
    map: IndexMap,
}
impl Arg {
    #[inline(always)]
    fn better<T: Num>(&self, x: T, b: T) -> bool {
        better(self.min, x, b)
    }

    /// Values per block of the arg-extreme scan.
    const BLOCK: usize = 2048;

    /// Finds where the extreme (`acc.best`) of the pending block, the `Arg::BLOCK` values at
    /// `run[start..]`, first occurs.
    fn resolve<T: Num>(acc: &mut ArgAcc<T>, pending: &mut Option<usize>, run: &[T], first: u64) {
        if let Some(start) = pending.take() {
            let block = &run[start..run.len().min(start + Self::BLOCK)];
            let k = block.iter().position(|&x| x == acc.best).unwrap_or(0);
            acc.best = block[k];
            acc.idx = first + (start + k) as u64;
        }
    }
}
impl<T: Num> Fold<T> for Arg {
    type Acc = ArgAcc<T>;
    fn identity(&self) -> ArgAcc<T> {
        ArgAcc {
            has: false,
            real: false,
            best: T::default(),
            idx: 0,
            nan_idx: u64::MAX,
        }
    }
    fn fold_one(&self, acc: &mut ArgAcc<T>, x: T, index: u64) {
        let x = if x.is_nan() {
            if !self.skip_nan {
                acc.nan_idx = acc.nan_idx.min(self.map.map(index));
                return;
            }
            // np.nanargmin replaces NaNs by +inf (nanargmax: -inf), so a NaN before an equal
            // infinity is its answer.
            T::from_f64(if self.min {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            })
        } else {
            acc.real = true;
            x
        };
        if !acc.has || self.better(x, acc.best) {
            acc.best = x;
            acc.idx = self.map.map(index);
            acc.has = true;
        } else if x == acc.best && !matches!(self.map, IndexMap::Identity) {
            acc.idx = acc.idx.min(self.map.map(index));
        }
    }
    fn fold_run(&self, acc: &mut ArgAcc<T>, run: &[T], first: u64) {
        if !matches!(self.map, IndexMap::Identity) {
            for (k, &x) in run.iter().enumerate() {
                self.fold_one(acc, x, first + k as u64);
            }
            return;
        }
        // Positions are flat indices here, so the first occurrence is the earliest position:
        // per block, the lanes find the block's extreme; a block that beats the best so far
        // becomes the pending one, whose extreme is taken at once and its position searched
        // for (one block again) only when a NaN path or the run's end needs it. Searching each
        // winning block made a rising run, where every block wins, 2.5x slower than `max`.
        // (Reading the run as interleaved streams, as `max` does, was slower here: 0.10-0.14
        // vs 0.09 s per cached 2 GiB.)
        let mut pending = None;
        let mut start = 0;
        for block in run.chunks(Self::BLOCK) {
            let base = first + start as u64;
            let (best, nan) = if self.min {
                run_extreme::<T, Lower>(block)
            } else {
                run_extreme::<T, Higher>(block)
            };
            if nan && !self.skip_nan {
                // The first NaN of this run is its answer unless an earlier one exists.
                Self::resolve(acc, &mut pending, run, first);
                let k = block.iter().position(|x| x.is_nan()).unwrap_or(0);
                acc.nan_idx = acc.nan_idx.min(base + k as u64);
                return;
            }
            let worst = if self.min {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
            if nan && (best.is_nan() || f(best) == worst) {
                // NaNs count as the worst infinity here (see `fold_one`): element by element.
                Self::resolve(acc, &mut pending, run, first);
                for (k, &x) in block.iter().enumerate() {
                    self.fold_one(acc, x, base + k as u64);
                }
            } else if !acc.has || self.better(best, acc.best) {
                acc.best = best;
                acc.has = true;
                acc.real = true;
                pending = Some(start);
            }
            start += block.len();
        }
        Self::resolve(acc, &mut pending, run, first);
    }
    fn combine(&self, a: &mut ArgAcc<T>, b: &ArgAcc<T>) {
        a.nan_idx = a.nan_idx.min(b.nan_idx);
        a.real |= b.real;
        if b.has && (!a.has || self.better(b.best, a.best) || (b.best == a.best && b.idx < a.idx)) {
            a.best = b.best;
            a.idx = b.idx;
            a.has = true;
        }
    }
}
impl<T: Num> Finish<T> for Arg {
    fn finish(&self, acc: &ArgAcc<T>, _: &mut Warnings) -> Result<Value> {
        if acc.nan_idx != u64::MAX {
            return Ok(Value::Int(acc.nan_idx as i64));
        }
        if !acc.real {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "All-NaN slice encountered",
            ));
        }
        Ok(Value::Int(acc.idx as i64))
    }
}

/// Count, mean and sum of squared deviations (Chan et al.'s parallel form).
#[derive(Debug, Clone, Copy, Default)]
pub struct Moments {
    pub n: f64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub fn merge(&mut self, b: &Moments) {
        if b.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *b;
            return;
        }
        let n = self.n + b.n;
        let d = b.mean - self.mean;
        self.mean += d * (b.n / n);
        self.m2 += b.m2 + d * d * (self.n * b.n / n);
        self.n = n;
    }
}

/// Block length for two-pass moments (stays in L1).
const MOMENT_BLOCK: usize = 2048;

/// Moments of values taken one at a time (reductions along a slower axis see each output's
/// values one by one), about a fixed shift `k`: the first value. Welford's update on the
/// shifted values keeps the running mean near zero, so its rounding does not grow with the
/// data's offset (unshifted, values around 1e14 with variance 0.2 came out 3e-8 off).
#[derive(Debug, Clone, Copy, Default)]
pub struct VarAcc {
    k: f64,
    n: f64,
    /// Mean of `x - k`.
    mean: f64,
    m2: f64,
    /// Plain sum of the values: where it overflows, NumPy's mean is infinite and so is its
    /// variance, however close the values are.
    sum: f64,
}

impl VarAcc {
    fn push(&mut self, x: f64) {
        if self.n == 0.0 {
            self.k = if x.is_finite() { x } else { 0.0 };
        }
        self.n += 1.0;
        self.sum += x;
        if !self.m2.is_finite() {
            // Stays inf (or NaN); an infinite x makes it NaN.
            if !x.is_finite() {
                self.m2 = f64::NAN;
            }
            return;
        }
        let y = x - self.k;
        if !y.is_finite() {
            // An infinite value: NaN, as NumPy's x - mean. A finite value this far from the
            // others: some squared deviation from the mean overflows in NumPy too: inf.
            self.m2 = if x.is_finite() {
                f64::INFINITY
            } else {
                f64::NAN
            };
            return;
        }
        let d = y - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (y - self.mean);
    }

    /// Two-pass moments of a block that fits in cache (NaNs skipped when asked), about its
    /// first value: blocks keep their mean exact to the spread's rounding, not the offset's
    /// (about their own rounded means, merged blocks of values near 1e10 drifted by 1e-8).
    fn of_block<T: Num>(xs: &[T], skip_nan: bool) -> VarAcc {
        let keep = |x: &T| !(skip_nan && x.is_nan());
        let Some(first) = xs.iter().find(|x| keep(x)) else {
            return VarAcc::default();
        };
        let n = if skip_nan {
            xs.iter().filter(|x| keep(x)).count()
        } else {
            xs.len()
        } as f64;
        let k = Some(f(*first)).filter(|k| k.is_finite()).unwrap_or(0.0);
        // Separate loops per form: a NaN test per value made `reduce var` ~7% slower.
        let (mean, mut m2) = if skip_nan {
            let dev = |x: T| if x.is_nan() { 0.0 } else { f(x) - k };
            let mean = pairwise_sum(xs, &dev) / n;
            let sq = |x: T| {
                if x.is_nan() {
                    0.0
                } else {
                    (dev(x) - mean) * (dev(x) - mean)
                }
            };
            (mean, pairwise_sum(xs, &sq))
        } else {
            let mean = pairwise_sum(xs, &|x: T| f(x) - k) / n;
            (
                mean,
                pairwise_sum(xs, &|x: T| (f(x) - k - mean) * (f(x) - k - mean)),
            )
        };
        // Only tells whether NumPy's sum overflows: the block's mean times its count does.
        let mut sum = (k + mean) * n;
        if !m2.is_finite() {
            // As NumPy: NaN when an input is infinite or NaN, else (deviations overflow) inf,
            // or NaN again where NumPy's own pairwise sum (NaNs as 0 in the nan-forms)
            // overflows both ways, so that its mean is NaN.
            let finite = xs.iter().filter(|x| keep(x)).all(|x| f(*x).is_finite());
            if finite {
                sum = pairwise_sum(xs, &|x: T| if keep(&x) { f(x) } else { 0.0 });
            }
            m2 = if finite && !sum.is_nan() {
                f64::INFINITY
            } else {
                f64::NAN
            };
        }
        VarAcc {
            k,
            n,
            mean,
            m2,
            sum,
        }
    }

    fn merge(&mut self, b: &VarAcc) {
        if b.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *b;
            return;
        }
        let n = self.n + b.n;
        self.sum += b.sum;
        let d = (b.k - self.k) + (b.mean - self.mean);
        if !(d.is_finite() && self.m2.is_finite() && b.m2.is_finite()) {
            // inf, unless a NaN (an infinite input) is among them.
            self.m2 += b.m2 + d * d + f64::INFINITY;
            self.n = n;
            return;
        }
        self.mean += d * (b.n / n);
        self.m2 += b.m2 + d * d * (self.n * b.n / n);
        self.n = n;
    }
}

struct VarFold {
    skip_nan: bool,
    ddof: f64,
    std: bool,
}
impl<T: Num> Fold<T> for VarFold {
    type Acc = VarAcc;
    fn identity(&self) -> VarAcc {
        VarAcc::default()
    }
    fn fold_one(&self, acc: &mut VarAcc, x: T, _: u64) {
        if !(self.skip_nan && x.is_nan()) {
            acc.push(f(x));
        }
    }
    fn fold_run(&self, acc: &mut VarAcc, run: &[T], _: u64) {
        for block in run.chunks(MOMENT_BLOCK) {
            acc.merge(&VarAcc::of_block(block, self.skip_nan));
        }
    }
    fn combine(&self, a: &mut VarAcc, b: &VarAcc) {
        a.merge(b);
    }
}
impl<T: Num> Finish<T> for VarFold {
    fn finish(&self, acc: &VarAcc, warn: &mut Warnings) -> Result<Value> {
        let dof = (acc.n - self.ddof).max(0.0);
        if dof <= 0.0 {
            warn.add("Degrees of freedom <= 0 for slice");
        }
        let kind = result_float(T::KIND);
        // NumPy sums the squared deviations in the input's float type: where that sum
        // overflows (float16 deviations beyond ~255), its variance is inf; so is ours. It
        // sums the values (for the mean) in that type too, and a float16 sum beyond 65504
        // makes the variance inf as well (NumPy's float16 sums are rounded once, so this is
        // decided by the exact sum; float32 overflow depends on NumPy's order of additions,
        // and there ours stay accurate).
        let sum = if kind == ScalarKind::F16 {
            round_to(acc.sum, kind)
        } else {
            acc.sum
        };
        let m2 = if acc.n == 0.0 {
            f64::NAN
        } else if !acc.m2.is_nan() && (round_to(acc.m2, kind).is_infinite() || sum.is_infinite()) {
            f64::INFINITY
        } else {
            acc.m2
        };
        // np.var divides by max(n - ddof, 0) (so x/0 = inf); np.nanvar gives NaN there.
        let var = if self.skip_nan && dof <= 0.0 {
            f64::NAN
        } else {
            m2 / dof
        };
        let v = if self.std { var.sqrt() } else { var };
        Ok(Value::Float(round_to(v, kind)))
    }
}

fn result_float(k: ScalarKind) -> ScalarKind {
    if k.is_float() {
        k
    } else {
        ScalarKind::F64
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct MeanAcc {
    sum: CompSum,
    n: u64,
}

struct MeanFold {
    skip_nan: bool,
}
impl<T: Num> Fold<T> for MeanFold {
    type Acc = MeanAcc;
    fn identity(&self) -> MeanAcc {
        MeanAcc::default()
    }
    fn fold_one(&self, acc: &mut MeanAcc, x: T, _: u64) {
        if !(self.skip_nan && x.is_nan()) {
            acc.sum.add(f(x));
            acc.n += 1;
        }
    }
    fn fold_run(&self, acc: &mut MeanAcc, run: &[T], _: u64) {
        if self.skip_nan {
            acc.sum.add(pairwise_sum(run, &|x: T| {
                if x.is_nan() {
                    0.0
                } else {
                    f(x)
                }
            }));
            acc.n += run.iter().filter(|x| !x.is_nan()).count() as u64;
        } else {
            acc.sum.add(pairwise_sum(run, &|x: T| f(x)));
            acc.n += run.len() as u64;
        }
    }
    fn combine(&self, a: &mut MeanAcc, b: &MeanAcc) {
        a.sum.add(b.sum.s);
        a.sum.add(b.sum.c);
        a.n += b.n;
    }
}
impl<T: Num> Finish<T> for MeanFold {
    fn finish(&self, acc: &MeanAcc, warn: &mut Warnings) -> Result<Value> {
        if acc.n == 0 {
            warn.add("Mean of empty slice");
            return Ok(Value::Float(f64::NAN));
        }
        let kind = result_float(T::KIND);
        let (sum, n) = (acc.sum.value(), acc.n as f64);
        if self.skip_nan && kind == ScalarKind::F16 {
            // np.nanmean divides np.sum in the input's float type by the count; a float16
            // sum is rounded to float16 first (inf beyond 65504). np.mean sums float16 in
            // float32, so its mean stays finite.
            return Ok(Value::Float(round_to(round_to(sum, kind) / n, kind)));
        }
        Ok(Value::Float(round_to(sum / n, kind)))
    }
}

struct CountFold;
impl<T: Num> Fold<T> for CountFold {
    type Acc = u64;
    fn identity(&self) -> u64 {
        0
    }
    fn fold_one(&self, acc: &mut u64, x: T, _: u64) {
        *acc += x.is_true() as u64;
    }
    fn fold_run(&self, acc: &mut u64, run: &[T], _: u64) {
        *acc += run.iter().filter(|x| x.is_true()).count() as u64;
    }
    fn combine(&self, a: &mut u64, b: &u64) {
        *a += *b;
    }
}
impl<T: Num> Finish<T> for CountFold {
    fn finish(&self, acc: &u64, _: &mut Warnings) -> Result<Value> {
        Ok(Value::Int(*acc as i64))
    }
}

struct AnyAll {
    any: bool,
}
impl<T: Num> Fold<T> for AnyAll {
    type Acc = bool;
    fn identity(&self) -> bool {
        !self.any
    }
    fn fold_one(&self, acc: &mut bool, x: T, _: u64) {
        if self.any {
            *acc |= x.is_true();
        } else {
            *acc &= x.is_true();
        }
    }
    fn fold_run(&self, acc: &mut bool, run: &[T], _: u64) {
        if self.any {
            *acc |= run.iter().any(|x| x.is_true());
        } else {
            *acc &= run.iter().all(|x| x.is_true());
        }
    }
    fn combine(&self, a: &mut bool, b: &bool) {
        if self.any {
            *a |= *b;
        } else {
            *a &= *b;
        }
    }
}
impl<T: Num> Finish<T> for AnyAll {
    fn finish(&self, acc: &bool, _: &mut Warnings) -> Result<Value> {
        Ok(Value::Bool(*acc))
    }
}

/// Writes `v` as one native element of `kind`.
pub fn encode(v: Value, kind: ScalarKind, out: &mut [u8]) {
    use ScalarKind::*;
    let (i, u, x) = match v {
        Value::Bool(b) => (b as i64, b as u64, b as u8 as f64),
        Value::Int(i) => (i, i as u64, i as f64),
        Value::UInt(u) => (u as i64, u, u as f64),
        Value::Float(f) => (f as i64, f as u64, f),
    };
    match kind {
        Bool => out[0] = (x != 0.0) as u8,
        I8 => out.copy_from_slice(&(i as i8).to_ne_bytes()),
        I16 => out.copy_from_slice(&(i as i16).to_ne_bytes()),
        I32 => out.copy_from_slice(&(i as i32).to_ne_bytes()),
        I64 => out.copy_from_slice(&i.to_ne_bytes()),
        U8 => out.copy_from_slice(&(u as u8).to_ne_bytes()),
        U16 => out.copy_from_slice(&(u as u16).to_ne_bytes()),
        U32 => out.copy_from_slice(&(u as u32).to_ne_bytes()),
        U64 => out.copy_from_slice(&u.to_ne_bytes()),
        F16 => out.copy_from_slice(&half::f16::from_f64(x).to_ne_bytes()),
        F32 => out.copy_from_slice(&(x as f32).to_ne_bytes()),
        F64 | C64 | C128 => out.copy_from_slice(&x.to_ne_bytes()),
    }
}

/// Reads one native element of `kind` as a [`Value`].
pub fn decode(bytes: &[u8], kind: ScalarKind) -> Value {
    with_scalar_type!(kind, T => {
        let x: T = bytemuck::pod_read_unaligned(&bytes[..kind.size()]);
        scalar_value(x)
    }, complex => Value::Float(f64::NAN))
}

/// Folds with `fold` and finishes every result into native bytes of `out_kind`.
fn run<T: Num, F: Finish<T>>(
    ctx: &Context,
    array: &Array,
    view: AxisView,
    fold: &F,
    out_kind: ScalarKind,
) -> Result<(Vec<u8>, Vec<String>)> {
    let accs = fold_array::<T, F>(ctx, array, view, fold)?;
    let size = out_kind.size();
    let mut bytes = vec![0u8; accs.len() * size];
    let mut warn = Warnings::default();
    for (acc, out) in accs.iter().zip(bytes.chunks_mut(size)) {
        let v = fold
            .finish(acc, &mut warn)
            .map_err(|e| e.with_path(array.path()))?;
        encode(v, out_kind, out);
    }
    Ok((bytes, warn.0))
}

/// Runs `op` over the view; returns the result kind, the results (native bytes, input memory
/// order) and NumPy's warnings.
pub(super) fn reduce_view(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    view: AxisView,
    ddof: f64,
    map: IndexMap,
) -> Result<(ScalarKind, Vec<u8>, Vec<String>)> {
    use ReduceOp::*;
    let kind = array
        .dtype()
        .require_real(&format!("reduce {}", op.name()))
        .map_err(|e| e.with_path(array.path()))?;
    // As NumPy: an empty reduced axis is an error even when the result has no elements.
    if view.n == 0 && op.needs_elements() {
        return Err(
            Error::new(ErrorKind::InvalidArgument, op.empty_error()).with_path(array.path())
        );
    }
    let out = result_kind(op, kind);
    // NumPy's nan-functions hand integer and bool arrays to the plain ones (nanvar with
    // ddof >= n is then x/0 = inf, not NaN).
    let skip = op.skips_nan() && kind.is_float();
    let (bytes, warnings) = with_scalar_type!(kind, T => {
        match op {
            Sum | NanSum if kind.is_float() => run::<T, _>(ctx, array, view, &SumFloat { skip_nan: skip }, out),
            Sum | NanSum => run::<T, _>(ctx, array, view, &SumInt, out),
            Prod if kind.is_float() => run::<T, _>(ctx, array, view, &ProdFloat, out),
            Prod => run::<T, _>(ctx, array, view, &ProdInt, out),
            Min | NanMin => run::<T, _>(ctx, array, view, &MinMax { min: true, skip_nan: skip }, out),
            Max | NanMax => run::<T, _>(ctx, array, view, &MinMax { min: false, skip_nan: skip }, out),
            Argmin | NanArgmin => run::<T, _>(ctx, array, view, &Arg { min: true, skip_nan: skip, map }, out),
            Argmax | NanArgmax => run::<T, _>(ctx, array, view, &Arg { min: false, skip_nan: skip, map }, out),
            Mean | NanMean => run::<T, _>(ctx, array, view, &MeanFold { skip_nan: skip }, out),
            Var | NanVar => run::<T, _>(ctx, array, view, &VarFold { skip_nan: skip, ddof, std: false }, out),
            Std | NanStd => run::<T, _>(ctx, array, view, &VarFold { skip_nan: skip, ddof, std: true }, out),
            CountNonzero => run::<T, _>(ctx, array, view, &CountFold, out),
            Any => run::<T, _>(ctx, array, view, &AnyAll { any: true }, out),
            All => run::<T, _>(ctx, array, view, &AnyAll { any: false }, out),
        }
    }, complex => Err(Error::new(ErrorKind::UnsupportedDType, "complex")))?;
    Ok((out, bytes, warnings))
}

/// Reduces the whole array with `op` (`ddof` 0).
pub fn reduce_all(ctx: &Context, array: &Array, op: ReduceOp) -> Result<Reduced> {
    reduce_all_with(ctx, array, op, 0.0)
}

/// Reduces the whole array with `op`; `ddof` is the delta degrees of freedom of var/std.
pub fn reduce_all_with(ctx: &Context, array: &Array, op: ReduceOp, ddof: f64) -> Result<Reduced> {
    let map = if array.order() == Order::F && !array.layout().is_c_contiguous() {
        IndexMap::fortran(array.shape())
    } else {
        IndexMap::Identity
    };
    let (kind, bytes, warnings) =
        reduce_view(ctx, array, op, AxisView::whole(array.len()), ddof, map)?;
    Ok(Reduced {
        op: op.name(),
        dtype: DType::native(kind),
        value: decode(&bytes, kind),
        warnings,
    })
}

/// The result of a reduction along one axis.
#[derive(Debug, Clone)]
pub struct AxisReduced {
    pub op: &'static str,
    /// Result dtype (native), shape (the input's without the axis) and memory order (the
    /// input's, as NumPy's reductions keep it).
    pub layout: Layout,
    /// The results as native bytes in `layout`'s memory order.
    pub data: Vec<u8>,
    pub warnings: Vec<String>,
}

impl AxisReduced {
    /// Memory index (in the result's order) of every element, in C (logical) order.
    fn memory_indices_c_order(&self) -> impl Iterator<Item = usize> + '_ {
        let strides = self.layout.strides();
        let shape = self.layout.shape();
        (0..self.layout.len()).map(move |c| {
            let mut rest = c;
            let mut m = 0;
            for k in (0..shape.len()).rev() {
                m += (rest % shape[k]) * strides[k];
                rest /= shape[k];
            }
            m
        })
    }

    /// The results in C (logical) order.
    pub fn values_c_order(&self) -> Vec<Value> {
        let kind = self.layout.dtype().scalar_kind().unwrap_or(ScalarKind::F64);
        let size = kind.size();
        self.memory_indices_c_order()
            .map(|m| decode(&self.data[m * size..(m + 1) * size], kind))
            .collect()
    }

    /// The C-order layout and bytes of the result (borrowed when it is C order already).
    fn c_order(&self) -> Result<(Layout, std::borrow::Cow<'_, [u8]>)> {
        let layout = Layout::new(
            self.layout.dtype().clone(),
            self.layout.shape().to_vec(),
            Order::C,
        )?;
        if self.layout.order() == Order::C || self.layout.shape().len() < 2 {
            return Ok((layout, std::borrow::Cow::Borrowed(&self.data)));
        }
        let size = self.layout.itemsize();
        let mut data = Vec::with_capacity(self.data.len());
        for m in self.memory_indices_c_order() {
            data.extend_from_slice(&self.data[m * size..(m + 1) * size]);
        }
        Ok((layout, std::borrow::Cow::Owned(data)))
    }

    /// The same result laid out in C order (outputs are C order, spec §5).
    pub fn into_c_order(self) -> Result<AxisReduced> {
        let (layout, data) = self.c_order()?;
        let data = data.into_owned();
        Ok(AxisReduced {
            layout,
            data,
            ..self
        })
    }

    /// Writes the result as a new `.npy` file (atomically).
    /// The file is C order whatever the result's memory order (spec §5).
    pub fn write_npy(&self, dest: impl AsRef<std::path::Path>, opts: &OutputOptions) -> Result<()> {
        let (layout, data) = self.c_order()?;
        let mut out = OutputFile::create_npy(dest, &layout, opts)?;
        out.data_mut().copy_from_slice(&data);
        out.commit()
    }
}

/// Reduces `array` along `axis` (negative counts from the end, as in NumPy).
pub fn reduce_axis(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    axis: i64,
    ddof: f64,
) -> Result<AxisReduced> {
    let ndim = array.shape().len();
    let k = if axis < 0 { axis + ndim as i64 } else { axis };
    if k < 0 || k >= ndim as i64 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("axis {axis} is out of bounds for array of dimension {ndim}"),
        )
        .with_path(array.path()));
    }
    let k = k as usize;
    let view = AxisView::along(array.shape(), array.order(), k);
    let (kind, data, warnings) = reduce_view(ctx, array, op, view, ddof, IndexMap::Identity)?;
    let mut shape = array.shape().to_vec();
    shape.remove(k);
    let layout = Layout::new(DType::native(kind), shape, array.order())?;
    Ok(AxisReduced {
        op: op.name(),
        layout,
        data,
        warnings,
    })
}

/// [`reduce_axis`] written to a new C-order `.npy` file `dest` (returned in C order). The
/// output is created (and its space allocated) before any work, so a full disk or an existing
/// destination is an error up front rather than after the whole reduction.
pub fn reduce_axis_to_file(
    ctx: &Context,
    array: &Array,
    op: ReduceOp,
    axis: i64,
    ddof: f64,
    dest: impl AsRef<std::path::Path>,
    opts: &OutputOptions,
) -> Result<AxisReduced> {
    let ndim = array.shape().len() as i64;
    let k = if axis < 0 { axis + ndim } else { axis };
    let predicted = match array.dtype().scalar_kind() {
        Some(kind) if (0..ndim).contains(&k) => {
            let mut shape = array.shape().to_vec();
            shape.remove(k as usize);
            Some(Layout::new(
                DType::native(result_kind(op, kind)),
                shape,
                Order::C,
            )?)
        }
        _ => None,
    };
    let Some(layout) = predicted else {
        // Refused by reduce_axis with its own message (bad axis, unsupported dtype).
        let r = reduce_axis(ctx, array, op, axis, ddof)?.into_c_order()?;
        r.write_npy(dest, opts)?;
        return Ok(r);
    };
    let mut out = OutputFile::create_npy(dest, &layout, opts)?;
    let r = reduce_axis(ctx, array, op, axis, ddof)?.into_c_order()?;
    if r.layout.dtype() != layout.dtype() || r.layout.shape() != layout.shape() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "internal error: {} result predicted as {:?} {:?}, got {:?} {:?}",
                r.op,
                layout.dtype(),
                layout.shape(),
                r.layout.dtype(),
                r.layout.shape()
            ),
        ));
    }
    out.data_mut().copy_from_slice(&r.data);
    out.commit()?;
    Ok(r)
}

/// Folds the whole array (elements of type `T`, either byte order) with a user fold:
/// `identity()`, `fold(acc, x) -> acc`, `combine(a, b) -> a`, run in parallel over chunks.
///
/// ```no_run
/// # use outcore_engine::{Array, Context};
/// # fn main() -> outcore_engine::Result<()> {
/// let ctx = Context::new()?;
/// let a = Array::open("x.npy")?;
/// let positives = outcore_kernels::reduce::fold_all::<f64, _, _, _, _>(
///     &ctx, &a, || 0u64, |n, x| n + (x > 0.0) as u64, |a, b| a + b)?;
/// # Ok(()) }
/// ```
pub fn fold_all<T, A, I, F, C>(
    ctx: &Context,
    array: &Array,
    identity: I,
    fold: F,
    combine: C,
) -> Result<A>
where
    T: outcore_engine::Element,
    A: Clone + Send + Sync + 'static,
    I: Fn() -> A + Sync,
    F: Fn(A, T) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    let f = FnFold {
        identity,
        fold,
        combine,
    };
    let mut accs = fold_array::<T, _>(ctx, array, AxisView::whole(array.len()), &f)?;
    Ok(accs.pop().unwrap_or_else(|| (f.identity)()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Few distinct values for test runs: many ties, zeros of both signs, NaNs, infinities.
    const POOL: [f64; 8] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f64::NAN,
        f64::INFINITY,
        -f64::INFINITY,
    ];

    /// The one-chain scan `run_extreme` replaced: the later of equal values wins, NaNs skipped.
    fn sequential<T: Num>(run: &[T], min: bool) -> (Option<T>, bool) {
        let rule = MinMax {
            min,
            skip_nan: true,
        };
        let mut best: Option<T> = None;
        for &x in run {
            if !x.is_nan() && best.is_none_or(|b| rule.replaces(x, b)) {
                best = Some(x);
            }
        }
        (best, run.iter().any(|x| x.is_nan()))
    }

    fn folded<T: Num>(run: &[T], min: bool) -> (Option<T>, bool) {
        let rule = MinMax {
            min,
            skip_nan: true,
        };
        let mut acc = Fold::<T>::identity(&rule);
        rule.fold_run(&mut acc, run, 0);
        (acc.has.then_some(acc.best), acc.nan)
    }

    /// Checks the block-wise `fold_run` of every argmin/argmax form against folding `run`
    /// element by element.
    fn assert_arg_fold_is_elementwise(run: &[f64]) {
        for (min, skip_nan) in [(true, false), (false, false), (true, true), (false, true)] {
            let arg = Arg {
                min,
                skip_nan,
                map: IndexMap::Identity,
            };
            let mut want = Fold::<f64>::identity(&arg);
            for (k, &x) in run.iter().enumerate() {
                arg.fold_one(&mut want, x, 10 + k as u64);
            }
            let mut got = Fold::<f64>::identity(&arg);
            arg.fold_run(&mut got, run, 10);
            let mut warn = Warnings::default();
            let (want, got) = (arg.finish(&want, &mut warn), arg.finish(&got, &mut warn));
            let shown = if run.len() <= 100 {
                format!("{run:?}")
            } else {
                format!("{} values", run.len())
            };
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{shown} min={min} skip_nan={skip_nan}"
            );
        }
    }

    #[test]
    fn blockwise_arg_extremes_equal_the_element_by_element_fold() {
        let mut next = crate::testing::xorshift();
        for len in [1, 7, 100, 2047, 2048, 2049, 5000] {
            for trial in 0..40 {
                let distinct = 2 + trial % 7;
                let nan_free = trial % 3 == 0;
                let run: Vec<f64> = (0..len)
                    .map(|_| POOL[(next() % distinct as u64) as usize])
                    .map(|x: f64| if nan_free && x.is_nan() { 2.0 } else { x })
                    .collect();
                assert_arg_fold_is_elementwise(&run);
            }
        }
    }

    #[test]
    fn long_arg_extremes_equal_the_element_by_element_fold() {
        // Runs of many blocks with ties across them (few distinct values) and a few extremes,
        // infinities and NaNs at random positions, so that the answer lies in any block.
        let mut next = crate::testing::xorshift();
        let len = 67 * Arg::BLOCK + 5;
        for trial in 0..27u64 {
            let mut run: Vec<f64> = (0..len).map(|_| (next() % 4) as f64).collect();
            let specials = [9.0, -9.0, f64::INFINITY, f64::NEG_INFINITY];
            for k in 0..trial % 3 {
                run[next() as usize % len] = specials[(k + trial) as usize % 4];
            }
            for _ in 0..(trial / 3) % 3 {
                run[next() as usize % len] = f64::NAN;
            }
            if trial / 9 == 1 {
                // The last, short block holds extremes and a NaN too.
                run[len - 3] = 9.0;
                run[len - 2] = -9.0;
                run[len - 1] = f64::NAN;
            }
            assert_arg_fold_is_elementwise(&run);
        }
        // Rising and falling runs with plateaus across block boundaries, where
        // nearly every block beats the ones before it.
        let rising: Vec<f64> = (0..len).map(|i| (i / 3000) as f64).collect();
        let falling: Vec<f64> = rising.iter().rev().copied().collect();
        assert_arg_fold_is_elementwise(&rising);
        assert_arg_fold_is_elementwise(&falling);
    }

    #[test]
    fn lane_extremes_equal_the_sequential_scan_bit_for_bit() {
        let mut next = crate::testing::xorshift();
        for len in (1..40).chain([63, 64, 65, 200, 1001, 8191, 8192, 8200, 20_000]) {
            for trial in 0..60 {
                // Few distinct values: many ties, zeros of both signs, NaN runs.
                let run: Vec<f64> = (0..len)
                    .map(|_| POOL[(next() % (2 + trial % 7) as u64) as usize])
                    .collect();
                for min in [true, false] {
                    let (want, want_nan) = sequential(&run, min);
                    let (got, got_nan) = folded(&run, min);
                    assert_eq!(got_nan, want_nan, "{run:?}");
                    assert_eq!(
                        got.map(f64::to_bits),
                        want.map(f64::to_bits),
                        "{run:?} min={min}"
                    );
                    let run32: Vec<f32> = run.iter().map(|&x| x as f32).collect();
                    let (want, _) = sequential(&run32, min);
                    let (got, _) = folded(&run32, min);
                    assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "{run32:?}");
                }
                let ints: Vec<i16> = (0..len).map(|_| (next() % 7) as i16 - 3).collect();
                for min in [true, false] {
                    assert_eq!(folded(&ints, min), sequential(&ints, min));
                }
            }
        }
    }
}
