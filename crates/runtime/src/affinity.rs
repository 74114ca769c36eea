//! Pins a worker thread to one core, so each worker keeps its caches and its core.

/// Pins the calling thread to core `index % cores`. Best effort: where pinning is not
/// possible the thread simply runs unpinned.
#[cfg_attr(target_os = "linux", expect(unsafe_code, reason = "sched_setaffinity(2) has no safe wrapper in std"))]
pub fn pin_to_core(index: usize) {
    #[cfg(target_os = "linux")]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let core = index % cores;
        // SAFETY: cpu_set_t is plain data, zero-initialised, and passed by valid pointer with its
        // size to sched_setaffinity for the calling thread (pid 0).
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = index;
}
