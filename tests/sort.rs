//! `sort` / `argsort` of the library against NumPy (inputs and checks by
//! `tests/sort_py/cases.py`), plus clean failures: unsupported dtypes, bad options,
//! cancellation, nothing left behind.

use crate::require_numpy;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use outcore_engine::{Array, CancelToken, Context, ErrorKind, OutputOptions};
use outcore_kernels::sort::{argsort, sort, sort_into_range, SortOptions, SortStats};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sort_py/cases.py")
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "cases.py {args:?} failed:\n{text}");
    text
}

fn context(mem: usize, threads: usize) -> Context {
    Context::builder()
        .memory(mem)
        .threads(threads)
        .build()
        .unwrap()
}

fn parse_mem(s: &str) -> usize {
    outcore_engine::parse_bytes(s).unwrap()
}

fn assert_empty_dir(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn sort_and_argsort_match_numpy() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    python(&["make", d.to_str().unwrap()]);
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(d.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() > 100);
    let mut multi_pass = 0;
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let opts = SortOptions {
            descending: c["descending"].as_bool().unwrap(),
            stable: c["stable"].as_bool().unwrap(),
            flatten: c["flatten"].as_bool().unwrap(),
            by: c["by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap() as isize)
                .collect(),
            output: OutputOptions::default(),
        };
        let ctx = Context::builder()
            .memory(parse_mem(c["mem"].as_str().unwrap()))
            .threads(c["threads"].as_u64().unwrap() as usize)
            .tmp_dir(&tmp)
            .build()
            .unwrap();
        let input = Array::open(c["input"].as_str().unwrap()).unwrap();
        let dest = d.join(format!("out_{name}.npy"));
        let stats: SortStats = match c["op"].as_str().unwrap() {
            "sort" => sort(&ctx, &input, &dest, &opts),
            _ => argsort(&ctx, &input, &dest, &opts),
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_empty_dir(&tmp);
        if name.starts_with("ext-") {
            assert!(
                stats.spilled_bytes > 0,
                "{name}: expected an external sort, got {stats:?}"
            );
            if stats.merge_passes > 1 {
                multi_pass += 1;
            }
        }
        if c.get("fits").is_some() {
            assert_eq!(
                stats.spilled_bytes, 0,
                "{name}: data fits the budget but was spilled: {stats:?}"
            );
            assert_eq!(stats.in_memory_segments, 1);
        }
    }
    assert!(
        multi_pass > 5,
        "tiny budgets should force multi-pass merges ({multi_pass})"
    );
    let report = python(&["check", d.to_str().unwrap()]);
    eprintln!("{report}");
}

fn write_npy(dir: &Path, name: &str, expr: &str) -> PathBuf {
    let p = dir.join(name);
    let code = format!(
        "import numpy as np; np.save({:?}, {expr})",
        p.to_str().unwrap()
    );
    let st = Command::new("python3")
        .args(["-c", &code])
        .status()
        .unwrap();
    assert!(st.success());
    p
}

#[test]
fn unsupported_dtypes_and_bad_options_are_refused_cleanly() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ctx = context(1 << 20, 2);
    let opts = SortOptions::default();
    for (name, expr, what) in [
        ("c.npy", "np.zeros(10, np.complex128)", "complex128"),
        ("s.npy", "np.zeros(10, 'S3')", "S3"),
        (
            "r.npy",
            "np.zeros(10, [('a', '<i4'), ('b', '<f8')])",
            "record",
        ),
    ] {
        let input = Array::open(write_npy(d, name, expr)).unwrap();
        for e in [
            sort(&ctx, &input, d.join("out.npy"), &opts).unwrap_err(),
            argsort(&ctx, &input, d.join("out.npy"), &opts).unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::UnsupportedDType, "{e}");
            assert!(
                e.to_string().contains(what) && e.to_string().contains(name),
                "{e}"
            );
        }
    }
    let scalar = Array::open(write_npy(d, "z.npy", "np.array(1.0)")).unwrap();
    assert_eq!(
        sort(&ctx, &scalar, d.join("out.npy"), &opts)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    // NumPy's argsort of a 0-d array is [0] (int64, shape (1,)), with or without axis=None.
    for flatten in [false, true] {
        let o = SortOptions {
            flatten,
            output: OutputOptions::default().force(true),
            ..Default::default()
        };
        argsort(&ctx, &scalar, d.join("z_idx.npy"), &o).unwrap();
        let check = format!(
            "import numpy as np; a = np.load({z:?}); r = np.load({i:?}); \
             e = np.argsort(a, axis=None if {f} else -1); \
             assert r.dtype == e.dtype and r.shape == e.shape == (1,) and (r == e).all(), (r, e)",
            z = d.join("z.npy").to_str().unwrap(),
            i = d.join("z_idx.npy").to_str().unwrap(),
            f = if flatten { "True" } else { "False" },
        );
        let st = Command::new("python3")
            .args(["-c", &check])
            .status()
            .unwrap();
        assert!(st.success(), "argsort of a 0-d array differs from NumPy's");
    }
    std::fs::remove_file(d.join("z_idx.npy")).unwrap();
    let v = Array::open(write_npy(d, "v.npy", "np.arange(10.0)")).unwrap();
    let by = |by: Vec<isize>, flatten| SortOptions {
        by,
        flatten,
        ..Default::default()
    };
    let t = Array::open(write_npy(d, "t.npy", "np.zeros((4, 3))")).unwrap();
    for (a, o) in [
        (&v, by(vec![0], false)),
        (&t, by(vec![3], false)),
        (&t, by(vec![-4], false)),
        (&t, by(vec![0], true)),
    ] {
        assert_eq!(
            sort(&ctx, a, d.join("out.npy"), &o).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
    // An existing output needs force; nothing was created by the failures above.
    assert!(!d.join("out.npy").exists());
    std::fs::write(d.join("out.npy"), b"keep").unwrap();
    assert_eq!(
        sort(&ctx, &v, d.join("out.npy"), &opts).unwrap_err().kind(),
        ErrorKind::OutputExists
    );
    assert_eq!(std::fs::read(d.join("out.npy")).unwrap(), b"keep");
    sort(
        &ctx,
        &v,
        d.join("out.npy"),
        &SortOptions {
            output: OutputOptions::default().force(true),
            ..Default::default()
        },
    )
    .unwrap();
}

#[test]
fn cancellation_and_failures_leave_nothing_behind() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let input = Array::open(write_npy(
        d,
        "big.npy",
        "np.random.default_rng(1).random(2_000_000)",
    ))
    .unwrap();
    let opts = SortOptions::default();
    // Cancel once the merge has started.
    let token = CancelToken::new();
    let seen_merge = Arc::new(AtomicBool::new(false));
    let (t2, s2) = (token.clone(), seen_merge.clone());
    let ctx = Context::builder()
        .memory(1 << 20)
        .threads(2)
        .cancel_token(token.clone())
        .tmp_dir(&tmp)
        .progress(move |p| {
            if p.phase.contains("merge") && p.done > 0 {
                s2.store(true, Ordering::Relaxed);
                t2.cancel();
            }
        })
        .build()
        .unwrap();
    let dest = d.join("out.npy");
    let e = sort(&ctx, &input, &dest, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert!(seen_merge.load(Ordering::Relaxed));
    assert!(!dest.exists());
    assert_empty_dir(&tmp);
    // A temporary directory that does not exist: a clear error naming it, nothing created.
    let missing = d.join("no-such-dir");
    let ctx = Context::builder()
        .memory(1 << 20)
        .threads(2)
        .tmp_dir(&missing)
        .build()
        .unwrap();
    let e = sort(&ctx, &input, &dest, &SortOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no-such-dir"), "{e}");
    assert!(!dest.exists());
    let names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

// ---- the command line ----

use crate::util::{code, outcore_in, signal_outcore, stderr, SmallDisk};

#[test]
fn cli_external_sort_and_argsort_match_numpy() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tmp")).unwrap();
    write_npy(
        d,
        "a.npy",
        "np.asfortranarray(np.random.default_rng(5).integers(-9, 9, (300, 2000)).astype('>f4'))",
    );
    write_npy(
        d,
        "t.npy",
        "np.random.default_rng(6).integers(0, 4, (60000, 4)).astype('<i8')",
    );
    let common = ["--mem", "1M", "--threads", "2", "--tmp-dir", "tmp"];
    let runs: [&[&str]; 4] = [
        &[
            "sort",
            "a.npy",
            "-o",
            "s.npy",
            "--flatten",
            "--descending",
            "--stable",
        ],
        &["argsort", "a.npy", "-o", "i.npy", "--flatten"],
        &["argsort", "a.npy", "-o", "r.npy", "--descending"],
        &["sort", "t.npy", "-o", "b.npy", "--by", "-1,1"],
    ];
    for args in runs {
        let argv: Vec<&str> = args.iter().chain(common.iter()).copied().collect();
        let out = outcore_in(d, &argv);
        assert_eq!(code(&out), 0, "{argv:?}: {}", stderr(&out));
        assert_empty_dir(&d.join("tmp"));
    }
    let check = r#"
import numpy as np
a = np.load('a.npy'); t = np.load('t.npy')
f = a.ravel()
s = np.load('s.npy'); assert s.dtype == a.dtype and s.shape == f.shape
assert (s == f[np.argsort(-f, kind='stable')]).all()
assert (np.load('i.npy') == np.argsort(a, axis=None, kind='stable')).all()
assert (np.load('r.npy') == np.argsort(-a, axis=-1, kind='stable')).all()
assert (np.load('b.npy') == t[np.lexsort((t[:, 1], t[:, -1]))]).all()
print('ok')
"#;
    assert_eq!(crate::util::python(d, check).trim(), "ok");
}

#[test]
fn cli_refusals_and_disk_full_exit_codes() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(d, "c.npy", "np.zeros(4, np.complex64)");
    write_npy(d, "v.npy", "np.random.default_rng(1).random(1_000_000)");
    let out = outcore_in(d, &["sort", "c.npy", "-o", "o.npy"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("complex64") && stderr(&out).contains("c.npy"),
        "{}",
        stderr(&out)
    );
    let out = outcore_in(d, &["argsort", "c.npy", "-o", "o.npy"]);
    assert_eq!(code(&out), 2);
    let out = outcore_in(d, &["sort", "v.npy", "-o", "o.npy", "--by", "0"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!d.join("o.npy").exists());
    // The temporary runs do not fit the temporary directory: exit 1, nothing anywhere.
    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    let tmp = disk.path().to_str().unwrap();
    let out = outcore_in(
        d,
        &[
            "sort",
            "v.npy",
            "-o",
            "o.npy",
            "--mem",
            "1M",
            "--tmp-dir",
            tmp,
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("disk full"), "{}", stderr(&out));
    assert!(!d.join("o.npy").exists());
    assert_empty_dir(disk.path());
}

/// An external sort frees its runs while the final merge writes the output, and does not
/// reserve the output's space before the runs: on a disk with room for the runs and a little
/// more, sorting to that disk succeeds (runs + output would not fit) and equals NumPy's sort.
/// Where the rest of the output cannot fit, it is refused before any work: exit 1, nothing
/// left behind.
#[test]
fn external_sort_needs_room_for_the_runs_not_runs_plus_output() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 16 MB of float64: runs 15.3 MiB, output 15.3 MiB, on a 24 MiB disk (one merge pass at
    // --mem 4M; a smaller budget merges in two passes, whose second run file does not fit).
    write_npy(d, "v.npy", "np.random.default_rng(5).random(2_000_000)");
    let Some(disk) = SmallDisk::mount("24m") else {
        return;
    };
    let on_disk = disk.path().to_str().unwrap();
    let dest = disk.path().join("o.npy");
    let sort_to = |dest: &str, tmp: &str| {
        outcore_in(
            d,
            &[
                "sort",
                "v.npy",
                "-o",
                dest,
                "--mem",
                "4M",
                "--threads",
                "2",
                "--tmp-dir",
                tmp,
            ],
        )
    };
    let out = sort_to(dest.to_str().unwrap(), on_disk);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let check = format!(
        "import numpy as np\nb = np.load({:?})\nprint('ok' if np.array_equal(np.sort(np.load('v.npy')), b) else 'differs')",
        dest.to_str().unwrap()
    );
    assert_eq!(crate::util::python(d, &check).trim(), "ok");
    std::fs::remove_file(&dest).unwrap();
    // Runs in a directory of their own (not given back to the small disk), output to the
    // small disk with 12 MiB taken: the output cannot fit, refused before the runs are sorted.
    std::fs::write(disk.path().join("filler"), vec![1u8; 12 << 20]).unwrap();
    std::fs::create_dir(d.join("tmp")).unwrap();
    let out = sort_to(dest.to_str().unwrap(), d.join("tmp").to_str().unwrap());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("disk full"), "{}", stderr(&out));
    assert!(stderr(&out).contains("sorted output"), "{}", stderr(&out));
    assert!(!dest.exists());
    std::fs::remove_file(disk.path().join("filler")).unwrap();
    assert_empty_dir(disk.path());
    assert_empty_dir(&d.join("tmp"));
}

/// `sort_into_range` writes exactly the bytes `sort` writes as a `.npy`'s data, at the offset,
/// and nothing else in the file: in memory, spilled (external merge), and rows of a 2-d array.
#[test]
fn sort_into_range_writes_the_sorted_data_into_its_range_only() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let flat = write_npy(
        d,
        "flat.npy",
        "np.where(np.random.default_rng(3).random(600_000) < 0.01, np.nan, np.random.default_rng(4).normal(size=600_000))",
    );
    let rows = write_npy(
        d,
        "rows.npy",
        "np.random.default_rng(6).integers(-50, 50, size=(300, 77)).astype('>i4')",
    );
    // (input, budget, flatten): 4.8 MB sorted in memory, and with a 1 MiB budget (spilled).
    let cases = [
        (&flat, 64 << 20, true),
        (&flat, 1 << 20, true),
        (&rows, 64 << 20, false),
    ];
    for (i, (input, mem, flatten)) in cases.into_iter().enumerate() {
        let ctx = Context::builder()
            .memory(mem)
            .threads(2)
            .tmp_dir(&tmp)
            .build()
            .unwrap();
        let input = Array::open(input).unwrap();
        let opts = SortOptions {
            flatten,
            ..Default::default()
        };
        let whole = d.join(format!("whole{i}.npy"));
        sort(&ctx, &input, &whole, &opts).unwrap();
        let expected = std::fs::read(&whole).unwrap();
        let expected = &expected[Array::open(&whole).unwrap().data_offset()..];
        // A file of 0xAB with the range at an offset that is not a page multiple.
        let offset = 3 * 4096 + 64;
        let target = d.join(format!("target{i}.raw"));
        std::fs::write(&target, vec![0xABu8; offset + expected.len() + 5000]).unwrap();
        let stats = sort_into_range(&ctx, &input, &target, offset as u64, &opts).unwrap();
        if mem == 1 << 20 {
            assert!(
                stats.spilled_bytes > 0,
                "case {i}: expected a spill, {stats:?}"
            );
        }
        let got = std::fs::read(&target).unwrap();
        assert_eq!(got.len(), offset + expected.len() + 5000, "case {i}");
        assert!(
            got[..offset].iter().all(|&b| b == 0xAB),
            "case {i}: bytes before"
        );
        assert!(
            got[offset + expected.len()..].iter().all(|&b| b == 0xAB),
            "case {i}: bytes after"
        );
        assert!(
            got[offset..offset + expected.len()] == *expected,
            "case {i}: the data differ"
        );
        assert_empty_dir(&tmp);
    }
    // `sort` itself is checked against np.sort above; check one directly too.
    let check = "import numpy as np\na = np.load('flat.npy')\nb = np.fromfile('target1.raw', dtype='<f8', offset=3 * 4096 + 64, count=a.size)\nprint('ok' if np.array_equal(np.sort(a), b, equal_nan=True) else 'differs')";
    assert_eq!(crate::util::python(d, check).trim(), "ok");

    // Refusals leave the file as it was: missing, too short, misaligned, the input itself.
    let ctx = context(64 << 20, 2);
    let input = Array::open(&flat).unwrap();
    let opts = SortOptions {
        flatten: true,
        ..Default::default()
    };
    let e = sort_into_range(&ctx, &input, d.join("missing.raw"), 0, &opts).unwrap_err();
    assert!(e.to_string().contains("cannot open"), "{e}");
    assert!(!d.join("missing.raw").exists());
    let short = d.join("short.raw");
    std::fs::write(&short, vec![7u8; 4_800_000]).unwrap();
    let e = sort_into_range(&ctx, &input, &short, 8, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("beyond the end"), "{e}");
    std::fs::write(&short, vec![7u8; 4_800_100]).unwrap();
    let e = sort_into_range(&ctx, &input, &short, 4, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("multiple of"), "{e}");
    assert!(std::fs::read(&short).unwrap().iter().all(|&b| b == 7));
    let e = sort_into_range(&ctx, &input, &flat, 128, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SameFile, "{e}");
}

#[test]
fn cli_sigterm_during_a_sort_exits_143_and_cleans_up() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tmp")).unwrap();
    write_npy(d, "v.npy", "np.random.default_rng(2).random(12_000_000)");
    let args = [
        "sort",
        "v.npy",
        "-o",
        "o.npy",
        "--mem",
        "1M",
        "--threads",
        "2",
        "--tmp-dir",
        "tmp",
    ];
    let (status, _) = signal_outcore(d, &args, std::time::Duration::from_millis(700), "TERM");
    assert_eq!(status.code(), Some(143));
    assert!(!d.join("o.npy").exists());
    assert_empty_dir(&d.join("tmp"));
}

/// `by` takes any number of key columns (it refused more than 8): 10, 20 and 40 key columns
/// (repeats and negative indices among them) against NumPy's `lexsort`, rows moved intact,
/// and the argsort's indices.
#[test]
fn sort_by_many_columns_matches_lexsort() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Few distinct values per column, so that ties reach the last key columns.
    let t = write_npy(
        d,
        "t.npy",
        "np.random.default_rng(9).integers(0, 2, (5000, 45)).astype('<i4')",
    );
    let input = Array::open(&t).unwrap();
    let ctx = context(1 << 20, 2);
    let key_sets: [Vec<isize>; 3] = [
        (0..10).rev().collect(),
        (0..20)
            .map(|i| if i % 3 == 0 { -1 - i } else { i })
            .chain([4, 4])
            .collect(),
        (0..40).collect(),
    ];
    for (k, by) in key_sets.iter().enumerate() {
        let opts = SortOptions {
            by: by.clone(),
            ..SortOptions::default()
        };
        sort(&ctx, &input, d.join(format!("s{k}.npy")), &opts).unwrap();
        argsort(&ctx, &input, d.join(format!("i{k}.npy")), &opts).unwrap();
    }
    let check = format!(
        r#"
import numpy as np
t = np.load('{t}')
for k, by in enumerate({sets:?}):
    # lexsort's primary key is its last one.
    order = np.lexsort([t[:, c] for c in reversed(by)])
    assert (np.load(f'{d}/i{{k}}.npy') == order).all(), k
    assert (np.load(f'{d}/s{{k}}.npy') == t[order]).all(), k
print('ok')
"#,
        t = t.display(),
        d = d.display(),
        sets = key_sets
    );
    let out = Command::new("python3")
        .args(["-c", &check])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SPEC §9: sort and argsort results are bit-identical whatever the threads, budget and
/// chunk size — in memory and external, single- and multi-pass — also where NumPy leaves the
/// order open: `-0.0` against `+0.0`, NaNs of different payloads and signs, and equal keys of
/// an unstable argsort.
#[test]
fn results_are_bit_identical_across_threads_budgets_and_chunks() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // Zeros of both signs, NaNs of several payloads and both signs, many duplicates.
    let input = write_npy(
        d,
        "in.npy",
        "(lambda r: (np.where(r.random(400_000) < 0.2, \
            r.choice(np.array([0.0, -0.0, np.nan, -np.nan, 1.5]), 400_000), \
            np.round(r.normal(size=400_000), 1)).view('<u8') \
            | np.where(r.random(400_000) < 0.05, np.uint64(0x7ff0000000000001), \
            np.uint64(0)) * r.integers(1, 4, 400_000, dtype=np.uint64)).view('<f8')) \
            (np.random.default_rng(7))",
    );
    let input = Array::open(&input).unwrap();
    // In memory (parallel and serial), external one-pass and multi-pass.
    let grid: [(usize, usize, usize); 7] = [
        (64 << 20, 1, 1 << 20),
        (64 << 20, 2, 1 << 20),
        (64 << 20, 3, 64 << 10),
        (4 << 20, 2, 256 << 10),
        (2 << 20, 3, 1 << 20),
        (1 << 20, 2, 64 << 10),
        (512 << 10, 1, 32 << 10),
    ];
    for (what, descending, stable) in [
        ("sort", false, false),
        ("sort", true, false),
        ("sort", false, true),
        ("sort", true, true),
        ("argsort", false, false),
        ("argsort", true, false),
        ("argsort", false, true),
    ] {
        let opts = SortOptions {
            descending,
            stable,
            ..SortOptions::default()
        };
        let mut first: Option<(Vec<u8>, (usize, usize, usize))> = None;
        let mut spilled = false;
        for &(mem, threads, chunk) in &grid {
            let ctx = Context::builder()
                .memory(mem)
                .threads(threads)
                .chunk_bytes(chunk)
                .tmp_dir(&tmp)
                .build()
                .unwrap();
            let dest = d.join("out.npy");
            let _ = std::fs::remove_file(&dest);
            let stats = match what {
                "sort" => sort(&ctx, &input, &dest, &opts),
                _ => argsort(&ctx, &input, &dest, &opts),
            }
            .unwrap();
            spilled |= stats.spilled_bytes > 0;
            let bytes = std::fs::read(&dest).unwrap();
            match &first {
                None => first = Some((bytes, (mem, threads, chunk))),
                Some((want, at)) => assert!(
                    *want == bytes,
                    "{what} descending={descending} stable={stable}: (mem, threads, chunk) \
                     {:?} differs from {at:?}",
                    (mem, threads, chunk)
                ),
            }
        }
        assert!(spilled, "the grid must include external sorts");
    }
    assert_empty_dir(&tmp);
}
