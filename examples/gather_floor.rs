//! The floor of a random gather on this machine: how fast `out[j] = src[idx[j]]` can run over a
//! resident, mapped float64 file for a random permutation, whatever order the reads are made
//! in. `take`'s resident gather is one of the orders measured here (batches of 2^19 rows
//! grouped by 2 MiB source block); docs/design.md uses the table to judge take's targets.
//!
//! ```text
//! outcore gen --dtype float64 --shape 268435456 src.npy
//! outcore argsort src.npy -o idx.npy
//! cargo run --release --example gather_floor src.npy idx.npy [ROWS]
//! ```
//!
//! Every worker thread gathers its own share of the rows; per order the table gives the
//! wall time over all of them and the CPU nanoseconds per row (threads × wall / rows), split
//! into the grouping (a counting sort of `(source row << bits | place)` pairs) and the copy.

use std::time::Instant;

use outcore::prelude::*;

/// One way of ordering a batch's reads.
#[derive(Clone, Copy)]
enum Grouping {
    /// In output order: every read a random cache line and page.
    None,
    /// Grouped by source block of `2^block_bits` rows (stable: output order inside a block).
    Blocks { batch_bits: u32, block_bits: u32 },
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gather_floor SRC.npy IDX.npy [ROWS]");
        std::process::exit(2);
    }
    let src = Array::open(&args[1])?;
    let idx = Array::open(&args[2])?;
    src.input().populate(0..src.nbytes())?;
    idx.input().populate(0..idx.nbytes())?;
    let (src, idx) = (src.as_slice::<f64>()?, idx.as_slice::<i64>()?);
    let (src, idx): (&[f64], &[i64]) = (&src, &idx);
    let rows = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(idx.len())
        .min(idx.len());
    let idx = &idx[..rows];
    if idx.iter().any(|&i| i < 0 || i as usize >= src.len()) {
        eprintln!("gather_floor: the index must be non-negative and within the source");
        std::process::exit(2);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} rows from {} (float64), {threads} threads",
        rows,
        src.len()
    );
    println!(
        "order                               wall s   group ns/row  copy ns/row  total ns/row"
    );
    let mut orders = vec![("output order".to_string(), Grouping::None)];
    for (batch_bits, block_bits) in [(17, 16), (18, 16), (18, 18), (19, 18), (20, 18), (21, 18)] {
        let name = format!("2^{batch_bits} rows by {} KiB", (8u64 << block_bits) >> 10);
        orders.push((
            name,
            Grouping::Blocks {
                batch_bits,
                block_bits,
            },
        ));
    }
    for (name, grouping) in orders {
        let share = rows.div_ceil(threads);
        let start = Instant::now();
        let (group_s, copy_s) = std::thread::scope(|s| {
            let workers: Vec<_> = idx
                .chunks(share)
                .map(|part| s.spawn(move || gather(src, part, grouping)))
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("a gather thread panicked"))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        let wall = start.elapsed().as_secs_f64();
        let ns = |cpu_s: f64| cpu_s / rows as f64 * 1e9;
        println!(
            "{name:<34} {wall:>8.3} {:>14.1} {:>12.1} {:>13.1}",
            ns(group_s),
            ns(copy_s),
            ns(group_s + copy_s)
        );
    }
    Ok(())
}

/// Gathers `src[idx[j]]` for this thread's rows into a reused batch buffer; returns the
/// seconds spent grouping and copying.
fn gather(src: &[f64], idx: &[i64], grouping: Grouping) -> (f64, f64) {
    const AHEAD: usize = 16;
    // Without grouping: batches of 2^19 rows, no blocks.
    let (batch_bits, block_bits) = match grouping {
        Grouping::None => (19, None),
        Grouping::Blocks {
            batch_bits,
            block_bits,
        } => (batch_bits, Some(block_bits)),
    };
    let batch = 1usize << batch_bits;
    let mut out = vec![0f64; batch];
    let mut pairs = vec![0u64; batch];
    // One slot per source block, and one more.
    let mut starts = vec![0usize; block_bits.map_or(0, |b| (src.len() >> b) + 2)];
    let block_bits = block_bits.unwrap_or(0);
    let (mut group_s, mut copy_s, mut check) = (0.0, 0.0, 0.0);
    for part in idx.chunks(batch) {
        let t0 = Instant::now();
        if let Grouping::None = grouping {
            for (j, &i) in part.iter().enumerate() {
                if let Some(&ahead) = part.get(j + AHEAD) {
                    outcore::engine::prefetch_read(src.as_ptr().wrapping_add(ahead as usize));
                }
                out[j] = src[i as usize];
            }
            copy_s += t0.elapsed().as_secs_f64();
        } else {
            starts.fill(0);
            for &i in part {
                starts[(i as usize >> block_bits) + 1] += 1;
            }
            for b in 1..starts.len() {
                starts[b] += starts[b - 1];
            }
            for (place, &i) in part.iter().enumerate() {
                let at = &mut starts[i as usize >> block_bits];
                pairs[*at] = (i as u64) << batch_bits | place as u64;
                *at += 1;
            }
            let t1 = Instant::now();
            group_s += (t1 - t0).as_secs_f64();
            let mask = (1u64 << batch_bits) - 1;
            let pairs = &pairs[..part.len()];
            for (k, &p) in pairs.iter().enumerate() {
                if let Some(&ahead) = pairs.get(k + AHEAD) {
                    let r = (ahead >> batch_bits) as usize;
                    outcore::engine::prefetch_read(src.as_ptr().wrapping_add(r));
                }
                out[(p & mask) as usize] = src[(p >> batch_bits) as usize];
            }
            copy_s += t1.elapsed().as_secs_f64();
        }
        check += out[0];
    }
    std::hint::black_box(check);
    (group_s, copy_s)
}
