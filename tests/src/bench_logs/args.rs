//! The command line of `bench_logs`.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(about = "Admin Logs API benchmark: loads N synthetic logs into one gateway, then measures \
                   list/search/meta_info/delete latency over HTTP against the real admin router")]
pub struct Args {
    /// Database sizes to run, in logs, in order.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1_000_000u64, 10_000_000])]
    pub sizes: Vec<u64>,
    /// Keep each loaded database in DIR (`DIR/logs-N.db`) and reuse it on later runs instead of
    /// loading again. Without it the databases go to a temporary directory under /tmp.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Timed requests per query (after the warm-up).
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Untimed requests per query before the timed ones.
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// Timed bulk deletes (DELETE with a filter and `limit`), run after every read query.
    #[arg(long, default_value_t = 40)]
    pub deletes: usize,
    /// `limit` of each bulk delete.
    #[arg(long, default_value_t = 1000)]
    pub delete_limit: u32,
    /// Per query, how many of the samples are also timed as a direct store call (no HTTP), to
    /// tell the query's cost from the API's. 0 turns it off.
    #[arg(long, default_value_t = 50)]
    pub store_samples: usize,
    /// Records per `insert_batch` (one transaction each).
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// The logs span this many days, ending at the load time.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Store no request/response bodies (by default every log has small ones).
    #[arg(long)]
    pub no_bodies: bool,
    /// Before each query, wait up to this long for other processes to use less than a quarter
    /// of a core (the `other` column says how busy the machine was meanwhile). 0: do not wait.
    #[arg(long, default_value_t = 30)]
    pub wait_quiet_secs: u64,
    /// After loading, time the SQL steps of the store's plans one by one, with their query plans
    /// (diagnosis of slow queries).
    #[arg(long)]
    pub explain: bool,
    /// Skip the HTTP measurements (e.g. with `--explain`, or to only load `--keep` databases).
    #[arg(long)]
    pub skip_http: bool,
    /// Run only the queries whose name contains this text (e.g. `--only "first page"`).
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
    /// Skip the per-table size breakdown (`dbstat` walks every page of the file).
    #[arg(long)]
    pub no_dbstat: bool,
    /// After each query's row, print its N slowest timed requests (time and query string).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub slowest: usize,
}
