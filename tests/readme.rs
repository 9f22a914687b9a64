//! The README's examples run as written: `scripts/readme-examples.sh` runs every ```sh block
//! (each in a fresh directory) with this build's `outcore` first on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the script on `readme` with the test build's binary as `outcore`.
fn run_examples(readme: &Path) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/readme-examples.sh"))
        .arg(readme)
        .env("OUTCORE", env!("CARGO_BIN_EXE_outcore"))
        .output()
        .expect("cannot run bash")
}

#[test]
fn every_sh_block_of_the_readme_runs() {
    let out = run_examples(&repo().join("README.md"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "a README example failed:\n{}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("all ") && stdout.contains(" blocks ran"),
        "{stdout}"
    );
}

#[test]
fn a_failing_block_fails_the_check_at_its_command_and_skipped_blocks_are_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    let text = "# t\n\n<!-- not run -->\n```sh\nexit 7\n```\n\n```rust\nfn main() {}\n```\n\n\
                ```sh\noutcore gen a.npy --dtype f8 --shape 10\noutcore info missing.npy\n\
                echo never-reached\n```\n";
    std::fs::write(&readme, text).unwrap();
    let out = run_examples(&readme);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("README.md:12 failed"), "{stderr}");
    assert!(
        stderr.contains("FAILED (exit 2): outcore info missing.npy"),
        "{stderr}"
    );
    // -e: nothing after the failing command ran (its output is quoted as "  > …").
    assert!(!stderr.contains("> never-reached"), "{stderr}");
}
