// SPDX-License-Identifier: GPL-2.0

//! The `rvirtio-pci` PCI driver: finds and validates the virtio capabilities of a modern
//! device, maps them, and registers the device on the virtio bus with our transport.

// Pure logic, also built and fuzzed on the host. Parts of it serve the transport as it grows
// (queue notification addresses, shared memory lookup).
#[allow(dead_code)]
mod caps;
mod modern;
mod needs_reset;
mod recovery;
mod transport;

use crate::{
    pci_ext::{self, EnabledDevice, VirtioPciCaps},
    virtio::{self, reset::StopFor},
};
use caps::{Bar, BarKind, Layout, RawCap, NUM_BARS};
use kernel::{
    device::{Bound, Core},
    device_id::IdArray,
    pci,
    prelude::*, //
};
use modern::ModernDevice;
use transport::PciTransport;

/// Name of the PCI driver, as seen in `/sys/bus/pci/drivers/`.
pub(crate) const DRIVER_NAME: &CStr = c"rvirtio-pci";

/// Device ids of virtio devices: transitional ones first, then modern ones (virtio 1.2, 4.1.2).
const TRANSITIONAL_IDS: core::ops::RangeInclusive<u16> = 0x1000..=0x103f;
const MODERN_IDS: core::ops::RangeInclusive<u16> = 0x1040..=0x107f;

/// A PCI capability list holds at most 48 entries (the PCI core's walk bound).
const MAX_CAPS: usize = 48;

/// The devices the driver matches: those of the C transport (every Red Hat/Qumranet device,
/// sorted out in probe()), and only when their `driver_override` names `rvirtio-pci`. There is
/// no module alias: nothing loads the module for a device, and it never races `virtio-pci` for
/// one (see `Documentation/rvirtio-pci.rst`, "Binding").
const PCI_TABLE: IdArray<pci::DeviceId, <RvirtioPci as pci::Driver>::IdInfo, 1> =
    IdArray::new([(PCI_ID, ())]);
const PCI_ID: pci::DeviceId = pci_ext::override_only(pci::DeviceId::from_id(
    pci::Vendor::REDHAT_QUMRANET,
    u32::MAX,
));

/// The PCI driver.
pub(crate) struct RvirtioPci;

/// Reads the virtio capabilities of `pdev` into `caps`, returning how many there are.
fn read_caps(pdev: &pci::Device<Bound>, caps: &mut [RawCap; MAX_CAPS]) -> Result<usize> {
    let mut n = 0;
    for cap in VirtioPciCaps::new(pdev) {
        let cap = cap.inspect_err(|e| {
            dev_err!(pdev, "cannot read a vendor capability: {:?}\n", e);
        })?;
        let Some(slot) = caps.get_mut(n) else {
            dev_err!(pdev, "more than {} vendor capabilities\n", MAX_CAPS);
            return Err(EINVAL);
        };
        *slot = RawCap {
            pos: cap.pos,
            cap_len: cap.cap_len,
            cfg_type: cap.cfg_type,
            bar: cap.bar,
            id: cap.id,
            offset: cap.offset,
            length: cap.length,
            extra0: cap.extra[0],
            extra1: cap.extra[1],
        };
        n += 1;
    }
    Ok(n)
}

/// Reads what the PCI core knows of the BARs of `pdev`.
fn read_bars(pdev: &pci::Device<Bound>) -> [Bar; NUM_BARS] {
    let mut bars = [Bar::NONE; NUM_BARS];
    for (i, bar) in (0u8..).zip(bars.iter_mut()) {
        let kind = match pci_ext::bar_kind(pdev, i) {
            pci_ext::BarKind::None => BarKind::None,
            pci_ext::BarKind::Io => BarKind::Io,
            pci_ext::BarKind::Mem32 => BarKind::Mem32,
            pci_ext::BarKind::Mem64 => BarKind::Mem64,
        };
        *bar = Bar {
            kind,
            len: pdev.resource_len(i.into()).unwrap_or(0),
        };
    }
    bars
}

/// Finds and validates the virtio capabilities of `pdev` against its BARs.
///
/// A harmless deviation from the spec is reported once here, and the device binds.
fn layout(pdev: &pci::Device<Bound>) -> Result<Layout> {
    let mut raw = [RawCap::default(); MAX_CAPS];
    let n = read_caps(pdev, &mut raw)?;
    let bars = read_bars(pdev);
    let layout = caps::parse(&raw[..n], &bars).map_err(|e| {
        // `CapError` implements `core::fmt::Display`: the pure logic does not know the kernel.
        dev_err!(pdev, "{}\n", format_args!("{e}"));
        match e {
            // Not a modern device (or not one we can drive): leave it to others.
            caps::CapError::Missing(caps::CapType::Common) => ENODEV,
            _ => EINVAL,
        }
    })?;
    for w in layout.warnings() {
        dev_warn!(pdev, "{}\n", format_args!("{w}"));
    }
    if layout.warnings_dropped > 0 {
        dev_warn!(
            pdev,
            "{} more deviations from the spec\n",
            layout.warnings_dropped
        );
    }
    Ok(layout)
}

/// The virtio device id of a PCI device (virtio 1.2, 4.1.2.1).
fn virtio_id(pdev: &pci::Device<Bound>) -> Option<u32> {
    let id = pdev.device_id();
    if MODERN_IDS.contains(&id) {
        Some(u32::from(id - MODERN_IDS.start()))
    } else if TRANSITIONAL_IDS.contains(&id) {
        // Transitional devices carry the virtio id in the subsystem device id.
        Some(u32::from(pdev.subsystem_device_id()))
    } else {
        None
    }
}

/// Per-device state: the device on the virtio bus and its transport.
#[pin_data]
pub(crate) struct RvirtioPciData<'bound> {
    // Dropped first: the virtio device goes away before the PCI device is disabled.
    #[pin]
    reg: virtio::Registration<PciTransport<'bound>>,
    enabled: EnabledDevice<'bound>,
}

impl RvirtioPciData<'_> {
    /// Stops the virtio driver and disables the device (system sleep).
    fn sleep(&self) -> Result {
        self.reg.stop(StopFor::Sleep)?;
        self.enabled.disable();
        Ok(())
    }

    /// Enables the device and starts the virtio driver again (resume).
    fn wake(&self) -> Result {
        self.enabled.enable()?;
        self.reg.restart()
    }
}

impl pci::Driver for RvirtioPci {
    type IdInfo = ();
    type Data<'bound> = RvirtioPciData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let device = virtio_id(pdev).ok_or(ENODEV)?;
            let layout = layout(pdev)?;

            let enabled = EnabledDevice::new(pdev)?;

            let id = virtio::DeviceId {
                device,
                vendor: pdev.subsystem_vendor_id().into(),
            };
            let dev = ModernDevice::new(pdev, layout)?;
            let transport = PciTransport::new(dev, needs_reset::Config::new());
            Ok(try_pin_init!(RvirtioPciData {
                reg <- virtio::Registration::new(pdev, id, transport),
                enabled,
            }))
        })
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Say so when removal races a recovery, so that the race can be seen.
        let phase = this.reg.transport().recovery_phase();
        if matches!(phase, recovery::Phase::Scheduled | recovery::Phase::Running) {
            dev_info!(pdev, "unbinding while a recovery is {}\n", phase.name());
        }
        let present = pci_ext::is_present(pdev);
        // A device that needs a reset holds what it will never complete, and a driver's remove
        // may wait for it (virtio_blk's does, for its requests in flight): a recovery that is
        // scheduled runs now, without its backoff, so that the driver is removed from a working
        // device. Twice at most: the first run of the work may only schedule the recovery.
        for _ in 0..2 {
            if !present || !this.reg.transport().wants_reset() || !this.reg.run_reset_now() {
                break;
            }
        }
        // On surprise removal, let the driver abort what it waits for instead of hanging on a
        // device that will never answer; the registration is dropped (unregistered) next.
        if !present {
            dev_warn!(pdev, "device is gone: breaking its virtqueues\n");
            this.reg.break_device();
        } else if this.reg.transport().wants_reset() {
            // Not recovered (recovery is off, failed or given up): the device completes
            // nothing, and a driver's remove that waits for it (virtio_net's control commands)
            // would hang.
            dev_warn!(
                pdev,
                "device needs a reset: breaking its virtqueues before its driver is removed\n"
            );
            this.reg.break_device();
        }
    }
}

impl pci_ext::PowerReset for RvirtioPci {
    // As the C transport: 64 bits, else 32.
    const DMA_MASKS: &'static [u32] = &[64, 32];

    fn suspend<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
    ) -> Result {
        // A device that keeps its state in D3hot needs nothing (as upstream).
        if pci_ext::pm_no_soft_reset(pdev) {
            return Ok(());
        }
        this.sleep()
    }

    fn resume<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
    ) -> Result {
        if pci_ext::pm_no_soft_reset(pdev) {
            return Ok(());
        }
        this.wake()
    }

    fn freeze<'bound>(
        _pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
    ) -> Result {
        this.sleep()
    }

    fn restore<'bound>(
        _pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
    ) -> Result {
        this.wake()
    }

    fn reset_prepare<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        match this.reg.stop(StopFor::Reset) {
            Ok(how) => {
                dev_info!(pdev, "function reset: driver stopped by {}\n", how.name());
                this.enabled.disable();
            }
            // The device is reset under the driver: as good as we can do.
            Err(e) => dev_warn!(pdev, "function reset: cannot stop the driver: {:?}\n", e),
        }
    }

    fn reset_done<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Enabled still: `reset_prepare` failed, and the driver was never stopped.
        if this.enabled.is_enabled() {
            return;
        }
        if let Err(e) = this.wake() {
            dev_warn!(pdev, "function reset: driver not restarted: {:?}\n", e);
        }
    }
}
