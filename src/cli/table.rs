//! Plain-text tables, CSV and JSON for rows read from the store's views.

use rusqlite::types::Value as Sql;

/// Rows read from a view: column names and values.
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Sql>>,
}

fn text(v: &Sql) -> String {
    match v {
        Sql::Null => String::new(),
        Sql::Integer(i) => i.to_string(),
        Sql::Real(x) => format_real(*x),
        Sql::Text(s) => s.clone(),
        Sql::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

/// Six significant digits, without trailing zeros.
fn format_real(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let digits = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl Rows {
    /// An aligned table for a person.
    pub fn table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(text).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|j| {
                cells
                    .iter()
                    .map(|r| r[j].chars().count())
                    .chain([self.columns[j].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |r: &[String]| {
            r.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut out = vec![line(&self.columns)];
        out.push(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("  "),
        );
        out.extend(cells.iter().map(|r| line(r)));
        out.join("\n")
    }

    pub fn csv(&self) -> String {
        let quote = |s: String| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        };
        let mut out = vec![
            self.columns
                .iter()
                .cloned()
                .map(quote)
                .collect::<Vec<_>>()
                .join(","),
        ];
        for r in &self.rows {
            out.push(
                r.iter()
                    .map(|v| quote(text(v)))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        out.join("\n")
    }

    /// One JSON object per row, keyed by column.
    pub fn json(&self) -> serde_json::Value {
        let row = |r: &Vec<Sql>| {
            let map = self.columns.iter().zip(r).map(|(c, v)| {
                let j = match v {
                    Sql::Null => serde_json::Value::Null,
                    Sql::Integer(i) => (*i).into(),
                    Sql::Real(x) => {
                        serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into)
                    }
                    Sql::Text(s) => s.clone().into(),
                    Sql::Blob(b) => format!("<{} bytes>", b.len()).into(),
                };
                (c.clone(), j)
            });
            serde_json::Value::Object(map.collect())
        };
        serde_json::Value::Array(self.rows.iter().map(row).collect())
    }
}

/// How to print rows.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct Format {
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
}

impl Format {
    pub fn print(self, rows: &Rows) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&rows.json()).expect("rows serialize")
            );
        } else if self.csv {
            println!("{}", rows.csv());
        } else {
            println!("{}", rows.table());
        }
    }
}
