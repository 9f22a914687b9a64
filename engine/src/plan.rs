//! The chunk planner: splits a range of items (elements, rows, records) into chunks whose inner
//! boundaries fall on page boundaries of the *file*, although the data itself starts at an
//! arbitrary offset (a `.npy` header is 64-byte aligned, not page aligned).
//!
//! Item `i` starts at file byte `data_offset + i * item_bytes`. It is page aligned when
//! `i * item_bytes ≡ -data_offset (mod page)`. With `g = gcd(item_bytes, page)` that congruence
//! has solutions iff `g` divides `data_offset`, and they repeat every `page / g` items. When it
//! has none (a raw file at an odd offset), chunks fall on item boundaries only.

use std::ops::Range;

/// Splits `items` into chunks of at most `max(cap_bytes, one alignment period)` bytes whose
/// inner boundaries are page aligned in the file whenever that is possible (see module docs).
/// The chunks cover `items` exactly once, in order.
pub fn plan_chunks(
    data_offset: usize,
    item_bytes: usize,
    items: Range<usize>,
    cap_bytes: usize,
    page: usize,
) -> Vec<Range<usize>> {
    let (start, end) = (items.start, items.end);
    if start >= end {
        return Vec::new();
    }
    let item_bytes = item_bytes.max(1);
    let cap_items = (cap_bytes / item_bytes).max(1);
    let mut chunks = Vec::new();
    let Some((first_aligned, period)) = alignment(data_offset, item_bytes, page) else {
        let mut s = start;
        while s < end {
            let e = end.min(s.saturating_add(cap_items));
            chunks.push(s..e);
            s = e;
        }
        return chunks;
    };
    // Chunk length: the largest multiple of the period within the cap (at least one period).
    let step = (cap_items / period).max(1).saturating_mul(period);
    // Smallest aligned boundary strictly after `start`.
    let next_aligned = |after: usize| -> usize {
        if first_aligned > after {
            first_aligned
        } else {
            let k = (after - first_aligned) / period + 1;
            first_aligned.saturating_add(k.saturating_mul(period))
        }
    };
    // First boundary: the furthest aligned index within one step of `start`.
    let a = next_aligned(start);
    let limit = start.saturating_add(step);
    let mut boundary = if a <= limit {
        a + (limit - a) / period * period
    } else {
        a
    };
    let mut s = start;
    while boundary < end {
        chunks.push(s..boundary);
        s = boundary;
        boundary = boundary.saturating_add(step);
    }
    chunks.push(s..end);
    chunks
}

/// The first item index (≥ 0) whose start is page aligned in the file, and the period (in
/// items) of aligned indices; `None` when no item start is ever page aligned.
pub fn alignment(data_offset: usize, item_bytes: usize, page: usize) -> Option<(usize, usize)> {
    let g = gcd(item_bytes, page);
    let need = (page - data_offset % page) % page; // i * item ≡ need (mod page)
    if !need.is_multiple_of(g) {
        return None;
    }
    let m = page / g;
    if m == 1 {
        return Some((0, 1));
    }
    let a = (item_bytes / g) % m;
    let b = (need / g) % m;
    let inv = mod_inverse(a, m)?;
    let first = ((b as u128 * inv as u128) % m as u128) as usize;
    Some((first, m))
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Inverse of `a` modulo `m` (extended Euclid); `a` and `m` coprime.
fn mod_inverse(a: usize, m: usize) -> Option<usize> {
    let (mut old_r, mut r) = (a as i128, m as i128);
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    if old_r != 1 {
        return None;
    }
    Some(old_s.rem_euclid(m as i128) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAGE: usize = 4096;

    fn check(off: usize, item: usize, items: Range<usize>, cap: usize) {
        let chunks = plan_chunks(off, item, items.clone(), cap, PAGE);
        // Exact cover, in order.
        let mut pos = items.start;
        for c in &chunks {
            assert_eq!(c.start, pos);
            assert!(c.end > c.start);
            pos = c.end;
        }
        assert_eq!(pos, items.end.max(items.start));
        match alignment(off, item, PAGE) {
            Some((_, period)) => {
                let max = (cap / item).max(1).max(period);
                for (i, c) in chunks.iter().enumerate() {
                    assert!(c.len() <= max, "chunk {c:?} over cap {max}");
                    if i > 0 {
                        assert_eq!(
                            (off + c.start * item) % PAGE,
                            0,
                            "boundary {} not page aligned",
                            c.start
                        );
                    }
                }
            }
            None => {
                for c in &chunks {
                    assert!(c.len() <= (cap / item).max(1));
                }
            }
        }
    }

    #[test]
    fn npy_f8_boundaries() {
        let chunks = plan_chunks(128, 8, 0..1_000_000, 1 << 20, PAGE);
        assert_eq!(chunks[0], 0..131_056);
        check(128, 8, 0..1_000_000, 1 << 20);
        check(80, 12, 5..99_999, 50_000);
        check(3, 8, 0..10_000, 4096);
        check(0, 1, 0..1, 1);
    }

    proptest! {
        #[test]
        fn chunks_cover_align_and_respect_the_cap(
            off in 0usize..20_000,
            item in 1usize..300,
            start in 0usize..50_000,
            len in 0usize..200_000,
            cap in 1usize..(4 << 20),
        ) {
            check(off, item, start..start + len, cap);
        }

        #[test]
        fn alignment_is_correct(off in 0usize..100_000, item in 1usize..100_000) {
            if let Some((first, period)) = alignment(off, item, PAGE) {
                prop_assert_eq!((off + first * item) % PAGE, 0);
                prop_assert_eq!((period * item) % PAGE, 0);
                prop_assert!(first < period);
            } else {
                for i in 0..PAGE {
                    prop_assert!((off + i * item) % PAGE != 0);
                }
            }
        }
    }
}
