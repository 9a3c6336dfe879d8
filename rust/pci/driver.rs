// SPDX-License-Identifier: GPL-2.0

//! A PCI driver registration with system sleep and function reset callbacks.
//!
//! [`kernel::pci::Adapter`] registers `probe` and `remove` only. [`Adapter`] registers the same
//! [`kernel::pci::Driver`] (same probe, same unbind, same driver data, dropped by the driver
//! core in the same way) and adds the callbacks of [`PowerReset`]: the `dev_pm_ops` of system
//! sleep and hibernation, and the `reset_prepare`/`reset_done` error handlers that the PCI core
//! calls around a function reset (FLR, the `reset` file in sysfs, ...).
//!
//! C headers: [`include/linux/pci.h`](srctree/include/linux/pci.h),
//! [`include/linux/pm.h`](srctree/include/linux/pm.h).

use crate::bindings;
use core::marker::PhantomData;
use kernel::{
    device::{self, Core, CoreInternal},
    device_id::RawDeviceIdIndex,
    driver,
    error::{from_result, to_result},
    ffi::c_int,
    io::Io,
    pci,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    types::Opaque,
    ThisModule, //
};

/// The power management and reset callbacks of a PCI driver.
///
/// Each runs in process context with the device lock held, while the driver is bound, like
/// probe and unbind: hence the [`Core`] device.
pub(crate) trait PowerReset: pci::Driver {
    /// The DMA address widths the device can use, in bits, widest first. Before the driver's
    /// probe, the adapter sets the first that the platform accepts for streaming and coherent
    /// mappings (and says so with `dev_warn` if it is not the first); the probe fails if none
    /// is. Empty: the mask is left as the bus set it.
    ///
    /// The mask is set here and not by the driver because setting it must not race any DMA
    /// mapping or allocation for the device: before the driver's probe, nothing of the driver
    /// exists to map any.
    const DMA_MASKS: &'static [u32] = &[];

    /// System suspend (`suspend`): the device may lose power after this returns.
    fn suspend<'bound>(
        dev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
    ) -> Result;

    /// Resume from system suspend (`resume`).
    fn resume<'bound>(dev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>)
        -> Result;

    /// Hibernation: before the image is made (`freeze`) and before power off (`poweroff`).
    fn freeze<'bound>(dev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>)
        -> Result;

    /// Hibernation: after the image is made (`thaw`) or loaded (`restore`).
    fn restore<'bound>(
        dev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
    ) -> Result;

    /// Before a function reset: stop using the device. The PCI core saves its configuration
    /// space next, and resets it.
    fn reset_prepare<'bound>(dev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>);

    /// After a function reset and the restore of configuration space. Called even if
    /// [`PowerReset::reset_prepare`] failed.
    fn reset_done<'bound>(dev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>);
}

/// Registers a [`pci::Driver`] that implements [`PowerReset`], with
/// [`kernel::driver::Registration`] (or [`kernel::module_driver!`]).
pub(crate) struct Adapter<T>(PhantomData<T>);

// SAFETY:
// - `bindings::pci_driver` is a C type declared as `repr(C)`.
// - `T::Data` is the driver's device private data: `probe_callback` stores it.
// - `DEVICE_DRIVER_OFFSET` is the offset of the `struct device_driver` in `struct pci_driver`.
unsafe impl<T: PowerReset + 'static> driver::DriverLayout for Adapter<T> {
    type DriverType = bindings::pci_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(Self::DriverType, driver);
}

// SAFETY: `unregister` is only called after a successful `register` of the same driver, and
// unregisters what `register` registered.
unsafe impl<T: PowerReset + 'static> driver::RegistrationOps for Adapter<T> {
    unsafe fn register(
        pdrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        let pdrv = pdrv.get();
        // SAFETY: The driver is not registered yet, so its fields may be written; the tables
        // are constants promoted to statics and outlive the registration.
        unsafe {
            (*pdrv).name = name.as_char_ptr();
            (*pdrv).probe = Some(Self::probe_callback);
            (*pdrv).remove = Some(Self::remove_callback);
            (*pdrv).id_table = T::ID_TABLE.as_ptr();
            (*pdrv).err_handler = &Self::ERR_HANDLERS;
            if cfg!(CONFIG_PM_SLEEP) {
                (*pdrv).driver.pm = &Self::PM_OPS;
            }
        }
        // SAFETY: `pdrv` is a valid `struct pci_driver`, pinned until `unregister`.
        to_result(unsafe {
            bindings::__pci_register_driver(pdrv, module.as_ptr(), name.as_char_ptr())
        })
    }

    unsafe fn unregister(pdrv: &Opaque<Self::DriverType>) {
        // SAFETY: By the safety requirements, `pdrv` was registered by `register`.
        unsafe { bindings::pci_unregister_driver(pdrv.get()) }
    }
}

/// The driver data of a bound PCI device, and the device.
///
/// # Safety
///
/// `pdev` must be a bound PCI device of the driver [`Adapter<T>`] registered, and its device
/// lock must be held for `'a`.
unsafe fn bound<'a, T: PowerReset + 'static>(
    pdev: *mut bindings::pci_dev,
) -> (&'a pci::Device<CoreInternal<'a>>, Pin<&'a T::Data<'a>>) {
    // SAFETY: `pci::Device` is a transparent wrapper of `struct pci_dev`, and by the safety
    // requirements the device is valid, bound and locked for `'a`, which is what the `Core`
    // contexts stand for.
    let pdev = unsafe { &*pdev.cast::<pci::Device<CoreInternal<'a>>>() };
    let dev: &device::Device<CoreInternal<'a>> = pdev.as_ref();
    // SAFETY: The device is bound to our driver, so `probe_callback` stored a `T::Data`, and
    // it is only taken back after unbind.
    let data = unsafe { dev.drvdata_borrow::<T::Data<'a>>() };
    (pdev, data)
}

/// The PCI device of `dev`.
///
/// # Safety
///
/// `dev` must be the `struct device` of a PCI device.
unsafe fn to_pci_dev(dev: *mut bindings::device) -> *mut bindings::pci_dev {
    // SAFETY: By the safety requirements.
    unsafe { bindings::to_pci_dev(dev) }
}

impl<T: PowerReset + 'static> Adapter<T> {
    const PM_OPS: bindings::dev_pm_ops = bindings::dev_pm_ops {
        suspend: Some(Self::suspend_callback),
        resume: Some(Self::resume_callback),
        freeze: Some(Self::freeze_callback),
        thaw: Some(Self::restore_callback),
        poweroff: Some(Self::freeze_callback),
        restore: Some(Self::restore_callback),
        ..pin_init::zeroed()
    };

    const ERR_HANDLERS: bindings::pci_error_handlers = bindings::pci_error_handlers {
        reset_prepare: Some(Self::reset_prepare_callback),
        reset_done: Some(Self::reset_done_callback),
        ..pin_init::zeroed()
    };

    extern "C" fn probe_callback(
        pdev: *mut bindings::pci_dev,
        id: *const bindings::pci_device_id,
    ) -> c_int {
        // SAFETY: The PCI core calls probe with a valid device, locked for the whole call.
        let pdev = unsafe { &*pdev.cast::<pci::Device<CoreInternal<'_>>>() };
        // SAFETY: `pci::DeviceId` is a transparent wrapper of `struct pci_device_id`, and `id`
        // is the entry of our table that matched.
        let id = unsafe { &*id.cast::<pci::DeviceId>() };
        let info = T::ID_TABLE.info(id.index());
        from_result(|| {
            Self::set_dma_mask(pdev)?;
            pdev.as_ref().set_drvdata(T::probe(pdev, info))?;
            Ok(0)
        })
    }

    /// Sets the first of [`PowerReset::DMA_MASKS`] that the platform accepts. Called before
    /// the driver's probe.
    fn set_dma_mask(pdev: &pci::Device<Core<'_>>) -> Result {
        let mut result = Ok(());
        for (i, &bits) in T::DMA_MASKS.iter().enumerate() {
            // SAFETY: Called before the driver's probe, with the device locked: no DMA mapping
            // or allocation for the device runs concurrently.
            result = unsafe { super::set_dma_mask(pdev, bits) };
            if result.is_ok() {
                if i > 0 {
                    dev_warn!(pdev.as_ref(), "using a {}-bit DMA mask\n", bits);
                }
                return Ok(());
            }
        }
        result.inspect_err(|_| dev_err!(pdev.as_ref(), "no usable DMA mask\n"))
    }

    extern "C" fn remove_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls remove for a device that probed successfully, with its
        // device lock held.
        let (pdev, data) = unsafe { bound::<T>(pdev) };
        T::unbind(pdev, data);
        // The driver core drops the data after this (`post_unbind_rust`).
    }

    extern "C" fn suspend_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: The PM core calls our `dev_pm_ops` for PCI devices bound to our driver, with
        // the device lock held.
        let (pdev, data) = unsafe { bound::<T>(to_pci_dev(dev)) };
        from_result(|| T::suspend(pdev, data).map(|()| 0))
    }

    extern "C" fn resume_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As in `suspend_callback`.
        let (pdev, data) = unsafe { bound::<T>(to_pci_dev(dev)) };
        from_result(|| T::resume(pdev, data).map(|()| 0))
    }

    extern "C" fn freeze_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As in `suspend_callback`.
        let (pdev, data) = unsafe { bound::<T>(to_pci_dev(dev)) };
        from_result(|| T::freeze(pdev, data).map(|()| 0))
    }

    extern "C" fn restore_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: As in `suspend_callback`.
        let (pdev, data) = unsafe { bound::<T>(to_pci_dev(dev)) };
        from_result(|| T::restore(pdev, data).map(|()| 0))
    }

    extern "C" fn reset_prepare_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls the error handlers of the bound driver, with the device
        // lock held (`pci_dev_save_and_disable()` and `pci_dev_restore()` require it).
        let (pdev, data) = unsafe { bound::<T>(pdev) };
        T::reset_prepare(pdev, data);
    }

    extern "C" fn reset_done_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: As in `reset_prepare_callback`.
        let (pdev, data) = unsafe { bound::<T>(pdev) };
        T::reset_done(pdev, data);
    }
}

/// Whether the device keeps its state in D3hot (`No_Soft_Reset` in its power management
/// control register), so that system suspend needs not stop it.
pub(crate) fn pm_no_soft_reset(pdev: &pci::Device<Core<'_>>) -> bool {
    let raw = super::as_raw(pdev);
    // SAFETY: `raw` is a valid `struct pci_dev`; `pm_cap` is set at enumeration.
    let pm_cap = unsafe { (*raw).pm_cap };
    if pm_cap == 0 {
        return false;
    }
    let at = usize::from(pm_cap) + bindings::PCI_PM_CTRL as usize;
    match pdev.config_space().try_read16(at) {
        // All ones: the device did not answer.
        Ok(u16::MAX) | Err(_) => {
            dev_err!(pdev, "cannot read the power management control register\n");
            false
        }
        Ok(pmcsr) => u32::from(pmcsr) & bindings::PCI_PM_CTRL_NO_SOFT_RESET != 0,
    }
}

/// A PCI device enabled (memory and I/O space, bus mastering) by its driver: disabled again when
/// this is dropped, or earlier with [`EnabledDevice::disable`] (system sleep, function reset),
/// so that the enable count of the device stays balanced over any sequence of them.
pub(crate) struct EnabledDevice<'a> {
    pdev: &'a pci::Device<device::Bound>,
    enabled: Atomic<bool>,
}

impl<'a> EnabledDevice<'a> {
    /// Enables memory and I/O space decoding and bus mastering of `pdev`, as the C virtio-pci
    /// does: any of the device's structures may be in an I/O BAR.
    pub(crate) fn new(pdev: &'a pci::Device<Core<'_>>) -> Result<Self> {
        let this = Self {
            pdev,
            enabled: Atomic::new(false),
        };
        this.enable()?;
        Ok(this)
    }

    /// Enables the device again after [`EnabledDevice::disable`]; does nothing if it is
    /// enabled.
    pub(crate) fn enable(&self) -> Result {
        if self.enabled.load(Relaxed) {
            return Ok(());
        }
        let raw = super::as_raw(self.pdev);
        // SAFETY: `raw` is a valid `struct pci_dev`, bound to the caller's driver.
        to_result(unsafe { bindings::pci_enable_device(raw) })?;
        // SAFETY: As above.
        unsafe { bindings::pci_set_master(raw) };
        self.enabled.store(true, Relaxed);
        Ok(())
    }

    /// Disables the device (bus mastering off): it does no DMA and raises no interrupt from
    /// now on. Does nothing if it is disabled already.
    pub(crate) fn disable(&self) {
        if self.enabled.xchg(false, Relaxed) {
            // SAFETY: The device is valid and enabled by us.
            unsafe { bindings::pci_disable_device(super::as_raw(self.pdev)) };
        }
    }

    /// Whether the device is enabled.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Relaxed)
    }
}

impl Drop for EnabledDevice<'_> {
    fn drop(&mut self) {
        self.disable();
    }
}
