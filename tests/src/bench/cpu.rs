//! CPU time, from `/proc`: what the system under test spent per request, and how much CPU
//! processes outside the bench used meanwhile (on a shared machine, a busy neighbour makes every
//! figure noisy; this says when that happened).

use std::time::Instant;

/// Linux reports CPU time in clock ticks of 1/100 s (`USER_HZ`, fixed at 100 on every
/// mainstream architecture).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    /// Busy ticks of the whole machine (every state but idle and iowait).
    machine: u64,
    /// Ticks of each watched process (`None` = this process), all threads.
    processes: Vec<u64>,
    /// Ticks of the threads named [`WRITER_THREAD`] in each watched process.
    writers: Vec<u64>,
}

/// The name of aigw's SQLite writer thread.
pub const WRITER_THREAD: &str = "aigw-writer";

/// CPU use between two snapshots.
#[derive(Debug, Clone)]
pub struct Usage {
    /// Seconds of CPU each watched process used.
    pub seconds: Vec<f64>,
    /// Of which its writer thread.
    pub writer_seconds: Vec<f64>,
    /// Cores' worth of CPU used by processes other than the watched ones.
    pub foreign_cores: f64,
}

pub fn snapshot(pids: &[Option<u32>]) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        machine: machine_ticks().unwrap_or(0),
        processes: pids.iter().map(|&p| process_ticks(p).unwrap_or(0)).collect(),
        writers: pids.iter().map(|&p| thread_ticks(p, WRITER_THREAD)).collect(),
    }
}

impl Snapshot {
    /// CPU used since `self`, for the same processes.
    pub fn until(&self, later: &Snapshot) -> Usage {
        let delta = |a: &[u64], b: &[u64]| -> Vec<f64> {
            a.iter().zip(b).map(|(a, b)| b.saturating_sub(*a) as f64 / TICKS_PER_SECOND).collect()
        };
        let seconds = delta(&self.processes, &later.processes);
        let writer_seconds = delta(&self.writers, &later.writers);
        let machine = later.machine.saturating_sub(self.machine) as f64 / TICKS_PER_SECOND;
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        Usage { foreign_cores: (machine - seconds.iter().sum::<f64>()).max(0.0) / wall, seconds, writer_seconds }
    }
}

/// Cores' worth of CPU other processes use while the machine counts as quiet.
const QUIET_CORES: f64 = 0.25;

/// Waits until processes other than this one use less than [`QUIET_CORES`] for two 1 s samples
/// in a row, or `limit` passes. Returns the last sample's foreign use.
pub async fn wait_quiet(limit: std::time::Duration) -> f64 {
    let deadline = Instant::now() + limit;
    let mut quiet_in_a_row = 0;
    let mut last = 0.0;
    while quiet_in_a_row < 2 && Instant::now() < deadline {
        let before = snapshot(&[None]);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        last = before.until(&snapshot(&[None])).foreign_cores;
        quiet_in_a_row = if last < QUIET_CORES { quiet_in_a_row + 1 } else { 0 };
    }
    last
}

/// The first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal ...`.
fn machine_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = text.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let busy = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum();
    Some(busy)
}

fn proc_dir(pid: Option<u32>) -> String {
    pid.map_or_else(|| "/proc/self".to_string(), |p| format!("/proc/{p}"))
}

fn process_ticks(pid: Option<u32>) -> Option<u64> {
    stat_ticks(&format!("{}/stat", proc_dir(pid)))
}

/// Ticks of the threads of `pid` named `name` (0 if none).
fn thread_ticks(pid: Option<u32>, name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("{}/task", proc_dir(pid))) else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name))
        .filter_map(|t| stat_ticks(&t.path().join("stat").to_string_lossy()))
        .sum()
}

/// `utime + stime` from a `stat` file (fields 14 and 15; the name in field 2 may hold
/// spaces, so fields are counted after its closing parenthesis).
fn stat_ticks(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_the_machine_have_counters() {
        assert!(machine_ticks().is_some_and(|t| t > 0));
        assert!(process_ticks(None).is_some());
        let a = snapshot(&[None]);
        // Burn a little CPU so the counters move.
        let mut x = 0u64;
        while a.at.elapsed().as_millis() < 50 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let usage = a.until(&snapshot(&[None]));
        assert!(x > 0 && usage.seconds.len() == 1 && usage.foreign_cores >= 0.0);
    }
}
