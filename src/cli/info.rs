//! `outcore info FILE [--json]`

use std::path::PathBuf;

use anyhow::Result;
use outcore_engine::npy;

use super::common::{json_str, Session};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .npy file.
    pub file: PathBuf,
    /// Print one JSON object: path, version, dtype, shape, order, data_offset, nbytes.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args, _session: &Session) -> Result<()> {
    let h = npy::read_header_at(&args.file)?;
    let layout = &h.layout;
    let version = format!("{}.{}", h.version.0, h.version.1);
    if args.json {
        let shape: Vec<String> = layout.shape().iter().map(|d| d.to_string()).collect();
        println!(
            "{{\"path\":{},\"version\":{},\"dtype\":{},\"shape\":[{}],\"order\":{},\"data_offset\":{},\"nbytes\":{}}}",
            json_str(&args.file.to_string_lossy()),
            json_str(&version),
            json_str(&layout.dtype().str_code()),
            shape.join(","),
            json_str(layout.order().as_str()),
            h.data_offset,
            layout.nbytes()
        );
    } else {
        println!("path:        {}", args.file.display());
        println!("version:     {version}");
        println!(
            "dtype:       {} ({})",
            layout.dtype().str_code(),
            layout.dtype().name()
        );
        if let outcore_engine::DType::Record(_) = layout.dtype() {
            println!("descr:       {}", layout.dtype().descr_repr());
        }
        println!("shape:       {:?}", layout.shape());
        println!("order:       {}", layout.order().as_str());
        println!("elements:    {}", layout.len());
        println!("data_offset: {}", h.data_offset);
        println!(
            "nbytes:      {} ({})",
            layout.nbytes(),
            outcore_engine::format_bytes(layout.nbytes() as u64)
        );
    }
    Ok(())
}
