//! Sharding inside the engine: which groups this instance evaluates at each tick (read
//! from a [`Membership`]), what happens to a group it loses (no more evaluations, alerts
//! dropped: its owners have them) and to one it gains (its alerts are reloaded from a
//! [`StateSource`] before the first evaluation here), and how a reloaded engine keeps
//! knowing which groups must be reloaded.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Engine, RuleState, expression_rule_key, group_key, rule_key};
use crate::alerting::Alert;
use crate::scheduler::{Due, Scheduler};
use crate::sharding::{Membership, MembershipView, Ownership};

/// Reads persisted rule state: where a group taken over from another instance gets the
/// alerts that instance left. Must not block.
pub trait StateSource: Send + Sync {
    /// The stored state (JSON, as [`Engine::snapshots`] gives it) of the rules with these
    /// keys (missing keys: no row).
    fn load<'a>(
        &'a self,
        keys: &'a [String],
    ) -> crate::datasource::BoxFuture<'a, Result<std::collections::HashMap<String, String>, String>>;
}

/// How evaluation is shared with the other instances of a cluster.
#[derive(Clone, Default)]
pub struct Sharding {
    /// Members evaluating each group; 0: every instance evaluates every group.
    pub replication_factor: usize,
    /// The cluster's members (`None`: no cluster, this instance evaluates everything).
    pub membership: Option<Arc<dyn Membership>>,
    /// Where a gained group's state is read from (`None`: it starts empty).
    pub states: Option<Arc<dyn StateSource>>,
}

impl std::fmt::Debug for Sharding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sharding")
            .field("replication_factor", &self.replication_factor)
            .field("membership", &self.membership.is_some())
            .field("states", &self.states.is_some())
            .finish()
    }
}

impl Engine {
    /// Restores what `previous` (the engine this one replaces on reload) holds: its alerts,
    /// and which groups it had left to other instances, whose state must come from the
    /// store. Groups new with this engine also come from the store when sharded: another
    /// instance may have started them. Returns how many rules were restored.
    pub fn continue_from(&self, previous: &Engine) -> usize {
        let restored = self.warm(previous.snapshots());
        let stale: std::collections::HashMap<String, bool> = previous
            .groups
            .iter()
            .map(|group| (group_key(&group.spec), group.state().needs_restore))
            .collect();
        let sharded = self.options.sharding.replication_factor > 0;
        for group in &self.groups {
            group.state().needs_restore =
                stale.get(&group_key(&group.spec)).copied().unwrap_or(sharded);
        }
        restored
    }

    /// Applies the current membership at the tick `at`: groups lost stop being scheduled
    /// and drop their alerts; groups gained are scheduled and marked for a restore.
    pub(super) fn follow_membership(
        &self,
        ownership: &mut Ownership,
        scheduler: &mut Scheduler,
        at: DateTime<Utc>,
    ) {
        let view = match &self.options.sharding.membership {
            Some(membership) => membership.view(),
            None => MembershipView::Standalone,
        };
        let change = ownership.update(view);
        for &index in &change.lost {
            scheduler.set_enabled(index, false);
            let mut state = self.groups[index].state();
            state.owned = false;
            state.owned_since = None;
            state.needs_restore = true;
            for rule in &mut state.rules {
                if let RuleState::Alerting(rule) = rule {
                    rule.restore(Vec::new());
                }
            }
        }
        for &index in &change.acquired {
            scheduler.set_enabled(index, true);
            let mut state = self.groups[index].state();
            state.owned = true;
            state.owned_since = Some(at);
        }
        if change.owners_changed {
            for (index, group) in self.groups.iter().enumerate() {
                group.state().owners = ownership.owners(index).to_vec();
            }
        }
        if self.options.sharding.replication_factor > 0
            && !(change.acquired.is_empty() && change.lost.is_empty())
        {
            let owned = (0..self.groups.len()).filter(|g| ownership.owns(*g)).count();
            tracing::info!(
                acquired = change.acquired.len(),
                lost = change.lost.len(),
                owned,
                groups = self.groups.len(),
                "Rule group ownership changed"
            );
        }
    }

    /// Reloads a gained group's alerts from the store (within the evaluation's deadline).
    /// Their last send time is forgotten, so the first evaluation here sends them: this
    /// instance's receiver has not heard of them. If the store cannot answer, the group is
    /// evaluated from what it holds, since evaluating late is worse than a new episode.
    pub(super) async fn restore_if_needed(&self, due: Due) {
        let group = &self.groups[due.group];
        let keys: Vec<String> = {
            let mut state = group.state();
            if !std::mem::take(&mut state.needs_restore) {
                return;
            }
            state
                .rules
                .iter()
                .enumerate()
                .filter_map(|(index, rule)| match rule {
                    RuleState::Alerting(rule) => {
                        Some(rule_key(&group.spec, index, &rule.spec.name))
                    }
                    RuleState::Expression(rule) => Some(expression_rule_key(&rule.rule.spec.uid)),
                    RuleState::Recording(_) => None,
                })
                .collect()
        };
        let Some(source) = &self.options.sharding.states else { return };
        if keys.is_empty() {
            return;
        }
        let remaining = (due.deadline - (self.clock)()).to_std().unwrap_or_default();
        let loaded = match tokio::time::timeout(remaining, source.load(&keys)).await {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(error)) => {
                tracing::warn!(group = %group.spec.name, %error, "Restoring a gained rule group failed; evaluating it from scratch");
                return;
            }
            Err(_) => {
                tracing::warn!(group = %group.spec.name, "Restoring a gained rule group timed out; evaluating it from scratch");
                return;
            }
        };
        let now = (self.clock)();
        let mut state = group.state();
        let mut restored = 0;
        for (index, rule) in state.rules.iter_mut().enumerate() {
            match rule {
                RuleState::Alerting(rule) => {
                    let key = rule_key(&group.spec, index, &rule.spec.name);
                    let mut alerts: Vec<Alert> = match loaded.get(&key) {
                        Some(json) => serde_json::from_str(json).unwrap_or_else(|error| {
                            tracing::warn!(rule = %key, %error, "Ignoring unreadable rule state");
                            Vec::new()
                        }),
                        None => Vec::new(),
                    };
                    for alert in &mut alerts {
                        alert.last_sent_at = None;
                    }
                    restored += alerts.len();
                    rule.restore(alerts);
                }
                // An expression rule's instances keep their last send time: this instance
                // sends them at their next resend.
                RuleState::Expression(rule) => {
                    let key = expression_rule_key(&rule.rule.spec.uid);
                    if let Some(json) = loaded.get(&key)
                        && let Err(error) = rule.restore(json, now)
                    {
                        tracing::warn!(rule = %key, %error, "Ignoring unreadable rule state");
                    }
                }
                RuleState::Recording(_) => {}
            }
        }
        tracing::debug!(group = %group.spec.name, alerts = restored, "Restored a gained rule group");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::alerting::{AlertState, OutgoingAlert, TemplateEnv};
    use crate::datasource::BoxFuture;
    use crate::engine::{
        AlertSink, Clock, HistoryTransition, Options, RuleEvaluation, StateObserver,
    };

    /// A membership the test changes (the engine's own trait, fed by hand as the gossip
    /// cluster feeds it).
    struct Members(Mutex<MembershipView>);

    impl Membership for Members {
        fn view(&self) -> MembershipView {
            self.0.lock().unwrap().clone()
        }
    }

    /// Stored rule state in memory, as the store returns it.
    struct Stored(std::collections::HashMap<String, String>);

    impl StateSource for Stored {
        fn load<'a>(
            &'a self,
            keys: &'a [String],
        ) -> BoxFuture<'a, Result<std::collections::HashMap<String, String>, String>> {
            let found = keys
                .iter()
                .filter_map(|key| self.0.get(key).map(|alerts| (key.clone(), alerts.clone())))
                .collect();
            Box::pin(async move { Ok(found) })
        }
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<OutgoingAlert>>);

    impl AlertSink for Collect {
        fn send(&self, alerts: Vec<OutgoingAlert>) {
            self.0.lock().unwrap().extend(alerts);
        }
    }

    #[derive(Default)]
    struct Transitions(Mutex<Vec<HistoryTransition>>);

    impl StateObserver for Transitions {
        fn evaluated(&self, evaluations: Vec<RuleEvaluation>) {
            let mut all = self.0.lock().unwrap();
            all.extend(evaluations.into_iter().flat_map(|e| e.transitions));
        }
    }

    const FIRING_RULE: &str = "groups:\n- name: g\n  interval: 10s\n  rules:\n  - alert: Down\n    expr: klaxon_example_up == 0\n    for: 1m\n";

    fn options(sharding: Sharding) -> Options {
        Options {
            tick: Duration::from_secs(10),
            default_interval: Duration::from_secs(10),
            evaluation_timeout: Duration::from_secs(10),
            resend_delay: Duration::from_secs(30),
            template_env: TemplateEnv::default(),
            query_attempts: 1,
            retry_delay: Duration::from_secs(1),
            sharding,
        }
    }

    fn alerts(engine: &Engine) -> Vec<Alert> {
        let state = engine.groups()[0].state();
        let RuleState::Alerting(rule) = &state.rules[0] else { panic!() };
        rule.snapshot()
    }

    /// Goal: a group gained at a membership change continues the episode its previous
    /// owner stored (no new pending, the same activeAt) and its alerts are sent at once;
    /// a group lost is no longer evaluated and its alerts are dropped.
    /// Method: another instance's state (the rule fired an hour ago, last sent just now)
    /// is in the store; the engine runs on tokio's paused clock as one of two members, not
    /// the group's owner; then the owner leaves, then comes back.
    #[tokio::test(start_paused = true)]
    async fn a_gained_group_continues_the_stored_episode_and_a_lost_one_stops() {
        let groups = crate::rulefile::parse(std::path::Path::new("r.yml"), FIRING_RULE).unwrap();
        let key = group_key(&groups[0]);
        let origin = tokio::time::Instant::now();
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock: Clock = Arc::new(move || {
            start + chrono::Duration::from_std(origin.elapsed()).unwrap_or_default()
        });

        // The previous owner's episode: active for an hour, firing, sent a moment ago.
        let previous = Engine::new(
            groups.clone(),
            Box::new(crate::datasource::builtin::Builtin),
            Arc::new(Collect::default()),
            None,
            options(Sharding::default()),
            clock.clone(),
        )
        .unwrap();
        let fired_at = start - chrono::Duration::hours(1);
        for at in [fired_at - chrono::Duration::minutes(1), fired_at, start] {
            let deadline = start + chrono::Duration::seconds(10);
            previous.evaluate_group(Due { group: 0, at, deadline }).await;
            let mut state = previous.groups()[0].state();
            let RuleState::Alerting(rule) = &mut state.rules[0] else { panic!() };
            rule.alerts_to_send(at, Duration::from_secs(30), Duration::from_secs(10), "");
        }
        let stored = previous.snapshots();
        let stored_alerts: Vec<Alert> =
            serde_json::from_str(stored.values().next().unwrap()).unwrap();
        assert_eq!(stored_alerts[0].state, AlertState::Firing);

        let names = vec!["klaxon-a".to_owned(), "klaxon-b".to_owned()];
        let owner = crate::sharding::owners(&key, &names, 1)[0].to_owned();
        let me = names.iter().find(|n| **n != owner).unwrap().clone();
        let view = |members: Vec<String>| MembershipView::Members { me: me.clone(), members };
        let members = Arc::new(Members(Mutex::new(view(names.clone()))));
        let sink = Arc::new(Collect::default());
        let transitions = Arc::new(Transitions::default());
        let engine = Engine::new(
            groups,
            Box::new(crate::datasource::builtin::Builtin),
            sink.clone(),
            Some(transitions.clone()),
            options(Sharding {
                replication_factor: 1,
                membership: Some(members.clone()),
                states: Some(Arc::new(Stored(stored.clone()))),
            }),
            clock.clone(),
        )
        .unwrap();
        engine.warm(stored.clone());
        tokio::spawn(engine.clone().run());

        tokio::time::sleep(Duration::from_secs(25)).await;
        {
            let state = engine.groups()[0].state();
            assert!(!state.owned);
            assert_eq!(state.owners, vec![owner.clone()]);
            assert_eq!(state.iterations, 0, "another member evaluates it");
        }
        assert!(alerts(&engine).is_empty(), "a group left to others shows no alerts");

        // The owner dies: the next tick gives the group to this instance.
        *members.0.lock().unwrap() = view(vec![me.clone()]);
        let died = clock();
        tokio::time::sleep(Duration::from_secs(25)).await;
        {
            let state = engine.groups()[0].state();
            assert!(state.owned);
            let since = state.owned_since.unwrap();
            assert!(since > died && since - died <= chrono::Duration::seconds(10), "{since}");
            assert!(state.iterations >= 1);
        }
        let now = alerts(&engine);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].state, AlertState::Firing);
        assert_eq!(now[0].active_at, stored_alerts[0].active_at);
        assert!(transitions.0.lock().unwrap().is_empty(), "no pending, no new episode");
        let sent = sink.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "sent once at the takeover, not again before the resend delay");
        assert_eq!(sent[0].starts_at, fired_at);

        // The owner is back: the group is left to it again.
        *members.0.lock().unwrap() = view(names.clone());
        tokio::time::sleep(Duration::from_secs(15)).await;
        let iterations = engine.groups()[0].state().iterations;
        assert!(!engine.groups()[0].state().owned);
        assert!(engine.groups()[0].state().needs_restore);
        assert!(alerts(&engine).is_empty());
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(engine.groups()[0].state().iterations, iterations, "not evaluated here");
    }
}
