//! The Prometheus text exposition format (0.0.4), written by hand: families of samples, each
//! with its HELP and TYPE lines, label values escaped, floats spelled as Prometheus reads them.
use std::fmt::Write as _;

/// The Content-Type of a page in this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family's values mean to Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A count that only grows (its name ends in `_total`).
    Counter,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One metric name, its help, and its samples (one per label set).
#[derive(Debug)]
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    /// Adds a sample with these labels (besides the page's common labels).
    pub fn sample(&mut self, labels: &[(&'static str, &str)], value: f64) -> &mut Self {
        let labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.samples.push((labels, value));
        self
    }
}

/// A page of families, every sample carrying `common` labels first.
#[derive(Debug, Default)]
pub struct Page {
    common: Vec<(&'static str, String)>,
    families: Vec<Family>,
}

impl Page {
    pub fn with_labels(common: &[(&'static str, &str)]) -> Self {
        Page {
            common: common.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            families: Vec::new(),
        }
    }

    pub fn gauge(&mut self, name: &'static str, help: &'static str) -> &mut Family {
        self.family(name, help, Kind::Gauge)
    }

    pub fn counter(&mut self, name: &'static str, help: &'static str) -> &mut Family {
        debug_assert!(name.ends_with("_total"), "{name}: a counter ends in _total");
        self.family(name, help, Kind::Counter)
    }

    fn family(&mut self, name: &'static str, help: &'static str, kind: Kind) -> &mut Family {
        self.families.push(Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("just pushed")
    }

    /// The page's text; a family without samples is left out.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in self.families.iter().filter(|f| !f.samples.is_empty()) {
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.word());
            for (labels, value) in &f.samples {
                let all: Vec<String> = self
                    .common
                    .iter()
                    .chain(labels)
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect();
                let labels = if all.is_empty() {
                    String::new()
                } else {
                    format!("{{{}}}", all.join(","))
                };
                let _ = writeln!(out, "{}{labels} {}", f.name, number(*value));
            }
        }
        out
    }
}

/// A label value: backslash, double quote and newline escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A HELP text: backslash and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A value as Prometheus spells it: integers without a fraction, NaN, +Inf, -Inf.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// 1 for true, 0 for false.
pub fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_help_type_and_escaped_labelled_samples() {
        let mut page = Page::with_labels(&[("cluster", "shop")]);
        page.gauge("mysqlha_member_ready", "Whether the member's pod is ready.")
            .sample(&[("member", "shop-0")], 1.0)
            .sample(&[("member", "odd\"name\\\n")], 0.0);
        page.counter("mysqlha_failovers_total", "Failovers.")
            .sample(&[], 3.0);
        page.gauge("mysqlha_unseen", "No sample: left out.");
        assert_eq!(
            page.render(),
            "# HELP mysqlha_member_ready Whether the member's pod is ready.\n\
             # TYPE mysqlha_member_ready gauge\n\
             mysqlha_member_ready{cluster=\"shop\",member=\"shop-0\"} 1\n\
             mysqlha_member_ready{cluster=\"shop\",member=\"odd\\\"name\\\\\\n\"} 0\n\
             # HELP mysqlha_failovers_total Failovers.\n\
             # TYPE mysqlha_failovers_total counter\n\
             mysqlha_failovers_total{cluster=\"shop\"} 3\n"
        );
    }

    #[test]
    fn values_are_spelled_as_prometheus_reads_them() {
        let cases = [
            (1.0, "1"),
            (0.0, "0"),
            (0.25, "0.25"),
            (1_700_000_000.0, "1700000000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (-2.5, "-2.5"),
        ];
        for (v, want) in cases {
            assert_eq!(number(v), want, "{v}");
        }
        let mut bare = Page::default();
        bare.gauge("up_like", "x").sample(&[], 1.0);
        assert!(bare.render().ends_with("up_like 1\n"));
    }
}
