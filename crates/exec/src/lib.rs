//! The narrow execution crate: what a compiled query's binary links (runtime, connectors, the
//! plan types) and the protocol between `darwin` and that binary (`child`). The SQL front end,
//! the planner and the benchmark harness are not here, so compiling a query never compiles
//! them (`cargo tree -p darwin-exec` shows it).

pub mod child;
pub mod signals;

pub use darwin_columnar;
pub use darwin_common;
pub use darwin_plan;
pub use darwin_runtime;

/// The allocator of every binary that links this crate: `darwin` and compiled queries alike.
/// Batches are allocated on one worker and freed on another after an exchange; glibc's malloc
/// took its slow path for them (malloc and free were 10% of Nexmark q5 on 2 workers, none on
/// one), and without tuning it mmap'd and unmapped every batch-sized buffer (q0 on 2 workers
/// ran at 15.7M events/s instead of 54M). mimalloc frees across threads cheaply and keeps
/// freed memory for reuse: q0 on 2 workers 70.5M -> 86.3M events/s and 372 -> 311 MB, q5
/// 26.1M -> 27.7M, YSB 68.9M -> 75.0M, each against glibc tuned with `mallopt`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The progress line shown on a terminal while a query runs.
pub fn progress_line(p: &darwin_runtime::Progress) -> String {
    format!("\r{:>8.1}s  read {:>12}  written {:>10}", p.elapsed.as_secs_f64(), p.records_read, p.rows_written)
}
