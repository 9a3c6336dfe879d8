// SPDX-License-Identifier: GPL-2.0

//! Fault injection points of the kernel's framework (`Documentation/fault-injection/`), for a
//! driver's own failures: each point is a `struct fault_attr` with the framework's debugfs
//! files (`probability`, `times`, `interval`, `verbose`, ...), in a directory of the driver's.
//!
//! The files are the framework's: no code of the driver's module is in their file operations,
//! so that a file held open across the module's unload calls nothing that went with it.
//!
//! A point starts idle: `probability` 100 and `times` 0, so that writing N to `times` makes
//! the next N checks fail; `verbose` 0 (no message and stack dump for each). Without
//! `CONFIG_FAULT_INJECTION_DEBUG_FS` there are neither points nor files, and nothing fails.
//!
//! A check is one read of `times` while the point is idle: the framework is called only once
//! it is armed, so that a check on a hot path (a driver's transmit) costs next to nothing on a
//! kernel built with fault injection. The per-task `fail-nth` therefore does not reach these
//! points.
//!
//! C header: [`include/linux/fault-inject.h`](srctree/include/linux/fault-inject.h).

#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
use crate::bindings;
use kernel::prelude::*;
#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
use kernel::{
    error::from_err_ptr,
    sync::atomic::{Atomic, Relaxed},
    types::Opaque,
};

/// A debugfs directory of fault injection points, removed with them when dropped.
///
/// # Invariants
///
/// `dir` is NULL or a debugfs directory of ours, whose files point to the entries of
/// `points`; each entry is initialised.
pub(crate) struct Faults {
    #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
    dir: *mut bindings::dentry,
    #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
    points: KVec<KBox<Opaque<bindings::fault_attr>>>,
}

// SAFETY: A `struct fault_attr` is made to be checked from any context at once (its counters
// are atomic); the directory is only used to remove it.
unsafe impl Send for Faults {}
// SAFETY: As above.
unsafe impl Sync for Faults {}

impl Faults {
    /// Creates `/sys/kernel/debug/<name>/` with one idle point in a subdirectory of each name
    /// in `points`, e.g. `<name>/fail_tx/times`. Without debugfs, or if a directory cannot be
    /// created, the points exist without files (and so never fail).
    pub(crate) fn new(name: &CStr, points: &[&CStr]) -> Result<Self> {
        #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
        {
            let mut attrs = KVec::with_capacity(points.len(), GFP_KERNEL)?;
            for _ in points {
                let attr = KBox::new(Opaque::<bindings::fault_attr>::uninit(), GFP_KERNEL)?;
                // SAFETY: `attr` is ours, and valid for writes.
                unsafe { bindings::fault_attr_init_idle(attr.get()) };
                attrs.push(attr, GFP_KERNEL)?;
            }
            // SAFETY: `name` is a valid string; a NULL parent means the debugfs root.
            let dir = unsafe {
                kernel::bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut())
            };
            let dir = if from_err_ptr(dir).is_ok() {
                dir
            } else {
                core::ptr::null_mut()
            };
            if !dir.is_null() {
                for (attr, point) in attrs.iter().zip(points) {
                    // SAFETY: `dir` is ours; `attr` is initialised and lives on the heap until
                    // `drop`, which removes the files first. A failure leaves the point
                    // without files.
                    unsafe {
                        bindings::fault_create_debugfs_attr(point.as_char_ptr(), dir, attr.get())
                    };
                }
            }
            // INVARIANT: The files of `dir` point to the entries of `attrs`, all initialised.
            Ok(Self { dir, points: attrs })
        }
        #[cfg(not(CONFIG_FAULT_INJECTION_DEBUG_FS))]
        {
            let _ = (name, points);
            Ok(Self {})
        }
    }

    /// Whether the check at point `index` (of the names given to [`Faults::new`]) is to fail
    /// now. Any context. `false` for an index out of range.
    #[inline]
    pub(crate) fn should_fail(&self, index: usize) -> bool {
        #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
        {
            self.points.get(index).is_some_and(|attr| {
                let attr = attr.get();
                // SAFETY: The point is initialised (type invariant); its `times` is an
                // `atomic_t`, which the framework only accesses atomically.
                let times =
                    unsafe { Atomic::from_ptr(core::ptr::addr_of_mut!((*attr).times.counter)) };
                // SAFETY: The point is initialised, and made for concurrent checks.
                times.load(Relaxed) != 0 && unsafe { bindings::should_fail(attr, 1) }
            })
        }
        #[cfg(not(CONFIG_FAULT_INJECTION_DEBUG_FS))]
        {
            let _ = index;
            false
        }
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        // The files go first, waiting for the operations on them in progress: the points are
        // freed after this.
        #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
        // SAFETY: `dir` is NULL or our directory (type invariant); removing NULL does nothing.
        unsafe {
            kernel::bindings::debugfs_remove(self.dir)
        };
    }
}
