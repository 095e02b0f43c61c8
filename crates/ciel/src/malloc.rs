//! Keeps glibc's allocator from holding on to memory a burst of large requests used.
//!
//! By default glibc raises its mmap threshold to the size of every large block it frees (up
//! to 32 MiB), so after one request that parsed a megabyte-sized body every later block of
//! that size comes from the heap, where fragmentation keeps it resident: measured with the
//! API fuzzer, the controller grew from 200 MiB to 490 MiB over 4,500 hostile requests and
//! never gave it back. A fixed threshold (blocks of 128 KiB and more are mapped and unmapped
//! on their own) and two arenas keep it at ~35 MiB after the same run.

/// Blocks at least this large get their own mapping, returned to the kernel when freed.
const MMAP_THRESHOLD: i32 = 128 * 1024;
/// Arenas for the whole process (glibc's default is eight per core).
const ARENAS: i32 = 2;

/// Sets the allocator's limits; call first thing in `main`, before any thread starts.
#[allow(unsafe_code)]
pub fn bound_retention() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
