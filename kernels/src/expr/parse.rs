//! Tokenizer and recursive-descent parser with Python's operator precedence (lowest first):
//! comparisons, `|`, `^`, `&`, `+ -`, `* / // %`, unary `- + ~`, `**` (right-associative,
//! binding tighter than a unary operator on its left: `-x**2` is `-(x**2)`).

use outcore_engine::{Error, ErrorKind, Result};

/// A Python literal: weakly typed until it meets an array (NEP 50).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    /// `True` or `False`.
    Bool(bool),
    /// An integer literal.
    Int(i128),
    /// A float literal (`1.5`, `1e-3`, `inf`, `nan`).
    Float(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// A binary operator.
pub enum BinKind {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (true division)
    Div,
    /// `//`
    FloorDiv,
    /// `%`
    Rem,
    /// `**`
    Pow,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
}

impl BinKind {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        use BinKind::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            FloorDiv => "//",
            Rem => "%",
            Pow => "**",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Eq => "==",
            Ne => "!=",
            And => "&",
            Or => "|",
            Xor => "^",
        }
    }
    /// Whether this is a comparison (its result is bool).
    pub fn is_comparison(self) -> bool {
        use BinKind::*;
        matches!(self, Lt | Le | Gt | Ge | Eq | Ne)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// A unary operator.
pub enum UnKind {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `~x`
    Not,
}

/// An expression tree; `pos` is the byte offset of the node's token in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// A literal.
    Lit {
        /// Its value.
        value: Lit,
        /// Where it starts in the source (bytes).
        pos: usize,
    },
    /// An input name.
    Name {
        /// The name.
        name: String,
        /// Where it starts in the source (bytes).
        pos: usize,
    },
    /// A unary operation.
    Unary {
        /// The operator.
        op: UnKind,
        /// The operand.
        arg: Box<Ast>,
        /// Where the operator is in the source (bytes).
        pos: usize,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinKind,
        /// The left operand.
        a: Box<Ast>,
        /// The right operand.
        b: Box<Ast>,
        /// Where the operator is in the source (bytes).
        pos: usize,
    },
    /// A function call.
    Call {
        /// The function's name.
        func: String,
        /// The arguments.
        args: Vec<Ast>,
        /// Where the call starts in the source (bytes).
        pos: usize,
    },
}

impl Ast {
    /// Where this node is in the source (bytes), for error carets.
    pub fn pos(&self) -> usize {
        match self {
            Ast::Lit { pos, .. }
            | Ast::Name { pos, .. }
            | Ast::Unary { pos, .. }
            | Ast::Binary { pos, .. }
            | Ast::Call { pos, .. } => *pos,
        }
    }

    /// Every input name the expression refers to, in first-use order.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names(&self, out: &mut Vec<String>) {
        match self {
            Ast::Lit { .. } => {}
            Ast::Name { name, .. } => {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            Ast::Unary { arg, .. } => arg.collect_names(out),
            Ast::Binary { a, b, .. } => {
                a.collect_names(out);
                b.collect_names(out);
            }
            Ast::Call { args, .. } => args.iter().for_each(|a| a.collect_names(out)),
        }
    }
}

/// An error at byte offset `pos` of `source`, shown with a caret under the spot.
pub fn error_at(source: &str, pos: usize, msg: impl AsRef<str>) -> Error {
    let col = source[..pos.min(source.len())].chars().count();
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "expression error at column {}: {}\n  {}\n  {}^",
            col + 1,
            msg.as_ref(),
            source,
            " ".repeat(col)
        ),
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Lit),
    Ident(String),
    Op(&'static str),
    End,
}

fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    const OPS: [&str; 22] = [
        "**", "//", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "~",
        "(", ")", ",", "!", "=",
    ];
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            let mut is_float = false;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b'.' {
                is_float = true;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    is_float = true;
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    return Err(error_at(src, i, "malformed number exponent"));
                }
            }
            if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
                return Err(error_at(src, start, "malformed number"));
            }
            let text: String = src[start..i].chars().filter(|&c| c != '_').collect();
            let lit = if is_float {
                Lit::Float(
                    text.parse()
                        .map_err(|_| error_at(src, start, "malformed number"))?,
                )
            } else {
                Lit::Int(
                    text.parse()
                        .map_err(|_| error_at(src, start, "integer literal too large"))?,
                )
            };
            toks.push((Tok::Num(lit), start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            toks.push((Tok::Ident(src[start..i].to_string()), start));
            continue;
        }
        match OPS.iter().find(|op| src[i..].starts_with(**op)) {
            Some(&op) if op == "!" || op == "=" => {
                return Err(error_at(
                    src,
                    i,
                    format!("unexpected '{op}' (use ~ for not, == for equality)"),
                ))
            }
            Some(&op) => {
                toks.push((Tok::Op(op), i));
                i += op.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(error_at(src, i, format!("unexpected character {ch:?}")));
            }
        }
    }
    toks.push((Tok::End, src.len()));
    Ok(toks)
}

/// How deep an expression's tree may be (each operator and call is a level: `a+b+c` is 3 deep).
/// The compiler and the evaluator recurse over the tree, so a deeper expression is refused with
/// an error rather than overflowing a thread's stack.
pub const MAX_DEPTH: usize = 256;

/// How deeply parentheses, calls, unary operators and `**` exponents may nest: each level is
/// a recursion of the parser through every precedence level, which takes several KiB of stack
/// in an unoptimized build, so this stays well inside a 2 MiB thread stack.
pub const MAX_NESTING: usize = 64;

struct Parser<'s> {
    src: &'s str,
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// Current recursion depth of [`Parser::factor`], which every recursive path goes through
    /// (at most [`MAX_NESTING`]).
    nest: usize,
}

/// A parsed subtree and its depth (1 for a leaf).
type Node = (Ast, usize);

/// Parses an expression.
pub fn parse(src: &str) -> Result<Ast> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        src,
        toks,
        at: 0,
        nest: 0,
    };
    if p.peek() == &Tok::End {
        return Err(error_at(src, 0, "empty expression"));
    }
    let (ast, _) = p.comparison()?;
    match p.peek() {
        Tok::End => Ok(ast),
        Tok::Op(")") => Err(error_at(src, p.pos(), "unmatched ')'")),
        _ => Err(error_at(
            src,
            p.pos(),
            "expected an operator or the end of the expression",
        )),
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }
    fn pos(&self) -> usize {
        self.toks[self.at].1
    }
    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }
    fn eat_op(&mut self, ops: &[&'static str]) -> Option<(&'static str, usize)> {
        if let Tok::Op(op) = self.peek() {
            if ops.contains(op) {
                let op = *op;
                let pos = self.pos();
                self.bump();
                return Some((op, pos));
            }
        }
        None
    }

    fn binary(op: &str) -> BinKind {
        use BinKind::*;
        match op {
            "+" => Add,
            "-" => Sub,
            "*" => Mul,
            "/" => Div,
            "//" => FloorDiv,
            "%" => Rem,
            "**" => Pow,
            "<" => Lt,
            "<=" => Le,
            ">" => Gt,
            ">=" => Ge,
            "==" => Eq,
            "!=" => Ne,
            "&" => And,
            "|" => Or,
            _ => Xor,
        }
    }

    /// `depth` if it is within [`MAX_DEPTH`], else an error at `pos`.
    fn check_depth(&self, pos: usize, depth: usize) -> Result<usize> {
        if depth > MAX_DEPTH {
            return Err(error_at(
                self.src,
                pos,
                format!(
                    "expression nested too deeply (more than {MAX_DEPTH} levels of operators \
                     and calls)"
                ),
            ));
        }
        Ok(depth)
    }

    fn comparison(&mut self) -> Result<Node> {
        let (a, da) = self.bitor()?;
        if let Some((op, pos)) = self.eat_op(&["<", "<=", ">", ">=", "==", "!="]) {
            let (b, db) = self.bitor()?;
            if let Some((_, pos2)) = self.eat_op(&["<", "<=", ">", ">=", "==", "!="]) {
                return Err(error_at(
                    self.src,
                    pos2,
                    "chained comparisons are not supported on arrays: write (a < b) & (b < c)",
                ));
            }
            let depth = self.check_depth(pos, 1 + da.max(db))?;
            let ast = Ast::Binary {
                op: Self::binary(op),
                a: Box::new(a),
                b: Box::new(b),
                pos,
            };
            return Ok((ast, depth));
        }
        Ok((a, da))
    }

    fn left_assoc(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut Self) -> Result<Node>,
    ) -> Result<Node> {
        let (mut a, mut depth) = next(self)?;
        while let Some((op, pos)) = self.eat_op(ops) {
            let (b, db) = next(self)?;
            depth = self.check_depth(pos, 1 + depth.max(db))?;
            a = Ast::Binary {
                op: Self::binary(op),
                a: Box::new(a),
                b: Box::new(b),
                pos,
            };
        }
        Ok((a, depth))
    }

    fn bitor(&mut self) -> Result<Node> {
        self.left_assoc(&["|"], Self::bitxor)
    }
    fn bitxor(&mut self) -> Result<Node> {
        self.left_assoc(&["^"], Self::bitand)
    }
    fn bitand(&mut self) -> Result<Node> {
        self.left_assoc(&["&"], Self::arith)
    }
    fn arith(&mut self) -> Result<Node> {
        self.left_assoc(&["+", "-"], Self::term)
    }
    fn term(&mut self) -> Result<Node> {
        self.left_assoc(&["*", "/", "//", "%"], Self::factor)
    }

    /// Every recursion of the parser (parentheses, call arguments, unary operators, exponents)
    /// passes through here, so its depth is bounded here.
    fn factor(&mut self) -> Result<Node> {
        if self.nest >= MAX_NESTING {
            return Err(error_at(
                self.src,
                self.pos(),
                format!(
                    "expression nested too deeply (more than {MAX_NESTING} levels of \
                     parentheses, calls, unary operators or `**`)"
                ),
            ));
        }
        self.nest += 1;
        let r = self.unary();
        self.nest -= 1;
        r
    }

    fn unary(&mut self) -> Result<Node> {
        if let Some((op, pos)) = self.eat_op(&["-", "+", "~"]) {
            let (arg, da) = self.factor()?;
            let op = match op {
                "-" => UnKind::Neg,
                "+" => UnKind::Plus,
                _ => UnKind::Not,
            };
            let depth = self.check_depth(pos, 1 + da)?;
            let ast = Ast::Unary {
                op,
                arg: Box::new(arg),
                pos,
            };
            return Ok((ast, depth));
        }
        self.power()
    }

    fn power(&mut self) -> Result<Node> {
        let (base, db) = self.atom()?;
        if let Some((_, pos)) = self.eat_op(&["**"]) {
            let (exp, de) = self.factor()?;
            let depth = self.check_depth(pos, 1 + db.max(de))?;
            let ast = Ast::Binary {
                op: BinKind::Pow,
                a: Box::new(base),
                b: Box::new(exp),
                pos,
            };
            return Ok((ast, depth));
        }
        Ok((base, db))
    }

    fn atom(&mut self) -> Result<Node> {
        let (tok, pos) = self.bump();
        match tok {
            Tok::Num(value) => Ok((Ast::Lit { value, pos }, 1)),
            Tok::Ident(name) => {
                if self.eat_op(&["("]).is_some() {
                    let mut args = Vec::new();
                    let mut depth = 0;
                    if self.eat_op(&[")"]).is_none() {
                        loop {
                            let (arg, da) = self.comparison()?;
                            args.push(arg);
                            depth = depth.max(da);
                            if self.eat_op(&[","]).is_some() {
                                continue;
                            }
                            if self.eat_op(&[")"]).is_some() {
                                break;
                            }
                            return Err(error_at(
                                self.src,
                                self.pos(),
                                "expected ',' or ')' in the argument list",
                            ));
                        }
                    }
                    let depth = self.check_depth(pos, 1 + depth)?;
                    let ast = Ast::Call {
                        func: name,
                        args,
                        pos,
                    };
                    return Ok((ast, depth));
                }
                let ast = match name.as_str() {
                    "inf" => Ast::Lit {
                        value: Lit::Float(f64::INFINITY),
                        pos,
                    },
                    "nan" => Ast::Lit {
                        value: Lit::Float(f64::NAN),
                        pos,
                    },
                    "True" => Ast::Lit {
                        value: Lit::Bool(true),
                        pos,
                    },
                    "False" => Ast::Lit {
                        value: Lit::Bool(false),
                        pos,
                    },
                    _ => Ast::Name { name, pos },
                };
                Ok((ast, 1))
            }
            Tok::Op("(") => {
                let inner = self.comparison()?;
                if self.eat_op(&[")"]).is_none() {
                    return Err(error_at(self.src, self.pos(), "expected ')'"));
                }
                Ok(inner)
            }
            Tok::End => Err(error_at(self.src, pos, "unexpected end of expression")),
            Tok::Op(op) => Err(error_at(self.src, pos, format!("unexpected '{op}'"))),
        }
    }
}

/// Names that are literals and cannot be bound to inputs.
pub const RESERVED: [&str; 4] = ["inf", "nan", "True", "False"];

#[cfg(test)]
mod tests {
    use super::*;

    fn show(a: &Ast) -> String {
        match a {
            Ast::Lit { value, .. } => match value {
                Lit::Int(v) => v.to_string(),
                Lit::Float(v) => format!("{v:?}"),
                Lit::Bool(b) => b.to_string(),
            },
            Ast::Name { name, .. } => name.clone(),
            Ast::Unary { op, arg, .. } => format!("({op:?} {})", show(arg)),
            Ast::Binary { op, a, b, .. } => format!("({} {} {})", show(a), op.symbol(), show(b)),
            Ast::Call { func, args, .. } => {
                format!(
                    "{func}({})",
                    args.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
        }
    }

    #[test]
    fn precedence_is_pythons() {
        let p = |s| show(&parse(s).unwrap());
        assert_eq!(p("a + b * c"), "(a + (b * c))");
        assert_eq!(p("-x**2"), "(Neg (x ** 2))");
        assert_eq!(p("2**-1"), "(2 ** (Neg 1))");
        assert_eq!(p("a**b**c"), "(a ** (b ** c))");
        assert_eq!(p("a < b & c"), "(a < (b & c))");
        assert_eq!(p("a | b & c"), "(a | (b & c))");
        assert_eq!(p("~a & b"), "((Not a) & b)");
        assert_eq!(p("a - b - c"), "((a - b) - c)");
        assert_eq!(p("a // b % c"), "((a // b) % c)");
        assert_eq!(p("where(x > 1e-3, x, nan)"), "where((x > 0.001), x, NaN)");
        assert_eq!(p(".5 + 1_000"), "(0.5 + 1000)");
    }

    #[test]
    fn errors_point_at_the_position() {
        let e = parse("x + * y").unwrap_err();
        assert!(e.message().contains("column 5"), "{e}");
        let e = parse("sqrt(x").unwrap_err();
        assert!(e.message().contains("column 7"), "{e}");
        let e = parse("a < b < c").unwrap_err();
        assert!(e.message().contains("chained"), "{e}");
        assert!(parse("x $ y").unwrap_err().message().contains("column 3"));
        assert!(parse("").is_err());
        assert!(parse("(x))").is_err());
        assert!(parse("1e").is_err());
        assert!(parse("999999999999999999999999999999999999999999").is_err());
    }

    /// Deep nesting used to overflow the stack (SIGABRT) in the recursive parser (3000
    /// parentheses), the compiler (a chain of 20000 `+`) or the evaluator on a worker thread
    /// (10000 unary minuses); it is now an error pointing at the level that is too deep.
    /// `cargo fuzz run expr` with its default 4096-byte inputs did not reach these depths.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = 100_000;
        let deep = [
            format!("{}x{}", "(".repeat(n), ")".repeat(n)),
            format!("{}x", "-".repeat(n)),
            format!("{}x", "~".repeat(n)),
            format!("{}x", "x**".repeat(n)),
            format!("{}x", "x+".repeat(n)),
            format!("{}x", "x*".repeat(n)),
            format!("{}x{}", "sqrt(".repeat(n), ")".repeat(n)),
            format!("{}x{}", "(x+".repeat(n), ")".repeat(n)),
            format!("{}x{}", "where(x, x, ".repeat(n), ")".repeat(n)),
            format!("{}x", "x | ".repeat(n)),
        ];
        for text in &deep {
            let e = parse(text).unwrap_err();
            assert!(
                e.message().contains("nested too deeply"),
                "{}",
                &e.message()[..200.min(e.message().len())]
            );
        }
        // Up to the limits is fine.
        let (n, d) = (MAX_NESTING, MAX_DEPTH);
        let ok = [
            format!("{}x{}", "(".repeat(n - 1), ")".repeat(n - 1)),
            format!("{}x", "-".repeat(n - 1)),
            format!("{}x", "x**".repeat(n - 1)),
            format!("{}x{}", "abs(".repeat(n - 1), ")".repeat(n - 1)),
            format!("{}x", "x+".repeat(d - 1)),
            format!("{}x", "x*x+".repeat((d - 2) / 2)),
        ];
        for text in &ok {
            parse(text).unwrap();
        }
        assert!(parse(&format!("{}x{}", "(".repeat(n), ")".repeat(n))).is_err());
        assert!(parse(&format!("{}x", "x+".repeat(d))).is_err());
        // The error points at the operator or operand that goes one level too deep.
        let e = parse(&format!("{}x", "-".repeat(n + 5))).unwrap_err();
        assert!(
            e.message().contains(&format!("column {}", n + 1)),
            "{}",
            e.message()
        );
        let e = parse(&format!("{}x", "x+".repeat(d + 5))).unwrap_err();
        assert!(
            e.message().contains(&format!("column {}", 2 * d)),
            "{}",
            &e.message()[..80]
        );
    }
}
