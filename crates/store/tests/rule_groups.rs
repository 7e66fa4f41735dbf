//! The rules API's group table on both real backends: versions bump on every write,
//! optimistic concurrency refuses stale writers, deletions are versions too, and the history
//! keeps every version.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use store::{RuleGroupWriteError, Store};

fn postgres_url() -> String {
    std::env::var("KLAXON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn unique(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{label}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

fn conflict(result: Result<i64, RuleGroupWriteError>) -> (i64, i64) {
    match result {
        Err(RuleGroupWriteError::VersionConflict { expected, current, .. }) => (expected, current),
        other => panic!("expected a version conflict, got {other:?}"),
    }
}

async fn exercise(store: &Store) {
    assert_eq!(store.write_rule_group("f", "g", "{\"v\":1}", Some(0), at(1)).await.unwrap(), 1);
    assert_eq!(conflict(store.write_rule_group("f", "g", "{}", Some(0), at(2)).await), (0, 1));
    assert_eq!(store.write_rule_group("f", "g", "{\"v\":2}", Some(1), at(3)).await.unwrap(), 2);
    assert_eq!(conflict(store.write_rule_group("f", "g", "{}", Some(1), at(4)).await), (1, 2));
    assert_eq!(store.write_rule_group("f", "g", "{\"v\":3}", None, at(5)).await.unwrap(), 3);
    assert_eq!(store.write_rule_group("f", "h", "{\"h\":1}", None, at(6)).await.unwrap(), 1);
    let listed = store.list_rule_groups().await.unwrap();
    let summary: Vec<(&str, i64, &str)> =
        listed.iter().map(|g| (g.name.as_str(), g.version, g.body.as_str())).collect();
    assert_eq!(summary, vec![("g", 3, "{\"v\":3}"), ("h", 1, "{\"h\":1}")]);
    assert_eq!(listed[0].updated_at, at(5));
    assert_eq!(store.write_rule_group("f", "g", "", Some(3), at(7)).await.unwrap(), 4, "deleted");
    assert_eq!(conflict(store.write_rule_group("f", "g", "", None, at(8)).await), (0, 0));
    assert_eq!(store.list_rule_groups().await.unwrap().len(), 1);
    assert_eq!(
        store.write_rule_group("f", "g", "{\"v\":5}", Some(0), at(9)).await.unwrap(),
        5,
        "versions keep counting after a deletion"
    );
    let versions = store.rule_group_versions("f", "g").await.unwrap();
    let history: Vec<(i64, &str)> = versions.iter().map(|v| (v.version, v.body.as_str())).collect();
    assert_eq!(
        history,
        vec![(1, "{\"v\":1}"), (2, "{\"v\":2}"), (3, "{\"v\":3}"), (4, ""), (5, "{\"v\":5}")]
    );
}

#[tokio::test]
async fn rule_groups_on_sqlite() {
    let dir = std::env::temp_dir().join(unique("klaxon-rule-groups"));
    let store = Store::open("", &dir).await.expect("open sqlite");
    exercise(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn rule_groups_on_postgres() {
    let schema = unique("klaxon_rule_groups_test");
    let store = Store::postgres_in_schema(&postgres_url(), &schema).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {} is required (run scripts/setup.sh): {e}", postgres_url())
    });
    exercise(&store).await;
    store.close().await;
    let admin = sqlx::PgPool::connect(&postgres_url()).await.expect("connect for cleanup");
    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await.expect("drop test schema");
    admin.close().await;
}
