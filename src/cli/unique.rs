//! `outcore unique IN -o OUT [--counts OUT2] [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::Array;
use outcore_kernels::unique::{unique, UniqueOptions};

use super::common::{OutputFlags, Session};

/// Most values `--json` lists.
const JSON_MAX: usize = 1000;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .npy file (flattened).
    pub file: PathBuf,
    /// Write the sorted distinct values (the input's dtype, 1-d) to this .npy file.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Write each value's count (int64) to this .npy file.
    #[arg(long, value_name = "OUT2")]
    pub counts: Option<PathBuf>,
    /// Print one JSON object: {"dtype","len","values":[…],"counts":[…]}; values and counts are
    /// null when there are more than 1000 distinct values.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let array = Array::open(&args.file)?;
    let opts = UniqueOptions {
        counts: args.counts.clone(),
        keep: JSON_MAX,
        output: session.output_options(&[args.file.as_path()]),
        ..UniqueOptions::default()
    };
    let u = unique(&session.ctx, &array, Some(&args.output), &opts)?;
    let quote = |t: String| match t.as_str() {
        "nan" | "inf" | "-inf" => format!("\"{t}\""),
        _ => t,
    };
    if args.json {
        let (values, counts) = match &u.small {
            Some((v, c)) => (
                format!(
                    "[{}]",
                    v.iter()
                        .map(|x| quote(u.value_text(x)))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                format!(
                    "[{}]",
                    c.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            None => ("null".to_string(), "null".to_string()),
        };
        println!(
            "{{\"dtype\":\"{}\",\"len\":{},\"values\":{values},\"counts\":{counts}}}",
            u.dtype.str_code(),
            u.len
        );
    } else {
        println!("{} distinct values", u.len);
    }
    Ok(())
}
