//! `bench_logs`: the admin Logs API at 1M and 10M logs (issue 3's acceptance benchmark).
//!
//! - [`args`]: the command line.
//! - [`rng`]: a small deterministic PRNG, so that every run loads the same logs.
//! - [`data`]: the synthetic logs (providers, models, senders, metadata, bodies).
//! - [`load`]: loading a database through `LogInserter`, reusing a kept one, its size per table.
//! - [`server`]: the real admin router in-process, and a keep-alive hyper client.
//! - [`cases`]: the queries measured, each sample with its own parameters.
//! - [`explain`]: the store's SQL steps timed one by one, with their plans (`--explain`).
//! - [`report`]: percentiles and the table of targets.

pub mod args;
pub mod cases;
pub mod data;
pub mod explain;
pub mod load;
pub mod report;
pub mod rng;
pub mod server;
