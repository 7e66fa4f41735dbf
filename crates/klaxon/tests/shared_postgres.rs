//! Five Klaxon instances on one PostgreSQL database (clustering off, so no gossip) under
//! silence churn: creates, in-place updates and expiries sent to all five at once for 60 s.
//! No request may fail, no instance may log an error, every running instance must converge
//! on what the database holds (through `--storage.poll-interval`), and after a restart every
//! instance must serve exactly the database's silences. Addresses 127.0.0.132-137.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::persistence::{Database, Klaxon, listing};
use crate::support::{ScratchDir, request};

const INSTANCES: usize = 5;
const CHURN: Duration = Duration::from_secs(60);
const CONVERGE_DEADLINE: Duration = Duration::from_secs(60);
const FRESH_ADDRESS: &str = "127.0.0.137:19093";

fn address(index: usize) -> String {
    format!("127.0.0.{}:19093", 132 + index)
}

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// What the workers did, to check that the churn exercised every operation.
#[derive(Debug, Default)]
struct Tally {
    created: usize,
    updated: usize,
    expired: usize,
    /// Updates or expiries sent to an instance that had not yet seen the silence.
    not_yet_visible: usize,
}

/// Silences nobody is changing right now; a worker takes one out for the length of an
/// operation, so the test never races itself (the instances race each other).
type Pool = Arc<Mutex<Vec<String>>>;

fn take(pool: &Pool, rng: &mut XorShift) -> Option<String> {
    let mut pool = pool.lock().unwrap();
    if pool.is_empty() {
        return None;
    }
    let index = rng.below(pool.len());
    Some(pool.swap_remove(index))
}

fn new_silence(worker: usize, serial: usize) -> String {
    let now = chrono::Utc::now();
    serde_json::json!({
        "matchers": [
            {"name": "alertname", "value": format!("Churn{worker}x{serial}"), "isRegex": false},
            {"name": "instance", "value": "host-.*", "isRegex": true},
        ],
        "startsAt": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "endsAt": (now + chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "createdBy": format!("worker{worker}"),
        "comment": "created",
    })
    .to_string()
}

/// One worker: creates on its own instance; updates and expires any silence through any
/// instance (one that has not seen the silence yet answers 404 to the GET first).
async fn churn(worker: usize, urls: Arc<Vec<String>>, pool: Pool, until: Instant) -> Tally {
    let client = reqwest::Client::new();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1));
    let mut tally = Tally::default();
    let mut serial = 0;
    while Instant::now() < until {
        let roll = rng.below(100);
        let held = if roll < 40 { None } else { take(&pool, &mut rng) };
        let Some(id) = held else {
            serial += 1;
            let url = format!("{}/api/v2/silences", urls[worker]);
            let reply = request(&client, "POST", &url, Some(&new_silence(worker, serial))).await;
            assert_eq!(reply.status, 200, "create on {url}: {}", reply.text);
            let id = reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned();
            pool.lock().unwrap().push(id);
            tally.created += 1;
            continue;
        };
        let target = &urls[rng.below(urls.len())];
        let current = request(&client, "GET", &format!("{target}/api/v2/silence/{id}"), None).await;
        if current.status == 404 {
            tally.not_yet_visible += 1;
            pool.lock().unwrap().push(id);
            continue;
        }
        assert_eq!(current.status, 200, "get {id} on {target}: {}", current.text);
        if roll < 75 {
            let mut silence: Value = current.json().unwrap();
            let ends_at = chrono::Utc::now() + chrono::Duration::hours(3);
            silence["endsAt"] = ends_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into();
            silence["comment"] = format!("updated by worker{worker} via {target}").into();
            let url = format!("{target}/api/v2/silences");
            let reply = request(&client, "POST", &url, Some(&silence.to_string())).await;
            assert_eq!(reply.status, 200, "update {id} on {target}: {}", reply.text);
            let new_id = reply.json().unwrap()["silenceID"].as_str().unwrap().to_owned();
            assert_eq!(new_id, id, "an active silence with the same matchers updates in place");
            pool.lock().unwrap().push(id);
            tally.updated += 1;
        } else {
            let url = format!("{target}/api/v2/silence/{id}");
            let reply = request(&client, "DELETE", &url, None).await;
            assert_eq!(reply.status, 200, "expire {id} on {target}: {}", reply.text);
            tally.expired += 1;
        }
    }
    tally
}

/// The silences a newly started instance loads from the database.
async fn database_silences(data: &Path, extra: &[String]) -> Vec<Value> {
    let fresh = Klaxon::start(FRESH_ADDRESS, data, extra);
    let silences = listing(&reqwest::Client::new(), &fresh.url).await;
    fresh.stop("TERM");
    silences
}

/// Polls `url` until it lists `expected` (bounded); panics with the difference otherwise.
async fn converges(url: &str, expected: &[Value]) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let got = listing(&client, url).await;
        if got == expected {
            return;
        }
        if started.elapsed() > CONVERGE_DEADLINE {
            let missing = expected.iter().filter(|s| !got.contains(s)).count();
            let extra = got.iter().filter(|s| !expected.contains(s)).count();
            panic!("{url} did not converge: {missing} silences differ or missing, {extra} extra");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// No error and no warning in the log, except the driver's notes about statements slower
/// than a second (a loaded machine's fsync), which report no failure.
fn assert_quiet_log(data: &Path) {
    let log = std::fs::read_to_string(data.join("server.log")).expect("read server log");
    let slow_statement = |line: &str| line.contains("sqlx::query: slow statement");
    let noisy: Vec<&str> = log
        .lines()
        .filter(|line| {
            line.contains(" ERROR ") || (line.contains(" WARN ") && !slow_statement(line))
        })
        .collect();
    assert!(noisy.is_empty(), "{} logged:\n{}", data.display(), noisy.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_instances_on_one_postgres_converge_under_silence_churn() {
    let database = Database::create();
    let extra = [format!("--storage.url={}", database.url()), "--storage.poll-interval=1s".into()];
    let dirs: Vec<ScratchDir> = (0..INSTANCES).map(|_| ScratchDir::new("shared-pg")).collect();
    let instances: Vec<Klaxon> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| Klaxon::start(&address(i), &dir.0, &extra))
        .collect();
    let urls = Arc::new(instances.iter().map(|k| k.url.clone()).collect::<Vec<_>>());

    let pool = Pool::default();
    let until = Instant::now() + CHURN;
    let workers: Vec<_> = (0..INSTANCES)
        .map(|worker| tokio::spawn(churn(worker, urls.clone(), pool.clone(), until)))
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        let tally = worker.await.expect("a churn worker failed");
        total.created += tally.created;
        total.updated += tally.updated;
        total.expired += tally.expired;
        total.not_yet_visible += tally.not_yet_visible;
    }
    assert!(total.created > 0 && total.updated > 0 && total.expired > 0, "{total:?}");

    // Every running instance reaches what the database holds, without gossip.
    let fresh_dir = ScratchDir::new("shared-pg-fresh");
    let stored = database_silences(&fresh_dir.0, &extra).await;
    assert_eq!(stored.len(), total.created, "{total:?}");
    for url in urls.iter() {
        converges(url, &stored).await;
    }

    // After a restart every instance serves exactly the database's silences, and the
    // shutdown snapshots overwrote nothing newer.
    let mut restarted = Vec::new();
    for (index, instance) in instances.into_iter().enumerate() {
        instance.stop("TERM");
        restarted.push(Klaxon::start(&address(index), &dirs[index].0, &extra));
    }
    let instances = restarted;
    let stored_after = database_silences(&fresh_dir.0, &extra).await;
    assert_eq!(stored_after, stored, "graceful shutdowns changed the stored silences");
    let client = reqwest::Client::new();
    for instance in &instances {
        assert_eq!(listing(&client, &instance.url).await, stored, "{} after restart", instance.url);
    }
    for instance in instances {
        instance.stop("TERM");
    }
    for dir in dirs.iter().chain([&fresh_dir]) {
        assert_quiet_log(&dir.0);
    }
    eprintln!("churn: {total:?}");
}
