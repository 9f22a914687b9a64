//! The one parsed data type of outcore.
//!
//! Every dtype string (NumPy `descr` from a header, or a user spelling on the command line) is
//! parsed here, once, into a [`DType`]. Nothing else in outcore matches dtype strings.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

/// Byte order of a multi-byte element. One-byte types are always stored as `Little` and
/// printed with NumPy's `|` ("not applicable").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first (`<`).
    Little,
    /// Most significant byte first (`>`).
    Big,
}

impl ByteOrder {
    #[cfg(target_endian = "little")]
    /// The byte order of this machine.
    pub const NATIVE: ByteOrder = ByteOrder::Little;
    #[cfg(target_endian = "big")]
    pub const NATIVE: ByteOrder = ByteOrder::Big;

    /// Whether this is the machine's byte order.
    pub fn is_native(self) -> bool {
        self == Self::NATIVE
    }

    /// Parses a byte order as the CLI's `--byteorder` takes it: `little`/`<`, `big`/`>`,
    /// `native`/`=`.
    pub fn parse(text: &str) -> Result<ByteOrder> {
        match text {
            "little" | "<" => Ok(ByteOrder::Little),
            "big" | ">" => Ok(ByteOrder::Big),
            "native" | "=" => Ok(ByteOrder::NATIVE),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown byte order {text:?} (expected little, big or native)"),
            )),
        }
    }

    fn code(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
        }
    }
}

/// The element types outcore can compute with (plus complex, which it can move and describe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarKind {
    /// `bool` (`|b1`).
    Bool,
    /// `int8`.
    I8,
    /// `int16`.
    I16,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `float16`.
    F16,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
    /// `complex64`.
    C64,
    /// `complex128`.
    C128,
}

impl ScalarKind {
    /// Every scalar kind, in NumPy's type order.
    pub const ALL: [ScalarKind; 14] = [
        ScalarKind::Bool,
        ScalarKind::I8,
        ScalarKind::I16,
        ScalarKind::I32,
        ScalarKind::I64,
        ScalarKind::U8,
        ScalarKind::U16,
        ScalarKind::U32,
        ScalarKind::U64,
        ScalarKind::F16,
        ScalarKind::F32,
        ScalarKind::F64,
        ScalarKind::C64,
        ScalarKind::C128,
    ];

    /// Bytes per element.
    pub fn size(self) -> usize {
        use ScalarKind::*;
        match self {
            Bool | I8 | U8 => 1,
            I16 | U16 | F16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 | C64 => 8,
            C128 => 16,
        }
    }

    /// NumPy's kind character: `b i u f c`.
    pub fn kind_char(self) -> char {
        use ScalarKind::*;
        match self {
            Bool => 'b',
            I8 | I16 | I32 | I64 => 'i',
            U8 | U16 | U32 | U64 => 'u',
            F16 | F32 | F64 => 'f',
            C64 | C128 => 'c',
        }
    }

    /// NumPy's name: `float64`, `uint8`, `bool`…
    pub fn name(self) -> &'static str {
        use ScalarKind::*;
        match self {
            Bool => "bool",
            I8 => "int8",
            I16 => "int16",
            I32 => "int32",
            I64 => "int64",
            U8 => "uint8",
            U16 => "uint16",
            U32 => "uint32",
            U64 => "uint64",
            F16 => "float16",
            F32 => "float32",
            F64 => "float64",
            C64 => "complex64",
            C128 => "complex128",
        }
    }

    /// Whether this is `bool`.
    pub fn is_bool(self) -> bool {
        self == ScalarKind::Bool
    }
    /// Whether this is a signed integer.
    pub fn is_signed_int(self) -> bool {
        self.kind_char() == 'i'
    }
    /// Whether this is an unsigned integer.
    pub fn is_unsigned_int(self) -> bool {
        self.kind_char() == 'u'
    }
    /// Whether this is an integer (signed or unsigned).
    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }
    /// Whether this is a real floating-point kind.
    pub fn is_float(self) -> bool {
        self.kind_char() == 'f'
    }
    /// Whether this is a complex kind.
    pub fn is_complex(self) -> bool {
        self.kind_char() == 'c'
    }
}

/// One field of a structured (record) dtype.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's name; empty for NumPy's unnamed padding fields.
    pub name: String,
    /// NumPy's optional field title (`(('title', 'name'), '<f4')` in a descr).
    pub title: Option<String>,
    /// The field's dtype.
    pub dtype: DType,
    /// Sub-array shape (`('pos', '<f8', (3,))`); empty for a plain field.
    pub shape: Vec<usize>,
    /// Byte offset of the field inside one record.
    pub offset: usize,
}

impl Field {
    /// Bytes of the field's dtype.
    pub fn size(&self) -> usize {
        self.dtype.itemsize() * self.shape.iter().product::<usize>()
    }
}

/// A parsed NumPy data type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DType {
    /// Bool, integers, floats and complex numbers.
    Scalar {
        /// Which number (or bool).
        kind: ScalarKind,
        /// How its bytes are ordered.
        order: ByteOrder,
    },
    /// Fixed-width bytes `|S<n>`.
    Bytes(usize),
    /// Fixed-width UCS-4 unicode `<U<n>` (n characters, 4n bytes).
    Unicode {
        /// Characters per element.
        chars: usize,
        /// Byte order of each 4-byte character.
        order: ByteOrder,
    },
    /// Raw void `|V<n>`.
    Void(usize),
    /// A structured dtype: fields laid out one after the other (padding as unnamed void fields).
    Record(Arc<[Field]>),
}

/// The largest item size we accept; NumPy's own limit is far smaller in practice.
const MAX_ITEMSIZE: usize = 1 << 31;

impl DType {
    /// The scalar dtype of `kind` in byte order `order`.
    pub fn scalar(kind: ScalarKind, order: ByteOrder) -> DType {
        let order = if kind.size() == 1 {
            ByteOrder::Little
        } else {
            order
        };
        DType::Scalar { kind, order }
    }

    /// The scalar dtype of `kind` in this machine's byte order.
    pub fn native(kind: ScalarKind) -> DType {
        DType::scalar(kind, ByteOrder::NATIVE)
    }

    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        match self {
            DType::Scalar { kind, .. } => kind.size(),
            DType::Bytes(n) | DType::Void(n) => *n,
            DType::Unicode { chars, .. } => chars * 4,
            DType::Record(fields) => fields
                .iter()
                .map(|f| f.offset + f.size())
                .max()
                .unwrap_or(0),
        }
    }

    /// The scalar kind, for numeric and bool dtypes.
    pub fn scalar_kind(&self) -> Option<ScalarKind> {
        match self {
            DType::Scalar { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Byte order for dtypes where it matters (scalars, unicode); records report native.
    pub fn byte_order(&self) -> ByteOrder {
        match self {
            DType::Scalar { order, .. } | DType::Unicode { order, .. } => *order,
            _ => ByteOrder::NATIVE,
        }
    }

    /// True when the bytes of one element must be swapped to read them natively.
    pub fn needs_swap(&self) -> bool {
        match self {
            DType::Scalar { kind, order } => kind.size() > 1 && !order.is_native(),
            DType::Unicode { order, .. } => !order.is_native(),
            _ => false,
        }
    }

    /// The same dtype in the given byte order (records: every field).
    pub fn with_byte_order(&self, order: ByteOrder) -> DType {
        match self {
            DType::Scalar { kind, .. } => DType::scalar(*kind, order),
            DType::Unicode { chars, .. } => DType::Unicode {
                chars: *chars,
                order,
            },
            DType::Record(fields) => DType::Record(
                fields
                    .iter()
                    .map(|f| Field {
                        dtype: f.dtype.with_byte_order(order),
                        ..f.clone()
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The real numeric kind of an arithmetic-capable dtype, or an error naming the dtype and
    /// the operation (complex, records, strings are refused).
    pub fn require_real(&self, operation: &str) -> Result<ScalarKind> {
        match self.scalar_kind() {
            Some(kind) if !kind.is_complex() => Ok(kind),
            _ => Err(Error::new(
                ErrorKind::UnsupportedDType,
                format!(
                    "{operation} is not supported for dtype {} ({}): only bool, integer and float dtypes",
                    self.str_code(),
                    self.name()
                ),
            )),
        }
    }

    /// NumPy's `dtype.str`: `<f8`, `|b1`, `|S5`, `<U4`, `|V12` (records).
    pub fn str_code(&self) -> String {
        match self {
            DType::Scalar { kind, order } => {
                let o = if kind.size() == 1 { '|' } else { order.code() };
                format!("{o}{}{}", kind.kind_char(), kind.size())
            }
            DType::Bytes(n) => format!("|S{n}"),
            DType::Unicode { chars, order } => format!("{}U{chars}", order.code()),
            DType::Void(n) => format!("|V{n}"),
            DType::Record(_) => format!("|V{}", self.itemsize()),
        }
    }

    /// A human name: `float64`, `>int32`, `S5`, `record[x:<f4, y:<i8]`.
    pub fn name(&self) -> String {
        match self {
            DType::Scalar { kind, order } => {
                if kind.size() > 1 && !order.is_native() {
                    format!("{}{}", order.code(), kind.name())
                } else {
                    kind.name().to_string()
                }
            }
            DType::Bytes(n) => format!("S{n}"),
            DType::Unicode { chars, .. } => format!("U{chars}"),
            DType::Void(n) => format!("V{n}"),
            DType::Record(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .filter(|f| !f.name.is_empty())
                    .map(|f| format!("{}:{}", f.name, f.dtype.str_code()))
                    .collect();
                format!("record[{}]", inner.join(", "))
            }
        }
    }

    /// The Python literal NumPy writes as `descr` in a `.npy` header.
    pub fn descr_repr(&self) -> String {
        match self {
            DType::Record(fields) => {
                let mut out = String::from("[");
                let mut pos = 0usize;
                let mut first = true;
                let mut push = |out: &mut String, item: String| {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    out.push_str(&item);
                };
                for f in fields.iter() {
                    if f.offset > pos {
                        push(&mut out, format!("('', '|V{}')", f.offset - pos));
                    }
                    let name = match &f.title {
                        Some(t) => format!("({}, {})", py_str_repr(t), py_str_repr(&f.name)),
                        None => py_str_repr(&f.name),
                    };
                    let mut item = format!("({name}, {}", f.dtype.descr_repr());
                    if !f.shape.is_empty() {
                        item.push_str(", ");
                        item.push_str(&py_tuple_repr(&f.shape));
                    }
                    item.push(')');
                    push(&mut out, item);
                    pos = f.offset + f.size();
                }
                out.push(']');
                out
            }
            other => py_str_repr(&other.str_code()),
        }
    }

    /// Parses a dtype as a user writes it, or a record dtype's `descr` list as NumPy's
    /// `dtype_to_descr` gives it (`[('x', '<f8'), ('y', '<i4', (2,))]`, what a `.npy` header
    /// holds).
    pub fn from_descr(text: &str) -> Result<DType> {
        crate::npy::parse_descr(text)
    }

    /// Parses a dtype as a user writes it: `float64`, `f8`, `<f8`, `>i4`, `uint8`, `bool`,
    /// `S10`, `U4`, `complex64`… (also any `descr` string NumPy writes).
    pub fn parse(text: &str) -> Result<DType> {
        let unknown = || {
            Error::new(
                ErrorKind::UnknownDType,
                format!("unknown dtype {text:?} (expected e.g. float64, f8, <f8, >i4, uint8, bool, S10, U4)"),
            )
        };
        let s = text.trim();
        let (order, rest) = match s.chars().next() {
            Some('<') => (Some(ByteOrder::Little), &s[1..]),
            Some('>') | Some('!') => (Some(ByteOrder::Big), &s[1..]),
            Some('=') => (Some(ByteOrder::NATIVE), &s[1..]),
            Some('|') => (None, &s[1..]),
            _ => (None, s),
        };
        let order_or_native = order.unwrap_or(ByteOrder::NATIVE);
        if rest == "O"
            || rest.starts_with("O") && rest[1..].chars().all(|c| c.is_ascii_digit())
            || rest == "object"
        {
            return Err(Error::new(
                ErrorKind::UnknownDType,
                format!("object dtype {text:?} is not supported (outcore never unpickles data)"),
            ));
        }
        use ScalarKind::*;
        let named = match rest {
            "bool" | "bool_" | "?" | "b1" => Some(Bool),
            "int8" | "i1" | "b" | "byte" => Some(I8),
            "int16" | "i2" | "h" | "short" => Some(I16),
            "int32" | "i4" | "i" | "intc" => Some(I32),
            "int64" | "i8" | "l" | "q" | "long" | "longlong" | "int" | "int_" | "intp" => Some(I64),
            "uint8" | "u1" | "B" | "ubyte" => Some(U8),
            "uint16" | "u2" | "H" | "ushort" => Some(U16),
            "uint32" | "u4" | "I" | "uintc" => Some(U32),
            "uint64" | "u8" | "L" | "Q" | "ulong" | "ulonglong" | "uint" | "uintp" => Some(U64),
            "float16" | "f2" | "e" | "half" => Some(F16),
            "float32" | "f4" | "f" | "single" => Some(F32),
            "float64" | "f8" | "d" | "double" | "float" | "float_" => Some(F64),
            "complex64" | "c8" | "F" | "csingle" => Some(C64),
            "complex128" | "c16" | "D" | "cdouble" | "complex" | "complex_" => Some(C128),
            _ => None,
        };
        if let Some(kind) = named {
            return Ok(DType::scalar(kind, order_or_native));
        }
        // Flexible types: S<n>, a<n>, U<n>, V<n>.
        let mut chars = rest.chars();
        let code = chars.next().ok_or_else(unknown)?;
        let digits = chars.as_str();
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            let n: usize = digits.parse().map_err(|_| unknown())?;
            let size_ok = |bytes: Option<usize>| bytes.is_some_and(|b| b <= MAX_ITEMSIZE);
            match code {
                'S' | 'a' if size_ok(Some(n)) => return Ok(DType::Bytes(n)),
                'U' if size_ok(n.checked_mul(4)) => {
                    return Ok(DType::Unicode {
                        chars: n,
                        order: order_or_native,
                    })
                }
                'V' if size_ok(Some(n)) => return Ok(DType::Void(n)),
                _ => {}
            }
        }
        Err(unknown())
    }

    /// Builds a record dtype from `(name, dtype, subarray shape)` fields laid out in order.
    /// Unnamed void fields are kept as padding.
    pub fn record(fields: Vec<(String, DType, Vec<usize>)>) -> Result<DType> {
        DType::record_titled(
            fields
                .into_iter()
                .map(|(n, d, s)| (n, None, d, s))
                .collect(),
        )
    }

    /// Like [`DType::record`], with an optional title per field.
    pub fn record_titled(
        fields: Vec<(String, Option<String>, DType, Vec<usize>)>,
    ) -> Result<DType> {
        let mut out = Vec::with_capacity(fields.len());
        let mut offset = 0usize;
        for (name, title, dtype, shape) in fields {
            if !name.is_empty() && out.iter().any(|f: &Field| f.name == name) {
                return Err(Error::new(
                    ErrorKind::UnknownDType,
                    format!("duplicate field name {name:?} in structured dtype"),
                ));
            }
            let count = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| {
                    Error::new(ErrorKind::Overflow, "field sub-array shape overflows")
                })?;
            let size = dtype
                .itemsize()
                .checked_mul(count)
                .filter(|&s| s <= MAX_ITEMSIZE)
                .ok_or_else(|| Error::new(ErrorKind::Overflow, "field size overflows"))?;
            let next = offset
                .checked_add(size)
                .filter(|&s| s <= MAX_ITEMSIZE)
                .ok_or_else(|| Error::new(ErrorKind::Overflow, "record size overflows"))?;
            if name.is_empty() && matches!(dtype, DType::Void(_)) && shape.is_empty() {
                // NumPy's padding: advance the offset, keep no field.
                offset = next;
                continue;
            }
            out.push(Field {
                name,
                title,
                dtype,
                shape,
                offset,
            });
            offset = next;
        }
        if out.is_empty() {
            return if offset > 0 {
                Ok(DType::Void(offset))
            } else {
                Err(Error::new(
                    ErrorKind::UnknownDType,
                    "structured dtype with no fields",
                ))
            };
        }
        // Trailing padding is represented by a final unnamed void field.
        let end = out.iter().map(|f| f.offset + f.size()).max().unwrap_or(0);
        if offset > end {
            out.push(Field {
                name: String::new(),
                title: None,
                dtype: DType::Void(offset - end),
                shape: Vec::new(),
                offset: end,
            });
        }
        Ok(DType::Record(out.into()))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Python's `repr` of a str, as NumPy's header writer produces it.
pub(crate) fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of a tuple of ints: `()`, `(3,)`, `(2, 3)`.
pub(crate) fn py_tuple_repr(dims: &[usize]) -> String {
    match dims {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_spellings() {
        let f8 = DType::native(ScalarKind::F64);
        for s in ["float64", "f8", "<f8", "=f8", "double", "float", "d"] {
            assert_eq!(DType::parse(s).unwrap(), f8, "{s}");
        }
        assert_eq!(
            DType::parse(">i4").unwrap(),
            DType::scalar(ScalarKind::I32, ByteOrder::Big)
        );
        assert_eq!(DType::parse("bool").unwrap().str_code(), "|b1");
        assert_eq!(DType::parse("|b1").unwrap().str_code(), "|b1");
        assert_eq!(DType::parse(">u1").unwrap().str_code(), "|u1");
        assert_eq!(DType::parse("S10").unwrap(), DType::Bytes(10));
        assert_eq!(DType::parse("<U4").unwrap().itemsize(), 16);
        assert_eq!(DType::parse("complex64").unwrap().str_code(), "<c8");
        assert_eq!(DType::parse(">c16").unwrap().str_code(), ">c16");
    }

    #[test]
    fn rejects_unknown_and_object() {
        for s in [
            "float128",
            "x8",
            "",
            "<",
            "f3",
            "O",
            "|O",
            "object",
            "S-1",
            "U99999999999999999999",
        ] {
            let e = DType::parse(s).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnknownDType, "{s}");
        }
    }

    #[test]
    fn record_descr_round_trip_text() {
        let dt = DType::record(vec![
            ("x".into(), DType::parse("<f4").unwrap(), vec![]),
            ("y".into(), DType::parse("<i8").unwrap(), vec![]),
        ])
        .unwrap();
        assert_eq!(dt.itemsize(), 12);
        assert_eq!(dt.descr_repr(), "[('x', '<f4'), ('y', '<i8')]");
        assert_eq!(dt.str_code(), "|V12");
    }

    #[test]
    fn from_descr_reads_strings_and_record_lists() {
        assert_eq!(
            DType::from_descr("<f8").unwrap(),
            DType::parse("<f8").unwrap()
        );
        assert_eq!(DType::from_descr("'>i4'").unwrap().str_code(), ">i4");
        let text = "[('x', '<f4'), ('y', '>i8', (2,))]";
        let dt = DType::from_descr(text).unwrap();
        assert_eq!(dt.itemsize(), 4 + 16);
        assert_eq!(dt.descr_repr(), text);
        for bad in ["[('x', '<f4')", "[('x', 'q9')]", "[('x', '<f4')] x", "[3]"] {
            let e = DType::from_descr(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnknownDType, "{bad}: {e}");
        }
    }

    #[test]
    fn byte_order_spellings() {
        assert_eq!(ByteOrder::parse("<").unwrap(), ByteOrder::Little);
        assert_eq!(ByteOrder::parse("big").unwrap(), ByteOrder::Big);
        assert_eq!(ByteOrder::parse("native").unwrap(), ByteOrder::NATIVE);
        assert_eq!(
            ByteOrder::parse("middle").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn padding_is_kept_in_layout() {
        let dt = DType::record(vec![
            ("a".into(), DType::parse("u1").unwrap(), vec![]),
            ("".into(), DType::Void(3), vec![]),
            ("b".into(), DType::parse("<i4").unwrap(), vec![]),
        ])
        .unwrap();
        assert_eq!(dt.itemsize(), 8);
        assert_eq!(dt.descr_repr(), "[('a', '|u1'), ('', '|V3'), ('b', '<i4')]");
    }

    #[test]
    fn python_reprs() {
        assert_eq!(py_tuple_repr(&[]), "()");
        assert_eq!(py_tuple_repr(&[3]), "(3,)");
        assert_eq!(py_tuple_repr(&[2, 3]), "(2, 3)");
        assert_eq!(py_str_repr("it's"), "\"it's\"");
        assert_eq!(py_str_repr("a'\""), "'a\\'\"'");
    }
}
