//! The reductions (`sum`, `argmax`, `var`, …) by name and NumPy's result dtype of each.

use outcore_engine::ScalarKind;

use super::*;

/// A reduction the engine can run over a whole array or along an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// `np.sum`
    Sum,
    /// `np.prod`
    Prod,
    /// `np.min`
    Min,
    /// `np.max`
    Max,
    /// `np.mean`
    Mean,
    /// `np.var` (with `ddof`)
    Var,
    /// `np.std` (with `ddof`)
    Std,
    /// `np.argmin`: the first minimum's flat C-order index
    Argmin,
    /// `np.argmax`: the first maximum's flat C-order index
    Argmax,
    /// `np.count_nonzero`
    CountNonzero,
    /// `np.any`
    Any,
    /// `np.all`
    All,
    /// `np.nansum`
    NanSum,
    /// `np.nanmin`
    NanMin,
    /// `np.nanmax`
    NanMax,
    /// `np.nanmean`
    NanMean,
    /// `np.nanvar`
    NanVar,
    /// `np.nanstd`
    NanStd,
    /// `np.nanargmin`
    NanArgmin,
    /// `np.nanargmax`
    NanArgmax,
}

impl ReduceOp {
    /// Every reduction, in the order the command line lists them.
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

    /// The op's name as the command line spells it (`count-nonzero`, `nanmean`…).
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

    /// Parses an op's name (see [`ReduceOp::name`]).
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
    pub(super) fn needs_elements(self) -> bool {
        use ReduceOp::*;
        matches!(
            self,
            Min | Max | NanMin | NanMax | Argmin | Argmax | NanArgmin | NanArgmax
        )
    }

    /// NumPy's name for the error on empty input.
    pub(super) fn empty_error(self) -> String {
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
