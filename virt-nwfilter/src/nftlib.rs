//! Running nftables batches in-process through `libnftables.so.1` (loaded at run time), so an
//! interface's rule set costs one netlink transaction instead of an `nft` process. One library
//! context is kept per network namespace (contexts are expensive to make and hold a netlink
//! socket of the namespace they were made in); calls are serialized. When the library is not
//! there, the `nft` program is used instead.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, OnceLock};

use crate::error::FilterError;

type NewFn = unsafe extern "C" fn(u32) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type BufFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type RunFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type ErrFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;

struct Lib {
    new: NewFn,
    free: FreeFn,
    buffer_output: BufFn,
    buffer_error: BufFn,
    run: RunFn,
    error: ErrFn,
}

struct Ctx {
    ns: (u64, u64),
    ptr: *mut c_void,
}

// SAFETY: a context is only ever used under the CONTEXTS mutex, one call at a time.
unsafe impl Send for Ctx {}

static LIB: OnceLock<Option<Lib>> = OnceLock::new();
static CONTEXTS: Mutex<VecDeque<Ctx>> = Mutex::new(VecDeque::new());
const MAX_CONTEXTS: usize = 8;

fn sym(handle: *mut c_void, name: &CStr) -> Option<*mut c_void> {
    // SAFETY: handle comes from dlopen; name is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

fn load() -> Option<Lib> {
    let name = CString::new("libnftables.so.1").ok()?;
    // SAFETY: dlopen with a valid name; the handle is kept for the life of the process.
    let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if h.is_null() {
        return None;
    }
    // SAFETY: the symbols have these C signatures in libnftables' public API (nftables.h).
    unsafe {
        Some(Lib {
            new: std::mem::transmute::<*mut c_void, NewFn>(sym(h, c"nft_ctx_new")?),
            free: std::mem::transmute::<*mut c_void, FreeFn>(sym(h, c"nft_ctx_free")?),
            buffer_output: std::mem::transmute::<*mut c_void, BufFn>(sym(
                h,
                c"nft_ctx_buffer_output",
            )?),
            buffer_error: std::mem::transmute::<*mut c_void, BufFn>(sym(
                h,
                c"nft_ctx_buffer_error",
            )?),
            run: std::mem::transmute::<*mut c_void, RunFn>(sym(h, c"nft_run_cmd_from_buffer")?),
            error: std::mem::transmute::<*mut c_void, ErrFn>(sym(h, c"nft_ctx_get_error_buffer")?),
        })
    }
}

fn open_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `fd` is a NETLINK_NETFILTER socket (the only kind libnftables opens).
fn is_netfilter_netlink(fd: i32) -> bool {
    let get = |opt: i32| {
        let mut v: i32 = -1;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: v and len are valid for the option's int result.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut i32).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(v)
    };
    get(libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
        && get(libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
}

/// libnftables opens its netlink socket without close-on-exec; make sure no child process
/// (a guest's QEMU, say) inherits it: every netfilter netlink socket of the process gets
/// FD_CLOEXEC (nothing here wants one inherited).
fn cloexec_netfilter_fds() {
    for fd in open_fds() {
        if !is_netfilter_netlink(fd) {
            continue;
        }
        // SAFETY: fcntl on an fd number; a closed or foreign fd only yields an error.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

fn current_ns() -> Option<(u64, u64)> {
    let m = std::fs::metadata("/proc/thread-self/ns/net").ok()?;
    Some((m.dev(), m.ino()))
}

/// Runs `batch` as one nftables transaction in the calling thread's network namespace.
/// Returns `None` when the library is unavailable (the caller then runs `nft`).
pub fn run(batch: &str) -> Option<Result<(), FilterError>> {
    let lib = LIB.get_or_init(load).as_ref()?;
    let ns = current_ns()?;
    let text = match CString::new(batch) {
        Ok(t) => t,
        Err(_) => {
            return Some(Err(FilterError::Unsupported(
                "an nftables batch with a NUL byte".into(),
            )))
        }
    };
    let mut ctxs = match CONTEXTS.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let pos = ctxs.iter().position(|c| c.ns == ns);
    let ctx = match pos {
        Some(i) => ctxs.remove(i)?,
        None => {
            // SAFETY: plain constructor; NULL is checked.
            let ptr = unsafe { (lib.new)(0) };
            if ptr.is_null() {
                return None;
            }
            // SAFETY: ptr is a live context.
            unsafe {
                (lib.buffer_output)(ptr);
                (lib.buffer_error)(ptr);
            }
            Ctx { ns, ptr }
        }
    };
    // SAFETY: ctx.ptr is a live context used by this thread only (under the lock); text is
    // NUL-terminated.
    let rc = unsafe { (lib.run)(ctx.ptr, text.as_ptr()) };
    cloexec_netfilter_fds();
    let result = if rc == 0 {
        Ok(())
    } else {
        // SAFETY: the error buffer is a NUL-terminated string owned by the context.
        let msg = unsafe {
            let p = (lib.error)(ctx.ptr);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().trim().to_string()
            }
        };
        Err(FilterError::Command {
            program: "libnftables".into(),
            message: msg,
        })
    };
    ctxs.push_front(ctx);
    while ctxs.len() > MAX_CONTEXTS {
        if let Some(old) = ctxs.pop_back() {
            // SAFETY: the context is no longer referenced anywhere.
            unsafe { (lib.free)(old.ptr) };
        }
    }
    Some(result)
}
