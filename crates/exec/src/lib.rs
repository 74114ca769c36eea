//! The narrow execution crate: what a compiled query's binary links (runtime, connectors, the
//! benchmark harness) and the protocol between `darwin` and that binary (`child`). The SQL front
//! end and the planner are not here, so compiling a query never compiles them.

pub mod bench;
pub mod child;

pub use darwin_common;
pub use darwin_plan;
pub use darwin_runtime;

/// Keeps freed batch buffers in the process instead of returning them to the kernel: with
/// glibc's defaults every batch-sized buffer (hundreds of KiB) was mmap'd and unmapped, and the
/// page faults serialised the workers (Nexmark q0 on 2 workers: 15.7M -> 54M events/s).
/// The cost: resident memory stays at its peak. Call once, before other threads start.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called once, before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// The progress line shown on a terminal while a query runs.
pub fn progress_line(p: &darwin_runtime::build::Progress) -> String {
    format!("\r{:>8.1}s  read {:>12}  written {:>10}", p.elapsed.as_secs_f64(), p.records_read, p.rows_written)
}
