//! Durable storage of silences and notification-log entries, so a crash (even SIGKILL)
//! loses nothing that was acknowledged. One [`Store`] interface over two backends:
//! - SQLite (the default): one file, WAL mode, a busy timeout, nothing to set up;
//! - PostgreSQL: a pooled connection to a server, shared by several instances if wanted.
//!
//! Rows keep the exact protobuf messages (`MeshSilence`, `MeshEntry`) that gossip and
//! snapshots use; the store reads and returns the same delimited streams, so the domain
//! crates need no knowledge of SQL. Writes are last-writer-wins on the timestamps gossip
//! uses (`updated_at` for silences, the entry timestamp for the notification log): an upsert
//! never overwrites a newer row, so instances writing concurrently converge.
//!
//! Accepted alerts are appended to a log, one record per group commit in a compact binary
//! encoding (module `alert_log`): on SQLite a journal of plain files beside the database
//! ([`AlertJournal`]), on PostgreSQL the `alert_log` table that instances share. The
//! maintenance snapshot folds the log into the `alerts` table (JSON rows, last writer wins on
//! `updated_at`).
//!
//! The SQL is shared between the backends (numbered `$n` placeholders and `ON CONFLICT`
//! work in both); only the migrations differ, in the blob column type.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::Alert;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

mod alert_journal;
mod alert_log;
mod alert_rows;

pub use alert_journal::{AlertJournal, FOLD_AFTER_BYTES, JournalRead};
mod rows;

pub use rows::unix_nanos;
use rows::{NflogRow, SilenceRow};

/// The SQLite file's name under `--storage.path`.
pub const SQLITE_FILE_NAME: &str = "klaxon.db";

/// How long a SQLite writer waits for another to finish before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite allows one writer at a time; a few connections let reads proceed meanwhile.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// PostgreSQL connections per process.
const POSTGRES_MAX_CONNECTIONS: u32 = 8;
/// How long to wait for a pooled connection before failing the operation.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most rows a load returns; far above any real silence count, it bounds memory if a table
/// was filled by something else.
const LOAD_ROWS_MAX: i64 = 10_000_000;

/// A failed store operation, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("opening the {backend} store at {location}: {source}")]
    Open {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The file or URL (without a password).
        location: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The storage directory could not be created.
    #[error("creating the storage directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("migrating the {backend} store: {source}")]
    Migrate {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("{operation}: {source}")]
    Query {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A stream handed to the store was not a valid delimited stream.
    #[error("decoding the {what} stream to store: {message}")]
    Decode {
        /// `silence` or `notification log`.
        what: &'static str,
        /// The decoder's error.
        message: String,
    },
    /// A stored row no longer decodes.
    #[error("corrupt row {key:?} in table {table}")]
    CorruptRow {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
    },
    /// The alert journal could not be opened, written or read.
    #[error("alert journal {path}: {source}")]
    Journal {
        /// The journal's directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A PostgreSQL schema name that is not a plain identifier.
    #[error("invalid schema name {0:?}: use lowercase letters, digits and underscores")]
    InvalidSchema(String),
}

/// Rows removed by [`Store::gc`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcOutcome {
    /// Silences removed.
    pub silences: u64,
    /// Notification-log entries removed.
    pub nflog: u64,
    /// Alerts removed.
    pub alerts: u64,
}

/// How long a resolved alert stays stored: long enough that a restart within it still sends
/// the group's resolved notification, short enough that a restart does not reload a day of
/// history.
pub const RESOLVED_ALERTS_KEPT: Duration = Duration::from_secs(3600);

/// The storage backend, chosen at open time.
#[derive(Debug, Clone)]
pub enum Store {
    /// A SQLite file.
    Sqlite {
        /// Every table, `synchronous=FULL`.
        pool: SqlitePool,
        /// Where [`Store::append_alerts`] writes.
        journal: Arc<AlertJournal>,
    },
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// Runs the same body against whichever pool the store has; the SQL is shared, only the
/// driver types differ, and a generic function over both would need a page of trait bounds.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite { pool: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

mod rule_groups;
mod rules;
pub use rule_groups::{RuleGroupWriteError, StoredRuleGroup};
pub use rules::{HistoryEntry, HistoryQuery, RuleStateRow};

/// A row as the upserts bind it: key, its last-writer-wins time, expiry, protobuf bytes.
type UpsertRow<'a> = (&'a str, i64, i64, &'a [u8]);

/// A table the upserts write: its key column, last-writer-wins time column, expiry column
/// and payload column, in the order [`UpsertRow`] binds them.
struct Table {
    name: &'static str,
    columns: [&'static str; 4],
}

const SILENCES: Table =
    Table { name: "silences", columns: ["id", "updated_at_ns", "expires_at_ns", "mesh"] };
const NFLOG: Table =
    Table { name: "nflog", columns: ["key", "timestamp_ns", "expires_at_ns", "mesh"] };
const ALERTS: Table =
    Table { name: "alerts", columns: ["fingerprint", "updated_at_ns", "ends_at_ns", "body"] };

/// `alert_log` rows folded into `alerts` per transaction by [`Store::compact_alert_log`].
const COMPACT_LOG_ROWS: i64 = 64;

/// Rows per upsert statement on PostgreSQL: one statement per row costs a round trip each
/// (most of a 100k-row snapshot's time), while 4 × 500 parameters stay far below its limit.
const UPSERT_CHUNK_ROWS: usize = 500;

/// Rows per upsert statement on SQLite, which has no round trips to save: binding looks each
/// parameter up in a list as long as the statement's, so cost grows with the square of the
/// rows per statement (a 500-row statement spent more time binding than writing). Leftover
/// rows go one per statement, so only two statement texts are ever prepared per table.
const SQLITE_UPSERT_CHUNK_ROWS: usize = 32;

/// `INSERT ... VALUES (...), ... ON CONFLICT DO UPDATE ... WHERE older` for `rows` rows.
fn upsert_sql(table: &Table, rows: usize) -> String {
    let [key, time, expiry, payload] = table.columns;
    let name = table.name;
    let mut sql = format!("INSERT INTO {name} ({key}, {time}, {expiry}, {payload}) VALUES ");
    for row in 0..rows {
        let first = row * 4 + 1;
        let separator = if row == 0 { "" } else { ", " };
        sql.push_str(&format!(
            "{separator}(${first}, ${}, ${}, ${})",
            first + 1,
            first + 2,
            first + 3
        ));
    }
    sql.push_str(&format!(
        " ON CONFLICT ({key}) DO UPDATE SET {time} = excluded.{time}, \
         {expiry} = excluded.{expiry}, {payload} = excluded.{payload} \
         WHERE {name}.{time} < excluded.{time}"
    ));
    sql
}

impl Store {
    /// Opens the store that the flags name: `url` when non-empty (`postgres://...` or
    /// `sqlite://...`), else the SQLite file [`SQLITE_FILE_NAME`] under `storage_path`.
    pub async fn open(url: &str, storage_path: &Path) -> Result<Store, StoreError> {
        if url.is_empty() {
            return Store::sqlite(&storage_path.join(SQLITE_FILE_NAME)).await;
        }
        match url.strip_prefix("sqlite://") {
            Some(path) => Store::sqlite(Path::new(path)).await,
            None => Store::postgres(url).await,
        }
    }

    /// Opens (creating if needed, with its directory) a SQLite file and migrates it.
    pub async fn sqlite(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let open_error = |source| StoreError::Open {
            backend: "sqlite",
            location: path.display().to_string(),
            source,
        };
        // FULL sync: an acknowledged silence must survive power loss too, and silence writes
        // are rare enough that the extra fsync costs nothing noticeable.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { backend: "sqlite", source })?;
        let journal = AlertJournal::open(path).map_err(|source| StoreError::Journal {
            path: format!("{}-alert-journal", path.display()),
            source,
        })?;
        Ok(Store::Sqlite { pool, journal: Arc::new(journal) })
    }

    /// Connects to PostgreSQL and migrates the database's default schema.
    pub async fn postgres(url: &str) -> Result<Store, StoreError> {
        Store::postgres_with(url, None).await
    }

    /// Connects to PostgreSQL and keeps everything, migrations included, in `schema`
    /// (created if missing): tests isolate themselves this way, and so can several
    /// clusters sharing one database.
    pub async fn postgres_in_schema(url: &str, schema: &str) -> Result<Store, StoreError> {
        let plain = !schema.is_empty()
            && schema.len() <= 63
            && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            return Err(StoreError::InvalidSchema(schema.to_owned()));
        }
        Store::postgres_with(url, Some(schema)).await
    }

    async fn postgres_with(url: &str, schema: Option<&str>) -> Result<Store, StoreError> {
        let open_error =
            |source| StoreError::Open { backend: "postgres", location: redact(url), source };
        let mut options: PgConnectOptions = url.parse().map_err(open_error)?;
        if let Some(schema) = schema {
            options = options.options([("search_path", schema)]);
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect(url)
                .await
                .map_err(open_error)?;
            // The name was checked to be a plain identifier, so it is safe to splice in.
            let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&admin)
                .await
                .map_err(|source| StoreError::Query { operation: "creating the schema", source })?;
            admin.close().await;
        }
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { backend: "postgres", source })?;
        Ok(Store::Postgres(pool))
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Stores every `MeshSilence` of a delimited stream (a `take_broadcasts()` item, a
    /// snapshot or a peer's full state) in one transaction. A row is replaced only by a
    /// strictly newer `updated_at`, as the gossip merge decides. Returns how many rows were
    /// written (older or equal ones are skipped).
    pub async fn upsert_silences(&self, stream: &[u8]) -> Result<u64, StoreError> {
        let rows = rows::silence_rows(stream)?;
        self.write_silences(&rows).await
    }

    async fn write_silences(&self, rows: &[SilenceRow]) -> Result<u64, StoreError> {
        let rows: Vec<UpsertRow<'_>> = rows
            .iter()
            .map(|r| (r.id.as_str(), r.updated_at_ns, r.expires_at_ns, &r.mesh[..]))
            .collect();
        self.write_rows(&SILENCES, "storing silences", &rows).await
    }

    /// Upserts `rows` (keys unique) into `table` in one transaction, [`UPSERT_CHUNK_ROWS`] per
    /// statement, in key order: concurrent writers then lock shared rows in the same order
    /// and cannot deadlock. Returns how many rows the database changed (the `WHERE` skips
    /// rows that are not older).
    async fn write_rows(
        &self,
        table: &Table,
        operation: &'static str,
        rows: &[UpsertRow<'_>],
    ) -> Result<u64, StoreError> {
        let fail = |source| StoreError::Query { operation, source };
        let mut rows = rows.to_vec();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let chunks: Vec<&[UpsertRow<'_>]> = match self {
            Store::Postgres(_) => rows.chunks(UPSERT_CHUNK_ROWS).collect(),
            Store::Sqlite { .. } => {
                let whole = rows.chunks_exact(SQLITE_UPSERT_CHUNK_ROWS);
                let rest = whole.remainder();
                whole.chain(rest.chunks(1)).collect()
            }
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(fail)?;
            let mut written = 0;
            for chunk in chunks.iter().copied() {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(upsert_sql(table, chunk.len())));
                for (key, time_ns, expires_at_ns, payload) in chunk {
                    query = query.bind(*key).bind(*time_ns).bind(*expires_at_ns).bind(*payload);
                }
                written += query.execute(&mut *tx).await.map_err(fail)?.rows_affected();
            }
            tx.commit().await.map_err(fail)?;
            Ok(written)
        })
    }

    /// Stores every `MeshEntry` of a delimited stream in one transaction, replacing a row
    /// only with a strictly newer entry timestamp. Returns how many rows were written.
    pub async fn upsert_nflog(&self, stream: &[u8]) -> Result<u64, StoreError> {
        let rows = rows::nflog_rows(stream)?;
        self.write_nflog(&rows).await
    }

    async fn write_nflog(&self, rows: &[NflogRow]) -> Result<u64, StoreError> {
        let rows: Vec<UpsertRow<'_>> = rows
            .iter()
            .map(|r| (r.key.as_str(), r.timestamp_ns, r.expires_at_ns, &r.mesh[..]))
            .collect();
        self.write_rows(&NFLOG, "storing the notification log", &rows).await
    }

    /// Every stored silence as one delimited `MeshSilence` stream, ordered by id: what
    /// `Silences::load_snapshot` reads.
    pub async fn load_silences(&self) -> Result<Vec<u8>, StoreError> {
        let fail = |source| StoreError::Query { operation: "loading silences", source };
        let sql = "SELECT id, mesh FROM silences ORDER BY id LIMIT $1";
        let found: Vec<(String, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(LOAD_ROWS_MAX).fetch_all(pool).await.map_err(fail)?
        });
        let mut messages = Vec::with_capacity(found.len());
        for (id, mesh) in found {
            rows::check_silence(&id, &mesh)?;
            messages.push(mesh);
        }
        Ok(rows::delimited(&messages))
    }

    /// The silences whose `updated_at` is after `since_ns` (Unix nanoseconds) as one
    /// delimited `MeshSilence` stream, oldest change first, with the newest `updated_at`
    /// among them: what an instance sharing the database merges to see the others' writes.
    pub async fn silences_updated_since(
        &self,
        since_ns: i64,
    ) -> Result<(Vec<u8>, Option<i64>), StoreError> {
        let fail = |source| StoreError::Query { operation: "polling silences", source };
        let sql = "SELECT id, updated_at_ns, mesh FROM silences WHERE updated_at_ns > $1 \
                   ORDER BY updated_at_ns LIMIT $2";
        let found: Vec<(String, i64, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(since_ns)
                .bind(LOAD_ROWS_MAX)
                .fetch_all(pool)
                .await
                .map_err(fail)?
        });
        let newest = found.iter().map(|(_, updated_at_ns, _)| *updated_at_ns).max();
        let mut messages = Vec::with_capacity(found.len());
        for (id, _, mesh) in found {
            rows::check_silence(&id, &mesh)?;
            messages.push(mesh);
        }
        Ok((rows::delimited(&messages), newest))
    }

    /// Stores alerts (the receiver's current copies) in one transaction; a row is replaced
    /// only by a strictly newer `updated_at`, so instances sharing the database keep the
    /// latest copy. Returns how many rows were written.
    pub async fn upsert_alerts(&self, alerts: &[Arc<Alert>]) -> Result<u64, StoreError> {
        let mut newest: HashMap<String, alert_rows::AlertRow> =
            HashMap::with_capacity(alerts.len());
        for alert in alerts {
            let row = alert_rows::alert_row(alert);
            match newest.get(&row.fingerprint) {
                // A later copy of the same update time wins: callers pass alerts in order.
                Some(kept) if kept.updated_at_ns > row.updated_at_ns => {}
                _ => {
                    newest.insert(row.fingerprint.clone(), row);
                }
            }
        }
        let rows: Vec<UpsertRow<'_>> = newest
            .values()
            .map(|r| (r.fingerprint.as_str(), r.updated_at_ns, r.ends_at_ns, &r.body[..]))
            .collect();
        self.write_rows(&ALERTS, "storing alerts", &rows).await
    }

    /// Appends accepted alerts (the receiver's current copies, in the order it accepted them)
    /// to the alert log as one record: the write a `POST /api/v2/alerts` waits for. Nothing
    /// is replaced, so this is as durable as [`Store::upsert_alerts`] at a fraction of the
    /// work; [`Store::load_alerts`] reads the log after the table and keeps the newest copy.
    /// On SQLite this is [`AlertJournal::append`], which callers on the hot path may call
    /// themselves ([`Store::alert_journal`]).
    pub async fn append_alerts(&self, alerts: &[Arc<Alert>]) -> Result<(), StoreError> {
        self.append_alerts_reusing(alerts, &mut Vec::new()).await
    }

    /// [`Store::append_alerts`], encoding into `buffer` (its contents are replaced) on
    /// PostgreSQL: a writer passing the same buffer every time allocates the commit's memory
    /// once.
    pub async fn append_alerts_reusing(
        &self,
        alerts: &[Arc<Alert>],
        buffer: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        if alerts.is_empty() {
            return Ok(());
        }
        match self {
            Store::Sqlite { journal, .. } => {
                journal.append(alerts).map(drop).map_err(|source| journal_failure(journal, source))
            }
            Store::Postgres(pool) => {
                alert_log::encode_into(alerts, buffer);
                let sql = "INSERT INTO alert_log (body) VALUES ($1)";
                sqlx::query(sql).bind(&buffer[..]).execute(pool).await.map_err(|source| {
                    StoreError::Query { operation: "appending alerts", source }
                })?;
                Ok(())
            }
        }
    }

    /// The SQLite backend's alert journal, which the ingest path appends to without a hop
    /// to another thread; `None` on PostgreSQL.
    pub fn alert_journal(&self) -> Option<&Arc<AlertJournal>> {
        match self {
            Store::Sqlite { journal, .. } => Some(journal),
            Store::Postgres(_) => None,
        }
    }

    /// Folds the alert log into the `alerts` table (last writer wins, as
    /// [`Store::upsert_alerts`]) and deletes the folded rows, [`COMPACT_LOG_ROWS`] at a time.
    /// Rows appended meanwhile are left for the next call, and only rows that were read are
    /// deleted, so an instance appending concurrently (PostgreSQL) loses nothing; a crash
    /// between the fold and the delete only folds the same rows again. On SQLite the journal
    /// is then rotated and its complete segments folded and removed. Returns the log rows
    /// (journal records) folded.
    pub async fn compact_alert_log(&self) -> Result<u64, StoreError> {
        let fail = |source| StoreError::Query { operation: "compacting the alert log", source };
        let last_sql = "SELECT COALESCE(MAX(id), 0) FROM alert_log";
        let last: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(last_sql).fetch_one(pool).await.map_err(fail)?
        });
        let page_sql =
            "SELECT id, body FROM alert_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3";
        let mut after = 0;
        let mut folded = 0;
        loop {
            let page: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => {
                sqlx::query_as(page_sql)
                    .bind(after)
                    .bind(last)
                    .bind(COMPACT_LOG_ROWS)
                    .fetch_all(pool)
                    .await
                    .map_err(fail)?
            });
            let Some(&(page_last, _)) = page.last() else { break };
            let mut alerts = Vec::new();
            for (id, body) in &page {
                alerts.extend(log_alerts(*id, body)?.into_iter().map(Arc::new));
            }
            self.upsert_alerts(&alerts).await?;
            // Ids are integers read back from the database, so splicing them in is safe.
            let ids: Vec<String> = page.iter().map(|(id, _)| id.to_string()).collect();
            let delete = format!("DELETE FROM alert_log WHERE id IN ({})", ids.join(", "));
            on_pool!(self, pool => {
                sqlx::query(sqlx::AssertSqlSafe(delete)).execute(pool).await.map_err(fail)?;
            });
            folded += page.len() as u64;
            after = page_last;
        }
        if let Some(journal) = self.alert_journal() {
            folded += self.fold_journal(journal).await?;
        }
        Ok(folded)
    }

    /// Folds the journal's complete segments into the `alerts` table and removes them. A
    /// crash before the removal folds the same records again, which changes nothing.
    async fn fold_journal(&self, journal: &AlertJournal) -> Result<u64, StoreError> {
        let fail = |source| journal_failure(journal, source);
        let current = journal.rotate();
        let read = journal.read_before(current).map_err(fail)?;
        report_damage(&read);
        let alerts: Vec<Arc<Alert>> = newest_per_fingerprint(std::iter::once(read.alerts))
            .into_iter()
            .map(Arc::new)
            .collect();
        self.upsert_alerts(&alerts).await?;
        journal.remove_before(current).map_err(fail)?;
        Ok(read.records)
    }

    /// Every stored alert: the `alerts` table, then the alert log in append order, keeping
    /// per fingerprint the copy with the newest `updated_at` (the later one on a tie).
    pub async fn load_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let fail = |source| StoreError::Query { operation: "loading alerts", source };
        let sql = "SELECT fingerprint, body FROM alerts ORDER BY fingerprint LIMIT $1";
        let found: Vec<(String, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(LOAD_ROWS_MAX).fetch_all(pool).await.map_err(fail)?
        });
        let mut table = Vec::with_capacity(found.len());
        for (fingerprint, body) in &found {
            table.push(alert_rows::alert_from_body(fingerprint, body)?);
        }
        drop(found);
        let log_sql = "SELECT id, body FROM alert_log ORDER BY id LIMIT $1";
        let log: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(log_sql).bind(LOAD_ROWS_MAX).fetch_all(pool).await.map_err(fail)?
        });
        let mut logged = Vec::new();
        for (id, body) in &log {
            logged.extend(log_alerts(*id, body)?);
        }
        drop(log);
        let journaled = match self.alert_journal() {
            Some(journal) => {
                let read = journal
                    .read_before(u64::MAX)
                    .map_err(|source| journal_failure(journal, source))?;
                report_damage(&read);
                read.alerts
            }
            None => Vec::new(),
        };
        let mut alerts = newest_per_fingerprint([table, logged, journaled]);
        alerts.sort_unstable_by_key(Alert::fingerprint);
        Ok(alerts)
    }

    /// Every stored notification-log entry as one delimited `MeshEntry` stream, ordered by
    /// key: what `NotificationLog::load_snapshot` reads.
    pub async fn load_nflog(&self) -> Result<Vec<u8>, StoreError> {
        let fail = |source| StoreError::Query { operation: "loading the notification log", source };
        let sql = "SELECT key, mesh FROM nflog ORDER BY key LIMIT $1";
        let found: Vec<(String, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(LOAD_ROWS_MAX).fetch_all(pool).await.map_err(fail)?
        });
        let mut messages = Vec::with_capacity(found.len());
        for (key, mesh) in found {
            rows::check_nflog(&key, &mesh)?;
            messages.push(mesh);
        }
        Ok(rows::delimited(&messages))
    }

    /// Deletes rows whose `expires_at` is not after `now`, the in-memory GC's rule, and alerts
    /// resolved more than [`RESOLVED_ALERTS_KEPT`] before `now`.
    pub async fn gc(&self, now: DateTime<Utc>) -> Result<GcOutcome, StoreError> {
        let fail = |source| StoreError::Query { operation: "collecting expired rows", source };
        let now = unix_nanos(now);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(fail)?;
            let silences = sqlx::query("DELETE FROM silences WHERE expires_at_ns <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
            let nflog = sqlx::query("DELETE FROM nflog WHERE expires_at_ns <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
            let resolved_before =
                now.saturating_sub(RESOLVED_ALERTS_KEPT.as_nanos().try_into().unwrap_or(i64::MAX));
            let alerts = sqlx::query("DELETE FROM alerts WHERE ends_at_ns <= $1")
                .bind(resolved_before)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
            tx.commit().await.map_err(fail)?;
            Ok(GcOutcome { silences, nflog, alerts })
        })
    }

    /// Waits for open connections to finish and closes the pool.
    pub async fn close(&self) {
        match self {
            Store::Sqlite { pool, .. } => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

/// Per fingerprint, the copy with the newest `updated_at` (the later one on a tie) of
/// `sources`, read in order.
fn newest_per_fingerprint(sources: impl IntoIterator<Item = Vec<Alert>>) -> Vec<Alert> {
    let mut newest: HashMap<model::Fingerprint, Alert> = HashMap::new();
    for alert in sources.into_iter().flatten() {
        match newest.entry(alert.fingerprint()) {
            Entry::Occupied(kept) if kept.get().updated_at > alert.updated_at => {}
            Entry::Occupied(mut kept) => {
                kept.insert(alert);
            }
            Entry::Vacant(slot) => {
                slot.insert(alert);
            }
        }
    }
    newest.into_values().collect()
}

fn journal_failure(journal: &AlertJournal, source: std::io::Error) -> StoreError {
    StoreError::Journal { path: journal.dir().display().to_string(), source }
}

/// Logs the journal segments whose end could not be read: what a power cut during a write
/// leaves. Those alerts were acknowledged, so this is a warning an operator sees, not a
/// reason to refuse to start; their senders re-send firing alerts at the next evaluation.
fn report_damage(read: &JournalRead) {
    for damage in &read.damaged {
        tracing::warn!(%damage, "Alert journal segment cut short; the alerts after it are lost");
    }
}

/// The alerts of one `alert_log` row.
fn log_alerts(id: i64, body: &[u8]) -> Result<Vec<Alert>, StoreError> {
    alert_log::decode(body)
        .ok_or_else(|| StoreError::CorruptRow { table: "alert_log", key: id.to_string() })
}

/// The URL without its password, for error messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((credentials, host)) = rest.split_once('@') else { return url.to_owned() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
