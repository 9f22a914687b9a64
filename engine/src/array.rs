//! Memory-mapped arrays: `.npy` files and raw (`np.memmap` / `tofile`) files, in NumPy's modes.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, ErrorKind, Result};
use crate::layout::{Layout, Order};
use crate::npy;
use crate::sys::{Advice, Advisor, MapMode, Mapping, ReadOnlyBytes};

/// How an array file is opened, with NumPy's `mmap_mode` meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `r`: read-only.
    Read,
    /// `r+`: read and write an existing file in place.
    ReadWrite,
    /// `w+`: create (or overwrite) the file, then read and write it.
    Create,
    /// `c`: copy-on-write; writes are visible to this process only and never reach the file.
    CopyOnWrite,
}

impl Mode {
    /// Parses NumPy's mode strings: `r`, `r+`, `w+`, `c` (or their long names).
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "r" | "readonly" => Ok(Mode::Read),
            "r+" | "readwrite" => Ok(Mode::ReadWrite),
            "w+" | "write" => Ok(Mode::Create),
            "c" | "copyonwrite" => Ok(Mode::CopyOnWrite),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown mode {s:?} (expected r, r+, w+ or c)"),
            )),
        }
    }

    fn map_mode(self) -> MapMode {
        match self {
            Mode::Read => MapMode::ReadOnly,
            Mode::ReadWrite | Mode::Create => MapMode::ReadWrite,
            Mode::CopyOnWrite => MapMode::CopyOnWrite,
        }
    }
}

/// How to read a raw file: what NumPy's `np.memmap(path, dtype, mode, offset, shape, order)`
/// is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSpec {
    /// The element type.
    pub dtype: DType,
    /// The shape (elements per axis).
    pub shape: Vec<usize>,
    /// Where the data starts in the file, in bytes.
    pub offset: u64,
    /// The memory order of the data.
    pub order: Order,
}

/// An array: a mapped `.npy` or raw file, or (for the small cases an embedder has beside its
/// files) bytes in memory. Every kernel takes either.
pub struct Array {
    /// Empty for an in-memory array (errors then name no file).
    path: PathBuf,
    file: Option<File>,
    layout: Layout,
    data_offset: usize,
    version: Option<(u8, u8)>,
    mode: Mode,
    map: Mapping,
}

fn open_file(path: &Path, mode: Mode) -> Result<File> {
    // Look before opening: opening a FIFO for reading would block.
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::BadFormat,
            if meta.is_dir() {
                "is a directory, not an array file"
            } else {
                "is not a regular file (outcore maps regular files only)"
            },
        )
        .with_path(path));
    }
    let mut opts = OpenOptions::new();
    opts.read(true);
    if mode == Mode::ReadWrite {
        opts.write(true);
    }
    opts.open(path)
        .map_err(|e| Error::io("cannot open", e).with_path(path))
}

impl Array {
    /// Opens a `.npy` file read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Array> {
        Array::open_with(path, Mode::Read)
    }

    /// Opens an existing `.npy` file in mode `r`, `r+` or `c` (use [`Array::create`] for `w+`).
    pub fn open_with(path: impl AsRef<Path>, mode: Mode) -> Result<Array> {
        let path = path.as_ref();
        if mode == Mode::Create {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "mode w+ needs a dtype and shape: use Array::create",
            )
            .with_path(path));
        }
        let mut file = open_file(path, mode)?;
        let len = file_len(&file, path)?;
        let header = npy::read_header(&mut file, len, npy::MAX_HEADER_SIZE)
            .map_err(|e| e.with_path(path))?;
        let map_len = header.data_offset + header.layout.nbytes();
        let map = Mapping::map(&file, map_len, mode.map_mode())
            .map_err(|e| Error::io("cannot map", e).with_path(path))?;
        Ok(Array {
            path: path.to_path_buf(),
            file: Some(file),
            layout: header.layout,
            data_offset: header.data_offset,
            version: Some(header.version),
            mode,
            map,
        })
    }

    /// Creates (or truncates and overwrites) a `.npy` file of the given layout, zero-filled,
    /// mapped read-write: NumPy's `open_memmap(path, mode='w+', …)`. For job outputs that must
    /// appear atomically use [`crate::OutputFile`] instead.
    pub fn create(path: impl AsRef<Path>, layout: Layout) -> Result<Array> {
        let path = path.as_ref();
        let header = npy::header_bytes(&layout);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io("cannot create", e).with_path(path))?;
        file.write_all(&header)
            .map_err(|e| Error::io("cannot write the header", e).with_path(path))?;
        let total = header.len() + layout.nbytes();
        crate::sys::allocate(&file, total as u64)
            .map_err(|e| Error::io("cannot allocate the file", e).with_path(path))?;
        let map = Mapping::map(&file, total, MapMode::ReadWrite)
            .map_err(|e| Error::io("cannot map", e).with_path(path))?;
        Ok(Array {
            path: path.to_path_buf(),
            file: Some(file),
            data_offset: header.len(),
            layout,
            version: Some((header[6], header[7])),
            mode: Mode::Create,
            map,
        })
    }

    /// Opens a raw file (no header) as NumPy's `np.memmap` would, with dtype, shape, byte
    /// offset and order given by the caller. Mode `w+` creates the file.
    pub fn open_raw(path: impl AsRef<Path>, spec: RawSpec, mode: Mode) -> Result<Array> {
        let path = path.as_ref();
        let layout =
            Layout::new(spec.dtype, spec.shape, spec.order).map_err(|e| e.with_path(path))?;
        let offset = usize::try_from(spec.offset)
            .map_err(|_| Error::new(ErrorKind::Overflow, "raw offset too large").with_path(path))?;
        let needed = offset.checked_add(layout.nbytes()).ok_or_else(|| {
            Error::new(ErrorKind::Overflow, "raw offset + size overflows").with_path(path)
        })?;
        let file = if mode == Mode::Create {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .map_err(|e| Error::io("cannot create", e).with_path(path))?;
            crate::sys::allocate(&f, needed as u64)
                .map_err(|e| Error::io("cannot allocate the file", e).with_path(path))?;
            f
        } else {
            open_file(path, mode)?
        };
        let len = file_len(&file, path)?;
        if len < needed as u64 {
            return Err(Error::new(
                ErrorKind::Shape,
                format!(
                    "raw file is {len} bytes, too short for offset {offset} + shape {:?} of {} ({} bytes)",
                    layout.shape(),
                    layout.dtype().str_code(),
                    layout.nbytes()
                ),
            )
            .with_path(path));
        }
        let map = Mapping::map(&file, needed, mode.map_mode())
            .map_err(|e| Error::io("cannot map", e).with_path(path))?;
        Ok(Array {
            path: path.to_path_buf(),
            file: Some(file),
            layout,
            data_offset: offset,
            version: None,
            mode,
            map,
        })
    }

    /// An array over bytes in memory, read in place (no copy, no file): `bytes` holds the
    /// data in `layout`'s dtype, shape and order, and is kept alive by the array.
    ///
    /// ```
    /// use outcore_engine::{Array, DType, Layout, Order, ScalarKind};
    /// let bytes: Vec<u8> = [1.5f64, 2.5, 3.5].iter().flat_map(|v| v.to_ne_bytes()).collect();
    /// let layout = Layout::new(DType::native(ScalarKind::F64), vec![3], Order::C)?;
    /// let a = Array::from_memory(bytes, layout)?;
    /// assert_eq!(a.to_vec::<f64>()?, [1.5, 2.5, 3.5]);
    /// # Ok::<(), outcore_engine::Error>(())
    /// ```
    pub fn from_memory<B>(bytes: B, layout: Layout) -> Result<Array>
    where
        B: AsRef<[u8]> + Send + Sync + 'static,
    {
        let len = bytes.as_ref().len();
        if len != layout.nbytes() {
            return Err(Error::new(
                ErrorKind::Shape,
                format!(
                    "{len} bytes in memory do not hold shape {:?} of {} ({} bytes)",
                    layout.shape(),
                    layout.dtype().str_code(),
                    layout.nbytes()
                ),
            ));
        }
        Ok(Array::in_memory(
            Mapping::memory(Box::new(ReadOnlyBytes(bytes)), false),
            layout,
            Mode::Read,
        ))
    }

    /// A C-ordered in-memory array that owns `values` (no copy), writable: a destination for
    /// `map_into`, or an input. [`Array::into_vec`] gives the vector back.
    ///
    /// ```
    /// use outcore_engine::Array;
    /// let a = Array::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3])?;
    /// assert_eq!(a.shape(), [2, 3]);
    /// assert_eq!(a.into_vec::<i32>()?, [1, 2, 3, 4, 5, 6]);
    /// # Ok::<(), outcore_engine::Error>(())
    /// ```
    pub fn from_vec<T: Element>(values: Vec<T>, shape: &[usize]) -> Result<Array> {
        let layout = Layout::new(T::dtype(), shape.to_vec(), Order::C)?;
        if layout.len() != values.len() {
            return Err(Error::new(
                ErrorKind::Shape,
                format!(
                    "{} values do not fill shape {shape:?} ({} elements)",
                    values.len(),
                    layout.len()
                ),
            ));
        }
        Ok(Array::in_memory(
            Mapping::memory(Box::new(values), true),
            layout,
            Mode::ReadWrite,
        ))
    }

    /// A zero-filled, writable in-memory array of `T` (C order): a destination for small
    /// results an embedder keeps in memory.
    pub fn zeros<T: Element>(shape: &[usize]) -> Result<Array> {
        let layout = Layout::new(T::dtype(), shape.to_vec(), Order::C)?;
        Array::from_vec(vec![T::default(); layout.len()], shape)
    }

    fn in_memory(map: Mapping, layout: Layout, mode: Mode) -> Array {
        Array {
            path: PathBuf::new(),
            file: None,
            layout,
            data_offset: 0,
            version: None,
            mode,
            map,
        }
    }

    /// The elements in memory order as a new vector of `T` (the array's dtype must be `T`'s,
    /// native byte order).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        Ok(self.as_slice::<T>()?.into_owned())
    }

    /// The vector an array made by [`Array::from_vec`] owns, without a copy; any other array's
    /// elements are copied as by [`Array::to_vec`].
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>> {
        self.check_element::<T>()?;
        let owns_vec = self
            .map
            .memory_owner()
            .is_some_and(|owner| owner.as_any().is::<Vec<T>>());
        if !owns_vec {
            return self.to_vec();
        }
        match self
            .map
            .into_memory()
            .map(|owner| owner.into_any().downcast::<Vec<T>>())
        {
            Some(Ok(values)) => Ok(*values),
            // Not reached: the owner was checked to be a `Vec<T>` above.
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                "the array's memory is not a vector of its dtype",
            )),
        }
    }

    /// Whether the array is bytes in memory rather than a file.
    pub fn is_memory(&self) -> bool {
        self.map.is_memory()
    }

    /// The file's path (empty for an in-memory array).
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The open file (`None` for an in-memory array).
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }
    /// The dtype, shape and memory order.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// The element type.
    pub fn dtype(&self) -> &DType {
        self.layout.dtype()
    }
    /// Elements per axis.
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }
    /// C (row-major) or Fortran (column-major) memory order.
    pub fn order(&self) -> Order {
        self.layout.order()
    }
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.layout.len()
    }
    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }
    /// The data's size in bytes.
    pub fn nbytes(&self) -> usize {
        self.layout.nbytes()
    }
    /// Byte offset of the data in the file (not page-aligned in general).
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }
    /// `.npy` format version; `None` for raw files.
    pub fn version(&self) -> Option<(u8, u8)> {
        self.version
    }
    /// The mode the array was opened in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The array's bytes in memory order.
    pub fn data(&self) -> &[u8] {
        &self.map.bytes()[self.data_offset..]
    }

    /// Writable bytes (modes `r+`, `w+`, `c`).
    pub fn data_mut(&mut self) -> Result<&mut [u8]> {
        let off = self.data_offset;
        match self.map.bytes_mut() {
            Some(b) => Ok(&mut b[off..]),
            None => Err(
                Error::new(ErrorKind::InvalidArgument, "array is opened read-only")
                    .with_path(&self.path),
            ),
        }
    }

    /// The elements as a typed slice (native byte order, matching dtype, aligned data).
    /// Copies when the data is not aligned for `T`; use [`Array::input`] for chunked work.
    pub fn as_slice<T: Element>(&self) -> Result<Cow<'_, [T]>> {
        self.check_element::<T>()?;
        Ok(cast_or_copy(self.data()))
    }

    /// The elements as a mutable typed slice (native byte order, aligned data).
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        self.check_element::<T>()?;
        let path = self.path.clone();
        let bytes = self.data_mut()?;
        bytemuck::try_cast_slice_mut(bytes).map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                "data is not aligned for in-place typed access",
            )
            .with_path(path)
        })
    }

    fn check_element<T: Element>(&self) -> Result<()> {
        let want = T::dtype();
        if *self.dtype() != want {
            return Err(Error::new(
                ErrorKind::UnsupportedDType,
                format!(
                    "typed access as {} but the array's dtype is {}",
                    want.str_code(),
                    self.dtype().str_code()
                ),
            )
            .with_path(&self.path));
        }
        Ok(())
    }

    /// The bytes of rows `rows` along the first axis of a C-ordered array (no copy).
    pub fn rows(&self, rows: Range<usize>) -> Result<&[u8]> {
        let row_bytes = self.row_bytes()?;
        let n = self.shape().first().copied().unwrap_or(1);
        if rows.start > rows.end || rows.end > n {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("rows {rows:?} out of range for {n} rows"),
            ));
        }
        Ok(&self.data()[rows.start * row_bytes..rows.end * row_bytes])
    }

    /// Bytes of one step along the first axis of a C-ordered array.
    pub fn row_bytes(&self) -> Result<usize> {
        if !self.layout.is_c_contiguous() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "row access needs a C-ordered array",
            ));
        }
        Ok(match self.shape().split_first() {
            Some((_, rest)) => rest.iter().product::<usize>() * self.layout.itemsize(),
            None => self.layout.itemsize(),
        })
    }

    /// The array as a chunked input for the scheduler.
    pub fn input(&self) -> Input<'_> {
        Input {
            bytes: self.data(),
            advisor: self.map.advisor(),
            data_offset: self.data_offset,
            path: &self.path,
        }
    }

    /// Writes modifications of an `r+`/`w+` array to disk (`msync`).
    pub fn flush(&self) -> Result<()> {
        self.map
            .flush()
            .map_err(|e| Error::io("cannot flush", e).with_path(&self.path))
    }
}

fn file_len(file: &File, path: &Path) -> Result<u64> {
    Ok(file
        .metadata()
        .map_err(|e| Error::io("cannot stat", e).with_path(path))?
        .len())
}

/// Reinterprets bytes as elements, copying only when they are not aligned for `T`.
pub fn cast_or_copy<T: Element>(bytes: &[u8]) -> Cow<'_, [T]> {
    match bytemuck::try_cast_slice(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytemuck::pod_collect_to_vec(bytes)),
    }
}

/// A mapped input as the scheduler sees it: the data bytes and a way to give hints about them.
/// Byte ranges are relative to the start of the data.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The data bytes (read-only).
    pub bytes: &'a [u8],
    advisor: Advisor<'a>,
    data_offset: usize,
    path: &'a Path,
}

impl<'a> Input<'a> {
    /// An input over bytes the caller mapped (e.g. a temporary run file).
    pub(crate) fn from_mapping(map: &'a Mapping, data_offset: usize, path: &'a Path) -> Input<'a> {
        Input {
            bytes: &map.bytes()[data_offset..],
            advisor: map.advisor(),
            data_offset,
            path,
        }
    }

    /// The file's path (empty for an in-memory array).
    pub fn path(&self) -> &'a Path {
        self.path
    }

    /// Offset of the data inside the file (for the planner's page alignment).
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    fn shift(&self, r: &Range<usize>) -> Range<usize> {
        r.start + self.data_offset..r.end + self.data_offset
    }

    /// An access-pattern hint about `range`; never fails a job.
    pub fn advise(&self, range: Range<usize>, advice: Advice) {
        self.advisor.advise(self.shift(&range), advice);
    }

    /// Faults `range` in; an `EFAULT` (the file was truncated underneath us) is an error.
    pub fn populate(&self, range: Range<usize>) -> Result<()> {
        self.advisor.populate_read(self.shift(&range)).map_err(|e| {
            Error::new(
                ErrorKind::InputChanged,
                format!("input changed while being read (truncated?): {e}"),
            )
            .with_path(self.path)
        })
    }

    /// Makes sure the file still backs `range` before a kernel reads it front to back, so that
    /// an input truncated underneath us is an error rather than a SIGBUS, at the least cost.
    /// When the range's last page is in the page cache only that page is prefaulted: if the
    /// file backs it, it backs the whole range (truncation removes the end of a file), and the
    /// kernel's read faults, which map 16 cached pages (or a whole large folio) at a time, are
    /// cheaper than a prefault, which walks the page tables once more page by page (measured in
    /// docs/design.md). Residency alone proves nothing: a large
    /// folio cut by a truncation can stay cached past the new end. When the last page is not
    /// cached, the whole range is prefaulted, so that a cold range is read in order.
    pub fn check_backed(&self, range: Range<usize>) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let last = range.end - 1;
        if self.advisor.is_resident(last + self.data_offset) {
            self.populate(last..range.end)
        } else {
            self.populate(range)
        }
    }

    /// Drops `range` from this process's resident set (it stays in the page cache).
    pub fn release(&self, range: Range<usize>) {
        self.advisor.release(self.shift(&range));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::ScalarKind;

    #[test]
    fn in_memory_arrays_read_in_place_and_hint_nothing() {
        let values: Vec<f64> = (0..10_000).map(|i| i as f64 * 0.5).collect();
        let bytes: std::sync::Arc<[u8]> = bytemuck::cast_slice::<f64, u8>(&values).into();
        let addr = bytes.as_ptr();
        let layout = Layout::new(DType::native(ScalarKind::F64), vec![100, 100], Order::F).unwrap();
        let a = Array::from_memory(bytes.clone(), layout).unwrap();
        assert!(a.is_memory() && a.file().is_none() && a.path().as_os_str().is_empty());
        assert_eq!(a.data().as_ptr(), addr, "read in place, not copied");
        assert_eq!(a.order(), Order::F);
        // Hints about memory must never discard it (MADV_DONTNEED would zero heap pages).
        let input = a.input();
        input.advise(0..input.bytes.len(), Advice::Sequential);
        input.release(0..input.bytes.len());
        input.check_backed(0..input.bytes.len()).unwrap();
        assert_eq!(a.to_vec::<f64>().unwrap(), values);
        // Read-only memory stays read-only.
        let mut a = a;
        assert_eq!(a.data_mut().unwrap_err().kind(), ErrorKind::InvalidArgument);
        // A wrong length is a shape error, not a short read.
        let layout = Layout::new(DType::native(ScalarKind::F64), vec![3], Order::C).unwrap();
        let e = Array::from_memory(vec![0u8; 23], layout).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Shape);
        assert!(e.to_string().starts_with("23 bytes"), "{e}");
    }

    #[test]
    fn vectors_go_in_and_come_back_without_a_copy() {
        let v: Vec<u16> = (0..600).collect();
        let addr = v.as_ptr();
        let mut a = Array::from_vec(v, &[20, 30]).unwrap();
        a.as_mut_slice::<u16>().unwrap()[599] = 7;
        let back = a.into_vec::<u16>().unwrap();
        assert_eq!(back.as_ptr(), addr);
        assert_eq!(back[599], 7);
        assert_eq!(
            Array::from_vec(vec![1u8; 5], &[2, 3]).err().unwrap().kind(),
            ErrorKind::Shape
        );
        let z = Array::zeros::<f32>(&[2, 2]).unwrap();
        assert_eq!(z.dtype(), &DType::native(ScalarKind::F32));
        assert_eq!(z.to_vec::<f32>().unwrap(), [0.0; 4]);
        assert_eq!(
            z.to_vec::<f64>().unwrap_err().kind(),
            ErrorKind::UnsupportedDType
        );
    }

    #[test]
    fn check_backed_reports_a_truncation_cached_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.npy");
        let n = (4 * crate::sys::page_size() - 128) / 8; // four pages with the header
        let layout = Layout::new(DType::native(ScalarKind::F64), vec![n], Order::C).unwrap();
        let made = dir.path().join("made.npy");
        Array::create(&made, layout).unwrap();
        // Written through the page cache in one go, so that every page of it is cached.
        let mut bytes = std::fs::read(&made).unwrap();
        bytes[128..].fill(1);
        File::create(&p).unwrap().write_all(&bytes).unwrap();
        let a = Array::open(&p).unwrap();
        let input = a.input();
        let all = 0..input.bytes.len();
        input.check_backed(5..5).unwrap();
        // Cached but not yet mapped: the case where residency alone would mislead.
        assert!(input.advisor.is_resident(all.end - 1 + input.data_offset));
        // Someone truncates the file in the middle of its data.
        OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(crate::sys::page_size() as u64)
            .unwrap();
        let checked = input.check_backed(all.clone());
        if !crate::sys::populate_supported() {
            return; // kernels before 5.14: no MADV_POPULATE_READ, truncation is not detected
        }
        let e = checked.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputChanged, "{e}");
        let page = crate::sys::page_size();
        let e = input.check_backed(2 * page..3 * page).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputChanged, "{e}");
        input.check_backed(0..page - 128).unwrap();
        // Evicted from the page cache too: the whole-range prefault reports it.
        if let Ok(f) = File::open(&p) {
            crate::sys::fadvise(&f, 0..0, crate::sys::FileAdvice::DontNeed);
        }
        let e = input.check_backed(all).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputChanged, "{e}");
    }

    #[test]
    fn create_then_open_in_every_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let layout = Layout::new(DType::native(ScalarKind::I32), vec![2, 3], Order::C).unwrap();
        {
            let mut a = Array::create(&p, layout.clone()).unwrap();
            let s = a.as_mut_slice::<i32>().unwrap();
            for (i, v) in s.iter_mut().enumerate() {
                *v = i as i32;
            }
            a.flush().unwrap();
        }
        let a = Array::open(&p).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(&*a.as_slice::<i32>().unwrap(), &[0, 1, 2, 3, 4, 5]);
        assert_eq!(a.rows(1..2).unwrap().len(), 12);
        assert!(a.as_slice::<f32>().is_err());
        {
            let mut c = Array::open_with(&p, Mode::CopyOnWrite).unwrap();
            c.as_mut_slice::<i32>().unwrap()[0] = 99;
            assert_eq!(c.as_slice::<i32>().unwrap()[0], 99);
        }
        assert_eq!(Array::open(&p).unwrap().as_slice::<i32>().unwrap()[0], 0);
        {
            let mut w = Array::open_with(&p, Mode::ReadWrite).unwrap();
            w.as_mut_slice::<i32>().unwrap()[0] = 7;
            w.flush().unwrap();
        }
        assert_eq!(Array::open(&p).unwrap().as_slice::<i32>().unwrap()[0], 7);
        let mut r = Array::open(&p).unwrap();
        assert!(r.data_mut().is_err());
    }

    #[test]
    fn raw_files_check_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        std::fs::write(&p, [0u8; 20]).unwrap();
        let spec = |shape: Vec<usize>, offset| RawSpec {
            dtype: DType::native(ScalarKind::I32),
            shape,
            offset,
            order: Order::C,
        };
        assert!(Array::open_raw(&p, spec(vec![5], 0), Mode::Read).is_ok());
        assert!(Array::open_raw(&p, spec(vec![4], 4), Mode::Read).is_ok());
        let e = Array::open_raw(&p, spec(vec![5], 4), Mode::Read)
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Shape);
    }

    #[test]
    fn directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = Array::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("directory"), "{e}");
    }
}
