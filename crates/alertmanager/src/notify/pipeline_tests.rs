use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use model::LabelSet;

use super::*;
use crate::dispatch::aggregate::Dispatcher;
use crate::dispatch::route::Route;
use crate::nflog::NotificationLog;
use crate::nflog::nflogpb::Entry;
use crate::notify::BoxFuture;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
}

struct Env {
    now: Mutex<DateTime<Utc>>,
    nflog: Mutex<NotificationLog>,
    silenced: Vec<String>,
    events: Mutex<Vec<String>>,
}

impl NotifyEnv for Env {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
    fn inhibited(&self, _: &LabelSet, _: DateTime<Utc>) -> bool {
        false
    }
    fn silenced(&self, labels: &LabelSet, _: DateTime<Utc>) -> bool {
        self.silenced.iter().any(|name| labels.get("alertname") == Some(name))
    }
    fn nflog_query(&self, receiver: &Receiver, group_key: &str) -> Option<Entry> {
        self.nflog.lock().unwrap().query(receiver, group_key).cloned()
    }
    fn nflog_log(&self, receiver: &Receiver, key: &str, hashes: &DedupHashes, expiry: Duration) {
        let now = self.now();
        let (firing, resolved) = (hashes.firing.clone(), hashes.resolved.clone());
        self.nflog.lock().unwrap().log(receiver, key, firing, resolved, now, expiry);
    }
    fn record(&self, event: NotifyEvent<'_>) {
        self.events.lock().unwrap().push(format!("{event:?}"));
    }
    fn rng_seed(&self) -> u64 {
        1
    }
}

/// Fails with `failures` (retryable or not) before succeeding; records what it was sent.
struct Fake {
    failures: Vec<bool>,
    calls: AtomicUsize,
    sent: Mutex<Vec<(tokio::time::Instant, usize)>>,
}

impl Integration for Fake {
    fn name(&self) -> &'static str {
        "webhook"
    }
    fn index(&self) -> u32 {
        0
    }
    fn send_resolved(&self) -> bool {
        false
    }
    fn notify<'a>(
        &'a self,
        _: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            self.sent.lock().unwrap().push((tokio::time::Instant::now(), alerts.len()));
            match self.failures.get(call) {
                Some(&retryable) => Err(NotifyError { retryable, message: "boom".into() }),
                None => Ok(()),
            }
        })
    }
}

fn setup(
    failures: Vec<bool>,
    silenced: &[&str],
) -> (Arc<Env>, Arc<Fake>, Arc<Pipeline>, Dispatcher) {
    let yaml = "route: {receiver: r, group_by: [g], group_wait: 1s, group_interval: 2s, repeat_interval: 6s}\nreceivers: [{name: r}]\n";
    let config = crate::config::Config::from_yaml(yaml, std::path::Path::new("t.yml")).unwrap();
    let env = Arc::new(Env {
        now: Mutex::new(at(0)),
        nflog: Mutex::new(NotificationLog::default()),
        silenced: silenced.iter().map(|s| s.to_string()).collect(),
        events: Mutex::new(Vec::new()),
    });
    let fake =
        Arc::new(Fake { failures, calls: AtomicUsize::new(0), sent: Mutex::new(Vec::new()) });
    let integration: Arc<dyn Integration> = fake.clone();
    let pipeline = Arc::new(Pipeline {
        receivers: HashMap::from([("r".to_owned(), vec![integration])]),
        time_intervals: BTreeMap::new(),
        wait: Duration::ZERO,
    });
    (env, fake, pipeline, Dispatcher::new(Route::from_config(&config.route)))
}

fn alert(name: &str, ends: i64, updated: i64) -> Alert {
    Alert {
        labels: LabelSet::from_pairs([("alertname", name), ("g", "1")]),
        annotations: LabelSet::new(),
        starts_at: at(0).fixed_offset(),
        ends_at: at(ends).fixed_offset(),
        generator_url: Arc::default(),
        updated_at: at(updated),
        timeout: false,
    }
}

async fn flush_once(
    env: &Arc<Env>,
    pipeline: &Arc<Pipeline>,
    dispatcher: &mut Dispatcher,
    now: DateTime<Utc>,
) -> Vec<Result<(), FlushError>> {
    *env.now.lock().unwrap() = now;
    let mut results = Vec::new();
    for flush in dispatcher.due(now) {
        let flush = Arc::new(flush);
        let deadline = tokio::time::Instant::now() + pipeline.flush_timeout(Duration::from_secs(2));
        let result = pipeline.clone().run(env.clone(), flush.clone(), deadline).await;
        dispatcher.flush_done(&flush, result.is_ok(), now);
        results.push(result);
    }
    results
}

#[tokio::test(start_paused = true)]
async fn notify_pipeline_dedups_repeats_and_logs() {
    let (env, fake, pipeline, mut d) = setup(vec![], &["Muted"]);
    d.insert(&Arc::new(alert("A", 100, 0)), at(0));
    d.insert(&Arc::new(alert("Muted", 100, 0)), at(0));
    assert!(flush_once(&env, &pipeline, &mut d, at(1)).await[0].is_ok());
    // The silenced alert is neither sent nor logged.
    assert_eq!(fake.sent.lock().unwrap().len(), 1);
    assert_eq!(fake.sent.lock().unwrap()[0].1, 1);
    // Unchanged: nothing until the repeat interval has strictly passed.
    for tick in [3, 5, 7] {
        flush_once(&env, &pipeline, &mut d, at(tick)).await;
    }
    assert_eq!(fake.sent.lock().unwrap().len(), 1);
    flush_once(&env, &pipeline, &mut d, at(9)).await;
    assert_eq!(fake.sent.lock().unwrap().len(), 2);
    // Resolved without send_resolved: logged, not sent, and the group empties.
    d.insert(&Arc::new(alert("A", 10, 10)), at(10));
    flush_once(&env, &pipeline, &mut d, at(11)).await;
    assert_eq!(fake.sent.lock().unwrap().len(), 2);
    let entry = env.nflog.lock().unwrap().entries().next().unwrap().entry.clone().unwrap();
    assert!(entry.firing_alerts.is_empty());
    assert_eq!(entry.resolved_alerts.len(), 1);
    assert_eq!(d.maintenance(), 0, "the muted alert still fires");
}

#[tokio::test(start_paused = true)]
async fn notify_pipeline_retries_until_success_or_final_error() {
    let (env, fake, pipeline, mut d) = setup(vec![true, true], &[]);
    d.insert(&Arc::new(alert("A", 100, 0)), at(0));
    let start = tokio::time::Instant::now();
    assert!(flush_once(&env, &pipeline, &mut d, at(1)).await[0].is_ok());
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 3);
    // Jittered 0.5s then 0.75s.
    let first = sent[1].0 - start;
    assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(750));
    let events = env.events.lock().unwrap().clone();
    assert_eq!(events.iter().filter(|e| e.contains("Request")).count(), 3);
    assert!(!events.iter().any(|e| e.contains("NotificationFailed")));

    let (env, fake, pipeline, mut d) = setup(vec![true, false], &[]);
    d.insert(&Arc::new(alert("A", 100, 0)), at(0));
    assert!(flush_once(&env, &pipeline, &mut d, at(1)).await[0].is_err());
    assert_eq!(fake.sent.lock().unwrap().len(), 2);
    assert!(env.nflog.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn notify_pipeline_gives_up_at_the_deadline() {
    let (env, fake, pipeline, mut d) = setup(vec![true; 1000], &[]);
    d.insert(&Arc::new(alert("A", 100, 0)), at(0));
    let start = tokio::time::Instant::now();
    let result = flush_once(&env, &pipeline, &mut d, at(1)).await;
    assert!(result[0].is_err());
    assert_eq!(tokio::time::Instant::now() - start, Duration::from_secs(10));
    let attempts = fake.sent.lock().unwrap().len();
    assert!((5..=20).contains(&attempts), "{attempts}");
    assert!(env.events.lock().unwrap().iter().any(|e| e.contains("NotificationFailed")));
}

#[test]
fn cluster_wait_ends_early_only_when_every_peer_ahead_is_gone() {
    let started = tokio::time::Instant::now();
    let timeout = Duration::from_secs(15);
    let names = |list: &[&str]| list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let ahead = names(&["a", "b"]);
    // Everyone still there: 0.25's position × peer_timeout.
    assert_eq!(super::super::wait_until(started, &ahead, &ahead, timeout), started + timeout * 2);
    // One of two gone: the full wait stays, or we would collide with the survivor's send.
    let still = names(&["b"]);
    assert_eq!(super::super::wait_until(started, &ahead, &still, timeout), started + timeout * 2);
    // A newcomer sorted ahead of us does not count; the originals are gone, so we go now.
    let newcomer = names(&["0-new"]);
    assert_eq!(super::super::wait_until(started, &ahead, &newcomer, timeout), started);
}
