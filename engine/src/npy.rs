//! The `.npy` format: a strict header reader (versions 1.0, 2.0, 3.0) and a writer whose
//! headers are byte-for-byte what NumPy writes for the same array.
//!
//! The header is a Python dict literal. It is parsed by the small literal parser below, which
//! knows strings, integers, booleans, tuples, lists and dicts and nothing else: no text is
//! ever evaluated.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::dtype::{py_str_repr, py_tuple_repr, DType};
use crate::error::{Error, ErrorKind, Result};
use crate::layout::{Layout, Order};

/// The first six bytes of every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy's default `max_header_size`.
pub const MAX_HEADER_SIZE: usize = 10_000;
/// NumPy aligns the start of the data to this many bytes.
const ARRAY_ALIGN: usize = 64;
/// NumPy pads headers so the leading dimension can grow to this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version (major, minor).
    pub version: (u8, u8),
    /// The array's dtype, shape and order.
    pub layout: Layout,
    /// Byte offset of the first data byte in the file.
    pub data_offset: usize,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadFormat, msg)
}

/// Length of the fixed prefix (magic, version, header length) for a version.
fn prefix_len(version: (u8, u8)) -> usize {
    if version.0 == 1 {
        10
    } else {
        12
    }
}

/// Reads and parses the header of an open `.npy` file of `file_len` bytes, and checks that the
/// file holds all the data the header announces.
pub fn read_header(file: &mut File, file_len: u64, max_header: usize) -> Result<Header> {
    let mut prefix = [0u8; 12];
    let got = read_up_to(file, &mut prefix)?;
    let hlen_info = parse_prefix(&prefix[..got])?;
    let (version, header_len) = hlen_info;
    if header_len > max_header {
        return Err(bad(format!(
            "header is {header_len} bytes, more than the limit of {max_header} (NumPy's max_header_size)"
        )));
    }
    let start = prefix_len(version);
    let total = start + header_len;
    if total as u64 > file_len {
        return Err(bad(format!(
            "file is {file_len} bytes but its header says the header alone is {total} bytes (truncated file?)"
        )));
    }
    let mut buf = vec![0u8; total];
    buf[..got].copy_from_slice(&prefix[..got]);
    file.read_exact(&mut buf[got..])
        .map_err(|e| Error::io("cannot read the .npy header", e))?;
    let header = parse_header(&buf, max_header)?;
    let needed = header.data_offset as u64 + header.layout.nbytes() as u64;
    if file_len < needed {
        return Err(bad(format!(
            "file is {file_len} bytes, shorter than its header says ({} header + {} data bytes = {needed}): truncated file",
            header.data_offset,
            header.layout.nbytes()
        )));
    }
    Ok(header)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("cannot read the .npy header", e)),
        }
    }
    Ok(n)
}

/// Parses the magic, version and header length. Returns `(version, header_len)`.
fn parse_prefix(bytes: &[u8]) -> Result<((u8, u8), usize)> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(bad(
            "not a .npy file (the magic string \\x93NUMPY is missing)",
        ));
    }
    let version = (bytes[6], bytes[7]);
    let header_len = match version {
        (1, 0) => {
            if bytes.len() < 10 {
                return Err(bad("truncated .npy header"));
            }
            u16::from_le_bytes([bytes[8], bytes[9]]) as usize
        }
        (2, 0) | (3, 0) => {
            if bytes.len() < 12 {
                return Err(bad("truncated .npy header"));
            }
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
        }
        (major, minor) => {
            return Err(bad(format!(
                "unsupported .npy format version {major}.{minor} (known: 1.0, 2.0, 3.0)"
            )))
        }
    };
    Ok((version, header_len))
}

/// Parses a complete header (prefix and dict). `bytes` must hold at least the whole header; the
/// data that follows is not looked at.
pub fn parse_header(bytes: &[u8], max_header: usize) -> Result<Header> {
    let (version, header_len) = parse_prefix(bytes)?;
    if header_len > max_header {
        return Err(bad(format!(
            "header is {header_len} bytes, more than the limit of {max_header} (NumPy's max_header_size)"
        )));
    }
    let start = prefix_len(version);
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("truncated .npy header"))?;
    let raw = &bytes[start..end];
    let text: String = if version.0 == 3 {
        std::str::from_utf8(raw)
            .map_err(|_| bad("version 3.0 header is not valid UTF-8"))?
            .to_owned()
    } else {
        // Versions 1.0 and 2.0 are latin-1: every byte is one character.
        raw.iter().map(|&b| b as char).collect()
    };
    let (dtype, fortran, shape) = parse_dict(&text)?;
    let order = if fortran { Order::F } else { Order::C };
    let layout = Layout::new(dtype, shape, order)?;
    Ok(Header {
        version,
        layout,
        data_offset: end,
    })
}

/// Interprets the header dict: exactly the keys `descr`, `fortran_order`, `shape`, each once.
fn parse_dict(text: &str) -> Result<(DType, bool, Vec<usize>)> {
    let mut p = Parser::new(text);
    let value = p.value()?;
    p.skip_ws();
    if !p.at_end() {
        return Err(bad(format!(
            "unexpected text after the header dict at position {}",
            p.pos
        )));
    }
    let Literal::Dict(items) = value else {
        return Err(bad("header is not a dict literal"));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, val) in items {
        let Literal::Str(key) = key else {
            return Err(bad("header dict has a key that is not a string"));
        };
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            other => return Err(bad(format!("header has an unexpected key {other:?}"))),
        };
        if slot.replace(val).is_some() {
            return Err(bad(format!("header has the key {key:?} twice")));
        }
    }
    let descr = descr.ok_or_else(|| bad("header has no 'descr'"))?;
    let fortran = match fortran.ok_or_else(|| bad("header has no 'fortran_order'"))? {
        Literal::Bool(b) => b,
        _ => return Err(bad("'fortran_order' is not True or False")),
    };
    let shape = match shape.ok_or_else(|| bad("header has no 'shape'"))? {
        Literal::Tuple(dims) => dims
            .iter()
            .map(|d| match d {
                Literal::Int(n) if *n >= 0 => usize::try_from(*n).map_err(|_| {
                    Error::new(ErrorKind::Overflow, format!("dimension {n} is too large"))
                }),
                Literal::Int(n) => Err(bad(format!("negative dimension {n} in 'shape'"))),
                _ => Err(bad("'shape' holds something that is not an integer")),
            })
            .collect::<Result<Vec<usize>>>()?,
        _ => return Err(bad("'shape' is not a tuple")),
    };
    let dtype = descr_to_dtype(&descr)?;
    Ok((dtype, fortran, shape))
}

/// Parses a `descr` as NumPy's `dtype_to_descr` writes it into a header: a dtype string
/// (`'<f8'`, quoted or not) or a list of record fields (`[('x', '<f8'), ('y', '<i4', (2,))]`).
/// `DType::from_descr` is the public door to this.
pub(crate) fn parse_descr(text: &str) -> Result<DType> {
    let trimmed = text.trim();
    let invalid = |e: Error| {
        Error::new(
            ErrorKind::UnknownDType,
            format!("invalid dtype description {trimmed:?}: {}", e.message()),
        )
    };
    if !(trimmed.starts_with('[') || trimmed.starts_with('\'') || trimmed.starts_with('"')) {
        return DType::parse(trimmed);
    }
    let mut p = Parser::new(trimmed);
    let value = p.value().map_err(invalid)?;
    p.skip_ws();
    if !p.at_end() {
        return Err(invalid(p.error("unexpected text after the description")));
    }
    descr_to_dtype(&value).map_err(|e| match e.kind() {
        ErrorKind::BadFormat => invalid(e),
        _ => e,
    })
}

fn descr_to_dtype(descr: &Literal) -> Result<DType> {
    match descr {
        Literal::Str(s) => DType::parse(s),
        Literal::List(items) => {
            let mut fields = Vec::with_capacity(items.len());
            for item in items {
                let Literal::Tuple(parts) = item else {
                    return Err(bad("a structured 'descr' entry is not a tuple"));
                };
                let (name_lit, rest) = parts
                    .split_first()
                    .ok_or_else(|| bad("a structured 'descr' entry is empty"))?;
                let (name, title) = match name_lit {
                    Literal::Str(n) => (n.clone(), None),
                    Literal::Tuple(nt) => match nt.as_slice() {
                        [Literal::Str(t), Literal::Str(n)] => (n.clone(), Some(t.clone())),
                        _ => return Err(bad("a structured field title is not ('title', 'name')")),
                    },
                    _ => return Err(bad("a structured field name is not a string")),
                };
                let (dt, shape) = match rest {
                    [d] => (descr_to_dtype(d)?, Vec::new()),
                    [d, Literal::Tuple(s)] => {
                        let shape = s
                            .iter()
                            .map(|x| match x {
                                Literal::Int(v) if *v >= 0 => usize::try_from(*v)
                                    .map_err(|_| bad("field sub-array dimension too large")),
                                _ => Err(bad("field sub-array shape is not non-negative integers")),
                            })
                            .collect::<Result<Vec<_>>>()?;
                        (descr_to_dtype(d)?, shape)
                    }
                    [d, Literal::Int(v)] if *v >= 0 => {
                        let dim =
                            usize::try_from(*v).map_err(|_| bad("field dimension too large"))?;
                        (descr_to_dtype(d)?, vec![dim])
                    }
                    _ => return Err(Error::new(
                        ErrorKind::UnknownDType,
                        "unsupported structured 'descr' entry (expected (name, dtype[, shape]))",
                    )),
                };
                fields.push((name, title, dt, shape));
            }
            DType::record_titled(fields)
        }
        _ => Err(Error::new(
            ErrorKind::UnknownDType,
            "'descr' is neither a dtype string nor a list of fields",
        )),
    }
}

/// A Python literal, as far as `.npy` headers need.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

/// Nesting deeper than this is refused (a hostile header cannot exhaust the stack).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    _text: &'a str,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
            _text: text,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> Error {
        bad(format!(
            "malformed header dict at position {}: {what}",
            self.pos
        ))
    }

    fn expect(&mut self, c: char) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {c:?}")))
        }
    }

    fn value(&mut self) -> Result<Literal> {
        self.skip_ws();
        let c = self.peek().ok_or_else(|| self.error("unexpected end"))?;
        match c {
            '\'' | '"' => self.string().map(Literal::Str),
            '0'..='9' | '-' | '+' => self.int(),
            '(' | '[' | '{' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.error("nested too deeply"));
                }
                let v = match c {
                    '(' => self.sequence('(', ')').map(|(items, comma)| {
                        if items.len() == 1 && !comma {
                            // `(x)` is x in Python, not a tuple.
                            items.into_iter().next().expect("one item")
                        } else {
                            Literal::Tuple(items)
                        }
                    }),
                    '[' => self
                        .sequence('[', ']')
                        .map(|(items, _)| Literal::List(items)),
                    _ => self.dict(),
                };
                self.depth -= 1;
                v
            }
            _ => {
                let word: String = self.chars[self.pos..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                let lit = match word.as_str() {
                    "True" => Literal::Bool(true),
                    "False" => Literal::Bool(false),
                    "None" => Literal::None,
                    _ => {
                        return Err(self
                            .error("expected a string, integer, True, False, tuple, list or dict"))
                    }
                };
                self.pos += word.chars().count();
                Ok(lit)
            }
        }
    }

    /// Items separated by commas, an optional trailing comma. Returns whether a comma was seen.
    fn sequence(&mut self, open: char, close: char) -> Result<(Vec<Literal>, bool)> {
        self.expect(open)?;
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, comma));
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(self.error(&format!("expected ',' or {close:?}"))),
            }
        }
    }

    fn dict(&mut self) -> Result<Literal> {
        self.expect('{')?;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Literal::Dict(items));
            }
            let key = self.value()?;
            self.expect(':')?;
            let val = self.value()?;
            items.push((key, val));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn int(&mut self) -> Result<Literal> {
        let start = self.pos;
        let negative = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let digits_start = self.pos;
        while matches!(self.peek(), Some('0'..='9' | '_')) {
            self.pos += 1;
        }
        let digits: String = self.chars[digits_start..self.pos]
            .iter()
            .filter(|c| **c != '_')
            .collect();
        if digits.is_empty() {
            self.pos = start;
            return Err(self.error("expected digits"));
        }
        if matches!(self.peek(), Some('.' | 'e' | 'E' | 'j' | 'x' | 'L')) {
            return Err(self.error("only integers are allowed here"));
        }
        if digits.len() > 1 && digits.starts_with('0') && digits.chars().any(|c| c != '0') {
            return Err(self.error("integer with leading zeros"));
        }
        let magnitude: i128 = digits.parse().map_err(|_| {
            Error::new(
                ErrorKind::Overflow,
                format!("integer {digits} in the header is too large"),
            )
        })?;
        Ok(Literal::Int(if negative { -magnitude } else { magnitude }))
    }

    fn string(&mut self) -> Result<String> {
        let quote = self.peek().expect("caller checked");
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self
                .peek()
                .ok_or_else(|| self.error("unterminated string"))?;
            self.pos += 1;
            match c {
                c if c == quote => return Ok(out),
                '\n' => return Err(self.error("newline inside a string")),
                '\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    match e {
                        '\\' | '\'' | '"' => out.push(e),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = self.chars[self.pos..].iter().take(n).collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == n)
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error("bad escape in string"))?;
                            self.pos += n;
                            out.push(code);
                        }
                        _ => return Err(self.error("unknown escape in string")),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

/// The header NumPy writes for an array: magic, version, length, dict, padding, newline.
/// Version 1.0 unless the header needs 2.0 (longer than 65535 bytes) or 3.0 (non-latin-1
/// field names), exactly like `numpy.lib.format._wrap_header_guess_version`.
pub fn header_bytes(layout: &Layout) -> Vec<u8> {
    let shape = layout.shape();
    let mut dict = format!(
        "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
        layout.dtype().descr_repr(),
        if layout.order() == Order::F {
            "True"
        } else {
            "False"
        },
        py_tuple_repr(shape)
    );
    if !shape.is_empty() {
        let growth = if layout.order() == Order::F {
            shape[shape.len() - 1]
        } else {
            shape[0]
        };
        let digits = growth.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let latin1: Option<Vec<u8>> = dict.chars().map(|c| u8::try_from(c as u32).ok()).collect();
    let (version, body) = match latin1 {
        Some(bytes) if bytes.len() + 1 + 10 + ARRAY_ALIGN <= u16::MAX as usize => {
            ((1u8, 0u8), bytes)
        }
        Some(bytes) => ((2, 0), bytes),
        None => ((3, 0), dict.into_bytes()),
    };
    wrap_header(version, &body)
}

fn wrap_header(version: (u8, u8), body: &[u8]) -> Vec<u8> {
    let prefix = prefix_len(version);
    let hlen = body.len() + 1;
    let padlen = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
    let total_len = hlen + padlen;
    let mut out = Vec::with_capacity(prefix + total_len);
    out.extend_from_slice(MAGIC);
    out.push(version.0);
    out.push(version.1);
    if version.0 == 1 {
        out.extend_from_slice(&(total_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total_len as u32).to_le_bytes());
    }
    out.extend_from_slice(body);
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}

/// Reads the header of the `.npy` file at `path` (what `info` prints); a directory or other
/// non-regular file is a `BadFormat` error.
pub fn read_header_at(path: &Path) -> Result<Header> {
    // Checked before opening: opening a FIFO would wait for a writer.
    let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::BadFormat, "is not a regular file").with_path(path));
    }
    let mut file = File::open(path).map_err(|e| Error::io("cannot open", e).with_path(path))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", e).with_path(path))?
        .len();
    read_header(&mut file, len, MAX_HEADER_SIZE).map_err(|e| e.with_path(path))
}

/// Python's repr of a str (re-exported for the writer of record names in tests).
pub fn python_str_repr(s: &str) -> String {
    py_str_repr(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::ScalarKind;

    fn layout(dt: &str, shape: &[usize], order: Order) -> Layout {
        Layout::new(DType::parse(dt).unwrap(), shape.to_vec(), order).unwrap()
    }

    #[test]
    fn writes_numpy_header_for_f8_vector() {
        // np.save of np.zeros(3): 128-byte header, dict padded for growth.
        let h = header_bytes(&layout("<f8", &[3], Order::C));
        assert_eq!(h.len(), 128);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"));
        assert!(text.ends_with(" \n"));
        let parsed = parse_header(&h, MAX_HEADER_SIZE).unwrap();
        assert_eq!(parsed.data_offset, 128);
        assert_eq!(parsed.layout.shape(), &[3]);
        assert_eq!(parsed.version, (1, 0));
    }

    #[test]
    fn header_round_trips_every_scalar_kind() {
        for kind in ScalarKind::ALL {
            for order in [Order::C, Order::F] {
                let l = Layout::new(DType::native(kind), vec![2, 0, 5], order).unwrap();
                let h = header_bytes(&l);
                assert_eq!(h.len() % 64, 0);
                let p = parse_header(&h, MAX_HEADER_SIZE).unwrap();
                assert_eq!(p.layout, l);
            }
        }
    }

    #[test]
    fn keys_in_any_order_and_python_spellings() {
        let dict = "{'shape': (2, 3), \"fortran_order\": True, 'descr': '>i4'}";
        let (dt, f, s) = parse_dict(dict).unwrap();
        assert_eq!(dt.str_code(), ">i4");
        assert!(f);
        assert_eq!(s, vec![2, 3]);
        let (_, _, s) = parse_dict("{'descr':'<f8','fortran_order':False,'shape':()}").unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn rejects_hostile_dicts() {
        for dict in [
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,)}",
            "{'descr': '<f8', 'fortran_order': 1, 'shape': (3,)}",
            "{'descr': __import__('os'), 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} junk",
            "{'descr': '<f8, 'fortran_order': False, 'shape': (3,)}",
            "[1, 2]",
            "{'descr': '|O', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}",
            &("[".repeat(1000) + &"]".repeat(1000)),
        ] {
            let parsed = parse_dict(dict).and_then(|(d, f, s)| {
                Layout::new(d, s, if f { Order::F } else { Order::C })
            });
            assert!(parsed.is_err(), "{dict}");
        }
    }

    #[test]
    fn structured_descr() {
        let (dt, _, _) = parse_dict(
            "{'descr': [('x', '<f4'), ('pos', '<f8', (3,)), ('', '|V4'), ('inner', [('a', '>i4')])], 'fortran_order': False, 'shape': (2,)}",
        )
        .unwrap();
        assert_eq!(dt.itemsize(), 4 + 24 + 4 + 4);
        assert_eq!(
            dt.descr_repr(),
            "[('x', '<f4'), ('pos', '<f8', (3,)), ('', '|V4'), ('inner', [('a', '>i4')])]"
        );
    }

    #[test]
    fn version_chosen_like_numpy() {
        let big: Vec<(String, DType, Vec<usize>)> = (0..5000)
            .map(|i| (format!("field{i}"), DType::parse("<f4").unwrap(), vec![]))
            .collect();
        let l = Layout::new(DType::record(big).unwrap(), vec![1], Order::C).unwrap();
        let h = header_bytes(&l);
        assert_eq!(&h[6..8], &[2, 0]);
        let l3 = Layout::new(
            DType::record(vec![("π".into(), DType::parse("<f4").unwrap(), vec![])]).unwrap(),
            vec![1],
            Order::C,
        )
        .unwrap();
        let h3 = header_bytes(&l3);
        assert_eq!(&h3[6..8], &[3, 0]);
        assert_eq!(parse_header(&h3, MAX_HEADER_SIZE).unwrap().layout, l3);
    }
}
