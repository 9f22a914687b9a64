//! The conveniences of the closure map: one input without a 1-tuple, the element's index,
//! and results in memory.

use std::path::Path;

use outcore_engine::{
    Array, Context, Element, Error, OutputFile, OutputOptions, Result, ScalarKind,
};

use super::{block_buf, check_kinds, Broadcast, Dest, MapInputs, Source, TypedArray};

/// One typed array is an input on its own: the closure receives the element itself.
impl<'a, T: Element> MapInputs<'a> for &'a TypedArray<'a, T> {
    type Item = T;
    type Bufs = Vec<T>;
    fn arrays(&self) -> Vec<&'a Array> {
        vec![self.array]
    }
    fn kinds() -> Vec<ScalarKind> {
        vec![T::KIND]
    }
    fn bufs() -> Self::Bufs {
        block_buf::<T>()
    }
    fn for_block<E>(
        sources: &[Source<'_>],
        bufs: &mut Self::Bufs,
        start: usize,
        n: usize,
        mut f: impl FnMut(usize, T) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let values = sources[0].values::<T>(start, n, bufs);
        for i in 0..n {
            f(i, values.get(i))?;
        }
        Ok(())
    }
}

/// [`map`](super::map) whose closure also receives each element's flat C-order index in the
/// result: `f(index, item)`.
///
/// ```no_run
/// use outcore_engine::{Array, Context, OutputOptions};
/// use outcore_kernels::map::{map_indexed, typed};
/// let ctx = Context::new()?;
/// let x = Array::open("x.npy")?;
/// // Zero every other element.
/// map_indexed(&ctx, &typed::<f64>(&x)?, "r.npy", &OutputOptions::default(),
///     |i, v| if i % 2 == 0 { v } else { 0.0 })?;
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn map_indexed<'a, I, R, F>(
    ctx: &Context,
    inputs: I,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
    f: F,
) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(u64, I::Item) -> R + Sync,
{
    try_map_indexed(ctx, inputs, dest, opts, |i, item| {
        Ok::<R, Error>(f(i, item))
    })
}

/// [`map_indexed`] with a fallible closure: the first error stops the job and the
/// destination is left untouched.
pub fn try_map_indexed<'a, I, R, F, E>(
    ctx: &Context,
    inputs: I,
    dest: impl AsRef<Path>,
    opts: &OutputOptions,
    f: F,
) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(u64, I::Item) -> std::result::Result<R, E> + Sync,
    E: Into<Error>,
{
    let arrays = inputs.arrays();
    let b = Broadcast::new(&arrays)?;
    let layout = b.layout(R::dtype())?;
    let mut opts = opts.clone();
    opts.inputs
        .extend(arrays.iter().map(|a| a.path().to_path_buf()));
    let mut out = OutputFile::create_npy(dest, &layout, &opts)?;
    run_indexed::<I, R, F, E>(ctx, &b, Dest::File(&mut out), &f)?;
    out.commit()
}

/// Maps `f` over the broadcast elements of `inputs` into a vector in C order (for results
/// small enough to keep in memory), with the broadcast shape.
///
/// ```
/// use outcore_engine::{Array, Context};
/// use outcore_kernels::map::{map_to_vec, typed};
/// let ctx = Context::builder().threads(2).build()?;
/// let a = Array::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// let b = Array::from_vec(vec![10.0f64, 20.0, 30.0], &[3])?;
/// let (sum, shape) = map_to_vec(&ctx, (&typed::<f64>(&a)?, &typed::<f64>(&b)?), |(x, y)| x + y)?;
/// assert_eq!(shape, [2, 3]);
/// assert_eq!(sum, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
/// # Ok::<(), outcore_engine::Error>(())
/// ```
pub fn map_to_vec<'a, I, R, F>(ctx: &Context, inputs: I, f: F) -> Result<(Vec<R>, Vec<usize>)>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(I::Item) -> R + Sync,
{
    let arrays = inputs.arrays();
    let b = Broadcast::new(&arrays)?;
    let mut out = vec![R::default(); b.len()];
    let g = |_: u64, item| Ok::<R, Error>(f(item));
    run_indexed::<I, R, _, Error>(ctx, &b, Dest::Bytes(bytemuck::cast_slice_mut(&mut out)), &g)?;
    Ok((out, b.shape().to_vec()))
}

pub(super) fn run_indexed<'a, I, R, F, E>(
    ctx: &Context,
    b: &Broadcast<'_>,
    dest: Dest<'_>,
    f: &F,
) -> Result<()>
where
    I: MapInputs<'a>,
    R: Element,
    F: Fn(u64, I::Item) -> std::result::Result<R, E> + Sync,
    E: Into<Error>,
{
    check_kinds::<I>(b)?;
    let size = std::mem::size_of::<R>();
    b.run_blocks(ctx, "map", dest, size, |start, out| {
        let mut bufs = I::bufs();
        let n = out.len() / size;
        let mut fill = |typed: &mut [R]| {
            I::for_block(&b.sources, &mut bufs, start, n, |i, item| {
                typed[i] = f((start + i) as u64, item)?;
                Ok::<(), E>(())
            })
            .map_err(Into::into)
        };
        match bytemuck::try_cast_slice_mut::<u8, R>(out) {
            Ok(typed) => fill(typed)?,
            Err(_) => {
                let mut tmp = vec![R::default(); n];
                fill(&mut tmp)?;
                out.copy_from_slice(bytemuck::cast_slice(&tmp));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{map, map_into, typed};
    use outcore_engine::ErrorKind;

    #[test]
    fn one_input_maps_without_a_tuple_and_indices_are_c_order() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::builder()
            .threads(2)
            .chunk_bytes(4096)
            .build()
            .unwrap();
        let v: Vec<f32> = (0..5000).map(|i| i as f32).collect();
        let a = Array::from_vec(v.clone(), &[50, 100]).unwrap();
        let out = dir.path().join("sq.npy");
        map(
            &ctx,
            &typed::<f32>(&a).unwrap(),
            &out,
            &OutputOptions::default(),
            |x| x * x,
        )
        .unwrap();
        let got = Array::open(&out).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(got, v.iter().map(|x| x * x).collect::<Vec<_>>());
        let idx = dir.path().join("idx.npy");
        map_indexed(
            &ctx,
            &typed::<f32>(&a).unwrap(),
            &idx,
            &OutputOptions::default(),
            |i, x| i as f64 - x as f64,
        )
        .unwrap();
        assert!(Array::open(&idx)
            .unwrap()
            .to_vec::<f64>()
            .unwrap()
            .iter()
            .all(|&d| d == 0.0));
        // Into memory, through a writable in-memory destination.
        let mut dest = Array::zeros::<f32>(&[50, 100]).unwrap();
        map_into(&ctx, &typed::<f32>(&a).unwrap(), &mut dest, |x| -x).unwrap();
        assert_eq!(dest.into_vec::<f32>().unwrap()[4999], -4999.0);
    }

    #[test]
    fn a_failing_indexed_map_leaves_no_output() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::builder()
            .threads(2)
            .chunk_bytes(4096)
            .build()
            .unwrap();
        let a = Array::from_vec((0..10_000i32).collect(), &[10_000]).unwrap();
        let out = dir.path().join("never.npy");
        let e = try_map_indexed(
            &ctx,
            &typed::<i32>(&a).unwrap(),
            &out,
            &OutputOptions::default(),
            |i, x| {
                if i == 7777 {
                    Err(Error::new(ErrorKind::InvalidArgument, "bad element"))
                } else {
                    Ok(x)
                }
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
