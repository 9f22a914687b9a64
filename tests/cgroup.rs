//! The out-of-core proof: `scripts/prove-out-of-core.sh` runs jobs over a file 8× the memory
//! budget inside a memory cgroup and checks peak resident anonymous memory and results. It
//! needs root and builds a release binary, so it is ignored by default:
//! `cargo test --workspace -- --ignored out_of_core`.

use crate::util::run_cgroup_script;

#[test]
#[ignore = "needs root for a memory cgroup and a release build; run with --ignored"]
fn out_of_core_jobs_stay_under_budget_in_a_memory_cgroup() {
    let Some(text) = run_cgroup_script("scripts/prove-out-of-core.sh") else {
        return;
    };
    assert!(text.contains("reduce sum") && !text.contains("FAILED"));
}

/// `benches/analytics_cgroup.sh`: quantile and unique over 1 GiB inputs inside a memory cgroup
/// capped at 160 MiB, results equal to NumPy's.
#[test]
#[ignore = "needs root for a memory cgroup, a release build and 2 GiB of disk; run with --ignored"]
fn quantile_and_unique_stay_under_budget_in_a_memory_cgroup() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/analytics_cgroup.sh");
    let out = std::process::Command::new("bash")
        .arg(&path)
        .arg("1024")
        .output()
        .expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    if text.contains("skipped") {
        eprintln!("skipping: memory cgroups are not available here");
        return;
    }
    assert!(out.status.success() && text.contains("all ok"), "{text}");
}
