//! The closure map API against NumPy: broadcasting across C/F orders and byte orders, writing
//! into a new file or an existing mapping, and errors from a `try_` closure.

use outcore::kernels::map::{map, map_into, try_map, typed};
use outcore::{Array, Context, DType, Error, ErrorKind, Layout, Order, OutputOptions};

use crate::eval::fast_tempdir;
use crate::require_numpy;
use crate::util::python;

#[test]
fn closure_maps_broadcast_like_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        r#"
import numpy as np
rng = np.random.default_rng(2)
np.save('x.npy', np.asfortranarray(rng.normal(size=(5, 4, 3))).astype('>f8'))
np.save('y.npy', rng.integers(-9, 9, (4, 1)).astype('>i2'))
np.save('z.npy', rng.random(3).astype('f4'))
x, y, z = np.load('x.npy'), np.load('y.npy'), np.load('z.npy')
np.save('want.npy', x * y + z.astype('f8'))
"#,
    );
    let ctx = Context::builder()
        .threads(2)
        .memory(8 << 20)
        .chunk_bytes(4096)
        .build()
        .unwrap();
    let open = |n: &str| Array::open(dir.path().join(n)).unwrap();
    let (x, y, z) = (open("x.npy"), open("y.npy"), open("z.npy"));
    let (tx, ty, tz) = (
        typed::<f64>(&x).unwrap(),
        typed::<i16>(&y).unwrap(),
        typed::<f32>(&z).unwrap(),
    );
    let opts = OutputOptions::default();
    map(
        &ctx,
        (&tx, &ty, &tz),
        dir.path().join("got.npy"),
        &opts,
        |(a, b, c)| a * b as f64 + c as f64,
    )
    .unwrap();

    // Into an existing Fortran-ordered mapping of the broadcast shape.
    let layout = Layout::new(DType::parse("f8").unwrap(), vec![5, 4, 3], Order::F).unwrap();
    let mut dest = Array::create(dir.path().join("into.npy"), layout).unwrap();
    map_into(&ctx, (&tx, &ty, &tz), &mut dest, |(a, b, c)| {
        a * b as f64 + c as f64
    })
    .unwrap();
    dest.flush().unwrap();
    drop(dest);
    let check = python(
        dir.path(),
        "import numpy as np\nw = np.load('want.npy')\nprint(np.array_equal(np.load('got.npy'), w), np.array_equal(np.load('into.npy'), w))",
    );
    assert_eq!(check.trim(), "True True");
    // A new file is C order, even when its only input is Fortran-ordered.
    assert_eq!(open("got.npy").order(), Order::C);
    map(&ctx, (&tx,), dir.path().join("f.npy"), &opts, |(a,)| {
        a * 2.0
    })
    .unwrap();
    assert_eq!(open("f.npy").order(), Order::C);
    let check = python(
        dir.path(),
        "import numpy as np\nx = np.load('x.npy')\nprint(np.array_equal(np.load('f.npy'), x * 2))",
    );
    assert_eq!(check.trim(), "True");
    assert_eq!(open("into.npy").order(), Order::F);

    // A failing closure: the error comes back and nothing is left behind.
    let e = try_map(&ctx, (&tx,), dir.path().join("bad.npy"), &opts, |(a,)| {
        if a > 1.5 {
            Err(Error::new(ErrorKind::InvalidArgument, "too big"))
        } else {
            Ok(a)
        }
    })
    .unwrap_err();
    assert_eq!(e.message(), "too big");
    assert!(!dir.path().join("bad.npy").exists());

    // Wrong element type and shapes that do not broadcast are refused.
    assert_eq!(
        typed::<f32>(&x).err().unwrap().kind(),
        ErrorKind::UnsupportedDType
    );
    let e = map(
        &ctx,
        (&tx, &tz, &ty),
        dir.path().join("ok.npy"),
        &opts,
        |(a, _, _)| a,
    );
    assert!(e.is_ok(), "(5,4,3) with (3,) and (4,1) broadcast");
    assert_eq!(open("ok.npy").shape(), &[5, 4, 3]);
    let bad = typed::<f64>(&x).unwrap();
    let small = python(
        dir.path(),
        "import numpy as np\nnp.save('s.npy', np.zeros(2))\nprint('ok')",
    );
    assert_eq!(small.trim(), "ok");
    let s = open("s.npy");
    let e = map(
        &ctx,
        (&bad, &typed::<f64>(&s).unwrap()),
        dir.path().join("no.npy"),
        &opts,
        |(a, b)| a + b,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
}
