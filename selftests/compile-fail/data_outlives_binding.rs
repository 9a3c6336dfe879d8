// SPDX-License-Identifier: GPL-2.0

//! Must not build: a driver whose data claims its virtqueue for `'static`.
//!
//! The driver's data type does not name the binding's lifetime: it holds a queue typed
//! `Virtqueue<'static, _>`, as if the queue could live forever. Its probe gets the device for
//! the binding only (`&'bound Device`, with `'bound` chosen by the abstraction, never
//! `'static`), so the queue it creates cannot be stored there. A driver keeps its queues in
//! `Data<'bound>`.
//!
//! Built without `--cfg misuse`, the driver stores nothing and builds: the refusal is the
//! misuse's alone.
//!
//! expect: must outlive `'static`

include!("common.rs");

module! {
    type: Case,
    name: "rvirtio_cf_data",
    authors: ["The rvirtio developers"],
    description: "Compile-fail case: driver data that claims its virtqueue for 'static",
    license: "GPL",
}

struct Drv;

/// The driver's data, without the binding's lifetime.
struct Forever {
    _vq: Option<virtio::Virtqueue<'static, KBox<virtio::Request>>>,
}

#[vtable]
impl virtio::Driver for Drv {
    type Data<'bound> = Forever;

    const DEVICE_ID: u32 = 1;
    const FEATURES: &'static [u32] = &[];

    fn probe<'bound>(dev: &'bound virtio::Device) -> impl PinInit<Forever, Error> + 'bound {
        probe(dev)
    }

    fn vq_interrupt(_this: &Forever, _index: u32) {}
}

fn probe(dev: &virtio::Device) -> Result<Forever> {
    let mut vqs = dev.find_vqs(one_queue()?)?;
    let vq = vqs.take::<KBox<virtio::Request>>(0)?;
    #[cfg(misuse)]
    let kept = Some(vq);
    #[cfg(not(misuse))]
    let kept = {
        drop(vq);
        None
    };
    Ok(Forever { _vq: kept })
}
