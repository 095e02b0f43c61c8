//! The process's allocator: mimalloc, for Rust and C code alike (its `override` feature also
//! serves `malloc`/`free`, so SQLite's allocations go through it).
//!
//! Why not glibc's: a page of 1,000 servers read from SQLite allocates every column value on
//! the connection's worker thread and frees it on the runtime's, tens of thousands of blocks
//! per request; under glibc that cross-thread traffic was most of the request's CPU (a profile
//! at 100,000 servers: `malloc`, `free` and their arena locks about half of the samples). glibc
//! also kept what a burst of large requests had used (measured with the API fuzzer: 200 MiB
//! grew to 490 MiB and stayed), which needed a fixed mmap threshold and two arenas; mimalloc
//! returns freed pages to the kernel on its own.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
