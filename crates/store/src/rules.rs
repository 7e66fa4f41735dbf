//! The alert generator's tables: `rule_state` (one row per rule: its alerts as the ruler
//! serialises them, last writer wins on the evaluation time) and `rule_history` (one row per
//! alert transition, with the instance that evaluated it), queryable by rule, labels and
//! time range, with a retention cut.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{Store, StoreError, unix_nanos};

/// Most history rows one query reads before label filtering.
const HISTORY_ROWS_MAX: i64 = 100_000;

/// One transition of one alert.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// The rule's stable key (file, group, position, name).
    pub rule_key: String,
    /// The alert name.
    pub rule_name: String,
    /// The alert's labels as a JSON object.
    pub labels: String,
    /// State before (`inactive`, `pending`, `firing`).
    pub previous: String,
    /// State after.
    pub current: String,
    /// The sample value at the transition.
    pub value: f64,
    /// The evaluation time.
    pub at: DateTime<Utc>,
    /// The instance that evaluated it.
    pub instance: String,
}

/// One rule's state to store.
#[derive(Clone, Copy, Debug)]
pub struct RuleStateRow<'a> {
    /// The rule's stable key.
    pub rule_key: &'a str,
    /// Its alerts as the ruler serialises them.
    pub data: &'a str,
    /// The evaluation that produced them: a row is only replaced by a newer one.
    pub evaluated_at: DateTime<Utc>,
}

/// Which history rows to return.
#[derive(Clone, Debug, Default)]
pub struct HistoryQuery {
    /// Only this alert name (empty: all).
    pub rule_name: String,
    /// Only alerts whose labels include all of these.
    pub labels: Vec<(String, String)>,
    /// Earliest time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Latest time (inclusive).
    pub to: Option<DateTime<Utc>>,
    /// Most rows returned (oldest first).
    pub limit: usize,
}

fn from_nanos(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

impl Store {
    /// Stores a rule's state unless a newer one is there.
    pub async fn save_rule_state(
        &self,
        rule_key: &str,
        data: &str,
        evaluated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.save_rule_states(&[RuleStateRow { rule_key, data, evaluated_at }]).await
    }

    /// Stores rule states in one transaction, each unless a newer one is there: one commit
    /// (one sync to disk) for a whole batch of evaluations rather than one per rule.
    pub async fn save_rule_states(&self, states: &[RuleStateRow<'_>]) -> Result<(), StoreError> {
        let fail = |source| StoreError::Query { operation: "storing rule state", source };
        let sql = "INSERT INTO rule_state (rule_key, updated_at_ns, data) VALUES ($1, $2, $3) \
                   ON CONFLICT (rule_key) DO UPDATE SET updated_at_ns = excluded.updated_at_ns, \
                   data = excluded.data WHERE rule_state.updated_at_ns <= excluded.updated_at_ns";
        if states.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(fail)?;
            for state in states {
                sqlx::query(sql)
                    .bind(state.rule_key)
                    .bind(unix_nanos(state.evaluated_at))
                    .bind(state.data)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)
        })
    }

    /// Every stored rule state: (rule key, data).
    pub async fn load_rule_states(&self) -> Result<Vec<(String, String)>, StoreError> {
        let fail = |source| StoreError::Query { operation: "loading rule state", source };
        let sql = "SELECT rule_key, data FROM rule_state";
        on_pool!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await.map_err(fail)?;
            rows.iter()
                .map(|row| Ok((row.try_get(0).map_err(fail)?, row.try_get(1).map_err(fail)?)))
                .collect()
        })
    }

    /// The stored states of the rules with these keys: (rule key, data), one row per key
    /// found.
    pub async fn load_rule_states_for(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let fail = |source| StoreError::Query { operation: "loading rule state", source };
        let sql = "SELECT rule_key, data FROM rule_state WHERE rule_key = $1";
        let mut states = Vec::with_capacity(keys.len());
        on_pool!(self, pool => {
            for key in keys {
                if let Some(row) =
                    sqlx::query(sql).bind(key).fetch_optional(pool).await.map_err(fail)?
                {
                    states.push((row.try_get(0).map_err(fail)?, row.try_get(1).map_err(fail)?));
                }
            }
            Ok(states)
        })
    }

    /// Appends transitions in one transaction.
    pub async fn append_history(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        let fail = |source| StoreError::Query { operation: "recording state history", source };
        let sql = "INSERT INTO rule_history \
                   (rule_key, rule_name, labels, previous, current, value, at_ns, instance) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(fail)?;
            for entry in entries {
                sqlx::query(sql)
                    .bind(&entry.rule_key)
                    .bind(&entry.rule_name)
                    .bind(&entry.labels)
                    .bind(&entry.previous)
                    .bind(&entry.current)
                    .bind(entry.value)
                    .bind(unix_nanos(entry.at))
                    .bind(&entry.instance)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
            tx.commit().await.map_err(fail)
        })
    }

    /// History rows matching `query`, oldest first.
    pub async fn query_history(
        &self,
        query: &HistoryQuery,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let fail = |source| StoreError::Query { operation: "reading state history", source };
        let sql = "SELECT rule_key, rule_name, labels, previous, current, value, at_ns, instance \
                   FROM rule_history WHERE ($1 = '' OR rule_name = $1) AND at_ns >= $2 \
                   AND at_ns <= $3 ORDER BY at_ns, id LIMIT $4";
        let from = query.from.map_or(i64::MIN, unix_nanos);
        let to = query.to.map_or(i64::MAX, unix_nanos);
        let mut entries = Vec::new();
        on_pool!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(&query.rule_name)
                .bind(from)
                .bind(to)
                .bind(HISTORY_ROWS_MAX)
                .fetch_all(pool)
                .await
                .map_err(fail)?;
            for row in rows {
                let labels: String = row.try_get(2).map_err(fail)?;
                let wanted = query.labels.iter().all(|(name, value)| {
                    let pair = format!("{}:{}", json_string(name), json_string(value));
                    labels.contains(&pair)
                });
                if !wanted {
                    continue;
                }
                entries.push(HistoryEntry {
                    rule_key: row.try_get(0).map_err(fail)?,
                    rule_name: row.try_get(1).map_err(fail)?,
                    labels,
                    previous: row.try_get(3).map_err(fail)?,
                    current: row.try_get(4).map_err(fail)?,
                    value: row.try_get(5).map_err(fail)?,
                    at: from_nanos(row.try_get(6).map_err(fail)?),
                    instance: row.try_get(7).map_err(fail)?,
                });
                if entries.len() >= query.limit.max(1) {
                    break;
                }
            }
            Ok(entries)
        })
    }

    /// Deletes history older than `before`; returns how many rows went.
    pub async fn delete_history_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let fail = |source| StoreError::Query { operation: "deleting old state history", source };
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM rule_history WHERE at_ns < $1")
                .bind(unix_nanos(before))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
                .map_err(fail)
        })
    }
}

/// A JSON string literal as `serde_json` writes one in the compact labels object (quotes and
/// backslashes escaped; label names and values rarely need more).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
