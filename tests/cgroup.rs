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
