//! The alert generator's tables on both real backends (SQLite in a scratch directory, the
//! PostgreSQL server on 127.0.0.1:5432 in a unique schema dropped afterwards).

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use store::{HistoryEntry, HistoryQuery, RuleStateRow, Store};

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

fn entry(name: &str, labels: &str, current: &str, seconds: i64, instance: &str) -> HistoryEntry {
    HistoryEntry {
        rule_key: format!("rules.yml:g:0:{name}"),
        rule_name: name.to_owned(),
        labels: labels.to_owned(),
        previous: "inactive".to_owned(),
        current: current.to_owned(),
        value: 1.5,
        at: at(seconds),
        instance: instance.to_owned(),
    }
}

async fn exercise(store: &Store) {
    store.save_rule_state("k", "[1]", at(10)).await.unwrap();
    store.save_rule_state("k", "[0]", at(5)).await.unwrap();
    assert_eq!(
        store.load_rule_states().await.unwrap(),
        vec![("k".into(), "[1]".into())],
        "an older state never overwrites"
    );
    store.save_rule_state("k", "[2]", at(20)).await.unwrap();
    assert_eq!(store.load_rule_states().await.unwrap(), vec![("k".into(), "[2]".into())]);
    store.save_rule_state("other", "[3]", at(20)).await.unwrap();
    let keys = ["k".to_owned(), "missing".to_owned()];
    assert_eq!(
        store.load_rule_states_for(&keys).await.unwrap(),
        vec![("k".into(), "[2]".into())],
        "only the keys asked for, and only those stored"
    );
    // A batch is one transaction; each row still loses to a newer stored one.
    let batch = [
        RuleStateRow { rule_key: "k", data: "[4]", evaluated_at: at(15) },
        RuleStateRow { rule_key: "other", data: "[5]", evaluated_at: at(30) },
        RuleStateRow { rule_key: "third", data: "[6]", evaluated_at: at(30) },
    ];
    store.save_rule_states(&batch).await.unwrap();
    let mut states = store.load_rule_states().await.unwrap();
    states.sort();
    assert_eq!(
        states,
        vec![
            ("k".into(), "[2]".into()),
            ("other".into(), "[5]".into()),
            ("third".into(), "[6]".into())
        ]
    );

    let entries = vec![
        entry("Down", r#"{"alertname":"Down","instance":"a"}"#, "pending", 1, "i1"),
        entry("Down", r#"{"alertname":"Down","instance":"a"}"#, "pending", 1, "i2"),
        entry("Down", r#"{"alertname":"Down","instance":"b"}"#, "firing", 2, "i1"),
        entry("Warm", r#"{"alertname":"Warm","room":"a"}"#, "firing", 3, "i1"),
    ];
    store.append_history(&entries).await.unwrap();
    let all =
        store.query_history(&HistoryQuery { limit: 100, ..HistoryQuery::default() }).await.unwrap();
    assert_eq!(all, entries);
    let by_rule_and_label = HistoryQuery {
        rule_name: "Down".into(),
        labels: vec![("instance".into(), "a".into())],
        limit: 100,
        ..HistoryQuery::default()
    };
    let found = store.query_history(&by_rule_and_label).await.unwrap();
    assert_eq!(found.iter().map(|e| e.instance.as_str()).collect::<Vec<_>>(), vec!["i1", "i2"]);
    let by_time =
        HistoryQuery { from: Some(at(2)), to: Some(at(2)), limit: 100, ..HistoryQuery::default() };
    assert_eq!(store.query_history(&by_time).await.unwrap(), vec![entries[2].clone()]);
    let limited = HistoryQuery { limit: 1, ..HistoryQuery::default() };
    assert_eq!(store.query_history(&limited).await.unwrap().len(), 1);
    assert_eq!(store.delete_history_before(at(2)).await.unwrap(), 2);
    assert_eq!(
        store
            .query_history(&HistoryQuery { limit: 100, ..HistoryQuery::default() })
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn rule_state_and_history_on_sqlite() {
    let dir = std::env::temp_dir().join(unique("klaxon-rule-state"));
    let store = Store::open("", &dir).await.expect("open sqlite");
    exercise(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn rule_state_and_history_on_postgres() {
    let schema = unique("klaxon_rule_state_test");
    let store = Store::postgres_in_schema(&postgres_url(), &schema).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {} is required (run scripts/setup.sh): {e}", postgres_url())
    });
    exercise(&store).await;
    store.close().await;
    // A plain connection: the default schema may hold other branches' migrations.
    let admin = sqlx::PgPool::connect(&postgres_url()).await.expect("connect for cleanup");
    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await.expect("drop test schema");
    admin.close().await;
}
