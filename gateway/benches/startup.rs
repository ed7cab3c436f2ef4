//! Start-up benchmark: territory parsing, first start (migrations, territory load, seed),
//! second start on the same data, territory search latency, and memory.
//!
//! Run with `cargo bench --bench startup` (SQLite in a temporary directory), or with
//! `DATABASE_URL=postgres://…/empty_db cargo bench --bench startup` for PostgreSQL.

use std::time::{Duration, Instant};

use catalog::Territories;
use guichet::app;
use guichet::config::Settings;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Resident and peak resident memory of this process, in MiB (Linux).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let parse = median(
        (0..5)
            .map(|_| {
                let start = Instant::now();
                let t = Territories::embedded();
                assert!(t.len() > 36_000);
                start.elapsed()
            })
            .collect(),
    );
    println!(
        "territory file parse and index (median of 5): {}",
        ms(parse)
    );

    let dir = tempfile::TempDir::new().unwrap();
    let settings = Settings::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    let backend = if settings.is_sqlite() {
        "SQLite"
    } else {
        "PostgreSQL"
    };

    let start = Instant::now();
    let state = runtime
        .block_on(app::prepare(settings.clone(), false))
        .unwrap();
    let first = start.elapsed();
    println!(
        "first start on an empty {backend} database (migrate, load territories, seed): {}",
        ms(first)
    );
    drop(state);

    // Mark the territory table stale to time its reload alone.
    let territories = Territories::embedded();
    let db = runtime
        .block_on(catalog::db::connect(&settings.database_url))
        .unwrap();
    runtime
        .block_on(catalog::entity::meta::set(
            &db,
            "territories_version",
            "stale",
        ))
        .unwrap();
    let start = Instant::now();
    runtime
        .block_on(catalog::territory::sync_to_database(&db, &territories))
        .unwrap();
    println!(
        "territory load into {backend} ({} rows, one transaction): {}",
        territories.len(),
        ms(start.elapsed())
    );
    drop(db);

    let second = median(
        (0..5)
            .map(|_| {
                let start = Instant::now();
                let state = runtime
                    .block_on(app::prepare(settings.clone(), false))
                    .unwrap();
                let elapsed = start.elapsed();
                drop(state);
                elapsed
            })
            .collect(),
    );
    println!(
        "second start on the same data, ready to serve (median of 5): {}",
        ms(second)
    );

    let queries = [
        "chaumont",
        "st dizier",
        "52000",
        "ile d yeu",
        "saint",
        "la",
        "grand est",
        "200068658",
    ];
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for q in queries {
            std::hint::black_box(territories.search(q, 10));
        }
    }
    let per_query = start.elapsed() / (rounds * queries.len() as u32);
    println!(
        "territory search, mean over {} queries: {:.3} ms",
        rounds * queries.len() as u32,
        per_query.as_secs_f64() * 1000.0
    );

    let (rss, peak) = memory();
    println!("memory of this process: {rss:.0} MiB resident, {peak:.0} MiB peak");
}
