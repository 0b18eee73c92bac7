//! A progress line on stderr: redrawn in place on a terminal, one line per step otherwise.

use std::io::{IsTerminal, Write};

pub struct Progress {
    tty: bool,
    total: usize,
    done: usize,
    failed: usize,
    label: String,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: usize) -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            total,
            done: 0,
            failed: 0,
            label: label.into(),
        }
    }

    /// One evaluation finished.
    pub fn step(&mut self, ok: bool, error: Option<&str>) {
        if ok {
            self.done += 1;
        } else {
            self.failed += 1;
        }
        let n = self.done + self.failed;
        let width = 30;
        let filled = (n * width).checked_div(self.total).unwrap_or(width);
        let bar = format!(
            "[{}{}]",
            "#".repeat(filled),
            ".".repeat(width - filled.min(width))
        );
        let line = format!(
            "{} {bar} {n}/{} evaluated, {} failed",
            self.label, self.total, self.failed
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r{line}");
            if n == self.total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(
                err,
                "{line}{}",
                error.map_or(String::new(), |e| format!(" (last failure: {e})"))
            );
        }
        let _ = err.flush();
    }
}
