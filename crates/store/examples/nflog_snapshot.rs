//! Store-level benchmark: how long a full notification-log snapshot of N entries (the
//! maintenance and shutdown write) takes to upsert, re-upsert unchanged (every row skipped by
//! last-writer-wins) and load, on SQLite and on PostgreSQL. Prints one JSON line per backend.
//!
//! ```sh
//! cargo run --release -p store --example nflog_snapshot -- 100000 \
//!     postgres://postgres@127.0.0.1:5432/test
//! ```
//! Arguments: entry count (default 100000), PostgreSQL admin URL (default the test server).
//! PostgreSQL runs in a scratch schema dropped afterwards; SQLite in a scratch directory.

use std::time::Instant;

use alertmanager::nflog::nflogpb::{self, Entry, MeshEntry, Receiver, Timestamp};
use chrono::{DateTime, Utc};
use store::Store;

fn entries(count: usize, now: DateTime<Utc>) -> Vec<u8> {
    let receiver = Receiver::new("team-pager", "webhook", 0);
    let stream: Vec<MeshEntry> = (0..count)
        .map(|index| MeshEntry {
            entry: Some(Entry {
                group_key: format!(
                    "{{}}/{{severity=\"page\"}}:{{alertname=\"A{index}\", cluster=\"eu-{}\"}}",
                    index % 7
                )
                .into_bytes(),
                receiver: Some(receiver.clone()),
                timestamp: Some(Timestamp::from_time(now)),
                firing_alerts: vec![index as u64, (index as u64) << 20, 7],
                ..Entry::default()
            }),
            expires_at: Some(Timestamp::from_time(now + chrono::Duration::hours(8))),
        })
        .collect();
    nflogpb::encode_stream(&stream)
}

async fn measure(backend: &str, store: &Store, stream: &[u8], count: usize) {
    let started = Instant::now();
    let written = store.upsert_nflog(stream).await.expect("first snapshot");
    let first = started.elapsed();
    let started = Instant::now();
    let rewritten = store.upsert_nflog(stream).await.expect("unchanged snapshot");
    let unchanged = started.elapsed();
    let started = Instant::now();
    let loaded = store.load_nflog().await.expect("load");
    let load = started.elapsed();
    assert_eq!(written as usize, count);
    assert_eq!(rewritten, 0);
    assert_eq!(nflogpb::decode_stream(&loaded).expect("decodes").len(), count);
    println!(
        "{}",
        serde_json::json!({
            "backend": backend,
            "entries": count,
            "stream_bytes": stream.len(),
            "snapshot_first_s": first.as_secs_f64(),
            "snapshot_unchanged_s": unchanged.as_secs_f64(),
            "load_s": load.as_secs_f64(),
        })
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(100_000, |n| n.parse().expect("an entry count"));
    let postgres = args.next().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let stream = entries(count, Utc::now());

    let dir = std::env::temp_dir().join(format!("klaxon-nflog-bench-{}", std::process::id()));
    let sqlite = Store::open("", &dir).await.expect("open sqlite");
    measure("sqlite", &sqlite, &stream, count).await;
    sqlite.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    let schema = format!("klaxon_nflog_bench_{}", std::process::id());
    let pg = Store::postgres_in_schema(&postgres, &schema).await.expect("open postgres");
    measure("postgres", &pg, &stream, count).await;
    pg.close().await;
    let admin = sqlx::PgPool::connect(&postgres).await.expect("connect for cleanup");
    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await.expect("drop bench schema");
    admin.close().await;
}
