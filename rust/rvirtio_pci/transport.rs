// SPDX-License-Identifier: GPL-2.0

//! The virtio transport over a modern virtio PCI device: `virtio_config_ops` in safe Rust.

use super::{
    caps,
    modern::{ModernDevice, NO_VECTOR},
    needs_reset::{self, IrqStats},
    recovery::{Detector, Phase},
};
use crate::pci_ext::IoReg;
use crate::virtio::{
    self, debugfs, feature,
    health::Fmsg,
    queues::{IrqTarget, Queues, VectorRequest, VectorType},
    reset::{Control, Recovery},
    Device, FeaturesToFinalize, ShmRegion, Transport,
};
use kernel::{
    prelude::*,
    seq_file::{seq_print, SeqFile},
    str::CString,
    sync::Mutex,
    time::{delay::fsleep, Delta}, //
};

/// Positions of our files in [`Transport::DEBUGFS`].
const DEBUGFS_RECOVERY: usize = 0;
const DEBUGFS_INJECT: usize = 1;
const DEBUGFS_STOPS: usize = 2;
const DEBUGFS_INJECT_SILENT: usize = 3;
const DEBUGFS_STATUS: usize = 4;

/// How long a reset may take before we give up on the device.
const RESET_TIMEOUT_MS: u32 = 1000;

/// How the queues of the device got their interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IrqMode {
    /// No queues.
    None,
    /// One MSI-X vector per queue with a callback, plus one for configuration changes.
    PerQueue,
    /// One MSI-X vector for all queues, plus one for configuration changes.
    Shared,
    /// The INTx line.
    Intx,
}

/// What `find_vqs` set up in the device, for `del_vqs` to undo.
struct QueueSetup {
    mode: IrqMode,
    /// Device index and MSI-X vector (or `NO_VECTOR`) of each queue created.
    queues: KVec<(u16, u16)>,
}

/// The transport state of one device.
#[pin_data]
pub(crate) struct PciTransport<'bound> {
    dev: ModernDevice<'bound>,
    bus_name: CString,
    #[pin]
    setup: Mutex<QueueSetup>,
    #[pin]
    recovery: Mutex<needs_reset::State>,
    irq_stats: IrqStats,
}

impl<'bound> PciTransport<'bound> {
    /// A transport over `dev`.
    pub(crate) fn new(
        dev: ModernDevice<'bound>,
        config: needs_reset::Config,
    ) -> impl PinInit<Self, Error> + 'bound {
        try_pin_init!(Self {
            recovery <- kernel::new_mutex!(needs_reset::State::new(config)),
            irq_stats: IrqStats::new(),
            bus_name: CString::try_from_fmt(fmt!("{}", crate::pci_ext::name(dev.pdev())))?,
            dev,
            setup <- kernel::new_mutex!(QueueSetup {
                mode: IrqMode::None,
                queues: KVec::new(),
            }),
        })
    }

    /// How many of the queues of `q` have a callback, so need an interrupt.
    fn with_callback(q: &Queues<'_, IoReg<'bound, u16>>) -> u32 {
        let n = (0..q.slots())
            .filter_map(|i| q.info(i))
            .filter(|info| info.callback)
            .count();
        // At most `slots()`, which the virtio core gives as an `unsigned int`.
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The interrupt vectors that `mode` needs for `with_callback` queues with a callback.
    fn vector_request(with_callback: u32, mode: IrqMode) -> Result<VectorRequest> {
        let (n, type_, affinity) = match mode {
            IrqMode::PerQueue => (
                with_callback.checked_add(1).ok_or(EINVAL)?,
                VectorType::MsiX,
                true,
            ),
            // As the C transport: one vector for every queue cannot follow a spread.
            IrqMode::Shared => (2, VectorType::MsiX, false),
            IrqMode::Intx => (1, VectorType::Intx, false),
            IrqMode::None => return Err(EINVAL),
        };
        Ok(VectorRequest {
            min: n,
            max: n,
            type_,
            affinity,
        })
    }

    /// Creates the queues and their interrupts in one of the modes; `with_callback` queues
    /// have a callback.
    fn setup_queues(
        &self,
        vdev: &Device,
        q: &mut Queues<'_, IoReg<'bound, u16>>,
        mode: IrqMode,
        with_callback: u32,
    ) -> Result<KVec<(u16, u16)>> {
        let pdev = self.dev.pdev();
        let req = Self::vector_request(with_callback, mode)?;
        q.alloc_vectors(pdev, &req)?;
        let msix = mode != IrqMode::Intx;
        if msix && self.dev.set_msix_config(0) == NO_VECTOR {
            return Err(EBUSY);
        }

        let num_queues = self.dev.num_queues();
        let width = 2u64;
        let mut created = KVec::with_capacity(q.slots(), GFP_KERNEL)?;
        let mut next_index = 0u16;
        let mut next_vector = 1u16;
        let mut vectors = KVec::with_capacity(q.slots(), GFP_KERNEL)?;
        for i in 0..q.slots() {
            let Some(info) = q.info(i) else {
                continue;
            };
            let index = next_index;
            next_index += 1;
            if index >= num_queues {
                dev_err!(
                    pdev,
                    "driver asks for queue {}, device has {}\n",
                    index,
                    num_queues
                );
                return Err(ENOENT);
            }
            self.dev.select_queue(index);
            let size = self.dev.queue_size();
            if size == 0 || self.dev.queue_enabled() {
                return Err(ENOENT);
            }
            let off =
                caps::notify_offset(self.dev.layout(), index, self.dev.queue_notify_off(), width)
                    .map_err(|e| {
                    dev_err!(pdev, "{}\n", format_args!("{e}"));
                    EINVAL
                })?;
            let reg = self.dev.notify_reg(off).inspect_err(|_| {
                dev_err!(
                    pdev,
                    "queue {}: notification register {:#x} not mapped\n",
                    index,
                    off
                )
            })?;
            let vq = q.create(i, index, size.into(), reg)?;
            vq.set_num_max(size.into());
            let ring_size = u16::try_from(vq.size()).map_err(|_| EINVAL)?;
            self.dev.set_queue_size(ring_size);
            self.dev
                .set_queue_addrs(vq.desc_addr(), vq.avail_addr(), vq.used_addr());

            let vector = match mode {
                _ if !info.callback => NO_VECTOR,
                IrqMode::PerQueue => {
                    let v = next_vector;
                    next_vector += 1;
                    v
                }
                IrqMode::Shared => 1,
                _ => NO_VECTOR,
            };
            if msix && self.dev.set_queue_vector(vector) != vector {
                dev_err!(pdev, "queue {}: device refused vector {}\n", index, vector);
                return Err(EBUSY);
            }
            created.push((index, vector), GFP_KERNEL)?;
            vectors.push((i, vector, info.name), GFP_KERNEL)?;
        }

        // Interrupts only once every queue exists: the handlers walk the queue list.
        let n = vdev.index();
        match mode {
            IrqMode::PerQueue | IrqMode::Shared => {
                q.request_irq(
                    0,
                    CString::try_from_fmt(fmt!("virtio{}-config", n))?,
                    IrqTarget::Config,
                )?;
                if mode == IrqMode::Shared {
                    if with_callback > 0 {
                        let name = CString::try_from_fmt(fmt!("virtio{}-virtqueues", n))?;
                        q.request_irq(1, name, IrqTarget::AllQueues)?;
                    }
                } else {
                    for (i, vector, name) in vectors.iter().copied() {
                        if vector == NO_VECTOR {
                            continue;
                        }
                        let name = CString::try_from_fmt(fmt!("virtio{}-{}", n, name))?;
                        q.request_irq(vector.into(), name, IrqTarget::Queue(i))?;
                    }
                }
            }
            IrqMode::Intx => {
                q.request_irq(
                    0,
                    CString::try_from_fmt(fmt!("virtio{}", n))?,
                    IrqTarget::Intx,
                )?;
            }
            IrqMode::None => {}
        }

        for (index, _) in created.iter().copied() {
            self.dev.select_queue(index);
            self.dev.enable_queue();
        }
        Ok(created)
    }

    /// Says that queue `index` was notified before DRIVER_OK: out of the notification path,
    /// which runs once per burst of packets.
    #[cold]
    #[inline(never)]
    fn warn_early_notify(&self, index: u16) {
        dev_warn!(
            self.dev.pdev(),
            "queue {} notified before DRIVER_OK was set (virtio 1.2, 3.1.1)\n",
            index
        );
    }

    /// Where the recovery of the device is.
    pub(crate) fn recovery_phase(&self) -> Phase {
        needs_reset::phase(self)
    }

    /// Whether the device asks for a reset now (DEVICE_NEEDS_RESET, or FAILED that it set).
    pub(crate) fn wants_reset(&self) -> bool {
        needs_reset::wants_reset(self, self.dev.status())
    }

    /// Takes the configuration interrupt away from the device (fault injection): the device
    /// can no longer signal a configuration change or a fault until `find_vqs` runs again.
    fn detach_config_vector(&self) -> Result {
        let setup = self.setup.lock();
        match setup.mode {
            IrqMode::PerQueue | IrqMode::Shared => {
                self.dev.set_msix_config(NO_VECTOR);
                Ok(())
            }
            // The line is shared with the queues: it cannot be taken from the device alone.
            IrqMode::Intx | IrqMode::None => Err(ENXIO),
        }
    }

    /// Takes the queues of the device off their vectors.
    fn clear_vectors(&self, setup: &QueueSetup) {
        if matches!(setup.mode, IrqMode::PerQueue | IrqMode::Shared) {
            for (index, _) in setup.queues.iter().copied() {
                self.dev.select_queue(index);
                self.dev.set_queue_vector(NO_VECTOR);
            }
            self.dev.set_msix_config(NO_VECTOR);
        }
    }
}

impl needs_reset::Device for PciTransport<'_> {
    fn pdev(&self) -> &kernel::device::Device {
        self.dev.pdev().as_ref()
    }

    fn status(&self) -> u8 {
        self.dev.status()
    }

    fn state(&self) -> &Mutex<needs_reset::State> {
        &self.recovery
    }

    fn irq_stats(&self) -> &IrqStats {
        &self.irq_stats
    }
}

/// Prints the `stops` debugfs file: how often system sleep and function resets stopped the
/// driver, and how the last stop went.
fn show_stops(ctl: &Control<'_>, m: &SeqFile) {
    let st = ctl.stop_state();
    seq_print!(m, "sleep: {}\n", st.sleeps);
    seq_print!(m, "reset: {}\n", st.resets);
    match st.last {
        None => seq_print!(m, "last: none\n"),
        Some((how, None)) => seq_print!(m, "last: {} (stopped)\n", how.name()),
        Some((how, Some(ret))) => seq_print!(
            m,
            "last: {} (restarted: {})\n",
            how.name(),
            ret.map_or_else(|e| e.to_errno(), |()| 0)
        ),
    }
}

impl<'bound> Transport for PciTransport<'bound> {
    /// The queue's notification register.
    type QueueNotify = IoReg<'bound, u16>;

    const DEBUGFS: &'static [debugfs::File] = &[
        debugfs::File {
            name: c"recovery",
            writable: false,
        },
        debugfs::File {
            name: c"inject",
            writable: true,
        },
        debugfs::File {
            name: c"stops",
            writable: false,
        },
        debugfs::File {
            name: c"inject_silent",
            writable: true,
        },
        debugfs::File {
            name: c"status",
            writable: false,
        },
    ];

    fn debugfs_show(&self, index: usize, ctl: &Control<'_>, m: &SeqFile) {
        match index {
            DEBUGFS_RECOVERY => needs_reset::show(self, ctl, m),
            DEBUGFS_STOPS => show_stops(ctl, m),
            DEBUGFS_STATUS => {
                seq_print!(m, "device_status: {:#04x}\n", self.dev.status());
                seq_print!(
                    m,
                    "notified_before_driver_ok: {}\n",
                    self.irq_stats.early_notifies()
                );
            }
            DEBUGFS_INJECT_SILENT => seq_print!(
                m,
                "write a queue index to detach the configuration vector, then make the device see a bad request\n"
            ),
            _ => seq_print!(
                m,
                "write a queue index to make the device see a bad request\n"
            ),
        }
    }

    fn debugfs_store(&self, index: usize, ctl: &Control<'_>, buf: &[u8]) -> Result {
        match index {
            DEBUGFS_INJECT => needs_reset::inject(self, ctl, buf, false, || Ok(())),
            DEBUGFS_INJECT_SILENT => {
                needs_reset::inject(self, ctl, buf, true, || self.detach_config_vector())
            }
            _ => Err(EPERM),
        }
    }

    fn config_interrupt(&self, ctl: &Control<'_>) {
        if !needs_reset::config_interrupt(self, ctl) {
            ctl.device().config_changed();
        }
    }

    fn recover(&self, rec: &Recovery<'_>) {
        needs_reset::recover(self, rec);
        needs_reset::settle(self, rec);
    }

    const HEALTH_REPORTER: Option<&'static CStr> = Some(c"needs_reset");

    fn health_recover(&self, rec: &Recovery<'_>, reported: bool) -> Result {
        needs_reset::health_recover(self, rec, reported)
    }

    fn health_diagnose(&self, ctl: &Control<'_>, fmsg: &mut Fmsg<'_>) -> Result {
        needs_reset::health_diagnose(self, ctl, fmsg);
        Ok(())
    }

    fn health_dump(&self, rec: &Recovery<'_>, fmsg: &mut Fmsg<'_>) -> Result {
        needs_reset::health_dump(self, rec, fmsg);
        Ok(())
    }

    fn health_test(&self, ctl: &Control<'_>) -> Result {
        needs_reset::health_test(self, ctl)
    }

    const PARAMS: &'static [&'static CStr] = needs_reset::PARAMS;

    fn param_get(&self, index: usize) -> u32 {
        needs_reset::param_get(self, index)
    }

    fn param_set(&self, index: usize, value: u32) -> Result {
        needs_reset::param_set(self, index, value)
    }

    fn poll(&self, ctl: &Control<'_>) {
        needs_reset::poll(self, ctl);
    }

    fn get(&self, offset: usize, buf: &mut [u8]) {
        if self.dev.device_read(offset, buf).is_err() {
            dev_err!(
                self.dev.pdev(),
                "config read of {} bytes at {:#x} outside the device configuration\n",
                buf.len(),
                offset
            );
            buf.fill(0xff);
        }
    }

    fn set(&self, offset: usize, buf: &[u8]) {
        if self.dev.device_write(offset, buf).is_err() {
            dev_err!(
                self.dev.pdev(),
                "config write of {} bytes at {:#x} outside the device configuration\n",
                buf.len(),
                offset
            );
        }
    }

    fn generation(&self) -> u32 {
        self.dev.generation().into()
    }

    fn get_status(&self, ctl: &Control<'_>) -> u8 {
        let status = self.dev.status();
        // A driver that reads the status (rvirtio_net does when its transmit watchdog fires)
        // asks us to look at it.
        needs_reset::detect(self, ctl, Detector::Driver, status);
        needs_reset::status_for_driver(self, status)
    }

    fn set_status(&self, status: u8) {
        self.irq_stats.written(status);
        self.dev.set_status(status)
    }

    fn reset(&self) {
        self.irq_stats.written(0);
        self.dev.set_status(0);
        // The device may take time to reset; a device that went away reads all ones.
        let mut waited = 0;
        loop {
            let status = self.dev.status();
            if status == 0 {
                return;
            }
            if status == u8::MAX || waited >= RESET_TIMEOUT_MS {
                dev_err!(
                    self.dev.pdev(),
                    "device did not reset (status {:#04x} after {} ms)\n",
                    status,
                    waited
                );
                return;
            }
            fsleep(Delta::from_millis(1));
            waited += 1;
        }
    }

    fn get_features(&self, word: usize) -> u64 {
        let Ok(lo) = u32::try_from(2 * word) else {
            return 0;
        };
        let low = u64::from(self.dev.device_features32(lo));
        let high = u64::from(self.dev.device_features32(lo + 1));
        low | (high << 32)
    }

    fn finalize_features(&self, _vdev: &Device, f: &mut FeaturesToFinalize<'_>) -> Result {
        // Transport features we do not implement (yet): keep the driver from relying on them.
        for bit in [
            feature::NOTIFICATION_DATA,
            feature::RING_RESET,
            feature::ADMIN_VQ,
            feature::SR_IOV,
        ] {
            f.clear(bit);
        }
        if !f.has(feature::VERSION_1) {
            dev_err!(
                self.dev.pdev(),
                "device does not offer VIRTIO_F_VERSION_1 (a legacy device?)\n"
            );
            return Err(EINVAL);
        }
        for word in 0..virtio::FEATURE_WORDS {
            let v = f.word(word);
            let select = u32::try_from(2 * word).map_err(|_| EINVAL)?;
            self.dev.set_driver_features32(select, v as u32);
            self.dev.set_driver_features32(select + 1, (v >> 32) as u32);
        }
        Ok(())
    }

    fn find_vqs(&self, vdev: &Device, q: &mut Queues<'_, IoReg<'bound, u16>>) -> Result {
        let mut setup = self.setup.lock();
        let mut last = EINVAL;
        // As the C transport: a vector per queue, else one shared vector, else INTx. After a
        // recovery the fallback starts at the mode that the kept vectors were allocated in:
        // the modes before it failed for the same request, and trying them would free the
        // vectors only to fall back to the same mode.
        let order = [IrqMode::PerQueue, IrqMode::Shared, IrqMode::Intx];
        let with_callback = Self::with_callback(q);
        let first = order
            .iter()
            .position(|&m| Self::vector_request(with_callback, m).is_ok_and(|r| q.spare_fits(&r)));
        let modes = order.get(first.unwrap_or(0)..).unwrap_or(&order);
        for &mode in modes {
            setup.mode = mode;
            match self.setup_queues(vdev, q, mode, with_callback) {
                Ok(queues) => {
                    setup.queues = queues;
                    return Ok(());
                }
                Err(e) => {
                    dev_dbg!(self.dev.pdev(), "find_vqs in {:?} mode: {:?}\n", mode, e);
                    self.clear_vectors(&setup);
                    q.reset();
                    last = e;
                    // Missing queues do not depend on the interrupt mode.
                    if e == ENOENT || e == ENOMEM {
                        break;
                    }
                }
            }
        }
        setup.mode = IrqMode::None;
        setup.queues.clear();
        Err(last)
    }

    fn del_vqs(&self, _vdev: &Device) {
        let mut setup = self.setup.lock();
        self.clear_vectors(&setup);
        setup.mode = IrqMode::None;
        setup.queues.clear();
    }

    #[inline]
    fn notify(&self, index: u16, reg: &IoReg<'bound, u16>) -> bool {
        // The device gets it anyway: one that ignores it leaves the driver no worse off.
        if self.irq_stats.early_notify() {
            self.warn_early_notify(index);
        }
        reg.write(index);
        true
    }

    fn read_isr(&self) -> u8 {
        self.dev.read_isr()
    }

    fn vq_vector(&self, index: u32) -> Option<u32> {
        let setup = self.setup.lock();
        if setup.mode != IrqMode::PerQueue {
            return None;
        }
        setup
            .queues
            .iter()
            .find(|(i, v)| u32::from(*i) == index && *v != NO_VECTOR)
            .map(|(_, v)| u32::from(*v))
    }

    fn bus_name(&self) -> &CStr {
        &self.bus_name
    }

    fn shm_region(&self, id: u8) -> Option<ShmRegion> {
        let r = self.dev.layout().shm(id)?;
        let start = self.dev.pdev().resource_start(r.bar.into()).ok()?;
        // `resource_size_t` is only 32 bits wide on some configurations.
        #[allow(clippy::useless_conversion)]
        let start = u64::from(start);
        Some(ShmRegion {
            addr: start.checked_add(r.offset)?,
            len: r.len,
        })
    }
}
