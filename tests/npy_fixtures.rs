use outcore::kernels::reduce::{reduce_all, ReduceOp, Value};
use outcore::{npy, Array, ByteOrder, Context, DType, Mode, Order, RawSpec, ScalarKind};
use serde_json::Value as Json;

use crate::util::{code, fixtures, outcore, stderr};

fn manifest(name: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Decoded {
    Bool(bool),
    I(i64),
    U(u64),
    F(f64),
    C(f64, f64),
}

fn decode(b: &[u8], kind: ScalarKind, order: ByteOrder) -> Decoded {
    let mut v = b.to_vec();
    if order != ByteOrder::Little {
        match kind {
            ScalarKind::C64 | ScalarKind::C128 => {
                let h = v.len() / 2;
                v[..h].reverse();
                v[h..].reverse();
            }
            _ => v.reverse(),
        }
    }
    let a8 = |s: &[u8]| <[u8; 8]>::try_from(s).unwrap();
    let a4 = |s: &[u8]| <[u8; 4]>::try_from(s).unwrap();
    let a2 = |s: &[u8]| <[u8; 2]>::try_from(s).unwrap();
    match kind {
        ScalarKind::Bool => Decoded::Bool(v[0] != 0),
        ScalarKind::I8 => Decoded::I(v[0] as i8 as i64),
        ScalarKind::I16 => Decoded::I(i16::from_le_bytes(a2(&v)) as i64),
        ScalarKind::I32 => Decoded::I(i32::from_le_bytes(a4(&v)) as i64),
        ScalarKind::I64 => Decoded::I(i64::from_le_bytes(a8(&v))),
        ScalarKind::U8 => Decoded::U(v[0] as u64),
        ScalarKind::U16 => Decoded::U(u16::from_le_bytes(a2(&v)) as u64),
        ScalarKind::U32 => Decoded::U(u32::from_le_bytes(a4(&v)) as u64),
        ScalarKind::U64 => Decoded::U(u64::from_le_bytes(a8(&v))),
        ScalarKind::F16 => Decoded::F(half::f16::from_le_bytes(a2(&v)).to_f64()),
        ScalarKind::F32 => Decoded::F(f32::from_le_bytes(a4(&v)) as f64),
        ScalarKind::F64 => Decoded::F(f64::from_le_bytes(a8(&v))),
        ScalarKind::C64 => Decoded::C(
            f32::from_le_bytes(a4(&v[..4])) as f64,
            f32::from_le_bytes(a4(&v[4..])) as f64,
        ),
        ScalarKind::C128 => Decoded::C(
            f64::from_le_bytes(a8(&v[..8])),
            f64::from_le_bytes(a8(&v[8..])),
        ),
    }
}

fn parse_float(j: &Json) -> f64 {
    j.as_str()
        .expect("floats are repr strings")
        .parse::<f64>()
        .unwrap()
}

fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn matches(d: Decoded, j: &Json) -> bool {
    match d {
        Decoded::Bool(b) => j.as_bool() == Some(b),
        Decoded::I(i) => j.as_i64() == Some(i),
        Decoded::U(u) => j.as_u64() == Some(u),
        Decoded::F(f) => same_float(f, parse_float(j)),
        Decoded::C(re, im) => {
            same_float(re, parse_float(&j[0])) && same_float(im, parse_float(&j[1]))
        }
    }
}

/// Memory position of the element with flat C-order index `c` in a layout of `order`.
fn memory_position(shape: &[usize], order: Order, mut c: usize) -> usize {
    if order == Order::C {
        return c;
    }
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        idx[k] = c % d;
        c /= d;
    }
    let strides = outcore::strides_for(shape, Order::F);
    idx.iter().zip(&strides).map(|(i, s)| i * s).sum()
}

/// The array's elements' bytes in logical C order.
fn logical_items(a: &Array) -> Vec<&[u8]> {
    let item = a.dtype().itemsize();
    (0..a.len())
        .map(|c| {
            let p = memory_position(a.shape(), a.order(), c);
            &a.data()[p * item..(p + 1) * item]
        })
        .collect()
}

fn check_values(a: &Array, entry: &Json) {
    let file = entry["file"].as_str().unwrap();
    let items = logical_items(a);
    if let Some(values) = entry["values"].as_array() {
        let kind = a.dtype().scalar_kind().unwrap();
        assert_eq!(values.len(), items.len(), "{file}");
        for (i, (bytes, want)) in items.iter().zip(values).enumerate() {
            let got = decode(bytes, kind, a.dtype().byte_order());
            assert!(
                matches(got, want),
                "{file}[{i}]: got {got:?}, NumPy has {want}"
            );
        }
    }
    if let Some(hex) = entry["raw_c_hex"].as_str() {
        let got: String = items.concat().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, hex, "{file}: logical bytes differ from NumPy's");
    }
}

fn check_reductions(ctx: &Context, a: &Array, entry: &Json) {
    let file = entry["file"].as_str().unwrap();
    let Some(kind) = a.dtype().scalar_kind() else {
        return;
    };
    if kind.is_complex() || a.is_empty() {
        return;
    }
    for (op, key) in [
        (ReduceOp::Sum, "sum"),
        (ReduceOp::Min, "min"),
        (ReduceOp::Max, "max"),
    ] {
        let want = &entry[key];
        let got = reduce_all(ctx, a, op).unwrap().value;
        let ok = match got {
            Value::Bool(b) => want.as_bool() == Some(b),
            Value::Int(i) => want.as_i64() == Some(i),
            Value::UInt(u) => want.as_u64() == Some(u),
            Value::Float(f) if op != ReduceOp::Sum => same_float(f, parse_float(want)),
            Value::Float(f) => match entry.get("fsum") {
                // Finite data: compare with the correctly rounded sum (ours is pairwise in f64,
                // so closer to it than NumPy's own low-precision sums of f2/f4).
                Some(exact) => {
                    let exact = parse_float(exact);
                    let tol = match kind {
                        ScalarKind::F16 => 1e-3,
                        ScalarKind::F32 => 1e-6,
                        _ => 1e-12,
                    };
                    (f - exact).abs() <= tol * exact.abs().max(1.0)
                }
                None => same_float(f, parse_float(want)),
            },
        };
        assert!(ok, "{file}: {key} = {got:?}, NumPy says {want}");
    }
}

#[test]
fn every_fixture_reads_like_numpy() {
    let ctx = Context::builder()
        .threads(2)
        .memory(1 << 20)
        .chunk_bytes(4096)
        .build()
        .unwrap();
    let mut checked = 0;
    for entry in manifest("manifest.json") {
        let file = entry["file"].as_str().unwrap();
        let path = fixtures().join(file);
        let shape: Vec<usize> = entry["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let order = if entry["fortran_order"].as_bool().unwrap() {
            Order::F
        } else {
            Order::C
        };
        let a = if entry["kind"] == "raw" {
            let spec = RawSpec {
                dtype: DType::parse(entry["dtype_str"].as_str().unwrap()).unwrap(),
                shape: shape.clone(),
                offset: entry["raw_offset"].as_u64().unwrap(),
                order: Order::parse(entry["raw_order"].as_str().unwrap()).unwrap(),
            };
            Array::open_raw(&path, spec, Mode::Read).unwrap()
        } else {
            let a = Array::open(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(a.order(), order, "{file}");
            let v = a.version().unwrap();
            assert_eq!(
                format!("{}.{}", v.0, v.1),
                entry["version"].as_str().unwrap(),
                "{file}"
            );
            assert_eq!(
                a.data_offset() as u64,
                entry["data_offset"].as_u64().unwrap(),
                "{file}"
            );
            a
        };
        assert_eq!(
            a.dtype().str_code(),
            entry["dtype_str"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(a.shape(), &shape[..], "{file}");
        assert_eq!(
            a.nbytes() as u64,
            entry["nbytes"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            a.dtype().itemsize() as u64,
            entry["itemsize"].as_u64().unwrap(),
            "{file}"
        );
        if entry["kind"] == "npy" {
            // The descr we would write is the one NumPy wrote (quotes and all).
            if entry["writer"] != "handmade" {
                assert_eq!(
                    a.dtype().descr_repr(),
                    entry["descr"].as_str().unwrap(),
                    "{file}"
                );
            }
        }
        check_values(&a, &entry);
        check_reductions(&ctx, &a, &entry);
        checked += 1;
    }
    assert!(checked > 100, "only {checked} fixtures checked");
}

#[test]
fn header_writer_is_byte_identical_to_numpy() {
    let mut compared = 0;
    for entry in manifest("manifest.json") {
        if entry["kind"] != "npy" || entry["writer"] == "handmade" {
            continue;
        }
        let file = entry["file"].as_str().unwrap();
        let a = Array::open(fixtures().join(file)).unwrap();
        let ours = npy::header_bytes(a.layout());
        let theirs = entry["header_bytes_hex"].as_str().unwrap();
        // A version forced by the fixture script (write_array(version=...)) is not what either
        // writer would choose; compare the files whose version is NumPy's own choice.
        let natural = ours[6] == a.version().unwrap().0;
        if natural {
            let hex: String = ours.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, theirs, "{file}: header differs from NumPy's");
            compared += 1;
        }
    }
    assert!(compared > 80, "only {compared} headers compared");
}

#[test]
fn hostile_files_are_refused_with_a_message() {
    let accepted_by_design = ["bad/header_no_newline.npy", "bad/trailing_data.npy"];
    for entry in manifest("bad_manifest.json") {
        let file = entry["file"].as_str().unwrap();
        let path = fixtures().join(file);
        let result = Array::open(&path);
        if accepted_by_design.contains(&file) {
            assert!(result.is_ok(), "{file}: NumPy reads it, so do we");
            continue;
        }
        let err = result
            .err()
            .unwrap_or_else(|| panic!("{file} ({}) was accepted", entry["why"]));
        let msg = err.to_string();
        assert!(
            msg.contains(file.rsplit('/').next().unwrap()),
            "{file}: message does not name the file: {msg}"
        );
        let out = outcore(&["info", path.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{file}");
    }
}

#[test]
fn random_header_bytes_never_panic() {
    use proptest::prelude::*;
    let base = npy::header_bytes(
        &outcore::Layout::new(DType::parse("<f8").unwrap(), vec![3, 4], Order::C).unwrap(),
    );
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(
            &(
                proptest::collection::vec(any::<(usize, u8)>(), 0..12),
                any::<u16>(),
            ),
            |(edits, cut)| {
                let mut bytes = base.clone();
                for (pos, b) in edits {
                    let n = bytes.len();
                    bytes[pos % n] = b;
                }
                bytes.truncate(cut as usize % (base.len() + 1));
                let _ = npy::parse_header(&bytes, npy::MAX_HEADER_SIZE);
                Ok(())
            },
        )
        .unwrap();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..300), |bytes| {
            let _ = npy::parse_header(&bytes, npy::MAX_HEADER_SIZE);
            Ok(())
        })
        .unwrap();
}
