//! The constraint expression language: a small, safe subset of Python expressions over
//! parameter and metric names.
//!
//! Design-space constraints (`acc_capacity_kib <= sp_capacity_kib`) and outcome constraints
//! (`area_mm2 <= 2`) are written in it (PORTING §1.2). The reference parsed them with Python's
//! `ast` and walked a whitelist of node types; this module parses the same subset itself, once,
//! into a tree that [`Expr::eval`] walks for every candidate design without allocating on
//! numeric paths.
//!
//! # Grammar
//!
//! From the loosest binding to the tightest, as in Python:
//!
//! | level | forms | associativity |
//! |---|---|---|
//! | 1 | `a or b` | left |
//! | 2 | `a and b` | left |
//! | 3 | `not a` | prefix |
//! | 4 | `a < b`, `<=`, `>`, `>=`, `==`, `!=` | chains: `a < b <= c` is `a < b and b <= c` |
//! | 5 | `a + b`, `a - b` | left |
//! | 6 | `a * b`, `a / b`, `a // b`, `a % b` | left |
//! | 7 | `-a`, `+a` | prefix |
//! | 8 | `a ** b` | right; binds tighter than a unary minus on its left (`-2**2 == -4`) but not on its right (`2**-1 == 0.5`) |
//! | 9 | literals, names, `f(x, ...)`, `( e )` | |
//!
//! ```text
//! expr       := and_expr ( "or" and_expr )*
//! and_expr   := not_expr ( "and" not_expr )*
//! not_expr   := "not" not_expr | comparison
//! comparison := sum ( ("<" | "<=" | ">" | ">=" | "==" | "!=") sum )*
//! sum        := term ( ("+" | "-") term )*
//! term       := factor ( ("*" | "/" | "//" | "%") factor )*
//! factor     := ("-" | "+") factor | power
//! power      := primary ( "**" factor )?
//! primary    := NUMBER | STRING | "True" | "False" | "true" | "false" | NAME
//!             | FUNCTION "(" expr ( "," expr )* ","? ")" | "(" expr ")"
//! FUNCTION   := "min" | "max"   (two or more arguments)
//!             | "abs" | "log2" | "sqrt"   (one argument)
//! NUMBER     := Python int or float literal: 8, 1_000, 0.5, .5, 1., 1e-3
//! STRING     := '...' or "..." with the escapes \\ \' \" \n \t \r
//! NAME       := ASCII letter or '_', then letters, digits or '_' (see is_identifier)
//! ```
//!
//! Everything else is rejected at parse time with a message that names the column: attribute
//! access, indexing, lists, dicts, lambdas, conditional expressions, `in`/`is`, keyword
//! arguments, calls to other functions, bitwise operators, complex numbers and `None`.
//! Parentheses, unary operators and `**` nest at most 100 levels deep, so evaluation cannot
//! overflow the stack.
//!
//! # Semantics (Python's, on scalars)
//!
//! * Values are numbers (`f64`), strings and booleans ([`Operand`]). Booleans count as 0 and 1
//!   in arithmetic and in comparisons with numbers (`True + 1 == 2`). Integers are exact up
//!   to 2^53; where Python's unbounded ints would outgrow `f64` (`10 ** 400`) the result is
//!   `inf`.
//! * `/` is true division; `//` and `%` floor toward −∞ (`-7 // 2 == -4`, `-7 % 2 == 1`,
//!   `7 % -2 == -1`). Division, floor division or modulo by zero is an evaluation error, as
//!   are `0 ** -1` and a negative number to a fractional power (Python raises or goes complex).
//! * `min`/`max` fold pairwise and propagate NaN; `log2` and `sqrt` follow numpy, the
//!   reference's implementation: `log2(0) == -inf`, and `log2`/`sqrt` of a negative number is
//!   NaN.
//! * Strings support comparisons among themselves (by code point); a number or boolean
//!   compared with a string is unequal under `==`/`!=` and an error under `<`, `<=`, `>`, `>=`.
//!   Arithmetic on strings is an error.
//! * A comparison chain yields a boolean; `and`, `or` and `not` yield the boolean of their
//!   operands' truthiness (numpy's `logical_and`/`logical_or`, as in the reference). Nothing
//!   short-circuits: every operand is evaluated, so an error anywhere is reported.

mod eval;
mod lexer;
mod parser;

use std::collections::BTreeSet;
use std::fmt;

use crate::space::Value;

use parser::{CmpOp, Node};

/// Words that cannot name a parameter or metric: the functions, the boolean operators and the
/// boolean constants (the reference's list, plus lowercase `true`/`false` for TOML).
pub const RESERVED: &[&str] = &[
    "min", "max", "abs", "log2", "sqrt", "and", "or", "not", "True", "False", "true", "false",
];

/// Whether `s` is a name the language can refer to: an ASCII letter or `_`, then ASCII letters,
/// digits or `_`. Callers also check [`RESERVED`].
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value an expression reads or produces.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Num(f64),
    Str(String),
    Bool(bool),
}

impl From<&Value> for Operand {
    fn from(value: &Value) -> Self {
        match value {
            Value::Int(i) => Operand::Num(*i as f64),
            Value::Float(x) => Operand::Num(*x),
            Value::Str(s) => Operand::Str(s.clone()),
            Value::Bool(b) => Operand::Bool(*b),
        }
    }
}

/// Why an expression could not be parsed or evaluated.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ExprError {
    /// The text is not in the language. `column` counts characters from 1 in the text given to
    /// [`Expr::parse`]; `message` says what was found there and what was expected, and names
    /// the column too.
    #[error("{message}")]
    Syntax { column: usize, message: String },
    /// The expression reads a name the lookup does not know.
    #[error("unknown name '{0}'")]
    UnknownName(String),
    /// Evaluation failed: division by zero, a string in arithmetic, and the like.
    #[error("{0}")]
    Eval(String),
}

impl ExprError {
    fn syntax(column: usize, message: String) -> Self {
        ExprError::Syntax { column, message }
    }
}

/// A parsed expression: its text and its syntax tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    text: String,
    root: Node,
}

impl Expr {
    /// Parses `text`; a syntax error carries the character column of the offending token.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        if text.trim().is_empty() {
            return Err(ExprError::Syntax {
                column: 1,
                message: "the expression is empty; expected a number, a name or '('".into(),
            });
        }
        Ok(Expr {
            text: text.trim().to_string(),
            root: parser::parse(text)?,
        })
    }

    /// The source text, without surrounding whitespace.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parameter or metric names the expression reads.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        self.root.collect_names(&mut names);
        names
    }

    /// The expression's value, with names resolved by `lookup`.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Operand>) -> Result<Operand, ExprError> {
        Ok(self.root.eval(lookup)?.into_operand())
    }

    /// Whether the expression holds: the Python truthiness of its value.
    pub fn holds(&self, lookup: &dyn Fn(&str) -> Option<Operand>) -> Result<bool, ExprError> {
        Ok(self.root.eval(lookup)?.truthy())
    }

    /// Outcome-constraint violation (PORTING §1.2): for a single comparison `a <= b` or `a < b`
    /// it is `a - b`, for `a >= b` or `a > b` it is `b - a`, for `a == b` it is `|a - b|`; any
    /// other expression gives 0 if it holds and 1 if not. `<= 0` means satisfied. The sides of
    /// such a comparison must be numbers or booleans, as the reference converted them with
    /// `float()`.
    pub fn violation(&self, lookup: &dyn Fn(&str) -> Option<Operand>) -> Result<f64, ExprError> {
        if let Node::Compare { first, rest } = &self.root
            && let [step] = rest.as_slice()
        {
            let distance: Option<fn(f64, f64) -> f64> = match step.op {
                CmpOp::Lt | CmpOp::Le => Some(|a, b| a - b),
                CmpOp::Gt | CmpOp::Ge => Some(|a, b| b - a),
                CmpOp::Eq => Some(|a, b| (a - b).abs()),
                CmpOp::Ne => None,
            };
            if let Some(distance) = distance {
                let lhs = first.eval(lookup)?.violation_side(step.op, "left")?;
                let rhs = step
                    .operand
                    .eval(lookup)?
                    .violation_side(step.op, "right")?;
                return Ok(distance(lhs, rhs));
            }
        }
        Ok(if self.holds(lookup)? { 0.0 } else { 1.0 })
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the unit tests read: `x = 3`, `y = -2`, `z = 0`, `f = 0.5`, `s = 'OS'`,
    /// `t = True`, `nan = NaN`.
    pub(super) fn lookup(name: &str) -> Option<Operand> {
        Some(match name {
            "x" => Operand::Num(3.0),
            "y" => Operand::Num(-2.0),
            "z" => Operand::Num(0.0),
            "f" => Operand::Num(0.5),
            "s" => Operand::Str("OS".into()),
            "t" => Operand::Bool(true),
            "nan" => Operand::Num(f64::NAN),
            _ => return None,
        })
    }

    /// Parses and evaluates `text` over [`lookup`]; panics on a syntax error.
    pub(super) fn value(text: &str) -> Result<Operand, ExprError> {
        Expr::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .eval(&lookup)
    }

    /// The number `text` evaluates to; booleans read as 0 and 1.
    pub(super) fn num(text: &str) -> f64 {
        match value(text) {
            Ok(Operand::Num(x)) => x,
            Ok(Operand::Bool(b)) => f64::from(u8::from(b)),
            other => panic!("{text}: expected a number, got {other:?}"),
        }
    }

    fn lookup_in<'a>(pairs: &'a [(&'a str, Operand)]) -> impl Fn(&str) -> Option<Operand> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn violation(text: &str, pairs: &[(&str, Operand)]) -> Result<f64, ExprError> {
        Expr::parse(text).unwrap().violation(&lookup_in(pairs))
    }

    #[test]
    fn violation_is_a_distance_for_single_comparisons() {
        use Operand::{Bool, Num, Str};
        let ab = [("a", Num(5.0)), ("b", Num(2.0))];
        assert_eq!(
            violation("area_mm2 <= 2", &[("area_mm2", Num(2.5))]),
            Ok(0.5)
        );
        assert_eq!(
            violation("wns_ps >= 0", &[("wns_ps", Num(10.0))]),
            Ok(-10.0)
        );
        assert_eq!(violation("a <= b", &ab), Ok(3.0));
        assert_eq!(violation("a < b", &ab), Ok(3.0));
        assert_eq!(violation("a >= b", &ab), Ok(-3.0));
        assert_eq!(violation("a > b", &ab), Ok(-3.0));
        assert_eq!(violation("b == a", &ab), Ok(3.0));
        assert_eq!(violation("a * 2 <= b + 1", &ab), Ok(7.0));
        assert_eq!(violation("(a <= b)", &ab), Ok(3.0));
        assert_eq!(violation("a <= True", &ab), Ok(4.0));
        // Anything else is 0 when it holds and 1 when not.
        assert_eq!(violation("a != b", &ab), Ok(0.0));
        assert_eq!(violation("a != a", &ab), Ok(1.0));
        assert_eq!(violation("1 <= a <= 3", &ab), Ok(1.0));
        assert_eq!(violation("1 <= a <= 9", &ab), Ok(0.0));
        assert_eq!(violation("a <= 9 and b <= 1", &ab), Ok(1.0));
        assert_eq!(violation("not a < b", &ab), Ok(0.0));
        assert_eq!(violation("a - 5", &ab), Ok(1.0));
        assert_eq!(violation("a", &ab), Ok(0.0));
        assert_eq!(violation("c", &[("c", Bool(false))]), Ok(1.0));
        assert_eq!(
            violation("d == 'OS'", &[("d", Str("OS".into()))]),
            Err(ExprError::Eval(
                "the violation of a '==' constraint needs numbers, but its left side is the \
                 string 'OS'"
                    .into()
            ))
        );
        assert_eq!(violation("d != 'OS'", &[("d", Str("WS".into()))]), Ok(0.0));
        assert_eq!(
            violation("q <= 1", &ab),
            Err(ExprError::UnknownName("q".into()))
        );
    }

    #[test]
    fn holds_is_python_truthiness() {
        let holds = |text: &str| Expr::parse(text).unwrap().holds(&lookup);
        assert_eq!(holds("1 <= x < 4"), Ok(true));
        assert_eq!(holds("z"), Ok(false));
        assert_eq!(holds("f"), Ok(true));
        assert_eq!(holds("''"), Ok(false));
        assert_eq!(holds("s"), Ok(true));
        assert_eq!(holds("nan"), Ok(true));
        assert_eq!(holds("x - 3"), Ok(false));
        assert_eq!(
            holds("1 / z"),
            Err(ExprError::Eval("division by zero ('/' at column 3)".into()))
        );
    }

    #[test]
    fn operands_from_values() {
        assert_eq!(Operand::from(&Value::Int(8)), Operand::Num(8.0));
        assert_eq!(Operand::from(&Value::Float(0.5)), Operand::Num(0.5));
        assert_eq!(
            Operand::from(&Value::Str("OS".into())),
            Operand::Str("OS".into())
        );
        assert_eq!(Operand::from(&Value::Bool(true)), Operand::Bool(true));
    }

    #[test]
    fn identifiers_and_reserved_words() {
        for name in ["a", "_", "mesh_rows", "x1", "_private", "A_B_9"] {
            assert!(is_identifier(name), "{name}");
        }
        for name in ["", "1a", "a-b", "a b", "é", "a.b", "ä1"] {
            assert!(!is_identifier(name), "{name}");
        }
        // A reserved word is a function, an operator or a constant, never a name reference.
        for word in RESERVED {
            assert!(is_identifier(word));
            assert!(
                Expr::parse(word).map_or(true, |e| e.names().is_empty()),
                "{word}"
            );
        }
    }

    /// The six constraints of `examples/gemmini-asap7.yaml` at 9201a62.
    const GEMMINI: [&str; 6] = [
        "mesh_rows * tile_rows == mesh_cols * tile_cols",
        "mesh_rows * tile_rows >= 4",
        "mesh_rows * tile_rows <= 32",
        "acc_capacity_kib <= sp_capacity_kib",
        "sp_capacity_kib / sp_banks >= 8",
        "acc_capacity_kib / acc_banks >= 4",
    ];

    fn gemmini_feasible(constraints: &[Expr], design: &[(&str, i64)]) -> bool {
        let values: Vec<(&str, Value)> = design.iter().map(|&(n, v)| (n, Value::Int(v))).collect();
        let lookup = |name: &str| {
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| Operand::from(v))
        };
        constraints.iter().all(|c| c.holds(&lookup).unwrap())
    }

    #[test]
    fn gemmini_constraints() {
        let constraints: Vec<Expr> = GEMMINI.iter().map(|t| Expr::parse(t).unwrap()).collect();
        let design = |mesh: (i64, i64), tile: (i64, i64), sp: (i64, i64), acc: (i64, i64)| {
            [
                ("mesh_rows", mesh.0),
                ("mesh_cols", mesh.1),
                ("tile_rows", tile.0),
                ("tile_cols", tile.1),
                ("sp_capacity_kib", sp.0),
                ("sp_banks", sp.1),
                ("acc_capacity_kib", acc.0),
                ("acc_banks", acc.1),
            ]
        };
        // Gemmini's defaultConfig.
        let default = design((16, 16), (1, 1), (256, 4), (64, 2));
        assert!(gemmini_feasible(&constraints, &default));
        assert!(gemmini_feasible(
            &constraints,
            &design((8, 16), (2, 1), (32, 4), (32, 8))
        ));
        // Not square, too small, too large, accumulator larger than scratchpad, banks too
        // small.
        for infeasible in [
            design((16, 8), (1, 1), (256, 4), (64, 2)),
            design((2, 1), (1, 2), (256, 4), (64, 2)),
            design((32, 32), (2, 2), (256, 4), (64, 2)),
            design((16, 16), (1, 1), (32, 4), (64, 2)),
            design((16, 16), (1, 1), (64, 16), (64, 2)),
            design((16, 16), (1, 1), (256, 4), (16, 8)),
        ] {
            assert!(
                !gemmini_feasible(&constraints, &infeasible),
                "{infeasible:?}"
            );
        }
        assert_eq!(
            constraints[4].violation(&|n| default
                .iter()
                .find(|p| p.0 == n)
                .map(|p| Operand::Num(p.1 as f64))),
            Ok(8.0 - 64.0)
        );
    }

    #[test]
    fn gemmini_feasible_counts_match_the_reference() {
        // PORTING §1.3: 36 of 324 shape tuples and 425 of 600 memory tuples pass.
        let constraints: Vec<Expr> = GEMMINI.iter().map(|t| Expr::parse(t).unwrap()).collect();
        let pow2 = |low: u32, high: u32| (low..=high).map(|e| 1_i64 << e);
        let (shape, memory) = constraints.split_at(3);
        let mut passing = 0;
        for mesh_rows in pow2(0, 5) {
            for mesh_cols in pow2(0, 5) {
                for tile_rows in pow2(0, 2) {
                    for tile_cols in pow2(0, 2) {
                        let design = [
                            ("mesh_rows", mesh_rows),
                            ("mesh_cols", mesh_cols),
                            ("tile_rows", tile_rows),
                            ("tile_cols", tile_cols),
                        ];
                        passing += usize::from(gemmini_feasible(shape, &design));
                    }
                }
            }
        }
        assert_eq!(passing, 36);
        let mut passing = 0;
        for sp_capacity_kib in pow2(5, 10) {
            for sp_banks in pow2(0, 4) {
                for acc_capacity_kib in pow2(4, 8) {
                    for acc_banks in pow2(0, 3) {
                        let design = [
                            ("sp_capacity_kib", sp_capacity_kib),
                            ("sp_banks", sp_banks),
                            ("acc_capacity_kib", acc_capacity_kib),
                            ("acc_banks", acc_banks),
                        ];
                        passing += usize::from(gemmini_feasible(memory, &design));
                    }
                }
            }
        }
        assert_eq!(passing, 425);
    }

    /// A random expression over small integer literals, for comparing against [`python`].
    #[derive(Clone, Debug)]
    enum Gen {
        Int(i64),
        Bool(bool),
        Neg(Box<Gen>),
        Not(Box<Gen>),
        /// An arithmetic operator from [`BINARY`] and its operands.
        Bin(usize, Box<Gen>, Box<Gen>),
        /// Operands and the comparison operators (from [`COMPARE`]) between them.
        Chain(Vec<Gen>, Vec<usize>),
        And(Box<Gen>, Box<Gen>),
        Or(Box<Gen>, Box<Gen>),
        Call(&'static str, Vec<Gen>),
    }

    const BINARY: [&str; 6] = ["+", "-", "*", "//", "%", "**"];
    const COMPARE: [&str; 6] = ["<", "<=", ">", ">=", "==", "!="];

    /// A Python value of the integer domain the reference evaluator covers.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Py {
        Int(i128),
        Bool(bool),
    }

    /// Why [`python`] gives no value.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum NoValue {
        /// Python raises `ZeroDivisionError`.
        ZeroDivision,
        /// The value leaves the integers that `f64` holds exactly (or becomes a float), so the
        /// case says nothing.
        Outside,
    }

    impl Py {
        fn int(self) -> i128 {
            match self {
                Py::Int(i) => i,
                Py::Bool(b) => i128::from(b),
            }
        }

        fn truthy(self) -> bool {
            self.int() != 0
        }
    }

    /// Python's semantics on ints and bools, written independently of the module: exact
    /// integers, floor division, and the reference's element-wise `and`/`or` (bool results,
    /// every operand evaluated).
    fn python(g: &Gen) -> Result<Py, NoValue> {
        const EXACT: i128 = 1 << 53;
        let exact = |i: Option<i128>| match i {
            Some(i) if i.abs() <= EXACT => Ok(Py::Int(i)),
            _ => Err(NoValue::Outside),
        };
        // An operand that is outside decides over one that divides by zero.
        let all = |gs: &[&Gen]| -> Result<Vec<Py>, NoValue> {
            let values: Vec<_> = gs.iter().map(|g| python(g)).collect();
            if values.contains(&Err(NoValue::Outside)) {
                return Err(NoValue::Outside);
            }
            values.into_iter().collect()
        };
        match g {
            Gen::Int(i) => Ok(Py::Int(i128::from(*i))),
            Gen::Bool(b) => Ok(Py::Bool(*b)),
            Gen::Neg(a) => Ok(Py::Int(-python(a)?.int())),
            Gen::Not(a) => Ok(Py::Bool(!python(a)?.truthy())),
            Gen::And(a, b) | Gen::Or(a, b) => {
                let v = all(&[a, b])?;
                let (x, y) = (v[0].truthy(), v[1].truthy());
                Ok(Py::Bool(if matches!(g, Gen::And(..)) {
                    x && y
                } else {
                    x || y
                }))
            }
            Gen::Bin(op, a, b) => {
                let v = all(&[a, b])?;
                let (x, y) = (v[0].int(), v[1].int());
                match BINARY[*op] {
                    "+" => exact(x.checked_add(y)),
                    "-" => exact(x.checked_sub(y)),
                    "*" => exact(x.checked_mul(y)),
                    "//" | "%" if y == 0 => Err(NoValue::ZeroDivision),
                    "//" => {
                        let q = x / y;
                        exact(Some(if x % y != 0 && (x < 0) != (y < 0) {
                            q - 1
                        } else {
                            q
                        }))
                    }
                    "%" => {
                        let r = x % y;
                        exact(Some(if r != 0 && (r < 0) != (y < 0) {
                            r + y
                        } else {
                            r
                        }))
                    }
                    _ if x == 0 && y < 0 => Err(NoValue::ZeroDivision),
                    _ if !(0..=64).contains(&y) => Err(NoValue::Outside),
                    _ => exact(x.checked_pow(y as u32)),
                }
            }
            Gen::Chain(operands, ops) => {
                let v = all(&operands.iter().collect::<Vec<_>>())?;
                let holds = ops.iter().zip(v.windows(2)).all(|(op, pair)| {
                    let (x, y) = (pair[0].int(), pair[1].int());
                    match COMPARE[*op] {
                        "<" => x < y,
                        "<=" => x <= y,
                        ">" => x > y,
                        ">=" => x >= y,
                        "==" => x == y,
                        _ => x != y,
                    }
                });
                Ok(Py::Bool(holds))
            }
            Gen::Call(name, args) => {
                let v = all(&args.iter().collect::<Vec<_>>())?;
                let ints = v.iter().map(|p| p.int());
                Ok(Py::Int(match *name {
                    "min" => ints.min().unwrap(),
                    "max" => ints.max().unwrap(),
                    _ => v[0].int().abs(),
                }))
            }
        }
    }

    /// Python's binding strength of `g`'s outermost form (the module docs' levels).
    fn level(g: &Gen) -> u8 {
        match g {
            Gen::Or(..) => 1,
            Gen::And(..) => 2,
            Gen::Not(_) => 3,
            Gen::Chain(..) => 4,
            Gen::Bin(op, ..) => match BINARY[*op] {
                "+" | "-" => 5,
                "**" => 8,
                _ => 6,
            },
            Gen::Neg(_) => 7,
            Gen::Int(_) | Gen::Bool(_) | Gen::Call(..) => 9,
        }
    }

    /// Python source for `g`, with only the parentheses its precedence needs (or all of them).
    fn render(g: &Gen, all_parens: bool) -> String {
        let wrap = |child: &Gen, min: u8| {
            let text = render(child, all_parens);
            if all_parens || level(child) < min {
                format!("({text})")
            } else {
                text
            }
        };
        match g {
            Gen::Int(i) => i.to_string(),
            Gen::Bool(b) => if *b { "True" } else { "false" }.to_string(),
            Gen::Neg(a) => format!("-{}", wrap(a, 7)),
            Gen::Not(a) => format!("not {}", wrap(a, 3)),
            Gen::And(a, b) => format!("{} and {}", wrap(a, 2), wrap(b, 3)),
            Gen::Or(a, b) => format!("{} or {}", wrap(a, 1), wrap(b, 2)),
            Gen::Bin(op, a, b) => {
                let (left, right) = match level(g) {
                    8 => (9, 7),
                    l => (l, l + 1),
                };
                format!("{} {} {}", wrap(a, left), BINARY[*op], wrap(b, right))
            }
            Gen::Chain(operands, ops) => {
                let mut text = wrap(&operands[0], 5);
                for (op, operand) in ops.iter().zip(&operands[1..]) {
                    text += &format!(" {} {}", COMPARE[*op], wrap(operand, 5));
                }
                text
            }
            Gen::Call(name, args) => {
                let args: Vec<String> = args.iter().map(|a| wrap(a, 0)).collect();
                format!("{name}({})", args.join(", "))
            }
        }
    }

    fn gen_expr() -> impl Strategy<Value = Gen> {
        let leaf = prop_oneof![
            4 => (-3_i64..12).prop_map(|i| Gen::Int(i.abs())),
            1 => any::<bool>().prop_map(Gen::Bool),
        ];
        leaf.prop_recursive(5, 48, 3, |inner| {
            let boxed = inner.clone().prop_map(Box::new);
            prop_oneof![
                1 => boxed.clone().prop_map(Gen::Neg),
                1 => boxed.clone().prop_map(Gen::Not),
                4 => (0..BINARY.len(), boxed.clone(), boxed.clone())
                    .prop_map(|(op, a, b)| Gen::Bin(op, a, b)),
                2 => (vec(inner.clone(), 2..4), vec(0..COMPARE.len(), 3)).prop_map(
                    |(operands, mut ops)| {
                        ops.truncate(operands.len() - 1);
                        Gen::Chain(operands, ops)
                    }
                ),
                1 => (boxed.clone(), boxed.clone()).prop_map(|(a, b)| Gen::And(a, b)),
                1 => (boxed.clone(), boxed).prop_map(|(a, b)| Gen::Or(a, b)),
                1 => (prop_oneof![Just("min"), Just("max")], vec(inner.clone(), 2..4))
                    .prop_map(|(name, args)| Gen::Call(name, args)),
                1 => inner.prop_map(|a| Gen::Call("abs", vec![a])),
            ]
        })
    }

    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_expressions_evaluate_as_in_python(g in gen_expr(), all_parens in any::<bool>()) {
            let text = render(&g, all_parens);
            let expr = Expr::parse(&text);
            prop_assert!(expr.is_ok(), "{}: {:?}", text, expr);
            let got = expr.unwrap().eval(&|_| None);
            match python(&g) {
                Ok(Py::Int(i)) => prop_assert_eq!(got, Ok(Operand::Num(i as f64)), "{}", text),
                Ok(Py::Bool(b)) => prop_assert_eq!(got, Ok(Operand::Bool(b)), "{}", text),
                Err(NoValue::ZeroDivision) => prop_assert!(
                    matches!(&got, Err(ExprError::Eval(m)) if m.contains("by zero")
                        || m.contains("negative power")),
                    "{}: {:?}", text, got
                ),
                Err(NoValue::Outside) => {}
            }
        }

        #[test]
        fn floor_division_and_modulo_agree(a in -10_000_i64..10_000, b in -100_i64..100) {
            prop_assume!(b != 0);
            let values = [("a", Operand::Num(a as f64)), ("b", Operand::Num(b as f64))];
            let holds = |text: &str| Expr::parse(text).unwrap().holds(&lookup_in(&values));
            prop_assert_eq!(holds("a == (a // b) * b + a % b"), Ok(true));
            prop_assert_eq!(holds("0 <= a % b < b or b < a % b <= 0"), Ok(true));
            prop_assert_eq!(holds("a // b == (a - a % b) / b"), Ok(true));
            prop_assert_eq!(
                Expr::parse("a // b").unwrap().eval(&lookup_in(&values)),
                Ok(Operand::Num(a.div_euclid(b) as f64 - if b < 0 && a.rem_euclid(b) != 0 { 1.0 } else { 0.0 }))
            );
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            if let Ok(expr) = Expr::parse(&text) {
                let _ = expr.eval(&|_| Some(Operand::Num(1.0)));
            }
        }

        #[test]
        fn parse_and_eval_never_panic_on_expression_like_text(
            text in "[a-c0-9 ()+*/%<>=!.,'_-]{0,40}|(not |and |or |min\\(|abs\\(|\\*\\*|//|[a-c0-9 ()+,-])*"
        ) {
            if let Ok(expr) = Expr::parse(&text) {
                let lookup = |name: &str| (name.len() < 3).then_some(Operand::Num(2.0));
                let _ = expr.eval(&lookup);
                let _ = expr.violation(&lookup);
                let _ = expr.names();
            }
        }
    }
}
