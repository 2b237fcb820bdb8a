//! A minimal writer of the Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE`
//! once per family, then its samples, label values escaped.

use std::fmt::Write;

/// A metric family's type, as written on its `# TYPE` line.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Monotonic since the store was created.
    Counter,
    /// Can go up and down.
    Gauge,
    /// `_bucket{le}`, `_sum`, `_count` samples.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// The exposition being written.
#[derive(Default)]
pub(crate) struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line `name{labels} value`.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (index, (label, value)) in labels.iter().enumerate() {
                if index > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label_value(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", format_value(value));
    }

    /// The finished text.
    pub(crate) fn finish(self) -> String {
        self.text
    }
}

/// Escapes `\`, `"` and newline as the text format requires inside label values.
pub(crate) fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Integers without a fraction, everything else as Rust prints floats; `+Inf` for infinity.
fn format_value(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// The `le` label of a bucket bound; `None` is `+Inf`.
pub(crate) fn le(bound: Option<u64>) -> String {
    bound.map_or_else(|| "+Inf".to_owned(), |bound| bound.to_string())
}
