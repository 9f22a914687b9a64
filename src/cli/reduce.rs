//! `outcore reduce OP FILE [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{Array, Error, ErrorKind};
use outcore_kernels::reduce::{reduce_all, ReduceOp, Value};

use super::common::{json_str, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The reduction: sum, min, max.
    pub op: String,
    /// A .npy file.
    pub file: PathBuf,
    /// Reduce along this axis (not available yet: whole-array reductions only).
    #[arg(long)]
    pub axis: Option<i64>,
    /// Print one JSON object: op, dtype, value.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let op = ReduceOp::parse(&args.op)?;
    if args.axis.is_some() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "--axis is not supported by this build: only whole-array reductions",
        )
        .into());
    }
    let array = Array::open(&args.file)?;
    let r = reduce_all(&session.ctx, &array, op)?;
    if args.json {
        let value = match r.value {
            Value::Float(f) if !f.is_finite() => json_str(&r.value_text()),
            Value::Bool(b) => b.to_string(),
            _ => r.value_text(),
        };
        println!(
            "{{\"op\":{},\"dtype\":{},\"value\":{}}}",
            json_str(r.op),
            json_str(&r.dtype.str_code()),
            value
        );
    } else {
        println!("{}", r.value_text());
    }
    Ok(())
}
