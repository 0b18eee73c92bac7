//! Evaluation of a parsed tree with Python's scalar semantics (see the module docs).
//!
//! Intermediate values borrow string literals from the tree, so numeric and boolean paths
//! never allocate; only strings returned by the lookup are owned.

use std::borrow::Cow;
use std::fmt;

use super::parser::{ArithOp, CmpOp, Func, LogicOp, Node, UnaryOp};
use super::{ExprError, Operand};

/// A value during evaluation: an [`Operand`] whose string may borrow from the tree.
#[derive(Debug)]
pub(super) enum Val<'e> {
    Num(f64),
    Str(Cow<'e, str>),
    Bool(bool),
}

impl fmt::Display for Val<'_> {
    /// As Python's `repr` would show it, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Num(x) => write!(f, "{x}"),
            Val::Str(s) => write!(f, "'{s}'"),
            Val::Bool(true) => f.write_str("True"),
            Val::Bool(false) => f.write_str("False"),
        }
    }
}

impl Val<'_> {
    pub fn into_operand(self) -> Operand {
        match self {
            Val::Num(x) => Operand::Num(x),
            Val::Str(s) => Operand::Str(s.into_owned()),
            Val::Bool(b) => Operand::Bool(b),
        }
    }

    /// Python's `bool()`: zero and the empty string are false; NaN is true.
    pub fn truthy(&self) -> bool {
        match self {
            Val::Num(x) => *x != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Bool(b) => *b,
        }
    }

    /// The number a value stands for in arithmetic: booleans are 0 and 1, strings have none.
    fn number(&self) -> Option<f64> {
        match self {
            Val::Num(x) => Some(*x),
            Val::Bool(b) => Some(f64::from(u8::from(*b))),
            Val::Str(_) => None,
        }
    }

    /// One side of a comparison whose violation is a distance; it must be a number (the
    /// reference's `float()`).
    pub fn violation_side(&self, op: CmpOp, side: &str) -> Result<f64, ExprError> {
        self.number().ok_or_else(|| {
            ExprError::Eval(format!(
                "the violation of a '{}' constraint needs numbers, but its {side} side is the \
                 string {self}",
                op.symbol()
            ))
        })
    }
}

impl Node {
    pub fn eval<'e>(
        &'e self,
        lookup: &dyn Fn(&str) -> Option<Operand>,
    ) -> Result<Val<'e>, ExprError> {
        Ok(match self {
            Node::Num(x) => Val::Num(*x),
            Node::Str(s) => Val::Str(Cow::Borrowed(s)),
            Node::Bool(b) => Val::Bool(*b),
            Node::Name(name) => match lookup(name) {
                Some(Operand::Num(x)) => Val::Num(x),
                Some(Operand::Str(s)) => Val::Str(Cow::Owned(s)),
                Some(Operand::Bool(b)) => Val::Bool(b),
                None => return Err(ExprError::UnknownName(name.clone())),
            },
            Node::Unary {
                op,
                column,
                operand,
            } => {
                let value = operand.eval(lookup)?;
                match op {
                    UnaryOp::Not => Val::Bool(!value.truthy()),
                    UnaryOp::Neg | UnaryOp::Pos => {
                        let symbol = if *op == UnaryOp::Neg { "-" } else { "+" };
                        let x = arith_operand(&value, symbol, *column)?;
                        Val::Num(if *op == UnaryOp::Neg { -x } else { x })
                    }
                }
            }
            Node::Arith { first, rest } => {
                let mut acc = first.eval(lookup)?;
                for step in rest {
                    let rhs = step.operand.eval(lookup)?;
                    acc = Val::Num(arith(step.op, step.column, &acc, &rhs)?);
                }
                acc
            }
            Node::Compare { first, rest } => {
                let mut lhs = first.eval(lookup)?;
                let mut all = true;
                for step in rest {
                    let rhs = step.operand.eval(lookup)?;
                    all &= compare(step.op, step.column, &lhs, &rhs)?;
                    lhs = rhs;
                }
                Val::Bool(all)
            }
            Node::Logic { op, operands } => {
                let mut acc = *op == LogicOp::And;
                for operand in operands {
                    let truth = operand.eval(lookup)?.truthy();
                    acc = match op {
                        LogicOp::And => acc && truth,
                        LogicOp::Or => acc || truth,
                    };
                }
                Val::Bool(acc)
            }
            Node::Call { func, column, args } => {
                let arg = |node: &'e Node| arith_operand(&node.eval(lookup)?, func.name(), *column);
                // The parser checked the argument count: min and max have at least two, the
                // others exactly one.
                Val::Num(match func {
                    Func::Min | Func::Max => {
                        let pick = if *func == Func::Min {
                            f64::min
                        } else {
                            f64::max
                        };
                        let mut acc = arg(&args[0])?;
                        for node in &args[1..] {
                            acc = nan_aware(acc, arg(node)?, pick);
                        }
                        acc
                    }
                    Func::Abs => arg(&args[0])?.abs(),
                    Func::Log2 => arg(&args[0])?.log2(),
                    Func::Sqrt => arg(&args[0])?.sqrt(),
                })
            }
        })
    }
}

/// numpy's `minimum`/`maximum`: NaN wins.
fn nan_aware(a: f64, b: f64, pick: fn(f64, f64) -> f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        pick(a, b)
    }
}

fn arith_operand(value: &Val, op: &str, column: usize) -> Result<f64, ExprError> {
    value.number().ok_or_else(|| {
        ExprError::Eval(format!(
            "'{op}' at column {column} needs a number, not the string {value}"
        ))
    })
}

fn arith(op: ArithOp, column: usize, lhs: &Val, rhs: &Val) -> Result<f64, ExprError> {
    let symbol = op.symbol();
    let a = arith_operand(lhs, symbol, column)?;
    let b = arith_operand(rhs, symbol, column)?;
    let fail = |why: &str| {
        Err(ExprError::Eval(format!(
            "{why} ('{symbol}' at column {column})"
        )))
    };
    Ok(match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div | ArithOp::FloorDiv | ArithOp::Mod if b == 0.0 => {
            return fail(if op == ArithOp::Mod {
                "modulo by zero"
            } else {
                "division by zero"
            });
        }
        ArithOp::Div => a / b,
        ArithOp::FloorDiv => python_divmod(a, b).0,
        ArithOp::Mod => python_divmod(a, b).1,
        ArithOp::Pow => {
            if a == 0.0 && b < 0.0 {
                return fail("0 cannot be raised to a negative power");
            }
            if a < 0.0 && a.is_finite() && b.is_finite() && b.fract() != 0.0 {
                return fail(&format!(
                    "({a}) ** {b} is a complex number; a negative base needs a whole exponent"
                ));
            }
            a.powf(b)
        }
    })
}

/// Python's `divmod` on floats (CPython `float_divmod`): the quotient floored toward −∞ and
/// the remainder with the sign of `b`. `b` is not zero.
fn python_divmod(a: f64, b: f64) -> (f64, f64) {
    let mut rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 {
        if (b < 0.0) != (rem < 0.0) {
            rem += b;
            div -= 1.0;
        }
    } else {
        rem = 0.0_f64.copysign(b);
    }
    let floor = if div != 0.0 {
        let floor = div.floor();
        if div - floor > 0.5 {
            floor + 1.0
        } else {
            floor
        }
    } else {
        0.0_f64.copysign(a / b)
    };
    (floor, rem)
}

fn compare(op: CmpOp, column: usize, lhs: &Val, rhs: &Val) -> Result<bool, ExprError> {
    if let (Some(a), Some(b)) = (lhs.number(), rhs.number()) {
        // IEEE comparisons, as in Python: NaN is unequal to everything, itself included.
        return Ok(match op {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        });
    }
    if let (Val::Str(a), Val::Str(b)) = (lhs, rhs) {
        let order = a.cmp(b);
        return Ok(match op {
            CmpOp::Lt => order.is_lt(),
            CmpOp::Le => order.is_le(),
            CmpOp::Gt => order.is_gt(),
            CmpOp::Ge => order.is_ge(),
            CmpOp::Eq => order.is_eq(),
            CmpOp::Ne => order.is_ne(),
        });
    }
    match op {
        CmpOp::Eq => Ok(false),
        CmpOp::Ne => Ok(true),
        _ => Err(ExprError::Eval(format!(
            "'{}' at column {column} cannot order {lhs} and {rhs}; a string compares with a \
             number only by '==' or '!='",
            op.symbol()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{num, value};
    use super::super::{ExprError, Operand};

    fn eval_err(text: &str) -> String {
        match value(text) {
            Err(ExprError::Eval(message)) => message,
            other => panic!("{text}: expected an evaluation error, got {other:?}"),
        }
    }

    #[test]
    fn precedence_and_associativity_follow_python() {
        for (text, want) in [
            ("1 + 2 * 3", 7.0),
            ("(1 + 2) * 3", 9.0),
            ("10 - 3 - 2", 5.0),
            ("100 / 10 / 5", 2.0),
            ("2 * 3 % 4", 2.0),
            ("2 ** 3 ** 2", 512.0),
            ("(2 ** 3) ** 2", 64.0),
            ("-2 ** 2", -4.0),
            ("(-2) ** 2", 4.0),
            ("2 ** -1", 0.5),
            ("-3 ** 2 + 1", -8.0),
            ("2 ** 2 * 3", 12.0),
            ("- -3", 3.0),
            ("+-3", -3.0),
            ("x * -y", 6.0),
        ] {
            assert_eq!(num(text), want, "{text}");
        }
    }

    #[test]
    fn boolean_operators_bind_below_comparisons() {
        for (text, want) in [
            ("not 1 == 2", true),
            ("not 0 and 1", true),
            ("1 or 0 and 0", true),
            ("(1 or 0) and 0", false),
            ("not not x", true),
            ("x > 2 and not y > 0", true),
            ("1 and 2", true),
            ("0 or ''", false),
        ] {
            assert_eq!(value(text), Ok(Operand::Bool(want)), "{text}");
        }
    }

    #[test]
    fn comparisons_chain() {
        for (text, want) in [
            ("4 <= x <= 32", false),
            ("2 <= x <= 32", true),
            ("1 < 2 < 3 > 2", true),
            ("1 < 3 < 2", false),
            ("1 < 2 == True", false),
            ("3 == 3.0 != 4", true),
            ("(1 < 2) < 3", true),
        ] {
            assert_eq!(value(text), Ok(Operand::Bool(want)), "{text}");
        }
    }

    #[test]
    fn floor_division_and_modulo_floor_toward_negative_infinity() {
        for (text, want) in [
            ("-7 // 2", -4.0),
            ("7 // -2", -4.0),
            ("-7 // -2", 3.0),
            ("7 // 2", 3.0),
            ("-7 % 2", 1.0),
            ("7 % -2", -1.0),
            ("-7 % -2", -1.0),
            ("7 % 2", 1.0),
            ("7.5 // 2", 3.0),
            ("-7.5 // 2", -4.0),
            ("-7.5 // -2", 3.0),
            ("-7.5 % 2", 0.5),
            ("7.5 % -2", -0.5),
            ("5 % 3.5", 1.5),
        ] {
            assert_eq!(num(text), want, "{text}");
        }
    }

    #[test]
    fn division_is_true_division() {
        assert_eq!(num("7 / 2"), 3.5);
        assert_eq!(num("-7 / 2"), -3.5);
        assert_eq!(num("1 / 3"), 1.0 / 3.0);
        assert_eq!(num("256 / 4 >= 8"), 1.0);
    }

    #[test]
    fn booleans_count_as_zero_and_one() {
        assert_eq!(num("True + True"), 2.0);
        assert_eq!(num("-t"), -1.0);
        assert_eq!(num("+false"), 0.0);
        assert_eq!(num("(x > 1) * 10"), 10.0);
        assert_eq!(value("t == 1"), Ok(Operand::Bool(true)));
        assert_eq!(value("True < 2"), Ok(Operand::Bool(true)));
        assert_eq!(num("abs(t)"), 1.0);
    }

    #[test]
    fn functions() {
        assert_eq!(num("min(3, 1, 2)"), 1.0);
        assert_eq!(num("max(1, 5, 3,)"), 5.0);
        assert_eq!(num("abs(-2.5)"), 2.5);
        assert_eq!(num("log2(8)"), 3.0);
        assert_eq!(num("sqrt(16)"), 4.0);
        assert_eq!(num("log2(0)"), f64::NEG_INFINITY);
        assert!(num("sqrt(-1)").is_nan());
        assert!(num("log2(-1)").is_nan());
        assert!(num("min(1, nan)").is_nan());
        assert!(num("max(nan, 1)").is_nan());
    }

    #[test]
    fn nan_compares_like_ieee_and_is_truthy() {
        assert_eq!(value("nan == nan"), Ok(Operand::Bool(false)));
        assert_eq!(value("nan != nan"), Ok(Operand::Bool(true)));
        assert_eq!(value("nan < 1 or nan >= 1"), Ok(Operand::Bool(false)));
        assert_eq!(value("not nan"), Ok(Operand::Bool(false)));
    }

    #[test]
    fn strings_compare_but_do_no_arithmetic() {
        for (text, want) in [
            ("s == 'OS'", true),
            ("s != \"WS\"", true),
            ("'BOTH' < 'OS' <= s", true),
            ("s == 1", false),
            ("s != 1", true),
            ("t == 'True'", false),
            ("not s", false),
            ("not ''", true),
        ] {
            assert_eq!(value(text), Ok(Operand::Bool(want)), "{text}");
        }
        assert_eq!(value("s"), Ok(Operand::Str("OS".into())));
        assert_eq!(
            eval_err("s < 1"),
            "'<' at column 3 cannot order 'OS' and 1; a string compares with a number only by \
             '==' or '!='"
        );
        assert_eq!(
            eval_err("s + 'x'"),
            "'+' at column 3 needs a number, not the string 'OS'"
        );
        assert_eq!(
            eval_err("-s"),
            "'-' at column 1 needs a number, not the string 'OS'"
        );
        assert_eq!(
            eval_err("max(1, s)"),
            "'max' at column 1 needs a number, not the string 'OS'"
        );
    }

    #[test]
    fn evaluation_errors_name_the_operator_and_column() {
        assert_eq!(eval_err("1 / 0"), "division by zero ('/' at column 3)");
        assert_eq!(eval_err("x // z"), "division by zero ('//' at column 3)");
        assert_eq!(eval_err("x % z"), "modulo by zero ('%' at column 3)");
        assert_eq!(eval_err("x / -0.0"), "division by zero ('/' at column 3)");
        assert_eq!(
            eval_err("0 ** -1"),
            "0 cannot be raised to a negative power ('**' at column 3)"
        );
        assert_eq!(
            eval_err("(-8) ** 0.5"),
            "(-8) ** 0.5 is a complex number; a negative base needs a whole exponent ('**' at \
             column 6)"
        );
        assert_eq!(num("(-8) ** 3"), -512.0);
        // Nothing short-circuits (numpy's logical_and in the reference), so errors on the
        // right of a false `and` are still reported.
        assert_eq!(
            eval_err("0 and 1 / 0"),
            "division by zero ('/' at column 9)"
        );
        assert_eq!(
            eval_err("1 > 2 < s"),
            "'<' at column 7 cannot order 2 and 'OS'; a string compares with a number only by '==' or '!='"
        );
    }

    #[test]
    fn unknown_names_are_reported() {
        assert_eq!(value("q + 1"), Err(ExprError::UnknownName("q".into())));
        assert_eq!(
            ExprError::UnknownName("q".into()).to_string(),
            "unknown name 'q'"
        );
    }
}
