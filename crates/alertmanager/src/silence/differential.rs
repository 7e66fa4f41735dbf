//! Differential test against the real Alertmanager 0.25 binary: the same sequence of silence
//! writes goes to its HTTP API and to a [`Silences`], and the API-visible outcomes (status,
//! in-place versus new id, error text, listing order and states) must agree. Skipped when
//! `/usr/bin/prometheus-alertmanager` is absent.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use model::{MatchType, Matcher};
use serde_json::{Value, json};

use super::silencepb;
use super::{Silence, SilenceError, Silences, SilencesOptions, build_matcher, check_postable};

const BINARY: &str = "/usr/bin/prometheus-alertmanager";
/// Each test gets its own loopback address: nextest runs tests as separate processes, which
/// would otherwise race for the same free port.
const HOST_SEQUENCE_TEST: &str = "127.0.0.13";
const HOST_SNAPSHOT_TEST: &str = "127.0.0.14";

/// The running binary; killed by PID and its data removed when dropped.
struct Alertmanager {
    host: &'static str,
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Tests in one process would otherwise race for the same free port.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

impl Alertmanager {
    /// Starts the binary, with `snapshot` as its silences file when given.
    fn start(host: &'static str, snapshot: Option<&[u8]>) -> Option<Alertmanager> {
        let port = (23093..=23199).find(|port| TcpListener::bind((host, *port)).is_ok())?;
        let dir =
            std::env::temp_dir().join(format!("klaxon-silence-diff-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        if let Some(snapshot) = snapshot {
            std::fs::write(dir.join("silences"), snapshot).ok()?;
        }
        let config = dir.join("alertmanager.yml");
        std::fs::write(&config, "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
            .ok()?;
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.display()))
            .arg(format!("--web.listen-address={host}:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let am = Alertmanager { host, child, dir, port };
        let deadline = Instant::now() + StdDuration::from_secs(15);
        while Instant::now() < deadline {
            if am.request("GET", "/-/ready", None).is_some_and(|(status, _)| status == 200) {
                return Some(am);
            }
            std::thread::sleep(StdDuration::from_millis(50));
        }
        None
    }

    /// SIGTERM, which makes 0.25 write its final snapshot; returns that file.
    fn stop_and_read_snapshot(&mut self) -> Vec<u8> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + StdDuration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "alertmanager did not stop");
            std::thread::sleep(StdDuration::from_millis(20));
        }
        std::fs::read(self.dir.join("silences")).unwrap()
    }

    /// One HTTP/1.1 request with `Connection: close`; returns status and body.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect((self.host, self.port)).ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.host,
            body.len()
        );
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body.as_bytes()).ok()?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        Some((status, if chunked { dechunk(body) } else { body.to_owned() }))
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One posted silence: matchers as (name, operator, value), and times.
struct Post<'a> {
    id: Option<&'a str>,
    matchers: &'a [(&'a str, MatchType, &'a str)],
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// Send each side's own stored start of `id` instead of `starts_at`: the two clamped their
    /// starts to slightly different clocks.
    keep_start: bool,
}

/// A listing as (name, state) pairs, in order.
type Listing = Vec<(String, String)>;

/// Both sides of the comparison, with ids mapped to names so random UUIDs can be compared.
struct Pair {
    am: Alertmanager,
    ours: Silences,
    names: HashMap<String, String>,
    /// name -> (real id, our id)
    ids: HashMap<String, (String, String)>,
}

impl Pair {
    /// Posts to both; returns the HTTP status and body from the binary after checking ours
    /// agrees, and records the resulting ids under `name`.
    fn post(&mut self, name: &str, post: &Post<'_>) -> (u16, String) {
        let (real_id, our_id) = match post.id {
            Some(existing) => {
                let (real, ours) = self.ids[existing].clone();
                (Some(real), Some(ours))
            }
            None => (None, None),
        };
        let (real_start, our_start) = match (&real_id, &our_id) {
            (Some(real), Some(ours)) if post.keep_start => {
                let (_, text) =
                    self.am.request("GET", &format!("/api/v2/silence/{real}"), None).unwrap();
                let real: Value = serde_json::from_str(&text).unwrap();
                let start = real["startsAt"].as_str().unwrap().parse().unwrap();
                (start, self.ours.get(ours).unwrap().starts_at)
            }
            _ => (post.starts_at, post.starts_at),
        };
        let body = json!({
            "id": real_id.clone().unwrap_or_default(),
            "matchers": post.matchers.iter().map(|(n, op, v)| json!({
                "name": n, "value": v,
                "isRegex": op.is_regex(), "isEqual": op.is_positive(),
            })).collect::<Vec<_>>(),
            "startsAt": rfc3339(real_start),
            "endsAt": rfc3339(post.ends_at),
            "createdBy": "diff", "comment": name,
        });
        let (status, text) = self.am.request("POST", "/api/v2/silences", Some(&body)).unwrap();
        let ours = self.our_post(our_id.clone(), our_start, post);
        let (our_status, our_text) = match &ours {
            Ok(_) => (200, String::new()),
            Err(SilenceError::NotFound) => (404, format!("\"{}\"", SilenceError::NotFound)),
            Err(error) => (400, serde_json::to_string(&error.to_string()).unwrap()),
        };
        assert_eq!(status, our_status, "{name}: {text}");
        if status != 200 {
            assert_eq!(text.trim(), our_text, "{name}");
            return (status, text);
        }
        let real: Value = serde_json::from_str(&text).unwrap();
        let real = real["silenceID"].as_str().unwrap().to_owned();
        let ours = ours.unwrap();
        // In place on one side must be in place on the other.
        assert_eq!(real_id.as_deref() == Some(&real), our_id.as_deref() == Some(&ours), "{name}");
        self.names.insert(real.clone(), name.to_owned());
        self.names.insert(ours.clone(), name.to_owned());
        self.ids.insert(name.to_owned(), (real, ours));
        (status, text)
    }

    fn our_post(
        &mut self,
        id: Option<String>,
        starts_at: DateTime<Utc>,
        post: &Post<'_>,
    ) -> Result<String, SilenceError> {
        let now = Utc::now();
        check_postable(starts_at, post.ends_at, now)?;
        let matchers = post
            .matchers
            .iter()
            .enumerate()
            .map(|(i, (n, op, v))| build_matcher(i, *op, n, v))
            .collect::<Result<Vec<Matcher>, _>>()?;
        let silence = Silence {
            id: id.unwrap_or_default(),
            matchers,
            starts_at,
            ends_at: post.ends_at,
            updated_at: now,
            created_by: "diff".to_owned(),
            comment: String::new(),
        };
        self.ours.set(silence, now)
    }

    fn delete(&mut self, name: &str) -> u16 {
        let (real, ours) = self.ids.get(name).cloned().unwrap_or_else(|| {
            let unknown = "00000000-0000-4000-8000-000000000000".to_owned();
            (unknown.clone(), unknown)
        });
        let (status, _) =
            self.am.request("DELETE", &format!("/api/v2/silence/{real}"), None).unwrap();
        // 0.25's DELETE answers 500 for every error, "not found" included.
        let our_status = if self.ours.expire(&ours, Utc::now()).is_ok() { 200 } else { 500 };
        assert_eq!(status, our_status, "delete {name}");
        status
    }

    /// The listing on both sides as (name, state), in order.
    fn listing(&self, filter: &str, ours_filter: &[Matcher]) -> (Listing, Listing) {
        let path = format!("/api/v2/silences{filter}");
        let (status, text) = self.am.request("GET", &path, None).unwrap();
        assert_eq!(status, 200);
        let real: Vec<Value> = serde_json::from_str(&text).unwrap();
        let real = real
            .iter()
            .map(|s| {
                let id = s["id"].as_str().unwrap();
                (self.names[id].clone(), s["status"]["state"].as_str().unwrap().to_owned())
            })
            .collect();
        let now = Utc::now();
        let ours = self
            .ours
            .query(ours_filter, now)
            .iter()
            .map(|s| (self.names[&s.id].clone(), s.state(now).as_str().to_owned()))
            .collect();
        (real, ours)
    }
}

#[test]
fn agrees_with_alertmanager_025() {
    if !std::path::Path::new(BINARY).exists() {
        eprintln!("skipped: {BINARY} not installed");
        return;
    }
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(am) = Alertmanager::start(HOST_SEQUENCE_TEST, None) else {
        panic!("could not start {BINARY} on {HOST_SEQUENCE_TEST}:23093..23199");
    };
    let options = SilencesOptions {
        retention: Duration::hours(120),
        max_silences: 0,
        max_silence_size_bytes: 0,
    };
    let mut pair =
        Pair { am, ours: Silences::new(options), names: HashMap::new(), ids: HashMap::new() };
    run_sequence(&mut pair);
}

fn run_sequence(pair: &mut Pair) {
    use MatchType::{Equal, NotEqual, Regexp};
    let base = Utc::now();
    let h = |hours: i64| base + Duration::hours(hours);
    let job_x = [("job", Equal, "x")];
    let post = |id, matchers, starts_at, ends_at| Post {
        id,
        matchers,
        starts_at,
        ends_at,
        keep_start: false,
    };

    pair.post("a", &post(None, &job_x, h(-1), h(2)));
    pair.post("b", &post(None, &[("job", Regexp, "x|y"), ("env", NotEqual, "")], h(1), h(3)));
    pair.post("c", &post(None, &[("svc", Equal, "db")], h(-2), h(1)));
    pair.post("d", &post(None, &[("svc", Equal, "web")], h(5), h(6)));
    // In place: active with its start kept (millisecond text, same second); pending moved later.
    pair.post("a", &Post { keep_start: true, ..post(Some("a"), &job_x, h(0), h(4)) });
    pair.post("b", &post(Some("b"), &[("job", Regexp, "x|y"), ("env", NotEqual, "")], h(2), h(3)));
    // Replacements: changed matchers; pending start moved into the past.
    pair.post("c2", &post(Some("c"), &[("svc", Equal, "cache")], h(-2), h(1)));
    pair.post("d2", &post(Some("d"), &[("svc", Equal, "web")], h(-1), h(6)));
    // An expired silence is never updated: posting it again creates a new one.
    pair.post("c3", &post(Some("c"), &[("svc", Equal, "db")], h(0), h(1)));
    // Errors, with 0.25's texts and statuses.
    pair.post("bad-empty", &post(None, &[("env", Equal, "")], h(0), h(1)));
    pair.post("bad-name", &post(None, &[("job", Equal, "x"), ("0bad", Equal, "v")], h(0), h(1)));
    pair.post("bad-times", &post(None, &job_x, h(2), h(1)));
    pair.post("bad-past", &post(None, &job_x, h(-3), h(-2)));
    // A rejected replacement still expires the original in 0.25.
    pair.post("bad-replace", &post(Some("c2"), &[("svc", Regexp, ".*")], h(-2), h(1)));
    let unknown = "00000000-0000-4000-8000-000000000000".to_owned();
    pair.ids.insert("ghost".to_owned(), (unknown.clone(), unknown));
    pair.post("ghost-update", &post(Some("ghost"), &job_x, h(0), h(1)));
    pair.ids.remove("ghost");

    assert_eq!(pair.delete("b"), 200);
    assert_eq!(pair.delete("b"), 200);
    assert_eq!(pair.delete("never-created"), 500);

    let (real, ours) = pair.listing("", &[]);
    assert_eq!(real, ours);
    assert_eq!(real.len(), 7);
    let filter = "?filter=job%3D%22x%22";
    let (real, ours) = pair.listing(filter, &[Matcher::new(Equal, "job", "x").unwrap()]);
    assert_eq!(real, ours);
    assert_eq!(real, vec![("a".to_owned(), "active".to_owned())]);
}

/// The API's view of one silence, for comparing the two implementations field by field.
fn api_view(silence: &Value) -> (String, Vec<String>, String, String, String, String, String) {
    let matchers = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}|{}|{}|{}", m["name"], m["value"], m["isRegex"], m["isEqual"]))
        .collect();
    let text = |key: &str| silence[key].as_str().unwrap().to_owned();
    let time = |key: &str| {
        let parsed: DateTime<Utc> = text(key).parse().unwrap();
        rfc3339(parsed)
    };
    (
        text("id"),
        matchers,
        time("startsAt"),
        time("endsAt"),
        text("createdBy"),
        text("comment"),
        silence["status"]["state"].as_str().unwrap().to_owned(),
    )
}

fn our_view(
    silence: &Silence,
    now: DateTime<Utc>,
) -> (String, Vec<String>, String, String, String, String, String) {
    let matchers = silence
        .matchers
        .iter()
        .map(|m| {
            let (regex, equal) = (m.match_type.is_regex(), m.match_type.is_positive());
            format!("{}|{}|{regex}|{equal}", json!(m.name), json!(m.value))
        })
        .collect();
    (
        silence.id.clone(),
        matchers,
        rfc3339(silence.starts_at),
        rfc3339(silence.ends_at),
        silence.created_by.clone(),
        silence.comment.clone(),
        silence.state(now).as_str().to_owned(),
    )
}

#[test]
fn snapshots_interoperate_with_alertmanager_025() {
    if !std::path::Path::new(BINARY).exists() {
        eprintln!("skipped: {BINARY} not installed");
        return;
    }
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let now = Utc::now();
    let options = SilencesOptions {
        retention: Duration::hours(120),
        max_silences: 0,
        max_silence_size_bytes: 0,
    };
    let mut ours = Silences::new(options);
    let m = |op, name: &str, value: &str| Matcher::new(op, name, value).unwrap();
    let specs = [
        (vec![m(MatchType::Equal, "job", "x")], 0, 2),
        (vec![m(MatchType::Regexp, "job", "x|y\\d"), m(MatchType::NotEqual, "env", "")], 1, 3),
        (vec![m(MatchType::NotRegexp, "team", "a.*"), m(MatchType::Equal, "sev", "pageé")], 0, 5),
    ];
    for (matchers, start, end) in specs {
        let silence = Silence {
            id: String::new(),
            matchers,
            starts_at: now + Duration::hours(start),
            ends_at: now + Duration::hours(end),
            updated_at: now,
            created_by: "klaxon".to_owned(),
            comment: format!("made by Klaxon {start}-{end}"),
        };
        ours.set(silence, now).unwrap();
    }
    let expired = ours.query(&[], now)[0].id.clone();
    ours.expire(&expired, now + Duration::milliseconds(5)).unwrap();

    // Klaxon's snapshot, read by 0.25.
    let mut am = Alertmanager::start(HOST_SNAPSHOT_TEST, Some(&ours.snapshot()))
        .expect("alertmanager starts");
    let (status, text) = am.request("GET", "/api/v2/silences", None).unwrap();
    assert_eq!(status, 200);
    let listed: Vec<Value> = serde_json::from_str(&text).unwrap();
    let at = Utc::now();
    let mut real: Vec<_> = listed.iter().map(api_view).collect();
    let mut mine: Vec<_> = ours.query(&[], at).iter().map(|s| our_view(s, at)).collect();
    real.sort();
    mine.sort();
    assert_eq!(real, mine);

    check_snapshot_written_by_025(&mut am, options, now);
}

/// 0.25's snapshot, read by Klaxon: every message re-encodes to the same bytes, and every
/// silence reads back as the API showed it.
fn check_snapshot_written_by_025(
    am: &mut Alertmanager,
    options: SilencesOptions,
    now: DateTime<Utc>,
) {
    let body = json!({
        "matchers": [{"name": "svc", "value": "api|web", "isRegex": true}],
        "startsAt": rfc3339(now), "endsAt": rfc3339(now + Duration::hours(1)),
        "createdBy": "go", "comment": "made by 0.25",
    });
    let (status, _) = am.request("POST", "/api/v2/silences", Some(&body)).unwrap();
    assert_eq!(status, 200);
    let (_, text) = am.request("GET", "/api/v2/silences", None).unwrap();
    let listed: Vec<Value> = serde_json::from_str(&text).unwrap();
    let snapshot = am.stop_and_read_snapshot();
    let mut loaded = Silences::new(options);
    loaded.load_snapshot(&snapshot).unwrap();
    assert_eq!(loaded.len(), 4);
    let mut rest = snapshot.as_slice();
    for message in silencepb::decode_stream(&snapshot).unwrap() {
        let bytes = silencepb::encode_delimited(&message);
        assert_eq!(&rest[..bytes.len()], bytes.as_slice());
        rest = &rest[bytes.len()..];
    }
    let at = Utc::now();
    for silence in &listed {
        let id = silence["id"].as_str().unwrap();
        assert_eq!(our_view(loaded.get(id).unwrap(), at), api_view(silence));
    }
}
