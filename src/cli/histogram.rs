//! `outcore histogram IN [--bins N] [--range LO,HI] [-o OUT] [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::{Array, DType, Layout, Order, OutputFile, ScalarKind};
use outcore_kernels::histogram::histogram;

use super::common::{OutputFlags, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .npy file (flattened; bool is counted as uint8, as NumPy does).
    pub file: PathBuf,
    /// The number of equal-width bins.
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
    /// The range of the bins, LO,HI (default: the data's min and max); values outside are
    /// not counted.
    #[arg(long, value_name = "LO,HI", value_parser = parse_range, allow_hyphen_values = true)]
    pub range: Option<Range>,
    /// Write the counts (int64) to this .npy file.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Print one JSON object: {"counts":[…],"edges":[…]}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
}

/// A `--range` (a newtype so clap takes it as one value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range(pub f64, pub f64);

fn parse_range(s: &str) -> std::result::Result<Range, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let bad = || format!("expected LO,HI (two numbers), got {s:?}");
    match parts.as_slice() {
        [lo, hi] => Ok(Range(
            lo.parse().map_err(|_| bad())?,
            hi.parse().map_err(|_| bad())?,
        )),
        _ => Err(bad()),
    }
}

pub fn run(args: &Args, session: &Session) -> Result<()> {
    let array = Array::open(&args.file)?;
    // The output is created before the work, so an existing file is refused up front.
    let out = match &args.output {
        Some(dest) => {
            let layout = Layout::new(DType::native(ScalarKind::I64), vec![args.bins], Order::C)?;
            let opts = session.output_options(&[args.file.as_path()]);
            Some(OutputFile::create_npy(dest, &layout, &opts)?)
        }
        None => None,
    };
    let h = histogram(
        &session.ctx,
        &array,
        args.bins,
        args.range.map(|r| (r.0, r.1)),
    )?;
    if let Some(mut out) = out {
        let bytes: Vec<u8> = h.counts.iter().flat_map(|c| c.to_ne_bytes()).collect();
        out.data_mut().copy_from_slice(&bytes);
        out.commit()?;
    }
    let counts: Vec<String> = h.counts.iter().map(|c| c.to_string()).collect();
    let edges = h.edge_texts();
    if args.json {
        // Non-finite edges cannot occur (NumPy refuses non-finite ranges).
        println!(
            "{{\"counts\":[{}],\"edges\":[{}]}}",
            counts.join(","),
            edges.join(",")
        );
    } else if args.output.is_none() {
        println!("counts  [{}]", counts.join(", "));
        println!("edges   [{}]", edges.join(", "));
    }
    Ok(())
}
