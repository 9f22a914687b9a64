//! `outcore eval EXPR -o OUT NAME=FILE… [--dtype DT]`

use std::path::{Path, PathBuf};

use anyhow::Result;
use outcore_engine::{Array, DType, Error, ErrorKind};
use outcore_kernels::expr::eval_to_file;

use super::common::{parse_dtype, OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The expression, e.g. 'sqrt(x*x + y*y)' (numexpr-like; Python precedence).
    #[arg(allow_hyphen_values = true)]
    pub expr: String,
    /// Output .npy file.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Inputs, as NAME=FILE.
    #[arg(value_name = "NAME=FILE")]
    pub inputs: Vec<String>,
    /// Cast the result to this dtype (NumPy astype).
    #[arg(long, value_parser = parse_dtype)]
    pub dtype: Option<DType>,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let mut bound = Vec::new();
    for spec in &args.inputs {
        let (name, file) = spec.split_once('=').ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("input {spec:?} must be NAME=FILE (e.g. x=a.npy)"),
            )
        })?;
        bound.push((name.trim().to_string(), PathBuf::from(file)));
    }
    let arrays = bound
        .iter()
        .map(|(_, p)| Array::open(p))
        .collect::<outcore_engine::Result<Vec<Array>>>()?;
    let named: Vec<(&str, &Array)> = bound.iter().map(|(n, _)| n.as_str()).zip(&arrays).collect();
    let paths: Vec<&Path> = bound.iter().map(|(_, p)| p.as_path()).collect();
    let opts = session.output_options(&paths);
    eval_to_file(
        &session.ctx,
        &args.expr,
        &named,
        &args.output,
        args.dtype.as_ref(),
        &opts,
    )?;
    Ok(())
}
