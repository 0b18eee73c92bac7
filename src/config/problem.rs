//! One config problem: where it is, which field, and what was expected.

use std::ops::Range;

/// A problem found while reading or validating a config file. `span` is a byte range into
/// the file's text (from `toml::Spanned`), turned into `line:column` when printed.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The field path, e.g. `space.params[3].high` or `evaluator.command.argv`.
    pub field: String,
    /// Byte range in the file, when known.
    pub span: Option<Range<usize>>,
    /// What is wrong, naming the value and what was expected, e.g.
    /// `must be >= low (8). Got 4.`
    pub message: String,
}

impl Problem {
    pub fn new(
        field: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            span,
            message: message.into(),
        }
    }
}
