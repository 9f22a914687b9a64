//! Faults, bad input, cancellation and concurrency: outcore never corrupts or loses data, never
//! leaves half-written outputs or temporary files behind, and never crashes on input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::{bin, code, outcore_in, signal_outcore, stderr, stdout, SmallDisk, LONG_GEN};

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn checksum(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Makes an input array in `dir` (outside the small disk).
fn make_input(dir: &Path, name: &str, shape: &str) -> PathBuf {
    let out = outcore_in(
        dir,
        &[
            "gen", name, "--dtype", "f8", "--shape", shape, "--seed", "3",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    dir.join(name)
}

/// Every writing command, as (name, args) with `IN` (a 1-d input), `IN2` (a 2-d input, for
/// commands that need one) and `OUT` placeholders. Commands that land later add their line here.
fn writing_commands() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "gen",
            vec!["gen", "OUT", "--dtype", "f8", "--shape", "4194304"],
        ),
        ("sort", vec!["sort", "IN", "-o", "OUT"]),
        ("argsort", vec!["argsort", "IN", "-o", "OUT", "--mem", "1M"]),
        ("eval", vec!["eval", "2*x+1", "-o", "OUT", "x=IN"]),
        ("transpose", vec!["transpose", "IN", "-o", "OUT"]),
        (
            "reshape",
            vec![
                "reshape", "IN", "-o", "OUT", "--shape", "1024,-1", "--order", "F",
            ],
        ),
        ("slice", vec!["slice", "IN", "-o", "OUT", "--index", "::-1"]),
        (
            "convert",
            vec!["convert", "IN", "-o", "OUT", "--dtype", "f4"],
        ),
        (
            "convert --to-raw",
            vec!["convert", "IN", "-o", "OUT", "--to-raw"],
        ),
        (
            "reduce -o",
            vec!["reduce", "sum", "IN2", "--axis", "0", "-o", "OUT"],
        ),
    ]
}

/// True when the command reads the 2-d input.
fn uses_2d(args: &[&str]) -> bool {
    args.contains(&"IN2")
}

fn fill(args: &[&str], input: &Path, input_2d: &Path, out: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match *a {
            "IN" => input.to_string_lossy().into_owned(),
            "IN2" => input_2d.to_string_lossy().into_owned(),
            "x=IN" => format!("x={}", input.to_string_lossy()),
            "OUT" => out.to_string_lossy().into_owned(),
            other => other.to_string(),
        })
        .collect()
}

#[test]
fn disk_full_fails_cleanly_for_every_writing_command() {
    let Some(disk) = SmallDisk::mount("8m") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let input = make_input(work.path(), "in.npy", "2097152"); // 16 MiB: does not fit in 8 MiB
                                                              // 20 MiB; its reduction along axis 0 is 1310720 f8 = 10 MiB: does not fit in 8 MiB either.
    let input_2d = make_input(work.path(), "in2.npy", "2,1310720");
    let before = checksum(&input);
    let before_2d = checksum(&input_2d);
    std::fs::write(disk.path().join("old.npy"), b"precious").unwrap();
    for (name, args) in writing_commands() {
        for (dest, force) in [("new.npy", false), ("old.npy", true)] {
            let out_path = disk.path().join(dest);
            let mut argv = fill(&args, &input, &input_2d, &out_path);
            if force {
                argv.push("--force".into());
            }
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let out = outcore_in(work.path(), &argv);
            assert_eq!(code(&out), 1, "{name}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("disk full"),
                "{name}: {}",
                stderr(&out)
            );
            assert_eq!(
                entries(disk.path()),
                vec!["old.npy".to_string()],
                "{name}: leftovers"
            );
            assert_eq!(
                std::fs::read(disk.path().join("old.npy")).unwrap(),
                b"precious"
            );
        }
    }
    assert_eq!(checksum(&input), before, "input changed");
    assert_eq!(checksum(&input_2d), before_2d, "2-d input changed");
}

#[test]
fn kill_9_leaves_nothing_under_the_destination_name() {
    let dir = tempfile::tempdir().unwrap();
    signal_outcore(dir.path(), LONG_GEN, Duration::from_millis(500), "KILL");
    assert!(
        entries(dir.path()).is_empty(),
        "left: {:?}",
        entries(dir.path())
    );
    // A rerun is not disturbed by anything the killed job did.
    let out = outcore_in(
        dir.path(),
        &["gen", "big.npy", "--dtype", "f8", "--shape", "1000"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn sigterm_stops_with_143_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let args = [LONG_GEN, &["--fill", "normal"]].concat();
    let (status, took) = signal_outcore(dir.path(), &args, Duration::from_millis(600), "TERM");
    assert!(took.as_secs_f64() < 2.0, "stopping took {took:?}");
    assert_eq!(status.code(), Some(143));
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn library_cancellation_token_stops_a_job_and_leaves_nothing() {
    use outcore::kernels::gen::{generate, Fill};
    use outcore::{
        CancelToken, Context, DType, ErrorKind, Layout, Order, OutputOptions, ScalarKind,
    };
    let dir = tempfile::tempdir().unwrap();
    let token = CancelToken::new();
    let t2 = token.clone();
    let ctx = Context::builder()
        .threads(2)
        .memory(4 << 20)
        .chunk_bytes(64 << 10)
        .cancel_token(token)
        .progress(move |p| {
            if p.done > (1 << 20) {
                t2.cancel();
            }
        })
        .build()
        .unwrap();
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![8 << 20], Order::C).unwrap();
    let e = generate(
        &ctx,
        &dir.path().join("x.npy"),
        &layout,
        Fill::Normal,
        1,
        &OutputOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn input_truncated_while_mapped_is_an_error_not_a_crash() {
    use outcore::kernels::reduce::{reduce_all, ReduceOp};
    use outcore::kernels::sort::{sort, SortOptions};
    use outcore::{Array, Context, ErrorKind};
    let by_rows = SortOptions {
        by: vec![0],
        ..SortOptions::default()
    };
    // (job, input shape, memory budget, sort options and whether that sort spills; `None`: a
    // reduction): a sort in memory, a sort that spills runs (its runs read the input block by
    // block), a record sort (rows read block by block).
    let jobs = [
        ("reduce", "1048576", 4 << 20, None),
        (
            "sort",
            "1048576",
            64 << 20,
            Some((SortOptions::default(), false)),
        ),
        (
            "sort",
            "1048576",
            2 << 20,
            Some((SortOptions::default(), true)),
        ),
        ("sort --by", "131072,8", 64 << 20, Some((by_rows, false))),
    ];
    for (job, shape, memory, sorting) in jobs {
        let dir = tempfile::tempdir().unwrap();
        let input = make_input(dir.path(), "t.npy", shape);
        let a = Array::open(&input).unwrap();
        let ctx = Context::builder()
            .threads(2)
            .memory(memory)
            .chunk_bytes(64 << 10)
            .build()
            .unwrap();
        if let Some((opts, spills)) = &sorting {
            // The intact file takes the path the table says (in memory or spilled).
            let stats = sort(&ctx, &a, dir.path().join("ok.npy"), opts).unwrap();
            assert_eq!(stats.spilled_bytes > 0, *spills, "{job}: {stats:?}");
            std::fs::remove_file(dir.path().join("ok.npy")).unwrap();
        }
        // Someone else truncates the file after we mapped it.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&input)
            .unwrap()
            .set_len(4096)
            .unwrap();
        let e = match &sorting {
            None => reduce_all(&ctx, &a, ReduceOp::Sum).unwrap_err(),
            Some((opts, _)) => sort(&ctx, &a, dir.path().join("o.npy"), opts).unwrap_err(),
        };
        assert_eq!(e.kind(), ErrorKind::InputChanged, "{job} ({memory} B): {e}");
        assert!(e.to_string().contains("t.npy"), "{job}: {e}");
        assert_eq!(entries(dir.path()), ["t.npy"], "{job}: nothing left behind");
    }
}

#[test]
fn concurrent_cli_jobs_on_the_same_inputs_are_all_correct() {
    let dir = tempfile::tempdir().unwrap();
    let n: u64 = 1 << 20;
    let out = outcore_in(
        dir.path(),
        &[
            "gen",
            "a.npy",
            "--dtype",
            "f8",
            "--shape",
            &n.to_string(),
            "--fill",
            "arange",
        ],
    );
    assert_eq!(code(&out), 0);
    let mut children = Vec::new();
    for i in 0..8 {
        let args: Vec<String> = if i % 2 == 0 {
            vec![
                "reduce".into(),
                "sum".into(),
                "a.npy".into(),
                "--json".into(),
                "--mem".into(),
                "2M".into(),
            ]
        } else {
            vec![
                "gen".into(),
                format!("g{i}.npy"),
                "--dtype".into(),
                "i4".into(),
                "--shape".into(),
                n.to_string(),
                "--fill".into(),
                "arange".into(),
                "--mem".into(),
                "2M".into(),
            ]
        };
        children.push(
            Command::new(bin())
                .current_dir(dir.path())
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let expected_sum = (n * (n - 1) / 2) as f64;
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "job {i}: {}", stderr(&out));
        if i % 2 == 0 {
            let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
            assert_eq!(v["value"].as_f64().unwrap(), expected_sum);
        } else {
            let a = outcore::Array::open(dir.path().join(format!("g{i}.npy"))).unwrap();
            let s = a.as_slice::<i32>().unwrap();
            assert!(
                s.iter().enumerate().all(|(k, &v)| v == k as i32),
                "job {i} wrote wrong data"
            );
        }
    }
}

#[test]
fn unwritable_output_directory_is_a_clear_error() {
    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    let ro = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(disk.path())
        .status()
        .unwrap();
    assert!(ro.success());
    let out = outcore_in(
        disk.path(),
        &["gen", "x.npy", "--dtype", "f8", "--shape", "10"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    let missing = outcore_in(
        Path::new("/"),
        &[
            "gen",
            "/nonexistent-dir/x.npy",
            "--dtype",
            "f8",
            "--shape",
            "10",
        ],
    );
    assert_eq!(code(&missing), 2, "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("nonexistent-dir"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn special_files_and_non_utf8_paths() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO given as input must not hang, and /dev/zero is not an array.
    let fifo = dir.path().join("pipe");
    Command::new("mkfifo").arg(&fifo).status().unwrap();
    for p in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
        let out = outcore_in(dir.path(), &["info", p.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{p:?}: {}", stderr(&out));
        let out = outcore_in(dir.path(), &["reduce", "sum", p.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{p:?}: {}", stderr(&out));
    }
    use std::os::unix::ffi::OsStrExt;
    let weird = std::ffi::OsStr::from_bytes(b"caf\xe9.npy");
    let out = Command::new(bin())
        .current_dir(dir.path())
        .arg("gen")
        .arg(weird)
        .args(["--dtype", "u1", "--shape", "3"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = Command::new(bin())
        .current_dir(dir.path())
        .arg("info")
        .arg(weird)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn output_equal_to_input_is_refused_also_through_links() {
    let work = tempfile::tempdir().unwrap();
    let input = make_input(work.path(), "in.npy", "65536");
    let input_2d = make_input(work.path(), "in2.npy", "2,32768");
    let before = checksum(&input);
    let before_2d = checksum(&input_2d);
    let link = |target: &Path, sym: &str, hard: &str| {
        let (sym, hard) = (work.path().join(sym), work.path().join(hard));
        std::os::unix::fs::symlink(target, &sym).unwrap();
        std::fs::hard_link(target, &hard).unwrap();
        [target.to_path_buf(), sym, hard]
    };
    let dests = link(&input, "sym.npy", "hard.npy");
    let dests_2d = link(&input_2d, "sym2.npy", "hard2.npy");
    for (name, args) in writing_commands()
        .into_iter()
        .filter(|(_, a)| a.iter().any(|s| s.contains("IN")))
    {
        // The destination is (a link to) the input the command reads.
        let dests = if uses_2d(&args) { &dests_2d } else { &dests };
        for dest in dests {
            let mut argv = fill(&args, &input, &input_2d, dest);
            argv.push("--force".into());
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let out = outcore_in(work.path(), &argv);
            assert_eq!(code(&out), 2, "{name} -> {dest:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("same file"),
                "{name}: {}",
                stderr(&out)
            );
        }
    }
    assert_eq!(checksum(&input), before);
    assert_eq!(checksum(&input_2d), before_2d);
    assert_eq!(
        entries(work.path()),
        vec![
            "hard.npy",
            "hard2.npy",
            "in.npy",
            "in2.npy",
            "sym.npy",
            "sym2.npy"
        ]
    );
}

#[test]
fn dropping_outputs_from_the_page_cache_changes_no_byte_of_them() {
    // Under target/ (a disk file system): tmpfs keeps pages whatever fadvise says.
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let input = make_input(work.path(), "in.npy", "2097152"); // 16 MiB
    let input_2d = make_input(work.path(), "in2.npy", "2,1310720");
    let cached =
        |p: &Path| outcore::engine::cached_pages(&std::fs::File::open(p).unwrap()).unwrap();
    let mut residency = Vec::new();
    for (name, args) in writing_commands() {
        let mut outputs = Vec::new();
        for policy in ["keep", "drop", "auto", "bogus"] {
            let out_path = work.path().join(format!("out-{policy}.npy"));
            let mut argv = fill(&args, &input, &input_2d, &out_path);
            argv.extend(["--output-cache".to_string(), policy.to_string()]);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let out = outcore_in(work.path(), &argv);
            if policy == "bogus" {
                assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
                assert!(stderr(&out).contains("keep or drop"), "{}", stderr(&out));
                assert!(!out_path.exists(), "{name}");
                continue;
            }
            assert_eq!(
                code(&out),
                0,
                "{name} --output-cache {policy}: {}",
                stderr(&out)
            );
            if name == "eval" {
                residency.push((policy, cached(&out_path)));
            }
            outputs.push((policy, checksum(&out_path)));
            std::fs::remove_file(&out_path).unwrap();
        }
        for (policy, bytes) in &outputs[1..] {
            assert!(
                *bytes == outputs[0].1,
                "{name}: --output-cache {policy} wrote other bytes"
            );
        }
    }
    // The 16 MiB eval output: kept whole in the cache, or (nearly) all dropped; `auto` keeps an
    // output this much smaller than the machine's memory.
    let [("keep", (kept, pages)), ("drop", (dropped, _)), ("auto", (auto, _))] = residency[..]
    else {
        panic!("{residency:?}");
    };
    assert_eq!(kept, pages, "{residency:?}");
    assert!(dropped < pages / 4, "{residency:?}");
    assert_eq!(auto, pages, "{residency:?}");
}
