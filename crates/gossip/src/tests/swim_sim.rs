//! Many-seed simulations of small clusters: convergence, refuted false suspicions, user
//! broadcast delivery, crash detection, partitions, restarts and graceful leaves.

use crate::members::MemberState;
use crate::node::Config;
use crate::sim::{NetConfig, Sim};
use std::time::Duration;

const SEC: Duration = Duration::from_secs(1);

/// Alertmanager's defaults, without compression: LZW in a debug build would dominate the
/// run time, and one test below keeps it on.
fn config() -> Config {
    Config { compress: false, ..Config::default() }
}

fn lossy(loss: f64) -> NetConfig {
    NetConfig { loss, ..NetConfig::default() }
}

#[test]
fn clusters_converge_after_join() {
    let mut early = 0;
    for seed in 0..200 {
        let n = 3 + (seed as usize % 3);
        let mut sim = Sim::new(seed, n, config(), lossy(0.01));
        sim.form_cluster(10 * SEC);
        early += usize::from(sim.converged());
        // Gossip can miss a node while views are still partial; the first push/pull round
        // (staggered within one 60s interval) repairs that.
        if !sim.converged() {
            sim.run_until(75 * SEC);
        }
        assert!(
            sim.converged(),
            "seed {seed}: views {:?}",
            (0..n).map(|i| sim.view(i)).collect::<Vec<_>>()
        );
        for i in 0..n {
            assert_eq!(sim.node(i).position(), i, "seed {seed}: names sort like indices");
        }
    }
    assert!(early >= 190, "only {early} of 200 clusters converged by gossip alone");
}

/// Runs 5-node clusters at 5% packet loss for a minute; panics if any live node is declared
/// dead and returns how many refutations happened.
fn refutations_under_loss(config: &Config, seeds: std::ops::Range<u64>) -> u32 {
    let mut refutations = 0;
    for seed in seeds {
        let mut sim = Sim::new(seed, 5, config.clone(), lossy(0.05));
        sim.form_cluster(10 * SEC);
        sim.run_until(70 * SEC);
        for i in 0..5 {
            for j in 0..5 {
                let name = sim.slots[j].name.clone();
                assert!(sim.leaves_of(i, &name).is_empty(), "seed {seed}: {i} declared {j} dead");
            }
            refutations += sim.node(i).incarnation() - 1;
        }
        assert!(sim.converged(), "seed {seed}");
    }
    refutations
}

#[test]
fn false_suspicions_are_refuted_under_mild_loss() {
    // The simulated TCP never loses data, so TCP pings would rescue every probe: turn them
    // off to make UDP loss turn into suspicions that must be refuted.
    let udp_only = Config { disable_tcp_pings: true, ..config() };
    assert!(refutations_under_loss(&udp_only, 0..40) > 0, "loss should cause suspicions");
    refutations_under_loss(&config(), 40..60);
}

#[test]
fn user_broadcasts_spread_by_gossip_alone() {
    // Each message goes out a bounded number of times to random peers, so gossip alone
    // delivers almost everything and push/pull (off here) is what guarantees the rest.
    let (mut delivered, mut wanted) = (0, 0);
    for seed in 0..200 {
        let n = 3 + (seed as usize % 3);
        let net = NetConfig { loss: 0.0, ..NetConfig::default() };
        let config = Config { push_pull_interval: Duration::ZERO, ..config() };
        let mut sim = Sim::new(seed, n, config, net);
        sim.form_cluster(10 * SEC);
        for i in 0..n {
            sim.broadcast(i, format!("msg-{i}").as_bytes());
        }
        sim.run_until(13 * SEC);
        for i in 0..n {
            delivered += sim.node(i).delegate().known.len();
            wanted += n;
        }
    }
    assert!(delivered * 1000 >= wanted * 995, "{delivered} of {wanted} delivered");
}

#[test]
fn push_pull_repairs_lost_broadcasts() {
    for seed in 0..40 {
        let config = Config { push_pull_interval: 5 * SEC, ..config() };
        let mut sim = Sim::new(seed, 5, config, lossy(0.2));
        sim.form_cluster(10 * SEC);
        for i in 0..5 {
            sim.broadcast(i, format!("msg-{i}").as_bytes());
        }
        sim.run_until(25 * SEC);
        for i in 0..5 {
            assert_eq!(sim.node(i).delegate().known.len(), 5, "seed {seed}: node {i}");
        }
    }
}

#[test]
fn crashed_node_is_detected_in_time() {
    let mut worst = Duration::ZERO;
    for seed in 0..200 {
        let n = 3 + (seed as usize % 3);
        let mut sim = Sim::new(seed, n, config(), lossy(0.01));
        sim.form_cluster(10 * SEC);
        let victim = 1 + seed as usize % (n - 1);
        let name = sim.slots[victim].name.clone();
        sim.crash(victim);
        let crashed_at = sim.now;
        sim.run_until(crashed_at + 40 * SEC);
        for i in sim.live() {
            let seen = sim.leaves_of(i, &name);
            let first = *seen.first().unwrap_or_else(|| panic!("seed {seed}: {i} never saw it"));
            worst = worst.max(first - crashed_at);
            assert!(!sim.view(i).contains(&name), "seed {seed}");
        }
        assert!(sim.converged(), "seed {seed}");
        if seed % 10 == 0 {
            // Reaped once dead for GossipToTheDeadTime, at the next end of a probe round.
            sim.run_until(crashed_at + 60 * SEC);
            for i in sim.live() {
                assert!(sim.node(i).all_members().all(|m| m.name != name), "seed {seed}");
            }
        }
    }
    // A probe round (≤ n−1 s) plus the longest suspicion with one confirmation (≈11.4s).
    assert!(worst <= 16 * SEC, "slowest detection took {worst:?}");
}

#[test]
fn partitions_heal() {
    for seed in 0..60 {
        let mut sim = Sim::new(seed, 5, config(), lossy(0.01));
        sim.form_cluster(10 * SEC);
        for i in 2..5 {
            sim.set_group(i, 1);
        }
        // Unanswered indirect probes raise awareness, which slows probing down to 8s per
        // member: give detection a full minute.
        sim.run_until(70 * SEC);
        assert!(!sim.view(0).contains(&"node-3".to_owned()), "seed {seed}: split seen by 0");
        assert!(!sim.view(3).contains(&"node-0".to_owned()), "seed {seed}: split seen by 3");
        for i in 2..5 {
            sim.set_group(i, 0);
        }
        sim.run_until(130 * SEC);
        assert!(
            sim.converged(),
            "seed {seed}: {:?}",
            (0..5).map(|i| sim.view(i)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn restarted_node_rejoins_with_a_higher_incarnation() {
    for seed in 0..60 {
        let mut sim = Sim::new(seed, 4, config(), lossy(0.01));
        sim.form_cluster(10 * SEC);
        sim.crash(3);
        // Sometimes back before the others noticed, sometimes after they declared it dead.
        let down = Duration::from_millis(500 + (seed % 10) * 2000);
        sim.run_until(sim.now + down);
        sim.restart(3, &[0]);
        sim.run_until(sim.now + 30 * SEC);
        assert!(
            sim.converged(),
            "seed {seed}: {:?}",
            (0..4).map(|i| sim.view(i)).collect::<Vec<_>>()
        );
        let inc = sim.node(3).incarnation();
        for i in 0..3 {
            let m = sim.node(i).all_members().find(|m| m.name == "node-3").cloned().unwrap();
            assert_eq!((m.state, m.incarnation), (MemberState::Alive, inc), "seed {seed}");
        }
    }
}

#[test]
fn graceful_leave_is_recorded_as_left() {
    for seed in 0..50 {
        let mut sim = Sim::new(seed, 4, config(), lossy(0.01));
        sim.form_cluster(10 * SEC);
        let now = sim.now;
        sim.node_mut(2).leave(now);
        sim.run_until(now + SEC);
        sim.crash(2);
        sim.run_until(now + 3 * SEC);
        for i in [0, 1, 3] {
            let m = sim.node(i).all_members().find(|m| m.name == "node-2").cloned().unwrap();
            assert_eq!(m.state, MemberState::Left, "seed {seed}: node {i}");
        }
        assert!(sim.converged(), "seed {seed}");
    }
}

#[test]
fn labelled_compressed_clusters_converge() {
    for seed in 0..20 {
        let config = Config { label: "prod".into(), compress: true, ..Config::default() };
        let mut sim = Sim::new(seed, 4, config, lossy(0.02));
        sim.form_cluster(10 * SEC);
        sim.broadcast(0, b"hello");
        sim.run_until(15 * SEC);
        assert!(sim.converged(), "seed {seed}");
        assert!((0..4).all(|i| sim.node(i).delegate().known.contains(&b"hello"[..])));
    }
}

#[test]
fn runs_are_deterministic() {
    let run = |seed| {
        let mut sim = Sim::new(seed, 5, config(), lossy(0.05));
        sim.form_cluster(5 * SEC);
        sim.crash(4);
        sim.run_until(20 * SEC);
        (sim.trace, sim.delivered)
    };
    for seed in [1, 7, 42] {
        let a = run(seed);
        assert_eq!(a, run(seed));
        assert_ne!(a, run(seed + 1000));
    }
}

#[test]
fn larger_clusters_detect_crashes_with_confirmations() {
    // With 12 members suspicions expect two confirmations, so detection relies on several
    // peers' suspect messages shrinking the timer from 24s towards 4s.
    for seed in 0..6 {
        let mut sim = Sim::new(seed, 12, config(), lossy(0.01));
        sim.form_cluster(20 * SEC);
        if !sim.converged() {
            sim.run_until(80 * SEC);
        }
        assert!(sim.converged(), "seed {seed}");
        let crashed_at = sim.now;
        sim.crash(5);
        sim.crash(9);
        sim.run_until(crashed_at + 25 * SEC);
        assert!(sim.converged(), "seed {seed}: {:?}", sim.view(0));
        for i in sim.live() {
            let first = sim.leaves_of(i, "node-5")[0].min(sim.leaves_of(i, "node-9")[0]);
            assert!(first - crashed_at < 20 * SEC, "seed {seed}");
        }
    }
}

/// Virtual seconds until node 1 of a 5-node cluster drops node 0, crashed at a random point
/// of the probe cycle, when node 1 asks for a probe of it 2s after the crash (Klaxon's wait
/// stage does at the end of group_wait) or relies on the round-robin alone.
fn detection_times(probe_soon: bool) -> Vec<Duration> {
    (0..150u64)
        .map(|seed| {
            let mut sim = Sim::new(seed, 5, config(), NetConfig::default());
            sim.form_cluster(10 * SEC + Duration::from_millis(seed * 37 % 1000));
            let name = sim.slots[0].name.clone();
            sim.crash(0);
            let crashed_at = sim.now;
            if probe_soon {
                sim.run_until(crashed_at + 2 * SEC);
                sim.node_mut(1).probe_soon(&name);
            }
            sim.run_until(crashed_at + 40 * SEC);
            let seen = sim.leaves_of(1, &name);
            *seen.first().unwrap_or_else(|| panic!("seed {seed}: node 1 never dropped node 0"))
                - crashed_at
        })
        .collect()
}

#[test]
fn probing_a_member_soon_bounds_its_detection() {
    // Round-robin alone: the first probe of the crashed node can come up to two rounds
    // later, then the 4s minimum suspicion; some seeds take over 8s.
    let bound = 8 * SEC;
    let unaided = detection_times(false);
    assert!(unaided.iter().any(|t| *t > bound), "{unaided:?}");
    // Probed at 2s: suspected by 2s + one probe (plus one in flight), dead 4s later.
    let aided = detection_times(true);
    assert!(aided.iter().all(|t| *t <= bound), "{aided:?}");
}
