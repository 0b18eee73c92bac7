//! `diffuse-dse report`: one self-contained HTML page about a store, for a hardware architect.
//!
//! The page holds the Pareto front (objective pairs, and a rotatable 3-D view), the
//! hypervolume after each batch, the best designs per target, parallel coordinates of the
//! parameters (hardware and EDA layers marked), the model's version history, the failures with
//! their reasons and a sortable table of every design.
//!
//! It needs no network: the styles and the script (`page.css`, `page.js`, beside this file)
//! are inlined, the plots are drawn by that script as SVG and on a canvas, and the data is
//! embedded as JSON in a `<script type="application/json">` element, escaped by
//! [`script_safe_json`] so that no text from the store can close it.
//!
//! The store is opened read-only ([`Store::open_read_only`]), so a running daemon is not
//! disturbed (WAL readers never block the writer).

mod data;
mod history;

pub use data::{Limits, ReportData, collect};
pub use history::BatchPoint;

use crate::store::{Store, StoreError};

const PAGE: &str = include_str!("page.html");
const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// Reads `store` and renders the page.
pub fn build(store: &Store, limits: Limits) -> Result<(ReportData, String), StoreError> {
    let data = collect(store, limits)?;
    let html = render(&data);
    Ok((data, html))
}

/// The page for `data`: the template with its styles, script and data filled in.
pub fn render(data: &ReportData) -> String {
    let json = serde_json::to_string(data).expect("report data serializes");
    let title = format!("diffuse-dse report: {}", data.store);
    fill(
        PAGE,
        &[
            ("{{TITLE}}", &html_escape(&title)),
            ("{{CSS}}", CSS),
            ("{{JS}}", JS),
            ("{{DATA}}", &script_safe_json(&json)),
        ],
    )
}

/// Replaces each marker of `template` (each appears once, in any order) with its text, in one
/// pass over the template, so text put in is never searched for markers again.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + parts.iter().map(|p| p.1.len()).sum::<usize>());
    let mut rest = template;
    loop {
        let next = parts
            .iter()
            .filter_map(|(marker, text)| rest.find(marker).map(|at| (at, *marker, *text)))
            .min_by_key(|(at, ..)| *at);
        match next {
            Some((at, marker, text)) => {
                out.push_str(&rest[..at]);
                out.push_str(text);
                rest = &rest[at + marker.len()..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// JSON text that is safe inside a `<script>` element: `<`, `>` and `&` become `\u003c`,
/// `\u003e`, `\u0026`, so no `</script>` or `<!--` can appear, and U+2028/U+2029 are escaped
/// too. JSON has these characters only inside strings, where the escapes mean the same
/// characters, so `JSON.parse` returns the same value.
pub fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Text for an HTML element's content or attribute.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_and_parses_back() {
        let value = serde_json::json!({
            "reason": "</script><script>alert(1)</script> <!-- & \u{2028}",
        });
        let text = script_safe_json(&value.to_string());
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        assert!(!text.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn fill_does_not_substitute_inside_inserted_text() {
        let out = fill("a {{X}} b {{Y}}", &[("{{Y}}", "y"), ("{{X}}", "{{Y}}")]);
        assert_eq!(out, "a {{Y}} b y");
    }

    #[test]
    fn the_template_has_every_marker_once_and_no_network_reference() {
        for marker in ["{{TITLE}}", "{{CSS}}", "{{JS}}", "{{DATA}}"] {
            assert_eq!(PAGE.matches(marker).count(), 1, "{marker}");
        }
        for text in [PAGE, CSS, JS] {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
        for text in [CSS, JS] {
            assert!(
                !text.contains("</script"),
                "only the template closes its scripts"
            );
        }
        assert!(
            !JS.contains("innerHTML"),
            "text from the store is never parsed as HTML"
        );
    }
}
