//! Folds of one or more broadcast inputs: the reading half of a map, with an accumulator per
//! chunk instead of an output. Chunks fold in parallel and their accumulators combine in chunk
//! order, so the result does not depend on the thread count; it depends on the chunk size
//! only when `combine` is not exactly associative (e.g. float addition).

use std::ops::Range;

use outcore_engine::{ChunkIo, Context, Pattern, ReadRange, Result};

use super::{check_kinds, Broadcast, MapInputs, BLOCK};

impl Broadcast<'_> {
    /// Chunks of the walk (positions), planned for an output of `out_item` bytes per position
    /// whose data starts at `data_offset`, and what each chunk reads of the streamed inputs.
    pub(super) fn read_plan(
        &self,
        ctx: &Context,
        data_offset: usize,
        out_item: usize,
        to_file: bool,
    ) -> (Vec<Range<usize>>, Vec<ChunkIo>) {
        let chunks = ctx.plan(data_offset, out_item, 0..self.len());
        let in_bytes: usize = self.sources.iter().map(|s| s.kind.size()).sum();
        let plan = chunks
            .iter()
            .map(|c| ChunkIo {
                reads: self
                    .sources
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.is_streamed())
                    .map(|(i, s)| ReadRange {
                        input: i,
                        range: c.start * s.kind.size()..c.end * s.kind.size(),
                        release: true,
                    })
                    .collect(),
                write: to_file.then(|| c.start * out_item..c.end * out_item),
                bytes: (c.len() * (in_bytes + out_item)) as u64,
            })
            .collect();
        (chunks, plan)
    }
}

/// Folds the broadcast elements of `inputs` — one typed array, or a tuple of up to four — in
/// C order: `identity()` starts each chunk, `fold(acc, item)` takes every element, and
/// `combine(a, b)` joins the chunks' accumulators in order.
///
/// A dot product of two files:
///
/// ```no_run
/// use outcore_engine::{Array, Context};
/// use outcore_kernels::map::{fold, typed};
/// let ctx = Context::new()?;
/// let (x, y) = (Array::open("x.npy")?, Array::open("y.npy")?);
/// let dot = fold(&ctx, (&typed::<f64>(&x)?, &typed::<f64>(&y)?),
///     || 0.0, |acc, (a, b)| acc + a * b, |a, b| a + b)?;
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn fold<'a, I, A, Id, F, C>(
    ctx: &Context,
    inputs: I,
    identity: Id,
    fold: F,
    combine: C,
) -> Result<A>
where
    I: MapInputs<'a>,
    A: Send,
    Id: Fn() -> A + Sync,
    F: Fn(A, I::Item) -> A + Sync,
    C: Fn(A, A) -> A,
{
    fold_indexed(
        ctx,
        inputs,
        identity,
        |acc, _, item| fold(acc, item),
        combine,
    )
}

/// [`fold`] whose closure also receives each element's flat C-order index in the broadcast
/// result: `fold(acc, index, item)`.
///
/// ```
/// use outcore_engine::{Array, Context};
/// use outcore_kernels::map::{fold_indexed, typed};
/// let ctx = Context::builder().threads(2).build()?;
/// let a = Array::from_vec(vec![3.0f32, 9.0, 1.0, 9.0], &[2, 2])?;
/// // The flat index of the first maximum (NumPy's argmax).
/// let (best, at) = fold_indexed(&ctx, &typed::<f32>(&a)?, || (f32::MIN, 0),
///     |(b, i), k, x| if x > b { (x, k) } else { (b, i) },
///     |l, r| if r.0 > l.0 { r } else { l })?;
/// assert_eq!((best, at), (9.0, 1));
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn fold_indexed<'a, I, A, Id, F, C>(
    ctx: &Context,
    inputs: I,
    identity: Id,
    fold: F,
    combine: C,
) -> Result<A>
where
    I: MapInputs<'a>,
    A: Send,
    Id: Fn() -> A + Sync,
    F: Fn(A, u64, I::Item) -> A + Sync,
    C: Fn(A, A) -> A,
{
    let arrays = inputs.arrays();
    let b = Broadcast::new(&arrays)?;
    check_kinds::<I>(&b)?;
    if b.is_empty() {
        return Ok(identity());
    }
    let item = b.sources.iter().map(|s| s.kind.size()).max().unwrap_or(1);
    let (chunks, plan) = b.read_plan(ctx, 0, item, false);
    let readers: Vec<_> = b.arrays.iter().map(|a| a.input()).collect();
    let accs = ctx.run(
        "fold",
        Pattern::Sequential,
        &readers,
        None,
        &plan,
        |i, _| {
            let range = &chunks[i];
            let mut bufs = I::bufs();
            let mut acc = Some(identity());
            let mut pos = range.start;
            while pos < range.end {
                let n = (range.end - pos).min(BLOCK);
                I::for_block(&b.sources, &mut bufs, pos, n, |k, item| {
                    if let Some(a) = acc.take() {
                        acc = Some(fold(a, (pos + k) as u64, item));
                    }
                    Ok::<(), outcore_engine::Error>(())
                })?;
                pos += n;
            }
            Ok(acc.unwrap_or_else(&identity))
        },
    )?;
    Ok(accs.into_iter().reduce(combine).unwrap_or_else(identity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::typed;
    use outcore_engine::Array;

    #[test]
    fn a_two_input_fold_broadcasts_and_is_the_same_for_any_chunking() {
        let x: Vec<i64> = (0..30_000).collect();
        let y: Vec<i64> = (0..3).map(|k| k * 10 + 1).collect();
        let xa = Array::from_vec(x.clone(), &[10_000, 3]).unwrap();
        let ya = Array::from_vec(y.clone(), &[3]).unwrap();
        let want: i64 = x.iter().enumerate().map(|(i, v)| v * y[i % 3]).sum();
        let mut last = None;
        for (threads, chunk) in [(1, 4096), (2, 8192), (3, 1 << 20)] {
            let ctx = Context::builder()
                .threads(threads)
                .chunk_bytes(chunk)
                .build()
                .unwrap();
            let got = fold(
                &ctx,
                (&typed::<i64>(&xa).unwrap(), &typed::<i64>(&ya).unwrap()),
                || 0i64,
                |acc, (a, b)| acc + a * b,
                |a, b| a + b,
            )
            .unwrap();
            assert_eq!(got, want);
            // Indices arrive in C order across chunks: the sequence of indices is 0..n.
            let order = fold_indexed(
                &ctx,
                &typed::<i64>(&xa).unwrap(),
                Vec::new,
                |mut v, k, x| {
                    assert_eq!(k as i64, x);
                    v.push(k);
                    v
                },
                |mut a, b| {
                    a.extend(b);
                    a
                },
            )
            .unwrap();
            assert_eq!(order, (0..30_000u64).collect::<Vec<_>>());
            last = Some(got);
        }
        assert!(last.is_some());
    }

    #[test]
    fn a_fold_refuses_the_wrong_element_type_and_folds_nothing_to_the_identity() {
        let ctx = Context::builder().threads(1).build().unwrap();
        let a = Array::from_vec(vec![1.0f64; 4], &[4]).unwrap();
        assert!(typed::<f32>(&a).is_err());
        let empty = Array::from_vec(Vec::<f64>::new(), &[0, 3]).unwrap();
        let n = fold(
            &ctx,
            &typed::<f64>(&empty).unwrap(),
            || 7u32,
            |n, _| n + 1,
            |a, b| a + b,
        );
        assert_eq!(n.unwrap(), 7);
    }
}
