//! Fuzzes the slice-index parser of `outcore slice --index`: any text must give an index or an
//! error, never a panic; an accepted index must print and parse back to itself, and every
//! slice in it must select positions inside any axis it is applied to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outcore_kernels::copy::{parse_index, slice_positions, IndexItem};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(items) = parse_index(text) else {
        return;
    };
    let shown: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    assert_eq!(parse_index(&shown.join(", ")).expect("printed index parses"), items);
    for item in &items {
        if let IndexItem::Slice { start, stop, step } = *item {
            for n in [0usize, 1, 2, 7, 1000, usize::MAX >> 2] {
                if let Ok((first, step, len)) = slice_positions(start, stop, step, n) {
                    if len > 0 {
                        let last = first as i128 + (len as i128 - 1) * step as i128;
                        assert!(first >= 0 && (first as usize) < n, "{item} on {n}");
                        assert!(last >= 0 && (last as u128) < n as u128, "{item} on {n}");
                    }
                }
            }
        }
    }
});
