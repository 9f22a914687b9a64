//! Running one job off the GIL: options, progress, Ctrl-C and the mapping of errors to
//! Python's exceptions.
//!
//! The job runs on a worker thread. The calling thread releases the GIL and waits for it,
//! waking every [`POLL`] to take the GIL briefly: it hands the latest progress to the Python
//! callback and checks for signals (`PyErr_CheckSignals`, which runs the Python handler of a
//! Ctrl-C in the main thread). When that raises, the job is cancelled through its
//! [`CancelToken`], which the engine checks between chunks; the caller waits for the worker to
//! stop (outputs are discarded on the way out) and then raises the exception.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam::channel::{self, RecvTimeoutError};
use outcore_engine::{CancelToken, Context, Error, ErrorKind};
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;

/// How often a waiting call looks at signals and progress.
const POLL: Duration = Duration::from_millis(50);

/// The `**opts` every job takes, as the Python half passes them (a dict, already checked).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct JobOptions {
    pub threads: Option<usize>,
    pub mem: Option<usize>,
    pub chunk: Option<usize>,
    pub tmp_dir: Option<PathBuf>,
    pub force: bool,
    /// Flush outputs to disk before naming them.
    pub sync: bool,
    /// A callable `(done, total, phase)`, or None.
    pub progress: Option<Py<PyAny>>,
}

/// Thread pools of finished jobs, kept for the next ones: starting a pool's threads for every
/// call would cost more than a job on a small array.
static IDLE_POOLS: Mutex<Vec<Arc<rayon::ThreadPool>>> = Mutex::new(Vec::new());

/// Idle pools kept at most (two threads running jobs at once each get their own).
const IDLE_POOLS_KEPT: usize = 4;

/// A pool of `threads` threads (default: one per CPU): an idle one, or a new one.
fn take_pool(threads: Option<usize>) -> PyResult<Arc<rayon::ThreadPool>> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(to_py_err(Error::new(
            ErrorKind::InvalidArgument,
            "threads must be at least 1",
        )));
    }
    let mut idle = IDLE_POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = idle.iter().position(|p| p.current_num_threads() == threads) {
        return Ok(idle.swap_remove(i));
    }
    drop(idle);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("outcore-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the thread pool: {e}")))
}

fn give_back_pool(pool: Arc<rayon::ThreadPool>) {
    let mut idle = IDLE_POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if idle.len() < IDLE_POOLS_KEPT {
        idle.push(pool);
    }
}

/// The latest progress the engine reported, and whether Python has seen it.
#[derive(Default)]
struct Latest {
    phase: String,
    done: u64,
    total: u64,
    fresh: bool,
}

/// Calls the progress callback with the latest report, if there is a new one.
fn deliver(py: Python<'_>, callback: Option<&Py<PyAny>>, latest: &Mutex<Latest>) -> PyResult<()> {
    let Some(callback) = callback else {
        return Ok(());
    };
    let (done, total, phase) = {
        let mut l = latest.lock().unwrap_or_else(|e| e.into_inner());
        if !l.fresh {
            return Ok(());
        }
        l.fresh = false;
        (l.done, l.total, l.phase.clone())
    };
    callback.call1(py, (done, total, phase)).map(|_| ())
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// Runs `job` with a context built from `opts` on a worker thread, the GIL released; see the
/// module documentation.
pub fn run_job<T, F>(py: Python<'_>, opts: &JobOptions, job: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Context) -> outcore_engine::Result<T> + Send,
{
    let token = CancelToken::new();
    let latest = Arc::new(Mutex::new(Latest::default()));
    let pool = take_pool(opts.threads)?;
    let mut builder = Context::builder()
        .cancel_token(token.clone())
        .thread_pool(pool.clone());
    if let Some(m) = opts.mem {
        builder = builder.memory(m);
    }
    if let Some(c) = opts.chunk {
        builder = builder.chunk_bytes(c);
    }
    if let Some(dir) = &opts.tmp_dir {
        builder = builder.tmp_dir(dir);
    }
    if opts.progress.is_some() {
        let sink = latest.clone();
        builder = builder.progress(move |p| {
            let mut l = sink.lock().unwrap_or_else(|e| e.into_inner());
            if l.phase != p.phase {
                l.phase = p.phase.to_string();
            }
            l.done = p.done;
            l.total = p.total;
            l.fresh = true;
        });
    }
    let ctx = builder.build().map_err(to_py_err)?;
    let callback = opts.progress.as_ref();
    let result = run_on_worker(py, ctx, &token, callback, &latest, job);
    give_back_pool(pool);
    result
}

fn run_on_worker<T, F>(
    py: Python<'_>,
    ctx: Context,
    token: &CancelToken,
    callback: Option<&Py<PyAny>>,
    latest: &Mutex<Latest>,
    job: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Context) -> outcore_engine::Result<T> + Send,
{
    std::thread::scope(|scope| {
        let (tx, rx) = channel::bounded(1);
        let worker = std::thread::Builder::new()
            .name("outcore-job".into())
            .spawn_scoped(scope, move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&ctx)));
                // The receiver lives until this thread is joined.
                let _ = tx.send(result);
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the job's thread: {e}")))?;
        let outcome = loop {
            match py.detach(|| rx.recv_timeout(POLL)) {
                Ok(result) => break Ok(result),
                Err(RecvTimeoutError::Timeout) => {
                    let interrupted =
                        deliver(py, callback, latest).and_then(|_| py.check_signals());
                    if let Err(e) = interrupted {
                        token.cancel();
                        // Stops within a chunk; the job's outputs are discarded as it unwinds.
                        let _ = py.detach(|| rx.recv());
                        break Err(e);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(PyRuntimeError::new_err(
                        "outcore: internal error: the job's thread ended without a result",
                    ))
                }
            }
        };
        py.detach(|| worker.join()).map_err(|p| {
            PyRuntimeError::new_err(format!("outcore: internal error: {}", panic_message(&*p)))
        })?;
        match outcome? {
            Ok(Ok(value)) => {
                deliver(py, callback, latest)?;
                Ok(value)
            }
            Ok(Err(e)) => Err(to_py_err(e)),
            Err(payload) => Err(PyRuntimeError::new_err(format!(
                "outcore: internal error (a panic): {}",
                panic_message(&*payload)
            ))),
        }
    })
}

/// An `OSError` (or the subclass Python picks for `errno`) with `filename` set.
fn os_error(errno: Option<i32>, err: &Error) -> PyErr {
    let message = err.to_string();
    let e = match errno {
        Some(n) => PyOSError::new_err((n, message)),
        None => PyOSError::new_err(message),
    };
    set_filename(e, err)
}

fn set_filename(e: PyErr, err: &Error) -> PyErr {
    if let Some(path) = err.path() {
        Python::attach(|py| {
            let _ = e.value(py).setattr("filename", path.to_string_lossy());
        });
    }
    e
}

/// Maps a library error to Python's exception for it (SPEC §7).
pub fn to_py_err(err: Error) -> PyErr {
    let message = err.to_string();
    let io_kind = err.io_error().map(|e| e.kind());
    let errno = err.io_error().and_then(|e| e.raw_os_error());
    match err.kind() {
        ErrorKind::NotFound => {
            set_filename(PyFileNotFoundError::new_err((libc::ENOENT, message)), &err)
        }
        _ if io_kind == Some(std::io::ErrorKind::NotFound) => {
            set_filename(PyFileNotFoundError::new_err((libc::ENOENT, message)), &err)
        }
        ErrorKind::OutputExists => {
            set_filename(PyFileExistsError::new_err((libc::EEXIST, message)), &err)
        }
        ErrorKind::DiskFull => os_error(Some(libc::ENOSPC), &err),
        ErrorKind::Io | ErrorKind::InputChanged => os_error(errno, &err),
        ErrorKind::Cancelled => PyKeyboardInterrupt::new_err(message),
        _ if err.io_error().is_some() => os_error(errno, &err),
        _ => PyValueError::new_err(message),
    }
}
