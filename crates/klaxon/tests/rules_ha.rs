//! The alert generator in a cluster: three Klaxon instances gossiping on loopback
//! (127.0.0.200–209) over one PostgreSQL database, one always-firing rule on the built-in
//! datasource, and a webhook sink counting notifications per group.
//!
//! (a) Every instance evaluates every rule (the default): the history records each
//! transition once per instance; the webhook gets one notification per group; after a
//! SIGKILL the survivors still notify a new group exactly once; the killed instance,
//! restarted, neither re-enters pending nor notifies again.
//! (b) `--rules.replication-factor=1`: one instance evaluates the group; after it is
//! SIGKILLed another takes over within two ticks of its failure detector declaring the
//! member dead, continuing the episode, without a second notification.
//!
//! Timers are short (rule tick and interval 1 s, gossip 50 ms, probes 200 ms, peer timeout
//! 2 s, group_wait 1 s). Waiting for something polls with a deadline; checking that a second
//! notification does not come watches the sink until every receiver that could send it has
//! had its turn (group_wait + 2 × peer timeout, plus a margin).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::time::Instant;

use crate::cluster::Sink;
use crate::persistence::Database;
use crate::support::{Implementation, ScratchDir, Server, request};

const PEER_TIMEOUT: Duration = Duration::from_secs(2);
/// The rule scheduler's tick (and the group interval).
const TICK: Duration = Duration::from_secs(1);
/// How long a second notification could take to follow the first: the last receiver's
/// group_wait and position wait, plus a margin for a loaded machine.
const QUIET: Duration = Duration::from_secs(1 + 2 * 2 + 4);
/// Bound on anything converging.
const CONVERGE: Duration = Duration::from_secs(40);

const RULE: &str = "groups:\n  - name: ha\n    interval: 1s\n    rules:\n      - alert: Down\n        expr: klaxon_example_up == 0\n        for: 2s\n";
const SECOND_RULE: &str =
    "      - alert: StillDown\n        expr: klaxon_example_up == 0\n        for: 2s\n";

/// Every notification goes to the sink: group_wait 1 s, and no repeat within a test.
fn alertmanager_config(sink: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1m\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: 'http://{sink}/hook'\n"
    )
}

/// Three instances' settings; each is started (and restarted) with the same flags. Their
/// `--rules.file` glob matches nothing until [`Setup::load_rules`] writes the file, so
/// that no instance evaluates a rule while the cluster is still forming.
struct Setup {
    ips: [&'static str; 3],
    config: std::path::PathBuf,
    rules_dir: std::path::PathBuf,
    common: Vec<String>,
}

impl Setup {
    fn flags(&self, index: usize) -> Vec<String> {
        let ip = self.ips[index];
        let mut flags = vec![
            format!("--cluster.listen-address={ip}:9094"),
            format!("--cluster.advertise-address={ip}:9094"),
            format!("--cluster.peer-name=ha-{index}"),
            format!("--rules.instance-id=ha-{index}"),
            "--cluster.gossip-interval=50ms".to_owned(),
            "--cluster.pushpull-interval=2s".to_owned(),
            "--cluster.probe-interval=200ms".to_owned(),
            "--cluster.probe-timeout=100ms".to_owned(),
            "--cluster.reconnect-interval=1s".to_owned(),
            "--cluster.settle-timeout=5s".to_owned(),
            format!("--cluster.peer-timeout={}s", PEER_TIMEOUT.as_secs()),
            "--datasource.url=builtin:".to_owned(),
            format!("--rules.tick-interval={}s", TICK.as_secs()),
            format!("--rules.file={}/*.yml", self.rules_dir.display()),
        ];
        flags.extend(
            self.ips.iter().filter(|p| **p != ip).map(|p| format!("--cluster.peer={p}:9094")),
        );
        flags.extend(self.common.iter().cloned());
        flags
    }

    /// Writes the rule file and reloads every instance.
    async fn load_rules(&self, client: &reqwest::Client, instances: &[Server], text: &str) {
        std::fs::write(self.rules_dir.join("rules.yml"), text).unwrap();
        for instance in instances {
            let url = format!("{}/-/reload", instance.url);
            let reply = request(client, "POST", &url, None).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
    }

    fn start(&self, index: usize) -> Server {
        let flags = self.flags(index);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let address = format!("{}:19093", self.ips[index]);
        Server::start(Implementation::Klaxon, &address, &self.config, &flags)
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let Ok(reply) = client.get(url).timeout(Duration::from_secs(5)).send().await else {
        return Value::Null;
    };
    reply.json().await.unwrap_or_default()
}

/// Polls `check` until it returns a value or [`CONVERGE`] passes; then panics with `what`.
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    crate::support::poll_for(what, CONVERGE, check).await
}

/// Watches the sink for [`QUIET`]: `alertname`'s notifications must stay at `expected`.
async fn no_more_notifications(sink: &Sink, alertname: &str, expected: usize) {
    let until = Instant::now() + QUIET;
    while Instant::now() < until {
        assert_eq!(sink.count(alertname), expected, "{alertname}: notifications");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn member_names(client: &reqwest::Client, server: &Server) -> BTreeSet<String> {
    let status = get_json(client, &format!("{}/api/v2/status", server.url)).await;
    let peers = status["cluster"]["peers"].as_array().cloned().unwrap_or_default();
    peers.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect()
}

async fn all_see_each_other(client: &reqwest::Client, servers: &[&Server]) {
    let expected: BTreeSet<String> = (0..servers.len()).map(|i| format!("ha-{i}")).collect();
    for server in servers {
        eventually(&format!("{} lists {expected:?}", server.url), || async {
            (member_names(client, server).await == expected).then_some(())
        })
        .await;
    }
}

/// The history of `rule` as (instance, previous, current, evaluation time).
async fn history(
    client: &reqwest::Client,
    server: &Server,
    rule: &str,
) -> Vec<(String, String, String, DateTime<Utc>)> {
    let url = format!("{}/api/v1/rules/history?rule={rule}", server.url);
    let body = get_json(client, &url).await;
    body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
            let at = time(&e["time"]).unwrap_or_else(|| panic!("no time in {e}"));
            (field("instance"), field("previous"), field("current"), at)
        })
        .collect()
}

/// The one group of `/api/v1/rules`.
async fn group(client: &reqwest::Client, server: &Server) -> Value {
    let body = get_json(client, &format!("{}/api/v1/rules", server.url)).await;
    body["data"]["groups"][0].clone()
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?).ok().map(|t| t.to_utc())
}

/// `name{labels}` of the metrics page (0 when absent).
async fn metric(client: &reqwest::Client, server: &Server, prefix: &str) -> f64 {
    let text = request(client, "GET", &format!("{}/metrics", server.url), None).await.text;
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The firing alerts of `/api/v1/alerts` as (alertname, activeAt).
async fn firing(client: &reqwest::Client, server: &Server) -> Vec<(String, String)> {
    let body = get_json(client, &format!("{}/api/v1/alerts", server.url)).await;
    let mut alerts: Vec<(String, String)> = body["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "firing")
        .map(|a| {
            let name = a["labels"]["alertname"].as_str().unwrap_or_default().to_owned();
            (name, a["activeAt"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    alerts.sort();
    alerts
}

/// Goal: with every instance evaluating every rule, the history shows the duplication, the
/// clustered receivers still notify once per group, a SIGKILL does not stop notifications,
/// and a restarted instance continues the episode silently.
/// Method: see the module documentation, (a).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_evaluates_and_one_notification_goes_out_per_group() {
    let database = Database::create();
    let sink_address = "127.0.0.200:19401";
    let sink = Sink::start(sink_address).await;
    let scratch = ScratchDir::new("rules-ha-all");
    let setup = Setup {
        ips: ["127.0.0.201", "127.0.0.202", "127.0.0.203"],
        config: scratch.write("alertmanager.yml", &alertmanager_config(sink_address)),
        rules_dir: scratch.0.join("rules"),
        common: vec![format!("--storage.url={}", database.url())],
    };
    std::fs::create_dir(&setup.rules_dir).unwrap();
    let mut instances: Vec<Server> = (0..3).map(|i| setup.start(i)).collect();
    let client = reqwest::Client::new();
    all_see_each_other(&client, &instances.iter().collect::<Vec<_>>()).await;
    setup.load_rules(&client, &instances, RULE).await;

    // Each instance records both transitions.
    let deadline = Instant::now() + CONVERGE;
    let recorded = loop {
        let entries = history(&client, &instances[2], "Down").await;
        if entries.len() >= 6 {
            break entries;
        }
        assert!(
            Instant::now() < deadline,
            "history incomplete: {entries:?}\nlogs:\n{}",
            instances.iter().map(Server::log_text).collect::<Vec<_>>().join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut transitions: Vec<(String, String, String)> =
        recorded.iter().map(|(i, p, c, _)| (i.clone(), p.clone(), c.clone())).collect();
    transitions.sort();
    let expected: Vec<(String, String, String)> = (0..3)
        .flat_map(|n| {
            [("inactive", "pending"), ("pending", "firing")]
                .map(|(p, c)| (format!("ha-{n}"), p.to_owned(), c.to_owned()))
        })
        .collect();
    assert_eq!(transitions, expected);
    eventually("the webhook is notified", || async { (sink.count("Down") >= 1).then_some(()) })
        .await;
    no_more_notifications(&sink, "Down", 1).await;

    // SIGKILL the first instance; the survivors load a second rule and notify it once.
    let killed = instances.remove(0);
    let mut episodes = firing(&client, &killed).await;
    assert_eq!(episodes.len(), 1, "{episodes:?}");
    drop(killed);
    setup.load_rules(&client, &instances, &format!("{RULE}{SECOND_RULE}")).await;
    eventually("the survivors notify the new group", || async {
        (sink.count("StillDown") >= 1).then_some(())
    })
    .await;
    no_more_notifications(&sink, "StillDown", 1).await;
    assert_eq!(sink.count("Down"), 1);
    for survivor in &instances {
        let seen = firing(&client, survivor).await;
        assert_eq!(seen.len(), 2, "{seen:?}");
        episodes.extend(seen);
    }

    // Restarted, it takes both rules' state from the store: no pending, no notification.
    let restarted_at = Utc::now();
    let restarted = setup.start(0);
    eventually("the restarted instance evaluates", || async {
        let last = time(&group(&client, &restarted).await["lastEvaluation"])?;
        (last > restarted_at + chrono::Duration::from_std(TICK).unwrap()).then_some(())
    })
    .await;
    // Firing at once, with an activeAt some instance had: the episodes continue. (The
    // instances may have started an episode a tick apart; the store keeps one of them.)
    let continued = firing(&client, &restarted).await;
    assert_eq!(continued.len(), 2, "{continued:?}");
    for episode in &continued {
        assert!(episodes.contains(episode), "{episode:?} is new; known: {episodes:?}");
    }
    no_more_notifications(&sink, "Down", 1).await;
    assert_eq!(sink.count("StillDown"), 1);
    for rule in ["Down", "StillDown"] {
        let after: Vec<_> = history(&client, &restarted, rule)
            .await
            .into_iter()
            .filter(|(instance, _, _, at)| instance == "ha-0" && *at > restarted_at)
            .collect();
        assert!(after.is_empty(), "{rule}: the restarted instance recorded {after:?}");
    }
}

/// Goal: with a replication factor of 1, exactly one instance evaluates the group, and
/// when it dies another takes over within two ticks of the failure detector's decision,
/// continuing the episode without a second notification.
/// Method: see the module documentation, (b).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_evaluates_each_group_and_another_takes_over_after_a_sigkill() {
    let database = Database::create();
    let sink_address = "127.0.0.204:19401";
    let sink = Sink::start(sink_address).await;
    let scratch = ScratchDir::new("rules-ha-sharded");
    let setup = Setup {
        ips: ["127.0.0.205", "127.0.0.206", "127.0.0.207"],
        config: scratch.write("alertmanager.yml", &alertmanager_config(sink_address)),
        rules_dir: scratch.0.join("rules"),
        common: vec![
            format!("--storage.url={}", database.url()),
            "--rules.replication-factor=1".to_owned(),
        ],
    };
    std::fs::create_dir(&setup.rules_dir).unwrap();
    let mut instances: Vec<Server> = (0..3).map(|i| setup.start(i)).collect();
    let client = reqwest::Client::new();
    all_see_each_other(&client, &instances.iter().collect::<Vec<_>>()).await;
    setup.load_rules(&client, &instances, RULE).await;

    // All three agree on one owner, and only it evaluates.
    let owner = eventually("the instances agree on the group's owner", || async {
        let mut owners = BTreeSet::new();
        let mut owned = Vec::new();
        for instance in &instances {
            let group = group(&client, instance).await;
            owners.insert(group["owners"].to_string());
            owned.push(group["owned"].as_bool()?);
        }
        let single = owners.len() == 1 && owned.iter().filter(|o| **o).count() == 1;
        single.then(|| owned.iter().position(|o| *o).unwrap())
    })
    .await;
    let owner_name = format!("ha-{owner}");
    assert_eq!(group(&client, &instances[owner]).await["owners"], serde_json::json!([owner_name]));
    let recorded = eventually("the owner records pending and firing", || async {
        let entries = history(&client, &instances[0], "Down").await;
        (entries.len() >= 2).then_some(entries)
    })
    .await;
    let by: Vec<(&str, &str, &str)> =
        recorded.iter().map(|(i, p, c, _)| (i.as_str(), p.as_str(), c.as_str())).collect();
    assert_eq!(
        by,
        vec![
            (owner_name.as_str(), "inactive", "pending"),
            (owner_name.as_str(), "pending", "firing")
        ]
    );
    eventually("the webhook is notified", || async { (sink.count("Down") >= 1).then_some(()) })
        .await;
    no_more_notifications(&sink, "Down", 1).await;
    let iterations = "klaxon_rule_group_iterations_total{";
    for (index, instance) in instances.iter().enumerate() {
        let owned = metric(&client, instance, "klaxon_rule_groups_owned ").await;
        let evaluated = metric(&client, instance, iterations).await;
        if index == owner {
            assert!(owned == 1.0 && evaluated > 0.0, "owner: {owned} owned, {evaluated} runs");
        } else {
            assert!(
                owned == 0.0 && evaluated == 0.0,
                "ha-{index}: {owned} owned, {evaluated} runs"
            );
        }
    }
    let episode = firing(&client, &instances[owner]).await;
    assert_eq!(episode.len(), 1, "{episode:?}");

    // SIGKILL the owner; note when each survivor's failure detector drops it.
    drop(instances.remove(owner));
    let survivors: Vec<(usize, &Server)> =
        (0..3).filter(|i| *i != owner).zip(instances.iter()).collect();
    let mut dropped_at: Vec<Option<DateTime<Utc>>> = vec![None; survivors.len()];
    let deadline = Instant::now() + CONVERGE;
    while dropped_at.iter().any(Option::is_none) {
        for (slot, (_, server)) in dropped_at.iter_mut().zip(&survivors) {
            if slot.is_none() && !member_names(&client, server).await.contains(&owner_name) {
                *slot = Some(Utc::now());
            }
        }
        assert!(Instant::now() < deadline, "the survivors never declared {owner_name} dead");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // One survivor takes over within two ticks of its own decision, and evaluates.
    let (position, new_owner, since) = eventually("a survivor takes the group over", || async {
        for (position, (index, server)) in survivors.iter().enumerate() {
            let group = group(&client, server).await;
            if group["owned"] == true {
                return Some((position, *index, time(&group["ownedSince"])?));
            }
        }
        None
    })
    .await;
    let server = survivors[position].1;
    let decided = dropped_at[position].unwrap();
    let two_ticks = chrono::Duration::from_std(TICK * 2).unwrap();
    assert!(
        since <= decided + two_ticks,
        "ha-{new_owner} took over at {since}, its failure detector decided by {decided}"
    );
    eprintln!(
        "takeover: ha-{new_owner} owns the group from the tick at {since}, {} ms after the test saw its failure detector drop ha-{owner}",
        (since - decided).num_milliseconds()
    );
    for (_, survivor) in &survivors {
        let group = group(&client, survivor).await;
        assert_eq!(group["owners"], serde_json::json!([format!("ha-{new_owner}")]), "{group}");
    }
    eventually("the new owner evaluates", || async {
        let last = time(&group(&client, server).await["lastEvaluation"])?;
        (last >= since).then_some(())
    })
    .await;
    // The episode continues (no new pending), and the alert reached the new owner's
    // receiver at once, which must not notify again.
    assert_eq!(firing(&client, server).await, episode);
    // Well before the resend delay (30 s) would have brought it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = get_json(&client, &format!("{}/api/v2/alerts", server.url)).await;
        if alerts.as_array().is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == "Down")) {
            break;
        }
        assert!(Instant::now() < deadline, "the takeover did not send the alert: {alerts}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    no_more_notifications(&sink, "Down", 1).await;
    assert_eq!(history(&client, server, "Down").await.len(), 2, "no transition after the takeover");
    let other = survivors[1 - position].1;
    assert_eq!(metric(&client, other, iterations).await, 0.0, "the other survivor never evaluated");
}
