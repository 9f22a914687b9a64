//! External merge sort of `.npy` arrays: `sort` and `argsort` with NumPy's semantics, for data
//! of any size inside a memory budget. See `README.md` in this directory for the design.
//!
//! ```no_run
//! use outcore_engine::{Array, Context};
//! use outcore_kernels::sort::{sort, SortOptions};
//! let ctx = Context::builder().memory(64 << 20).build()?;
//! let input = Array::open("big.npy")?;
//! sort(&ctx, &input, "sorted.npy", &SortOptions::default())?;
//! # Ok::<(), outcore_engine::Error>(())
//! ```

mod driver;
mod keys;
mod merge;
mod radix;
mod record;
mod sample;
mod source;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use outcore_engine::{
    err, Array, ByteOrder, Context, DType, Layout, Order, OutputFile, OutputOptions, Pattern,
    Result, ResultExt, ScalarKind,
};

pub use keys::SortKey;
pub use merge::{split_points, Merger};
pub use radix::sort_records;
pub use record::{Canon, Record};

use driver::{FreeWorkOnDrop, Job, Reaper};
use source::{
    IndexSink, IndexSource, Reader, RowKeySource, RowSink, Sink, Source, ValueSink, ValueSource,
};

/// Most distinct key columns of a record sort: records carry a key word per column, and
/// widths are compiled in (exact up to 8 columns, the common case, then padded).
pub const MAX_KEY_COLUMNS: usize = 1024;

/// How to sort.
#[derive(Debug, Clone, Default)]
pub struct SortOptions {
    /// Largest first (NaNs still last).
    pub descending: bool,
    /// Equal keys keep their input order (`kind='stable'`).
    pub stable: bool,
    /// Sort all elements as one 1-d array (`axis=None`) instead of each row of the last axis.
    pub flatten: bool,
    /// Sort the rows of a 2-d table lexicographically by these columns (negative counts from
    /// the end), moving whole rows. Empty: an ordinary sort.
    pub by: Vec<isize>,
    /// How the output is made: replacing an existing file, page-cache policy, sync. The
    /// temporary runs go to the context's temporary directory
    /// ([`ContextBuilder::tmp_dir`](outcore_engine::ContextBuilder::tmp_dir)), else beside
    /// the output.
    pub output: OutputOptions,
}

/// What a sort did (for tests, benchmarks and curious users).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortStats {
    /// Sorted runs formed (in memory or spilled).
    pub runs: usize,
    /// Merge passes over spilled runs, the final one included.
    pub merge_passes: usize,
    /// Bytes written to temporary files.
    pub spilled_bytes: u64,
    /// Segments (rows, or the whole array) sorted without spilling.
    pub in_memory_segments: usize,
}

/// Sorts `input` into a new `.npy` file `dest` (C order, the input's dtype): along the last
/// axis, or flattened, or by rows of a table; see [`SortOptions`].
pub fn sort(
    ctx: &Context,
    input: &Array,
    dest: impl AsRef<Path>,
    opts: &SortOptions,
) -> Result<SortStats> {
    run(ctx, input, dest.as_ref(), None, opts, false)
}

/// Like [`sort`], but writes the sorted data raw (no header) into bytes `offset..offset +
/// nbytes` of the existing file `file` rather than a new `.npy`: a distributed sort writes
/// each key range straight into its place in one output file. The caller made the file at its
/// full size and owns its name (see
/// [`OutputFile::open_region`](outcore_engine::OutputFile::open_region)); `opts.output.force`
/// is not consulted.
pub fn sort_into_range(
    ctx: &Context,
    input: &Array,
    file: impl AsRef<Path>,
    offset: u64,
    opts: &SortOptions,
) -> Result<SortStats> {
    run(ctx, input, file.as_ref(), Some(offset), opts, false)
}

/// Writes the `int64` indices that sort `input` (like `np.argsort`; always stable, so with
/// `stable` it equals `np.argsort(kind='stable')`). With `by`, the row order of the table
/// (like `np.lexsort` on those columns).
pub fn argsort(
    ctx: &Context,
    input: &Array,
    dest: impl AsRef<Path>,
    opts: &SortOptions,
) -> Result<SortStats> {
    run(ctx, input, dest.as_ref(), None, opts, true)
}

/// How the records of a job are laid out.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// One sequence of `n` records (flattened, 1-d, or the rows of a `--by` table).
    Flat(usize),
    /// `rows` independent rows of `row_len` elements.
    Rows { rows: usize, row_len: usize },
}

struct Plan<'a> {
    ctx: &'a Context,
    reader: Reader<'a>,
    pattern: Pattern,
    tmp_dir: PathBuf,
    opts: &'a SortOptions,
    shape: Shape,
    /// Deletes scratch files in the background; dropped (waiting for them) after the output
    /// is committed, or on the way out of a failed job.
    reaper: Reaper,
}

/// `region`: write raw into the existing file `dest` at this byte offset (`sort_into_range`).
fn run(
    ctx: &Context,
    input: &Array,
    dest: &Path,
    region: Option<u64>,
    opts: &SortOptions,
    indices: bool,
) -> Result<SortStats> {
    let what = if indices { "argsort" } else { "sort" };
    let kind = input.dtype().require_real(what).at(input.path())?;
    let shape = input.shape();
    let n = input.len();
    let by = resolve_columns(&opts.by, shape, opts.flatten).at(input.path())?;
    // NumPy's argsort of a 0-d array is `[0]` (as if flattened); its sort raises.
    let flatten = opts.flatten || (indices && shape.is_empty());
    if by.is_none() && !flatten && shape.is_empty() {
        return Err(err!(
            InvalidArgument,
            "cannot {what} a 0-d array along its last axis (use --flatten)"
        )
        .with_path(input.path()));
    }
    let (job_shape, out_shape) = match (&by, flatten) {
        (Some(_), _) => (
            Shape::Flat(shape[0]),
            if indices {
                vec![shape[0]]
            } else {
                shape.to_vec()
            },
        ),
        (None, true) => (Shape::Flat(n), vec![n]),
        (None, false) if shape.len() == 1 => (Shape::Flat(n), shape.to_vec()),
        (None, false) => {
            let row_len = shape[shape.len() - 1];
            let rows = n.checked_div(row_len).unwrap_or(0);
            (Shape::Rows { rows, row_len }, shape.to_vec())
        }
    };
    let out_dtype = if indices {
        DType::scalar(ScalarKind::I64, ByteOrder::NATIVE)
    } else {
        input.dtype().clone()
    };
    let layout = Layout::new(out_dtype, out_shape, Order::C).at(dest)?;
    if let Some(offset) = region {
        // Typed writes need the data aligned to its items (a .npy's data always is).
        let item = layout.dtype().itemsize() as u64;
        if offset % item != 0 {
            return Err(err!(
                InvalidArgument,
                "the output offset {offset} is not a multiple of the item size ({item} bytes)"
            )
            .with_path(dest));
        }
    }
    let out_opts = OutputOptions {
        inputs: vec![input.path().to_path_buf()],
        ..opts.output.clone()
    };
    let mut out = match region {
        Some(offset) => OutputFile::open_region(dest, offset, layout.nbytes(), &out_opts)?,
        // Unallocated: an external sort frees its runs while it writes the output, and only
        // the in-memory paths (which write through the mapping) allocate it
        // (`Job::sort_segment`).
        None => OutputFile::create_npy_unallocated(dest, &layout, &out_opts)?,
    };
    let tmp_dir = ctx.scratch_dir_for(dest);
    let reader = Reader::new(input.input(), input.layout());
    let plan = Plan {
        ctx,
        pattern: if reader.is_contiguous() {
            Pattern::Sequential
        } else {
            Pattern::Random
        },
        reader,
        tmp_dir,
        opts,
        shape: job_shape,
        reaper: Reaper::default(),
    };
    let stats = outcore_engine::with_scalar_type!(kind, T => {
        match &by {
            Some(columns) => by_columns::<T>(&plan, columns, indices, &mut out),
            None if indices => argsort_typed::<T>(&plan, &mut out),
            None => sort_typed::<T>(&plan, input.dtype().needs_swap(), &mut out),
        }
    }, complex => Err(err!(UnsupportedDType, "{what} is not supported for complex dtypes")))
    .at(input.path())?;
    out.commit()?;
    Ok(stats)
}

/// Checks `by` columns against the shape; `None` for an ordinary sort.
fn resolve_columns(by: &[isize], shape: &[usize], flatten: bool) -> Result<Option<Vec<usize>>> {
    if by.is_empty() {
        return Ok(None);
    }
    if shape.len() != 2 {
        return Err(err!(
            InvalidArgument,
            "by sorts the rows of a 2-d table, but the array has shape {shape:?}"
        ));
    }
    if flatten {
        return Err(err!(InvalidArgument, "by and flatten cannot be combined"));
    }
    let cols = shape[1] as isize;
    let mut columns = Vec::with_capacity(by.len());
    for &c in by {
        let i = if c < 0 { c + cols } else { c };
        if i < 0 || i >= cols {
            return Err(err!(
                InvalidArgument,
                "by column {c} is out of range for a table of {cols} columns"
            ));
        }
        // A repeated column adds nothing to a lexicographic order: its ties were settled by
        // its first occurrence.
        if !columns.contains(&(i as usize)) {
            columns.push(i as usize);
        }
    }
    Ok(Some(columns))
}

fn drive<R: Record>(
    plan: &Plan<'_>,
    source: &dyn Source<R>,
    sink: &dyn Sink<R>,
    canon: Canon,
    out: &mut OutputFile,
) -> Result<SortStats> {
    let job = Job {
        ctx: plan.ctx,
        reaper: &plan.reaper,
        input: *plan.reader.input(),
        pattern: plan.pattern,
        source,
        sink,
        canon,
        tmp_dir: &plan.tmp_dir,
        stats: Mutex::new(SortStats::default()),
    };
    let _free_work = FreeWorkOnDrop(plan.ctx);
    match plan.shape {
        Shape::Flat(n) => job.sort_segment(0..n, out)?,
        Shape::Rows { rows, row_len } => job.sort_rows(rows, row_len, out)?,
    }
    Ok(job.stats.into_inner().expect("stats lock"))
}

fn sort_typed<T: SortKey>(plan: &Plan<'_>, swap: bool, out: &mut OutputFile) -> Result<SortStats> {
    let desc = plan.opts.descending;
    let source = ValueSource::<T> {
        reader: &plan.reader,
        descending: desc,
        element: PhantomData,
    };
    let sink = ValueSink::<T> {
        descending: desc,
        swap,
        element: PhantomData,
    };
    let canon = if plan.opts.stable {
        T::stable_canon(desc)
    } else {
        Canon::default()
    };
    drive::<T::Key>(plan, &source, &sink, canon, out)
}

fn argsort_typed<T: SortKey>(plan: &Plan<'_>, out: &mut OutputFile) -> Result<SortStats> {
    let source = IndexSource::<T> {
        reader: &plan.reader,
        descending: plan.opts.descending,
        element: PhantomData,
    };
    let row_len = match plan.shape {
        Shape::Flat(n) => n,
        Shape::Rows { row_len, .. } => row_len,
    };
    let sink = IndexSink {
        row_len: row_len as u64,
    };
    drive::<[u64; 2]>(plan, &source, &sink, Canon::default(), out)
}

fn by_columns<T: SortKey>(
    plan: &Plan<'_>,
    columns: &[usize],
    indices: bool,
    out: &mut OutputFile,
) -> Result<SortStats> {
    fn with_width<T: SortKey, const W: usize>(
        plan: &Plan<'_>,
        columns: &[usize],
        indices: bool,
        out: &mut OutputFile,
    ) -> Result<SortStats>
    where
        [u64; W]: Record,
    {
        let Shape::Flat(rows) = plan.shape else {
            return Err(err!(InvalidArgument, "by needs a 2-d table"));
        };
        let row_len = plan.reader.shape()[1];
        let source = RowKeySource::<T> {
            reader: &plan.reader,
            descending: plan.opts.descending,
            columns: columns.to_vec(),
            row_len,
            element: PhantomData,
        };
        if indices {
            let sink = IndexSink {
                row_len: rows as u64,
            };
            drive::<[u64; W]>(plan, &source, &sink, Canon::default(), out)
        } else {
            let sink = RowSink {
                reader: &plan.reader,
                row_len,
            };
            drive::<[u64; W]>(plan, &source, &sink, Canon::default(), out)
        }
    }
    // Record widths are key words + the row index; past 8 columns the keys are padded with
    // zero words (equal in every record, so the order is unchanged).
    match columns.len() {
        1 => with_width::<T, 2>(plan, columns, indices, out),
        2 => with_width::<T, 3>(plan, columns, indices, out),
        3 => with_width::<T, 4>(plan, columns, indices, out),
        4 => with_width::<T, 5>(plan, columns, indices, out),
        5 => with_width::<T, 6>(plan, columns, indices, out),
        6 => with_width::<T, 7>(plan, columns, indices, out),
        7 => with_width::<T, 8>(plan, columns, indices, out),
        8 => with_width::<T, 9>(plan, columns, indices, out),
        9..=16 => with_width::<T, 17>(plan, columns, indices, out),
        17..=64 => with_width::<T, 65>(plan, columns, indices, out),
        65..=MAX_KEY_COLUMNS => {
            with_width::<T, { MAX_KEY_COLUMNS + 1 }>(plan, columns, indices, out)
        }
        n => Err(err!(
            InvalidArgument,
            "by names {n} distinct columns; a record sort takes at most {MAX_KEY_COLUMNS}"
        )),
    }
}
