// SPDX-License-Identifier: GPL-2.0

//! One periodic check for every device of a transport module.
//!
//! A transport that checks its devices periodically ([`super::Transport::poll`]) does it from
//! one delayed work for the whole module rather than one per device: the work walks the
//! registered devices under a lock and re-arms itself while there are any. A [`Registration`]
//! adds itself once registered and removes itself before it goes away, under the same lock, so
//! the work never reaches a device that is gone. The module owns the [`Poller`]: created before
//! its driver is registered, dropped after it is unregistered, which cancels the work.
//!
//! [`Registration`]: super::Registration

use crate::bindings;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{prelude::*, types::Opaque};

/// A device, as the work calls it.
struct Entry {
    /// Registered: checked by the work.
    active: bool,
    /// The device's `Inner<T>`, type-erased.
    inner: *const (),
    /// Checks the device behind `inner`.
    ///
    /// # Safety
    ///
    /// `inner` must be the `Inner<T>` of a live registration of the `T` this function is for.
    check: unsafe fn(*const ()),
}

/// The devices to check, and how often.
struct Devices {
    list: KVec<Entry>,
    /// Period in milliseconds; 0: no checks.
    period_ms: u32,
}

// SAFETY: The raw pointers of the entries point to registrations, which may be used from any
// thread (their transports are `Sync`).
unsafe impl Send for Devices {}

/// The delayed work, initialised by [`Poller::new`].
struct Work(Opaque<bindings::delayed_work>);

// SAFETY: The work is only handed to the workqueue API, which serialises its own accesses.
unsafe impl Sync for Work {}

static WORK: Work = Work(Opaque::uninit());

kernel::sync::global_lock! {
    // SAFETY: Initialised by the first `Poller::new` (`READY`), before anything else uses the
    // lock.
    unsafe(uninit) static POLL_DEVICES: Mutex<Devices> = Devices {
        list: KVec::new(),
        period_ms: 0,
    };
}

/// Whether a [`Poller`] exists.
static STARTED: AtomicBool = AtomicBool::new(false);
/// Whether `POLL_DEVICES` is initialised. Once set, it stays: the statics outlive a [`Poller`] (in
/// the kernel crate they outlive the transport module too, which may be loaded again).
static READY: AtomicBool = AtomicBool::new(false);

/// The periodic check of a transport module's devices, while this lives.
///
/// # Invariants
///
/// `POLL_DEVICES` and its work are initialised.
pub(crate) struct Poller(());

impl Poller {
    /// Sets up the periodic check, every `period_ms` milliseconds (0: none). One [`Poller`] at a
    /// time: `EBUSY` while another exists.
    pub(crate) fn new(period_ms: u32) -> Result<Self> {
        if STARTED.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        if !READY.load(Ordering::Acquire) {
            // SAFETY: `STARTED` makes this the only caller now, and `READY` the first ever.
            unsafe { POLL_DEVICES.init() };
        }
        // SAFETY: The work is idle: it was never queued, or the last `Poller`'s drop cancelled
        // it and no device is registered to queue it again.
        unsafe { bindings::init_delayed_work(WORK.0.get(), Some(run)) };
        POLL_DEVICES.lock().period_ms = period_ms;
        READY.store(true, Ordering::Release);
        // INVARIANT: Both initialised above.
        Ok(Self(()))
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // No device is left (the driver is unregistered first); this keeps the work from
        // re-arming itself. The list's memory is freed here: a static is never dropped, and
        // the module's unload would leak it.
        {
            let mut devs = POLL_DEVICES.lock();
            devs.period_ms = 0;
            devs.list = KVec::new();
        }
        // SAFETY: The work is initialised (type invariant) and static; it re-arms itself only
        // with a period, which is 0 now. Cancelled outside the lock, which the work takes.
        unsafe { kernel::bindings::cancel_delayed_work_sync(WORK.0.get()) };
        STARTED.store(false, Ordering::Release);
    }
}

/// The work: checks every device, then re-arms itself while there are any.
///
/// # Safety
///
/// Called by the workqueue for `POLL_DEVICES`' work, which only [`Poller::new`] initialises.
unsafe extern "C" fn run(_work: *mut kernel::bindings::work_struct) {
    let mut devs = POLL_DEVICES.lock();
    for e in devs.list.iter().filter(|e| e.active) {
        // SAFETY: An entry is active while its device is registered, and removed, under this
        // lock, before its registration goes away.
        unsafe { (e.check)(e.inner) };
    }
    arm(&mut devs);
}

/// Queues the work after one period, if there are devices to check.
fn arm(devs: &mut Devices) {
    if devs.period_ms != 0 && devs.list.iter().any(|e| e.active) {
        // SAFETY: The work is initialised before `READY` is set, which every caller checked
        // (or is the work itself); it is static.
        unsafe { bindings::queue_freezable_delayed_work(WORK.0.get(), devs.period_ms) };
    }
}

/// Makes room for a device to check, before it is registered (this is what may fail). Without
/// a [`Poller`] (or with no period), there is nothing to do.
///
/// # Safety
///
/// Once [`set_active`] makes `inner` active, `check(inner)` must be sound until [`remove`] is
/// called with it.
pub(super) unsafe fn add(inner: *const (), check: unsafe fn(*const ())) -> Result {
    if !READY.load(Ordering::Acquire) {
        return Ok(());
    }
    let mut devs = POLL_DEVICES.lock();
    if devs.period_ms == 0 {
        return Ok(());
    }
    devs.list.push(
        Entry {
            active: false,
            inner,
            check,
        },
        GFP_KERNEL,
    )?;
    Ok(())
}

/// Starts checking the device `inner` added by [`add`] (once it is registered, and when it runs
/// again after a stop), or stops checking it (while its driver is stopped and the device may
/// not answer, e.g. during a function reset). When this returns, the work is not checking it.
pub(super) fn set_active(inner: *const (), active: bool) {
    if !READY.load(Ordering::Acquire) {
        return;
    }
    let mut devs = POLL_DEVICES.lock();
    let was_idle = !devs.list.iter().any(|e| e.active);
    if let Some(e) = devs.list.iter_mut().find(|e| e.inner == inner) {
        e.active = active;
        if active && was_idle {
            arm(&mut devs);
        }
    }
}

/// Removes the device `inner` added by [`add`], if it is there: the work does not check it
/// after this returns.
pub(super) fn remove(inner: *const ()) {
    if !READY.load(Ordering::Acquire) {
        return;
    }
    POLL_DEVICES.lock().list.retain(|e| e.inner != inner);
}
