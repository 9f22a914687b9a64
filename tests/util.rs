use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

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

/// True for the error kinds that mean bad usage or bad input (the command line's exit code 2),
/// as opposed to a failed job (I/O, disk full, an input changed) or a cancelled one. Library
/// tests use it where NumPy raises; the exit codes themselves are tested by running the binary.
pub fn is_bad_input(e: &outcore::Error) -> bool {
    use outcore::ErrorKind::*;
    !matches!(e.kind(), Io | DiskFull | Cancelled | InputChanged)
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

/// True when `python3 -c 'import numpy'` works. Tests that need NumPy start with
/// `require_numpy!()`, which skips them when it does not (see `skip_without_numpy`).
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

/// True under a CI run (`CI` set to anything but `false`/`0`, as CI services and `.ci/run` do).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A test that needs NumPy and finds none: under CI it fails, so a run without NumPy cannot
/// pass; elsewhere it is skipped, and says so on the real stderr. The test harness captures
/// `eprintln!` (a skipped test would just read "ok"), but not writes to `std::io::stderr()`
/// itself, so the line shows in `cargo test`'s output next to the test's name.
pub fn skip_without_numpy() {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    assert!(
        !under_ci(),
        "{test}: NumPy is required under CI (CI is set) and `python3 -c 'import numpy'` fails: \
         install it (pip install numpy)"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: NumPy is not installed (pip install numpy), so this cross-check did not run"
    );
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
            $crate::util::skip_without_numpy();
            return;
        }
    };
}

/// A small tmpfs mounted for the life of the value (needs root; `None` where not permitted).
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount -o size=…`, e.g. `"8m"`) on a new temporary directory.
    pub fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallDisk { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A `gen` job long enough to interrupt: 2 GiB of f8 into `big.npy`, in 64 KiB chunks on one
/// thread.
pub const LONG_GEN: &[&str] = &[
    "gen",
    "big.npy",
    "--dtype",
    "f8",
    "--shape",
    "268435456",
    "--chunk",
    "64K",
    "--threads",
    "1",
];

/// Starts `outcore args` in `dir`, sends it `signal` (a `kill -SIGNAL` name: `TERM`, `INT`,
/// `KILL`) after `after`, and waits for it: its exit status and how long it took to stop once
/// signalled.
pub fn signal_outcore(
    dir: &Path,
    args: &[&str],
    after: Duration,
    signal: &str,
) -> (ExitStatus, Duration) {
    let mut child = Command::new(bin())
        .current_dir(dir)
        .args(args)
        .spawn()
        .expect("run outcore");
    std::thread::sleep(after);
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal} failed");
    let t = Instant::now();
    let status = child.wait().expect("wait for outcore");
    (status, t.elapsed())
}

/// Runs an out-of-core proof script (`bash SCRIPT 32`, `script` relative to the crate root)
/// that runs jobs inside a memory cgroup. Returns `None` when the script says it skipped
/// (memory cgroups are not available here); otherwise asserts that it succeeded and returns
/// its stdout.
pub fn run_cgroup_script(script: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let out = Command::new("bash")
        .arg(&path)
        .arg("32")
        .output()
        .expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    if text.contains("skipped") {
        eprintln!("skipping: memory cgroups are not available here");
        return None;
    }
    assert!(out.status.success(), "{script} failed");
    Some(text)
}
