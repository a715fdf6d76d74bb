//! The machine the benchmark ran on, as it detects it.

use std::fmt;

#[derive(Debug)]
pub struct Machine {
    /// CPUs this process may run on (affinity and cgroup limits applied).
    pub cores: usize,
    cpu: String,
    memory_kib: u64,
    kernel: String,
    /// The one-minute load average when the run began: other work on the
    /// machine inflates every timing.
    load: String,
}

impl Machine {
    pub fn detect() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default()
        };
        let meminfo = read("/proc/meminfo");
        Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu: field(&read("/proc/cpuinfo"), "model name"),
            memory_kib: field(&meminfo, "MemTotal").trim_end_matches(" kB").parse().unwrap_or(0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            load: read("/proc/loadavg").split_whitespace().next().unwrap_or("unknown").to_owned(),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpu = if self.cpu.is_empty() { "CPU model unknown" } else { &self.cpu };
        write!(
            f,
            "{} cores ({cpu}), {:.0} GiB, Linux {}; load average {} when the run began",
            self.cores,
            self.memory_kib as f64 / (1024.0 * 1024.0),
            self.kernel,
            self.load
        )
    }
}
