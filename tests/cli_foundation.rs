use serde_json::Value as Json;

use crate::require_numpy;
use crate::util::{code, fixtures, outcore, outcore_in, python, stderr, stdout};

#[test]
fn info_json_agrees_with_numpy_on_every_fixture() {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).unwrap();
    let manifest: Vec<Json> = serde_json::from_str(&text).unwrap();
    for entry in manifest.iter().filter(|e| e["kind"] == "npy") {
        let path = fixtures().join(entry["file"].as_str().unwrap());
        let out = outcore(&["info", path.to_str().unwrap(), "--json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let info: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(info["dtype"], entry["dtype_str"], "{path:?}");
        assert_eq!(info["shape"], entry["shape"], "{path:?}");
        assert_eq!(info["version"], entry["version"], "{path:?}");
        assert_eq!(info["data_offset"], entry["data_offset"], "{path:?}");
        assert_eq!(info["nbytes"], entry["nbytes"], "{path:?}");
        let order = if entry["fortran_order"].as_bool().unwrap() {
            "F"
        } else {
            "C"
        };
        assert_eq!(info["order"], order, "{path:?}");
        assert_eq!(info["path"], path.to_str().unwrap());
    }
}

#[test]
fn info_json_agrees_with_numpy_on_files_made_now() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let expected = python(
        dir.path(),
        r#"
import numpy as np, json
from numpy.lib import format as fmt
rng = np.random.default_rng(7)
out = []
dts = ['?','i1','u1','<i2','>i2','<u4','>u4','<i8','>u8','<f2','>f2','<f4','>f4','<f8','>f8','<c8','>c16','S7','<U3',
       np.dtype([('a','<i4'),('b','>f8',(2,)),('c','S2')])]
shapes = [(), (0,), (5,), (3, 0, 2), (4, 7), (2, 3, 5), (1, 1, 1, 1), (2, 1, 3, 1, 2)]
for i, dt in enumerate(dts):
    for j, shape in enumerate(shapes):
        a = np.zeros(shape, dtype=dt)
        if (i + j) % 2:
            a = np.asfortranarray(a)
        name = f'f{i}_{j}.npy'
        version = [None, (1, 0), (2, 0), (3, 0)][(i * 3 + j) % 4]
        with open(name, 'wb') as f:
            fmt.write_array(f, a, version=version)
        raw = open(name, 'rb').read(12)
        v = (raw[6], raw[7])
        off = 10 + int.from_bytes(raw[8:10], 'little') if v[0] == 1 else 12 + int.from_bytes(raw[8:12], 'little')
        out.append({'file': name, 'dtype': a.dtype.str, 'shape': list(a.shape),
                    'order': 'F' if (a.flags.f_contiguous and not a.flags.c_contiguous) else 'C',
                    'version': f'{v[0]}.{v[1]}', 'data_offset': off, 'nbytes': a.nbytes})
print(json.dumps(out))
"#,
    );
    let files: Vec<Json> = serde_json::from_str(expected.trim()).unwrap();
    assert!(files.len() > 100);
    for f in &files {
        let out = outcore_in(dir.path(), &["info", f["file"].as_str().unwrap(), "--json"]);
        assert_eq!(code(&out), 0, "{}: {}", f["file"], stderr(&out));
        let info: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        for key in ["dtype", "shape", "version", "data_offset", "nbytes"] {
            assert_eq!(info[key], f[key], "{}: {key}", f["file"]);
        }
        // NumPy writes 1-d and smaller Fortran arrays as C order (they are both).
        if f["shape"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d.as_u64().unwrap() > 1)
            .count()
            > 1
        {
            assert_eq!(info["order"], f["order"], "{}", f["file"]);
        }
    }
}

#[test]
fn gen_output_loads_in_numpy_with_the_asked_layout() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("float64", "1000", "C", "arange"),
        (">f4", "37,41", "F", "arange"),
        ("<f2", "5,6,7", "C", "arange"),
        ("int8", "300", "C", "arange"),
        (">i2", "9,11", "F", "arange"),
        ("uint32", "3,4,5", "F", "arange"),
        ("<u8", "17", "C", "ones"),
        ("bool", "4,5", "C", "arange"),
        ("complex64", "6,2", "F", "arange"),
        (">c16", "3", "C", "zeros"),
        ("i4", "", "C", "arange"),
        ("f8", "0,3", "C", "arange"),
    ];
    let mut script = String::from("import numpy as np\n");
    for (i, (dt, shape, order, fill)) in cases.iter().enumerate() {
        let name = format!("g{i}.npy");
        let out = outcore_in(
            dir.path(),
            &[
                "gen", &name, "--dtype", dt, "--shape", shape, "--order", order, "--fill", fill,
                "--chunk", "4096",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let np_shape = if shape.is_empty() {
            "()".to_string()
        } else {
            format!("({shape},)")
        };
        let expect = match *fill {
            "arange" => format!(
                "np.arange(int(np.prod({np_shape}))).reshape({np_shape}).astype(np.dtype('{dt}'))"
            ),
            "ones" => format!("np.ones({np_shape}, dtype=np.dtype('{dt}'))"),
            _ => format!("np.zeros({np_shape}, dtype=np.dtype('{dt}'))"),
        };
        script += &format!(
            "a = np.load('{name}')\n\
             assert a.dtype == np.dtype('{dt}') and a.dtype.str == np.dtype('{dt}').str, ('{name}', a.dtype)\n\
             assert a.shape == {np_shape}, ('{name}', a.shape)\n\
             assert a.ndim < 2 or a.flags.{}_contiguous, '{name} order'\n\
             assert np.array_equal(a, {expect}), '{name} values'\n",
            if *order == "F" { "f" } else { "c" }
        );
    }
    python(dir.path(), &script);
}

#[test]
fn gen_seed_is_reproducible_and_fills_are_in_range() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = outcore_in(dir.path(), args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    run(&[
        "gen", "a.npy", "--dtype", "f8", "--shape", "100000", "--seed", "5",
    ]);
    run(&[
        "gen",
        "b.npy",
        "--dtype",
        "f8",
        "--shape",
        "100000",
        "--seed",
        "5",
        "--threads",
        "1",
        "--chunk",
        "8192",
    ]);
    run(&[
        "gen", "c.npy", "--dtype", "f8", "--shape", "100000", "--seed", "6",
    ]);
    run(&[
        "gen", "n.npy", "--dtype", "f4", "--shape", "200000", "--fill", "normal",
    ]);
    run(&[
        "gen",
        "r.npy",
        "--dtype",
        "i2",
        "--shape",
        "50000",
        "--fill",
        "randint:-7:13",
    ]);
    run(&["gen", "u.npy", "--dtype", "u1", "--shape", "50000"]);
    run(&["gen", "t.npy", "--dtype", "bool", "--shape", "50000"]);
    assert_eq!(
        std::fs::read(dir.path().join("a.npy")).unwrap(),
        std::fs::read(dir.path().join("b.npy")).unwrap(),
        "same seed, same bytes, whatever the threads and chunks"
    );
    python(
        dir.path(),
        r#"
import numpy as np
a, c = np.load('a.npy'), np.load('c.npy')
assert not np.array_equal(a, c)
assert a.min() >= 0 and a.max() < 1 and abs(a.mean() - 0.5) < 0.01
n = np.load('n.npy')
assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01, (n.mean(), n.std())
r = np.load('r.npy')
assert r.min() == -7 and r.max() == 12
u = np.load('u.npy')
assert u.min() == 0 and u.max() == 255
t = np.load('t.npy')
assert 0.45 < t.mean() < 0.55
"#,
    );
}

#[test]
fn reduce_agrees_with_numpy() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let specs = [
        ("f8", "C", "normal"),
        (">f8", "F", "random"),
        ("<f4", "C", "normal"),
        ("f2", "C", "random"),
        ("i1", "C", "random"),
        (">i2", "F", "random"),
        ("<i8", "C", "random"),
        ("u2", "C", "random"),
        (">u8", "C", "random"),
        ("bool", "C", "random"),
    ];
    for (i, (dt, order, fill)) in specs.iter().enumerate() {
        let name = format!("r{i}.npy");
        let out = outcore_in(
            dir.path(),
            &[
                "gen",
                &name,
                "--dtype",
                dt,
                "--shape",
                "301,257",
                "--order",
                order,
                "--fill",
                fill,
                "--seed",
                &i.to_string(),
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        for op in ["sum", "min", "max"] {
            let out = outcore_in(
                dir.path(),
                &[
                    "reduce", op, &name, "--json", "--chunk", "4096", "--mem", "1M",
                ],
            );
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let got: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
            let check = python(
                dir.path(),
                &format!(
                    r#"
import numpy as np, json
a = np.load('{name}')
r = getattr(np, '{op}')(a)
if a.dtype.kind == 'f' and '{op}' == 'sum':
    exact = np.sum(a, dtype=np.float64)
    got = float({value})
    tol = {{'e': 2e-3, 'f': 1e-6, 'd': 1e-12}}[a.dtype.char]
    assert abs(got - exact) <= tol * max(1, abs(exact)), (got, exact)
else:
    got = np.array({value}, dtype=r.dtype)
    assert got == r or (np.isnan(r) and np.isnan(got)), (got, r)
assert json.loads('{dtype}') == r.dtype.str, ('{dtype}', r.dtype.str)
"#,
                    value = if got["value"].is_boolean() {
                        if got["value"].as_bool().unwrap() {
                            "True".into()
                        } else {
                            "False".into()
                        }
                    } else {
                        got["value"].to_string()
                    },
                    dtype = got["dtype"],
                ),
            );
            let _ = check;
            assert_eq!(got["op"], op);
        }
    }
}

#[test]
fn sum_of_a_file_many_times_the_budget_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    // 16 MiB of arange float64 with a 1 MiB budget: hundreds of chunks, exact integer sum.
    let n: u64 = 2 * 1024 * 1024;
    let out = outcore_in(
        dir.path(),
        &[
            "gen",
            "big.npy",
            "--dtype",
            "f8",
            "--shape",
            &n.to_string(),
            "--fill",
            "arange",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = outcore_in(
        dir.path(),
        &[
            "reduce",
            "sum",
            "big.npy",
            "--json",
            "--mem",
            "1M",
            "--threads",
            "2",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(got["value"].as_f64().unwrap(), (n * (n - 1) / 2) as f64);
    let out = outcore_in(
        dir.path(),
        &["reduce", "max", "big.npy", "--json", "--mem", "1M"],
    );
    let got: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(got["value"].as_f64().unwrap(), (n - 1) as f64);
}

#[test]
fn bad_usage_and_bad_input_exit_2_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = outcore_in(d, &["gen", "x.npy", "--dtype", "f8", "--shape", "10"]);
    assert_eq!(code(&ok), 0);
    let before = std::fs::read(d.join("x.npy")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["gen", "y.npy", "--dtype", "float128", "--shape", "3"],
            "unknown dtype",
        ),
        (
            vec!["gen", "y.npy", "--dtype", "f8", "--shape", "3,-1"],
            "invalid dimension",
        ),
        (
            vec![
                "gen", "y.npy", "--dtype", "f8", "--shape", "3", "--fill", "uniform",
            ],
            "invalid fill",
        ),
        (
            vec!["gen", "y.npy", "--dtype", "S4", "--shape", "3"],
            "S4 is a bytes dtype",
        ),
        (
            vec![
                "gen",
                "y.npy",
                "--dtype",
                "f8",
                "--shape",
                "4294967296,4294967296",
            ],
            "too large",
        ),
        (
            vec!["gen", "x.npy", "--dtype", "f8", "--shape", "3"],
            "already exists",
        ),
        (vec!["reduce", "sum", "missing.npy"], "No such file"),
        (vec!["reduce", "median", "x.npy"], "unknown reduction"),
        (vec!["reduce", "sum", "."], "directory"),
        (vec!["info", "missing.npy"], "No such file"),
        (
            vec![
                "gen", "y.npy", "--dtype", "f8", "--shape", "3", "--mem", "12Q",
            ],
            "invalid size",
        ),
        (
            vec![
                "gen",
                "y.npy",
                "--dtype",
                "f8",
                "--shape",
                "3",
                "--threads",
                "0",
            ],
            "--threads: threads must be at least 1",
        ),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, needle) in cases {
        let out = outcore_in(d, &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(!d.join("y.npy").exists());
    assert_eq!(std::fs::read(d.join("x.npy")).unwrap(), before);
    // Empty arrays: sum is 0, min has no identity (NumPy raises ValueError).
    assert_eq!(
        code(&outcore_in(
            d,
            &["gen", "e.npy", "--dtype", "i4", "--shape", "0"]
        )),
        0
    );
    let out = outcore_in(d, &["reduce", "sum", "e.npy", "--json"]);
    assert_eq!(
        stdout(&out).trim(),
        r#"{"op":"sum","dtype":"<i8","value":0}"#
    );
    let out = outcore_in(d, &["reduce", "min", "e.npy"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("zero-size array"), "{}", stderr(&out));
    // Arithmetic on complex is refused, naming the dtype.
    assert_eq!(
        code(&outcore_in(
            d,
            &["gen", "c.npy", "--dtype", "c16", "--shape", "4"]
        )),
        0
    );
    let out = outcore_in(d, &["reduce", "sum", "c.npy"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("<c16"), "{}", stderr(&out));
    // --force replaces an existing output.
    let out = outcore_in(
        d,
        &["gen", "x.npy", "--dtype", "i2", "--shape", "3", "--force"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read(d.join("x.npy")).unwrap().len(), 128 + 6);
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn sigint_stops_a_job_with_130_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let args = [crate::util::LONG_GEN, &["--fill", "normal"]].concat();
    let (status, took) = crate::util::signal_outcore(
        dir.path(),
        &args,
        std::time::Duration::from_millis(700),
        "INT",
    );
    assert!(took.as_secs_f64() < 5.0, "took too long to stop");
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn bench_verifies_every_kernel_and_reports_every_ratio() {
    // A small `outcore bench`: every kernel's result is checked by the bench itself after
    // timing (a wrong one makes it fail), every row has its floor, and the work directory is
    // removed. Timings are not asserted.
    let dir = tempfile::tempdir().unwrap();
    let out = outcore(&[
        "bench",
        "--size",
        "4M",
        "--dir",
        dir.path().to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    let rows = report["results"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for kernel in [
        "floor: pread scan",
        "floor: write new file",
        "reduce sum",
        "stats",
        "gen random",
        "eval 2*x+1",
        "sort (8x budget)",
        "argsort",
        "convert f8->f4",
        "transpose",
    ] {
        assert!(names.contains(&kernel), "{kernel} missing from {names:?}");
    }
    for r in rows {
        assert_eq!(r["verified"], true, "{r}");
        let ratio = r["ratio_to_floor"].as_f64().unwrap();
        assert!(ratio.is_finite() && ratio > 0.0, "{r}");
        // The transpose's square matrix holds the nearest square number of elements.
        if r["name"] != "transpose" {
            assert_eq!(r["bytes"].as_u64(), Some(4 << 20), "{r}");
        }
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
