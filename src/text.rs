//! Text shown to people. Messages are one line each (a log line, a `file:line:col` problem,
//! an inbox row's reason), so text taken from input is escaped before it goes in one.

/// `text` with line breaks, tabs and other control characters escaped (`\n`, `\t`,
/// `\u{1b}`), so it cannot split or garble the line it is printed in.
pub fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::one_line("a\nb\tc\u{1b}"), "a\\nb\\tc\\u{1b}");
        assert_eq!(super::one_line("plain é"), "plain é");
    }
}
