//! Output files that appear only when complete.
//!
//! An output is created unnamed (`O_TMPFILE`) in the destination's directory — or, where the
//! file system lacks that, under a hidden temporary name removed on drop — with its full size
//! allocated up front, so a full disk is an error before any work rather than a SIGBUS later
//! (or, for a job that needs the disk for scratch data first, left unallocated and written
//! only with `pwrite`: [`OutputFile::create_npy_unallocated`]).
//! It is mapped and filled, then synced and only then linked under its final name. Dropping an
//! uncommitted output (error, cancellation, panic) leaves nothing behind; so does `kill -9`
//! when the file was unnamed.
//!
//! One exception: [`OutputFile::open_region`] writes into a byte range of an existing file that
//! its caller made, names and removes (one key range of a distributed sort's single output).

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::array::Input;
use crate::error::{Error, ErrorKind, Result};
use crate::layout::Layout;
use crate::npy;
use crate::sys::{self, Advisor, MapMode, Mapping};

/// What to check before an output is created, and how its pages are kept.
#[derive(Debug, Clone)]
pub struct OutputOptions {
    /// Replace an existing destination.
    pub force: bool,
    /// The job's input files: the destination must not be any of them (also through links).
    pub inputs: Vec<PathBuf>,
    /// Whether the output's pages stay in the page cache once written.
    pub cache: OutputCache,
    /// Flush the output to disk before it is named (the default: a named output survives a
    /// crash of the machine). Without it the output still appears only when complete, but
    /// the kernel writes it back in its own time: for intermediate results.
    pub sync: bool,
}

impl Default for OutputOptions {
    fn default() -> OutputOptions {
        OutputOptions {
            force: false,
            inputs: Vec::new(),
            cache: OutputCache::default(),
            sync: true,
        }
    }
}

impl OutputOptions {
    /// Options that replace an existing destination.
    pub fn force(mut self, force: bool) -> OutputOptions {
        self.force = force;
        self
    }

    /// Options with the given page-cache policy.
    pub fn cache(mut self, cache: OutputCache) -> OutputOptions {
        self.cache = cache;
        self
    }

    /// Options that flush (`true`, the default) or do not flush the output before naming it.
    pub fn sync(mut self, sync: bool) -> OutputOptions {
        self.sync = sync;
        self
    }
}

/// Whether an output's pages stay in the page cache once they are on disk.
///
/// Kept, a following job reads the output from memory. Dropped (`POSIX_FADV_DONTNEED` on
/// each chunk once its writeback has finished, so only clean pages go), the output does not
/// push the job's input and other files out of the cache, and the memory it was written
/// through is used again for the next chunks instead of fresh memory, which is what most of
/// the cost of writing a new file is on some VMs (see docs/design.md). It acts on the ranges the
/// scheduler writes and releases (`OutputHints::release`); bytes written otherwise (through
/// [`OutputFile::data_mut`]) stay cached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputCache {
    /// Drop when the output is larger than half the memory available when it is created
    /// (MemAvailable, capped by memory cgroups): it could not stay cached anyway.
    #[default]
    Auto,
    /// Always keep them.
    Keep,
    /// Always drop them once they are on disk.
    Drop,
}

impl OutputCache {
    /// Parses `auto`, `keep` or `drop`.
    pub fn parse(s: &str) -> Result<OutputCache> {
        match s {
            "auto" => Ok(OutputCache::Auto),
            "keep" => Ok(OutputCache::Keep),
            "drop" => Ok(OutputCache::Drop),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown output cache policy {s:?} (auto, keep or drop)"),
            )),
        }
    }

    /// Whether an output of `len` bytes drops its written pages.
    pub fn drops(self, len: usize) -> bool {
        match self {
            OutputCache::Keep => false,
            OutputCache::Drop => true,
            OutputCache::Auto => len > crate::budget::available_memory() / 2,
        }
    }
}

enum Temp {
    Unnamed,
    Named(tempfile::TempPath),
    /// A byte range of an existing file: committing syncs it, dropping leaves it as it is.
    Region,
}

/// An output file being written. Commit it to make it appear; drop it to discard it.
pub struct OutputFile {
    dest: PathBuf,
    dir: PathBuf,
    file: File,
    temp: Temp,
    map: Mapping,
    data_offset: usize,
    len: usize,
    force: bool,
    sync: bool,
    drop_written: bool,
    /// The data's disk space is reserved: mapping writes cannot fail for lack of space.
    allocated: bool,
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Refuses an output `dest` (whose metadata is `meta`) that is one of `inputs`.
fn refuse_inputs(dest: &Path, meta: &std::fs::Metadata, inputs: &[PathBuf]) -> Result<()> {
    for input in inputs {
        if let Ok(im) = std::fs::metadata(input) {
            if same_file(meta, &im) {
                return Err(Error::new(
                    ErrorKind::SameFile,
                    format!(
                        "output is the same file as the input {} (outcore never writes its inputs)",
                        input.display()
                    ),
                )
                .with_path(dest));
            }
        }
    }
    Ok(())
}

/// Checks a destination before any work: not an input, not existing unless `force`.
pub fn check_destination(dest: &Path, opts: &OutputOptions) -> Result<()> {
    match std::fs::metadata(dest) {
        Ok(meta) => {
            refuse_inputs(dest, &meta, &opts.inputs)?;
            if meta.is_dir() {
                return Err(
                    Error::new(ErrorKind::OutputExists, "output is a directory").with_path(dest)
                );
            }
            if !opts.force {
                return Err(Error::new(
                    ErrorKind::OutputExists,
                    "output already exists (replacing it was not asked for)",
                )
                .with_path(dest));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot check the output path", e).with_path(dest)),
    }
}

fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl OutputFile {
    /// Creates an unnamed `.npy` output for `layout` destined for `dest`.
    pub fn create_npy(
        dest: impl AsRef<Path>,
        layout: &Layout,
        opts: &OutputOptions,
    ) -> Result<OutputFile> {
        let header = npy::header_bytes(layout);
        OutputFile::create(dest.as_ref(), &header, layout.nbytes(), opts, true)
    }

    /// Like [`create_npy`](Self::create_npy), but the data's disk space is not allocated: for
    /// a job that needs its disk for scratch data first (an external sort frees its runs as it
    /// writes the output). Until [`allocate`](Self::allocate) has run, the data may only be
    /// written with [`writer`](Self::writer) (`pwrite` reports a full disk as an error; a store
    /// through the mapping would be a SIGBUS), and the job checks the room it needs itself
    /// ([`available_space`](Self::available_space)).
    pub fn create_npy_unallocated(
        dest: impl AsRef<Path>,
        layout: &Layout,
        opts: &OutputOptions,
    ) -> Result<OutputFile> {
        let header = npy::header_bytes(layout);
        OutputFile::create(dest.as_ref(), &header, layout.nbytes(), opts, false)
    }

    /// Writes into bytes `offset..offset + nbytes` of the existing file `path` instead of a new
    /// file: raw data, no header. The caller created the file at its full size (allocated, so
    /// that mapping writes cannot fail for space) and owns its name: committing only syncs the
    /// range (unless `opts.sync` is off), and a failed job leaves the range partly written for
    /// the caller to discard. Other writers may fill other ranges of the file meanwhile; the
    /// file must not shrink while the job runs. `opts.force` is not consulted (the file is
    /// meant to exist); it may not be one of `opts.inputs`.
    pub fn open_region(
        path: impl AsRef<Path>,
        offset: u64,
        nbytes: usize,
        opts: &OutputOptions,
    ) -> Result<OutputFile> {
        let dest = path.as_ref();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dest)
            .map_err(|e| Error::io("cannot open the file to write into", e).with_path(dest))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot read the file's metadata", e).with_path(dest))?;
        if !meta.is_file() {
            return Err(
                Error::new(ErrorKind::InvalidArgument, "not a regular file").with_path(dest)
            );
        }
        refuse_inputs(dest, &meta, &opts.inputs)?;
        let end = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(nbytes))
            .ok_or_else(|| {
                Error::new(ErrorKind::Overflow, "output range overflows").with_path(dest)
            })?;
        if (end as u64) > meta.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "bytes {offset}..{end} to write lie beyond the end of the file ({} bytes)",
                    meta.len()
                ),
            )
            .with_path(dest));
        }
        // Mapped from the file's start so that offsets in the mapping are file offsets (as the
        // writeback hints and `pwrite` use them); only the range is ever touched.
        let map = Mapping::map(&file, end, MapMode::ReadWrite)
            .map_err(|e| Error::io("cannot map the output", e).with_path(dest))?;
        Ok(OutputFile {
            dest: dest.to_path_buf(),
            dir: parent_dir(dest),
            file,
            temp: Temp::Region,
            map,
            data_offset: end - nbytes,
            len: end,
            force: false,
            sync: opts.sync,
            drop_written: opts.cache.drops(nbytes),
            allocated: true,
        })
    }

    /// Creates an unnamed raw output of `nbytes` bytes (no header).
    pub fn create_raw(
        dest: impl AsRef<Path>,
        nbytes: usize,
        opts: &OutputOptions,
    ) -> Result<OutputFile> {
        OutputFile::create(dest.as_ref(), &[], nbytes, opts, true)
    }

    fn create(
        dest: &Path,
        header: &[u8],
        nbytes: usize,
        opts: &OutputOptions,
        allocate: bool,
    ) -> Result<OutputFile> {
        check_destination(dest, opts)?;
        let dir = parent_dir(dest);
        let (mut file, temp) = match sys::open_unnamed(&dir) {
            Ok(Some(f)) => (f, Temp::Unnamed),
            Ok(None) => {
                let named = tempfile::Builder::new()
                    .prefix(".outcore-tmp-")
                    .tempfile_in(&dir)
                    .map_err(|e| {
                        Error::io("cannot create a temporary output file", e).with_path(&dir)
                    })?;
                let (f, p) = named.into_parts();
                (f, Temp::Named(p))
            }
            Err(e) => {
                return Err(
                    Error::io("cannot create the output file in its directory", e).with_path(&dir),
                );
            }
        };
        let len = header.len().checked_add(nbytes).ok_or_else(|| {
            Error::new(ErrorKind::Overflow, "output size overflows").with_path(dest)
        })?;
        if allocate {
            sys::allocate(&file, len as u64).map_err(|e| {
                Error::io(format!("cannot allocate {len} bytes for the output"), e).with_path(dest)
            })?;
        } else {
            file.set_len(len as u64)
                .map_err(|e| Error::io("cannot size the output", e).with_path(dest))?;
        }
        file.write_all(header)
            .map_err(|e| Error::io("cannot write the output header", e).with_path(dest))?;
        let map = Mapping::map(&file, len, MapMode::ReadWrite)
            .map_err(|e| Error::io("cannot map the output", e).with_path(dest))?;
        Ok(OutputFile {
            dest: dest.to_path_buf(),
            dir,
            file,
            temp,
            map,
            data_offset: header.len(),
            len,
            force: opts.force,
            sync: opts.sync,
            drop_written: opts.cache.drops(len),
            allocated: allocate,
        })
    }

    /// Allocates the output's disk space if [`create_npy_unallocated`](Self::create_npy_unallocated)
    /// left it out (a no-op otherwise): from here on, writing through the mapping is safe.
    pub fn allocate(&mut self) -> Result<()> {
        if !self.allocated {
            sys::allocate(&self.file, self.len as u64).map_err(|e| {
                Error::io(
                    format!("cannot allocate {} bytes for the output", self.len),
                    e,
                )
                .with_path(&self.dest)
            })?;
            self.allocated = true;
        }
        Ok(())
    }

    /// Whether the data's disk space is allocated (see [`allocate`](Self::allocate)).
    pub fn is_allocated(&self) -> bool {
        self.allocated
    }

    /// Bytes free for unprivileged use on the output's file system.
    pub fn available_space(&self) -> Result<u64> {
        sys::available_space(&self.file)
            .map_err(|e| Error::io("cannot query the free disk space", e).with_path(&self.dir))
    }

    /// Whether `scratch` lives on the output's file system (space it frees is the output's).
    pub fn shares_disk_with(&self, scratch: &ScratchFile) -> bool {
        match (self.file.metadata(), scratch.file.metadata()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev(),
            _ => false,
        }
    }

    /// The final name of the output.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The data's size in bytes (without the header).
    pub fn nbytes(&self) -> usize {
        self.len - self.data_offset
    }

    /// Offset of the data in the file (the header's length).
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// The output's data bytes (after the header).
    pub fn data_mut(&mut self) -> &mut [u8] {
        debug_assert!(self.allocated, "mapping writes to an unallocated output");
        let off = self.data_offset;
        &mut self.map.bytes_mut().expect("outputs are mapped read-write")[off..]
    }

    /// The output as the scheduler sees it: writable bytes plus hint and writeback handles.
    pub fn output(&mut self) -> Output<'_> {
        debug_assert!(self.allocated, "mapping writes to an unallocated output");
        let off = self.data_offset;
        let (advisor, bytes) = self.map.split_mut().expect("outputs are mapped read-write");
        Output {
            bytes: &mut bytes[off..],
            advisor,
            data_offset: off,
            file: &self.file,
            drop_written: self.drop_written,
        }
    }

    /// A handle that writes data with `pwrite` (shared by worker threads) instead of through
    /// the mapping: for data already in a buffer, it skips the page faults and the zero-fill
    /// of every fresh page-cache page a mapping writes to.
    pub fn writer(&self) -> OutputWriter<'_> {
        OutputWriter {
            file: &self.file,
            dest: &self.dest,
            data_offset: self.data_offset,
            data_len: self.len - self.data_offset,
            drop_written: self.drop_written,
        }
    }

    /// Syncs the data to disk and gives the file its final name. Until this returns Ok the
    /// destination is untouched.
    pub fn commit(mut self) -> Result<()> {
        let to_disk = |e| Error::io("cannot write the output to disk", e).with_path(&self.dest);
        if self.sync && matches!(self.temp, Temp::Region) {
            // Only the range this job wrote: an `msync` of it writes it and the metadata that
            // locates it, pages written with `pwrite` included (one page cache).
            let len = self.len - self.data_offset;
            self.map
                .flush_range(self.data_offset, len)
                .map_err(to_disk)?;
        } else if self.sync {
            self.map.flush().map_err(to_disk)?;
            self.file
                .sync_all()
                .map_err(|e| Error::io("cannot sync the output", e).with_path(&self.dest))?;
        }
        let temp = std::mem::replace(&mut self.temp, Temp::Unnamed);
        match temp {
            Temp::Unnamed => {
                if self.force {
                    // Link under a fresh hidden name, then rename over the destination.
                    let staging = tempfile::Builder::new()
                        .prefix(".outcore-commit-")
                        .make_in(&self.dir, |p| sys::link_unnamed(&self.file, p))
                        .map_err(|e| {
                            Error::io("cannot name the output", e).with_path(&self.dest)
                        })?;
                    staging.into_temp_path().persist(&self.dest).map_err(|e| {
                        Error::io("cannot move the output into place", e.error)
                            .with_path(&self.dest)
                    })?;
                } else {
                    sys::link_unnamed(&self.file, &self.dest).map_err(|e| {
                        if e.raw_os_error() == Some(libc::EEXIST) {
                            Error::new(
                                ErrorKind::OutputExists,
                                "output appeared while the job ran (replacing it was not asked for)",
                            )
                            .with_path(&self.dest)
                        } else {
                            Error::io("cannot name the output", e).with_path(&self.dest)
                        }
                    })?;
                }
            }
            Temp::Named(path) => {
                let result = if self.force {
                    path.persist(&self.dest).map_err(|e| e.error)
                } else {
                    path.persist_noclobber(&self.dest).map_err(|e| e.error)
                };
                result.map_err(|e| {
                    Error::io("cannot move the output into place", e).with_path(&self.dest)
                })?;
            }
            // The caller names the file.
            Temp::Region => return Ok(()),
        }
        // Make the new directory entry durable too.
        if self.sync {
            if let Ok(d) = File::open(&self.dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// An unnamed, preallocated, mapped scratch file for intermediate data (e.g. sorted runs).
///
/// It is created with `O_TMPFILE` where the file system has it (otherwise created and unlinked
/// at once), so it never has a name: it vanishes with its descriptor on every exit path, `kill
/// -9` included. Its full size is allocated up front, so a full disk is an error here, before
/// any work, rather than a SIGBUS while writing through the mapping.
pub struct ScratchFile {
    dir: PathBuf,
    file: File,
    map: Mapping,
}

impl ScratchFile {
    /// Creates a scratch file of `len` bytes in `dir`.
    pub fn create(dir: impl AsRef<Path>, len: usize) -> Result<ScratchFile> {
        let dir = dir.as_ref();
        let file = tempfile::tempfile_in(dir).map_err(|e| {
            Error::io(
                "cannot create a temporary file in the temporary directory",
                e,
            )
            .with_path(dir)
        })?;
        sys::allocate(&file, len as u64).map_err(|e| {
            Error::io(format!("cannot allocate {len} bytes of temporary space"), e).with_path(dir)
        })?;
        let map = Mapping::map(&file, len, MapMode::ReadWrite)
            .map_err(|e| Error::io("cannot map a temporary file", e).with_path(dir))?;
        Ok(ScratchFile {
            dir: dir.to_path_buf(),
            file,
            map,
        })
    }

    /// The directory the file lives in (for error messages: the file itself has no name).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file's size in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The file's bytes.
    pub fn data(&self) -> &[u8] {
        self.map.bytes()
    }

    /// The file's bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.map
            .bytes_mut()
            .expect("scratch files are mapped read-write")
    }

    /// Writes `bytes` at `offset` with `pwrite` rather than through the mapping. For data that
    /// is already in a buffer (a sorted run), this skips the zero-fill the kernel must do for
    /// every fresh page a mapping writes to, and the page faults. The range was allocated at
    /// creation, so it cannot run out of space.
    pub fn write_at(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let end = offset.checked_add(bytes.len()).filter(|&e| e <= self.len());
        if end.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "internal error: write of {} bytes at {offset} past the end of a {}-byte temporary file",
                    bytes.len(),
                    self.len()
                ),
            ));
        }
        self.file
            .write_all_at(bytes, offset as u64)
            .map_err(|e| Error::io("cannot write a temporary file", e).with_path(&self.dir))
    }

    /// Starts writing a range back to disk without waiting.
    pub fn start_writeback(&self, range: Range<usize>) {
        sys::start_writeback(&self.file, range.start as u64..range.end as u64);
    }

    /// Waits until a range is on disk, so its cached pages are clean (and reclaimable).
    pub fn finish_writeback(&self, range: Range<usize>) {
        sys::finish_writeback(&self.file, range.start as u64..range.end as u64);
    }

    /// Frees the disk blocks of the whole pages inside `range`, data that has been consumed
    /// (read for the last time): a long merge gives its disk space back as it goes. The bytes
    /// read as zeros afterwards.
    pub fn free_consumed(&self, range: Range<usize>) {
        let page = sys::page_size();
        let start = range.start.div_ceil(page) * page;
        let end = range.end / page * page;
        if end > start {
            sys::punch_hole(&self.file, start as u64..end as u64);
        }
    }

    /// The file as a chunked input for the scheduler (reading back what was written).
    pub fn input(&self) -> Input<'_> {
        Input::from_mapping(&self.map, 0, &self.dir)
    }

    /// The file as the scheduler's output: writable bytes plus hint and writeback handles.
    pub fn output(&mut self) -> Output<'_> {
        let (advisor, bytes) = self
            .map
            .split_mut()
            .expect("scratch files are mapped read-write");
        // Spilled data is read back soon: its pages stay cached.
        Output {
            bytes,
            advisor,
            data_offset: 0,
            file: &self.file,
            drop_written: false,
        }
    }
}

/// Writes an output's data with `pwrite`, and writes it back, from any thread. Byte ranges are
/// relative to the data start. See [`OutputFile::writer`].
#[derive(Clone, Copy)]
pub struct OutputWriter<'a> {
    file: &'a File,
    dest: &'a Path,
    data_offset: usize,
    data_len: usize,
    drop_written: bool,
}

impl OutputWriter<'_> {
    fn file_range(&self, r: &Range<usize>) -> Range<u64> {
        (r.start + self.data_offset) as u64..(r.end + self.data_offset) as u64
    }

    /// Writes `bytes` at data offset `offset`. The range was allocated when the output was
    /// created, so it cannot run out of space.
    pub fn write_at(&self, offset: usize, bytes: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let end = offset
            .checked_add(bytes.len())
            .filter(|&e| e <= self.data_len);
        if end.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "internal error: write of {} bytes at {offset} past the end of {} bytes of output",
                    bytes.len(),
                    self.data_len
                ),
            )
            .with_path(self.dest));
        }
        self.file
            .write_all_at(bytes, (offset + self.data_offset) as u64)
            .map_err(|e| Error::io("cannot write the output", e).with_path(self.dest))
    }

    /// Starts writing a finished range back to disk without waiting.
    pub fn start_writeback(&self, range: Range<usize>) {
        sys::start_writeback(self.file, self.file_range(&range));
    }

    /// Waits until a range is on disk; then, where the output's [`OutputCache`] policy drops
    /// written pages, drops its (clean) pages from the page cache.
    pub fn release(&self, range: Range<usize>) {
        let bytes = self.file_range(&range);
        sys::finish_writeback(self.file, bytes.clone());
        if self.drop_written {
            sys::fadvise(self.file, bytes, sys::FileAdvice::DontNeed);
        }
    }
}

/// A writable output as the scheduler sees it. Byte ranges are relative to the data start.
pub struct Output<'a> {
    /// The writable data bytes.
    pub bytes: &'a mut [u8],
    advisor: Advisor<'a>,
    data_offset: usize,
    file: &'a File,
    drop_written: bool,
}

impl<'a> Output<'a> {
    /// Splits into the writable bytes and the handle used for hints and writeback.
    pub fn split(self) -> (&'a mut [u8], OutputHints<'a>) {
        (
            self.bytes,
            OutputHints {
                advisor: self.advisor,
                data_offset: self.data_offset,
                file: self.file,
                drop_written: self.drop_written,
            },
        )
    }

    /// Offset of the data in the file (the header's length).
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }
}

/// Hints and writeback for ranges of an output (shared by the worker threads).
#[derive(Clone, Copy)]
pub struct OutputHints<'a> {
    advisor: Advisor<'a>,
    data_offset: usize,
    file: &'a File,
    drop_written: bool,
}

impl<'a> OutputHints<'a> {
    fn shift(&self, r: &Range<usize>) -> Range<usize> {
        r.start + self.data_offset..r.end + self.data_offset
    }

    /// Offset of the data in the file (the header's length).
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// Prefaults a range about to be written.
    pub fn prefault(&self, range: Range<usize>) {
        self.advisor.populate_write(self.shift(&range));
    }

    /// Starts writeback of a finished range. Its pages are unmapped first (they stay in the
    /// page cache, dirty): writeback of a page that is still mapped must write-protect it
    /// first, one TLB shootdown to every other CPU per page, which was a quarter of the CPU
    /// of an `eval` (perf); unmapping the whole range flushes the TLB once.
    pub fn start_writeback(&self, range: Range<usize>) {
        let r = self.shift(&range);
        self.advisor.release(r.clone());
        sys::start_writeback(self.file, r.start as u64..r.end as u64);
    }

    /// Waits for a range's writeback, then drops its pages from the resident set. They stay
    /// in the page cache, clean, so the kernel can reclaim them whenever memory is short —
    /// or leave it now where the output's [`OutputCache`] policy drops them.
    pub fn release(&self, range: Range<usize>) {
        let r = self.shift(&range);
        let bytes = r.start as u64..r.end as u64;
        sys::finish_writeback(self.file, bytes.clone());
        self.advisor.release(r);
        if self.drop_written {
            sys::fadvise(self.file, bytes, sys::FileAdvice::DontNeed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{DType, ScalarKind};
    use crate::layout::Order;

    fn layout(n: usize) -> Layout {
        Layout::new(DType::native(ScalarKind::U8), vec![n], Order::C).unwrap()
    }

    #[test]
    fn appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.npy");
        let mut out =
            OutputFile::create_npy(&dest, &layout(10), &OutputOptions::default()).unwrap();
        out.data_mut().copy_from_slice(&[1; 10]);
        assert!(!dest.exists());
        out.commit().unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        assert_eq!(bytes.len(), 128 + 10);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn output_cache_policies() {
        assert_eq!(OutputCache::parse("auto").unwrap(), OutputCache::Auto);
        assert_eq!(OutputCache::parse("keep").unwrap(), OutputCache::Keep);
        assert_eq!(OutputCache::parse("drop").unwrap(), OutputCache::Drop);
        assert_eq!(
            OutputCache::parse("Drop").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(OutputCache::default(), OutputCache::Auto);
        assert!(!OutputCache::Keep.drops(usize::MAX));
        assert!(OutputCache::Drop.drops(0));
        assert!(!OutputCache::Auto.drops(4096));
        assert!(OutputCache::Auto.drops(usize::MAX));
    }

    #[test]
    fn dropped_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.npy");
        let out = OutputFile::create_npy(&dest, &layout(1000), &OutputOptions::default()).unwrap();
        drop(out);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn existing_output_needs_force_and_inputs_are_protected() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.npy");
        std::fs::write(&dest, b"old").unwrap();
        let e = OutputFile::create_npy(&dest, &layout(4), &OutputOptions::default())
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::OutputExists);
        let link = dir.path().join("link.npy");
        std::fs::hard_link(&dest, &link).unwrap();
        let opts = OutputOptions {
            force: true,
            inputs: vec![link.clone()],
            ..Default::default()
        };
        let e = OutputFile::create_npy(&dest, &layout(4), &opts)
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::SameFile);
        let opts = OutputOptions {
            force: true,
            ..Default::default()
        };
        let out = OutputFile::create_npy(&dest, &layout(4), &opts).unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap().len(), 132);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn scratch_file_is_unnamed_and_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ScratchFile::create(dir.path(), 3 * 4096 + 10).unwrap();
        assert_eq!(s.len(), 3 * 4096 + 10);
        s.data_mut()[5] = 7;
        {
            let out = s.output();
            let (bytes, hints) = out.split();
            bytes[4096] = 9;
            hints.start_writeback(0..8192);
            hints.release(0..8192);
        }
        assert_eq!(s.input().bytes[5], 7);
        assert_eq!(s.data()[4096], 9);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn writer_writes_data_with_pwrite_and_checks_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.npy");
        let out = OutputFile::create_npy(&dest, &layout(10), &OutputOptions::default().sync(false))
            .unwrap();
        let w = out.writer();
        w.write_at(0, &[1, 2, 3]).unwrap();
        w.write_at(3, &[4; 7]).unwrap();
        w.start_writeback(0..10);
        w.release(0..10);
        let e = w.write_at(8, &[0; 3]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(!dest.exists());
        out.commit().unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        assert_eq!(&bytes[128..], &[1, 2, 3, 4, 4, 4, 4, 4, 4, 4]);
    }

    #[test]
    fn unallocated_output_takes_disk_only_as_written() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.npy");
        let n = 64 << 20;
        let mut out =
            OutputFile::create_npy_unallocated(&dest, &layout(n), &OutputOptions::default())
                .unwrap();
        assert!(!out.is_allocated());
        assert!(out.available_space().unwrap() > 0);
        let blocks = |out: &OutputFile| out.file.metadata().unwrap().blocks() * 512;
        // Only the header's block is on disk, though the file has its full length.
        assert_eq!(out.file.metadata().unwrap().len(), (128 + n) as u64);
        assert!(blocks(&out) < 1 << 20, "{} bytes allocated", blocks(&out));
        out.writer().write_at(n - 3, &[7, 8, 9]).unwrap();
        out.allocate().unwrap();
        assert!(out.is_allocated());
        assert!(blocks(&out) >= n as u64, "{} bytes allocated", blocks(&out));
        out.data_mut()[0] = 5;
        out.allocate().unwrap(); // idempotent
        out.commit().unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        assert_eq!(bytes.len(), 128 + n);
        assert_eq!((bytes[128], bytes[129]), (5, 0));
        assert_eq!(&bytes[128 + n - 3..], &[7, 8, 9]);
    }

    #[test]
    fn a_region_output_writes_its_range_and_names_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.raw");
        std::fs::write(&path, vec![1u8; 10_000]).unwrap();
        let mut out = OutputFile::open_region(&path, 4000, 100, &OutputOptions::default()).unwrap();
        assert!(out.is_allocated());
        assert_eq!((out.nbytes(), out.data_offset()), (100, 4000));
        out.data_mut().fill(2);
        out.writer().write_at(98, &[3, 4]).unwrap();
        assert!(
            out.writer().write_at(99, &[0, 0]).is_err(),
            "past the range"
        );
        out.commit().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 10_000);
        assert!(bytes[..4000].iter().all(|&b| b == 1));
        assert!(bytes[4000..4098].iter().all(|&b| b == 2));
        assert_eq!(&bytes[4098..4100], &[3, 4]);
        assert!(bytes[4100..].iter().all(|&b| b == 1));
        // Dropped uncommitted: the file stays (its owner discards it), nothing else appears.
        drop(OutputFile::open_region(&path, 0, 10_000, &OutputOptions::default()).unwrap());
        assert!(path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = OutputFile::open_region(&path, 9_999, 2, &OutputOptions::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("beyond the end"), "{e}");
    }

    #[test]
    fn freeing_consumed_ranges_zeroes_whole_pages_only() {
        let page = sys::page_size();
        let dir = tempfile::tempdir().unwrap();
        let mut s = ScratchFile::create(dir.path(), 4 * page).unwrap();
        s.data_mut().fill(5);
        // From the middle of page 0 to the middle of page 3: pages 1 and 2 are freed.
        s.free_consumed(page / 2..3 * page + page / 2);
        let d = s.data();
        assert!(d[..page].iter().all(|&b| b == 5));
        assert!(
            d[page..3 * page].iter().all(|&b| b == 0),
            "freed pages read zeros"
        );
        assert!(d[3 * page..].iter().all(|&b| b == 5));
        s.free_consumed(10..page - 1); // inside one page: nothing to free
        assert_eq!(s.data()[10], 5);
    }
}
