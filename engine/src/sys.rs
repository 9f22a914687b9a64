//! The one module of outcore that talks to the operating system below `std`: memory mappings,
//! `madvise`, `fadvise`, `fallocate`, `sync_file_range`, unnamed temporary files and the page
//! size. Every `unsafe` block of the engine is here, each with a `// SAFETY:` comment.
//!
//! The unsafety of a file-backed mapping is stated once, at [`Mapping::map`]: the bytes of a
//! shared mapping can change (or vanish: SIGBUS) if another process writes or truncates the
//! file while we hold it. outcore maps inputs read-only, never writes them, and prefaults every
//! chunk with `MADV_POPULATE_READ` before a kernel reads it (for a cached chunk read front to
//! back, only its last page: see `Input::check_backed`), so that a truncation is reported as
//! an error (`EFAULT`) rather than a crash wherever the kernel supports that advice. The
//! remaining window (a truncation between the prefault and the read) is documented in
//! docs/verification.md.
//!
//! Hints are advisory: a failed `madvise` is ignored (the job is only slower), except
//! `MADV_POPULATE_READ`, whose `EFAULT` means the file no longer backs the range.

use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use memmap2::{Mmap, MmapMut, MmapOptions};

/// The system page size (cached).
pub fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions; it only reads a system constant.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            n as usize
        } else {
            4096
        }
    })
}

/// How a file is mapped (NumPy's memmap modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    /// `r`: shared, read-only.
    ReadOnly,
    /// `r+` / `w+`: shared, writes go to the file.
    ReadWrite,
    /// `c`: private copy-on-write; writes stay in memory.
    CopyOnWrite,
}

enum Inner {
    Empty,
    Ro(Mmap),
    Rw(MmapMut),
    /// Bytes in memory (no file): every hint about them is a no-op.
    Memory(Box<dyn MemoryBytes>),
}

/// Memory that an in-memory array reads (and, when it lends them mutably, writes): an owner
/// of bytes that stay at one address while it lives.
pub trait MemoryBytes: Send + Sync + 'static {
    /// The bytes.
    fn bytes(&self) -> &[u8];
    /// The bytes, writable; `None` for memory lent read-only.
    fn bytes_mut(&mut self) -> Option<&mut [u8]>;
    /// The owner itself, to take a vector back out of an array.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
    /// The owner itself, to ask what it is.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Read-only memory of any owner that can lend its bytes (`Vec<u8>`, `Arc<[u8]>`, a buffer
/// kept alive by a foreign object…).
pub struct ReadOnlyBytes<B>(pub B);

impl<B: AsRef<[u8]> + Send + Sync + 'static> MemoryBytes for ReadOnlyBytes<B> {
    fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A vector of plain values, lent as (aligned) bytes, writable.
impl<T: bytemuck::Pod + Send + Sync + 'static> MemoryBytes for Vec<T> {
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self)
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(bytemuck::cast_slice_mut(self))
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A whole-file memory mapping starting at file offset 0, so that page alignment of an address
/// in the mapping is page alignment in the file.
pub struct Mapping {
    inner: Inner,
    mode: MapMode,
}

impl Mapping {
    /// Maps the first `len` bytes of `file` (the whole file, normally).
    pub fn map(file: &File, len: usize, mode: MapMode) -> io::Result<Mapping> {
        if len == 0 {
            return Ok(Mapping {
                inner: Inner::Empty,
                mode,
            });
        }
        let mut opts = MmapOptions::new();
        opts.len(len);
        // SAFETY: a file-backed mapping is only sound while no one truncates or writes the
        // file behind our back. outcore never does either to a file it maps read-only or
        // copy-on-write, and output files are private to the job until committed (a region
        // output's file is shared only with writers of other, disjoint ranges, and its owner
        // keeps its size). What other processes may do is the documented, mitigated risk of
        // this module (see the module docs): reads are prefaulted with MADV_POPULATE_READ so
        // truncation becomes an error.
        let inner = unsafe {
            match mode {
                MapMode::ReadOnly => Inner::Ro(opts.map(file)?),
                MapMode::ReadWrite => Inner::Rw(opts.map_mut(file)?),
                MapMode::CopyOnWrite => Inner::Rw(opts.map_copy(file)?),
            }
        };
        Ok(Mapping { inner, mode })
    }

    /// Bytes in memory seen as a mapping: read-write when the owner lends them mutably.
    pub fn memory(owner: Box<dyn MemoryBytes>, writable: bool) -> Mapping {
        Mapping {
            inner: Inner::Memory(owner),
            mode: if writable {
                MapMode::ReadWrite
            } else {
                MapMode::ReadOnly
            },
        }
    }

    /// The owner of an in-memory mapping (`None` for a file mapping).
    pub fn into_memory(self) -> Option<Box<dyn MemoryBytes>> {
        match self.inner {
            Inner::Memory(owner) => Some(owner),
            _ => None,
        }
    }

    /// The owner of an in-memory mapping, to ask what it is.
    pub fn memory_owner(&self) -> Option<&dyn MemoryBytes> {
        match &self.inner {
            Inner::Memory(owner) => Some(owner.as_ref()),
            _ => None,
        }
    }

    /// Whether this is memory rather than a file mapping.
    pub fn is_memory(&self) -> bool {
        matches!(self.inner, Inner::Memory(_))
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.inner {
            Inner::Empty => &[],
            Inner::Ro(m) => m,
            Inner::Rw(m) => m,
            Inner::Memory(owner) => owner.bytes(),
        }
    }

    /// Writable bytes, for `r+`, `w+` and `c` mappings.
    pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        match &mut self.inner {
            Inner::Empty => Some(&mut []),
            Inner::Ro(_) => None,
            Inner::Rw(m) => Some(&mut m[..]),
            Inner::Memory(owner) if self.mode == MapMode::ReadWrite => owner.bytes_mut(),
            Inner::Memory(_) => None,
        }
    }

    /// An advisor for the whole mapping (hints only; it never hands out bytes).
    pub fn advisor(&self) -> Advisor<'_> {
        if self.is_memory() {
            return Advisor::inert();
        }
        Advisor::new(self)
    }

    /// Splits a writable mapping into an advisor and its writable bytes, so that one thread can
    /// give hints about ranges that worker threads are writing.
    pub fn split_mut(&mut self) -> Option<(Advisor<'_>, &mut [u8])> {
        let advisor = if self.is_memory() {
            Advisor::inert()
        } else {
            Advisor::raw(self.bytes().as_ptr() as usize, self.len(), self.mode)
        };
        let bytes = self.bytes_mut()?;
        Some((advisor, bytes))
    }

    /// `msync(MS_SYNC)` of the whole mapping (shared writable mappings only).
    pub fn flush(&self) -> io::Result<()> {
        match (&self.inner, self.mode) {
            (Inner::Rw(m), MapMode::ReadWrite) => m.flush(),
            _ => Ok(()),
        }
    }

    /// Like [`flush`](Self::flush), for `len` bytes from `offset` only.
    pub fn flush_range(&self, offset: usize, len: usize) -> io::Result<()> {
        match (&self.inner, self.mode) {
            (Inner::Rw(m), MapMode::ReadWrite) if len > 0 => m.flush_range(offset, len),
            _ => Ok(()),
        }
    }
}

/// Access-pattern hints that cannot lose data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// Read (or written) chunk by chunk, front to back: `MADV_HUGEPAGE` (and `MADV_NORMAL`). Page faults then read
    /// ahead in 2 MiB page-cache folios, which a later scan maps with one entry each instead
    /// of 512. `MADV_SEQUENTIAL` and `MADV_WILLNEED` read ahead in small folios on Linux 6.x:
    /// a file first read that way was summed several times slower afterwards, and was read
    /// from disk more slowly too (measured in docs/design.md).
    Sequential,
    /// Scattered or strided: `MADV_RANDOM` (no readahead beyond the page touched) and
    /// `MADV_NOHUGEPAGE` (a fault must not read a whole 2 MiB folio for one probe).
    Random,
    /// Start reading a range now (`MADV_WILLNEED`).
    WillNeed,
}

const MADV_POPULATE_READ: libc::c_int = 22;
const MADV_POPULATE_WRITE: libc::c_int = 23;

static POPULATE_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// Whether `MADV_POPULATE_*` has worked so far (false once a call found the kernel without it).
#[cfg(test)]
pub fn populate_supported() -> bool {
    !POPULATE_UNSUPPORTED.load(Ordering::Relaxed)
}

/// Gives hints about byte ranges of one mapping. Holds only the address range, borrowed from
/// the mapping for its lifetime, so it can be shared with threads that hold the bytes.
#[derive(Clone, Copy)]
pub struct Advisor<'a> {
    base: usize,
    len: usize,
    mode: MapMode,
    _mapping: PhantomData<&'a Mapping>,
}

impl<'a> Advisor<'a> {
    fn new(map: &'a Mapping) -> Advisor<'a> {
        Advisor::raw(map.bytes().as_ptr() as usize, map.len(), map.mode)
    }

    /// An advisor over no pages: every hint is a no-op (memory that is not a file mapping,
    /// where `MADV_DONTNEED` would discard data).
    fn inert() -> Advisor<'a> {
        Advisor::raw(0, 0, MapMode::ReadOnly)
    }

    fn raw(base: usize, len: usize, mode: MapMode) -> Advisor<'a> {
        Advisor {
            base,
            len,
            mode,
            _mapping: PhantomData,
        }
    }

    /// The page-aligned address range covering `range` (outward), clipped to the mapping.
    fn pages(&self, range: &Range<usize>) -> Option<(usize, usize)> {
        let end = range.end.min(self.len);
        if self.len == 0 || range.start >= end {
            return None;
        }
        let page = page_size();
        let start = self.base + range.start / page * page;
        let stop = (self.base + end).div_ceil(page) * page;
        Some((start, stop - start))
    }

    fn madvise(&self, range: &Range<usize>, advice: libc::c_int) -> io::Result<()> {
        let Some((addr, len)) = self.pages(range) else {
            return Ok(());
        };
        // SAFETY: [addr, addr+len) lies inside (or, by rounding the end up to a page, on the
        // last partial page of) a mapping that lives for 'a. The advice values used here
        // (NORMAL, [NO]HUGEPAGE, RANDOM, WILLNEED, POPULATE_*, and DONTNEED on shared or read-only file
        // mappings, see `release`) never change the contents the program observes.
        let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// An access-pattern hint; failures are ignored (hints only make things faster).
    pub fn advise(&self, range: Range<usize>, advice: Advice) {
        // Each pattern resets what the other set: one mapping can be written in order and
        // then searched at random (a sort's spilled runs).
        let codes: &[libc::c_int] = match advice {
            Advice::Sequential => &[libc::MADV_NORMAL, libc::MADV_HUGEPAGE],
            Advice::Random => &[libc::MADV_RANDOM, libc::MADV_NOHUGEPAGE],
            Advice::WillNeed => &[libc::MADV_WILLNEED],
        };
        for &code in codes {
            let _ = self.madvise(&range, code);
        }
    }

    /// Faults the range in for reading in one call (`MADV_POPULATE_READ`). Returns an error of
    /// kind `EFAULT` when the file no longer backs part of the range (it was truncated).
    /// Kernels without the advice fall back silently to ordinary faults.
    pub fn populate_read(&self, range: Range<usize>) -> io::Result<()> {
        self.populate(range, MADV_POPULATE_READ)
    }

    /// Whether the page holding byte `offset` is in the page cache (`mincore`); false when it
    /// is not, lies outside the mapping, or the call fails.
    pub fn is_resident(&self, offset: usize) -> bool {
        self.resident_pages(offset..offset + 1) == 1
    }

    /// How many of the pages covering `range` are in the page cache (`mincore`); 0 where the
    /// call fails.
    pub fn resident_pages(&self, range: Range<usize>) -> usize {
        let Some((addr, len)) = self.pages(&range) else {
            return 0;
        };
        // Asked a window at a time, so that a huge file needs no huge vector.
        let page = page_size();
        let mut state = vec![0u8; (len / page).min(1 << 16)];
        let mut resident = 0;
        let mut at = 0;
        while at < len {
            let window = (len - at).min(state.len() * page);
            // SAFETY: [addr+at, addr+at+window) is a page-aligned range of whole pages inside
            // a mapping that lives for 'a, and mincore writes one byte per page of it, at most
            // state.len() bytes, into `state`.
            let rc = unsafe {
                libc::mincore((addr + at) as *mut libc::c_void, window, state.as_mut_ptr())
            };
            if rc != 0 {
                return 0;
            }
            resident += state[..window / page]
                .iter()
                .filter(|&&s| s & 1 == 1)
                .count();
            at += window;
        }
        resident
    }

    /// Prefaults the range for writing (`MADV_POPULATE_WRITE`); failures are ignored since the
    /// space was allocated up front, so ordinary write faults will succeed.
    pub fn populate_write(&self, range: Range<usize>) {
        if self.mode != MapMode::ReadOnly {
            let _ = self.populate(range, MADV_POPULATE_WRITE);
        }
    }

    fn populate(&self, range: Range<usize>, advice: libc::c_int) -> io::Result<()> {
        if POPULATE_UNSUPPORTED.load(Ordering::Relaxed) {
            return Ok(());
        }
        match self.madvise(&range, advice) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                POPULATE_UNSUPPORTED.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Err(e),
            // ENOMEM, EINTR, EAGAIN…: the ordinary fault path will do the work (or fail loudly).
            Err(_) => Ok(()),
        }
    }

    /// Drops the range from this process's page tables (`MADV_DONTNEED`). For shared and
    /// read-only file mappings the data stays in the file and the page cache and is faulted
    /// back on the next access, so this only lowers resident memory. Private copy-on-write
    /// mappings are left alone: there DONTNEED would discard the process's modifications.
    pub fn release(&self, range: Range<usize>) {
        if self.mode != MapMode::CopyOnWrite {
            let _ = self.madvise(&range, libc::MADV_DONTNEED);
        }
    }
}

/// How many pages of `file` are in the page cache, and how many pages it has.
pub fn cached_pages(file: &File) -> io::Result<(usize, usize)> {
    let len = usize::try_from(file.metadata()?.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
    let map = Mapping::map(file, len, MapMode::ReadOnly)?;
    Ok((
        map.advisor().resident_pages(0..len),
        len.div_ceil(page_size()),
    ))
}

/// A zeroed vector of `n` values for a large working set (sort buffers). Before anything
/// touches it, its memory is advised `MADV_HUGEPAGE`: faulting it in then costs one fault per
/// 2 MiB instead of one per 4 KiB (faults are what first use of fresh memory costs, and they
/// are expensive in VMs), and scattered writes across it need few TLB entries. A hint only:
/// where transparent huge pages are off, the vector is the same.
pub fn large_buffer<T: bytemuck::Zeroable + Clone>(n: usize) -> Vec<T> {
    let v = vec![T::zeroed(); n];
    let bytes = std::mem::size_of_val(v.as_slice());
    let page = page_size();
    let start = (v.as_ptr() as usize).div_ceil(page) * page;
    let end = (v.as_ptr() as usize + bytes) / page * page;
    if end > start {
        // SAFETY: [start, end) is page-aligned and lies inside the vector's allocation, which
        // outlives the call. MADV_HUGEPAGE only changes how the kernel backs the pages, never
        // their contents (zeroed memory stays zeroed).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
    v
}

/// Hints the CPU to bring the cache line holding `p` into cache (a merge reading many streams
/// in an order the hardware prefetcher cannot follow). `p` may point anywhere, even past the
/// end of its allocation: a prefetch never faults and reads nothing the program sees.
#[inline(always)]
pub fn prefetch_read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it does not dereference `p` in the program's sense,
    // cannot fault on any address, and changes no state the program can observe. SSE is part
    // of the x86_64 baseline, so the instruction always exists.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Hints the CPU to bring every cache line of `s` into cache: a kernel that does much work per
/// value reads blocks of values ahead of use this way. Left to the hardware prefetcher alone,
/// such a loop waited on memory (a histogram's count of 1 GiB in memory took 0.58 s on one
/// core, 0.28 s with the next blocks prefetched: the loop's many instructions fill the window
/// that would otherwise hold loads ahead).
#[inline(always)]
pub fn prefetch_slice<T>(s: &[T]) {
    let start = s.as_ptr().cast::<u8>();
    for offset in (0..std::mem::size_of_val(s)).step_by(64) {
        prefetch_read(start.wrapping_add(offset));
    }
}

/// Allocates `len` bytes of the file up front so that later writes through a mapping cannot
/// fail for lack of space (which would be a SIGBUS). `ENOSPC` is returned as is.
pub fn allocate(file: &File, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: plain syscall on an open file descriptor we own; no memory is passed.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => {
            // The file system cannot reserve space; posix_fallocate emulates it by writing.
            // SAFETY: as above.
            let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(rc))
            }
        }
        _ => Err(err),
    }
}

/// Bytes free for unprivileged use on the file system holding `file` (`fstatvfs`).
pub fn available_space(file: &File) -> io::Result<u64> {
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `st` is a valid, writable statvfs buffer; fstatvfs fills it on success.
    let rc = unsafe { libc::fstatvfs(file.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatvfs returned 0, so it initialised the whole struct.
    let st = unsafe { st.assume_init() };
    // The fields' types differ between targets (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Frees the blocks of a file range that will not be read again (`FALLOC_FL_PUNCH_HOLE`,
/// size kept: a mapping of the range reads zeros, it does not fault). Best effort: file
/// systems without hole punching keep the blocks until the file is deleted.
pub fn punch_hole(file: &File, range: Range<u64>) {
    if range.end <= range.start {
        return;
    }
    let (Ok(off), Ok(len)) = (
        libc::off_t::try_from(range.start),
        libc::off_t::try_from(range.end - range.start),
    ) else {
        return;
    };
    // SAFETY: plain syscall on an open file descriptor we own; no memory is passed.
    unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            off,
            len,
        );
    }
}

/// Starts writeback of a file range without waiting (`SYNC_FILE_RANGE_WRITE`).
pub fn start_writeback(file: &File, range: Range<u64>) {
    sync_range(file, range, libc::SYNC_FILE_RANGE_WRITE);
}

/// Writes a file range back and waits until it is on disk, so its pages are clean and can be
/// dropped from memory.
pub fn finish_writeback(file: &File, range: Range<u64>) {
    sync_range(
        file,
        range,
        libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER,
    );
}

fn sync_range(file: &File, range: Range<u64>, flags: libc::c_uint) {
    if range.end <= range.start {
        return;
    }
    // SAFETY: plain syscall on an open descriptor; errors only mean no early writeback, the
    // final msync/fsync still reports any real I/O error.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            range.start as libc::off64_t,
            (range.end - range.start) as libc::off64_t,
            flags,
        );
    }
}

/// File access-pattern advice.
#[derive(Debug, Clone, Copy)]
pub enum FileAdvice {
    /// Sequential access, read ahead (`POSIX_FADV_SEQUENTIAL`).
    Sequential,
    /// Drop clean cached pages of the range (data stays on disk).
    DontNeed,
}

/// `posix_fadvise` on a range; failures are ignored (advice only).
pub fn fadvise(file: &File, range: Range<u64>, advice: FileAdvice) {
    let code = match advice {
        FileAdvice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
        FileAdvice::DontNeed => libc::POSIX_FADV_DONTNEED,
    };
    // SAFETY: plain syscall on an open descriptor; no memory is passed.
    unsafe {
        libc::posix_fadvise(
            file.as_raw_fd(),
            range.start as libc::off_t,
            range.end.saturating_sub(range.start) as libc::off_t,
            code,
        );
    }
}

/// Opens an unnamed temporary file in `dir` (`O_TMPFILE`): it has no name until
/// [`link_unnamed`] gives it one, and vanishes with its descriptor on any exit, even `kill -9`.
/// Returns `Ok(None)` where the file system does not support `O_TMPFILE`.
pub fn open_unnamed(dir: &Path) -> io::Result<Option<File>> {
    use std::os::unix::ffi::OsStrExt;
    let c_dir = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: c_dir is a valid NUL-terminated string that outlives the call; the returned
    // descriptor is owned by the File we build from it and nowhere else.
    let fd = unsafe {
        libc::open(
            c_dir.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
            0o666 as libc::c_uint,
        )
    };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL) => Ok(None),
            _ => Err(err),
        };
    }
    use std::os::fd::FromRawFd;
    // SAFETY: fd is a fresh descriptor returned by open and owned by nobody else.
    Ok(Some(unsafe { File::from_raw_fd(fd) }))
}

/// Gives an unnamed temporary file the name `dest`. Fails with `EEXIST` if `dest` exists
/// (it never replaces anything).
pub fn link_unnamed(file: &File, dest: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let proc_path = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .expect("no NUL in a formatted path");
    let c_dest = std::ffi::CString::new(dest.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: both strings are valid, NUL-terminated and outlive the call.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            libc::AT_FDCWD,
            c_dest.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_and_hints_a_file() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; 3 * page_size() + 5]).unwrap();
        let m = Mapping::map(&f, 3 * page_size() + 5, MapMode::ReadOnly).unwrap();
        let adv = m.advisor();
        adv.advise(0..m.len(), Advice::Sequential);
        adv.populate_read(10..2 * page_size()).unwrap();
        adv.release(0..page_size());
        assert!(m.bytes().iter().all(|&b| b == 7));
    }

    #[test]
    fn residency_follows_the_page_cache_and_truncation() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![1u8; 4 * page_size()]).unwrap();
        let m = Mapping::map(&f, 4 * page_size(), MapMode::ReadOnly).unwrap();
        let adv = m.advisor();
        // Just written through the file: every page is in the page cache.
        assert!(adv.is_resident(0));
        assert!(adv.is_resident(4 * page_size() - 1));
        assert!(!adv.is_resident(4 * page_size()), "outside the mapping");
        // After a truncation, pages past the end may still be reported resident (a large
        // folio that was not split), so residency alone never proves the file backs a page.
        f.set_len(page_size() as u64).unwrap();
        assert!(adv.is_resident(page_size() - 1));
    }

    #[test]
    fn counts_the_cached_pages_of_a_range_and_of_a_file() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![1u8; 4 * page_size() + 5]).unwrap();
        // Just written: all five pages (the last one partly) are cached.
        assert_eq!(cached_pages(&f).unwrap(), (5, 5));
        let m = Mapping::map(&f, 4 * page_size() + 5, MapMode::ReadOnly).unwrap();
        let adv = m.advisor();
        assert_eq!(adv.resident_pages(1..page_size() + 1), 2);
        assert_eq!(adv.resident_pages(3 * page_size()..100 * page_size()), 2);
        assert_eq!(adv.resident_pages(9 * page_size()..10 * page_size()), 0);
        assert_eq!(
            cached_pages(&tempfile::tempfile().unwrap()).unwrap(),
            (0, 0)
        );
    }

    #[test]
    fn populate_read_reports_truncation() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![1u8; 4 * page_size()]).unwrap();
        let m = Mapping::map(&f, 4 * page_size(), MapMode::ReadOnly).unwrap();
        f.set_len(page_size() as u64).unwrap();
        let r = m.advisor().populate_read(2 * page_size()..3 * page_size());
        if !POPULATE_UNSUPPORTED.load(Ordering::Relaxed) {
            assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EFAULT));
        }
    }

    #[test]
    fn unnamed_file_gets_a_name_only_when_linked() {
        let dir = tempfile::tempdir().unwrap();
        let Some(mut f) = open_unnamed(dir.path()).unwrap() else {
            return; // file system without O_TMPFILE: the named fallback is tested elsewhere
        };
        f.write_all(b"abc").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let dest = dir.path().join("out");
        link_unnamed(&f, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");
        assert_eq!(
            link_unnamed(&f, &dest).unwrap_err().raw_os_error(),
            Some(libc::EEXIST)
        );
    }
}
