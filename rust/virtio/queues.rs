// SPDX-License-Identifier: GPL-2.0

//! Virtqueues and their interrupts, as a transport creates them in `find_vqs`.
//!
//! The queues are the kernel's vrings (`vring_create_virtqueue()`); the transport decides their
//! sizes, notification data and interrupt vectors, and this module owns what it allocates: the
//! interrupt vectors of the PCI function, the interrupt handlers, the queues and their
//! notification data, which are freed in that order (handlers before the queues they point to,
//! queues before the data their `priv` points to) in `del_vqs`.
//!
//! A recovery from DEVICE_NEEDS_RESET may keep the vectors across the driver's `del_vqs` and
//! `find_vqs` ([`Vectors`], [`Spare`]): freeing and allocating MSI-X vectors maps and unmaps
//! the MSI-X table and updates the interrupt domain, which took most of a recovery's time.

use super::Device;
use crate::bindings;
use core::{
    ffi::c_void,
    marker::{PhantomData, PhantomPinned},
    ptr,
};
use kernel::{
    alloc::{KBox, KVec},
    device,
    pci,
    prelude::*,
    str::CString,
    sync::atomic::{Atomic, Relaxed}, //
};

/// The transport callbacks that interrupt handlers and the vring need, for one transport type.
#[derive(Clone, Copy)]
pub(crate) struct Callbacks {
    pub(super) notify: unsafe extern "C" fn(*mut bindings::virtqueue) -> bool,
    pub(super) config_interrupt: unsafe fn(*mut bindings::virtio_device),
    pub(super) read_isr: unsafe fn(*mut bindings::virtio_device) -> u8,
}

/// What a driver asked for, for one queue.
#[derive(Clone, Copy)]
pub(crate) struct QueueInfo<'a> {
    /// The queue's name, e.g. `input.0`.
    pub(crate) name: &'a CStr,
    /// Whether the driver wants interrupts (a callback) for it.
    pub(crate) callback: bool,
    /// Whether the driver passes a context with its buffers.
    pub(crate) ctx: bool,
}

/// What an interrupt handler serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IrqTarget {
    /// Configuration changes (MSI-X configuration vector).
    Config,
    /// The queue at position `i` of the driver's request.
    Queue(usize),
    /// All queues (a shared MSI-X vector).
    AllQueues,
    /// The INTx line: configuration and queues, as the ISR status says.
    Intx,
}

/// Interrupt types to allocate vectors for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VectorType {
    /// MSI-X.
    MsiX,
    /// The legacy INTx line.
    Intx,
}

/// A queue created by [`Queues::create`].
pub(crate) struct Virtqueue<'a> {
    vq: *mut bindings::virtqueue,
    _queues: PhantomData<&'a ()>,
}

impl Virtqueue<'_> {
    /// The number of descriptors of the ring.
    pub(crate) fn size(&self) -> u32 {
        // SAFETY: `vq` is a live queue: queues are only deleted with the `Queues` or
        // `QueueState` that created them.
        unsafe { bindings::virtqueue_get_vring_size(self.vq) }
    }

    /// Bus address of the descriptor area.
    pub(crate) fn desc_addr(&self) -> u64 {
        // SAFETY: As in `size`.
        unsafe { bindings::virtqueue_get_desc_addr(self.vq) }
    }

    /// Bus address of the driver (available) area.
    pub(crate) fn avail_addr(&self) -> u64 {
        // SAFETY: As in `size`.
        unsafe { bindings::virtqueue_get_avail_addr(self.vq) }
    }

    /// Bus address of the device (used) area.
    pub(crate) fn used_addr(&self) -> u64 {
        // SAFETY: As in `size`.
        unsafe { bindings::virtqueue_get_used_addr(self.vq) }
    }

    /// Records the largest size the device allows for this queue.
    pub(crate) fn set_num_max(&self, num: u32) {
        // SAFETY: As in `size`; `num_max` is only read by the driver afterwards.
        unsafe { (*self.vq).num_max = num };
    }
}

/// An interrupt handler requested by [`Queues::request_irq`].
///
/// # Invariants
///
/// While `requested`, a handler is registered for `irq` with [`Irq::dev_id`] as its `dev_id`:
/// for [`IrqTarget::Queue`], the ring's own `vring_interrupt()` with the queue `vq`; for the
/// other targets, [`Irq::handle`] with this object's address. `vdev` (and, for
/// [`IrqTarget::Queue`], `vq`) are live meanwhile.
#[pin_data(PinnedDrop)]
struct Irq {
    irq: u32,
    vector: u32,
    name: CString,
    vdev: *mut bindings::virtio_device,
    vq: *mut bindings::virtqueue,
    target: IrqTarget,
    callbacks: Callbacks,
    /// Set once the handler is registered: through a shared reference, as the handler may run
    /// (on a shared line) as soon as it is.
    requested: Atomic<u32>,
    #[pin]
    _pin: PhantomPinned,
}

impl Irq {
    /// The `dev_id` of the registration (see the type invariant).
    fn dev_id(&self) -> *mut c_void {
        match self.target {
            IrqTarget::Queue(_) => self.vq.cast(),
            _ => ptr::from_ref::<Irq>(self).cast_mut().cast::<c_void>(),
        }
    }

    /// The C handler of the targets other than a single queue.
    ///
    /// # Safety
    ///
    /// `data` is the address of a pinned, requested [`Irq`].
    unsafe extern "C" fn handle(irq: c_int, data: *mut c_void) -> kernel::bindings::irqreturn_t {
        // SAFETY: By the safety requirements.
        let this = unsafe { &*data.cast::<Irq>() };
        const NONE: kernel::bindings::irqreturn_t = kernel::bindings::irqreturn_IRQ_NONE;
        const HANDLED: kernel::bindings::irqreturn_t = kernel::bindings::irqreturn_IRQ_HANDLED;
        // By the type invariant `vdev` and `vq` are live while the handler is requested, and
        // the callbacks are those of the transport that registered `vdev`.
        match this.target {
            IrqTarget::Config => {
                // SAFETY: See above.
                unsafe { (this.callbacks.config_interrupt)(this.vdev) };
                HANDLED
            }
            // SAFETY: See above.
            IrqTarget::Queue(_) => unsafe { bindings::vring_interrupt(irq, this.vq.cast()) },
            // SAFETY: See above; the queue list does not change while the handler exists.
            IrqTarget::AllQueues => unsafe { bindings::vring_interrupt_all(this.vdev) },
            IrqTarget::Intx => {
                // Reading the ISR status also clears it and deasserts the line.
                // SAFETY: See above.
                let isr = unsafe { (this.callbacks.read_isr)(this.vdev) };
                if isr == 0 {
                    return NONE;
                }
                if isr & ISR_CONFIG != 0 {
                    // SAFETY: See above.
                    unsafe { (this.callbacks.config_interrupt)(this.vdev) };
                }
                // SAFETY: See above; the queue list does not change while the handler exists.
                unsafe { bindings::vring_interrupt_all(this.vdev) };
                HANDLED
            }
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Irq {
    fn drop(self: Pin<&mut Self>) {
        if self.requested.load(Relaxed) != 0 {
            // SAFETY: By the type invariant the handler is registered with this `dev_id`;
            // `free_irq()` waits for running handlers, so nothing uses `self` or the queue
            // afterwards.
            unsafe { bindings::free_irq(self.irq, self.dev_id()) };
        }
    }
}

/// ISR status bit of a configuration change.
const ISR_CONFIG: u8 = 2;

/// Interrupt vectors a transport asks for (see [`Queues::alloc_vectors`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VectorRequest {
    /// The fewest to accept.
    pub(crate) min: u32,
    /// The most to allocate.
    pub(crate) max: u32,
    /// Their type.
    pub(crate) type_: VectorType,
    /// Spread them over the CPUs as the driver asked (its `struct irq_affinity`).
    pub(crate) affinity: bool,
}

/// What a set of interrupt vectors was allocated for: a later `find_vqs` that asks for the
/// same may take them over (see [`Spare`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct VectorsKey {
    req: VectorRequest,
    /// With the driver's spreading over the CPUs: its `pre_vectors`, `post_vectors` and
    /// `nr_sets` (the rest of its descriptor follows from those in virtio drivers).
    spread: Option<(u32, u32, u32)>,
}

/// Interrupt vectors allocated for a PCI function by [`Queues::alloc_vectors`], freed on drop.
///
/// # Invariants
///
/// `pdev` is a bound PCI function whose vectors (`count` of them) this object allocated, and
/// no interrupt handler is requested on them unless a [`QueueState`] holding this object
/// registered it.
pub(crate) struct Vectors {
    pdev: *mut kernel::bindings::pci_dev,
    key: VectorsKey,
    count: u32,
}

// SAFETY: The pointer is only used to free the vectors, which any thread may do.
unsafe impl Send for Vectors {}

impl Drop for Vectors {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the vectors were allocated for `pdev`, which is still
        // bound, and no handler is left on them (the `QueueState` holding them frees its
        // handlers first).
        unsafe { bindings::pci_free_irq_vectors(self.pdev) };
    }
}

/// Interrupt vectors kept between a driver's `del_vqs` and its next `find_vqs` while
/// `keep` is set (a recovery, see `Recovery::keep_vectors`).
#[derive(Default)]
pub(crate) struct Spare {
    pub(super) keep: bool,
    pub(super) vectors: Option<Vectors>,
    /// How often a `find_vqs` took kept vectors over.
    pub(super) reused: u64,
}

/// The notification data of one queue (a transport's [`super::Transport::QueueNotify`]), boxed,
/// its type erased: the queue's `priv` points to it.
///
/// # Invariants
///
/// `ptr` comes from `KBox::into_raw()` of a `KBox<N>` that `free` frees as such.
struct NotifyData {
    ptr: *mut c_void,
    free: unsafe fn(*mut c_void),
}

impl NotifyData {
    fn new<N>(data: N) -> Result<Self> {
        /// # Safety
        ///
        /// `p` comes from `KBox::<N>::into_raw()` and is not used afterwards.
        unsafe fn free<N>(p: *mut c_void) {
            // SAFETY: By the safety requirements.
            drop(unsafe { KBox::from_raw(p.cast::<N>()) });
        }
        let b = KBox::new(data, GFP_KERNEL)?;
        // INVARIANT: `free::<N>` frees a `KBox<N>`.
        Ok(Self {
            ptr: KBox::into_raw(b).cast(),
            free: free::<N>,
        })
    }

    /// Frees the data.
    ///
    /// # Safety
    ///
    /// Nothing uses the data any more: the queue whose `priv` points to it is deleted, or was
    /// never given it.
    unsafe fn free(self) {
        // SAFETY: By the type invariant and the safety requirements.
        unsafe { (self.free)(self.ptr) }
    }
}

/// What `find_vqs` allocated, kept until `del_vqs`.
pub(crate) struct QueueState {
    // Dropped before the vectors and the queues (see `release`).
    irqs: KVec<Pin<KBox<Irq>>>,
    vectors: Option<Vectors>,
    /// The notification data of the queues, freed after them by `release` only: dropped with
    /// the queues still there, it leaks rather than leave their `priv` dangling.
    notify: KVec<NotifyData>,
}

// SAFETY: The handlers' raw pointers are only used to free them, under the registration's lock;
// the notification data is `Send + Sync` (see `Queues::create`), and freed the same way.
unsafe impl Send for QueueState {}

impl QueueState {
    fn new() -> Self {
        Self {
            irqs: KVec::new(),
            vectors: None,
            notify: KVec::new(),
        }
    }

    /// Waits for running interrupt handlers to finish.
    pub(crate) fn synchronize(&self) {
        for irq in &self.irqs {
            // SAFETY: The interrupt is requested while it is in `irqs`.
            unsafe { bindings::synchronize_irq(irq.irq) };
        }
    }

    /// The CPU affinity of interrupt vector `vector`, or NULL.
    pub(crate) fn affinity(&self, vector: u32) -> *const kernel::bindings::cpumask {
        match &self.vectors {
            // SAFETY: `pdev` has vectors allocated; the function checks `vector`.
            Some(v) => unsafe { bindings::pci_irq_get_affinity(v.pdev, vector as c_int) },
            None => ptr::null(),
        }
    }

    /// Sets the affinity (and hint) of the interrupt of vector `vector` to `mask`.
    ///
    /// # Safety
    ///
    /// `mask` is NULL or a valid CPU mask.
    pub(crate) unsafe fn set_affinity(
        &self,
        vector: u32,
        mask: *const kernel::bindings::cpumask,
    ) -> c_int {
        let Some(irq) = self.irqs.iter().find(|i| i.vector == vector) else {
            return 0;
        };
        // SAFETY: The interrupt is requested while it is in `irqs`; `mask` is valid or NULL by
        // the safety requirements.
        unsafe { bindings::irq_set_affinity_and_hint(irq.irq, mask) }
    }

    /// Frees the interrupt handlers, then the vectors (unless `keep`: then they are returned,
    /// without a handler), then deletes the queues of `vdev`.
    pub(super) fn release(self, vdev: &Device, keep: bool) -> Option<Vectors> {
        let QueueState {
            irqs,
            vectors,
            notify,
        } = self;
        drop(irqs);
        // INVARIANT: No handler is left on the vectors.
        let kept = if keep { vectors } else { None };
        // SAFETY: No interrupt handler points to the queues any more, and the driver is done
        // with them (it called `del_vqs`, or `find_vqs` failed).
        unsafe { bindings::del_all_vqs(vdev.as_raw()) };
        for n in notify {
            // SAFETY: The queues whose `priv` pointed to `n` are deleted.
            unsafe { n.free() };
        }
        kept
    }
}

/// The arguments of one `find_vqs` call, and what the transport has set up so far; `N` is the
/// transport's notification data of a queue ([`super::Transport::QueueNotify`]).
pub(crate) struct Queues<'a, N> {
    vdev: &'a Device,
    nvqs: usize,
    vqs: *mut *mut bindings::virtqueue,
    infos: *mut bindings::virtqueue_info,
    desc: *mut bindings::irq_affinity,
    callbacks: Callbacks,
    state: QueueState,
    /// Vectors kept from the driver's previous queues, for [`Queues::alloc_vectors`] to take
    /// over if they fit; freed with `self` otherwise.
    spare: Option<Vectors>,
    /// The live vectors are spare ones taken over.
    reused: bool,
    _notify: PhantomData<N>,
}

impl<'a, N> Queues<'a, N> {
    /// # Safety
    ///
    /// `vqs` and `infos` point to `nvqs` entries and `desc` is NULL or valid, for `'a`;
    /// `callbacks` belong to the transport of `vdev`; `spare` are vectors of the PCI function
    /// of `vdev`'s transport.
    pub(super) unsafe fn new(
        vdev: &'a Device,
        nvqs: usize,
        vqs: *mut *mut bindings::virtqueue,
        infos: *mut bindings::virtqueue_info,
        desc: *mut bindings::irq_affinity,
        callbacks: Callbacks,
        spare: Option<Vectors>,
    ) -> Self {
        for i in 0..nvqs {
            // SAFETY: `i < nvqs`.
            unsafe { *vqs.add(i) = ptr::null_mut() };
        }
        Self {
            vdev,
            nvqs,
            vqs,
            infos,
            desc,
            callbacks,
            state: QueueState::new(),
            spare,
            reused: false,
            _notify: PhantomData,
        }
    }

    /// Number of queue slots the driver asked for (some may be unnamed: no queue).
    pub(crate) fn slots(&self) -> usize {
        self.nvqs
    }

    /// What the driver asked for slot `i`, or `None` for an unnamed slot (no queue).
    pub(crate) fn info(&self, i: usize) -> Option<QueueInfo<'a>> {
        if i >= self.nvqs {
            return None;
        }
        // SAFETY: `i < nvqs`, and `infos` is valid for `'a`.
        let info = unsafe { &*self.infos.add(i) };
        if info.name.is_null() {
            return None;
        }
        Some(QueueInfo {
            // SAFETY: Drivers name their queues with static strings.
            name: unsafe { CStr::from_char_ptr(info.name) },
            callback: info.callback.is_some(),
            ctx: info.ctx,
        })
    }

    /// Creates the vring for slot `i` as the device's queue `index`, with `num` descriptors
    /// at most (the ring may be smaller when memory is short). The vring's notify callback will
    /// pass `notify` to [`super::Transport::notify`]; it is dropped after the queue is deleted.
    pub(crate) fn create(
        &mut self,
        i: usize,
        index: u16,
        num: u32,
        notify: N,
    ) -> Result<Virtqueue<'_>>
    where
        N: Send + Sync,
    {
        let info = self.info(i).ok_or(EINVAL)?;
        self.state.notify.reserve(1, GFP_KERNEL)?;
        let notify = NotifyData::new(notify)?;
        // SAFETY: `i < nvqs` as `info()` checked.
        let raw_info = unsafe { &*self.infos.add(i) };
        // SAFETY: The arguments describe a queue of `vdev`, whose transport implements
        // `notify`; the name outlives the queue (it is the driver's).
        let vq = unsafe {
            bindings::vring_create_virtqueue(
                index.into(),
                num,
                kernel::bindings::SMP_CACHE_BYTES,
                self.vdev.as_raw(),
                true,
                true,
                info.ctx,
                Some(self.callbacks.notify),
                raw_info.callback,
                info.name.as_char_ptr(),
            )
        };
        if vq.is_null() {
            // SAFETY: No queue was given the data.
            unsafe { notify.free() };
            return Err(ENOMEM);
        }
        // SAFETY: `vq` was just created; `priv` is the transport's to use. The data outlives
        // the queue: `QueueState::release` frees it after deleting the queues.
        unsafe { (*vq).priv_ = notify.ptr };
        // Reserved above: cannot fail.
        let _ = self.state.notify.push(notify, GFP_KERNEL);
        // SAFETY: `i < nvqs`.
        unsafe { *self.vqs.add(i) = vq };
        Ok(Virtqueue {
            vq,
            _queues: PhantomData,
        })
    }

    /// The driver's spreading descriptor for `req`, adjusted for the configuration vector.
    fn spread(&self, req: &VectorRequest) -> Option<bindings::irq_affinity> {
        // Vector 0 is the configuration vector: like the C transport, keep it out of the
        // spread (`pre_vectors`), so that the queue vectors get the CPUs the driver asked for.
        // Without that, the core spreads `max` vectors over the CPUs and, with fewer CPUs than
        // queues plus one, grants fewer vectors than asked. The driver's descriptor is copied,
        // not changed: this may be called again in another mode.
        if !req.affinity || self.desc.is_null() {
            return None;
        }
        // SAFETY: `desc` is not NULL, so it is the driver's `struct irq_affinity`, valid for
        // `'a` (see `Queues::new`). Copying it is sound: it holds counts and, in `calc_sets`,
        // a function that the core calls with the copy's address.
        let mut d = unsafe { ptr::read(self.desc) };
        d.pre_vectors = d.pre_vectors.saturating_add(1);
        Some(d)
    }

    fn key(req: &VectorRequest, spread: Option<&bindings::irq_affinity>) -> VectorsKey {
        VectorsKey {
            req: *req,
            spread: spread.map(|d| (d.pre_vectors, d.post_vectors, d.nr_sets)),
        }
    }

    /// Whether vectors kept from the driver's previous queues (see [`Spare`]) were allocated
    /// for `req`: [`Queues::alloc_vectors`] would take them over. A transport that falls back
    /// from one interrupt mode to another tries that one first, as allocating for another
    /// request frees them.
    pub(crate) fn spare_fits(&self, req: &VectorRequest) -> bool {
        self.spare
            .as_ref()
            .is_some_and(|v| v.key == Self::key(req, self.spread(req).as_ref()))
    }

    /// Allocates interrupt vectors for `pdev` as `req` asks. Returns how many it got. Vectors
    /// kept from the driver's previous queues that were allocated for the same request (see
    /// [`Spare`]) are taken over instead.
    pub(crate) fn alloc_vectors(
        &mut self,
        pdev: &pci::Device<device::Bound>,
        req: &VectorRequest,
    ) -> Result<u32> {
        if self.state.vectors.is_some() {
            return Err(EBUSY);
        }
        let raw = crate::pci_ext::as_raw(pdev);
        let mut flags = match req.type_ {
            VectorType::MsiX => bindings::PCI_IRQ_MSIX,
            VectorType::Intx => bindings::PCI_IRQ_INTX,
        };
        let mut spread = self.spread(req);
        let key = Self::key(req, spread.as_ref());
        if let Some(v) = self.spare.take() {
            if v.pdev == raw && v.key == key {
                let n = v.count;
                self.state.vectors = Some(v);
                self.reused = true;
                return Ok(n);
            }
            // Allocated for another request: freed before the new allocation.
            drop(v);
        }
        let desc = match spread.as_mut() {
            Some(d) => {
                flags |= bindings::PCI_IRQ_AFFINITY;
                ptr::from_mut(d)
            }
            None => ptr::null_mut(),
        };
        // SAFETY: `raw` is a valid, bound `struct pci_dev` without vectors (none are live, and
        // the spare ones were freed above); `desc` is NULL or points to `spread`, which outlives
        // the call (the core does not keep it).
        let ret =
            unsafe { bindings::pci_alloc_irq_vectors_affinity(raw, req.min, req.max, flags, desc) };
        let n = u32::try_from(ret).map_err(|_| Error::from_errno(ret))?;
        // INVARIANT: Just allocated for `raw`, bound; no handler yet.
        self.state.vectors = Some(Vectors {
            pdev: raw,
            key,
            count: n,
        });
        self.reused = false;
        Ok(n)
    }

    /// Requests vector `vector` of `pdev` for `target`, named `name` in `/proc/interrupts`.
    pub(crate) fn request_irq(&mut self, vector: u32, name: CString, target: IrqTarget) -> Result {
        let raw = self.state.vectors.as_ref().ok_or(EINVAL)?.pdev;
        // SAFETY: `raw` is valid and has vectors allocated; the function checks `vector`.
        let irq = unsafe { bindings::pci_irq_vector(raw, vector) };
        let irq = u32::try_from(irq).map_err(|_| Error::from_errno(irq))?;
        let vq = match target {
            IrqTarget::Queue(i) if i < self.nvqs => {
                // SAFETY: `i < nvqs`.
                let vq = unsafe { *self.vqs.add(i) };
                if vq.is_null() {
                    return Err(EINVAL);
                }
                vq
            }
            IrqTarget::Queue(_) => return Err(EINVAL),
            _ => ptr::null_mut(),
        };
        let flags: usize = if target == IrqTarget::Intx {
            bindings::IRQF_SHARED as usize
        } else {
            0
        };
        let vdev = self.vdev.as_raw();
        let callbacks = self.callbacks;
        let handler = KBox::pin_init(
            pin_init!(Irq {
                irq,
                vector,
                name,
                vdev,
                vq,
                target,
                callbacks,
                requested: Atomic::new(0),
                _pin: PhantomPinned,
            }),
            GFP_KERNEL,
        )?;
        self.state.irqs.reserve(1, GFP_KERNEL)?;
        // A queue's own vector goes straight to the ring, as in the C transport: nothing of
        // ours runs on its interrupts.
        let func: unsafe extern "C" fn(c_int, *mut c_void) -> kernel::bindings::irqreturn_t =
            match target {
                IrqTarget::Queue(_) => bindings::vring_interrupt,
                _ => Irq::handle,
            };
        // SAFETY: `handler` is pinned and outlives the registration, which its drop undoes,
        // with the same `dev_id`; everything `Irq::handle` reads is initialised; a queue's
        // handler gets the queue, live until `del_vqs`, which frees the handlers first.
        let ret = unsafe {
            bindings::request_threaded_irq(
                irq,
                Some(func),
                None,
                flags,
                handler.name.as_char_ptr(),
                handler.dev_id(),
            )
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: The handler is now registered with `dev_id()`.
        handler.requested.store(1, Relaxed);
        self.state.irqs.push(handler, GFP_KERNEL)?;
        Ok(())
    }

    /// Frees what was set up so far (interrupts, vectors, queues), to try another way.
    pub(crate) fn reset(&mut self) {
        let state = core::mem::replace(&mut self.state, QueueState::new());
        state.release(self.vdev, false);
        self.reused = false;
        for i in 0..self.nvqs {
            // SAFETY: `i < nvqs`.
            unsafe { *self.vqs.add(i) = ptr::null_mut() };
        }
    }

    /// Frees everything, after a failed `find_vqs`.
    pub(super) fn release(mut self) {
        self.reset();
    }

    /// Keeps what was set up, after a successful `find_vqs`; and whether its vectors are
    /// spare ones taken over. Spare vectors not taken over are freed.
    pub(super) fn into_state(self) -> (QueueState, bool) {
        (self.state, self.reused)
    }
}
