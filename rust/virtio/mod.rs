// SPDX-License-Identifier: GPL-2.0

//! Virtio transports.
//!
//! A transport turns a device found on some bus into a `struct virtio_device` on the virtio
//! bus, with its own `struct virtio_config_ops`, so that any virtio driver can bind to it. It
//! implements [`Transport`] and owns a [`Registration`]; this module does the rest: the C
//! callbacks, the device's lifetime on the virtio bus, the kernel's vring, and the interrupt
//! handlers (see [`queues`]).
//!
//! C headers: [`include/linux/virtio.h`](srctree/include/linux/virtio.h),
//! [`include/linux/virtio_config.h`](srctree/include/linux/virtio_config.h),
//! [`include/linux/virtio_ring.h`](srctree/include/linux/virtio_ring.h).

pub(crate) mod debugfs;
pub(crate) mod health;
pub(crate) mod poll;
pub(crate) mod queues;
pub(crate) mod reset;

use crate::bindings;
use core::{
    marker::{PhantomData, PhantomPinned},
    mem::offset_of,
    ptr,
};
use kernel::{
    alloc::KBox,
    device,
    error::to_result,
    pci,
    prelude::*,
    sync::Mutex,
    types::Opaque, //
};
use queues::{QueueState, Queues, Spare};
use reset::{Control, DriverGuard, Recovery, ResetWork, StopFor, StopState, Stopped};

/// Transport feature bits (virtio 1.2, 6).
pub(crate) mod feature {
    use crate::bindings;

    /// The device complies with virtio 1.0 or later.
    pub(crate) const VERSION_1: u32 = bindings::VIRTIO_F_VERSION_1;
    /// The driver passes extra data with its queue notifications.
    pub(crate) const NOTIFICATION_DATA: u32 = bindings::VIRTIO_F_NOTIFICATION_DATA;
    /// Individual virtqueues can be reset.
    pub(crate) const RING_RESET: u32 = bindings::VIRTIO_F_RING_RESET;
    /// The device has an administration virtqueue.
    pub(crate) const ADMIN_VQ: u32 = bindings::VIRTIO_F_ADMIN_VQ;
    /// SR-IOV virtual functions.
    pub(crate) const SR_IOV: u32 = bindings::VIRTIO_F_SR_IOV;
}

/// Number of 64-bit words of the feature space the kernel supports.
pub(crate) const FEATURE_WORDS: usize = bindings::VIRTIO_FEATURES_U64S as usize;

/// A virtio device, as its transport sees it.
///
/// # Invariants
///
/// The wrapped `struct virtio_device` is one that a [`Registration`] registered and has not yet
/// unregistered.
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::virtio_device>);

impl Device {
    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct virtio_device` registered by a [`Registration`] that stays
    /// registered for the lifetime `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::virtio_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `struct virtio_device`, and by the
        // safety requirements the pointer is valid for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::virtio_device {
        self.0.get()
    }

    /// The index of the device on the virtio bus: it is `virtio<index>`.
    pub(crate) fn index(&self) -> i32 {
        // SAFETY: By the type invariant the device is registered, so `index` is set and no
        // longer changes.
        unsafe { (*self.as_raw()).index }
    }

    /// The virtio device type (virtio 1.2, 5): 1 for a network card, 2 for a block device.
    pub(crate) fn device_type(&self) -> u32 {
        // SAFETY: By the type invariant the device is registered, so its id is set and no
        // longer changes.
        unsafe { (*self.as_raw()).id.device }
    }

    /// Word `word` (bits `64 * word` to `64 * word + 63`) of the features the driver accepted.
    pub(crate) fn features(&self, word: usize) -> u64 {
        let word = u32::try_from(word).unwrap_or(u32::MAX);
        // SAFETY: The device is valid by the type invariant; the helper checks `word`.
        unsafe { bindings::vdev_features(self.as_raw(), word) }
    }

    /// Whether the driver accepted feature `bit`.
    pub(crate) fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::virtio_test_bit(self.as_raw(), bit) }
    }

    /// Reports a configuration change to the virtio core (and, through it, to the driver).
    pub(crate) fn config_changed(&self) {
        // SAFETY: The device is valid by the type invariant; this may be called from interrupt
        // context.
        unsafe { bindings::virtio_config_changed(self.as_raw()) }
    }
}

impl AsRef<device::Device> for Device {
    fn as_ref(&self) -> &device::Device {
        // SAFETY: The device is valid by the type invariant; its `struct device` is initialised
        // once registered.
        unsafe { device::Device::from_raw(&raw mut (*self.as_raw()).dev) }
    }
}

/// A shared memory region of a device, as `get_shm_region` reports it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShmRegion {
    /// Physical (bus) address.
    pub(crate) addr: u64,
    /// Length in bytes.
    pub(crate) len: u64,
}

/// The operations of a virtio transport: the safe counterpart of `struct virtio_config_ops`.
///
/// Callbacks may run concurrently; none of them runs before [`Registration::new`] starts
/// registering the device or after the registration is dropped.
pub(crate) trait Transport: Sync + Sized {
    /// What the transport keeps for each queue to notify it (for example, the queue's
    /// notification register), given to [`Queues::create`] and handed back to
    /// [`Transport::notify`]. Read from any context, dropped wherever the queues are deleted.
    type QueueNotify: Send + Sync;

    /// Reads `buf.len()` bytes of device configuration at `offset`.
    fn get(&self, offset: usize, buf: &mut [u8]);

    /// Writes `buf` to the device configuration at `offset`.
    fn set(&self, offset: usize, buf: &[u8]);

    /// The configuration generation counter.
    fn generation(&self) -> u32;

    /// Reads the device status, for the virtio core or the driver. Any context: must not sleep
    /// (drivers read it from softirq, e.g. a transmit timeout). A transport that recovers
    /// devices may look at what it read and schedule [`Transport::recover`].
    fn get_status(&self, ctl: &Control<'_>) -> u8;

    /// Writes the device status; `0` is never written here (see [`Transport::reset`]).
    fn set_status(&self, status: u8);

    /// Resets the device and waits until the reset is complete. Interrupts are synchronised
    /// by the caller afterwards.
    fn reset(&self);

    /// Reads word `word` of the features the device offers.
    fn get_features(&self, word: usize) -> u64;

    /// Checks and writes the features the driver accepted. The vring's transport features
    /// were already filtered; the transport clears those it does not implement with
    /// [`FeaturesToFinalize::clear`] and writes the rest to the device.
    fn finalize_features(&self, vdev: &Device, features: &mut FeaturesToFinalize<'_>) -> Result;

    /// Creates the virtqueues a driver asks for, and their interrupts.
    fn find_vqs(&self, vdev: &Device, queues: &mut Queues<'_, Self::QueueNotify>) -> Result;

    /// Detaches the virtqueues from the device (interrupt vectors, enable bits). The queues
    /// and their interrupts are freed by the caller afterwards.
    fn del_vqs(&self, vdev: &Device);

    /// Kicks queue `index` of the device; `data` is what [`Queues::create`] was given for it.
    /// Called in any context.
    fn notify(&self, index: u16, data: &Self::QueueNotify) -> bool;

    /// Reads and clears the ISR status (INTx): bit 0 for queues, bit 1 for configuration.
    fn read_isr(&self) -> u8;

    /// A configuration interrupt arrived (interrupt context). The default reports it to the
    /// virtio core; a transport that recovers devices checks for DEVICE_NEEDS_RESET first and
    /// schedules [`Transport::recover`] with [`Control::schedule_reset`].
    fn config_interrupt(&self, ctl: &Control<'_>) {
        ctl.device().config_changed();
    }

    /// The reset work runs (process context): see [`reset`].
    fn recover(&self, _rec: &Recovery<'_>) {}

    /// The periodic check of the module's devices runs (process context, one device after
    /// the other; see [`poll`]).
    fn poll(&self, _ctl: &Control<'_>) {}

    /// The name of the devlink health reporter of each device (see [`health`]); `None` for no
    /// devlink instance.
    const HEALTH_REPORTER: Option<&'static CStr> = None;

    /// Recovers the device, for devlink health (with the devlink instance locked): `reported`
    /// when devlink recovers automatically from [`Recovery::report`] (then `rec` is the
    /// reset work's), otherwise the user asked (`devlink health recover`).
    fn health_recover(&self, _rec: &Recovery<'_>, _reported: bool) -> Result {
        Err(health::eopnotsupp())
    }

    /// Describes the state of the device (`devlink health diagnose`).
    fn health_diagnose(&self, _ctl: &Control<'_>, _fmsg: &mut health::Fmsg<'_>) -> Result {
        Ok(())
    }

    /// Describes what the device holds (`devlink health dump`; devlink keeps the one taken
    /// when an error is reported, from [`Recovery::report`]).
    fn health_dump(&self, _rec: &Recovery<'_>, _fmsg: &mut health::Fmsg<'_>) -> Result {
        Ok(())
    }

    /// Makes the device fail, to test the reporter (`devlink health test`).
    fn health_test(&self, _ctl: &Control<'_>) -> Result {
        Err(health::eopnotsupp())
    }

    /// The names of the device's driver-specific devlink parameters (`devlink dev param`),
    /// runtime `u32` values; only with a [`Transport::HEALTH_REPORTER`].
    const PARAMS: &'static [&'static CStr] = &[];

    /// The value of parameter `index` of [`Transport::PARAMS`] (any other index: 0).
    fn param_get(&self, _index: usize) -> u32 {
        0
    }

    /// Sets parameter `index` of [`Transport::PARAMS`]; `EINVAL` for a value it does not take
    /// (or an unknown index).
    fn param_set(&self, _index: usize, _value: u32) -> Result {
        Err(EINVAL)
    }

    /// The files of the device's debugfs directory (see [`debugfs`]).
    const DEBUGFS: &'static [debugfs::File] = &[];

    /// Prints debugfs file `index` of [`Transport::DEBUGFS`].
    fn debugfs_show(&self, _index: usize, _ctl: &Control<'_>, _m: &kernel::seq_file::SeqFile) {}

    /// Handles a write to debugfs file `index` of [`Transport::DEBUGFS`].
    fn debugfs_store(&self, _index: usize, _ctl: &Control<'_>, _buf: &[u8]) -> Result {
        Err(EPERM)
    }

    /// The interrupt vector (of the parent's vectors) that serves device queue `index` on its
    /// own, if any: its CPU affinity is the queue's.
    fn vq_vector(&self, index: u32) -> Option<u32>;

    /// The name of the parent's bus location, e.g. the PCI address.
    fn bus_name(&self) -> &CStr;

    /// The shared memory region `id`, if the device has one.
    fn shm_region(&self, id: u8) -> Option<ShmRegion>;
}

/// The features a driver accepted, while [`Transport::finalize_features`] runs.
pub(crate) struct FeaturesToFinalize<'a> {
    vdev: &'a Device,
}

impl FeaturesToFinalize<'_> {
    /// Word `word` of the accepted features.
    pub(crate) fn word(&self, word: usize) -> u64 {
        self.vdev.features(word)
    }

    /// Whether feature `bit` is accepted.
    pub(crate) fn has(&self, bit: u32) -> bool {
        self.vdev.has_feature(bit)
    }

    /// Withdraws feature `bit`: the transport does not implement it.
    pub(crate) fn clear(&mut self, bit: u32) {
        // SAFETY: The device is valid, and features may be changed while they are finalised.
        unsafe { bindings::virtio_clear_bit(self.vdev.as_raw(), bit) }
    }
}

/// The virtio device id a transport registers: `device` is the virtio device type
/// (`VIRTIO_ID_*`), `vendor` the subsystem vendor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeviceId {
    /// Virtio device type.
    pub(crate) device: u32,
    /// Vendor.
    pub(crate) vendor: u32,
}

/// The state a registration shares with the C callbacks.
#[pin_data]
struct Inner<T: Transport> {
    #[pin]
    transport: T,
    #[pin]
    queues: Mutex<Option<QueueState>>,
    /// Interrupt vectors kept across a recovery (see [`Recovery::keep_vectors`]).
    #[pin]
    spare: Mutex<Spare>,
    #[pin]
    reset: ResetWork,
    #[pin]
    stopped: Mutex<StopState>,
    #[pin]
    health: health::Health,
    /// The device, allocated before `Inner` and registered after it.
    vdev: *mut bindings::virtio_device,
}

impl<T: Transport> Inner<T> {
    /// The device and what the transport may do with it.
    fn control(&self) -> Control<'_> {
        Control {
            // SAFETY: `Inner` lives in a registration, whose device is registered while the
            // callbacks that get here run.
            dev: unsafe { Device::from_raw(self.vdev) },
            reset: &self.reset,
            queues: &self.queues,
            spare: &self.spare,
            stopped: &self.stopped,
            health: &self.health,
        }
    }
}

/// What the virtio core holds: the `struct virtio_device` and a pointer to its transport.
///
/// Allocated by [`Registration::new`] and freed by the device's `release` callback, when the
/// last reference to the device goes away (which may be after the registration is dropped).
#[repr(C)]
struct RawDevice {
    vdev: Opaque<bindings::virtio_device>,
    inner: *const (),
}

/// A device registered on the virtio bus by a transport.
///
/// Dropping it unregisters the device: the virtio driver is unbound, and no callback runs
/// afterwards.
///
/// # Invariants
///
/// `raw` points to a `RawDevice` whose `struct virtio_device` is registered, and whose `inner`
/// points to `self.inner`.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Transport> {
    #[pin]
    inner: Inner<T>,
    raw: *mut RawDevice,
    debugfs: debugfs::Dir<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The registration only hands out shared references to the transport, which is `Sync`;
// the raw device pointer is only used to unregister it.
unsafe impl<T: Transport + Send> Send for Registration<T> {}
// SAFETY: As above.
unsafe impl<T: Transport> Sync for Registration<T> {}

impl<T: Transport> Registration<T> {
    /// Registers a virtio device for `parent`, driven by `transport`.
    ///
    /// The device is reset and acknowledged on the way (by the virtio core), and the virtio
    /// bus then looks for a driver for it.
    pub(crate) fn new<'a>(
        parent: &'a pci::Device<device::Bound>,
        id: DeviceId,
        transport: impl PinInit<T, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        T: 'a,
    {
        pin_init::pin_init_scope(move || {
            let raw = KBox::new(
                RawDevice {
                    vdev: Opaque::zeroed(),
                    inner: ptr::null(),
                },
                GFP_KERNEL,
            )?;
            let vdev = raw.vdev.get();
            Ok(try_pin_init!(&this in Self {
                inner <- try_pin_init!(Inner::<T> {
                    transport <- transport,
                    queues <- kernel::new_mutex!(None),
                    spare <- kernel::new_mutex!(Spare::default()),
                    reset <- ResetWork::new(Adapter::<T>::reset_work),
                    stopped <- kernel::new_mutex!(StopState::default()),
                    health <- health::Health::new(),
                    vdev,
                }),
                raw: {
                    // SAFETY: `this` is valid, and `inner` was initialised just above.
                    let inner = unsafe { &raw const (*this.as_ptr()).inner };
                    // SAFETY: Activated once registered; `drop` removes it before `inner` goes
                    // away, and so does a failed registration here.
                    unsafe { poll::add(inner.cast(), Adapter::<T>::poll_one) }?;
                    match register::<T>(parent, id, raw, inner) {
                        Ok(raw) => {
                            // SAFETY: As above.
                            unsafe { &*inner }.reset.open();
                            poll::set_active(inner.cast(), true);
                            // SAFETY: The device is registered; `drop` closes the instance
                            // before it unregisters the device.
                            unsafe { (*inner).health.open(parent.as_ref(), inner) };
                            raw
                        }
                        Err(e) => {
                            poll::remove(inner.cast());
                            return Err(e);
                        }
                    }
                },
                debugfs: {
                    // SAFETY: As above.
                    let inner = unsafe { &(*this.as_ptr()).inner };
                    // SAFETY: The directory is removed in `drop`, before `inner` goes away.
                    unsafe { debugfs::Dir::new(inner.transport.bus_name(), inner) }
                },
                _pin: PhantomPinned,
            }))
        })
    }
}

impl<T: Transport> Registration<T> {
    /// The transport of the device.
    pub(crate) fn transport(&self) -> &T {
        &self.inner.transport
    }

    /// Runs the reset work now if it is scheduled (a recovery not started yet, or held back by
    /// its backoff), and waits for it. Returns `false` if it was neither scheduled nor running.
    /// Process context, without the device lock.
    pub(crate) fn run_reset_now(&self) -> bool {
        self.inner.reset.run_now()
    }

    /// Marks the device broken: its queues fail every operation from now on, so that the
    /// driver stops waiting for a device that went away (surprise removal).
    pub(crate) fn break_device(&self) {
        // SAFETY: By the type invariant the device is registered.
        unsafe { bindings::virtio_break_device((*self.raw).vdev.get()) };
    }
}

impl<T: Transport> Registration<T> {
    /// Stops the driver of the device before the parent device sleeps or is reset, and keeps
    /// the recovery of DEVICE_NEEDS_RESET from running until [`Registration::restart`].
    ///
    /// On error nothing is stopped. Process context, with the parent device locked.
    pub(crate) fn stop(&self, why: StopFor) -> Result<Stopped> {
        let inner = &self.inner;
        poll::set_active(ptr::from_ref(inner).cast(), false);
        inner.reset.pause();
        let mut st = inner.stopped.lock();
        let dev = inner.control().dev;
        // SAFETY: By the type invariant the device is registered.
        let guard = unsafe { DriverGuard::lock(dev) };
        let caps = guard.caps();
        let (how, ret) = match why {
            StopFor::Sleep => (Stopped::Freeze, guard.freeze()),
            StopFor::Reset if !caps.bound => (Stopped::NoDriver, Ok(())),
            StopFor::Reset if caps.reset_prepare_done => {
                (Stopped::ResetPrepare, guard.reset_prepare())
            }
            StopFor::Reset if caps.freeze_restore => (Stopped::Freeze, guard.freeze()),
            StopFor::Reset => {
                drop(guard);
                // SAFETY: The device is registered; releasing its driver takes its lock.
                unsafe { kernel::bindings::device_release_driver(&raw mut (*dev.as_raw()).dev) };
                (Stopped::Unbound, Ok(()))
            }
        };
        if let Err(e) = ret {
            inner.reset.unpause();
            poll::set_active(ptr::from_ref(inner).cast(), true);
            return Err(e);
        }
        match why {
            StopFor::Sleep => st.sleeps = st.sleeps.wrapping_add(1),
            StopFor::Reset => st.resets = st.resets.wrapping_add(1),
        }
        st.current = Some(how);
        st.last = Some((how, None));
        Ok(how)
    }

    /// Starts the driver again the way [`Registration::stop`] stopped it, on a device that may
    /// have lost its state. Does nothing if it is not stopped.
    pub(crate) fn restart(&self) -> Result {
        let inner = &self.inner;
        let mut st = inner.stopped.lock();
        let Some(how) = st.current.take() else {
            return Ok(());
        };
        let dev = inner.control().dev;
        let ret = if how == Stopped::Unbound {
            // SAFETY: By the type invariant the device is registered.
            unsafe { DriverGuard::lock(dev) }.reset_and_acknowledge();
            // SAFETY: The device is registered; binding takes its lock.
            let ret = unsafe { kernel::bindings::device_attach(&raw mut (*dev.as_raw()).dev) };
            to_result(ret)
        } else {
            // SAFETY: By the type invariant the device is registered.
            let guard = unsafe { DriverGuard::lock(dev) };
            match how {
                Stopped::ResetPrepare => guard.reset_done(),
                Stopped::Freeze => guard.restore(),
                _ => {
                    guard.reset_and_acknowledge();
                    Ok(())
                }
            }
        };
        st.last = Some((how, Some(ret)));
        drop(st);
        inner.reset.unpause();
        poll::set_active(ptr::from_ref(inner).cast(), true);
        ret
    }
}

#[pinned_drop]
impl<T: Transport> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        // No devlink operation or report runs after this, and none starts.
        this.inner.health.close();
        // No file operation and no reset work runs after this, and none starts.
        this.debugfs.remove();
        // The check may schedule the reset work: the device leaves it first.
        poll::remove(ptr::from_ref(&*this.inner).cast());
        this.inner.reset.close(&this.inner.queues);
        // SAFETY: By the type invariant the device is registered. Unregistering unbinds the
        // driver (which deletes its queues through our callbacks) and drops our reference; the
        // `RawDevice` is freed by `release_raw` once the last reference is gone. No callback
        // runs after this returns, so `inner` may go away with `self`.
        unsafe { bindings::unregister_virtio_device((**this.raw).vdev.get()) };
        // Vectors kept by a recovery that the unbinding cut short: freed while the parent is
        // still bound, before the transport goes.
        drop(this.inner.spare.lock().vectors.take());
    }
}

/// Fills and registers the `struct virtio_device` of `raw`, whose transport state is `inner`.
fn register<T: Transport>(
    parent: &pci::Device<device::Bound>,
    id: DeviceId,
    mut raw: KBox<RawDevice>,
    inner: *const Inner<T>,
) -> Result<*mut RawDevice> {
    raw.inner = inner.cast();
    let raw = KBox::into_raw(raw);
    let parent: &device::Device = parent.as_ref();
    // SAFETY: `raw` was just allocated and is exclusively ours until it is registered.
    let vdev = unsafe { &mut *(*raw).vdev.get() };
    // `device::Device` is a transparent wrapper of `struct device`.
    vdev.dev.parent = ptr::from_ref(parent).cast_mut().cast();
    vdev.dev.release = Some(release_raw);
    vdev.config = &Adapter::<T>::OPS;
    vdev.id.device = id.device;
    vdev.id.vendor = id.vendor;
    // SAFETY: `vdev` is a zeroed `struct virtio_device` with its parent, release callback,
    // config ops and id set, which is what registration requires; `inner` is valid until the
    // `Registration` that holds it unregisters the device.
    let ret = unsafe { bindings::register_virtio_device(vdev) };
    if let Err(e) = to_result(ret) {
        // SAFETY: The device was initialised by `register_virtio_device()`; dropping the last
        // reference frees `raw` through `release_raw`.
        unsafe { kernel::bindings::put_device(&raw mut vdev.dev) };
        return Err(e);
    }
    Ok(raw)
}

/// The `release` callback of the `struct device` of our virtio devices.
///
/// # Safety
///
/// `dev` is the `struct device` of a `RawDevice` allocated by [`register`].
unsafe extern "C" fn release_raw(dev: *mut kernel::bindings::device) {
    let vdev = dev
        .cast::<u8>()
        .wrapping_sub(offset_of!(bindings::virtio_device, dev))
        .cast::<bindings::virtio_device>();
    let raw = vdev
        .cast::<u8>()
        .wrapping_sub(offset_of!(RawDevice, vdev))
        .cast::<RawDevice>();
    // SAFETY: By the safety requirements `raw` came from `KBox::into_raw` in `register`, and
    // this is the last reference.
    drop(unsafe { KBox::from_raw(raw) });
}

/// The C callbacks, for transport `T`.
struct Adapter<T: Transport>(PhantomData<T>);

impl<T: Transport> Adapter<T> {
    const CALLBACKS: queues::Callbacks = queues::Callbacks {
        notify: Self::notify,
        config_interrupt: Self::config_interrupt,
        read_isr: Self::read_isr,
    };

    const OPS: bindings::virtio_config_ops = bindings::virtio_config_ops {
        get: Some(Self::get),
        set: Some(Self::set),
        generation: Some(Self::generation),
        get_status: Some(Self::get_status),
        set_status: Some(Self::set_status),
        reset: Some(Self::reset),
        find_vqs: Some(Self::find_vqs),
        del_vqs: Some(Self::del_vqs),
        synchronize_cbs: Some(Self::synchronize_cbs),
        get_features: None,
        get_extended_features: Some(Self::get_extended_features),
        finalize_features: Some(Self::finalize_features),
        bus_name: Some(Self::bus_name),
        set_vq_affinity: Some(Self::set_vq_affinity),
        get_vq_affinity: Some(Self::get_vq_affinity),
        get_shm_region: Some(Self::get_shm_region),
        disable_vq_and_reset: None,
        enable_vq_after_reset: None,
    };

    /// Returns the device and the shared state behind `vdev`.
    ///
    /// # Safety
    ///
    /// `vdev` must be a device registered by a [`Registration<T>`] that is still alive.
    unsafe fn parts<'a>(vdev: *mut bindings::virtio_device) -> (&'a Device, &'a Inner<T>) {
        let raw = vdev
            .cast::<u8>()
            .wrapping_sub(offset_of!(RawDevice, vdev))
            .cast::<RawDevice>();
        // SAFETY: By the safety requirements `vdev` is embedded in a `RawDevice` whose `inner`
        // points to the live `Inner<T>` of its registration.
        unsafe { (Device::from_raw(vdev), &*(*raw).inner.cast::<Inner<T>>()) }
    }

    /// `virtio_config_ops::get`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices); `buf` points to `len` writable bytes.
    unsafe extern "C" fn get(
        vdev: *mut bindings::virtio_device,
        offset: u32,
        buf: *mut c_void,
        len: u32,
    ) {
        // SAFETY: The virtio core only calls us for devices we registered, while registered.
        let (_, inner) = unsafe { Self::parts(vdev) };
        // SAFETY: The core passes a buffer of `len` bytes.
        let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len as usize) };
        inner.transport.get(offset as usize, buf);
    }

    /// `virtio_config_ops::set`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices); `buf` points to `len` readable bytes.
    unsafe extern "C" fn set(
        vdev: *mut bindings::virtio_device,
        offset: u32,
        buf: *const c_void,
        len: u32,
    ) {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        // SAFETY: The core passes a buffer of `len` bytes.
        let buf = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len as usize) };
        inner.transport.set(offset as usize, buf);
    }

    /// `virtio_config_ops::generation`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn generation(vdev: *mut bindings::virtio_device) -> u32 {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        inner.transport.generation()
    }

    /// `virtio_config_ops::get_status`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn get_status(vdev: *mut bindings::virtio_device) -> u8 {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        inner.transport.get_status(&inner.control())
    }

    /// `virtio_config_ops::set_status`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn set_status(vdev: *mut bindings::virtio_device, status: u8) {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        // The core resets through `reset`; a zero status here would be a reset in disguise.
        if status != 0 {
            inner.transport.set_status(status);
        }
    }

    /// `virtio_config_ops::reset`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn reset(vdev: *mut bindings::virtio_device) {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        inner.transport.reset();
        // Flush pending interrupt handlers: after a reset, no callback of the old state runs.
        if let Some(q) = inner.queues.lock().as_ref() {
            q.synchronize();
        }
    }

    /// `virtio_config_ops::get_extended_features`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices); `features` points to `VIRTIO_FEATURES_U64S` writable words.
    unsafe extern "C" fn get_extended_features(
        vdev: *mut bindings::virtio_device,
        features: *mut u64,
    ) {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        for word in 0..FEATURE_WORDS {
            // SAFETY: The core passes an array of `VIRTIO_FEATURES_U64S` words.
            unsafe { *features.add(word) = inner.transport.get_features(word) };
        }
    }

    /// `virtio_config_ops::finalize_features`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn finalize_features(vdev: *mut bindings::virtio_device) -> c_int {
        // SAFETY: As in `get`.
        let (dev, inner) = unsafe { Self::parts(vdev) };
        // Give the ring the chance to clear transport features it does not support.
        // SAFETY: `vdev` is valid; features are being finalised.
        unsafe { bindings::vring_transport_features(vdev) };
        let mut features = FeaturesToFinalize { vdev: dev };
        match inner.transport.finalize_features(dev, &mut features) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// `virtio_config_ops::find_vqs`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices); `vqs` and `infos` point to `nvqs` entries; `desc` is NULL
    /// or valid for the call.
    unsafe extern "C" fn find_vqs(
        vdev: *mut bindings::virtio_device,
        nvqs: c_uint,
        vqs: *mut *mut bindings::virtqueue,
        infos: *mut bindings::virtqueue_info,
        desc: *mut bindings::irq_affinity,
    ) -> c_int {
        // SAFETY: As in `get`.
        let (dev, inner) = unsafe { Self::parts(vdev) };
        let mut state = inner.queues.lock();
        if state.is_some() {
            return EBUSY.to_errno();
        }
        let spare = inner.spare.lock().vectors.take();
        // SAFETY: The core passes `nvqs` entries in both arrays, and an affinity descriptor
        // that is valid (or NULL) for this call; spare vectors are those of our parent, kept by
        // `del_vqs`.
        let mut queues =
            unsafe { Queues::new(dev, nvqs as usize, vqs, infos, desc, Self::CALLBACKS, spare) };
        match inner.transport.find_vqs(dev, &mut queues) {
            Ok(()) => {
                let (queues, reused) = queues.into_state();
                *state = Some(queues);
                if reused {
                    let mut spare = inner.spare.lock();
                    spare.reused = spare.reused.wrapping_add(1);
                }
                0
            }
            Err(e) => {
                inner.transport.del_vqs(dev);
                queues.release();
                e.to_errno()
            }
        }
    }

    /// `virtio_config_ops::del_vqs`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn del_vqs(vdev: *mut bindings::virtio_device) {
        // SAFETY: As in `get`.
        let (dev, inner) = unsafe { Self::parts(vdev) };
        let state = inner.queues.lock().take();
        inner.transport.del_vqs(dev);
        if let Some(state) = state {
            // Interrupts first, then the queues they point to; the vectors stay allocated for
            // the driver's next `find_vqs` while a recovery asks for it.
            let mut spare = inner.spare.lock();
            let keep = spare.keep;
            let kept = state.release(dev, keep);
            // At most one set: a second `del_vqs` without `find_vqs` returns nothing.
            if kept.is_some() {
                spare.vectors = kept;
            }
        }
    }

    /// `virtio_config_ops::synchronize_cbs`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn synchronize_cbs(vdev: *mut bindings::virtio_device) {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        if let Some(q) = inner.queues.lock().as_ref() {
            q.synchronize();
        }
    }

    /// `virtio_config_ops::bus_name`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices).
    unsafe extern "C" fn bus_name(vdev: *mut bindings::virtio_device) -> *const c_char {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        inner.transport.bus_name().as_char_ptr()
    }

    /// `virtio_config_ops::get_shm_region`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`] (the virtio core only calls
    /// the ops of registered devices); `region` points to a writable `struct virtio_shm_region`.
    unsafe extern "C" fn get_shm_region(
        vdev: *mut bindings::virtio_device,
        region: *mut bindings::virtio_shm_region,
        id: u8,
    ) -> bool {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        match inner.transport.shm_region(id) {
            Some(r) => {
                // SAFETY: The core passes a valid region to fill.
                unsafe {
                    (*region).addr = r.addr;
                    (*region).len = r.len;
                }
                true
            }
            None => false,
        }
    }

    /// `virtio_config_ops::get_vq_affinity`.
    ///
    /// # Safety
    ///
    /// `vdev` is a device registered by a live [`Registration<T>`].
    unsafe extern "C" fn get_vq_affinity(
        vdev: *mut bindings::virtio_device,
        index: c_int,
    ) -> *const kernel::bindings::cpumask {
        // SAFETY: As in `get`.
        let (_, inner) = unsafe { Self::parts(vdev) };
        let Ok(index) = u32::try_from(index) else {
            return ptr::null();
        };
        let Some(vector) = inner.transport.vq_vector(index) else {
            return ptr::null();
        };
        inner
            .queues
            .lock()
            .as_ref()
            .map_or(ptr::null(), |q| q.affinity(vector))
    }

    /// `virtio_config_ops::set_vq_affinity`.
    ///
    /// # Safety
    ///
    /// `vq` is a virtqueue of a device registered by a live [`Registration<T>`]; `mask` is NULL
    /// or a valid CPU mask.
    unsafe extern "C" fn set_vq_affinity(
        vq: *mut bindings::virtqueue,
        mask: *const kernel::bindings::cpumask,
    ) -> c_int {
        // SAFETY: By the safety requirements `vq` is valid and its `vdev` is ours.
        let (vdev, index) = unsafe { ((*vq).vdev, (*vq).index) };
        // SAFETY: As above.
        let (_, inner) = unsafe { Self::parts(vdev) };
        let Some(vector) = inner.transport.vq_vector(index) else {
            // Shared vectors and INTx serve several queues: leave their affinity alone.
            return 0;
        };
        match inner.queues.lock().as_ref() {
            // SAFETY: `mask` is NULL or valid by the safety requirements.
            Some(q) => unsafe { q.set_affinity(vector, mask) },
            None => 0,
        }
    }

    /// The vring's notify callback.
    ///
    /// # Safety
    ///
    /// `vq` is a virtqueue created by [`Queues::create`] for a device of a live registration.
    unsafe extern "C" fn notify(vq: *mut bindings::virtqueue) -> bool {
        // SAFETY: By the safety requirements `vq` is valid and its `vdev` is ours.
        let (vdev, index, data) = unsafe { ((*vq).vdev, (*vq).index, (*vq).priv_) };
        // SAFETY: As above.
        let (_, inner) = unsafe { Self::parts(vdev) };
        // SAFETY: `Queues::create` of the `Queues<'_, T::QueueNotify>` that `find_vqs` made
        // pointed the queue's `priv` to a `T::QueueNotify`, freed only after the queue is
        // deleted.
        let data = unsafe { &*data.cast::<T::QueueNotify>() };
        // Queue indices are 16-bit in every transport.
        inner.transport.notify(index as u16, data)
    }

    /// Dispatches an interrupt of a device of this transport.
    ///
    /// # Safety
    ///
    /// `vdev` must be a device registered by a live [`Registration<T>`].
    unsafe fn config_interrupt(vdev: *mut bindings::virtio_device) {
        // SAFETY: By the safety requirements.
        let (_, inner) = unsafe { Self::parts(vdev) };
        inner.transport.config_interrupt(&inner.control());
    }

    /// The function of the reset work.
    ///
    /// # Safety
    ///
    /// `work` is the work of the [`ResetWork`] of a live [`Registration<T>`]: the work is
    /// cancelled before the registration goes away.
    unsafe extern "C" fn reset_work(work: *mut kernel::bindings::work_struct) {
        // SAFETY: By the safety requirements.
        let reset = unsafe { ResetWork::from_work(work) };
        let inner = ptr::from_ref(reset)
            .cast::<u8>()
            .wrapping_sub(offset_of!(Inner<T>, reset))
            .cast::<Inner<T>>();
        // SAFETY: The reset work of a registration is embedded in its `Inner<T>`.
        let inner = unsafe { &*inner };
        inner.transport.recover(&Recovery::new(inner.control()));
    }

    /// The periodic check of one device.
    ///
    /// # Safety
    ///
    /// `inner` is the `Inner<T>` of a live [`Registration<T>`] (see [`poll::add`]).
    unsafe fn poll_one(inner: *const ()) {
        // SAFETY: By the safety requirements.
        let inner = unsafe { &*inner.cast::<Inner<T>>() };
        inner.transport.poll(&inner.control());
    }

    /// Reads the ISR of a device of this transport.
    ///
    /// # Safety
    ///
    /// `vdev` must be a device registered by a live [`Registration<T>`].
    unsafe fn read_isr(vdev: *mut bindings::virtio_device) -> u8 {
        // SAFETY: By the safety requirements.
        let (_, inner) = unsafe { Self::parts(vdev) };
        inner.transport.read_isr()
    }
}
