// SPDX-License-Identifier: GPL-2.0

//! Test-only module: the virtio abstraction gives a device one set of virtqueues at a time.
//!
//! A second set would delete the first's queues when dropped, under the first's `Virtqueue`s:
//! `Device::find_vqs` must refuse it (`EBUSY`) while the first lives, and create a set again
//! once it is dropped. This driver binds virtio entropy devices: its probe asks for a set, asks
//! again, drops the first and asks once more, and prints what each call returned; once the
//! device is ready, it sends a request on the last set's queue and waits for the device to use
//! it, so that the set created after the refusal is shown to work. The guest test
//! `virtio_vqs_once` reads the messages. Never load it outside that test.

// Only a part of the abstractions is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code, unused_imports)]
#[path = "../../rust/virtio/driver.rs"]
mod virtio;

use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::Mutex,
    time::{delay::fsleep, Delta},
};
use virtio::{QueueSpec, Request, Virtqueue};

module! {
    type: VqCheckModule,
    name: "rvirtio_vqcheck",
    authors: ["The rvirtio developers"],
    description: "Test-only: one set of virtqueues per virtio device at a time",
    license: "GPL",
}

/// `VIRTIO_ID_RNG`.
const VIRTIO_ID_RNG: u32 = 4;

/// How long `ready` waits for the device to use its request: 100 polls of 10 ms.
const POLLS: u32 = 100;

#[pin_data]
struct VqCheckModule {
    #[pin]
    _driver: virtio::Registration<VqCheck>,
}

impl kernel::InPlaceModule for VqCheckModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _driver <- virtio::Registration::new(c"rvirtio_vqcheck", module),
        })
    }
}

struct VqCheck;

/// The device's data: the queue of the last set.
#[pin_data]
struct VqCheckData<'bound> {
    #[pin]
    vq: Mutex<Virtqueue<'bound, KBox<Request>>>,
}

/// One queue, `req`, without a callback: the driver polls it.
fn specs() -> Result<KVec<QueueSpec>> {
    let mut specs = KVec::new();
    specs.push(
        QueueSpec {
            name: CString::try_from_fmt(fmt!("req"))?,
            callback: false,
        },
        GFP_KERNEL,
    )?;
    Ok(specs)
}

/// What a `find_vqs` returned, for the message.
fn outcome<T>(r: &Result<T>) -> &'static str {
    match r {
        Ok(_) => "created",
        Err(e) if *e == EBUSY => "EBUSY",
        Err(_) => "failed",
    }
}

fn probe(dev: &virtio::Device) -> Result<Virtqueue<'_, KBox<Request>>> {
    let first = dev.find_vqs(specs()?);
    let second = dev.find_vqs(specs()?);
    let (a, b) = (outcome(&first), outcome(&second));
    drop(second);
    drop(first);
    let third = dev.find_vqs(specs()?);
    dev_info!(
        dev.as_ref(),
        "find_vqs: first {a}, second {b}, after the first dropped {}\n",
        outcome(&third)
    );
    third?.take(0)
}

#[vtable]
impl virtio::Driver for VqCheck {
    type Data<'bound> = VqCheckData<'bound>;

    const DEVICE_ID: u32 = VIRTIO_ID_RNG;
    const FEATURES: &'static [u32] = &[];

    fn probe<'bound>(
        dev: &'bound virtio::Device,
    ) -> impl PinInit<VqCheckData<'bound>, Error> + 'bound {
        try_pin_init!(VqCheckData {
            vq <- new_mutex!(probe(dev)?),
        })
    }

    /// Sends a request on the queue and waits for the device to use it.
    fn ready<'bound>(dev: &'bound virtio::Device, this: &VqCheckData<'bound>) -> Result {
        let mut vq = this.vq.lock();
        let req = KBox::new(Request::new(&[&[0u8]], 16)?, GFP_KERNEL)?;
        vq.add_request(req).map_err(|(e, _)| e)?;
        vq.kick();
        for _ in 0..POLLS {
            if let Some((_, len)) = vq.get_buf() {
                dev_info!(dev.as_ref(), "request used: {len} bytes written\n");
                return Ok(());
            }
            fsleep(Delta::from_millis(10));
        }
        dev_err!(dev.as_ref(), "the device did not use the request\n");
        Err(ETIMEDOUT)
    }

    fn vq_interrupt(_this: &VqCheckData<'_>, _index: u32) {}
}
