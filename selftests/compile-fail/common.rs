// SPDX-License-Identifier: GPL-2.0

// What every compile-fail case needs, included (`include!`) at its crate root: the
// abstractions, a module that does nothing, and the queue a case asks for.

// Only a part of the abstractions is used.
#[allow(dead_code, unused_imports)]
#[path = "../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code, unused_imports)]
#[path = "../../rust/virtio/driver.rs"]
mod virtio;

use kernel::{prelude::*, str::CString};

struct Case;

impl kernel::Module for Case {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

/// One queue, without a callback.
fn one_queue() -> Result<KVec<virtio::QueueSpec>> {
    let mut specs = KVec::new();
    specs.push(
        virtio::QueueSpec {
            name: CString::try_from_fmt(fmt!("control"))?,
            callback: false,
        },
        GFP_KERNEL,
    )?;
    Ok(specs)
}
