// SPDX-License-Identifier: GPL-2.0

//! Fault injection: making the device fail on purpose, to prove recovery end to end.
//!
//! Two points of the kernel's fault injection framework, in
//! `/sys/kernel/debug/rvirtio_net-virtio<N>/` (see [`crate::net::fault`]; only with
//! `CONFIG_FAULT_INJECTION_DEBUG_FS`: without it, neither the files nor the checks on the
//! transmit and control paths exist). Writing N to a point's `times` arms it for N checks:
//!
//! - `fail_tx`: the next transmit, on whichever queue, posts before its packet a request with no
//!   device-readable descriptor (one 4-byte device-writable buffer): there is no header to read.
//!   A device that checks (QEMU: "virtio-net header not in first element") reports a protocol
//!   error: DEVICE_NEEDS_RESET and a configuration interrupt.
//! - `fail_ctrl_timeout`: the next control command gives up at once instead of waiting for its
//!   answer, as if the device took longer than the timeout: the answer then comes later, while
//!   the next command waits for its own.
//!
//! A readable part shorter than the header would do too with a backend that takes vnet
//! headers, but QEMU 7.2 with one that does not (the hub) aborts on it (an assertion in
//! `iov_copy()`), so it is not used.

use crate::net::fault::Faults;
use kernel::{prelude::*, str::CString, sync::Arc};

/// Bytes of the malformed request's only (device-writable) buffer.
pub(super) const BAD_LEN: usize = 4;

/// The points, in the order of [`TxInject::TX`] and [`TxInject::CTRL_TIMEOUT`].
const POINTS: &[&CStr] = &[c"fail_tx", c"fail_ctrl_timeout"];

/// The injection points of a device, shared by the transmit queues and the control queue.
pub(crate) struct TxInject {
    faults: Faults,
}

impl TxInject {
    const TX: usize = 0;
    const CTRL_TIMEOUT: usize = 1;

    /// The points of virtio device `index`.
    pub(super) fn new(index: i32) -> Result<Arc<Self>> {
        let name = CString::try_from_fmt(fmt!("rvirtio_net-virtio{index}"))?;
        Ok(Arc::new(
            Self {
                faults: Faults::new(&name, POINTS)?,
            },
            GFP_KERNEL,
        )?)
    }

    /// Whether this transmit is to post a malformed request first. Always false without
    /// `CONFIG_FAULT_INJECTION_DEBUG_FS`.
    pub(super) fn take(&self) -> bool {
        self.faults.should_fail(Self::TX)
    }

    /// Whether this control command is to time out at once. Always false without
    /// `CONFIG_FAULT_INJECTION_DEBUG_FS`.
    pub(super) fn take_ctrl_timeout(&self) -> bool {
        self.faults.should_fail(Self::CTRL_TIMEOUT)
    }
}
