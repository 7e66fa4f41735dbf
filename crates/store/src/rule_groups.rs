//! The `rule_groups` table: expression-rule groups written through the rules API, one row
//! per (folder, group) holding its JSON definition and a version that every write bumps, with
//! optimistic concurrency (a write may say which version it replaces); and
//! `rule_group_versions`, every version written (an empty body is a deletion).

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{Store, StoreError, unix_nanos};

/// One stored group.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRuleGroup {
    /// The folder.
    pub folder: String,
    /// The group name.
    pub name: String,
    /// Bumped by every write, from 1.
    pub version: i64,
    /// The definition (JSON), empty for a deletion in the version history.
    pub body: String,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
}

/// Why a group write was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleGroupWriteError {
    /// The group is at another version than the writer expected.
    #[error("rule group {folder}/{name} is at version {current}, not {expected}")]
    VersionConflict {
        /// The folder.
        folder: String,
        /// The group.
        name: String,
        /// The version the writer replaces.
        expected: i64,
        /// The version stored (0: none).
        current: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Every current group, ordered by folder and name.
    pub async fn list_rule_groups(&self) -> Result<Vec<StoredRuleGroup>, StoreError> {
        let sql = "SELECT folder, name, version, body, updated_at_ns FROM rule_groups \
                   ORDER BY folder, name";
        self.read_rule_groups(sql, None).await
    }

    /// Every version of one group, oldest first.
    pub async fn rule_group_versions(
        &self,
        folder: &str,
        name: &str,
    ) -> Result<Vec<StoredRuleGroup>, StoreError> {
        let sql = "SELECT folder, name, version, body, updated_at_ns FROM rule_group_versions \
                   WHERE folder = $1 AND name = $2 ORDER BY version";
        self.read_rule_groups(sql, Some((folder, name))).await
    }

    async fn read_rule_groups(
        &self,
        sql: &'static str,
        key: Option<(&str, &str)>,
    ) -> Result<Vec<StoredRuleGroup>, StoreError> {
        let fail = |source| StoreError::Query { operation: "reading rule groups", source };
        on_pool!(self, pool => {
            let mut query = sqlx::query(sql);
            if let Some((folder, name)) = key {
                query = query.bind(folder).bind(name);
            }
            let rows = query.fetch_all(pool).await.map_err(fail)?;
            rows.iter()
                .map(|row| {
                    Ok(StoredRuleGroup {
                        folder: row.try_get(0).map_err(fail)?,
                        name: row.try_get(1).map_err(fail)?,
                        version: row.try_get(2).map_err(fail)?,
                        body: row.try_get(3).map_err(fail)?,
                        updated_at: DateTime::from_timestamp_nanos(row.try_get(4).map_err(fail)?),
                    })
                })
                .collect()
        })
    }

    /// Writes a group's definition (an empty `body` deletes it) and returns its new version.
    /// With `expected`, the write happens only if the stored version is that one (0: the group
    /// must not exist); otherwise it replaces whatever is there.
    pub async fn write_rule_group(
        &self,
        folder: &str,
        name: &str,
        body: &str,
        expected: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<i64, RuleGroupWriteError> {
        let fail = |source| StoreError::Query { operation: "writing a rule group", source };
        let at_ns = unix_nanos(at);
        // SQLite takes the write lock up front: a read-then-write transaction that another
        // writer overtakes fails (SQLITE_BUSY_SNAPSHOT) instead of waiting.
        let begin = match self {
            Store::Sqlite { .. } => "BEGIN IMMEDIATE",
            Store::Postgres(_) => "BEGIN",
        };
        let version: i64 = on_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await.map_err(fail)?;
            let current: i64 = sqlx::query("SELECT version FROM rule_groups WHERE folder = $1 AND name = $2")
                .bind(folder)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?
                .map(|row| row.try_get(0))
                .transpose()
                .map_err(fail)?
                .unwrap_or(0);
            let conflict = |current| RuleGroupWriteError::VersionConflict {
                folder: folder.to_owned(),
                name: name.to_owned(),
                expected: expected.unwrap_or_default(),
                current,
            };
            if expected.is_some_and(|e| e != current) || (body.is_empty() && current == 0) {
                return Err(conflict(current));
            }
            // The version history keeps counting after a deletion.
            let last: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM rule_group_versions WHERE folder = $1 AND name = $2")
                .bind(folder)
                .bind(name)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .try_get(0)
                .map_err(fail)?;
            let next = last.max(current) + 1;
            // The WHERE makes a concurrent writer that read the same version lose.
            let changed = if body.is_empty() {
                sqlx::query("DELETE FROM rule_groups WHERE folder = $1 AND name = $2 AND version = $3")
                    .bind(folder).bind(name).bind(current)
                    .execute(&mut *tx).await.map_err(fail)?.rows_affected()
            } else if current == 0 {
                sqlx::query("INSERT INTO rule_groups (folder, name, version, body, updated_at_ns) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (folder, name) DO NOTHING")
                    .bind(folder).bind(name).bind(next).bind(body).bind(at_ns)
                    .execute(&mut *tx).await.map_err(fail)?.rows_affected()
            } else {
                sqlx::query("UPDATE rule_groups SET version = $3, body = $4, updated_at_ns = $5 \
                             WHERE folder = $1 AND name = $2 AND version = $6")
                    .bind(folder).bind(name).bind(next).bind(body).bind(at_ns).bind(current)
                    .execute(&mut *tx).await.map_err(fail)?.rows_affected()
            };
            if changed == 0 {
                return Err(conflict(current));
            }
            sqlx::query("INSERT INTO rule_group_versions (folder, name, version, body, updated_at_ns) \
                         VALUES ($1, $2, $3, $4, $5)")
                .bind(folder).bind(name).bind(next).bind(body).bind(at_ns)
                .execute(&mut *tx).await.map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            next
        });
        Ok(version)
    }
}
