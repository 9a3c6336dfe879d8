// SPDX-License-Identifier: GPL-2.0

//! Virtio drivers.
//!
//! A driver implements [`Driver`] and owns a [`Registration`]; this module does the rest: the
//! `struct virtio_driver` and its C callbacks, the driver's data on the device, and the
//! virtqueues it asks for (see [`virtqueue`]).
//!
//! The driver's data is published to virtqueue and configuration callbacks only once its probe
//! is complete, and withdrawn (with the callbacks synchronised) before it is dropped on remove.
//!
//! C headers: [`include/linux/virtio.h`](srctree/include/linux/virtio.h),
//! [`include/linux/virtio_config.h`](srctree/include/linux/virtio_config.h).

#[path = "virtqueue.rs"]
pub(crate) mod virtqueue;

use crate::bindings;
use core::{marker::PhantomData, ptr};
use kernel::{
    device,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::c_void,
    prelude::*,
    sync::atomic::Atomic,
    types::{ForeignOwnable, Opaque},
    ThisModule, //
};
pub(crate) use virtqueue::{Buffer, QueueSpec, Request, SgList, Virtqueue, Virtqueues};

/// Device status bits (virtio 1.2, 2.1), as [`Virtqueue::device_status`] reads them.
pub(crate) mod status {
    use crate::bindings;

    /// The device hit an error it cannot recover from without a reset.
    pub(crate) const NEEDS_RESET: u8 = bindings::VIRTIO_CONFIG_S_NEEDS_RESET as u8;
    /// The device, or the driver, gave up.
    pub(crate) const FAILED: u8 = bindings::VIRTIO_CONFIG_S_FAILED as u8;
}

/// A virtio device, as a driver sees it.
///
/// # Invariants
///
/// The wrapped `struct virtio_device` is registered on the virtio bus, and a driver of this
/// module is bound to it (or probing it) for as long as the reference lives.
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::virtio_device>);

impl Device {
    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a registered `struct virtio_device` that the calling driver is bound
    /// to (or probing) for the lifetime `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::virtio_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `struct virtio_device`, and by the
        // safety requirements the pointer is valid for `'a`.
        unsafe { &*ptr.cast() }
    }

    pub(super) fn as_raw(&self) -> *mut bindings::virtio_device {
        self.0.get()
    }

    /// The index of the device on the virtio bus: it is `virtio<index>`.
    pub(crate) fn index(&self) -> i32 {
        // SAFETY: The device is registered (type invariant), so `index` no longer changes.
        unsafe { (*self.as_raw()).index }
    }

    /// Whether the device and the driver agreed on feature `bit`.
    pub(crate) fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: The device is valid by the type invariant.
        unsafe { bindings::virtio_test_bit(self.as_raw(), bit) }
    }

    /// Reads `buf.len()` bytes of the device configuration at `offset`, consistently: the read
    /// is repeated while the configuration generation changes under it.
    pub(crate) fn read_config(&self, offset: u32, buf: &mut [u8]) {
        // SAFETY: The device is valid by the type invariant; `buf` is writable for its length.
        unsafe {
            bindings::virtio_cread_bytes(self.as_raw(), offset, buf.as_mut_ptr().cast(), buf.len())
        }
    }

    /// Reads a little-endian 16-bit field of the device configuration at `offset`.
    pub(crate) fn read_config_u16(&self, offset: u32) -> u16 {
        let mut b = [0u8; 2];
        self.read_config(offset, &mut b);
        u16::from_le_bytes(b)
    }

    /// Reads a little-endian 32-bit field of the device configuration at `offset`.
    pub(crate) fn read_config_u32(&self, offset: u32) -> u32 {
        let mut b = [0u8; 4];
        self.read_config(offset, &mut b);
        u32::from_le_bytes(b)
    }

    /// Sets DRIVER_OK, unless it is set: the device is live, and the driver may notify its
    /// queues (virtio 1.2, 3.1.1). The virtio core sets it after probe, `restore` and
    /// `reset_done`; a driver that fills and kicks its new queues in `restore` or
    /// `reset_done` calls this first, once they exist.
    pub(crate) fn set_ready(&self) {
        // SAFETY: The device is valid by the type invariant; DRIVER_OK is only set once.
        unsafe {
            if bindings::virtio_get_status(self.as_raw())
                & bindings::VIRTIO_CONFIG_S_DRIVER_OK as u8
                == 0
            {
                bindings::virtio_device_ready(self.as_raw());
            }
        }
    }

    /// Creates the virtqueues described by `specs`, in this order; the interrupts of those
    /// with a callback go to [`Driver::vq_interrupt`] of the driver bound to the device. The
    /// queues borrow the device: they live no longer than the binding.
    ///
    /// A device has one set of queues at a time: `EBUSY` while the last one is not dropped,
    /// and `EINVAL` outside probe and the binding (in [`Driver::validate`]).
    pub(crate) fn find_vqs(&self, specs: KVec<QueueSpec>) -> Result<Virtqueues<'_>> {
        // SAFETY: The device is valid (type invariant); its driver data is null or a `Binding`
        // that `probe_callback` set, freed only after remove, when no `&Device` of the binding
        // is left.
        let binding = unsafe { (*self.as_raw()).dev.driver_data.cast::<Binding>().as_ref() };
        let binding = binding.ok_or(EINVAL)?;
        Virtqueues::create(self, &binding.queues, specs, vq_callback)
    }
}

impl AsRef<device::Device> for Device {
    fn as_ref(&self) -> &device::Device {
        // SAFETY: The device is valid by the type invariant, and so is its `struct device`.
        unsafe { device::Device::from_raw(&raw mut (*self.as_raw()).dev) }
    }
}

/// The features of a device being probed, before they are final.
pub(crate) struct Features<'a>(&'a Device);

impl Features<'_> {
    /// Whether feature `bit` is offered by the device and listed by the driver.
    pub(crate) fn has(&self, bit: u32) -> bool {
        self.0.has_feature(bit)
    }

    /// Withdraws feature `bit`.
    pub(crate) fn clear(&mut self, bit: u32) {
        // SAFETY: The device is valid; features may change until the core finalises them
        // after `validate`.
        unsafe { bindings::virtio_clear_bit(self.0.as_raw(), bit) }
    }
}

/// A virtio driver.
///
/// Its data lives from a successful [`Driver::probe`] to the device's removal; callbacks only
/// run in between. The optional callbacks it does not implement stay `NULL` in the C driver
/// structure, so that the virtio core and transports see what the driver supports.
///
/// `'bound` is the binding of the driver to one device: the device is borrowed for it in
/// every callback, and the driver's data may keep what borrows it, such as its
/// [`Virtqueue`]s.
#[vtable]
pub(crate) trait Driver: Sized + 'static {
    /// The driver's data of a bound device.
    type Data<'bound>: Send + Sync + 'bound;

    /// The virtio device type it drives (`VIRTIO_ID_*`).
    const DEVICE_ID: u32;

    /// The device feature bits it understands; the virtio core offers the device only these
    /// (and the transport's).
    const FEATURES: &'static [u32];

    /// Withdraws features the driver cannot use with this device, before they are final.
    fn validate(_dev: &Device, _features: &mut Features<'_>) -> Result {
        Ok(())
    }

    /// Probes `dev`, whose features are negotiated. The device is made ready (DRIVER_OK) once
    /// this succeeds, unless the driver did it itself.
    fn probe<'bound>(dev: &'bound Device) -> impl PinInit<Self::Data<'bound>, Error> + 'bound;

    /// The device is live: probe succeeded, the driver's data is published to callbacks, and
    /// the device is ready (DRIVER_OK). For what needs the device running, such as commands
    /// on a control queue, and for what must not be used before DRIVER_OK, such as a network
    /// interface that can be opened once registered.
    ///
    /// A failure fails the probe: the driver's data is dropped (which resets the device).
    fn ready<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The device goes away: called before the driver's data is dropped, while queue
    /// callbacks are already withdrawn. Dropping the data must reset the device (dropping its
    /// [`Virtqueue`]s does).
    fn remove<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) {}

    /// Virtqueue `index` has used buffers (interrupt context).
    fn vq_interrupt(this: &Self::Data<'_>, index: u32);

    /// The device configuration changed. Process context (a work item: the core reports it
    /// with a spinlock held, where the configuration cannot be read).
    fn config_changed<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) {}

    /// The system suspends: stop using the device and drop its queues (which resets it).
    fn freeze<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The system resumed: the device is reset and its features negotiated again; create
    /// the queues and use the device again.
    fn restore<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The transport is about to reset the device (recovery, FLR): as [`Driver::freeze`].
    fn reset_prepare<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The transport reset the device: as [`Driver::restore`].
    fn reset_done<'bound>(_dev: &'bound Device, _this: &Self::Data<'bound>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// What the abstraction keeps of a binding from the start of probe to the end of remove, in
/// the driver data of the device's `struct device` (virtio drivers keep theirs in `priv`).
struct Binding {
    /// Whether the driver's virtqueues exist.
    queues: Atomic<bool>,
}

/// What the abstraction keeps of a bound device: the work item that runs
/// [`Driver::config_changed`] in process context, what handles its queues' interrupts, and
/// the driver's data.
///
/// `config_work` comes first (`repr(C)`): the worker finds the structure from it. The fields
/// before `data` are laid out alike for every `D`: [`vq_callback`] reads `vq_interrupt`
/// without knowing `D`.
#[repr(C)]
#[pin_data]
struct DriverData<D> {
    #[pin]
    config_work: Opaque<bindings::work_struct>,
    vdev: *mut bindings::virtio_device,
    /// `Adapter::<T>::vq_interrupt` for the driver `T` whose data `D` is.
    vq_interrupt: unsafe fn(*const c_void, u32),
    #[pin]
    data: D,
}

/// The callback of every virtqueue that asked for one.
///
/// # Safety
///
/// Called by the vring, with a valid virtqueue created by [`Device::find_vqs`]: its device is
/// bound to a driver of this module, whose private pointer is null or its published
/// `DriverData`.
unsafe extern "C" fn vq_callback(vq: *mut bindings::virtqueue) {
    // SAFETY: `vq` is valid, and so is its device.
    let (vdev, index) = unsafe { ((*vq).vdev, (*vq).index) };
    // SAFETY: As above.
    let ptr = unsafe { bindings::vdev_priv(vdev) };
    if ptr.is_null() {
        return;
    }
    // SAFETY: A published `DriverData<D>` (safety requirements); its fields before `data` are
    // at the same offsets as in `DriverData<()>` (`repr(C)`, the same fields). Queue callbacks
    // are synchronised on remove before the data goes.
    let handler = unsafe { (*ptr.cast::<DriverData<()>>()).vq_interrupt };
    // SAFETY: `handler` is the function for this data's driver.
    unsafe { handler(ptr, index) };
}

// SAFETY: The device pointer is only used by the work, for the lifetime of the binding.
unsafe impl<D: Send> Send for DriverData<D> {}
// SAFETY: As above; `D` is `Sync`.
unsafe impl<D: Sync> Sync for DriverData<D> {}

/// The C callbacks of a [`Driver`].
struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    const ID_TABLE: &'static [bindings::virtio_device_id; 2] = &[
        bindings::virtio_device_id {
            device: T::DEVICE_ID,
            vendor: bindings::VIRTIO_DEV_ANY_ID,
        },
        bindings::virtio_device_id {
            device: 0,
            vendor: 0,
        },
    ];

    /// The driver's data of `vdev`, if published.
    ///
    /// The data was created as the data of the whole binding; `'a` stands for it here. That
    /// is sound as long as the device stays bound for `'a` too: what the driver keeps in its
    /// data is dropped with it, before the device is unbound.
    ///
    /// # Safety
    ///
    /// `vdev` must be valid and, if its private pointer is set, bound to this driver (it was
    /// set by [`Adapter::probe_callback`]); the returned reference must not outlive the
    /// callback that calls this (remove withdraws the data and synchronises callbacks first).
    unsafe fn data<'a>(vdev: *mut bindings::virtio_device) -> Option<&'a DriverData<T::Data<'a>>> {
        // SAFETY: `vdev` is valid by the safety requirements.
        let ptr = unsafe { bindings::vdev_priv(vdev) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: A non-null private pointer comes from `into_foreign` in `probe_callback`
        // and stays valid until `remove_callback`, which clears it and synchronises callbacks
        // before dropping the data.
        let data = unsafe { <Pin<KBox<DriverData<T::Data<'a>>>> as ForeignOwnable>::borrow(ptr) };
        Some(data.get_ref())
    }

    /// Runs [`Driver::config_changed`] in process context.
    ///
    /// # Safety
    ///
    /// Called by the workqueue with the `config_work` of a `DriverData<T::Data>`, which is
    /// cancelled before the data is dropped.
    unsafe extern "C" fn config_worker(work: *mut bindings::work_struct) {
        // SAFETY: `work` is the first field of a `repr(C)` `DriverData<T::Data>`, alive until
        // the work is cancelled.
        let dd = unsafe { &*work.cast::<DriverData<T::Data<'_>>>() };
        // SAFETY: The device is bound while the work can run (cancelled on remove).
        T::config_changed(unsafe { Device::from_raw(dd.vdev) }, &dd.data);
    }

    extern "C" fn validate_callback(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        // SAFETY: The virtio core calls validate with a registered device it is probing.
        let dev = unsafe { Device::from_raw(vdev) };
        from_result(|| T::validate(dev, &mut Features(dev)).map(|()| 0))
    }

    extern "C" fn probe_callback(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        let binding = match KBox::new(
            Binding {
                queues: Atomic::new(false),
            },
            GFP_KERNEL,
        ) {
            Ok(b) => KBox::into_raw(b),
            Err(_) => return ENOMEM.to_errno(),
        };
        // SAFETY: `vdev` is valid; the driver data of its `struct device` is ours while we
        // are bound (the virtio core does not use it).
        unsafe { (*vdev).dev.driver_data = binding.cast() };
        let ret = Self::probe(vdev);
        if ret != 0 {
            // SAFETY: `binding` comes from `KBox::into_raw` above; the driver's data, and with
            // it any virtqueue that refers to it, is gone.
            unsafe { Self::drop_binding(vdev) };
        }
        ret
    }

    /// Frees the binding's state.
    ///
    /// # Safety
    ///
    /// `vdev` is valid, with a `Binding` in its driver data, which nothing uses any more.
    unsafe fn drop_binding(vdev: *mut bindings::virtio_device) {
        // SAFETY: `vdev` is valid.
        let binding = unsafe { core::mem::replace(&mut (*vdev).dev.driver_data, ptr::null_mut()) };
        if !binding.is_null() {
            // SAFETY: By the safety requirements it comes from `KBox::into_raw` in
            // `probe_callback`.
            drop(unsafe { KBox::from_raw(binding.cast::<Binding>()) });
        }
    }

    fn probe(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        // SAFETY: The virtio core calls probe with a registered device, bound to this driver
        // until remove.
        let dev = unsafe { Device::from_raw(vdev) };
        // A previous driver may have left configuration callbacks disabled (upstream
        // virtio_net disables them until its interface is opened, and does not undo that on
        // remove): this driver hears every change once its data is published.
        // SAFETY: `vdev` is valid.
        unsafe { bindings::virtio_config_driver_enable(vdev) };
        from_result(|| {
            let data = KBox::pin_init(
                try_pin_init!(DriverData {
                    config_work <- Opaque::ffi_init(|w: *mut bindings::work_struct| {
                        // SAFETY: `w` is pinned memory for the work, initialised here before
                        // anything can schedule it (the data is not yet published).
                        unsafe { bindings::init_work(w, Some(Self::config_worker)) }
                    }),
                    vdev,
                    vq_interrupt: Self::vq_interrupt,
                    data <- T::probe(dev),
                }),
                GFP_KERNEL,
            )?;
            let ptr = data.into_foreign();
            // SAFETY: `vdev` is valid; the pointer is published once the data is complete.
            unsafe { bindings::vdev_set_priv(vdev, ptr) };
            if T::HAS_READY {
                // The core would set DRIVER_OK after probe anyway, and skips it now.
                dev.set_ready();
                // SAFETY: The data was just published and lives until remove.
                let dd =
                    unsafe { <Pin<KBox<DriverData<T::Data<'_>>>> as ForeignOwnable>::borrow(ptr) };
                if let Err(e) = T::ready(dev, &dd.data) {
                    // SAFETY: The data was published above, and `vdev` is valid.
                    drop(unsafe { Self::unpublish(vdev) });
                    Self::reset(vdev);
                    return Err(e);
                }
            }
            Ok(0)
        })
    }

    /// Takes the driver's data back from `vdev`: no callback uses it afterwards.
    ///
    /// # Safety
    ///
    /// `vdev` is valid, and its data, if any, was published by `probe_callback`.
    unsafe fn unpublish<'a>(
        vdev: *mut bindings::virtio_device,
    ) -> Option<Pin<KBox<DriverData<T::Data<'a>>>>> {
        // SAFETY: `vdev` is valid.
        let ptr = unsafe { bindings::vdev_priv(vdev) };
        // SAFETY: `vdev` is valid. Once callbacks are synchronised, none of them uses the
        // data any more and new ones see no data.
        unsafe {
            bindings::vdev_set_priv(vdev, ptr::null_mut());
            bindings::virtio_synchronize_cbs(vdev);
        }
        if ptr.is_null() {
            return None;
        }
        // SAFETY: The pointer comes from `into_foreign` in `probe_callback`, and nothing else
        // uses it any more but the configuration work, cancelled here (the callbacks that
        // queue it see no data after the synchronisation above).
        let dd =
            unsafe { <Pin<KBox<DriverData<T::Data<'a>>>> as ForeignOwnable>::from_foreign(ptr) };
        // SAFETY: The work was initialised in `probe_callback`.
        unsafe { bindings::cancel_work_sync(dd.config_work.get()) };
        Some(dd)
    }

    /// Resets `vdev` unless it is reset: the core insists on a reset device after remove, and
    /// a driver without queues may not have reset it.
    fn reset(vdev: *mut bindings::virtio_device) {
        // SAFETY: The callers pass a valid `vdev`.
        if unsafe { bindings::virtio_get_status(vdev) } != 0 {
            // SAFETY: As above.
            unsafe { bindings::virtio_reset_device(vdev) };
        }
    }

    extern "C" fn remove_callback(vdev: *mut bindings::virtio_device) {
        // SAFETY: The virtio core calls remove with the device `probe_callback` succeeded on.
        let dev = unsafe { Device::from_raw(vdev) };
        // SAFETY: `vdev` is valid, and its data was published by `probe_callback`.
        if let Some(dd) = unsafe { Self::unpublish(vdev) } {
            T::remove(dev, &dd.data);
        }
        Self::reset(vdev);
        // SAFETY: `vdev` is valid; probe succeeded, so its driver data is our `Binding`, and
        // the driver's data, which held the virtqueues, is dropped.
        unsafe { Self::drop_binding(vdev) };
    }

    extern "C" fn config_changed_callback(vdev: *mut bindings::virtio_device) {
        // The core calls this in atomic context (its configuration spinlock held), where the
        // configuration cannot be read (`virtio_cread()` may sleep): the driver hears of it
        // from a work item.
        // SAFETY: The core calls this for a bound device, with the driver's data published
        // or not; it does not run concurrently with remove (the core disables it first).
        if let Some(dd) = unsafe { Self::data(vdev) } {
            // SAFETY: The work is initialised and cancelled before the data goes.
            unsafe { bindings::schedule_work(dd.config_work.get()) };
        }
    }

    /// Runs `f` on the driver's data of `vdev`, for the callbacks the core calls on a bound
    /// device between probe and remove (PM and reset); `ENODEV` without data.
    fn with_data(
        vdev: *mut bindings::virtio_device,
        f: impl for<'a> FnOnce(&'a Device, &'a T::Data<'a>) -> Result,
    ) -> kernel::ffi::c_int {
        // SAFETY: The core calls these callbacks with the device lock held, on a device bound
        // to `T`, so remove does not run meanwhile.
        let data = unsafe { Self::data(vdev) };
        // SAFETY: As above.
        let dev = unsafe { Device::from_raw(vdev) };
        from_result(|| f(dev, &data.ok_or(ENODEV)?.data).map(|()| 0))
    }

    extern "C" fn freeze_callback(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        Self::with_data(vdev, |dev, data| T::freeze(dev, data))
    }

    extern "C" fn restore_callback(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        Self::with_data(vdev, |dev, data| T::restore(dev, data))
    }

    extern "C" fn reset_prepare_callback(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        Self::with_data(vdev, |dev, data| T::reset_prepare(dev, data))
    }

    extern "C" fn reset_done_callback(vdev: *mut bindings::virtio_device) -> kernel::ffi::c_int {
        Self::with_data(vdev, |dev, data| T::reset_done(dev, data))
    }

    /// The queue interrupt of a `T` device, from [`vq_callback`].
    ///
    /// # Safety
    ///
    /// `data` is the published `DriverData<T::Data>` of a device bound to `T`, used for no
    /// longer than the callback (queue callbacks are synchronised on remove).
    unsafe fn vq_interrupt(data: *const c_void, index: u32) {
        // SAFETY: By the safety requirements.
        let dd = unsafe { &*data.cast::<DriverData<T::Data<'_>>>() };
        T::vq_interrupt(&dd.data, index);
    }
}

/// The registration of a virtio driver.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Driver> {
    #[pin]
    drv: Opaque<bindings::virtio_driver>,
    _t: PhantomData<T>,
}

// SAFETY: The registration only hands its `struct virtio_driver` to the virtio core, which
// serialises its use.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: No method gives access to the driver structure through a shared reference.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers driver `T` under `name` on the virtio bus.
    pub(crate) fn new(
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            drv <- Opaque::try_ffi_init(|drv: *mut bindings::virtio_driver| {
                let features = T::FEATURES;
                let driver = bindings::virtio_driver {
                    driver: bindings::device_driver {
                        name: name.as_char_ptr(),
                        ..Default::default()
                    },
                    id_table: Adapter::<T>::ID_TABLE.as_ptr(),
                    feature_table: features.as_ptr(),
                    feature_table_size: u32::try_from(features.len())?,
                    validate: Some(Adapter::<T>::validate_callback),
                    probe: Some(Adapter::<T>::probe_callback),
                    remove: Some(Adapter::<T>::remove_callback),
                    config_changed: Some(Adapter::<T>::config_changed_callback),
                    freeze: T::HAS_FREEZE.then_some(Adapter::<T>::freeze_callback),
                    restore: T::HAS_RESTORE.then_some(Adapter::<T>::restore_callback),
                    reset_prepare: T::HAS_RESET_PREPARE
                        .then_some(Adapter::<T>::reset_prepare_callback),
                    reset_done: T::HAS_RESET_DONE.then_some(Adapter::<T>::reset_done_callback),
                    ..Default::default()
                };
                // SAFETY: `drv` is valid for writes; the tables it points to are `'static`
                // (promoted constants and the driver's constant slice).
                unsafe { drv.write(driver) };
                // SAFETY: `drv` is initialised and pinned: it stays where it is until
                // `unregister_virtio_driver` in `drop`.
                to_result(unsafe { bindings::register_virtio_driver(drv, module.as_ptr()) })
            }),
            _t: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The driver was registered in `new` (a failed registration never builds a
        // `Registration`). Unregistering removes it from every device first.
        unsafe { bindings::unregister_virtio_driver(self.drv.get()) };
    }
}
