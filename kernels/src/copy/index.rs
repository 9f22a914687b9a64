//! NumPy basic indexing written as text: `'1:5, ::-2, ...'`, `'3'`, `':, 0'`, `'None, -1'`.
//!
//! The grammar is strict and small (no expressions, nothing evaluated):
//!
//! ```text
//! index := item ( ',' item )* [ ',' ]          whitespace allowed around every token
//! item  := '...' | 'None' | 'newaxis' | 'np.newaxis' | slice | int
//! slice := [int] ':' [int] [ ':' [int] ]
//! int   := [ '+' | '-' ] digit+
//! ```
//!
//! Integers larger than 64 bits saturate (they are out of range for any axis anyway, and a
//! slice bound beyond the axis is clamped exactly as Python clamps it).

use std::fmt;

use outcore_engine::{Error, ErrorKind, Result};

/// One item of a basic index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexItem {
    /// An integer: selects one position and removes the axis (negative counts from the end).
    Int(i64),
    /// `start:stop:step`, each part optional, with Python's meaning.
    Slice {
        /// First index (default: the start in the step's direction).
        start: Option<i64>,
        /// End, exclusive (default: past the end in the step's direction).
        stop: Option<i64>,
        /// Step (default 1; never 0).
        step: Option<i64>,
    },
    /// `...`: as many full slices as needed.
    Ellipsis,
    /// `None` / `np.newaxis`: a new axis of length 1.
    NewAxis,
}

impl IndexItem {
    /// The full slice `:`.
    pub const FULL: IndexItem = IndexItem::Slice {
        start: None,
        stop: None,
        step: None,
    };
}

impl fmt::Display for IndexItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        match self {
            IndexItem::Int(i) => write!(f, "{i}"),
            IndexItem::Slice { start, stop, step } => {
                write!(f, "{}:{}", opt(start), opt(stop))?;
                if step.is_some() {
                    write!(f, ":{}", opt(step))?;
                }
                Ok(())
            }
            IndexItem::Ellipsis => f.write_str("..."),
            IndexItem::NewAxis => f.write_str("None"),
        }
    }
}

/// Parses an index expression; errors name the position (0-based character offset).
pub fn parse_index(text: &str) -> Result<Vec<IndexItem>> {
    let mut p = Parser { text, pos: 0 };
    let mut items = Vec::new();
    p.skip_ws();
    if p.at_end() {
        return Err(p.error("empty index expression (use ':' or '...' for the whole array)"));
    }
    loop {
        items.push(p.item()?);
        p.skip_ws();
        if p.at_end() {
            break;
        }
        p.expect(',')?;
        p.skip_ws();
        if p.at_end() {
            // One trailing comma, as Python allows: `a[3,]`.
            break;
        }
    }
    if items.iter().filter(|i| **i == IndexItem::Ellipsis).count() > 1 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid index {text:?}: an index can only have a single ellipsis ('...')"),
        ));
    }
    Ok(items)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn error(&self, what: &str) -> Error {
        let col = self.text[..self.pos].chars().count();
        Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid index {:?} at position {col}: {what}", self.text),
        )
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if let Some(after) = self.rest().strip_prefix(word) {
            // A keyword must not run into an identifier character (`Nonex`).
            if !after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                self.pos += word.len();
                return true;
            }
        }
        false
    }

    fn item(&mut self) -> Result<IndexItem> {
        if self.rest().starts_with("...") {
            self.pos += 3;
            return Ok(IndexItem::Ellipsis);
        }
        for word in ["None", "np.newaxis", "numpy.newaxis", "newaxis"] {
            if self.keyword(word) {
                return Ok(IndexItem::NewAxis);
            }
        }
        let start = self.int()?;
        self.skip_ws();
        if self.peek() != Some(':') {
            return match start {
                Some(i) => Ok(IndexItem::Int(i)),
                None => {
                    Err(self.error("expected an integer, a slice 'start:stop:step', '...' or None"))
                }
            };
        }
        self.pos += 1;
        self.skip_ws();
        let stop = self.int()?;
        self.skip_ws();
        let mut step = None;
        if self.peek() == Some(':') {
            self.pos += 1;
            self.skip_ws();
            step = self.int()?;
        }
        Ok(IndexItem::Slice { start, stop, step })
    }

    /// An optional signed integer; `None` when no digits follow (a sign alone is an error).
    fn int(&mut self) -> Result<Option<i64>> {
        let begin = self.pos;
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
        if self.pos > begin {
            self.skip_ws();
        }
        let digits_start = self.pos;
        let mut value: i128 = 0;
        while let Some(c) = self.peek() {
            let Some(d) = c.to_digit(10) else { break };
            if !c.is_ascii_digit() {
                break;
            }
            // Saturate: such values are out of range of every axis (or clamped, in slices).
            value = value.saturating_mul(10).saturating_add(d as i128);
            self.pos += 1;
        }
        if self.pos == digits_start {
            if self.pos > begin {
                return Err(self.error("expected digits after the sign"));
            }
            return Ok(None);
        }
        if let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' || c == '.' {
                return Err(self.error("expected an integer"));
            }
        }
        let signed = if negative { -value } else { value };
        Ok(Some(signed.clamp(i64::MIN as i128, i64::MAX as i128) as i64))
    }
}

/// Python's `slice.indices(n)`: the first position, the step and the number of positions a
/// slice selects on an axis of length `n`.
pub fn slice_positions(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    n: usize,
) -> Result<(i64, i64, usize)> {
    let n = n as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "slice step cannot be zero",
        ));
    }
    let step = step.max(-i64::MAX);
    let adjust = |v: i64| -> i64 {
        if v < 0 {
            let v = v + n;
            if v < 0 {
                if step < 0 {
                    -1
                } else {
                    0
                }
            } else {
                v
            }
        } else if v >= n {
            if step < 0 {
                n - 1
            } else {
                n
            }
        } else {
            v
        }
    };
    let start = match start {
        Some(s) => adjust(s),
        None if step < 0 => n - 1,
        None => 0,
    };
    let stop = match stop {
        Some(s) => adjust(s),
        None if step < 0 => -1,
        None => n,
    };
    let len = if step < 0 {
        if stop < start {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        }
    } else if start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    Ok((start, step, len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndexItem::*;

    fn s(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> IndexItem {
        Slice { start, stop, step }
    }

    #[test]
    fn parses_the_examples() {
        assert_eq!(
            parse_index("1:5, ::-2, ...").unwrap(),
            vec![s(Some(1), Some(5), None), s(None, None, Some(-2)), Ellipsis]
        );
        assert_eq!(parse_index("3").unwrap(), vec![Int(3)]);
        assert_eq!(parse_index(":, 0").unwrap(), vec![IndexItem::FULL, Int(0)]);
        assert_eq!(parse_index(" -1 , None,").unwrap(), vec![Int(-1), NewAxis]);
        assert_eq!(parse_index("::").unwrap(), vec![IndexItem::FULL]);
        assert_eq!(
            parse_index("- 2:+3").unwrap(),
            vec![s(Some(-2), Some(3), None)]
        );
        assert_eq!(
            parse_index("np.newaxis,...").unwrap(),
            vec![NewAxis, Ellipsis]
        );
        assert_eq!(
            parse_index("99999999999999999999999").unwrap(),
            vec![Int(i64::MAX)]
        );
        // i64::MIN itself is kept (an error message names it as given).
        assert_eq!(
            parse_index("-9223372036854775808, -99999999999999999999").unwrap(),
            vec![Int(i64::MIN), Int(i64::MIN)]
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", " ", ",", "1,,2", "a", "1.5", "1:2:3:4", "--1", "-", "1 2", "...,...", "Nonee",
            "[1]", "(1)", "1e3", ":,:,,", "０",
        ] {
            let e = parse_index(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
        let e = parse_index("1, x").unwrap_err();
        assert!(e.to_string().contains("position 3"), "{e}");
    }

    #[test]
    fn slice_positions_match_python() {
        // Checked against Python's slice(start, stop, step).indices(n) and len(range(...)).
        type Bounds = (Option<i64>, Option<i64>, Option<i64>);
        let cases: &[(Bounds, usize, (i64, i64, usize))] = &[
            ((None, None, None), 5, (0, 1, 5)),
            ((None, None, Some(-1)), 5, (4, -1, 5)),
            ((Some(1), Some(5), Some(2)), 4, (1, 2, 2)),
            ((Some(-100), Some(100), None), 3, (0, 1, 3)),
            ((Some(100), Some(-100), Some(-1)), 3, (2, -1, 3)),
            ((Some(3), Some(1), None), 5, (3, 1, 0)),
            ((None, None, Some(-2)), 0, (-1, -2, 0)),
            ((Some(-1), None, Some(-3)), 7, (6, -3, 3)),
            ((Some(i64::MAX), None, Some(i64::MIN)), 4, (3, -i64::MAX, 1)),
        ];
        for &((a, b, c), n, want) in cases {
            assert_eq!(
                slice_positions(a, b, c, n).unwrap(),
                want,
                "{a:?}:{b:?}:{c:?} on {n}"
            );
        }
        assert!(slice_positions(None, None, Some(0), 3).is_err());
    }

    proptest::proptest! {
        /// The fuzz target's properties (`fuzz/fuzz_targets/slice_index.rs`) on index-like text.
        #[test]
        fn parses_or_refuses_and_round_trips(text in "[0-9:, .+-]{0,12}|None|[-]?[0-9]{1,25}(:[-]?[0-9]{0,25}){0,2}") {
            if let Ok(items) = parse_index(&text) {
                let shown: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                proptest::prop_assert_eq!(parse_index(&shown.join(", ")).unwrap(), items.clone());
                for item in &items {
                    if let Slice { start, stop, step } = *item {
                        for n in [0usize, 1, 2, 7, 1000] {
                            if let Ok((first, step, len)) = slice_positions(start, stop, step, n) {
                                if len > 0 {
                                    let last = first as i128 + (len as i128 - 1) * step as i128;
                                    proptest::prop_assert!(first >= 0 && (first as usize) < n);
                                    proptest::prop_assert!(last >= 0 && (last as usize) < n);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["1:5:-2", "...", "None", "-3", ":", "::4"] {
            let items = parse_index(text).unwrap();
            let shown = items[0].to_string();
            assert_eq!(parse_index(&shown).unwrap(), items, "{text} -> {shown}");
        }
    }
}
