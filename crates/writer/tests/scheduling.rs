//! The scheduling class of the writer's threads, read from `/proc`. A test file of its own: its
//! process runs no other writer whose threads could be caught half-started.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_core::config::WriterConfig;
use aigw_store::LogInserter;
use aigw_writer::Writer;

/// The `policy` of each of this process's threads named `name` (0 `SCHED_OTHER`, 5 `SCHED_IDLE`).
fn policies(name: &str) -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap().flatten();
    tasks
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            (comm.trim() == name).then_some(())?;
            let sched = std::fs::read_to_string(task.path().join("sched")).ok()?;
            let line = sched.lines().find(|l| l.starts_with("policy"))?;
            Some(line.rsplit(':').next()?.trim().to_string())
        })
        .collect()
}

/// The checkpoint thread yields every core the proxy wants; the writer never does (it would
/// fall behind under load and drop records).
#[test]
fn the_checkpoint_thread_runs_in_the_idle_scheduling_class_and_the_writer_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let inserter = LogInserter::new(aigw_store::open_write(&dir.path().join("aigw.db")).unwrap()).unwrap();
    let writer = Writer::start(inserter, &WriterConfig::default()).unwrap();
    assert_eq!(policies("aigw-checkpoint"), ["5"], "SCHED_IDLE");
    // The writer thread names itself as it starts: once it answered a flush, it has.
    let handle = writer.handle();
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(handle.flush());
    assert_eq!(policies("aigw-writer"), ["0"], "the writer keeps SCHED_OTHER");
    writer.shutdown();
}
