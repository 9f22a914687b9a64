//! Plumbing shared by every command: global flags, the engine context, signals, progress
//! bars, output options, exit codes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use outcore_engine::{
    parse_bytes, CancelToken, Context, DType, Error, ErrorKind, OutputCache, OutputOptions,
};

/// Flags every command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Worker threads (default: all CPUs).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Memory budget, e.g. 512M, 4GiB (default: a quarter of available memory).
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_size)]
    pub mem: Option<usize>,
    /// Chunk size, e.g. 4M (default: derived from the budget and threads).
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_size)]
    pub chunk: Option<usize>,
    /// Directory for temporary files (default: beside the output).
    #[arg(long, global = true, value_name = "DIR")]
    pub tmp_dir: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Keep the output's pages in the page cache once written (keep), drop them (drop), or
    /// drop them when the output is larger than half the available memory (auto).
    #[arg(long, global = true, value_name = "POLICY", default_value = "auto", value_parser = parse_output_cache)]
    pub output_cache: OutputCache,
    /// Replace an existing output file.
    #[arg(long, global = true)]
    pub force: bool,
}

/// clap value parser for `--output-cache`.
pub fn parse_output_cache(s: &str) -> std::result::Result<OutputCache, String> {
    OutputCache::parse(s).map_err(|e| e.message().to_string())
}

/// clap value parser for byte sizes.
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    parse_bytes(s).map_err(|e| e.message().to_string())
}

/// clap value parser for dtypes.
pub fn parse_dtype(s: &str) -> std::result::Result<DType, String> {
    DType::parse(s).map_err(|e| e.message().to_string())
}

/// A shape given on the command line (a newtype so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

/// clap value parser for shapes.
pub fn parse_shape(s: &str) -> std::result::Result<Shape, String> {
    parse_dims(s).map(Shape)
}

/// Parses a shape `N[,M…]`; an empty string or `()` is the 0-d shape.
pub fn parse_dims(s: &str) -> std::result::Result<Vec<usize>, String> {
    let t = s
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<usize>()
                .map_err(|_| format!("invalid dimension {p:?} in shape {s:?} (expected N[,M…])"))
        })
        .collect()
}

/// One command-line run: the engine context, signal flags and the progress display.
pub struct Session {
    pub ctx: Context,
    pub global: Global,
    sigint: Arc<AtomicBool>,
    sigterm: Arc<AtomicBool>,
    progress: Arc<Mutex<Option<(String, ProgressBar)>>>,
}

impl Session {
    pub fn new(global: &Global) -> std::result::Result<Session, Error> {
        let token = CancelToken::new();
        let sigint = Arc::new(AtomicBool::new(false));
        let sigterm = Arc::new(AtomicBool::new(false));
        for (sig, seen, code) in [
            (signal_hook::consts::SIGINT, &sigint, 130),
            (signal_hook::consts::SIGTERM, &sigterm, 143),
        ] {
            // A second signal of the same kind ends the process at once (outputs are unnamed
            // until committed, so nothing is left behind even then).
            let _ = signal_hook::flag::register_conditional_shutdown(sig, code, seen.clone());
            let _ = signal_hook::flag::register(sig, seen.clone());
            let _ = signal_hook::flag::register(sig, token.flag());
        }
        let progress: Arc<Mutex<Option<(String, ProgressBar)>>> = Arc::new(Mutex::new(None));
        let show = !global.quiet && std::io::stderr().is_terminal();
        let mut builder = Context::builder().cancel_token(token);
        if let Some(t) = global.threads {
            builder = builder.threads(t);
        }
        if let Some(m) = global.mem {
            builder = builder.memory(m);
        }
        if let Some(c) = global.chunk {
            builder = builder.chunk_bytes(c);
        }
        if show {
            let bars = progress.clone();
            builder = builder.progress(move |p| {
                let mut guard = bars.lock().expect("progress lock");
                if guard.as_ref().map(|(phase, _)| phase.as_str()) != Some(p.phase) {
                    if let Some((_, old)) = guard.take() {
                        old.finish_and_clear();
                    }
                    let bar = ProgressBar::with_draw_target(Some(p.total), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(p.phase.to_string());
                    *guard = Some((p.phase.to_string(), bar));
                }
                if let Some((_, bar)) = guard.as_ref() {
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                }
            });
        }
        let ctx = builder.build()?;
        Ok(Session {
            ctx,
            global: global.clone(),
            sigint,
            sigterm,
            progress,
        })
    }

    /// Output options for a job writing `dest` from `inputs`.
    pub fn output_options(&self, inputs: &[&Path]) -> OutputOptions {
        OutputOptions {
            force: self.global.force,
            inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
            cache: self.global.output_cache,
            ..OutputOptions::default()
        }
    }

    fn clear_progress(&self) {
        if let Some((_, bar)) = self.progress.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }

    /// Ends the run: prints the error, if any, and returns the exit code.
    pub fn finish(self, result: Result<()>) -> i32 {
        self.clear_progress();
        match result {
            Ok(()) => 0,
            Err(e) => {
                let signal = if self.sigterm.load(Ordering::SeqCst) {
                    Some(143)
                } else if self.sigint.load(Ordering::SeqCst) {
                    Some(130)
                } else {
                    None
                };
                match e.downcast_ref::<Error>() {
                    Some(err) => report_error(err, signal),
                    None => {
                        eprintln!("outcore: error: {e:#}");
                        signal.unwrap_or(1)
                    }
                }
            }
        }
    }
}

/// Prints an engine error and returns its exit code (spec §5).
pub fn report_error(err: &Error, signal: Option<i32>) -> i32 {
    let code = exit_code(err, signal);
    if err.kind() == ErrorKind::Cancelled {
        eprintln!("outcore: stopped by a signal; nothing was written");
    } else {
        eprintln!("outcore: error: {err}");
    }
    code
}

/// 2 for bad usage or bad input, 1 for a failed job, 130/143 after SIGINT/SIGTERM.
pub fn exit_code(err: &Error, signal: Option<i32>) -> i32 {
    match err.kind() {
        ErrorKind::Cancelled => signal.unwrap_or(130),
        ErrorKind::Io => match err.io_error().map(|e| e.kind()) {
            Some(std::io::ErrorKind::NotFound) => 2,
            _ => 1,
        },
        ErrorKind::DiskFull | ErrorKind::InputChanged => 1,
        _ => 2,
    }
}

/// Writes a JSON string literal.
pub fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
