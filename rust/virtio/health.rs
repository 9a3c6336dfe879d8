// SPDX-License-Identifier: GPL-2.0

//! Device health through devlink.
//!
//! A transport that names a health reporter ([`Transport::HEALTH_REPORTER`]) gets a devlink
//! instance for each registered device, on the parent device (e.g. `pci/0000:00:0a.0`), with
//! that reporter. Its operations go to the transport, with the device:
//!
//! - `devlink health recover`: [`Transport::health_recover`], in the caller's context;
//! - an error the reset work reports ([`Recovery::report`]): devlink counts it, keeps a dump
//!   ([`Transport::health_dump`]) and, unless the user turned `auto_recover` off or the
//!   reporter is in its grace period, calls [`Transport::health_recover`] at once, in the work;
//! - `devlink health diagnose`, `dump` and `test`: [`Transport::health_diagnose`],
//!   [`Transport::health_dump`] and [`Transport::health_test`];
//! - `devlink dev param show` and `set`: [`Transport::PARAMS`], driver-specific runtime
//!   parameters of the device, through [`Transport::param_get`] and [`Transport::param_set`].
//!
//! devlink runs the operations with its instance lock held, so two of them never run at once;
//! a recovery the user asks for does not run while the parent has the driver stopped (`EBUSY`).
//! The instance is registered once the device is, and unregistered before it is (devlink waits
//! for operations in progress), so no operation sees a device that is not registered. Reports
//! go through `Health`, whose lock `Health::close` takes to unregister: no report reaches
//! an unregistered instance. An operation never reports itself (that lock would be taken
//! twice), which [`Recovery`] enforces.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h).

use super::{reset::Recovery, Inner, Transport};
use crate::bindings;
use core::{ffi::c_void, marker::PhantomData, ptr};
use kernel::{
    device,
    error::{from_err_ptr, to_result},
    prelude::*,
    str::{as_char_ptr_in_const_context, CString},
    sync::Mutex,
};

/// "Operation not supported", the answer for an operation that a transport lacks (the kernel
/// crate has no constant for it).
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// "Operation canceled", devlink's answer to a report that it did not recover automatically
/// (see `Health::report`).
pub(crate) fn ecanceled() -> Error {
    Error::from_errno(-(kernel::bindings::ECANCELED as i32))
}

/// A devlink instance with its health reporter.
struct Instance {
    devlink: *mut bindings::devlink,
    reporter: *mut bindings::devlink_health_reporter,
    /// The registered parameters (empty if none are), which devlink points to.
    params: KVec<bindings::devlink_param>,
}

// SAFETY: The pointers are only used under the lock of `Health`, from any thread.
unsafe impl Send for Instance {}

/// The devlink instance of a registered device, if it has one.
///
/// # Invariants
///
/// While `instance` holds an instance, it is registered, and its reporter's private data and
/// the pointer in its own private data are the `Inner` given to [`Health::open`], whose device
/// is registered. Its parameters, if any, are registered with it, and are `params`.
#[pin_data]
pub(super) struct Health {
    #[pin]
    instance: Mutex<Option<Instance>>,
}

/// The operations of a devlink instance that has nothing but a health reporter.
// SAFETY: All-zero is a valid `struct devlink_ops`: no callback and no flag.
static DEVLINK_OPS: bindings::devlink_ops = unsafe { core::mem::zeroed() };

impl Health {
    /// No instance yet.
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            instance <- kernel::new_mutex!(None),
        })
    }

    /// Creates and registers the devlink instance of `parent`, with the health reporter of
    /// `T`. Without one (no reporter, or devlink failed) the device works as before; a failure
    /// is only reported.
    ///
    /// # Safety
    ///
    /// `inner` must stay valid, with its device registered, until [`Health::close`] returns.
    pub(super) unsafe fn open<T: Transport>(
        &self,
        parent: &device::Device<device::Bound>,
        inner: *const Inner<T>,
    ) {
        let Some(name) = T::HEALTH_REPORTER else {
            return;
        };
        // `device::Device` is a transparent wrapper of `struct device`.
        let raw = ptr::from_ref(parent).cast_mut().cast();
        // SAFETY: `DEVLINK_OPS` lives forever; `raw` is a valid device, bound to its driver.
        let devlink =
            unsafe { bindings::devlink_alloc(&DEVLINK_OPS, size_of::<*const Inner<T>>(), raw) };
        if devlink.is_null() {
            dev_warn!(parent, "no devlink instance: out of memory\n");
            return;
        }
        // SAFETY: `devlink` has room for a pointer in its private data, suitably aligned.
        unsafe {
            bindings::devlink_priv(devlink)
                .cast::<*const Inner<T>>()
                .write(inner)
        };
        // SAFETY: `devlink` is ours, not registered yet; the operations live forever, and their
        // private data, `inner`, outlives the reporter (it is destroyed in `close`).
        let reporter = unsafe {
            bindings::devlink_health_reporter_create(
                devlink,
                &Adapter::<T>::OPS,
                inner.cast_mut().cast(),
            )
        };
        if let Err(e) = from_err_ptr(reporter) {
            dev_warn!(parent, "no devlink health reporter {}: {:?}\n", name, e);
            // SAFETY: `devlink` is ours, not registered, with nothing in it.
            unsafe { bindings::devlink_free(devlink) };
            return;
        }
        let params = Params::<T>::register(parent, devlink);
        // SAFETY: `devlink` is ours and complete.
        unsafe { bindings::devlink_register(devlink) };
        *self.instance.lock() = Some(Instance {
            devlink,
            reporter,
            params,
        });
    }

    /// Unregisters and frees the instance, waiting for the operations and the report in
    /// progress. Nothing reaches the transport through devlink afterwards.
    pub(super) fn close(&self) {
        // A report in progress holds the lock: once it is ours, none is, and none starts.
        let Some(i) = self.instance.lock().take() else {
            return;
        };
        // SAFETY: By the type invariant `i.devlink` is registered, with the reporter
        // `i.reporter` in it; unregistering waits for the operations in progress, and no other
        // reference to the instance is left.
        unsafe {
            bindings::devlink_unregister(i.devlink);
            if !i.params.is_empty() {
                bindings::devlink_params_unregister(i.devlink, i.params.as_ptr(), i.params.len());
            }
            bindings::devlink_health_reporter_destroy(i.reporter);
            bindings::devlink_free(i.devlink);
        }
    }

    /// Reports an error of the device to devlink, which may recover it at once through
    /// [`Transport::health_recover`] with `rec`. Returns `None` if the device has no devlink
    /// instance, or devlink's answer: `ECANCELED` if it did not recover automatically
    /// (the previous error was not recovered, or the grace period is running), or the error
    /// of the recovery.
    pub(super) fn report(&self, msg: &CStr, rec: &Recovery<'_>) -> Option<Result> {
        let instance = self.instance.lock();
        let i = instance.as_ref()?;
        // SAFETY: By the type invariant the reporter is registered; `msg` is a valid string,
        // and `rec` outlives the call, in which devlink hands it back to our operations only.
        let ret = unsafe {
            bindings::devlink_health_report(
                i.reporter,
                msg.as_char_ptr(),
                ptr::from_ref(rec).cast_mut().cast(),
            )
        };
        Some(to_result(ret))
    }

    /// Tells devlink that the device recovered without it (a retry after a failed recovery):
    /// the reporter counts a recovery and is healthy again.
    pub(super) fn recovered(&self) {
        let instance = self.instance.lock();
        if let Some(i) = instance.as_ref() {
            // SAFETY: By the type invariant the reporter is registered.
            unsafe {
                bindings::devlink_health_reporter_recovery_done(i.reporter);
                bindings::devlink_health_reporter_state_update(
                    i.reporter,
                    bindings::devlink_health_reporter_state_DEVLINK_HEALTH_REPORTER_STATE_HEALTHY,
                );
            }
        }
    }
}

/// A devlink message that a diagnosis or a dump fills: name-value pairs, objects and arrays.
/// What devlink cannot add (out of memory) makes the whole operation fail, after the callback.
pub(crate) struct Fmsg<'a> {
    raw: *mut bindings::devlink_fmsg,
    _p: PhantomData<&'a mut bindings::devlink_fmsg>,
}

impl Fmsg<'_> {
    /// The message at `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is a devlink message being filled, valid for `'a`.
    unsafe fn from_raw(raw: *mut bindings::devlink_fmsg) -> Self {
        Self {
            raw,
            _p: PhantomData,
        }
    }

    /// Adds `name: value`.
    pub(crate) fn put_u32(&mut self, name: &CStr, value: u32) {
        // SAFETY: `raw` is valid for `'a`; `name` is a valid string, which devlink copies.
        unsafe { bindings::devlink_fmsg_u32_pair_put(self.raw, name.as_char_ptr(), value) }
    }

    /// Adds `name: value`.
    pub(crate) fn put_u64(&mut self, name: &CStr, value: u64) {
        // SAFETY: As in `put_u32`.
        unsafe { bindings::devlink_fmsg_u64_pair_put(self.raw, name.as_char_ptr(), value) }
    }

    /// Adds `name: value`.
    pub(crate) fn put_bool(&mut self, name: &CStr, value: bool) {
        // SAFETY: As in `put_u32`.
        unsafe { bindings::devlink_fmsg_bool_pair_put(self.raw, name.as_char_ptr(), value) }
    }

    /// Adds `name: value`.
    pub(crate) fn put_str(&mut self, name: &CStr, value: &str) {
        // A string without its NUL, e.g. a name of ours; "?" if there is no memory for it.
        let value = CString::try_from_fmt(fmt!("{value}"));
        let value = value.as_deref().unwrap_or(c"?");
        // SAFETY: As in `put_u32`; devlink copies `value` too.
        unsafe {
            bindings::devlink_fmsg_string_pair_put(
                self.raw,
                name.as_char_ptr(),
                value.as_char_ptr(),
            )
        }
    }

    /// Adds `name: { ... }`, with what `f` puts in it.
    pub(crate) fn object(&mut self, name: &CStr, f: impl FnOnce(&mut Self)) {
        // SAFETY: As in `put_u32`; the nests are closed below.
        unsafe {
            bindings::devlink_fmsg_pair_nest_start(self.raw, name.as_char_ptr());
            bindings::devlink_fmsg_obj_nest_start(self.raw);
        }
        f(self);
        // SAFETY: They were opened above.
        unsafe {
            bindings::devlink_fmsg_obj_nest_end(self.raw);
            bindings::devlink_fmsg_pair_nest_end(self.raw);
        }
    }

    /// Adds `name: [ {...}, ... ]`, one object for each call of `f`, with what it puts in it.
    pub(crate) fn array<I>(
        &mut self,
        name: &CStr,
        items: impl IntoIterator<Item = I>,
        mut f: impl FnMut(&mut Self, I),
    ) {
        // SAFETY: As in `put_u32`; the nests are closed below.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_start(self.raw, name.as_char_ptr()) };
        for item in items {
            // SAFETY: As above; closed at once.
            unsafe { bindings::devlink_fmsg_obj_nest_start(self.raw) };
            f(self, item);
            // SAFETY: Opened just above.
            unsafe { bindings::devlink_fmsg_obj_nest_end(self.raw) };
        }
        // SAFETY: Opened above.
        unsafe { bindings::devlink_fmsg_arr_pair_nest_end(self.raw) };
    }
}

/// The reporter operations of transport `T`.
struct Adapter<T>(PhantomData<T>);

impl<T: Transport> Adapter<T> {
    const OPS: bindings::devlink_health_reporter_ops = bindings::devlink_health_reporter_ops {
        name: match T::HEALTH_REPORTER {
            Some(name) => as_char_ptr_in_const_context(name).cast_mut(),
            None => ptr::null_mut(),
        },
        recover: Some(Self::recover),
        dump: Some(Self::dump),
        diagnose: Some(Self::diagnose),
        test: Some(Self::test),
        // No grace period unless the user sets one: the transport has its own limits.
        default_graceful_period: 0,
        default_burst_period: 0,
    };

    /// The transport state of the device of `reporter`.
    ///
    /// # Safety
    ///
    /// `reporter` is one that [`Health::open`] created for `T`, and devlink is calling one of
    /// its operations.
    unsafe fn inner<'a>(reporter: *mut bindings::devlink_health_reporter) -> &'a Inner<T> {
        // SAFETY: By the safety requirements the private data is the `Inner<T>` of a device
        // that stays registered while the instance is, which it is during an operation.
        unsafe { &*bindings::devlink_health_reporter_priv(reporter).cast::<Inner<T>>() }
    }

    /// Runs `f` with the recovery that reported the error (`ctx`, from [`Health::report`]), or
    /// with a new one for an operation that the user asked for; says which.
    ///
    /// # Safety
    ///
    /// `ctx` is NULL or what [`Health::report`] passed, and devlink is calling an operation of
    /// the reporter of `inner`.
    unsafe fn with_recovery<R>(
        inner: &Inner<T>,
        ctx: *mut c_void,
        f: impl FnOnce(&Recovery<'_>, bool) -> R,
    ) -> R {
        if ctx.is_null() {
            f(&Recovery::in_health_op(inner.control()), false)
        } else {
            // SAFETY: By the safety requirements `ctx` is the `Recovery` whose report is in
            // progress on this thread.
            f(unsafe { &*ctx.cast::<Recovery<'_>>() }, true)
        }
    }

    /// `devlink_health_reporter_ops::recover`.
    ///
    /// # Safety
    ///
    /// Called by devlink, for a reporter that [`Health::open`] created for `T`.
    unsafe extern "C" fn recover(
        reporter: *mut bindings::devlink_health_reporter,
        ctx: *mut c_void,
        _extack: *mut kernel::bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        let inner = unsafe { Self::inner(reporter) };
        // A recovery the user asks for waits while the parent stops the driver (sleep, or a
        // reset of the parent), and does not run while it is stopped. The one of a report
        // runs in the reset work, which is paused meanwhile.
        let stopped = ctx.is_null().then(|| inner.stopped.lock());
        if stopped.as_ref().is_some_and(|s| s.current.is_some()) {
            return EBUSY.to_errno();
        }
        // SAFETY: devlink passes back the context of the report, or NULL.
        let ret = unsafe {
            Self::with_recovery(inner, ctx, |rec, reported| {
                inner.transport.health_recover(rec, reported)
            })
        };
        drop(stopped);
        to_c(ret)
    }

    /// `devlink_health_reporter_ops::dump`.
    ///
    /// # Safety
    ///
    /// As for [`Self::recover`]; `fmsg` is valid during the call.
    unsafe extern "C" fn dump(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        ctx: *mut c_void,
        _extack: *mut kernel::bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        let inner = unsafe { Self::inner(reporter) };
        // SAFETY: devlink fills `fmsg` during the call.
        let mut fmsg = unsafe { Fmsg::from_raw(fmsg) };
        // SAFETY: devlink passes back the context of the report, or NULL.
        let ret = unsafe {
            Self::with_recovery(inner, ctx, |rec, _| {
                inner.transport.health_dump(rec, &mut fmsg)
            })
        };
        to_c(ret)
    }

    /// `devlink_health_reporter_ops::diagnose`.
    ///
    /// # Safety
    ///
    /// As for [`Self::dump`].
    unsafe extern "C" fn diagnose(
        reporter: *mut bindings::devlink_health_reporter,
        fmsg: *mut bindings::devlink_fmsg,
        _extack: *mut kernel::bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        let inner = unsafe { Self::inner(reporter) };
        // SAFETY: devlink fills `fmsg` during the call.
        let mut fmsg = unsafe { Fmsg::from_raw(fmsg) };
        to_c(inner.transport.health_diagnose(&inner.control(), &mut fmsg))
    }

    /// `devlink_health_reporter_ops::test`.
    ///
    /// # Safety
    ///
    /// As for [`Self::recover`].
    unsafe extern "C" fn test(
        reporter: *mut bindings::devlink_health_reporter,
        _extack: *mut kernel::bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        let inner = unsafe { Self::inner(reporter) };
        to_c(inner.transport.health_test(&inner.control()))
    }
}

/// The driver-specific devlink parameters of transport `T`: runtime `u32` values.
struct Params<T>(PhantomData<T>);

impl<T: Transport> Params<T> {
    /// The id of the first parameter: driver-specific ids follow the generic ones.
    const FIRST_ID: u32 = bindings::devlink_param_generic_id_DEVLINK_PARAM_GENERIC_ID_MAX + 1;

    /// Registers [`Transport::PARAMS`] with `devlink`, before it is registered. Returns the
    /// parameters, which must stay where they are until they are unregistered; empty if there
    /// are none, or if they could not be registered (the instance works without them).
    fn register(
        parent: &device::Device<device::Bound>,
        devlink: *mut bindings::devlink,
    ) -> KVec<bindings::devlink_param> {
        let mut params = KVec::new();
        for (id, name) in (Self::FIRST_ID..).zip(T::PARAMS) {
            let param = bindings::devlink_param {
                id,
                name: name.as_char_ptr(),
                generic: false,
                type_: bindings::devlink_param_type_DEVLINK_PARAM_TYPE_U32,
                supported_cmodes: 1 << bindings::devlink_param_cmode_DEVLINK_PARAM_CMODE_RUNTIME,
                get: Some(Self::get),
                set: Some(Self::set),
                validate: None,
                get_default: None,
                reset_default: None,
            };
            if params.push(param, GFP_KERNEL).is_err() {
                dev_warn!(parent, "no devlink parameters: out of memory\n");
                return KVec::new();
            }
        }
        if params.is_empty() {
            return params;
        }
        // SAFETY: `devlink` is allocated and not registered; the parameters have names that
        // live forever, and stay where they are until `Health::close` unregisters them.
        let ret =
            unsafe { bindings::devlink_params_register(devlink, params.as_ptr(), params.len()) };
        if let Err(e) = to_result(ret) {
            dev_warn!(parent, "no devlink parameters: {:?}\n", e);
            return KVec::new();
        }
        params
    }

    /// The transport state of the device of `devlink`, and the index in [`Transport::PARAMS`]
    /// of parameter `id`.
    ///
    /// # Safety
    ///
    /// `devlink` is an instance that [`Health::open`] created for `T`, and devlink is calling
    /// an operation of one of its parameters.
    unsafe fn inner<'a>(devlink: *mut bindings::devlink, id: u32) -> (&'a Inner<T>, usize) {
        // SAFETY: By the safety requirements the private data holds the pointer to the
        // `Inner<T>` of a device that stays registered while the instance is, which it is
        // during an operation.
        let inner = unsafe { &**bindings::devlink_priv(devlink).cast::<*const Inner<T>>() };
        (inner, id.wrapping_sub(Self::FIRST_ID) as usize)
    }

    /// `devlink_param::get`.
    ///
    /// # Safety
    ///
    /// Called by devlink, for a parameter that [`Self::register`] registered; `ctx` is valid.
    unsafe extern "C" fn get(
        devlink: *mut bindings::devlink,
        id: u32,
        ctx: *mut bindings::devlink_param_gset_ctx,
        _extack: *mut kernel::bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        let (inner, index) = unsafe { Self::inner(devlink, id) };
        let value = inner.transport.param_get(index);
        // SAFETY: `ctx` is valid, and the value of a `u32` parameter is `vu32`, at the start
        // of the union (as every member of a C union).
        unsafe { ptr::addr_of_mut!((*ctx).val).cast::<u32>().write(value) };
        0
    }

    /// `devlink_param::set`.
    ///
    /// # Safety
    ///
    /// As for [`Self::get`].
    unsafe extern "C" fn set(
        devlink: *mut bindings::devlink,
        id: u32,
        ctx: *mut bindings::devlink_param_gset_ctx,
        _extack: *mut kernel::bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: By the safety requirements.
        let (inner, index) = unsafe { Self::inner(devlink, id) };
        // SAFETY: `ctx` is valid, and devlink parsed a `u32` for a `u32` parameter, into
        // `vu32`, at the start of the union.
        let value = unsafe { ptr::addr_of!((*ctx).val).cast::<u32>().read() };
        to_c(inner.transport.param_set(index, value))
    }
}

fn to_c(ret: Result) -> c_int {
    match ret {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
