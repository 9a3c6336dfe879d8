// SPDX-License-Identifier: GPL-2.0

//! Tests of the DEVICE_NEEDS_RESET recovery policy.

use crate::recovery::*;

const L: Limits = Limits {
    max_recoveries: 3,
    window_ms: 10_000,
    backoff_ms: 100,
    backoff_max_ms: 1_000,
};

fn caps(rpd: bool, fr: bool, pm: bool) -> DriverCaps {
    DriverCaps {
        bound: true,
        reset_prepare_done: rpd,
        freeze_restore: fr,
        pm_sleep: pm,
    }
}

#[test]
fn strongest_strategy_first() {
    assert_eq!(
        choose(caps(true, true, true), None),
        Strategy::ResetPrepareDone
    );
    assert_eq!(
        choose(caps(false, true, true), None),
        Strategy::FreezeRestore
    );
    // freeze/restore needs CONFIG_PM_SLEEP.
    assert_eq!(choose(caps(false, true, false), None), Strategy::Reprobe);
    assert_eq!(choose(caps(false, false, true), None), Strategy::Reprobe);
    assert_eq!(choose(DriverCaps::default(), None), Strategy::ResetOnly);
}

#[test]
fn forced_strategy_only_when_possible() {
    assert_eq!(
        choose(caps(true, true, true), Some(Strategy::Reprobe)),
        Strategy::Reprobe
    );
    assert_eq!(
        choose(caps(true, true, true), Some(Strategy::FreezeRestore)),
        Strategy::FreezeRestore
    );
    assert_eq!(
        choose(caps(false, true, true), Some(Strategy::ResetPrepareDone)),
        Strategy::FreezeRestore
    );
    assert_eq!(
        choose(DriverCaps::default(), Some(Strategy::Reprobe)),
        Strategy::ResetOnly
    );
}

#[test]
fn first_recovery_runs_at_once_then_backoff_doubles() {
    let mut r = Recovery::new(L);
    assert_eq!(r.needs_reset(0), Action::Schedule(0));
    assert!(r.start(0));
    assert_eq!(r.done(10, true), Action::None);
    assert_eq!(r.needs_reset(20), Action::Schedule(100));
    assert!(r.start(120));
    assert_eq!(r.done(130, true), Action::None);
    assert_eq!(r.needs_reset(140), Action::Schedule(200));
}

#[test]
fn storm_fails_the_device_within_the_limit() {
    let mut r = Recovery::new(L);
    let mut t = 0;
    let mut started = 0;
    loop {
        match r.needs_reset(t) {
            Action::Schedule(d) => {
                t += d;
                assert!(r.start(t));
                started += 1;
                r.done(t + 1, true);
            }
            Action::Fail => break,
            Action::None => panic!("idle device ignored NEEDS_RESET"),
        }
        t += 1;
    }
    assert_eq!(started, L.max_recoveries);
    assert_eq!(r.phase(), Phase::Failed);
    // Failed is final: nothing more is scheduled.
    assert_eq!(r.needs_reset(t + 1_000_000), Action::None);
    assert!(!r.start(t + 1_000_000));
}

#[test]
fn spaced_resets_never_fail() {
    let mut r = Recovery::new(L);
    for i in 0..100u64 {
        let t = i * (L.window_ms / 2);
        assert_eq!(r.needs_reset(t), expected_delay(i));
        assert!(r.start(t));
        assert_eq!(r.done(t + 5, true), Action::None);
    }
}

fn expected_delay(i: u64) -> Action {
    // Two recoveries fit in one window at this spacing: the second one waits `backoff_ms`.
    Action::Schedule(if i == 0 { 0 } else { 100 })
}

#[test]
fn reset_during_recovery_is_handled_once_after_it() {
    let mut r = Recovery::new(L);
    assert_eq!(r.needs_reset(0), Action::Schedule(0));
    assert!(r.start(0));
    assert_eq!(r.needs_reset(1), Action::None);
    assert_eq!(r.needs_reset(2), Action::None);
    assert!(matches!(r.done(3, true), Action::Schedule(_)));
    assert!(r.start(200));
    assert_eq!(r.done(201, true), Action::None);
}

#[test]
fn failed_recovery_is_retried_with_backoff() {
    let mut r = Recovery::new(L);
    r.needs_reset(0);
    assert!(r.start(0));
    assert_eq!(r.done(1, false), Action::Schedule(100));
}

#[test]
fn cancel_leaves_nothing_pending() {
    let mut r = Recovery::new(L);
    r.needs_reset(0);
    r.cancel();
    assert!(!r.start(1));
    assert_eq!(r.phase(), Phase::Idle);
    // The cancelled recovery never started, so it does not count.
    assert_eq!(r.needs_reset(2), Action::Schedule(0));
}

/// Random event sequences: the limit holds in every window, delays stay bounded, and a
/// failed device stays failed.
#[test]
fn random_sequences_keep_the_invariants() {
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..20_000 {
        let mut r = Recovery::new(L);
        let mut t = 0u64;
        let mut starts: std::vec::Vec<u64> = std::vec::Vec::new();
        let mut failed = false;
        for _ in 0..60 {
            t += rnd(3_000);
            match rnd(4) {
                0 | 1 => match r.needs_reset(t) {
                    Action::Schedule(d) => assert!(d <= L.backoff_max_ms),
                    Action::Fail => failed = true,
                    Action::None => {}
                },
                2 => {
                    if r.start(t) {
                        assert!(!failed);
                        starts.push(t);
                    }
                }
                _ => {
                    if let Action::Fail = r.done(t, rnd(2) == 0) {
                        failed = true;
                    }
                }
            }
            if failed {
                assert_eq!(r.phase(), Phase::Failed);
            }
            // Never more than `max_recoveries` starts within any window.
            for (i, s) in starts.iter().enumerate() {
                let n = starts[i..].iter().filter(|x| **x - s < L.window_ms).count();
                assert!(
                    n as u32 <= L.max_recoveries,
                    "{n} recoveries within a window"
                );
            }
        }
    }
}

#[test]
fn needs_reset_asks_for_a_reset() {
    // ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, as QEMU shows a working device.
    let ok = 0x0f;
    assert!(!wants_reset(ok, ok));
    assert!(wants_reset(ok | STATUS_NEEDS_RESET, ok));
    // Even before DRIVER_OK, and whatever the driver wrote.
    assert!(wants_reset(0x03 | STATUS_NEEDS_RESET, 0x03));
    assert!(wants_reset(ok | STATUS_NEEDS_RESET, ok | STATUS_FAILED));
}

#[test]
fn failed_set_by_the_device_asks_for_a_reset_but_ours_does_not() {
    let ok = 0x0f;
    // mlx5 vDPA: the device sets FAILED itself.
    assert!(wants_reset(ok | STATUS_FAILED, ok));
    // The driver (or the core, or our own give-up) wrote FAILED: not a request.
    assert!(!wants_reset(ok | STATUS_FAILED, ok | STATUS_FAILED));
    assert!(!wants_reset(0x83, 0x83));
}

#[test]
fn a_device_that_is_gone_never_asks_for_a_reset() {
    assert!(!wants_reset(u8::MAX, 0x0f));
    assert!(!wants_reset(u8::MAX, 0));
}

#[test]
fn the_poll_and_status_reads_act_only_with_driver_ok() {
    let broken = 0x0b | STATUS_NEEDS_RESET; // no DRIVER_OK
    assert!(Detector::Interrupt.acts_on(broken));
    assert!(!Detector::Poll.acts_on(broken));
    assert!(!Detector::Driver.acts_on(broken));
    let running = broken | STATUS_DRIVER_OK;
    for d in Detector::ALL {
        assert!(d.acts_on(running), "{}", d.name());
    }
}

#[test]
fn detector_ids_round_trip_and_zero_is_none() {
    assert_eq!(Detector::from_id(0), None);
    for d in Detector::ALL {
        assert!(d.id() >= 1 && d.id() as usize <= Detector::ALL.len());
        assert_eq!(Detector::from_id(d.id()), Some(d));
    }
    let names: std::vec::Vec<_> = Detector::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(names, ["interrupt", "poll", "driver"]);
}

#[test]
fn queues_broken_before_quiesce_except_block() {
    // A network card (virtio 1.2, 5.1).
    assert!(breaks_queues_first(1));
    assert!(!breaks_queues_first(VIRTIO_ID_BLOCK));
    // Types the transport knows nothing of: the safe side, nothing waits forever on them.
    for t in [0, 3, 4, 5, 9, 16, 26, 42, u32::MAX] {
        assert!(breaks_queues_first(t), "type {t}");
    }
}

#[test]
fn resume_recovers_a_failed_device_with_a_new_window() {
    let mut r = Recovery::new(L);
    for t in [0, 200, 600] {
        assert!(matches!(r.needs_reset(t), Action::Schedule(_)));
        assert!(r.start(t));
        assert_eq!(r.done(t + 10, true), Action::None);
    }
    assert_eq!(r.needs_reset(700), Action::Fail);
    assert_eq!(r.phase(), Phase::Failed);
    // The user asks (devlink health recover): scheduled now, and the window starts again.
    assert!(r.resume());
    assert!(r.start(800));
    assert_eq!(r.done(810, true), Action::None);
    assert_eq!(r.needs_reset(900), Action::Schedule(100));
    // Not while one is scheduled or running.
    assert!(!r.resume());
    assert!(r.start(1000));
    assert!(!r.resume());
}

#[test]
fn new_limits_apply_to_the_next_decision() {
    let mut r = Recovery::new(L);
    assert!(matches!(r.needs_reset(0), Action::Schedule(0)));
    assert!(r.start(0));
    assert_eq!(r.done(10, true), Action::None);
    // A lower limit than the recoveries already in the window: the next fault fails it.
    r.set_limits(Limits {
        max_recoveries: 1,
        ..L
    });
    assert_eq!(r.needs_reset(20), Action::Fail);
    // A limit beyond what can be tracked is clamped, as in new().
    let mut r = Recovery::new(L);
    r.set_limits(Limits {
        max_recoveries: u32::MAX,
        window_ms: 1_000_000,
        backoff_ms: 7,
        backoff_max_ms: 7,
    });
    let mut started = 0u32;
    let mut t = 0;
    while let Action::Schedule(d) = r.needs_reset(t) {
        assert!(started <= Recovery::MAX_TRACKED as u32, "never failed");
        t += d;
        assert!(r.start(t));
        started += 1;
        r.done(t + 1, true);
        t += 1;
    }
    assert_eq!(started, Recovery::MAX_TRACKED as u32);
}

#[test]
fn strategy_parameter_values_round_trip() {
    assert_eq!(Strategy::forced_by(0), Some(None));
    for v in 1..=3 {
        let forced = Strategy::forced_by(v).expect("a forceable strategy");
        assert!(forced.is_some());
        assert_eq!(Strategy::forcing(forced), v);
    }
    assert_eq!(Strategy::forced_by(2), Some(Some(Strategy::FreezeRestore)));
    assert_eq!(Strategy::forced_by(4), None);
    assert_eq!(Strategy::forced_by(u32::MAX), None);
    assert_eq!(Strategy::forcing(None), 0);
    // Not forceable: reads as "none forced".
    assert_eq!(Strategy::forcing(Some(Strategy::ResetOnly)), 0);
}
