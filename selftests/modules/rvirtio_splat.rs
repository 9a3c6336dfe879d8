// SPDX-License-Identifier: GPL-2.0

//! Test-only module: raises a kernel warning when loaded.
//!
//! The VM runner must report any run whose console shows a splat as failed. The runner's own
//! self-test loads this module from a guest script that otherwise succeeds, and expects the run
//! to be reported as failed. Never load it outside that test.

use kernel::prelude::*;

module! {
    type: RvirtioSplat,
    name: "rvirtio_splat",
    authors: ["The rvirtio developers"],
    description: "Test-only: triggers a WARN_ON to test splat detection",
    license: "GPL",
}

struct RvirtioSplat;

impl kernel::Module for RvirtioSplat {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("raising a deliberate warning for the splat detector test\n");
        kernel::warn_on!(true);
        Ok(Self)
    }
}
