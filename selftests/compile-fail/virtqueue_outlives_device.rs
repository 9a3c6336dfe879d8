// SPDX-License-Identifier: GPL-2.0

//! Must not build: a driver keeps a virtqueue beyond the binding of its device.
//!
//! The driver hands its queue to something that keeps it for `'static` (a leaked box here; a
//! work item, a timer or a thread ask for the same). Used from there after the device is
//! unbound, the queue would reach a device and a vring that are gone. A queue borrows its device
//! for the binding (`Virtqueue<'bound, _>`), so the compiler refuses the driver.
//!
//! Built without `--cfg misuse`, the same driver builds: the refusal is the misuse's alone.
//!
//! expect: error[E0521]: borrowed data escapes outside of function

include!("common.rs");

module! {
    type: Case,
    name: "rvirtio_cf_virtqueue",
    authors: ["The rvirtio developers"],
    description: "Compile-fail case: a virtqueue kept beyond its device's binding",
    license: "GPL",
}

struct Drv;

#[vtable]
impl virtio::Driver for Drv {
    type Data<'bound> = ();

    const DEVICE_ID: u32 = 1;
    const FEATURES: &'static [u32] = &[];

    fn probe<'bound>(dev: &'bound virtio::Device) -> impl PinInit<(), Error> + 'bound {
        keep(dev)
    }

    fn vq_interrupt(_this: &(), _index: u32) {}
}

fn keep(dev: &virtio::Device) -> Result {
    let mut vqs = dev.find_vqs(one_queue()?)?;
    let vq = vqs.take::<KBox<virtio::Request>>(0)?;
    #[cfg(misuse)]
    keep_forever(vq)?;
    #[cfg(not(misuse))]
    drop(vq);
    Ok(())
}

/// Stands for whatever keeps a value for `'static`: a work item, a timer, a thread.
#[cfg_attr(not(misuse), expect(dead_code))]
fn keep_forever<T: Send + 'static>(value: T) -> Result {
    let _ = KBox::leak(KBox::new(value, GFP_KERNEL)?);
    Ok(())
}
