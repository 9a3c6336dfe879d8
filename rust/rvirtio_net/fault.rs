// SPDX-License-Identifier: GPL-2.0

//! Fault injection: making the device fail on purpose, to prove recovery end to end.
//!
//! Writing to `/sys/kernel/debug/rvirtio_net-virtio<N>/inject_tx` makes the next transmit, on
//! whichever queue, post before its packet a request with no device-readable descriptor (one
//! 4-byte device-writable buffer): there is no header to read. A device that checks (QEMU:
//! "virtio-net header not in first element") reports a protocol error: DEVICE_NEEDS_RESET and
//! a configuration interrupt. Only with `CONFIG_FAULT_INJECTION`: without it, neither the
//! files nor the checks on the transmit and control paths exist.
//!
//! A readable part shorter than the header would do too with a backend that takes vnet
//! headers, but QEMU 7.2 with one that does not (the hub) aborts on it (an assertion in
//! `iov_copy()`), so it is not used.
//!
//! Writing to `ctrl_timeout` in the same directory makes the next control command give up at
//! once instead of waiting for its answer, as if the device took longer than the timeout: the
//! answer then comes later, while the next command waits for its own.

use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
    uaccess::UserSliceReader,
};

/// Bytes of the malformed request's only (device-writable) buffer.
pub(super) const BAD_LEN: usize = 4;

/// Pending injections, shared by the debugfs files, the transmit queues and the control queue.
pub(crate) struct TxInject {
    pending: Atomic<u32>,
    ctrl_timeout: Atomic<u32>,
}

impl TxInject {
    pub(super) fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                pending: Atomic::new(0),
                ctrl_timeout: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// Whether a transmit injection is pending; it is no longer afterwards. Always false
    /// without `CONFIG_FAULT_INJECTION`, with no access.
    pub(super) fn take(&self) -> bool {
        cfg!(CONFIG_FAULT_INJECTION)
            && self.pending.load(Relaxed) != 0
            && self.pending.xchg(0, Relaxed) != 0
    }

    /// Whether the next control command is to time out at once; it is no longer afterwards.
    /// Always false without `CONFIG_FAULT_INJECTION`, with no access.
    pub(super) fn take_ctrl_timeout(&self) -> bool {
        cfg!(CONFIG_FAULT_INJECTION)
            && self.ctrl_timeout.load(Relaxed) != 0
            && self.ctrl_timeout.xchg(0, Relaxed) != 0
    }
}

fn write(inject: &Arc<TxInject>, _input: &mut UserSliceReader) -> Result {
    inject.pending.store(1, Relaxed);
    Ok(())
}

fn write_ctrl(inject: &Arc<TxInject>, _input: &mut UserSliceReader) -> Result {
    inject.ctrl_timeout.store(1, Relaxed);
    Ok(())
}

/// The debugfs directory of a device and its `inject_tx` and `ctrl_timeout` files.
pub(super) struct Knob {
    // Dropped first: the files go before their directory.
    _file: Pin<KBox<File<Arc<TxInject>>>>,
    _ctrl_file: Pin<KBox<File<Arc<TxInject>>>>,
    _dir: Dir,
}

impl Knob {
    /// Creates the knob of virtio device `index`, if fault injection is enabled.
    pub(super) fn new(index: i32, inject: &Arc<TxInject>) -> Result<Option<Self>> {
        if !cfg!(CONFIG_FAULT_INJECTION) {
            return Ok(None);
        }
        let name = CString::try_from_fmt(fmt!("rvirtio_net-virtio{index}"))?;
        let dir = Dir::new(&name);
        let file = KBox::pin_init(
            dir.write_callback_file(c"inject_tx", inject.clone(), &write),
            GFP_KERNEL,
        )?;
        let ctrl_file = KBox::pin_init(
            dir.write_callback_file(c"ctrl_timeout", inject.clone(), &write_ctrl),
            GFP_KERNEL,
        )?;
        Ok(Some(Self {
            _file: file,
            _ctrl_file: ctrl_file,
            _dir: dir,
        }))
    }
}
