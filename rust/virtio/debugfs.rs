// SPDX-License-Identifier: GPL-2.0

//! Per-device debugfs files of a transport.
//!
//! A transport lists its files in [`super::Transport::DEBUGFS`]; each registration creates a
//! directory named after the device's bus location under the root the module created with
//! [`Root`], e.g. `/sys/kernel/debug/rvirtio-pci/0000:00:08.0/`. The files are removed before
//! the device is unregistered; debugfs waits for readers and writers that are inside a file
//! operation.

use super::{reset::Control, Inner, Transport};
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    alloc::KVec,
    bindings,
    error::from_err_ptr,
    prelude::*,
    seq_file::SeqFile,
    uaccess::{UserPtr, UserSlice}, //
};

/// The largest write a debugfs file of ours accepts.
const MAX_WRITE: usize = 64;

/// One file of a device's debugfs directory. Its contents come from
/// [`Transport::debugfs_show`], writes go to [`Transport::debugfs_store`], both with the
/// file's position in [`Transport::DEBUGFS`].
pub(crate) struct File {
    /// File name.
    pub(crate) name: &'static CStr,
    /// Whether the file can be written (up to 64 bytes at a time).
    pub(crate) writable: bool,
}

/// The debugfs root of the module's devices.
static ROOT: AtomicPtr<bindings::dentry> = AtomicPtr::new(ptr::null_mut());

/// The module's debugfs directory: devices registered while it exists get a directory in it.
///
/// Dropping it removes it with everything left inside; devices must be unregistered first.
pub(crate) struct Root(());

impl Root {
    /// Creates `/sys/kernel/debug/<name>`. Without debugfs, devices simply get no files.
    pub(crate) fn new(name: &CStr) -> Self {
        // SAFETY: `name` is a valid string; a NULL parent means the debugfs root.
        let dir = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut()) };
        if from_err_ptr(dir).is_ok() {
            ROOT.store(dir, Ordering::Release);
        }
        Root(())
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let dir = ROOT.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `dir` is NULL or the directory created by `new`; removing NULL is a no-op.
        unsafe { bindings::debugfs_remove(dir) };
    }
}

/// What a file's `i_private` points to.
struct FileCtx<T: Transport> {
    inner: *const Inner<T>,
    index: usize,
}

/// The debugfs directory of one registered device.
///
/// # Invariants
///
/// While `dir` is not NULL, its files point to the entries of `files`, which is not resized,
/// and every `inner` in it is valid.
pub(super) struct Dir<T: Transport> {
    dir: *mut bindings::dentry,
    files: KVec<FileCtx<T>>,
}

impl<T: Transport> Dir<T> {
    /// A directory that holds nothing.
    pub(super) fn empty() -> Self {
        Self {
            dir: ptr::null_mut(),
            files: KVec::new(),
        }
    }

    /// Creates the directory `name` with the files of `T`.
    ///
    /// # Safety
    ///
    /// `inner` must stay valid until [`Dir::remove`] is called or the directory is dropped.
    pub(super) unsafe fn new(name: &CStr, inner: *const Inner<T>) -> Self {
        let root = ROOT.load(Ordering::Acquire);
        if root.is_null() || T::DEBUGFS.is_empty() {
            return Self::empty();
        }
        let mut files = KVec::new();
        for index in 0..T::DEBUGFS.len() {
            if files.push(FileCtx { inner, index }, GFP_KERNEL).is_err() {
                return Self::empty();
            }
        }
        // SAFETY: `root` is the module's directory, which outlives its devices.
        let dir = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), root) };
        if from_err_ptr(dir).is_err() {
            return Self::empty();
        }
        for (ctx, file) in files.iter().zip(T::DEBUGFS) {
            let mode = if file.writable { 0o600 } else { 0o400 };
            // SAFETY: `dir` is ours; `ctx` stays at its address until the files are removed
            // (the vector is not resized), and the file operations only use it until then.
            unsafe {
                bindings::debugfs_create_file_full(
                    file.name.as_char_ptr(),
                    mode,
                    dir,
                    ptr::from_ref(ctx).cast_mut().cast(),
                    ptr::null(),
                    &FileOps::<T>::FOPS,
                )
            };
        }
        Self { dir, files }
    }

    /// Removes the directory, waiting for file operations in progress.
    pub(super) fn remove(&mut self) {
        let dir = core::mem::replace(&mut self.dir, ptr::null_mut());
        // SAFETY: `dir` is NULL or our directory.
        unsafe { bindings::debugfs_remove(dir) };
        // No file refers to the contexts any more.
        self.files.clear();
    }
}

impl<T: Transport> Drop for Dir<T> {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The file operations, for transport `T`.
struct FileOps<T>(PhantomData<T>);

impl<T: Transport> FileOps<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        #[cfg(MODULE)]
        owner: (&raw const bindings::__this_module).cast_mut(),
        open: Some(Self::open),
        read: Some(bindings::seq_read),
        write: Some(Self::write),
        llseek: Some(bindings::seq_lseek),
        release: Some(bindings::single_release),
        // SAFETY: All other members are optional callbacks, flags and pointers, for which zero
        // means "none".
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// Runs `f` with the file's context.
    ///
    /// # Safety
    ///
    /// `ctx` must be the `i_private` of one of our files, which is not removed yet.
    unsafe fn with<R>(ctx: *const FileCtx<T>, f: impl FnOnce(usize, &T, &Control<'_>) -> R) -> R {
        // SAFETY: By the safety requirements and the invariant of `Dir`, `ctx` and its
        // `inner` are valid.
        let (index, inner) = unsafe { ((*ctx).index, &*(*ctx).inner) };
        f(index, &inner.transport, &inner.control())
    }

    /// `file_operations::open`.
    ///
    /// # Safety
    ///
    /// Called by debugfs for one of our files.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `inode` is valid; its `i_private` is what `Dir::new` gave debugfs.
        let ctx = unsafe { (*inode).i_private };
        // SAFETY: `file` is being opened; `show` gets `ctx` back as the seq_file's private data.
        unsafe { bindings::single_open(file, Some(Self::show), ctx) }
    }

    /// The seq_file `show` callback.
    ///
    /// # Safety
    ///
    /// `m` is a seq_file opened by `open`, in a read.
    unsafe extern "C" fn show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
        // SAFETY: `m` is valid for the duration of the callback and ours alone.
        let (seq, ctx) = unsafe { (SeqFile::from_raw(m), (*m).private.cast::<FileCtx<T>>()) };
        // SAFETY: `ctx` is the context of a file that debugfs keeps from being removed while
        // the operation runs.
        unsafe { Self::with(ctx, |index, t, ctl| t.debugfs_show(index, ctl, seq)) };
        0
    }

    /// `file_operations::write`.
    ///
    /// # Safety
    ///
    /// Called by debugfs for one of our files opened by `open`; `buf` is a user pointer.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        len: usize,
        _pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `single_open` made the file's private data its seq_file.
        let ctx = unsafe { (*(*file).private_data.cast::<bindings::seq_file>()).private };
        let ctx = ctx.cast::<FileCtx<T>>();
        let mut data = [0u8; MAX_WRITE];
        let Some(dst) = data.get_mut(..len) else {
            return EINVAL.to_errno() as isize;
        };
        let user = UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), len);
        if let Err(e) = user.reader().read_slice(dst) {
            return e.to_errno() as isize;
        }
        // SAFETY: As in `show`.
        let ret = unsafe {
            Self::with(ctx, |index, t, ctl| {
                t.debugfs_store(index, ctl, &data[..len])
            })
        };
        match ret {
            Ok(()) => len as isize,
            Err(e) => e.to_errno() as isize,
        }
    }
}

/// Parses a small unsigned number written to a debugfs file, ignoring surrounding white space.
pub(crate) fn parse_u32(buf: &[u8]) -> Result<u32> {
    let s = core::str::from_utf8(buf).map_err(|_| EINVAL)?.trim();
    s.parse::<u32>().map_err(|_| EINVAL)
}
