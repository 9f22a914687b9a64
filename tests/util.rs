use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_outcore"))
}

/// Runs the `outcore` binary with `args`.
pub fn outcore(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run outcore")
}

pub fn outcore_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run outcore")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// True when `python3 -c 'import numpy'` works. Tests that need NumPy print a message and
/// return when it does not (CI installs it; see .ci/run).
pub fn numpy_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import numpy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

/// Runs a Python script with NumPy in `dir` and returns its stdout; panics on failure.
pub fn python(dir: &Path, script: &str) -> String {
    let out = Command::new("python3")
        .current_dir(dir)
        .args(["-c", script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python failed:\n{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[macro_export]
macro_rules! require_numpy {
    () => {
        if !$crate::util::numpy_available() {
            eprintln!("skipping: numpy not available (pip install numpy)");
            return;
        }
    };
}
