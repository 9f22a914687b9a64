//! Fuzzes the `outcore eval` expression parser and type checker: any text must parse or give
//! an error pointing into the expression, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outcore_kernels::expr::Expr;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Expr::parse(text);
    }
});
