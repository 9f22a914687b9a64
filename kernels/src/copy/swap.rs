//! Byte-order changes of any dtype as a list of byte runs to reverse inside each item: one run
//! per multi-byte scalar (two per complex number: real and imaginary parts), one per UCS-4
//! character, recursively through record fields and their sub-arrays.

use outcore_engine::DType;

/// A run of bytes inside one item: `(offset, width)`.
pub(crate) type Segment = (usize, usize);

/// The runs to reverse to turn items of `from` into items of `to`, or `None` when the two
/// dtypes differ in more than byte order.
pub(crate) fn swap_segments(from: &DType, to: &DType) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    collect(from, to, 0, &mut out).then_some(out)
}

fn collect(from: &DType, to: &DType, base: usize, out: &mut Vec<Segment>) -> bool {
    match (from, to) {
        (
            DType::Scalar {
                kind: k1,
                order: o1,
            },
            DType::Scalar {
                kind: k2,
                order: o2,
            },
        ) if k1 == k2 => {
            let size = k1.size();
            if o1 != o2 && size > 1 {
                if k1.is_complex() {
                    out.push((base, size / 2));
                    out.push((base + size / 2, size / 2));
                } else {
                    out.push((base, size));
                }
            }
            true
        }
        (
            DType::Unicode {
                chars: c1,
                order: o1,
            },
            DType::Unicode {
                chars: c2,
                order: o2,
            },
        ) if c1 == c2 => {
            if o1 != o2 {
                out.extend((0..*c1).map(|i| (base + 4 * i, 4)));
            }
            true
        }
        (DType::Bytes(a), DType::Bytes(b)) | (DType::Void(a), DType::Void(b)) => a == b,
        (DType::Record(fa), DType::Record(fb)) => {
            fa.len() == fb.len()
                && fa.iter().zip(fb.iter()).all(|(a, b)| {
                    if a.name != b.name || a.offset != b.offset || a.shape != b.shape {
                        return false;
                    }
                    let count: usize = a.shape.iter().product();
                    let step = a.dtype.itemsize();
                    (0..count).all(|i| collect(&a.dtype, &b.dtype, base + a.offset + i * step, out))
                })
        }
        _ => false,
    }
}

/// Reverses the given runs in every item of `bytes` (a whole number of `item`-byte items).
pub(crate) fn apply(bytes: &mut [u8], item: usize, segments: &[Segment]) {
    if segments.is_empty() || item == 0 {
        return;
    }
    match segments {
        [(0, w)] if *w == item => match item {
            2 => bytes.chunks_exact_mut(2).for_each(|c| c.swap(0, 1)),
            4 => bytes.chunks_exact_mut(4).for_each(|c| {
                c.copy_from_slice(
                    &u32::from_ne_bytes([c[0], c[1], c[2], c[3]])
                        .swap_bytes()
                        .to_ne_bytes(),
                )
            }),
            8 => bytes.chunks_exact_mut(8).for_each(|c| {
                let v = u64::from_ne_bytes(c.try_into().expect("8-byte chunk"));
                c.copy_from_slice(&v.swap_bytes().to_ne_bytes());
            }),
            _ => bytes.chunks_exact_mut(item).for_each(|c| c.reverse()),
        },
        _ => {
            for it in bytes.chunks_exact_mut(item) {
                for &(o, w) in segments {
                    it[o..o + w].reverse();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outcore_engine::ByteOrder;

    #[test]
    fn segments_of_every_kind() {
        let d = |s: &str| DType::parse(s).unwrap();
        assert_eq!(swap_segments(&d("<f8"), &d(">f8")), Some(vec![(0, 8)]));
        assert_eq!(swap_segments(&d("<f8"), &d("<f8")), Some(vec![]));
        assert_eq!(
            swap_segments(&d("<c8"), &d(">c8")),
            Some(vec![(0, 4), (4, 4)])
        );
        assert_eq!(
            swap_segments(&d("<U2"), &d(">U2")),
            Some(vec![(0, 4), (4, 4)])
        );
        assert_eq!(swap_segments(&d("S3"), &d("S3")), Some(vec![]));
        assert_eq!(swap_segments(&d("<f8"), &d("<i8")), None);
        let rec = DType::record(vec![
            ("a".into(), d("<i2"), vec![2]),
            ("b".into(), d("u1"), vec![]),
            ("c".into(), d("<f4"), vec![]),
        ])
        .unwrap();
        let big = rec.with_byte_order(ByteOrder::Big);
        assert_eq!(
            swap_segments(&rec, &big),
            Some(vec![(0, 2), (2, 2), (5, 4)])
        );
    }

    #[test]
    fn apply_reverses_runs() {
        let mut b = vec![1u8, 2, 3, 4, 5, 6, 7, 8];
        apply(&mut b, 4, &[(0, 4)]);
        assert_eq!(b, [4, 3, 2, 1, 8, 7, 6, 5]);
        apply(&mut b, 8, &[(0, 2), (4, 4)]);
        assert_eq!(b, [3, 4, 2, 1, 5, 6, 7, 8]);
        let mut c = vec![1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        apply(&mut c, 8, &[(0, 8)]);
        assert_eq!(c, [8, 7, 6, 5, 4, 3, 2, 1, 16, 15, 14, 13, 12, 11, 10, 9]);
    }
}
