//! The store against both real backends: SQLite in a scratch directory and the PostgreSQL
//! server on 127.0.0.1:5432 (a unique schema per test, dropped afterwards). PostgreSQL being
//! unreachable fails the tests: run `scripts/setup.sh`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use alertmanager::nflog::nflogpb::{self, Entry, MeshEntry, Receiver};
use alertmanager::silence::silencepb::{self, MeshSilence, Silence, Timestamp};
use chrono::{DateTime, Utc};
use store::Store;

/// The test server's admin URL; `KLAXON_TEST_POSTGRES_URL` overrides it.
fn postgres_url() -> String {
    std::env::var("KLAXON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn unique(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{label}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A store on one backend, with whatever it needs removed on drop.
struct Scratch {
    store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Schema(String),
}

impl Scratch {
    async fn sqlite() -> Scratch {
        let dir = std::env::temp_dir().join(unique("klaxon-store"));
        let store = Store::open("", &dir).await.expect("open sqlite");
        Scratch { store, cleanup: Cleanup::Dir(dir) }
    }

    async fn postgres() -> Scratch {
        let schema = unique("klaxon_store_test");
        let store = Store::postgres_in_schema(&postgres_url(), &schema).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {} is required (run scripts/setup.sh): {e}", postgres_url())
        });
        Scratch { store, cleanup: Cleanup::Schema(schema) }
    }

    /// A second, independent handle on the same database (another process, in effect).
    async fn reopen(&self) -> Store {
        match &self.cleanup {
            Cleanup::Dir(dir) => Store::open("", dir).await.expect("reopen sqlite"),
            Cleanup::Schema(schema) => {
                Store::postgres_in_schema(&postgres_url(), schema).await.expect("reopen postgres")
            }
        }
    }

    async fn finish(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema(schema) => {
                // A plain connection: opening a `Store` would migrate the default schema,
                // which other versions of Klaxon sharing the database may have migrated further.
                let admin =
                    sqlx::PgPool::connect(&postgres_url()).await.expect("connect for cleanup");
                let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&admin)
                    .await
                    .expect("drop test schema");
                admin.close().await;
            }
        }
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 123_456_789).unwrap()
}

fn mesh_silence(id: &str, updated: i64, comment: &str) -> MeshSilence {
    MeshSilence {
        silence: Some(Silence {
            id: id.to_owned(),
            matchers: vec![silencepb::Matcher {
                r#type: silencepb::MatcherType::Equal as i32,
                name: "alertname".to_owned(),
                pattern: "Down".to_owned(),
            }],
            starts_at: Some(Timestamp::from_time(at(0))),
            ends_at: Some(Timestamp::from_time(at(3600))),
            updated_at: Some(Timestamp::from_time(at(updated))),
            created_by: "test".to_owned(),
            comment: comment.to_owned(),
            ..Silence::default()
        }),
        expires_at: Some(Timestamp::from_time(at(3600 + updated))),
    }
}

fn mesh_entry(group: &str, timestamp: i64) -> MeshEntry {
    MeshEntry {
        entry: Some(Entry {
            group_key: format!("{{}}:{{group=\"{group}\"}}").into_bytes(),
            receiver: Some(Receiver::new("team", "webhook", 0)),
            timestamp: Some(Timestamp::from_time(at(timestamp))),
            firing_alerts: vec![1, 2, 3],
            ..Entry::default()
        }),
        expires_at: Some(Timestamp::from_time(at(timestamp + 600))),
    }
}

fn loaded_silences(stream: &[u8]) -> Vec<MeshSilence> {
    silencepb::decode_stream(stream).expect("stored silences decode")
}

/// Runs one scenario on both backends.
macro_rules! both_backends {
    ($sqlite:ident, $postgres:ident, $scenario:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let scratch = Scratch::sqlite().await;
            $scenario(&scratch).await;
            scratch.finish().await;
        }

        #[tokio::test]
        async fn $postgres() {
            let scratch = Scratch::postgres().await;
            $scenario(&scratch).await;
            scratch.finish().await;
        }
    };
}

async fn round_trip(scratch: &Scratch) {
    let store = &scratch.store;
    assert!(store.load_silences().await.unwrap().is_empty());
    let a = mesh_silence("a", 1, "first");
    let b = mesh_silence("b", 2, "second");
    let mut stream = silencepb::encode_delimited(&b);
    stream.extend(silencepb::encode_delimited(&a));
    assert_eq!(store.upsert_silences(&stream).await.unwrap(), 2);
    // Another handle (a restarted process) sees the same rows, byte for byte, ordered by id.
    let other = scratch.reopen().await;
    assert_eq!(loaded_silences(&other.load_silences().await.unwrap()), vec![a, b]);
    other.close().await;
}
both_backends!(sqlite_round_trip, postgres_round_trip, round_trip);

async fn last_writer_wins(scratch: &Scratch) {
    let store = &scratch.store;
    let newer = mesh_silence("s", 10, "newer");
    store.upsert_silences(&silencepb::encode_delimited(&newer)).await.unwrap();
    // An older or equally old write never replaces the newer row.
    for (updated, comment) in [(5, "older"), (10, "same time")] {
        let stale = mesh_silence("s", updated, comment);
        let written = store.upsert_silences(&silencepb::encode_delimited(&stale)).await.unwrap();
        assert_eq!(written, 0, "{comment}");
    }
    assert_eq!(loaded_silences(&store.load_silences().await.unwrap()), vec![newer]);
    let newest = mesh_silence("s", 11, "newest");
    assert_eq!(store.upsert_silences(&silencepb::encode_delimited(&newest)).await.unwrap(), 1);
    assert_eq!(loaded_silences(&store.load_silences().await.unwrap()), vec![newest.clone()]);
    // Within one stream, the newest copy of an id wins whatever the order.
    let mut stream = silencepb::encode_delimited(&mesh_silence("t", 3, "three"));
    stream.extend(silencepb::encode_delimited(&mesh_silence("t", 2, "two")));
    store.upsert_silences(&stream).await.unwrap();
    let all = loaded_silences(&store.load_silences().await.unwrap());
    assert_eq!(all[1].silence.as_ref().unwrap().comment, "three");
}
both_backends!(sqlite_last_writer_wins, postgres_last_writer_wins, last_writer_wins);

async fn concurrent_writers(scratch: &Scratch) {
    const WRITERS: i64 = 4;
    const UPDATES: i64 = 25;
    let mut handles = Vec::new();
    for writer in 0..WRITERS {
        let store = scratch.reopen().await;
        handles.push(tokio::spawn(async move {
            // Every writer updates the shared silence and its own, interleaved with the others.
            for update in 0..UPDATES {
                let time = update * WRITERS + writer;
                let shared = mesh_silence("shared", time, &format!("w{writer} u{update}"));
                let own = mesh_silence(&format!("own{writer}"), time, "mine");
                let mut stream = silencepb::encode_delimited(&shared);
                stream.extend(silencepb::encode_delimited(&own));
                store.upsert_silences(&stream).await.expect("concurrent upsert");
            }
            store.close().await;
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let all = loaded_silences(&scratch.store.load_silences().await.unwrap());
    assert_eq!(all.len(), WRITERS as usize + 1);
    let shared = all.iter().find(|m| m.silence.as_ref().unwrap().id == "shared").unwrap();
    // Whatever the interleaving, the row holds the newest write of all.
    let newest = UPDATES * WRITERS - 1;
    assert_eq!(
        shared,
        &mesh_silence("shared", newest, &format!("w{} u{}", WRITERS - 1, UPDATES - 1))
    );
}
both_backends!(sqlite_concurrent_writers, postgres_concurrent_writers, concurrent_writers);

async fn nflog_and_gc(scratch: &Scratch) {
    let store = &scratch.store;
    let entries = [mesh_entry("a", 0), mesh_entry("b", 100)];
    store.upsert_nflog(&nflogpb::encode_stream(&entries)).await.unwrap();
    // An older entry for the same key is ignored.
    store.upsert_nflog(&nflogpb::encode_stream([&mesh_entry("a", -5)])).await.unwrap();
    let loaded = nflogpb::decode_stream(&store.load_nflog().await.unwrap()).unwrap();
    assert_eq!(loaded, entries.to_vec());
    store.upsert_silences(&silencepb::encode_delimited(&mesh_silence("s", 0, "x"))).await.unwrap();
    // Entry "a" expires at +600, the silence at +3600, entry "b" at +700.
    let removed = store.gc(at(650)).await.unwrap();
    assert_eq!((removed.silences, removed.nflog), (0, 1));
    let removed = store.gc(at(3600)).await.unwrap();
    assert_eq!((removed.silences, removed.nflog), (1, 1));
    assert!(store.load_nflog().await.unwrap().is_empty());
    assert!(store.load_silences().await.unwrap().is_empty());
}
both_backends!(sqlite_nflog_and_gc, postgres_nflog_and_gc, nflog_and_gc);

async fn rejects_garbage(scratch: &Scratch) {
    let error = scratch.store.upsert_silences(&[0x05, 0x01]).await.unwrap_err();
    assert!(error.to_string().contains("silence"), "{error}");
    assert!(scratch.store.load_silences().await.unwrap().is_empty());
}
both_backends!(sqlite_rejects_garbage, postgres_rejects_garbage, rejects_garbage);

#[tokio::test]
async fn invalid_schema_names_are_refused() {
    let error = Store::postgres_in_schema(&postgres_url(), "x; DROP TABLE y").await.unwrap_err();
    assert!(matches!(error, store::StoreError::InvalidSchema(_)));
}

async fn binary_group_keys(scratch: &Scratch) {
    let mut binary = mesh_entry("x", 0);
    binary.entry.as_mut().unwrap().group_key = vec![0xff, 0xfe, b':'];
    let text = mesh_entry("x", 0);
    let stream = nflogpb::encode_stream([&binary, &text]);
    assert_eq!(scratch.store.upsert_nflog(&stream).await.unwrap(), 2);
    let loaded = nflogpb::decode_stream(&scratch.store.load_nflog().await.unwrap()).unwrap();
    assert_eq!(loaded.len(), 2);
    assert!(loaded.contains(&binary) && loaded.contains(&text));
}
both_backends!(sqlite_binary_group_keys, postgres_binary_group_keys, binary_group_keys);

async fn polls_changes_since(scratch: &Scratch) {
    let store = &scratch.store;
    let mut stream = silencepb::encode_delimited(&mesh_silence("a", 1, "one"));
    stream.extend(silencepb::encode_delimited(&mesh_silence("b", 3, "three")));
    store.upsert_silences(&stream).await.unwrap();
    let (all, newest) = store.silences_updated_since(i64::MIN).await.unwrap();
    assert_eq!(loaded_silences(&all).len(), 2);
    assert_eq!(newest, Some(store::unix_nanos(at(3))));
    // Only rows changed after the cursor come back, oldest change first.
    let c = mesh_silence("c", 2, "late writer");
    let a = mesh_silence("a", 4, "updated");
    let mut stream = silencepb::encode_delimited(&c);
    stream.extend(silencepb::encode_delimited(&a));
    store.upsert_silences(&stream).await.unwrap();
    let (changed, newest) = store.silences_updated_since(store::unix_nanos(at(1))).await.unwrap();
    let ids: Vec<String> =
        loaded_silences(&changed).into_iter().map(|m| m.silence.unwrap().id).collect();
    assert_eq!(ids, ["c", "b", "a"]);
    assert_eq!(newest, Some(store::unix_nanos(at(4))));
    let (nothing, newest) = store.silences_updated_since(store::unix_nanos(at(4))).await.unwrap();
    assert!(nothing.is_empty());
    assert_eq!(newest, None);
}
both_backends!(sqlite_polls_changes_since, postgres_polls_changes_since, polls_changes_since);

async fn large_batches(scratch: &Scratch) {
    // More rows than one statement carries, so several statements share the transaction.
    let entries: Vec<MeshEntry> = (0..1201).map(|i| mesh_entry(&format!("g{i}"), 10)).collect();
    let stream = nflogpb::encode_stream(&entries);
    assert_eq!(scratch.store.upsert_nflog(&stream).await.unwrap(), 1201);
    assert_eq!(scratch.store.upsert_nflog(&stream).await.unwrap(), 0, "nothing newer");
    let loaded = nflogpb::decode_stream(&scratch.store.load_nflog().await.unwrap()).unwrap();
    assert_eq!(loaded.len(), 1201);
}
both_backends!(sqlite_large_batches, postgres_large_batches, large_batches);

fn stored_alert(name: &str, updated: i64, ends: i64) -> std::sync::Arc<model::Alert> {
    let offset = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
    std::sync::Arc::new(model::Alert {
        labels: model::LabelSet::from_pairs([("alertname", name), ("job", "node")]),
        annotations: model::LabelSet::from_pairs([("summary", format!("updated at {updated}"))]),
        starts_at: at(0).with_timezone(&offset),
        ends_at: at(ends).with_timezone(&offset),
        generator_url: std::sync::Arc::new("http://prometheus/graph".to_owned()),
        updated_at: at(updated),
        timeout: false,
    })
}

async fn alert_log_and_table(scratch: &Scratch) {
    let store = &scratch.store;
    assert!(store.load_alerts().await.unwrap().is_empty());
    // Table rows from a snapshot, then commits appended to the log: per fingerprint the
    // newest copy wins wherever it is, and an older log entry does not undo a newer row.
    store.upsert_alerts(&[stored_alert("A", 5, 100), stored_alert("B", 20, 100)]).await.unwrap();
    store.append_alerts(&[stored_alert("A", 10, 100), stored_alert("B", 10, 100)]).await.unwrap();
    store.append_alerts(&[stored_alert("A", 30, 40), stored_alert("C", 1, 100)]).await.unwrap();
    store.append_alerts(&[]).await.unwrap();
    let expected = {
        let mut alerts: Vec<model::Alert> =
            [stored_alert("A", 30, 40), stored_alert("B", 20, 100), stored_alert("C", 1, 100)]
                .iter()
                .map(|a| (**a).clone())
                .collect();
        alerts.sort_by_key(model::Alert::fingerprint);
        alerts
    };
    // Another handle (a restarted process) sees the same, offsets included.
    let other = scratch.reopen().await;
    let loaded = other.load_alerts().await.unwrap();
    assert_eq!(loaded, expected);
    assert!(loaded.iter().all(|a| a.ends_at.offset().local_minus_utc() == 7200));
    // A commit appended by another instance while one compacts is kept either way (SQLite
    // has one instance per file: there the same instance appends).
    assert_eq!(store.compact_alert_log().await.unwrap(), 2);
    let appender = if matches!(store, Store::Postgres(_)) { &other } else { store };
    appender.append_alerts(&[stored_alert("C", 50, 100)]).await.unwrap();
    assert_eq!(store.compact_alert_log().await.unwrap(), 1);
    assert_eq!(store.compact_alert_log().await.unwrap(), 0, "the log is empty");
    let mut expected = expected;
    expected.iter_mut().filter(|a| a.labels.get("alertname") == Some("C")).for_each(|a| {
        *a = (*stored_alert("C", 50, 100)).clone();
    });
    assert_eq!(other.load_alerts().await.unwrap(), expected);
    // Folded rows are ordinary table rows: the GC collects long-resolved ones.
    let removed = store.gc(at(40) + store::RESOLVED_ALERTS_KEPT).await.unwrap();
    assert_eq!(removed.alerts, 1);
    assert_eq!(other.load_alerts().await.unwrap().len(), 2);
    other.close().await;
}
both_backends!(sqlite_alert_log_and_table, postgres_alert_log_and_table, alert_log_and_table);

async fn corrupt_alert_log(scratch: &Scratch) {
    scratch.store.append_alerts(&[stored_alert("A", 1, 100)]).await.unwrap();
    let sql = "INSERT INTO alert_log (body) VALUES ($1)";
    let garbage = &b"\x01\x05"[..];
    match &scratch.store {
        Store::Sqlite { pool, .. } => sqlx::query(sql).bind(garbage).execute(pool).await.map(drop),
        Store::Postgres(pool) => sqlx::query(sql).bind(garbage).execute(pool).await.map(drop),
    }
    .unwrap();
    let error = scratch.store.load_alerts().await.unwrap_err().to_string();
    assert!(error.contains("alert_log"), "{error}");
    assert!(scratch.store.compact_alert_log().await.is_err());
}
both_backends!(sqlite_corrupt_alert_log, postgres_corrupt_alert_log, corrupt_alert_log);

#[tokio::test]
async fn sqlite_journal_cut_short_keeps_what_reads() {
    let scratch = Scratch::sqlite().await;
    let store = &scratch.store;
    store.append_alerts(&[stored_alert("A", 1, 100)]).await.unwrap();
    store.append_alerts(&[stored_alert("B", 1, 100)]).await.unwrap();
    // A power cut during the second write: its record is cut short.
    let journal = store.alert_journal().expect("SQLite has a journal");
    let segment = std::fs::read_dir(journal.dir()).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&segment).unwrap();
    std::fs::write(&segment, &bytes[..bytes.len() - 3]).unwrap();
    let other = scratch.reopen().await;
    let names: Vec<String> = other
        .load_alerts()
        .await
        .unwrap()
        .iter()
        .map(|a| a.labels.get("alertname").unwrap().to_owned())
        .collect();
    assert_eq!(names, ["A"]);
    // The fold keeps the readable record and removes the damaged segment.
    assert_eq!(other.compact_alert_log().await.unwrap(), 1);
    assert_eq!(std::fs::read_dir(journal.dir()).unwrap().count(), 0);
    assert_eq!(other.load_alerts().await.unwrap().len(), 1);
    other.close().await;
    scratch.finish().await;
}
