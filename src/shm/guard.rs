//! SIGBUS protection for mappings of files that someone may truncate.
//!
//! Touching a page of a shared mapping past the end of its file raises
//! SIGBUS, which would kill the C program that called us. Checking the file
//! size before every access would cost a system call per call, so instead
//! every mapping we make is registered here, and a process-wide SIGBUS
//! handler (installed once, on the first registration) recognises a fault in
//! a registered range, maps anonymous zero memory over the **whole** mapping
//! in one call so the access completes, and marks the mapping poisoned. The
//! reader sees the poisoned flag after its copy, throws the copy away and
//! reopens the files.
//!
//! Replacing the whole mapping at the first fault, not the faulting page,
//! bounds the cost: one fault and one memory mapping per poisoned file
//! mapping, however many of its pages lost their backing. (Mapping a page at
//! a time once let a reader walking a file with many unbacked pages use up
//! `vm.max_map_count` and then die of the SIGBUS it was meant to survive.)
//!
//! A fault anywhere else is passed on to the handler that was installed
//! before ours, or to the default action, so the host program's own SIGBUS
//! behaviour is unchanged. This module owns that handler and the registry;
//! it must never allocate or lock inside the handler.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// Most mappings registered at once (two per open reader or writer, plus
/// old ones still in use by other threads during a remap).
const SLOTS: usize = 256;

struct Slot {
    start: AtomicUsize,
    len: AtomicUsize,
    poisoned: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    poisoned: AtomicBool::new(false),
};

static REGISTRY: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
static INSTALL: Once = Once::new();
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
/// The handler that was in place before ours, kept for chaining.
static mut PREVIOUS: Option<libc::sigaction> = None;

/// A registered mapping range. Dropping it unregisters the range; drop it
/// before unmapping.
#[derive(Debug)]
pub struct Registration {
    slot: Option<usize>,
}

impl Registration {
    /// True once a SIGBUS hit this range: data read from it may be zeros.
    pub fn poisoned(&self) -> bool {
        match self.slot {
            // Acquire pairs with the handler's Release: a thread that sees
            // the flag also sees the replacement page.
            Some(i) => REGISTRY[i].poisoned.load(Ordering::Acquire),
            None => false,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            REGISTRY[i].len.store(0, Ordering::Release);
            REGISTRY[i].poisoned.store(false, Ordering::Relaxed);
            REGISTRY[i].start.store(0, Ordering::Release);
        }
    }
}

/// Registers `[start, start+len)` and installs the handler if needed.
///
/// If every slot is taken the range is simply not protected (the caller
/// still works; a truncation would then raise SIGBUS as without this module).
pub fn register(start: *const u8, len: usize) -> Registration {
    INSTALL.call_once(install);
    let start = start as usize;
    for (i, slot) in REGISTRY.iter().enumerate() {
        if slot
            .start
            .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            slot.poisoned.store(false, Ordering::Relaxed);
            slot.len.store(len, Ordering::Release);
            return Registration { slot: Some(i) };
        }
    }
    Registration { slot: None }
}

fn install() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE_SIZE.store(page as usize, Ordering::Relaxed);
    }
    // SAFETY: we build a zeroed sigaction, fill the documented fields and
    // install it; PREVIOUS is written here once, inside Once, before the
    // handler that reads it can run.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0 {
            *std::ptr::addr_of_mut!(PREVIOUS) = Some(previous);
        }
    }
}

extern "C" fn on_sigbus(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let address = unsafe { (*info).si_addr() } as usize;
    for slot in REGISTRY.iter() {
        let start = slot.start.load(Ordering::Acquire);
        let len = slot.len.load(Ordering::Acquire);
        if start != 0 && address >= start && address - start < len {
            // SAFETY: the range is exactly a mapping we made and still own
            // (it is registered; mappings start page-aligned); replacing it
            // with anonymous zero memory only changes what our own readers
            // see there. mmap is safe to call from a signal handler (a plain
            // system call).
            let page = PAGE_SIZE.load(Ordering::Relaxed);
            let mapped = unsafe {
                libc::mmap(
                    start as *mut libc::c_void,
                    len.div_ceil(page) * page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if mapped != libc::MAP_FAILED {
                slot.poisoned.store(true, Ordering::Release);
                return;
            }
        }
    }
    chain(signal, info, context);
}

/// Hands a fault that is not ours to whoever handled SIGBUS before us.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: PREVIOUS was written once before our handler was installed.
    let previous = unsafe { *std::ptr::addr_of!(PREVIOUS) };
    let Some(previous) = previous else { return };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default and return: the faulting instruction runs
        // again and the kernel applies the default action (core dump).
        // SAFETY: sigaction is async-signal-safe.
        unsafe { libc::sigaction(libc::SIGBUS, &previous, std::ptr::null_mut()) };
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous owner registered this as an SA_SIGINFO handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        f(signal, info, context);
    } else {
        // SAFETY: the previous owner registered this as a plain handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        f(signal);
    }
}
