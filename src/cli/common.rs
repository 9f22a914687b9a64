//! Plumbing shared by every command: global flags, the engine context, signals, progress
//! bars, output options, exit codes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use outcore_engine::{
    parse_bytes, CancelToken, Context, DType, Error, ErrorKind, Order, OutputCache, OutputOptions,
};

/// Flags every command takes, before or after the command's name.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Worker threads (default: all CPUs).
    #[arg(long, global = true, value_name = "N", help_heading = GLOBAL)]
    pub threads: Option<usize>,
    /// Memory budget, e.g. 512M, 4GiB (default: a quarter of available memory).
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_size, help_heading = GLOBAL)]
    pub mem: Option<usize>,
    /// Chunk size, e.g. 4M (default: derived from the budget and threads).
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_size, help_heading = GLOBAL)]
    pub chunk: Option<usize>,
    /// No progress bars.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
}

const GLOBAL: &str = "Global options";

/// Flags of the commands that write files. The commands take them after their name; before
/// it (`outcore --force gen …`) they are taken too, as the spec lists them with the global
/// flags, and refused for a command that writes nothing.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputFlags {
    /// Replace an existing output file.
    #[arg(long, help_heading = OUTPUT)]
    pub force: bool,
    /// Keep the output's pages in the page cache once written (keep), drop them (drop), or
    /// drop them when the output is larger than half the available memory (auto, the default).
    #[arg(long, value_name = "POLICY", value_parser = listed(&["auto", "keep", "drop"], parse_output_cache), help_heading = OUTPUT)]
    pub output_cache: Option<OutputCache>,
    /// Directory for the temporary files of jobs that spill, such as sort (default: beside
    /// the output).
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub tmp_dir: Option<PathBuf>,
    /// Do not flush the output to disk before naming it: it still appears only when complete,
    /// but a crash of the machine may lose it (for intermediate results).
    #[arg(long, help_heading = OUTPUT)]
    pub no_sync: bool,
}

const OUTPUT: &str = "Output options";

impl OutputFlags {
    /// These flags with any given before the command's name (`leading`) added.
    pub fn merged(&self, leading: &OutputFlags) -> OutputFlags {
        OutputFlags {
            force: self.force || leading.force,
            output_cache: self.output_cache.or(leading.output_cache),
            tmp_dir: self.tmp_dir.clone().or_else(|| leading.tmp_dir.clone()),
            no_sync: self.no_sync || leading.no_sync,
        }
    }

    /// The first flag given, as it is spelled on the command line.
    pub fn first_given(&self) -> Option<&'static str> {
        if self.force {
            Some("--force")
        } else if self.output_cache.is_some() {
            Some("--output-cache")
        } else if self.tmp_dir.is_some() {
            Some("--tmp-dir")
        } else if self.no_sync {
            Some("--no-sync")
        } else {
            None
        }
    }
}

/// A clap value parser that parses with `parse` and lists `shown` as the possible values in
/// the help (`[possible values: …]`); an entry may name a form, e.g. `randint:LO:HI`.
pub fn listed<T: Clone + Send + Sync + 'static>(
    shown: &'static [&'static str],
    parse: fn(&str) -> std::result::Result<T, String>,
) -> Listed<T> {
    Listed { shown, parse }
}

#[derive(Clone)]
pub struct Listed<T> {
    shown: &'static [&'static str],
    parse: fn(&str) -> std::result::Result<T, String>,
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Listed<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<T, clap::Error> {
        let text = value.to_string_lossy();
        (self.parse)(&text).map_err(|why| {
            let flag = arg.map(|a| a.to_string()).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value '{text}' for '{flag}': {why}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.shown
                .iter()
                .map(|s| clap::builder::PossibleValue::new(*s)),
        ))
    }
}

/// clap value parser for `--order` (C or F).
pub fn order_parser() -> Listed<Order> {
    listed(&["C", "F"], |s| {
        Order::parse(s).map_err(|e| e.message().to_string())
    })
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
    /// The output flags of a command that writes files (all unset for the others).
    pub output: OutputFlags,
    sigint: Arc<AtomicBool>,
    sigterm: Arc<AtomicBool>,
    progress: Arc<Mutex<Option<(String, ProgressBar)>>>,
}

impl Session {
    pub fn new(global: &Global, output: OutputFlags) -> std::result::Result<Session, Error> {
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
        if let Some(dir) = &output.tmp_dir {
            builder = builder.tmp_dir(dir);
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
        let ctx = builder.build().map_err(|e| with_flag(e, global))?;
        Ok(Session {
            ctx,
            global: global.clone(),
            output,
            sigint,
            sigterm,
            progress,
        })
    }

    /// Output options for a job writing `dest` from `inputs`.
    pub fn output_options(&self, inputs: &[&Path]) -> OutputOptions {
        OutputOptions {
            force: self.output.force,
            inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
            cache: self.output.output_cache.unwrap_or_default(),
            sync: !self.output.no_sync,
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

/// A context-building error with the flag whose value it is about put first ("--threads:
/// threads must be at least 1"): the library describes values, the command line knows the
/// flags. `Context::builder().build()` checks the threads, then the memory (a budget error,
/// which `report_error` points at --mem), then the chunk; other settings do not come from
/// these flags.
fn with_flag(err: Error, global: &Global) -> Error {
    let flag = match err.kind() {
        ErrorKind::InvalidArgument if global.threads == Some(0) => Some("--threads"),
        ErrorKind::InvalidArgument if global.chunk == Some(0) => Some("--chunk"),
        _ => None,
    };
    match flag {
        Some(flag) => Error::new(err.kind(), format!("{flag}: {}", err.message())),
        None => err,
    }
}

/// Prints an engine error and returns its exit code (spec §5).
pub fn report_error(err: &Error, signal: Option<i32>) -> i32 {
    let code = exit_code(err, signal);
    match err.kind() {
        ErrorKind::Cancelled => eprintln!("outcore: stopped by a signal; nothing was written"),
        // The library describes what is wrong; the command line adds the flag that changes it.
        ErrorKind::Budget => eprintln!("outcore: error: {err}; --mem sets the budget"),
        ErrorKind::OutputExists => eprintln!("outcore: error: {err}; --force replaces it"),
        _ => eprintln!("outcore: error: {err}"),
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
