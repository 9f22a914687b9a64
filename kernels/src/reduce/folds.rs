//! The built-in reductions as [`Fold`]s with their finishing rules: NaN handling, empty
//! inputs and warnings as in NumPy.

use super::encode::scalar_value;
use super::lanes::*;
use super::*;

/// RuntimeWarnings collected while finishing results (each message once).
#[derive(Default)]
pub(super) struct Warnings(pub(super) Vec<String>);

impl Warnings {
    pub(super) fn add(&mut self, msg: &str) {
        if !self.0.iter().any(|m| m == msg) {
            self.0.push(msg.to_string());
        }
    }
}

/// A fold that also knows how to turn its accumulator into NumPy's result value.
pub(super) trait Finish<T: Copy>: Fold<T> {
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
    /// Adds `x`.
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
    /// Adds another partial sum (the one combine of every float sum, so that `stats`, `sum`
    /// and `mean` combine alike).
    pub fn merge(&mut self, b: &CompSum) {
        self.add(b.s);
        self.add(b.c);
    }
    /// The sum.
    pub fn value(&self) -> f64 {
        if self.s.is_finite() {
            self.s + self.c
        } else {
            self.s
        }
    }
}

#[inline]
pub(super) fn f<T: Num>(x: T) -> f64 {
    x.to_f64()
}

pub(super) struct SumFloat {
    pub(super) skip_nan: bool,
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
        a.merge(b);
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
        pub(super) struct $name;
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

pub(super) struct ProdFloat;
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
pub(super) fn better<T: Num>(min: bool, x: T, b: T) -> bool {
    if min {
        x < b
    } else {
        x > b
    }
}

/// The best value so far (min or max), and whether a NaN was seen.
#[derive(Debug, Clone, Copy)]
pub struct Extreme<T> {
    pub(super) has: bool,
    pub(super) nan: bool,
    pub(super) best: T,
}

pub(super) struct MinMax {
    pub(super) min: bool,
    pub(super) skip_nan: bool,
}
impl MinMax {
    /// True when `x`, coming after `b`, takes its place: not worse. Of two equal values the
    /// later one wins, as in NumPy (`np.min([0.0, -0.0])` is `-0.0`); a NaN never does.
    #[inline(always)]
    pub(super) fn replaces<T: Num>(&self, x: T, b: T) -> bool {
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

/// Maps a memory position of a whole-array walk to NumPy's flat C-order index.
#[derive(Debug, Clone)]
pub enum IndexMap {
    /// Memory positions are C-order indices already.
    Identity,
    /// Position in Fortran order over `shape` → C-order index (`c_strides` of `shape`).
    FortranToC {
        /// The array's shape.
        shape: Vec<usize>,
        /// The C-order strides of `shape`, in elements.
        c_strides: Vec<usize>,
    },
}

impl IndexMap {
    pub(super) fn fortran(shape: &[usize]) -> IndexMap {
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
/// The accumulator of argmin/argmax and their NaN forms: the best value so far and its index.
pub struct ArgAcc<T> {
    has: bool,
    /// A value that is not NaN was seen (the NaN-skipping forms fail without one).
    real: bool,
    best: T,
    idx: u64,
    /// Index of the first NaN (u64::MAX when none).
    nan_idx: u64,
}

pub(super) struct Arg {
    pub(super) min: bool,
    pub(super) skip_nan: bool,
    pub(super) map: IndexMap,
}
impl Arg {
    #[inline(always)]
    fn better<T: Num>(&self, x: T, b: T) -> bool {
        better(self.min, x, b)
    }

    /// Values per block of the arg-extreme scan.
    pub(super) const BLOCK: usize = 2048;

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
        // winning block made a rising run, where every block wins, much slower than `max`.
        // (Reading the run as interleaved streams, as `max` does, measured slower here.)
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
    /// Values folded in.
    pub n: f64,
    /// Their mean.
    pub mean: f64,
    /// The sum of squared deviations from the mean.
    pub m2: f64,
}

impl Moments {
    /// Merges `b` in (Chan's parallel formula).
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
pub(super) const MOMENT_BLOCK: usize = 2048;

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
        // Separate loops per form: a NaN test per value made `reduce var` slower.
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

pub(super) struct VarFold {
    pub(super) skip_nan: bool,
    pub(super) ddof: f64,
    pub(super) std: bool,
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

pub(super) fn result_float(k: ScalarKind) -> ScalarKind {
    if k.is_float() {
        k
    } else {
        ScalarKind::F64
    }
}

#[derive(Debug, Clone, Copy, Default)]
/// The accumulator of a mean: a compensated sum and a count.
pub struct MeanAcc {
    sum: CompSum,
    n: u64,
}

pub(super) struct MeanFold {
    pub(super) skip_nan: bool,
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
        a.sum.merge(&b.sum);
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

pub(super) struct CountFold;
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

pub(super) struct AnyAll {
    pub(super) any: bool,
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
