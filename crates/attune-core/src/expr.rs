//! The small rule language of instrument files: arithmetic over item answers or score values, and
//! conditions that compare them. Rules are parsed once when an instrument is compiled and then
//! evaluated with three-valued logic: a comparison that reads an unanswered item is *unknown*, never
//! false-by-zero, so a missing answer can neither raise a flag nor trigger a skip.
//!
//! ```text
//! condition := and ("or" and)*
//! and       := compare ("and" compare)*
//! compare   := sum ("=" | "!=" | ">=" | "<=" | ">" | "<") sum
//! sum       := product (("+" | "-") product)*
//! product   := unary (("*" | "/") unary)*
//! unary     := "-" unary | atom
//! atom      := NUMBER | "item" ITEM_ID | SCORE_ID | "(" sum ")"
//! ```
//!
//! Conditions read items (`item 9 >= 1`); score expressions read score ids (`pros - cons`).
//!
//! A parsed expression is a flat program in postfix order ([`Op`]), not a tree of boxes, so the
//! build step can write every rule of the catalog as `static` data. The parser is compiled only where
//! definitions are compiled: in the build script, and with the `json` feature.

use std::borrow::Cow;

/// One step of an expression in postfix order: operands push a value, operators pop theirs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// A literal number.
    Num(f64),
    /// The answer to the item at this index.
    Item(usize),
    /// The value of the score at this index.
    Score(usize),
    /// Negation of the value on top.
    Neg,
    /// A binary operation on the two values on top.
    Bin(BinOp),
}

/// A parsed arithmetic expression: its steps in postfix order. Item and score references are
/// resolved to indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(pub Cow<'static, [Op]>);

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A comparison of two expressions.
    Cmp(CmpOp, Expr, Expr),
    /// Every part holds.
    And(Cow<'static, [Cond]>),
    /// Some part holds.
    Or(Cow<'static, [Cond]>),
}

/// The deepest an expression's evaluation stack can grow: a rule has at most [`MAX_TOKENS`] tokens,
/// so at most about half of them are operands waiting on the stack.
const MAX_DEPTH: usize = MAX_TOKENS / 2 + 1;

impl Expr {
    /// Evaluates the expression; `None` when it reads an unanswered item or a null score, or divides
    /// by zero.
    pub fn eval(&self, item: &impl Fn(usize) -> Option<f64>, score: &impl Fn(usize) -> Option<f64>) -> Option<f64> {
        let mut stack = [None; MAX_DEPTH];
        let mut top = 0usize;
        for op in self.0.iter() {
            let value = match *op {
                Op::Num(n) => Some(n),
                Op::Item(i) => item(i),
                Op::Score(s) => score(s),
                Op::Neg => {
                    top = top.checked_sub(1)?;
                    stack[top].map(|v: f64| -v)
                }
                Op::Bin(op) => {
                    top = top.checked_sub(2)?;
                    match (stack[top], stack[top + 1]) {
                        (Some(a), Some(b)) => match op {
                            BinOp::Add => Some(a + b),
                            BinOp::Sub => Some(a - b),
                            BinOp::Mul => Some(a * b),
                            BinOp::Div => (b != 0.0).then(|| a / b),
                        },
                        _ => None,
                    }
                }
            };
            *stack.get_mut(top)? = value;
            top += 1;
        }
        // A well-formed program leaves exactly its value; anything else evaluates to nothing.
        (top == 1).then_some(stack[0]).flatten()
    }

    /// Calls `f` with every score index the expression reads.
    pub fn visit_scores(&self, f: &mut impl FnMut(usize)) {
        for op in self.0.iter() {
            if let Op::Score(s) = op {
                f(*s);
            }
        }
    }
}

impl Cond {
    /// Evaluates the condition with three-valued logic: `Some(true)` only when it certainly holds.
    pub fn eval(&self, item: &impl Fn(usize) -> Option<f64>) -> Option<bool> {
        let no_scores = |_: usize| None;
        match self {
            Cond::Cmp(op, a, b) => {
                let (a, b) = (a.eval(item, &no_scores)?, b.eval(item, &no_scores)?);
                Some(match op {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    CmpOp::Ge => a >= b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Lt => a < b,
                })
            }
            Cond::And(parts) => {
                let mut unknown = false;
                for p in parts.iter() {
                    match p.eval(item) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            Cond::Or(parts) => {
                let mut unknown = false;
                for p in parts.iter() {
                    match p.eval(item) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
        }
    }
}

/// The most tokens a rule may have. Parsing recurses once per nesting level and evaluation keeps a
/// fixed stack, so a bound on the rule's size bounds both whatever a definition file contains.
pub const MAX_TOKENS: usize = 200;

/// The rule parser: only where definitions are compiled (the build script, and the `json` feature).
#[cfg(any(feature = "json", not(attune_lib)))]
mod parse {
    use std::borrow::Cow;
    use std::fmt;

    use super::{BinOp, CmpOp, Cond, Expr, Op, MAX_TOKENS};

    /// An expression as parsed, before it is flattened into postfix steps.
    enum Tree {
        Num(f64),
        Item(usize),
        Score(usize),
        Neg(Box<Tree>),
        Bin(BinOp, Box<Tree>, Box<Tree>),
    }

    impl Tree {
        fn flatten(self) -> Expr {
            fn walk(t: Tree, out: &mut Vec<Op>) {
                match t {
                    Tree::Num(n) => out.push(Op::Num(n)),
                    Tree::Item(i) => out.push(Op::Item(i)),
                    Tree::Score(s) => out.push(Op::Score(s)),
                    Tree::Neg(e) => {
                        walk(*e, out);
                        out.push(Op::Neg);
                    }
                    Tree::Bin(op, a, b) => {
                        walk(*a, out);
                        walk(*b, out);
                        out.push(Op::Bin(op));
                    }
                }
            }
            let mut ops = Vec::new();
            walk(self, &mut ops);
            Expr(Cow::Owned(ops))
        }
    }

    /// Why a rule could not be parsed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ParseError {
        /// Byte offset in the rule text.
        pub at: usize,
        /// What was wrong.
        pub message: String,
    }

    impl fmt::Display for ParseError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} (at character {})", self.message, self.at + 1)
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Num(f64),
        Word(String),
        Op(&'static str),
        LParen,
        RParen,
    }

    fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
        let bytes = src.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let start = i;
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let text = &src[start..i];
                let n = text
                    .parse::<f64>()
                    .map_err(|_| ParseError { at: start, message: format!("bad number `{text}`") })?;
                out.push((start, Tok::Num(n)));
                continue;
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((start, Tok::Word(src[start..i].to_string())));
                continue;
            }
            let two = src.get(i..i + 2);
            let op: &'static str = match (two, c) {
                (Some(">="), _) => ">=",
                (Some("<="), _) => "<=",
                (Some("!="), _) => "!=",
                (Some("=="), _) => "=",
                (_, b'=') => "=",
                (_, b'>') => ">",
                (_, b'<') => "<",
                (_, b'+') => "+",
                (_, b'-') => "-",
                (_, b'*') => "*",
                (_, b'/') => "/",
                (_, b'(') => {
                    out.push((start, Tok::LParen));
                    i += 1;
                    continue;
                }
                (_, b')') => {
                    out.push((start, Tok::RParen));
                    i += 1;
                    continue;
                }
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    return Err(ParseError { at: start, message: format!("unexpected character `{ch}`") });
                }
            };
            i += op.len();
            out.push((start, Tok::Op(op)));
        }
        Ok(out)
    }

    /// Resolves names in a rule to indices.
    pub trait Names {
        /// Index of an item id, if the instrument has it.
        fn item(&self, id: &str) -> Option<usize>;
        /// Index of a score id, if the instrument has it.
        fn score(&self, id: &str) -> Option<usize>;
    }

    struct Parser<'a, N: Names> {
        toks: Vec<(usize, Tok)>,
        pos: usize,
        len: usize,
        names: &'a N,
        allow_items: bool,
        allow_scores: bool,
    }

    impl<N: Names> Parser<'_, N> {
        fn peek(&self) -> Option<&Tok> {
            self.toks.get(self.pos).map(|(_, t)| t)
        }

        fn at(&self) -> usize {
            self.toks.get(self.pos).map_or(self.len, |(at, _)| *at)
        }

        fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
            Err(ParseError { at: self.at(), message: message.into() })
        }

        fn eat_op(&mut self, op: &str) -> bool {
            if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn eat_word(&mut self, w: &str) -> bool {
            if matches!(self.peek(), Some(Tok::Word(x)) if x == w) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn condition(&mut self) -> Result<Cond, ParseError> {
            let mut parts = vec![self.and()?];
            while self.eat_word("or") {
                parts.push(self.and()?);
            }
            Ok(if parts.len() == 1 { parts.remove(0) } else { Cond::Or(Cow::Owned(parts)) })
        }

        fn and(&mut self) -> Result<Cond, ParseError> {
            let mut parts = vec![self.compare()?];
            while self.eat_word("and") {
                parts.push(self.compare()?);
            }
            Ok(if parts.len() == 1 { parts.remove(0) } else { Cond::And(Cow::Owned(parts)) })
        }

        fn compare(&mut self) -> Result<Cond, ParseError> {
            let a = self.sum()?;
            let op = match self.peek() {
                Some(Tok::Op("=")) => CmpOp::Eq,
                Some(Tok::Op("!=")) => CmpOp::Ne,
                Some(Tok::Op(">=")) => CmpOp::Ge,
                Some(Tok::Op("<=")) => CmpOp::Le,
                Some(Tok::Op(">")) => CmpOp::Gt,
                Some(Tok::Op("<")) => CmpOp::Lt,
                _ => return self.err("expected a comparison (=, !=, >=, <=, >, <)"),
            };
            self.pos += 1;
            let b = self.sum()?;
            Ok(Cond::Cmp(op, a.flatten(), b.flatten()))
        }

        fn sum(&mut self) -> Result<Tree, ParseError> {
            let mut e = self.product()?;
            loop {
                let op = if self.eat_op("+") {
                    BinOp::Add
                } else if self.eat_op("-") {
                    BinOp::Sub
                } else {
                    return Ok(e);
                };
                e = Tree::Bin(op, Box::new(e), Box::new(self.product()?));
            }
        }

        fn product(&mut self) -> Result<Tree, ParseError> {
            let mut e = self.unary()?;
            loop {
                let op = if self.eat_op("*") {
                    BinOp::Mul
                } else if self.eat_op("/") {
                    BinOp::Div
                } else {
                    return Ok(e);
                };
                e = Tree::Bin(op, Box::new(e), Box::new(self.unary()?));
            }
        }

        fn unary(&mut self) -> Result<Tree, ParseError> {
            if self.eat_op("-") {
                return Ok(Tree::Neg(Box::new(self.unary()?)));
            }
            self.atom()
        }

        fn atom(&mut self) -> Result<Tree, ParseError> {
            let at = self.at();
            match self.peek().cloned() {
                Some(Tok::Num(n)) => {
                    self.pos += 1;
                    Ok(Tree::Num(n))
                }
                Some(Tok::LParen) => {
                    self.pos += 1;
                    let e = self.sum()?;
                    if self.peek() != Some(&Tok::RParen) {
                        return self.err("expected `)`");
                    }
                    self.pos += 1;
                    Ok(e)
                }
                Some(Tok::Word(w)) if w == "item" && self.allow_items => {
                    self.pos += 1;
                    let id = match self.peek().cloned() {
                        Some(Tok::Num(n)) if n.fract() == 0.0 && n >= 0.0 => format!("{n}"),
                        Some(Tok::Word(w)) => w,
                        _ => return self.err("expected an item id after `item`"),
                    };
                    let at_id = self.at();
                    self.pos += 1;
                    match self.names.item(&id) {
                        Some(i) => Ok(Tree::Item(i)),
                        None => Err(ParseError { at: at_id, message: format!("unknown item `{id}`") }),
                    }
                }
                Some(Tok::Word(w)) if self.allow_scores => {
                    self.pos += 1;
                    match self.names.score(&w) {
                        Some(s) => Ok(Tree::Score(s)),
                        None => Err(ParseError { at, message: format!("unknown score `{w}`") }),
                    }
                }
                Some(Tok::Word(w)) => self.err(format!("unexpected word `{w}`")),
                Some(t) => self.err(format!("unexpected {}", describe(&t))),
                None => self.err("unexpected end of rule"),
            }
        }

        fn finish(&self) -> Result<(), ParseError> {
            match self.peek() {
                None => Ok(()),
                Some(t) => self.err(format!("unexpected {} after the end of the rule", describe(t))),
            }
        }
    }

    fn describe(t: &Tok) -> String {
        match t {
            Tok::Num(n) => format!("number {n}"),
            Tok::Word(w) => format!("`{w}`"),
            Tok::Op(o) => format!("`{o}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
        }
    }

    fn parser<'a, N: Names>(src: &str, names: &'a N, items: bool, scores: bool) -> Result<Parser<'a, N>, ParseError> {
        let toks = lex(src)?;
        if let Some((at, _)) = toks.get(MAX_TOKENS) {
            return Err(ParseError {
                at: *at,
                message: format!("the rule is too long (more than {MAX_TOKENS} tokens)"),
            });
        }
        Ok(Parser { toks, pos: 0, len: src.len(), names, allow_items: items, allow_scores: scores })
    }

    /// Parses a condition over item answers, such as `item 1 >= 1 and item 2 + item 3 = 0`.
    pub fn parse_condition(src: &str, names: &impl Names) -> Result<Cond, ParseError> {
        let mut p = parser(src, names, true, false)?;
        let c = p.condition()?;
        p.finish()?;
        Ok(c)
    }

    /// Parses an arithmetic expression over score ids, such as `pros - cons`.
    pub fn parse_score_expression(src: &str, names: &impl Names) -> Result<Expr, ParseError> {
        let mut p = parser(src, names, false, true)?;
        let e = p.sum()?;
        p.finish()?;
        Ok(e.flatten())
    }
}

#[cfg(any(feature = "json", not(attune_lib)))]
pub use parse::{parse_condition, parse_score_expression, Names, ParseError};

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;

    struct N;
    impl Names for N {
        fn item(&self, id: &str) -> Option<usize> {
            id.parse::<usize>().ok().filter(|n| (1..=10).contains(n)).map(|n| n - 1)
        }
        fn score(&self, id: &str) -> Option<usize> {
            ["pros", "cons"].iter().position(|s| *s == id)
        }
    }

    fn answers(a: &[Option<f64>]) -> impl Fn(usize) -> Option<f64> + '_ {
        move |i| a.get(i).copied().flatten()
    }

    #[test]
    fn audit_second_skip_rule() {
        let c = parse_condition("item 1 >= 1 and item 2 + item 3 = 0", &N).expect("valid rule");
        assert_eq!(c.eval(&answers(&[Some(1.0), Some(0.0), Some(0.0)])), Some(true));
        assert_eq!(c.eval(&answers(&[Some(1.0), Some(1.0), Some(0.0)])), Some(false));
        // Q3 missing: the rule cannot be decided.
        assert_eq!(c.eval(&answers(&[Some(1.0), Some(0.0), None])), None);
        // Q1 = 0 decides it whatever Q2 and Q3 are.
        assert_eq!(c.eval(&answers(&[Some(0.0), None, None])), Some(false));
    }

    #[test]
    fn or_is_three_valued() {
        let c = parse_condition("item 1 = 1 or item 2 = 1", &N).expect("valid rule");
        assert_eq!(c.eval(&answers(&[None, Some(1.0)])), Some(true));
        assert_eq!(c.eval(&answers(&[None, Some(0.0)])), None);
        assert_eq!(c.eval(&answers(&[Some(0.0), Some(0.0)])), Some(false));
    }

    #[test]
    fn score_expressions_and_precedence() {
        let e = parse_score_expression("pros - cons * 2", &N).expect("valid");
        let s = |i: usize| [Some(3.0), Some(1.0)][i];
        assert_eq!(e.eval(&|_| None, &s), Some(1.0));
        let e = parse_score_expression("(pros - cons) / 0", &N).expect("valid");
        assert_eq!(e.eval(&|_| None, &s), None);
        let e = parse_score_expression("-pros + 10", &N).expect("valid");
        assert_eq!(e.eval(&|_| None, &s), Some(7.0));
    }

    #[test]
    fn errors_say_where() {
        let e = parse_condition("item 11 >= 1", &N).expect_err("unknown item");
        assert!(e.message.contains("unknown item `11`"), "{e}");
        let e = parse_score_expression("pros - joy", &N).expect_err("unknown score");
        assert_eq!(e.at, 7);
        assert!(parse_condition("item 1 >=", &N).is_err());
        assert!(parse_condition("item 1 >= 1 1", &N).is_err());
        assert!(parse_condition("item 1 # 1", &N).is_err());
        assert!(parse_score_expression("item 1 + pros", &N).is_err());
        assert!(parse_condition("pros > 1", &N).is_err());
    }

    #[test]
    fn huge_rules_are_refused_not_recursed_into() {
        let deep = format!("{}pros{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse_score_expression(&deep, &N).expect_err("too deep").message.contains("too long"));
        let negations = format!("{}item 1 >= 1", "-".repeat(200_000));
        assert!(parse_condition(&negations, &N).is_err());
        let chain = format!("pros{}", " + pros".repeat(200_000));
        assert!(parse_score_expression(&chain, &N).is_err());
        let ok = format!("pros{}", " + pros".repeat(90));
        assert_eq!(parse_score_expression(&ok, &N).expect("fits").eval(&|_| None, &|_| Some(1.0)), Some(91.0));
    }
}
