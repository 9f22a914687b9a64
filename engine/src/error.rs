//! Errors of the engine and the kernels: a small struct around a `#[non_exhaustive]` kind.
//!
//! Every error can carry the path of the file it concerns, so that the command line can
//! print "FILE: what is wrong" without any caller having to remember to add context.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong, coarsely: enough to choose an exit code and to test against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An operating-system I/O error (read, write, map, sync).
    Io,
    /// A file (an input, a directory) does not exist.
    NotFound,
    /// The destination file system has no room for the output or the temporary files.
    DiskFull,
    /// A file is not a valid `.npy` file, or is shorter than its header says.
    BadFormat,
    /// A dtype string that outcore does not know, or an object dtype.
    UnknownDType,
    /// A dtype outcore knows but that the operation cannot work on (e.g. sorting complex).
    UnsupportedDType,
    /// Shapes that do not fit together, or a shape that does not match a file size.
    Shape,
    /// A size computation overflowed (shape × itemsize and friends).
    Overflow,
    /// A bad argument: an axis out of range, a malformed expression, an unknown option value.
    InvalidArgument,
    /// The output exists and replacing it was not asked for.
    OutputExists,
    /// The output is the same file as one of the inputs.
    SameFile,
    /// The job cannot run inside its memory budget.
    Budget,
    /// The job was cancelled through its token (or by a signal).
    Cancelled,
    /// An input changed underneath a running job (e.g. truncated while mapped).
    InputChanged,
}

/// The engine's error: a kind, a message, the file it concerns and the I/O cause if any.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    source: Option<io::Error>,
}

/// A result whose error is outcore's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message that says what is wrong.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            path: None,
            source: None,
        }
    }

    /// An I/O error while doing `what`; `ENOSPC`/`EDQUOT` become [`ErrorKind::DiskFull`].
    pub fn io(what: impl Into<String>, err: io::Error) -> Error {
        let kind = match err.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => ErrorKind::DiskFull,
            Some(libc::ENOENT) => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        let mut message = what.into();
        if kind == ErrorKind::DiskFull {
            message.push_str(": no space left on device (disk full)");
        }
        Error {
            kind,
            message,
            path: None,
            source: Some(err),
        }
    }

    /// The error of a job stopped through its [`CancelToken`](crate::CancelToken).
    pub fn cancelled() -> Error {
        Error::new(ErrorKind::Cancelled, "cancelled")
    }

    /// Attach the path of the file this error concerns (kept if one is already set).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        // In-memory arrays have an empty path: there is no file to name.
        if self.path.is_none() && !path.as_ref().as_os_str().is_empty() {
            self.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What is wrong, without the file's path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file the error concerns, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The operating-system error behind it, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            if self.kind != ErrorKind::DiskFull {
                write!(f, ": {source}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for building errors of one kind with a formatted message.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::Error::new($crate::ErrorKind::$kind, format!($($arg)*))
    };
}

/// Adds a path to the error of a `Result`.
pub trait ResultExt<T> {
    /// Attaches `path` to the error, unless it names a file already.
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| e.with_path(path))
    }
}
