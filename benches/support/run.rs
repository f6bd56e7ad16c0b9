//! What a report says about its run (the machine, the load average, the commit, the Redis
//! version) and where it goes: the section of BENCHMARKS.md between its markers.

use super::*;

/// `nproc`, total memory and CPU model, from the OS.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "?".to_owned(),
            |kib| format!("{:.1}", kib / 1024.0 / 1024.0),
        );
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    format!("{cpus} CPUs (nproc), {mem_gib} GiB RAM, {model}")
}

/// The 1-minute load average (`/proc/loadavg`): other work competing for the cores.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// What a report's header names about the code and the day: the UTC date, the short commit,
/// and whether `src/`, `config/` or `Cargo.lock` had uncommitted changes.
pub struct RunIdentity {
    pub date: String,
    pub commit: String,
    pub dirty: bool,
}

impl RunIdentity {
    /// Reads them now (`date`, `git`).
    pub fn now() -> Self {
        let commit = command_output("git", &["rev-parse", "--short", "HEAD"])
            .unwrap_or_else(|| "unknown".into());
        let dirty = command_output(
            "git",
            &["status", "--porcelain", "--", "src", "config", "Cargo.lock"],
        )
        .is_some_and(|s| !s.is_empty());
        let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
            .unwrap_or_else(|| "unknown date".into());
        Self {
            date,
            commit,
            dirty,
        }
    }

    /// `" (with uncommitted changes)"` when dirty, else empty.
    pub fn dirty_note(&self) -> &'static str {
        if self.dirty {
            " (with uncommitted changes)"
        } else {
            ""
        }
    }
}

/// The version of the `redis-server` on `PATH` (`?` if unknown).
pub fn redis_version() -> String {
    command_output("redis-server", &["--version"])
        .and_then(|v| {
            v.split_whitespace()
                .find_map(|f| f.strip_prefix("v="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

/// The output of a command, trimmed, or `None`.
pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Replaces the text between `<!-- {name}:begin -->` and `<!-- {name}:end -->` in
/// `BENCHMARKS.md` (appending the section when the markers are missing).
pub fn write_report(name: &str, report: &str) {
    let (begin, end) = (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let section = format!("{begin}\n{report}{end}");
    let updated = match (current.find(&begin), current.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &current[..b], &current[e + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).expect("write BENCHMARKS.md");
    eprintln!("wrote {}", path.display());
}
