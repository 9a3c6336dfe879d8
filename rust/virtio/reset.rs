// SPDX-License-Identifier: GPL-2.0

//! Resetting a registered device and bringing its driver back, outside interrupt context.
//!
//! A device that hits an error sets DEVICE_NEEDS_RESET in its status and raises a
//! configuration interrupt (virtio 1.2, 2.1.1). The transport sees it in
//! [`super::Transport::config_interrupt`] and schedules the registration's reset work
//! ([`Control::schedule_reset`]); the work calls [`super::Transport::recover`] in process
//! context with a [`Recovery`], which can lock the device against driver binding and unbinding
//! ([`Recovery::lock_driver`]) and run the virtio core's recovery entry points.
//!
//! The work runs on the freezable system workqueue (never while the system sleeps), never runs
//! concurrently with itself, and is cancelled, waiting for a running instance, before the
//! device is unregistered.

use super::{
    health::Health,
    queues::{QueueState, Spare},
    Device,
};
use crate::bindings;
use core::cell::Cell;
use kernel::{
    error::to_result,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Release},
        Mutex,
    },
    types::Opaque, //
};

/// The reset work of a registration.
///
/// # Invariants
///
/// `dwork` is an initialised `struct delayed_work` whose function is the one given to
/// `ResetWork::new`.
#[pin_data]
pub(crate) struct ResetWork {
    #[pin]
    dwork: Opaque<kernel::bindings::delayed_work>,
    closed: Atomic<bool>,
}

impl ResetWork {
    /// A work item that runs `func` with the address of its `struct work_struct`. It cannot be
    /// scheduled until [`ResetWork::open`]: the device must be registered first.
    pub(super) fn new(
        func: unsafe extern "C" fn(*mut kernel::bindings::work_struct),
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; initialising a delayed work has no other
            // requirement.
            dwork <- Opaque::ffi_init(move |slot| unsafe {
                bindings::init_delayed_work(slot, Some(func))
            }),
            closed: Atomic::new(true),
        })
    }

    /// Lets the work be scheduled, once the device is registered. (A device that did not reset
    /// may still read DRIVER_OK | NEEDS_RESET while it is being registered.)
    pub(super) fn open(&self) {
        self.closed.store(false, Release);
    }

    /// Recovers the reset work from the address of its `struct work_struct`.
    ///
    /// # Safety
    ///
    /// `work` must be the work of a live [`ResetWork`].
    pub(super) unsafe fn from_work<'a>(work: *mut kernel::bindings::work_struct) -> &'a Self {
        // SAFETY: By the safety requirements `work` is embedded in a delayed work.
        let dwork = unsafe { bindings::to_delayed_work(work) };
        let this = dwork
            .cast::<u8>()
            .wrapping_sub(core::mem::offset_of!(Self, dwork))
            .cast::<Self>();
        // SAFETY: `dwork` is the `dwork` field of a live `ResetWork`.
        unsafe { &*this }
    }

    /// Schedules the work to run after `msecs` milliseconds, unless it is already pending or
    /// the registration is going away. Any context.
    pub(super) fn schedule(&self, msecs: u32) -> bool {
        if self.closed.load(Acquire) {
            return false;
        }
        // SAFETY: `dwork` is initialised by the type invariant and lives as long as `self`,
        // which outlives any run of the work (see `close`).
        unsafe { bindings::queue_freezable_delayed_work(self.dwork.get(), msecs) }
    }

    /// Keeps the work from running until [`ResetWork::unpause`]: cancels it, waiting for a
    /// running instance, and makes [`ResetWork::schedule`] fail meanwhile. Pauses nest.
    pub(super) fn pause(&self) {
        // SAFETY: `dwork` is initialised by the type invariant.
        unsafe { kernel::bindings::disable_delayed_work_sync(self.dwork.get()) };
    }

    /// Ends a [`ResetWork::pause`].
    pub(super) fn unpause(&self) {
        // SAFETY: `dwork` is initialised by the type invariant.
        unsafe { kernel::bindings::enable_delayed_work(self.dwork.get()) };
    }

    /// Runs the work now if it is scheduled, even with a delay, and waits for it. Returns
    /// `false` if it was neither scheduled nor running.
    pub(super) fn run_now(&self) -> bool {
        // SAFETY: `dwork` is initialised by the type invariant and lives as long as `self`,
        // which outlives any run of the work (see `close`).
        unsafe { kernel::bindings::flush_delayed_work(self.dwork.get()) }
    }

    /// Stops the work for good: no later [`ResetWork::schedule`] succeeds, and when this
    /// returns the work is neither pending nor running.
    ///
    /// Interrupt handlers may still be running a `schedule` that saw the work open: they are
    /// waited for with `queues` before the work is cancelled.
    pub(super) fn close(&self, queues: &Mutex<Option<QueueState>>) {
        self.closed.store(true, Release);
        if let Some(q) = queues.lock().as_ref() {
            q.synchronize();
        }
        // SAFETY: `dwork` is initialised; cancelling also waits for a run that re-queues
        // itself, and nothing queues it any more.
        unsafe { kernel::bindings::cancel_delayed_work_sync(self.dwork.get()) };
    }
}

/// A registered device, as the transport callbacks outside the virtio core see it: in the
/// configuration interrupt, in debugfs files and in the reset work.
pub(crate) struct Control<'a> {
    pub(super) dev: &'a Device,
    pub(super) reset: &'a ResetWork,
    pub(super) queues: &'a Mutex<Option<QueueState>>,
    pub(super) spare: &'a Mutex<Spare>,
    pub(super) stopped: &'a Mutex<StopState>,
    pub(super) health: &'a Health,
}

impl Control<'_> {
    /// How often the parent stopped the driver, and how the last stop went.
    pub(crate) fn stop_state(&self) -> StopState {
        *self.stopped.lock()
    }

    /// The device.
    pub(crate) fn device(&self) -> &Device {
        self.dev
    }

    /// How often the driver's queues took over the interrupt vectors of its previous ones
    /// (see [`Recovery::keep_vectors`]).
    pub(crate) fn vectors_reused(&self) -> u64 {
        self.spare.lock().reused
    }

    /// Schedules the reset work after `msecs` milliseconds; returns `false` if it was
    /// pending already or the device is going away. Any context.
    pub(crate) fn schedule_reset(&self, msecs: u32) -> bool {
        self.reset.schedule(msecs)
    }

    /// What the device holds on its queues now (process context). A snapshot: the driver may be
    /// adding or taking buffers meanwhile.
    pub(crate) fn in_flight(&self) -> InFlight {
        let mut f = InFlight::default();
        let n = f.held.len() as u32;
        // SAFETY: The device is registered while `self` exists; `held` has room for `n`
        // entries, and the helper walks the queue list under its lock.
        f.total = unsafe {
            bindings::vqs_in_flight(self.dev.as_raw(), f.held.as_mut_ptr(), n, &mut f.queues)
        };
        f
    }

    /// Fault injection: makes the device see a malformed request on queue `index` (a
    /// descriptor head beyond the ring) and notifies it, so that a device that validates its
    /// rings reports a protocol error. Split rings only.
    ///
    /// Only for testing: the queue is unusable until the device is reset.
    pub(crate) fn inject_bad_head(&self, index: u16) -> Result {
        // Holding the lock keeps `del_vqs` from deleting the queue under us.
        let queues = self.queues.lock();
        if queues.is_none() {
            return Err(ENOENT);
        }
        // SAFETY: The device is registered, and its queues stay while `queues` is locked.
        to_result(unsafe { bindings::vring_inject_bad_head(self.dev.as_raw(), index.into()) })
    }
}

/// The reset work running for a device ([`super::Transport::recover`] gets one), or a
/// devlink health operation (see [`super::health`]).
pub(crate) struct Recovery<'a> {
    ctl: Control<'a>,
    /// In a devlink health operation: reporting would take the lock of the report in
    /// progress, or wait for the operation.
    in_op: Cell<bool>,
}

impl<'a> core::ops::Deref for Recovery<'a> {
    type Target = Control<'a>;

    fn deref(&self) -> &Control<'a> {
        &self.ctl
    }
}

/// What the driver bound to a device supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DriverCaps {
    /// A driver is bound.
    pub(crate) bound: bool,
    /// It has `reset_prepare` and `reset_done`.
    pub(crate) reset_prepare_done: bool,
    /// It has `freeze` and `restore`, and the kernel can call them (`CONFIG_PM_SLEEP`).
    pub(crate) freeze_restore: bool,
}

/// What the device held on its queues at one moment: descriptors made available to it and
/// not yet returned (with indirect descriptors, one per request).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InFlight {
    /// By queue index, for the first [`InFlight::SHOWN`] queues.
    pub(crate) held: [u16; InFlight::SHOWN],
    /// The device's queues.
    pub(crate) queues: u32,
    /// The sum over all queues.
    pub(crate) total: u32,
}

impl InFlight {
    /// Queues counted one by one; the total covers every queue.
    pub(crate) const SHOWN: usize = 16;

    /// The count of each queue, up to [`InFlight::SHOWN`] of them.
    pub(crate) fn per_queue(&self) -> &[u16] {
        let n = usize::try_from(self.queues).map_or(Self::SHOWN, |n| n.min(Self::SHOWN));
        &self.held[..n]
    }
}

impl<'a> Recovery<'a> {
    /// The reset work's.
    pub(super) fn new(ctl: Control<'a>) -> Self {
        Self {
            ctl,
            in_op: Cell::new(false),
        }
    }

    /// A devlink health operation's.
    pub(super) fn in_health_op(ctl: Control<'a>) -> Self {
        Self {
            ctl,
            in_op: Cell::new(true),
        }
    }

    /// Reports that the device needs a reset to its devlink health reporter, which counts it,
    /// keeps a dump and may recover the device at once, calling
    /// [`super::Transport::health_recover`] with `self` before this returns. Returns `None`
    /// if the device has no reporter (or this is a health operation, which never reports),
    /// or devlink's answer (see `Health::report`).
    pub(crate) fn report(&self, msg: &CStr) -> Option<Result> {
        if self.in_op.replace(true) {
            return None;
        }
        let ret = self.ctl.health.report(msg, self);
        self.in_op.set(false);
        ret
    }

    /// Tells the devlink health reporter that the device recovered by itself, without devlink
    /// (a retry). Does nothing in a health operation, where devlink does it.
    pub(crate) fn recovered(&self) {
        if !self.in_op.get() {
            self.ctl.health.recovered();
        }
    }

    /// Breaks the device's queues: every operation on them fails from now on, so that the
    /// driver stops waiting for a device that stopped answering (a virtio_net control
    /// command spins until its queue answers or is broken, holding the RTNL lock that
    /// `freeze` needs). New queues, created when the driver is restarted, work again.
    pub(crate) fn break_queues(&self) {
        // SAFETY: The device is registered while `self` exists.
        unsafe { bindings::virtio_break_device(self.ctl.dev.as_raw()) }
    }

    /// Keeps the interrupt vectors of the device allocated while the guard lives: when the
    /// driver deletes its queues, the transport keeps their vectors (without handlers) for the
    /// driver's next `find_vqs`, which takes them over if it asks for the same. Vectors nobody
    /// took over are freed when the guard goes. Process context.
    ///
    /// A recovery brings the same driver back on the same PCI function: freeing and
    /// allocating the vectors again (unmapping and mapping the MSI-X table, updating the
    /// interrupt domain) took most of its time, and gave back what it took.
    pub(crate) fn keep_vectors(&self) -> KeepVectors<'_> {
        self.ctl.spare.lock().keep = true;
        KeepVectors {
            spare: self.ctl.spare,
        }
    }

    /// Locks the device: no driver binds or unbinds until the guard is dropped.
    pub(crate) fn lock_driver(&self) -> DriverGuard<'_> {
        // SAFETY: The device is registered while `self` exists.
        unsafe { DriverGuard::lock(self.ctl.dev) }
    }

    /// Unbinds the driver, resets the device and binds a driver again. Returns whether one
    /// bound.
    pub(crate) fn reprobe(&self) -> Result<bool> {
        let dev = self.ctl.dev.as_raw();
        // SAFETY: The device is registered while `self` exists; its driver is released and
        // bound again under the device lock, which these functions take themselves.
        unsafe { kernel::bindings::device_release_driver(&raw mut (*dev).dev) };
        self.lock_driver().reset_and_acknowledge();
        // SAFETY: As above.
        let ret = unsafe { kernel::bindings::device_attach(&raw mut (*dev).dev) };
        to_result(ret).map(|()| ret == 1)
    }
}

/// Interrupt vectors kept across the driver's `del_vqs` and `find_vqs`, see
/// [`Recovery::keep_vectors`].
pub(crate) struct KeepVectors<'a> {
    spare: &'a Mutex<Spare>,
}

impl Drop for KeepVectors<'_> {
    fn drop(&mut self) {
        let unused = {
            let mut spare = self.spare.lock();
            spare.keep = false;
            spare.vectors.take()
        };
        drop(unused);
    }
}

/// A locked device: the bound driver, if any, stays bound while this lives.
pub(crate) struct DriverGuard<'a> {
    dev: &'a Device,
}

impl<'a> DriverGuard<'a> {
    /// Locks `dev` against driver binding and unbinding.
    ///
    /// # Safety
    ///
    /// `dev` must be registered for `'a`.
    pub(super) unsafe fn lock(dev: &'a Device) -> Self {
        // SAFETY: By the safety requirements the device is registered.
        unsafe { bindings::device_lock(&raw mut (*dev.as_raw()).dev) };
        Self { dev }
    }

    /// What the bound driver supports.
    pub(crate) fn caps(&self) -> DriverCaps {
        // SAFETY: The device is registered and locked, so its driver cannot change.
        let caps = unsafe { bindings::virtio_driver_caps(self.dev.as_raw()) };
        DriverCaps {
            bound: caps & 1 != 0,
            reset_prepare_done: caps & 2 != 0,
            freeze_restore: caps & 4 != 0 && cfg!(CONFIG_PM_SLEEP),
        }
    }

    /// The name of the bound driver, if any.
    pub(crate) fn driver_name(&self) -> Option<&CStr> {
        // SAFETY: The device is registered and locked, so its driver cannot change.
        let name = unsafe { bindings::virtio_driver_name(self.dev.as_raw()) };
        // SAFETY: A driver's name is a NUL-terminated string that lives as long as the driver,
        // which stays bound while `self` holds the device lock.
        (!name.is_null()).then(|| unsafe { CStr::from_char_ptr(name) })
    }

    /// `virtio_device_reset_prepare()`: the driver quiesces and deletes its queues.
    pub(crate) fn reset_prepare(&self) -> Result {
        // SAFETY: The device is registered and locked.
        to_result(unsafe { bindings::virtio_device_reset_prepare(self.dev.as_raw()) })
    }

    /// `virtio_device_reset_done()`: the device is reset, features negotiated again, and the
    /// driver sets its queues up again.
    pub(crate) fn reset_done(&self) -> Result {
        // SAFETY: The device is registered and locked.
        to_result(unsafe { bindings::virtio_device_reset_done(self.dev.as_raw()) })
    }

    /// `virtio_device_freeze()`: the driver stops and deletes its queues as for suspend.
    pub(crate) fn freeze(&self) -> Result {
        #[cfg(CONFIG_PM_SLEEP)]
        {
            // SAFETY: The device is registered and locked.
            to_result(unsafe { bindings::virtio_device_freeze(self.dev.as_raw()) })
        }
        #[cfg(not(CONFIG_PM_SLEEP))]
        Err(ENOTSUPP)
    }

    /// `virtio_device_restore()`: as [`DriverGuard::reset_done`], with the driver's `restore`.
    pub(crate) fn restore(&self) -> Result {
        #[cfg(CONFIG_PM_SLEEP)]
        {
            // SAFETY: The device is registered and locked.
            to_result(unsafe { bindings::virtio_device_restore(self.dev.as_raw()) })
        }
        #[cfg(not(CONFIG_PM_SLEEP))]
        Err(ENOTSUPP)
    }

    /// Resets the device through the virtio core (`virtio_reset_device()`).
    pub(crate) fn reset(&self) {
        // SAFETY: The device is registered and locked.
        unsafe { bindings::virtio_reset_device(self.dev.as_raw()) }
    }

    /// Resets the device and acknowledges it again, as registration left it: ready for a
    /// driver to bind.
    pub(crate) fn reset_and_acknowledge(&self) {
        self.reset();
        self.add_status(bindings::VIRTIO_CONFIG_S_ACKNOWLEDGE as u8);
    }

    /// Adds `status` bits to the device status.
    pub(crate) fn add_status(&self, status: u8) {
        // SAFETY: The device is registered and locked.
        unsafe { bindings::virtio_add_status(self.dev.as_raw(), status.into()) }
    }

    /// Gives up on the device: sets FAILED and breaks its queues, so that the driver stops
    /// waiting for it.
    pub(crate) fn fail(&self) {
        self.add_status(bindings::VIRTIO_CONFIG_S_FAILED as u8);
        // SAFETY: The device is registered.
        unsafe { bindings::virtio_break_device(self.dev.as_raw()) }
    }
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: The device was locked by `lock_driver`, on this thread.
        unsafe { bindings::device_unlock(&raw mut (*self.dev.as_raw()).dev) };
    }
}

/// Why the parent bus stops the driver of a device ([`super::Registration::stop`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopFor {
    /// System sleep or hibernation: `virtio_device_freeze()`, as the upstream transports do.
    Sleep,
    /// A function reset of the parent device: the strongest way the bound driver supports.
    Reset,
}

/// How the driver of a device was stopped, so that it is started again the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// No driver was bound: the device is only reset and acknowledged again afterwards.
    NoDriver,
    /// `virtio_device_reset_prepare()`, then `virtio_device_reset_done()`.
    ResetPrepare,
    /// `virtio_device_freeze()`, then `virtio_device_restore()`.
    Freeze,
    /// The driver has neither: it was unbound, and a driver is bound again afterwards.
    Unbound,
}

impl Stopped {
    /// Name used in messages and in debugfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::NoDriver => "no driver",
            Self::ResetPrepare => "reset_prepare/reset_done",
            Self::Freeze => "freeze/restore",
            Self::Unbound => "unbind/bind",
        }
    }
}

/// The stop state of a registration, and what debugfs shows of it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StopState {
    /// How the driver is stopped now, if it is.
    pub(super) current: Option<Stopped>,
    /// Stops for system sleep.
    pub(crate) sleeps: u32,
    /// Stops for a reset of the parent.
    pub(crate) resets: u32,
    /// How the last stop went, and the result of starting again (`None` while stopped).
    pub(crate) last: Option<(Stopped, Option<Result>)>,
}
