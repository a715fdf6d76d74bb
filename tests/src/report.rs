//! The Markdown `make bench` (src/bin/bench) writes: numbered sections, paragraphs, tables,
//! and the lines `scripts/bench` lifts into the page's header (`MACHINE`)
//! and its goals table (`SUMMARY`).

use std::time::Duration;

#[derive(Debug, Default)]
pub struct Report {
    machine: String,
    goals: Vec<(String, String)>,
    body: String,
    sections: usize,
}

impl Report {
    pub fn new(machine: String) -> Self {
        Self { machine, ..Self::default() }
    }

    /// A numbered `##` section.
    pub fn section(&mut self, title: &str) {
        self.sections += 1;
        self.body.push_str(&format!("## {}. {title}\n\n", self.sections));
    }

    pub fn subsection(&mut self, title: &str) {
        self.body.push_str(&format!("### {title}\n\n"));
    }

    pub fn paragraph(&mut self, text: &str) {
        self.body.push_str(text);
        self.body.push_str("\n\n");
    }

    pub fn table(&mut self, table: Table) {
        self.body.push_str(&table.markdown());
    }

    /// A row of the goals table at the top of BENCHMARKS.md.
    pub fn goal(&mut self, goal: impl Into<String>, measured: impl Into<String>) {
        self.goals.push((goal.into(), measured.into()));
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("MACHINE {}\n", self.machine);
        for (goal, measured) in &self.goals {
            out.push_str(&format!("SUMMARY | {goal} | {measured} |\n"));
        }
        out.push_str(&self.body);
        out
    }
}

/// A Markdown table; every row has the header's width.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        assert_eq!(row.len(), self.header.len(), "a row of {:?}", self.header);
        self.rows.push(row);
    }

    fn markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut out = line(&self.header);
        out.push_str(&line(&vec!["---".to_owned(); self.header.len()]));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out.push('\n');
        out
    }
}

/// Timings, sorted once, read by percentile.
#[derive(Debug)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        Self(samples)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        self.0[((self.0.len() as f64 - 1.0) * p).round() as usize]
    }

    pub fn p50(&self) -> Duration {
        self.percentile(0.5)
    }

    pub fn p90(&self) -> Duration {
        self.percentile(0.9)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(0.99)
    }

    /// How many samples: never zero (`new` refuses none).
    pub fn count(&self) -> usize {
        self.0.len()
    }
}

pub fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// A difference of two timings, which noise can make negative.
pub fn micros_delta(later: Duration, earlier: Duration) -> String {
    format!("{:+.0} µs", (later.as_secs_f64() - earlier.as_secs_f64()) * 1e6)
}

pub fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_renders_header_rule_and_rows() {
        let mut table = Table::new(&["a", "b"]);
        table.row(["1", "2"]);
        assert_eq!(table.markdown(), "| a | b |\n| --- | --- |\n| 1 | 2 |\n\n");
    }

    #[test]
    #[should_panic(expected = "a row of")]
    fn a_row_of_the_wrong_width_is_refused() {
        Table::new(&["a", "b"]).row(["1"]);
    }

    #[test]
    fn sections_are_numbered_and_goals_come_first() {
        let mut report = Report::new("2 cores".to_owned());
        report.section("One");
        report.goal("g", "m");
        report.section("Two");
        assert_eq!(report.markdown(), "MACHINE 2 cores\nSUMMARY | g | m |\n## 1. One\n\n## 2. Two\n\n");
    }

    #[test]
    fn percentiles_read_the_sorted_samples() {
        let samples = Samples::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(samples.p50(), Duration::from_millis(51));
        assert_eq!(samples.p99(), Duration::from_millis(99));
    }
}
