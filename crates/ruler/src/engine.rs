//! The tokio driver around the sans-IO parts: it sleeps until each wall-clock tick, asks the
//! [`Scheduler`] what is due, evaluates groups (rules in order, each query bounded by the
//! evaluation's deadline), feeds results to the rules' state machines and hands the alerts
//! to send to an [`AlertSink`]. It also answers what the rules API shows.
//!
//! With sharding ([`Sharding`]), each tick first asks the membership which groups this
//! instance owns: the scheduler skips the others, a lost group's alerts are dropped (its
//! owners keep them), and a gained group's alerts are reloaded from the shared store before
//! its first evaluation here, so a takeover continues the episode instead of starting over.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alerting::{Alert, AlertingRule, OutgoingAlert, TemplateEnv};
use crate::datasource::Datasource;
use crate::expr::pipeline;
use crate::expr::rule::ExpressionRule;
use crate::expr::value::Value;
use crate::rulefile::{RecordingRuleSpec, Rule, RuleGroup};
use crate::scheduler::{Due, GroupTiming, Scheduler};
use crate::sharding::Ownership;

mod takeover;
pub use takeover::{Sharding, StateSource};

/// Where alerts go (the in-process receiver, external Alertmanagers). Must not block.
pub trait AlertSink: Send + Sync {
    /// Delivers one evaluation's alerts.
    fn send(&self, alerts: Vec<OutgoingAlert>);
}

/// One rule's evaluation, for persistence and the state history.
#[derive(Clone, Debug)]
pub struct RuleEvaluation {
    /// The rule's stable key (see [`rule_key`]).
    pub key: String,
    /// The alert name.
    pub name: String,
    /// The evaluation time.
    pub at: DateTime<Utc>,
    /// The rule's state after the evaluation, as JSON (what [`Engine::warm`] takes back).
    pub state: String,
    /// What changed.
    pub transitions: Vec<HistoryTransition>,
}

/// A state change of one alert, for the state history.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryTransition {
    /// The alert's labels.
    pub labels: model::LabelSet,
    /// Its state before (`inactive`/`pending`/`firing` for Prometheus rules, Grafana's
    /// `Normal`, `Alerting (NoData)`, … for expression rules).
    pub previous: String,
    /// Its state after.
    pub current: String,
    /// The value seen.
    pub value: f64,
}

/// Receives rule evaluations that changed something (state, or a send). Must not block.
pub trait StateObserver: Send + Sync {
    /// Called after each group evaluation with the rules whose state changed.
    fn evaluated(&self, evaluations: Vec<RuleEvaluation>);
}

/// The key that identifies a rule across restarts and instances: its file, group,
/// position and name.
pub fn rule_key(group: &RuleGroup, index: usize, name: &str) -> String {
    format!("{}:{}:{index}:{name}", group.file.display(), group.name)
}

/// The key that identifies a group across restarts and instances (its origin and name,
/// as the metrics label it): what sharding hashes.
pub fn group_key(group: &RuleGroup) -> String {
    format!("{};{}", group.file.display(), group.name)
}

/// The key of an expression rule: its UID, which stays when it is edited or moved.
pub fn expression_rule_key(uid: &str) -> String {
    format!("grafana:{uid}")
}

/// The current time, injected.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Settings of the engine.
#[derive(Clone, Debug)]
pub struct Options {
    /// The scheduler's base tick.
    pub tick: Duration,
    /// Interval of groups that set none.
    pub default_interval: Duration,
    /// Bound on one group evaluation (capped at its interval).
    pub evaluation_timeout: Duration,
    /// Minimum time between two sends of the same firing alert.
    pub resend_delay: Duration,
    /// What templates see as `$externalLabels` / `$externalURL`.
    pub template_env: TemplateEnv,
    /// Attempts per query (1: no retry).
    pub query_attempts: u32,
    /// Delay before the first retry; each further retry waits twice as long.
    pub retry_delay: Duration,
    /// Which groups this instance evaluates.
    pub sharding: Sharding,
}

/// The wait before retry number `retry` (1-based): `initial × 2^(retry−1)`, capped at a
/// minute. Deterministic, so every instance retries at the same moments.
pub fn retry_backoff(initial: Duration, retry: u32) -> Duration {
    let factor = 1_u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(Duration::from_secs(60))
}

/// What one rule of a group needs at an evaluation.
enum Work {
    Prometheus(String),
    Expression(Box<crate::expr::model::ValidRule>, std::collections::HashSet<model::Fingerprint>),
    Paused,
    Nothing,
}

/// Most stalled ticks counted one by one (beyond, the schedule just jumps to the present).
const MAX_SKIPPED_TICKS: u32 = 10_000;

/// One rule with its runtime state.
#[derive(Debug)]
pub enum RuleState {
    /// An alerting rule and its alerts.
    Alerting(Box<AlertingRule>),
    /// A recording rule: loaded, not evaluated.
    Recording(RecordingRuleSpec),
    /// An expression rule and its instances.
    Expression(Box<ExpressionRule>),
}

/// A group's runtime state.
#[derive(Debug)]
pub struct GroupState {
    /// The rules, in file order.
    pub rules: Vec<RuleState>,
    /// The last evaluation time.
    pub last_evaluation: Option<DateTime<Utc>>,
    /// How long it took.
    pub evaluation_duration: Duration,
    /// Ticks dropped because an evaluation was still running.
    pub missed: u64,
    /// Evaluations of the group so far.
    pub iterations: u64,
    /// Rule evaluations that failed so far.
    pub failures: u64,
    /// Whether this instance evaluates the group.
    pub owned: bool,
    /// Since which tick it does (`None` before the engine runs, or when it does not).
    pub owned_since: Option<DateTime<Utc>>,
    /// The members evaluating it when sharded (empty: every instance).
    pub owners: Vec<String>,
    /// Its alerts may be behind the shared store (another instance evaluated it): they are
    /// reloaded before its next evaluation here.
    pub needs_restore: bool,
}

/// A loaded group.
pub struct Group {
    /// The group as loaded.
    pub spec: RuleGroup,
    /// Its evaluation interval.
    pub interval: Duration,
    state: Mutex<GroupState>,
}

impl Group {
    /// Locks the group's state.
    pub fn state(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().expect("rule group lock poisoned")
    }
}

/// The rule engine.
pub struct Engine {
    groups: Vec<Group>,
    datasource: Box<dyn Datasource>,
    sink: Arc<dyn AlertSink>,
    observer: Option<Arc<dyn StateObserver>>,
    options: Options,
    clock: Clock,
}

impl Engine {
    /// An engine over loaded groups; checks that every interval fits the tick.
    pub fn new(
        groups: Vec<RuleGroup>,
        datasource: Box<dyn Datasource>,
        sink: Arc<dyn AlertSink>,
        observer: Option<Arc<dyn StateObserver>>,
        options: Options,
        clock: Clock,
    ) -> Result<Arc<Engine>, String> {
        let groups: Vec<Group> = groups
            .into_iter()
            .map(|spec| {
                let rules = spec
                    .rules
                    .iter()
                    .map(|rule| match rule {
                        Rule::Alerting(alerting) => RuleState::Alerting(Box::new(
                            AlertingRule::new(alerting.clone(), spec.limit),
                        )),
                        Rule::Recording(recording) => RuleState::Recording(recording.clone()),
                        Rule::Expression(rule) => {
                            RuleState::Expression(Box::new(ExpressionRule::new(
                                (**rule).clone(),
                                spec.folder.clone().unwrap_or_default(),
                            )))
                        }
                    })
                    .collect();
                Group {
                    interval: spec.interval.unwrap_or(options.default_interval),
                    spec,
                    state: Mutex::new(GroupState {
                        rules,
                        last_evaluation: None,
                        evaluation_duration: Duration::ZERO,
                        missed: 0,
                        iterations: 0,
                        failures: 0,
                        owned: true,
                        owned_since: None,
                        owners: Vec::new(),
                        needs_restore: false,
                    }),
                }
            })
            .collect();
        let engine = Engine { groups, datasource, sink, observer, options, clock };
        engine.scheduler()?;
        Ok(Arc::new(engine))
    }

    fn scheduler(&self) -> Result<Scheduler, String> {
        let files: Vec<String> =
            self.groups.iter().map(|g| g.spec.file.display().to_string()).collect();
        let timings: Vec<GroupTiming<'_>> = self
            .groups
            .iter()
            .zip(&files)
            .map(|(group, file)| GroupTiming {
                key: (file, &group.spec.name),
                interval: group.interval,
                timeout: self.options.evaluation_timeout,
            })
            .collect();
        Scheduler::new(self.options.tick, &timings)
    }

    /// Restores persisted rule state (JSON by rule key, as [`Engine::snapshots`] and the
    /// state observer give it) before [`Engine::run`]; returns how many rules were restored.
    /// Keys of rules that no longer exist, and unreadable state, are ignored.
    pub fn warm(&self, mut states: std::collections::HashMap<String, String>) -> usize {
        let mut restored = 0;
        let now = (self.clock)();
        for group in &self.groups {
            let mut state = group.state();
            for (index, rule) in state.rules.iter_mut().enumerate() {
                match rule {
                    RuleState::Alerting(rule) => {
                        let key = rule_key(&group.spec, index, &rule.spec.name);
                        let Some(json) = states.remove(&key) else { continue };
                        match serde_json::from_str::<Vec<Alert>>(&json) {
                            Ok(alerts) => {
                                rule.restore(alerts);
                                restored += 1;
                            }
                            Err(error) => {
                                tracing::warn!(rule = %key, %error, "Ignoring unreadable rule state");
                            }
                        }
                    }
                    RuleState::Expression(rule) => {
                        let key = expression_rule_key(&rule.rule.spec.uid);
                        let Some(json) = states.remove(&key) else { continue };
                        match rule.restore(&json, now) {
                            Ok(()) => restored += 1,
                            Err(error) => {
                                tracing::warn!(rule = %key, %error, "Ignoring unreadable rule state");
                            }
                        }
                    }
                    RuleState::Recording(_) => {}
                }
            }
        }
        restored
    }

    /// Every alert as it was last sent (see [`AlertingRule::alerts_last_sent`] and
    /// [`ExpressionRule::alerts_last_sent`]).
    pub fn alerts_last_sent(&self) -> Vec<OutgoingAlert> {
        let mut alerts = Vec::new();
        for group in &self.groups {
            let state = group.state();
            for rule in &state.rules {
                match rule {
                    RuleState::Alerting(rule) => {
                        let url = self.graph_url(&group.spec, &rule.spec.expr);
                        alerts.extend(rule.alerts_last_sent(
                            self.options.resend_delay,
                            group.interval,
                            &url,
                        ));
                    }
                    RuleState::Expression(rule) => {
                        let settings = rule.settings(group.interval, self.options.resend_delay);
                        alerts.extend(rule.alerts_last_sent(&settings));
                    }
                    RuleState::Recording(_) => {}
                }
            }
        }
        alerts
    }

    /// Every alerting rule's alerts by rule key: what [`Engine::warm`] takes, so a reloaded
    /// engine continues where this one was.
    pub fn snapshots(&self) -> std::collections::HashMap<String, String> {
        let mut snapshots = std::collections::HashMap::new();
        for group in &self.groups {
            let state = group.state();
            for (index, rule) in state.rules.iter().enumerate() {
                match rule {
                    RuleState::Alerting(rule) => {
                        let json = serde_json::to_string(&rule.snapshot()).unwrap_or_default();
                        snapshots.insert(rule_key(&group.spec, index, &rule.spec.name), json);
                    }
                    RuleState::Expression(rule) => {
                        snapshots
                            .insert(expression_rule_key(&rule.rule.spec.uid), rule.persisted());
                    }
                    RuleState::Recording(_) => {}
                }
            }
        }
        snapshots
    }

    /// Resolves the instances of expression rules that `next` no longer has (deleted
    /// rules), as Grafana does, and returns the resolved alerts to send.
    pub fn resolve_removed(&self, next: &Engine) -> Vec<OutgoingAlert> {
        let kept: std::collections::HashSet<String> = next.snapshots().into_keys().collect();
        let now = (self.clock)();
        let mut alerts = Vec::new();
        for group in &self.groups {
            let mut state = group.state();
            for rule in &mut state.rules {
                if let RuleState::Expression(rule) = rule
                    && !kept.contains(&expression_rule_key(&rule.rule.spec.uid))
                {
                    rule.instances.reset(now, "RuleDeleted");
                    let settings = rule.settings(group.interval, self.options.resend_delay);
                    alerts.extend(rule.alerts_to_send(now, &settings));
                }
            }
        }
        alerts
    }

    /// The groups, in load order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Runs the schedule forever.
    pub async fn run(self: Arc<Self>) {
        let Ok(mut scheduler) = self.scheduler() else { return };
        if self.groups.is_empty() {
            return;
        }
        let (finished_sender, mut finished) =
            tokio::sync::mpsc::channel::<usize>(self.groups.len());
        let keys = self.groups.iter().map(|group| group_key(&group.spec)).collect();
        let mut ownership = Ownership::new(self.options.sharding.replication_factor, keys);
        self.follow_membership(&mut ownership, &mut scheduler, (self.clock)());
        let mut next = scheduler.next_tick((self.clock)());
        loop {
            let wait = (next - (self.clock)()).to_std().unwrap_or_default();
            let sleep = tokio::time::sleep(wait);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    Some(group) = finished.recv() => {
                        if let Some(due) = scheduler.finished(group, (self.clock)()) {
                            self.clone().spawn(due, finished_sender.clone());
                        }
                    }
                }
            }
            self.follow_membership(&mut ownership, &mut scheduler, next);
            for due in scheduler.tick(next) {
                self.clone().spawn(due, finished_sender.clone());
            }
            // Ticks that passed while this loop was stalled are not run late: they count as
            // missed for the groups due on them, and the schedule resumes at the present.
            next = scheduler.tick_after(next);
            let now = (self.clock)();
            let mut skipped = 0_u32;
            while scheduler.tick_after(next) <= now && skipped < MAX_SKIPPED_TICKS {
                scheduler.skip(next);
                next = scheduler.tick_after(next);
                skipped += 1;
            }
            if skipped == MAX_SKIPPED_TICKS {
                next = scheduler.next_tick(now);
            }
            for (index, group) in self.groups.iter().enumerate() {
                let missed = scheduler.missed(index);
                let mut state = group.state();
                if missed != state.missed {
                    tracing::warn!(group = %group.spec.name, missed, "Rule group evaluation too slow or stalled; ticks dropped");
                    state.missed = missed;
                }
            }
        }
    }

    fn spawn(self: Arc<Self>, due: Due, finished: tokio::sync::mpsc::Sender<usize>) {
        tokio::spawn(async move {
            self.restore_if_needed(due).await;
            self.evaluate_group(due).await;
            let _ = finished.send(due.group).await;
        });
    }

    /// The datasource a rule-file group queries: its `datasource_uid`, else the default.
    fn group_datasource(&self, group: &RuleGroup) -> Result<&dyn Datasource, String> {
        match group.datasource_uid.as_deref().and_then(|uid| self.datasource.named(uid)) {
            None => Ok(self.datasource.as_ref()),
            Some(found) => found,
        }
    }

    fn graph_url(&self, group: &RuleGroup, expr: &str) -> String {
        self.group_datasource(group).map(|d| d.graph_url(expr)).unwrap_or_default()
    }

    /// Runs one query, retrying failures with backoff while the deadline allows.
    async fn query_with_retries(
        &self,
        datasource: &dyn Datasource,
        expr: &str,
        at: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<crate::datasource::QueryOutput, String> {
        let mut attempt = 1;
        loop {
            let remaining = (deadline - (self.clock)()).to_std().unwrap_or_default();
            let query = datasource.instant_query(expr, at, remaining);
            let error = match tokio::time::timeout(remaining, query).await {
                Ok(Ok(output)) => return Ok(output),
                Ok(Err(error)) => error,
                Err(_) => return Err("query timed out: the evaluation deadline passed".to_owned()),
            };
            let delay = retry_backoff(self.options.retry_delay, attempt);
            let retry_at = (self.clock)() + chrono::Duration::from_std(delay).unwrap_or_default();
            if attempt >= self.options.query_attempts || retry_at >= deadline {
                return Err(error);
            }
            tracing::debug!(%error, attempt, "Query failed; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Runs an expression rule's queries (each with retries within the deadline) and gives
    /// the answers by refId.
    async fn expression_answers(
        &self,
        rule: &crate::expr::model::ValidRule,
        at: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> std::collections::HashMap<String, Result<Vec<Value>, String>> {
        let mut answers = std::collections::HashMap::new();
        for request in pipeline::query_requests(rule, at) {
            let datasource: &dyn Datasource = match self.datasource.named(&request.datasource_uid) {
                None => self.datasource.as_ref(),
                Some(Ok(datasource)) => datasource,
                Some(Err(error)) => {
                    answers.insert(request.ref_id, Err(error));
                    continue;
                }
            };
            let mut attempt = 1;
            let answer = loop {
                let remaining = (deadline - (self.clock)()).to_std().unwrap_or_default();
                let query = async {
                    match request.step {
                        None => datasource
                            .instant_query(&request.expr, request.end, remaining)
                            .await
                            .map(|out| {
                                out.samples
                                    .into_iter()
                                    .map(|s| Value::Number {
                                        labels: s.labels,
                                        value: Some(s.value),
                                    })
                                    .collect::<Vec<_>>()
                            }),
                        Some(step) => datasource
                            .range_query(&request.expr, request.start, request.end, step, remaining)
                            .await
                            .map(|out| {
                                out.series
                                    .into_iter()
                                    .map(|s| Value::Series {
                                        labels: s.labels,
                                        points: s
                                            .points
                                            .into_iter()
                                            .map(|(t, v)| (t, Some(v)))
                                            .collect(),
                                    })
                                    .collect::<Vec<_>>()
                            }),
                    }
                };
                let error = match tokio::time::timeout(remaining, query).await {
                    Ok(Ok(values)) => break Ok(values),
                    Ok(Err(error)) => error,
                    Err(_) => {
                        break Err("query timed out: the evaluation deadline passed".to_owned());
                    }
                };
                let delay = retry_backoff(self.options.retry_delay, attempt);
                let retry_at =
                    (self.clock)() + chrono::Duration::from_std(delay).unwrap_or_default();
                if attempt >= self.options.query_attempts || retry_at >= deadline {
                    break Err(error);
                }
                tokio::time::sleep(delay).await;
                attempt += 1;
            };
            answers.insert(request.ref_id, answer);
        }
        answers
    }

    /// Resolves a paused expression rule's instances (once: a paused rule has none after).
    fn pause_expression_rule(
        &self,
        group: &Group,
        index: usize,
        at: DateTime<Utc>,
        outgoing: &mut Vec<OutgoingAlert>,
        evaluations: &mut Vec<RuleEvaluation>,
    ) {
        let mut state = group.state();
        if let Some(RuleState::Expression(rule)) = state.rules.get_mut(index) {
            if rule.instances.snapshot().is_empty() {
                return;
            }
            rule.pause(at);
            let settings = rule.settings(group.interval, self.options.resend_delay);
            let sent = rule.alerts_to_send(at, &settings);
            self.observe_expression_rule(rule, at, !sent.is_empty(), evaluations);
            outgoing.extend(sent);
        }
    }

    fn observe_expression_rule(
        &self,
        rule: &ExpressionRule,
        at: DateTime<Utc>,
        sent: bool,
        evaluations: &mut Vec<RuleEvaluation>,
    ) {
        if self.observer.is_none() || (!sent && rule.last_changes.is_empty()) {
            return;
        }
        evaluations.push(RuleEvaluation {
            key: expression_rule_key(&rule.rule.spec.uid),
            name: rule.rule.spec.title.clone(),
            at,
            state: rule.persisted(),
            transitions: rule
                .last_changes
                .iter()
                .map(|c| HistoryTransition {
                    labels: c.labels.clone(),
                    previous: c.previous.clone(),
                    current: c.current.clone(),
                    value: c.value,
                })
                .collect(),
        });
    }

    /// Evaluates one group at `due.at` and sends its alerts.
    pub async fn evaluate_group(&self, due: Due) {
        let group = &self.groups[due.group];
        let started = (self.clock)();
        let query_at =
            due.at - chrono::Duration::from_std(group.spec.query_offset).unwrap_or_default();
        let work: Vec<Work> = group
            .state()
            .rules
            .iter()
            .map(|rule| match rule {
                RuleState::Alerting(rule) => Work::Prometheus(rule.spec.expr.clone()),
                RuleState::Recording(_) => Work::Nothing,
                RuleState::Expression(rule) if rule.rule.spec.is_paused => Work::Paused,
                RuleState::Expression(rule) => {
                    Work::Expression(Box::new(rule.rule.clone()), rule.instances.firing_results())
                }
            })
            .collect();
        let mut outgoing = Vec::new();
        let mut evaluations = Vec::new();
        for (index, work) in work.into_iter().enumerate() {
            let expr = match work {
                Work::Prometheus(expr) => expr,
                Work::Nothing => continue,
                Work::Paused => {
                    self.pause_expression_rule(
                        group,
                        index,
                        due.at,
                        &mut outgoing,
                        &mut evaluations,
                    );
                    continue;
                }
                Work::Expression(rule, firing) => {
                    let rule_started = (self.clock)();
                    let answers = self.expression_answers(&rule, query_at, due.deadline).await;
                    let outcome = pipeline::evaluate(&rule, query_at, answers, &firing);
                    if let pipeline::Outcome::Error { message, .. } = &outcome {
                        tracing::warn!(group = %group.spec.name, rule = index, error = %message, "Rule evaluation failed");
                    }
                    let finished = (self.clock)();
                    let mut state = group.state();
                    state.failures += u64::from(matches!(outcome, pipeline::Outcome::Error { .. }));
                    if let Some(RuleState::Expression(rule)) = state.rules.get_mut(index) {
                        let settings = rule.settings(group.interval, self.options.resend_delay);
                        rule.evaluate(due.at, &outcome, &settings, &self.options.template_env);
                        rule.evaluation_duration =
                            (finished - rule_started).to_std().unwrap_or_default();
                        let sent = rule.alerts_to_send(due.at, &settings);
                        self.observe_expression_rule(
                            rule,
                            due.at,
                            !sent.is_empty(),
                            &mut evaluations,
                        );
                        outgoing.extend(sent);
                    }
                    continue;
                }
            };
            let expr = &expr;
            let rule_started = (self.clock)();
            let result = match self.group_datasource(&group.spec) {
                Ok(datasource) => {
                    self.query_with_retries(datasource, expr, query_at, due.deadline).await
                }
                Err(error) => Err(error),
            };
            match &result {
                Err(error) => {
                    tracing::warn!(group = %group.spec.name, rule = index, %error, "Rule evaluation failed");
                }
                Ok(output) if !output.warnings.is_empty() => {
                    let warnings = output.warnings.join("; ");
                    tracing::warn!(group = %group.spec.name, rule = index, %warnings, "Datasource warnings");
                }
                Ok(_) => {}
            }
            let finished = (self.clock)();
            let mut state = group.state();
            state.failures += u64::from(result.is_err());
            if let Some(RuleState::Alerting(rule)) = state.rules.get_mut(index) {
                rule.evaluate(due.at, result, &self.options.template_env);
                rule.evaluation_duration = (finished - rule_started).to_std().unwrap_or_default();
                let url = self.graph_url(&group.spec, expr);
                let sent =
                    rule.alerts_to_send(due.at, self.options.resend_delay, group.interval, &url);
                if self.observer.is_some()
                    && (!sent.is_empty() || !rule.last_transitions.is_empty())
                {
                    evaluations.push(RuleEvaluation {
                        key: rule_key(&group.spec, index, &rule.spec.name),
                        name: rule.spec.name.clone(),
                        at: due.at,
                        state: serde_json::to_string(&rule.snapshot()).unwrap_or_default(),
                        transitions: rule
                            .last_transitions
                            .iter()
                            .map(|t| HistoryTransition {
                                labels: t.labels.clone(),
                                previous: t.previous.as_str().to_owned(),
                                current: t.current.as_str().to_owned(),
                                value: t.value,
                            })
                            .collect(),
                    });
                }
                outgoing.extend(sent);
            }
        }
        if let Some(observer) = &self.observer
            && !evaluations.is_empty()
        {
            observer.evaluated(evaluations);
        }
        let mut state = group.state();
        state.last_evaluation = Some(due.at);
        state.iterations += 1;
        state.evaluation_duration = ((self.clock)() - started).to_std().unwrap_or_default();
        drop(state);
        if !outgoing.is_empty() {
            self.sink.send(outgoing);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::alerting::Health;
    use crate::datasource::{BoxFuture, QueryOutput};

    /// A datasource whose first `failures` queries fail (the engine's own trait, not a
    /// stand-in for an external program).
    struct Flaky {
        failures: u32,
        calls: Arc<AtomicU32>,
    }

    impl Datasource for Flaky {
        fn instant_query<'a>(
            &'a self,
            expr: &'a str,
            at: DateTime<Utc>,
            timeout: Duration,
        ) -> BoxFuture<'a, Result<QueryOutput, String>> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call < self.failures {
                return Box::pin(async { Err("connection refused".to_owned()) });
            }
            crate::datasource::builtin::Builtin.instant_query(expr, at, timeout)
        }

        fn graph_url(&self, _expr: &str) -> String {
            String::new()
        }
    }

    #[tokio::test]
    async fn queries_run_at_the_tick_time_minus_the_query_offset() {
        struct Recording(Arc<Mutex<Vec<DateTime<Utc>>>>);
        impl Datasource for Recording {
            fn instant_query<'a>(
                &'a self,
                _expr: &'a str,
                at: DateTime<Utc>,
                _timeout: Duration,
            ) -> BoxFuture<'a, Result<QueryOutput, String>> {
                self.0.lock().unwrap().push(at);
                Box::pin(async { Ok(QueryOutput::default()) })
            }
            fn graph_url(&self, _expr: &str) -> String {
                String::new()
            }
        }
        let text =
            "groups:\n- name: g\n  query_offset: 30s\n  rules:\n  - alert: A\n    expr: up\n";
        let groups = crate::rulefile::parse(std::path::Path::new("r.yml"), text).unwrap();
        let times = Arc::new(Mutex::new(Vec::new()));
        let options = Options {
            tick: Duration::from_secs(10),
            default_interval: Duration::from_secs(60),
            evaluation_timeout: Duration::from_secs(10),
            resend_delay: Duration::from_secs(30),
            template_env: TemplateEnv::default(),
            query_attempts: 1,
            retry_delay: Duration::from_secs(1),
            sharding: Sharding::default(),
        };
        let engine = Engine::new(
            groups,
            Box::new(Recording(times.clone())),
            Arc::new(Discard),
            None,
            options,
            Arc::new(Utc::now),
        )
        .unwrap();
        let at = DateTime::from_timestamp(1_000_000, 0).unwrap();
        engine
            .evaluate_group(Due {
                group: 0,
                at,
                deadline: Utc::now() + chrono::Duration::seconds(10),
            })
            .await;
        assert_eq!(*times.lock().unwrap(), vec![at - chrono::Duration::seconds(30)]);
        assert_eq!(
            engine.groups()[0].state().last_evaluation,
            Some(at),
            "the tick time is the evaluation time"
        );
    }

    struct Discard;

    impl AlertSink for Discard {
        fn send(&self, _alerts: Vec<OutgoingAlert>) {}
    }

    fn engine(failures: u32, attempts: u32, calls: Arc<AtomicU32>) -> Arc<Engine> {
        let text = "groups:\n- name: g\n  interval: 10s\n  rules:\n  - alert: Down\n    expr: klaxon_example_up == 0\n";
        let groups = crate::rulefile::parse(std::path::Path::new("r.yml"), text).unwrap();
        let options = Options {
            tick: Duration::from_secs(10),
            default_interval: Duration::from_secs(60),
            evaluation_timeout: Duration::from_secs(10),
            resend_delay: Duration::from_secs(30),
            template_env: TemplateEnv::default(),
            query_attempts: attempts,
            retry_delay: Duration::from_millis(1),
            sharding: Sharding::default(),
        };
        let datasource = Box::new(Flaky { failures, calls });
        Engine::new(groups, datasource, Arc::new(Discard), None, options, Arc::new(Utc::now))
            .unwrap()
    }

    fn health(engine: &Engine) -> (Health, u64) {
        let state = engine.groups()[0].state();
        let RuleState::Alerting(rule) = &state.rules[0] else { panic!() };
        (rule.health, state.failures)
    }

    #[tokio::test]
    async fn failed_queries_are_retried_with_backoff_within_the_attempts() {
        let due = |deadline_s| {
            let at = Utc::now();
            Due { group: 0, at, deadline: at + chrono::Duration::seconds(deadline_s) }
        };
        let calls = Arc::new(AtomicU32::new(0));
        let recovering = engine(2, 3, calls.clone());
        recovering.evaluate_group(due(10)).await;
        assert_eq!((health(&recovering), calls.load(Ordering::SeqCst)), ((Health::Ok, 0), 3));
        let calls = Arc::new(AtomicU32::new(0));
        let failing = engine(5, 3, calls.clone());
        failing.evaluate_group(due(10)).await;
        assert_eq!((health(&failing), calls.load(Ordering::SeqCst)), ((Health::Err, 1), 3));
        let calls = Arc::new(AtomicU32::new(0));
        let no_time = engine(5, 3, calls.clone());
        no_time.evaluate_group(due(0)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry past the deadline");
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let second = Duration::from_secs(1);
        let waits: Vec<u64> = (1..=8).map(|n| retry_backoff(second, n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
