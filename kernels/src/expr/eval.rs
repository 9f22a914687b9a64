//! Running a compiled expression: block evaluation on the workers and the `eval` driver
//! (inputs checked and broadcast, output written atomically).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use outcore_engine::{
    Array, Context, DType, Error, ErrorKind, Layout, OutputFile, OutputOptions, Result,
};

use super::tree::*;
use super::typed::*;
use super::{parse, Ast, BinKind, Expr, Program};
use crate::map::{Broadcast, Dest};

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Program {
    /// Evaluates positions `start..start + n` of the walk into `out` (the bytes of `n`
    /// native elements of [`Program::kind`]).
    pub fn eval_block(
        &self,
        sources: &[crate::map::Source<'_>],
        start: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let kind = self.kind();
        let n = out.len() / kind.size();
        let env = Env { sources, start, n };
        SCRATCH.with(|s| {
            let mut scratch = s.borrow_mut();
            real!(kind, T => {
                let op = T::unwrap_ref(&self.root).ok_or_else(|| internal("root type"))?;
                match bytemuck::try_cast_slice_mut::<u8, T>(out) {
                    Ok(typed) => op.eval_into(&env, typed, &mut scratch),
                    Err(_) => {
                        let mut tmp = vec![T::default(); n];
                        op.eval_into(&env, &mut tmp, &mut scratch)?;
                        out.copy_from_slice(bytemuck::cast_slice(&tmp));
                        Ok(())
                    }
                }
            })
        })
    }
}

/// What `outcore eval` made.
#[derive(Debug, Clone)]
pub struct EvalSummary {
    /// The result's dtype, shape and order.
    pub layout: Layout,
}

/// Evaluates `expr` over the named inputs into a new `.npy` file at `dest` (written
/// atomically). `dtype` converts the result (NumPy `astype`); without it the result has the
/// promoted dtype in native byte order. Inputs broadcast as in NumPy; the result is C order
/// whatever the inputs' orders (spec §5: outputs are C order).
pub fn eval_to_file(
    ctx: &Context,
    expr: &str,
    inputs: &[(&str, &Array)],
    dest: impl AsRef<Path>,
    dtype: Option<&DType>,
    opts: &OutputOptions,
) -> Result<EvalSummary> {
    eval_to(ctx, expr, inputs, dtype, Target::File(dest.as_ref(), opts)).map(|(s, _)| s)
}

/// Evaluates `expr` as [`eval_to_file`] does, into memory: the result's bytes (C order, in
/// the byte order of its dtype) and its layout. For results that fit in memory, e.g. one
/// block of a Dask array.
pub fn eval_to_memory(
    ctx: &Context,
    expr: &str,
    inputs: &[(&str, &Array)],
    dtype: Option<&DType>,
) -> Result<(Vec<u8>, EvalSummary)> {
    eval_to(ctx, expr, inputs, dtype, Target::Memory).map(|(s, data)| (data, s))
}

/// Where `eval` writes its result.
enum Target<'t> {
    File(&'t Path, &'t OutputOptions),
    Memory,
}

fn eval_to(
    ctx: &Context,
    expr: &str,
    inputs: &[(&str, &Array)],
    dtype: Option<&DType>,
    target: Target<'_>,
) -> Result<(EvalSummary, Vec<u8>)> {
    let expr = Expr::parse(expr)?;
    let mut seen = HashMap::new();
    for (name, a) in inputs {
        if parse::RESERVED.contains(name) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("'{name}' is a literal and cannot name an input"),
            ));
        }
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("'{name}' is not a valid input name"),
            ));
        }
        if seen.insert(*name, a.path()).is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("input name '{name}' is bound twice"),
            ));
        }
    }
    let used = expr.names();
    let mut arrays = Vec::new();
    let mut kinds = Vec::new();
    for name in &used {
        if let Some((_, a)) = inputs.iter().find(|(n, _)| n == name) {
            let kind = a
                .dtype()
                .require_real("eval")
                .map_err(|e| e.with_path(a.path()))?;
            arrays.push(*a);
            kinds.push((name.as_str(), kind));
        }
    }
    if let Some(d) = dtype {
        d.require_real("eval --dtype")?;
    }
    // Type-check before broadcasting so that unknown names are reported first.
    let bound: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    let program = expr.compile_bound(&kinds, &bound, None)?;
    let b = Broadcast::new(&arrays).map_err(|e| {
        let shapes: Vec<String> = used
            .iter()
            .zip(&arrays)
            .map(|(n, a)| format!("{n}: {:?}", a.shape()))
            .collect();
        Error::new(
            ErrorKind::Shape,
            format!(
                "inputs cannot be broadcast together ({}): {}",
                shapes.join(", "),
                e.message()
            ),
        )
    })?;
    if b.is_empty() {
        check_powers_of_empty_result(ctx, &expr, inputs)?;
    }
    let native = DType::native(program.kind());
    let out_dtype = dtype.cloned().unwrap_or_else(|| native.clone());
    let layout = b.layout(out_dtype.clone())?;
    let item = out_dtype.itemsize();
    let direct = out_dtype == native;
    let run = |dest: Dest<'_>| {
        b.run_blocks(ctx, "eval", dest, item, |start, bytes| {
            if direct {
                return program.eval_block(b.sources(), start, bytes);
            }
            // `--dtype`: evaluate in the promoted dtype, then NumPy's astype into the output's.
            let n = bytes.len() / item;
            let mut tmp = vec![0u8; n * native.itemsize()];
            program.eval_block(b.sources(), start, &mut tmp)?;
            crate::cast::cast_bytes(&tmp, &native, bytes, &out_dtype)
        })
    };
    match target {
        Target::File(dest, opts) => {
            let mut opts = opts.clone();
            opts.inputs
                .extend(arrays.iter().map(|a| a.path().to_path_buf()));
            let mut out = OutputFile::create_npy(dest, &layout, &opts)?;
            run(Dest::File(&mut out))?;
            out.commit()?;
            Ok((EvalSummary { layout }, Vec::new()))
        }
        Target::Memory => {
            let mut data = vec![0u8; layout.nbytes()];
            run(Dest::Bytes(&mut data))?;
            Ok((EvalSummary { layout }, data))
        }
    }
}

/// NumPy evaluates every subexpression eagerly, over its own broadcast shape, so an integer
/// power with a negative exponent raises even when the whole result is empty (`e + x ** -1`
/// with `e` empty and `x` not). An empty result evaluates nothing here; so each power whose
/// own operands are not empty is evaluated alone (its values discarded), for that error.
fn check_powers_of_empty_result(
    ctx: &Context,
    expr: &Expr,
    inputs: &[(&str, &Array)],
) -> Result<()> {
    fn powers<'a>(ast: &'a Ast, out: &mut Vec<&'a Ast>) {
        match ast {
            Ast::Lit { .. } | Ast::Name { .. } => {}
            Ast::Unary { arg, .. } => powers(arg, out),
            Ast::Binary { op, a, b, .. } => {
                if *op == BinKind::Pow {
                    out.push(ast);
                }
                powers(a, out);
                powers(b, out);
            }
            Ast::Call { args, .. } => args.iter().for_each(|a| powers(a, out)),
        }
    }
    let mut found = Vec::new();
    powers(&expr.ast, &mut found);
    for pow in found {
        let sub = Expr {
            source: expr.source.clone(),
            ast: pow.clone(),
        };
        let mut arrays = Vec::new();
        let mut kinds = Vec::new();
        for name in sub.names() {
            if let Some((n, a)) = inputs.iter().find(|(n, _)| *n == name) {
                arrays.push(*a);
                kinds.push((*n, a.dtype().require_real("eval")?));
            }
        }
        let program = sub.compile(&kinds, None)?;
        if program.kind().is_float() {
            continue; // float powers never raise
        }
        let b = Broadcast::new(&arrays)?;
        if b.is_empty() {
            continue;
        }
        let item = program.kind().size();
        b.run_blocks(ctx, "eval", Dest::Discard, item, |start, bytes| {
            program.eval_block(b.sources(), start, bytes)
        })?;
    }
    Ok(())
}
