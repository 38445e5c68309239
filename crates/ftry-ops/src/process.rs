//! What Linux's /proc says about this process: CPU time, memory, open files.

/// Zeros where /proc cannot be read (another operating system).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessUsage {
    /// User plus system CPU time.
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    /// Peak resident memory since the process started.
    pub peak_resident_bytes: u64,
    pub open_fds: u64,
}

impl ProcessUsage {
    pub fn read() -> Self {
        // Clock ticks are 100 per second on Linux.
        let cpu_seconds = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| {
                // The fields after the command name, which may hold spaces.
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                let user: f64 = fields.get(11)?.parse().ok()?;
                let system: f64 = fields.get(12)?.parse().ok()?;
                Some((user + system) / 100.0)
            })
            .unwrap_or(0.0);
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .map_or(0, |kib| kib * 1024)
        };
        Self {
            cpu_seconds,
            resident_bytes: kib("VmRSS:"),
            peak_resident_bytes: kib("VmHWM:"),
            open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64),
        }
    }
}
