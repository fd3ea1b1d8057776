//! The `evms-activate` binary: PID 1 → init mode (so it can be /init itself), otherwise the
//! command line (`cli::main` checks the PID).

fn main() {
    std::process::exit(evms_activate::cli::main());
}

/// musl's malloc returns freed memory to the kernel at once: an activation made an mmap/munmap
/// pair every few allocations (issue 13 counted 493/489 for the flagship), with the page
/// faults and zeroing that fresh pages bring. dlmalloc (the Rust port std uses on wasm) keeps
/// freed memory for reuse: +13 KB of binary, against +125 KB and twice the peak memory for
/// mimalloc.
///
/// It sits behind a spin lock that yields the CPU when taken, not the crate's own global
/// wrapper: that one takes a pthread mutex per call, and musl's lock and unlock were 10% of
/// the instructions of a scan of 1000 LVs (malloc and free themselves 13%). The product runs
/// one thread, so the lock is never contended; std's threads (tests) only wait their turn.
#[global_allocator]
static GLOBAL: Alloc = Alloc(spin::mutex::SpinMutex::new(Heap(dlmalloc::Dlmalloc::new())));

struct Heap(dlmalloc::Dlmalloc);

// SAFETY: the heap is only reached through the mutex; dlmalloc's state is plain memory with
// no tie to the thread that made it.
unsafe impl Send for Heap {}

struct Alloc(spin::mutex::SpinMutex<Heap, spin::relax::Yield>);

// SAFETY: each call holds the lock for the whole dlmalloc operation, which is what the crate's
// own GlobalDlmalloc does with its pthread mutex; sizes and alignments pass through unchanged.
unsafe impl std::alloc::GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        unsafe { self.0.lock().0.malloc(layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { self.0.lock().0.free(ptr, layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        unsafe { self.0.lock().0.calloc(layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        unsafe {
            self.0
                .lock()
                .0
                .realloc(ptr, layout.size(), layout.align(), new_size)
        }
    }
}
