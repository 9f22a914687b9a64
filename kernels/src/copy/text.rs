//! `astype` between fixed-width string dtypes: `S<n>` (bytes) and `U<n>` (UCS-4, either byte
//! order). Longer targets are padded with NULs, shorter ones truncate, as NumPy does; bytes ↔
//! unicode go through ASCII, and anything outside it is an error, as NumPy's
//! `UnicodeDecodeError` / `UnicodeEncodeError`.

use outcore_engine::{err, ByteOrder, DType, Result};

/// True for the string dtypes this module converts between.
pub(crate) fn is_text(dt: &DType) -> bool {
    matches!(dt, DType::Bytes(_) | DType::Unicode { .. })
}

/// One item as code points (bytes are code points 0..=255).
fn read_item(dt: &DType, item: &[u8], out: &mut Vec<u32>) {
    out.clear();
    match dt {
        DType::Bytes(_) => out.extend(item.iter().map(|&b| b as u32)),
        DType::Unicode { order, .. } => out.extend(item.chunks_exact(4).map(|c| {
            let b = [c[0], c[1], c[2], c[3]];
            match order {
                ByteOrder::Little => u32::from_le_bytes(b),
                ByteOrder::Big => u32::from_be_bytes(b),
            }
        })),
        _ => {}
    }
}

/// Converts whole items of string dtype `from` in `src` to `to` in `dst`.
pub(crate) fn convert(from: &DType, to: &DType, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let (fi, ti) = (from.itemsize(), to.itemsize());
    if fi == 0 || ti == 0 {
        dst.fill(0);
        return Ok(());
    }
    let mut chars = Vec::with_capacity(fi);
    for (s, d) in src.chunks_exact(fi).zip(dst.chunks_exact_mut(ti)) {
        read_item(from, s, &mut chars);
        d.fill(0);
        match to {
            DType::Bytes(n) => {
                for (o, &c) in d.iter_mut().zip(chars.iter().take(*n)) {
                    if matches!(from, DType::Unicode { .. }) && c > 0x7f {
                        return Err(err!(
                            InvalidArgument,
                            "cannot convert {} to {}: character U+{c:04X} is not ASCII (NumPy: UnicodeEncodeError)",
                            from.str_code(),
                            to.str_code()
                        ));
                    }
                    *o = c as u8;
                }
            }
            DType::Unicode { chars: n, order } => {
                for (o, &c) in d.chunks_exact_mut(4).zip(chars.iter().take(*n)) {
                    if matches!(from, DType::Bytes(_)) && c > 0x7f {
                        return Err(err!(
                            InvalidArgument,
                            "cannot convert {} to {}: byte 0x{c:02x} is not ASCII (NumPy: UnicodeDecodeError)",
                            from.str_code(),
                            to.str_code()
                        ));
                    }
                    o.copy_from_slice(&match order {
                        ByteOrder::Little => c.to_le_bytes(),
                        ByteOrder::Big => c.to_be_bytes(),
                    });
                }
            }
            _ => unreachable!("callers check is_text"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DType {
        DType::parse(s).unwrap()
    }

    #[test]
    fn widths_and_kinds() {
        let mut out = vec![0xFFu8; 6];
        convert(&dt("S4"), &dt("S3"), b"abcdxy\0\0", &mut out).unwrap();
        assert_eq!(&out, b"abcxy\0");
        let mut u = vec![0u8; 8];
        convert(&dt("S2"), &dt(">U2"), b"hi", &mut u).unwrap();
        assert_eq!(u, [0, 0, 0, b'h', 0, 0, 0, b'i']);
        let mut back = vec![0u8; 3];
        convert(&dt(">U2"), &dt("S3"), &u, &mut back).unwrap();
        assert_eq!(&back, b"hi\0");
        assert!(convert(&dt("S1"), &dt("<U1"), &[0xE9], &mut [0u8; 4]).is_err());
        let e_acute = 0xE9u32.to_le_bytes();
        assert!(convert(&dt("<U1"), &dt("S1"), &e_acute, &mut [0u8; 1]).is_err());
    }
}
