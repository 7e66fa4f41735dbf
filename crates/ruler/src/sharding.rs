//! Which instances evaluate which rule groups, sans-IO.
//!
//! With a replication factor of 0 (the default) every instance evaluates every group. With
//! R > 0 a group is evaluated by the R live cluster members with the highest rendezvous
//! weight `xxh64(group key ‖ 0xff ‖ member name)`. Every member ranks the same names the
//! same way, so they agree on the owners without exchanging anything but the member list
//! the gossip layer already keeps; a member that leaves gives up only the groups it held,
//! and one that joins takes only the groups it now ranks first for.
//!
//! [`Ownership`] follows the member list from tick to tick and says which groups this
//! instance gained and lost, so the engine can reload a gained group's state from the
//! shared store before evaluating it and stop evaluating a lost one.

/// What an instance knows of its cluster when a tick is handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipView {
    /// No cluster: the instance evaluates everything.
    Standalone,
    /// The member list is still being learnt (gossip has not settled): it may be partial,
    /// and evaluating by it would duplicate evaluations, so a sharded instance waits.
    Settling,
    /// The live members (alive or suspected; dead and departed ones are gone), this
    /// instance among them.
    Members {
        /// This instance's member name.
        me: String,
        /// Every live member's name, `me` included.
        members: Vec<String>,
    },
}

/// Where the engine reads the membership from at each tick. Must not block.
pub trait Membership: Send + Sync {
    /// The current view.
    fn view(&self) -> MembershipView;
}

/// The rendezvous weight of `member` for the group `group_key`.
pub fn weight(group_key: &str, member: &str) -> u64 {
    let mut bytes = Vec::with_capacity(group_key.len() + member.len() + 1);
    bytes.extend_from_slice(group_key.as_bytes());
    bytes.push(0xff);
    bytes.extend_from_slice(member.as_bytes());
    xxhash_rust::xxh64::xxh64(&bytes, 0)
}

/// The `replicas` members that evaluate `group_key`, highest weight first (ties, which
/// need a hash collision, go to the smaller name). Fewer members than `replicas`: all.
pub fn owners<'m>(group_key: &str, members: &'m [String], replicas: usize) -> Vec<&'m str> {
    let mut ranked: Vec<(u64, &str)> =
        members.iter().map(|member| (weight(group_key, member), member.as_str())).collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    ranked.dedup_by(|a, b| a.1 == b.1);
    ranked.into_iter().take(replicas).map(|(_, member)| member).collect()
}

/// What an update of the membership changed for this instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnershipChange {
    /// Groups this instance evaluates from now on.
    pub acquired: Vec<usize>,
    /// Groups it no longer evaluates.
    pub lost: Vec<usize>,
    /// Whether any group's owners changed (this instance's or others').
    pub owners_changed: bool,
}

/// The groups this instance evaluates, followed across membership changes.
#[derive(Debug)]
pub struct Ownership {
    replicas: usize,
    keys: Vec<String>,
    owned: Vec<bool>,
    owners: Vec<Vec<String>>,
    /// The view the current assignment was computed from (`None` before the first).
    view: Option<MembershipView>,
}

impl Ownership {
    /// Ownership of the groups with these stable keys (see [`crate::engine::group_key`]),
    /// each evaluated by `replicas` members (0: by every instance). Nothing is owned until
    /// the first [`Ownership::update`], which reports every group as acquired or lost.
    pub fn new(replicas: usize, keys: Vec<String>) -> Ownership {
        let count = keys.len();
        Ownership {
            replicas,
            keys,
            owned: vec![false; count],
            owners: vec![Vec::new(); count],
            view: None,
        }
    }

    /// Recomputes the assignment for `view` (only when it differs from the last one).
    pub fn update(&mut self, view: MembershipView) -> OwnershipChange {
        let view = match view {
            MembershipView::Members { me, mut members } => {
                members.sort();
                members.dedup();
                MembershipView::Members { me, members }
            }
            other => other,
        };
        if self.view.as_ref() == Some(&view) {
            return OwnershipChange::default();
        }
        let mut change = OwnershipChange::default();
        let first = self.view.is_none();
        for group in 0..self.keys.len() {
            let (owned, owners) = self.assignment(group, &view);
            if first || owned != self.owned[group] {
                if owned {
                    change.acquired.push(group);
                } else {
                    change.lost.push(group);
                }
                self.owned[group] = owned;
            }
            if owners != self.owners[group] {
                change.owners_changed = true;
                self.owners[group] = owners;
            }
        }
        self.view = Some(view);
        change
    }

    fn assignment(&self, group: usize, view: &MembershipView) -> (bool, Vec<String>) {
        if self.replicas == 0 {
            return (true, Vec::new());
        }
        match view {
            MembershipView::Standalone => (true, Vec::new()),
            MembershipView::Settling => (false, Vec::new()),
            MembershipView::Members { me, members } => {
                let owners: Vec<String> = owners(&self.keys[group], members, self.replicas)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                (owners.contains(me), owners)
            }
        }
    }

    /// Whether this instance evaluates `group`.
    pub fn owns(&self, group: usize) -> bool {
        self.owned[group]
    }

    /// The members that evaluate `group`, highest weight first (empty when every instance
    /// does, or while settling).
    pub fn owners(&self, group: usize) -> &[String] {
        &self.owners[group]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("klaxon-{i}")).collect()
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("rules/team-{}.yml;group-{i}", i % 7)).collect()
    }

    fn assign(keys: &[String], members: &[String], replicas: usize) -> Vec<Vec<String>> {
        keys.iter()
            .map(|key| owners(key, members, replicas).into_iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn the_assignment_depends_only_on_the_names() {
        let keys = keys(200);
        let members = names(5);
        let mut shuffled = members.clone();
        shuffled.reverse();
        shuffled.swap(0, 2);
        assert_eq!(assign(&keys, &members, 2), assign(&keys, &shuffled, 2));
        assert_eq!(assign(&keys, &members, 2), assign(&keys, &members, 2));
        // Pinned: instances of different builds (a rolling upgrade) must agree.
        assert_eq!(weight("rules.yml;g", "klaxon-0"), 18_305_781_926_367_622_038);
    }

    #[test]
    fn each_group_gets_r_distinct_owners_and_all_members_when_r_exceeds_them() {
        let members = names(4);
        for owners in assign(&keys(100), &members, 3) {
            let mut distinct = owners.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), 3, "{owners:?}");
        }
        for owners in assign(&keys(10), &members, 9) {
            assert_eq!(owners.len(), 4);
        }
    }

    #[test]
    fn groups_spread_evenly_over_the_members() {
        let groups = 10_000;
        let members = names(5);
        for replicas in [1, 2] {
            let mut load: HashMap<String, usize> = HashMap::new();
            for owners in assign(&keys(groups), &members, replicas) {
                for owner in owners {
                    *load.entry(owner).or_default() += 1;
                }
            }
            let fair = groups * replicas / members.len();
            assert_eq!(load.len(), members.len());
            for (member, count) in &load {
                // A binomial spread: 5 % of the fair share is over 5 standard deviations.
                let off = count.abs_diff(fair);
                assert!(off * 20 < fair, "R={replicas}: {member} has {count}, fair {fair}");
            }
        }
    }

    #[test]
    fn a_member_leaving_moves_only_what_it_held() {
        let keys = keys(2_000);
        let members = names(5);
        let remaining: Vec<String> = members.iter().filter(|m| *m != "klaxon-3").cloned().collect();
        for replicas in [1, 2] {
            let before = assign(&keys, &members, replicas);
            let after = assign(&keys, &remaining, replicas);
            let mut moved = 0;
            for (old, new) in before.iter().zip(&after) {
                // Every surviving owner keeps the group, in the same order.
                let kept: Vec<&String> = old.iter().filter(|m| *m != "klaxon-3").collect();
                assert_eq!(kept, new.iter().take(kept.len()).collect::<Vec<_>>());
                if old.iter().any(|m| m == "klaxon-3") {
                    moved += 1;
                    assert_eq!(new.len(), replicas, "a replacement owner is found");
                } else {
                    assert_eq!(old, new, "a group the leaver did not hold stays put");
                }
            }
            assert!(moved > 0);
        }
    }

    #[test]
    fn a_member_joining_takes_groups_only_for_itself() {
        let keys = keys(2_000);
        let members = names(4);
        let mut joined = members.clone();
        joined.push("klaxon-new".to_owned());
        let before = assign(&keys, &members, 1);
        let after = assign(&keys, &joined, 1);
        let mut taken = 0;
        for (old, new) in before.iter().zip(&after) {
            if old != new {
                assert_eq!(new, &vec!["klaxon-new".to_owned()]);
                taken += 1;
            }
        }
        // About a fifth of the groups move, all to the newcomer.
        assert!((300..500).contains(&taken), "{taken}");
    }

    fn members_view(me: &str, members: &[String]) -> MembershipView {
        MembershipView::Members { me: me.to_owned(), members: members.to_vec() }
    }

    #[test]
    fn ownership_reports_what_was_gained_and_lost() {
        let keys = keys(50);
        let members = names(3);
        let mut ownership = Ownership::new(1, keys.clone());
        let change = ownership.update(MembershipView::Settling);
        assert!(change.acquired.is_empty());
        assert_eq!(change.lost.len(), keys.len(), "the first update reports every group");
        let change = ownership.update(members_view("klaxon-0", &members));
        let mine: Vec<usize> = (0..keys.len())
            .filter(|g| owners(&keys[*g], &members, 1) == vec!["klaxon-0"])
            .collect();
        assert_eq!(change.acquired, mine);
        assert!(change.lost.is_empty() && change.owners_changed);
        assert_eq!(ownership.owners(mine[0]), ["klaxon-0".to_owned()]);
        // The same view again (in another order) changes nothing.
        let mut reordered = members.clone();
        reordered.reverse();
        assert_eq!(
            ownership.update(members_view("klaxon-0", &reordered)),
            OwnershipChange::default()
        );
        // klaxon-1 dies: klaxon-0 gains some of its groups and loses none.
        let survivors = vec!["klaxon-0".to_owned(), "klaxon-2".to_owned()];
        let change = ownership.update(members_view("klaxon-0", &survivors));
        assert!(change.lost.is_empty());
        for group in &change.acquired {
            assert_eq!(owners(&keys[*group], &members, 1), vec!["klaxon-1"]);
            assert!(ownership.owns(*group));
        }
        assert!(!change.acquired.is_empty());
        // klaxon-1 comes back: klaxon-0 gives exactly those back.
        let back = ownership.update(members_view("klaxon-0", &members));
        assert_eq!(back.lost, change.acquired);
        assert!(back.acquired.is_empty());
    }

    #[test]
    fn without_sharding_or_without_a_cluster_everything_is_owned() {
        let mut everyone = Ownership::new(0, keys(5));
        let change = everyone.update(MembershipView::Settling);
        assert_eq!(change.acquired, vec![0, 1, 2, 3, 4]);
        assert!(everyone.owners(0).is_empty(), "no owner list: every instance evaluates");
        let mut alone = Ownership::new(1, keys(5));
        assert_eq!(alone.update(MembershipView::Standalone).acquired, vec![0, 1, 2, 3, 4]);
    }
}
