//! `a[m]` for a boolean `m` whose shape is a leading part of `a`'s, in two parallel passes:
//! count the true entries of every chunk of the mask, then copy each chunk's selected rows to
//! its prefix offset in the output.

use std::ops::Range;
use std::path::Path;

use outcore_engine::{
    err, Array, ChunkIo, Context, Layout, Order, OutputFile, OutputOptions, Pattern, ReadRange,
    Result, ResultExt, ScalarKind,
};

use super::{c_contiguous, with_inputs};

/// NumPy boolean indexing `input[mask]` into `dest` (C order, the input's dtype) and returns
/// it opened read-only: `mask.shape` must equal `input.shape[:mask.ndim]`, and the result has
/// shape `(count,) + input.shape[mask.ndim:]`.
pub fn mask(
    ctx: &Context,
    input: &Array,
    mask: &Array,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
) -> Result<Array> {
    let dest = dest.as_ref();
    if mask.dtype().scalar_kind() != Some(ScalarKind::Bool) {
        return Err(err!(
            UnsupportedDType,
            "the mask must be a boolean array (dtype bool), not {} ({})",
            mask.dtype().str_code(),
            mask.dtype().name()
        )
        .with_path(mask.path()));
    }
    let (shape, k) = (input.shape(), mask.shape().len());
    if k > shape.len() || mask.shape() != &shape[..k] {
        return Err(err!(
            Shape,
            "the mask's shape {:?} is not a leading part of the shape {:?} of {} (a[mask] needs mask.shape == a.shape[:{k}])",
            mask.shape(),
            shape,
            input.path().display()
        )
        .with_path(mask.path()));
    }
    let row = shape[k..].iter().product::<usize>() * input.dtype().itemsize();
    let dir = ctx.scratch_dir_for(dest);
    let mask_c = c_contiguous(ctx, mask, mask.dtype(), &dir)?;
    let mask_in = mask_c.input();
    let per = (ctx.chunk_bytes() / row.max(1)).max(1);
    let chunks: Vec<Range<usize>> = (0..mask.len())
        .step_by(per)
        .map(|s| s..(s + per).min(mask.len()))
        .collect();
    let plan: Vec<ChunkIo> = chunks
        .iter()
        .map(|c| ChunkIo {
            reads: vec![ReadRange {
                input: 0,
                range: c.clone(),
                release: true,
            }],
            write: None,
            bytes: c.len() as u64,
        })
        .collect();
    let counts: Vec<usize> = ctx.run(
        "count",
        Pattern::Sequential,
        &[mask_in],
        None,
        &plan,
        |c, _| {
            Ok(mask_in.bytes[chunks[c].clone()]
                .iter()
                .filter(|&&b| b != 0)
                .count())
        },
    )?;
    let total: usize = counts.iter().sum();
    let mut out_shape = vec![total];
    out_shape.extend_from_slice(&shape[k..]);
    let layout = Layout::new(input.dtype().clone(), out_shape, Order::C).at(dest)?;
    let mut out = OutputFile::create_npy(dest, &layout, &with_inputs(opts, &[input, mask]))?;
    if out.nbytes() > 0 {
        let source = c_contiguous(ctx, input, input.dtype(), &dir)?;
        let src = source.input();
        // Each chunk's rows go to the prefix offset of its count; long rows are cut into
        // chunk-sized pieces, one selected row at a time.
        let mut plan = Vec::new();
        let mut pieces = Vec::new();
        let mut at = 0usize;
        for (c, &n) in chunks.iter().zip(&counts) {
            if n == 0 {
                continue;
            }
            if row <= ctx.chunk_bytes() {
                plan.push(ChunkIo {
                    reads: vec![
                        ReadRange {
                            input: 0,
                            range: c.clone(),
                            release: true,
                        },
                        ReadRange {
                            input: 1,
                            range: c.start * row..c.end * row,
                            release: true,
                        },
                    ],
                    write: Some(at * row..(at + n) * row),
                    bytes: (n * row) as u64,
                });
                pieces.push((c.clone(), None));
            } else {
                // Rows longer than a chunk make chunks of one mask entry, so a chunk that
                // counted one is that selected row (the mask is not read again here: only
                // the scheduler's runs read mapped inputs, checking that they are still whole).
                let j = c.start;
                for b in (0..row).step_by(ctx.chunk_bytes()) {
                    let e = (b + ctx.chunk_bytes()).min(row);
                    plan.push(ChunkIo {
                        reads: vec![ReadRange {
                            input: 1,
                            range: j * row + b..j * row + e,
                            release: true,
                        }],
                        write: Some(at * row + b..at * row + e),
                        bytes: (e - b) as u64,
                    });
                    pieces.push((j..j + 1, Some(b..e)));
                }
            }
            at += n;
        }
        ctx.run(
            "mask",
            Pattern::Sequential,
            &[mask_in, src],
            Some(out.output()),
            &plan,
            |i, dst| {
                let (entries, bytes) = &pieces[i];
                if let Some(bytes) = bytes {
                    let j = entries.start;
                    dst.copy_from_slice(&src.bytes[j * row + bytes.start..j * row + bytes.end]);
                    return Ok(());
                }
                let selected = mask_in.bytes[entries.clone()]
                    .iter()
                    .enumerate()
                    .filter(|(_, &b)| b != 0);
                for (k, (j, _)) in selected.enumerate() {
                    let j = entries.start + j;
                    dst[k * row..(k + 1) * row].copy_from_slice(&src.bytes[j * row..(j + 1) * row]);
                }
                Ok(())
            },
        )?;
    }
    out.commit()?;
    Array::open(dest)
}
