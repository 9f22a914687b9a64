//! What a new user meets first: each command's help (its own options, then the output and
//! global ones under their headings, value lists, an example), where flags may go, and the
//! errors of a first try naming the flag to change.

use crate::require_numpy;
use crate::util::{code, outcore, outcore_in, python, stderr, stdout};

/// Every command, and whether it writes a file (and so takes the output flags).
const COMMANDS: [(&str, bool); 15] = [
    ("info", false),
    ("gen", true),
    ("reduce", true),
    ("histogram", true),
    ("scan", true),
    ("sort", true),
    ("argsort", true),
    ("transpose", true),
    ("reshape", true),
    ("slice", true),
    ("convert", true),
    ("stats", false),
    ("eval", true),
    ("demo", false),
    ("bench", false),
];

const OUTPUT_FLAGS: [&str; 4] = ["--force", "--output-cache", "--tmp-dir", "--no-sync"];
const GLOBAL_FLAGS: [&str; 4] = ["--threads", "--mem", "--chunk", "--quiet"];

fn help(command: &str) -> String {
    let out = outcore(&[command, "--help"]);
    assert_eq!(code(&out), 0, "{command}: {}", stderr(&out));
    stdout(&out)
}

/// The text of the section of `help` under `heading` (up to the next blank line).
fn section<'a>(help: &'a str, heading: &str) -> Option<&'a str> {
    let start = help.find(&format!("\n{heading}:\n"))? + heading.len() + 3;
    let rest = &help[start..];
    Some(&rest[..rest.find("\n\n").unwrap_or(rest.len())])
}

#[test]
fn each_command_lists_its_own_options_first_then_output_and_global_ones_and_an_example() {
    for (command, writes) in COMMANDS {
        let text = help(command);
        let own = section(&text, "Options").unwrap_or_else(|| panic!("{command}:\n{text}"));
        let global =
            section(&text, "Global options").unwrap_or_else(|| panic!("{command}:\n{text}"));
        assert!(
            text.find("\nOptions:").unwrap() < text.find("\nGlobal options:").unwrap(),
            "{command}:\n{text}"
        );
        for flag in GLOBAL_FLAGS {
            assert!(
                global.contains(flag),
                "{command}: {flag} not global:\n{text}"
            );
            assert!(
                !own.contains(flag),
                "{command}: {flag} among its own:\n{text}"
            );
        }
        match section(&text, "Output options") {
            Some(output) => {
                assert!(writes, "{command} writes nothing but lists:\n{output}");
                for flag in OUTPUT_FLAGS {
                    assert!(output.contains(flag), "{command}: no {flag}:\n{text}");
                }
            }
            None => {
                assert!(!writes, "{command} has no output options:\n{text}");
                for flag in OUTPUT_FLAGS {
                    assert!(!text.contains(flag), "{command} lists {flag}:\n{text}");
                }
            }
        }
        let example = section(&text, "Example").unwrap_or_else(|| panic!("{command}:\n{text}"));
        assert!(
            example
                .trim_start()
                .starts_with(&format!("outcore {command} ")),
            "{command}: {example}"
        );
    }
}

#[test]
fn help_lists_the_values_a_flag_takes() {
    let gen = help("gen");
    assert!(
        gen.contains("[possible values: random, normal, arange, zeros, ones, randint:LO:HI]"),
        "{gen}"
    );
    assert!(gen.contains("[possible values: C, F]"), "{gen}");
    assert!(gen.contains("[possible values: auto, keep, drop]"), "{gen}");
    let convert = help("convert");
    assert!(
        convert.contains("[possible values: little, big, native]"),
        "{convert}"
    );
    assert_eq!(
        convert.matches("[possible values: C, F]").count(),
        2,
        "{convert}"
    );
}

/// Output flags go after the command's name or, as the global ones may, before it; before a
/// command that writes nothing they are an error, not ignored.
#[test]
fn output_flags_before_the_command_apply_to_it_and_are_refused_for_commands_that_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = |lead: &[&str], fill: &str| {
        let mut args = lead.to_vec();
        args.extend([
            "gen", "x.npy", "--dtype", "i2", "--shape", "4", "--fill", fill,
        ]);
        outcore_in(d, &args)
    };
    assert_eq!(code(&gen(&[], "zeros")), 0);
    let out = gen(&[], "ones");
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "outcore: error: x.npy: output already exists (replacing it was not asked for); \
         --force replaces it"
    );
    let out = gen(&["--force", "--output-cache", "drop"], "arange");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let written = outcore::Array::open(d.join("x.npy")).unwrap();
    assert_eq!(*written.as_slice::<i16>().unwrap(), [0, 1, 2, 3]);
    // --no-sync changes when the bytes reach the disk, not which bytes are written.
    let out = outcore_in(
        d,
        &[
            "reduce",
            "sum",
            "x.npy",
            "--axis",
            "0",
            "-o",
            "s.npy",
            "--no-sync",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let sum = outcore::Array::open(d.join("s.npy")).unwrap();
    assert_eq!(
        (sum.shape(), &*sum.as_slice::<i64>().unwrap()),
        (&[][..], &[6][..])
    );
    let out = outcore_in(d, &["--force", "info", "x.npy"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "outcore: error: --force: info writes no file"
    );
    let out = outcore_in(d, &["info", "x.npy", "--tmp-dir", "."]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unexpected argument '--tmp-dir'"),
        "{}",
        stderr(&out)
    );
}

/// The library's messages describe values; the command line puts the flag first.
#[test]
fn context_errors_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 3] = [
        (
            "--threads",
            "0",
            "outcore: error: --threads: threads must be at least 1",
        ),
        (
            "--chunk",
            "0",
            "outcore: error: --chunk: chunk size must be positive",
        ),
        (
            "--mem",
            "10",
            "outcore: error: memory budget 10 bytes is below the minimum of 262144 bytes; \
             --mem sets the budget",
        ),
    ];
    for (flag, value, want) in cases {
        let out = outcore_in(
            dir.path(),
            &["gen", "x.npy", "--dtype", "f8", "--shape", "3", flag, value],
        );
        assert_eq!((code(&out), stderr(&out).trim()), (2, want));
    }
    assert!(!dir.path().join("x.npy").exists());
    let message = |b: outcore::ContextBuilder| b.build().err().map(|e| e.message().to_string());
    assert_eq!(
        message(outcore::Context::builder().threads(0)).as_deref(),
        Some("threads must be at least 1")
    );
    assert_eq!(
        message(outcore::Context::builder().chunk_bytes(0)).as_deref(),
        Some("chunk size must be positive")
    );
}

/// An axis result too large to print is refused before the reduction runs: here the
/// reduction itself would fail (nanargmin of all-NaN rows), so its error would show if it ran
/// first.
#[test]
fn reduce_refuses_a_result_too_large_to_print_before_computing_it() {
    require_numpy!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    python(
        d,
        "import numpy as np; np.save('nan.npy', np.full((2000, 3), np.nan))",
    );
    let out = outcore_in(d, &["reduce", "nanargmin", "nan.npy", "--axis", "1"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).trim(),
        "outcore: error: the result has 2000 elements (shape [2000]), too many to print: \
         write it to a file with -o OUT"
    );
    // A result that fits is printed; the same reduction written with -o fails as NumPy does.
    let out = outcore_in(d, &["reduce", "max", "nan.npy", "--axis", "0"]);
    assert_eq!((code(&out), stdout(&out).trim()), (0, "[nan, nan, nan]"));
    let out = outcore_in(
        d,
        &[
            "reduce",
            "nanargmin",
            "nan.npy",
            "--axis",
            "1",
            "-o",
            "i.npy",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("All-NaN slice"), "{}", stderr(&out));
    assert!(!d.join("i.npy").exists());
}

/// gen's dtype errors suggest only dtypes gen can make.
#[test]
fn gen_dtype_errors_suggest_dtypes_gen_makes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "S10",
            "gen makes numeric and bool arrays; S10 is a bytes dtype",
        ),
        (
            "<U4",
            "gen makes numeric and bool arrays; <U4 is a unicode string dtype",
        ),
        (
            "V8",
            "gen makes numeric and bool arrays; V8 is a raw void dtype",
        ),
        (
            "float128",
            "unknown dtype \"float128\" (gen makes numeric and bool arrays",
        ),
    ];
    for (dtype, want) in cases {
        let out = outcore_in(
            dir.path(),
            &["gen", "x.npy", "--dtype", dtype, "--shape", "3"],
        );
        assert_eq!(code(&out), 2, "{dtype}");
        let err = stderr(&out);
        assert!(err.contains(want), "{dtype}: {err}");
        assert!(!err.contains("S10, U4"), "{dtype}: {err}");
    }
    assert!(!dir.path().join("x.npy").exists());
}

/// `--no-sync` writes the same bytes as the default on every kind of writing command (the
/// sort's runs and merge included), and its outputs still appear only when complete: a sort
/// stopped by SIGINT exits 130 and leaves neither the output nor a temporary file.
#[test]
fn no_sync_outputs_are_the_same_bytes_and_only_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = outcore_in(d, args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    };
    run(&[
        "gen", "x.npy", "--dtype", "float64", "--shape", "300,700", "--fill", "normal",
    ]);
    let jobs: [&[&str]; 6] = [
        &["sort", "x.npy", "--flatten", "--mem", "1M"],
        &["argsort", "x.npy", "--mem", "1M"],
        &["eval", "2*x + 1", "x=x.npy"],
        &["transpose", "x.npy"],
        &["convert", "x.npy", "--dtype", "float32", "--order", "F"],
        &["reduce", "mean", "x.npy", "--axis", "0"],
    ];
    for (k, job) in jobs.iter().enumerate() {
        let (durable, fast) = (format!("d{k}.npy"), format!("f{k}.npy"));
        run(&[job, &["-o", durable.as_str()][..]].concat());
        run(&[job, &["-o", fast.as_str(), "--no-sync"][..]].concat());
        let (a, b) = (
            std::fs::read(d.join(&durable)).unwrap(),
            std::fs::read(d.join(&fast)).unwrap(),
        );
        assert!(
            a.len() > 128 && a == b,
            "{job:?}: --no-sync wrote other bytes"
        );
    }
    // Stopped by SIGINT part-way through a spilling sort: nothing under the output's name,
    // nothing in the temporary directory.
    std::fs::create_dir(d.join("tmp")).unwrap();
    run(&[
        "gen", "big.npy", "--dtype", "float64", "--shape", "12000000", "--fill", "random",
    ]);
    let args = [
        "sort",
        "big.npy",
        "-o",
        "o.npy",
        "--mem",
        "1M",
        "--threads",
        "2",
        "--tmp-dir",
        "tmp",
        "--no-sync",
    ];
    let (status, _) =
        crate::util::signal_outcore(d, &args, std::time::Duration::from_millis(700), "INT");
    assert_eq!(status.code(), Some(130));
    assert!(!d.join("o.npy").exists());
    assert_eq!(std::fs::read_dir(d.join("tmp")).unwrap().count(), 0);
}
