// SPDX-License-Identifier: GPL-2.0

//! DEVICE_NEEDS_RESET handling of the transport: detection (in the configuration interrupt, in
//! the periodic status check, and in status reads by the driver), recovery in the reset work
//! (following the policy of [`super::recovery`]), the statistics, and the debugfs files that
//! show them and inject faults.
//!
//! A device that sets FAILED itself (the driver did not write it) is treated as one that sets
//! DEVICE_NEEDS_RESET.

use super::recovery::{self, Action, Detector, Limits, Phase, Strategy};
use crate::virtio::{
    debugfs,
    health::{self, Fmsg},
    reset::{Control, DriverGuard, InFlight, Recovery},
};
use kernel::{
    prelude::*,
    seq_file::{seq_print, SeqFile},
    sync::atomic::{Atomic, Relaxed},
    time::{Instant, Monotonic}, //
};

/// Device status bits (virtio 1.2, 2.1).
pub(crate) mod status {
    use crate::bindings;

    /// The driver found the device.
    pub(crate) const ACKNOWLEDGE: u8 = bindings::VIRTIO_CONFIG_S_ACKNOWLEDGE as u8;
    /// The driver is ready.
    pub(crate) const DRIVER_OK: u8 = bindings::VIRTIO_CONFIG_S_DRIVER_OK as u8;
    /// The device hit an error it cannot recover from without a reset.
    pub(crate) const NEEDS_RESET: u8 = bindings::VIRTIO_CONFIG_S_NEEDS_RESET as u8;
    /// The driver gave up on the device.
    pub(crate) const FAILED: u8 = bindings::VIRTIO_CONFIG_S_FAILED as u8;
    /// What a device that went away reads.
    pub(crate) const GONE: u8 = u8::MAX;
}

/// The knobs of a device: the status check's period from the module parameter, the rest its
/// devlink parameters ([`PARAMS`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// The policy's limits.
    pub(crate) limits: Limits,
    /// A strategy to use when the driver allows it, instead of the strongest.
    pub(crate) forced: Option<Strategy>,
    /// Whether the fault injection file exists.
    pub(crate) inject: bool,
    /// Period of the status check in milliseconds, 0 for none.
    pub(crate) poll_ms: u32,
}

impl Config {
    /// The configuration of a new device: the defaults, and the module's status check.
    pub(crate) fn new() -> Self {
        Self {
            limits: Limits::DEFAULT,
            forced: None,
            inject: cfg!(CONFIG_FAULT_INJECTION),
            poll_ms: *crate::module_parameters::status_poll_ms.value(),
        }
    }
}

/// The devlink parameters of each device (`devlink dev param`, runtime): the policy's limits
/// and the strategy to force, read and set by [`param_get`] and [`param_set`].
pub(crate) const PARAMS: &[&CStr] = &[
    c"recovery_max",
    c"recovery_window_ms",
    c"recovery_backoff_ms",
    c"recovery_backoff_max_ms",
    c"recovery_strategy",
];

/// The value of parameter `index` of [`PARAMS`].
pub(crate) fn param_get(dev: &impl Device, index: usize) -> u32 {
    let c = dev.state().lock().config;
    let ms = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    match index {
        0 => c.limits.max_recoveries,
        1 => ms(c.limits.window_ms),
        2 => ms(c.limits.backoff_ms),
        3 => ms(c.limits.backoff_max_ms),
        4 => Strategy::forcing(c.forced),
        _ => 0,
    }
}

/// Sets parameter `index` of [`PARAMS`] to `value`; the next decision of the policy follows
/// it. `EINVAL` for a limit of 0 recoveries or more than the policy can track, a window of
/// 0 ms, or an unknown strategy.
pub(crate) fn param_set(dev: &impl Device, index: usize, value: u32) -> Result {
    let mut st = dev.state().lock();
    let mut c = st.config;
    let l = &mut c.limits;
    match index {
        0 if value != 0 && value as usize <= recovery::Recovery::MAX_TRACKED => {
            l.max_recoveries = value;
        }
        1 if value != 0 => l.window_ms = value.into(),
        2 => l.backoff_ms = value.into(),
        3 => l.backoff_max_ms = value.into(),
        4 => c.forced = Strategy::forced_by(value).ok_or(EINVAL)?,
        _ => return Err(EINVAL),
    }
    st.config = c;
    st.policy.set_limits(c.limits);
    Ok(())
}

/// What the last recovery did.
#[derive(Clone, Copy, Debug)]
struct Last {
    strategy: Strategy,
    /// Device status when the recovery started.
    status: u8,
    /// Device status when it ended.
    status_after: u8,
    /// What the device held when the recovery started.
    in_flight: InFlight,
    result: Result,
    duration_us: i64,
    phases: Phases,
}

/// When each phase of the last recovery ended, in microseconds from the injection of the fault
/// (debugfs `inject`), or from its detection when it was not injected. `None`: the strategy has
/// no such phase (re-probing unbinds and binds the driver in one step).
#[derive(Clone, Copy, Debug, Default)]
struct Phases {
    /// Whether the times count from an injection.
    injected: bool,
    /// The device was found asking for a reset (the interrupt, the status check or the driver).
    detected: i64,
    /// The reset work started.
    work: i64,
    /// The device was reset (status 0 read back), before the driver is asked to quiesce.
    reset: Option<i64>,
    /// The driver was quiesced (`reset_prepare` or `freeze` returned).
    quiesced: Option<i64>,
    /// The driver was restarted (`reset_done`, `restore` or the re-probe returned): DRIVER_OK.
    ready: Option<i64>,
}

/// Takes the times of the phases of one recovery.
struct Clock<'a> {
    stats: &'a IrqStats,
    origin_ns: i64,
    phases: Phases,
}

impl<'a> Clock<'a> {
    /// Starts at the work, from what the detection recorded.
    fn start(stats: &'a IrqStats) -> Self {
        let detected_ns = stats.detected_ns.load(Relaxed);
        let injected_ns = stats.origin_ns.load(Relaxed);
        let origin_ns = if injected_ns != 0 {
            injected_ns
        } else {
            detected_ns
        };
        let mut clock = Self {
            stats,
            origin_ns,
            phases: Phases {
                injected: injected_ns != 0,
                ..Phases::default()
            },
        };
        clock.phases.detected = clock.us_since_origin(detected_ns);
        clock.phases.work = clock.now();
        clock
    }

    fn us_since_origin(&self, ns: i64) -> i64 {
        ns.saturating_sub(self.origin_ns) / 1000
    }

    fn now(&self) -> i64 {
        self.us_since_origin(self.stats.now_ns())
    }
}

/// The recovery state of one device: the policy, plus what debugfs shows.
pub(crate) struct State {
    config: Config,
    policy: recovery::Recovery,
    epoch: Instant<Monotonic>,
    recovered: u32,
    failed_attempts: u32,
    given_up: bool,
    /// devlink health did not recover the device automatically (its `auto_recover` is off,
    /// or its grace period runs): only `devlink health recover` does.
    held: bool,
    /// Recoveries started, by any path.
    attempts: u32,
    /// The recovery scheduled is the first for a fault (not a retry): it goes to devlink.
    fresh: bool,
    last: Option<Last>,
    /// The driver the recovery is quiescing, watched by the status check.
    quiescing: Option<Quiescing>,
}

/// How long a driver may take to quiesce before the status check says that it is stuck.
const QUIESCE_WARN_MS: u64 = 5000;

/// A driver that the recovery asked to quiesce, on a device that was reset.
#[derive(Clone, Copy)]
struct Quiescing {
    /// When it was asked, in milliseconds since `epoch`.
    since_ms: u64,
    /// What the device held when it broke: lost with the reset.
    in_flight: u32,
    strategy: Strategy,
    /// The driver's name, NUL-padded (truncated if longer).
    driver: [u8; 32],
    /// The status check said that it is stuck.
    warned: bool,
}

impl Quiescing {
    fn new(since_ms: u64, in_flight: u32, strategy: Strategy, name: Option<&CStr>) -> Self {
        let mut driver = [0u8; 32];
        if let Some(name) = name.map(CStr::to_bytes) {
            let n = name.len().min(driver.len());
            driver[..n].copy_from_slice(&name[..n]);
        }
        Self {
            since_ms,
            in_flight,
            strategy,
            driver,
            warned: false,
        }
    }

    fn driver(&self) -> &str {
        let len = self
            .driver
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.driver.len());
        core::str::from_utf8(&self.driver[..len]).unwrap_or("?")
    }
}

/// What the detectors update without a lock (they may run in interrupt context).
pub(crate) struct IrqStats {
    /// Times a device asking for a reset was found.
    events: Atomic<u32>,
    /// How many of them each [`Detector`] found, by `Detector::id() - 1`.
    detected: [Atomic<u32>; 3],
    /// The detector of the last event, as `Detector::id()` (0: none).
    last_detector: Atomic<u32>,
    /// The device status the last of them read.
    last_status: Atomic<u32>,
    /// The last status the driver wrote (FAILED there is ours, not the device's).
    written: Atomic<u32>,
    /// When the last fault was injected, in nanoseconds since `epoch` (0: none pending).
    injected_ns: Atomic<i64>,
    /// Time from the last injection to its detection, in microseconds (-1: none).
    latency_us: Atomic<i64>,
    /// When the last detection was, in nanoseconds since `epoch`.
    detected_ns: Atomic<i64>,
    /// When the fault of the last detection was injected, if it was (0: it was not).
    origin_ns: Atomic<i64>,
    /// 1 from a detection until the recovery of it is over.
    busy: Atomic<u32>,
    /// Notifications the driver sent while setting the device up, before DRIVER_OK.
    early_notifies: Atomic<u32>,
    /// 1 while the driver sets the device up: from its first status write to DRIVER_OK.
    setting_up: Atomic<u32>,
    epoch: Instant<Monotonic>,
}

impl IrqStats {
    /// Zeroed counters.
    pub(crate) fn new() -> Self {
        Self {
            events: Atomic::new(0),
            detected: [Atomic::new(0), Atomic::new(0), Atomic::new(0)],
            last_detector: Atomic::new(0),
            last_status: Atomic::new(0),
            written: Atomic::new(0),
            injected_ns: Atomic::new(0),
            latency_us: Atomic::new(-1),
            detected_ns: Atomic::new(0),
            origin_ns: Atomic::new(0),
            busy: Atomic::new(0),
            early_notifies: Atomic::new(0),
            setting_up: Atomic::new(0),
            epoch: Instant::now(),
        }
    }

    /// Records the status the driver writes.
    pub(crate) fn written(&self, status: u8) {
        self.written.store(status.into(), Relaxed);
        // What `early_notify` looks at, derived here: one load on every notification.
        let setting_up = status != 0 && status & status::DRIVER_OK == 0;
        self.setting_up.store(setting_up.into(), Relaxed);
    }

    /// Counts a notification that the driver sends while it sets the device up, after its
    /// first status write and before DRIVER_OK, which virtio 1.2, 3.1.1 forbids. Returns `true`
    /// for the first one. A notification to a device that the transport reset under the
    /// driver (status 0) is not counted: the driver does not know yet. Any context.
    #[inline]
    pub(crate) fn early_notify(&self) -> bool {
        self.setting_up.load(Relaxed) != 0 && self.count_early_notify()
    }

    #[cold]
    fn count_early_notify(&self) -> bool {
        self.early_notifies.fetch_add(1, Relaxed) == 0
    }

    /// The notifications counted by [`IrqStats::early_notify`].
    pub(crate) fn early_notifies(&self) -> u32 {
        self.early_notifies.load(Relaxed)
    }

    fn now_ns(&self) -> i64 {
        // Never 0, which means "none".
        self.epoch.elapsed().as_nanos().max(1)
    }

    /// Records that a fault is being injected now.
    fn injected(&self) {
        self.injected_ns.store(self.now_ns(), Relaxed);
    }
}

impl State {
    /// A device that has not needed a reset yet.
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            policy: recovery::Recovery::new(config.limits),
            epoch: Instant::now(),
            recovered: 0,
            failed_attempts: 0,
            given_up: false,
            held: false,
            attempts: 0,
            fresh: false,
            last: None,
            quiescing: None,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(0)
    }
}

/// What the transport provides to the recovery: its device status and its state.
pub(crate) trait Device {
    /// The device.
    fn pdev(&self) -> &kernel::device::Device;
    /// Reads the device status.
    fn status(&self) -> u8;
    /// The recovery state.
    fn state(&self) -> &kernel::sync::Mutex<State>;
    /// The interrupt counters.
    fn irq_stats(&self) -> &IrqStats;
}

/// Looks at `status`, just read from the device by `how`: if the device asks for a reset,
/// schedules the reset work and returns `true`. Any context.
///
/// Only the first detector to find it counts it and schedules the work: the others (and the
/// status reads of the virtio core while the recovery runs) see `busy` set until the recovery
/// is over (see [`settle`]), so that they neither cut a backoff short nor run the work again
/// for nothing, and a device given up on is left alone.
pub(crate) fn detect(dev: &impl Device, ctl: &Control<'_>, how: Detector, status: u8) -> bool {
    let stats = dev.irq_stats();
    let written = stats.written.load(Relaxed) as u8;
    if !recovery::wants_reset(status, written) || !how.acts_on(status) {
        return false;
    }
    if stats.busy.cmpxchg(0, 1, Relaxed).is_err() {
        return true;
    }
    // The work is paused while the driver is stopped (sleep, function reset): let the next
    // detection try again.
    if !ctl.schedule_reset(0) {
        stats.busy.store(0, Relaxed);
    }
    stats.events.add(1, Relaxed);
    if let Some(n) = stats.detected.get((how.id() - 1) as usize) {
        n.add(1, Relaxed);
    }
    stats.last_detector.store(how.id(), Relaxed);
    stats.last_status.store(status.into(), Relaxed);
    let now = stats.now_ns();
    let injected = stats.injected_ns.xchg(0, Relaxed);
    stats.detected_ns.store(now, Relaxed);
    stats.origin_ns.store(injected, Relaxed);
    if injected != 0 {
        stats.latency_us.store((now - injected) / 1000, Relaxed);
    }
    true
}

/// The configuration interrupt: returns `true` if the device asks for a reset, handled here,
/// and `false` if it is a configuration change for the virtio core.
pub(crate) fn config_interrupt(dev: &impl Device, ctl: &Control<'_>) -> bool {
    detect(dev, ctl, Detector::Interrupt, dev.status())
}

/// The periodic status check: one status read, and a look at a recovery that is waiting for
/// its driver.
pub(crate) fn poll(dev: &impl Device, ctl: &Control<'_>) {
    detect(dev, ctl, Detector::Poll, dev.status());
    watch_quiesce(dev);
}

/// Says once, with `dev_err`, that the driver the recovery is quiescing has not returned
/// [`QUIESCE_WARN_MS`] after the device was reset. The recovery cannot end its wait: a driver
/// that waits for the requests the device lost (upstream virtio_blk's `reset_prepare` and
/// `freeze` do) waits forever, holding the device lock.
fn watch_quiesce(dev: &impl Device) {
    let mut st = dev.state().lock();
    let now = st.now_ms();
    let Some(q) = st.quiescing.as_mut() else {
        return;
    };
    let waited = now.saturating_sub(q.since_ms);
    if q.warned || waited < QUIESCE_WARN_MS {
        return;
    }
    q.warned = true;
    let q = *q;
    drop(st);
    dev_err!(
        dev.pdev(),
        "{} has not returned from {} {} ms after the device was reset, with {} descriptors in flight that the device lost: the driver waits for them, and the device stays down (see Documentation/rvirtio-reset.rst)\n",
        q.driver(),
        q.strategy.prepare_name(),
        waited,
        q.in_flight
    );
}

/// The reset work.
///
/// A new fault goes to devlink health first, when the device has a reporter: devlink counts
/// it, keeps a dump of the queues and recovers the device through [`health_recover`], unless
/// the user turned its `auto_recover` off or its grace period runs; then the device waits for
/// `devlink health recover`. Retries after a failed recovery run here, and tell devlink when
/// they succeed.
pub(crate) fn recover(dev: &impl Device, rec: &Recovery<'_>) {
    let mut st = dev.state().lock();
    let now = st.now_ms();
    let status = dev.status();
    match st.policy.phase() {
        Phase::Failed | Phase::Running => return,
        Phase::Idle => {
            let written = dev.irq_stats().written.load(Relaxed) as u8;
            if st.held || !recovery::wants_reset(status, written) {
                // Held by devlink, already handled, or spurious.
                return;
            }
            match st.policy.needs_reset(now) {
                Action::Schedule(delay) => {
                    st.fresh = true;
                    if delay != 0 {
                        rec.schedule_reset(u32::try_from(delay).unwrap_or(u32::MAX));
                        return;
                    }
                }
                Action::Fail => {
                    give_up(dev, &mut st, rec);
                    return;
                }
                Action::None => return,
            }
        }
        // A recovery delayed by the backoff, or a retry after a failed one.
        Phase::Scheduled => {
            if status == status::GONE {
                // Surprise removal: the device is about to be unregistered.
                st.policy.cancel();
                return;
            }
        }
    }
    if core::mem::take(&mut st.fresh) {
        let attempts = st.attempts;
        drop(st);
        let Some(ret) = rec.report(c"DEVICE_NEEDS_RESET") else {
            // No devlink instance.
            let _ = attempt(dev, rec);
            return;
        };
        let mut st = dev.state().lock();
        if st.attempts == attempts {
            st.policy.cancel();
            st.held = true;
            drop(st);
            // The device completes nothing until it is recovered: the driver's operations fail
            // instead of waiting for it (a virtio_net control command spins on its queue with
            // the RTNL lock held). Not a disk's, as in a recovery: its requests wait.
            if recovery::breaks_queues_first(rec.device().device_type()) {
                rec.break_queues();
            }
            let why = match ret {
                Ok(()) => "its auto_recover is off",
                Err(e) if e == health::ecanceled() => {
                    "in its grace period, or the last error was not recovered"
                }
                Err(_) => "it failed",
            };
            dev_warn!(
                dev.pdev(),
                "devlink health did not recover the device ({}): it stays down until 'devlink health recover'\n",
                why
            );
        }
        return;
    }
    drop(st);
    if attempt(dev, rec).is_ok() {
        rec.recovered();
    }
}

/// The devlink health reporter's `recover`: `reported` from [`recover`], in the reset work,
/// for a new fault; otherwise the user asks, whatever the policy decided before (a device
/// given up on, held by devlink, or waiting for its backoff is recovered now, and its window
/// starts again). `EBUSY` while a recovery runs.
pub(crate) fn health_recover(dev: &impl Device, rec: &Recovery<'_>, reported: bool) -> Result {
    if reported {
        return attempt(dev, rec);
    }
    {
        let mut st = dev.state().lock();
        if st.policy.phase() == Phase::Running {
            return Err(EBUSY);
        }
        if !wants_reset(dev, dev.status()) {
            // Recovered meanwhile.
            st.held = false;
            return Ok(());
        }
        st.held = false;
        st.given_up = false;
        st.policy.resume();
    }
    dev_info!(dev.pdev(), "recovery asked for through devlink health\n");
    let ret = attempt(dev, rec);
    settle(dev, rec);
    ret
}

/// Runs the recovery that the policy scheduled: resets the device and brings the driver back.
/// `EAGAIN` if none is scheduled; `EIO` if the device did not come back.
fn attempt(dev: &impl Device, rec: &Recovery<'_>) -> Result {
    let mut st = dev.state().lock();
    let now = st.now_ms();
    let status = dev.status();
    if !st.policy.start(now) {
        return Err(EAGAIN);
    }
    st.attempts = st.attempts.wrapping_add(1);
    st.fresh = false;
    let forced = st.config.forced;
    drop(st);

    let start = Instant::<Monotonic>::now();
    let mut clock = Clock::start(dev.irq_stats());
    // Before anything changes: what the device took and will never give back.
    let in_flight = rec.in_flight();
    if recovery::breaks_queues_first(rec.device().device_type()) {
        rec.break_queues();
    }
    let (strategy, result) = run(dev, rec, forced, in_flight.total, &mut clock);
    clock.phases.ready = result.as_ref().ok().map(|_| clock.now());
    let duration_us = start.elapsed().as_micros_ceil();
    let status_after = dev.status();
    let broken =
        status_after == status::GONE || status_after & (status::NEEDS_RESET | status::FAILED) != 0;
    // A driver that is bound again must have set DRIVER_OK.
    let ok = match result {
        Ok(bound) => !broken && (!bound || status_after & status::DRIVER_OK != 0),
        Err(_) => false,
    };
    let result = result.map(|_| ());
    let mut st = dev.state().lock();
    st.last = Some(Last {
        strategy,
        status,
        status_after,
        in_flight,
        result,
        duration_us,
        phases: clock.phases,
    });
    let found =
        Detector::from_id(dev.irq_stats().last_detector.load(Relaxed)).map_or("?", Detector::name);
    if ok {
        st.recovered += 1;
        dev_info!(
            dev.pdev(),
            "recovered from DEVICE_NEEDS_RESET (status {:#04x}, found by {}, {} descriptors in flight) by {} in {} us\n",
            status,
            found,
            in_flight.total,
            strategy.name(),
            duration_us
        );
    } else {
        st.failed_attempts += 1;
        dev_warn!(
            dev.pdev(),
            "recovery by {} failed ({:?}, status {:#04x} after it, {} descriptors were in flight)\n",
            strategy.name(),
            result.err(),
            status_after,
            in_flight.total
        );
    }
    let now = st.now_ms();
    match st.policy.done(now, ok) {
        Action::Schedule(delay) => {
            // After a successful recovery, only a fault raised meanwhile schedules another.
            st.fresh = ok;
            rec.schedule_reset(u32::try_from(delay).unwrap_or(u32::MAX));
        }
        Action::Fail => give_up(dev, &mut st, rec),
        Action::None => {}
    }
    if ok {
        Ok(())
    } else {
        Err(result.err().unwrap_or(EIO))
    }
}

/// Ends the current detection once the recovery is over (the policy is idle again), so that
/// the next fault is counted. Called after every run of the reset work.
///
/// A fault raised while the recovery ran, after it last read the status, was ignored as
/// `busy`: the status is read once more, as a status check.
pub(crate) fn settle(dev: &impl Device, ctl: &Control<'_>) {
    {
        let st = dev.state().lock();
        // Held by devlink: the fault stays the current one until `devlink health recover`.
        if st.policy.phase() != Phase::Idle || st.held {
            return;
        }
    }
    dev.irq_stats().busy.store(0, Relaxed);
    detect(dev, ctl, Detector::Poll, dev.status());
}

/// Whether `status`, read from the device, asks for a reset (see [`recovery::wants_reset`]).
pub(crate) fn wants_reset(dev: &impl Device, status: u8) -> bool {
    recovery::wants_reset(status, dev.irq_stats().written.load(Relaxed) as u8)
}

/// The status as the virtio core and the driver see it: a FAILED that the device set itself
/// is hidden from them, as it is ours to handle (the core would otherwise write it back after
/// every reset, taking it for its own).
pub(crate) fn status_for_driver(dev: &impl Device, status: u8) -> u8 {
    let written = dev.irq_stats().written.load(Relaxed) as u8;
    if status != status::GONE && written & status::FAILED == 0 {
        status & !status::FAILED
    } else {
        status
    }
}

/// Resets the device and brings the driver back with the strongest strategy it supports.
/// Returns the strategy, and whether a driver is bound afterwards.
fn run(
    dev: &impl Device,
    rec: &Recovery<'_>,
    forced: Option<Strategy>,
    in_flight: u32,
    clock: &mut Clock<'_>,
) -> (Strategy, Result<bool>) {
    // The driver comes back on the same function: its queues keep their interrupt vectors.
    let _vectors = rec.keep_vectors();
    let guard = rec.lock_driver();
    let caps = guard.caps();
    let strategy = recovery::choose(
        recovery::DriverCaps {
            bound: caps.bound,
            reset_prepare_done: caps.reset_prepare_done,
            freeze_restore: caps.freeze_restore,
            pm_sleep: cfg!(CONFIG_PM_SLEEP),
        },
        forced,
    );
    let outcome = match strategy {
        Strategy::ResetPrepareDone => prepared(
            dev,
            &guard,
            strategy,
            in_flight,
            clock,
            |g| g.reset_prepare(),
            |g| g.reset_done(),
        ),
        Strategy::FreezeRestore => prepared(
            dev,
            &guard,
            strategy,
            in_flight,
            clock,
            |g| g.freeze(),
            |g| g.restore(),
        ),
        Strategy::ResetOnly => {
            guard.reset();
            clock.phases.reset = Some(clock.now());
            guard.add_status(status::ACKNOWLEDGE);
            Some(Ok(()))
        }
        Strategy::Reprobe => None,
    };
    // Re-probing binds and unbinds the driver, which takes the device lock itself.
    drop(guard);
    match outcome {
        Some(result) => (strategy, result.map(|()| caps.bound)),
        None => (Strategy::Reprobe, rec.reprobe()),
    }
}

/// Resets the device, quiesces the driver with `prepare`, and restarts the driver with `done`.
/// Returns `None` if the driver refused to quiesce: the caller re-probes it.
///
/// The reset comes first: from then on the device neither touches the rings nor interrupts,
/// and the driver quiesces knowing that what the device held will never complete (a driver
/// that waits for it instead waits forever: see
/// `Documentation/rvirtio-reset.rst`).
fn prepared(
    dev: &impl Device,
    guard: &DriverGuard<'_>,
    strategy: Strategy,
    in_flight: u32,
    clock: &mut Clock<'_>,
    prepare: impl FnOnce(&DriverGuard<'_>) -> Result,
    done: impl FnOnce(&DriverGuard<'_>) -> Result,
) -> Option<Result> {
    guard.reset();
    clock.phases.reset = Some(clock.now());
    {
        let mut st = dev.state().lock();
        let now = st.now_ms();
        st.quiescing = Some(Quiescing::new(
            now,
            in_flight,
            strategy,
            guard.driver_name(),
        ));
    }
    let quiesced = prepare(guard);
    let was = dev.state().lock().quiescing.take();
    if let Some(q) = was.filter(|q| q.warned) {
        dev_info!(
            dev.pdev(),
            "{} returned from {} after all\n",
            q.driver(),
            strategy.prepare_name()
        );
    }
    clock.phases.quiesced = Some(clock.now());
    if let Err(e) = quiesced {
        dev_warn!(
            dev.pdev(),
            "driver refused {} ({:?}): re-probing it\n",
            strategy.name(),
            e
        );
        clock.phases.quiesced = None;
        return None;
    }
    Some(done(guard))
}

/// Stops recovering the device: marks it FAILED, once, and says why.
fn give_up(dev: &impl Device, st: &mut State, rec: &Recovery<'_>) {
    if st.given_up {
        return;
    }
    st.given_up = true;
    dev_err!(
        dev.pdev(),
        "device keeps needing a reset ({} recoveries in {} ms): giving up, marking it FAILED\n",
        st.config.limits.max_recoveries,
        st.config.limits.window_ms
    );
    rec.lock_driver().fail();
}

/// Where the recovery of the device is.
pub(crate) fn phase(dev: &impl Device) -> Phase {
    dev.state().lock().policy.phase()
}

/// Prints the `recovery` debugfs file.
pub(crate) fn show(dev: &impl Device, ctl: &Control<'_>, m: &SeqFile) {
    seq_print!(m, "state: {}\n", phase(dev).name());
    let reused = ctl.vectors_reused();
    let st = dev.state().lock();
    let stats = dev.irq_stats();
    seq_print!(m, "device_status: {:#04x}\n", dev.status());
    seq_print!(m, "needs_reset_events: {}\n", stats.events.load(Relaxed));
    for d in Detector::ALL {
        if let Some(n) = stats.detected.get((d.id() - 1) as usize) {
            seq_print!(m, "detected_by_{}: {}\n", d.name(), n.load(Relaxed));
        }
    }
    seq_print!(
        m,
        "last_detector: {}\n",
        Detector::from_id(stats.last_detector.load(Relaxed)).map_or("none", Detector::name)
    );
    seq_print!(
        m,
        "last_detection_latency_us: {}\n",
        stats.latency_us.load(Relaxed)
    );
    seq_print!(m, "status_poll_ms: {}\n", st.config.poll_ms);
    seq_print!(
        m,
        "needs_reset_status: {:#04x}\n",
        stats.last_status.load(Relaxed)
    );
    seq_print!(m, "recoveries: {}\n", st.recovered);
    seq_print!(m, "failed_recoveries: {}\n", st.failed_attempts);
    seq_print!(m, "failed: {}\n", u8::from(st.given_up));
    seq_print!(m, "vectors_reused: {}\n", reused);
    if let Some(last) = st.last {
        let result = match last.result {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
        seq_print!(m, "last_strategy: {}\n", last.strategy.name());
        seq_print!(m, "last_status_before: {:#04x}\n", last.status);
        seq_print!(m, "last_status_after: {:#04x}\n", last.status_after);
        seq_print!(m, "last_result: {}\n", result);
        seq_print!(m, "last_duration_us: {}\n", last.duration_us);
        let p = last.phases;
        seq_print!(
            m,
            "last_phases_from: {}\n",
            if p.injected { "injection" } else { "detection" }
        );
        for (name, us) in [
            ("detected", Some(p.detected)),
            ("work", Some(p.work)),
            ("reset", p.reset),
            ("quiesced", p.quiesced),
            ("ready", p.ready),
        ] {
            match us {
                Some(us) => seq_print!(m, "last_phase_{}_us: {}\n", name, us),
                None => seq_print!(m, "last_phase_{}_us: -\n", name),
            }
        }
        seq_print!(m, "last_in_flight: {}", last.in_flight.total);
        for (i, held) in last.in_flight.per_queue().iter().enumerate() {
            let sep = if i == 0 { " (" } else { ", " };
            seq_print!(m, "{}q{} {}", sep, i, held);
        }
        if !last.in_flight.per_queue().is_empty() {
            seq_print!(m, ")");
        }
        seq_print!(m, "\n");
    } else {
        seq_print!(m, "last_strategy: none\n");
    }
    let l = st.config.limits;
    seq_print!(
        m,
        "limits: {} per {} ms, backoff {}..{} ms\n",
        l.max_recoveries,
        l.window_ms,
        l.backoff_ms,
        l.backoff_max_ms
    );
}

/// Handles a write to the `inject` debugfs file: the number of a queue to corrupt.
///
/// With `silent`, `detach` is called first: it takes the configuration interrupt away from the
/// device, so that only the status check or the driver can find the fault.
pub(crate) fn inject(
    dev: &impl Device,
    ctl: &Control<'_>,
    buf: &[u8],
    silent: bool,
    detach: impl FnOnce() -> Result,
) -> Result {
    let index = debugfs::parse_u32(buf)?;
    let index = u16::try_from(index).map_err(|_| EINVAL)?;
    inject_queue(dev, ctl, index, silent, detach)
}

/// Makes the device see a bad request on queue `index` (see [`inject`]). `EPERM` without
/// `CONFIG_FAULT_INJECTION`.
fn inject_queue(
    dev: &impl Device,
    ctl: &Control<'_>,
    index: u16,
    silent: bool,
    detach: impl FnOnce() -> Result,
) -> Result {
    if !dev.state().lock().config.inject {
        return Err(EPERM);
    }
    if silent {
        detach().inspect_err(|e| {
            dev_warn!(
                dev.pdev(),
                "cannot detach the configuration interrupt: {:?}\n",
                e
            );
        })?;
    }
    dev.irq_stats().injected();
    ctl.inject_bad_head(index).inspect_err(|e| {
        dev_warn!(
            dev.pdev(),
            "cannot inject a fault on queue {}: {:?}\n",
            index,
            e
        );
    })?;
    dev_info!(
        dev.pdev(),
        "fault injected on queue {}{}\n",
        index,
        if silent {
            " (configuration interrupt detached)"
        } else {
            ""
        }
    );
    Ok(())
}

/// The devlink health reporter's `test`: a fault on the device's last queue (the control
/// queue of a network device, where nothing is added while no command runs), as the
/// `inject` debugfs file makes it.
pub(crate) fn health_test(dev: &impl Device, ctl: &Control<'_>) -> Result {
    let queues = ctl.in_flight().queues;
    let last = queues.checked_sub(1).ok_or(ENOENT)?;
    inject_queue(
        dev,
        ctl,
        u16::try_from(last).map_err(|_| EINVAL)?,
        false,
        || Ok(()),
    )
}

/// The devlink health reporter's `diagnose`: where the device and its recovery are.
pub(crate) fn health_diagnose(dev: &impl Device, ctl: &Control<'_>, fmsg: &mut Fmsg<'_>) {
    let status = dev.status();
    let st = dev.state().lock();
    let stats = dev.irq_stats();
    let state = if st.held {
        "held"
    } else {
        st.policy.phase().name()
    };
    fmsg.put_str(c"state", state);
    fmsg.put_u32(c"device_status", status.into());
    fmsg.put_bool(c"needs_reset", wants_reset(dev, status));
    fmsg.put_u32(c"in_flight", ctl.in_flight().total);
    fmsg.object(c"detection", |f| {
        f.put_u32(c"events", stats.events.load(Relaxed));
        for d in Detector::ALL {
            if let Some(n) = stats.detected.get((d.id() - 1) as usize) {
                let name = match d {
                    Detector::Interrupt => c"by_interrupt",
                    Detector::Poll => c"by_status_check",
                    Detector::Driver => c"by_driver",
                };
                f.put_u32(name, n.load(Relaxed));
            }
        }
        f.put_str(
            c"last_detector",
            Detector::from_id(stats.last_detector.load(Relaxed)).map_or("none", Detector::name),
        );
        f.put_u32(c"last_status", stats.last_status.load(Relaxed));
    });
    fmsg.object(c"recoveries", |f| {
        f.put_u32(c"started", st.attempts);
        f.put_u32(c"recovered", st.recovered);
        f.put_u32(c"failed", st.failed_attempts);
        f.put_bool(c"given_up", st.given_up);
    });
    if let Some(last) = st.last {
        fmsg.object(c"last_recovery", |f| {
            f.put_str(c"strategy", last.strategy.name());
            f.put_u32(c"status_before", last.status.into());
            f.put_u32(c"status_after", last.status_after.into());
            f.put_str(c"result", if last.result.is_ok() { "ok" } else { "failed" });
            f.put_u64(c"duration_us", u64::try_from(last.duration_us).unwrap_or(0));
            f.put_u32(c"in_flight", last.in_flight.total);
        });
    }
    let l = st.config.limits;
    fmsg.object(c"limits", |f| {
        f.put_u32(c"max_recoveries", l.max_recoveries);
        f.put_u64(c"window_ms", l.window_ms);
        f.put_u64(c"backoff_ms", l.backoff_ms);
        f.put_u64(c"backoff_max_ms", l.backoff_max_ms);
    });
}

/// The devlink health reporter's `dump`: what each queue held, taken when the fault is
/// reported (before the reset), or now when the user asks.
pub(crate) fn health_dump(dev: &impl Device, rec: &Recovery<'_>, fmsg: &mut Fmsg<'_>) {
    let in_flight = rec.in_flight();
    fmsg.put_u32(c"device_status", dev.status().into());
    fmsg.put_str(
        c"detector",
        Detector::from_id(dev.irq_stats().last_detector.load(Relaxed))
            .map_or("none", Detector::name),
    );
    fmsg.put_u32(c"queues", in_flight.queues);
    fmsg.put_u32(c"in_flight", in_flight.total);
    fmsg.array(
        c"queue",
        (0u32..).zip(in_flight.per_queue().iter().copied()),
        |f, (index, held)| {
            f.put_u32(c"index", index);
            f.put_u32(c"in_flight", held.into());
        },
    );
}
