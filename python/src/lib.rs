//! `outcore._core`: the Rust half of the Python package.
//!
//! The pure-Python package (`python/outcore/__init__.py`) normalises the arguments — paths,
//! `numpy.memmap`s and in-memory arrays become `Source` tuples, keywords are checked — and
//! calls the functions here, which run the job in-process through the outcore library. This
//! layer only converts arguments, runs the job off the GIL and maps errors (see module `job`).

use std::path::PathBuf;

use numpy::{PyArray1, PyUntypedArray};
use outcore_engine::{
    npy, Array, ByteOrder, DType, Layout, Order, OutputCache, OutputFile, OutputOptions, RawSpec,
};
use outcore_kernels::copy::{self, parse_index, ConvertOptions};
use outcore_kernels::expr::{eval_to_file, eval_to_memory};
use outcore_kernels::gather;
use outcore_kernels::gen::{generate, Fill};
use outcore_kernels::reduce::{self as red, ReduceOp, Value};
use outcore_kernels::sort::{self, SortOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

mod job;
mod memory;

use job::{run_job, to_py_err, JobOptions};
use memory::MemoryBytes;

/// Where an input's bytes are: a `.npy` file, a raw file (`np.memmap`), or memory.
enum Source {
    Npy(PathBuf),
    Raw(PathBuf, RawSpec),
    Memory(MemoryBytes, Layout),
}

impl Source {
    /// Opens the input (on the job's thread: opening maps files and reads headers).
    fn open(self) -> outcore_engine::Result<Array> {
        match self {
            Source::Npy(path) => Array::open(path),
            Source::Raw(path, spec) => Array::open_raw(&path, spec, outcore_engine::Mode::Read),
            Source::Memory(bytes, layout) => Array::from_memory(bytes, layout),
        }
    }

    /// The file the input lives in, so that an output may not replace it.
    fn path(&self) -> Option<PathBuf> {
        match self {
            Source::Npy(p) | Source::Raw(p, _) => Some(p.clone()),
            Source::Memory(..) => None,
        }
    }
}

/// A dtype as the CLI's `--dtype` reads it, or the `descr` list of a record dtype.
fn parse_dtype(text: &str) -> PyResult<DType> {
    DType::from_descr(text).map_err(to_py_err)
}

fn parse_order(text: &str) -> PyResult<Order> {
    Order::parse(text).map_err(to_py_err)
}

/// A source tuple as the Python half builds it:
/// `("npy", path)`, `("raw", path, dtype, shape, offset, order)` or
/// `("mem", ndarray, dtype, shape, order)`.
impl Source {
    /// Extracted here rather than as an argument, so that an error (a bad dtype of a memmap)
    /// reaches Python as the library's message alone.
    fn extract(ob: &Bound<'_, PyAny>) -> PyResult<Source> {
        let t = ob.cast::<PyTuple>()?;
        let kind: String = t.get_item(0)?.extract()?;
        match kind.as_str() {
            "npy" => Ok(Source::Npy(t.get_item(1)?.extract()?)),
            "raw" => {
                let path: PathBuf = t.get_item(1)?.extract()?;
                let dtype = parse_dtype(&t.get_item(2)?.extract::<String>()?)?;
                let shape: Vec<usize> = t.get_item(3)?.extract()?;
                let offset: u64 = t.get_item(4)?.extract()?;
                let order = parse_order(&t.get_item(5)?.extract::<String>()?)?;
                Ok(Source::Raw(
                    path,
                    RawSpec {
                        dtype,
                        shape,
                        offset,
                        order,
                    },
                ))
            }
            "mem" => {
                let item = t.get_item(1)?;
                let array = item.cast::<PyUntypedArray>()?;
                let dtype = parse_dtype(&t.get_item(2)?.extract::<String>()?)?;
                let shape: Vec<usize> = t.get_item(3)?.extract()?;
                let order = parse_order(&t.get_item(4)?.extract::<String>()?)?;
                let layout = Layout::new(dtype, shape, order).map_err(to_py_err)?;
                let bytes = MemoryBytes::new(array, order)?;
                Ok(Source::Memory(bytes, layout))
            }
            other => Err(PyValueError::new_err(format!(
                "internal error: unknown source kind {other:?}"
            ))),
        }
    }
}

/// Output options for a job writing from `sources`.
fn output_options(opts: &JobOptions, sources: &[&Source]) -> OutputOptions {
    OutputOptions {
        force: opts.force,
        inputs: sources.iter().filter_map(|s| s.path()).collect(),
        cache: OutputCache::default(),
        sync: opts.sync,
    }
}

/// `info --json` as a dict.
#[pyfunction]
fn info(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyDict>> {
    let p = path.clone();
    let header = py
        .detach(move || npy::read_header_at(&p))
        .map_err(to_py_err)?;
    let layout = &header.layout;
    let d = PyDict::new(py);
    d.set_item("path", path.to_string_lossy())?;
    d.set_item(
        "version",
        format!("{}.{}", header.version.0, header.version.1),
    )?;
    d.set_item("dtype", layout.dtype().str_code())?;
    d.set_item("shape", layout.shape().to_vec())?;
    d.set_item("order", layout.order().as_str())?;
    d.set_item("data_offset", header.data_offset)?;
    d.set_item("nbytes", layout.nbytes())?;
    Ok(d)
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn gen(
    py: Python<'_>,
    out: PathBuf,
    dtype: &str,
    shape: Vec<usize>,
    fill: &str,
    seed: u64,
    order: &str,
    opts: JobOptions,
) -> PyResult<()> {
    let fill = Fill::parse(fill).map_err(to_py_err)?;
    let layout = Layout::new(parse_dtype(dtype)?, shape, parse_order(order)?).map_err(to_py_err)?;
    let oo = output_options(&opts, &[]);
    run_job(py, &opts, move |ctx| {
        generate(ctx, &out, &layout, fill, seed, &oo)
    })
}

/// A scalar result for Python: its dtype string and value.
fn value_to_py(py: Python<'_>, v: Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::UInt(u) => u.into_pyobject(py)?.into_any().unbind(),
        Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
    })
}

/// A whole-array reduction: `(dtype, value, warnings)`; with `out`, the value is also written
/// there as an array of shape `out_shape` (0-d, or all ones for keepdims).
#[pyfunction]
fn reduce_all(
    py: Python<'_>,
    op: &str,
    src: &Bound<'_, PyAny>,
    ddof: f64,
    out: Option<PathBuf>,
    out_shape: Vec<usize>,
    opts: JobOptions,
) -> PyResult<(String, Py<PyAny>, Vec<String>)> {
    let src = Source::extract(src)?;
    let op = ReduceOp::parse(op).map_err(to_py_err)?;
    let oo = output_options(&opts, &[&src]);
    let r = run_job(py, &opts, move |ctx| {
        let array = src.open()?;
        let Some(dest) = out else {
            return red::reduce_all_with(ctx, &array, op, ddof);
        };
        // The output is created before the work, so that an existing destination or a full
        // disk is an error up front.
        let kind = array
            .dtype()
            .scalar_kind()
            .map(|k| red::result_kind(op, k))
            .unwrap_or(outcore_engine::ScalarKind::F64);
        let layout = Layout::new(DType::native(kind), out_shape, Order::C)?;
        let mut file = OutputFile::create_npy(&dest, &layout, &oo)?;
        let r = red::reduce_all_with(ctx, &array, op, ddof)?;
        let kind = r.dtype.scalar_kind().unwrap_or(kind);
        red::encode(r.value, kind, &mut file.data_mut()[..kind.size()]);
        file.commit()?;
        Ok(r)
    })?;
    Ok((r.dtype.str_code(), value_to_py(py, r.value)?, r.warnings))
}

/// An axis reduction. With `out`: written there (`keepdims` keeps the axis as length 1), and
/// returns `(None, warnings)`. Without: returns `((bytes, dtype, shape, order), warnings)`,
/// the native bytes of the result in its memory order as a uint8 array.
#[pyfunction]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn reduce_axis<'py>(
    py: Python<'py>,
    op: &str,
    src: &Bound<'_, PyAny>,
    axis: i64,
    ddof: f64,
    keepdims: bool,
    out: Option<PathBuf>,
    opts: JobOptions,
) -> PyResult<(
    Option<(Bound<'py, PyArray1<u8>>, String, Vec<usize>, String)>,
    Vec<String>,
)> {
    let src = Source::extract(src)?;
    let op = ReduceOp::parse(op).map_err(to_py_err)?;
    let oo = output_options(&opts, &[&src]);
    let to_file = out.is_some();
    let r = run_job(py, &opts, move |ctx| {
        let array = src.open()?;
        let ndim = array.shape().len() as i64;
        let k = if axis < 0 { axis + ndim } else { axis };
        match out {
            Some(dest) if !keepdims => {
                red::reduce_axis_to_file(ctx, &array, op, axis, ddof, &dest, &oo)
            }
            Some(dest) => {
                let mut r = red::reduce_axis(ctx, &array, op, axis, ddof)?;
                let mut shape = r.layout.shape().to_vec();
                shape.insert(k as usize, 1);
                r.layout = Layout::new(r.layout.dtype().clone(), shape, r.layout.order())?;
                r.write_npy(&dest, &oo)?;
                Ok(r)
            }
            None => red::reduce_axis(ctx, &array, op, axis, ddof),
        }
    })?;
    if to_file {
        return Ok((None, r.warnings));
    }
    let dtype = r.layout.dtype().str_code();
    let shape = r.layout.shape().to_vec();
    let order = r.layout.order().as_str().to_string();
    let bytes = PyArray1::from_vec(py, r.data);
    Ok((Some((bytes, dtype, shape, order)), r.warnings))
}

/// `stats --json` as a dict of Python ints and floats.
#[pyfunction]
fn stats<'py>(
    py: Python<'py>,
    src: &Bound<'py, PyAny>,
    opts: JobOptions,
) -> PyResult<Bound<'py, PyDict>> {
    let src = Source::extract(src)?;
    let s = run_job(py, &opts, move |ctx| red::stats(ctx, &src.open()?))?;
    let d = PyDict::new(py);
    d.set_item("count", s.count)?;
    d.set_item("sum", value_to_py(py, s.sum)?)?;
    d.set_item("mean", s.mean)?;
    d.set_item("std", s.std)?;
    let ext = |v: Option<Value>| v.map(|v| value_to_py(py, v)).transpose();
    d.set_item("min", ext(s.min)?)?;
    d.set_item("max", ext(s.max)?)?;
    d.set_item("nan_count", s.nan_count)?;
    Ok(d)
}

#[pyfunction]
#[pyo3(name = "eval")]
fn eval_expr(
    py: Python<'_>,
    expr: String,
    out: PathBuf,
    names: Vec<(String, Bound<'_, PyAny>)>,
    dtype: Option<&str>,
    opts: JobOptions,
) -> PyResult<()> {
    let dtype = dtype.map(parse_dtype).transpose()?;
    let names = names
        .into_iter()
        .map(|(n, s)| Ok((n, Source::extract(&s)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let sources: Vec<&Source> = names.iter().map(|(_, s)| s).collect();
    let oo = output_options(&opts, &sources);
    run_job(py, &opts, move |ctx| {
        let mut bound = Vec::with_capacity(names.len());
        for (name, src) in names {
            bound.push((name, src.open()?));
        }
        let named: Vec<(&str, &Array)> = bound.iter().map(|(n, a)| (n.as_str(), a)).collect();
        eval_to_file(ctx, &expr, &named, &out, dtype.as_ref(), &oo).map(|_| ())
    })
}

/// `eval` into memory: returns `(bytes, dtype, shape)`, the result's bytes (C order) as a
/// uint8 array that the Python half views as its dtype, without a copy.
#[pyfunction]
fn eval_memory<'py>(
    py: Python<'py>,
    expr: String,
    names: Vec<(String, Bound<'_, PyAny>)>,
    dtype: Option<&str>,
    opts: JobOptions,
) -> PyResult<(Bound<'py, PyArray1<u8>>, String, Vec<usize>)> {
    let dtype = dtype.map(parse_dtype).transpose()?;
    let names = names
        .into_iter()
        .map(|(n, s)| Ok((n, Source::extract(&s)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let (data, summary) = run_job(py, &opts, move |ctx| {
        let mut bound = Vec::with_capacity(names.len());
        for (name, src) in names {
            bound.push((name, src.open()?));
        }
        let named: Vec<(&str, &Array)> = bound.iter().map(|(n, a)| (n.as_str(), a)).collect();
        eval_to_memory(ctx, &expr, &named, dtype.as_ref())
    })?;
    let dtype = summary.layout.dtype().str_code();
    let shape = summary.layout.shape().to_vec();
    Ok((PyArray1::from_vec(py, data), dtype, shape))
}

fn sort_options(
    opts: &JobOptions,
    descending: bool,
    stable: bool,
    flatten: bool,
    by: Vec<isize>,
) -> SortOptions {
    SortOptions {
        descending,
        stable,
        flatten,
        by,
        output: output_options(opts, &[]),
    }
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "sort")]
fn sort_array(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    descending: bool,
    stable: bool,
    flatten: bool,
    by: Vec<isize>,
    opts: JobOptions,
    out_offset: Option<u64>,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let so = sort_options(&opts, descending, stable, flatten, by);
    run_job(py, &opts, move |ctx| {
        let input = src.open()?;
        match out_offset {
            Some(offset) => sort::sort_into_range(ctx, &input, &out, offset, &so),
            None => sort::sort(ctx, &input, &out, &so),
        }
        .map(|_| ())
    })
}

#[pyfunction]
fn argsort(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    descending: bool,
    stable: bool,
    flatten: bool,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let so = sort_options(&opts, descending, stable, flatten, Vec::new());
    run_job(py, &opts, move |ctx| {
        sort::argsort(ctx, &src.open()?, &out, &so).map(|_| ())
    })
}

#[pyfunction]
fn transpose(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    axes: Option<Vec<isize>>,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let oo = output_options(&opts, &[&src]);
    run_job(py, &opts, move |ctx| {
        copy::transpose(ctx, &src.open()?, axes.as_deref(), &out, &oo).map(|_| ())
    })
}

#[pyfunction]
fn reshape(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    shape: Vec<isize>,
    order: &str,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let order = parse_order(order)?;
    let oo = output_options(&opts, &[&src]);
    run_job(py, &opts, move |ctx| {
        copy::reshape(ctx, &src.open()?, &shape, order, &out, &oo).map(|_| ())
    })
}

#[pyfunction]
#[pyo3(name = "slice")]
fn slice_array(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    index: &str,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let index = parse_index(index).map_err(to_py_err)?;
    let oo = output_options(&opts, &[&src]);
    run_job(py, &opts, move |ctx| {
        copy::slice(ctx, &src.open()?, &index, &out, &oo).map(|_| ())
    })
}

#[pyfunction]
fn convert(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    dtype: Option<&str>,
    order: &str,
    byteorder: Option<&str>,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let options = ConvertOptions {
        dtype: dtype.map(parse_dtype).transpose()?,
        order: parse_order(order)?,
        byteorder: byteorder
            .map(ByteOrder::parse)
            .transpose()
            .map_err(to_py_err)?,
        to_raw: false,
    };
    let oo = output_options(&opts, &[&src]);
    run_job(py, &opts, move |ctx| {
        copy::convert(ctx, &src.open()?, &options, &out, &oo).map(|_| ())
    })
}

/// Parses a byte size such as `512M` or `4GiB` (the CLI's `--mem`).
#[pyfunction]
fn parse_bytes(text: &str) -> PyResult<usize> {
    outcore_engine::parse_bytes(text).map_err(to_py_err)
}

/// Parses a dtype as the CLI does and returns NumPy's `dtype.str` of it.
#[pyfunction]
fn dtype_str(text: &str) -> PyResult<String> {
    Ok(parse_dtype(text)?.str_code())
}

// --- Gather, select and join: take, mask, concat ----------------------------------------------

#[pyfunction]
fn take(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    out: PathBuf,
    axis: Option<isize>,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let indices = Source::extract(indices)?;
    let oo = output_options(&opts, &[&src, &indices]);
    run_job(py, &opts, move |ctx| {
        gather::take(ctx, &src.open()?, &indices.open()?, axis, &out, &oo).map(|_| ())
    })
}

#[pyfunction]
fn mask(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    m: &Bound<'_, PyAny>,
    out: PathBuf,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let m = Source::extract(m)?;
    let oo = output_options(&opts, &[&src, &m]);
    run_job(py, &opts, move |ctx| {
        gather::mask(ctx, &src.open()?, &m.open()?, &out, &oo).map(|_| ())
    })
}

#[pyfunction]
fn concat(
    py: Python<'_>,
    srcs: Vec<Bound<'_, PyAny>>,
    out: PathBuf,
    axis: isize,
    stack: bool,
    opts: JobOptions,
) -> PyResult<()> {
    let srcs = srcs
        .iter()
        .map(Source::extract)
        .collect::<PyResult<Vec<_>>>()?;
    let oo = output_options(&opts, &srcs.iter().collect::<Vec<_>>());
    run_job(py, &opts, move |ctx| {
        let arrays = srcs
            .into_iter()
            .map(Source::open)
            .collect::<outcore_engine::Result<Vec<_>>>()?;
        let refs: Vec<&Array> = arrays.iter().collect();
        gather::concat(ctx, &refs, axis, stack, &out, &oo).map(|_| ())
    })
}

// ---- Exact analytics: scan, histogram, quantile, unique ----

/// `np.cumsum`-like scans into `out`.
#[pyfunction]
#[pyo3(name = "scan")]
fn scan_array(
    py: Python<'_>,
    op: &str,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    axis: Option<i64>,
    opts: JobOptions,
) -> PyResult<()> {
    let src = Source::extract(src)?;
    let op = outcore_kernels::scan::ScanOp::parse(op).map_err(to_py_err)?;
    let oo = output_options(&opts, &[&src]);
    run_job(py, &opts, move |ctx| {
        outcore_kernels::scan::scan_to_file(ctx, &src.open()?, op, axis, &out, &oo).map(|_| ())
    })
}

/// `np.histogram`: `(counts, edges, edges' dtype)`.
#[pyfunction]
#[pyo3(name = "histogram")]
fn histogram_array(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    bins: usize,
    range: Option<(f64, f64)>,
    opts: JobOptions,
) -> PyResult<(Vec<i64>, Vec<f64>, String)> {
    let src = Source::extract(src)?;
    let h = run_job(py, &opts, move |ctx| {
        outcore_kernels::histogram::histogram(ctx, &src.open()?, bins, range)
    })?;
    let kind = DType::native(h.edge_kind.scalar_kind()).str_code();
    Ok((h.counts, h.edges, kind))
}

/// `np.quantile`: `(native bytes as uint8, dtype, shape)`; also written to `out` if given.
#[pyfunction]
#[pyo3(name = "quantile")]
#[allow(clippy::too_many_arguments)]
fn quantile_array<'py>(
    py: Python<'py>,
    src: &Bound<'_, PyAny>,
    q: Vec<f64>,
    method: &str,
    axis: Option<isize>,
    scalar_q: bool,
    out: Option<PathBuf>,
    opts: JobOptions,
) -> PyResult<(Bound<'py, PyArray1<u8>>, String, Vec<usize>)> {
    use outcore_kernels::quantile::{quantile, QuantileMethod, QuantileOptions};
    let src = Source::extract(src)?;
    let method = QuantileMethod::parse(method).map_err(to_py_err)?;
    let oo = output_options(&opts, &[&src]);
    let qo = QuantileOptions {
        method,
        axis,
        scalar_q,
    };
    let r = run_job(py, &opts, move |ctx| {
        let array = src.open()?;
        let r = quantile(ctx, &array, &q, &qo)?;
        if let Some(dest) = out {
            let layout = Layout::new(r.dtype.clone(), r.shape.clone(), Order::C)?;
            let mut file = OutputFile::create_npy(&dest, &layout, &oo)?;
            file.data_mut().copy_from_slice(&r.to_bytes());
            file.commit()?;
        }
        Ok(r)
    })?;
    let bytes = PyArray1::from_vec(py, r.to_bytes());
    Ok((bytes, r.dtype.str_code(), r.shape))
}

/// `np.unique` into `out` (and the counts into `counts`): the number of distinct values.
#[pyfunction]
#[pyo3(name = "unique")]
fn unique_array(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    out: PathBuf,
    counts: Option<PathBuf>,
    opts: JobOptions,
) -> PyResult<usize> {
    use outcore_kernels::unique::{unique, UniqueOptions};
    let src = Source::extract(src)?;
    let uo = UniqueOptions {
        counts,
        keep: 0,
        output: output_options(&opts, &[&src]),
        ..UniqueOptions::default()
    };
    let u = run_job(py, &opts, move |ctx| {
        unique(ctx, &src.open()?, Some(&out), &uo)
    })?;
    Ok(u.len)
}

// ---- end of exact analytics ----

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_function(wrap_pyfunction!(gen, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_all, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_axis, m)?)?;
    m.add_function(wrap_pyfunction!(stats, m)?)?;
    m.add_function(wrap_pyfunction!(eval_expr, m)?)?;
    m.add_function(wrap_pyfunction!(eval_memory, m)?)?;
    m.add_function(wrap_pyfunction!(sort_array, m)?)?;
    m.add_function(wrap_pyfunction!(argsort, m)?)?;
    m.add_function(wrap_pyfunction!(transpose, m)?)?;
    m.add_function(wrap_pyfunction!(reshape, m)?)?;
    m.add_function(wrap_pyfunction!(slice_array, m)?)?;
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add_function(wrap_pyfunction!(parse_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(dtype_str, m)?)?;
    // Gather, select and join.
    m.add_function(wrap_pyfunction!(take, m)?)?;
    m.add_function(wrap_pyfunction!(mask, m)?)?;
    m.add_function(wrap_pyfunction!(concat, m)?)?;
    // Exact analytics.
    m.add_function(wrap_pyfunction!(scan_array, m)?)?;
    m.add_function(wrap_pyfunction!(histogram_array, m)?)?;
    m.add_function(wrap_pyfunction!(quantile_array, m)?)?;
    m.add_function(wrap_pyfunction!(unique_array, m)?)?;
    Ok(())
}
