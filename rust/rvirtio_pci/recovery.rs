// SPDX-License-Identifier: GPL-2.0

//! Recovery policy for devices that set DEVICE_NEEDS_RESET (virtio 1.2, 2.1.1).
//!
//! Pure logic, also built and tested on the host: which strategy recovers the bound driver,
//! when to run a recovery (backoff), and when to give up on a device that keeps failing. The
//! transport feeds it events with the current time and acts on its answers; it keeps no clock
//! and takes no locks of its own.

/// `DEVICE_NEEDS_RESET` (virtio 1.2, 2.1).
pub(crate) const STATUS_NEEDS_RESET: u8 = 0x40;
/// `FAILED` (virtio 1.2, 2.1).
pub(crate) const STATUS_FAILED: u8 = 0x80;
/// `DRIVER_OK` (virtio 1.2, 2.1).
pub(crate) const STATUS_DRIVER_OK: u8 = 0x04;

/// Whether a device status read from the device asks for a reset: DEVICE_NEEDS_RESET is set,
/// or FAILED is set and the driver did not write it (`written` is the last status the driver
/// wrote: a device such as mlx5's vDPA sets FAILED itself when its setup fails). A device
/// that is gone reads all ones, which is not a request.
pub(crate) fn wants_reset(status: u8, written: u8) -> bool {
    if status == u8::MAX {
        return false;
    }
    status & STATUS_NEEDS_RESET != 0
        || (status & STATUS_FAILED != 0 && written & STATUS_FAILED == 0)
}

/// How the transport found that a device wants a reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Detector {
    /// The configuration interrupt read the status.
    Interrupt,
    /// The periodic status check.
    Poll,
    /// A status read by the driver on top (for example its transmit watchdog) or the core.
    Driver,
}

impl Detector {
    /// All detectors, in the order of their counters.
    pub(crate) const ALL: [Detector; 3] = [Self::Interrupt, Self::Poll, Self::Driver];

    /// Name used in messages and in debugfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "interrupt",
            Self::Poll => "poll",
            Self::Driver => "driver",
        }
    }

    /// Index of the detector's counter, from 1 (0 means none).
    pub(crate) fn id(self) -> u32 {
        match self {
            Self::Interrupt => 1,
            Self::Poll => 2,
            Self::Driver => 3,
        }
    }

    /// The detector of counter index `id`.
    pub(crate) fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.id() == id)
    }

    /// Whether this detector acts on a device whose status is `status`: the interrupt always
    /// does; the poll and status reads only while the driver is running (DRIVER_OK).
    pub(crate) fn acts_on(self, status: u8) -> bool {
        self == Self::Interrupt || status & STATUS_DRIVER_OK != 0
    }
}

/// How to bring a device and its driver back after a full device reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// `virtio_device_reset_prepare()`, reset, `virtio_device_reset_done()`.
    ResetPrepareDone,
    /// `virtio_device_freeze()`, reset, `virtio_device_restore()`.
    FreezeRestore,
    /// Unbind the driver, reset, probe again.
    Reprobe,
    /// No driver is bound: reset the device and leave it ready for the next one.
    ResetOnly,
}

impl Strategy {
    /// Name used in messages and in the statistics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ResetPrepareDone => "reset_prepare/reset_done",
            Self::FreezeRestore => "freeze/restore",
            Self::Reprobe => "reprobe",
            Self::ResetOnly => "reset",
        }
    }

    /// The strategies a user can force (`recovery_strategy`), by their number there (1-3); 0
    /// forces none: the strongest the driver supports is used.
    pub(crate) const FORCEABLE: [Strategy; 3] =
        [Self::ResetPrepareDone, Self::FreezeRestore, Self::Reprobe];

    /// The strategy forced by `recovery_strategy` value `v`: `Some(None)` for 0, `None` for a
    /// value out of range.
    pub(crate) fn forced_by(v: u32) -> Option<Option<Self>> {
        match v {
            0 => Some(None),
            v => Self::FORCEABLE.get(v as usize - 1).copied().map(Some),
        }
    }

    /// The `recovery_strategy` value that forces `forced` (see [`Strategy::forced_by`]).
    pub(crate) fn forcing(forced: Option<Self>) -> u32 {
        forced
            .and_then(|s| Self::FORCEABLE.iter().position(|&f| f == s))
            .map_or(0, |i| i as u32 + 1)
    }

    /// The driver's callback that quiesces it for this strategy, for messages.
    pub(crate) fn prepare_name(self) -> &'static str {
        match self {
            Self::ResetPrepareDone => "reset_prepare",
            Self::FreezeRestore => "freeze",
            Self::Reprobe => "remove",
            Self::ResetOnly => "nothing",
        }
    }
}

/// What the bound driver (if any) supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DriverCaps {
    /// A driver is bound.
    pub(crate) bound: bool,
    /// It has `reset_prepare` and `reset_done`.
    pub(crate) reset_prepare_done: bool,
    /// It has `freeze` and `restore`.
    pub(crate) freeze_restore: bool,
    /// The kernel exports `virtio_device_freeze/restore` (`CONFIG_PM_SLEEP`).
    pub(crate) pm_sleep: bool,
}

/// Picks the strongest strategy the driver supports, or `forced` when it is possible.
pub(crate) fn choose(caps: DriverCaps, forced: Option<Strategy>) -> Strategy {
    if !caps.bound {
        return Strategy::ResetOnly;
    }
    let can = |s: Strategy| match s {
        Strategy::ResetPrepareDone => caps.reset_prepare_done,
        Strategy::FreezeRestore => caps.freeze_restore && caps.pm_sleep,
        Strategy::Reprobe => true,
        Strategy::ResetOnly => false,
    };
    if let Some(f) = forced.filter(|f| can(*f)) {
        return f;
    }
    [Strategy::ResetPrepareDone, Strategy::FreezeRestore]
        .into_iter()
        .find(|s| can(*s))
        .unwrap_or(Strategy::Reprobe)
}

/// Virtio device type of block devices (virtio 1.2, 5).
pub(crate) const VIRTIO_ID_BLOCK: u32 = 2;

/// Whether the recovery breaks the queues of a device of type `device_type` before it asks the
/// driver to quiesce. The device is reset first in either case, so it no longer touches the
/// rings; breaking the queues is for drivers that wait on the device with a lock their
/// quiesce needs, and it makes every later queue operation fail instead.
///
/// The one device type whose queues are left alone is the block device: `virtio_blk` never
/// waits on a queue, and a request it adds to a broken queue fails with an I/O error that
/// reaches the application, where a request added to the reset device waits in the ring
/// until the driver takes back what the device lost (`reset_prepare`). Every other type,
/// known or not, is broken first: `virtio_net`, for one, spins on its control queue until it
/// answers or is broken, holding the RTNL lock that its `freeze` takes.
pub(crate) fn breaks_queues_first(device_type: u32) -> bool {
    device_type != VIRTIO_ID_BLOCK
}

/// The limits of the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// A device that needs more than this many recoveries within `window_ms` is failed.
    pub(crate) max_recoveries: u32,
    /// The window, in milliseconds.
    pub(crate) window_ms: u64,
    /// Delay before the second recovery within the window; it doubles for each further one.
    /// The first one runs at once.
    pub(crate) backoff_ms: u64,
    /// Upper bound of the delay.
    pub(crate) backoff_max_ms: u64,
}

impl Limits {
    /// Defaults: 5 recoveries per 60 s, backoff 100 ms doubling up to 5 s.
    pub(crate) const DEFAULT: Limits = Limits {
        max_recoveries: 5,
        window_ms: 60_000,
        backoff_ms: 100,
        backoff_max_ms: 5_000,
    };
}

/// What the transport should do after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing (already scheduled or running, or the device is failed).
    None,
    /// Schedule the recovery work after this many milliseconds.
    Schedule(u64),
    /// Give up: mark the device FAILED and say why, once.
    Fail,
}

/// Where a device is in its recovery life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Working normally.
    Idle,
    /// A recovery is scheduled.
    Scheduled,
    /// A recovery is running.
    Running,
    /// Given up on.
    Failed,
}

impl Phase {
    /// Name used in messages and in debugfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Failed => "failed",
        }
    }
}

/// The per-device state of the policy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Recovery {
    limits: Limits,
    phase: Phase,
    /// A NEEDS_RESET arrived while a recovery was running.
    again: bool,
    /// Start times of the recoveries in the current window, oldest first.
    recent: [u64; Self::MAX_TRACKED],
    recent_len: usize,
}

impl Recovery {
    /// More recoveries than this per window are never allowed (bounds `recent`).
    pub(crate) const MAX_TRACKED: usize = 32;

    /// A new state with `limits` (clamped to what can be tracked).
    pub(crate) fn new(mut limits: Limits) -> Self {
        limits.max_recoveries = limits.max_recoveries.min(Self::MAX_TRACKED as u32);
        Self {
            limits,
            phase: Phase::Idle,
            again: false,
            recent: [0; Self::MAX_TRACKED],
            recent_len: 0,
        }
    }

    /// Changes the limits (clamped as in [`Recovery::new`]): the next decision follows them.
    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.limits = Self::new(limits).limits;
    }

    /// The current phase.
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    fn forget_old(&mut self, now: u64) {
        let window = self.limits.window_ms;
        let keep = self.recent[..self.recent_len]
            .iter()
            .position(|t| now.saturating_sub(*t) < window)
            .unwrap_or(self.recent_len);
        self.recent.copy_within(keep..self.recent_len, 0);
        self.recent_len -= keep;
    }

    /// Decides what to do about a recovery that is due now.
    fn plan(&mut self, now: u64) -> Action {
        self.forget_old(now);
        let n = self.recent_len as u32;
        if n >= self.limits.max_recoveries {
            self.phase = Phase::Failed;
            return Action::Fail;
        }
        self.phase = Phase::Scheduled;
        if n == 0 {
            return Action::Schedule(0);
        }
        let shift = (n - 1).min(63);
        let delay = self
            .limits
            .backoff_ms
            .checked_shl(shift)
            .unwrap_or(u64::MAX)
            .min(self.limits.backoff_max_ms);
        Action::Schedule(delay)
    }

    /// The device reported NEEDS_RESET at time `now` (milliseconds).
    pub(crate) fn needs_reset(&mut self, now: u64) -> Action {
        match self.phase {
            Phase::Idle => self.plan(now),
            // Handled once, after the running recovery.
            Phase::Running => {
                self.again = true;
                Action::None
            }
            Phase::Scheduled | Phase::Failed => Action::None,
        }
    }

    /// The scheduled recovery starts at `now`. Returns `false` if it must not run (the device
    /// was failed or the work was not scheduled by us).
    pub(crate) fn start(&mut self, now: u64) -> bool {
        if self.phase != Phase::Scheduled {
            return false;
        }
        self.forget_old(now);
        if self.recent_len < Self::MAX_TRACKED {
            self.recent[self.recent_len] = now;
            self.recent_len += 1;
        }
        self.phase = Phase::Running;
        self.again = false;
        true
    }

    /// The running recovery ended at `now`; `ok` says whether the device came back.
    ///
    /// A failed recovery counts like any other towards the limit, and the device is recovered
    /// again (with backoff) as long as the limit allows.
    pub(crate) fn done(&mut self, now: u64, ok: bool) -> Action {
        if self.phase != Phase::Running {
            return Action::None;
        }
        self.phase = Phase::Idle;
        if self.again || !ok {
            self.again = false;
            return self.plan(now);
        }
        Action::None
    }

    /// The user asks for a recovery now: from idle or failed, one is scheduled at once, and
    /// the window starts again. Returns `false` if one is scheduled or running already.
    pub(crate) fn resume(&mut self) -> bool {
        if !matches!(self.phase, Phase::Idle | Phase::Failed) {
            return false;
        }
        self.recent_len = 0;
        self.again = false;
        self.phase = Phase::Scheduled;
        true
    }

    /// A recovery scheduled but cancelled (the device is going away).
    pub(crate) fn cancel(&mut self) {
        if matches!(self.phase, Phase::Scheduled | Phase::Running) {
            self.phase = Phase::Idle;
        }
        self.again = false;
    }
}
