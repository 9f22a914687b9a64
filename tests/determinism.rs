//! Spec §9 from the command line: `reduce`, `stats`, `scan`, `histogram`, `quantile`, `unique`,
//! `sort`, `argsort` and `eval` print and write the same bytes whatever `--threads`, `--mem` and
//! `--chunk` are, and `stats`' sum, mean and std are `reduce`'s.

use crate::util::*;

/// Every global setting in the grid, as command-line flags.
const GRID: [&[&str]; 6] = [
    &["--threads", "1"],
    &["--threads", "2", "--mem", "1MiB", "--chunk", "4096"],
    &["--threads", "3", "--mem", "8MiB"],
    &["--threads", "8", "--mem", "1MiB"],
    &["--threads", "8", "--chunk", "12288"],
    &["--threads", "3", "--chunk", "64MiB"],
];

fn run(dir: &std::path::Path, args: &[&str], grid: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(grid);
    all.push("--quiet");
    let out = outcore_in(dir, &all);
    assert_eq!(code(&out), 0, "{all:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn cli_results_are_the_same_bytes_whatever_the_threads_budget_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Values over many decades, so that a different order of additions shows in the sums.
    for (name, dtype, shape, order) in [
        ("f8", "float64", "700001", "C"),
        ("m8", "float64", "301,2003", "C"),
        ("mf", "float32", "2003,301", "F"),
        ("i4", "int32", "90001,7", "C"),
    ] {
        let file = format!("{name}.npy");
        let fill = if dtype == "int32" {
            "randint:-1000000:1000000"
        } else {
            "normal"
        };
        run(
            d,
            &[
                "gen", &file, "--dtype", dtype, "--shape", shape, "--fill", fill, "--seed", "5",
                "--order", order,
            ],
            &[],
        );
    }
    run(
        d,
        &["eval", "x * x * 1e6 + x", "-o", "big.npy", "x=f8.npy"],
        &[],
    );
    let mut jobs: Vec<Vec<String>> = Vec::new();
    for file in ["f8.npy", "big.npy", "m8.npy", "mf.npy", "i4.npy"] {
        for op in [
            "sum", "mean", "std", "var", "prod", "nansum", "nanmean", "min", "argmax",
        ] {
            jobs.push(["reduce", op, file, "--json"].map(String::from).to_vec());
        }
        jobs.push(["stats", file, "--json"].map(String::from).to_vec());
        jobs.push(
            ["histogram", file, "--bins", "9", "--json"]
                .map(String::from)
                .to_vec(),
        );
    }
    for (file, axes) in [
        ("m8.npy", "0"),
        ("m8.npy", "1"),
        ("mf.npy", "0"),
        ("mf.npy", "0,1"),
        ("i4.npy", "0"),
    ] {
        for op in ["sum", "mean", "std"] {
            let out = format!(
                "{op}-{}-{}.npy",
                file.trim_end_matches(".npy"),
                axes.replace(',', "_")
            );
            jobs.push(
                ["reduce", op, file, "--axis", axes, "-o", &out]
                    .map(String::from)
                    .to_vec(),
            );
        }
    }
    jobs.push(
        ["scan", "cumsum", "m8.npy", "-o", "scan.npy", "--axis", "0"]
            .map(String::from)
            .to_vec(),
    );
    jobs.push(
        [
            "eval",
            "sqrt(abs(x)) * 3 + x / 7",
            "-o",
            "ev.npy",
            "x=mf.npy",
        ]
        .map(String::from)
        .to_vec(),
    );

    // Sorts, quantiles and unique: exact results, but their merges, brackets and hash tables
    // follow the chunks, so they are checked too (--mem 1MiB makes the sort spill runs).
    for job in [
        &["sort", "f8.npy", "-o", "sorted-f8.npy"][..],
        &["sort", "mf.npy", "-o", "sorted-mf.npy"],
        &[
            "sort",
            "i4.npy",
            "--flatten",
            "--stable",
            "-o",
            "sorted-i4.npy",
        ],
        &["argsort", "big.npy", "-o", "argsort-big.npy"],
        &["quantile", "f8.npy", "--q", "0,0.3,0.5,0.99,1", "--json"],
        &[
            "quantile", "mf.npy", "--q", "0.25,0.5", "--axis", "0", "--json",
        ],
        &[
            "quantile", "i4.npy", "--q", "0.1", "--method", "nearest", "--json",
        ],
        &["unique", "i4.npy", "-o", "unique-i4.npy", "--json"],
        &["unique", "mf.npy", "-o", "unique-mf.npy", "--json"],
    ] {
        jobs.push(job.iter().map(|a| a.to_string()).collect());
    }

    // What every job prints and writes, under each setting of the grid.
    let outputs = |grid: &[&str]| -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        for job in &jobs {
            let args: Vec<&str> = job.iter().map(String::as_str).collect();
            let mut with_force = args.clone();
            if args.contains(&"-o") {
                with_force.push("--force");
            }
            got.push(run(d, &with_force, grid).into_bytes());
            if let Some(k) = args.iter().position(|a| *a == "-o") {
                got.push(std::fs::read(d.join(args[k + 1])).unwrap());
            }
        }
        got
    };
    let want = outputs(GRID[0]);
    for grid in &GRID[1..] {
        let got = outputs(grid);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g == w,
                "{grid:?}: output {k} differs: {} vs {}",
                String::from_utf8_lossy(&g[..g.len().min(200)]),
                String::from_utf8_lossy(&w[..w.len().min(200)])
            );
        }
    }

    // stats' sum, mean and std are reduce sum's, mean's and std's, as printed.
    for file in ["f8.npy", "big.npy", "m8.npy", "i4.npy"] {
        let stats: serde_json::Value =
            serde_json::from_str(&run(d, &["stats", file, "--json"], &[])).unwrap();
        for (key, op) in [("sum", "sum"), ("mean", "mean"), ("std", "std")] {
            let r: serde_json::Value =
                serde_json::from_str(&run(d, &["reduce", op, file, "--json"], &[])).unwrap();
            assert_eq!(stats[key], r["value"], "{file} {key}");
        }
    }
}
