//! The expression language of `outcore eval` (numexpr is the model).
//!
//! An expression is parsed ([`parse`]) with Python's precedence, type-checked with NumPy 2's
//! promotion rules (literals are weak, NEP 50), and compiled into a tree of typed block
//! kernels (module `tree`) that the map driver runs over chunk-sized blocks of the broadcast inputs.
//!
//! Typing, in short (NumPy is the reference):
//! - array ⊕ array: `np.result_type` of the two dtypes; `/` gives float64 for integer and bool
//!   operands; `//` and `%` of bools give int8; `-` of bools is refused, as in NumPy.
//! - array ⊕ literal: an int literal takes the array's dtype (int64 for bool arrays) and must
//!   fit in it; a float literal takes the array's float dtype, float64 for ints and bools.
//! - comparisons give bool, exactly (int64 vs uint64 and out-of-range literals included).
//! - float functions of integers give the smallest float that holds them (int8 → float16,
//!   int16 → float32, wider → float64), as NumPy's loops do.

#[macro_use]
mod typed;
mod call;
mod compile;
mod eval;
mod parse;
mod promote;
mod tree;

use std::collections::HashMap;

use outcore_engine::{Result, ScalarKind};

use compile::Compiler;
pub use eval::{eval_to_file, eval_to_memory, EvalSummary};
pub use parse::{parse, Ast, BinKind, Lit, UnKind, MAX_DEPTH, MAX_NESTING};
pub use promote::{float_result, promote};
use typed::cast;
pub use typed::Typed;

/// A compiled expression, ready to run over the broadcast inputs it was compiled for.
pub struct Program {
    root: Typed,
}

impl Program {
    /// The element kind of the result.
    pub fn kind(&self) -> ScalarKind {
        self.root.kind()
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    ast: Ast,
}

impl Expr {
    /// Parses an expression; errors name the position.
    pub fn parse(source: &str) -> Result<Expr> {
        Ok(Expr {
            source: source.to_string(),
            ast: parse(source)?,
        })
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parsed tree.
    pub fn ast(&self) -> &Ast {
        &self.ast
    }

    /// The input names the expression uses, in order of first use.
    pub fn names(&self) -> Vec<String> {
        self.ast.names()
    }

    /// Type-checks and compiles the expression; `inputs[i]` is the name and kind of source
    /// `i`. `dtype` (the `--dtype` option) converts the result.
    pub fn compile(
        &self,
        inputs: &[(&str, ScalarKind)],
        dtype: Option<ScalarKind>,
    ) -> Result<Program> {
        let bound: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
        self.compile_bound(inputs, &bound, dtype)
    }

    /// [`Expr::compile`] where `bound` names every input the caller has (`inputs` may hold
    /// only those the expression uses): an unknown name's error lists them all.
    pub(crate) fn compile_bound(
        &self,
        inputs: &[(&str, ScalarKind)],
        bound: &[&str],
        dtype: Option<ScalarKind>,
    ) -> Result<Program> {
        let names: HashMap<&str, (usize, ScalarKind)> = inputs
            .iter()
            .enumerate()
            .map(|(i, (n, k))| (*n, (i, *k)))
            .collect();
        let mut bound = bound.to_vec();
        bound.sort_unstable();
        bound.dedup();
        let c = Compiler {
            src: &self.source,
            names,
            bound,
        };
        let root = c.materialize(c.build(&self.ast)?)?;
        let root = match dtype {
            Some(k) => cast(root, k)?,
            None => root,
        };
        Ok(Program { root })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarKind::{Bool as B, F16, F32, F64, I16, I32, I64, I8, U16, U32, U64, U8};

    #[test]
    fn promotion_table_matches_numpy() {
        assert_eq!(promote(I8, U8), I16);
        assert_eq!(promote(I64, U64), F64);
        assert_eq!(promote(U32, I32), I64);
        assert_eq!(promote(I32, U16), I32);
        assert_eq!(promote(F16, I16), F32);
        assert_eq!(promote(F16, U8), F16);
        assert_eq!(promote(F32, I32), F64);
        assert_eq!(promote(B, F16), F16);
        assert_eq!(promote(F32, F64), F64);
        assert_eq!(float_result(I8), F16);
        assert_eq!(float_result(U16), F32);
        assert_eq!(float_result(I32), F64);
    }

    fn kind_of(src: &str, inputs: &[(&str, ScalarKind)]) -> Result<ScalarKind> {
        Expr::parse(src)?.compile(inputs, None).map(|p| p.kind())
    }

    #[test]
    fn literals_are_weak() {
        assert_eq!(kind_of("2*x", &[("x", F32)]).unwrap(), F32);
        assert_eq!(kind_of("x + 1.5", &[("x", I32)]).unwrap(), F64);
        assert_eq!(kind_of("x + 1", &[("x", B)]).unwrap(), I64);
        assert_eq!(kind_of("x / 2", &[("x", I8)]).unwrap(), F64);
        assert_eq!(kind_of("x // y", &[("x", B), ("y", B)]).unwrap(), I8);
        assert_eq!(kind_of("sqrt(x)", &[("x", U8)]).unwrap(), F16);
        assert_eq!(kind_of("sqrt(2) * x", &[("x", F32)]).unwrap(), F64);
        assert_eq!(kind_of("x < 300", &[("x", U8)]).unwrap(), B);
        assert_eq!(kind_of("1 + 2", &[]).unwrap(), I64);
        assert_eq!(kind_of("where(x > 0, x, 2.5)", &[("x", U8)]).unwrap(), F64);
        assert_eq!(kind_of("clip(x, 0, 300)", &[("x", U8)]).unwrap(), U8);
        let e = kind_of("clip(x, 300, 400)", &[("x", U8)]).unwrap_err();
        assert!(e.message().contains("300 out of bounds for uint8"), "{e}");
        let e = kind_of("clip(x, 0, -5)", &[("x", U8)]).unwrap_err();
        assert!(e.message().contains("-5 out of bounds for uint8"), "{e}");
        // A float bound makes the clip a float one: an int bound outside uint64 is fine then.
        assert_eq!(kind_of("clip(x, 3.25, -2)", &[("x", U64)]).unwrap(), F64);
        assert_eq!(
            kind_of("clip(x, y, -2)", &[("x", U8), ("y", I16)]).unwrap(),
            I16
        );
        assert_eq!(kind_of("round(x)", &[("x", B)]).unwrap(), F16);
        let e = kind_of("x + 300", &[("x", U8)]).unwrap_err();
        assert!(e.message().contains("out of bounds for uint8"), "{e}");
        let e = kind_of("x - x", &[("x", B)]).unwrap_err();
        assert!(e.message().contains("boolean subtract"), "{e}");
        let e = kind_of("x & 1.5", &[("x", I32)]).unwrap_err();
        assert!(e.message().contains("column"), "{e}");
        let e = kind_of("foo(x)", &[("x", I32)]).unwrap_err();
        assert!(e.message().contains("unknown function 'foo'"), "{e}");
        let e = kind_of("x + z", &[("x", I32)]).unwrap_err();
        assert!(
            e.message().contains("unknown name 'z'") && e.message().contains("column 5"),
            "{e}"
        );
    }
}
