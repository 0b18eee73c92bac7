//! Recursive descent over the grammar in the module docs, into a tree that evaluation walks.
//!
//! Left-associative chains (`a + b - c`, `a and b and c`, `a < b <= c`) are stored flat, as a
//! first operand and a list of steps, so the tree is only as deep as the nesting of parentheses,
//! unary operators and `**`, which the parser bounds by [`MAX_NESTING`].

use std::collections::BTreeSet;

use super::ExprError;
use super::lexer::{Lexer, Tok, Token};

/// How deeply parentheses, function calls, unary operators and `**` may nest (Python's own
/// parser stops at 200 parentheses).
const MAX_NESTING: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
    Num(f64),
    Str(String),
    Bool(bool),
    Name(String),
    Unary {
        op: UnaryOp,
        column: usize,
        operand: Box<Node>,
    },
    /// `first op₁ x₁ op₂ x₂ …`, folded from the left. `a ** b` is `first = a` and one step.
    Arith {
        first: Box<Node>,
        rest: Vec<Step<ArithOp>>,
    },
    /// `first op₁ x₁ op₂ x₂ …` means `first op₁ x₁ and x₁ op₂ x₂ and …`.
    Compare {
        first: Box<Node>,
        rest: Vec<Step<CmpOp>>,
    },
    Logic {
        op: LogicOp,
        operands: Vec<Node>,
    },
    Call {
        func: Func,
        column: usize,
        args: Vec<Node>,
    },
}

/// One link of a chain: the operator, its column, and the operand to its right.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Step<Op> {
    pub op: Op,
    pub column: usize,
    pub operand: Node,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum UnaryOp {
    Neg,
    Pos,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum LogicOp {
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Func {
    Min,
    Max,
    Abs,
    Log2,
    Sqrt,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::FloorDiv => "//",
            ArithOp::Mod => "%",
            ArithOp::Pow => "**",
        }
    }
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// The callable functions, in the order error messages list them.
const FUNCTIONS: &str = "min, max, abs, log2, sqrt";

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "abs" => Func::Abs,
            "log2" => Func::Log2,
            "sqrt" => Func::Sqrt,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Min => "min",
            Func::Max => "max",
            Func::Abs => "abs",
            Func::Log2 => "log2",
            Func::Sqrt => "sqrt",
        }
    }
}

impl Node {
    pub fn collect_names(&self, names: &mut BTreeSet<String>) {
        match self {
            Node::Num(_) | Node::Str(_) | Node::Bool(_) => {}
            Node::Name(name) => {
                names.insert(name.clone());
            }
            Node::Unary { operand, .. } => operand.collect_names(names),
            Node::Arith { first, rest } => {
                first.collect_names(names);
                rest.iter()
                    .for_each(|step| step.operand.collect_names(names));
            }
            Node::Compare { first, rest } => {
                first.collect_names(names);
                rest.iter()
                    .for_each(|step| step.operand.collect_names(names));
            }
            Node::Logic { operands, .. } | Node::Call { args: operands, .. } => {
                operands.iter().for_each(|node| node.collect_names(names));
            }
        }
    }
}

/// Parses a whole expression; text after it is an error.
pub(super) fn parse(src: &str) -> Result<Node, ExprError> {
    let mut lexer = Lexer::new(src);
    let token = lexer.next_token()?;
    let mut parser = Parser {
        lexer,
        token,
        depth: 0,
    };
    let node = parser.expression()?;
    if parser.token.kind != Tok::End {
        return Err(parser.unexpected("an operator or the end of the expression"));
    }
    Ok(node)
}

/// One grammar rule, as a method of the parser.
type Rule<'a> = fn(&mut Parser<'a>) -> Result<Node, ExprError>;

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The current, not yet consumed token.
    token: Token<'a>,
    depth: usize,
}

impl<'a> Parser<'a> {
    /// Consumes the current token and returns it.
    fn advance(&mut self) -> Result<Token<'a>, ExprError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.token, next))
    }

    fn at(&self, op: &str) -> bool {
        matches!(self.token.kind, Tok::Op(o) if o == op)
    }

    /// Runs `parse` one nesting level deeper, for the parenthesis, call or operator at
    /// `column`, refusing to go past [`MAX_NESTING`].
    fn nested<T>(
        &mut self,
        column: usize,
        parse: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        if self.depth == MAX_NESTING {
            return Err(ExprError::syntax(
                column,
                format!(
                    "expression nested too deeply at column {column} (more than {MAX_NESTING} \
                     levels of parentheses, unary operators and '**')"
                ),
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn expression(&mut self) -> Result<Node, ExprError> {
        self.logic(LogicOp::Or)
    }

    /// `or` over `and` operands, or `and` over `not` operands.
    fn logic(&mut self, op: LogicOp) -> Result<Node, ExprError> {
        let (word, operand): (_, Rule<'a>) = match op {
            LogicOp::Or => ("or", |p| p.logic(LogicOp::And)),
            LogicOp::And => ("and", Self::not_expr),
        };
        let first = operand(self)?;
        if !self.at(word) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.at(word) {
            self.advance()?;
            operands.push(operand(self)?);
        }
        Ok(Node::Logic { op, operands })
    }

    fn not_expr(&mut self) -> Result<Node, ExprError> {
        if !self.at("not") {
            return self.comparison();
        }
        let column = self.advance()?.column;
        let operand = self.nested(column, Self::not_expr)?;
        Ok(Node::Unary {
            op: UnaryOp::Not,
            column,
            operand: Box::new(operand),
        })
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        let first = self.sum()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.token.kind {
                Tok::Op("<") => CmpOp::Lt,
                Tok::Op("<=") => CmpOp::Le,
                Tok::Op(">") => CmpOp::Gt,
                Tok::Op(">=") => CmpOp::Ge,
                Tok::Op("==") => CmpOp::Eq,
                Tok::Op("!=") => CmpOp::Ne,
                _ => break,
            };
            let column = self.advance()?.column;
            rest.push(Step {
                op,
                column,
                operand: self.sum()?,
            });
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Node::Compare {
                first: Box::new(first),
                rest,
            }
        })
    }

    fn sum(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::term, |kind| match kind {
            Tok::Op("+") => Some(ArithOp::Add),
            Tok::Op("-") => Some(ArithOp::Sub),
            _ => None,
        })
    }

    fn term(&mut self) -> Result<Node, ExprError> {
        self.chain(Self::factor, |kind| match kind {
            Tok::Op("*") => Some(ArithOp::Mul),
            Tok::Op("/") => Some(ArithOp::Div),
            Tok::Op("//") => Some(ArithOp::FloorDiv),
            Tok::Op("%") => Some(ArithOp::Mod),
            _ => None,
        })
    }

    /// A left-associative arithmetic chain of `operand`s joined by the operators `op` accepts.
    fn chain(
        &mut self,
        operand: Rule<'a>,
        op: fn(&Tok) -> Option<ArithOp>,
    ) -> Result<Node, ExprError> {
        let first = operand(self)?;
        let mut rest = Vec::new();
        while let Some(op) = op(&self.token.kind) {
            let column = self.advance()?.column;
            rest.push(Step {
                op,
                column,
                operand: operand(self)?,
            });
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Node::Arith {
                first: Box::new(first),
                rest,
            }
        })
    }

    fn factor(&mut self) -> Result<Node, ExprError> {
        let op = match self.token.kind {
            Tok::Op("-") => UnaryOp::Neg,
            Tok::Op("+") => UnaryOp::Pos,
            _ => return self.power(),
        };
        let column = self.advance()?.column;
        let operand = self.nested(column, Self::factor)?;
        Ok(Node::Unary {
            op,
            column,
            operand: Box::new(operand),
        })
    }

    fn power(&mut self) -> Result<Node, ExprError> {
        let base = self.primary()?;
        if !self.at("**") {
            return Ok(base);
        }
        let column = self.advance()?.column;
        let exponent = self.nested(column, Self::factor)?;
        Ok(Node::Arith {
            first: Box::new(base),
            rest: vec![Step {
                op: ArithOp::Pow,
                column,
                operand: exponent,
            }],
        })
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let column = self.token.column;
        let node = match &self.token.kind {
            Tok::Num(x) => Node::Num(*x),
            Tok::Str(s) => Node::Str(s.clone()),
            Tok::Bool(b) => Node::Bool(*b),
            Tok::Op("(") => {
                self.advance()?;
                let inner = self.nested(column, Self::expression)?;
                if !self.at(")") {
                    return Err(self.unexpected("an operator or ')'"));
                }
                inner
            }
            Tok::Name("None") => {
                return Err(ExprError::syntax(
                    column,
                    format!(
                        "None at column {column} is not allowed; the constants are numbers, \
                         strings, True and False"
                    ),
                ));
            }
            &Tok::Name(name) => {
                self.advance()?;
                return match (Func::from_name(name), self.at("(")) {
                    (Some(func), true) => self.nested(column, |p| p.call(func, column)),
                    (Some(_), false) => Err(ExprError::syntax(
                        column,
                        format!(
                            "'{name}' at column {column} is a function; call it as {name}(...)"
                        ),
                    )),
                    (None, true) => Err(ExprError::syntax(
                        column,
                        format!(
                            "'{name}' at column {column} is not a function that may be called; \
                             the functions are {FUNCTIONS}"
                        ),
                    )),
                    (None, false) => Ok(Node::Name(name.to_string())),
                };
            }
            _ => return Err(self.unexpected("a number, a name or '('")),
        };
        self.advance()?;
        Ok(node)
    }

    /// The arguments of `func`, from its `(` to its `)`, and their count checked.
    fn call(&mut self, func: Func, column: usize) -> Result<Node, ExprError> {
        self.advance()?;
        let mut args = Vec::new();
        while !self.at(")") {
            args.push(self.expression()?);
            if self.at(",") {
                self.advance()?;
            } else if !self.at(")") {
                return Err(self.unexpected("an operator, ',' or ')'"));
            }
        }
        self.advance()?;
        let name = func.name();
        let wanted = match func {
            Func::Min | Func::Max if args.len() < 2 => "at least 2 arguments",
            Func::Abs | Func::Log2 | Func::Sqrt if args.len() != 1 => "exactly 1 argument",
            _ => return Ok(Node::Call { func, column, args }),
        };
        Err(ExprError::syntax(
            column,
            format!(
                "{name}() at column {column} takes {wanted}; got {}",
                args.len()
            ),
        ))
    }

    /// The error for a token that does not fit here, with advice for Python syntax the
    /// language leaves out.
    fn unexpected(&self, expected: &str) -> ExprError {
        let Token { kind, column, text } = &self.token;
        let column = *column;
        let not_allowed =
            |what: &str, advice: &str| format!("{what} at column {column} is not allowed{advice}");
        let message = match kind {
            Tok::End => {
                format!("unexpected end of expression at column {column}; expected {expected}")
            }
            Tok::Char(c) => format!("unexpected character '{c}' at column {column}"),
            Tok::Str(_) => {
                format!("unexpected string {text} at column {column}; expected {expected}")
            }
            Tok::Op(".") => not_allowed("attribute access '.'", ""),
            Tok::Op("[" | "]") => not_allowed(&format!("indexing or a list '{text}'"), ""),
            Tok::Op("{" | "}") => not_allowed(&format!("a set or dict '{text}'"), ""),
            Tok::Op("=") => not_allowed(
                "'='",
                "; compare with '==', and pass function arguments by position",
            ),
            Tok::Op(":") => not_allowed("':'", "; lambdas, slices and dicts are not supported"),
            Tok::Op(";") => not_allowed("';'", "; write a single expression"),
            Tok::Op("&") => not_allowed("operator '&'", "; write 'and'"),
            Tok::Op("|") => not_allowed("operator '|'", "; write 'or'"),
            Tok::Op("!") => not_allowed("'!'", "; write 'not x' or 'a != b'"),
            Tok::Op(op @ ("@" | "^" | "~" | "<<" | ">>")) => not_allowed(
                &format!("operator '{op}'"),
                "; the operators are + - * / // % **, < <= > >= == !=, and, or, not",
            ),
            Tok::Name("if" | "else") => not_allowed("a conditional expression ('if ... else')", ""),
            Tok::Name(word @ ("in" | "is")) => {
                not_allowed(&format!("an '{word}' test"), "; compare with '==' or '!='")
            }
            Tok::Name("for") => not_allowed("a comprehension ('for')", ""),
            _ => format!("unexpected '{text}' at column {column}; expected {expected}"),
        };
        ExprError::syntax(column, message)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::tests::num;
    use super::super::{Expr, ExprError};

    /// The syntax error for `text`, checking that the message names the column it carries.
    fn syntax_error(text: &str) -> (usize, String) {
        match Expr::parse(text) {
            Err(ExprError::Syntax { column, message }) => {
                assert!(
                    message.contains(&format!("column {column}")) || column == 1,
                    "{text}: {message} does not name column {column}"
                );
                (column, message)
            }
            other => panic!("{text}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn unexpected_tokens_say_what_was_expected() {
        for (text, column, message) in [
            (
                "(mesh_rows + )",
                14,
                "unexpected ')' at column 14; expected a number, a name or '('",
            ),
            (
                "a +",
                4,
                "unexpected end of expression at column 4; expected a number, a name or '('",
            ),
            (
                "a b",
                3,
                "unexpected 'b' at column 3; expected an operator or the end of the expression",
            ),
            (
                "(a + b",
                7,
                "unexpected end of expression at column 7; expected an operator or ')'",
            ),
            (
                "min(a b)",
                7,
                "unexpected 'b' at column 7; expected an operator, ',' or ')'",
            ),
            (
                "1, 2",
                2,
                "unexpected ',' at column 2; expected an operator or the end of the expression",
            ),
            (
                "a == not b",
                6,
                "unexpected 'not' at column 6; expected a number, a name or '('",
            ),
            (
                "'é' + )",
                7,
                "unexpected ')' at column 7; expected a number, a name or '('",
            ),
            ("a $ b", 3, "unexpected character '$' at column 3"),
            (
                "s 'OS'",
                3,
                "unexpected string 'OS' at column 3; expected an operator or the end of the \
                 expression",
            ),
            (
                "   ",
                1,
                "the expression is empty; expected a number, a name or '('",
            ),
        ] {
            assert_eq!(syntax_error(text), (column, message.to_string()), "{text}");
        }
    }

    #[test]
    fn python_outside_the_whitelist_is_rejected_with_a_reason() {
        for (text, message) in [
            (
                "__import__('os').system('x')",
                "'__import__' at column 1 is not a function that may be called; the functions \
                 are min, max, abs, log2, sqrt",
            ),
            (
                "open('f')",
                "'open' at column 1 is not a function that may be called; the functions are \
                 min, max, abs, log2, sqrt",
            ),
            ("a.b", "attribute access '.' at column 2 is not allowed"),
            (
                "[1, 2]",
                "indexing or a list '[' at column 1 is not allowed",
            ),
            ("x[0]", "indexing or a list '[' at column 2 is not allowed"),
            ("{1}", "a set or dict '{' at column 1 is not allowed"),
            (
                "lambda: 1",
                "':' at column 7 is not allowed; lambdas, slices and dicts are not supported",
            ),
            (
                "a if b else c",
                "a conditional expression ('if ... else') at column 3 is not allowed",
            ),
            (
                "a @ b",
                "operator '@' at column 3 is not allowed; the operators are + - * / // % **, \
                 < <= > >= == !=, and, or, not",
            ),
            (
                "a << 1",
                "operator '<<' at column 3 is not allowed; the operators are + - * / // % **, < <= > >= == !=, and, or, not",
            ),
            (
                "a & b",
                "operator '&' at column 3 is not allowed; write 'and'",
            ),
            (
                "a | b",
                "operator '|' at column 3 is not allowed; write 'or'",
            ),
            (
                "!a",
                "'!' at column 1 is not allowed; write 'not x' or 'a != b'",
            ),
            (
                "a = 1",
                "'=' at column 3 is not allowed; compare with '==', and pass function arguments \
                 by position",
            ),
            (
                "min(a=1, b=2)",
                "'=' at column 6 is not allowed; compare with '==', and pass function arguments \
                 by position",
            ),
            (
                "a in b",
                "an 'in' test at column 3 is not allowed; compare with '==' or '!='",
            ),
            (
                "a is b",
                "an 'is' test at column 3 is not allowed; compare with '==' or '!='",
            ),
            (
                "[a for a in b]",
                "indexing or a list '[' at column 1 is not allowed",
            ),
            (
                "a; b",
                "';' at column 2 is not allowed; write a single expression",
            ),
            (
                "None",
                "None at column 1 is not allowed; the constants are numbers, strings, True and \
                 False",
            ),
            (
                "min",
                "'min' at column 1 is a function; call it as min(...)",
            ),
            (
                "1 + sqrt",
                "'sqrt' at column 5 is a function; call it as sqrt(...)",
            ),
            (
                "min(1)",
                "min() at column 1 takes at least 2 arguments; got 1",
            ),
            (
                "max()",
                "max() at column 1 takes at least 2 arguments; got 0",
            ),
            (
                "x + abs(1, 2)",
                "abs() at column 5 takes exactly 1 argument; got 2",
            ),
            (
                "sqrt()",
                "sqrt() at column 1 takes exactly 1 argument; got 0",
            ),
            (
                "min(1, 2)(3)",
                "unexpected '(' at column 10; expected an operator or the end of the expression",
            ),
        ] {
            assert_eq!(syntax_error(text).1, message, "{text}");
        }
    }

    #[test]
    fn bad_literals() {
        for (text, message) in [
            ("1j", "complex number '1j' at column 1 is not allowed"),
            (
                "2 + 3.5J",
                "complex number '3.5J' at column 5 is not allowed",
            ),
            (
                "08",
                "invalid number '08' at column 1; an integer cannot start with 0",
            ),
            ("1e", "invalid number '1e' at column 1"),
            ("1e+x", "invalid number '1e+x' at column 1"),
            ("2x", "invalid number '2x' at column 1"),
            ("1__0", "invalid number '1__0' at column 1"),
            ("a + 'abc", "unterminated string starting at column 5"),
            ("\"abc\\\"", "unterminated string starting at column 1"),
        ] {
            assert_eq!(syntax_error(text).1, message, "{text}");
        }
    }

    #[test]
    fn literals() {
        for (text, want) in [
            ("1_000", 1000.0),
            (".5", 0.5),
            ("1.", 1.0),
            ("1.e1", 10.0),
            ("1e-3", 0.001),
            ("1E3", 1000.0),
            ("1.5e+2", 150.0),
            ("0", 0.0),
            ("00", 0.0),
            ("0.25", 0.25),
            ("true", 1.0),
            ("False", 0.0),
        ] {
            assert_eq!(num(text), want, "{text}");
        }
        let strings = [
            (r"'it\'s'", "it's"),
            (r#""a\nb""#, "a\nb"),
            (r"'a\\b'", "a\\b"),
            (r"'a\qb'", "a\\qb"),
            (r#"'say "hi"'"#, "say \"hi\""),
        ];
        for (text, want) in strings {
            let got = Expr::parse(text).unwrap().eval(&|_| None);
            assert_eq!(got, Ok(super::super::Operand::Str(want.into())), "{text}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(num(&deep(100)), 1.0);
        let (column, message) = syntax_error(&deep(101));
        assert_eq!(column, 101);
        assert!(
            message.starts_with("expression nested too deeply at column 101"),
            "{message}"
        );
        assert_eq!(num(&format!("{}1", "-".repeat(100))), 1.0);
        assert!(Expr::parse(&format!("{}1", "not ".repeat(101))).is_err());
        assert!(Expr::parse(&format!("{}2", "2 ** ".repeat(101))).is_err());
        // Long flat chains are stored flat, so they have no depth limit.
        let long = vec!["1"; 10_000].join(" + ");
        assert_eq!(num(&long), 10_000.0);
    }

    #[test]
    fn names_and_text() {
        let expr =
            Expr::parse("  mesh_rows * tile_rows == mesh_cols * tile_cols and max(a, 2) < 5 ")
                .unwrap();
        let names: BTreeSet<String> = ["a", "mesh_cols", "mesh_rows", "tile_cols", "tile_rows"]
            .map(String::from)
            .into();
        assert_eq!(expr.names(), names);
        assert_eq!(
            expr.text(),
            "mesh_rows * tile_rows == mesh_cols * tile_cols and max(a, 2) < 5"
        );
        assert_eq!(expr.to_string(), expr.text());
        let names: BTreeSet<String> = ["x".to_string()].into();
        assert_eq!(
            Expr::parse("min(x, 1) + abs(-x) > 'str' or True and not x")
                .unwrap()
                .names(),
            names
        );
        assert!(Expr::parse("1 + 2").unwrap().names().is_empty());
    }
}
