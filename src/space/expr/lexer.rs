//! Splits expression text into tokens, one at a time, so that errors are met in text order.

use super::ExprError;

/// One token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token<'a> {
    pub kind: Tok<'a>,
    /// Character column, counted from 1.
    pub column: usize,
    /// The source text of the token, quoted back in error messages.
    pub text: &'a str,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok<'a> {
    Num(f64),
    Str(String),
    Bool(bool),
    Name(&'a str),
    /// An operator, punctuation or the keywords `and`, `or`, `not`. Includes symbols that the
    /// language rejects (`.`, `[`, `=`, `@`, ...), so the parser can say why.
    Op(&'static str),
    /// A character that has no place in the language.
    Char(char),
    End,
}

/// Longest first, so that `**` is not read as two `*`.
const OPERATORS: &[&str] = &[
    "**", "//", "<=", ">=", "==", "!=", "<<", ">>", "+", "-", "*", "/", "%", "<", ">", "(", ")",
    ",", "=", "!", ".", "[", "]", "{", "}", ":", ";", "@", "&", "|", "^", "~",
];

pub(super) struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    /// Character column of the next character, from 1.
    column: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            column: 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.src[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        self.column += 1;
        Some(c)
    }

    fn eat_while(&mut self, keep: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
    }

    pub fn next_token(&mut self) -> Result<Token<'a>, ExprError> {
        self.eat_while(char::is_whitespace);
        let (start, column) = (self.pos, self.column);
        let Some(c) = self.peek() else {
            return Ok(Token {
                kind: Tok::End,
                column,
                text: "",
            });
        };
        let kind = if c.is_ascii_digit()
            || (c == '.' && self.peek_second().is_some_and(|d| d.is_ascii_digit()))
        {
            self.number(column)?
        } else if c == '\'' || c == '"' {
            self.string(column)?
        } else if c.is_ascii_alphabetic() || c == '_' {
            self.eat_while(is_name_char);
            match &self.src[start..self.pos] {
                "True" | "true" => Tok::Bool(true),
                "False" | "false" => Tok::Bool(false),
                "and" => Tok::Op("and"),
                "or" => Tok::Op("or"),
                "not" => Tok::Op("not"),
                name => Tok::Name(name),
            }
        } else if let Some(op) = OPERATORS
            .iter()
            .find(|op| self.src[self.pos..].starts_with(**op))
        {
            for _ in 0..op.len() {
                self.bump();
            }
            Tok::Op(op)
        } else {
            self.bump();
            Tok::Char(c)
        };
        Ok(Token {
            kind,
            column,
            text: &self.src[start..self.pos],
        })
    }

    /// Digits with single `_` separators between them (Python's `1_000`); whether there was one.
    fn digits(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_digit() => any = true,
                Some('_') if any && self.peek_second().is_some_and(|c| c.is_ascii_digit()) => {}
                _ => return any,
            }
            self.bump();
        }
    }

    /// A Python int or float literal: `8`, `1_000`, `0.5`, `.5`, `1.`, `1e-3`.
    fn number(&mut self, column: usize) -> Result<Tok<'a>, ExprError> {
        let start = self.pos;
        let mut integer = self.digits();
        if self.peek() == Some('.') {
            self.bump();
            integer = false;
            self.digits();
        }
        let mut complete = true;
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            integer = false;
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            complete = self.digits();
        }
        let literal = &self.src[start..self.pos];
        if !complete || self.peek().is_some_and(is_name_char) {
            self.eat_while(is_name_char);
            let text = &self.src[start..self.pos];
            let message = if complete && matches!(text.strip_prefix(literal), Some("j" | "J")) {
                format!("complex number '{text}' at column {column} is not allowed")
            } else {
                format!("invalid number '{text}' at column {column}")
            };
            return Err(ExprError::syntax(column, message));
        }
        if integer
            && literal.starts_with('0')
            && literal.contains(|c: char| ('1'..='9').contains(&c))
        {
            return Err(ExprError::syntax(
                column,
                format!(
                    "invalid number '{literal}' at column {column}; an integer cannot start with 0"
                ),
            ));
        }
        literal.replace('_', "").parse().map(Tok::Num).map_err(|_| {
            ExprError::syntax(
                column,
                format!("invalid number '{literal}' at column {column}"),
            )
        })
    }

    /// A string in single or double quotes, with the escapes `\\ \' \" \n \t \r`; any other
    /// backslash stays as written, as in Python.
    fn string(&mut self, column: usize) -> Result<Tok<'a>, ExprError> {
        let quote = self.bump();
        let unterminated = || {
            ExprError::syntax(
                column,
                format!("unterminated string starting at column {column}"),
            )
        };
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(unterminated()),
                Some(c) if Some(c) == quote => return Ok(Tok::Str(value)),
                Some('\\') => match self.bump().ok_or_else(unterminated)? {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    c @ ('\\' | '\'' | '"') => value.push(c),
                    c => {
                        value.push('\\');
                        value.push(c);
                    }
                },
                Some(c) => value.push(c),
            }
        }
    }
}
